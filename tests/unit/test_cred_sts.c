/* credentials plugins: STS query-protocol answers (AssumeRole, AssumeRoleWithWebIdentity), the
 * timestamps AWS sends, ARNs, and the default session name (plugins/credentials/common/sts.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../plugins/credentials/common/sts.h"
#include "../../plugins/credentials/common/util.h"

static const char ASSUME_ROLE[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <SourceIdentity>me</SourceIdentity>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764&amp;more+tok=</SessionToken>\n"
    "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static void test_assume_role(void **state)
{
    (void)state;
    sts_creds c;
    char err[200];
    assert_int_equal(sts_parse_credentials(ASSUME_ROLE, strlen(ASSUME_ROLE), "AssumeRole", &c, err, sizeof err), 0);
    assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(c.session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764&more+tok=");
    assert_string_equal(c.expiration, "2019-11-09T13:34:41Z");
    assert_int_equal(c.expiration_ms, 1573306481000LL);
    assert_string_equal(c.arn, "arn:aws:sts::123456789012:assumed-role/demo/John");
    assert_string_equal(c.account_id, "123456789012");
    sts_creds_free(&c);
    assert_null(c.secret_access_key);
}

static void test_web_identity(void **state)
{
    (void)state;
    const char *xml =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleWithWebIdentityResult>"
        "<SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>"
        "<Audience>client.5498841531868486423.1548@apps.example.com</Audience>"
        "<AssumedRoleUser><Arn>arn:aws-cn:sts::210987654321:assumed-role/FederatedWebIdentityRole/app1</Arn>"
        "<AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId></AssumedRoleUser>"
        "<Credentials><SessionToken>tok&lt;&gt;&quot;&apos;&#65;&#x42;</SessionToken>"
        "<SecretAccessKey><![CDATA[sec<ret>]]></SecretAccessKey>"
        "<Expiration>2014-10-24T23:00:23.123+02:00</Expiration>"
        "<AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId></Credentials>"
        "<Provider>www.amazon.com</Provider>"
        "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    sts_creds c;
    char err[200];
    assert_int_equal(sts_parse_credentials(xml, strlen(xml), "AssumeRoleWithWebIdentity", &c, err, sizeof err), 0);
    assert_string_equal(c.session_token, "tok<>\"'AB");
    assert_string_equal(c.secret_access_key, "sec<ret>");
    assert_int_equal(c.expiration_ms, 1414191623123LL - 2 * 3600 * 1000);
    assert_string_equal(c.account_id, "210987654321");
    sts_creds_free(&c);
}

static void test_malformed(void **state)
{
    (void)state;
    sts_creds c;
    char err[200];
    /* the wrong action */
    assert_int_equal(sts_parse_credentials(ASSUME_ROLE, strlen(ASSUME_ROLE), "GetSessionToken", &c, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "GetSessionTokenResult"));
    /* a field missing; the message names it and quotes nothing of the document */
    const char *no_token = "<AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
                           "<SecretAccessKey>TOPSECRET</SecretAccessKey><Expiration>2030-01-01T00:00:00Z</Expiration>"
                           "</Credentials></AssumeRoleResult>";
    assert_int_equal(sts_parse_credentials(no_token, strlen(no_token), "AssumeRole", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "SessionToken"));
    assert_null(strstr(err, "TOPSECRET"));
    const char *bad_time = "<AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
                           "</SecretAccessKey><SessionToken>T</SessionToken><Expiration>soon</Expiration>"
                           "</Credentials></AssumeRoleResult>";
    assert_int_equal(sts_parse_credentials(bad_time, strlen(bad_time), "AssumeRole", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "Expiration"));
    /* truncated document */
    assert_int_equal(sts_parse_credentials(ASSUME_ROLE, 300, "AssumeRole", &c, err, sizeof err), -1);
    assert_int_equal(sts_parse_credentials("", 0, "AssumeRole", &c, err, sizeof err), -1);
    /* an error document */
    const char *e = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code></Error></ErrorResponse>";
    assert_int_equal(sts_parse_credentials(e, strlen(e), "AssumeRole", &c, err, sizeof err), -1);
}

