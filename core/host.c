#include "config.h"
#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "aws/sigv4.h"
#include "credentials/credentials.h"
#include "discovery/pipeline.h"
#include "invoke/call.h"
#include "invoke/chain.h"
#include "json.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

/* The generation that made the instance, which it keeps alive. No fallback to the current
 * generation: that pointer is not referenced and a reload may free it under the caller. */
static generation *gen_of(const lmcp_instance *inst) { return inst ? inst->owner : NULL; }

static void h_free(void *p) { free(p); }

static void h_log(const lmcp_instance *inst, lmcp_log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, inst ? inst->name : "plugin", fmt, ap);
    va_end(ap);
}

static const char *h_region(const lmcp_instance *inst)
{
    generation *g = gen_of(inst);
    return g && g->region ? g->region : "us-east-1";
}

static char *h_uri_encode(const char *s, bool encode_slash) { return uri_encode(s, encode_slash); }

static void h_sha256_hex(const void *data, size_t len, char out[65]);

static int h_aws_request(const lmcp_instance *inst, const lmcp_aws_request *req, lmcp_aws_response **resp, char *err,
                         size_t errlen)
{
    generation *g = gen_of(inst);
    if (!g || !g->aws) {
        snprintf(err, errlen, "AWS is not available yet");
        return LMCP_ERR;
    }
    return aws_request(g->aws, req, resp, err, errlen);
}

static int h_http_request(const lmcp_instance *inst, const lmcp_http_request *req, lmcp_aws_response **resp, char *err,
                          size_t errlen)
{
    generation *g = gen_of(inst);
    if (!g || !g->aws) {
        snprintf(err, errlen, "HTTP is not available yet");
        return LMCP_ERR;
    }
    return aws_http(g->aws, req, resp, err, errlen);
}

static long h_aws_status(const lmcp_aws_response *r) { return r->status; }
static const char *h_aws_body(const lmcp_aws_response *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return r->body.data ? r->body.data : "";
}
static const char *h_aws_header(const lmcp_aws_response *r, const char *name) { return hdrs_get(&r->headers, name); }
static const char *h_aws_error_code(const lmcp_aws_response *r) { return r->error_code; }
static const char *h_aws_error_message(const lmcp_aws_response *r) { return r->error_message; }
static const char *h_aws_request_id(const lmcp_aws_response *r) { return r->request_id; }
static void h_aws_response_free(lmcp_aws_response *r) { aws_response_free(r); }

static int64_t h_now_ms(void) { return clock_wall_ms(); }
static int64_t h_mono_us(void) { return clock_mono_us(); }

/* credentials */
static void h_cred_set(lmcp_credentials *c, const char *a, const char *s, const char *t, int64_t e)
{
    credentials_set(c, a, s, t, e);
}
static void h_cred_account(lmcp_credentials *c, const char *a) { credentials_set_account(c, a); }
static lmcp_credentials *h_cred_new(void) { return credentials_new(); }
static void h_cred_free(lmcp_credentials *c) { credentials_free(c); }
static const char *h_cred_akid(const lmcp_credentials *c) { return c->access_key_id; }
static int64_t h_cred_exp(const lmcp_credentials *c) { return c->expiration_ms; }

static int h_cred_resolve(const lmcp_instance *inst, const char *plugin_name, lmcp_credentials **out, char *err,
                          size_t errlen)
{
    generation *g = gen_of(inst);
    if (!g) {
        snprintf(err, errlen, "credentials are not available yet");
        return LMCP_ERR;
    }
    if (!plugin_name)
        return creds_chain_get(g->creds, out, err, errlen);
    return generation_resolve_with(g, plugin_name, out, err, errlen);
}

