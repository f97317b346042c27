/* The one JSON parser of the core: RFC 8259 strictly (no NaN, no single quotes, no comments,
 * no trailing commas or bytes), strict UTF-8 (RFC 3629: no overlong forms, no surrogates as raw
 * bytes; a lone surrogate \u escape, which the grammar allows, becomes U+FFFD in the tree), a
 * nesting limit; then it builds json-c objects, keeping
 * every number as sent (an integer beyond 64 bits is a double that prints its digits: json-c's
 * own tokener clamps it to the int64/uint64 range). Every path that reads JSON text (MCP
 * messages, AWS responses, plugin JSON, stored schemas, payloads) goes through
 * json_parse_strict(), so they all agree on what JSON is. */
#ifndef LMCP_UTIL_JSONPARSE_H
#define LMCP_UTIL_JSONPARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "util/buf.h"

/* Nesting limit (objects and arrays) for documents: AWS responses, plugin JSON, input schemas
 * (discovery accepts them through json_parse_text, the registry reads them back), payloads.
 * MCP messages have their own, smaller limit (core/mcp/server.c). */
#define JSON_MAX_DEPTH 128

/* Parse text (len bytes, no NUL needed) as one complete JSON value nesting at most max_depth
 * containers. Returns true with *out a new reference, which is NULL for the JSON literal null;
 * false when it is not JSON, with *out NULL and *err (if err is not NULL) a short static
 * description. */
bool json_parse_strict(const char *text, size_t len, int max_depth, json_object **out, const char **err);

/* json_parse_strict's checks without building anything: whether text is one JSON value. */
bool json_check_strict(const char *text, size_t len, int max_depth, const char **err);

/* Append JSON text that json_check_strict accepted without its insignificant whitespace: one
 * line, every value (numbers, escapes) as written. */
void json_append_compact(buf *out, const char *text, size_t len);

/* The string member `key` of a JSON object, or NULL (o not an object, no such member, or not a
 * string). The pointer is owned by o. */
const char *json_get_str(json_object *o, const char *key);
#endif
