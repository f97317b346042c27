/* The AWS request layer: endpoint, SigV4, HTTP with reuse, retries, AWS error parsing. */
#include "config.h"
#include "aws/aws.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "aws/sigv4.h"
#include "credentials/credentials.h"
#include "util/clock.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/str.h"

/* Fallbacks for a zero aws_config; the defaults are the settings' (core/conf.c aws_settings). */
#define DEFAULT_MAX_ATTEMPTS 3
#define MAX_MAX_ATTEMPTS 20
#define DEFAULT_RETRY_BASE_MS 100L
#define DEFAULT_RETRY_MAX_BACKOFF_MS 20000L
#define CANCEL_POLL_MS 10
#define MAX_CACHED_ENDPOINTS 32

struct ep_entry;

struct aws_client {
    char *region;
    aws_endpoints endpoints; /* a deep copy */
    char *ca_bundle;
    long connect_timeout_ms;
    long timeout_ms;
    int max_attempts;
    long retry_base_ms;
    long retry_max_backoff_ms;
    aws_creds_fn creds;
    void *creds_ctx;
    http_client *http;
    atomic_llong skew_ms; /* server clock minus ours, learnt from a skew error */
    pthread_mutex_t rng_mu;
    uint64_t rng;
    pthread_mutex_t ep_mu;  /* guards eps/n_eps; entries never change once listed */
    struct ep_entry *eps;   /* parsed endpoints of the client's region, by service */
    size_t n_eps;
};

/* ------------------------------------------------------------------ user agent */

static char g_user_agent[256];
static pthread_once_t g_ua_once = PTHREAD_ONCE_INIT;

static void ua_init(void)
{
    struct utsname u;
    char sys[64] = "unknown";
    if (uname(&u) == 0 && u.sysname[0]) {
        size_t i = 0;
        for (; u.sysname[i] && i < sizeof sys - 1; i++)
            sys[i] = (char)tolower((unsigned char)u.sysname[i]);
        sys[i] = '\0';
    }
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    snprintf(g_user_agent, sizeof g_user_agent, "%s/%s (%s; libcurl/%s)", PACKAGE_NAME, PACKAGE_VERSION, sys,
             v && v->version ? v->version : LIBCURL_VERSION);
}

const char *aws_user_agent(void)
{
    pthread_once(&g_ua_once, ua_init);
    return g_user_agent;
}

/* ------------------------------------------------------------------ client */

aws_client *aws_client_new(const aws_config *cfg)
{
    aws_client *c = xcalloc(1, sizeof *c);
    c->region = xstrdup(cfg && cfg->region && *cfg->region ? cfg->region : NULL);
    if (cfg) {
        if (cfg->endpoints.endpoint_url)
            aws_endpoints_set(&c->endpoints, NULL, cfg->endpoints.endpoint_url);
        for (size_t i = 0; i < cfg->endpoints.n_overrides; i++)
            aws_endpoints_set(&c->endpoints, cfg->endpoints.overrides[i].service, cfg->endpoints.overrides[i].url);
    }
    c->ca_bundle = xstrdup(cfg && cfg->ca_bundle && *cfg->ca_bundle ? cfg->ca_bundle : NULL);
    c->connect_timeout_ms =
        cfg && cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : HTTP_FALLBACK_CONNECT_TIMEOUT_MS;
    c->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : HTTP_FALLBACK_TIMEOUT_MS;
    c->max_attempts = cfg && cfg->max_attempts > 0 ? cfg->max_attempts : DEFAULT_MAX_ATTEMPTS;
    if (c->max_attempts > MAX_MAX_ATTEMPTS)
        c->max_attempts = MAX_MAX_ATTEMPTS;
    c->retry_base_ms = cfg && cfg->retry_base_ms > 0 ? cfg->retry_base_ms : DEFAULT_RETRY_BASE_MS;
    c->retry_max_backoff_ms =
        cfg && cfg->retry_max_backoff_ms > 0 ? cfg->retry_max_backoff_ms : DEFAULT_RETRY_MAX_BACKOFF_MS;
    c->creds = cfg ? cfg->creds : NULL;
    c->creds_ctx = cfg ? cfg->creds_ctx : NULL;
    atomic_init(&c->skew_ms, 0);
    pthread_mutex_init(&c->rng_mu, NULL);
    pthread_mutex_init(&c->ep_mu, NULL);
    c->rng = (uint64_t)clock_wall_ms() ^ ((uint64_t)clock_mono_us() << 21) ^ (uint64_t)(uintptr_t)c ^
             ((uint64_t)getpid() << 40);

    http_client_opts ho = {0};
    ho.ca_bundle = c->ca_bundle;
    ho.user_agent = aws_user_agent();
    ho.connect_timeout_ms = c->connect_timeout_ms;
    ho.timeout_ms = c->timeout_ms;
    c->http = http_client_new(&ho);
    return c;
}

static void endpoint_cache_free(aws_client *c);

