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
/* 2025-03-26 is not offered: it requires servers to accept JSON-RPC batches, which lambda-mcp
   does not implement (later versions removed them); initialize asking for it is answered with the
   latest version, as negotiation prescribes. */
const char *const mcp_legacy_versions[] = {"2025-11-25", "2025-06-18", "2024-11-05", NULL};
const char *const mcp_all_versions[] = {MCP_MODERN_VERSION, "2025-11-25", "2025-06-18", "2024-11-05",
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

/* ------------------------------------------------------------------------------ text */

json_object *mcp_json_string_utf8(const char *s, size_t len)
{
    if (s && utf8_valid(s, len))
        return json_object_new_string_len(s, (int)len);
    buf b = BUF_INIT;
    utf8_sanitize(&b, s ? s : "", s ? len : 0);
    json_object *o = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
    buf_free(&b);
    return o;
}

const char *mcp_json_text(json_object *o, size_t *len)
{
    size_t n = 0;
    const char *s =
        json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (len)
        *len = n;
    return s;
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
        const char *s = mcp_json_text(v, &n);
        buf_append(b, s, n);
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

/* A JSON string from arbitrary bytes: invalid UTF-8 replaced with U+FFFD first (as
 * mcp_json_string_utf8), then escaped. */
static void append_text_string(buf *b, const char *s, size_t len)
{
    if (utf8_valid(s, len)) {
        buf_append_json_string(b, s, len);
        return;
    }
    buf clean = BUF_INIT;
    utf8_sanitize(&clean, s, len);
    buf_append_json_string(b, clean.data ? clean.data : "", clean.len);
    buf_free(&clean);
}

/* "content":[{"type":"text","text":...}] */
static void append_text_content(buf *b, const char *s, size_t len)
{
    buf_append_str(b, "\"content\":[{\"type\":\"text\",\"text\":");
    append_text_string(b, s, len);
    buf_append_str(b, "}]");
}

/* Whether the payload starts like a JSON object (its first byte that is not blank is '{'). */
static bool starts_object(const lmcp_result *r)
{
    for (size_t i = 0; i < r->payload.len; i++) {
        char c = r->payload.data[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return c == '{';
    }
    return false;
}

/* Whether the payload can become structuredContent for version v: any JSON value (modern), an
 * object (2025-06-18, 2025-11-25: the payload must at least start like one), never (older). */
static bool structured_possible(const lmcp_result *r, const char *v)
{
    if (mcp_version_structured_any(v))
        return true;
    return mcp_version_structured_object(v) && starts_object(r);
}

/* The result is written as text, straight from the payload: the payload is checked, and parsed
   only for a function error's text (errorType, errorMessage, stackTrace); structuredContent is
   the payload's own text without its insignificant whitespace, every value as the function
   wrote it. */
void mcp_call_result_text(buf *b, const lmcp_result *r, const char *function_name, const char *v, const char *meta)
{
    bool ok = r->outcome == LMCP_OUTCOME_OK;
    bool ferr = r->outcome == LMCP_OUTCOME_FUNCTION_ERROR;
    const char *payload = r->payload.data ? r->payload.data : "";
    size_t plen = r->payload.len;
    json_object *parsed = NULL; /* a function error's payload */
    bool payload_json = false;  /* the payload is one JSON value */
    if ((ok || ferr) && plen > 0) {
        if (r->payload_json) {
            payload_json = true;
            parsed = ferr ? json_object_get(r->payload_json) : NULL;
        } else if (ferr) {
            payload_json = json_parse_strict(payload, plen, JSON_MAX_DEPTH, &parsed, NULL);
        } else if (structured_possible(r, v)) {
            payload_json = json_check_strict(payload, plen, JSON_MAX_DEPTH, NULL);
        }
    }
    /* an object, or (modern) any value; a function error's payload only when it is an object */
    bool is_object = payload_json && starts_object(r);
    bool structured = payload_json && (ok ? mcp_version_structured_any(v) ||
                                                (mcp_version_structured_object(v) && is_object)
                                          : is_object && mcp_version_structured_object(v));

    buf_append_char(b, '{');
    if (ok) {
        append_text_content(b, payload, plen);
    } else {
        buf text = BUF_INIT;
        if (ferr)
            function_error_text(&text, r, function_name, payload_json ? parsed : NULL);
        else
            other_error_text(&text, r);
        append_text_content(b, text.data ? text.data : "", text.len);
        buf_free(&text);
    }
    if (structured) {
        buf_append_str(b, ",\"structuredContent\":");
        json_append_compact(b, payload, plen);
    }
    buf_append_str(b, ok ? ",\"isError\":false" : ",\"isError\":true");
    if (mcp_version_is_modern(v))
        buf_append_str(b, ",\"resultType\":\"complete\"");
    if (meta) {
        buf_append_str(b, ",\"_meta\":");
        buf_append_str(b, meta);
    }
    buf_append_char(b, '}');
    json_object_put(parsed);
}

json_object *mcp_call_result(const lmcp_result *r, const char *function_name, const char *v)
{
    buf b = BUF_INIT;
    mcp_call_result_text(&b, r, function_name, v, NULL);
    json_object *out = NULL;
    if (!json_parse_strict(b.data, b.len, JSON_MAX_DEPTH + 8, &out, NULL)) /* cannot happen: we wrote it */
        out = json_object_new_object();
    buf_free(&b);
    return out;
}
