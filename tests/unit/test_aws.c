/* The AWS request layer against a scripted local server: what goes on the wire (signature,
 * Host, User-Agent, token), the retry policy, AWS error parsing, clock skew, cancellation, the
 * Lambda calls, and that no secret is ever logged. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "aws/aws.h"
#include "aws/lambda.h"
#include "aws/sigv4.h"
#include "credentials/credentials.h"
#include "http_test_server.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define AKID "AKIDTESTEXAMPLE1"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz"
#define TOKEN "IQoJb3JpZ2luX2VjEXAMPLE//SESSIONzzTOKEN+abc=="

typedef struct creds_src {
    int calls;
    bool fail;
    bool no_token;
    int rc;                      /* nonzero: answer this (LMCP_TIMEOUT, LMCP_CANCELLED) */
    int64_t deadline_us;         /* what the last call was given */
    const volatile int *cancel;
} creds_src;

static int creds_fn(void *ctx, int64_t deadline_us, const volatile int *cancel, lmcp_credentials **out, char *err,
                    size_t errlen)
{
    creds_src *s = ctx;
    /* test_endpoint_cache_threads calls this from several threads at once */
    __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&s->deadline_us, deadline_us, __ATOMIC_RELAXED);
    __atomic_store_n(&s->cancel, cancel, __ATOMIC_RELAXED);
    if (s->rc) {
        snprintf(err, errlen, "timed out after waiting 5 ms: the credentials plugins have not answered yet");
        return s->rc;
    }
    if (s->fail) {
        snprintf(err, errlen, "no credentials here");
        return LMCP_ERR;
    }
    *out = credentials_new();
    credentials_set(*out, AKID, SECRET, s->no_token ? NULL : TOKEN, 0);
    return LMCP_OK;
}

typedef struct fixture {
    ts_server *srv;
    aws_client *aws;
    creds_src creds;
    aws_endpoints ep;
    char host[64];
} fixture;

static aws_client *make_client(fixture *f, const char *url, long base_ms, long cap_ms)
{
    aws_endpoints_free(&f->ep);
    aws_endpoints_set(&f->ep, NULL, url);
    aws_config cfg = {0};
    cfg.region = "us-east-1";
    cfg.endpoints = f->ep;
    cfg.connect_timeout_ms = 2000;
    cfg.timeout_ms = 5000;
    cfg.max_attempts = 3;
    cfg.retry_base_ms = base_ms;
    cfg.retry_max_backoff_ms = cap_ms;
    cfg.creds = creds_fn;
    cfg.creds_ctx = &f->creds;
    return aws_client_new(&cfg);
}

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    f->srv = ts_start();
    snprintf(f->host, sizeof f->host, "127.0.0.1:%d", ts_port(f->srv));
    char url[128];
    snprintf(url, sizeof url, "http://%s", f->host);
    f->aws = make_client(f, url, 2, 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    aws_endpoints_free(&f->ep);
    ts_stop(f->srv);
    free(f);
    return 0;
}

static lmcp_aws_request lambda_req(const char *method, const char *path, unsigned flags)
{
    lmcp_aws_request r = {0};
    r.service = "lambda";
    r.method = method;
    r.path = path;
    r.flags = flags;
    return r;
}

static int send_req(fixture *f, const lmcp_aws_request *r, aws_response **out)
{
    char err[512];
    int rc = aws_request(f->aws, r, out, err, sizeof err);
    if (rc != LMCP_OK)
        assert_null(*out);
    return rc;
}

/* ------------------------------------------------------------------ what goes on the wire */

/* Recompute the signature of a request as the server received it, from its SignedHeaders. */
static void verify_signature(fixture *f, int idx, const char *secret, const char *token)
{
    char *raw = ts_request(f->srv, idx);
    assert_non_null(raw);
    char *auth = ts_request_header(f->srv, idx, "Authorization");
    char *date = ts_request_header(f->srv, idx, "X-Amz-Date");
    assert_non_null(auth);
    assert_non_null(date);

    /* request line */
    char *sp1 = strchr(raw, ' ');
    char *sp2 = strchr(sp1 + 1, ' ');
    char *method = xstrndup(raw, (size_t)(sp1 - raw));
    char *target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    char *body = strstr(raw, "\r\n\r\n") + 4;

    /* the signed headers, as received */
    char *sh = strstr(auth, "SignedHeaders=") + strlen("SignedHeaders=");
    char *names = xstrndup(sh, strcspn(sh, ","));
    hdrs h = HDRS_INIT;
    char *save = NULL;
    for (char *n = strtok_r(names, ";", &save); n; n = strtok_r(NULL, ";", &save)) {
        char *v = ts_request_header(f->srv, idx, n);
        assert_non_null(v);
        hdrs_add(&h, n, v);
        free(v);
    }

    struct tm tm = {0};
    assert_int_equal(sscanf(date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                            &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    sigv4_params p = {AKID, secret, token, "us-east-1", "lambda", timegm(&tm), true, true, false, false};
    sigv4_request r = {method, target, q, &h, body, strlen(body)};
    char *cr = sigv4_canonical_request(&p, &r);
    char *sts = sigv4_string_to_sign(&p, cr);
    char sig[65];
    sigv4_signature(&p, sts, sig);
    char *want = xasprintf("Signature=%s", sig);
    assert_non_null(strstr(auth, want));

    free(want);
    free(sts);
    free(cr);
    hdrs_free(&h);
    free(names);
    free(method);
    free(target);
    free(auth);
    free(date);
    free(raw);
}

static void test_signed_request_on_the_wire(void **state)
{
    fixture *f = *state;
    const char *headers[] = {"Content-Type: application/json", "X-Amz-Invocation-Type: RequestResponse", NULL};
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/my-fn/invocations", 0);
    r.query = "Qualifier=live";
    r.headers = headers;
    r.body = "{\"a\":1}";
    r.body_len = 7;
    aws_response *resp;
    time_t now = time(NULL);
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 1);
    assert_null(resp->error_code);
    aws_response_free(resp);

    char *raw = ts_request(f->srv, 0);
    assert_true(str_starts_with(raw, "POST /2015-03-31/functions/my-fn/invocations?Qualifier=live HTTP/1.1\r\n"));
    free(raw);

    char *auth = ts_request_header(f->srv, 0, "Authorization");
    char date8[9];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date8, sizeof date8, "%Y%m%d", &tm);
    char *scope = xasprintf("AWS4-HMAC-SHA256 Credential=" AKID "/%s/us-east-1/lambda/aws4_request, ", date8);
    assert_true(str_starts_with(auth, scope));
    assert_non_null(
        strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type;x-amz-security-token, "));
    free(scope);
    free(auth);

    char *v = ts_request_header(f->srv, 0, "X-Amz-Date");
    char now_date[17];
    sigv4_amz_date(now, now_date);
    assert_int_equal(strlen(v), 16);
    assert_memory_equal(v, now_date, 8);
    free(v);
    v = ts_request_header(f->srv, 0, "X-Amz-Security-Token");
    assert_string_equal(v, TOKEN);
    free(v);
    v = ts_request_header(f->srv, 0, "Host");
    assert_string_equal(v, f->host);
    free(v);
    v = ts_request_header(f->srv, 0, "User-Agent");
    assert_string_equal(v, aws_user_agent());
    free(v);
    v = ts_request_header(f->srv, 0, "Content-Type");
    assert_string_equal(v, "application/json");
    free(v);

    verify_signature(f, 0, SECRET, TOKEN);
    assert_int_equal(f->creds.calls, 1);
}

static void test_no_token_no_header(void **state)
{
    fixture *f = *state;
    f->creds.no_token = true;
    lmcp_aws_request r = lambda_req("GET", "/2015-03-31/functions/", LMCP_AWS_IDEMPOTENT);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    aws_response_free(resp);
    assert_null(ts_request_header(f->srv, 0, "X-Amz-Security-Token"));
    verify_signature(f, 0, SECRET, NULL);
}

static void test_request_credentials_and_unsigned(void **state)
{
    fixture *f = *state;
    lmcp_credentials *own = credentials_new();
    credentials_set(own, AKID, "other-secret", NULL, 0);
    lmcp_aws_request r = lambda_req("GET", "/x", LMCP_AWS_IDEMPOTENT);
    r.credentials = own;
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    aws_response_free(resp);
    assert_int_equal(f->creds.calls, 0);
    verify_signature(f, 0, "other-secret", NULL);
    credentials_free(own);

    r = lambda_req("POST", "/token", LMCP_AWS_UNSIGNED);
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    aws_response_free(resp);
    assert_int_equal(f->creds.calls, 0);
    assert_null(ts_request_header(f->srv, 1, "Authorization"));
    assert_null(ts_request_header(f->srv, 1, "X-Amz-Date"));
}

static void test_endpoint_with_base_path(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://%s/prefix/", f->host);
    f->aws = make_client(f, url, 2, 20);
    lmcp_aws_request r = lambda_req("GET", "/2015-03-31/functions/a%3Ab", LMCP_AWS_IDEMPOTENT);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    aws_response_free(resp);
    char *raw = ts_request(f->srv, 0);
    assert_true(str_starts_with(raw, "GET /prefix/2015-03-31/functions/a%3Ab HTTP/1.1\r\n"));
    free(raw);
    verify_signature(f, 0, SECRET, TOKEN);
}

static void test_bad_input(void **state)
{
    fixture *f = *state;
    char err[512];
    aws_response *resp;
    lmcp_aws_request r = lambda_req("GET", "/", 0);
    r.region = "us-east-1.evil.example/";
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_null(resp);
    assert_non_null(strstr(err, "region"));
    r.region = NULL;
    const char *bad[] = {"X-Evil: a\r\nInjected: 1", NULL};
    r.headers = bad;
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    const char *bad2[] = {"no colon here", NULL};
    r.headers = bad2;
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ts_requests(f->srv), 0);

    f->creds.fail = true;
    r.headers = NULL;
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_non_null(strstr(err, "no credentials here"));
    assert_int_equal(ts_requests(f->srv), 0);
}

