/* Endpoint resolution: partitions, environment and conf overrides, region validation. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/endpoints.h"

static void clear_env(void)
{
    static const char *const vars[] = {
        "AWS_ENDPOINT_URL",        "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API",
        "AWS_ENDPOINT_URL_SCHEMAS", "AWS_ENDPOINT_URL_STS",   "AWS_ENDPOINT_URL_SSO",
        "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static void expect_url(const aws_endpoints *e, const char *service, const char *region, const char *want)
{
    char *got = aws_endpoint_resolve(e, service, region);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_defaults(void **state)
{
    (void)state;
    aws_endpoints e = {0};
    expect_url(&e, "lambda", "us-east-1", "https://lambda.us-east-1.amazonaws.com");
    expect_url(&e, "tagging", "eu-west-1", "https://tagging.eu-west-1.amazonaws.com");
    expect_url(&e, "schemas", "ap-southeast-2", "https://schemas.ap-southeast-2.amazonaws.com");
    expect_url(&e, "sts", "us-west-2", "https://sts.us-west-2.amazonaws.com");
    expect_url(&e, "portal.sso", "eu-central-1", "https://portal.sso.eu-central-1.amazonaws.com");
    expect_url(&e, "oidc", "us-east-2", "https://oidc.us-east-2.amazonaws.com");
    expect_url(NULL, "lambda", "us-east-1", "https://lambda.us-east-1.amazonaws.com");
    /* an unknown service key is its own prefix */
    expect_url(&e, "ssm", "us-east-1", "https://ssm.us-east-1.amazonaws.com");
}

static void test_partitions(void **state)
{
    (void)state;
    aws_endpoints e = {0};
    expect_url(&e, "lambda", "cn-north-1", "https://lambda.cn-north-1.amazonaws.com.cn");
    expect_url(&e, "sts", "cn-northwest-1", "https://sts.cn-northwest-1.amazonaws.com.cn");
    expect_url(&e, "lambda", "us-gov-west-1", "https://lambda.us-gov-west-1.amazonaws.com");
    expect_url(&e, "lambda", "us-iso-east-1", "https://lambda.us-iso-east-1.c2s.ic.gov");
    expect_url(&e, "lambda", "us-isob-east-1", "https://lambda.us-isob-east-1.sc2s.sgov.gov");
    expect_url(&e, "lambda", "eu-isoe-west-1", "https://lambda.eu-isoe-west-1.cloud.adc-e.uk");
    expect_url(&e, "lambda", "us-isof-south-1", "https://lambda.us-isof-south-1.csp.hci.ic.gov");
    assert_string_equal(aws_partition_domain("eu-west-1"), "amazonaws.com");
    assert_string_equal(aws_partition_domain("cn-north-1"), "amazonaws.com.cn");
    assert_string_equal(aws_partition_domain("us-isob-east-1"), "sc2s.sgov.gov");
    assert_string_equal(aws_partition_domain(NULL), "amazonaws.com");
}

static void test_env_ids(void **state)
{
    (void)state;
    assert_string_equal(aws_endpoint_env_id("lambda"), "LAMBDA");
    assert_string_equal(aws_endpoint_env_id("tagging"), "RESOURCE_GROUPS_TAGGING_API");
    assert_string_equal(aws_endpoint_env_id("schemas"), "SCHEMAS");
    assert_string_equal(aws_endpoint_env_id("sts"), "STS");
    assert_string_equal(aws_endpoint_env_id("portal.sso"), "SSO");
    assert_string_equal(aws_endpoint_env_id("oidc"), "SSO_OIDC");
    assert_null(aws_endpoint_env_id("nope"));
}

static void test_env_overrides(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", "http://localhost:4566/", 1);
    setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001///", 1);
    setenv("AWS_ENDPOINT_URL_SSO_OIDC", "https://oidc.example", 1);
    aws_endpoints e = {0};
    aws_endpoints_from_env(&e);
    expect_url(&e, "lambda", "us-east-1", "http://127.0.0.1:9001");
    expect_url(&e, "oidc", "us-east-1", "https://oidc.example");
    expect_url(&e, "sts", "us-east-1", "http://localhost:4566"); /* the global one */
    aws_endpoints_free(&e);
    clear_env();
}

static void test_ignore_configured(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", "http://localhost:4566", 1);
    setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001", 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
    aws_endpoints e = {0};
    aws_endpoints_from_env(&e);
    expect_url(&e, "lambda", "us-east-1", "https://lambda.us-east-1.amazonaws.com");
    assert_null(e.endpoint_url);
    assert_int_equal(e.n_overrides, 0);
    aws_endpoints_free(&e);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
    aws_endpoints_from_env(&e);
    expect_url(&e, "lambda", "us-east-1", "http://127.0.0.1:9001");
    aws_endpoints_free(&e);
    clear_env();
}

static void test_conf_beats_env(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", "http://env-global:1", 1);
    setenv("AWS_ENDPOINT_URL_LAMBDA", "http://env-lambda:2", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://env-sts:3", 1);
    aws_endpoints e = {0};
    aws_endpoints_from_env(&e);
    aws_endpoints_set(&e, "lambda", "http://conf-lambda:4/");
    aws_endpoints_set(&e, NULL, "http://conf-global:5");
    expect_url(&e, "lambda", "us-east-1", "http://conf-lambda:4");   /* conf service > env service */
    expect_url(&e, "sts", "us-east-1", "http://env-sts:3");          /* env service > conf global */
    expect_url(&e, "schemas", "us-east-1", "http://conf-global:5");  /* conf global > env global */
    aws_endpoints_free(&e);

    /* conf per-service beats the environment's global */
    clear_env();
    setenv("AWS_ENDPOINT_URL", "http://env-global:1", 1);
    aws_endpoints_from_env(&e);
    aws_endpoints_set(&e, "tagging", "http://conf-tagging:6");
    expect_url(&e, "tagging", "us-east-1", "http://conf-tagging:6");
    expect_url(&e, "lambda", "us-east-1", "http://env-global:1");
    aws_endpoints_free(&e);
    clear_env();
}

static void test_bad_region(void **state)
{
    (void)state;
    aws_endpoints e = {0};
    expect_url(&e, "lambda", "us-east-1.evil.com/x", NULL);
    expect_url(&e, "lambda", "evil.com#", NULL);
    expect_url(&e, "lambda", "US-EAST-1", NULL);
    expect_url(&e, "lambda", "", NULL);
    expect_url(&e, "lambda", NULL, NULL);
    expect_url(&e, "lambda", "us-east-1@evil", NULL);
    expect_url(&e, "lambda", "us east 1", NULL);
    /* even with an override the region is checked: it goes into the signature scope */
    aws_endpoints_set(&e, "lambda", "http://127.0.0.1:1");
    expect_url(&e, "lambda", "us-east-1/../x", NULL);
    expect_url(&e, "lambda", "us-east-1", "http://127.0.0.1:1");
    /* an unknown service key must not smuggle a host either */
    expect_url(&e, "evil.com/x?", "us-east-1", NULL);
    aws_endpoints_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_partitions, setup),
        cmocka_unit_test_setup(test_env_ids, setup),
        cmocka_unit_test_setup(test_env_overrides, setup),
        cmocka_unit_test_setup(test_ignore_configured, setup),
        cmocka_unit_test_setup(test_conf_beats_env, setup),
        cmocka_unit_test_setup(test_bad_region, setup),
    };
    return cmocka_run_group_tests_name("endpoints", tests, NULL, NULL);
}
