/* The AWS request layer: endpoint resolution, SigV4 signing, HTTP with connection reuse,
 * retries with exponential backoff and full jitter, AWS error parsing for the JSON 1.1,
 * REST-JSON and query (XML) protocols, and a User-Agent naming lambda-mcp and its version.
 *
 * Retry policy (max_attempts in total, AWS_MAX_ATTEMPTS, default 3):
 *   - the request was never sent (resolve/connect failure): always retried;
 *   - throttling (HTTP 429, or a throttling error code): retried unless LMCP_AWS_NO_RETRY;
 *   - 5xx, a timeout or a transport error after sending: retried only with LMCP_AWS_IDEMPOTENT.
 * So a Lambda Invoke (not idempotent) is retried only where the function cannot have run. */
#ifndef LMCP_AWS_AWS_H
#define LMCP_AWS_AWS_H
#include <stdbool.h>
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
};
typedef struct lmcp_aws_response aws_response;

/* Where credentials come from when a request does not bring its own. Returns LMCP_OK and a
 * copy the caller frees with credentials_free(), or LMCP_ERR with err set. */
typedef int (*aws_creds_fn)(void *ctx, lmcp_credentials **out, char *err, size_t errlen);

typedef struct aws_config {
    const char *region;            /* default region */
    aws_endpoints endpoints;
    const char *ca_bundle;         /* AWS_CA_BUNDLE or conf */
    long connect_timeout_ms;       /* default 3000 */
    long timeout_ms;               /* default per-attempt total for non-Invoke requests: 30000 */
    int max_attempts;              /* default 3 */
    long retry_base_ms;            /* backoff base, default 100 */
    long retry_max_backoff_ms;     /* cap, default 20000 */
    aws_creds_fn creds;
    void *creds_ctx;
} aws_config;

typedef struct aws_client aws_client;

aws_client *aws_client_new(const aws_config *cfg); /* copies cfg, endpoints included */
void aws_client_free(aws_client *c);
const char *aws_client_region(const aws_client *c);
/* Plain HTTP (IMDS, container endpoint) through the same pool. Never signed or retried. */
int aws_http(aws_client *c, const lmcp_http_request *req, aws_response **out, char *err, size_t errlen);
/* A signed AWS request. See plugin.h lmcp_aws_request for the fields. Returns LMCP_OK with a
 * response (any HTTP status), or LMCP_ERR / LMCP_TIMEOUT / LMCP_CANCELLED with err set when
 * no response arrived after the allowed attempts. *out is NULL unless LMCP_OK. */
int aws_request(aws_client *c, const lmcp_aws_request *req, aws_response **out, char *err, size_t errlen);
void aws_response_free(aws_response *r);
bool aws_is_throttling(long status, const char *error_code);
/* Parse an error body into code/message (used by aws_request; exposed for tests). */
void aws_parse_error(aws_response *r);
/* A JSON object from a response body, or NULL when it is not one. Caller owns it. */
json_object *aws_parse_json_object(const char *s, size_t len);
/* "lambda-mcp/0.1.0 (linux; libcurl/7.88.1)" */
const char *aws_user_agent(void);
#endif
