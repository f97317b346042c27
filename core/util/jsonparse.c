/* The strict JSON parser (see jsonparse.h). A validating pass over the text first (json-c's
 * own strict mode lets some invalid UTF-8 and its end-of-input quirks through), then a second
 * pass builds the json-c objects (not json-c's tokener: see below). */
#include "config.h"
#include "util/jsonparse.h"

#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"

typedef struct jcheck {
    const char *p, *end;
    int depth, max_depth;
    const char *err;
} jcheck;

static void jc_ws(jcheck *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool jc_fail(jcheck *c, const char *err)
{
    if (!c->err)
        c->err = err;
    return false;
}

static int jc_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        v = v * 16 + hex_digit((unsigned char)p[i]); /* the caller checked they are hex digits */
    }
    return v;
}

static bool jc_string(jcheck *c)
{
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            return true;
        if (ch < 0x20)
            return jc_fail(c, "control character in a string");
        if (ch >= 0x80) { /* RFC 3629 strictly: json-c's own check lets overlong forms through */
            size_t k = utf8_seq_len((const unsigned char *)c->p - 1, (size_t)(c->end - c->p) + 1, NULL);
            if (!k)
                return jc_fail(c, "invalid UTF-8");
            c->p += k - 1;
            continue;
        }
        if (ch == '\\') {
            if (c->p >= c->end)
                break;
            char e = *c->p++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++) {
                    if (c->p + i >= c->end || !isxdigit((unsigned char)c->p[i]))
                        return jc_fail(c, "bad \\u escape");
                }
                /* an escaped surrogate without its other half is valid JSON grammar (RFC 8259
                   section 8.2: what it means is up to the receiver); the tree gets U+FFFD for it
                   (see jb_string), as Go's decoder does: refusing it would leave a request
                   unanswered (a parse error carries no id) */
                c->p += 4;
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return jc_fail(c, "bad escape in a string");
            }
        }
    }
    return jc_fail(c, "unterminated string");
}

static bool jc_digits(jcheck *c)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > s;
}

static bool jc_number(jcheck *c)
{
    if (*c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0') {
        c->p++;
    } else if (!jc_digits(c)) {
        return jc_fail(c, "bad number");
    }
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!jc_digits(c))
            return jc_fail(c, "bad number");
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!jc_digits(c))
            return jc_fail(c, "bad number");
    }
    return true;
}

static bool jc_literal(jcheck *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return jc_fail(c, "unexpected character");
    c->p += n;
    return true;
}

static bool jc_value(jcheck *c);

static bool jc_container(jcheck *c, char close)
{
    if (++c->depth > c->max_depth)
        return jc_fail(c, "nesting too deep");
    c->p++;
    jc_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return true;
    }
    for (;;) {
        jc_ws(c);
        if (close == '}') {
            if (c->p >= c->end || *c->p != '"')
                return jc_fail(c, "expected a member name");
            if (!jc_string(c))
                return false;
            jc_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return jc_fail(c, "expected ':'");
            c->p++;
        }
        if (!jc_value(c))
            return false;
        jc_ws(c);
        if (c->p >= c->end)
            return jc_fail(c, "unexpected end of data");
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            c->depth--;
            return true;
        }
        return jc_fail(c, "unexpected character");
    }
}

static bool jc_value(jcheck *c)
{
    jc_ws(c);
    if (c->p >= c->end)
        return jc_fail(c, "unexpected end of data");
    switch (*c->p) {
    case '{': return jc_container(c, '}');
    case '[': return jc_container(c, ']');
    case '"': return jc_string(c);
    case 't': return jc_literal(c, "true");
    case 'f': return jc_literal(c, "false");
    case 'n': return jc_literal(c, "null");
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
            return jc_number(c);
        return jc_fail(c, "unexpected character");
    }
}

bool json_check_strict(const char *text, size_t len, int max_depth, const char **err)
{
    if (err)
        *err = NULL;
    const char *e = NULL;
    if (!text && len)
        e = "no text";
    else if (len > (size_t)INT32_MAX - 1) /* json-c's string lengths are ints */
        e = "too long";
    if (!e) {
        if (!text)
            text = "";
        jcheck c = {text, text + len, 0, max_depth < 1 ? 1 : max_depth > 100000 ? 100000 : max_depth, NULL};
        if (jc_value(&c) && (jc_ws(&c), c.p == c.end))
            return true;
        e = c.err ? c.err : "unexpected data after the value";
    }
    if (err)
        *err = e;
    return false;
}