/* ------------------------------------------------------------------ retries */

static void test_throttled_then_ok_non_idempotent(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 429;
    t.headers = "x-amzn-ErrorType: TooManyRequestsException\r\n";
    t.body = "{\"message\":\"Rate exceeded\",\"Reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\"}";
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 2);
    assert_int_equal(f->creds.calls, 2); /* credentials fetched per attempt */
}

static void test_throttling_code_in_400(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 400;
    t.body = "{\"__type\":\"com.amazonaws#ThrottlingException\",\"message\":\"slow down\"}";
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("POST", "/x", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
}

static void test_throttled_exhausts_attempts(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 429;
    t.body = "{\"message\":\"Rate exceeded\"}";
    ts_set_default(f->srv, &t);
    lmcp_aws_request r = lambda_req("POST", "/x", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK); /* the last answer is returned */
    assert_int_equal(resp->status, 429);
    assert_int_equal(resp->attempts, 3);
    assert_true(aws_is_throttling(resp->status, resp->error_code));
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 3);
}

static void test_no_retry_flag(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 429;
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("GET", "/x", LMCP_AWS_NO_RETRY | LMCP_AWS_IDEMPOTENT);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 429);
    assert_int_equal(resp->attempts, 1);
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 1);

    /* not even a request that was never sent */
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    f->aws = make_client(f, url, 2, 20);
    char err[512];
    f->creds.calls = 0;
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(f->creds.calls, 1);
}

static void test_5xx_non_idempotent_not_retried(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 500;
    t.headers = "x-amzn-ErrorType: ServiceException\r\nx-amzn-RequestId: req-500\r\n";
    t.body = "{\"Type\":\"Service\",\"message\":\"internal\"}";
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 500);
    assert_int_equal(resp->attempts, 1);
    assert_string_equal(resp->error_code, "ServiceException");
    assert_string_equal(resp->request_id, "req-500");
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 1);
}

static void test_5xx_idempotent_retried(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 500;
    ts_push(f->srv, &t);
    t.status = 502;
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("GET", "/2015-03-31/functions/", LMCP_AWS_IDEMPOTENT);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 3);
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 3);
}

static void test_dropped_after_send(void **state)
{
    fixture *f = *state;
    ts_action d = {0};
    d.drop = true;
    ts_push(f->srv, &d);
    /* non-idempotent: the function may have run, so no retry */
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    aws_response *resp;
    char err[512];
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_null(resp);
    assert_int_equal(ts_requests(f->srv), 1);

    /* idempotent: retried (on a fresh client, so the drop hits a new connection) */
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://%s", f->host);
    f->aws = make_client(f, url, 2, 20);
    ts_reset(f->srv);
    ts_push(f->srv, &d);
    r = lambda_req("GET", "/2015-03-31/functions/", LMCP_AWS_IDEMPOTENT);
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 2);
}

/* The same on a kept-alive connection, where libcurl would otherwise re-send by itself. */
static void test_dropped_on_reused_connection(void **state)
{
    fixture *f = *state;
    lmcp_aws_request warm = lambda_req("GET", "/2015-03-31/functions/", LMCP_AWS_IDEMPOTENT);
    aws_response *resp;
    assert_int_equal(send_req(f, &warm, &resp), LMCP_OK);
    aws_response_free(resp);
    ts_action d = {0};
    d.drop = true;
    ts_push(f->srv, &d);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    char err[512];
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ts_requests(f->srv), 2); /* sent once, never again */

    ts_push(f->srv, &d);
    assert_int_equal(send_req(f, &warm, &resp), LMCP_OK); /* idempotent: our retry */
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    assert_int_equal(ts_requests(f->srv), 4);
}

static void test_never_sent_retried(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    f->aws = make_client(f, url, 2, 20);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    aws_response *resp;
    char err[512];
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_ERR);
    assert_non_null(strstr(err, "after 3 attempts"));
    assert_int_equal(f->creds.calls, 3);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    ts_action slow = {0};
    slow.delay_ms = 2000;
    ts_push(f->srv, &slow);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    r.timeout_ms = 200;
    aws_response *resp;
    char err[512];
    int64_t t0 = clock_mono_us();
    assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_TIMEOUT);
    assert_true((clock_mono_us() - t0) / 1000 < 1000);
    assert_int_equal(ts_requests(f->srv), 1);

    /* idempotent: the timed-out attempt is retried */
    ts_push(f->srv, &slow);
    r = lambda_req("GET", "/2015-03-31/functions/", LMCP_AWS_IDEMPOTENT);
    r.timeout_ms = 200;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
}

