/* util: buffers, strings, headers, durations, dates, base64, the strict JSON parser, logging. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "json.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hdrs.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/str.h"

static void test_buf(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_appendf(&b, "%d,", i), 0);
    assert_true(str_starts_with(b.data, "0,1,2,"));
    assert_int_equal(b.data[b.len], '\0');
    char *s = buf_steal(&b);
    assert_null(b.data);
    assert_int_equal(strlen(s), 3890);
    free(s);
    buf_free(&b);
}

static void test_split_trim(void **state)
{
    (void)state;
    char **items;
    assert_int_equal(str_split(" a, b ,,c ,", ',', &items), 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "c");
    assert_null(items[3]);
    str_list_free(items);
    assert_int_equal(str_split("", ',', &items), 0);
    str_list_free(items);
}

static void test_uri_encode(void **state)
{
    (void)state;
    char *e = uri_encode("a b/c~d:é", false);
    assert_string_equal(e, "a%20b/c~d%3A%C3%A9");
    free(e);
    e = uri_encode("arn:aws:lambda:us-east-1:1:function:f/x", true);
    assert_string_equal(e, "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%2Fx");
    free(e);
}

static void test_base64(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *e = base64_encode(in[i], strlen(in[i]));
        assert_string_equal(e, out[i]);
        size_t n;
        unsigned char *d = base64_decode(e, &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(d, in[i], n);
        free(d);
        free(e);
    }
    assert_null(base64_decode("ab$c", NULL));
}

/* base64url: the one encoder/decoder behind the tools/list cursors. Strict decoding accepts
 * exactly one spelling of each byte string. */
static void test_base64url(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "v1:t\xff\xfe", "\xfb\xff"};
    const char *want[] = {"", "Zg", "Zm8", "Zm9v", "djE6dP_-", "-_8"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        char *e = base64url_encode(in[i], strlen(in[i]));
        assert_string_equal(e, want[i]);
        size_t n = 99;
        unsigned char *d = base64url_decode(e, &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(d, in[i], n);
        free(d);
        free(e);
    }
    /* the standard encoder pads and uses + and / */
    char *e = base64_encode("\xfb\xff", 2);
    assert_string_equal(e, "+/8=");
    free(e);
    /* strict: no padding, no standard alphabet, no whitespace, no length 1 mod 4, no stray bits */
    const char *bad[] = {"Zg==", "+/8", "Zm 8", "Z", "Zh", "Zm9", "djE6dA!"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char *d = base64url_decode(bad[i], NULL);
        if (d)
            fail_msg("accepted %s", bad[i]);
    }
    /* ... which the lenient decoder takes */
    size_t n;
    unsigned char *d = base64_decode("Zg==", &n);
    assert_int_equal(n, 1);
    assert_int_equal(d[0], 'f');
    free(d);
}

