/* CallToolResult mapping per protocol version, UTF-8 repair, the strict JSON parser. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mcp/results.h"
#include "tools/registry.h"
#include "tools/schema.h"
#include "util/jsonparse.h"
#include "util/str.h"

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static bool has(json_object *o, const char *key) { return json_object_object_get_ex(o, key, NULL); }

static const char *text_of(json_object *r)
{
    json_object *c = get(r, "content");
    assert_non_null(c);
    assert_int_equal(json_object_array_length(c), 1);
    json_object *b = json_object_array_get_idx(c, 0);
    assert_string_equal(json_object_get_string(get(b, "type")), "text");
    return json_object_get_string(get(b, "text"));
}

/* The text of the CallToolResult for r (what the model reads), a copy the caller frees. */
static char *error_text(const lmcp_result *r, const char *function_name)
{
    json_object *o = mcp_call_result(r, function_name, "2025-11-25");
    char *t = xstrdup(text_of(o));
    json_object_put(o);
    return t;
}

static char *dump(json_object *o) { return xstrdup(mcp_json_text(o, NULL)); }

static void assert_json(json_object *o, const char *want)
{
    char *s = dump(o);
    assert_string_equal(s, want);
    free(s);
}

static const char *const versions[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"};

static void test_ok_object_payload(void **state)
{
    (void)state;
    lmcp_result r;
    result_init(&r);
    result_set_ok(&r, "{\"a\":1,\"url\":\"http://x/y\"}", 26);
    for (size_t i = 0; i < 5; i++) {
        json_object *o = mcp_call_result(&r, "fn", versions[i]);
        assert_string_equal(text_of(o), "{\"a\":1,\"url\":\"http://x/y\"}");
        assert_false(json_object_get_boolean(get(o, "isError")));
        bool structured = i >= 2;
        assert_int_equal(has(o, "structuredContent"), structured);
        if (structured)
            assert_json(get(o, "structuredContent"), "{\"a\":1,\"url\":\"http://x/y\"}");
        assert_int_equal(has(o, "resultType"), i == 4);
        if (i == 4)
            assert_string_equal(json_object_get_string(get(o, "resultType")), "complete");
        json_object_put(o);
    }
    result_clear(&r);
}

static void test_ok_non_object_payload(void **state)
{
    (void)state;
    const char *payloads[] = {"[1,2,3]", "\"hi\"", "42", "true", "null"};
    for (size_t p = 0; p < 5; p++) {
        lmcp_result r;
        result_init(&r);
        result_set_ok(&r, payloads[p], strlen(payloads[p]));
        for (size_t i = 0; i < 5; i++) {
            json_object *o = mcp_call_result(&r, "fn", versions[i]);
            assert_string_equal(text_of(o), payloads[p]);
            assert_int_equal(has(o, "structuredContent"), i == 4); /* only modern takes any value */
            if (i == 4)
                assert_json(get(o, "structuredContent"), payloads[p]);
            json_object_put(o);
        }
        result_clear(&r);
    }
}

static void test_ok_text_and_bad_utf8(void **state)
{
    (void)state;
    lmcp_result r;
    result_init(&r);
    result_set_ok(&r, "plain \xff text \xc3\xa9", 16);
    json_object *o = mcp_call_result(&r, "fn", "2026-07-28");
    assert_string_equal(text_of(o), "plain \xEF\xBF\xBD text \xc3\xa9");
    assert_false(has(o, "structuredContent"));
    json_object_put(o);
    result_set_ok(&r, "", 0);
    o = mcp_call_result(&r, "fn", "2025-11-25");
    assert_string_equal(text_of(o), "");
    assert_false(has(o, "structuredContent"));
    json_object_put(o);
    result_clear(&r);
}

static void test_function_error(void **state)
{
    (void)state;
    const char *payload = "{\"errorType\":\"ValueError\",\"errorMessage\":\"bad input\","
                          "\"stackTrace\":[\"  File \\\"/var/task/app.py\\\", line 3, in handler\\n    raise\\n\",\"at b\"]}";
    lmcp_result r;
    result_init(&r);
    r.outcome = LMCP_OUTCOME_FUNCTION_ERROR;
    buf_append_str(&r.payload, payload);
    json_object *o = mcp_call_result(&r, "my-fn", "2025-11-25");
    assert_true(json_object_get_boolean(get(o, "isError")));
    assert_string_equal(text_of(o), "Function my-fn failed: ValueError: bad input\n"
                                    "  File \"/var/task/app.py\", line 3, in handler\n    raise\nat b");
    assert_string_equal(json_object_get_string(get(get(o, "structuredContent"), "errorType")), "ValueError");
    json_object_put(o);

    o = mcp_call_result(&r, "my-fn", "2025-03-26");
    assert_false(has(o, "structuredContent"));
    json_object_put(o);

    /* the result's own fields win over the payload's */
    r.error_type = xstrdup("Unhandled");
    r.error_message = xstrdup("from the invoker");
    char *t = error_text(&r, "my-fn");
    assert_true(str_starts_with(t, "Function my-fn failed: Unhandled: from the invoker\n  File"));
    free(t);
    result_clear(&r);

    /* a payload that is not JSON */
    r.outcome = LMCP_OUTCOME_FUNCTION_ERROR;
    buf_append_str(&r.payload, "segfault");
    o = mcp_call_result(&r, "f", "2026-07-28");
    assert_string_equal(text_of(o), "Function f failed: segfault");
    assert_false(has(o, "structuredContent"));
    assert_string_equal(json_object_get_string(get(o, "resultType")), "complete");
    json_object_put(o);
    result_clear(&r);
}

/* The payload is parsed at most once: a parse the invoker made (a function error) is the one the
 * error text comes from, and structuredContent is the payload's own text (not a re-serialised
 * tree). The test gives the result a parse that differs from its text to tell them apart. */
static void test_payload_parsed_once(void **state)
{
    (void)state;
    lmcp_result r;
    result_init(&r);
    r.outcome = LMCP_OUTCOME_FUNCTION_ERROR;
    const char *p = "{\"errorType\":\"E\",\"errorMessage\":\"m\",\"stackTrace\":[\"at x\"]}";
    const char *other = "{\"errorType\":\"FromTheParse\",\"errorMessage\":\"m2\"}";
    json_object *parsed = NULL;
    assert_true(json_parse_strict(other, strlen(other), JSON_MAX_DEPTH, &parsed, NULL));
    result_set_payload(&r, p, strlen(p), parsed);
    assert_ptr_equal(r.payload_json, parsed);
    json_object *o = mcp_call_result(&r, "f", "2026-07-28");
    assert_string_equal(text_of(o), "Function f failed: FromTheParse: m2"); /* the invoker's parse, used */
    assert_json(get(o, "structuredContent"), p);                           /* the payload's text */
    json_object_put(o);
    /* a copy does not share it (it may go to another thread): its payload is parsed here */
    lmcp_result c;
    result_init(&c);
    result_copy(&c, &r);
    assert_null(c.payload_json);
    o = mcp_call_result(&c, "f", "2026-07-28");
    assert_string_equal(text_of(o), "Function f failed: E: m\nat x");
    assert_json(get(o, "structuredContent"), p);
    json_object_put(o);
    result_clear(&c);
    /* setting a new payload drops the parse */
    result_set_ok(&r, "[1]", 3);
    assert_null(r.payload_json);
    result_clear(&r);
}

/* structuredContent is the payload as the function wrote it, on one line: its blanks between
 * tokens dropped (never inside strings), every number and escape kept as written; the text
 * block and the whole result stay one line of JSON. */
static void test_structured_is_payload_text(void **state)
{
    (void)state;
    lmcp_result r;
    result_init(&r);
    const char *p = "{ \"n\" : 99999999999999999999999,\n\t\"f\": 1.10, \"s\": \"a b\\n\\u00e9 \\\" }\"\r\n, \"e\":1E2 }\n";
    result_set_ok(&r, p, strlen(p));
    buf b = BUF_INIT;
    mcp_call_result_text(&b, &r, "f", "2025-11-25", "{\"k\":1}");
    assert_null(memchr(b.data, '\n', b.len));
    const char *want_sc = "\"structuredContent\":{\"n\":99999999999999999999999,\"f\":1.10,\"s\":\"a b\\n\\u00e9 \\\" }\",\"e\":1E2}";
    assert_non_null(strstr(b.data, want_sc));
    assert_non_null(strstr(b.data, ",\"isError\":false,\"_meta\":{\"k\":1}}"));
    json_object *o = NULL;
    assert_true(json_parse_strict(b.data, b.len, JSON_MAX_DEPTH, &o, NULL));
    assert_string_equal(text_of(o), p); /* the text block: the payload, byte for byte */
    json_object_put(o);
    buf_free(&b);
    /* a string that ends in an escaped backslash ends there: the blanks after it go */
    const char *bs = "{\"x\\\\\" : [ \"\\\\\" , 1 ] }";
    result_set_ok(&r, bs, strlen(bs));
    mcp_call_result_text(&b, &r, "f", "2025-11-25", NULL);
    assert_non_null(strstr(b.data, "\"structuredContent\":{\"x\\\\\":[\"\\\\\",1]}"));
    buf_free(&b);
    /* not JSON: no structuredContent, the text still there */
    result_set_ok(&r, "{\"a\":", 5);
    mcp_call_result_text(&b, &r, "f", "2026-07-28", NULL);
    assert_null(strstr(b.data, "structuredContent"));
    assert_true(json_parse_strict(b.data, b.len, JSON_MAX_DEPTH, &o, NULL));
    assert_string_equal(text_of(o), "{\"a\":");
    json_object_put(o);
    buf_free(&b);
    result_clear(&r);
}

static void test_other_outcomes(void **state)
{
    (void)state;
    lmcp_result r;
    result_init(&r);
    result_set_error(&r, LMCP_OUTCOME_THROTTLED, "TooManyRequestsException", "Rate exceeded");
    r.request_id = xstrdup("req-123");
    r.retry_after_ms = 1500;
    json_object *o = mcp_call_result(&r, "fn", "2025-06-18");
    assert_true(json_object_get_boolean(get(o, "isError")));
    assert_string_equal(text_of(o),
                        "Lambda throttled the call (TooManyRequestsException): Rate exceeded (AWS request id req-123; "
                        "retry after 1500 ms)");
    assert_false(has(o, "structuredContent"));
    json_object_put(o);
    result_clear(&r);

    result_set_error(&r, LMCP_OUTCOME_INVALID_ARGUMENTS, "InvalidArguments", "x must be a number");
    char *t = error_text(&r, "fn");
    assert_string_equal(t, "Invalid arguments: x must be a number");
    free(t);
    result_set_error(&r, LMCP_OUTCOME_TIMEOUT, "Timeout", "no answer within 30 s");
    t = error_text(&r, "fn");
    assert_string_equal(t, "Timed out: no answer within 30 s");
    free(t);
    result_set_error(&r, LMCP_OUTCOME_REFUSED, "CircuitOpen", "the breaker is open");
    r.retry_after_ms = 2000;
    t = error_text(&r, "fn");
    assert_string_equal(t, "Refused (CircuitOpen): the breaker is open (retry after 2000 ms)");
    free(t);
    result_clear(&r);
    result_set_error(&r, LMCP_OUTCOME_AWS_ERROR, "AccessDeniedException", "not allowed");
    t = error_text(&r, "fn");
    assert_string_equal(t, "AWS error (AccessDeniedException): not allowed");
    free(t);
    result_clear(&r);
}

static void check_sanitize(const char *in, size_t n, const char *want)
{
    buf b = BUF_INIT;
    utf8_sanitize(&b, in, n);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

#define FFFD "\xEF\xBF\xBD"

static void test_utf8(void **state)
{
    (void)state;
    check_sanitize("abc", 3, "abc");
    check_sanitize("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    check_sanitize("\xc0\xaf", 2, FFFD FFFD);              /* overlong */
    check_sanitize("\xed\xa0\x80", 3, FFFD FFFD FFFD);     /* a surrogate */
    check_sanitize("\xe2\x82x", 3, FFFD "x");              /* cut short: one replacement */
    check_sanitize("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* above U+10FFFF */
    check_sanitize("a\xf0\x9f\x98", 4, "a" FFFD);          /* cut by the end */
    check_sanitize("\x80\xbf", 2, FFFD FFFD);
}

static void test_strict_json(void **state)
{
    (void)state;
    const char *bad[] = {"", " ", "{", "{\"a\":NaN}", "{'a':1}", "{\"a\":1} x", "{\"a\":1}{}", "[1,]",
                         "{\"a\":01}", "{\"a\":\"\x01\"}", "tru", "{\"a\":\"\\x\"}", "-", "1.", "1e", "{\"a\" 1}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_object *o = (json_object *)1;
        const char *err = NULL;
        if (mcp_json_parse_strict(bad[i], strlen(bad[i]), 64, &o, &err))
            fail_msg("accepted: %s", bad[i]);
        assert_null(o);
        assert_non_null(err);
    }
    json_object *o = NULL;
    assert_false(mcp_json_parse_strict("{\"a\":1}\0x", 9, 64, &o, NULL)); /* an embedded NUL */
    assert_false(mcp_json_parse_strict("\"\xff\"", 3, 64, &o, NULL));
    assert_true(mcp_json_parse_strict("\"\\ud800\"", 8, 64, &o, NULL));      /* a lone surrogate escape: U+FFFD */
    assert_string_equal(json_object_get_string(o), "\xef\xbf\xbd");
    json_object_put(o);
    assert_false(mcp_json_parse_strict("\"\xed\xa0\x80\"", 5, 64, &o, NULL)); /* ... and as UTF-8 bytes */
    assert_true(json_parse_strict("1", 1, JSON_MAX_DEPTH, &o, NULL));          /* the same parser */
    assert_int_equal(json_object_get_int(o), 1);
    json_object_put(o);
    const char *good[] = {"{}", " {\"a\":[1,2.5e-3,-0,true,false,null,\"\\u00e9\\/\"]} ", "42", "\"s\"", "null", "[]"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_true(mcp_json_parse_strict(good[i], strlen(good[i]), 64, &o, NULL));
        json_object_put(o);
    }
    buf deep = BUF_INIT;
    for (int i = 0; i < 65; i++)
        buf_append_char(&deep, '[');
    for (int i = 0; i < 65; i++)
        buf_append_char(&deep, ']');
    assert_false(mcp_json_parse_strict(deep.data, deep.len, 64, &o, NULL));
    assert_true(mcp_json_parse_strict(deep.data + 1, deep.len - 2, 64, &o, NULL));
    json_object_put(o);
    buf_free(&deep);
}

/* The registry reads a stored schema back with the same parser and depth limit discovery
 * accepted it with: a schema deeper than json-c's default 32 levels is neither replaced by
 * the generic schema nor left unvalidated. */
static void test_registry_deep_schema(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    const int levels = 30; /* 2 objects a level: 61 nested objects */
    for (int i = 0; i < levels; i++)
        buf_append_str(&b, "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":");
    buf_append_str(&b, "{\"type\":\"string\"}");
    for (int i = 0; i < levels; i++)
        buf_append_str(&b, "}}");
    tool_snapshot *s = snapshot_new();
    tool *t = snapshot_add(s);
    t->name = xstrdup("deep");
    t->function_name = xstrdup("deep");
    t->schema_text = xstrdup(b.data);
    json_object *in = tool_input_schema(t);
    json_object *props = NULL;
    assert_true(json_object_object_get_ex(in, "properties", &props));
    assert_non_null(json_object_object_get(props, "a")); /* not the generic {"properties": {}} */
    assert_null(json_object_object_get(in, "additionalProperties"));
    json_object_put(in);
    const schema_validator *v = tool_validator(t);
    assert_non_null(v);
    /* and it validates: a wrong type 30 levels down is reported */
    buf ev = BUF_INIT;
    for (int i = 0; i < levels; i++)
        buf_append_str(&ev, "{\"a\":");
    buf_append_str(&ev, "1");
    for (int i = 0; i < levels; i++)
        buf_append_char(&ev, '}');
    json_object *event = NULL;
    assert_true(json_parse_strict(ev.data, ev.len, JSON_MAX_DEPTH, &event, NULL));
    char *report = NULL;
    assert_true(schema_validate(v, event, &report) > 0);
    free(report);
    json_object_put(event);
    buf_free(&ev);
    buf_free(&b);
    snapshot_release(s);
}

static void test_versions(void **state)
{
    (void)state;
    assert_string_equal(mcp_all_versions[0], "2026-07-28");
    assert_non_null(mcp_legacy_version("2024-11-05"));
    assert_null(mcp_legacy_version("2026-07-28"));
    assert_null(mcp_modern_version("2025-11-25"));
    json_object *o = json_object_new_string("a/b");
    assert_json(o, "\"a/b\"");
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_object_payload), cmocka_unit_test(test_ok_non_object_payload),
        cmocka_unit_test(test_ok_text_and_bad_utf8), cmocka_unit_test(test_function_error),
        cmocka_unit_test(test_other_outcomes), cmocka_unit_test(test_utf8), cmocka_unit_test(test_payload_parsed_once),
        cmocka_unit_test(test_structured_is_payload_text), cmocka_unit_test(test_strict_json),
        cmocka_unit_test(test_registry_deep_schema), cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