void aws_client_free(aws_client *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    aws_endpoints_free(&c->endpoints);
    endpoint_cache_free(c);
    pthread_mutex_destroy(&c->rng_mu);
    pthread_mutex_destroy(&c->ep_mu);
    free(c->region);
    free(c->ca_bundle);
    free(c);
}

/* splitmix64 under a mutex: jitter needs no cryptographic quality, only thread safety */
static uint64_t rng_next(aws_client *c)
{
    pthread_mutex_lock(&c->rng_mu);
    uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
    pthread_mutex_unlock(&c->rng_mu);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ responses and errors */

void aws_response_free(aws_response *r)
{
    if (!r)
        return;
    hdrs_free(&r->headers);
    /* only bodies that can carry credentials are wiped: an Invoke payload (up to megabytes) was
       copied out unwiped anyway */
    if (r->wipe && r->body.data)
        secure_zero(r->body.data, r->body.cap ? r->body.cap : r->body.len);
    buf_free(&r->body);
    free(r->error_code);
    free(r->error_message);
    free(r->request_id);
    free(r);
}

bool aws_is_throttling(long status, const char *error_code)
{
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    };
    if (status == 429)
        return true;
    for (size_t i = 0; error_code && i < sizeof codes / sizeof *codes; i++)
        if (strcmp(error_code, codes[i]) == 0)
            return true;
    return false;
}

