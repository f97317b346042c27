/* The executor runs tools/call off the reader thread: a pool of worker threads (up to
 * max_inflight calls at once), each call going through argument validation, then the
 * wrapper chain outermost first, then the invoker (Lambda Invoke). */
#ifndef LMCP_INVOKE_EXECUTOR_H
#define LMCP_INVOKE_EXECUTOR_H
#include <stddef.h>
#include <stdint.h>
#include "invoke/call.h"

struct chain;       /* invoke/chain.h */
struct aws_client;

typedef struct executor_opts {
    size_t max_inflight;       /* worker threads at most; default 64 */
    size_t max_queued;         /* calls waiting for a worker before new ones are refused; default 1024 */
} executor_opts;

/* Called on a worker thread when the call has finished (any outcome, cancelled included). */
typedef void (*call_done_fn)(void *ctx, lmcp_call *call, lmcp_result *res);

typedef struct executor executor;
/* chain: the default wrapper chain, used for calls whose snapshot carries none (may be NULL). */
executor *executor_new(const executor_opts *o, struct chain *chain);
/* Queue the call (takes a reference). Returns 0, or -1 when the queue is full. */
int executor_submit(executor *e, lmcp_call *call, call_done_fn done, void *ctx);
size_t executor_inflight(executor *e);
/* Stop accepting calls; wait up to grace_ms for running ones, then cancel the rest and join. */
void executor_shutdown(executor *e, int64_t grace_ms);
void executor_free(executor *e);
/* Run one call synchronously on this thread (tests, --call). */
void executor_run_sync(executor *e, lmcp_call *call, lmcp_result *res);
#endif
