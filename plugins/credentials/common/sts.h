/* AWS STS (query protocol, API version 2011-06-15) through the host: AssumeRole (signed with
 * the source credentials) and AssumeRoleWithWebIdentity (unsigned), against the regional
 * endpoint of the given region (or AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL / the conf). */
#ifndef LMCP_CRED_STS_H
#define LMCP_CRED_STS_H
#include <stddef.h>
#include <stdint.h>

#include <lambda-mcp/plugin.h>

/* ---- pure parts (unit tested) ---- */

typedef struct sts_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    char *expiration;     /* as sent, e.g. "2026-01-02T03:04:05Z" */
    int64_t expiration_ms;
    char *arn;            /* AssumedRoleUser/Arn, or NULL */
    char *account_id;     /* the account field of that ARN, or NULL */
} sts_creds;

/* Parse <ActionResponse><ActionResult><Credentials>...</Credentials>... into c. Returns 0, or
 * -1 with err (which never quotes the document: it holds secrets). */
int sts_parse_credentials(const char *xml, size_t len, const char *action, sts_creds *c, char *err, size_t errlen);
void sts_creds_free(sts_creds *c); /* wipes */

/* The inner text of the first <tag> (or <tag attr...>) element in [xml, end), entities decoded.
 * Returns a new string, or NULL when absent. <tag/> is "". */
char *sts_xml_text(const char *xml, const char *end, const char *tag);
/* Locate the inner part of the first <tag ...>...</tag> element; 0 or -1. */
int sts_xml_element(const char *xml, const char *end, const char *tag, const char **inner, const char **inner_end);

/* "botocore-session-1767225600": the AWS CLI's default RoleSessionName */
char *sts_default_session_name(int64_t now_ms);
/* the account id of an ARN (arn:partition:service:region:ACCOUNT:...), or NULL */
char *sts_arn_account(const char *arn);

/* ---- requests ---- */

typedef struct sts_assume_role_params {
    const char *role_arn;
    const char *session_name;   /* NULL: botocore-session-<epoch> */
    const char *external_id;    /* NULL: none */
    int duration_seconds;       /* 0: the role's default */
    const char *region;         /* NULL: the server's region */
} sts_assume_role_params;

/* AssumeRole signed with src; on success fills out (credentials_set + account). */
int sts_assume_role(const lmcp_host *h, const lmcp_instance *inst, const lmcp_credentials *src,
                    const sts_assume_role_params *p, lmcp_credentials *out, char *err, size_t errlen);

/* AssumeRoleWithWebIdentity, unsigned, with the token read from token_file now (every call:
 * the file is rotated by the platform). */
int sts_assume_role_with_web_identity(const lmcp_host *h, const lmcp_instance *inst, const char *role_arn,
                                      const char *session_name, const char *token_file, const char *region,
                                      lmcp_credentials *out, char *err, size_t errlen);
#endif