json_object *aws_parse_json_object(const char *s, size_t len)
{
    json_object *o = NULL;
    if (!json_parse_strict(s, len, JSON_MAX_DEPTH, &o, NULL) || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static const char *json_str_member(json_object *o, const char *const *keys)
{
    for (; *keys; keys++) {
        const char *v = json_get_str(o, *keys);
        if (v)
            return v;
    }
    return NULL;
}

/* "aws.protocoltests#FooError:http://internal..." -> "FooError" */
static char *clean_code(const char *s)
{
    if (!s)
        return NULL;
    const char *hash = strchr(s, '#');
    if (hash)
        s = hash + 1;
    size_t n = strcspn(s, ":");
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (n && isspace((unsigned char)*s))
        s++, n--;
    return n ? xstrndup(s, n) : NULL;
}

/* The text of the first <tag>...</tag> in xml (entities decoded), or NULL. */
static char *xml_element(const char *xml, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open);
    if (!a)
        return NULL;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b)
        return NULL;
    static const struct {
        const char *ent;
        char ch;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    buf out = BUF_INIT;
    for (const char *p = a; p < b;) {
        bool matched = false;
        if (*p == '&') {
            for (size_t i = 0; i < sizeof ents / sizeof *ents; i++) {
                size_t el = strlen(ents[i].ent);
                if ((size_t)(b - p) >= el && memcmp(p, ents[i].ent, el) == 0) {
                    buf_append_char(&out, ents[i].ch);
                    p += el;
                    matched = true;
                    break;
                }
            }
        }
        if (!matched)
            buf_append_char(&out, *p++);
    }
    char *s = buf_steal(&out);
    char *t = str_trim(s);
    if (t != s)
        memmove(s, t, strlen(t) + 1);
    return s;
}

static void set_str(char **dst, char *v)
{
    free(*dst);
    *dst = v;
}

/* A short plain-text body is worth quoting in a message; HTML and binary are not. */
static char *text_snippet(const buf *body)
{
    if (!body->data || !body->len || body->len > 300)
        return NULL;
    const char *s = body->data;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (*s == '<' || *s == '{' || *s == '[' || !*s)
        return NULL;
    for (size_t i = 0; i < body->len; i++) {
        unsigned char ch = (unsigned char)body->data[i];
        if (ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t')
            return NULL;
    }
    char *copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    char *t = str_trim(copy);
    char *out = *t ? xstrdup(t) : NULL;
    free(copy);
    return out;
}

#define NO_ERROR_DETAILS "no error code or message in the answer"

static void parse_error_host(aws_response *r, const char *host)
{
    set_str(&r->error_code, NULL);
    set_str(&r->error_message, NULL);
    set_str(&r->request_id, NULL);

    const char *rid = hdrs_get(&r->headers, "x-amzn-RequestId");
    if (!rid || !*rid)
        rid = hdrs_get(&r->headers, "x-amz-request-id");
    if (rid && *rid)
        r->request_id = xstrdup(rid);

    const char *body = r->body.data ? r->body.data : "";
    const char *b = body;
    while (*b && isspace((unsigned char)*b))
        b++;
    bool xml = *b == '<';
    if (xml && !r->request_id) {
        char *x = xml_element(body, "RequestId");
        if (!x)
            x = xml_element(body, "RequestID");
        if (x && *x)
            r->request_id = x;
        else
            free(x);
    }
    if (r->status >= 200 && r->status < 300)
        return;

    char *code = clean_code(hdrs_get(&r->headers, "x-amzn-ErrorType"));
    char *message = NULL;
    if (*b == '{') {
        json_object *o = aws_parse_json_object(r->body.data, r->body.len);
        if (!o && !utf8_valid(r->body.data, r->body.len)) {
            /* a message with a byte that is not UTF-8 (a proxy's Latin-1, a cut sequence): the
               strict parser refuses the document, so read it with such bytes as U+FFFD */
            buf clean = BUF_INIT;
            utf8_sanitize(&clean, r->body.data, r->body.len);
            o = aws_parse_json_object(clean.data, clean.len);
            buf_free(&clean);
        }
        if (o) {
            static const char *const code_keys[] = {"__type", "code", "Code", NULL};
            static const char *const msg_keys[] = {"message", "Message", "errorMessage", NULL};
            if (!code)
                code = clean_code(json_str_member(o, code_keys));
            const char *m = json_str_member(o, msg_keys);
            if (m && *m)
                message = xstrdup(m);
            json_object_put(o);
        }
    } else if (xml) {
        char *xc = xml_element(body, "Code");
        if (xc) {
            if (!code)
                code = clean_code(xc);
            free(xc);
        }
        char *xm = xml_element(body, "Message");
        if (xm && *xm)
            message = xm;
        else
            free(xm);
    }
    if (!message && r->headers.n) {
        const char *hm = hdrs_get(&r->headers, "x-amzn-Message");
        if (hm && *hm)
            message = xstrdup(hm);
    }
    if (!code)
        code = xasprintf("HTTP%ld", r->status);
    if (!message) {
        /* every message is shown next to the code and the status ("HTTP502 ... (HTTP 502)"):
           say what the answer held instead of repeating them */
        char *snip = text_snippet(&r->body);
        if (host && snip)
            message = xasprintf("%s answered \"%s\"", host, snip);
        else if (host)
            message = xasprintf("no error code or message in the answer from %s", host);
        else if (snip)
            message = xasprintf("the answer was \"%s\"", snip);
        else
            message = xstrdup(NO_ERROR_DETAILS);
        free(snip);
    }
    r->error_code = code;
    r->error_message = message;
}

/* Request headers whose values are secrets (credentials endpoints' bearer tokens, the session
 * token): an error answer that quotes one must not carry it into a log or a message. */
static bool secret_header(const char *name)
{
    static const char *const names[] = {"authorization", "proxy-authorization", "cookie", "x-amz-security-token",
                                        "x-amz-sso_bearer_token", "x-aws-ec2-metadata-token", NULL};
    for (size_t i = 0; names[i]; i++)
        if (str_ieq(name, names[i]))
            return true;
    return false;
}

static void redact_all(aws_response *r, const char *secret)
{
    str_redact(r->error_message, secret);
    str_redact(r->error_code, secret);
}

/* An error answer may quote what it was sent (a proxy, a credentials endpoint, a mock): the
 * signing secret, the session token and every secret header value are cut out of its code and
 * message, which end up in logs, in --check and in results sent to the client. */
static void redact_error(aws_response *r, const lmcp_credentials *cr, const hdrs *sent)
{
    if (!r->error_message && !r->error_code)
        return;
    if (cr) {
        redact_all(r, cr->secret_access_key);
        redact_all(r, cr->session_token);
    }
    for (size_t i = 0; sent && i < sent->n; i++) {
        if (!secret_header(sent->names[i]))
            continue;
        const char *v = sent->values[i];
        redact_all(r, v);
        /* "Bearer TOKEN": the token alone may be quoted too */
        const char *sp = strrchr(v, ' ');
        if (sp)
            redact_all(r, sp + 1);
    }
}

/* An error's code, message and request id come from whoever answered (a proxy, a load balancer,
 * a mock): they go into results sent to the client and into log lines, so each is made one line
 * of valid UTF-8 without control characters (which could drive a terminal reading the log) and
 * cut to a size worth reading (an 8 MB message was passed on whole). Done after the redaction, so
 * that a cut never leaves part of a secret behind. */
#define MAX_ERROR_CODE 200
#define MAX_ERROR_MESSAGE 2048
#define MAX_REQUEST_ID 200

static void tidy_text(char **field, size_t max)
{
    char *s = *field;
    if (!s)
        return;
    size_t len = strlen(s);
    /* the usual case (a request id, an error code): short printable ASCII, kept as it is */
    bool plain = len <= max && (!len || (s[0] != ' ' && s[len - 1] != ' '));
    for (size_t i = 0; plain && i < len; i++)
        plain = s[i] >= 0x20 && s[i] < 0x7f;
    if (plain)
        return;
    buf b = BUF_INIT;
    if (utf8_valid(s, len))
        buf_append(&b, s, len);
    else
        utf8_sanitize(&b, s, len);
    for (size_t i = 0; i < b.len; i++) {
        unsigned char ch = (unsigned char)b.data[i];
        if (ch < 0x20 || ch == 0x7f)
            b.data[i] = ' ';
    }
    const char *t = b.data;
    size_t tlen = b.len;
    while (tlen && *t == ' ')
        t++, tlen--;
    while (tlen && t[tlen - 1] == ' ')
        tlen--;
    size_t keep = utf8_cut(t, tlen, max);
    char *out;
    if (keep < tlen)
        out = xasprintf("%.*s... (%zu more bytes)", (int)keep, t, tlen - keep);
    else
        out = xstrndup(t, tlen);
    buf_free(&b);
    free(s);
    *field = out;
}

static void tidy_error(aws_response *r)
{
    tidy_text(&r->error_code, MAX_ERROR_CODE);
    tidy_text(&r->error_message, MAX_ERROR_MESSAGE);
    tidy_text(&r->request_id, MAX_REQUEST_ID);
    /* nothing left (it was all control characters): as if there had been none */
    if (r->error_code && !*r->error_code)
        set_str(&r->error_code, xasprintf("HTTP%ld", r->status));
    if (r->error_message && !*r->error_message)
        set_str(&r->error_message, xstrdup(NO_ERROR_DETAILS));
    if (r->request_id && !*r->request_id)
        set_str(&r->request_id, NULL);
}

void aws_parse_error(aws_response *r)
{
    if (!r)
        return;
    parse_error_host(r, NULL);
    tidy_error(r);
}

/* ------------------------------------------------------------------ URL pieces */

typedef struct endpoint_url {
    char *scheme;     /* "http" / "https" */
    char *authority;  /* host[:port] as written, without userinfo */
    char *host;       /* the Host header: lowercase host, ":port" unless the scheme default */
    char *base_path;  /* "" or "/prefix" without trailing slash */
} endpoint_url;

static void endpoint_url_free(endpoint_url *u)
{
    free(u->scheme);
    free(u->authority);
    free(u->host);
    free(u->base_path);
    memset(u, 0, sizeof *u);
}

static int endpoint_url_parse(const char *url, endpoint_url *u)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(url, "://");
    if (!sep)
        return -1;
    u->scheme = xstrndup(url, (size_t)(sep - url));
    for (char *p = u->scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bool https = strcmp(u->scheme, "https") == 0;
    if (!https && strcmp(u->scheme, "http") != 0)
        goto fail;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    const char *at = NULL;
    for (const char *p = a; p < a + alen; p++)
        if (*p == '@')
            at = p;
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (alen == 0)
        goto fail;
    for (size_t i = 0; i < alen; i++)
        if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f)
            goto fail;
    u->authority = xstrndup(a, alen);

    const char *host = u->authority, *port = NULL;
    size_t hlen;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close)
            goto fail;
        hlen = (size_t)(close - host) + 1;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            goto fail;
    } else {
        const char *colon = strrchr(host, ':');
        hlen = colon ? (size_t)(colon - host) : strlen(host);
        if (colon)
            port = colon + 1;
    }
    if (hlen == 0)
        goto fail;
    long portnum = 0;
    if (port) {
        char *end;
        portnum = strtol(port, &end, 10);
        if (end == port || *end || portnum <= 0 || portnum > 65535)
            goto fail;
    }
    char *h = xstrndup(host, hlen);
    for (char *p = h; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (port && portnum != (https ? 443 : 80)) {
        u->host = xasprintf("%s:%ld", h, portnum);
        free(h);
    } else {
        u->host = h;
    }
    size_t plen = strcspn(rest, "?#");
    while (plen && rest[plen - 1] == '/')
        plen--;
    u->base_path = xstrndup(rest, plen);
    return 0;
fail:
    endpoint_url_free(u);
    return -1;
}

