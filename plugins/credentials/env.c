/* credentials plugin "env": AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or the
 * legacy AWS_SECURITY_TOKEN), AWS_CREDENTIAL_EXPIRATION and AWS_ACCOUNT_ID, read when the chain
 * asks, the way the AWS CLI reads them. */
#include <stdio.h>
#include <stdlib.h>

#include <lambda-mcp/plugin.h>

#include "common/util.h"

typedef struct env_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
} env_state;

static int env_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    env_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = ctx->host;
    s->inst = ctx->instance;
    *state = s;
    return LMCP_OK;
}

static void env_destroy(void *state) { free(state); }

static int env_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    env_state *s = state;
    const char *akid = cc_env("AWS_ACCESS_KEY_ID");
    const char *secret = cc_env("AWS_SECRET_ACCESS_KEY");
    if (!akid && !secret) {
        snprintf(err, errlen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
        return LMCP_NOT_FOUND;
    }
    if (!akid || !secret) {
        snprintf(err, errlen, "%s is set but %s is not", akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                 akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return LMCP_ERR;
    }
    const char *token = cc_env("AWS_SESSION_TOKEN");
    if (!token)
        token = cc_env("AWS_SECURITY_TOKEN");
    int64_t expiration = 0;
    const char *exp = cc_env("AWS_CREDENTIAL_EXPIRATION");
    if (exp) {
        if (cc_parse_time(exp, &expiration) < 0) {
            snprintf(err, errlen, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time (like 2026-11-21T10:00:00Z)");
            return LMCP_ERR;
        }
        if (expiration <= s->host->now_ms()) {
            snprintf(err, errlen, "the credentials in the environment expired at %s (AWS_CREDENTIAL_EXPIRATION)", exp);
            return LMCP_ERR;
        }
    }
    s->host->credentials_set(out, akid, secret, token, expiration);
    const char *account = cc_env("AWS_ACCOUNT_ID");
    if (account)
        s->host->credentials_set_account(out, account);
    return LMCP_OK;
}

static const lmcp_credentials_ops env_ops = {.resolve = env_resolve};

static const lmcp_plugin_def env_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "env",
    .version = "1.0",
    .description = "credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
                   "AWS_CREDENTIAL_EXPIRATION",
    .settings = NULL,
    .init = env_init,
    .destroy = env_destroy,
    .credentials = &env_ops,
};

LMCP_PLUGIN_DEFINE(env_plugin)
