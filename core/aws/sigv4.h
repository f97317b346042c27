/* AWS Signature Version 4 (header signing), HMAC-SHA256 from OpenSSL libcrypto.
 * Verified against the AWS test suite vectors in tests/data/sigv4 (tests/unit/test_sigv4.c). */
#ifndef LMCP_AWS_SIGV4_H
#define LMCP_AWS_SIGV4_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "util/hdrs.h"

typedef struct sigv4_params {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;   /* NULL or "" when none */
    const char *region;
    const char *service;         /* signing name, e.g. "lambda" */
    time_t when;                 /* signing time, UTC seconds */
    bool normalize_path;         /* remove "." / ".." segments and duplicate slashes (non-S3) */
    bool double_encode_path;     /* URI-encode the already-encoded path again (non-S3) */
    bool add_content_sha256;     /* add an x-amz-content-sha256 header (S3 style) */
    bool omit_session_token;     /* add X-Amz-Security-Token after signing, unsigned (STS vectors) */
} sigv4_params;

typedef struct sigv4_request {
    const char *method;
    const char *path;            /* as sent on the wire (already URI-encoded once) */
    const char *query;           /* as sent, without '?'; NULL or "" when none */
    hdrs *headers;               /* must contain Host; signer adds X-Amz-Date,
                                    X-Amz-Security-Token and Authorization */
    const void *body;
    size_t body_len;
} sigv4_request;

/* Sign in place: adds the headers above. Returns 0, or -1 with err set. */
int sigv4_sign(const sigv4_params *p, sigv4_request *r, char *err, size_t errlen);

/* The intermediate artefacts, exposed for the test vectors. Results are malloc'd. */
char *sigv4_canonical_request(const sigv4_params *p, const sigv4_request *r);
char *sigv4_string_to_sign(const sigv4_params *p, const char *canonical_request);
void sigv4_signature(const sigv4_params *p, const char *string_to_sign, char out[65]);
void sigv4_amz_date(time_t when, char out[17]);   /* YYYYMMDDTHHMMSSZ */

/* SHA-256 of data as 64 lowercase hex digits, with this thread's digest context (the one the
 * signer uses). Returns 0, or -1 with out empty when libcrypto fails. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);
#endif