static void test_retry_after_honoured_and_capped(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://%s", f->host);
    f->aws = make_client(f, url, 1, 250); /* Retry-After: 30 is capped to 250 ms */
    ts_action t = {0};
    t.status = 503;
    t.headers = "Retry-After: 30\r\n";
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("GET", "/x", LMCP_AWS_IDEMPOTENT);
    aws_response *resp;
    int64_t t0 = clock_mono_us();
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    assert_true(ms >= 240 && ms < 1500);
}

static void test_cancel_during_backoff(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://%s", f->host);
    f->aws = make_client(f, url, 1, 10000);
    ts_action t = {0};
    t.status = 429;
    t.headers = "Retry-After: 10\r\n";
    ts_push(f->srv, &t);
    volatile int flag = 0;
    ts_canceller c;
    ts_cancel_later(&c, &flag, 100);
    lmcp_aws_request r = lambda_req("POST", "/x", 0);
    r.cancel = &flag;
    aws_response *resp;
    char err[512];
    int64_t t0 = clock_mono_us();
    int rc = aws_request(f->aws, &r, &resp, err, sizeof err);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    ts_cancel_join(&c);
    assert_int_equal(rc, LMCP_CANCELLED);
    assert_null(resp);
    assert_true(ms < 400);
    assert_int_equal(ts_requests(f->srv), 1);
}

static void test_cancel_in_flight(void **state)
{
    fixture *f = *state;
    ts_action slow = {0};
    slow.delay_ms = 5000;
    ts_push(f->srv, &slow);
    volatile int flag = 0;
    ts_canceller c;
    ts_cancel_later(&c, &flag, 100);
    lambda_invoke_opts o = {0};
    o.function = "f";
    o.payload = "{}";
    o.payload_len = 2;
    o.cancel = &flag;
    int reached = -1;
    o.reached = &reached;
    aws_response *resp;
    char err[512];
    int64_t t0 = clock_mono_us();
    int rc = lambda_invoke(f->aws, &o, &resp, err, sizeof err);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    ts_cancel_join(&c);
    assert_int_equal(rc, LMCP_CANCELLED);
    assert_true(ms < 300);
    /* the request went out before the cancel: Lambda may have started the function */
    assert_int_equal(ts_requests(f->srv), 1);
    assert_int_equal(reached, 1);

    /* cancelled before anything was sent: nothing reached Lambda */
    flag = 1;
    reached = -1;
    assert_int_equal(lambda_invoke(f->aws, &o, &resp, err, sizeof err), LMCP_CANCELLED);
    assert_int_equal(reached, 0);
    assert_int_equal(ts_requests(f->srv), 1);
}

/* ------------------------------------------------------------------ the call's deadline */

static lambda_invoke_opts invoke_opts(aws_fail *fail)
{
    lambda_invoke_opts o = {0};
    o.function = "f";
    o.payload = "{}";
    o.payload_len = 2;
    o.fail = fail;
    return o;
}

/* The reviewers' case: timeout 500 ms, two 429 with Retry-After: 1, then 200. Each attempt
 * used to get the full 500 ms and the 1 s waits ignored the call's time (2.4 s in all); the
 * wait that would pass the deadline is not started, and the call ends with LMCP_TIMEOUT. */
static void test_deadline_bounds_retries(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://%s", f->host);
    f->aws = make_client(f, url, 100, 20000); /* the default backoff settings */
    ts_action t = {0};
    t.status = 429;
    t.headers = "x-amzn-ErrorType: TooManyRequestsException\r\nRetry-After: 1\r\n";
    t.body = "{\"message\":\"Rate exceeded\"}";
    ts_push(f->srv, &t);
    ts_push(f->srv, &t);
    aws_fail fail = AWS_FAIL_NONE;
    int reached = -1;
    lambda_invoke_opts o = invoke_opts(&fail);
    o.reached = &reached;
    o.timeout_ms = 500;
    aws_response *resp = NULL;
    char err[512];
    int64_t t0 = clock_mono_us();
    o.deadline_us = t0 + 500 * 1000;
    int rc = lambda_invoke(f->aws, &o, &resp, err, sizeof err);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    assert_int_equal(rc, LMCP_TIMEOUT);
    assert_null(resp);
    assert_int_equal(fail, AWS_FAIL_DEADLINE);
    assert_int_equal(reached, 1); /* throttled once: Lambda was reached */
    assert_non_null(strstr(err, "the call's time ran out while retrying after throttling"));
    assert_true(ms < 500 + 250);
    assert_int_equal(ts_requests(f->srv), 1); /* the function never ran */

    /* a wait that fits is taken; the next, which would not, ends the call */
    ts_reset(f->srv);
    ts_push(f->srv, &t);
    ts_push(f->srv, &t);
    t0 = clock_mono_us();
    o.deadline_us = t0 + 1500 * 1000;
    o.timeout_ms = 5000;
    rc = lambda_invoke(f->aws, &o, &resp, err, sizeof err);
    ms = (clock_mono_us() - t0) / 1000;
    assert_int_equal(rc, LMCP_TIMEOUT);
    assert_int_equal(fail, AWS_FAIL_DEADLINE);
    assert_int_equal(ts_requests(f->srv), 2);
    assert_true(ms >= 1000 && ms < 1500 + 250);

    /* with the time for it, the same answers end in success */
    aws_client_free(f->aws);
    f->aws = make_client(f, url, 1, 200); /* Retry-After: 1 capped to 200 ms */
    ts_reset(f->srv);
    ts_push(f->srv, &t);
    ts_push(f->srv, &t);
    t0 = clock_mono_us();
    o.deadline_us = t0 + 2000 * 1000;
    rc = lambda_invoke(f->aws, &o, &resp, err, sizeof err);
    assert_int_equal(rc, LMCP_OK);
    assert_int_equal(fail, AWS_FAIL_NONE);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 3);
    aws_response_free(resp);
    assert_true((clock_mono_us() - t0) / 1000 < 2000);
}

/* Each attempt's timeout is capped at the time left. */
static void test_deadline_caps_each_attempt(void **state)
{
    fixture *f = *state;
    ts_action slow = {0};
    slow.delay_ms = 3000;
    ts_push(f->srv, &slow);
    aws_fail fail = AWS_FAIL_NONE;
    lambda_invoke_opts o = invoke_opts(&fail);
    o.timeout_ms = 5000;
    aws_response *resp = NULL;
    char err[512];
    int64_t t0 = clock_mono_us();
    o.deadline_us = t0 + 300 * 1000;
    assert_int_equal(lambda_invoke(f->aws, &o, &resp, err, sizeof err), LMCP_TIMEOUT);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    assert_int_equal(fail, AWS_FAIL_NETWORK); /* sent: the function may be running */
    assert_true(ms >= 280 && ms < 300 + 400);
    assert_int_equal(ts_requests(f->srv), 1);

    /* an idempotent request is not retried once the time is up */
    ts_reset(f->srv);
    ts_push(f->srv, &slow);
    lmcp_aws_request r = lambda_req("GET", "/2015-03-31/functions/", LMCP_AWS_IDEMPOTENT);
    aws_request_ctl ctl = {clock_mono_us() + 300 * 1000, AWS_FAIL_NONE, 0, false, 0};
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_TIMEOUT);
    assert_null(resp);
    assert_int_equal(ctl.fail, AWS_FAIL_NETWORK);
    assert_int_equal(ctl.reached, 1); /* sent, no answer in time */
    assert_int_equal(ts_requests(f->srv), 1);

    /* no time left at all: nothing is sent */
    ts_reset(f->srv);
    ctl.deadline_us = clock_mono_us() - 1000;
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_TIMEOUT);
    assert_int_equal(ctl.fail, AWS_FAIL_DEADLINE);
    assert_int_equal(ctl.reached, 0);
    assert_int_equal(ts_requests(f->srv), 0);

    /* without a deadline nothing changes: the request's own timeout applies */
    ts_reset(f->srv);
    ts_push(f->srv, &slow);
    r.timeout_ms = 200;
    ctl.deadline_us = 0;
    t0 = clock_mono_us();
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_OK); /* retried */
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    assert_true((clock_mono_us() - t0) / 1000 >= 200);
}

