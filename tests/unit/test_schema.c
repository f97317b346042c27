/* tools/schema: JSON Schema validation of tool arguments (drafts 4 .. 2020-12). */
#include "config.h"

#include <locale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tools/schema.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* ------------------------------------------------------------------ helpers */

static json_object *parse(const char *txt)
{
    struct json_tokener *tok = json_tokener_new_ex(1000);
    json_object *o = json_tokener_parse_ex(tok, txt, (int)strlen(txt) + 1); /* the NUL ends a bare number */
    enum json_tokener_error e = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (e != json_tokener_success) {
        print_error("bad test JSON: %s\n%s\n", json_tokener_error_desc(e), txt);
        fail();
    }
    return o;
}

static schema_validator *compile(const char *schema_txt)
{
    json_object *s = parse(schema_txt);
    char err[512] = "";
    schema_validator *v = schema_validator_new(s, err, sizeof err);
    json_object_put(s); /* the validator holds its own reference */
    if (!v)
        print_error("compile failed: %s\n", err);
    assert_non_null(v);
    return v;
}

/* Validate and compare the whole report (NULL: valid). */
static void expect(const schema_validator *v, const char *instance_txt, const char *want)
{
    json_object *inst = parse(instance_txt);
    char *rep = NULL;
    size_t n = schema_validate(v, inst, &rep);
    json_object_put(inst);
    if (!want) {
        if (n != 0)
            print_error("instance %s: unexpected violations:\n%s\n", instance_txt, rep ? rep : "");
        assert_int_equal(n, 0);
        assert_null(rep);
        return;
    }
    if (n == 0)
        print_error("instance %s: expected violations:\n%s\n", instance_txt, want);
    assert_true(n > 0);
    assert_non_null(rep);
    assert_string_equal(rep, want);
    free(rep);
}

static size_t count(const schema_validator *v, const char *instance_txt)
{
    json_object *inst = parse(instance_txt);
    char *rep = NULL;
    size_t n = schema_validate(v, inst, &rep);
    json_object_put(inst);
    free(rep);
    return n;
}

#define OK NULL
#define END NULL

/* ' for " (in the schema and the instances, not in the reports): for the many small schemas of
 * the unevaluated* tests. */
static char *dq(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

/* check_pattern()'s report for an instance the pattern does not match */
static const char NOMATCH[] = "(the pattern does not match)";

/* The (instance, report) pairs of ap, up to END, against one schema. quotes: ' stands for " (dq).
 * verdict_only: only valid or not is checked (any report but OK means invalid). nomatch: the
 * report NOMATCH stands for (NULL: none does). */
static void run_pairs(const char *schema_txt, bool quotes, bool verdict_only, const char *nomatch, va_list ap)
{
    char *st = quotes ? dq(schema_txt) : strdup(schema_txt);
    schema_validator *v = compile(st);
    free(st);
    for (;;) {
        const char *inst = va_arg(ap, const char *);
        if (!inst)
            break;
        const char *want = va_arg(ap, const char *);
        if (want == NOMATCH && nomatch)
            want = nomatch;
        char *it = quotes ? dq(inst) : strdup(inst);
        if (verdict_only) {
            size_t n = count(v, it);
            if ((n == 0) != (want == NULL))
                print_error("schema %s\ninstance %s: expected %s, got %zu violations\n", schema_txt, it,
                            want ? "invalid" : "valid", n);
            assert_int_equal(n == 0, want == NULL);
        } else {
            expect(v, it, want);
        }
        free(it);
    }
    schema_validator_free(v);
}

/* One schema, any number of (instance, report) pairs. */
static void check(const char *schema_txt, ...)
{
    va_list ap;
    va_start(ap, schema_txt);
    run_pairs(schema_txt, false, false, NULL, ap);
    va_end(ap);
}

/* check() of {"pattern": pattern}: the pattern is written once, and NOMATCH stands for its report
 * "$: must match pattern <pattern>" */
static void check_pattern(const char *pattern, ...)
{
    json_object *schema = json_object_new_object();
    json_object_object_add(schema, "pattern", json_object_new_string(pattern));
    char *msg = xasprintf("$: must match pattern %s", pattern);
    va_list ap;
    va_start(ap, pattern);
    run_pairs(json_object_to_json_string_ext(schema, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), false,
              false, msg, ap);
    va_end(ap);
    free(msg);
    json_object_put(schema);
}

/* check() with ' for " in the schema and the instances */
static void checkq(const char *schema_txt, ...)
{
    va_list ap;
    va_start(ap, schema_txt);
    run_pairs(schema_txt, true, false, NULL, ap);
    va_end(ap);
}

/* A schema and instances that are only valid or not (' for "): BAD for any report. */
#define BAD ""
static void verdicts(const char *schema_txt, ...)
{
    va_list ap;
    va_start(ap, schema_txt);
    run_pairs(schema_txt, true, true, NULL, ap);
    va_end(ap);
}

static void compile_fails(const char *schema_txt, const char *want_err)
{
    json_object *s = parse(schema_txt);
    char err[512] = "";
    schema_validator *v = schema_validator_new(s, err, sizeof err);
    json_object_put(s);
    assert_null(v);
    assert_string_equal(err, want_err);
}

/* ------------------------------------------------------------------ type, enum, const */

static void test_type(void **state)
{
    (void)state;
    check("{\"type\":\"object\",\"properties\":{\"order_id\":{\"type\":\"integer\"}}}",
          "{\"order_id\":17}", OK,
          "{\"order_id\":1.0}", OK, /* integral numbers are integers */
          "{\"order_id\":-2e3}", OK,
          "{\"order_id\":\"17\"}", "$.order_id: expected integer, got string",
          "{\"order_id\":1.5}", "$.order_id: expected integer, got number",
          "[]", "$: expected object, got array",
          END);
    check("{\"type\":\"number\"}", "1", OK, "1.25", OK, "true", "$: expected number, got boolean", END);
    check("{\"type\":\"string\"}", "\"x\"", OK, "null", "$: expected string, got null", END);
    check("{\"type\":\"boolean\"}", "false", OK, "0", "$: expected boolean, got integer", END);
    check("{\"type\":\"null\"}", "null", OK, "{}", "$: expected null, got object", END);
    check("{\"type\":\"array\"}", "[1]", OK, "\"[]\"", "$: expected array, got string", END);
    check("{\"type\":[\"string\",\"null\"]}", "\"a\"", OK, "null", OK, "3",
          "$: expected string or null, got integer", END);
    check("{\"type\":[\"integer\",\"boolean\",\"object\"]}", "2.0", OK, "2.5",
          "$: expected object, integer or boolean, got number", END);
    check("{\"type\":[\"number\",\"integer\"]}", "2.5", OK, "\"2\"", "$: expected number, got string", END);
}

static void test_enum_const(void **state)
{
    (void)state;
    check("{\"properties\":{\"status\":{\"enum\":[\"open\",\"closed\"]}}}",
          "{\"status\":\"open\"}", OK,
          "{\"status\":\"pending\"}", "$.status: must be one of [\"open\", \"closed\"]",
          "{\"status\":1}", "$.status: must be one of [\"open\", \"closed\"]",
          END);
    /* numbers compare by value; structures deeply, object key order irrelevant */
    check("{\"enum\":[1, null, {\"a\":[1,2]}, [true]]}",
          "1.0", OK, "null", OK, "{\"a\":[1.0,2]}", OK, "[true]", OK,
          "{\"a\":[2,1]}", "$: must be one of [1, null, {\"a\":[1,2]}, [true]]",
          "[true,true]", "$: must be one of [1, null, {\"a\":[1,2]}, [true]]",
          END);
    check("{\"const\":{\"x\":1,\"y\":\"z\"}}", "{\"y\":\"z\",\"x\":1}", OK,
          "{\"x\":1}", "$: must be equal to {\"x\":1,\"y\":\"z\"}", END);
    check("{\"const\":null}", "null", OK, "0", "$: must be equal to null", END);
    check("{\"const\":false}", "false", OK, "0", "$: must be equal to false", END);
}

/* ------------------------------------------------------------------ objects */

static void test_object_keywords(void **state)
{
    (void)state;
    check("{\"type\":\"object\",\"required\":[\"customer\",\"id\"],"
          "\"properties\":{\"customer\":{\"type\":\"string\"},\"id\":{\"type\":\"integer\"}},"
          "\"additionalProperties\":false}",
          "{\"customer\":\"c\",\"id\":1}", OK,
          "{\"id\":1}", "$: missing required property 'customer'",
          "{}", "$: missing required property 'customer'\n$: missing required property 'id'",
          "{\"customer\":\"c\",\"id\":1,\"extra\":true}",
          "$.extra: property is not allowed (additionalProperties is false)",
          END);
    check("{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"number\"}}",
          "{\"a\":\"anything\",\"b\":1,\"c\":2.5}", OK,
          "{\"b\":\"x\"}", "$.b: expected number, got string", END);
    check("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"},\"\\\\d$\":{\"minimum\":10}},"
          "\"additionalProperties\":false}",
          "{\"x-a\":\"s\",\"n1\":11,\"x-2\":\"s\"}", OK,
          "{\"x-a\":1}", "$[\"x-a\"]: expected string, got integer",
          "{\"n1\":9}", "$.n1: must be >= 10, got 9",
          "{\"x-2\":5}", "$[\"x-2\"]: expected string, got integer\n$[\"x-2\"]: must be >= 10, got 5",
          "{\"other\":1}", "$.other: property is not allowed (additionalProperties is false)",
          END);
    check("{\"propertyNames\":{\"pattern\":\"^[a-z_]+$\",\"maxLength\":5}}",
          "{\"ab_c\":1}", OK,
          "{\"Bad Key\":1}",
          /* the pattern is not also tried on a name already too long (the search costs) */
          "$[\"Bad Key\"]: invalid property name: expected at most 5 characters, got 7",
          END);
    check("{\"propertyNames\":false}", "{}", OK, "{\"a\":1}",
          "$.a: invalid property name: no value is allowed here (the schema is false)", END);
    check("{\"minProperties\":1,\"maxProperties\":2}", "{\"a\":1}", OK,
          "{}", "$: expected at least 1 property, got 0",
          "{\"a\":1,\"b\":2,\"c\":3}", "$: expected at most 2 properties, got 3", END);
    check("{\"dependentRequired\":{\"card\":[\"cvv\",\"expiry\"]}}",
          "{}", OK, "{\"card\":1,\"cvv\":2,\"expiry\":3}", OK,
          "{\"card\":1,\"cvv\":2}", "$: missing property 'expiry' (required when 'card' is present)", END);
    check("{\"dependencies\":{\"card\":[\"cvv\"],\"gift\":{\"required\":[\"message\"]}}}",
          "{\"card\":1,\"cvv\":2}", OK,
          "{\"card\":1}", "$: missing property 'cvv' (required when 'card' is present)",
          "{\"gift\":true}", "$: missing required property 'message'", END);
    check("{\"dependentSchemas\":{\"gift\":{\"properties\":{\"message\":{\"type\":\"string\"}}}}}",
          "{\"message\":1}", OK,
          "{\"gift\":1,\"message\":1}", "$.message: expected string, got integer", END);
    check("{\"properties\":{\"secret\":false}}", "{\"a\":1}", OK,
          "{\"secret\":1}", "$.secret: property is not allowed", END);
    /* keywords of other types do not apply */
    check("{\"required\":[\"a\"],\"minItems\":3,\"minLength\":4,\"minimum\":5}",
          "\"x\"", "$: expected at least 4 characters, got 1", "[]", "$: expected at least 3 items, got 0",
          "1", "$: must be >= 5, got 1", "{}", "$: missing required property 'a'", "null", OK, END);
}

static void test_paths(void **state)
{
    (void)state;
    check("{\"properties\":{\"a\":{\"properties\":{\"b\":{\"items\":{\"properties\":{\"c\":{\"type\":\"string\"}}}}}},"
          "\"a b\":{\"type\":\"string\"},\"\":{\"type\":\"string\"},\"q\\\"\\n\":{\"type\":\"string\"},"
          "\"_ok9\":{\"type\":\"string\"},\"9no\":{\"type\":\"string\"},\"é\":{\"type\":\"string\"}}}",
          "{\"a\":{\"b\":[{\"c\":\"x\"},{},{\"c\":\"y\"},{\"c\":4}]}}", "$.a.b[3].c: expected string, got integer",
          "{\"a b\":1}", "$[\"a b\"]: expected string, got integer",
          "{\"\":1}", "$[\"\"]: expected string, got integer",
          "{\"q\\\"\\n\":1}", "$[\"q\\\"\\n\"]: expected string, got integer",
          "{\"_ok9\":1}", "$._ok9: expected string, got integer",
          "{\"9no\":1}", "$[\"9no\"]: expected string, got integer",
          "{\"é\":1}", "$[\"é\"]: expected string, got integer",
          END);
    /* names in messages that need quoting */
    check("{\"required\":[\"it's\",\"a\\nb\"]}", "{}",
          "$: missing required property \"it's\"\n$: missing required property \"a\\nb\"", END);
}

/* ------------------------------------------------------------------ arrays */

static void test_array_keywords(void **state)
{
    (void)state;
    check("{\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":5}}}",
          "{\"items\":[1,2,3]}", OK,
          "{\"items\":[1,2,3,4,5,6,7]}", "$.items: expected at most 5 items, got 7",
          "{\"items\":[]}", "$.items: expected at least 1 item, got 0",
          "{\"items\":[1,\"2\",3,4.5]}", "$.items[1]: expected integer, got string\n$.items[3]: expected integer, got number",
          END);
    /* draft 4 tuple form */
    check("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"additionalItems\":false}",
          "[\"a\",1]", OK, "[\"a\"]", OK, "[]", OK,
          "[1,\"a\"]", "$[0]: expected string, got integer\n$[1]: expected integer, got string",
          "[\"a\",1,2]", "$: expected at most 2 items, got 3 (additional items are not allowed)", END);
    check("{\"items\":[{\"type\":\"string\"}],\"additionalItems\":{\"type\":\"boolean\"}}",
          "[\"a\",true,false]", OK, "[\"a\",true,1]", "$[2]: expected boolean, got integer", END);
    /* additionalItems without the array form of items is ignored */
    check("{\"items\":{\"type\":\"string\"},\"additionalItems\":false}", "[\"a\",\"b\"]", OK, END);
    /* 2020-12 */
    check("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
          "\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}",
          "[\"a\",1]", OK, "[\"a\",1,null]", "$: expected at most 2 items, got 3 (additional items are not allowed)",
          "[2]", "$[0]: expected string, got integer", END);
    check("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}",
          "[\"a\",1,2]", OK, "[\"a\",\"b\"]", "$[1]: expected integer, got string", END);
    check("{\"contains\":{\"type\":\"string\"}}", "[1,\"a\"]", OK,
          "[1,2]", "$: expected at least 1 item matching the 'contains' schema, got 0",
          "[]", "$: expected at least 1 item matching the 'contains' schema, got 0", END);
    check("{\"contains\":{\"type\":\"string\"},\"minContains\":2,\"maxContains\":3}",
          "[\"a\",1,\"b\"]", OK,
          "[\"a\",1]", "$: expected at least 2 items matching the 'contains' schema, got 1",
          "[\"a\",\"b\",\"c\",\"d\"]", "$: expected at most 3 items matching the 'contains' schema, got 4", END);
    check("{\"contains\":{\"type\":\"string\"},\"minContains\":0}", "[]", OK, "[1]", OK, END);
}

