/* HTTP over libcurl.
 *
 * Pool: every pooled entry is an easy handle paired with its own multi handle. The multi owns
 * the connection cache, so an entry taken from the pool (last in, first out) finds the
 * keep-alive connection the previous request on it left open, whichever thread made that
 * request. DNS and TLS sessions are shared by every entry through a share object, so a new
 * connection to a known host resumes the TLS session. (Connections themselves are not put
 * in the share: libcurl does not support sharing them between concurrent threads.)
 *
 * Driving the transfer with curl_multi_poll() in 50 ms slices lets a cancel flag stop it
 * promptly even while nothing arrives; the XFERINFO callback checks the flag as well.
 *
 * No silent re-sends: when a reused connection dies before any byte of the answer arrives,
 * libcurl sends the request again on a fresh connection by itself. That is wrong for a
 * request that must not run twice (Lambda Invoke), and it is the AWS layer's decision anyway,
 * so the PREREQ callback (called right before a request goes out) refuses a second send
 * within one transfer and the transfer ends as HTTP_E_TRANSPORT. Idle connections are
 * dropped after IDLE_MAX_AGE_S, under the usual 60 s idle timeout of AWS front ends, which
 * keeps that race rare. */
#include "config.h"
#include "aws/http.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define DEFAULT_MAX_RESPONSE ((size_t)64 << 20)
#define DEFAULT_MAX_IDLE 16
#define MAX_HEADER_LINES 1000 /* of one response */
#define POLL_SLICE_MS 50
#define IDLE_MAX_AGE_S 50L
#define HAVE_PREREQ (LIBCURL_VERSION_NUM >= 0x075000) /* CURLOPT_PREREQFUNCTION: 7.80.0 */

typedef struct pooled {
    CURL *easy;
    CURLM *multi;
} pooled;

struct http_client {
    char *ca_bundle;
    char *user_agent;
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response;
    size_t max_idle;

    pthread_mutex_t mu; /* guards idle/n_idle */
    pooled *idle;
    size_t n_idle;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

/* ------------------------------------------------------------------ global */

int http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void) { curl_global_cleanup(); }

const char *http_rc_name(http_rc rc)
{
    switch (rc) {
    case HTTP_OK:
        return "ok";
    case HTTP_E_NOT_SENT:
        return "not sent";
    case HTTP_E_TRANSPORT:
        return "transport error";
    case HTTP_E_TIMEOUT:
        return "timeout";
    case HTTP_E_CANCELLED:
        return "cancelled";
    case HTTP_E_TOO_LARGE:
        return "response too large";
    case HTTP_E_LOCAL:
        return "not sent (local error)";
    case HTTP_E_TLS_TRUST:
        return "not sent (TLS certificate)";
    }
    return "?";
}

/* ------------------------------------------------------------------ share locking */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)h;
    (void)access;
    http_client *c = userptr;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
    (void)h;
    http_client *c = userptr;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_mu[data]);
}

/* ------------------------------------------------------------------ client */

http_client *http_client_new(const http_client_opts *opts)
{
    http_client *c = xcalloc(1, sizeof *c);
    c->ca_bundle = xstrdup(opts && opts->ca_bundle && *opts->ca_bundle ? opts->ca_bundle : NULL);
    c->user_agent = xstrdup(opts && opts->user_agent ? opts->user_agent : "lambda-mcp");
    c->connect_timeout_ms =
        opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : HTTP_FALLBACK_CONNECT_TIMEOUT_MS;
    c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : HTTP_FALLBACK_TIMEOUT_MS;
    c->max_response = opts && opts->max_response ? opts->max_response : DEFAULT_MAX_RESPONSE;
    c->max_idle = opts && opts->max_idle_handles ? opts->max_idle_handles : DEFAULT_MAX_IDLE;
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    c->idle = xcalloc(c->max_idle, sizeof *c->idle);

    c->share = curl_share_init();
    if (!c->share ||
        curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        LOG_WARN("http", "libcurl share object unavailable: DNS and TLS sessions are not shared");
        if (c->share)
            curl_share_cleanup(c->share);
        c->share = NULL;
    }
    return c;
}

static void pooled_destroy(pooled *p)
{
    if (p->multi)
        curl_multi_cleanup(p->multi);
    if (p->easy)
        curl_easy_cleanup(p->easy);
    p->multi = NULL;
    p->easy = NULL;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_idle; i++)
        pooled_destroy(&c->idle[i]);
    free(c->idle);
    if (c->share)
        curl_share_cleanup(c->share);
    pthread_mutex_destroy(&c->mu);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    free(c->ca_bundle);
    free(c->user_agent);
    free(c);
}

