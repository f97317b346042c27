/* Tool names: the upstream sanitising rule and deterministic collision handling. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tools/naming.h"

/* prefix: the name as the prefix plugin (plugins/discovery/prefix.c, strip = true) hands it on
 * — without the prefix when the name starts with it and is longer — then sanitised. */
static void check(const char *in, const char *prefix, const char *want)
{
    size_t n = prefix ? strlen(prefix) : 0;
    const char *name = n && strncmp(in, prefix, n) == 0 && in[n] ? in + n : in;
    char *got = tool_name_sanitize(name);
    assert_string_equal(got, want);
    free(got);
}

static void test_sanitize(void **state)
{
    (void)state;
    check("my-function", NULL, "my_function");
    check("mcp-orders-get", "mcp-", "orders_get");
    check("other-fn", "mcp-", "other_fn");          /* prefix only stripped when present */
    check("mcp-", "mcp-", "mcp_");                  /* never an empty name */
    check("1st-report", NULL, "_1st_report");       /* leading digit */
    check("mcp-2nd", "mcp-", "_2nd");
    check("a.b:c/d", NULL, "a_b_c_d");
    check("caf\xc3\xa9", NULL, "caf__");            /* bytes outside [A-Za-z0-9_] */
    check("Already_Fine_9", NULL, "Already_Fine_9");
}

/* Names longer than TOOL_NAME_MAX (64: many clients refuse longer ones): a 64-character Lambda
 * name starting with a digit (65 once sanitised), a function known only by its ARN, a collision
 * suffix on a 64-character name. */
static void test_length_limit(void **state)
{
    (void)state;
    char fn64[65];
    memset(fn64, 'a', 64);
    fn64[0] = '9';
    fn64[64] = '\0';
    char *a = tool_name_sanitize(fn64);
    assert_int_equal(strlen(a), TOOL_NAME_MAX);
    assert_memory_equal(a, "_9aaaa", 6);
    assert_int_equal(a[55], '_');
    char *again = tool_name_sanitize(fn64); /* deterministic */
    assert_string_equal(a, again);
    fn64[63] = 'b'; /* differs only past the kept start: another name */
    char *b = tool_name_sanitize(fn64);
    assert_int_equal(strlen(b), TOOL_NAME_MAX);
    assert_string_not_equal(a, b);
    const char *arn = "arn:aws:lambda:eu-central-1:123456789012:function:a-rather-long-vendor-function-name:prod";
    char *c = tool_name_sanitize(arn);
    assert_int_equal(strlen(c), TOOL_NAME_MAX);
    assert_memory_equal(c, "arn_aws_lambda_eu_central_1_123456789012_function_a_rat", 55);
    char exactly[65];
    memset(exactly, 'x', 64);
    exactly[64] = '\0';
    char *d = tool_name_sanitize(exactly); /* 64 already: unchanged */
    assert_string_equal(d, exactly);
    /* two functions whose names sanitise to the same 64 characters: the suffix fits in 64 */
    char *names[2] = {tool_name_sanitize(exactly), tool_name_sanitize(exactly)};
    const char *keys[] = {"arn:1", "arn:2"};
    assert_int_equal(tool_names_make_unique(names, keys, 2), 1);
    assert_string_equal(names[0], exactly);
    assert_int_equal(strlen(names[1]), TOOL_NAME_MAX);
    assert_string_equal(names[1] + 62, "_2");
    free(names[0]), free(names[1]), free(a), free(again), free(b), free(c), free(d);
}

static char **names_of(const char *const *v, size_t n)
{
    char **out = calloc(n, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = tool_name_sanitize(v[i]);
    return out;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void test_collisions(void **state)
{
    (void)state;
    /* three functions sanitise to a_b; keys (ARNs) decide who keeps the name */
    const char *fns[] = {"a.b", "a-b", "a_b", "c"};
    const char *keys[] = {"arn:3", "arn:2", "arn:1", "arn:0"};
    char **n = names_of(fns, 4);
    assert_int_equal(tool_names_make_unique(n, keys, 4), 2);
    assert_string_equal(n[2], "a_b");   /* arn:1 */
    assert_string_equal(n[1], "a_b_2"); /* arn:2 */
    assert_string_equal(n[0], "a_b_3"); /* arn:3 */
    assert_string_equal(n[3], "c");
    free_names(n, 4);

    /* the same account in another order yields the same names */
    const char *fns2[] = {"c", "a_b", "a.b", "a-b"};
    const char *keys2[] = {"arn:0", "arn:1", "arn:3", "arn:2"};
    n = names_of(fns2, 4);
    tool_names_make_unique(n, keys2, 4);
    assert_string_equal(n[1], "a_b");
    assert_string_equal(n[3], "a_b_2");
    assert_string_equal(n[2], "a_b_3");
    free_names(n, 4);

    /* a suffixed name never takes a name another function already has */
    const char *fns3[] = {"x-y", "x_y", "x_y_2"};
    const char *keys3[] = {"arn:b", "arn:a", "arn:c"};
    n = names_of(fns3, 3);
    assert_int_equal(tool_names_make_unique(n, keys3, 3), 1);
    assert_string_equal(n[1], "x_y");
    assert_string_equal(n[2], "x_y_2");
    assert_string_equal(n[0], "x_y_3");
    free_names(n, 3);

    /* no collisions: nothing renamed */
    const char *fns4[] = {"p", "q"};
    n = names_of(fns4, 2);
    assert_int_equal(tool_names_make_unique(n, fns4, 2), 0);
    free_names(n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_length_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
