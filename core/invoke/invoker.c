#include "config.h"
#include "invoke/invoker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "aws/lambda.h"
#include "json.h"
#include "util/clock.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/str.h"

/* The Retry-After hint passed on to the client is at most this. */
#define RETRY_AFTER_HINT_CAP_MS (5 * 60 * 1000L)

/* X-Amz-Log-Result decoded to the C string the host API hands out (result_log_tail): a NUL
 * byte in the log (a function that printed one) would end the text there, so each becomes
 * U+FFFD and what follows it is kept. NULL when the header is not base64. Caller frees. */
static char *decode_log_tail(const char *b64)
{
    size_t n;
    unsigned char *dec = base64_decode(b64, &n);
    if (!dec || !memchr(dec, 0, n))
        return (char *)dec;
    buf b = BUF_INIT;
    size_t run = 0;
    for (size_t i = 0; i < n; i++)
        if (dec[i] == 0) {
            buf_append(&b, (const char *)dec + run, i - run);
            buf_append(&b, "\xEF\xBF\xBD", 3);
            run = i + 1;
        }
    buf_append(&b, (const char *)dec + run, n - run);
    free(dec);
    return buf_steal(&b);
}

static void map_function_error(lmcp_result *res, const tool *t, const aws_response *r, const char *header)
{
    res->outcome = LMCP_OUTCOME_FUNCTION_ERROR;
    char perr[128];
    json_object *o = json_parse_text(r->body.data ? r->body.data : "", r->body.len, perr, sizeof perr);
    const char *type = json_get_str(o, "errorType");
    const char *msg = json_get_str(o, "errorMessage");
    free(res->error_type);
    free(res->error_message);
    res->error_type = xstrdup(type ? type : header);
    if (msg)
        res->error_message = xstrdup(msg);
    else if (r->body.len && !o)
        res->error_message = xstrndup(r->body.data, utf8_cut(r->body.data, r->body.len, 4096));
    else
        res->error_message = xasprintf("function %s failed (%s) without an error message", t->function_name, header);
    /* the parse goes with the payload: the CallToolResult mapping (results.c) uses it */
    result_set_payload(res, r->body.data, r->body.len, o);
}

static void map_aws_error(lmcp_result *res, const tool *t, const aws_response *r, const char *region)
{
    const char *code = r->error_code ? r->error_code : "";
    const char *msg = r->error_message ? r->error_message : "";
    const char *fn = t->function_name;
    res->http_status = r->status;
    if (aws_is_throttling(r->status, code)) {
        long ra = aws_retry_after_ms(r, RETRY_AFTER_HINT_CAP_MS);
        res->retry_after_ms = ra >= 0 ? ra : 1000;
        result_set_error(res, LMCP_OUTCOME_THROTTLED, *code ? code : "TooManyRequestsException",
                         "Lambda is throttling calls to %s (%s%s%s) after %d attempt%s; retry in a moment", fn,
                         *code ? code : "HTTP 429", *msg ? ": " : "", msg, r->attempts, r->attempts == 1 ? "" : "s");
        return;
    }
    if (r->status >= 500) {
        /* "HTTP502" is the code the answer lacked (aws.c): next to "HTTP 502" it says nothing */
        char synthetic[32];
        snprintf(synthetic, sizeof synthetic, "HTTP%ld", r->status);
        const char *shown = strcmp(code, synthetic) ? code : "";
        result_set_error(res, LMCP_OUTCOME_SERVICE_ERROR, *code ? code : "ServiceException",
                         "AWS Lambda failed to run %s (HTTP %ld%s%s%s%s); the function may or may not have run, so "
                         "the call was not retried",
                         fn, r->status, *shown ? ", " : "", shown, *msg ? ": " : "", msg);
        return;
    }
    const char *hint = "";
    if (strcmp(code, "ResourceNotFoundException") == 0)
        hint = " — the function (or its qualifier) does not exist in this region any more; the tool list will catch "
               "up at the next discovery";
    else if (strcmp(code, "AccessDeniedException") == 0 || r->status == 403)
        hint = " — check that the credentials lambda-mcp uses may call lambda:InvokeFunction on this function";
    else if (strcmp(code, "RequestTooLargeException") == 0)
        hint = " — synchronous Lambda payloads are limited to 6 MB";
    else if (strcmp(code, "UnrecognizedClientException") == 0 || strcmp(code, "InvalidSignatureException") == 0 ||
             strcmp(code, "ExpiredTokenException") == 0)
        hint = " — AWS rejected the credentials: check which source provides them (lambda-mcp --check)";
    else if (strcmp(code, "InvalidRequestContentException") == 0)
        hint = " — Lambda could not read the arguments as a JSON event";
    result_set_error(res, LMCP_OUTCOME_AWS_ERROR, *code ? code : "AWSError", "AWS refused to invoke %s in %s (%s%s%s)%s",
                     fn, region, *code ? code : "HTTP error", *msg ? ": " : "", msg, hint);
}

