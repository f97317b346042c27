/* Calling credential endpoints and reading their JSON answers through the host table (plugins
 * reach AWS and JSON only through it). Header-only: used by the common library and by the
 * plugins themselves. */
#ifndef LMCP_CRED_HOSTJSON_H
#define LMCP_CRED_HOSTJSON_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <lambda-mcp/plugin.h>

#include "util.h"

/* The string member key of object o, or NULL when o is NULL, the member is absent, not a string,
 * or empty (endpoints send "" for "none"). */
static inline const char *cc_jstr(const lmcp_host *h, const lmcp_json *o, const char *key)
{
    const lmcp_json *v = o ? h->json_get(o, key) : NULL;
    const char *s = v ? h->json_string(v) : NULL;
    return s && *s ? s : NULL;
}

/* The number member key of object o in *out (a float truncated, anything beyond the int64 range
 * clamped to it: the host's json_int does both, where a cast of the double would be undefined):
 * true, or false when o is NULL or the member is absent or not a number. */
static inline bool cc_jint(const lmcp_host *h, const lmcp_json *o, const char *key, int64_t *out)
{
    const lmcp_json *v = o ? h->json_get(o, key) : NULL;
    lmcp_json_type t = v ? h->json_type(v) : LMCP_JSON_NULL;
    if (t != LMCP_JSON_INT && t != LMCP_JSON_DOUBLE)
        return false;
    *out = h->json_int(v);
    return true;
}

/* Credentials in the JSON shape the container endpoint, IMDS and credential_process share:
 * AccessKeyId, SecretAccessKey, a token under token_key ("Token", or "SessionToken" for
 * credential_process), an optional ISO 8601 Expiration and an optional AccountId. The strings
 * are borrowed from the document. */
typedef struct cc_json_creds {
    const char *akid, *secret, *token, *account;
    const char *expiration; /* as sent; NULL when absent */
    int64_t expires_ms;     /* 0 when absent */
} cc_json_creds;

/* Read j into *c: NULL when the credentials are usable, else what is wrong with the document,
 * to follow "sent"/"printed" in a message. */
static inline const char *cc_json_creds_read(const lmcp_host *h, const lmcp_json *j, const char *token_key,
                                             cc_json_creds *c)
{
    c->akid = cc_jstr(h, j, "AccessKeyId");
    c->secret = cc_jstr(h, j, "SecretAccessKey");
    c->token = cc_jstr(h, j, token_key);
    c->account = cc_jstr(h, j, "AccountId");
    c->expiration = cc_jstr(h, j, "Expiration");
    c->expires_ms = 0;
    if (!j)
        return "something that is not JSON";
    if (!c->akid || !c->secret)
        return !c->akid ? "no AccessKeyId" : "no SecretAccessKey";
    if (c->expiration && cc_parse_time(c->expiration, &c->expires_ms) < 0)
        return "an Expiration that is not an ISO 8601 time";
    return NULL;
}

static inline void cc_json_creds_set(const lmcp_host *h, lmcp_credentials *out, const cc_json_creds *c)
{
    h->credentials_set(out, c->akid, c->secret, c->token, c->expires_ms);
    if (c->account)
        h->credentials_set_account(out, c->account);
}

/* Send rq and accept a 2xx answer: LMCP_OK with *resp (the caller frees it). Otherwise LMCP_ERR,
 * nothing to free, err = "WHAT failed: <transport error>" or "WHAT failed: HTTP <status> <code>:
 * <message>", and *status the HTTP status (0 when no answer came). */
static inline int cc_aws_call(const lmcp_host *h, const lmcp_instance *inst, const lmcp_aws_request *rq,
                              const char *what, lmcp_aws_response **resp, long *status, char *err, size_t errlen)
{
    char herr[512] = "";
    *resp = NULL;
    *status = 0;
    if (h->aws_request(inst, rq, resp, herr, sizeof herr) != LMCP_OK) {
        snprintf(err, errlen, "%s failed: %s", what, herr);
        return LMCP_ERR;
    }
    *status = h->aws_status(*resp);
    if (*status >= 200 && *status < 300)
        return LMCP_OK;
    const char *code = h->aws_error_code(*resp), *msg = h->aws_error_message(*resp);
    snprintf(err, errlen, "%s failed: HTTP %ld %s%s%.300s", what, *status, code ? code : "", msg ? ": " : "",
             msg ? msg : "");
    h->aws_response_free(*resp);
    *resp = NULL;
    return LMCP_ERR;
}
#endif
