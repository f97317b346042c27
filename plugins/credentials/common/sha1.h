/* SHA-1 (FIPS 180-4), for one thing only: the AWS CLI names its SSO token cache files
 * ~/.aws/sso/cache/<hex SHA-1 of the session name or start URL>.json. Not for security. */
#ifndef LMCP_CRED_SHA1_H
#define LMCP_CRED_SHA1_H
#include <stddef.h>
#include <stdint.h>

typedef struct cc_sha1_ctx {
    uint32_t h[5];
    uint64_t total;      /* bytes hashed so far */
    unsigned char block[64];
    size_t used;         /* bytes in block */
} cc_sha1_ctx;

void cc_sha1_init(cc_sha1_ctx *c);
void cc_sha1_update(cc_sha1_ctx *c, const void *data, size_t len);
void cc_sha1_final(cc_sha1_ctx *c, unsigned char out[20]);
void cc_sha1(const void *data, size_t len, unsigned char out[20]);
void cc_sha1_hex(const void *data, size_t len, char out[41]); /* lower-case hex, NUL-terminated */
#endif