void json_append_compact(buf *out, const char *text, size_t len)
{
    const char *p = text, *end = text + len, *run = text;
    bool in_string = false;
    for (; p < end; p++) {
        char ch = *p;
        if (in_string) {
            if (ch == '\\')
                p++; /* the escaped character cannot end the string */
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            buf_append(out, run, (size_t)(p - run));
            run = p + 1;
        }
    }
    buf_append(out, run, (size_t)(end - run));
}

/* ------------------------------------------------------------------ building the tree */

/* The second pass, over text the first pass accepted, builds the json-c objects itself.
 * json-c's tokener cost more than everything else a tools/call does with JSON (a tokener with
 * its depth stack allocated and zeroed per parse, a locale switch per call), and it clamps
 * integers beyond 64 bits to the int64/uint64 range: a client's 99999999999999999999999 reached
 * the function as 18446744073709551615. Here an integer is an int64, else a uint64, else a
 * double that serialises as the original digits (json_object_new_double_s), so nothing a
 * client or a function sends is changed on its way through; other numbers keep their text the
 * same way (as json-c's tokener does). Duplicate member names: the last one wins (json-c's
 * rule too). Allocation failures give NULL with oom set. */
typedef struct jbuild {
    const char *p, *end;
    buf scratch; /* strings with escapes, long member names, long numbers */
    bool oom;
} jbuild;

static void jb_ws(jbuild *b)
{
    while (b->p < b->end && (*b->p == ' ' || *b->p == '\t' || *b->p == '\n' || *b->p == '\r'))
        b->p++;
}

/* The string at b->p (its opening quote), decoded into *s / *n (pointing into the text when it
 * has no escape, else into b->scratch); b->p ends after the closing quote. */
static void jb_string(jbuild *b, const char **s, size_t *n)
{
    const char *start = ++b->p;
    while (b->p < b->end && *b->p != '"' && *b->p != '\\')
        b->p++;
    if (b->p >= b->end || *b->p == '"') {
        *s = start;
        *n = (size_t)(b->p - start);
        b->p++;
        return;
    }
    buf_reset(&b->scratch);
    buf_append(&b->scratch, start, (size_t)(b->p - start));
    while (b->p < b->end && *b->p != '"') {
        const char *run = b->p;
        while (b->p < b->end && *b->p != '"' && *b->p != '\\')
            b->p++;
        buf_append(&b->scratch, run, (size_t)(b->p - run));
        if (b->p >= b->end || *b->p == '"')
            break;
        char e = b->p[1];
        b->p += 2;
        char ch;
        switch (e) {
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            unsigned u = (unsigned)jc_hex4(b->p);
            b->p += 4;
            if (u >= 0xD800 && u <= 0xDBFF && b->end - b->p >= 6 && b->p[0] == '\\' && b->p[1] == 'u') {
                int lo = jc_hex4(b->p + 2); /* four hex digits: the first pass checked every escape */
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    b->p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
                }
            }
            if (u >= 0xD800 && u <= 0xDFFF) /* a lone half: no character, U+FFFD */
                u = 0xFFFD;
            char utf8[4];
            buf_append(&b->scratch, utf8, utf8_encode(u, utf8));
            continue;
        }
        default: ch = e; break; /* '"', '\\', '/' */
        }
        buf_append_char(&b->scratch, ch);
    }
    b->p++;
    *s = b->scratch.data ? b->scratch.data : "";
    *n = b->scratch.len;
}

