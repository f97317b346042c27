/* Which credentials a profile gives, decided from the files alone (no I/O besides what is
 * already loaded), following the AWS CLI's (botocore's) provider order:
 *
 *   top-level profile P:
 *     1. role_arn without web_identity_token_file    -> AssumeRole chain (below)
 *     2. web_identity_token_file (+ role_arn)        -> AssumeRoleWithWebIdentity
 *     3. sso_account_id / sso_role_name              -> SSO (sso_session or legacy keys)
 *     4. aws_access_key_id in the credentials file   -> static keys from the credentials file
 *     5. credential_process                          -> the process's output
 *     6. aws_access_key_id in the config file        -> static keys from the config file
 *     otherwise: no credentials (not found)
 *
 *   AssumeRole chain of profile R (role_arn):
 *     exactly one of credential_source (Environment | Ec2InstanceMetadata | EcsContainer: the
 *     env, imds or container plugin) or source_profile S. For S: when S has static keys, or has
 *     no role_arn of its own, S's credentials come from steps 2-6 above ("must have
 *     credentials", else an error); otherwise S is itself assumed first (any depth). Visiting a
 *     profile twice is a loop (an error), except a profile naming itself as source_profile while
 *     holding static keys (its keys are the source). mfa_serial is refused: no one can type a
 *     code into a stdio server.
 *
 * Keys are looked up in the merged profile (credentials file over config file) except for the
 * static keys of steps 4 and 6, which come from one file each. */
#ifndef LMCP_CRED_PLAN_H
#define LMCP_CRED_PLAN_H
#include <stdbool.h>
#include <stddef.h>

#include "awsconfig.h"
#include "sso.h"

typedef enum plan_base {
    PLAN_NONE = 0,
    PLAN_STATIC_CREDENTIALS_FILE,
    PLAN_STATIC_CONFIG_FILE,
    PLAN_SOURCE,        /* credential_source */
    PLAN_WEB_IDENTITY,
    PLAN_SSO,
    PLAN_PROCESS
} plan_base;

typedef struct cred_plan {
    plan_base base;
    char *base_profile;  /* the profile whose keys give the base credentials */
    char *source;        /* PLAN_SOURCE: the plugin, "env", "imds" or "container" */
    sso_conf sso;        /* PLAN_SSO: base_profile's SSO configuration (all NULL otherwise) */
    char **hops;         /* profiles whose role_arn is assumed in turn, innermost first */
    size_t nhops;
    bool missing;        /* NOT_FOUND because the profile does not exist (vs. has no credentials) */
} cred_plan;

/* LMCP_OK with a plan; LMCP_NOT_FOUND (plan->missing tells which case) or LMCP_ERR with err. */
int cred_plan_build(const aws_files *f, const char *profile, cred_plan *plan, char *err, size_t errlen);
void cred_plan_free(cred_plan *plan);
/* "static keys of profile \"dev\" (credentials file) -> AssumeRole (profile \"a\") -> ..." */
char *cred_plan_describe(const cred_plan *plan);
/* the plugin for a credential_source value, or NULL if it is not one of the three */
const char *cred_source_plugin(const char *credential_source);
#endif
