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
 * (2024-11-05). */
bool mcp_version_structured_any(const char *v);
bool mcp_version_structured_object(const char *v);

/* A new CallToolResult object for version v: content (one text block: the payload, or for an
 * outcome that is not OK the error text), isError, and structuredContent where v allows it;
 * modern versions also get "resultType": "complete" (the caller adds the _meta it wants).
 * function_name names the function in error texts. */
json_object *mcp_call_result(const lmcp_result *r, const char *function_name, const char *v);

/* The same CallToolResult as JSON text, one line, appended to b (what the server writes; no
 * json-c objects are made for it); meta, when not NULL, is the JSON object text of its _meta. */
void mcp_call_result_text(buf *b, const lmcp_result *r, const char *function_name, const char *v, const char *meta);

/* A json string from arbitrary bytes: invalid UTF-8 is replaced with U+FFFD (utf8_sanitize). */
json_object *mcp_json_string_utf8(const char *s, size_t len);

/* Strict JSON parsing is json_parse_strict() (util/jsonparse.h); this older name stays for
 * existing callers (tests). */
#define mcp_json_parse_strict json_parse_strict

/* o serialized without pretty printing and without escaping '/': json-c's own buffer, owned by
 * o and valid until o is serialized again, changed or released. No copy is made: a message is
 * written from it as it is. */
const char *mcp_json_text(json_object *o, size_t *len);
#endif
