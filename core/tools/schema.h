/* Argument validation against a tool's input schema (JSON Schema draft 4 .. 2020-12 subset:
 * type, properties, required, additionalProperties, items, enum, const, minimum/maximum,
 * exclusive bounds, minLength/maxLength, pattern, minItems/maxItems, uniqueItems, allOf, anyOf,
 * oneOf, not, $ref to local definitions). */
#ifndef LMCP_TOOLS_SCHEMA_H
#define LMCP_TOOLS_SCHEMA_H
#include <stddef.h>
#include <json-c/json.h>

typedef struct schema_validator schema_validator;

/* Compile a schema (takes a reference). NULL with err set if the schema is unusable. */
schema_validator *schema_validator_new(json_object *schema, char *err, size_t errlen);
void schema_validator_free(schema_validator *v);
/* Validate: returns the number of violations; *report (malloc'd, caller frees) lists each
 * one as "$.path: message" on its own line. */
size_t schema_validate(const schema_validator *v, json_object *instance, char **report);
/* What schema_validator_new() ignored (one warning a line: uncompilable patterns, unsupported
 * keywords, malformed keyword values), or NULL. Owned by v. The compiler logs nothing: whoever
 * knows which tool the schema belongs to logs these (discovery, fn_set_input_schema). */
const char *schema_validator_warnings(const schema_validator *v);
#endif