/* ------------------------------------------------------------------ why a request failed */

static void test_failure_kinds(void **state)
{
    fixture *f = *state;
    char err[512];
    aws_response *resp = NULL;
    aws_request_ctl ctl = {0, AWS_FAIL_NONE, 0, false, 0};
    lmcp_aws_request r = lambda_req("GET", "/x", LMCP_AWS_IDEMPOTENT);
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_OK);
    assert_int_equal(ctl.fail, AWS_FAIL_NONE);
    assert_int_equal(ctl.reached, 1);
    aws_response_free(resp);

    /* the credentials source fails (an expired SSO login, say): not a network error */
    f->creds.fail = true;
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_CREDENTIALS);
    assert_int_equal(ctl.reached, 0);
    assert_non_null(strstr(err, "no credentials here"));
    f->creds.fail = false;

    /* the source gets the request's deadline and cancel flag; a wait for credentials that
       reached the deadline is the deadline's failure, and nothing is sent (found in review: the
       deadline was looked at only after signing, so a call waited for a refresh without limit) */
    int cancel_flag = 0;
    r.cancel = &cancel_flag;
    ctl.deadline_us = clock_mono_us() + 60 * 1000000LL;
    f->creds.rc = LMCP_TIMEOUT;
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_TIMEOUT);
    assert_int_equal(ctl.fail, AWS_FAIL_DEADLINE);
    assert_int_equal(ctl.reached, 0);
    assert_true(f->creds.deadline_us == ctl.deadline_us);
    assert_ptr_equal(f->creds.cancel, &cancel_flag);
    assert_non_null(strstr(err, "AWS credentials: timed out after waiting"));
    f->creds.rc = LMCP_CANCELLED;
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_CANCELLED);
    assert_int_equal(ctl.fail, AWS_FAIL_CANCELLED);
    f->creds.rc = 0;
    ctl.deadline_us = 0;
    r.cancel = NULL;

    /* credentials the signer refuses */
    lmcp_credentials *bad = credentials_new();
    credentials_set(bad, "AKID WITH SPACE", "secret", NULL, 0);
    r.credentials = bad;
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_SIGNING);
    assert_non_null(strstr(err, "sigv4"));
    r.credentials = NULL;
    credentials_free(bad);

    /* a header with a line break: refused before sending, and not retried */
    const char *inj[] = {"X-Evil: a\r\nInjected: 1", NULL};
    r.headers = inj;
    f->creds.calls = 0;
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_REQUEST);
    assert_int_equal(f->creds.calls, 1); /* one attempt */
    r.headers = NULL;

    /* a bad region */
    r.region = "Not A Region";
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_REQUEST);
    r.region = NULL;
    assert_int_equal(ts_requests(f->srv), 1); /* only the first request went out */

    /* the network */
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    f->aws = make_client(f, url, 1, 2);
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_NETWORK);
    assert_int_equal(ctl.reached, 0); /* connection refused: nothing went out */
    assert_non_null(strstr(err, "after 3 attempts"));
}

/* Whether a failed request may have run (found in the fault review: a connection lost after an
 * Invoke went out was reported to the model as "cannot reach AWS Lambda", and a connect that used
 * up the call's time as "the function may still be running"). ctl.unanswered tells them apart. */
static void test_unanswered(void **state)
{
    fixture *f = *state;
    char err[512];
    aws_response *resp = NULL;
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);

    /* read, then closed: it may have run */
    ts_action d = {0};
    d.drop = true;
    ts_push(f->srv, &d);
    aws_request_ctl ctl = {0, AWS_FAIL_NONE, 0, false, 0};
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_NETWORK);
    assert_true(ctl.unanswered);

    /* refused from the start: never sent */
    aws_client_free(f->aws);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    f->aws = make_client(f, url, 1, 2);
    ctl = (aws_request_ctl){0, AWS_FAIL_NONE, 0, true, 0};
    assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ctl.fail, AWS_FAIL_NETWORK);
    assert_int_equal(ctl.reached, 0);
    assert_false(ctl.unanswered);

    /* a connect that never completes (the accept queue of a listen(0) socket is full, so the
       SYN is dropped) and uses up the call's time: a timeout, but nothing was sent */
    ts_blackhole bh;
    ts_blackhole_open(&bh);
    aws_client_free(f->aws);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", bh.port);
    f->aws = make_client(f, url, 1, 2);
    ctl = (aws_request_ctl){clock_mono_us() + 300 * 1000, AWS_FAIL_NONE, 0, true, 0};
    int rc = aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err);
    assert_int_equal(rc, LMCP_TIMEOUT);
    assert_null(resp);
    assert_int_equal(ctl.reached, 0);
    assert_false(ctl.unanswered);
    ts_blackhole_close(&bh);
}

static aws_response *mk(long status, const char *const *headers, const char *body);

static bool clean_line(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return utf8_valid(s, strlen(s));
}

/* Found in the fault review: an error's code and message were passed on as the answer had them:
 * an 8 MB message went whole into the CallToolResult, and an escape sequence or invalid UTF-8 in
 * x-amzn-ErrorType reached stderr raw. */
static void test_error_text_tidied(void **state)
{
    (void)state;
    size_t big = (size_t)8 << 20;
    char *body = xmalloc(big + 64);
    int n = snprintf(body, 64, "{\"message\":\"");
    memset(body + n, 'A', big);
    strcpy(body + n + big, "\"}");
    const char *h[] = {"x-amzn-ErrorType: Bad\x1b[31m\xff\xfe" "Code", "x-amzn-RequestId: rid\x1b]0;x\x07", NULL};
    aws_response *r = mk(500, h, body);
    free(body);
    aws_parse_error(r);
    assert_true(strlen(r->error_message) <= 2048 + 40);
    assert_non_null(strstr(r->error_message, "more bytes)"));
    assert_true(clean_line(r->error_code));
    assert_non_null(strstr(r->error_code, "Bad [31m\xEF\xBF\xBD\xEF\xBF\xBD" "Code"));
    assert_true(clean_line(r->request_id));
    aws_response_free(r);

    /* STS XML, and a short plain-text body quoted as it is */
    r = mk(403, NULL, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not\x1b[2J allowed\x01</Message></Error>"
                      "</ErrorResponse>");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "AccessDenied");
    assert_string_equal(r->error_message, "not [2J allowed");
    aws_response_free(r);
    const char *h2[] = {"x-amzn-ErrorType: \x1b\x07", NULL};
    r = mk(502, h2, "");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "HTTP502");
    aws_response_free(r);
    r = mk(400, NULL, "plain \xff text");
    aws_parse_error(r);
    assert_true(clean_line(r->error_message));
    assert_non_null(strstr(r->error_message, "plain \xEF\xBF\xBD text"));
    aws_response_free(r);
}