/* UTF-8: one table for the strict parser and the U+FFFD repair. */
static void test_utf8(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t n, len, bad;
    } cases[] = {
        {"a", 1, 1, 0},
        {"\xc3\xa9", 2, 2, 0},
        {"\xe2\x82\xac", 3, 3, 0},
        {"\xf0\x9f\x98\x80", 4, 4, 0},
        {"\xf4\x8f\xbf\xbf", 4, 4, 0},      /* U+10FFFF */
        {"\xc0\xaf", 2, 0, 1},              /* overlong */
        {"\xe0\x80\x80", 3, 0, 1},          /* overlong */
        {"\xed\xa0\x80", 3, 0, 1},          /* a surrogate */
        {"\xf4\x90\x80\x80", 4, 0, 1},      /* above U+10FFFF */
        {"\xe2\x82x", 3, 0, 2},             /* cut short: the valid prefix is one unit */
        {"\xf0\x9f\x98", 3, 0, 3},          /* cut by the end */
        {"\x80", 1, 0, 1},
        {"\xff", 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t bad = 0;
        size_t len = utf8_seq_len((const unsigned char *)cases[i].s, cases[i].n, &bad);
        if (len != cases[i].len || (!len && bad != cases[i].bad))
            fail_msg("case %zu: length %zu (want %zu), bad %zu (want %zu)", i, len, cases[i].len, bad, cases[i].bad);
        /* the whole text, with ASCII around it */
        char text[16];
        memcpy(text, "x", 1);
        memcpy(text + 1, cases[i].s, cases[i].n);
        memcpy(text + 1 + cases[i].n, "y", 1);
        assert_int_equal(utf8_valid(text, cases[i].n + 2), cases[i].len == cases[i].n);
    }
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("a\0b", 3));
    /* utf8_cut: never inside a sequence ("a" then U+1F600, 4 bytes, then "b") */
    const char *emoji = "a\xf0\x9f\x98\x80" "b";
    size_t want_cut[] = {0, 1, 1, 1, 1, 5, 6, 6};
    for (size_t max = 0; max < 8; max++) {
        size_t n = utf8_cut(emoji, 6, max);
        if (n != want_cut[max])
            fail_msg("utf8_cut max %zu: %zu, want %zu", max, n, want_cut[max]);
        assert_true(utf8_valid(emoji, n));
    }
    assert_int_equal(utf8_cut("\x80\x80\x80\x80\x80", 5, 4), 4); /* not UTF-8: cut where asked */
    unsigned cps[] = {0x41, 0xe9, 0x20ac, 0x1f600, 0x10ffff};
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        char u[4];
        size_t n = utf8_encode(cps[i], u);
        assert_int_equal(utf8_seq_len((const unsigned char *)u, n, NULL), n);
        assert_int_equal(n, i < 4 ? i + 1 : 4);
    }
    buf b = BUF_INIT;
    utf8_sanitize(&b, "ok \xc3\xa9 \xff!", 8);
    assert_string_equal(b.data, "ok \xc3\xa9 \xef\xbf\xbd!");
    buf_free(&b);
    utf8_sanitize(&b, "", 0); /* always a string */
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* The JSON string escaper (canonical JSON, schema messages). */
static void test_json_string(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_append_json_string(&b, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/\xc3\xa9\0z", 18), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f/\xc3\xa9\\u0000z\"");
    buf_free(&b);
    buf_append_json_string(&b, "", 0);
    assert_string_equal(b.data, "\"\"");
    buf_free(&b);
    /* what json_canonical writes for strings and keys */
    json_object *o = json_object_new_object();
    json_object_object_add(o, "k\"", json_object_new_string_len("v\0w", 3));
    char *c = json_canonical(o);
    assert_string_equal(c, "{\"k\\\"\":\"v\\u0000w\"}");
    free(c);
    json_object_put(o);
}

static void test_hdrs(void **state)
{
    (void)state;
    hdrs h = HDRS_INIT;
    const char *lines[] = {"Content-Type: application/json", "X-Amz-Target:  A.B  ", NULL};
    assert_int_equal(hdrs_add_lines(&h, lines), 0);
    assert_string_equal(hdrs_get(&h, "content-type"), "application/json");
    assert_string_equal(hdrs_get(&h, "x-amz-target"), "A.B");
    hdrs_set(&h, "CONTENT-TYPE", "text/plain");
    assert_string_equal(hdrs_get(&h, "Content-Type"), "text/plain");
    assert_int_equal(h.n, 2);
    const char *bad[] = {"no colon", NULL};
    assert_int_equal(hdrs_add_lines(&h, bad), -1);
    hdrs_free(&h);
}

static void test_duration(void **state)
{
    (void)state;
    int64_t v;
    assert_true(parse_duration_ms("1500", &v));
    assert_int_equal(v, 1500);
    assert_true(parse_duration_ms("1.5s", &v));
    assert_int_equal(v, 1500);
    assert_true(parse_duration_ms("2m", &v));
    assert_int_equal(v, 120000);
    assert_true(parse_duration_ms("200ms", &v));
    assert_int_equal(v, 200);
    assert_true(parse_duration_ms("1h", &v));
    assert_int_equal(v, 3600000);
    assert_false(parse_duration_ms("-1s", &v));
    assert_false(parse_duration_ms("5 parsecs", &v));
    assert_false(parse_duration_ms("", &v));
}

