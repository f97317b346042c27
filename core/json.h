/* JSON services for plugins (lmcp_json is a json_object) and canonical serialisation. */
#ifndef LMCP_JSON_H
#define LMCP_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <lambda-mcp/plugin.h>

/* Keys sorted at every level, no whitespace: equal JSON values give equal strings. */
char *json_canonical(const json_object *o);
/* Parse a complete JSON text with json_parse_strict() (util/jsonparse.h), nesting at most
 * JSON_MAX_DEPTH. Returns the value; NULL with a message in err when it is not JSON, and NULL
 * with err set to "" for the JSON literal null (json-c's null is the NULL pointer). */
json_object *json_parse_text(const char *text, size_t len, char *err, size_t errlen);

/* The lmcp_host JSON functions. */
lmcp_json *hj_parse(const char *text, size_t len, char *err, size_t errlen);
char *hj_to_string(const lmcp_json *j, unsigned flags);
void hj_put(lmcp_json *j);
lmcp_json *hj_ref(lmcp_json *j);
lmcp_json_type hj_type(const lmcp_json *j);
lmcp_json *hj_get(const lmcp_json *obj, const char *key);
size_t hj_length(const lmcp_json *j);
lmcp_json *hj_index(const lmcp_json *arr, size_t i);
const char *hj_object_key(const lmcp_json *obj, size_t i);
const char *hj_string(const lmcp_json *j);
int64_t hj_int(const lmcp_json *j);
double hj_double(const lmcp_json *j);
bool hj_bool(const lmcp_json *j);
lmcp_json *hj_new_object(void);
lmcp_json *hj_new_array(void);
lmcp_json *hj_new_string(const char *s);
lmcp_json *hj_new_int(int64_t v);
lmcp_json *hj_new_double(double v);
lmcp_json *hj_new_bool(bool v);
int hj_set(lmcp_json *obj, const char *key, lmcp_json *val);
int hj_append(lmcp_json *arr, lmcp_json *val);

#define JO(j) ((json_object *)(j))
#define LJ(o) ((lmcp_json *)(o))
#endif
