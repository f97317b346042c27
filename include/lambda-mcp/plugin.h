/*
 * lambda-mcp plugin ABI — the only header a plugin needs.
 *
 * A plugin is a shared object exporting one function, lmcp_plugin_entry(), that returns a
 * static lmcp_plugin_def. The host checks the ABI version before it touches anything else,
 * validates the plugin's settings from the conf file against the plugin's declared table,
 * and calls init() once per configured instance. Everything a plugin needs from the outside
 * world — logging, its settings, JSON, signed AWS requests, plain HTTP, bounded parallelism,
 * time — comes through the lmcp_host table passed to init(), so a plugin never links
 * libcurl, json-c or OpenSSL and never reimplements signing.
 *
 * Three kinds of plugin:
 *   discovery    decide which Lambda functions become tools and how they look
 *                (selectors add candidates, filters drop some, enrichers annotate)
 *   credentials  produce AWS credentials; the conf orders them into a chain
 *   wrapper      sit around every tools/call, outermost first, and either answer
 *                themselves or call the next link (nginx filter style)
 *
 * Ownership rules, everywhere in this header:
 *   - const char * returned by the host is borrowed: valid for the lifetime of the object it
 *     was read from (settings: the instance; function: the discovery run; call: the call).
 *   - char * returned by the host is owned by the caller and freed with host->free().
 *   - lmcp_json * returned by a json "new"/"parse" function is owned by the caller and
 *     released with host->json_put(); json_get/json_index return borrowed references.
 *   - Strings passed to the host are copied; the plugin keeps ownership of its arguments.
 *
 * Threading: discovery hooks run on discovery threads; each hook never runs concurrently with
 * itself, but a plugin's select() (on a thread of its own), match() (the account listing) and
 * filter()/enrich() (the batches) may run at the same time, so state they share needs a lock.
 * Wrapper invoke() runs on call worker threads concurrently with itself, credentials resolve()
 * is serialised by the host. A wrapper's state must therefore be thread-safe.
 */
#ifndef LAMBDA_MCP_PLUGIN_H
#define LAMBDA_MCP_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of this header. The host refuses other versions. */
#define LMCP_PLUGIN_ABI_VERSION 1u

/* The symbol every plugin exports (see LMCP_PLUGIN_DEFINE at the end). */
#define LMCP_PLUGIN_ENTRY_NAME "lmcp_plugin_entry"

#if defined(__GNUC__)
#define LMCP_EXPORT __attribute__((visibility("default")))
#define LMCP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LMCP_EXPORT
#define LMCP_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status codes                                                                               */
/* ------------------------------------------------------------------------------------------ */

typedef enum lmcp_status {
    LMCP_OK = 0,
    LMCP_ERR = -1,       /* failed; a message was written to the err buffer */
    LMCP_NOT_FOUND = 1,  /* credentials: this source is not configured here, try the next */
    LMCP_CANCELLED = 2,  /* the operation was cancelled (call cancelled, shutdown) */
    LMCP_TIMEOUT = 3     /* the operation ran out of time */
} lmcp_status;

typedef enum lmcp_log_level {
    LMCP_LOG_ERROR = 0,
    LMCP_LOG_WARN = 1,
    LMCP_LOG_INFO = 2,
    LMCP_LOG_DEBUG = 3,
    LMCP_LOG_TRACE = 4
} lmcp_log_level;

typedef enum lmcp_plugin_kind {
    LMCP_PLUGIN_DISCOVERY = 1,
    LMCP_PLUGIN_CREDENTIALS = 2,
    LMCP_PLUGIN_WRAPPER = 3
} lmcp_plugin_kind;

/* ------------------------------------------------------------------------------------------ */
/* Settings: every plugin declares the keys it accepts                                         */
/* ------------------------------------------------------------------------------------------ */

