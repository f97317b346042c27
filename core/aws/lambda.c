/* Lambda API calls (REST-JSON, API version 2015-03-31; ListTags is 2017-03-31). Paths and
 * header names follow botocore's lambda/2015-03-31/service-2.json. */
#include "config.h"
#include "aws/lambda.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

#define LAMBDA_SERVICE "lambda"
#define MAX_ITEMS_LIMIT 10000


/* Turn a non-2xx answer into an error message: "Op: Code: message (HTTP n, request id x)". A
 * message too long for err is cut (with "...") so that the status and request id still fit. */
static void describe_error(const char *op, const aws_response *r, char *err, size_t errlen)
{
    char tail[256];
    int tn = snprintf(tail, sizeof tail, " (HTTP %ld%s%s)", r->status, r->request_id ? ", request id " : "",
                      r->request_id ? r->request_id : "");
    const char *msg = r->error_message ? r->error_message : "no message";
    int hn = snprintf(err, errlen, "%s: %s: ", op, r->error_code ? r->error_code : "error");
    if (hn < 0 || tn < 0 || (size_t)hn >= errlen)
        return;
    size_t room = errlen - (size_t)hn - 1, mlen = strlen(msg), tlen = strlen(tail);
    if (mlen + tlen > room && room > tlen + 3) {
        size_t keep = utf8_cut(msg, mlen, room - tlen - 3);
        snprintf(err + hn, errlen - (size_t)hn, "%.*s...%s", (int)keep, msg, tail);
    } else {
        snprintf(err + hn, errlen - (size_t)hn, "%s%s", msg, tail);
    }
}

/* A signed GET whose 200 body is a JSON object. */
static int get_json(aws_client *c, const char *op, const char *path, const char *query, json_object **out,
                    lambda_status *st, char *err, size_t errlen)
{
    *out = NULL;
    if (st)
        *st = (lambda_status){0};
    lmcp_aws_request req = {0};
    req.service = LAMBDA_SERVICE;
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.flags = LMCP_AWS_IDEMPOTENT;
    aws_response *r = NULL;
    char aerr[512] = "";
    int rc = aws_request(c, &req, &r, aerr, sizeof aerr);
    if (rc != LMCP_OK) {
        snprintf(err, errlen, "%s: %s", op, aerr);
        return rc;
    }
    if (st) {
        st->http = r->status;
        snprintf(st->code, sizeof st->code, "%s", r->error_code ? r->error_code : "");
    }
    if (r->status != 200) {
        describe_error(op, r, err, errlen);
        aws_response_free(r);
        return LMCP_ERR;
    }
    *out = aws_parse_json_object(r->body.data, r->body.len);
    if (!*out) {
        snprintf(err, errlen, "%s: the response is not a JSON object (HTTP %ld%s%s)", op, r->status,
                 r->request_id ? ", request id " : "", r->request_id ? r->request_id : "");
        aws_response_free(r);
        return LMCP_ERR;
    }
    aws_response_free(r);
    return LMCP_OK;
}

int lambda_list_functions_page(aws_client *c, const char *marker, int max_items, json_object **page, char *err,
                               size_t errlen)
{
    if (max_items <= 0)
        max_items = 50;
    if (max_items > MAX_ITEMS_LIMIT)
        max_items = MAX_ITEMS_LIMIT;
    char *query;
    if (marker && *marker) {
        char *m = uri_encode(marker, true);
        query = xasprintf("MaxItems=%d&Marker=%s", max_items, m);
        free(m);
    } else {
        query = xasprintf("MaxItems=%d", max_items);
    }
    int rc = get_json(c, "ListFunctions", "/2015-03-31/functions/", query, page, NULL, err, errlen);
    free(query);
    return rc;
}

static char *qualifier_query(const char *qualifier)
{
    if (!qualifier || !*qualifier)
        return NULL;
    char *q = uri_encode(qualifier, true);
    char *out = xasprintf("Qualifier=%s", q);
    free(q);
    return out;
}

int lambda_get_function(aws_client *c, const char *name_or_arn, const char *qualifier, json_object **out,
                        lambda_status *st, char *err, size_t errlen)
{
    *out = NULL;
    if (st)
        *st = (lambda_status){0};
    if (!name_or_arn || !*name_or_arn) {
        snprintf(err, errlen, "GetFunction: no function name");
        return LMCP_ERR;
    }
    char *name = uri_encode(name_or_arn, true);
    char *path = xasprintf("/2015-03-31/functions/%s", name);
    char *query = qualifier_query(qualifier);
    int rc = get_json(c, "GetFunction", path, query, out, st, err, errlen);
    free(name);
    free(path);
    free(query);
    return rc;
}

int lambda_list_tags(aws_client *c, const char *arn, json_object **out, lambda_status *st, char *err, size_t errlen)
{
    *out = NULL;
    if (st)
        *st = (lambda_status){0};
    if (!arn || !*arn) {
        snprintf(err, errlen, "ListTags: no ARN");
        return LMCP_ERR;
    }
    char *enc = uri_encode(arn, true);
    char *path = xasprintf("/2017-03-31/tags/%s", enc);
    int rc = get_json(c, "ListTags", path, NULL, out, st, err, errlen);
    free(enc);
    free(path);
    return rc;
}

int lambda_invoke(aws_client *c, const lambda_invoke_opts *o, aws_response **out, char *err, size_t errlen)
{
    *out = NULL;
    if (o && o->fail)
        *o->fail = AWS_FAIL_REQUEST;
    if (o && o->unanswered)
        *o->unanswered = false;
    if (o && o->status)
        *o->status = 0;
    if (!o || !o->function || !*o->function) {
        snprintf(err, errlen, "Invoke: no function name");
        return LMCP_ERR;
    }
    char *name = uri_encode(o->function, true);
    char *path = xasprintf("/2015-03-31/functions/%s/invocations", name);
    char *query = qualifier_query(o->qualifier);
    const char *headers[] = {
        "Content-Type: application/json",
        "X-Amz-Invocation-Type: RequestResponse",
        o->log_tail ? "X-Amz-Log-Type: Tail" : NULL,
        NULL,
    };
    lmcp_aws_request req = {0};
    req.service = LAMBDA_SERVICE;
    req.method = "POST";
    req.path = path;
    req.query = query;
    req.headers = headers;
    req.body = o->payload;
    req.body_len = o->payload ? o->payload_len : 0;
    req.flags = 0; /* not idempotent: retried only when never sent, or throttled */
    req.timeout_ms = o->timeout_ms;
    req.cancel = o->cancel;
    aws_request_ctl ctl = {.deadline_us = o->deadline_us, .fail = AWS_FAIL_NONE};
    int rc = aws_request_ex(c, &req, &ctl, out, err, errlen);
    if (o->fail)
        *o->fail = ctl.fail;
    if (o->reached)
        *o->reached = ctl.reached;
    if (o->unanswered)
        *o->unanswered = ctl.unanswered;
    if (o->status)
        *o->status = ctl.status;
    free(name);
    free(path);
    free(query);
    return rc;
}
