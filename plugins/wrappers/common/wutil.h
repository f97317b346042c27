/* Helpers shared by the wrapper plugins. */
#ifndef LMCP_WRAPPERS_WUTIL_H
#define LMCP_WRAPPERS_WUTIL_H

#include <stddef.h>

#include <lambda-mcp/plugin.h>

/* Log lines formatted under a plugin's lock and written after it is released, so a slow
 * stderr never stalls the other calls waiting for that lock:
 *
 *     wu_logq q;
 *     q.n = 0;
 *     lock; ... wu_log_add(&q, host, LMCP_LOG_WARN, "function %s: ...", key); ... unlock;
 *     wu_log_flush(&q, host, inst);
 *
 * A queue holds WU_LOGQ_MAX lines of up to WU_LOG_LINE bytes (longer text is cut); a line
 * beyond that is dropped. Lines below the host's log level are not even formatted. Only n is
 * initialised (not {0}: the 4 KB of lines are never zeroed), so an unused queue costs nothing. */
#define WU_LOGQ_MAX 4
#define WU_LOG_LINE 1024

typedef struct wu_logq {
    size_t n;
    lmcp_log_level level[WU_LOGQ_MAX];
    char text[WU_LOGQ_MAX][WU_LOG_LINE];
} wu_logq;

void wu_log_add(wu_logq *q, const lmcp_host *h, lmcp_log_level level, const char *fmt, ...) LMCP_PRINTF(4, 5);
void wu_log_flush(wu_logq *q, const lmcp_host *h, const lmcp_instance *inst);

/* The lowercase hex SHA-256 of the canonical JSON of the call's arguments: the host's memoised
 * digest (computed once per call for all wrappers) when the host has call_arguments_sha256, else
 * computed here into buf. The result is valid for the call's lifetime, or as long as buf. */
const char *wu_arguments_sha256(const lmcp_host *h, const lmcp_call *call, char buf[65]);

#endif