typedef enum lmcp_setting_type {
    LMCP_SETTING_STRING = 1,
    LMCP_SETTING_INT = 2,         /* 64-bit integer, checked against min/max when they differ */
    LMCP_SETTING_BOOL = 3,
    LMCP_SETTING_DOUBLE = 4,
    LMCP_SETTING_STRING_LIST = 5, /* conf: ["a", "b"] or "a, b"; env/default: "a, b" */
    LMCP_SETTING_STRING_MAP = 6,  /* conf: { key = "value"; } ; env/default: "k=v, k2=v2" */
    LMCP_SETTING_DURATION = 7     /* milliseconds; conf: 1500 (ms) or "1.5s", "200ms", "2m", "1h" */
} lmcp_setting_type;

/*
 * One declared setting. A value comes from, in order of precedence:
 *   1. a per-tool override block in the conf (wrappers only, see lmcp_wrapper_ops),
 *   2. the function tag named by `tag` (wrappers only, when the function carries it),
 *   3. the plugin's block in the conf file,
 *   4. the environment variable named by `env`,
 *   5. `default_value` (text, parsed like an environment value).
 * A key in the conf that is not declared here, or a value of the wrong type, is reported
 * with file:line and the server does not start.
 */
typedef struct lmcp_setting_def {
    const char *name;
    lmcp_setting_type type;
    const char *default_value; /* NULL: unset */
    const char *env;           /* NULL: no environment variable */
    const char *tag;           /* NULL: not overridable by a function tag */
    int64_t min, max;          /* INT/DURATION bounds; both 0: unbounded */
    const char *description;
} lmcp_setting_def;

#define LMCP_SETTINGS_END {NULL, (lmcp_setting_type)0, NULL, NULL, NULL, 0, 0, NULL}

typedef struct lmcp_settings lmcp_settings; /* a resolved, validated settings view */

/* ------------------------------------------------------------------------------------------ */
/* Opaque handles                                                                             */
/* ------------------------------------------------------------------------------------------ */

typedef struct lmcp_instance lmcp_instance;       /* one configured plugin instance */
typedef struct lmcp_json lmcp_json;               /* a JSON value */
typedef struct lmcp_discovery_run lmcp_discovery_run; /* one discovery pass */
typedef struct lmcp_function lmcp_function;       /* a Lambda function seen by discovery */
typedef struct lmcp_credentials lmcp_credentials; /* a credentials slot to fill */
typedef struct lmcp_call lmcp_call;               /* one tools/call in flight */
typedef struct lmcp_result lmcp_result;           /* the outcome of a call */
typedef struct lmcp_aws_response lmcp_aws_response;
typedef struct lmcp_next lmcp_next;               /* the rest of the wrapper chain */

typedef enum lmcp_json_type {
    LMCP_JSON_NULL = 0,
    LMCP_JSON_BOOL,
    LMCP_JSON_INT,
    LMCP_JSON_DOUBLE,
    LMCP_JSON_STRING,
    LMCP_JSON_ARRAY,
    LMCP_JSON_OBJECT
} lmcp_json_type;

/* Flags for json_to_string. */
#define LMCP_JSON_COMPACT 0u
#define LMCP_JSON_PRETTY 1u
#define LMCP_JSON_CANONICAL 2u /* keys sorted at every level, compact: stable cache keys */

/* ------------------------------------------------------------------------------------------ */
/* AWS and HTTP requests                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* lmcp_aws_request.flags */
#define LMCP_AWS_UNSIGNED 0x1u   /* do not sign (SSO portal, SSO-OIDC) */
#define LMCP_AWS_IDEMPOTENT 0x2u /* safe to retry after 5xx or a network error (reads) */
#define LMCP_AWS_NO_RETRY 0x4u   /* never retry, not even on throttling */

/*
 * A request to an AWS API. The host resolves the endpoint (conf, AWS_ENDPOINT_URL_<SERVICE>,
 * AWS_ENDPOINT_URL, then https://<prefix>.<region>.<partition domain>), signs it with SigV4,
 * sends it with connection reuse, timeouts and the retry policy, and parses AWS errors of the
 * JSON, REST-JSON and query (XML) protocols into error_code/error_message.
 */
