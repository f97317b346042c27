/* credentials plugin "web-identity": AssumeRoleWithWebIdentity (unsigned) with the token in
 * AWS_WEB_IDENTITY_TOKEN_FILE for AWS_ROLE_ARN (EKS IRSA, GitHub Actions OIDC, ...). The token
 * file is read again at every refresh: the platform rotates it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <lambda-mcp/plugin.h>

#include "common/sts.h"

typedef struct wi_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const char *token_file, *role_arn, *session_name;
    bool logged;
} wi_state;

static const lmcp_setting_def wi_settings[] = {
    {"token_file", LMCP_SETTING_STRING, NULL, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL, 0, 0,
     "file holding the OIDC token (unset: this source has nothing)"},
    {"role_arn", LMCP_SETTING_STRING, NULL, "AWS_ROLE_ARN", NULL, 0, 0, "the role to assume"},
    {"role_session_name", LMCP_SETTING_STRING, NULL, "AWS_ROLE_SESSION_NAME", NULL, 0, 0,
     "RoleSessionName (unset: botocore-session-<epoch seconds>, like the AWS CLI)"},
    LMCP_SETTINGS_END,
};

static int wi_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    wi_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = ctx->host;
    s->inst = ctx->instance;
    s->token_file = ctx->host->setting_string(ctx->settings, "token_file");
    s->role_arn = ctx->host->setting_string(ctx->settings, "role_arn");
    s->session_name = ctx->host->setting_string(ctx->settings, "role_session_name");
    *state = s;
    return LMCP_OK;
}

static void wi_destroy(void *state) { free(state); }

static int wi_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    wi_state *s = state;
    if (!s->token_file || !*s->token_file) {
        snprintf(err, errlen, "AWS_WEB_IDENTITY_TOKEN_FILE is not set");
        return LMCP_NOT_FOUND;
    }
    if (!s->role_arn || !*s->role_arn) {
        snprintf(err, errlen, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN (setting role_arn) is not");
        return LMCP_ERR;
    }
    int rc = sts_assume_role_with_web_identity(s->host, s->inst, s->role_arn, s->session_name, s->token_file, NULL,
                                               out, err, errlen);
    if (rc == LMCP_OK) {
        s->host->log(s->inst, s->logged ? LMCP_LOG_DEBUG : LMCP_LOG_INFO,
                     "assumed %s with the web identity token in %s", s->role_arn, s->token_file);
        s->logged = true;
    }
    return rc;
}

static const lmcp_credentials_ops wi_ops = {.resolve = wi_resolve};

static const lmcp_plugin_def wi_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "web-identity",
    .version = "1.0",
    .description = "AssumeRoleWithWebIdentity with AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN",
    .settings = wi_settings,
    .init = wi_init,
    .destroy = wi_destroy,
    .credentials = &wi_ops,
};

LMCP_PLUGIN_DEFINE(wi_plugin)