static void test_iso8601(void **state)
{
    (void)state;
    assert_int_equal(clock_parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(clock_parse_iso8601_ms("2015-08-30T12:36:00Z"), 1440938160000LL);
    assert_int_equal(clock_parse_iso8601_ms("2015-08-30T12:36:00.250Z"), 1440938160250LL);
    assert_int_equal(clock_parse_iso8601_ms("2015-08-30T14:36:00+02:00"), 1440938160000LL);
    assert_int_equal(clock_parse_iso8601_ms("2015-08-30 12:36"), -1);
    assert_int_equal(clock_parse_iso8601_ms("2015-08-30T12:36:00"), -1);
}

static void test_uri_decode(void **state)
{
    (void)state;
    char *d = uri_decode("a%20b%2Fc%3a%C3%A9+x", strlen("a%20b%2Fc%3a%C3%A9+x"));
    assert_string_equal(d, "a b/c:\xc3\xa9+x"); /* '+' stays: URI, not form, decoding */
    free(d);
    d = uri_decode("100%", 4); /* a '%' without two hex digits is kept */
    assert_string_equal(d, "100%");
    free(d);
    d = uri_decode("%4g%41%4", 8);
    assert_string_equal(d, "%4gA%4");
    free(d);
    d = uri_decode("%41%42", 3); /* only n bytes are read */
    assert_string_equal(d, "A");
    free(d);
    d = uri_decode("", 0);
    assert_string_equal(d, "");
    free(d);
    /* round trip with uri_encode */
    char *e = uri_encode("k=v&x y/é~", true);
    d = uri_decode(e, strlen(e));
    assert_string_equal(d, "k=v&x y/é~");
    free(d);
    free(e);
}

static void test_url_for_log(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"https://user:pw@host.example:8443/p/q?token=x#f", "https://host.example:8443/p/q"},
        {"http://a@b:p@w@127.0.0.1/creds", "http://127.0.0.1/creds"}, /* the last '@' ends the userinfo */
        {"https://lambda.us-east-1.amazonaws.com", "https://lambda.us-east-1.amazonaws.com"},
        {"http://host/path@x?y", "http://host/path@x"}, /* an '@' in the path is not userinfo */
        {"ftp://user:pw@host/x", "ftp://host/x"},
        {"no scheme?q", "no scheme"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *u = url_for_log(cases[i][0]);
        assert_string_equal(u, cases[i][1]);
        free(u);
    }
}

static void test_str_redact(void **state)
{
    (void)state;
    char a[] = "token TOKEN123 and TOKEN123TOKEN123, end TOKEN12";
    assert_int_equal(str_redact(a, "TOKEN123"), 3);
    assert_string_equal(a, "token **** and ********, end TOKEN12");
    char b[] = "abc abc";
    assert_int_equal(str_redact(b, "abc"), 0); /* too short to be a secret worth garbling for */
    assert_string_equal(b, "abc abc");
    assert_int_equal(str_redact(b, NULL), 0);
    assert_int_equal(str_redact(NULL, "abcd"), 0);
    char c[] = "abcd";
    assert_int_equal(str_redact(c, "abcd"), 1);
    assert_string_equal(c, "****");
}

static void test_hdrs_value_ok(void **state)
{
    (void)state;
    assert_true(hdrs_value_ok(""));
    assert_true(hdrs_value_ok("AWS4-HMAC-SHA256 Credential=x, Signature=y"));
    assert_true(hdrs_value_ok("tab\there"));
    assert_false(hdrs_value_ok("a\r\nX-Injected: 1"));
    assert_false(hdrs_value_ok("a\nb"));
    assert_false(hdrs_value_ok("a\r"));
    assert_false(hdrs_value_ok(NULL));
}