static int pool_get(http_client *c, pooled *out)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_idle) {
        *out = c->idle[--c->n_idle];
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    pthread_mutex_unlock(&c->mu);
    out->easy = curl_easy_init();
    out->multi = curl_multi_init();
    if (!out->easy || !out->multi) {
        pooled_destroy(out);
        return -1;
    }
    return 0;
}

static void pool_put(http_client *c, pooled *p)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_idle < c->max_idle) {
        c->idle[c->n_idle++] = *p;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    pthread_mutex_unlock(&c->mu);
    pooled_destroy(p);
}

/* ------------------------------------------------------------------ one transfer */

typedef struct xfer {
    http_response *resp;
    size_t max;
    const volatile int *cancel;
    bool cancelled;
    bool too_large;
    bool too_many_headers; /* more than MAX_HEADER_LINES (too_large is set too) */
    bool in_headers;       /* a status line came, the end of its headers not yet */
    int sends;          /* requests started in this transfer */
    bool resend_blocked;
} xfer;

static bool blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nitems;
    const char *line = data;
    size_t len = n;
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;

    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, or a redirect): its headers only */
        hdrs_free(&x->resp->headers);
        buf_reset(&x->resp->body);
        x->in_headers = true;
        return n;
    }
    if (len == 0) { /* end of headers (CURLOPT_MAXFILESIZE_LARGE refuses a too big Content-Length) */
        x->in_headers = false;
        return n;
    }
    hdrs *h = &x->resp->headers;
    if (blank(line[0])) {
        /* obsolete line folding: continue the previous value */
        if (h->n) {
            size_t s = 0;
            while (s < len && blank(line[s]))
                s++;
            char *old = h->values[h->n - 1];
            size_t ol = strlen(old);
            char *nv = xmalloc(ol + 1 + (len - s) + 1);
            memcpy(nv, old, ol);
            nv[ol] = ' ';
            memcpy(nv + ol + 1, line + s, len - s);
            nv[ol + 1 + len - s] = '\0';
            free(old);
            h->values[h->n - 1] = nv;
        }
        return n;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return n; /* not a header line; ignore */
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && blank(*v))
        v++, vlen--;
    while (vlen && blank(v[vlen - 1]))
        vlen--;
    hdrs_addn(h, line, nlen, v, vlen);
    if (h->n > MAX_HEADER_LINES) {
        x->too_large = true;
        x->too_many_headers = true;
        return 0;
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;
    if (n > x->max || x->resp->body.len > x->max - n) {
        x->too_large = true;
        return 0;
    }
    if (buf_append(&x->resp->body, data, n) < 0)
        return 0;
    return n;
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    xfer *x = clientp;
    if (x->cancel && __atomic_load_n(x->cancel, __ATOMIC_SEQ_CST)) {
        x->cancelled = true;
        return 1;
    }
    return 0;
}

#if HAVE_PREREQ
static int on_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    xfer *x = clientp;
    if (++x->sends > 1) {
        x->resend_blocked = true;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}
#endif

