/* Discovery: one run builds a new tool snapshot from the generation's discovery plugins.
 *
 *   selectors with a select hook run in their own threads  ─┐
 *   ListFunctions pages (marker chain), matched per function ─┼─► batches ─► filters ─► enrichers
 *   GetResources (tag index) in the background when needed ─┘    (one batch worker, conf order)
 *   ─► survivors, de-duplicated by ARN ─► tool names, schemas, per-tool settings ─► snapshot
 *
 * A run that fails (a listing error after retries, a plugin error, run_fail) returns NULL and
 * the caller keeps the previous snapshot. */
#ifndef LMCP_DISCOVERY_PIPELINE_H
#define LMCP_DISCOVERY_PIPELINE_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <lambda-mcp/plugin.h>
#include "tools/registry.h"

struct generation;

typedef struct discovery_stats {
    size_t listed;        /* functions seen in ListFunctions */
    size_t pages;
    size_t candidates;    /* selected (before filters) */
    size_t tools;
    size_t renamed;       /* name collisions resolved */
    int64_t duration_ms;
} discovery_stats;

/* The references (FUNCTION_LIST entries) GetFunction was refused for, with the time of the
 * refusal: a generation's memory across its discovery runs. One refusal concerns one function
 * (a cross-account ARN without a resource policy is refused while the role may read its own
 * account), so it is remembered per reference, not for the whole account. */
typedef struct getfunction_refusals {
    pthread_mutex_t mu;
    char **refs;
    int64_t *at_us;       /* clock_mono_us of the refusal */
    size_t n;
    char *account;        /* this account's id, once an account listing has shown it */
} getfunction_refusals;

void getfunction_refusals_init(getfunction_refusals *r);
void getfunction_refusals_free(getfunction_refusals *r);

tool_snapshot *discovery_run(struct generation *g, discovery_stats *st, char *err, size_t errlen);

/* Default per-function concurrency for host->parallel_for(limit 0) outside a discovery run (a
 * run uses its own generation's discovery.concurrency, on every thread that runs its hooks). */
void discovery_set_default_concurrency(size_t n);

/* lmcp_host implementations */
int host_parallel_for(size_t n, size_t limit, lmcp_parallel_fn fn, void *ctx);
int run_fetch(lmcp_discovery_run *run, const char *name_or_arn, lmcp_function **fn, char *err, size_t errlen);
lmcp_function *run_new_function(lmcp_discovery_run *run, const char *name, const char *arn);
void run_select(lmcp_discovery_run *run, lmcp_function *fn);
size_t run_count(const lmcp_discovery_run *run);
uint64_t run_serial(const lmcp_discovery_run *run);
lmcp_function *run_candidate(const lmcp_discovery_run *run, size_t i);
void run_reject(lmcp_discovery_run *run, lmcp_function *fn, const char *reason);
int run_load_tags(lmcp_discovery_run *run);
void run_fail(lmcp_discovery_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *fn_name(const lmcp_function *fn);
const char *fn_arn(const lmcp_function *fn);
const char *fn_description(const lmcp_function *fn);
const char *fn_config(const lmcp_function *fn, const char *field);
bool fn_has_tags(const lmcp_function *fn);
const char *fn_tag(const lmcp_function *fn, const char *key);
size_t fn_tags(const lmcp_function *fn, const char *const **keys, const char *const **values);
void fn_set_tags(lmcp_function *fn, size_t n, const char *const *keys, const char *const *values);
void fn_set_description(lmcp_function *fn, const char *description);
void fn_set_tool_name(lmcp_function *fn, const char *tool_name);
void fn_set_title(lmcp_function *fn, const char *title);
int fn_set_input_schema(lmcp_function *fn, const lmcp_json *schema, char *err, size_t errlen);
void fn_set_annotation(lmcp_function *fn, const char *hint, bool value);
void fn_set_qualifier(lmcp_function *fn, const char *qualifier);
#endif