static void test_unique_items(void **state)
{
    (void)state;
    check("{\"uniqueItems\":true}",
          "[1,2,3]", OK, "[]", OK, "[1,\"1\",true,null,[1],{\"a\":1}]", OK,
          "[{\"a\":1,\"b\":[1,2]},{\"b\":[1,2],\"a\":2},{\"b\":[1,2.0],\"a\":1}]",
          "$: items must be unique, but [0] and [2] are equal",
          "[1,2,1.0]", "$: items must be unique, but [0] and [2] are equal",
          "[[1,[2]],[1,[2.0]]]", "$: items must be unique, but [0] and [1] are equal",
          "[false,0]", OK,
          END);
    /* the hashed path (more than 16 items) */
    schema_validator *v = compile("{\"uniqueItems\":true}");
    char big[4096];
    size_t used = (size_t)snprintf(big, sizeof big, "[");
    for (int i = 0; i < 200; i++)
        used += (size_t)snprintf(big + used, sizeof big - used, "%s{\"k\":%d}", i ? "," : "", i);
    snprintf(big + used, sizeof big - used, "]");
    expect(v, big, OK);
    big[used] = '\0';
    snprintf(big + used, sizeof big - used, ",{\"k\":150.0},{\"k\":7}]");
    expect(v, big, "$: items must be unique, but [150] and [200] are equal");
    schema_validator_free(v);
    check("{\"uniqueItems\":false}", "[1,1]", OK, END);
}

/* ------------------------------------------------------------------ numbers */

static void test_numeric_keywords(void **state)
{
    (void)state;
    check("{\"minimum\":1,\"maximum\":10}", "1", OK, "10", OK, "5.5", OK,
          "0", "$: must be >= 1, got 0", "10.5", "$: must be <= 10, got 10.5", END);
    check("{\"exclusiveMinimum\":1,\"exclusiveMaximum\":10}", "1.0001", OK, "9", OK,
          "1", "$: must be > 1, got 1", "10.0", "$: must be < 10, got 10", END);
    /* draft 4 booleans, with or without "$schema" */
    check("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"minimum\":0,\"exclusiveMinimum\":true,"
          "\"maximum\":5,\"exclusiveMaximum\":true}",
          "0.5", OK, "0", "$: must be > 0, got 0", "5", "$: must be < 5, got 5", END);
    check("{\"minimum\":0,\"exclusiveMinimum\":true,\"maximum\":5,\"exclusiveMaximum\":false}",
          "0", "$: must be > 0, got 0", "5", OK, END);
    check("{\"minimum\":0.1}", "0.1", OK, "0.09999999999999999", "$: must be >= 0.1, got 0.09999999999999999", END);
    /* exact integer/double comparisons beyond 2^53 */
    check("{\"maximum\":9007199254740992.0}", "9007199254740992", OK,
          "9007199254740993", "$: must be <= 9007199254740992, got 9007199254740993", END);
    check("{\"minimum\":-9223372036854775808}", "-9223372036854775808", OK, "-1e19",
          "$: must be >= -9223372036854775808, got -1e+19", END);
    check("{\"maximum\":18446744073709551615}", "18446744073709551615", OK, "1e20",
          "$: must be <= 18446744073709551615, got 1e+20", END);
    /* integers above INT64_MAX (json-c keeps them as uint64) against doubles */
    check("{\"maximum\":1e19,\"minimum\":9.3e18}", "10000000000000000000", OK, "9300000000000000000", OK,
          "18446744073709551615", "$: must be <= 1e+19, got 18446744073709551615",
          "9223372036854775807", "$: must be >= 9.3e+18, got 9223372036854775807", END);
    check("{\"exclusiveMinimum\":1.5e19}", "18446744073709551615", OK, "15000000000000000000",
          "$: must be > 1.5e+19, got 15000000000000000000", END);
    /* subnormal doubles are shown as sent, not as their 15-digit rounding */
    check("{\"maximum\":-1}", "5e-324", "$: must be <= -1, got 5e-324", END);
    check("{\"minimum\":1e-310}", "1e-310", OK, "9e-311", "$: must be >= 1e-310, got 9e-311", END);
}

static void test_multiple_of(void **state)
{
    (void)state;
    check("{\"multipleOf\":0.01}", "19.99", OK, "0.07", OK, "1", OK, "-4.35", OK, "0", OK, "1e10", OK,
          "19.999", "$: must be a multiple of 0.01, got 19.999",
          "0.005", "$: must be a multiple of 0.01, got 0.005", END);
    /* subnormals: the decimals as written (5e-310 was taken for 4.99999999999998e-310) */
    check("{\"multipleOf\":1e-310}", "5e-310", OK, "2e-310", OK,
          "5.5e-310", "$: must be a multiple of 1e-310, got 5.5e-310", END);
    check("{\"multipleOf\":0.1}", "0.3", OK, "0.7", OK, "1.1", OK, "12345678.9", OK,
          "0.35", "$: must be a multiple of 0.1, got 0.35", "1000000000.05",
          "$: must be a multiple of 0.1, got 1000000000.05", END);
    check("{\"multipleOf\":3}", "9", OK, "-9", OK, "9.0", OK, "9223372036854775806", OK,
          "10", "$: must be a multiple of 3, got 10", "9.5", "$: must be a multiple of 3, got 9.5",
          "-9223372036854775808", "$: must be a multiple of 3, got -9223372036854775808", END);
    check("{\"multipleOf\":1.5}", "4.5", OK, "-3", OK, "4", "$: must be a multiple of 1.5, got 4", END);
    check("{\"multipleOf\":0.3}", "18446744073709551615", OK, "0.9", OK, "1e-300", "$: must be a multiple of 0.3, got 1e-300", END);
    check("{\"multipleOf\":0.7}", "18446744073709551615", "$: must be a multiple of 0.7, got 18446744073709551615", END);
    check("{\"multipleOf\":3}", "18446744073709551615", OK, "18446744073709551614",
          "$: must be a multiple of 3, got 18446744073709551614", END);
    check("{\"multipleOf\":1e-8}", "0.00000123", OK, "1.000000001", "$: must be a multiple of 1e-08, got 1.000000001",
          END);
    check("{\"type\":\"integer\",\"multipleOf\":2}", "4.0", OK, "1e300", OK, END);
}

/* ------------------------------------------------------------------ strings */

static void test_string_length_unicode(void **state)
{
    (void)state;
    check("{\"minLength\":2,\"maxLength\":5}",
          "\"héllo\"", OK,              /* 5 code points, 6 bytes */
          "\"日本語\"", OK,              /* 3 code points, 9 bytes */
          "\"😀😀\"", OK,                /* 2 code points, 8 bytes */
          "\"\\ud83d\\ude00\\u00e9\"", OK, /* escapes decode to 2 code points */
          "\"😀\"", "$: expected at least 2 characters, got 1",
          "\"héllo!\"", "$: expected at most 5 characters, got 6",
          "\"\"", "$: expected at least 2 characters, got 0", END);
    check("{\"maxLength\":1}", "\"é\"", OK, END);
}

static void test_pattern(void **state)
{
    (void)state;
    check("{\"properties\":{\"name\":{\"pattern\":\"^[a-z]+$\"}}}",
          "{\"name\":\"abc\"}", OK, "{\"name\":\"Abc\"}", "$.name: must match pattern ^[a-z]+$",
          "{\"name\":\"\"}", "$.name: must match pattern ^[a-z]+$", END);
    /* unanchored: a match anywhere */
    check_pattern("b+", "\"abbc\"", OK, "\"ac\"", NOMATCH, END);
    /* ECMA shorthands and their negations */
    check_pattern("^\\d{3}-\\d{4}$", "\"555-1234\"", OK, "\"55a-1234\"", NOMATCH, END);
    check_pattern("^\\w+$", "\"a_B9\"", OK, "\"a-b\"", NOMATCH, END);
    check_pattern("^\\S+\\s\\S+$", "\"a b\"", OK, "\"a\\tb\"", OK, "\"ab\"", NOMATCH, END);
    check_pattern("^\\D\\W$", "\"a-\"", OK, "\"1-\"", NOMATCH, END);
    /* classes with shorthands, escaped metacharacters, a trailing dash, braces */
    check_pattern("^[\\w.-]+@[\\w-]+\\.[a-z]{2,}$", "\"jo.e-x@ex-1.io\"", OK, "\"joe@example\"", NOMATCH, END);
    check_pattern("^[\\]\\[^-]+$", "\"][^-\"", OK, "\"a\"", NOMATCH, END);
    check_pattern("^(?:ab)+?c{1,2}\\/x$", "\"ababcc/x\"", OK, "\"abcx\"", NOMATCH, END);
    check("{\"pattern\":\"^a{$\"}", "\"a{\"", OK, END); /* a brace that is no quantifier is literal */
    check_pattern("^\\u00e9+$", "\"éé\"", OK, "\"e\"", NOMATCH, END);
    check_pattern("^.$", "\"a\"", OK, "\"\\n\"", NOMATCH, END);
    /* characters, not bytes: quantifiers, '.', negations and classes with non-ASCII members */
    check_pattern("^.{2,3}$", "\"éü\"", OK, "\"日本語\"", OK, "\"😀😀\"", OK, "\"日本語!\"", NOMATCH, "\"é\"", NOMATCH, END);
    check_pattern("^[^,]{1,2}$", "\"éü\"", OK, "\"a,\"", NOMATCH, "\"éüö\"", NOMATCH, END);
    check_pattern("^\\S{2}\\W\\D$", "\"éü€ä\"", OK, "\"éü€1\"", NOMATCH, END);
    check_pattern("^[a-zäöüß]{1,4}$", "\"straß\"", NOMATCH, "\"süß\"", OK, "\"é\"", NOMATCH, END);
    check_pattern("^[\\u00e9\\-]+$", "\"é-é\"", OK, "\"e\"", NOMATCH, END);
    check_pattern("^ö+$", "\"ööö\"", OK, "\"o\"", NOMATCH, END);
    check_pattern("^arn:aws:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]+$",
                  "\"arn:aws:lambda:us-east-1:123456789012:function:my_fn-2\"", OK,
                  "\"arn:aws:lambda:us-east-1:12345:function:f\"", NOMATCH, END);
}

static void test_pattern_uncompilable(void **state)
{
    (void)state;
    /* a lookahead cannot be expressed in POSIX: warned about once, then treated as satisfied */
    schema_validator *v = compile("{\"properties\":{\"pw\":{\"type\":\"string\",\"pattern\":\"^(?=.*\\\\d).{8,}$\"}},"
                                  "\"patternProperties\":{\"(?!x)\":{\"type\":\"integer\"}},\"additionalProperties\":false}");
    const char *w = schema_validator_warnings(v);
    assert_non_null(w);
    assert_string_equal(w,
                        "#: patternProperties pattern \"(?!x)\" cannot be compiled (lookaround assertions are not "
                        "supported); it is treated as always satisfied\n"
                        "#/properties/pw: pattern \"^(?=.*\\d).{8,}$\" cannot be compiled (lookaround assertions are "
                        "not supported); it is treated as always satisfied");
    expect(v, "{\"pw\":\"short\"}", OK);
    expect(v, "{\"pw\":5}", "$.pw: expected string, got integer");
    expect(v, "{\"anything\":\"x\"}", OK); /* the broken patternProperties entry "matches" every name */
    schema_validator_free(v);
    v = compile("{\"pattern\":\"[\\\\p{L}]\"}");
    assert_non_null(schema_validator_warnings(v));
    expect(v, "\"1\"", OK);
    schema_validator_free(v);
    v = compile("{\"type\":\"string\"}");
    assert_null(schema_validator_warnings(v));
    schema_validator_free(v);
}

static void test_format_is_annotation(void **state)
{
    (void)state;
    check("{\"type\":\"string\",\"format\":\"email\"}", "\"not an email\"", OK, END);
    check("{\"format\":\"date-time\",\"title\":\"t\",\"description\":\"d\",\"default\":1,\"examples\":[1],"
          "\"readOnly\":true,\"x-amazon-extension\":{\"$ref\":\"http://ignored\"}}",
          "\"x\"", OK, END);
}

/* ------------------------------------------------------------------ composition */

static void test_all_any_one_not(void **state)
{
    (void)state;
    check("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3},{\"maximum\":5}]}", "4", OK,
          "7", "$: must be <= 5, got 7", "\"x\"", "$: expected integer, got string", END);
    /* anyOf of plain types: one combined message */
    check("{\"properties\":{\"v\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}}}",
          "{\"v\":\"a\"}", OK, "{\"v\":2}", OK,
          "{\"v\":true}", "$.v: expected string or integer, got boolean", END);
    /* anyOf of shapes: the closest alternative's violations */
    const char *payment =
        "{\"properties\":{\"payment\":{\"anyOf\":["
        "{\"type\":\"object\",\"required\":[\"iban\"],\"properties\":{\"iban\":{\"type\":\"string\"}}},"
        "{\"type\":\"object\",\"required\":[\"card\",\"cvv\"],\"properties\":{\"card\":{\"type\":\"string\"},"
        "\"cvv\":{\"type\":\"string\",\"pattern\":\"^\\\\d{3}$\"}}},"
        "{\"type\":\"null\"}]}}}";
    check(payment, "{\"payment\":{\"iban\":\"DE00\"}}", OK, "{\"payment\":null}", OK,
          "{\"payment\":{\"card\":\"4111\",\"cvv\":\"12\"}}",
          "$.payment: does not match any of the 3 alternatives (anyOf); the closest, alternative 2, fails with:\n"
          "  $.payment.cvv: must match pattern ^\\d{3}$",
          "{\"payment\":\"cash\"}", "$.payment: expected object or null, got string", END);
    /* oneOf */
    const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\",\"minimum\":2},{\"type\":\"string\"}]}";
    check(one, "1", OK, "1.5", "$: does not match any of the 3 alternatives (oneOf); the closest, alternative 2, "
                               "fails with:\n  $: must be >= 2, got 1.5",
          "\"s\"", OK, "2.5", OK,
          "3", "$: matches 2 alternatives (1, 2), expected exactly one (oneOf)", END);
    /* a discriminated union: the alternative whose discriminator matches is the closest */
    const char *tagged =
        "{\"oneOf\":["
        "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"circle\"},\"r\":{\"type\":\"number\"}},"
        "\"required\":[\"kind\",\"r\"]},"
        "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"rect\"},\"w\":{\"type\":\"number\"},"
        "\"h\":{\"type\":\"number\"}},\"required\":[\"kind\",\"w\",\"h\"]}]}";
    check(tagged, "{\"kind\":\"circle\",\"r\":1}", OK,
          "{\"kind\":\"rect\",\"w\":1}",
          "$: does not match any of the 2 alternatives (oneOf); the closest, alternative 2, fails with:\n"
          "  $: missing required property 'h'", END);
    check("{\"not\":{\"type\":\"string\"}}", "1", OK, "\"s\"", "$: must not match the schema in 'not'", END);
    check("{\"if\":{\"properties\":{\"country\":{\"const\":\"US\"}},\"required\":[\"country\"]},"
          "\"then\":{\"required\":[\"zip\"]},\"else\":{\"required\":[\"postcode\"]}}",
          "{\"country\":\"US\",\"zip\":\"1\"}", OK, "{\"postcode\":\"1\"}", OK,
          "{\"country\":\"US\"}", "$: missing required property 'zip'",
          "{\"country\":\"FR\"}", "$: missing required property 'postcode'", END);
    check("{\"if\":{\"type\":\"string\"},\"then\":{\"minLength\":2}}", "\"ab\"", OK, "3", OK,
          "\"a\"", "$: expected at least 2 characters, got 1", END);
    check("{\"then\":{\"type\":\"string\"},\"else\":{\"type\":\"string\"}}", "3", OK, END); /* no "if" */
    /* nested alternatives are indented one more level */
    check("{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"object\",\"required\":[\"x\"]},"
          "{\"type\":\"object\",\"required\":[\"x\",\"y\"]}]}}},{\"type\":\"null\"}]}",
          "{\"a\":{}}",
          "$: does not match any of the 2 alternatives (anyOf); the closest, alternative 1, fails with:\n"
          "  $.a: does not match any of the 2 alternatives (anyOf); the closest, alternative 1, fails with:\n"
          "    $.a: missing required property 'x'", END);
}

