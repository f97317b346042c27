/* The credentials chain: credentials plugin instances in conf order; the first that yields
 * credentials wins. Credentials that expire are cached and refreshed ahead of expiry
 * (5 minutes early, or half their lifetime when that is shorter) by one caller while the others
 * keep using the still-valid ones; a failed refresh keeps serving until real expiry and logs why.
 * Thread-safe. */
#ifndef LMCP_CREDENTIALS_CHAIN_H
#define LMCP_CREDENTIALS_CHAIN_H
#include <stddef.h>
#include <stdint.h>
#include <lambda-mcp/plugin.h>

struct lmcp_instance;
typedef struct creds_chain creds_chain;

creds_chain *creds_chain_new(struct lmcp_instance **sources, size_t n);
void creds_chain_free(creds_chain *c);
/* aws_creds_fn-compatible: a copy the caller frees with credentials_free(). */
int creds_chain_get(void *chain, lmcp_credentials **out, char *err, size_t errlen);
/* Resolve with one instance, bypassing the cache (credential_source, tests). */
int creds_resolve_one(struct lmcp_instance *inst, lmcp_credentials **out, char *err, size_t errlen);
/* Ask the sources for a region (profile, IMDS), in order. */
int creds_chain_region(creds_chain *c, char *buf, size_t len, const char **source);
#endif
