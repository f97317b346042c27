/* The strict JSON parser (see jsonparse.h). A validating pass over the text first (json-c's
 * own strict mode still lets some invalid UTF-8, lone surrogate escapes and its end-of-input
 * quirks through), then json-c builds the tree. */
#include "config.h"
#include "util/jsonparse.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

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
                int u = jc_hex4(c->p);
                c->p += 4;
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return jc_fail(c, "a lone low surrogate escape");
                if (u >= 0xD800 && u <= 0xDBFF) { /* must be followed by its low half */
                    if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u')
                        return jc_fail(c, "a lone high surrogate escape");
                    for (int i = 2; i < 6; i++)
                        if (!isxdigit((unsigned char)c->p[i]))
                            return jc_fail(c, "bad \\u escape");
                    int low = jc_hex4(c->p + 2);
                    if (low < 0xDC00 || low > 0xDFFF)
                        return jc_fail(c, "a lone high surrogate escape");
                    c->p += 6;
                }
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

/* json-c allocates (and zeroes) a tokener with a stack of max_depth + 1 levels for each parse,
 * which was a tenth of the instructions of a tools/call (two parses each). Each thread keeps
 * one instead, reset after every parse and freed by the key's destructor when the thread ends.
 * Its depth only has to be enough: the validating pass above enforces max_depth itself. */
#define TOKENER_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define CACHED_TOKENER_DEPTH JSON_MAX_DEPTH

static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static pthread_key_t tok_key;
static bool tok_key_ok;

static void tokener_destroy(void *p) { json_tokener_free(p); }

static void tok_key_init(void) { tok_key_ok = pthread_key_create(&tok_key, tokener_destroy) == 0; }

/* This thread's tokener, or NULL when max_depth needs a deeper one (the caller makes its own). */
static json_tokener *thread_tokener(int max_depth)
{
    if (max_depth > CACHED_TOKENER_DEPTH)
        return NULL;
    pthread_once(&tok_once, tok_key_init);
    if (!tok_key_ok)
        return NULL;
    json_tokener *tok = pthread_getspecific(tok_key);
    if (tok)
        return tok;
    tok = json_tokener_new_ex(CACHED_TOKENER_DEPTH + 1);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, TOKENER_FLAGS);
    if (pthread_setspecific(tok_key, tok) != 0) {
        json_tokener_free(tok);
        return NULL;
    }
    return tok;
}

bool json_parse_strict(const char *text, size_t len, int max_depth, json_object **out, const char **err)
{
    *out = NULL;
    if (err)
        *err = NULL;
    if (!text && len) {
        if (err)
            *err = "no text";
        return false;
    }
    if (!text)
        text = "";
    if (len > (size_t)INT32_MAX - 1) {
        if (err)
            *err = "too long";
        return false;
    }
    if (max_depth < 1)
        max_depth = 1;
    if (max_depth > 100000)
        max_depth = 100000;
    jcheck c = {text, text + len, 0, max_depth, NULL};
    if (!jc_value(&c) || (jc_ws(&c), c.p != c.end)) {
        if (err)
            *err = c.err ? c.err : "unexpected data after the value";
        return false;
    }
    bool cached = true;
    json_tokener *tok = thread_tokener(max_depth);
    if (!tok) {
        cached = false;
        tok = json_tokener_new_ex(max_depth + 1);
        if (!tok) {
            if (err)
                *err = "out of memory";
            return false;
        }
        json_tokener_set_flags(tok, TOKENER_FLAGS);
    }
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (e == json_tokener_continue) { /* a bare number at the very end: say where input ends */
        o = json_tokener_parse_ex(tok, "", 1);
        e = json_tokener_get_error(tok);
    }
    if (cached)
        json_tokener_reset(tok); /* drops what a failed parse left on its stack */
    else
        json_tokener_free(tok);
    if (e != json_tokener_success) {
        json_object_put(o);
        if (err)
            *err = e == json_tokener_error_parse_utf8_string ? "invalid UTF-8" : json_tokener_error_desc(e);
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