int invoker_invoke(void *ctx, lmcp_call *call, lmcp_result *res)
{
    generation *g = ctx;
    const tool *t = call->tool;
    int64_t timeout_ms = 0;
    if (call->deadline_us) {
        timeout_ms = (call->deadline_us - clock_mono_us()) / 1000;
        if (timeout_ms <= 0) {
            result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                             "the call to %s ran out of time (%lld ms) before Lambda was called", t->function_name,
                             (long long)(t->timeout_ms));
            return LMCP_TIMEOUT;
        }
    }
    size_t plen;
    aws_fail fail = AWS_FAIL_NONE;
    int reached = 0;
    bool unanswered = false;
    long began = 0; /* the HTTP status of an answer that began, then failed */
    const char *payload = json_object_to_json_string_length(call->event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &plen);
    lambda_invoke_opts o = {
        .function = t->function_arn ? t->function_arn : t->function_name,
        .qualifier = t->qualifier,
        .payload = payload,
        .payload_len = plen,
        .log_tail = atomic_load(&call->log_tail),
        .timeout_ms = timeout_ms,
        .deadline_us = call->deadline_us, /* retries and their waits stay within the call's time */
        .cancel = &call->cancelled,
        .fail = &fail,
        .reached = &reached,
        .unanswered = &unanswered,
        .status = &began,
    };
    aws_response *r = NULL;
    char err[1024];
    int64_t t0 = clock_mono_us();
    int rc = lambda_invoke(g->aws, &o, &r, err, sizeof err);
    res->duration_us = clock_mono_us() - t0;
    res->lambda_called = reached > 0;
    if (rc == LMCP_CANCELLED) {
        result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled", "the call to %s was cancelled", t->function_name);
        return rc;
    }
    if (rc != LMCP_OK && fail == AWS_FAIL_CREDENTIALS) {
        /* e.g. an expired SSO login: nothing went to Lambda */
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "CredentialsError",
                         "no usable AWS credentials to call %s, so Lambda was not called: %s", t->function_name, err);
        return rc;
    }
    if (rc == LMCP_TIMEOUT && fail == AWS_FAIL_DEADLINE) {
        result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                         "the call to %s ran out of time (%.1f s, the call timeout) before Lambda ran the function: %s",
                         t->function_name, (double)t->timeout_ms / 1000.0, err);
        return rc;
    }
    if (rc == LMCP_TIMEOUT && !unanswered) {
        /* the time ran out while connecting: nothing reached Lambda */
        result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                         "the call to %s ran out of time (%.1f s, the call timeout) before the request could reach "
                         "AWS Lambda, so the function did not run: %s",
                         t->function_name, (double)t->timeout_ms / 1000.0, err);
        return rc;
    }
    /* Invoke (RequestResponse) sends its status line only when the function has finished: an
       answer that began with a 2xx and then failed or was too slow means the function ran */
    bool ran = began >= 200 && began < 300;
    if (rc == LMCP_TIMEOUT && ran) {
        result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                         "%s ran (AWS Lambda answered HTTP %ld), but its whole answer did not come within %.1f s, "
                         "the call timeout, so its result is lost; the call was not retried (calling again runs the "
                         "function again)",
                         t->function_name, began, (double)t->timeout_ms / 1000.0);
        return rc;
    }
    if (rc == LMCP_TIMEOUT && began) {
        /* an answer that is not a success (from AWS, or a proxy on the way) began, then was too
           slow: it says nothing sure about the function */
        result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                         "AWS Lambda began to answer the call to %s (HTTP %ld), but the whole answer did not come "
                         "within %.1f s, the call timeout; the function may or may not have run, so the call was not "
                         "retried",
                         t->function_name, began, (double)t->timeout_ms / 1000.0);
        return rc;
    }
    if (rc == LMCP_TIMEOUT) {
        result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                         "%s did not answer within %.1f s, the call timeout; the function may still be running in AWS. "
                         "If it needs longer, raise `timeout` for this tool in the conf file",
                         t->function_name, (double)t->timeout_ms / 1000.0);
        return rc;
    }
    if (rc != LMCP_OK && fail == AWS_FAIL_TOO_LARGE && !ran) {
        /* not a success status: an error answer (from AWS, or a proxy on the way) that is too
           large says nothing sure about the function */
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "ResponseTooLarge",
                         "the answer to the call to %s (HTTP %ld) is larger than lambda-mcp accepts, so it was "
                         "discarded; the function may or may not have run, so the call was not retried: %s",
                         t->function_name, began, err);
        return rc;
    }
    if (rc != LMCP_OK && fail == AWS_FAIL_TOO_LARGE) {
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "ResponseTooLarge",
                         "%s ran, but its response is larger than lambda-mcp accepts, so it was discarded: %s",
                         t->function_name, err);
        return rc;
    }
    if (rc != LMCP_OK && fail == AWS_FAIL_SIGNING) {
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "SigningError",
                         "cannot sign the request to call %s with the AWS credentials at hand, so Lambda was not "
                         "called: %s",
                         t->function_name, err);
        return rc;
    }
    if (rc != LMCP_OK && fail == AWS_FAIL_REQUEST) {
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "InvalidRequest", "cannot call %s, Lambda was not called: %s",
                         t->function_name, err);
        return rc;
    }
    if (rc != LMCP_OK && unanswered && ran) {
        result_set_error(res, LMCP_OUTCOME_TRANSPORT_ERROR, "NetworkError",
                         "%s ran (AWS Lambda answered HTTP %ld), but the connection failed before its whole answer "
                         "came, so its result is lost; the call was not retried (calling again runs the function "
                         "again): %s",
                         t->function_name, began, err);
        return rc;
    }
    if (rc != LMCP_OK && unanswered) {
        /* the request went out (or may have): the connection failed before a whole answer came,
           so Lambda may well have run the function. Saying "cannot reach" would invite a retry. */
        result_set_error(res, LMCP_OUTCOME_TRANSPORT_ERROR, "NetworkError",
                         "the connection to AWS Lambda failed after the request to call %s was sent, before a "
                         "complete answer came; the function may or may not have run, so the call was not retried: %s",
                         t->function_name, err);
        return rc;
    }
    if (rc != LMCP_OK) {
        result_set_error(res, LMCP_OUTCOME_TRANSPORT_ERROR, "NetworkError",
                         "cannot reach AWS Lambda to call %s (the request was never sent, so the function did not "
                         "run): %s",
                         t->function_name, err);
        return rc;
    }
    free(res->request_id);
    res->request_id = xstrdup(r->request_id);
    res->http_status = r->status;
    const char *ver = hdrs_get(&r->headers, "X-Amz-Executed-Version");
    free(res->executed_version);
    res->executed_version = xstrdup(ver);
    const char *tail = hdrs_get(&r->headers, "X-Amz-Log-Result");
    if (tail) {
        free(res->log_tail);
        res->log_tail = decode_log_tail(tail);
    }
    const char *ferr = hdrs_get(&r->headers, "X-Amz-Function-Error");
    if (r->status >= 200 && r->status < 300 && ferr)
        map_function_error(res, t, r, ferr);
    else if (r->status >= 200 && r->status < 300)
        result_set_ok(res, r->body.data, r->body.len);
    else
        map_aws_error(res, t, r, g->region);
    LOG_DEBUG("invoke", "%s -> %s (HTTP %ld, %d attempt%s, %.1f ms, request %s)", t->function_name,
              outcome_name(res->outcome), r->status, r->attempts, r->attempts == 1 ? "" : "s",
              (double)res->duration_us / 1000.0, r->request_id ? r->request_id : "-");
    aws_response_free(r);
    return LMCP_OK;
}