/* The cut comes after the redaction: a secret quoted across the cut leaves nothing of itself. */
static void test_error_cut_after_redaction(void **state)
{
    fixture *f = *state;
    for (size_t at = 2030; at <= 2050; at += 4) {
        buf b = BUF_INIT;
        buf_append_str(&b, "{\"message\":\"");
        for (size_t i = 0; i < at; i++)
            buf_append_char(&b, 'A');
        buf_append_str(&b, SECRET " and " TOKEN "\"}");
        ts_action a = {0};
        a.status = 400;
        a.headers = "x-amzn-ErrorType: Quoted\r\n";
        a.body = b.data;
        ts_push(f->srv, &a);
        buf_free(&b);
        lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
        aws_response *resp = NULL;
        char err[512];
        assert_int_equal(aws_request(f->aws, &r, &resp, err, sizeof err), LMCP_OK);
        assert_int_equal(resp->status, 400);
        assert_null(strstr(resp->error_message, "wJalr"));
        assert_null(strstr(resp->error_message, "IQoJb"));
        aws_response_free(resp);
    }
}

/* Bodies are wiped on free only where they can carry credentials. */
static void test_wipe_only_credential_bodies(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *service;
        bool wipe;
    } cases[] = {{"lambda", false}, {"tagging", false}, {"schemas", false},
                 {"sts", true},     {"portal.sso", true}, {"oidc", true}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lmcp_aws_request r = lambda_req("GET", "/x", LMCP_AWS_IDEMPOTENT);
        r.service = cases[i].service;
        aws_response *resp;
        assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
        assert_int_equal(resp->wipe, cases[i].wipe);
        aws_response_free(resp);
    }
    char url[128];
    snprintf(url, sizeof url, "http://%s/latest/api/token", f->host);
    lmcp_http_request hr = {"PUT", url, NULL, NULL, 0, 0, 0};
    aws_response *resp;
    char err[256];
    assert_int_equal(aws_http(f->aws, &hr, &resp, err, sizeof err), LMCP_OK);
    assert_true(resp->wipe);
    assert_null(resp->error_code);
    aws_response_free(resp);
}

/* ------------------------------------------------------------------ endpoints */

typedef struct ep_worker {
    fixture *f;
    int ok;
} ep_worker;

static void *ep_work(void *p)
{
    ep_worker *w = p;
    static const char *const services[] = {"lambda", "sts", "tagging", "schemas", "my-service"};
    for (int i = 0; i < 20; i++) {
        lmcp_aws_request r = lambda_req("GET", "/x", LMCP_AWS_IDEMPOTENT);
        r.service = services[i % 5];
        if (i % 4 == 3)
            r.region = "eu-west-1"; /* not the client's region: not cached */
        aws_response *resp = NULL;
        char err[256];
        if (aws_request(w->f->aws, &r, &resp, err, sizeof err) == LMCP_OK && resp->status == 200)
            w->ok++;
        aws_response_free(resp);
    }
    return NULL;
}

/* The parsed endpoint is cached per service for the client's region, from several threads. */
static void test_endpoint_cache_threads(void **state)
{
    fixture *f = *state;
    ep_worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (ep_worker){f, 0};
        pthread_create(&th[i], NULL, ep_work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 20);
    }
    assert_int_equal(ts_requests(f->srv), 80);
    for (int i = 0; i < 80; i++) {
        char *host = ts_request_header(f->srv, i, "Host");
        assert_string_equal(host, f->host);
        free(host);
    }
}

/* An endpoint URL that does not parse is quoted without its userinfo. */
static void test_bad_endpoint_url_redacted(void **state)
{
    fixture *f = *state;
    aws_client_free(f->aws);
    f->aws = make_client(f, "ftp://user:PWzzSECRET@example.com/base?token=TOKzz", 2, 20);
    lmcp_aws_request r = lambda_req("GET", "/x", 0);
    aws_request_ctl ctl = {0, AWS_FAIL_NONE, 0, false, 0};
    aws_response *resp;
    char err[512];
    for (int i = 0; i < 2; i++) { /* an unparseable endpoint is not cached */
        assert_int_equal(aws_request_ex(f->aws, &r, &ctl, &resp, err, sizeof err), LMCP_ERR);
        assert_int_equal(ctl.fail, AWS_FAIL_REQUEST);
        assert_null(strstr(err, "PWzzSECRET"));
        assert_null(strstr(err, "TOKzz"));
        assert_non_null(strstr(err, "\"ftp://example.com/base\""));
    }
    assert_int_equal(f->creds.calls, 0);
}

/* ------------------------------------------------------------------ clock skew */

static void http_date(time_t t, char out[64])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static time_t amz_date_to_time(const char *v)
{
    struct tm tm = {0};
    assert_int_equal(sscanf(v, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                            &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static void test_clock_skew_corrected(void **state)
{
    fixture *f = *state;
    char date[64], headers[256];
    http_date(time(NULL) + 3600, date);
    snprintf(headers, sizeof headers, "x-amzn-ErrorType: InvalidSignatureException\r\nDate: %s\r\n", date);
    ts_action t = {0};
    t.status = 403;
    t.headers = headers;
    t.body = "{\"message\":\"Signature expired: 20240101T000000Z is now earlier than 20240101T005500Z "
             "(20240101T010000Z - 5 min.)\"}";
    ts_push(f->srv, &t);
    /* not idempotent: the request was refused before anything ran, so the retry is safe */
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    char *d0 = ts_request_header(f->srv, 0, "X-Amz-Date");
    char *d1 = ts_request_header(f->srv, 1, "X-Amz-Date");
    long diff = (long)(amz_date_to_time(d1) - amz_date_to_time(d0));
    assert_true(diff > 3590 && diff < 3610);
    free(d0);
    free(d1);
    /* the correction sticks for later requests */
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->attempts, 1);
    aws_response_free(resp);
    char *d2 = ts_request_header(f->srv, 2, "X-Amz-Date");
    assert_true(labs((long)(amz_date_to_time(d2) - time(NULL)) - 3600) < 10);
    free(d2);

    /* retried once only */
    ts_push(f->srv, &t);
    ts_push(f->srv, &t);
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 403);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
}

static void test_request_time_too_skewed_xml(void **state)
{
    fixture *f = *state;
    char date[64], headers[256];
    http_date(time(NULL) - 1800, date);
    snprintf(headers, sizeof headers, "Content-Type: text/xml\r\nDate: %s\r\n", date);
    ts_action t = {0};
    t.status = 403;
    t.headers = headers;
    t.body = "<ErrorResponse><Error><Type>Sender</Type><Code>RequestTimeTooSkewed</Code>"
             "<Message>The difference between the request time and the current time is too large.</Message>"
             "</Error><RequestId>rid-xml</RequestId></ErrorResponse>";
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("GET", "/x", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->attempts, 2);
    aws_response_free(resp);
    char *d1 = ts_request_header(f->srv, 1, "X-Amz-Date");
    assert_true(labs((long)(amz_date_to_time(d1) - time(NULL)) + 1800) < 10);
    free(d1);
}

/* A Date header no server means (found by tests/fuzz/fuzz_aws_error): no correction, no retry.
 * Year 1000000 was taken as it is (every later request signed in year 9999); 2147483647 and
 * -2147483648 overflowed (undefined behaviour, caught by the sanitizer build). */
static void test_clock_skew_bogus_date(void **state)
{
    fixture *f = *state;
    static const char *const dates[] = {"Sun, 06 Nov 1000000 08:49:37 GMT", "Sun, 06 Nov 2147483647 08:49:37 GMT",
                                        "Sun, 06 Nov -2147483648 08:49:37 GMT", "Sun, 99 Nov 2024 99:49:37 GMT"};
    for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
        char headers[256];
        snprintf(headers, sizeof headers, "x-amzn-ErrorType: InvalidSignatureException\r\nDate: %s\r\n", dates[i]);
        ts_action t = {0};
        t.status = 403;
        t.headers = headers;
        t.body = "{\"message\":\"Signature expired: 20240101T000000Z is now earlier than 20240101T005500Z\"}";
        ts_push(f->srv, &t);
        lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
        aws_response *resp;
        assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
        assert_int_equal(resp->status, 403);
        assert_int_equal(resp->attempts, 1);
        aws_response_free(resp);
    }
}

