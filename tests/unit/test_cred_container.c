/* credentials plugins: where AWS_CONTAINER_CREDENTIALS_FULL_URI may point
 * (plugins/credentials/common/urlcheck.h): https anywhere; plain http only to loopback,
 * 169.254.170.2, 169.254.170.23 and fd00:ec2::23; host names resolved and every address checked. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../plugins/credentials/common/urlcheck.h"

/* a resolver with a fixed table, so the test does not depend on /etc/hosts or DNS */
static int fake_resolve(const char *host, char addrs[][64], int max)
{
    static const struct {
        const char *host;
        const char *addrs[3];
    } table[] = {
        {"localhost", {"127.0.0.1", "::1", NULL}},
        {"loop.example", {"127.0.0.53", NULL, NULL}},
        {"mixed.example", {"127.0.0.1", "10.0.0.1", NULL}},
        {"evil.example", {"203.0.113.7", NULL, NULL}},
        {"ecs.example", {"169.254.170.2", NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(table[i].host, host) != 0)
            continue;
        int n = 0;
        for (; n < 3 && n < max && table[i].addrs[n]; n++)
            snprintf(addrs[n], 64, "%s", table[i].addrs[n]);
        return n;
    }
    return -1;
}

static bool allowed(const char *url)
{
    char why[300] = "";
    bool ok = cc_container_url_allowed(url, fake_resolve, why, sizeof why);
    if (!ok)
        assert_true(why[0] != '\0'); /* a refusal always says why */
    return ok;
}

static void test_https_anywhere(void **state)
{
    (void)state;
    assert_true(allowed("https://creds.example.com/v1/credentials"));
    assert_true(allowed("HTTPS://203.0.113.7:8443/x"));
    assert_true(allowed("https://evil.example/"));
}

static void test_http_literals(void **state)
{
    (void)state;
    assert_true(allowed("http://127.0.0.1/creds"));
    assert_true(allowed("http://127.1.2.3:51679/creds"));
    assert_true(allowed("http://[::1]:8080/creds"));
    assert_true(allowed("http://169.254.170.2/v2/credentials/abc"));
    assert_true(allowed("http://169.254.170.23/v1/credentials"));
    assert_true(allowed("http://[fd00:ec2::23]/v1/credentials"));
    assert_true(allowed("http://[FD00:EC2:0:0:0:0:0:23]/v1/credentials"));
    assert_true(allowed("http://[::ffff:127.0.0.1]/creds"));
    assert_false(allowed("http://169.254.169.254/latest/meta-data/"));
    assert_false(allowed("http://169.254.170.3/"));
    assert_false(allowed("http://10.0.0.1/creds"));
    assert_false(allowed("http://[fd00:ec2::254]/"));
    assert_false(allowed("http://[::2]/"));
    assert_false(allowed("http://128.0.0.1/"));
}

static void test_http_names(void **state)
{
    (void)state;
    assert_true(allowed("http://localhost:8080/creds"));
    assert_true(allowed("http://LOCALHOST/creds"));
    assert_true(allowed("http://loop.example/creds"));
    /* every address must be loopback */
    assert_false(allowed("http://mixed.example/creds"));
    assert_false(allowed("http://evil.example/creds"));
    /* the ECS/EKS addresses count only as literals, not behind a name */
    assert_false(allowed("http://ecs.example/creds"));
    assert_false(allowed("http://unresolvable.example/creds"));
    /* userinfo does not hide the host */
    assert_false(allowed("http://127.0.0.1@evil.example/creds"));
    assert_true(allowed("http://user@localhost/creds"));
}

static void test_bad_urls(void **state)
{
    (void)state;
    assert_false(allowed("ftp://127.0.0.1/creds"));
    assert_false(allowed("file:///etc/passwd"));
    assert_false(allowed("127.0.0.1/creds"));
    assert_false(allowed("http:///creds"));
    assert_false(allowed("http://[::1/creds"));
    assert_false(allowed("http://127.0.0.1:99999/creds"));
    assert_false(allowed(""));
    char why[300];
    assert_false(cc_container_url_allowed("http://203.0.113.9/creds", fake_resolve, why, sizeof why));
    assert_non_null(strstr(why, "use https"));
}

static void test_url_parse(void **state)
{
    (void)state;
    cc_url u;
    assert_int_equal(cc_url_parse("http://user:pw@[fd00:ec2::23]:8080/v1/x?y=1#z", &u), 0);
    assert_string_equal(u.scheme, "http");
    assert_string_equal(u.host, "fd00:ec2::23");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.path, "/v1/x?y=1#z");
    cc_url_free(&u);
    assert_int_equal(cc_url_parse("https://Example.COM", &u), 0);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, -1);
    assert_string_equal(u.path, "");
    cc_url_free(&u);
}

static void expect_display(const char *url, const char *want)
{
    char *d = cc_url_display(url);
    if (strcmp(d, want) != 0)
        fail_msg("cc_url_display(\"%s\") = \"%s\", want \"%s\"", url, d, want);
    free(d);
}

/* what messages and logs show of a URL: never its userinfo (libcurl sends it as Basic auth) */
static void test_url_display(void **state)
{
    (void)state;
    expect_display("http://127.0.0.1:8080/v1/credentials", "http://127.0.0.1:8080/v1/credentials");
    expect_display("https://user:s3cret@example.com/creds", "https://example.com/creds");
    expect_display("https://user:s3cret@example.com", "https://example.com");
    expect_display("http://user:p@ss@[fd00:ec2::23]:80/v1/x?token=s3cret#frag", "http://[fd00:ec2::23]:80/v1/x");
    expect_display("https://s3cret@example.com?x=1", "https://example.com");
    expect_display("https://@example.com/", "https://example.com/");
    /* an '@' in the path or the query is not userinfo */
    expect_display("https://example.com/a@b/c", "https://example.com/a@b/c");
    expect_display("https://example.com/p?u=a://x:y@z", "https://example.com/p");
    /* not even a URL: whatever stands before an '@' in the first segment is dropped */
    expect_display("user:s3cret@example.com/creds", "example.com/creds");
    expect_display("ftp://user:s3cret@example.com/x", "ftp://example.com/x");
    expect_display("", "");
    expect_display(NULL, "");
}

static void test_system_resolver(void **state)
{
    (void)state;
    /* numeric hosts resolve without DNS */
    char addrs[4][64];
    int n = cc_resolve_system("127.0.0.1", addrs, 4);
    assert_true(n >= 1);
    assert_string_equal(addrs[0], "127.0.0.1");
    char why[200];
    assert_true(cc_container_url_allowed("http://127.0.0.1:1/x", NULL, why, sizeof why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_anywhere),
        cmocka_unit_test(test_http_literals),
        cmocka_unit_test(test_http_names),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_url_display),
        cmocka_unit_test(test_system_resolver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
