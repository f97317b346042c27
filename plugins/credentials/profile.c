/* credentials plugin "profile": a profile of the AWS shared config and credentials files, with
 * everything the AWS CLI does with it — static keys, role_arn with source_profile (any depth) or
 * credential_source, credential_process, web_identity_token_file, SSO (sso_session or the legacy
 * keys) — and the profile's region for the region() hook. See README.md in this directory and
 * common/plan.h for the exact order. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <lambda-mcp/plugin.h>

#include "common/profcreds.h"

static const lmcp_setting_def profile_settings[] = {
    {"profile", LMCP_SETTING_STRING, NULL, "AWS_PROFILE", NULL, 0, 0,
     "the profile (unset: AWS_DEFAULT_PROFILE, else \"default\"); a profile named here or in AWS_PROFILE that does "
     "not exist is an error, a missing \"default\" only means this source has nothing"},
    {"config_file", LMCP_SETTING_STRING, "~/.aws/config", "AWS_CONFIG_FILE", NULL, 0, 0,
     "the shared config file ($VAR and ~ are expanded)"},
    {"credentials_file", LMCP_SETTING_STRING, "~/.aws/credentials", "AWS_SHARED_CREDENTIALS_FILE", NULL, 0, 0,
     "the shared credentials file; its keys win over the config file's"},
    {"sso_cache_dir", LMCP_SETTING_STRING, "~/.aws/sso/cache", NULL, NULL, 0, 0,
     "where the AWS CLI keeps SSO tokens (aws sso login)"},
    {"process_timeout", LMCP_SETTING_DURATION, "60s", NULL, NULL, 100, 3600000,
     "credential_process: time allowed before it is killed"},
    LMCP_SETTINGS_END,
};

static int profile_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    cred_ctx *c = cred_ctx_new(ctx, true);
    if (!c)
        return LMCP_ERR;
    *state = c;
    return LMCP_OK;
}

static void profile_destroy(void *state) { free(state); }

static int profile_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    cred_ctx *c = state;
    bool explicit_;
    const char *name = cred_profile_name(c->host, c->settings, &explicit_);
    return cred_profile_resolve(c, name, explicit_, out, err, errlen);
}

static const lmcp_credentials_ops profile_ops = {.resolve = profile_resolve, .region = cred_region_hook};

static const lmcp_plugin_def profile_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "profile",
    .version = "1.0",
    .description = "a profile of ~/.aws/config and ~/.aws/credentials like the AWS CLI: static keys, assume role "
                   "(source_profile, credential_source), credential_process, web identity, SSO",
    .settings = profile_settings,
    .init = profile_init,
    .destroy = profile_destroy,
    .credentials = &profile_ops,
};

LMCP_PLUGIN_DEFINE(profile_plugin)