static void test_boolean_schemas(void **state)
{
    (void)state;
    check("true", "1", OK, "{\"a\":[null]}", OK, END);
    check("false", "1", "$: no value is allowed here (the schema is false)", END);
    check("{\"properties\":{\"a\":{\"items\":false}}}", "{\"a\":[]}", OK,
          "{\"a\":[1]}", "$.a: expected at most 0 items, got 1 (additional items are not allowed)", END);
    check("{\"properties\":{\"a\":{\"not\":true}}}", "{}", OK, "{\"a\":1}", "$.a: must not match the schema in 'not'",
          END);
    check("{\"allOf\":[true,{\"anyOf\":[false,{\"type\":\"integer\"}]}]}", "1", OK,
          "\"s\"", "$: does not match any of the 2 alternatives (anyOf); the closest, alternative 2, fails with:\n"
                   "  $: expected integer, got string", END);
}

/* ------------------------------------------------------------------ $ref */

static void test_local_refs(void **state)
{
    (void)state;
    /* #/definitions, #/$defs, "#", escaped tokens, percent-encoding */
    const char *s =
        "{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1},\"a/b\":{\"type\":\"string\"},"
        "\"t~x\":{\"type\":\"boolean\"},\"sp ace\":{\"type\":\"null\"},\"%\":{\"const\":\"pct\"}},"
        "\"definitions\":{\"old\":{\"$ref\":\"#/$defs/pos\"}},"
        "\"properties\":{\"n\":{\"$ref\":\"#/definitions/old\"},\"s\":{\"$ref\":\"#/$defs/a~1b\"},"
        "\"b\":{\"$ref\":\"#/$defs/t~0x\"},\"z\":{\"$ref\":\"#/$defs/sp%20ace\"},\"p\":{\"$ref\":\"#/$defs/%25\"},"
        "\"self\":{\"$ref\":\"#\"},\"first\":{\"$ref\":\"#/properties/list/items/0\"},"
        "\"list\":{\"items\":[{\"type\":\"string\"}]}}}";
    check(s, "{\"n\":1,\"s\":\"x\",\"b\":true,\"z\":null,\"p\":\"pct\",\"self\":{\"n\":2},\"first\":\"f\"}", OK,
          "{\"n\":0}", "$.n: must be >= 1, got 0",
          "{\"s\":1}", "$.s: expected string, got integer",
          "{\"b\":1}", "$.b: expected boolean, got integer",
          "{\"z\":1}", "$.z: expected null, got integer",
          "{\"p\":1}", "$.p: must be equal to \"pct\"",
          "{\"self\":{\"self\":{\"n\":-1}}}", "$.self.self.n: must be >= 1, got -1",
          "{\"first\":1}", "$.first: expected string, got integer", END);
    /* anchors and embedded identifiers */
    check("{\"$id\":\"https://example.com/schemas/order\",\"properties\":{"
          "\"a\":{\"$ref\":\"#sku\"},\"b\":{\"$ref\":\"https://example.com/schemas/order#/$defs/qty\"},"
          "\"c\":{\"$ref\":\"item\"},\"d\":{\"$ref\":\"https://example.com/schemas/item#/properties/w\"}},"
          "\"$defs\":{\"sku\":{\"$anchor\":\"sku\",\"pattern\":\"^SKU-\"},\"qty\":{\"type\":\"integer\"},"
          "\"item\":{\"$id\":\"item\",\"required\":[\"w\"],\"properties\":{\"w\":{\"type\":\"number\"}}}}}",
          "{\"a\":\"SKU-1\",\"b\":2,\"c\":{\"w\":1},\"d\":3}", OK,
          "{\"a\":\"x\"}", "$.a: must match pattern ^SKU-",
          "{\"b\":\"x\"}", "$.b: expected integer, got string",
          "{\"c\":{}}", "$.c: missing required property 'w'",
          "{\"d\":\"x\"}", "$.d: expected number, got string", END);
    /* draft 7: siblings of $ref are ignored; 2020-12: they apply */
    check("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"definitions\":{\"s\":{\"type\":\"string\"}},"
          "\"properties\":{\"a\":{\"$ref\":\"#/definitions/s\",\"maxLength\":1}}}",
          "{\"a\":\"long\"}", OK, "{\"a\":1}", "$.a: expected string, got integer", END);
    check("{\"$defs\":{\"s\":{\"type\":\"string\"}},\"properties\":{\"a\":{\"$ref\":\"#/$defs/s\",\"maxLength\":1}}}",
          "{\"a\":\"l\"}", OK, "{\"a\":\"long\"}", "$.a: expected at most 1 character, got 4", END);
    /* draft 4 "id" with a fragment is an anchor */
    check("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"definitions\":{\"x\":{\"id\":\"#pos\",\"minimum\":0}},"
          "\"items\":{\"$ref\":\"#pos\"}}", "[1]", OK, "[-1]", "$[0]: must be >= 0, got -1", END);
}

static void test_unresolvable_refs(void **state)
{
    (void)state;
    compile_fails("{\"properties\":{\"addr\":{\"$ref\":\"http://example.com/address.json#/Address\"}}}",
                  "unresolvable $ref \"http://example.com/address.json#/Address\" at #/properties/addr: remote "
                  "references are not fetched");
    compile_fails("{\"items\":{\"$ref\":\"https://json-schema.org/draft/2020-12/schema\"}}",
                  "unresolvable $ref \"https://json-schema.org/draft/2020-12/schema\" at #/items: remote references "
                  "are not fetched");
    compile_fails("{\"$ref\":\"common.json#/definitions/id\"}",
                  "unresolvable $ref \"common.json#/definitions/id\" at #: it refers to another document, which is "
                  "not fetched");
    compile_fails("{\"definitions\":{},\"allOf\":[{\"$ref\":\"#/definitions/missing\"}]}",
                  "unresolvable $ref \"#/definitions/missing\" at #/allOf/0: no such location in the schema");
    compile_fails("{\"properties\":{\"a\":{\"$ref\":\"#nowhere\"}}}",
                  "unresolvable $ref \"#nowhere\" at #/properties/a: no such anchor in the schema");
    compile_fails("{\"title\":\"x\",\"properties\":{\"a\":{\"$ref\":\"#/title\"}}}",
                  "unresolvable $ref \"#/title\" at #/properties/a: the target is not a schema");
    compile_fails("[1]", "the schema must be a JSON object or a boolean");
    compile_fails("\"string\"", "the schema must be a JSON object or a boolean");
    /* a remote $ref that nothing reaches through a schema keyword is never looked at */
    check("{\"$comment\":\"x\",\"enum\":[{\"$ref\":\"http://example.com/x\"}]}", "{\"$ref\":\"http://example.com/x\"}",
          OK, END);
    /* a NULL err buffer is fine */
    json_object *s = parse("{\"$ref\":\"http://example.com/x\"}");
    assert_null(schema_validator_new(s, NULL, 0));
    json_object_put(s);
}

static char *nested_tree(int depth)
{
    size_t cap = (size_t)depth * 40 + 64, used = 0;
    char *t = malloc(cap);
    for (int i = 0; i < depth; i++)
        used += (size_t)snprintf(t + used, cap - used, "{\"value\":%d,\"children\":[{\"value\":0},", i);
    used += (size_t)snprintf(t + used, cap - used, "{\"value\":\"leaf\"}");
    for (int i = 0; i < depth; i++)
        used += (size_t)snprintf(t + used, cap - used, "]}");
    return t;
}

static void test_recursive_tree(void **state)
{
    (void)state;
    schema_validator *v =
        compile("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"$ref\":\"#/definitions/node\","
                "\"definitions\":{\"node\":{\"type\":\"object\",\"required\":[\"value\"],"
                "\"properties\":{\"value\":{\"type\":[\"integer\",\"string\"]},"
                "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/node\"}}},"
                "\"additionalProperties\":false}}}");
    char *t = nested_tree(60);
    expect(v, t, OK);
    free(t);
    expect(v, "{\"value\":1,\"children\":[{\"value\":2,\"children\":[{\"value\":true}]}]}",
           "$.children[0].children[0].value: expected string or integer, got boolean");
    /* deeper than the evaluation depth limit: a violation, not a crash */
    t = nested_tree(200);
    json_object *inst = parse(t);
    char *rep = NULL;
    assert_int_equal(schema_validate(v, inst, &rep), 1);
    assert_non_null(strstr(rep, ": the value is nested too deeply to validate (more than 256 levels of subschemas)"));
    free(rep);
    json_object_put(inst);
    free(t);
    schema_validator_free(v);
}

static void test_ref_cycles(void **state)
{
    (void)state;
    check("{\"$ref\":\"#\"}", "1",
          "$: schema error: $ref cycle without progress (# is re-entered for the same value)", END);
    check("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"allOf\":[{\"$ref\":\"#/definitions/a\"}]}},"
          "\"properties\":{\"x\":{\"$ref\":\"#/definitions/a\"}}}",
          "{}", OK, /* the cycle is only reached through "x" */
          "{\"x\":1}", "$.x: schema error: $ref cycle without progress (#/definitions/a is re-entered for the same value)",
          END);
    /* a cycle inside an alternative stops the whole validation, even if another alternative matches */
    check("{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"integer\"}]}", "1",
          "$: schema error: $ref cycle without progress (# is re-entered for the same value)", END);
    /* recursion that makes progress is fine */
    check("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}", "[[[],[[]]]]", OK, "[[1]]",
          "$[0][0]: expected array, got integer", END);
}

static void test_work_bound(void **state)
{
    (void)state;
    /* 2^24 paths through nested alternatives: stopped at the evaluation budget */
    char s[4096];
    size_t used = (size_t)snprintf(s, sizeof s, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
    for (int i = 0; i < 24; i++)
        used += (size_t)snprintf(s + used, sizeof s - used,
                                 "\"d%d\":{\"anyOf\":[{\"$ref\":\"#/$defs/d%d\"},{\"$ref\":\"#/$defs/d%d\"}]},", i,
                                 i + 1, i + 1);
    snprintf(s + used, sizeof s - used, "\"d24\":{\"type\":\"string\"}}}");
    schema_validator *v = compile(s);
    expect(v, "\"fine\"", OK);
    expect(v, "1",
           "$: validation stopped after 1000000 subschema evaluations: the schema is too complex for this value, so "
           "the arguments could not be checked");
    schema_validator_free(v);
    /* a long array of plain values is within it */
    v = compile("{\"items\":{\"type\":\"integer\"}}");
    json_object *a = json_object_new_array();
    for (int i = 0; i < 200000; i++)
        json_object_array_add(a, json_object_new_int(i));
    assert_int_equal(schema_validate(v, a, NULL), 0);
    json_object_put(a);
    schema_validator_free(v);
    /* minContains/maxContains are 2019-09 keywords: draft-07 does not know them */
    check("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"contains\":{\"type\":\"integer\"},\"minContains\":2}",
          "[1]", OK, END);
    check("{\"contains\":{\"type\":\"integer\"},\"minContains\":2}", "[1,2]", OK, "[1]",
          "$: expected at least 2 items matching the 'contains' schema, got 1", END);
}

static void test_report_cap(void **state)
{
    (void)state;
    schema_validator *v = compile("{\"items\":{\"type\":\"string\"}}");
    char inst[512];
    size_t used = (size_t)snprintf(inst, sizeof inst, "[");
    for (int i = 0; i < 30; i++)
        used += (size_t)snprintf(inst + used, sizeof inst - used, "%s%d", i ? "," : "", i);
    snprintf(inst + used, sizeof inst - used, "]");
    json_object *o = parse(inst);
    char *rep = NULL;
    assert_int_equal(schema_validate(v, o, &rep), 30);
    json_object_put(o);
    char want[4096];
    used = 0;
    for (int i = 0; i < 20; i++)
        used += (size_t)snprintf(want + used, sizeof want - used, "$[%d]: expected string, got integer\n", i);
    snprintf(want + used, sizeof want - used, "... and 10 more");
    assert_string_equal(rep, want);
    free(rep);
    /* the count without a report */
    assert_int_equal(count(v, "[1,2,\"3\"]"), 2);
    o = parse("[1]");
    assert_int_equal(schema_validate(v, o, NULL), 1);
    json_object_put(o);
    schema_validator_free(v);
}

/* ------------------------------------------------------------------ realistic schemas */

/* The shape of EventBridge Schema Registry content (JSONSchemaDraft4 format). */
static const char *eventbridge_schema =
    "{\n"
    "  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n"
    "  \"title\": \"OrderPlaced\",\n"
    "  \"type\": \"object\",\n"
    "  \"required\": [\"detail-type\", \"source\", \"detail\"],\n"
    "  \"properties\": {\n"
    "    \"detail\": { \"$ref\": \"#/definitions/OrderPlaced\" },\n"
    "    \"detail-type\": { \"type\": \"string\" },\n"
    "    \"source\": { \"type\": \"string\", \"enum\": [\"com.example.orders\"] },\n"
    "    \"time\": { \"type\": \"string\", \"format\": \"date-time\" },\n"
    "    \"resources\": { \"type\": \"array\", \"items\": { \"type\": \"string\" } }\n"
    "  },\n"
    "  \"definitions\": {\n"
    "    \"OrderPlaced\": {\n"
    "      \"type\": \"object\",\n"
    "      \"required\": [\"orderId\", \"customer\", \"items\"],\n"
    "      \"properties\": {\n"
    "        \"orderId\": { \"type\": \"string\", \"pattern\": \"^ORD-\\\\d{6}$\" },\n"
    "        \"customer\": { \"$ref\": \"#/definitions/Customer\" },\n"
    "        \"items\": { \"type\": \"array\", \"minItems\": 1, \"maxItems\": 50,\n"
    "                     \"items\": { \"$ref\": \"#/definitions/LineItem\" } },\n"
    "        \"total\": { \"type\": \"number\", \"minimum\": 0, \"exclusiveMinimum\": true, \"multipleOf\": 0.01 },\n"
    "        \"priority\": { \"type\": \"integer\", \"minimum\": 1, \"maximum\": 5 }\n"
    "      },\n"
    "      \"additionalProperties\": false\n"
    "    },\n"
    "    \"Customer\": {\n"
    "      \"type\": \"object\",\n"
    "      \"required\": [\"id\"],\n"
    "      \"properties\": {\n"
    "        \"id\": { \"type\": \"string\", \"minLength\": 1 },\n"
    "        \"email\": { \"type\": \"string\", \"format\": \"email\" },\n"
    "        \"tier\": { \"type\": \"string\", \"enum\": [\"gold\", \"silver\", \"bronze\"] }\n"
    "      }\n"
    "    },\n"
    "    \"LineItem\": {\n"
    "      \"type\": \"object\",\n"
    "      \"required\": [\"sku\", \"quantity\"],\n"
    "      \"properties\": {\n"
    "        \"sku\": { \"type\": \"string\" },\n"
    "        \"quantity\": { \"type\": \"integer\", \"minimum\": 1 },\n"
    "        \"tags\": { \"type\": \"array\", \"items\": { \"type\": \"string\" }, \"uniqueItems\": true }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "}\n";

