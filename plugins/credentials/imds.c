/* credentials plugin "imds": the EC2 instance role from the instance metadata service, IMDSv2:
 * PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then with X-aws-ec2-metadata-token
 * GET /latest/meta-data/iam/security-credentials/ (the role name) and .../<role>. IMDSv1 (the same
 * GETs without a token) only when allow_v1 is set and the token PUT is refused. Short timeouts
 * (1 s, one attempt) so that a machine that is not on EC2 moves on at once;
 * AWS_EC2_METADATA_DISABLED=true skips it without a request. region() reads
 * /latest/meta-data/placement/region. */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

#include "common/hostjson.h"
#include "common/urlcheck.h"
#include "common/util.h"

#define TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define TOKEN_HEADER "X-aws-ec2-metadata-token"
#define MAX_REGION_HOOK_MS 1000 /* each of the (at most two) requests of region() */

typedef struct imds_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
    char *base;               /* http://169.254.169.254, no trailing slash; NULL: bad endpoint_mode */
    char *shown;              /* base as messages show it: without a user:password@ */
    char bad_mode[96];
    bool allow_v1;
    long connect_ms, timeout_ms;
    int attempts;
    long ttl_s;
    pthread_mutex_t mu;       /* token, v1 */
    char *token;
    bool v1;                  /* the token was refused and allow_v1: plain GETs, no token */
    int64_t token_until_us;   /* monotonic: until then, reuse the token (or the v1 decision) */
    bool logged;
} imds_state;

static const lmcp_setting_def imds_settings[] = {
    {"endpoint", LMCP_SETTING_STRING, NULL, "AWS_EC2_METADATA_SERVICE_ENDPOINT", NULL, 0, 0,
     "the metadata service (default http://169.254.169.254, or http://[fd00:ec2::254] in IPv6 mode)"},
    {"endpoint_mode", LMCP_SETTING_STRING, "IPv4", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", NULL, 0, 0,
     "IPv4 or IPv6 (when endpoint is not set)"},
    {"allow_v1", LMCP_SETTING_BOOL, "false", NULL, NULL, 0, 0,
     "fall back to IMDSv1 (no session token) when the token request is refused with 403/404/405"},
    {"connect_timeout", LMCP_SETTING_DURATION, "1s", NULL, NULL, 1, 60000,
     "connect timeout per request (default: AWS_METADATA_SERVICE_TIMEOUT seconds if set, else 1 s)"},
    {"timeout", LMCP_SETTING_DURATION, "1s", NULL, NULL, 1, 60000,
     "total time per request (default: AWS_METADATA_SERVICE_TIMEOUT seconds if set, else 1 s)"},
    {"attempts", LMCP_SETTING_INT, "1", NULL, NULL, 1, 10,
     "attempts per request on network errors (default: AWS_METADATA_SERVICE_NUM_ATTEMPTS if set, else 1)"},
    {"token_ttl", LMCP_SETTING_DURATION, "6h", NULL, NULL, 1000, 21600000,
     "lifetime asked for the IMDSv2 session token (reused until then)"},
    LMCP_SETTINGS_END,
};

static long env_long(const char *name, long lo, long hi, long dflt)
{
    const char *v = cc_env(name);
    if (!v)
        return dflt;
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || d < lo || d > hi)
        return dflt;
    return (long)d;
}

