/* The AWS shared config file (~/.aws/config, AWS_CONFIG_FILE) and shared credentials file
 * (~/.aws/credentials, AWS_SHARED_CREDENTIALS_FILE) read together, the way the AWS CLI does:
 *
 *   config file       [default] or [profile NAME] is a profile (the name may be quoted:
 *                     [profile "my name"]; a bare [NAME] is not a profile); [sso-session NAME]
 *                     and [services NAME] are their own namespaces. When both [default] and
 *                     [profile default] exist, the one further down the file wins (botocore).
 *   credentials file  [NAME] is profile NAME.
 *
 * A profile exists when either file has it. Its keys are the config file's, overridden key by
 * key by the credentials file's (botocore's full_config). Empty values count as absent. */
#ifndef LMCP_CRED_AWSCONFIG_H
#define LMCP_CRED_AWSCONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "ini.h"

typedef struct aws_files {
    char *config_path;       /* expanded */
    char *credentials_path;  /* expanded */
    bool config_exists, credentials_exists;
    ini_doc config, credentials;
} aws_files;

/* Read both files (a missing file is simply empty). Returns 0, or -1 with err when a file
 * exists but cannot be read. config_path/credentials_path are expanded ($VAR, ~). */
int aws_files_load(aws_files *f, const char *config_path, const char *credentials_path, char *err, size_t errlen);
/* Parse from memory (unit tests); either text may be NULL (no such file). */
void aws_files_from_text(aws_files *f, const char *config_text, const char *credentials_text);
void aws_files_free(aws_files *f);

typedef struct aws_profile {
    const ini_section *config;       /* the profile's section in the config file, or NULL */
    const ini_section *credentials;  /* its section in the credentials file, or NULL */
} aws_profile;

/* false when neither file has the profile */
bool aws_profile_find(const aws_files *f, const char *name, aws_profile *out);
/* the merged value: credentials file first, then config file; NULL if absent or empty */
const char *aws_profile_get(const aws_profile *p, const char *key);
/* from one file only */
const char *aws_section_value(const ini_section *s, const char *key);
const ini_section *aws_sso_session_find(const aws_files *f, const char *name);

/* "the config file /h/.aws/config and the credentials file /h/.aws/credentials (missing)" */
char *aws_files_describe(const aws_files *f);
#endif