static void test_eventbridge_draft4(void **state)
{
    (void)state;
    schema_validator *v = compile(eventbridge_schema);
    assert_null(schema_validator_warnings(v));
    expect(v,
           "{\"detail-type\":\"OrderPlaced\",\"source\":\"com.example.orders\",\"time\":\"2024-01-01T00:00:00Z\","
           "\"detail\":{\"orderId\":\"ORD-000123\",\"customer\":{\"id\":\"c1\",\"tier\":\"gold\"},"
           "\"items\":[{\"sku\":\"A\",\"quantity\":2,\"tags\":[\"x\",\"y\"]}],\"total\":19.99,\"priority\":1.0}}",
           OK);
    expect(v,
           "{\"detail-type\":\"OrderPlaced\",\"source\":\"com.example.other\","
           "\"detail\":{\"orderId\":\"ORD-12\",\"customer\":{\"tier\":\"platinum\"},"
           "\"items\":[{\"sku\":\"A\",\"quantity\":0},{\"quantity\":\"2\",\"tags\":[\"x\",\"x\"]}],"
           "\"total\":0,\"coupon\":\"X\"}}",
           "$.source: must be one of [\"com.example.orders\"]\n"
           "$.detail.orderId: must match pattern ^ORD-\\d{6}$\n"
           "$.detail.customer: missing required property 'id'\n"
           "$.detail.customer.tier: must be one of [\"gold\", \"silver\", \"bronze\"]\n"
           "$.detail.items[0].quantity: must be >= 1, got 0\n"
           "$.detail.items[1]: missing required property 'sku'\n"
           "$.detail.items[1].quantity: expected integer, got string\n"
           "$.detail.items[1].tags: items must be unique, but [0] and [1] are equal\n"
           "$.detail.total: must be > 0, got 0\n"
           "$.detail.coupon: property is not allowed (additionalProperties is false)");
    expect(v, "{\"source\":\"com.example.orders\"}",
           "$: missing required property 'detail-type'\n$: missing required property 'detail'");
    schema_validator_free(v);
}

/* An OpenAPI 3 document's schema converted to JSON Schema, keeping its "#/components/schemas" refs. */
static void test_openapi_components(void **state)
{
    (void)state;
    const char *s =
        "{\"type\":\"object\",\"required\":[\"pet\"],"
        "\"properties\":{\"pet\":{\"$ref\":\"#/components/schemas/Pet\"},"
        "\"owner\":{\"anyOf\":[{\"$ref\":\"#/components/schemas/Owner\"},{\"type\":\"null\"}]}},"
        "\"components\":{\"schemas\":{"
        "\"Pet\":{\"type\":\"object\",\"required\":[\"name\",\"kind\"],\"properties\":{"
        "\"name\":{\"type\":\"string\",\"maxLength\":20},"
        "\"kind\":{\"type\":\"string\",\"enum\":[\"cat\",\"dog\"]},"
        "\"age\":{\"type\":\"integer\",\"nullable\":true,\"minimum\":0}}},"
        "\"Owner\":{\"type\":\"object\",\"required\":[\"email\"],\"properties\":{"
        "\"email\":{\"type\":\"string\",\"format\":\"email\"}}}}}}";
    check(s, "{\"pet\":{\"name\":\"Rex\",\"kind\":\"dog\",\"age\":null},\"owner\":null}", OK,
          "{\"pet\":{\"name\":\"Rex\",\"kind\":\"dog\",\"age\":3},\"owner\":{\"email\":\"a@b\"}}", OK,
          "{\"pet\":{\"name\":\"Rex\",\"kind\":\"cow\",\"age\":-1},\"owner\":{}}",
          "$.pet.kind: must be one of [\"cat\", \"dog\"]\n"
          "$.pet.age: must be >= 0, got -1\n"
          "$.owner: does not match any of the 2 alternatives (anyOf); the closest, alternative 1, fails with:\n"
          "  $.owner: missing required property 'email'",
          "{\"pet\":{\"kind\":\"cat\",\"age\":\"old\"}}",
          "$.pet: missing required property 'name'\n$.pet.age: expected integer or null, got string", END);
}

/* ------------------------------------------------------------------ unevaluatedProperties / unevaluatedItems */

static void test_unevaluated_properties(void **state)
{
    (void)state;
    checkq("{'unevaluatedProperties':false}", "{}", OK,
           "{'x':1}", "$.x: property is not allowed (unevaluatedProperties is false)",
           "[1]", OK, "'s'", OK, "null", OK, "1.5", OK, END);
    checkq("{'unevaluatedProperties':true}", "{'x':1}", OK, END);
    checkq("{'unevaluatedProperties':{'type':'string','minLength':2}}", "{}", OK, "{'a':'ab'}", OK,
           "{'a':'a'}", "$.a: expected at least 2 characters, got 1", END);
    checkq("{'unevaluatedProperties':{'type':'null'}}", "{'a':null}", OK, END);
    /* adjacent keywords */
    checkq("{'properties':{'a':{'type':'string'}},'unevaluatedProperties':false}", "{'a':'x'}", OK,
           "{'a':'x','b':1,'c':2}",
           "$.b: property is not allowed (unevaluatedProperties is false)\n"
           "$.c: property is not allowed (unevaluatedProperties is false)",
           "{'a':1}", "$.a: expected string, got integer", END);
    checkq("{'patternProperties':{'^x_':{'type':'integer'}},'unevaluatedProperties':false}", "{'x_1':1}", OK,
           "{'x_1':1,'y':2}", "$.y: property is not allowed (unevaluatedProperties is false)", END);
    verdicts("{'additionalProperties':true,'unevaluatedProperties':false}", "{'a':1,'b':2}", OK, END);
    checkq("{'additionalProperties':{'type':'string'},'unevaluatedProperties':false}", "{'a':'x'}", OK,
           "{'a':'x','b':1}", "$.b: expected string, got integer", END);
    /* propertyNames evaluates nothing */
    verdicts("{'propertyNames':{'maxLength':1},'unevaluatedProperties':{'type':'number'}}", "{'a':1}", OK,
             "{'a':'b'}", BAD, END);
    /* the names that need quoting in a path */
    checkq("{'unevaluatedProperties':false}", "{'a b':1}",
           "$[\"a b\"]: property is not allowed (unevaluatedProperties is false)", END);
}

static void test_unevaluated_properties_in_place(void **state)
{
    (void)state;
    /* allOf: properties, patternProperties, additionalProperties, unevaluatedProperties below */
    verdicts("{'properties':{'a':true},'allOf':[{'properties':{'b':true}}],'unevaluatedProperties':false}",
             "{'a':1,'b':1}", OK, "{'a':1,'b':1,'c':1}", BAD, END);
    verdicts("{'properties':{'a':true},'allOf':[{'patternProperties':{'^b':true}}],'unevaluatedProperties':false}",
             "{'a':1,'bb':1}", OK, "{'a':1,'bb':1,'c':1}", BAD, END);
    verdicts("{'properties':{'a':true},'allOf':[{'additionalProperties':true}],'unevaluatedProperties':false}",
             "{'a':1,'z':1}", OK, END);
    verdicts("{'allOf':[{'unevaluatedProperties':true}],'unevaluatedProperties':{'type':'string','maxLength':2}}",
             "{'a':'long'}", OK, END);
    verdicts("{'allOf':[true],'properties':{'a':true},'unevaluatedProperties':false}", "{'a':1}", OK,
             "{'b':1}", BAD, END);
    /* nested unevaluatedProperties: inner false / outer true and the reverse */
    verdicts("{'properties':{'a':true},'allOf':[{'unevaluatedProperties':false}],'unevaluatedProperties':true}",
             "{'a':1}", BAD, END);
    verdicts("{'allOf':[{'properties':{'a':true},'unevaluatedProperties':false}],'unevaluatedProperties':true}",
             "{'a':1}", OK, "{'a':1,'b':1}", BAD, END);
    verdicts("{'allOf':[{'properties':{'a':true},'unevaluatedProperties':true}],'unevaluatedProperties':false}",
             "{'a':1,'b':1}", OK, END);
    /* cousins do not see each other */
    verdicts("{'allOf':[{'properties':{'a':true}},{'unevaluatedProperties':false}]}", "{'a':1}", BAD, END);
    verdicts("{'allOf':[{'unevaluatedProperties':false},{'properties':{'a':true}}]}", "{'a':1}", BAD, END);
    verdicts("{'allOf':[{'unevaluatedProperties':true},{'properties':{'a':true},'unevaluatedProperties':false}]}",
             "{'a':1}", OK, "{'a':1,'b':1}", BAD, END);
    verdicts("{'allOf':[{'properties':{'a':true},'unevaluatedProperties':false}],'anyOf':[{'properties':{'b':true}}]}",
             "{'a':1,'b':1}", BAD, "{'a':1}", OK, "{'b':1}", BAD, END);
    /* anyOf: every alternative that matches counts, not just the first */
    const char *any = "{'properties':{'f':true},'anyOf':[{'properties':{'a':{'const':1}},'required':['a']},"
                      "{'properties':{'b':{'const':1}},'required':['b']},{'properties':{'c':{'const':1}},"
                      "'required':['c']}],'unevaluatedProperties':false}";
    verdicts(any, "{'f':1,'a':1}", OK, "{'f':1,'a':1,'b':2}", BAD, "{'f':1,'a':1,'b':1}", OK,
             "{'a':1,'b':1,'c':2}", BAD, "{'a':1,'b':1,'c':1}", OK, END);
    /* oneOf: the alternative that matches */
    verdicts("{'oneOf':[{'properties':{'a':{'const':1}},'required':['a']},{'properties':{'b':{'const':1}},"
             "'required':['b']}],'unevaluatedProperties':false}",
             "{'a':1}", OK, "{'a':1,'x':1}", BAD, "{'a':1,'b':2}", BAD, END);
    /* not evaluates nothing */
    verdicts("{'properties':{'a':true},'not':{'not':{'properties':{'b':{'const':1}},'required':['b']}},"
             "'unevaluatedProperties':false}", "{'a':1}", BAD, "{'a':1,'b':1}", BAD, END);
    /* if/then/else: if's properties count when it matches; then or else when applied */
    const char *ite = "{'if':{'properties':{'k':{'const':'t'}},'required':['k']},'then':{'properties':{'t':true}},"
                      "'else':{'properties':{'e':true}},'unevaluatedProperties':false}";
    verdicts(ite, "{'k':'t','t':1}", OK, "{'k':'t','e':1}", BAD, "{'e':1}", OK, "{'k':'x','e':1}", BAD, END);
    verdicts("{'if':{'properties':{'k':{'const':'t'}},'required':['k']},'else':{'properties':{'e':true}},"
             "'unevaluatedProperties':false}", "{'k':'t'}", OK, "{'k':'t','e':1}", BAD, "{'e':1}", OK, END);
    verdicts("{'if':{'patternProperties':{'a':{'type':'string'}}},'unevaluatedProperties':false}",
             "{'xa':'s'}", OK, "{'b':'s'}", BAD, "{'xa':1}", BAD, END);
    /* dependentSchemas (and a schema in dependencies): applied when their property is there */
    const char *dep = "{'properties':{'d':true},'dependentSchemas':{'x':{},'d':{'properties':{'e':true}}},"
                      "'unevaluatedProperties':false}";
    verdicts(dep, "{'x':1}", BAD, "{'e':1}", BAD, "{'d':1,'e':1}", OK, END);
    verdicts("{'properties':{'d':true},'dependencies':{'d':{'properties':{'e':true}}},'unevaluatedProperties':false}",
             "{'e':1}", BAD, "{'d':1,'e':1}", OK, END);
    /* $ref, before or after the keyword; $defs are in place */
    const char *ref = "{'$ref':'#/$defs/b','properties':{'a':true},'unevaluatedProperties':false,"
                      "'$defs':{'b':{'properties':{'b':{'type':'string'}}}}}";
    verdicts(ref, "{'a':1,'b':'s'}", OK, "{'a':1,'b':'s','c':1}", BAD, END);
    verdicts("{'unevaluatedProperties':false,'$ref':'#/$defs/b','$defs':{'b':{'$ref':'#/$defs/c'},"
             "'c':{'properties':{'b':true}}}}", "{'b':1}", OK, "{'c':1}", BAD, END);
    /* a cyclic $ref: each level has its own */
    const char *cyc = "{'properties':{'x':{'$ref':'#'}},'unevaluatedProperties':false}";
    verdicts(cyc, "{}", OK, "{'x':{}}", OK, "{'x':{},'y':1}", BAD, "{'x':{'x':{'x':{}}}}", OK,
             "{'x':{'x':{'x':{},'y':1}}}", BAD, END);
    /* $ref in allOf and oneOf */
    const char *mix = "{'$defs':{'one':{'properties':{'a':true}},'two':{'required':['x'],'properties':{'x':true}}},"
                      "'allOf':[{'$ref':'#/$defs/one'},{'properties':{'b':true}},{'oneOf':[{'$ref':'#/$defs/two'},"
                      "{'required':['y'],'properties':{'y':true}}]}],'unevaluatedProperties':false}";
    verdicts(mix, "{}", BAD, "{'a':1,'b':1}", BAD, "{'x':1,'y':1}", BAD, "{'a':1,'x':1}", OK, "{'a':1,'y':1}", OK,
             "{'a':1,'b':1,'x':1}", OK, "{'a':1,'b':1,'x':1,'y':1}", BAD, END);
    /* alternatives within alternatives through refs */
    const char *deep = "{'$defs':{'one':{'oneOf':[{'$ref':'#/$defs/two'},{'required':['b'],'properties':{'b':true}},"
                       "{'required':['xx'],'patternProperties':{'x':true}},{'required':['all'],"
                       "'unevaluatedProperties':true}]},'two':{'oneOf':[{'required':['c'],'properties':{'c':true}},"
                       "{'required':['d'],'properties':{'d':true}}]}},'oneOf':[{'$ref':'#/$defs/one'},"
                       "{'required':['a'],'properties':{'a':true}}],'unevaluatedProperties':false}";
    verdicts(deep, "{}", BAD, "{'a':1}", OK, "{'b':1}", OK, "{'c':1}", OK, "{'d':1}", OK, "{'a':1,'b':1}", BAD,
             "{'a':1,'c':1}", BAD, "{'b':1,'d':1}", BAD, "{'c':1,'d':1}", BAD, "{'xx':1}", OK,
             "{'xx':1,'foox':1}", OK, "{'xx':1,'foo':1}", BAD, "{'xx':1,'c':1}", BAD, "{'all':1}", OK,
             "{'all':1,'foo':1}", OK, "{'all':1,'a':1}", BAD, END);
    /* only the same value: a property evaluated at another location does not count */
    verdicts("{'properties':{'f':{'properties':{'b':true},'unevaluatedProperties':false}},"
             "'anyOf':[{'properties':{'f':{'properties':{'z':true}}}}]}",
             "{'f':{'b':1}}", OK, "{'f':{'b':1,'z':1}}", BAD, END);
}