static void test_secure_zero(void **state)
{
    (void)state;
    char s[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRET";
    secure_zero(s, sizeof s);
    for (size_t i = 0; i < sizeof s; i++)
        assert_int_equal(s[i], 0);
    secure_zero(NULL, 0);
    secure_zero(s, 0);
}

/* Parses (true) or refuses (false) text, and checks what *out and *err are then. */
static bool parses(const char *text, size_t len, int depth, json_object **out)
{
    const char *err = "unset";
    *out = (json_object *)1;
    bool ok = json_parse_strict(text, len, depth, out, &err);
    if (ok) {
        assert_null(err);
    } else {
        assert_null(*out);
        assert_non_null(err);
        assert_true(*err != '\0');
    }
    return ok;
}

static void test_json_parse_strict(void **state)
{
    (void)state;
    json_object *o;
    /* scalars at the top level, a bare number at the very end of the input included */
    assert_true(parses("1", 1, JSON_MAX_DEPTH, &o));
    assert_true(json_object_is_type(o, json_type_int));
    assert_int_equal(json_object_get_int64(o), 1);
    json_object_put(o);
    assert_true(parses("-12.5e1 \n", 9, JSON_MAX_DEPTH, &o));
    assert_true(json_object_is_type(o, json_type_double));
    json_object_put(o);
    assert_true(parses("null", 4, JSON_MAX_DEPTH, &o));
    assert_null(o); /* json-c's null */
    assert_true(parses("\"x\"", 3, JSON_MAX_DEPTH, &o));
    assert_string_equal(json_object_get_string(o), "x");
    json_object_put(o);
    assert_true(parses("\"\\ud83d\\ude00 \xc3\xa9\"", 17, JSON_MAX_DEPTH, &o)); /* a surrogate pair, raw UTF-8 */
    assert_string_equal(json_object_get_string(o), "\xf0\x9f\x98\x80 \xc3\xa9");
    json_object_put(o);
    assert_true(parses("{\"a\":[true,false,null]}", 23, JSON_MAX_DEPTH, &o));
    json_object_put(o);
    /* only len bytes count: no NUL needed, none looked at */
    assert_true(parses("[1]garbage", 3, JSON_MAX_DEPTH, &o));
    json_object_put(o);

    /* lone surrogates as escapes: valid grammar, U+FFFD in the tree (a pair stays one character) */
    static const struct {
        const char *text, *want;
    } lone[] = {
        {"\"\\ud800\"", "\xef\xbf\xbd"},
        {"\"\\udc00\"", "\xef\xbf\xbd"},
        {"\"\\ud800x\"", "\xef\xbf\xbdx"},
        {"\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A"},
        {"\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80"},
        {"\"\\udc00\\ud800\"", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\"a\\ud83d\"", "a\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof lone / sizeof *lone; i++) {
        if (!parses(lone[i].text, strlen(lone[i].text), JSON_MAX_DEPTH, &o))
            fail_msg("refused: %s", lone[i].text);
        assert_string_equal(json_object_get_string(o), lone[i].want);
        json_object_put(o);
    }
    /* surrogates as raw bytes, and the rest */
    static const char *const bad_text[] = {
        "\"\xed\xa0\x80\"", "\"\\ud80\"", "\"\\ud800\\u12\"",
        "\"\xc0\xaf\"",     /* overlong */
        "\"\xff\"", "\"\xe2\x82\"", "\"\xf4\x90\x80\x80\"",
        /* trailing garbage, several values, not JSON */
        "1 2", "{} x", "{}{}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "NaN", "Infinity", "'a'", "tru",
        "nul", "\"a\\x\"", "\"tab\there\"", "[1", "{\"a\"}", "/* c */ 1", "", " ", "\\ud800",
    };
    for (size_t i = 0; i < sizeof bad_text / sizeof *bad_text; i++)
        if (parses(bad_text[i], strlen(bad_text[i]), JSON_MAX_DEPTH, &o))
            fail_msg("accepted: %s", bad_text[i]);
    assert_false(parses("1\0", 2, JSON_MAX_DEPTH, &o)); /* a NUL after the value */
    assert_false(parses("\"a\0b\"", 5, JSON_MAX_DEPTH, &o));
    assert_false(parses(NULL, 3, JSON_MAX_DEPTH, &o));
    assert_false(parses(NULL, 0, JSON_MAX_DEPTH, &o));

    /* depth: exactly max_depth containers parse, one more does not */
    buf deep = BUF_INIT;
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        buf_append_str(&deep, i % 2 ? "[" : "{\"k\":");
    buf_append_str(&deep, "1");
    for (int i = JSON_MAX_DEPTH; i >= 0; i--)
        buf_append_str(&deep, i % 2 ? "]" : "}");
    assert_false(parses(deep.data, deep.len, JSON_MAX_DEPTH, &o));
    /* drop the outer object: {"k": ... } is 5 bytes in front and 1 behind */
    assert_true(parses(deep.data + 5, deep.len - 6, JSON_MAX_DEPTH, &o));
    assert_true(json_object_is_type(o, json_type_array));
    json_object_put(o);
    assert_false(parses(deep.data + 5, deep.len - 6, JSON_MAX_DEPTH - 1, &o));
    buf_free(&deep);
    /* json-c's own default (32) is no limit here: 64 levels, as discovery accepted them, parse */
    assert_true(JSON_MAX_DEPTH >= 64);
}

/* The tree json_parse_strict builds: every value as sent, integers beyond 64 bits included */
static const char *round_trip(const char *text, json_object **o)
{
    assert_true(json_parse_strict(text, strlen(text), JSON_MAX_DEPTH, o, NULL));
    return json_object_to_json_string_ext(*o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void test_json_parse_values(void **state)
{
    (void)state;
    json_object *o;
    /* numbers come out as they went in */
    static const char *const same[] = {
        "[0,1,-1,9223372036854775807,-9223372036854775808,18446744073709551615]",
        "[9223372036854775808,18446744073709551616,-9223372036854775809,99999999999999999999999]",
        "[1.10,-0.0,1E2,1e-7,2.5e+3,1e400,0.1e-400]",
        "{\"a\":[],\"b\":{},\"c\":[null,true,false,{}],\"d\":null}",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        assert_string_equal(round_trip(same[i], &o), same[i]);
        json_object_put(o);
    }
    assert_string_equal(round_trip("[-0, 1 , 2\n]", &o), "[0,1,2]");
    json_object_put(o);

    /* the types: int64, uint64, and a double holding the value of what no 64-bit integer holds */
    round_trip("[9223372036854775807,18446744073709551615,18446744073709551616,-9223372036854775809,1.5]", &o);
    assert_true(json_object_is_type(json_object_array_get_idx(o, 0), json_type_int));
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(o, 0)), INT64_MAX);
    assert_true(json_object_is_type(json_object_array_get_idx(o, 1), json_type_int));
    assert_true(json_object_get_uint64(json_object_array_get_idx(o, 1)) == UINT64_MAX);
    assert_true(json_object_is_type(json_object_array_get_idx(o, 2), json_type_double));
    assert_true(json_object_get_double(json_object_array_get_idx(o, 2)) == 18446744073709551616.0);
    assert_true(json_object_get_double(json_object_array_get_idx(o, 3)) == -9223372036854775809.0);
    assert_true(json_object_get_double(json_object_array_get_idx(o, 4)) == 1.5);
    json_object_put(o);

    /* strings: every escape decoded, a NUL kept (length), a surrogate pair, raw UTF-8 */
    round_trip("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"a\\u0000b\",\"\\ud83d\\ude00\\u00e9\",\"\xc3\xa9x\",\"plain\"]", &o);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 0)), "\"\\/\b\f\n\r\t");
    assert_int_equal(json_object_get_string_len(json_object_array_get_idx(o, 1)), 3);
    assert_memory_equal(json_object_get_string(json_object_array_get_idx(o, 1)), "a\0b", 3);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 2)), "\xf0\x9f\x98\x80\xc3\xa9");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 3)), "\xc3\xa9x");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 4)), "plain");
    json_object_put(o);

    /* member names: escapes decoded, a long one, a repeated one (the last wins, as with json-c) */
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    char *text = xasprintf("{\"a\\u0062\":1,\"%s\":2,\"d\":3,\"d\":4}", longkey);
    round_trip(text, &o);
    free(text);
    assert_int_equal(json_object_object_length(o), 3);
    assert_null(json_get_str(o, "ab")); /* not a string */
    json_object *v;
    assert_true(json_object_object_get_ex(o, "ab", &v));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(o, longkey, &v));
    assert_int_equal(json_object_get_int(v), 2);
    assert_true(json_object_object_get_ex(o, "d", &v));
    assert_int_equal(json_object_get_int(v), 4);
    json_object_put(o);
}

