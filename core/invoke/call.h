/* One tools/call in flight (struct lmcp_call) and its outcome (struct lmcp_result).
 * A call is reference-counted: the MCP server (for cancellation) and the executor each hold
 * a reference. Cancellation sets a flag that aborts the HTTP transfer and wakes sleeps. */
#ifndef LMCP_INVOKE_CALL_H
#define LMCP_INVOKE_CALL_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <lambda-mcp/plugin.h>
#include "tools/registry.h"
#include "util/buf.h"

struct lmcp_result {
    lmcp_outcome outcome;
    buf payload;              /* OK: the function's payload; FUNCTION_ERROR: its error payload */
    json_object *payload_json; /* payload parsed, when whoever set it already parsed it (the
                                  invoker, for a function error), so it is not parsed twice;
                                  NULL otherwise. Owned; never copied (result_copy), so it stays
                                  on the thread of the call that made it. */
    char *error_type;         /* function errorType, AWS error code, or a wrapper's reason */
    char *error_message;
    char *request_id;
    char *executed_version;
    char *log_tail;           /* decoded last 4 KB of the function's log, when asked for */
    long http_status;
    int64_t retry_after_ms;   /* REFUSED/THROTTLED: a hint for the client */
    bool from_cache;
    bool lambda_called;       /* a request for this call went out to Lambda (or may have) */
    int64_t duration_us;      /* time spent below the wrapper that set it (invoker: Lambda) */
};
typedef struct lmcp_result lmcp_result;

void result_init(lmcp_result *r);
void result_clear(lmcp_result *r);            /* free the fields, back to OK/empty */
/* Set the payload (len bytes) and, when not NULL, its parse (takes that reference). */
void result_set_payload(lmcp_result *r, const char *payload, size_t len, json_object *parsed);
lmcp_result *result_new(void);
void result_free(lmcp_result *r);
void result_set_ok(lmcp_result *r, const char *payload, size_t len);
void result_set_errorv(lmcp_result *r, lmcp_outcome o, const char *type, const char *fmt, va_list ap);
void result_set_error(lmcp_result *r, lmcp_outcome o, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void result_copy(lmcp_result *dst, const lmcp_result *src);
const char *outcome_name(lmcp_outcome o);     /* "ok", "function_error", "throttled", ... */

/* Send a log line to the client for this call (set by the MCP server). */
typedef void (*call_log_fn)(void *ctx, lmcp_log_level level, const char *logger, const char *text);

struct lmcp_call {
    atomic_int refs;
    tool_snapshot *snap;      /* reference held for the call's lifetime */
    const tool *tool;         /* inside snap */
    json_object *arguments;   /* the client's arguments object (reference held) */
    json_object *event;       /* what is sent to Lambda (arguments, or arguments.parameters) */
    volatile int cancelled;   /* read by libcurl's progress callback */
    int64_t started_us;       /* monotonic */
    int64_t deadline_us;      /* monotonic; 0: none */
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* call_sleep_ms waits here; cancel broadcasts */
    call_log_fn log_fn;
    void *log_ctx;
    atomic_bool log_tail;     /* a wrapper asked for X-Amz-Log-Type: Tail */
    char *_Atomic args_sha256; /* hex SHA-256 of the canonical arguments, memoised on first use by
                                  host->call_arguments_sha256 (core/host.c); freed with the call */
};
typedef struct lmcp_call lmcp_call;

/* A new call with refs = 1. Takes a new reference on snap and on arguments. */
lmcp_call *call_new(tool_snapshot *snap, const tool *t, json_object *arguments, int64_t timeout_ms);
lmcp_call *call_ref(lmcp_call *c);
void call_release(lmcp_call *c);
void call_cancel(lmcp_call *c);
bool call_is_cancelled(const lmcp_call *c);
/* Sleep up to ms; LMCP_OK when the time passed, LMCP_CANCELLED when cancelled, LMCP_TIMEOUT
   when the call's deadline came first. */
int call_sleep(lmcp_call *c, int64_t ms);
#endif
