/* HTTP pool: keep-alive reuse, failure classification, timeouts, cancellation, size limits. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aws/http.h"
#include "http_test_server.h"
#include "util/clock.h"
#include "util/hdrs.h"
#include "util/str.h"

typedef struct fixture {
    ts_server *srv;
    http_client *http;
    char url[128];
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    f->srv = ts_start();
    http_client_opts o = {0};
    o.user_agent = "lambda-mcp-test/1";
    o.connect_timeout_ms = 2000;
    o.timeout_ms = 5000;
    f->http = http_client_new(&o);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", ts_port(f->srv));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    http_client_free(f->http);
    ts_stop(f->srv);
    free(f);
    return 0;
}

static http_rc get(fixture *f, const char *path, http_response *resp, long timeout_ms, const volatile int *cancel,
                   size_t max)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->url, path);
    http_request r = {0};
    r.method = "GET";
    r.url = url;
    r.timeout_ms = timeout_ms;
    r.cancel = cancel;
    r.max_response = max;
    char err[256];
    return http_perform(f->http, &r, resp, err, sizeof err);
}

static void test_keepalive_reuse(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10; i++) {
        http_response resp;
        assert_int_equal(get(f, "/ping", &resp, 0, NULL, 0), HTTP_OK);
        assert_int_equal(resp.status, 200);
        assert_string_equal(resp.body.data, "{}");
        assert_string_equal(hdrs_get(&resp.headers, "content-type"), "application/json");
        http_response_free(&resp);
    }
    assert_int_equal(ts_requests(f->srv), 10);
    assert_int_equal(ts_connections(f->srv), 1);
}

typedef struct thread_arg {
    fixture *f;
    int ok;
} thread_arg;

static void *worker(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < 10; i++) {
        http_response resp;
        if (get(a->f, "/t", &resp, 0, NULL, 0) == HTTP_OK && resp.status == 200)
            a->ok++;
        http_response_free(&resp);
    }
    return NULL;
}

static void test_reuse_across_threads(void **state)
{
    fixture *f = *state;
    pthread_t t[4];
    thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thread_arg){f, 0};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 10);
    }
    assert_int_equal(ts_requests(f->srv), 40);
    assert_true(ts_connections(f->srv) <= 4);
    /* and the pooled connections serve the next sequential requests */
    int before = ts_connections(f->srv);
    for (int i = 0; i < 5; i++) {
        http_response resp;
        assert_int_equal(get(f, "/after", &resp, 0, NULL, 0), HTTP_OK);
        http_response_free(&resp);
    }
    assert_int_equal(ts_connections(f->srv), before);
}

static void test_server_closes(void **state)
{
    fixture *f = *state;
    ts_action close_it = {0};
    close_it.close_after = true;
    close_it.body = "bye";
    ts_push(f->srv, &close_it);
    http_response resp;
    assert_int_equal(get(f, "/1", &resp, 0, NULL, 0), HTTP_OK);
    assert_string_equal(resp.body.data, "bye");
    http_response_free(&resp);
    assert_int_equal(get(f, "/2", &resp, 0, NULL, 0), HTTP_OK);
    http_response_free(&resp);
    assert_int_equal(ts_connections(f->srv), 2);
}

static void test_not_sent(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ts_closed_port());
    http_request r = {0};
    r.method = "POST";
    r.url = url;
    r.body = "{}";
    r.body_len = 2;
    http_response resp;
    char err[256];
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_E_NOT_SENT);
    assert_true(strlen(err) > 0);
    assert_null(resp.body.data);
    /* (name resolution failures are classified the same way; not tested: no DNS traffic) */
}

/* A listener whose accept queue is full drops new SYNs: the connect phase times out. */
static void test_connect_timeout_not_sent(void **state)
{
    fixture *f = *state;
    ts_blackhole bh;
    ts_blackhole_open(&bh);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", bh.port);
    http_request r = {0};
    r.method = "GET";
    r.url = url;
    r.connect_timeout_ms = 300;
    r.timeout_ms = 2000;
    http_response resp;
    char err[256];
    int64_t t0 = clock_mono_us();
    http_rc rc = http_perform(f->http, &r, &resp, err, sizeof err);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    ts_blackhole_close(&bh);
    assert_int_equal(rc, HTTP_E_NOT_SENT);
    assert_non_null(strstr(err, "connect timeout"));
    assert_true(ms < 1500);
}