/* calls */
static const char *h_call_tool(const lmcp_call *c) { return c->tool->name; }
static const char *h_call_function(const lmcp_call *c) { return c->tool->function_name; }
static const char *h_call_arn(const lmcp_call *c) { return c->tool->function_arn; }
static const char *h_call_qualifier(const lmcp_call *c) { return c->tool->qualifier; }
static const lmcp_json *h_call_arguments(const lmcp_call *c) { return LJ(c->arguments); }
static const char *h_call_tag(const lmcp_call *c, const char *key) { return hdrs_get_exact(&c->tool->tags, key); }
static bool h_call_cancelled(const lmcp_call *c) { return call_is_cancelled(c); }
static int64_t h_call_deadline(const lmcp_call *c) { return c->deadline_us; }
static int h_call_sleep(const lmcp_call *c, int64_t ms) { return call_sleep((lmcp_call *)c, ms); }
static void h_call_log(const lmcp_call *c, lmcp_log_level level, const char *logger, const char *text)
{
    if (c->log_fn)
        c->log_fn(c->log_ctx, level, logger, text);
}
static void h_call_tail(lmcp_call *c) { atomic_store(&c->log_tail, true); }
static int h_call_next(const lmcp_next *next, lmcp_call *call, lmcp_result *res) { return chain_next(next, call, res); }

/* results */
static lmcp_outcome h_res_outcome(const lmcp_result *r) { return r->outcome; }
static const char *h_res_payload(const lmcp_result *r, size_t *len)
{
    if (len)
        *len = r->payload.len;
    return r->payload.data ? r->payload.data : "";
}
static const char *h_res_type(const lmcp_result *r) { return r->error_type; }
static const char *h_res_msg(const lmcp_result *r) { return r->error_message; }
static const char *h_res_reqid(const lmcp_result *r) { return r->request_id; }
static const char *h_res_ver(const lmcp_result *r) { return r->executed_version; }
static const char *h_res_tail(const lmcp_result *r) { return r->log_tail; }
static long h_res_status(const lmcp_result *r) { return r->http_status; }
static int64_t h_res_retry(const lmcp_result *r) { return r->retry_after_ms; }
static bool h_res_cached(const lmcp_result *r) { return r->from_cache; }
static void h_res_ok(lmcp_result *r, const char *p, size_t n) { result_set_ok(r, p, n); }
static void h_res_err(lmcp_result *r, lmcp_outcome o, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    result_set_errorv(r, o, type, fmt, ap);
    va_end(ap);
}
static void h_res_set_retry(lmcp_result *r, int64_t ms) { r->retry_after_ms = ms; }
static void h_res_set_cached(lmcp_result *r, bool v)
{
    r->from_cache = v;
    if (v)
        r->lambda_called = false; /* replayed: this call did not reach Lambda */
}
static bool h_res_lambda_called(const lmcp_result *r) { return r->lambda_called; }
static void h_res_copy(lmcp_result *d, const lmcp_result *s) { result_copy(d, s); }
static lmcp_result *h_res_new(void) { return result_new(); }
static void h_res_free(lmcp_result *r) { result_free(r); }

static void h_sha256_hex(const void *data, size_t len, char out[65])
{
    sigv4_sha256_hex(data, len, out); /* out is "" when libcrypto fails */
}

/* Memoised in the call: compute, then publish with a compare-and-swap; a thread that loses the
   race frees its own copy and returns the winner's (the same text). */
static const char *h_call_args_sha256(const lmcp_call *c)
{
    lmcp_call *mc = (lmcp_call *)c; /* the memo is not part of the call's observable state */
    char *d = atomic_load_explicit(&mc->args_sha256, memory_order_acquire);
    if (d)
        return d;
    char *canon = c->arguments ? json_canonical(c->arguments) : xstrdup("{}");
    char *mine = xmalloc(65);
    h_sha256_hex(canon, strlen(canon), mine);
    free(canon);
    char *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&mc->args_sha256, &expected, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
    free(mine);
    return expected;
}