static void test_xml_helpers(void **state)
{
    (void)state;
    const char *x = "<a><ab>no</ab><b attr=\"1\"> inner <b>nested</b> </b><c/><d></d></a>";
    const char *end = x + strlen(x);
    char *s = sts_xml_text(x, end, "a");
    assert_non_null(s);
    free(s);
    s = sts_xml_text(x, end, "ab");
    assert_string_equal(s, "no");
    free(s);
    const char *in, *ie;
    assert_int_equal(sts_xml_element(x, end, "b", &in, &ie), 0);
    assert_int_equal((int)(ie - in), (int)strlen(" inner <b>nested</b> "));
    s = sts_xml_text(x, end, "c");
    assert_string_equal(s, "");
    free(s);
    s = sts_xml_text(x, end, "d");
    assert_string_equal(s, "");
    free(s);
    assert_null(sts_xml_text(x, end, "e"));
    /* unknown or invalid entities stay as they are */
    const char *ent = "<t>&unknown; &#0; &#x110000; &amp</t>";
    s = sts_xml_text(ent, ent + strlen(ent), "t");
    assert_string_equal(s, "&unknown; &#0; &#x110000; &amp");
    free(s);
    const char *utf = "<t>&#233;&#x20AC;&#x1F600;</t>";
    s = sts_xml_text(utf, utf + strlen(utf), "t");
    assert_string_equal(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    free(s);
}

static void test_times(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(cc_parse_time("2019-11-09T13:34:41Z", &ms), 0);
    assert_int_equal(ms, 1573306481000LL);
    assert_int_equal(cc_parse_time("2019-11-09T13:34:41.5Z", &ms), 0);
    assert_int_equal(ms, 1573306481500LL);
    assert_int_equal(cc_parse_time("2019-11-09T13:34:41+00:00", &ms), 0);
    assert_int_equal(ms, 1573306481000LL);
    assert_int_equal(cc_parse_time("2019-11-09T14:34:41+0100", &ms), 0);
    assert_int_equal(ms, 1573306481000LL);
    /* what old AWS CLI versions wrote in the SSO cache */
    assert_int_equal(cc_parse_time("2019-11-09T13:34:41UTC", &ms), 0);
    assert_int_equal(ms, 1573306481000LL);
    assert_int_equal(cc_parse_time("2019-11-09 13:34:41", &ms), 0);
    assert_int_equal(ms, 1573306481000LL);
    assert_int_equal(cc_parse_time("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(cc_parse_time("2000-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 951782400000LL);
    assert_int_equal(cc_parse_time("tomorrow", &ms), -1);
    assert_int_equal(cc_parse_time("2019-13-01T00:00:00Z", &ms), -1);
    assert_int_equal(cc_parse_time("2019-11-09T13:34:41Zjunk", &ms), -1);
    assert_int_equal(cc_parse_time("", &ms), -1);
    char out[32];
    cc_format_time(1573306481999LL, out);
    assert_string_equal(out, "2019-11-09T13:34:41Z");
}

/* cc_parse_time on a copy of s whose NUL is the last byte before an unreadable page: a read past
 * the end faults here, with or without valgrind or ASan */
static int parse_guarded(const char *s, size_t n, int64_t *ms)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    assert_true(n < pg);
    char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pg, pg, PROT_NONE), 0);
    char *copy = m + pg - (n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    int rc = cc_parse_time(copy, ms);
    munmap(m, 2 * pg);
    return rc;
}

static void expect_time(const char *s, int64_t want)
{
    int64_t ms = -1;
    if (parse_guarded(s, strlen(s), &ms) != 0)
        fail_msg("cc_parse_time(\"%s\") failed", s);
    if (ms != want)
        fail_msg("cc_parse_time(\"%s\") = %lld, want %lld", s, (long long)ms, (long long)want);
}

static void expect_no_time(const char *s)
{
    int64_t ms = 12345;
    if (parse_guarded(s, strlen(s), &ms) != -1)
        fail_msg("cc_parse_time(\"%s\") accepted it", s);
    assert_int_equal(ms, 12345); /* untouched */
}

