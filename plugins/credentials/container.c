/* credentials plugin "container": the ECS task role / EKS Pod Identity endpoint.
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is appended to http://169.254.170.2 (setting base_url);
 * otherwise AWS_CONTAINER_CREDENTIALS_FULL_URI is used, but only where the AWS SDKs allow it
 * (common/urlcheck.h: https anywhere, plain http only to loopback and the ECS/EKS addresses).
 * The Authorization header comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every
 * fetch: it is rotated) or AWS_CONTAINER_AUTHORIZATION_TOKEN. The answer is
 * {AccessKeyId, SecretAccessKey, Token, Expiration, AccountId?}. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lambda-mcp/plugin.h>

#include "common/hostjson.h"
#include "common/urlcheck.h"
#include "common/util.h"

#define MAX_TOKEN_FILE (64u * 1024u)

typedef struct container_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const char *base;
    long connect_ms, timeout_ms;
    int attempts;
    bool logged;
} container_state;

static const lmcp_setting_def container_settings[] = {
    {"base_url", LMCP_SETTING_STRING, "http://169.254.170.2", "LAMBDA_MCP_CONTAINER_BASE_URL", NULL, 0, 0,
     "what AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is appended to (the ECS agent; tests point it elsewhere)"},
    {"connect_timeout", LMCP_SETTING_DURATION, "1s", NULL, NULL, 1, 60000, "connect timeout per attempt"},
    {"timeout", LMCP_SETTING_DURATION, "2s", NULL, NULL, 1, 60000, "total time per attempt"},
    {"attempts", LMCP_SETTING_INT, "3", NULL, NULL, 1, 10,
     "attempts on network errors and HTTP 5xx/429 (200 ms apart)"},
    LMCP_SETTINGS_END,
};

static int container_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    container_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    const lmcp_host *h = ctx->host;
    s->host = h;
    s->inst = ctx->instance;
    s->base = h->setting_string(ctx->settings, "base_url");
    s->connect_ms = (long)h->setting_duration_ms(ctx->settings, "connect_timeout");
    s->timeout_ms = (long)h->setting_duration_ms(ctx->settings, "timeout");
    s->attempts = (int)h->setting_int(ctx->settings, "attempts");
    *state = s;
    return LMCP_OK;
}

static void container_destroy(void *state) { free(state); }

/* The Authorization value, or NULL when none is configured. LMCP_ERR with err if unusable. */
static int auth_token(char **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *file = cc_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *from;
    if (file) {
        size_t len;
        int rc = cc_read_token_file(file, MAX_TOKEN_FILE, out, &len);
        if (rc < 0) {
            snprintf(err, errlen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
                     rc == -EFBIG ? "too large" : strerror(-rc));
            return LMCP_ERR;
        }
        from = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
    } else {
        const char *v = cc_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (!v)
            return LMCP_OK;
        *out = cc_strdup(v);
        from = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
    }
    if (strpbrk(*out, "\r\n")) {
        snprintf(err, errlen, "the authorization token from %s contains a line break: refused", from);
        cc_free_secret(*out);
        *out = NULL;
        return LMCP_ERR;
    }
    if (!**out) {
        cc_free_secret(*out);
        *out = NULL;
    }
    return LMCP_OK;
}

static int container_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    container_state *s = state;
    const lmcp_host *h = s->host;
    const char *rel = cc_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = cc_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full) {
        snprintf(err, errlen,
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set");
        return LMCP_NOT_FOUND;
    }
    char *url;
    if (rel) {
        size_t n = strlen(s->base);
        while (n && s->base[n - 1] == '/')
            n--;
        url = cc_asprintf("%.*s%s%s", (int)n, s->base, rel[0] == '/' ? "" : "/", rel);
    } else {
        char why[300];
        if (!cc_container_url_allowed(full, NULL, why, sizeof why)) {
            char *shown = cc_url_display(full);
            snprintf(err, errlen, "AWS_CONTAINER_CREDENTIALS_FULL_URI %s is not allowed: %s", shown, why);
            free(shown);
            return LMCP_ERR;
        }
        url = cc_strdup(full);
    }
    char *shown = cc_url_display(url);
    char *token = NULL;
    if (auth_token(&token, err, errlen) != LMCP_OK) {
        free(url);
        free(shown);
        return LMCP_ERR;
    }
    char *auth = token ? cc_asprintf("Authorization: %s", token) : NULL;
    const char *headers[] = {"Accept: application/json", auth, NULL};
    lmcp_http_request rq = {0};
    rq.method = "GET";
    rq.url = url;
    rq.headers = headers;
    rq.connect_timeout_ms = s->connect_ms;
    rq.timeout_ms = s->timeout_ms;
    lmcp_aws_response *r = NULL;
    int rc = LMCP_ERR;
    long status = 0;
    char herr[512] = "";
    for (int a = 0; a < s->attempts; a++) {
        if (a) {
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
        rc = h->http_request(s->inst, &rq, &r, herr, sizeof herr);
        if (rc != LMCP_OK)
            continue;
        status = h->aws_status(r);
        if ((status >= 500 || status == 429) && a + 1 < s->attempts) {
            h->aws_response_free(r);
            r = NULL;
            continue;
        }
        break;
    }
    cc_free_secret(auth);
    free(url);
    if (rc != LMCP_OK) {
        snprintf(err, errlen, "the container credentials endpoint %s did not answer: %s", shown, herr);
        cc_redact(err, token);
        cc_free_secret(token);
        free(shown);
        return LMCP_ERR;
    }
    size_t blen;
    const char *b = h->aws_body(r, &blen);
    lmcp_json *j = h->json_parse(b, blen, NULL, 0);
    h->aws_response_free(r);
    if (status != 200) {
        const char *code = cc_jstr(h, j, "code"), *msg = cc_jstr(h, j, "message");
        snprintf(err, errlen, "the container credentials endpoint %s answered HTTP %ld%s%s%s%.200s", shown, status,
                 code ? " " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
        /* an endpoint may quote the token it refused */
        cc_redact(err, token);
        cc_free_secret(token);
        if (j)
            h->json_put(j);
        free(shown);
        return LMCP_ERR;
    }
    cc_free_secret(token);
    cc_json_creds c;
    const char *bad = cc_json_creds_read(h, j, "Token", &c);
    if (bad) {
        snprintf(err, errlen, "the container credentials endpoint %s sent %s", shown, bad);
        if (j)
            h->json_put(j);
        free(shown);
        return LMCP_ERR;
    }
    cc_json_creds_set(h, out, &c);
    h->json_put(j);
    h->log(s->inst, s->logged ? LMCP_LOG_DEBUG : LMCP_LOG_INFO, "credentials from the container endpoint %s", shown);
    s->logged = true;
    free(shown);
    return LMCP_OK;
}

static const lmcp_credentials_ops container_ops = {.resolve = container_resolve};

static const lmcp_plugin_def container_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "container",
    .version = "1.0",
    .description = "the ECS task role / EKS Pod Identity endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or "
                   "_FULL_URI)",
    .settings = container_settings,
    .init = container_init,
    .destroy = container_destroy,
    .credentials = &container_ops,
};

LMCP_PLUGIN_DEFINE(container_plugin)
