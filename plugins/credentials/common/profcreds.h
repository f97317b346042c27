/* Credentials from a profile of the AWS shared files: plan (plan.h), then carry the plan out
 * through the host (STS, SSO, credential_process, credential_source). Shared by the profile and
 * sso plugins. */
#ifndef LMCP_CRED_PROFCREDS_H
#define LMCP_CRED_PROFCREDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lambda-mcp/plugin.h>

typedef struct cred_ctx {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const lmcp_settings *settings;  /* the plugin's: profile, config_file, credentials_file, ... */
    const char *config_file;       /* NULL: ~/.aws/config */
    const char *credentials_file;  /* NULL: ~/.aws/credentials */
    const char *sso_cache_dir;     /* NULL: ~/.aws/sso/cache */
    int64_t process_timeout_ms;
    bool logged_once;              /* the first success is logged at info level, later ones at debug */
} cred_ctx;

/* A context for the profile and sso plugins, from their settings (config_file, credentials_file,
 * sso_cache_dir, and process_timeout when with_process). NULL when out of memory. Free with free(). */
cred_ctx *cred_ctx_new(const lmcp_plugin_ctx *pctx, bool with_process);
/* The credentials_ops region() hook of both: the profile's `region`. state is a cred_ctx. */
int cred_region_hook(void *state, char *buf, size_t len);

/* The profile to use: the `profile` setting (conf, else AWS_PROFILE) when set and not empty,
 * else AWS_DEFAULT_PROFILE, else "default". *explicit_ is false only for the last case. */
const char *cred_profile_name(const lmcp_host *h, const lmcp_settings *s, bool *explicit_);

/* LMCP_OK; LMCP_NOT_FOUND when the profile is not there (and was not asked for explicitly) or
 * has no credentials; LMCP_ERR otherwise (an explicitly named profile that does not exist is an
 * error naming the files that were read). */
int cred_profile_resolve(cred_ctx *c, const char *profile, bool explicit_, lmcp_credentials *out, char *err,
                         size_t errlen);
/* only the SSO part: LMCP_NOT_FOUND unless the profile is an SSO profile */
int cred_sso_resolve(cred_ctx *c, const char *profile, bool explicit_, lmcp_credentials *out, char *err,
                     size_t errlen);
/* the profile's `region`, for the region() hook */
int cred_profile_region(cred_ctx *c, const char *profile, char *buf, size_t len);

/* Run a credential_process command line (see shellsplit.h and proc.h) and parse its Version 1
 * JSON. `who` names it in messages ("profile \"dev\""). */
int cred_process_run(const lmcp_host *h, const lmcp_instance *inst, const char *who, const char *cmdline,
                     int64_t timeout_ms, lmcp_credentials *out, char *err, size_t errlen);
#endif