static void test_unevaluated_items(void **state)
{
    (void)state;
    checkq("{'unevaluatedItems':false}", "[]", OK,
           "[1,2]", "$[0]: item is not allowed (unevaluatedItems is false)\n"
                    "$[1]: item is not allowed (unevaluatedItems is false)",
           "{'a':1}", OK, "'s'", OK, "null", OK, "true", OK, END);
    verdicts("{'unevaluatedItems':true}", "[1]", OK, END);
    checkq("{'unevaluatedItems':{'type':'string'}}", "['a']", OK, "[null,'a',3]",
           "$[0]: expected string, got null\n$[2]: expected string, got integer", END);
    verdicts("{'unevaluatedItems':{'type':'null'}}", "[null]", OK, END);
    /* adjacent prefixItems / items */
    verdicts("{'items':{'type':'string'},'unevaluatedItems':false}", "['a','b']", OK, END);
    checkq("{'prefixItems':[{'type':'string'}],'unevaluatedItems':false}", "['a']", OK,
           "['a','b']", "$[1]: item is not allowed (unevaluatedItems is false)", END);
    verdicts("{'prefixItems':[{'type':'string'}],'items':true,'unevaluatedItems':false}", "['a',2]", OK, END);
    checkq("{'items':{'type':'number'},'unevaluatedItems':{'type':'string'}}", "[1,2]", OK,
           "['a']", "$[0]: expected number, got string", END);
    /* the array form of items and additionalItems (any dialect here) */
    verdicts("{'items':[{'type':'string'}],'unevaluatedItems':false}", "['a']", OK, "['a',1]", BAD, END);
    verdicts("{'items':[true],'additionalItems':{'type':'number'},'unevaluatedItems':false}", "['a',1,2]", OK, END);
    /* in place: allOf, anyOf, oneOf, not, if/then/else, $ref */
    verdicts("{'prefixItems':[{'type':'string'}],'allOf':[{'prefixItems':[true,{'type':'number'}]}],"
             "'unevaluatedItems':false}", "['a',1]", OK, "['a',1,true]", BAD, END);
    verdicts("{'unevaluatedItems':{'type':'boolean'},'anyOf':[{'items':{'type':'string'}},true]}",
             "[true,false]", OK, "['y','n']", OK, "['y',false]", BAD, END);
    verdicts("{'allOf':[{'prefixItems':[{'type':'string'}],'items':true}],'unevaluatedItems':false}",
             "['a',1,true]", OK, END);
    verdicts("{'allOf':[{'prefixItems':[true]},{'unevaluatedItems':true}],'unevaluatedItems':false}",
             "['a',1,true]", OK, END);
    const char *any = "{'prefixItems':[{'const':'a'}],'anyOf':[{'prefixItems':[true,{'const':'b'}]},"
                      "{'prefixItems':[true,true,{'const':'c'}]}],'unevaluatedItems':false}";
    verdicts(any, "['a','b']", OK, "['a','b',1]", BAD, "['a','b','c']", OK, "['a','b','c',1]", BAD, END);
    const char *one = "{'prefixItems':[{'const':'a'}],'oneOf':[{'prefixItems':[true,{'const':'b'}]},"
                      "{'prefixItems':[true,true,{'const':'c'}]}],'unevaluatedItems':false}";
    verdicts(one, "['a','b',1]", BAD, "['a','x','c']", OK, "['a','b','c']", BAD /* both */, END);
    verdicts("{'prefixItems':[{'const':'a'}],'not':{'not':{'prefixItems':[true,{'const':'b'}]}},"
             "'unevaluatedItems':false}", "['a','b']", BAD, END);
    const char *ite = "{'prefixItems':[{'const':'a'}],'if':{'prefixItems':[true,{'const':'b'}]},"
                      "'then':{'prefixItems':[true,true,{'const':'t'}]},'else':{'prefixItems':[true,true,true,"
                      "{'const':'e'}]},'unevaluatedItems':false}";
    verdicts(ite, "['a','b','t']", OK, "['a','b','t','e']", BAD, "['a',1,1,'e']", OK, "['a',1,1,'e',1]", BAD, END);
    verdicts("{'if':{'prefixItems':[{'const':'a'}]},'unevaluatedItems':false}", "['a']", OK, "['b']", BAD, END);
    /* a lone "if" compiled already (a $ref elsewhere points at it) */
    verdicts("{'properties':{'q':{'$ref':'#/if'}},'if':{'properties':{'a':true}},'unevaluatedProperties':false}",
             "{'a':1}", OK, "{'b':1}", BAD, "{'q':{'z':1}}", OK, "{'q':{},'b':1}", BAD, END);
    /* ... and one that matters to no unevaluated* is not even compiled, as before */
    schema_validator *v = compile("{\"if\":{\"$ref\":\"https://example.com/remote\"},\"type\":\"array\"}");
    assert_null(schema_validator_warnings(v));
    expect(v, "[]", OK);
    schema_validator_free(v);
    verdicts("{'allOf':[true],'unevaluatedItems':false}", "[]", OK, "[1]", BAD, END);
    verdicts("{'unevaluatedItems':false,'prefixItems':[{'type':'string'}],'$ref':'#/$defs/b',"
             "'$defs':{'b':{'prefixItems':[true,{'type':'string'}]}}}", "['a','b']", OK, "['a','b','c']", BAD, END);
    verdicts("{'allOf':[{'prefixItems':[true]},{'unevaluatedItems':false}]}", "[1]", BAD, END);
    /* only the same array: items evaluated in an uncle or in another array do not count */
    verdicts("{'properties':{'f':{'prefixItems':[{'type':'string'}],'unevaluatedItems':false}},"
             "'anyOf':[{'properties':{'f':{'prefixItems':[true,{'type':'string'}]}}}]}",
             "{'f':['a']}", OK, "{'f':['a','b']}", BAD, END);
    verdicts("{'prefixItems':[{'prefixItems':[true,{'type':'string'}]}],'unevaluatedItems':false}",
             "[['a','b'],'b']", BAD, END);
}

static void test_unevaluated_items_contains(void **state)
{
    (void)state;
    /* 2020-12: the items contains matches are evaluated */
    checkq("{'prefixItems':[true],'contains':{'type':'string'},'unevaluatedItems':false}", "[1,'a']", OK,
           "[1,2]", "$: expected at least 1 item matching the 'contains' schema, got 0\n"
                    "$[1]: item is not allowed (unevaluatedItems is false)",
           "[1,2,'a']", "$[1]: item is not allowed (unevaluatedItems is false)", END);
    verdicts("{'allOf':[{'contains':{'multipleOf':2}},{'contains':{'multipleOf':3}}],"
             "'unevaluatedItems':{'multipleOf':5}}", "[2,3,4,5,6]", OK, "[2,3,4,7,8]", BAD, END);
    const char *chain = "{'if':{'contains':{'const':'a'}},'then':{'if':{'contains':{'const':'b'}},"
                        "'then':{'if':{'contains':{'const':'c'}}}},'unevaluatedItems':false}";
    verdicts(chain, "[]", OK, "['a','a']", OK, "['a','b','a','b']", OK, "['c','a','c','b']", OK,
             "['b','b']", BAD, "['c','c']", BAD, "['c','b','c']", BAD, "['c','a','c']", BAD, END);
    verdicts("{'contains':{'type':'string'},'minContains':0,'unevaluatedItems':false}", "[]", OK, "[0]", BAD,
             "['a',0]", BAD, "['a','b']", OK, END);
    /* maxContains still holds when every item is tried */
    checkq("{'contains':{'type':'string'},'maxContains':1,'unevaluatedItems':false}", "['a']", OK,
           "['a','b']", "$: expected at most 1 item matching the 'contains' schema, got 2", END);
    /* 2019-09: contains does not evaluate items */
    verdicts("{'$schema':'https://json-schema.org/draft/2019-09/schema','contains':{'type':'string'},"
             "'unevaluatedItems':false}", "['a']", BAD, END);
    verdicts("{'$schema':'https://json-schema.org/draft/2019-09/schema','items':[{'type':'string'}],"
             "'additionalItems':true,'allOf':[{'unevaluatedItems':false}]}", "['a']", BAD, END);
    verdicts("{'$schema':'https://json-schema.org/draft/2019-09/schema','allOf':[{'items':[true]}],"
             "'unevaluatedItems':false}", "[1]", OK, "[1,2]", BAD, END);
}

/* Messages: a subschema that must match and fails still counts for what it defines (no "not
 * allowed" on top of its own violation); unevaluated* in alternatives and in quiet contexts. */
static void test_unevaluated_messages(void **state)
{
    (void)state;
    checkq("{'allOf':[{'properties':{'a':{'type':'string'}}}],'unevaluatedProperties':false}",
           "{'a':1}", "$.a: expected string, got integer",
           "{'a':1,'b':2}", "$.a: expected string, got integer\n"
                            "$.b: property is not allowed (unevaluatedProperties is false)", END);
    checkq("{'$ref':'#/$defs/t','unevaluatedProperties':false,'$defs':{'t':{'required':['k'],"
           "'properties':{'k':true,'v':{'type':'integer'}}}}}",
           "{'v':'x'}", "$: missing required property 'k'\n$.v: expected integer, got string", END);
    checkq("{'properties':{'p':{'anyOf':[{'properties':{'a':true},'unevaluatedProperties':false},{'type':'null'}]}}}",
           "{'p':{'a':1}}", OK, "{'p':null}", OK,
           "{'p':{'a':1,'b':2}}", "$.p: does not match any of the 2 alternatives (anyOf); the closest, "
                                  "alternative 1, fails with:\n"
                                  "  $.p.b: property is not allowed (unevaluatedProperties is false)", END);
    checkq("{'not':{'properties':{'a':true},'unevaluatedProperties':false}}", "{'b':1}", OK,
           "{'a':1}", "$: must not match the schema in 'not'", END);
    checkq("{'if':{'unevaluatedItems':false},'then':{'const':[]},'else':{'minItems':2}}", "[]", OK, "[1,2]", OK,
           "[1]", "$: expected at least 2 items, got 1", END);
    /* a discriminated union closed by unevaluatedProperties */
    const char *tagged = "{'type':'object','properties':{'kind':{'enum':['c','r']}},'required':['kind'],"
                         "'oneOf':[{'properties':{'kind':{'const':'c'},'r':{'type':'number'}},'required':['r']},"
                         "{'properties':{'kind':{'const':'r'},'w':{'type':'number'}},'required':['w']}],"
                         "'unevaluatedProperties':false}";
    checkq(tagged, "{'kind':'c','r':1}", OK, "{'kind':'r','w':1}", OK,
           "{'kind':'c','r':1,'w':1}", "$.w: property is not allowed (unevaluatedProperties is false)", END);
    /* draft-07 has no unevaluated*: they are honoured all the same, except beside $ref (ignored there) */
    verdicts("{'$schema':'http://json-schema.org/draft-07/schema#','properties':{'a':true},"
             "'unevaluatedProperties':false}", "{'a':1,'b':1}", BAD, END);
    verdicts("{'$schema':'http://json-schema.org/draft-07/schema#','$ref':'#/definitions/a',"
             "'unevaluatedProperties':false,'definitions':{'a':{}}}", "{'b':1}", OK, END);
}

/* Values past the members kept without the heap; a schema that uses unevaluated* compiles with no
 * warning about it. */
static void test_unevaluated_big_values(void **state)
{
    (void)state;
    schema_validator *v = compile("{\"contains\":{\"type\":\"string\"},\"minContains\":0,\"unevaluatedItems\":false,"
                                  "\"properties\":{\"k0\":true},\"patternProperties\":{\"^k1\":true},"
                                  "\"unevaluatedProperties\":{\"type\":\"integer\"}}");
    assert_null(schema_validator_warnings(v));
    json_object *arr = json_object_new_array(), *obj = json_object_new_object();
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_array_add(arr, json_object_new_string(k));
        json_object_object_add(obj, k, i == 250 ? json_object_new_string("s") : json_object_new_int(i));
    }
    assert_int_equal(schema_validate(v, arr, NULL), 0);
    char *rep = NULL;
    assert_int_equal(schema_validate(v, obj, &rep), 1); /* k1..: patternProperties; the others: integers */
    assert_string_equal(rep, "$.k250: expected integer, got string");
    free(rep);
    json_object_object_add(obj, "k250", json_object_new_int(250));
    assert_int_equal(schema_validate(v, obj, NULL), 0);
    json_object_array_put_idx(arr, 250, json_object_new_int(1));
    assert_int_equal(schema_validate(v, arr, &rep), 1);
    assert_string_equal(rep, "$[250]: item is not allowed (unevaluatedItems is false)");
    free(rep);
    json_object_put(arr);
    json_object_put(obj);
    schema_validator_free(v);
}

/* ------------------------------------------------------------------ robustness */

static void test_lenient_compile(void **state)
{
    (void)state;
    /* malformed keyword values are ignored with a warning rather than refusing the schema */
    schema_validator *v = compile("{\"type\":\"strng\",\"minLength\":\"3\",\"multipleOf\":0,\"required\":[\"a\",1],"
                                  "\"properties\":{\"x\":\"string\"},\"unevaluatedItems\":7}");
    const char *w = schema_validator_warnings(v);
    assert_non_null(w);
    assert_non_null(strstr(w, "#: unknown type \"strng\"; it is ignored"));
    assert_non_null(strstr(w, "#: minLength must be a non-negative integer; it is ignored"));
    assert_non_null(strstr(w, "#: multipleOf must be greater than 0; it is ignored"));
    assert_non_null(strstr(w, "#/properties/x is not a schema"));
    assert_non_null(strstr(w, "#/unevaluatedItems is not a schema"));
    expect(v, "{\"a\":1,\"x\":1,\"y\":2}", OK);
    expect(v, "[1]", OK);
    expect(v, "{}", "$: missing required property 'a'");
    schema_validator_free(v);
    /* NULL arguments */
    assert_int_equal(schema_validate(NULL, NULL, NULL), 0);
    schema_validator_free(NULL);
    assert_null(schema_validator_warnings(NULL));
}

static void test_validator_outlives_schema(void **state)
{
    (void)state;
    json_object *s = parse("{\"enum\":[\"a\",\"b\"],\"properties\":{\"k\":{\"const\":[1]}}}");
    schema_validator *v = schema_validator_new(s, NULL, 0);
    assert_non_null(v);
    /* the caller's copy goes away and is even mutated before: the validator is unaffected */
    json_object_object_del(s, "enum");
    json_object_put(s);
    expect(v, "\"a\"", OK);
    expect(v, "\"c\"", "$: must be one of [\"a\", \"b\"]");
    schema_validator_free(v);
}

