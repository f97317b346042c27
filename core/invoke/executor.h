/* The executor runs tools/call off the reader thread: a pool of worker threads (up to
 * max_inflight calls at once), each call going through argument validation, then the
 * wrapper chain outermost first, then the invoker (Lambda Invoke). */
#ifndef LMCP_INVOKE_EXECUTOR_H
#define LMCP_INVOKE_EXECUTOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "invoke/call.h"

struct chain;       /* invoke/chain.h */
struct aws_client;

typedef struct executor_opts {
    size_t max_inflight;       /* worker threads at most; default 64 */
    size_t max_queued;         /* calls waiting for a worker before new ones are refused; default 1024 */
    int64_t idle_timeout_ms;   /* a thread idle this long leaves, down to EXECUTOR_MIN_THREADS; default 30 s */
} executor_opts;
/* Threads kept however long the pool idles: the one reading and one ready to take over reading
 * when it runs the call it read (the sequential path then starts no thread). */
#define EXECUTOR_MIN_THREADS 2
#define EXECUTOR_IDLE_TIMEOUT_MS 30000

/* Called on a worker thread when the call has finished (any outcome, cancelled included), or on
 * the thread of executor_withdraw() or executor_shutdown() for a call that never started. */
typedef void (*call_done_fn)(void *ctx, lmcp_call *call, lmcp_result *res);

typedef struct executor executor;
/* chain: the default wrapper chain, used for calls whose snapshot carries none (may be NULL). */
executor *executor_new(const executor_opts *o, struct chain *chain);
/* Queue the call (takes a reference). Returns 0, or -1 when the queue is full. */
int executor_submit(executor *e, lmcp_call *call, call_done_fn done, void *ctx);
size_t executor_inflight(executor *e);
/* Threads alive now (the one reading included; not those that left after idling). *left (when
 * not NULL): threads that left and are not joined yet (each still holds its stack): at most one. */
size_t executor_threads(executor *e, size_t *left);
/* A call the client cancelled before it started: take it out of the queue and finish it at once
 * (its done callback runs on this thread, with a Cancelled result), so that it no longer counts
 * against max_queued while every worker is busy. Returns false, doing nothing, when the call is
 * not waiting in the queue (running, finished, or finished by shutdown). */
bool executor_withdraw(executor *e, lmcp_call *call);
/*
 * Leader/followers reading. Once started, the executor's threads take turns at reading: the thread
 * holding the reader role calls read_fn, which reads one message and dispatches it (a tools/call
 * is submitted from inside it). When that queued a call, the thread hands the reader role to an
 * idle thread (or a new one) and runs the call itself, so a call starts on the thread that read
 * it — no hand-off to another thread on its way to Lambda. There is always a thread free to read
 * (max_inflight running calls plus the reader), so cancellations are read while calls run.
 * read_fn returns false at the end of input; eof_fn is then called once (on that thread).
 */
typedef bool (*executor_read_fn)(void *ctx);
typedef void (*executor_eof_fn)(void *ctx);
void executor_start_reading(executor *e, executor_read_fn read_fn, executor_eof_fn eof_fn, void *ctx);

/* Stop accepting calls and starting threads; wait up to grace_ms for running and queued ones,
 * then cancel the rest and join. Every submitted call gets its done callback exactly once.
 * A thread still blocked in read_fn is left alone (detached): the process is about to exit.
 * When that read_fn returns, the thread takes no more calls and leaves. */
void executor_shutdown(executor *e, int64_t grace_ms);
/* End the grace period of an executor_shutdown() running on another thread now (a SIGTERM
   during the drain at the end of input): its calls are cancelled at once. */
void executor_hurry(executor *e);
void executor_free(executor *e);
#endif