static const lmcp_host g_host = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .size = sizeof(lmcp_host),
    .version = PACKAGE_VERSION,
    .free = h_free,
    .log = h_log,
    .log_enabled = log_enabled,
    .setting_string = settings_get_string,
    .setting_int = settings_get_int,
    .setting_bool = settings_get_bool,
    .setting_double = settings_get_double,
    .setting_duration_ms = settings_get_duration_ms,
    .setting_list = settings_get_list,
    .setting_map = settings_get_map,
    .setting_is_set = settings_is_set,
    .setting_origin = settings_origin,
    .region = h_region,
    .json_parse = hj_parse,
    .json_to_string = hj_to_string,
    .json_put = hj_put,
    .json_ref = hj_ref,
    .json_type = hj_type,
    .json_get = hj_get,
    .json_length = hj_length,
    .json_index = hj_index,
    .json_object_key = hj_object_key,
    .json_string = hj_string,
    .json_int = hj_int,
    .json_double = hj_double,
    .json_bool = hj_bool,
    .json_new_object = hj_new_object,
    .json_new_array = hj_new_array,
    .json_new_string = hj_new_string,
    .json_new_int = hj_new_int,
    .json_new_double = hj_new_double,
    .json_new_bool = hj_new_bool,
    .json_set = hj_set,
    .json_append = hj_append,
    .uri_encode = h_uri_encode,
    .sha256_hex = h_sha256_hex,
    .aws_request = h_aws_request,
    .http_request = h_http_request,
    .aws_status = h_aws_status,
    .aws_body = h_aws_body,
    .aws_header = h_aws_header,
    .aws_error_code = h_aws_error_code,
    .aws_error_message = h_aws_error_message,
    .aws_request_id = h_aws_request_id,
    .aws_response_free = h_aws_response_free,
    .parallel_for = host_parallel_for,
    .now_ms = h_now_ms,
    .monotonic_us = h_mono_us,
    .run_fetch = run_fetch,
    .run_new_function = run_new_function,
    .run_select = run_select,
    .run_count = run_count,
    .run_candidate = run_candidate,
    .run_reject = run_reject,
    .run_load_tags = run_load_tags,
    .run_fail = run_fail,
    .fn_name = fn_name,
    .fn_arn = fn_arn,
    .fn_description = fn_description,
    .fn_config = fn_config,
    .fn_has_tags = fn_has_tags,
    .fn_tag = fn_tag,
    .fn_tags = fn_tags,
    .fn_set_tags = fn_set_tags,
    .fn_set_description = fn_set_description,
    .fn_set_tool_name = fn_set_tool_name,
    .fn_set_title = fn_set_title,
    .fn_set_input_schema = fn_set_input_schema,
    .fn_set_annotation = fn_set_annotation,
    .fn_set_qualifier = fn_set_qualifier,
    .credentials_set = h_cred_set,
    .credentials_set_account = h_cred_account,
    .credentials_resolve = h_cred_resolve,
    .credentials_new = h_cred_new,
    .credentials_free = h_cred_free,
    .credentials_access_key_id = h_cred_akid,
    .credentials_expiration_ms = h_cred_exp,
    .call_tool = h_call_tool,
    .call_function = h_call_function,
    .call_arn = h_call_arn,
    .call_qualifier = h_call_qualifier,
    .call_arguments = h_call_arguments,
    .call_tag = h_call_tag,
    .call_cancelled = h_call_cancelled,
    .call_deadline_us = h_call_deadline,
    .call_sleep_ms = h_call_sleep,
    .call_client_log = h_call_log,
    .call_request_log_tail = h_call_tail,
    .call_next = h_call_next,
    .result_outcome = h_res_outcome,
    .result_payload = h_res_payload,
    .result_error_type = h_res_type,
    .result_error_message = h_res_msg,
    .result_request_id = h_res_reqid,
    .result_executed_version = h_res_ver,
    .result_log_tail = h_res_tail,
    .result_http_status = h_res_status,
    .result_retry_after_ms = h_res_retry,
    .result_from_cache = h_res_cached,
    .result_set_ok = h_res_ok,
    .result_set_error = h_res_err,
    .result_set_retry_after_ms = h_res_set_retry,
    .result_set_from_cache = h_res_set_cached,
    .result_copy = h_res_copy,
    .result_new = h_res_new,
    .result_free = h_res_free,
    .call_arguments_sha256 = h_call_args_sha256,
    .run_serial = run_serial,
    .result_lambda_called = h_res_lambda_called,
};

const lmcp_host *host_table(void) { return &g_host; }