/* A random JSON document (fixed seed): every kind of value, escapes, raw UTF-8, numbers
 * within 64 bits (json-c's tokener clamps the others, which is what the parser must not do). */
static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static void rnd_string(buf *b)
{
    static const char *const pieces[] = {"a", "Z", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                                         "\\u0000", "\\u00e9", "\\u20ac", "\\ud83d\\ude00", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "{", "]", ":", ","};
    buf_append_char(b, '"');
    for (unsigned i = rnd(6); i > 0; i--)
        buf_append_str(b, pieces[rnd(sizeof pieces / sizeof *pieces)]);
    buf_append_char(b, '"');
}

static void rnd_value(buf *b, int depth)
{
    static const char *const ws[] = {"", "", " ", "\n", "\t ", "\r\n"};
    buf_append_str(b, ws[rnd(6)]);
    switch (depth > 4 ? 3 + rnd(5) : rnd(8)) {
    case 0:
    case 1: {
        buf_append_char(b, '{');
        for (unsigned i = 0, n = rnd(4); i < n; i++) {
            if (i)
                buf_append_char(b, ',');
            buf_append_str(b, ws[rnd(6)]);
            rnd_string(b);
            buf_append_str(b, ws[rnd(6)]);
            buf_append_char(b, ':');
            rnd_value(b, depth + 1);
        }
        buf_append_char(b, '}');
        break;
    }
    case 2: {
        buf_append_char(b, '[');
        for (unsigned i = 0, n = rnd(4); i < n; i++) {
            if (i)
                buf_append_char(b, ',');
            rnd_value(b, depth + 1);
        }
        buf_append_char(b, ']');
        break;
    }
    case 3: rnd_string(b); break;
    case 4: {
        static const char *const nums[] = {"0", "-0", "7", "-12", "9223372036854775807", "-9223372036854775808",
                                           "18446744073709551615", "1.5", "-0.25", "1e3", "2E-2", "6.02e+23", "0.0"};
        buf_append_str(b, nums[rnd(sizeof nums / sizeof *nums)]);
        break;
    }
    case 5: buf_append_str(b, "true"); break;
    case 6: buf_append_str(b, "false"); break;
    default: buf_append_str(b, "null"); break;
    }
    buf_append_str(b, ws[rnd(6)]);
}

