/* credentials plugin "sso": IAM Identity Center (AWS SSO) role credentials for a profile with
 * sso_session (+ [sso-session NAME]) or the legacy sso_start_url / sso_region keys, from the
 * token `aws sso login` left in ~/.aws/sso/cache, refreshed with SSO-OIDC when it expires and
 * the cache holds a refresh token. The profile plugin does the same for SSO profiles; this one is
 * for chains that want SSO and nothing else. See common/sso.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <lambda-mcp/plugin.h>

#include "common/profcreds.h"

static const lmcp_setting_def sso_settings[] = {
    {"profile", LMCP_SETTING_STRING, NULL, "AWS_PROFILE", NULL, 0, 0,
     "the SSO profile (unset: AWS_DEFAULT_PROFILE, else \"default\")"},
    {"config_file", LMCP_SETTING_STRING, "~/.aws/config", "AWS_CONFIG_FILE", NULL, 0, 0,
     "the shared config file ($VAR and ~ are expanded)"},
    {"credentials_file", LMCP_SETTING_STRING, "~/.aws/credentials", "AWS_SHARED_CREDENTIALS_FILE", NULL, 0, 0,
     "the shared credentials file (its keys win over the config file's)"},
    {"sso_cache_dir", LMCP_SETTING_STRING, "~/.aws/sso/cache", NULL, NULL, 0, 0,
     "where the AWS CLI keeps SSO tokens (aws sso login)"},
    LMCP_SETTINGS_END,
};

static int sso_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    cred_ctx *c = cred_ctx_new(ctx, false);
    if (!c)
        return LMCP_ERR;
    *state = c;
    return LMCP_OK;
}

static void sso_destroy(void *state) { free(state); }

static int sso_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    cred_ctx *c = state;
    bool explicit_;
    const char *name = cred_profile_name(c->host, c->settings, &explicit_);
    return cred_sso_resolve(c, name, explicit_, out, err, errlen);
}

static const lmcp_credentials_ops sso_ops = {.resolve = sso_resolve, .region = cred_region_hook};

static const lmcp_plugin_def sso_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "sso",
    .version = "1.0",
    .description = "IAM Identity Center (SSO) role credentials from the AWS CLI's login cache, refreshed with "
                   "SSO-OIDC",
    .settings = sso_settings,
    .init = sso_init,
    .destroy = sso_destroy,
    .credentials = &sso_ops,
};

LMCP_PLUGIN_DEFINE(sso_plugin)