static int imds_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    const lmcp_settings *st = ctx->settings;
    /* A bad endpoint_mode written in the conf file is refused here, at its line. One from
       AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (shared with every AWS tool) is reported only when
       the chain reaches this source, which it may never do. */
    const char *mode = h->setting_string(st, "endpoint_mode");
    const char *mode_origin = h->setting_origin(st, "endpoint_mode");
    if (mode && *mode && !cc_streq_ci(mode, "IPv4") && !cc_streq_ci(mode, "IPv6") && mode_origin &&
        strncmp(mode_origin, "env ", 4) != 0 && strcmp(mode_origin, "default") != 0) {
        snprintf(err, errlen, "%s: endpoint_mode must be IPv4 or IPv6, not '%.60s'", mode_origin, mode);
        return LMCP_ERR;
    }
    imds_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = h;
    s->inst = ctx->instance;
    pthread_mutex_init(&s->mu, NULL);
    const char *ep = h->setting_string(st, "endpoint");
    if (ep && *ep) {
        size_t n = strlen(ep);
        while (n && ep[n - 1] == '/')
            n--;
        s->base = cc_strndup(ep, n);
    } else if (!mode || !*mode || cc_streq_ci(mode, "IPv4")) {
        s->base = cc_strdup("http://169.254.169.254");
    } else if (cc_streq_ci(mode, "IPv6")) {
        s->base = cc_strdup("http://[fd00:ec2::254]");
    } else {
        snprintf(s->bad_mode, sizeof s->bad_mode, "%.60s", mode);
    }
    s->shown = s->base ? cc_url_display(s->base) : NULL;
    s->allow_v1 = h->setting_bool(st, "allow_v1");
    /* AWS_METADATA_SERVICE_TIMEOUT / _NUM_ATTEMPTS are in seconds / a count, as in the AWS CLI */
    long env_to = env_long("AWS_METADATA_SERVICE_TIMEOUT", 1, 60, 0) * 1000;
    bool conf_connect = h->setting_is_set(st, "connect_timeout"), conf_total = h->setting_is_set(st, "timeout");
    s->connect_ms = conf_connect || !env_to ? (long)h->setting_duration_ms(st, "connect_timeout") : env_to;
    s->timeout_ms = conf_total || !env_to ? (long)h->setting_duration_ms(st, "timeout") : env_to;
    s->attempts = h->setting_is_set(st, "attempts") ? (int)h->setting_int(st, "attempts")
                                                    : (int)env_long("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 10, 1);
    s->ttl_s = (long)(h->setting_duration_ms(st, "token_ttl") / 1000);
    if (s->ttl_s < 1)
        s->ttl_s = 1;
    *state = s;
    return LMCP_OK;
}

/* a token (or the v1 fallback) is reused until a minute before its end (or half its life when
 * shorter) */
static int64_t token_reuse_us(const imds_state *s)
{
    int64_t life = (int64_t)s->ttl_s * 1000000;
    int64_t margin = life / 2 < 60000000 ? life / 2 : 60000000;
    return life - margin;
}

static void forget_token(imds_state *s)
{
    cc_free_secret(s->token);
    s->token = NULL;
    s->v1 = false;
}