/* Wipe header lines (they can carry Authorization and tokens) and free the list. */
static void slist_free_wiped(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        if (p->data)
            secure_zero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static bool slist_add(struct curl_slist **l, const char *line)
{
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return false;
    *l = n;
    return true;
}

static const char *method_or_get(const http_request *req)
{
    return req->method && *req->method ? req->method : "GET";
}

static int setup(http_client *c, CURL *e, const http_request *req, xfer *x, struct curl_slist **hl,
                 char *errbuf, char *err, size_t errlen)
{
    const char *method = method_or_get(req);
    bool has_ct = false;
    if (req->headers) {
        for (size_t i = 0; i < req->headers->n; i++) {
            const char *name = req->headers->names[i], *value = req->headers->values[i];
            if (!*name || !hdrs_value_ok(name) || !hdrs_value_ok(value) || strchr(name, ':')) {
                snprintf(err, errlen, "invalid header %s%s", hdrs_value_ok(name) ? name : "(name with a line break)",
                         hdrs_value_ok(value) ? "" : " (a line break in the value)");
                return -1;
            }
            if (str_ieq(name, "Content-Type"))
                has_ct = true;
            /* "Name: value", or "Name;" (libcurl's way to send an empty value) */
            size_t nl = strlen(name), vl = strlen(value);
            char *line = xmalloc(nl + vl + 3);
            memcpy(line, name, nl);
            if (vl) {
                memcpy(line + nl, ": ", 2);
                memcpy(line + nl + 2, value, vl + 1);
            } else {
                memcpy(line + nl, ";", 2);
            }
            bool ok = slist_add(hl, line);
            secure_zero(line, nl + vl + 2);
            free(line);
            if (!ok) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
    }
    /* no "Expect: 100-continue" round trip, and no default form Content-Type from curl */
    if (!slist_add(hl, "Expect:") || (!has_ct && !slist_add(hl, "Content-Type:"))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : c->connect_timeout_ms;
    long total_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    if (connect_ms > total_ms)
        connect_ms = total_ms;

    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TIMEOUT_MS, total_ms);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_MAXAGE_CONN, IDLE_MAX_AGE_S);
#if HAVE_PREREQ
    SET(CURLOPT_PREREQFUNCTION, on_prereq);
    SET(CURLOPT_PREREQDATA, x);
#endif
    SET(CURLOPT_USERAGENT, c->user_agent);
    if (c->ca_bundle)
        SET(CURLOPT_CAINFO, c->ca_bundle);
    if (c->share)
        SET(CURLOPT_SHARE, c->share);
    SET(CURLOPT_HTTPHEADER, *hl);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, x);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);

    const void *body = req->body ? req->body : "";
    curl_off_t body_len = (curl_off_t)(req->body ? req->body_len : 0);
    if (strcmp(method, "GET") == 0 && !body_len) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, body_len);
        SET(CURLOPT_POSTFIELDS, body);
    } else if (body_len || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, body_len);
        SET(CURLOPT_POSTFIELDS, body);
        SET(CURLOPT_CUSTOMREQUEST, method);
    } else {
        SET(CURLOPT_HTTPGET, 1L);
        SET(CURLOPT_CUSTOMREQUEST, method);
    }
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl setup failed: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