typedef struct lmcp_aws_request {
    const char *service;        /* endpoint key and signing name: "lambda", "tagging", "schemas",
                                   "sts", "portal.sso", "oidc", ... */
    const char *signing_name;   /* NULL: same as service ("awsssoportal" style overrides) */
    const char *region;         /* NULL: the server's region */
    const char *method;         /* "GET", "POST", "PUT", "DELETE" */
    const char *path;           /* URI-encoded path, e.g. from host->uri_encode() segments */
    const char *query;          /* URI-encoded "a=b&c=d", or NULL */
    const char *const *headers; /* NULL-terminated "Name: value" strings, or NULL */
    const char *body;           /* may be NULL */
    size_t body_len;
    unsigned flags;             /* LMCP_AWS_* */
    const lmcp_credentials *credentials; /* NULL: the server's credentials chain */
    long timeout_ms;            /* total per attempt; 0: the server default */
    const volatile int *cancel; /* optional: a nonzero value aborts the transfer */
} lmcp_aws_request;

/* A plain HTTP request (IMDS, container credentials endpoint). Never signed, never retried. */
typedef struct lmcp_http_request {
    const char *method;
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" strings, or NULL */
    const char *body;
    size_t body_len;
    long connect_timeout_ms;    /* 0: the server default */
    long timeout_ms;            /* 0: the server default */
} lmcp_http_request;

/* ------------------------------------------------------------------------------------------ */
/* Calls and results (wrappers)                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef enum lmcp_outcome {
    LMCP_OUTCOME_OK = 0,          /* the function ran and returned a payload */
    LMCP_OUTCOME_FUNCTION_ERROR,  /* the function ran and failed (X-Amz-Function-Error) */
    LMCP_OUTCOME_THROTTLED,       /* AWS said 429 / TooManyRequests */
    LMCP_OUTCOME_AWS_ERROR,       /* AWS refused the request (4xx other than throttling) */
    LMCP_OUTCOME_SERVICE_ERROR,   /* AWS failed (5xx) */
    LMCP_OUTCOME_TRANSPORT_ERROR, /* connection refused, reset, TLS, DNS */
    LMCP_OUTCOME_TIMEOUT,         /* the call ran out of time */
    LMCP_OUTCOME_CANCELLED,       /* the client cancelled the call */
    LMCP_OUTCOME_REFUSED,         /* a wrapper refused the call (rate limit, open breaker) */
    LMCP_OUTCOME_INVALID_ARGUMENTS /* the arguments do not match the tool's input schema */
} lmcp_outcome;

/* The stable name of an outcome ("ok", "function_error", ...), as the audit trail and the logs
   write it; "unknown" for a value outside the enum. The switch has no default, so adding an
   outcome without naming it here is a -Wswitch warning wherever this header is compiled. */