static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;
static void c_numeric_init(void) { c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

/* strtod in the C locale, whatever the process's (a plugin may call setlocale) */
static double strtod_c(const char *t)
{
    pthread_once(&c_numeric_once, c_numeric_init);
    if (!c_numeric)
        return strtod(t, NULL);
    locale_t old = uselocale(c_numeric);
    double d = strtod(t, NULL);
    uselocale(old);
    return d;
}

static json_object *jb_number(jbuild *b)
{
    const char *s = b->p;
    bool neg = *b->p == '-', integral = true;
    if (neg)
        b->p++;
    uint64_t v = 0;
    bool over = false;
    for (; b->p < b->end && *b->p >= '0' && *b->p <= '9'; b->p++) {
        unsigned d = (unsigned)(*b->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = true;
        else
            v = v * 10 + d;
    }
    while (b->p < b->end && (*b->p == '.' || *b->p == 'e' || *b->p == 'E' || *b->p == '+' || *b->p == '-' ||
                             (*b->p >= '0' && *b->p <= '9'))) {
        integral = false; /* a fraction or an exponent: the first pass checked its shape */
        b->p++;
    }
    if (integral && !over) {
        if (!neg)
            return v <= (uint64_t)INT64_MAX ? json_object_new_int64((int64_t)v) : json_object_new_uint64(v);
        if (v <= (uint64_t)INT64_MAX)
            return json_object_new_int64(-(int64_t)v);
        if (v == (uint64_t)INT64_MAX + 1)
            return json_object_new_int64(INT64_MIN);
    }
    size_t n = (size_t)(b->p - s);
    char small[64];
    char *t = n < sizeof small ? small : xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = '\0';
    json_object *o = json_object_new_double_s(strtod_c(t), t); /* keeps the text for output */
    if (t != small)
        free(t);
    return o;
}

static json_object *jb_value(jbuild *b);

static json_object *jb_container(jbuild *b)
{
    bool is_obj = *b->p == '{';
    char close = is_obj ? '}' : ']';
    json_object *o = is_obj ? json_object_new_object() : json_object_new_array();
    if (!o) {
        b->oom = true;
        return NULL;
    }
    b->p++;
    jb_ws(b);
    if (b->p < b->end && *b->p == close) {
        b->p++;
        return o;
    }
    for (;;) {
        jb_ws(b);
        char keybuf[128];
        char *key = NULL;
        if (is_obj) {
            const char *k;
            size_t kn;
            jb_string(b, &k, &kn);
            /* a C string for json-c (which copies it; a NUL escape ends it there, as with json-c) */
            key = kn < sizeof keybuf ? keybuf : xmalloc(kn + 1);
            memcpy(key, k, kn);
            key[kn] = '\0';
            jb_ws(b);
            b->p++; /* ':' */
        }
        json_object *v = jb_value(b);
        int rc = b->oom ? -1 : is_obj ? json_object_object_add(o, key, v) : json_object_array_add(o, v);
        if (key != keybuf)
            free(key);
        if (rc != 0) {
            json_object_put(v);
            json_object_put(o);
            b->oom = true;
            return NULL;
        }
        jb_ws(b);
        if (b->p < b->end && *b->p == ',') {
            b->p++;
            continue;
        }
        b->p++; /* the closing bracket */
        return o;
    }
}

static json_object *jb_value(jbuild *b)
{
    jb_ws(b);
    json_object *o;
    switch (*b->p) {
    case '{':
    case '[':
        return jb_container(b);
    case '"': {
        const char *s;
        size_t n;
        jb_string(b, &s, &n);
        o = json_object_new_string_len(s, (int)n);
        break;
    }
    case 't':
        b->p += 4;
        o = json_object_new_boolean(1);
        break;
    case 'f':
        b->p += 5;
        o = json_object_new_boolean(0);
        break;
    case 'n':
        b->p += 4;
        return NULL; /* json-c's null */
    default:
        o = jb_number(b);
        break;
    }
    if (!o)
        b->oom = true;
    return o;
}

bool json_parse_strict(const char *text, size_t len, int max_depth, json_object **out, const char **err)
{
    *out = NULL;
    if (!json_check_strict(text, len, max_depth, err))
        return false;
    if (!text)
        text = "";
    jbuild b = {text, text + len, BUF_INIT, false};
    json_object *o = jb_value(&b);
    buf_free(&b.scratch);
    if (b.oom) {
        json_object_put(o);
        if (err)
            *err = "out of memory";
        return false;
    }
    *out = o;
    return true;
}

const char *json_get_str(json_object *o, const char *key)
{
    json_object *v;
    return o && key && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) &&
                   json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}
