/* The AWS request layer: endpoint resolution, SigV4 signing, HTTP with connection reuse,
 * retries with exponential backoff and full jitter, AWS error parsing for the JSON 1.1,
 * REST-JSON and query (XML) protocols, and a User-Agent naming lambda-mcp and its version.
 *
 * Retry policy (max_attempts in total, AWS_MAX_ATTEMPTS, default 3):
 *   - the request was never sent (resolve/connect failure): always retried;
 *   - throttling (HTTP 429, or a throttling error code): retried unless LMCP_AWS_NO_RETRY;
 *   - 5xx, a timeout or a transport error after sending: retried only with LMCP_AWS_IDEMPOTENT.
 * So a Lambda Invoke (not idempotent) is retried only where the function cannot have run.
 * With a deadline (aws_request_ex), the attempts and the waits between them all end by it. */
#ifndef LMCP_AWS_AWS_H
#define LMCP_AWS_AWS_H
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <lambda-mcp/plugin.h>
#include "aws/endpoints.h"
#include "aws/http.h"
#include "util/buf.h"
#include "util/hdrs.h"

/* The concrete struct behind lmcp_aws_response. */
struct lmcp_aws_response {
    long status;
    hdrs headers;
    buf body;
    char *error_code;     /* NULL for 2xx; e.g. "ResourceNotFoundException" */
    char *error_message;  /* NULL for 2xx */
    char *request_id;     /* x-amzn-RequestId / x-amz-request-id / XML RequestId */
    int attempts;         /* how many attempts it took */
    bool wipe;            /* the body can carry credentials (plain HTTP: IMDS, container
                             endpoint; sts, portal.sso, oidc): wiped on free */
};
typedef struct lmcp_aws_response aws_response;

/* Where credentials come from when a request does not bring its own. Returns LMCP_OK and a
 * copy the caller frees with credentials_free(), or LMCP_ERR with err set; when it has to wait,
 * LMCP_TIMEOUT once deadline_us (clock_mono_us(), 0: none) is reached and LMCP_CANCELLED once
 * *cancel (may be NULL) is nonzero. */
typedef int (*aws_creds_fn)(void *ctx, int64_t deadline_us, const volatile int *cancel, lmcp_credentials **out,
                            char *err, size_t errlen);

/* The values come resolved from the settings layer (core/conf.c aws_settings, which holds the
 * defaults and reads AWS_CA_BUNDLE and AWS_MAX_ATTEMPTS); a 0 / NULL here only gets a fallback. */
typedef struct aws_config {
    const char *region;            /* default region */
    aws_endpoints endpoints;
    const char *ca_bundle;         /* NULL: the system's CAs */
    long connect_timeout_ms;       /* 0: HTTP_FALLBACK_CONNECT_TIMEOUT_MS */
    long timeout_ms;               /* per-attempt total for non-Invoke requests; 0: HTTP_FALLBACK_TIMEOUT_MS */
    int max_attempts;              /* 0: 3 */
    long retry_base_ms;            /* backoff base; 0: 100 */
    long retry_max_backoff_ms;     /* cap; 0: 20000 */
    aws_creds_fn creds;
    void *creds_ctx;
} aws_config;

typedef struct aws_client aws_client;

aws_client *aws_client_new(const aws_config *cfg); /* copies cfg, endpoints included */
void aws_client_free(aws_client *c);
/* Plain HTTP (IMDS, container endpoint) through the same pool. Never signed or retried. */
int aws_http(aws_client *c, const lmcp_http_request *req, aws_response **out, char *err, size_t errlen);
/* A signed AWS request. See plugin.h lmcp_aws_request for the fields. Returns LMCP_OK with a
 * response (any HTTP status), or LMCP_ERR / LMCP_TIMEOUT / LMCP_CANCELLED with err set when
 * no response arrived after the allowed attempts. *out is NULL unless LMCP_OK. */
int aws_request(aws_client *c, const lmcp_aws_request *req, aws_response **out, char *err, size_t errlen);

/* Why aws_request_ex() returned without a response. */
typedef enum aws_fail {
    AWS_FAIL_NONE = 0,     /* a response arrived (LMCP_OK) */
    AWS_FAIL_REQUEST,      /* the request itself: no service, region or endpoint, a bad header */
    AWS_FAIL_CREDENTIALS,  /* the credentials source failed, or its credentials are incomplete */
    AWS_FAIL_SIGNING,      /* SigV4 refused the credentials or the scope (or libcrypto failed) */
    AWS_FAIL_NETWORK,      /* no answer: not sent, connection lost, or timed out waiting */
    AWS_FAIL_TOO_LARGE,    /* the service answered, but the response exceeds the size limit */
    AWS_FAIL_DEADLINE,     /* the deadline came with no request in flight: a wait before a
                              retry would have reached it (or no time was left to send) */
    AWS_FAIL_CANCELLED     /* *cancel became nonzero */
} aws_fail;

typedef struct aws_request_ctl {
    int64_t deadline_us;   /* in: clock_mono_us() time by which the whole request ends, every
                              attempt and wait between attempts included; each attempt's timeout
                              is capped at the time left, and a wait that would reach it is not
                              started (LMCP_TIMEOUT, AWS_FAIL_DEADLINE). 0: no deadline. */
    aws_fail fail;         /* out */
    int reached;           /* out: attempts that reached the service or may have (an answer
                              came, or the connection failed after the request may have gone
                              out); 0: nothing was sent */
    bool unanswered;       /* out: the failure is a request that went out (or may have) and got
                              no complete answer (connection lost, timed out waiting): a request
                              that is not idempotent may have run. False when the failed attempt
                              was never sent, even if an earlier one got an answer. */
    long status;           /* out: with unanswered or AWS_FAIL_TOO_LARGE, the HTTP status of the
                              answer that had begun when it failed; 0: no status line came */
} aws_request_ctl;

/* aws_request() with a deadline for the whole request and the reason of a failure. ctl may
 * be NULL (then it is aws_request()). */
int aws_request_ex(aws_client *c, const lmcp_aws_request *req, aws_request_ctl *ctl, aws_response **out, char *err,
                   size_t errlen);
void aws_response_free(aws_response *r);
bool aws_is_throttling(long status, const char *error_code);
/* The Retry-After of a 429 or 503 (seconds; the HTTP-date form is ignored) in ms, at most
 * cap_ms; -1 when there is none. */
long aws_retry_after_ms(const aws_response *r, long cap_ms);
/* Parse an error body into code/message (used by aws_request; exposed for tests). */
void aws_parse_error(aws_response *r);
/* A JSON object from a response body (json_parse_strict, JSON_MAX_DEPTH: trailing bytes and
 * invalid UTF-8 are refused), or NULL when it is not one. Caller owns it. */
json_object *aws_parse_json_object(const char *s, size_t len);
/* "lambda-mcp/0.1.0 (linux; libcurl/7.88.1)" */
const char *aws_user_agent(void);
#endif