typedef struct {
    const schema_validator *v;
    json_object *good, *bad;
    int failures;
} thread_arg;

static void *validate_loop(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < 300; i++) {
        char *rep = NULL;
        if (schema_validate(a->v, a->good, &rep) != 0)
            a->failures++;
        free(rep);
        rep = NULL;
        if (schema_validate(a->v, a->bad, &rep) != 10 || !rep)
            a->failures++;
        free(rep);
    }
    return NULL;
}

/* validate_loop on 4 threads at once over one validator: every thread sees the same verdicts */
static void validate_on_4_threads(schema_validator *v, json_object *good, json_object *bad)
{
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){v, good, bad, 0};
        assert_int_equal(pthread_create(&th[i], NULL, validate_loop, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

static void test_concurrent_validation(void **state)
{
    (void)state;
    schema_validator *v = compile(eventbridge_schema);
    json_object *good = parse("{\"detail-type\":\"x\",\"source\":\"com.example.orders\",\"detail\":{\"orderId\":"
                              "\"ORD-000001\",\"customer\":{\"id\":\"c\"},\"items\":[{\"sku\":\"a\",\"quantity\":1}]}}");
    json_object *bad = parse("{\"detail-type\":\"OrderPlaced\",\"source\":\"com.example.other\","
                             "\"detail\":{\"orderId\":\"ORD-12\",\"customer\":{\"tier\":\"platinum\"},"
                             "\"items\":[{\"sku\":\"A\",\"quantity\":0},{\"quantity\":\"2\",\"tags\":[\"x\",\"x\"]}],"
                             "\"total\":0,\"coupon\":\"X\"}}");
    validate_on_4_threads(v, good, bad);
    json_object_put(good);
    json_object_put(bad);
    schema_validator_free(v);
}

/* The records of evaluated members live on each validation's own stack (and heap). */
static void test_unevaluated_concurrent(void **state)
{
    (void)state;
    char *st = dq("{'type':'object','properties':{'kind':{'enum':['c','r']},'list':{'prefixItems':[{'type':'string'}],"
                  "'anyOf':[{'contains':{'type':'number'}},true],'unevaluatedItems':false}},"
                  "'oneOf':[{'properties':{'kind':{'const':'c'},'r':{'type':'number'}}},"
                  "{'properties':{'kind':{'const':'r'},'w':{'type':'number'}}}],'unevaluatedProperties':false}");
    schema_validator *v = compile(st);
    free(st);
    json_object *good = parse("{\"kind\":\"c\",\"r\":1,\"list\":[\"a\",1,2,3]}");
    /* 7 unevaluated properties and 3 unevaluated items: 10 violations */
    json_object *bad = parse("{\"kind\":\"r\",\"w\":1,\"r\":1,\"p1\":1,\"p2\":1,\"p3\":1,\"p4\":1,\"p5\":1,"
                             "\"p6\":1,\"list\":[\"a\",\"b\",\"c\",\"d\"]}");
    char *rep = NULL;
    assert_int_equal(schema_validate(v, bad, &rep), 10);
    free(rep);
    validate_on_4_threads(v, good, bad);
    json_object_put(good);
    json_object_put(bad);
    schema_validator_free(v);
}

/* The executor's workers have 256 KiB stacks: the deepest validations (stopped by the depth
 * limit) must fit, whatever applicators each level goes through. */
typedef struct {
    const char *schema;
    json_object *inst;
    size_t n;
    char *rep;
} deep_arg;

static void *deep_run(void *p)
{
    deep_arg *a = p;
    schema_validator *v = compile(a->schema);
    a->n = schema_validate(v, a->inst, &a->rep);
    schema_validator_free(v);
    return NULL;
}

static json_object *deep_instance(int kind, int depth)
{
    json_object *leaf = kind == 0 ? json_object_new_object() : json_object_new_int(5);
    for (int i = 0; i < depth; i++) {
        if (kind == 0) {
            json_object *o = json_object_new_object(), *a = json_object_new_array();
            json_object_array_add(a, leaf);
            json_object_object_add(o, "c", a);
            leaf = o;
        } else if (kind == 1) {
            json_object *a = json_object_new_array();
            json_object_array_add(a, leaf);
            leaf = a;
        } else {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "a", leaf);
            leaf = o;
        }
    }
    return leaf;
}

/* AddressSanitizer's redzones make the frames two to three times larger: under it the schemas that
 * record annotations (eval_tracked's frame on top of eval's at every level) get twice the stack.
 * The 256 KiB bound itself is the plain build's, which make check runs. */
#if defined(__SANITIZE_ADDRESS__)
#define TRACKED_STACK_SCALE 2
#else
#define TRACKED_STACK_SCALE 1
#endif

static void test_deep_on_small_stack(void **state)
{
    (void)state;
    static const char *schemas[] = {
        "{\"$ref\":\"#/definitions/node\",\"definitions\":{\"node\":{\"type\":\"object\",\"properties\":{\"c\":"
        "{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/node\"}}}}}}",
        "{\"anyOf\":[{\"allOf\":[{\"oneOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}},{\"type\":\"null\"}]}]},"
        "{\"type\":\"boolean\"}]}",
        "{\"if\":true,\"then\":{\"dependentSchemas\":{\"a\":{\"properties\":{\"a\":{\"$ref\":\"#\"}}}}},"
        "\"propertyNames\":{\"minLength\":1}}",
        /* annotations recorded at every level (eval_tracked) */
        "{\"properties\":{\"a\":{\"$ref\":\"#\"}},\"propertyNames\":{\"minLength\":1},\"unevaluatedProperties\":false}",
        "{\"allOf\":[{\"anyOf\":[{\"prefixItems\":[{\"$ref\":\"#\"}]}]}],\"contains\":true,\"unevaluatedItems\":false}",
        "{\"$ref\":\"#/$defs/n\",\"unevaluatedProperties\":false,\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":"
        "{\"c\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"},\"unevaluatedItems\":false}}}}}",
        "{\"anyOf\":[{\"properties\":{\"a\":{\"$ref\":\"#\"}}},false],\"unevaluatedProperties\":false}",
    };
    static const int kinds[] = {0, 1, 2, 2, 1, 0, 2};
    for (int i = 0; i < 7; i++) {
        deep_arg a = {schemas[i], deep_instance(kinds[i], 400), 0, NULL};
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, (size_t)256 * 1024 * (i >= 3 ? TRACKED_STACK_SCALE : 1));
        pthread_t th;
        assert_int_equal(pthread_create(&th, &attr, deep_run, &a), 0);
        pthread_join(th, NULL);
        pthread_attr_destroy(&attr);
        assert_int_equal(a.n, 1);
        assert_non_null(strstr(a.rep, ": the value is nested too deeply to validate"));
        free(a.rep);
        json_object_put(a.inst);
    }
}

/* Under a UTF-8 locale regcomp handles characters itself; the translation must agree. */
static void test_pattern_utf8_locale(void **state)
{
    (void)state;
    char *saved = strdup(setlocale(LC_CTYPE, NULL));
    if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "en_US.UTF-8")) {
        free(saved);
        skip();
    }
    check_pattern("^.{2,3}$", "\"éü\"", OK, "\"日本語!\"", NOMATCH, END);
    check_pattern("^[^,]{1,2}$", "\"éü\"", OK, "\"éüö\"", NOMATCH, END);
    check_pattern("^[a-zäöüß]{1,4}$", "\"süß\"", OK, "\"é\"", NOMATCH, END);
    check_pattern("^\\S\\W\\D\\w+$", "\"é€äa\"", OK, "\"é€1a\"", NOMATCH, END);
    check("{\"pattern\":\"^ö+$\"}", "\"ööö\"", OK, END);
    check_pattern("^[^é]{2}$", "\"ü€\"", OK, "\"aé\"", NOMATCH, END);
    setlocale(LC_CTYPE, saved);
    free(saved);
}

static void test_dynamic_refs_static(void **state)
{
    (void)state;
    /* resolved like $ref (no dynamic scope): enough for the common self-recursive use */
    check("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$dynamicAnchor\":\"node\","
          "\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\",\"items\":{\"$dynamicRef\":\"#node\"}}}}",
          "{\"kids\":[{\"kids\":[]}]}", OK, "{\"kids\":[{\"kids\":[1]}]}", "$.kids[0].kids[0]: expected object, got integer",
          END);
    check("{\"$schema\":\"https://json-schema.org/draft/2019-09/schema\",\"$recursiveAnchor\":true,"
          "\"type\":\"array\",\"items\":{\"$recursiveRef\":\"#\"}}",
          "[[]]", OK, "[[\"x\"]]", "$[0][0]: expected array, got string", END);
}

static void test_alternatives_in_quiet_contexts(void **state)
{
    (void)state;
    /* anyOf/oneOf evaluated only for a verdict: inside not, if and contains */
    check("{\"not\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\",\"minimum\":10}]}}",
          "5", OK, "true", OK, "\"s\"", "$: must not match the schema in 'not'", "12", "$: must not match the schema in 'not'",
          END);
    check("{\"not\":{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}}",
          "-1", "$: must not match the schema in 'not'", "2", OK, "0.5", "$: must not match the schema in 'not'",
          "-0.5", OK, END);
    check("{\"if\":{\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]},\"then\":{\"maxProperties\":1},"
          "\"else\":{\"minProperties\":2}}",
          "{\"a\":1}", OK, "{\"a\":1,\"b\":2}", OK, "{}", "$: expected at least 2 properties, got 0",
          "{\"a\":1,\"c\":2}", "$: expected at most 1 property, got 2", END);
    check("{\"contains\":{\"anyOf\":[{\"const\":\"x\"},{\"type\":\"integer\",\"multipleOf\":7}]},\"maxContains\":1}",
          "[1,\"x\"]", OK, "[14]", OK, "[1,2]", "$: expected at least 1 item matching the 'contains' schema, got 0",
          "[\"x\",21]", "$: expected at most 1 item matching the 'contains' schema, got 2", END);
    check("{\"not\":{\"propertyNames\":{\"maxLength\":1}}}", "{\"ab\":1}", OK, "{\"a\":1}",
          "$: must not match the schema in 'not'", END);
}

static void test_unique_items_hashed_types(void **state)
{
    (void)state;
    /* more than 16 items of every kind: the hashed comparison must agree with deep equality */
    const char *distinct = "[null,true,false,0,-1,1.5,-2.5,1e300,-1e300,18446744073709551615,\"\",\"a\",[],[1],"
                           "[[1]],{},{\"a\":null},{\"a\":[]},-9223372036854775808,0.1,\"0\"]";
    check("{\"uniqueItems\":true}", distinct, OK,
          "[null,true,false,0,-1,1.5,-2.5,1e300,\"\",\"a\",[],[1],[[1]],{},{\"a\":null},{\"a\":[]},\"x\",[1.0]]",
          "$: items must be unique, but [11] and [17] are equal",
          "[null,true,false,0,-1,1.5,-2.5,1e300,\"\",\"a\",[],[1],[[1]],{},{\"a\":null},{\"a\":[]},\"x\",-1.0]",
          "$: items must be unique, but [4] and [17] are equal",
          "[null,true,false,0,-1,1.5,-2.5,1e300,\"\",\"a\",[],[1],[[1]],{},{\"a\":null},{\"a\":[]},\"x\",null]",
          "$: items must be unique, but [0] and [17] are equal",
          "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18446744073709551615,1.8446744073709552e19]", OK,
          "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,-0.0,0]", "$: items must be unique, but [17] and [18] are equal",
          END);
}

/* What a pattern is allowed to cost (found in review): a NUL in the value does not end it; a long
 * value against an unanchored pattern (searched from every position: quadratic) is refused as
 * unchecked, an anchored one is matched whatever its length; a repetition count that would
 * make regcomp build a huge automaton is not compiled (a warning), nor a backreference. */
/* Classes are sets of code points written out as UTF-8 byte sequences: non-ASCII ranges,
 * non-ASCII members of negated classes, \D \W \S inside a class and [^] (all four were treated
 * as always satisfied before). */