/* The parser's own tree builder and json-c's tokener agree on 3,000 random documents (as
 * json_object_equal sees them, and as serialised), and compact text parses to the same tree. */
static void test_json_parse_random(void **state)
{
    (void)state;
    for (int i = 0; i < 3000; i++) {
        buf b = BUF_INIT;
        rnd_value(&b, 0);
        json_object *ours = NULL, *theirs = NULL;
        if (!json_parse_strict(b.data, b.len, JSON_MAX_DEPTH, &ours, NULL))
            fail_msg("refused: %s", b.data);
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        theirs = json_tokener_parse_ex(tok, b.data, (int)b.len);
        if (json_tokener_get_error(tok) == json_tokener_continue)
            theirs = json_tokener_parse_ex(tok, "", 1);
        assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
        json_tokener_free(tok);
        if (!json_object_equal(ours, theirs))
            fail_msg("differs from json-c: %s", b.data);
        const int fl = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
        char *a = xstrdup(json_object_to_json_string_ext(ours, fl));
        if (strcmp(a, json_object_to_json_string_ext(theirs, fl)) != 0)
            fail_msg("serialised differently: %s", b.data);
        buf compact = BUF_INIT;
        json_append_compact(&compact, b.data, b.len);
        json_object *again = NULL;
        assert_true(json_check_strict(compact.data ? compact.data : "", compact.len, JSON_MAX_DEPTH, NULL));
        assert_true(json_parse_strict(compact.data ? compact.data : "", compact.len, JSON_MAX_DEPTH, &again, NULL));
        assert_true(json_object_equal(ours, again));
        assert_null(memchr(compact.data ? compact.data : "", '\n', compact.len));
        json_object_put(again);
        buf_free(&compact);
        free(a);
        json_object_put(ours);
        json_object_put(theirs);
        buf_free(&b);
    }
}

/* Mutated documents (fixed seed): the parser accepts or refuses each without a memory error (the
 * suite also runs under valgrind and ASan), and every accepted one survives the compact copy
 * (structuredContent's) as the same tree. */
static void test_json_parse_mutations(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"a\":[1,2.5e3,-0,\"x\\u00e9\\ud83d\\ude00\"],\"b\":{\"c\":null,\"d\":true}}",
        "[99999999999999999999999,-9223372036854775809,18446744073709551615,1E400]",
        "\"a\\\\b\\\"c\\/\\n\"", "{\"k\\u0000\":\"v\"}", "[[[[[[]]]]]]", "  {\"x\" : [ 1 , 2 ] }  ",
    };
    static const char alpha[] = "{}[]\",:\\/0123456789.eE+-tfnulrsa \n\t\xc3\xa9\xff\x80u";
    rnd_state = 4242;
    size_t accepted = 0;
    for (int i = 0; i < 50000; i++) {
        const char *seed = seeds[rnd(sizeof seeds / sizeof *seeds)];
        size_t n = strlen(seed);
        char text[256];
        memcpy(text, seed, n);
        for (unsigned m = rnd(4) + 1; m; m--) {
            unsigned op = rnd(3), pos = n ? rnd((unsigned)n) : 0;
            char ch = alpha[rnd(sizeof alpha - 1)];
            if (op == 0 && n) {
                text[pos] = ch;
            } else if (op == 1 && n < sizeof text - 1) {
                memmove(text + pos + 1, text + pos, n - pos);
                text[pos] = ch;
                n++;
            } else if (op == 2 && n) {
                memmove(text + pos, text + pos + 1, n - pos - 1);
                n--;
            }
        }
        json_object *o = NULL;
        if (!json_parse_strict(text, n, 8, &o, NULL))
            continue;
        accepted++;
        buf compact = BUF_INIT;
        json_append_compact(&compact, text, n);
        json_object *again = NULL;
        if (!json_parse_strict(compact.data ? compact.data : "", compact.len, 8, &again, NULL) ||
            !json_object_equal(o, again))
            fail_msg("the compact copy differs: %.*s", (int)n, text);
        json_object_put(again);
        json_object_put(o);
        buf_free(&compact);
    }
    assert_true(accepted > 1000); /* the mutations leave plenty of valid documents */
}