static void test_total_timeout(void **state)
{
    fixture *f = *state;
    ts_action slow = {0};
    slow.delay_ms = 3000;
    ts_push(f->srv, &slow);
    http_response resp;
    int64_t t0 = clock_mono_us();
    assert_int_equal(get(f, "/slow", &resp, 300, NULL, 0), HTTP_E_TIMEOUT);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    assert_true(ms >= 250 && ms < 1500);
}

static void test_cancel(void **state)
{
    fixture *f = *state;
    ts_action slow = {0};
    slow.delay_ms = 5000;
    ts_push(f->srv, &slow);
    volatile int flag = 0;
    ts_canceller c;
    ts_cancel_later(&c, &flag, 150);
    http_response resp;
    int64_t t0 = clock_mono_us();
    http_rc rc = get(f, "/slow", &resp, 10000, &flag, 0);
    int64_t ms = (clock_mono_us() - t0) / 1000;
    ts_cancel_join(&c);
    assert_int_equal(rc, HTTP_E_CANCELLED);
    /* aborted within ~100 ms of the flag */
    assert_true(ms >= 140 && ms < 150 + 150);
    /* already cancelled: nothing is sent */
    int before = ts_requests(f->srv);
    assert_int_equal(get(f, "/x", &resp, 0, &flag, 0), HTTP_E_CANCELLED);
    assert_int_equal(ts_requests(f->srv), before);
}

static void test_too_large(void **state)
{
    fixture *f = *state;
    ts_action big = {0};
    big.body_size = 5000;
    ts_push(f->srv, &big);
    http_response resp;
    assert_int_equal(get(f, "/big", &resp, 0, NULL, 1000), HTTP_E_TOO_LARGE);
    /* without Content-Length: caught while the body arrives */
    big.no_length = true;
    ts_push(f->srv, &big);
    assert_int_equal(get(f, "/big2", &resp, 0, NULL, 1000), HTTP_E_TOO_LARGE);
    /* exactly at the limit is fine */
    big.no_length = false;
    big.body_size = 1000;
    ts_push(f->srv, &big);
    assert_int_equal(get(f, "/ok", &resp, 0, NULL, 1000), HTTP_OK);
    assert_int_equal(resp.body.len, 1000);
    http_response_free(&resp);
}

static void test_request_shape(void **state)
{
    fixture *f = *state;
    hdrs h = HDRS_INIT;
    hdrs_add(&h, "X-Custom", "a b");
    hdrs_add(&h, "X-Empty", "");
    char url[256];
    snprintf(url, sizeof url, "%s/post?q=1", f->url);
    const char body[] = "{\"k\":1}";
    http_request r = {0};
    r.method = "POST";
    r.url = url;
    r.headers = &h;
    r.body = body;
    r.body_len = sizeof body - 1;
    ts_action interim = {0};
    interim.interim_100 = true;
    interim.status = 201;
    interim.headers = "X-Final: 1\r\nX-Folded: a\r\n  b\r\n";
    interim.body = "done";
    ts_push(f->srv, &interim);
    http_response resp;
    char err[256];
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_OK);
    assert_int_equal(resp.status, 201);
    assert_string_equal(resp.body.data, "done");
    /* headers of the final response only */
    assert_null(hdrs_get(&resp.headers, "X-Interim"));
    assert_string_equal(hdrs_get(&resp.headers, "X-Final"), "1");
    assert_string_equal(hdrs_get(&resp.headers, "X-Folded"), "a b");
    http_response_free(&resp);
    hdrs_free(&h);

    char *raw = ts_request(f->srv, 0);
    assert_true(str_starts_with(raw, "POST /post?q=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(raw, "\r\n\r\n{\"k\":1}"));
    free(raw);
    char *v = ts_request_header(f->srv, 0, "X-Custom");
    assert_string_equal(v, "a b");
    free(v);
    v = ts_request_header(f->srv, 0, "X-Empty");
    assert_string_equal(v, "");
    free(v);
    v = ts_request_header(f->srv, 0, "User-Agent");
    assert_string_equal(v, "lambda-mcp-test/1");
    free(v);
    v = ts_request_header(f->srv, 0, "Content-Length");
    assert_string_equal(v, "7");
    free(v);
    assert_null(ts_request_header(f->srv, 0, "Expect"));
    assert_null(ts_request_header(f->srv, 0, "Content-Type")); /* none given, none invented */
}

