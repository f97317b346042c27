/* util: buffers, strings, headers, durations, dates, base64. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/hdrs.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),       cmocka_unit_test(test_split_trim), cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_base64),    cmocka_unit_test(test_hdrs),       cmocka_unit_test(test_duration),
        cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