/* ------------------------------------------------------------------ endpoint cache */

/* One service's parsed endpoint for the client's region. Listed once complete and never
 * changed or freed before the client, so a pointer to u stays valid without the lock. */
typedef struct ep_entry {
    struct ep_entry *next;
    char *service;
    endpoint_url u;
} ep_entry;

static void endpoint_cache_free(aws_client *c)
{
    for (ep_entry *e = c->eps, *next; e; e = next) {
        next = e->next;
        free(e->service);
        endpoint_url_free(&e->u);
        free(e);
    }
    c->eps = NULL;
    c->n_eps = 0;
}

static const endpoint_url *endpoint_cached(aws_client *c, const char *service)
{
    const endpoint_url *found = NULL;
    pthread_mutex_lock(&c->ep_mu);
    for (ep_entry *e = c->eps; e && !found; e = e->next)
        if (strcmp(e->service, service) == 0)
            found = &e->u;
    pthread_mutex_unlock(&c->ep_mu);
    return found;
}

/* The parsed endpoint of service in region. For the client's region it comes from the cache
 * (resolved and parsed on first use); for another region it is parsed into *tmp, which the
 * caller frees with endpoint_url_free() either way. NULL with err set when there is none. */
static const endpoint_url *endpoint_for(aws_client *c, const char *service, const char *region, endpoint_url *tmp,
                                        char *err, size_t errlen)
{
    memset(tmp, 0, sizeof *tmp);
    bool cacheable = c->region && strcmp(region, c->region) == 0;
    const endpoint_url *u = cacheable ? endpoint_cached(c, service) : NULL;
    if (u)
        return u;
    char *base = aws_endpoint_resolve(&c->endpoints, service, region);
    if (!base) {
        snprintf(err, errlen, "%s: no endpoint for region \"%.64s\" (a region is made of a-z, 0-9 and -)", service,
                 region);
        return NULL;
    }
    if (endpoint_url_parse(base, tmp) < 0) {
        char *shown = url_for_log(base); /* a configured URL may carry user:password@ */
        snprintf(err, errlen, "%s: the endpoint URL \"%.200s\" is not http(s)://host[:port][/path]", service, shown);
        free(shown);
        free(base);
        return NULL;
    }
    free(base);
    if (!cacheable)
        return tmp;
    pthread_mutex_lock(&c->ep_mu);
    for (ep_entry *e = c->eps; e; e = e->next) {
        if (strcmp(e->service, service) == 0) { /* another thread was first */
            pthread_mutex_unlock(&c->ep_mu);
            endpoint_url_free(tmp);
            return &e->u;
        }
    }
    if (c->n_eps >= MAX_CACHED_ENDPOINTS) { /* plugins name services: keep the cache bounded */
        pthread_mutex_unlock(&c->ep_mu);
        return tmp;
    }
    ep_entry *e = xcalloc(1, sizeof *e);
    e->service = xstrdup(service);
    e->u = *tmp;
    memset(tmp, 0, sizeof *tmp);
    e->next = c->eps;
    c->eps = e;
    c->n_eps++;
    pthread_mutex_unlock(&c->ep_mu);
    return &e->u;
}