/* libcurl adds "Expect: 100-continue" to big bodies unless told not to */
static void test_large_post_no_expect(void **state)
{
    fixture *f = *state;
    size_t n = (size_t)2 << 20;
    char *body = xmalloc(n);
    memset(body, 'a', n);
    char url[256];
    snprintf(url, sizeof url, "%s/big", f->url);
    http_request r = {0};
    r.method = "PUT";
    r.url = url;
    r.body = body;
    r.body_len = n;
    http_response resp;
    char err[256];
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_OK);
    http_response_free(&resp);
    free(body);
    assert_null(ts_request_header(f->srv, 0, "Expect"));
    char *cl = ts_request_header(f->srv, 0, "Content-Length");
    assert_string_equal(cl, "2097152");
    free(cl);
    char *raw = ts_request(f->srv, 0);
    assert_true(str_starts_with(raw, "PUT /big HTTP/1.1\r\n"));
    assert_int_equal(strlen(strstr(raw, "\r\n\r\n") + 4), n);
    free(raw);
}

static void test_no_redirects(void **state)
{
    fixture *f = *state;
    ts_action redir = {0};
    redir.status = 301;
    redir.headers = "Location: /elsewhere\r\n";
    ts_push(f->srv, &redir);
    http_response resp;
    assert_int_equal(get(f, "/moved", &resp, 0, NULL, 0), HTTP_OK);
    assert_int_equal(resp.status, 301);
    http_response_free(&resp);
    assert_int_equal(ts_requests(f->srv), 1);
}

static void test_dropped_is_transport(void **state)
{
    fixture *f = *state;
    ts_action drop = {0};
    drop.drop = true;
    ts_push(f->srv, &drop);
    http_response resp;
    assert_int_equal(get(f, "/drop", &resp, 0, NULL, 0), HTTP_E_TRANSPORT);
    assert_int_equal(ts_requests(f->srv), 1);
}

/* A warm-up GET leaves a keep-alive connection; then a POST to /invoke on it, which the server
 * reads and drops without an answer (and, with unlisten, then refuses new connections). */
static http_rc post_dropped(fixture *f, bool unlisten, http_response *resp, char *err, size_t errlen)
{
    assert_int_equal(get(f, "/warm", resp, 0, NULL, 0), HTTP_OK);
    http_response_free(resp);
    ts_action drop = {0};
    drop.drop = true;
    drop.unlisten = unlisten;
    ts_push(f->srv, &drop);
    char url[256];
    snprintf(url, sizeof url, "%s/invoke", f->url);
    http_request r = {0};
    r.method = "POST";
    r.url = url;
    r.body = "{}";
    r.body_len = 2;
    return http_perform(f->http, &r, resp, err, errlen);
}

/* libcurl re-sends a request by itself when a reused connection dies before any answer; we
 * refuse that (the AWS layer decides what may be sent twice). */
static void test_no_silent_resend_on_reused_connection(void **state)
{
    fixture *f = *state;
    http_response resp;
    char err[256];
    assert_int_equal(post_dropped(f, false, &resp, err, sizeof err), HTTP_E_TRANSPORT);
    assert_non_null(strstr(err, "without a response"));
    assert_int_equal(ts_requests(f->srv), 2); /* the warm-up and the dropped one: no re-send */
    /* the client is still usable */
    assert_int_equal(get(f, "/again", &resp, 0, NULL, 0), HTTP_OK);
    http_response_free(&resp);
    assert_int_equal(ts_requests(f->srv), 3);
}

/* The same, when libcurl's own second attempt cannot even connect: the first one went out on
 * the reused connection, so the request may have arrived. It was reported as never sent
 * (HTTP_E_NOT_SENT, "couldn't connect"), and the AWS layer re-sent a Lambda Invoke. */
static void test_resend_blocked_even_when_reconnect_fails(void **state)
{
    fixture *f = *state;
    http_response resp;
    char err[256];
    http_rc rc = post_dropped(f, true, &resp, err, sizeof err);
    if (rc != HTTP_E_TRANSPORT)
        fail_msg("%s: %s", http_rc_name(rc), err);
    assert_non_null(strstr(err, "without a response"));
    assert_int_equal(ts_requests(f->srv), 2);
}

/* Refused before anything goes out (a header that would inject a line, no URL): a local
 * failure, not a transport error the AWS layer could retry; the pooled handle stays usable. */
