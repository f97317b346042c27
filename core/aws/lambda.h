/* Lambda API calls used by the core (discovery and the invoker). */
#ifndef LMCP_AWS_LAMBDA_H
#define LMCP_AWS_LAMBDA_H
#include <json-c/json.h>
#include "aws/aws.h"

/* One ListFunctions page. *page is the parsed response object ({"Functions":[...],
 * "NextMarker":...}), owned by the caller (json_object_put). marker may be NULL. */
int lambda_list_functions_page(aws_client *c, const char *marker, int max_items, json_object **page,
                               char *err, size_t errlen);

/* How a call Lambda answered failed: the HTTP status (0: no answer) and the error code
 * ("" without one). */
typedef struct lambda_status {
    long http;
    char code[64];
} lambda_status;

/* GetFunction: {"Configuration":{...},"Tags":{...},...}. st (optional) says how Lambda answered a
 * failed call. */
int lambda_get_function(aws_client *c, const char *name_or_arn, const char *qualifier,
                        json_object **out, lambda_status *st, char *err, size_t errlen);

/* ListTags on a function ARN: {"Tags":{...}}; st (may be NULL): the HTTP status and error code of
 * a failure */
int lambda_list_tags(aws_client *c, const char *arn, json_object **out, lambda_status *st, char *err, size_t errlen);

typedef struct lambda_invoke_opts {
    const char *function;        /* name or ARN */
    const char *qualifier;       /* NULL: unqualified */
    const char *payload;         /* JSON event */
    size_t payload_len;
    bool log_tail;               /* X-Amz-Log-Type: Tail */
    long timeout_ms;             /* total per attempt (0: the client's), capped by deadline_us */
    int64_t deadline_us;         /* clock_mono_us() time by which the call ends, retries and the
                                    waits between them included; 0: none */
    const volatile int *cancel;
    aws_fail *fail;              /* optional out: why no response arrived (aws_request_ex) */
    int *reached;                /* optional out: attempts that reached Lambda or may have */
    bool *unanswered;            /* optional out: the failure is a request that went out (or may
                                    have) with no complete answer: the function may have run */
    long *status;                /* optional out: the HTTP status of an answer that began but was
                                    cut, timed out or too large (aws_request_ctl.status); 0: none */
} lambda_invoke_opts;

/* Invoke (RequestResponse). LMCP_OK means a response arrived: check status, the
 * X-Amz-Function-Error header and error_code. Otherwise *o->fail says why there is none. */
int lambda_invoke(aws_client *c, const lambda_invoke_opts *o, aws_response **out, char *err, size_t errlen);
#endif
