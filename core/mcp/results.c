/* Protocol versions and the CallToolResult mapping. See results.h. */
#include "config.h"
#include "mcp/results.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

const char *const mcp_modern_versions[] = {MCP_MODERN_VERSION, NULL};
const char *const mcp_legacy_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL};
const char *const mcp_all_versions[] = {MCP_MODERN_VERSION, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05",
                                        NULL};

static const char *find_version(const char *const *list, const char *v)
{
    if (!v)
        return NULL;
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return list[i];
    return NULL;
}

const char *mcp_modern_version(const char *v) { return find_version(mcp_modern_versions, v); }
const char *mcp_legacy_version(const char *v) { return find_version(mcp_legacy_versions, v); }
bool mcp_version_is_modern(const char *v) { return mcp_modern_version(v) != NULL; }

bool mcp_version_structured_any(const char *v) { return mcp_version_is_modern(v); }

bool mcp_version_structured_object(const char *v)
{
    return v && (strcmp(v, "2025-06-18") == 0 || strcmp(v, "2025-11-25") == 0 || mcp_version_is_modern(v));
}

/* ------------------------------------------------------------------------------ UTF-8 */

static void append_fffd(buf *out) { buf_append(out, "\xEF\xBF\xBD", 3); }

void mcp_utf8_sanitize(buf *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    buf_reserve(out, len + 1);
    size_t i = 0;
    while (i < len) {
        /* copy a run of ASCII at once */
        size_t j = i;
        while (j < len && s[j] < 0x80)
            j++;
        if (j > i) {
            buf_append(out, s + i, j - i);
            i = j;
            if (i >= len)
                break;
        }
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            need = 2;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F; /* no surrogates */
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            append_fffd(out);
            i++;
            continue;
        }
        /* the maximal valid prefix of the sequence becomes one U+FFFD when it is cut short */
        size_t k = 1;
        while (k <= need && i + k < len) {
            unsigned b = s[i + k];
            unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (b < l || b > h)
                break;
            k++;
        }
        if (k == need + 1) {
            buf_append(out, s + i, need + 1);
            i += need + 1;
        } else {
            append_fffd(out);
            i += k;
        }
    }
    if (!out->data)
        buf_append(out, "", 0);
}

json_object *mcp_json_string_utf8(const char *s, size_t len)
{
    buf b = BUF_INIT;
    mcp_utf8_sanitize(&b, s ? s : "", s ? len : 0);
    json_object *o = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
    buf_free(&b);
    return o;
}

/* ------------------------------------------------------------------------------ strict JSON */

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

/* One UTF-8 sequence starting at c->p - 1 (lead byte >= 0x80), RFC 3629 strictly: no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF. json-c's own check lets those through. */
static bool jc_utf8(jcheck *c, unsigned char lead)
{
    unsigned char lo = 0x80, hi = 0xBF;
    int more;
    if (lead >= 0xC2 && lead <= 0xDF)
        more = 1;
    else if (lead == 0xE0)
        more = 2, lo = 0xA0;
    else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF)
        more = 2;
    else if (lead == 0xED)
        more = 2, hi = 0x9F; /* U+D800..U+DFFF are not characters */
    else if (lead == 0xF0)
        more = 3, lo = 0x90;
    else if (lead >= 0xF1 && lead <= 0xF3)
        more = 3;
    else if (lead == 0xF4)
        more = 3, hi = 0x8F;
    else
        return jc_fail(c, "invalid UTF-8");
    for (int i = 0; i < more; i++) {
        if (c->p >= c->end)
            return jc_fail(c, "invalid UTF-8");
        unsigned char b = (unsigned char)*c->p++;
        if (b < (i == 0 ? lo : 0x80) || b > (i == 0 ? hi : 0xBF))
            return jc_fail(c, "invalid UTF-8");
    }
    return true;
}