/* Threads parse at the same time: nothing of one parse is shared with another (the C locale
 * numbers are read in is made once, for all), and a refused text leaves nothing behind. */
static void *parse_many(void *arg)
{
    long k = (long)(intptr_t)arg;
    for (long i = 0; i < 2000; i++) {
        char text[96];
        long v = k * 100000 + i;
        int n = snprintf(text, sizeof text, "{\"k\":[%ld,{\"s\":\"x%ld\"}],\"t\":true,\"d\":%ld.5}", v, v, v);
        json_object *o = NULL;
        /* a refused text, and a bare number (json-c ends it on a second call), between documents */
        if (i % 3 == 0 && json_parse_strict("[[[1]]]", 7, 2, &o, NULL))
            return (void *)1;
        if (i % 3 == 1) {
            if (!json_parse_strict("12", 2, JSON_MAX_DEPTH, &o, NULL) || json_object_get_int64(o) != 12)
                return (void *)4;
            json_object_put(o);
        }
        if (!json_parse_strict(text, (size_t)n, JSON_MAX_DEPTH, &o, NULL))
            return (void *)2;
        json_object *arr, *s;
        bool ok = json_object_object_get_ex(o, "k", &arr) && json_object_get_int64(json_object_array_get_idx(arr, 0)) == v &&
                  json_object_object_get_ex(json_object_array_get_idx(arr, 1), "s", &s) &&
                  atol(json_object_get_string(s) + 1) == v && json_object_object_get_ex(o, "d", &s) &&
                  json_object_get_double(s) == (double)v + 0.5;
        json_object_put(o);
        if (!ok)
            return (void *)3;
    }
    return NULL;
}

static void test_json_parse_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (long k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&t[k], NULL, parse_many, (void *)(intptr_t)k), 0);
    for (int k = 0; k < 4; k++) {
        void *rc = (void *)9;
        pthread_join(t[k], &rc);
        assert_null(rc);
    }
    /* deeper than the thread's cached tokener: a tokener of its own, then the cached one again */
    buf deep = BUF_INIT;
    for (int i = 0; i < 300; i++)
        buf_append_char(&deep, '[');
    for (int i = 0; i < 300; i++)
        buf_append_char(&deep, ']');
    json_object *o = NULL;
    assert_true(json_parse_strict(deep.data, deep.len, 300, &o, NULL));
    json_object_put(o);
    assert_false(json_parse_strict(deep.data, deep.len, 299, &o, NULL));
    buf_free(&deep);
    assert_true(json_parse_strict("[1,2]", 5, JSON_MAX_DEPTH, &o, NULL));
    assert_int_equal(json_object_array_length(o), 2);
    json_object_put(o);
}

/* xasprintf formats short results in one pass on the stack and longer ones in a second pass */
static void test_xasprintf(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 510, 511, 512, 513, 4000};
    char *src = xmalloc(4001);
    memset(src, 'a', 4000);
    src[4000] = '\0';
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        char *s = xasprintf("<%.*s>", (int)lens[i], src);
        assert_int_equal(strlen(s), lens[i] + 2);
        assert_int_equal(s[0], '<');
        assert_int_equal(s[lens[i] + 1], '>');
        assert_int_equal(strspn(s + 1, "a"), lens[i]);
        free(s);
    }
    free(src);
    char *s = xasprintf("%s=%d", "n", 42);
    assert_string_equal(s, "n=42");
    free(s);
}

static void test_json_get_str(void **state)
{
    (void)state;
    json_object *o;
    assert_true(parses("{\"s\":\"v\",\"n\":1,\"z\":null}", 24, JSON_MAX_DEPTH, &o));
    assert_string_equal(json_get_str(o, "s"), "v");
    assert_null(json_get_str(o, "n"));
    assert_null(json_get_str(o, "z"));
    assert_null(json_get_str(o, "missing"));
    assert_null(json_get_str(NULL, "s"));
    json_object *arr = json_object_new_array();
    assert_null(json_get_str(arr, "s"));
    json_object_put(arr);
    json_object_put(o);
}