/* ------------------------------------------------------------------ error parsing */

static aws_response *mk(long status, const char *const *headers, const char *body)
{
    aws_response *r = xcalloc(1, sizeof *r);
    r->status = status;
    hdrs_add_lines(&r->headers, headers);
    if (body)
        buf_append_str(&r->body, body);
    return r;
}

static void test_parse_rest_json(void **state)
{
    (void)state;
    const char *h[] = {"X-Amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awslambda/",
                       "x-amzn-RequestId: 7f5e-rid", NULL};
    aws_response *r = mk(404, h, "{\"Type\":\"User\",\"message\":\"Function not found: arn:aws:lambda:us-east-1:1:function:x\"}");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "ResourceNotFoundException");
    assert_string_equal(r->error_message, "Function not found: arn:aws:lambda:us-east-1:1:function:x");
    assert_string_equal(r->request_id, "7f5e-rid");
    aws_response_free(r);

    /* code from the body when the header is absent; "Message" capitalised */
    r = mk(400, NULL, "{\"code\":\"InvalidParameterValueException\",\"Message\":\"bad\"}");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "InvalidParameterValueException");
    assert_string_equal(r->error_message, "bad");
    aws_response_free(r);

    r = mk(400, NULL, "{\"Code\":\"X\",\"message\":\"m\"}");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "X");
    aws_response_free(r);

    /* a byte that is not UTF-8 (Latin-1 from a proxy) does not lose the code and message */
    r = mk(400, NULL, "{\"__type\":\"ValidationException\",\"message\":\"caf\xe9 is not a function\"}");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "ValidationException");
    assert_string_equal(r->error_message, "caf\xEF\xBF\xBD is not a function");
    aws_response_free(r);
}

static void test_parse_json11(void **state)
{
    (void)state;
    const char *h[] = {"x-amzn-requestid: j-rid", NULL};
    aws_response *r = mk(400, h, "{\"__type\":\"com.amazonaws.sts#ExpiredTokenException\",\"message\":\"The security token included in the request is expired\"}");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "ExpiredTokenException");
    assert_string_equal(r->error_message, "The security token included in the request is expired");
    assert_string_equal(r->request_id, "j-rid");
    aws_response_free(r);
}

static void test_parse_xml(void **state)
{
    (void)state;
    aws_response *r = mk(403, NULL,
                         "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                         "  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidClientTokenId</Code>\n"
                         "    <Message>The security token &amp; the key &lt;are&gt; invalid.</Message>\n  </Error>\n"
                         "  <RequestId>4d0ab31c-0000-4f65-b4a5-bd7c7a1e0f6e</RequestId>\n</ErrorResponse>\n");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "InvalidClientTokenId");
    assert_string_equal(r->error_message, "The security token & the key <are> invalid.");
    assert_string_equal(r->request_id, "4d0ab31c-0000-4f65-b4a5-bd7c7a1e0f6e");
    aws_response_free(r);
}

static void test_parse_unparseable(void **state)
{
    (void)state;
    aws_response *r = mk(502, NULL, "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad</h1></body></html>");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "HTTP502");
    assert_string_equal(r->error_message, "no error code or message in the answer");
    aws_response_free(r);

    r = mk(503, NULL, "Service Unavailable\n");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "HTTP503");
    assert_string_equal(r->error_message, "the answer was \"Service Unavailable\"");
    aws_response_free(r);

    r = mk(500, NULL, "{not json");
    aws_parse_error(r);
    assert_string_equal(r->error_code, "HTTP500");
    aws_response_free(r);

    r = mk(500, NULL, NULL);
    aws_parse_error(r);
    assert_string_equal(r->error_code, "HTTP500");
    aws_response_free(r);

    /* success: no error, but the request id */
    const char *h[] = {"x-amz-request-id: s3-rid", NULL};
    r = mk(200, h, "{\"message\":\"not an error\"}");
    aws_parse_error(r);
    assert_null(r->error_code);
    assert_null(r->error_message);
    assert_string_equal(r->request_id, "s3-rid");
    aws_parse_error(r); /* idempotent, no leak */
    aws_response_free(r);
}

static void test_html_502_through_the_stack(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 502;
    t.headers = "Content-Type: text/html\r\n";
    t.body = "<html><body>Bad Gateway</body></html>";
    ts_push(f->srv, &t);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", 0);
    aws_response *resp;
    assert_int_equal(send_req(f, &r, &resp), LMCP_OK);
    assert_int_equal(resp->status, 502);
    assert_string_equal(resp->error_code, "HTTP502");
    char *want = xasprintf("no error code or message in the answer from %s", f->host);
    assert_string_equal(resp->error_message, want);
    free(want);
    aws_response_free(resp);
}

static void test_throttling_codes(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(aws_is_throttling(400, yes[i]));
    assert_true(aws_is_throttling(429, NULL));
    assert_false(aws_is_throttling(400, "ResourceNotFoundException"));
    assert_false(aws_is_throttling(500, NULL));
}