static int jc_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        v = v * 16 + (h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h - 'A' + 10);
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
        if (ch >= 0x80) {
            if (!jc_utf8(c, ch))
                return false;
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

bool mcp_json_parse_strict(const char *text, size_t len, int max_depth, json_object **out, const char **err)
{
    *out = NULL;
    if (err)
        *err = NULL;
    if (len > (size_t)INT32_MAX - 1) {
        if (err)
            *err = "too long";
        return false;
    }
    jcheck c = {text, text + len, 0, max_depth, NULL};
    if (!jc_value(&c) || (jc_ws(&c), c.p != c.end)) {
        if (err)
            *err = c.err ? c.err : "unexpected data after the value";
        return false;
    }
    json_tokener *tok = json_tokener_new_ex(max_depth + 1);
    if (!tok) {
        if (err)
            *err = "out of memory";
        return false;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (e == json_tokener_continue) { /* a bare number at the very end: say where input ends */
        o = json_tokener_parse_ex(tok, "", 1);
        e = json_tokener_get_error(tok);
    }
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

char *mcp_json_dump(json_object *o, size_t *len)
{
    size_t n = 0;
    const char *s =
        json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (len)
        *len = n;
    return xstrndup(s, n);
}

/* ------------------------------------------------------------------------------ results */

static const char *outcome_kind(lmcp_outcome o)
{
    switch (o) {
    case LMCP_OUTCOME_OK: return "OK";
    case LMCP_OUTCOME_FUNCTION_ERROR: return "Function error";
    case LMCP_OUTCOME_THROTTLED: return "Lambda throttled the call";
    case LMCP_OUTCOME_AWS_ERROR: return "AWS error";
    case LMCP_OUTCOME_SERVICE_ERROR: return "AWS service error";
    case LMCP_OUTCOME_TRANSPORT_ERROR: return "Network error";
    case LMCP_OUTCOME_TIMEOUT: return "Timed out";
    case LMCP_OUTCOME_CANCELLED: return "Cancelled";
    case LMCP_OUTCOME_REFUSED: return "Refused";
    case LMCP_OUTCOME_INVALID_ARGUMENTS: return "Invalid arguments";
    }
    return "Error";
}

/* "InvalidArguments" says nothing that "Invalid arguments" does not: compare ignoring case
 * and everything but letters and digits with the outcome's name. */
static bool code_is_redundant(const char *code, lmcp_outcome o)
{
    const char *a = code, *b = outcome_name(o);
    for (;;) {
        while (*a && !isalnum((unsigned char)*a))
            a++;
        while (*b && !isalnum((unsigned char)*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++;
        b++;
    }
}

/* The text of a JSON member: a string as is, anything else serialized. */
static void append_json_text(buf *b, json_object *v)
{
    if (json_object_is_type(v, json_type_string)) {
        buf_append(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    } else {
        size_t n;
        char *s = mcp_json_dump(v, &n);
        buf_append(b, s, n);
        free(s);
    }
}

static void append_trimmed(buf *b, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    buf_append(b, s, n);
}

/* stackTrace: Node and Java give strings, Python strings with embedded newlines, old
 * runtimes arrays of [file, line, function, code]. */
static void append_stack(buf *b, json_object *st)
{
    if (json_object_is_type(st, json_type_string)) {
        buf_append_char(b, '\n');
        append_trimmed(b, json_object_get_string(st), (size_t)json_object_get_string_len(st));
        return;
    }
    if (!json_object_is_type(st, json_type_array))
        return;
    size_t n = json_object_array_length(st);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(st, i);
        buf_append_char(b, '\n');
        if (json_object_is_type(e, json_type_string)) {
            append_trimmed(b, json_object_get_string(e), (size_t)json_object_get_string_len(e));
        } else if (json_object_is_type(e, json_type_array)) {
            size_t m = json_object_array_length(e);
            for (size_t j = 0; j < m; j++) {
                if (j)
                    buf_append_str(b, ", ");
                append_json_text(b, json_object_array_get_idx(e, j));
            }
        } else if (e) {
            append_json_text(b, e);
        }
    }
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static void function_error_text(buf *b, const lmcp_result *r, const char *fn, json_object *payload)
{
    buf_appendf(b, "Function %s failed", fn && *fn ? fn : "(unknown)");
    json_object *ptype = member(payload, "errorType"), *pmsg = member(payload, "errorMessage");
    bool have_type = (r->error_type && *r->error_type) || ptype;
    bool have_msg = (r->error_message && *r->error_message) || pmsg;
    if (have_type) {
        buf_append_str(b, ": ");
        if (r->error_type && *r->error_type)
            buf_append_str(b, r->error_type);
        else
            append_json_text(b, ptype);
    }
    if (have_msg) {
        buf_append_str(b, ": ");
        if (r->error_message && *r->error_message)
            buf_append_str(b, r->error_message);
        else
            append_json_text(b, pmsg);
    }
    if (!have_type && !have_msg && r->payload.len > 0) {
        buf_append_str(b, ": ");
        buf_append(b, r->payload.data, r->payload.len);
    }
    json_object *st = member(payload, "stackTrace");
    if (st)
        append_stack(b, st);
}

static void other_error_text(buf *b, const lmcp_result *r)
{
    buf_append_str(b, outcome_kind(r->outcome));
    if (r->error_type && *r->error_type && !code_is_redundant(r->error_type, r->outcome))
        buf_appendf(b, " (%s)", r->error_type);
    buf_append_str(b, ": ");
    if (r->error_message && *r->error_message)
        buf_append_str(b, r->error_message);
    else
        buf_append_str(b, "no details were given");
    bool paren = false;
    if (r->request_id && *r->request_id) {
        buf_appendf(b, " (AWS request id %s", r->request_id);
        paren = true;
    }
    if (r->retry_after_ms > 0) {
        buf_appendf(b, "%sretry after %" PRId64 " ms", paren ? "; " : " (", r->retry_after_ms);
        paren = true;
    }
    if (paren)
        buf_append_char(b, ')');
}

char *mcp_result_error_text(const lmcp_result *r, const char *function_name)
{
    buf b = BUF_INIT;
    if (r->outcome == LMCP_OUTCOME_FUNCTION_ERROR) {
        json_object *payload = NULL;
        if (r->payload.len)
            mcp_json_parse_strict(r->payload.data, r->payload.len, 128, &payload, NULL);
        function_error_text(&b, r, function_name, payload);
        json_object_put(payload);
    } else {
        other_error_text(&b, r);
    }
    return buf_steal(&b);
}

static json_object *text_content(const char *s, size_t len)
{
    json_object *arr = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "type", json_object_new_string("text"));
    json_object_object_add(c, "text", mcp_json_string_utf8(s, len));
    json_object_array_add(arr, c);
    return arr;
}

/* Attach the parsed payload as structuredContent where the version allows that shape. */
static void add_structured(json_object *out, json_object *parsed, bool parsed_ok, const char *v)
{
    if (!parsed_ok)
        return;
    bool ok = mcp_version_structured_any(v) ||
              (mcp_version_structured_object(v) && json_object_is_type(parsed, json_type_object));
    if (ok)
        json_object_object_add(out, "structuredContent", json_object_get(parsed));
}

json_object *mcp_call_result(const lmcp_result *r, const char *function_name, const char *v)
{
    json_object *out = json_object_new_object();
    json_object *parsed = NULL;
    bool parsed_ok = false;
    if ((r->outcome == LMCP_OUTCOME_OK || r->outcome == LMCP_OUTCOME_FUNCTION_ERROR) && r->payload.len > 0)
        parsed_ok = mcp_json_parse_strict(r->payload.data, r->payload.len, 128, &parsed, NULL);

    if (r->outcome == LMCP_OUTCOME_OK) {
        json_object_object_add(out, "content", text_content(r->payload.data ? r->payload.data : "", r->payload.len));
        add_structured(out, parsed, parsed_ok, v);
        json_object_object_add(out, "isError", json_object_new_boolean(0));
    } else {
        buf b = BUF_INIT;
        if (r->outcome == LMCP_OUTCOME_FUNCTION_ERROR)
            function_error_text(&b, r, function_name, parsed_ok ? parsed : NULL);
        else
            other_error_text(&b, r);
        json_object_object_add(out, "content", text_content(b.data ? b.data : "", b.len));
        buf_free(&b);
        if (r->outcome == LMCP_OUTCOME_FUNCTION_ERROR)
            add_structured(out, parsed, parsed_ok && json_object_is_type(parsed, json_type_object), v);
        json_object_object_add(out, "isError", json_object_new_boolean(1));
    }
    json_object_put(parsed);
    if (mcp_version_is_modern(v))
        json_object_object_add(out, "resultType", json_object_new_string("complete"));
    return out;
}