static void test_pattern_unicode_classes(void **state)
{
    (void)state;
    check_pattern("^[à-ÿ]+$", "\"éü\"", OK, "\"e\"", NOMATCH, "\"Ā\"", NOMATCH, END);
    check_pattern("^[\\u4e00-\\u9fa5]{2,4}$", "\"中文\"", OK, "\"日本語\"", OK, "\"中\"", NOMATCH, "\"中a\"", NOMATCH,
                  "\"ひら\"", NOMATCH, END);
    check_pattern("^[^é]+$", "\"abc\"", OK, "\"ü€😀\"", OK, "\"aéb\"", NOMATCH, END);
    check_pattern("^[\\s\\S]{1,3}$", "\"a\\nb\"", OK, "\"€\\t😀\"", OK, "\"abcd\"", NOMATCH, END);
    check_pattern("^[\\D]+$", "\"aé\"", OK, "\"a1\"", NOMATCH, END);
    check_pattern("^[^]$", "\"😀\"", OK, "\"\\n\"", OK, "\"ab\"", NOMATCH, END);
    check_pattern("^[^\\w\\s]$", "\"é\"", OK, "\"a\"", NOMATCH, "\" \"", NOMATCH, END);
    check_pattern("^[a-\\u00ff]$", "\"~\"", OK, "\"é\"", OK, "\"A\"", NOMATCH, "\"Ā\"", NOMATCH, END);
    check_pattern("^[😀-😏]$", "\"😃\"", OK, "\"😐\"", NOMATCH, END);
    /* NUL (\u0000 in the JSON string) is a character like any other: in negations and \D \W \S */
    check_pattern("^[^a]\\W[\\D][^!-~]$", "\"\\u0000\\u0000\\u0000\\u0000\"", OK, "\"a\\u0000\\u0000\\u0000\"",
                  NOMATCH, END);
    check_pattern("^[\\s\\w]$", "\"\\u0000\"", NOMATCH, END);
    /* [] matches nothing (a valid ECMA-262 class); \0, \x00 and \u0000 are NUL */
    check_pattern("^a[]?b$", "\"ab\"", OK, "\"a b\"", NOMATCH, END);
    check_pattern("[]", "\"x\"", NOMATCH, "\"\"", NOMATCH, END);
    check_pattern("^.[^\\s\\S]*$", "\"é\"", OK, "\"éa\"", NOMATCH, END);
    check_pattern("^\\0[\\x00-\\x1f]\\u0000?$", "\"\\u0000\\u001f\"", OK, "\"\\u0000\\u0000\\u0000\"", OK,
                  "\"0\\u001f\"", NOMATCH, END);
    /* \u surrogate pairs, \u{...} and \cX */
    check_pattern("^\\uD83D\\uDE00+$", "\"😀😀\"", OK, "\"😁\"", NOMATCH, END);
    check_pattern("^[\\uD83D\\uDE00-\\uD83D\\uDE0F]$", "\"😃\"", OK, "\"😐\"", NOMATCH, END);
    check_pattern("^\\u{1F600}[\\u{e9}-\\u{FF}]$", "\"😀é\"", OK, "\"😀e\"", NOMATCH, END);
    check_pattern("^a\\cJ[\\ci]b$", "\"a\\n\\tb\"", OK, "\"acJib\"", NOMATCH, END);
    check_pattern("^[\\]^\\-é[]+$", "\"]^-é[\"", OK, "\"a\"", NOMATCH, END);

    /* every ASCII range between two of these (bracket metacharacters, classes' edges), positive
       and negated, against every ASCII character: the bracket expression is written right */
    static const unsigned a[] = {0x01, '\t', ' ', '!', ',', '-', '.', '0', '9', ':', 'A', 'Z',
                                 '[', '\\', ']', '^', '_', '`', 'a', 'z', '{', '~', 0x7F};
    const size_t na = sizeof a / sizeof *a;
    for (size_t i = 0; i < na; i++) {
        for (size_t j = i; j < na; j++) {
            for (int neg = 0; neg < 2; neg++) {
                char pat[64];
                snprintf(pat, sizeof pat, "{\"pattern\":\"^[%s\\\\x%02x-\\\\x%02x]$\"}", neg ? "^" : "", a[i], a[j]);
                schema_validator *v = compile(pat);
                assert_null(schema_validator_warnings(v));
                for (unsigned cp = 1; cp < 0x80; cp++) {
                    char inst[16];
                    snprintf(inst, sizeof inst, "\"\\u%04x\"", cp);
                    bool in = cp >= a[i] && cp <= a[j];
                    if ((count(v, inst) == 0) != (in != neg))
                        fail_msg("%s against U+%04X: %s", pat, cp, in != neg ? "refused" : "accepted");
                }
                schema_validator_free(v);
            }
        }
    }
    /* every pair of boundary code points as a range, positive and negated, against the code
       points around every boundary: matched exactly when inside */
    static const unsigned b[] = {0x80,    0xE9,    0x7FF,   0x800,   0xFFF,    0x1000,  0x4E00,   0x9FA5,
                                 0xD7FF,  0xE000,  0xFFFF,  0x10000, 0x1F600,  0x3FFFF, 0x40000, 0x10FFFF};
    const size_t nb = sizeof b / sizeof *b;
    for (size_t i = 0; i < nb; i++) {
        for (size_t j = i; j < nb; j++) {
            for (int neg = 0; neg < 2; neg++) {
                char lo[5] = "", hi[5] = "", pat[64];
                lo[utf8_encode(b[i], lo)] = '\0';
                hi[utf8_encode(b[j], hi)] = '\0';
                snprintf(pat, sizeof pat, "{\"pattern\":\"^[%s%s-%s]$\"}", neg ? "^" : "", lo, hi);
                schema_validator *v = compile(pat);
                assert_null(schema_validator_warnings(v));
                for (size_t k = 0; k < nb; k++) {
                    for (int d = -1; d <= 1; d++) {
                        unsigned cp = b[k] + (unsigned)d;
                        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                            continue;
                        char u[5], inst[16];
                        u[utf8_encode(cp, u)] = '\0';
                        snprintf(inst, sizeof inst, "\"%s\"", u);
                        bool in = cp >= b[i] && cp <= b[j];
                        if ((count(v, inst) == 0) != (in != neg))
                            fail_msg("%s against U+%04X: %s", pat, cp, in != neg ? "refused" : "accepted");
                    }
                }
                schema_validator_free(v);
            }
        }
    }
}

static void test_pattern_limits(void **state)
{
    (void)state;
    check_pattern("^[a-z]+$", "\"abc\"", OK, "\"abc\\u0000;rm -rf /\"", NOMATCH, END);
    check("{\"pattern\":\"x\"}", "\"\\u0000x\"", OK, END);

    schema_validator *un = compile("{\"pattern\":\"[^@]+@[^@]+\\\\.[^@]+\"}");
    schema_validator *an = compile("{\"pattern\":\"^[a-z]+$\"}");
    char *big = malloc(200001);
    memset(big, 'a', 200000);
    big[200000] = '\0';
    json_object *s = json_object_new_string_len(big, 5000);
    char *rep = NULL;
    assert_int_equal(schema_validate(un, s, &rep), 1);
    assert_string_equal(rep, "$: a string of 5000 bytes is too long to be checked against pattern [^@]+@[^@]+\\.[^@]+ "
                             "(at most 4096 bytes, and 64 KiB for all such strings of one call)");
    free(rep);
    json_object_put(s);
    s = json_object_new_string_len(big, 200000); /* anchored: matched, whatever the length */
    assert_int_equal(schema_validate(an, s, NULL), 0);
    json_object_put(s);
    /* at most 64 KiB for all the strings of one value: 20 strings of 4000 bytes, the last 4 unchecked */
    schema_validator *arr = compile("{\"items\":{\"pattern\":\"a+b\"}}");
    json_object *a = json_object_new_array();
    for (int i = 0; i < 20; i++) {
        big[3999] = 'b';
        json_object_array_add(a, json_object_new_string_len(big, 4000));
    }
    big[3999] = 'a';
    rep = NULL;
    assert_int_equal(schema_validate(arr, a, &rep), 4);
    assert_non_null(strstr(rep, "$[16]: a string of 4000 bytes is too long to be checked"));
    free(rep);
    json_object_put(a);
    free(big);
    schema_validator_free(un);
    schema_validator_free(an);
    schema_validator_free(arr);

    /* compiled size: ^.{1,255}$ is compiled, ^.{1,4096}$ and ^[^<>]{0,10000}$ are not */
    static const struct {
        const char *schema;
        bool compiled;
    } sizes[] = {{"{\"pattern\":\"^.{1,255}$\"}", true},
                 {"{\"pattern\":\"^\\\\d{4}-\\\\d{2}$\"}", true},
                 {"{\"pattern\":\"^.{1,4096}$\"}", false},
                 {"{\"pattern\":\"^[^<>]{0,10000}$\"}", false},
                 {"{\"pattern\":\"^[a-z]{0,10000}$\"}", false}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        schema_validator *v = compile(sizes[i].schema);
        const char *w = schema_validator_warnings(v);
        if (sizes[i].compiled != (w == NULL))
            fail_msg("%s: %s", sizes[i].schema, w ? w : "compiled");
        if (w)
            assert_non_null(strstr(w, "too large to compile"));
        schema_validator_free(v);
    }
}

/* Patterns regcomp cannot be trusted with (found by tests/fuzz/fuzz_schema): glibc copies a
 * quantified atom (x+ is x x*), so each nested or stacked quantifier doubled the automaton
 * (40 of them exhausted memory), and it parses groups recursively (400 nested groups overflowed
 * a 256 KiB executor worker stack: the server died on the tool's first call). Both are now
 * refused with a warning, like a repetition count too large to compile. */
static char *nest(const char *open, const char *atom, const char *close, int n)
{
    buf b = BUF_INIT;
    buf_append_str(&b, "{\"pattern\":\"^");
    for (int i = 0; i < n; i++)
        buf_append_str(&b, open);
    buf_append_str(&b, atom);
    for (int i = 0; i < n; i++)
        buf_append_str(&b, close);
    buf_append_str(&b, "$\"}");
    return buf_steal(&b);
}

static void *compile_on_small_stack(void *arg)
{
    return compile(arg);
}

static void test_pattern_nesting_bounded(void **state)
{
    (void)state;
    static const struct {
        const char *open, *atom, *close;
        int n;
        bool compiled;
        const char *why;
    } cases[] = {
        {"(", "x", ")", 100, true, NULL},
        {"(", "x", ")", 101, false, "nested more than 100 deep"},
        {"(", "x+", ")+", 10, true, NULL},
        {"(", "x+", ")+", 17, false, "too large to compile"},
        {"", "x", "+", 10, true, NULL},
        {"", "x", "+", 17, false, "too large to compile"},
        {"(?:", "\\\\d{2}", "){2}", 8, true, NULL},
        {"(?:", "\\\\d{2}", "){2}", 14, false, "too large to compile"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *txt = nest(cases[i].open, cases[i].atom, cases[i].close, cases[i].n);
        schema_validator *v = compile(txt);
        const char *w = schema_validator_warnings(v);
        if (cases[i].compiled != (w == NULL))
            fail_msg("%s: %s", txt, w ? w : "compiled");
        if (w)
            assert_non_null(strstr(w, cases[i].why));
        schema_validator_free(v);
        free(txt);
    }
    /* ordinary patterns with nested quantifiers still compile */
    static const char *const fine[] = {
        "{\"pattern\":\"^(a+)+$\"}",
        "{\"pattern\":\"^((ab)+c)*(d|e)+$\"}",
        "{\"pattern\":\"^(\\\\d{1,3}\\\\.){3}\\\\d{1,3}$\"}",
        "{\"pattern\":\"^([a-z0-9]+(-[a-z0-9]+)*\\\\.)+[a-z]{2,}$\"}",
    };
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        schema_validator *v = compile(fine[i]);
        if (schema_validator_warnings(v))
            fail_msg("%s: %s", fine[i], schema_validator_warnings(v));
        schema_validator_free(v);
    }
    /* where the server compiles a tool's schema: a worker thread with a 256 KiB stack */
    char *deep = nest("(", "x", ")", 400);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t t;
    assert_int_equal(pthread_create(&t, &attr, compile_on_small_stack, deep), 0);
    void *res = NULL;
    pthread_join(t, &res);
    pthread_attr_destroy(&attr);
    schema_validator *v = res;
    assert_non_null(schema_validator_warnings(v));
    assert_non_null(strstr(schema_validator_warnings(v), "nested more than 100 deep"));
    schema_validator_free(v);
    free(deep);
}

/* A repetition count of more than 7 digits (found by tests/fuzz/fuzz_schema): the scan for the
 * largest count stopped advancing once its value saturated, and compiling the schema never
 * finished (a worker or discovery thread spinning forever). Compiled on a thread here so a
 * regression fails the test instead of hanging it. */
static atomic_int big_count_done;

static void *compile_big_count(void *arg)
{
    schema_validator *v = compile(arg);
    atomic_store(&big_count_done, 1);
    return v;
}

static void test_pattern_huge_count_terminates(void **state)
{
    (void)state;
    static const char *const schemas[] = {
        "{\"pattern\":\"^a{10000000}$\"}",
        "{\"pattern\":\"^a{1,333333333333333333333333}$\"}",
        "{\"pattern\":\"^(x{99999999,})$\"}",
    };
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++) {
        atomic_store(&big_count_done, 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, compile_big_count, (void *)schemas[i]), 0);
        for (int ms = 0; ms < 10000 && !atomic_load(&big_count_done); ms++)
            usleep(1000);
        if (!atomic_load(&big_count_done))
            fail_msg("%s: compiling did not finish within 10 s", schemas[i]);
        void *res = NULL;
        pthread_join(t, &res);
        schema_validator *v = res;
        const char *w = schema_validator_warnings(v);
        assert_non_null(w);
        assert_non_null(strstr(w, "too large to compile"));
        schema_validator_free(v);
    }
}

/* Loops whose body matches "" (found by tests/fuzz/fuzz_schema): glibc's regcomp took minutes
 * or more on ^(((((a?)+)+)+)+)+$ and on ^((a?)*){0,20}$. A '+' or a count over an atom that
 * matches "" is now written without copies (X+ as X*, X{m,n} as X{0,n}: the same strings), and
 * a pattern with more than 10 such loops, copies counted, is refused. Compiled on a thread so a
 * regression fails instead of hanging. */
static void test_pattern_empty_loops_bounded(void **state)
{
    (void)state;
    static const struct {
        const char *schema;
        const char *why;  /* NULL: compiled */
        const char *good, *bad;
    } cases[] = {
        {"{\"pattern\":\"^(((((a?)+)+)+)+)+$\"}", NULL, "aaa", "ab"},
        {"{\"pattern\":\"^((((((a?){1,}){2,}){3,5}){2})+)+$\"}", "too costly to compile", NULL, NULL},
        {"{\"pattern\":\"^((((a?){1,}){2,})+)+$\"}", NULL, "aaaa", "b"},
        {"{\"pattern\":\"^((a?){2,3}b){2}$\"}", NULL, "aabb", "aaaabab"},
        {"{\"pattern\":\"^(((a?)*){0,3}){0,3}$\"}", NULL, "aaaa", "ba"},
        {"{\"pattern\":\"^((a?)*){0,20}$\"}", "too costly to compile", NULL, NULL},
        {"{\"pattern\":\"^(((a?)*){0,4}){0,4}$\"}", "too costly to compile", NULL, NULL},
        /* groups that match "" copied by counts: (a?){400} took 359 MB and 8 s, (a?){1000} 5.3 GB
           and 317 s; the fuzzer's ^(R^((0...)*){0,20}$R^((a?)(){0,20}$){20}$){0,2a+ 2 GB */
        {"{\"pattern\":\"^(a?){99}$\"}", NULL, "aaa", "ab"},
        {"{\"pattern\":\"^(a?){400}$\"}", "400 copies of groups that match empty text", NULL, NULL},
        {"{\"pattern\":\"^(a?){64}(b?){64}$\"}", "128 copies of groups", NULL, NULL},
        {"{\"pattern\":\"^((){0,20}){20}$\"}", "420 copies of groups", NULL, NULL},
        {"{\"pattern\":\"^((a?)(b?)(c?)(d?)(e?)(f?)(g?)(h?)(i?)(j?)){100}$\"}", "1100 copies of groups", NULL, NULL},
        {"{\"pattern\":\"^(R^((0b)*){0,20}$R^((a?)(){0,20}$){20}$){0,2a+\"}", "too costly to compile", NULL, NULL},
        {"{\"pattern\":\"^(x(y)?){1,400}$\"}", NULL, "xxyx", "xyy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        atomic_store(&big_count_done, 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, compile_big_count, (void *)cases[i].schema), 0);
        for (int ms = 0; ms < 10000 && !atomic_load(&big_count_done); ms++)
            usleep(1000);
        if (!atomic_load(&big_count_done))
            fail_msg("%s: compiling did not finish within 10 s", cases[i].schema);
        void *res = NULL;
        pthread_join(t, &res);
        schema_validator *v = res;
        const char *w = schema_validator_warnings(v);
        if (!cases[i].why != !w)
            fail_msg("%s: %s", cases[i].schema, w ? w : "compiled");
        if (w) {
            assert_non_null(strstr(w, cases[i].why));
        } else {
            json_object *good = json_object_new_string(cases[i].good), *bad = json_object_new_string(cases[i].bad);
            assert_int_equal(schema_validate(v, good, NULL), 0);
            assert_int_equal(schema_validate(v, bad, NULL), 1);
            json_object_put(good);
            json_object_put(bad);
        }
        schema_validator_free(v);
    }
}

/* References the compiler could not resolve (found in review; the tool then fell back to the
 * generic schema): dot segments in an $id, and an $anchor under a property named like a
 * keyword whose value is not a schema ("default", "enum"). */
static void test_refs_dot_segments_and_keyword_names(void **state)
{
    (void)state;
    static const char *const schemas[] = {
        "{\"$id\":\"http://x/a/b.json\",\"$defs\":{\"c\":{\"$id\":\"../c.json\",\"type\":\"string\"}},\"$ref\":\"http://x/c.json\"}",
        "{\"$id\":\"http://x/a/b.json\",\"$defs\":{\"c\":{\"$id\":\"./c.json\",\"type\":\"string\"}},\"$ref\":\"c.json\"}",
        "{\"$id\":\"http://x/a/b/c.json\",\"$defs\":{\"c\":{\"$id\":\"../../d/./e.json\",\"type\":\"string\"}},"
        "\"$ref\":\"http://x/d/e.json\"}",
        "{\"properties\":{\"default\":{\"$anchor\":\"d\",\"type\":\"string\"}},\"$ref\":\"#d\"}",
        "{\"properties\":{\"enum\":{\"$anchor\":\"d\",\"type\":\"string\"}},\"$ref\":\"#d\"}",
    };
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++) {
        json_object *s = parse(schemas[i]);
        char err[512] = "";
        schema_validator *v = schema_validator_new(s, err, sizeof err);
        json_object_put(s);
        if (!v)
            fail_msg("%s: %s", schemas[i], err);
        json_object *ok = json_object_new_string("s"), *bad = json_object_new_int(5);
        assert_int_equal(schema_validate(v, ok, NULL), 0);
        assert_int_equal(schema_validate(v, bad, NULL), 1);
        json_object_put(ok);
        json_object_put(bad);
        schema_validator_free(v);
    }
}