/* The one parser of every expiry (env, credential_process, container, IMDS, SSO cache, STS). */
static void test_time_edges(void **state)
{
    (void)state;
    const int64_t t = 1573306481000LL; /* 2019-11-09T13:34:41Z */
    /* offsets: +hh:mm, +hhmm, +hh, negative */
    expect_time("2019-11-09T15:04:41+01:30", t);
    expect_time("2019-11-09T15:04:41+0130", t);
    expect_time("2019-11-09T14:34:41+01", t);
    expect_time("2019-11-09T12:34:41-01:00", t);
    expect_time("2019-11-09T13:34:41-00", t);
    /* zones spelt out, lower case, blanks */
    expect_time("2019-11-09T13:34:41 UTC", t);
    expect_time("2019-11-09T13:34:41GMT", t);
    expect_time("2019-11-09t13:34:41z", t);
    expect_time("  2019-11-09T13:34:41Z \n", t);
    expect_time("2019-11-09T13:34:41", t);
    /* fractions (',' too), cut to milliseconds; no seconds; a date alone */
    expect_time("2019-11-09T13:34:41,25Z", t + 250);
    expect_time("2019-11-09T13:34:41.123456789Z", t + 123);
    expect_time("2019-11-09T13:34Z", t - 41000);
    expect_time("2019-11-09", 1573257600000LL);

    /* truncated or malformed offsets */
    expect_no_time("2019-11-09T13:34:41+1:5");
    expect_no_time("2019-11-09T13:34:41+01:5");
    expect_no_time("2019-11-09T13:34:41+01:");
    expect_no_time("2019-11-09T13:34:41+015");
    expect_no_time("2019-11-09T13:34:41+0");
    expect_no_time("2019-11-09T13:34:41+");
    expect_no_time("2019-11-09T13:34:41-");
    expect_no_time("2019-11-09T13:34:41+24:00");
    expect_no_time("2019-11-09T13:34:41+01:60");
    expect_no_time("2019-11-09T13:34:41+01:00x");
    expect_no_time("2019-11-09T13:34:41+01:00:00");
    /* truncated elsewhere */
    expect_no_time("2019-11-09T13:34:41.");
    expect_no_time("2019-11-09T13:34:4");
    expect_no_time("2019-11-09T13:34:");
    expect_no_time("2019-11-09T13:3");
    expect_no_time("2019-11-09T13");
    expect_no_time("2019-11-09T");
    expect_no_time("2019-11-0");
    expect_no_time("2019-11-");
    expect_no_time("2019-1");
    expect_no_time("2019");
    expect_no_time("2019-11-09T13:34:41U");
    expect_no_time("2019-11-09T13:34:41UT");
    expect_no_time("2019-11-09Z");
    expect_no_time("   ");
    /* out of range */
    expect_no_time("2019-00-09T13:34:41Z");
    expect_no_time("2019-11-32T13:34:41Z");
    expect_no_time("2019-11-09T24:00:00Z");
    expect_no_time("2019-11-09T13:60:00Z");
    expect_no_time("2019-11-09T13:34:61Z");
    int64_t ms = 7;
    assert_int_equal(cc_parse_time(NULL, &ms), -1);
    assert_int_equal(ms, 7);

    /* every prefix of long forms ends at an unreadable page: any over-read faults */
    static const char *const full[] = {"2019-11-09T15:04:41.123456+01:30", "2019-11-09 13:34:41,5 UTC",
                                       "2019-11-09T14:34:41-0100"};
    for (size_t i = 0; i < sizeof full / sizeof *full; i++)
        for (size_t n = 0; n <= strlen(full[i]); n++) {
            int rc = parse_guarded(full[i], n, &ms);
            assert_true(rc == 0 || rc == -1);
        }
}

static void test_arn_and_session(void **state)
{
    (void)state;
    char *a = sts_arn_account("arn:aws:sts::123456789012:assumed-role/x/y");
    assert_string_equal(a, "123456789012");
    free(a);
    assert_null(sts_arn_account("arn:aws:s3:::bucket"));
    assert_null(sts_arn_account("not-an-arn"));
    assert_null(sts_arn_account(NULL));
    char *s = sts_default_session_name(1700000000123LL);
    assert_string_equal(s, "botocore-session-1700000000");
    free(s);
    char masked[24];
    cc_mask_key("ASIAIOSFODNN7EXAMPLE", masked);
    assert_string_equal(masked, "****************MPLE");
    cc_mask_key("AB", masked);
    assert_string_equal(masked, "****");
    char e[] = "refused tok3n-value-1 (tok3n-value-1) xyz";
    cc_redact(e, "tok3n-value-1");
    assert_string_equal(e, "refused **** (****) xyz");
    cc_redact(e, "xyz"); /* too short: left alone */
    cc_redact(e, NULL);
    cc_redact(NULL, "abcd");
    assert_string_equal(e, "refused **** (****) xyz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assume_role),
        cmocka_unit_test(test_web_identity),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_xml_helpers),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_time_edges),
        cmocka_unit_test(test_arn_and_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
