/* The MCP dispatcher for both eras over one stdio channel.
 *
 * Era by request: a request whose params._meta carries "io.modelcontextprotocol/protocolVersion"
 * is served statelessly as the modern revision it names (2026-07-28; another version gets
 * -32022 with the supported list). `initialize` opens a legacy session (2025-11-25, 2025-06-18,
 * 2024-11-05; 2025-03-26, whose servers must accept JSON-RPC batches, is answered with 2025-11-25)
 * scoped to the process. A request with neither gets -32600 naming both ways in.
 *
 * Methods: server/discover, initialize, notifications/initialized, ping, tools/list (cursor
 * pagination in name order), tools/call (runs on the executor; many in flight), logging/setLevel
 * (legacy), subscriptions/listen (modern; toolsListChanged), notifications/cancelled. */
#ifndef LMCP_MCP_SERVER_H
#define LMCP_MCP_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "invoke/executor.h"
#include "mcp/framing.h"
#include "tools/registry.h"

typedef struct mcp_server_opts {
    const char *name;              /* serverInfo.name: "lambda-mcp" */
    const char *version;           /* serverInfo.version */
    const char *instructions;      /* NULL: none */
    int64_t tools_ttl_ms;          /* modern tools/list ttlMs */
    size_t page_size;              /* tools per tools/list page; default 100 */
    int64_t progress_interval_ms;  /* heartbeat period for calls with a progressToken; 0: off */
    size_t max_line;               /* for the error message on oversized lines */
    out_writer *out;
    registry *reg;
    executor *exec;
    bool tools_pending;            /* tools/list and tools/call wait for mcp_server_tools_ready() */
} mcp_server_opts;

typedef struct mcp_server mcp_server;
mcp_server *mcp_server_new(const mcp_server_opts *o);
/* Handle one line from stdin (called on the reader thread). Never blocks on a Lambda call. */
void mcp_server_handle_line(mcp_server *s, const char *line, size_t len);
/* The first discovery has finished (whatever its outcome): the tools/list and tools/call that
 * waited for it (opts.tools_pending) are handled now, on the calling thread, in the order they
 * arrived, and the ones that come later at once. Everything else is answered at any time, so a
 * client's initialize or server/discover does not wait for discovery. A waiting request that
 * the client cancels is dropped; the shutdown answers those still waiting with an error. */
void mcp_server_tools_ready(mcp_server *s);
/* Wait up to timeout_ms until no request waits for the first discovery (at the end of input,
 * before the shutdown: a client may write its requests and close stdin at once). Returns true
 * when none waits (any more). */
bool mcp_server_wait_parked(mcp_server *s, int64_t timeout_ms);
/* The reader skipped a line longer than the limit: answer with an error (id null). */
void mcp_server_handle_oversized(mcp_server *s);
/* The tool set changed: notifications/tools/list_changed to an initialized legacy session
 * and on every modern subscriptions/listen stream that asked for toolsListChanged. */
void mcp_server_notify_tools_changed(mcp_server *s);
/* Input ended or SIGTERM: end subscriptions gracefully, drain or cancel calls (grace_ms). */
void mcp_server_shutdown(mcp_server *s, int64_t grace_ms);
void mcp_server_free(mcp_server *s);
#endif
