/* Reading the JSON answers of credential endpoints through the host table (plugins reach JSON
 * only through it). Header-only: used by the common library and by the plugins themselves. */
#ifndef LMCP_CRED_HOSTJSON_H
#define LMCP_CRED_HOSTJSON_H
#include <lambda-mcp/plugin.h>

/* The string member key of object o, or NULL when o is NULL, the member is absent, not a string,
 * or empty (endpoints send "" for "none"). */
static inline const char *cc_jstr(const lmcp_host *h, const lmcp_json *o, const char *key)
{
    const lmcp_json *v = o ? h->json_get(o, key) : NULL;
    const char *s = v ? h->json_string(v) : NULL;
    return s && *s ? s : NULL;
}
#endif