static inline const char *lmcp_outcome_name(lmcp_outcome o)
{
    switch (o) {
    case LMCP_OUTCOME_OK: return "ok";
    case LMCP_OUTCOME_FUNCTION_ERROR: return "function_error";
    case LMCP_OUTCOME_THROTTLED: return "throttled";
    case LMCP_OUTCOME_AWS_ERROR: return "aws_error";
    case LMCP_OUTCOME_SERVICE_ERROR: return "service_error";
    case LMCP_OUTCOME_TRANSPORT_ERROR: return "transport_error";
    case LMCP_OUTCOME_TIMEOUT: return "timeout";
    case LMCP_OUTCOME_CANCELLED: return "cancelled";
    case LMCP_OUTCOME_REFUSED: return "refused";
    case LMCP_OUTCOME_INVALID_ARGUMENTS: return "invalid_arguments";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------------------------ */
/* The host services table                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef int (*lmcp_parallel_fn)(void *ctx, size_t index);

typedef struct lmcp_host {
    uint32_t abi_version; /* LMCP_PLUGIN_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(lmcp_host) as the host was built */
    const char *version;  /* lambda-mcp version string */

    /* memory for strings the host hands out */
    void (*free)(void *ptr);

    /* logging to stderr, tagged with the instance name; never log a secret */
    void (*log)(const lmcp_instance *inst, lmcp_log_level level, const char *fmt, ...) LMCP_PRINTF(3, 4);
    bool (*log_enabled)(lmcp_log_level level);

    /* settings of this instance, resolved against the declared table. Getters for an
       undeclared name or a name of another type abort with a message: a plugin bug. */
    const char *(*setting_string)(const lmcp_settings *s, const char *name); /* NULL if unset */
    int64_t (*setting_int)(const lmcp_settings *s, const char *name);
    bool (*setting_bool)(const lmcp_settings *s, const char *name);
    double (*setting_double)(const lmcp_settings *s, const char *name);
    int64_t (*setting_duration_ms)(const lmcp_settings *s, const char *name);
    size_t (*setting_list)(const lmcp_settings *s, const char *name, const char *const **items);
    size_t (*setting_map)(const lmcp_settings *s, const char *name, const char *const **keys,
                          const char *const **values);
    bool (*setting_is_set)(const lmcp_settings *s, const char *name); /* not just the default */
    /* where the value came from: "FILE:LINE" (the conf file), "env NAME", "tag KEY", "default",
       "unset" (no default), "unknown" (no such setting) */
    const char *(*setting_origin)(const lmcp_settings *s, const char *name);

    /* the server's resolved AWS region */
    const char *(*region)(const lmcp_instance *inst);

    /* JSON. json_parse: one complete JSON text, strictly (RFC 8259, strict UTF-8, nesting at most
       128 deep); the value, owned by the caller (json_put). NULL with a message in err when the
       text is not JSON, and NULL with err set to "" for the literal null (the null value is the
       NULL pointer). Numbers keep their text: json_to_string prints them as they were sent (an
       integer beyond 64 bits is a LMCP_JSON_DOUBLE holding its nearest value). */
    lmcp_json *(*json_parse)(const char *text, size_t len, char *err, size_t errlen);
    char *(*json_to_string)(const lmcp_json *j, unsigned flags);
    void (*json_put)(lmcp_json *j);
    lmcp_json *(*json_ref)(lmcp_json *j); /* take a reference */
    lmcp_json_type (*json_type)(const lmcp_json *j);
    lmcp_json *(*json_get)(const lmcp_json *obj, const char *key); /* borrowed, NULL if absent */
    size_t (*json_length)(const lmcp_json *arr_or_obj);
    lmcp_json *(*json_index)(const lmcp_json *arr, size_t i); /* borrowed */
    const char *(*json_object_key)(const lmcp_json *obj, size_t i); /* i-th key, borrowed */
    const char *(*json_string)(const lmcp_json *j);  /* NULL if not a string */
    int64_t (*json_int)(const lmcp_json *j);      /* a double truncated; clamped to the int64 range */
    double (*json_double)(const lmcp_json *j);
    bool (*json_bool)(const lmcp_json *j);
    lmcp_json *(*json_new_object)(void);
    lmcp_json *(*json_new_array)(void);
    lmcp_json *(*json_new_string)(const char *s);
    lmcp_json *(*json_new_int)(int64_t v);
    lmcp_json *(*json_new_double)(double v);
    lmcp_json *(*json_new_bool)(bool v);
    int (*json_set)(lmcp_json *obj, const char *key, lmcp_json *val); /* takes ownership of val */
    int (*json_append)(lmcp_json *arr, lmcp_json *val);              /* takes ownership of val */

    /* encoding helpers: results are owned by the caller (host->free) */
    char *(*uri_encode)(const char *s, bool encode_slash);
    void (*sha256_hex)(const void *data, size_t len, char out[65]);

    /* AWS and HTTP. On LMCP_OK *resp holds the answer whatever its HTTP status (check
       aws_status and aws_error_code); on LMCP_ERR/LMCP_TIMEOUT/LMCP_CANCELLED nothing was
       received and err says why. Free *resp with aws_response_free. */
    int (*aws_request)(const lmcp_instance *inst, const lmcp_aws_request *req,
                       lmcp_aws_response **resp, char *err, size_t errlen);
    int (*http_request)(const lmcp_instance *inst, const lmcp_http_request *req,
                        lmcp_aws_response **resp, char *err, size_t errlen);
    long (*aws_status)(const lmcp_aws_response *r);
    const char *(*aws_body)(const lmcp_aws_response *r, size_t *len);
    const char *(*aws_header)(const lmcp_aws_response *r, const char *name); /* case-insensitive */
    const char *(*aws_error_code)(const lmcp_aws_response *r);    /* NULL for 2xx */
    const char *(*aws_error_message)(const lmcp_aws_response *r); /* NULL for 2xx */
    const char *(*aws_request_id)(const lmcp_aws_response *r);
    void (*aws_response_free)(lmcp_aws_response *r);

    /* Run fn(ctx, i) for i in [0, n) on up to `limit` threads (0: the server's discovery
       concurrency). Returns LMCP_OK when every call returned LMCP_OK, else the first failure. */
    int (*parallel_for)(size_t n, size_t limit, lmcp_parallel_fn fn, void *ctx);

    /* time */
    int64_t (*now_ms)(void);      /* wall clock, Unix epoch milliseconds */
    int64_t (*monotonic_us)(void);/* monotonic clock, microseconds */

    /* ---- discovery runs ---- */
    /* Fetch one function directly (GetFunction: configuration and tags) by name or ARN
       (qualified or not, full or partial). LMCP_NOT_FOUND when it does not exist or cannot be
       used here; err then completes "function NAME ..." (e.g. "does not exist"). When
       GetFunction is not permitted, the function is found in the account listing instead, and
       another account's ARN becomes a function known by its ARN alone. The function belongs
       to the run. */
    int (*run_fetch)(lmcp_discovery_run *run, const char *name_or_arn, lmcp_function **fn,
                     char *err, size_t errlen);
    /* A function not from a Lambda listing (vendor catalogs): name or ARN to invoke. */
    lmcp_function *(*run_new_function)(lmcp_discovery_run *run, const char *name, const char *arn);
    /* select hooks: make a function a candidate. */
    void (*run_select)(lmcp_discovery_run *run, lmcp_function *fn);
    /* filter/enrich hooks: the candidates of the current batch. */
    size_t (*run_count)(const lmcp_discovery_run *run);
    lmcp_function *(*run_candidate)(const lmcp_discovery_run *run, size_t i);
    /* filters: drop a candidate; the reason is logged at debug level. */
    void (*run_reject)(lmcp_discovery_run *run, lmcp_function *fn, const char *reason);
    /* Make sure every candidate of the batch carries its tags (tagging API or ListTags, as the
       conf says). Returns LMCP_ERR if tags could not be read. */
    int (*run_load_tags)(lmcp_discovery_run *run);
    /* Fail the run: the server keeps its previous tool set and logs the message. */
    void (*run_fail)(lmcp_discovery_run *run, const char *fmt, ...) LMCP_PRINTF(2, 3);

    /* ---- functions ---- */
    const char *(*fn_name)(const lmcp_function *fn);
    const char *(*fn_arn)(const lmcp_function *fn);
    const char *(*fn_description)(const lmcp_function *fn);
    const char *(*fn_config)(const lmcp_function *fn, const char *field); /* e.g. "Runtime" */
    bool (*fn_has_tags)(const lmcp_function *fn);                 /* tags are known */
    const char *(*fn_tag)(const lmcp_function *fn, const char *key); /* NULL if absent */
    size_t (*fn_tags)(const lmcp_function *fn, const char *const **keys, const char *const **values);
    void (*fn_set_tags)(lmcp_function *fn, size_t n, const char *const *keys, const char *const *values);
    void (*fn_set_description)(lmcp_function *fn, const char *description);
    void (*fn_set_tool_name)(lmcp_function *fn, const char *tool_name); /* sanitised by the host */
    void (*fn_set_title)(lmcp_function *fn, const char *title);
    int (*fn_set_input_schema)(lmcp_function *fn, const lmcp_json *schema, char *err, size_t errlen);
    void (*fn_set_annotation)(lmcp_function *fn, const char *hint, bool value); /* readOnlyHint... */
    void (*fn_set_qualifier)(lmcp_function *fn, const char *qualifier);

    /* ---- credentials ---- */
    void (*credentials_set)(lmcp_credentials *c, const char *access_key_id, const char *secret_access_key,
                            const char *session_token, int64_t expiration_ms /* 0: none */);
    void (*credentials_set_account)(lmcp_credentials *c, const char *account_id);
    /* Resolve credentials with one named credentials plugin at its default settings — a
       profile's credential_source (env, imds, container) — or with the server's own chain
       when plugin_name is NULL. Free *out with credentials_free. */
    int (*credentials_resolve)(const lmcp_instance *inst, const char *plugin_name,
                               lmcp_credentials **out, char *err, size_t errlen);
    lmcp_credentials *(*credentials_new)(void);
    void (*credentials_free)(lmcp_credentials *c); /* wipes the secret */
    const char *(*credentials_access_key_id)(const lmcp_credentials *c);
    int64_t (*credentials_expiration_ms)(const lmcp_credentials *c);

    /* ---- calls and results (wrappers) ---- */
    const char *(*call_tool)(const lmcp_call *call);
    const char *(*call_function)(const lmcp_call *call);  /* function name */
    const char *(*call_arn)(const lmcp_call *call);       /* function ARN */
    const char *(*call_qualifier)(const lmcp_call *call); /* NULL: $LATEST */
    const lmcp_json *(*call_arguments)(const lmcp_call *call);
    const char *(*call_tag)(const lmcp_call *call, const char *key);
    bool (*call_cancelled)(const lmcp_call *call);
    int64_t (*call_deadline_us)(const lmcp_call *call); /* monotonic; 0: none */
    /* Wait up to ms milliseconds; returns early (LMCP_CANCELLED) if the call is cancelled. */
    int (*call_sleep_ms)(const lmcp_call *call, int64_t ms);
    /* Send a log message to the client for this call (MCP notifications/message), if the
       client asked for logs at that level. */
    void (*call_client_log)(const lmcp_call *call, lmcp_log_level level, const char *logger,
                            const char *text);
    /* Ask Lambda for the last 4 KB of the function's log (X-Amz-Log-Type: Tail); read it
       afterwards with result_log_tail. */
    void (*call_request_log_tail)(lmcp_call *call);
    /* Run the rest of the chain. */
    int (*call_next)(const lmcp_next *next, lmcp_call *call, lmcp_result *res);

    lmcp_outcome (*result_outcome)(const lmcp_result *r);
    const char *(*result_payload)(const lmcp_result *r, size_t *len);
    const char *(*result_error_type)(const lmcp_result *r);    /* function or AWS error code */
    const char *(*result_error_message)(const lmcp_result *r);
    const char *(*result_request_id)(const lmcp_result *r);
    const char *(*result_executed_version)(const lmcp_result *r);
    const char *(*result_log_tail)(const lmcp_result *r);      /* decoded X-Amz-Log-Result */
    long (*result_http_status)(const lmcp_result *r);
    int64_t (*result_retry_after_ms)(const lmcp_result *r);    /* REFUSED/THROTTLED: when to retry */
    bool (*result_from_cache)(const lmcp_result *r);
    void (*result_set_ok)(lmcp_result *r, const char *payload, size_t len);
    void (*result_set_error)(lmcp_result *r, lmcp_outcome outcome, const char *type,
                             const char *fmt, ...) LMCP_PRINTF(4, 5);
    void (*result_set_retry_after_ms)(lmcp_result *r, int64_t ms);
    void (*result_set_from_cache)(lmcp_result *r, bool v);
    /* Copy everything from src into dst (a cache stores and replays results). */
    void (*result_copy)(lmcp_result *dst, const lmcp_result *src);
    lmcp_result *(*result_new)(void);
    void (*result_free)(lmcp_result *r);

    /* ---- appended within ABI v1: check host->size before use ----
       The table only grows at its end within one ABI version, so a plugin built against a newer
       header may be loaded by an older host of the same version. A plugin that uses a field
       below and may run in such a host tests that the field lies inside the table the host
       built, e.g.
         host->size >= offsetof(lmcp_host, call_arguments_sha256) + sizeof host->call_arguments_sha256
       (LMCP_HOST_HAS(host, call_arguments_sha256)) and falls back to doing the work itself. */

    /* Lowercase hex SHA-256 (64 characters) of the canonical JSON (LMCP_JSON_CANONICAL) of the
       call's arguments ("{}" when there are none). Computed once per call, on first use, and
       memoised: every wrapper of the chain gets the same string (thread-safe). Borrowed: valid
       for the lifetime of the call. */
    const char *(*call_arguments_sha256)(const lmcp_call *call);

    /* A number identifying the discovery run (pass) that `run` belongs to: the same for every
       hook call of one run, whatever batch it is given, and larger for every later run of the
       server (also across conf reloads). Lets an enricher share work between the batches of a
       run (one DescribeSchema per schema and run, not per batch) and tell runs apart. */
    uint64_t (*run_serial)(const lmcp_discovery_run *run);

    /* Whether a request for this call went out to Lambda (an answer came, or the request may
       have been sent before the connection failed or the time ran out). False for a result
       made before anything was sent: by a wrapper (a rate limit's wait, a refusal, a wait for
       an identical call in flight, a cache hit: result_set_from_cache clears it) or by the host
       (no credentials, the call's time gone before the request). A circuit breaker counts a
       TIMEOUT against the function only when this is true. */
    bool (*result_lambda_called)(const lmcp_result *r);
} lmcp_host;

/* Whether the host table has a field appended within ABI v1 (see the end of lmcp_host). */
#define LMCP_HOST_HAS(host, field)                                                             \
    ((host)->size >= offsetof(lmcp_host, field) + sizeof((host)->field) && (host)->field != NULL)

/* ------------------------------------------------------------------------------------------ */
/* What a plugin provides                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Handed to init(): the host table, this instance and its settings (valid until destroy). */
typedef struct lmcp_plugin_ctx {
    const lmcp_host *host;
    const lmcp_instance *instance;
    const lmcp_settings *settings;
} lmcp_plugin_ctx;

/*
 * Discovery. One pass (a "run") decides the tool set:
 *   select  — which functions are candidates. A selector either matches functions of the
 *             account listing (match: called for every function ListFunctions returns, page
 *             by page as the pages arrive), or adds functions itself (select: fetch them by
 *             name with run_fetch, or describe vendor functions with run_new_function), or
 *             both. The candidates are the union. active() says whether the selector has
 *             anything configured (NULL: always active); when no selector is active, every
 *             function of the account is a candidate — the upstream rule: no prefix and no
 *             list means all functions.
 *   filter  — every filter may reject candidates; the result is the intersection.
 *   enrich  — annotate the survivors (input schema, title, annotations, qualifier).
 * Filters and enrichers work on batches: one page of the account listing, or the functions one
 * select hook added. They may be called several times per run (run_count/run_candidate see the
 * current batch), in conf order, never concurrently with themselves; the next page is being
 * listed meanwhile (and select hooks are running), so discovery takes about as long as the
 * ListFunctions marker chain.
 * A select, filter or enrich hook that returns anything but LMCP_OK (or calls run_fail) fails the
 * run and the server keeps its previous tool set.
 */
typedef struct lmcp_discovery_ops {
    bool (*active)(void *state);
    bool (*match)(void *state, lmcp_function *fn);
    int (*select)(void *state, lmcp_discovery_run *run);
    int (*filter)(void *state, lmcp_discovery_run *run);
    int (*enrich)(void *state, lmcp_discovery_run *run);
    /* Optional: whether filter/enrich will read tags, so the host fetches them early. */
    bool (*needs_tags)(void *state);
} lmcp_discovery_ops;

/*
 * Credentials. resolve() returns LMCP_OK after host->credentials_set(out, ...),
 * LMCP_NOT_FOUND when this source has nothing here (the chain moves on quietly), or LMCP_ERR
 * with a message when the source is configured but failed (the chain moves on, and the
 * message is reported if no source succeeds). The host caches credentials that expire and
 * calls resolve() again ahead of expiry.
 * region() (optional) offers a region when none is configured (profile region, IMDS).
 */
typedef struct lmcp_credentials_ops {
    int (*resolve)(void *state, lmcp_credentials *out, char *err, size_t errlen);
    int (*region)(void *state, char *buf, size_t len);
} lmcp_credentials_ops;

/*
 * Wrappers. invoke() runs for every call of every tool, outermost wrapper first. It either
 * answers itself (fills res and returns LMCP_OK without calling next: a cache hit, a rate
 * limit, an open breaker) or calls host->call_next(next, call, res) and inspects res after.
 * `settings` is this instance's settings resolved for the called tool: per-tool override
 * blocks of the conf and function tags already applied.
 */
typedef struct lmcp_wrapper_ops {
    int (*invoke)(void *state, const lmcp_settings *settings, lmcp_call *call, lmcp_result *res,
                  const lmcp_next *next);
} lmcp_wrapper_ops;

typedef struct lmcp_plugin_def {
    uint32_t abi_version;   /* LMCP_PLUGIN_ABI_VERSION — checked first */
    uint32_t struct_size;   /* sizeof(lmcp_plugin_def) */
    lmcp_plugin_kind kind;
    const char *name;       /* as written in the conf file */
    const char *version;
    const char *description;
    const lmcp_setting_def *settings; /* terminated by LMCP_SETTINGS_END; NULL: none */

    /* Create one instance. Write a reason to err and return LMCP_ERR to refuse to start. */
    int (*init)(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen);
    void (*destroy)(void *state);

    const lmcp_discovery_ops *discovery;     /* kind == LMCP_PLUGIN_DISCOVERY */
    const lmcp_credentials_ops *credentials; /* kind == LMCP_PLUGIN_CREDENTIALS */
    const lmcp_wrapper_ops *wrapper;         /* kind == LMCP_PLUGIN_WRAPPER */

    /* Wrappers: the settings read once per instance (in init), which a per-tool `overrides`
       block therefore cannot change — the host refuses such a block with file:line instead of
       ignoring it. NULL-terminated; NULL: every setting is read per call. (Appended after ABI 1's
       first layout: a plugin built without it has a smaller struct_size and is read as NULL.) */
    const char *const *instance_settings;
} lmcp_plugin_def;

typedef const lmcp_plugin_def *(*lmcp_plugin_entry_fn)(void);

/* In a plugin's source file: LMCP_PLUGIN_DEFINE(my_def); */
#define LMCP_PLUGIN_DEFINE(def)                                                                \
    LMCP_EXPORT const lmcp_plugin_def *lmcp_plugin_entry(void);                               \
    LMCP_EXPORT const lmcp_plugin_def *lmcp_plugin_entry(void) { return &(def); }

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_MCP_PLUGIN_H */