static void test_pattern_translation_details(void **state)
{
    (void)state;
    check_pattern("^(ab|cd)+$", "\"abcdab\"", OK, "\"abc\"", NOMATCH, END);
    check_pattern("\\bcat\\b", "\"a cat here\"", OK, "\"concatenate\"", NOMATCH, END);
    check_pattern("^(?<year>\\d{4})-(?<m>\\d\\d)$", "\"2024-05\"", OK, "\"24-05\"", NOMATCH, END);
    check_pattern("^\\x41\\t[\\x30-\\x39]\\}]$", "\"A\\t5}]\"", OK, "\"A 5}]\"", NOMATCH, END);
    check_pattern("^[\\^]$", "\"^\"", OK, "\"a\"", NOMATCH, END);
    check("{\"pattern\":\"^[\\\\-^]+$\"}", "\"-^\"", OK, END);
    check_pattern("^[^\\s,]+$", "\"a;b\"", OK, "\"a b\"", NOMATCH, END);
    /* control characters in a message are escaped: one violation, one line */
    check("{\"pattern\":\"^a\\nb$\"}", "\"a\\nb\"", OK, "\"ab\"", "$: must match pattern ^a\\nb$", END);
    /* what cannot be translated is reported at compile time */
    static const char *bad[] = {"(?<=a)b", "a\\\\", "[abc", "\\\\p{L}", "\\\\01", "[z-a]", "[ü-é]",
                                "\\\\uD83D", "\\\\uD83Dx", "\\\\uDE00", "\\\\u{110000}", "\\\\u{D800}", "\\\\u{}", "\\\\c1",
                                "\\\\k<x>", "(?<x", "^(a)\\\\1$", "(a)(b)\\\\2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char s[128];
        snprintf(s, sizeof s, "{\"pattern\":\"%s\"}", bad[i]);
        schema_validator *v = compile(s);
        const char *w = schema_validator_warnings(v);
        if (!w)
            print_error("pattern %s compiled\n", bad[i]);
        assert_non_null(w);
        assert_non_null(strstr(w, "it is treated as always satisfied"));
        expect(v, "\"anything\"", OK);
        schema_validator_free(v);
    }
}

static void test_same_value_limit(void **state)
{
    (void)state;
    /* 70 different subschemas stacked on one value (no cycle): refused past 64 */
    char s[8192];
    size_t used = (size_t)snprintf(s, sizeof s, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
    for (int i = 0; i < 70; i++)
        used += (size_t)snprintf(s + used, sizeof s - used, "\"d%d\":{\"allOf\":[{\"$ref\":\"#/$defs/d%d\"}]},", i, i + 1);
    snprintf(s + used, sizeof s - used, "\"d70\":{\"type\":\"string\"}}}");
    schema_validator *v = compile(s);
    expect(v, "\"x\"",
           "$: schema error: more than 64 nested subschemas apply to the same value (at #/$defs/d31/allOf/0)");
    schema_validator_free(v);
}

static void test_ids_and_relative_refs(void **state)
{
    (void)state;
    check("{\"$id\":\"https://example.com/a/root.json\",\"properties\":{"
          "\"x\":{\"$ref\":\"/schemas/x.json\"},\"y\":{\"$ref\":\"sub/y.json#/definitions/z\"},"
          "\"w\":{\"$ref\":\"//example.com/a/root.json#/$defs/w\"}},"
          "\"$defs\":{\"x\":{\"$id\":\"/schemas/x.json\",\"type\":\"integer\"},"
          "\"y\":{\"$id\":\"sub/y.json\",\"definitions\":{\"z\":{\"$ref\":\"#/definitions/q\"},\"q\":{\"type\":\"boolean\"}}},"
          "\"w\":{\"type\":\"null\"}}}",
          "{\"x\":1,\"y\":true,\"w\":null}", OK,
          "{\"x\":\"1\"}", "$.x: expected integer, got string",
          "{\"y\":1}", "$.y: expected boolean, got integer", /* "#/..." inside y.json is relative to y.json */
          "{\"w\":1}", "$.w: expected null, got integer", END);
    check("{\"$schema\":\"http://json-schema.org/draft-06/schema#\",\"$id\":\"http://x.test/s#\","
          "\"definitions\":{\"a\":{\"$id\":\"#A\",\"type\":\"string\"}},\"items\":{\"$ref\":\"http://x.test/s#A\"}}",
          "[\"a\"]", OK, "[1]", "$[0]: expected string, got integer", END);
    /* RFC 3986 5.2.2: "?v=2" keeps the base's path; a '/' in the base's query is not its path's */
    check("{\"$id\":\"http://x.test/a/b/c.json\",\"$defs\":{\"q\":{\"$id\":\"?v=2\",\"type\":\"integer\"}},"
          "\"items\":{\"$ref\":\"http://x.test/a/b/c.json?v=2\"}}",
          "[1]", OK, "[\"1\"]", "$[0]: expected integer, got string", END);
    check("{\"$id\":\"http://x.test/a/s.json?v=1/2\",\"$defs\":{\"d\":{\"$id\":\"d.json\",\"type\":\"integer\"},"
          "\"r\":{\"$id\":\"/r.json\",\"type\":\"string\"}},"
          "\"prefixItems\":[{\"$ref\":\"http://x.test/a/d.json\"},{\"$ref\":\"http://x.test/r.json\"}]}",
          "[1,\"a\"]", OK, "[\"1\"]", "$[0]: expected integer, got string", "[1,2]",
          "$[1]: expected string, got integer", END);
    check("{\"$id\":\"http://x.test?v=/z\",\"$defs\":{\"r\":{\"$id\":\"/r.json\",\"type\":\"string\"}},"
          "\"items\":{\"$ref\":\"http://x.test/r.json\"}}",
          "[\"a\"]", OK, "[1]", "$[0]: expected string, got integer", END);
    /* RFC 3986 5.2.3: a base with an authority and an empty path merges as "/" + the reference */
    check("{\"$id\":\"https://example.com\",\"$defs\":{\"i\":{\"$id\":\"item.json\",\"type\":\"integer\"}},"
          "\"items\":{\"$ref\":\"https://example.com/item.json\"}}",
          "[1]", OK, "[\"1\"]", "$[0]: expected integer, got string", END);
    check("{\"$id\":\"https://example.com?x=1\",\"$defs\":{\"i\":{\"$id\":\"item.json\",\"type\":\"integer\"}},"
          "\"items\":{\"$ref\":\"item.json\"}}",
          "[1]", OK, "[\"1\"]", "$[0]: expected integer, got string", END);
    /* RFC 3986 6.2.2.1: the scheme and the host are compared without case; the path and the
       fragment keep theirs (so do the user information and a "#Anchor") */
    check("{\"$id\":\"HTTPS://Example.COM/Schemas/root.json\",\"$defs\":{"
          "\"i\":{\"$id\":\"https://example.com/Schemas/Item.json\",\"type\":\"integer\"},"
          "\"s\":{\"$id\":\"http://U@X.Test/s.json\",\"type\":\"string\"}},"
          "\"prefixItems\":[{\"$ref\":\"hTTps://EXAMPLE.com/Schemas/Item.json\"},{\"$ref\":\"HTTP://U@x.test/s.json\"},"
          "{\"$ref\":\"https://example.com/Schemas/root.json#/$defs/i\"}]}",
          "[1,\"a\",2]", OK, "[\"1\"]", "$[0]: expected integer, got string", "[1,2]",
          "$[1]: expected string, got integer", "[1,\"a\",\"2\"]", "$[2]: expected integer, got string", END);
    /* a path that differs in case names another document, which is not fetched */
    compile_fails("{\"$id\":\"https://example.com/a.json\",\"items\":{\"$ref\":\"https://example.com/A.json\"}}",
                  "unresolvable $ref \"https://example.com/A.json\" at #/items: remote references are not fetched");
}

static void test_compile_details(void **state)
{
    (void)state;
    /* counts written as 5.0; huge counts */
    check("{\"maxLength\":2.0,\"minItems\":1e0,\"maxProperties\":18446744073709551615}", "\"ab\"", OK, "\"abc\"",
          "$: expected at most 2 characters, got 3", "[]", "$: expected at least 1 item, got 0", END);
    /* a long enum is shortened in messages */
    char s[4096], want[1024];
    size_t used = (size_t)snprintf(s, sizeof s, "{\"enum\":[");
    for (int i = 0; i < 100; i++)
        used += (size_t)snprintf(s + used, sizeof s - used, "%s\"value-%03d\"", i ? "," : "", i);
    snprintf(s + used, sizeof s - used, "]}");
    schema_validator *v = compile(s);
    json_object *o = parse("\"nope\"");
    char *rep = NULL;
    assert_int_equal(schema_validate(v, o, &rep), 1);
    snprintf(want, sizeof want, "$: must be one of [\"value-000\", \"value-001\"");
    assert_true(strncmp(rep, want, strlen(want)) == 0);
    assert_non_null(strstr(rep, "\"value-023\", ... 76 more]"));
    assert_true(strlen(rep) < 400);
    free(rep);
    json_object_put(o);
    schema_validator_free(v);
    /* one long value is cut, never inside a UTF-8 sequence: byte 300 of the text is the second
     * byte of the e-acute, so the cut moves back before it */
    char cs[512], cwant[512];
    used = (size_t)snprintf(cs, sizeof cs, "{\"const\":\"");
    memset(cs + used, 'x', 298);
    used += 298;
    used += (size_t)snprintf(cs + used, sizeof cs - used, "\xc3\xa9yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"}");
    used = (size_t)snprintf(cwant, sizeof cwant, "$: must be equal to \"");
    memset(cwant + used, 'x', 298);
    snprintf(cwant + used + 298, sizeof cwant - used - 298, "...");
    v = compile(cs);
    expect(v, "\"no\"", cwant);
    schema_validator_free(v);
    /* many warnings are summarised */
    v = compile("{\"type\":1,\"enum\":2,\"properties\":3,\"patternProperties\":4,\"required\":5,\"pattern\":6,"
                "\"allOf\":[],\"anyOf\":7,\"minimum\":\"x\",\"$ref\":8,\"dependencies\":9,\"unevaluatedItems\":true}");
    const char *w = schema_validator_warnings(v);
    assert_non_null(w);
    assert_non_null(strstr(w, "\n... and "));
    assert_non_null(strstr(w, " more warnings"));
    expect(v, "{}", OK);
    schema_validator_free(v);
    v = compile("{\"enum\":[],\"dependencies\":{\"a\":1},\"type\":[\"string\",\"thing\"]}");
    w = schema_validator_warnings(v);
    assert_non_null(strstr(w, "#: enum is empty: no value can match"));
    assert_non_null(strstr(w, "#: type contains an unknown type; the type keyword is ignored"));
    expect(v, "1", "$: must be one of []");
    schema_validator_free(v);
}

/* Temporary error lists of alternatives hit the report cap too. */
static void test_many_violations_in_alternatives(void **state)
{
    (void)state;
    schema_validator *v = compile("{\"anyOf\":[{\"type\":\"array\",\"items\":{\"type\":\"string\"}},{\"type\":\"null\"}]}");
    json_object *o = parse("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]");
    char *rep = NULL;
    assert_int_equal(schema_validate(v, o, &rep), 26);
    assert_true(strncmp(rep, "$: does not match any of the 2 alternatives (anyOf); the closest, alternative 1, fails "
                             "with:\n  $[0]: expected string, got integer\n", 98) == 0);
    assert_non_null(strstr(rep, "\n  $[18]: expected string, got integer\n... and 6 more"));
    free(rep);
    json_object_put(o);
    schema_validator_free(v);
}

int main(void)
{
    log_set_level(LMCP_LOG_ERROR); /* the compile warnings are checked through the API */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_enum_const),
        cmocka_unit_test(test_object_keywords),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_array_keywords),
        cmocka_unit_test(test_unique_items),
        cmocka_unit_test(test_numeric_keywords),
        cmocka_unit_test(test_multiple_of),
        cmocka_unit_test(test_string_length_unicode),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_pattern_uncompilable),
        cmocka_unit_test(test_format_is_annotation),
        cmocka_unit_test(test_all_any_one_not),
        cmocka_unit_test(test_unevaluated_properties),
        cmocka_unit_test(test_unevaluated_properties_in_place),
        cmocka_unit_test(test_unevaluated_items),
        cmocka_unit_test(test_unevaluated_items_contains),
        cmocka_unit_test(test_unevaluated_messages),
        cmocka_unit_test(test_unevaluated_big_values),
        cmocka_unit_test(test_boolean_schemas),
        cmocka_unit_test(test_local_refs),
        cmocka_unit_test(test_unresolvable_refs),
        cmocka_unit_test(test_recursive_tree),
        cmocka_unit_test(test_ref_cycles),
        cmocka_unit_test(test_work_bound),
        cmocka_unit_test(test_report_cap),
        cmocka_unit_test(test_eventbridge_draft4),
        cmocka_unit_test(test_openapi_components),
        cmocka_unit_test(test_lenient_compile),
        cmocka_unit_test(test_validator_outlives_schema),
        cmocka_unit_test(test_concurrent_validation),
        cmocka_unit_test(test_unevaluated_concurrent),
        cmocka_unit_test(test_deep_on_small_stack),
        cmocka_unit_test(test_pattern_utf8_locale),
        cmocka_unit_test(test_dynamic_refs_static),
        cmocka_unit_test(test_alternatives_in_quiet_contexts),
        cmocka_unit_test(test_unique_items_hashed_types),
        cmocka_unit_test(test_pattern_translation_details),
        cmocka_unit_test(test_pattern_unicode_classes),
        cmocka_unit_test(test_pattern_limits),
        cmocka_unit_test(test_refs_dot_segments_and_keyword_names),
        cmocka_unit_test(test_pattern_nesting_bounded),
        cmocka_unit_test(test_pattern_huge_count_terminates),
        cmocka_unit_test(test_pattern_empty_loops_bounded),
        cmocka_unit_test(test_same_value_limit),
        cmocka_unit_test(test_ids_and_relative_refs),
        cmocka_unit_test(test_compile_details),
        cmocka_unit_test(test_many_violations_in_alternatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