static void test_refused_locally(void **state)
{
    fixture *f = *state;
    char url[256];
    snprintf(url, sizeof url, "%s/x", f->url);
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"X-Evil", "a\r\nInjected: 1"}, {"X-Evil\r\nInjected", "1"}, {"X-Evil", "a\nb"}, {"A:B", "c"}, {"", "v"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hdrs h = HDRS_INIT;
        hdrs_add(&h, "Accept", "*/*");
        hdrs_add(&h, bad[i].name, bad[i].value);
        http_request r = {0};
        r.method = "GET";
        r.url = url;
        r.headers = &h;
        http_response resp;
        char err[256];
        assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_E_LOCAL);
        assert_non_null(strstr(err, "invalid header"));
        assert_null(strstr(err, "Injected"));
        assert_int_equal(resp.status, 0);
        hdrs_free(&h);
    }
    http_request none = {0};
    http_response resp;
    char err[256];
    assert_int_equal(http_perform(f->http, &none, &resp, err, sizeof err), HTTP_E_LOCAL);
    assert_int_equal(ts_requests(f->srv), 0);
    assert_int_equal(ts_connections(f->srv), 0);
    /* the handle went back to the pool reset: the next request is clean */
    assert_int_equal(get(f, "/ok", &resp, 0, NULL, 0), HTTP_OK);
    http_response_free(&resp);
    char *raw = ts_request(f->srv, 0);
    assert_null(strstr(raw, "X-Evil"));
    assert_null(strstr(raw, "Injected"));
    free(raw);
}

/* The announced Content-Length alone is enough to refuse a too large answer (libcurl's
 * CURLOPT_MAXFILESIZE_LARGE): the body is not read. */
static void test_too_large_by_content_length(void **state)
{
    fixture *f = *state;
    ts_action big = {0};
    big.body_size = 200000;
    ts_push(f->srv, &big);
    http_response resp;
    char url[256];
    snprintf(url, sizeof url, "%s/big", f->url);
    http_request r = {0};
    r.method = "GET";
    r.url = url;
    r.max_response = 100;
    char err[256];
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_E_TOO_LARGE);
    assert_non_null(strstr(err, "exceeds 100 bytes"));
    assert_null(resp.body.data);
    assert_int_equal(resp.status, 200); /* the answer had begun: its status is kept */

    big.status = 502;
    ts_push(f->srv, &big);
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_E_TOO_LARGE);
    assert_int_equal(resp.status, 502);
}

/* The header block has limits of its own, told as such (not as a body size, nor as libcurl's
 * "Out of memory" for a line it will not take): more than 1000 lines, a line over 100 kB. */
static void test_header_limits(void **state)
{
    fixture *f = *state;
    char url[256];
    snprintf(url, sizeof url, "%s/h", f->url);
    http_request r = {0};
    r.method = "GET";
    r.url = url;
    char err[256];
    http_response resp;

    buf many = BUF_INIT;
    for (int i = 0; i < 1500; i++)
        buf_appendf(&many, "X-Pad-%d: v\r\n", i);
    ts_action a = {0};
    a.headers = many.data;
    ts_push(f->srv, &a);
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_E_TOO_LARGE);
    assert_non_null(strstr(err, "the response has more than 1000 header lines"));
    buf_free(&many);

    buf line = BUF_INIT;
    buf_append_str(&line, "X-Pad: ");
    for (int i = 0; i < 200 * 1024; i++)
        buf_append_char(&line, 'p');
    buf_append_str(&line, "\r\n");
    ts_action b = {0};
    b.headers = line.data;
    ts_push(f->srv, &b);
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_E_TOO_LARGE);
    assert_non_null(strstr(err, "a response header line is longer than"));
    assert_null(strstr(err, "memory"));
    buf_free(&line);

    /* and the client still works */
    assert_int_equal(http_perform(f->http, &r, &resp, err, sizeof err), HTTP_OK);
    assert_int_equal(resp.status, 200);
    http_response_free(&resp);
}

static void test_rc_names(void **state)
{
    (void)state;
    assert_string_equal(http_rc_name(HTTP_OK), "ok");
    assert_string_equal(http_rc_name(HTTP_E_NOT_SENT), "not sent");
    assert_string_equal(http_rc_name(HTTP_E_TOO_LARGE), "response too large");
    assert_string_equal(http_rc_name(HTTP_E_LOCAL), "not sent (local error)");
    assert_string_equal(http_rc_name(HTTP_E_TLS_TRUST), "not sent (TLS certificate)");
}

int main(void)
{
    if (http_global_init() != 0)
        return 1;
    /* the test server is on 127.0.0.1: never go through a proxy from the environment */
    static const char *const proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
        unsetenv(proxies[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse_across_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_post_no_expect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_is_transport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_silent_resend_on_reused_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_blocked_even_when_reconnect_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_locally, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_by_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_limits, setup, teardown),
        cmocka_unit_test(test_rc_names),
    };
    int rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
