/* Protocol versions, and the mapping of a call's outcome (lmcp_result) to an MCP
 * CallToolResult for the protocol version the request was served with. */
#ifndef LMCP_MCP_RESULTS_H
#define LMCP_MCP_RESULTS_H
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "invoke/call.h"
#include "util/jsonparse.h"

/* The versions we speak. Modern ones carry their version in every request's _meta; legacy
 * ones negotiate it with `initialize`. Lists are newest first. */
#define MCP_MODERN_VERSION "2026-07-28"
#define MCP_LEGACY_LATEST "2025-11-25"
extern const char *const mcp_modern_versions[];  /* NULL-terminated */
extern const char *const mcp_legacy_versions[];  /* NULL-terminated */
extern const char *const mcp_all_versions[];     /* modern first, NULL-terminated */

/* The static spelling of a supported version (so it can be kept without copying), or NULL. */
const char *mcp_modern_version(const char *v);
const char *mcp_legacy_version(const char *v);
bool mcp_version_is_modern(const char *v);
/* structuredContent: any JSON value (modern), objects only (2025-06-18, 2025-11-25), never
 * (2024-11-05, 2025-03-26). */
bool mcp_version_structured_any(const char *v);
bool mcp_version_structured_object(const char *v);

/* A new CallToolResult object for version v: content (one text block), isError, and
 * structuredContent where v allows it; modern versions also get "resultType": "complete"
 * (the caller adds the _meta it wants). function_name names the function in error texts. */
json_object *mcp_call_result(const lmcp_result *r, const char *function_name, const char *v);

/* The error text for a result whose outcome is not OK (what content[0].text says).
 * Owned by the caller (free). */
char *mcp_result_error_text(const lmcp_result *r, const char *function_name);

/* A json string from arbitrary bytes: invalid UTF-8 is replaced with U+FFFD. */
json_object *mcp_json_string_utf8(const char *s, size_t len);
/* Copy s (len bytes) into out as valid UTF-8 (invalid sequences become U+FFFD). */
void mcp_utf8_sanitize(buf *out, const char *s, size_t len);

/* Strict JSON parsing is json_parse_strict() (util/jsonparse.h); this older name stays for
 * existing callers (tests). */
#define mcp_json_parse_strict json_parse_strict

/* Serialize without pretty printing and without escaping '/'. Owned by the caller (free). */
char *mcp_json_dump(json_object *o, size_t *len);
#endif
