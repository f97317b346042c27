/* IAM Identity Center (SSO) credentials from the AWS CLI's login cache.
 *
 * Configuration, in either form (as the AWS CLI v2 writes it with `aws configure sso`):
 *   [profile dev]                      [profile dev]
 *   sso_session = corp                 sso_start_url = https://corp.awsapps.com/start
 *   sso_account_id = 111122223333      sso_region = us-east-1
 *   sso_role_name = ReadOnly           sso_account_id = 111122223333
 *   [sso-session corp]                 sso_role_name = ReadOnly
 *   sso_start_url = https://...
 *   sso_region = us-east-1
 *   sso_registration_scopes = sso:account:access
 *
 * The token is ~/.aws/sso/cache/<sha1 hex of the session name, or of the start URL>.json. When
 * it expires within 15 minutes (botocore's window) and the cache holds a refresh token and an
 * unexpired client registration, it is refreshed with SSO-OIDC CreateToken and the file is
 * rewritten (temporary file + rename, mode 0600). Then the SSO portal's GetRoleCredentials gives
 * the role's credentials. */
#ifndef LMCP_CRED_SSO_H
#define LMCP_CRED_SSO_H
#include <stddef.h>

#include <lambda-mcp/plugin.h>

#include "awsconfig.h"

typedef struct sso_conf {
    char *profile;
    char *session;      /* [sso-session NAME], or NULL for the legacy form */
    char *start_url;
    char *region;       /* sso_region */
    char *account_id;
    char *role_name;
} sso_conf;

/* LMCP_OK: the profile is an SSO profile (complete); LMCP_NOT_FOUND: it has no sso_account_id
 * or sso_role_name (not an SSO profile, or no such profile); LMCP_ERR: incomplete or
 * inconsistent configuration, with err. */
int sso_conf_from_profile(const aws_files *f, const char *profile, sso_conf *c, char *err, size_t errlen);
void sso_conf_free(sso_conf *c);
/* the cache file name's stem: sha1 hex of the session name or the start URL */
void sso_cache_key(const sso_conf *c, char out[41]);
/* "`aws sso login --sso-session corp`" or "`aws sso login --profile dev`" */
void sso_login_hint(const sso_conf *c, char *buf, size_t len);

int sso_fetch(const lmcp_host *h, const lmcp_instance *inst, const sso_conf *c, const char *cache_dir,
              lmcp_credentials *out, char *err, size_t errlen);
#endif