static void imds_destroy(void *state)
{
    imds_state *s = state;
    if (!s)
        return;
    forget_token(s);
    free(s->base);
    free(s->shown);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* One HTTP exchange with attempts on network errors. LMCP_OK with *resp (any status), or the
 * host's failure code with err. */
static int imds_send(imds_state *s, const char *method, const char *path, const char *const *headers, long timeout_cap,
                int attempts, lmcp_aws_response **resp, char *err, size_t errlen)
{
    char *url = cc_asprintf("%s%s", s->base, path);
    lmcp_http_request rq = {0};
    rq.method = method;
    rq.url = url;
    rq.headers = headers;
    rq.connect_timeout_ms = timeout_cap && s->connect_ms > timeout_cap ? timeout_cap : s->connect_ms;
    rq.timeout_ms = timeout_cap && s->timeout_ms > timeout_cap ? timeout_cap : s->timeout_ms;
    int rc = LMCP_ERR;
    for (int a = 0; a < attempts; a++) {
        rc = s->host->http_request(s->inst, &rq, resp, err, errlen);
        if (rc == LMCP_OK)
            break;
    }
    free(url);
    return rc;
}

/* Under s->mu. LMCP_OK with s->token set (or NULL and s->v1: IMDSv1 allowed), LMCP_NOT_FOUND when
 * there is no metadata service, LMCP_ERR otherwise. Either outcome is kept for the token's
 * lifetime: a refused token request is not sent again before every GET. */
static int ensure_token(imds_state *s, long cap, int attempts, char *err, size_t errlen)
{
    if ((s->token || s->v1) && s->host->monotonic_us() < s->token_until_us)
        return LMCP_OK;
    forget_token(s);
    char ttl[64];
    snprintf(ttl, sizeof ttl, TOKEN_TTL_HEADER ": %ld", s->ttl_s);
    const char *headers[] = {ttl, NULL};
    lmcp_aws_response *r = NULL;
    char herr[512];
    int64_t t0 = s->host->monotonic_us();
    int rc = imds_send(s, "PUT", "/latest/api/token", headers, cap, attempts, &r, herr, sizeof herr);
    if (rc != LMCP_OK) {
        snprintf(err, errlen, "no instance metadata service at %s (%s)", s->shown, herr);
        return LMCP_NOT_FOUND;
    }
    long status = s->host->aws_status(r);
    if (status == 200) {
        size_t n;
        const char *b = s->host->aws_body(r, &n);
        char *tok = cc_strndup(b, n);
        cc_trim(tok);
        s->host->aws_response_free(r);
        if (!*tok || strpbrk(tok, "\r\n")) {
            cc_free_secret(tok);
            snprintf(err, errlen, "the metadata service at %s sent an unusable session token", s->shown);
            return LMCP_ERR;
        }
        s->token = tok;
        s->token_until_us = t0 + token_reuse_us(s);
        return LMCP_OK;
    }
    s->host->aws_response_free(r);
    if (status == 403 || status == 404 || status == 405) {
        if (s->allow_v1) {
            s->host->log(s->inst, LMCP_LOG_DEBUG, "IMDSv2 token refused (HTTP %ld): using IMDSv1 (allow_v1)", status);
            s->v1 = true;
            s->token_until_us = t0 + token_reuse_us(s);
            return LMCP_OK;
        }
        snprintf(err, errlen, "the metadata service at %s refused an IMDSv2 session token (HTTP %ld) and IMDSv1 is "
                 "not allowed (set allow_v1 = true in the imds plugin's conf to use it)", s->shown, status);
        return LMCP_ERR;
    }
    snprintf(err, errlen, "the metadata service at %s answered the token request with HTTP %ld", s->shown, status);
    return LMCP_ERR;
}

/* GET a metadata path with the session token. LMCP_OK with the status and (for 200) the body. */
static int imds_get(imds_state *s, const char *path, long cap, int attempts, long *status, char **body, char *err,
                    size_t errlen)
{
    *body = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = LMCP_ERR;
    for (int round = 0; round < 2; round++) {
        rc = ensure_token(s, cap, attempts, err, errlen);
        if (rc != LMCP_OK)
            break;
        char *hdr = s->token ? cc_asprintf(TOKEN_HEADER ": %s", s->token) : NULL;
        const char *headers[] = {hdr, NULL};
        lmcp_aws_response *r = NULL;
        char herr[512];
        rc = imds_send(s, "GET", path, hdr ? headers : NULL, cap, attempts, &r, herr, sizeof herr);
        cc_free_secret(hdr);
        if (rc != LMCP_OK) {
            snprintf(err, errlen, "GET %s%s: %s", s->shown, path, herr);
            rc = LMCP_ERR;
            break;
        }
        *status = s->host->aws_status(r);
        if (*status == 401 && (s->token || s->v1) && round == 0) {
            /* the token expired or the instance was restarted (or now requires IMDSv2): ask for a
             * token again, once */
            s->host->aws_response_free(r);
            forget_token(s);
            continue;
        }
        if (*status == 200) {
            size_t n;
            const char *b = s->host->aws_body(r, &n);
            *body = cc_strndup(b, n);
        }
        s->host->aws_response_free(r);
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int imds_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    imds_state *s = state;
    const lmcp_host *h = s->host;
    if (cc_env_true("AWS_EC2_METADATA_DISABLED")) {
        snprintf(err, errlen, "disabled by AWS_EC2_METADATA_DISABLED");
        return LMCP_NOT_FOUND;
    }
    if (!s->base) {
        snprintf(err, errlen, "endpoint_mode (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE) must be IPv4 or IPv6, not '%s'",
                 s->bad_mode);
        return LMCP_ERR;
    }
    long status = 0;
    char *body = NULL;
    int rc = imds_get(s, "/latest/meta-data/iam/security-credentials/", 0, s->attempts, &status, &body, err, errlen);
    if (rc != LMCP_OK)
        return rc;
    if (status == 404) {
        snprintf(err, errlen, "the instance has no IAM role (no instance profile is attached)");
        return LMCP_NOT_FOUND;
    }
    if (status != 200) {
        snprintf(err, errlen, "the metadata service at %s answered HTTP %ld for the role name", s->shown, status);
        free(body);
        return LMCP_ERR;
    }
    body[strcspn(body, "\r\n")] = '\0';
    cc_trim(body);
    if (!*body) {
        free(body);
        snprintf(err, errlen, "the instance has no IAM role (no instance profile is attached)");
        return LMCP_NOT_FOUND;
    }
    char *role = body;
    char *enc = h->uri_encode(role, true);
    char *path = cc_asprintf("/latest/meta-data/iam/security-credentials/%s", enc ? enc : role);
    if (enc)
        h->free(enc);
    rc = imds_get(s, path, 0, s->attempts, &status, &body, err, errlen);
    free(path);
    if (rc != LMCP_OK) {
        free(role);
        return rc;
    }
    if (status != 200) {
        snprintf(err, errlen, "the metadata service at %s answered HTTP %ld for the credentials of role %s", s->shown,
                 status, role);
        free(role);
        cc_free_secret(body);
        return LMCP_ERR;
    }
    lmcp_json *j = h->json_parse(body, strlen(body), NULL, 0);
    cc_free_secret(body);
    const char *code = cc_jstr(h, j, "Code");
    cc_json_creds c;
    const char *bad = cc_json_creds_read(h, j, "Token", &c);
    if (!bad && code && strcmp(code, "Success") != 0)
        bad = "a Code other than Success";
    if (bad) {
        snprintf(err, errlen, "the metadata service at %s sent unusable credentials for role %s: %s%s%s%s", s->shown,
                 role, bad, code ? " (Code " : "", code ? code : "", code ? ")" : "");
        if (j)
            h->json_put(j);
        free(role);
        return LMCP_ERR;
    }
    cc_json_creds_set(h, out, &c);
    h->json_put(j);
    h->log(s->inst, s->logged ? LMCP_LOG_DEBUG : LMCP_LOG_INFO, "instance role %s from %s (IMDSv%d)", role, s->shown,
           s->token ? 2 : 1);
    s->logged = true;
    free(role);
    return LMCP_OK;
}

static int imds_region(void *state, char *buf, size_t len)
{
    imds_state *s = state;
    if (cc_env_true("AWS_EC2_METADATA_DISABLED") || !s->base)
        return LMCP_NOT_FOUND;
    long status = 0;
    char *body = NULL;
    char err[600];
    /* never hold start-up for long: one attempt, at most 1 s per request */
    int rc = imds_get(s, "/latest/meta-data/placement/region", MAX_REGION_HOOK_MS, 1, &status, &body, err, sizeof err);
    if (rc != LMCP_OK || status != 200 || !body) {
        if (rc != LMCP_OK)
            s->host->log(s->inst, LMCP_LOG_DEBUG, "no region from the instance metadata: %s", err);
        free(body);
        return LMCP_NOT_FOUND;
    }
    cc_trim(body);
    bool ok = *body && strlen(body) < len && strlen(body) <= 63;
    for (const char *p = body; ok && *p; p++)
        ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-';
    if (ok)
        snprintf(buf, len, "%s", body);
    free(body);
    return ok ? LMCP_OK : LMCP_NOT_FOUND;
}

static const lmcp_credentials_ops imds_ops = {.resolve = imds_resolve, .region = imds_region};

static const lmcp_plugin_def imds_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "imds",
    .version = "1.0",
    .description = "the EC2 instance role from the instance metadata service (IMDSv2; IMDSv1 only if allowed)",
    .settings = imds_settings,
    .init = imds_init,
    .destroy = imds_destroy,
    .credentials = &imds_ops,
};

LMCP_PLUGIN_DEFINE(imds_plugin)