/* json_parse_text (core/json.c, the plugins' json_parse): a thin caller of the parser above */
static void test_json_parse_text(void **state)
{
    (void)state;
    char err[128];
    json_object *o = json_parse_text("1", 1, err, sizeof err);
    assert_non_null(o);
    assert_int_equal(json_object_get_int64(o), 1);
    json_object_put(o);
    o = json_parse_text(" \"x\" ", 5, err, sizeof err);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(o), "x");
    json_object_put(o);
    strcpy(err, "unset");
    assert_null(json_parse_text("null", 4, err, sizeof err));
    assert_string_equal(err, ""); /* not an error: the JSON null */
    assert_null(json_parse_text("\"\\ud80\"", 7, err, sizeof err)); /* a short \u escape */
    assert_true(err[0] != '\0');
    assert_null(json_parse_text("{} x", 4, err, sizeof err));
    assert_true(err[0] != '\0');
    assert_null(json_parse_text("\"\xff\"", 3, err, sizeof err));
    assert_string_equal(err, "invalid UTF-8");
    /* a schema nesting 101 objects: more than json-c's default limit (32) and than this
       function's old one (63), within JSON_MAX_DEPTH, which the registry uses as well */
    buf deep = BUF_INIT;
    for (int i = 0; i < 50; i++)
        buf_append_str(&deep, "{\"type\":\"object\",\"properties\":{\"a\":");
    buf_append_str(&deep, "{}");
    for (int i = 0; i < 50; i++)
        buf_append_str(&deep, "}}");
    o = json_parse_text(deep.data, deep.len, err, sizeof err);
    assert_non_null(o);
    json_object_put(o);
    buf_free(&deep);
}

/* Reads everything written to stderr while fn runs. */
static char *capture_stderr(void (*fn)(void))
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    long n = ftell(tmp);
    rewind(tmp);
    char *out = xcalloc(1, (size_t)n + 1);
    assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return out;
}

static void log_out_of_range(void)
{
    log_set_level(LMCP_LOG_TRACE);
    log_msg((lmcp_log_level)-1, "plugin", "below error");
    log_msg((lmcp_log_level)99, "plugin", "above trace");
    log_msg((lmcp_log_level)-2147483647, "plugin", "far below");
    log_set_level(LMCP_LOG_ERROR);
    log_msg((lmcp_log_level)-5, "plugin", "still an error");
    log_msg((lmcp_log_level)1000, "plugin", "trace, filtered out");
    log_set_level(LMCP_LOG_INFO);
}

/* A plugin can pass any level (host.c h_log): clamped, never an index out of bounds. */
static void test_log_level_out_of_range(void **state)
{
    (void)state;
    char *out = capture_stderr(log_out_of_range);
    assert_non_null(strstr(out, " error plugin: below error"));
    assert_non_null(strstr(out, " trace plugin: above trace"));
    assert_non_null(strstr(out, " error plugin: far below"));
    assert_non_null(strstr(out, " error plugin: still an error"));
    assert_null(strstr(out, "filtered out"));
    free(out);
    assert_string_equal(log_level_name(LMCP_LOG_WARN), "warn");
    assert_string_equal(log_level_name((lmcp_log_level)42), "?");
    assert_true(log_enabled((lmcp_log_level)-1));
    assert_false(log_enabled((lmcp_log_level)42));
}

static void log_controls(void)
{
    log_msg(LMCP_LOG_ERROR, "aws", "code Bad\x1b[2J\x1b]0;title\x07 end\x7f.\ttab\rline\nnext");
}

/* Found in the fault review: an escape sequence in an AWS error (or an IMDS role name) reached
 * stderr as it was; only line breaks were replaced. */
static void test_log_no_control_characters(void **state)
{
    (void)state;
    char *out = capture_stderr(log_controls);
    size_t n = strlen(out);
    assert_true(n > 0 && out[n - 1] == '\n');
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char ch = (unsigned char)out[i];
        assert_false((ch < 0x20 && ch != '\t') || ch == 0x7f);
    }
    assert_non_null(strstr(out, "code Bad [2J ]0;title  end .\ttab line next\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),       cmocka_unit_test(test_split_trim), cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_base64),    cmocka_unit_test(test_base64url), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_string), cmocka_unit_test(test_hdrs),       cmocka_unit_test(test_duration),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_uri_decode),
        cmocka_unit_test(test_url_for_log),
        cmocka_unit_test(test_str_redact),
        cmocka_unit_test(test_hdrs_value_ok),
        cmocka_unit_test(test_secure_zero),
        cmocka_unit_test(test_json_parse_strict),
        cmocka_unit_test(test_json_parse_values),
        cmocka_unit_test(test_json_parse_random),
        cmocka_unit_test(test_json_parse_mutations),
        cmocka_unit_test(test_json_parse_threads),
        cmocka_unit_test(test_xasprintf),
        cmocka_unit_test(test_json_get_str),
        cmocka_unit_test(test_json_parse_text),
        cmocka_unit_test(test_log_level_out_of_range),
        cmocka_unit_test(test_log_no_control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