static void test_retry_after(void **state)
{
    (void)state;
    static const struct {
        long status;
        const char *value;
        long cap, want;
    } cases[] = {
        {429, "1", 20000, 1000},   {503, " 2 ", 20000, 2000}, {429, "0", 20000, 0},
        {429, "30", 250, 250},     {429, "-1", 20000, -1},    {429, "1.5", 20000, -1},
        {429, "abc", 20000, -1},   {429, "", 20000, -1},      {429, NULL, 20000, -1},
        {400, "1", 20000, -1},     {500, "1", 20000, -1},
        {429, "99999999999999999999", 20000, 20000},
        {429, "Sun, 06 Nov 1994 08:49:37 GMT", 20000, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[128];
        snprintf(line, sizeof line, "Retry-After: %s", cases[i].value ? cases[i].value : "");
        const char *h[] = {line, NULL};
        aws_response *r = mk(cases[i].status, cases[i].value ? h : NULL, NULL);
        long got = aws_retry_after_ms(r, cases[i].cap);
        if (got != cases[i].want)
            fail_msg("Retry-After \"%s\" (HTTP %ld): %ld, want %ld", cases[i].value ? cases[i].value : "(none)",
                     cases[i].status, got, cases[i].want);
        aws_response_free(r);
    }
    assert_int_equal(aws_retry_after_ms(NULL, 1000), -1);
}

static void test_user_agent(void **state)
{
    (void)state;
    const char *ua = aws_user_agent();
    assert_true(str_starts_with(ua, "lambda-mcp/" PACKAGE_VERSION " ("));
    assert_non_null(strstr(ua, "; libcurl/"));
    assert_int_equal(ua[strlen(ua) - 1], ')');
    assert_ptr_equal(ua, aws_user_agent());
}

/* ------------------------------------------------------------------ plain HTTP */

static void test_plain_http(void **state)
{
    fixture *f = *state;
    ts_action t = {0};
    t.status = 404;
    t.body = "{\"code\":\"NotFound\",\"message\":\"nothing here\"}";
    ts_push(f->srv, &t);
    char url[128];
    snprintf(url, sizeof url, "http://%s/latest/meta-data/iam", f->host);
    const char *h[] = {"X-aws-ec2-metadata-token: tok", NULL};
    lmcp_http_request hr = {"GET", url, h, NULL, 0, 500, 1000};
    aws_response *resp;
    char err[256];
    int hrc = aws_http(f->aws, &hr, &resp, err, sizeof err);
    if (hrc != LMCP_OK)
        printf("aws_http: %s\n", err);
    assert_int_equal(hrc, LMCP_OK);
    assert_int_equal(resp->status, 404);
    assert_string_equal(resp->error_code, "NotFound");
    assert_int_equal(resp->attempts, 1);
    aws_response_free(resp);
    assert_null(ts_request_header(f->srv, 0, "Authorization"));
    char *v = ts_request_header(f->srv, 0, "X-aws-ec2-metadata-token");
    assert_string_equal(v, "tok");
    free(v);
    assert_int_equal(f->creds.calls, 0);

    /* never retried */
    ts_action d = {0};
    d.drop = true;
    ts_push(f->srv, &d);
    assert_int_equal(aws_http(f->aws, &hr, &resp, err, sizeof err), LMCP_ERR);
    assert_int_equal(ts_requests(f->srv), 2);
}

/* ------------------------------------------------------------------ Lambda calls */

static void test_lambda_calls(void **state)
{
    fixture *f = *state;
    ts_action page = {0};
    page.body = "{\"Functions\":[{\"FunctionName\":\"a\"}],\"NextMarker\":\"m2\"}";
    ts_push(f->srv, &page);
    json_object *j = NULL;
    char err[512];
    assert_int_equal(lambda_list_functions_page(f->aws, "m/a+b=", 50, &j, err, sizeof err), LMCP_OK);
    json_object *fns;
    assert_true(json_object_object_get_ex(j, "Functions", &fns));
    assert_int_equal(json_object_array_length(fns), 1);
    json_object_put(j);
    char *raw = ts_request(f->srv, 0);
    assert_true(str_starts_with(raw, "GET /2015-03-31/functions/?MaxItems=50&Marker=m%2Fa%2Bb%3D HTTP/1.1\r\n"));
    free(raw);
    verify_signature(f, 0, SECRET, TOKEN);

    assert_int_equal(lambda_list_functions_page(f->aws, NULL, 10, &j, err, sizeof err), LMCP_OK);
    json_object_put(j);
    raw = ts_request(f->srv, 1);
    assert_true(str_starts_with(raw, "GET /2015-03-31/functions/?MaxItems=10 HTTP/1.1\r\n"));
    free(raw);

    lambda_status st;
    const char *arn = "arn:aws:lambda:us-east-1:123456789012:function:my-fn";
    assert_int_equal(lambda_get_function(f->aws, arn, "prod", &j, &st, err, sizeof err), LMCP_OK);
    assert_int_equal(st.http, 200);
    assert_string_equal(st.code, "");
    json_object_put(j);
    raw = ts_request(f->srv, 2);
    assert_true(str_starts_with(raw, "GET /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn"
                                     "?Qualifier=prod HTTP/1.1\r\n"));
    free(raw);
    verify_signature(f, 2, SECRET, TOKEN);

    ts_action nf = {0};
    nf.status = 404;
    nf.headers = "x-amzn-ErrorType: ResourceNotFoundException\r\nx-amzn-RequestId: rid-404\r\n";
    nf.body = "{\"Type\":\"User\",\"message\":\"Function not found\"}";
    ts_push(f->srv, &nf);
    assert_int_equal(lambda_get_function(f->aws, "a/b", NULL, &j, &st, err, sizeof err), LMCP_ERR);
    assert_null(j);
    assert_int_equal(st.http, 404);
    assert_string_equal(st.code, "ResourceNotFoundException");
    assert_non_null(strstr(err, "ResourceNotFoundException"));
    assert_non_null(strstr(err, "rid-404"));
    raw = ts_request(f->srv, 3);
    assert_true(str_starts_with(raw, "GET /2015-03-31/functions/a%2Fb HTTP/1.1\r\n"));
    free(raw);


    ts_action tags = {0};
    tags.body = "{\"Tags\":{\"mcp\":\"yes\"}}";
    ts_push(f->srv, &tags);
    assert_int_equal(lambda_list_tags(f->aws, arn, &j, NULL, err, sizeof err), LMCP_OK);
    json_object_put(j);
    raw = ts_request(f->srv, 4);
    assert_true(str_starts_with(
        raw, "GET /2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn HTTP/1.1\r\n"));
    free(raw);
    verify_signature(f, 4, SECRET, TOKEN);

    /* a 200 that is not JSON */
    ts_action junk = {0};
    junk.body = "not json";
    ts_push(f->srv, &junk);
    assert_int_equal(lambda_list_tags(f->aws, arn, &j, NULL, err, sizeof err), LMCP_ERR);
    assert_null(j);

    ts_action inv = {0};
    inv.headers = "X-Amz-Executed-Version: $LATEST\r\nX-Amz-Log-Result: bG9n\r\n";
    inv.body = "{\"ok\":true}";
    ts_push(f->srv, &inv);
    lambda_invoke_opts o = {0};
    o.function = "my-fn";
    o.qualifier = "$LATEST";
    o.payload = "{\"x\":1}";
    o.payload_len = 7;
    o.log_tail = true;
    aws_response *resp;
    assert_int_equal(lambda_invoke(f->aws, &o, &resp, err, sizeof err), LMCP_OK);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->body.data, "{\"ok\":true}");
    assert_string_equal(hdrs_get(&resp->headers, "x-amz-log-result"), "bG9n");
    aws_response_free(resp);
    raw = ts_request(f->srv, 6);
    assert_true(str_starts_with(raw, "POST /2015-03-31/functions/my-fn/invocations?Qualifier=%24LATEST HTTP/1.1\r\n"));
    assert_non_null(strstr(raw, "\r\n\r\n{\"x\":1}"));
    free(raw);
    char *v = ts_request_header(f->srv, 6, "Content-Type");
    assert_string_equal(v, "application/json");
    free(v);
    v = ts_request_header(f->srv, 6, "X-Amz-Invocation-Type");
    assert_string_equal(v, "RequestResponse");
    free(v);
    v = ts_request_header(f->srv, 6, "X-Amz-Log-Type");
    assert_string_equal(v, "Tail");
    free(v);
    verify_signature(f, 6, SECRET, TOKEN);

    /* no log tail: no header */
    o.log_tail = false;
    o.qualifier = NULL;
    assert_int_equal(lambda_invoke(f->aws, &o, &resp, err, sizeof err), LMCP_OK);
    aws_response_free(resp);
    assert_null(ts_request_header(f->srv, 7, "X-Amz-Log-Type"));
    raw = ts_request(f->srv, 7);
    assert_true(str_starts_with(raw, "POST /2015-03-31/functions/my-fn/invocations HTTP/1.1\r\n"));
    free(raw);

    /* a message longer than err: cut, so that the status and the request id still show */
    ts_action longmsg = {0};
    longmsg.status = 400;
    longmsg.headers = "x-amzn-ErrorType: InvalidParameterValueException\r\nx-amzn-RequestId: rid-long\r\n";
    char body[1100];
    memcpy(body, "{\"message\":\"", 12);
    memset(body + 12, 'm', 1000);
    strcpy(body + 1012, "\"}");
    longmsg.body = body;
    ts_push(f->srv, &longmsg);
    char small[200];
    assert_int_equal(lambda_get_function(f->aws, "long", NULL, &j, NULL, small, sizeof small), LMCP_ERR);
    assert_true(str_starts_with(small, "GetFunction: InvalidParameterValueException: mmm"));
    const char *want = "mmm... (HTTP 400, request id rid-long)";
    assert_string_equal(small + strlen(small) - strlen(want), want);
    assert_int_equal(strlen(small), sizeof small - 1);
}