http_rc http_perform(http_client *c, const http_request *req, http_response *resp, char *err, size_t errlen)
{
    char scratch[256];
    if (!err) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (errlen)
        err[0] = '\0';
    memset(resp, 0, sizeof *resp);
    if (!req || !req->url || !*req->url) {
        snprintf(err, errlen, "no URL");
        return HTTP_E_LOCAL;
    }
    if (req->cancel && __atomic_load_n(req->cancel, __ATOMIC_SEQ_CST)) {
        snprintf(err, errlen, "cancelled");
        return HTTP_E_CANCELLED;
    }

    pooled p;
    if (pool_get(c, &p) < 0) {
        snprintf(err, errlen, "libcurl handle allocation failed");
        return HTTP_E_NOT_SENT;
    }
    /* a pooled handle was reset when it was returned; a new one is fresh */

    xfer x = {0};
    x.resp = resp;
    x.max = req->max_response ? req->max_response : c->max_response;
    x.cancel = req->cancel;
    struct curl_slist *hl = NULL;
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    const char *method = method_or_get(req);
    int64_t t0 = clock_mono_us();

    if (setup(c, p.easy, req, &x, &hl, errbuf, err, errlen) < 0) {
        slist_free_wiped(hl);
        curl_easy_reset(p.easy);
        pool_put(c, &p);
        http_response_free(resp);
        return HTTP_E_LOCAL; /* nothing went out */
    }

    CURLcode result = CURLE_OK;
    bool done = false;
    CURLMcode mc = curl_multi_add_handle(p.multi, p.easy);
    if (mc != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        done = true;
    }
    while (!done) {
        int running = 0;
        mc = curl_multi_perform(p.multi, &running);
        if (mc != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(p.multi, &left))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == p.easy) {
                result = msg->data.result;
                done = true;
            }
        }
        if (done || !running) {
            done = true;
            break;
        }
        if (x.cancel && __atomic_load_n(x.cancel, __ATOMIC_SEQ_CST)) {
            x.cancelled = true;
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        mc = curl_multi_poll(p.multi, NULL, 0, POLL_SLICE_MS, NULL);
        if (mc != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
    }

    long status = 0, request_size = 0, new_conns = 0;
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(p.easy, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(p.easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo(p.easy, CURLINFO_NUM_CONNECTS, &new_conns);
    /* removing a handle mid-transfer (cancel) closes its connection rather than reusing it */
    curl_multi_remove_handle(p.multi, p.easy);
    curl_easy_reset(p.easy); /* drop pointers to our header list and buffers */
    slist_free_wiped(hl);
    pool_put(c, &p);

    int64_t elapsed_ms = (clock_mono_us() - t0) / 1000;
    /* x.sends: the request went out at least once, even when libcurl's own second attempt on a
       new connection then failed to connect and that is the error it reports */
    bool maybe_sent = x.sends > 0 || request_size > 0 || pretransfer > 0;
    resp->maybe_sent = maybe_sent;
    /* libcurl refuses a header line longer than CURL_MAX_HTTP_HEADER with CURLE_OUT_OF_MEMORY
       and no message (CURLE_TOO_LARGE from 8.6.0 on): in the middle of a header block that is
       the answer's size, not this host's memory */
    bool header_too_long = x.in_headers && (result == CURLE_OUT_OF_MEMORY
#if LIBCURL_VERSION_NUM >= 0x080600
                                            || result == CURLE_TOO_LARGE
#endif
                                           );
    /* the URL as logs may show it, only when a message or a trace line will */
    bool trace = log_enabled(LMCP_LOG_TRACE);
    char *logurl = result != CURLE_OK || x.too_large || x.resend_blocked || x.cancelled || trace
                       ? url_for_log(req->url)
                       : NULL;
    http_rc rc;
    if (x.too_large || header_too_long || result == CURLE_FILESIZE_EXCEEDED) {
        rc = HTTP_E_TOO_LARGE;
        if (x.too_many_headers)
            snprintf(err, errlen, "%s %s: the response has more than %d header lines", method, logurl,
                     MAX_HEADER_LINES);
        else if (header_too_long)
            snprintf(err, errlen, "%s %s: a response header line is longer than %d bytes", method, logurl,
                     (int)CURL_MAX_HTTP_HEADER);
        else
            snprintf(err, errlen, "%s %s: the response exceeds %zu bytes", method, logurl, x.max);
    } else if (x.resend_blocked) {
        /* the reused connection died without an answer: the request may have arrived */
        rc = HTTP_E_TRANSPORT;
        snprintf(err, errlen, "%s %s: the connection closed without a response", method, logurl);
    } else if (x.cancelled || result == CURLE_ABORTED_BY_CALLBACK) {
        rc = HTTP_E_CANCELLED;
        snprintf(err, errlen, "%s %s: cancelled", method, logurl);
    } else if (result == CURLE_OK) {
        rc = HTTP_OK;
        resp->status = status;
    } else {
        const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(result);
        bool reconnect_failed = false;
        switch (result) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            /* after a first send on a reused connection: libcurl's second attempt failed */
            rc = maybe_sent ? HTTP_E_TRANSPORT : HTTP_E_NOT_SENT;
            reconnect_failed = maybe_sent;
            break;
        case CURLE_OPERATION_TIMEDOUT:
            /* before anything was sent it is a connect-phase (TCP or TLS) timeout */
            rc = maybe_sent ? HTTP_E_TIMEOUT : HTTP_E_NOT_SENT;
            break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            /* the peer's certificate (or our trust store) is the problem: it will not heal in
               the next few hundred milliseconds, so the AWS layer does not retry it */
            rc = maybe_sent ? HTTP_E_TRANSPORT : HTTP_E_TLS_TRUST;
            break;
        default:
            /* e.g. a TLS handshake that failed (a reset or a protocol mismatch during it): before
               the request went out, so a call that is not idempotent did not reach the service */
            rc = maybe_sent ? HTTP_E_TRANSPORT : HTTP_E_NOT_SENT;
            break;
        }
        if (rc == HTTP_E_NOT_SENT && result == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "%s %s: connect timeout: %s", method, logurl, detail);
        else if (reconnect_failed)
            snprintf(err, errlen, "%s %s: the connection closed without a response, then: %s", method, logurl, detail);
        else
            snprintf(err, errlen, "%s %s: %s", method, logurl, detail);
    }
    if (trace && rc == HTTP_OK)
        log_msg(LMCP_LOG_TRACE, "http", "%s %s -> %ld, %zu bytes, %lld ms, %s connection", method, logurl, status,
                resp->body.len, (long long)elapsed_ms, new_conns ? "new" : "reused");
    else if (trace)
        log_msg(LMCP_LOG_TRACE, "http", "%s %s failed after %lld ms (%s): %s", method, logurl, (long long)elapsed_ms,
                http_rc_name(rc), err);
    free(logurl);
    if (rc != HTTP_OK) {
        http_response_free(resp);
        resp->status = status >= 200 ? status : 0; /* the answer had begun (not a 100 Continue) */
    }
    return rc;
}

void http_response_free(http_response *r)
{
    if (!r)
        return;
    hdrs_free(&r->headers);
    buf_free(&r->body);
    r->status = 0;
}
