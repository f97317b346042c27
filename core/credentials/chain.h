/* The credentials chain: credentials plugin instances in conf order; the first that yields
 * credentials wins. Credentials that expire are cached and refreshed ahead of expiry
 * (5 minutes early, or half their lifetime when that is shorter); a failed refresh keeps serving
 * until real expiry and logs why. The chain is walked on a thread of its own, never by a caller:
 * a caller holding valid credentials gets them at once (the refresh goes on in the background),
 * and a caller without waits at most until its deadline or its cancellation. Credentials that
 * had already expired (or expire within a second) when fetched count as none found.
 * Thread-safe. */
#ifndef LMCP_CREDENTIALS_CHAIN_H
#define LMCP_CREDENTIALS_CHAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lambda-mcp/plugin.h>

struct lmcp_instance;
typedef struct creds_chain creds_chain;

creds_chain *creds_chain_new(struct lmcp_instance **sources, size_t n);
void creds_chain_free(creds_chain *c);
/* aws_creds_fn-compatible: a copy the caller frees with credentials_free(). Without valid
 * credentials, waits for the chain until deadline_us (clock_mono_us(); 0: no limit), then
 * LMCP_TIMEOUT, or until *cancel becomes nonzero (cancel may be NULL), then LMCP_CANCELLED. */
int creds_chain_get_until(void *chain, int64_t deadline_us, const volatile int *cancel, lmcp_credentials **out,
                          char *err, size_t errlen);
/* creds_chain_get_until() with no deadline and no cancel flag */
int creds_chain_get(void *chain, lmcp_credentials **out, char *err, size_t errlen);
/* true while the chain's thread walks it (plugins running: the process must not run exit()'s
 * library destructors under it) */
bool creds_chain_busy(creds_chain *c);
/* Resolve with one instance, bypassing the cache (credential_source, tests). */
int creds_resolve_one(struct lmcp_instance *inst, lmcp_credentials **out, char *err, size_t errlen);
/* Ask the sources for a region (profile, IMDS), in order. */
int creds_chain_region(creds_chain *c, char *buf, size_t len, const char **source);
#endif