/* The caller's "Name: value" lines. Line breaks in them are refused by the HTTP layer, which
 * checks every header that goes out (hdrs_value_ok). */
static int load_headers(hdrs *h, const char *const *lines, char *err, size_t errlen)
{
    if (hdrs_add_lines(h, lines) < 0) {
        snprintf(err, errlen, "a request header is not \"Name: value\"");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ retry helpers */

/* Sleep ms milliseconds; false when *cancel became nonzero first. */
static bool sleep_cancellable(long ms, const volatile int *cancel)
{
    int64_t end = clock_mono_us() + (int64_t)ms * 1000;
    for (;;) {
        if (cancel && __atomic_load_n(cancel, __ATOMIC_SEQ_CST))
            return false;
        int64_t left_us = end - clock_mono_us();
        if (left_us <= 0)
            return true;
        int64_t slice = left_us / 1000 + 1;
        clock_sleep_ms(slice < CANCEL_POLL_MS ? slice : CANCEL_POLL_MS);
    }
}

static long backoff_ms(aws_client *c, int attempt)
{
    long ceiling = c->retry_base_ms;
    for (int i = 1; i < attempt && ceiling < c->retry_max_backoff_ms; i++)
        ceiling = ceiling > LONG_MAX / 2 ? LONG_MAX : ceiling * 2;
    if (ceiling > c->retry_max_backoff_ms)
        ceiling = c->retry_max_backoff_ms;
    if (ceiling <= 0)
        return 0;
    return (long)(rng_next(c) % ((uint64_t)ceiling + 1));
}

/* Retry-After in seconds (the HTTP-date form is not used by AWS and is ignored). */
long aws_retry_after_ms(const aws_response *r, long cap)
{
    if (!r)
        return -1;
    if (r->status != 429 && r->status != 503)
        return -1;
    const char *v = hdrs_get(&r->headers, "Retry-After");
    if (!v)
        return -1;
    while (*v == ' ')
        v++;
    char *end;
    long s = strtol(v, &end, 10);
    if (end == v || s < 0)
        return -1;
    while (*end == ' ')
        end++;
    if (*end)
        return -1;
    if (s > cap / 1000)
        return cap;
    return s * 1000;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" -> epoch ms, or -1 */
static int64_t parse_http_date(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4] = "";
    int d, y, hh, mm, ss;
    if (!s)
        return -1;
    const char *comma = strchr(s, ',');
    if (comma)
        s = comma + 1;
    /* %4d: a field of any length is no overflow (the Date header is the server's, or a proxy's) */
    if (sscanf(s, " %2d %3s %4d %2d:%2d:%2d", &d, mon, &y, &hh, &mm, &ss) != 6)
        return -1;
    const char *m = strstr(months, mon);
    if (!m || strlen(mon) != 3 || (m - months) % 3)
        return -1;
    if (y < 1970 || d < 1 || d > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = (int)((m - months) / 3);
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return (int64_t)t * 1000;
}

static bool is_skew_error(const aws_response *r)
{
    const char *code = r->error_code;
    if (!code)
        return false;
    if (strcmp(code, "RequestTimeTooSkewed") == 0 || strcmp(code, "RequestExpired") == 0)
        return true;
    if (strcmp(code, "InvalidSignatureException") == 0 && r->error_message &&
        strstr(r->error_message, "Signature expired"))
        return true;
    return false;
}

static aws_response *response_from_http(http_response *h)
{
    aws_response *r = xcalloc(1, sizeof *r);
    r->status = h->status;
    r->headers = h->headers;
    r->body = h->body;
    memset(h, 0, sizeof *h);
    return r;
}

/* ------------------------------------------------------------------ requests */

int aws_http(aws_client *c, const lmcp_http_request *req, aws_response **out, char *err, size_t errlen)
{
    char scratch[512];
    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    *out = NULL;
    err[0] = '\0';
    if (!c || !req || !req->url) {
        snprintf(err, errlen, "http: no URL");
        return LMCP_ERR;
    }
    hdrs h = HDRS_INIT;
    if (load_headers(&h, req->headers, err, errlen) < 0) {
        hdrs_free(&h);
        return LMCP_ERR;
    }
    http_request hr = {0};
    hr.method = req->method && *req->method ? req->method : "GET";
    hr.url = req->url;
    hr.headers = &h;
    hr.body = req->body;
    hr.body_len = req->body ? req->body_len : 0;
    hr.connect_timeout_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : c->connect_timeout_ms;
    hr.timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    http_response resp;
    http_rc rc = http_perform(c->http, &hr, &resp, err, errlen);
    if (rc != HTTP_OK) {
        hdrs_free(&h);
        return rc == HTTP_E_TIMEOUT ? LMCP_TIMEOUT : rc == HTTP_E_CANCELLED ? LMCP_CANCELLED : LMCP_ERR;
    }
    aws_response *r = response_from_http(&resp);
    r->attempts = 1;
    r->wipe = true; /* IMDS and container endpoint answers are credentials */
    /* the host only appears in the message of an error without a body to quote */
    endpoint_url u;
    bool have_host = (r->status < 200 || r->status >= 300) && endpoint_url_parse(req->url, &u) == 0;
    parse_error_host(r, have_host ? u.host : NULL);
    if (have_host)
        endpoint_url_free(&u);
    redact_error(r, NULL, &h);
    tidy_error(r);
    hdrs_free(&h);
    *out = r;
    return LMCP_OK;
}

/* The request's own credentials, or the client's source's: a wait for them ends by the deadline
 * (LMCP_TIMEOUT) or the request's cancellation (LMCP_CANCELLED). */
static int get_credentials(aws_client *c, const lmcp_aws_request *req, int64_t deadline_us, lmcp_credentials **owned,
                           const lmcp_credentials **use, char *err, size_t errlen)
{
    *owned = NULL;
    *use = req->credentials;
    if (!*use) {
        if (!c->creds) {
            snprintf(err, errlen, "no AWS credentials source is configured");
            return LMCP_ERR;
        }
        char cerr[2048] = "";
        int rc = c->creds(c->creds_ctx, deadline_us, req->cancel, owned, cerr, sizeof cerr);
        if (rc != LMCP_OK || !*owned) {
            credentials_free(*owned);
            *owned = NULL;
            snprintf(err, errlen, "AWS credentials: %s", cerr[0] ? cerr : "none available");
            return rc == LMCP_CANCELLED || rc == LMCP_TIMEOUT ? rc : LMCP_ERR;
        }
        *use = *owned;
    }
    if (!credentials_valid(*use)) {
        credentials_free(*owned);
        *owned = NULL;
        snprintf(err, errlen, "AWS credentials are incomplete (no access key id or secret)");
        return LMCP_ERR;
    }
    return LMCP_OK;
}

/* Services whose answers are credentials or tokens: their bodies are wiped when freed. */
static bool carries_credentials(const char *service)
{
    return strcmp(service, "sts") == 0 || strcmp(service, "portal.sso") == 0 || strcmp(service, "oidc") == 0;
}

int aws_request(aws_client *c, const lmcp_aws_request *req, aws_response **out, char *err, size_t errlen)
{
    return aws_request_ex(c, req, NULL, out, err, errlen);
}

int aws_request_ex(aws_client *c, const lmcp_aws_request *req, aws_request_ctl *ctl, aws_response **out, char *err,
                   size_t errlen)
{
    char scratch[512];
    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    aws_request_ctl no_ctl = {0};
    if (!ctl)
        ctl = &no_ctl;
    ctl->fail = AWS_FAIL_REQUEST;
    ctl->reached = 0;
    ctl->unanswered = false;
    ctl->status = 0;
    *out = NULL;
    err[0] = '\0';
    if (!c || !req || !req->service || !*req->service || !req->method || !*req->method) {
        snprintf(err, errlen, "aws: the request has no service or method");
        return LMCP_ERR;
    }
    const char *service = req->service;
    const char *region = req->region && *req->region ? req->region : c->region;
    if (!region) {
        snprintf(err, errlen, "%s: no AWS region is configured", service);
        return LMCP_ERR;
    }
    endpoint_url tmp;
    const endpoint_url *u = endpoint_for(c, service, region, &tmp, err, errlen);
    if (!u)
        return LMCP_ERR;

    const int64_t deadline_us = ctl->deadline_us;
    const char *path = req->path && *req->path ? req->path : "/";
    const char *query = req->query && *req->query ? req->query : NULL;
    char *sign_path = xasprintf("%s%s%s", u->base_path, path[0] == '/' ? "" : "/", path);
    char *url = xasprintf("%s://%s%s%s%s", u->scheme, u->authority, sign_path, query ? "?" : "", query ? query : "");
    const char *signing_name = req->signing_name && *req->signing_name ? req->signing_name : service;
    bool unsigned_req = req->flags & LMCP_AWS_UNSIGNED;
    bool no_retry = req->flags & LMCP_AWS_NO_RETRY;
    bool idempotent = req->flags & LMCP_AWS_IDEMPOTENT;
    bool wipe = carries_credentials(service);
    int max_attempts = no_retry ? 1 : c->max_attempts;
    long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;

    hdrs given = HDRS_INIT;
    int result = LMCP_ERR;
    aws_fail fail = AWS_FAIL_REQUEST;
    int reached = 0;
    bool unanswered = false;
    long began = 0; /* the status of a failed answer that had begun */
    if (load_headers(&given, req->headers, err, errlen) < 0)
        goto done;

    bool skew_retried = false;
    for (int attempt = 1;; attempt++) {
        if (req->cancel && __atomic_load_n(req->cancel, __ATOMIC_SEQ_CST)) {
            snprintf(err, errlen, "%s %s %s: cancelled", service, req->method, path);
            result = LMCP_CANCELLED;
            fail = AWS_FAIL_CANCELLED;
            goto done;
        }
        hdrs h = HDRS_INIT;
        for (size_t i = 0; i < given.n; i++)
            hdrs_add(&h, given.names[i], given.values[i]);
        hdrs_set(&h, "Host", u->host);

        /* the signing credentials, kept until the answer is read (an error may quote them) */
        lmcp_credentials *owned = NULL;
        const lmcp_credentials *cr = NULL;
        if (!unsigned_req) {
            int crc = get_credentials(c, req, deadline_us, &owned, &cr, err, errlen);
            if (crc != LMCP_OK) {
                hdrs_free(&h);
                result = crc;
                /* a wait for credentials that reached the deadline: nothing was sent */
                fail = crc == LMCP_CANCELLED ? AWS_FAIL_CANCELLED
                       : crc == LMCP_TIMEOUT ? AWS_FAIL_DEADLINE
                                             : AWS_FAIL_CREDENTIALS;
                goto done;
            }
            sigv4_params sp = {0};
            sp.access_key_id = cr->access_key_id;
            sp.secret_access_key = cr->secret_access_key;
            sp.session_token = cr->session_token;
            sp.region = region;
            sp.service = signing_name;
            sp.when = (time_t)((clock_wall_ms() + atomic_load(&c->skew_ms)) / 1000);
            sp.normalize_path = true;
            sp.double_encode_path = true;
            sigv4_request sr = {req->method, sign_path, query, &h, req->body, req->body ? req->body_len : 0};
            int src = sigv4_sign(&sp, &sr, err, errlen);
            if (src < 0) {
                credentials_free(owned);
                hdrs_free(&h);
                result = LMCP_ERR;
                fail = AWS_FAIL_SIGNING;
                goto done;
            }
        }

        /* each attempt gets the request's timeout, but never more than the time left */
        long attempt_ms = timeout_ms;
        bool capped = false;
        if (deadline_us) {
            int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
            if (left_ms < 1) {
                credentials_free(owned);
                hdrs_free(&h);
                snprintf(err, errlen, "%s %s %s: the call's time ran out before the request could be sent%s", service,
                         req->method, path, attempt > 1 ? " again" : "");
                result = LMCP_TIMEOUT;
                fail = AWS_FAIL_DEADLINE;
                goto done;
            }
            if (left_ms < attempt_ms) {
                attempt_ms = (long)left_ms;
                capped = true;
            }
        }

        http_request hr = {0};
        hr.method = req->method;
        hr.url = url;
        hr.headers = &h;
        hr.body = req->body;
        hr.body_len = req->body ? req->body_len : 0;
        hr.connect_timeout_ms = c->connect_timeout_ms;
        hr.timeout_ms = attempt_ms;
        hr.cancel = req->cancel;
        http_response hresp;
        char herr[512] = "";
        int64_t t0 = clock_mono_us();
        http_rc hrc = http_perform(c->http, &hr, &hresp, herr, sizeof herr);
        /* a transfer cancelled once its request had gone out may have started the function */
        if (hrc != HTTP_E_NOT_SENT && hrc != HTTP_E_LOCAL && hrc != HTTP_E_TLS_TRUST &&
            (hrc != HTTP_E_CANCELLED || hresp.maybe_sent))
            reached++;

        bool retry = false;
        long delay = -1;
        char reason[160] = "";
        aws_response *r = NULL;
        if (hrc == HTTP_OK) {
            r = response_from_http(&hresp);
            r->attempts = attempt;
            r->wipe = wipe;
            parse_error_host(r, u->host);
            redact_error(r, cr, &h);
            tidy_error(r);
        }
        credentials_free(owned);
        hdrs_free(&h);
        if (r) {
            const char *code = r->error_code ? r->error_code : "";
            LOG_DEBUG("aws", "%s %s %s -> %ld%s%s (attempt %d, %lld ms)", service, req->method, path, r->status,
                      *code ? " " : "", code, attempt, (long long)((clock_mono_us() - t0) / 1000));
            bool skew_fix = false;
            if (r->status >= 300 && !skew_retried && is_skew_error(r)) {
                int64_t server_ms = parse_http_date(hdrs_get(&r->headers, "Date"));
                if (server_ms > 0) {
                    long long skew = (long long)(server_ms - clock_wall_ms());
                    atomic_store(&c->skew_ms, skew);
                    LOG_WARN("aws", "%s rejected the request time (%s): the clock differs from the server's by %lld s; "
                             "signing with a corrected time from now on",
                             u->host, code, skew / 1000);
                    skew_retried = true;
                    skew_fix = !no_retry;
                    delay = 0;
                    snprintf(reason, sizeof reason, "clock skew (%s)", code);
                }
            }
            if (skew_fix) {
                retry = true;
            } else if (r->status >= 300 && aws_is_throttling(r->status, r->error_code)) {
                retry = !no_retry && attempt < max_attempts;
                snprintf(reason, sizeof reason, "throttling: HTTP %ld %s", r->status, code);
                delay = aws_retry_after_ms(r, c->retry_max_backoff_ms);
            } else if (r->status >= 500) {
                retry = idempotent && !no_retry && attempt < max_attempts;
                snprintf(reason, sizeof reason, "HTTP %ld %s", r->status, code);
                delay = aws_retry_after_ms(r, c->retry_max_backoff_ms);
            }
            if (!retry) {
                *out = r;
                result = LMCP_OK;
                fail = AWS_FAIL_NONE;
                goto done;
            }
            aws_response_free(r);
        } else {
            /* an attempt that had all the time left and timed out used it up: the request ends
               (decided by what happened, not by reading the clock, which a loaded host makes late
               or curl's own rounding early) */
            bool out_of_time =
                deadline_us && ((capped && hrc == HTTP_E_TIMEOUT) || clock_mono_us() >= deadline_us);
            switch (hrc) {
            case HTTP_E_CANCELLED:
                snprintf(err, errlen, "%s: %s", service, herr);
                result = LMCP_CANCELLED;
                fail = AWS_FAIL_CANCELLED;
                goto done;
            case HTTP_E_TOO_LARGE:
                snprintf(err, errlen, "%s: %s", service, herr);
                result = LMCP_ERR;
                fail = AWS_FAIL_TOO_LARGE;
                began = hresp.status;
                goto done;
            case HTTP_E_LOCAL: /* refused before sending: the next attempt would be refused too */
                snprintf(err, errlen, "%s: %s", service, herr);
                result = LMCP_ERR;
                fail = AWS_FAIL_REQUEST;
                goto done;
            case HTTP_E_NOT_SENT:
                retry = !no_retry && attempt < max_attempts && !out_of_time;
                break;
            case HTTP_E_TLS_TRUST: /* not sent, and the next attempt would meet the same certificate */
                break;
            default: /* timeout or transport error after the request may have been sent */
                retry = idempotent && !no_retry && attempt < max_attempts && !out_of_time;
                break;
            }
            if (!retry) {
                if (attempt > 1)
                    snprintf(err, errlen, "%s: %s (after %d attempts)", service, herr, attempt);
                else
                    snprintf(err, errlen, "%s: %s", service, herr);
                result = hrc == HTTP_E_TIMEOUT || out_of_time ? LMCP_TIMEOUT : LMCP_ERR;
                fail = AWS_FAIL_NETWORK;
                unanswered = hrc != HTTP_E_NOT_SENT && hrc != HTTP_E_TLS_TRUST;
                began = unanswered ? hresp.status : 0;
                goto done;
            }
            snprintf(reason, sizeof reason, "a network error (%s)", http_rc_name(hrc));
        }

        if (delay < 0)
            delay = backoff_ms(c, attempt);
        if (deadline_us && clock_mono_us() + (int64_t)delay * 1000 >= deadline_us) {
            /* waiting would use up the call's time: say why rather than sleep into the deadline */
            snprintf(err, errlen, "%s %s %s: the call's time ran out while retrying after %s (%d attempt%s made; the "
                     "next would have been in %ld ms)",
                     service, req->method, path, reason, attempt, attempt == 1 ? "" : "s", delay);
            result = LMCP_TIMEOUT;
            fail = AWS_FAIL_DEADLINE;
            goto done;
        }
        LOG_DEBUG("aws", "retrying %s %s %s: attempt %d of %d failed (%s); next in %ld ms", service, req->method,
                  path, attempt, max_attempts, reason, delay);
        if (!sleep_cancellable(delay, req->cancel)) {
            snprintf(err, errlen, "%s %s %s: cancelled", service, req->method, path);
            result = LMCP_CANCELLED;
            fail = AWS_FAIL_CANCELLED;
            goto done;
        }
    }

done:
    hdrs_free(&given);
    free(sign_path);
    free(url);
    endpoint_url_free(&tmp);
    ctl->fail = fail;
    ctl->reached = reached;
    ctl->unanswered = unanswered;
    ctl->status = began;
    return result;
}