/* ------------------------------------------------------------------ secrets never logged */

static void test_secrets_never_logged(void **state)
{
    fixture *f = *state;
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_TRACE);

    aws_response *resp;
    char err[512];
    /* success, throttling retry, 5xx retries, skew correction, errors, a drop, a failure */
    ts_action t = {0};
    t.status = 429;
    ts_push(f->srv, &t);
    t.status = 500;
    ts_push(f->srv, &t);
    char date[64], headers[256];
    http_date(time(NULL) + 600, date);
    snprintf(headers, sizeof headers, "x-amzn-ErrorType: InvalidSignatureException\r\nDate: %s\r\n", date);
    ts_action skew = {0};
    skew.status = 403;
    skew.headers = headers;
    skew.body = "{\"message\":\"Signature expired: now earlier than\"}";
    ts_push(f->srv, &skew);
    lmcp_aws_request r = lambda_req("POST", "/2015-03-31/functions/f/invocations", LMCP_AWS_IDEMPOTENT);
    r.body = "{}";
    r.body_len = 2;
    int rc = aws_request(f->aws, &r, &resp, err, sizeof err);
    if (rc == LMCP_OK)
        aws_response_free(resp);
    ts_action d = {0};
    d.drop = true;
    ts_push(f->srv, &d);
    r.flags = 0;
    rc = aws_request(f->aws, &r, &resp, err, sizeof err);
    fprintf(stderr, "err: %s\n", err);
    lambda_invoke_opts o = {0};
    o.function = "f";
    o.log_tail = true;
    if (lambda_invoke(f->aws, &o, &resp, err, sizeof err) == LMCP_OK)
        aws_response_free(resp);

    /* a URL with userinfo (plain HTTP): neither traces nor messages show the password */
    {
        char url[128];
        snprintf(url, sizeof url, "http://user:PWzzSECRET@%s/creds?x=1", f->host);
        lmcp_http_request hr = {"GET", url, NULL, NULL, 0, 0, 0};
        ts_push(f->srv, &d);
        rc = aws_http(f->aws, &hr, &resp, err, sizeof err);
        assert_int_equal(rc, LMCP_ERR);
        assert_null(strstr(err, "PWzzSECRET"));
        fprintf(stderr, "err: %s\n", err);
    }

    aws_client *dead;
    {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
        dead = make_client(f, url, 1, 2);
    }
    rc = aws_request(dead, &r, &resp, err, sizeof err);
    fprintf(stderr, "err: %s\n", err);
    aws_client_free(dead);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    log_set_level(old);

    fseek(tmp, 0, SEEK_END);
    long n = ftell(tmp);
    rewind(tmp);
    char *log = xcalloc(1, (size_t)n + 1);
    assert_int_equal(fread(log, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    assert_true(n > 0);
    if (getenv("LMCP_TEST_SHOW_LOG"))
        fputs(log, stdout);
    /* there is something to inspect: retries at debug, transfers at trace, the skew at warn */
    assert_non_null(strstr(log, "retrying lambda POST"));
    assert_non_null(strstr(log, " trace "));
    assert_non_null(strstr(log, "clock differs"));
    assert_null(strstr(log, "PWzzSECRET"));
    assert_null(strstr(log, SECRET));
    assert_null(strstr(log, TOKEN));
    assert_null(strstr(log, "Signature="));
    assert_null(strstr(log, "Credential="));
    assert_null(strstr(log, "X-Amz-Security-Token"));
    assert_null(strstr(log, "Authorization"));
    free(log);
}

int main(void)
{
    if (http_global_init() != 0)
        return 1;
    /* the test server is on 127.0.0.1: never go through a proxy from the environment */
    static const char *const proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
        unsetenv(proxies[i]);
    log_set_level(LMCP_LOG_ERROR); /* the skew tests warn on purpose */
    unsetenv("AWS_MAX_ATTEMPTS");
    unsetenv("AWS_CA_BUNDLE");
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_signed_request_on_the_wire),
        T(test_no_token_no_header),
        T(test_request_credentials_and_unsigned),
        T(test_endpoint_with_base_path),
        T(test_bad_input),
        T(test_throttled_then_ok_non_idempotent),
        T(test_throttling_code_in_400),
        T(test_throttled_exhausts_attempts),
        T(test_no_retry_flag),
        T(test_5xx_non_idempotent_not_retried),
        T(test_5xx_idempotent_retried),
        T(test_dropped_after_send),
        T(test_dropped_on_reused_connection),
        T(test_never_sent_retried),
        T(test_timeout),
        T(test_retry_after_honoured_and_capped),
        T(test_cancel_during_backoff),
        T(test_cancel_in_flight),
        T(test_deadline_bounds_retries),
        T(test_deadline_caps_each_attempt),
        T(test_failure_kinds),
        T(test_unanswered),
        T(test_error_cut_after_redaction),
        cmocka_unit_test(test_error_text_tidied),
        T(test_wipe_only_credential_bodies),
        T(test_endpoint_cache_threads),
        T(test_bad_endpoint_url_redacted),
        T(test_clock_skew_corrected),
        T(test_request_time_too_skewed_xml),
        T(test_clock_skew_bogus_date),
        cmocka_unit_test(test_parse_rest_json),
        cmocka_unit_test(test_parse_json11),
        cmocka_unit_test(test_parse_xml),
        cmocka_unit_test(test_parse_unparseable),
        T(test_html_502_through_the_stack),
        cmocka_unit_test(test_throttling_codes),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_user_agent),
        T(test_plain_http),
        T(test_lambda_calls),
        T(test_secrets_never_logged),
    };
#undef T
    int rc = cmocka_run_group_tests_name("aws", tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
