/* HTTP over libcurl: a pool of easy handles so connections are reused across requests and
 * threads, connect and total timeouts, cancellation, a bounded response size, a CA bundle.
 * No retries here: the AWS layer decides what may be retried from the classification below. */
#ifndef LMCP_AWS_HTTP_H
#define LMCP_AWS_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include "util/buf.h"
#include "util/hdrs.h"

typedef enum http_rc {
    HTTP_OK = 0,          /* a response arrived (any status) */
    HTTP_E_NOT_SENT,      /* resolve/connect/TLS handshake failed or timed out: the request never left this host */
    HTTP_E_TRANSPORT,     /* failed after the request may have been sent (reset, TLS, ...) */
    HTTP_E_TIMEOUT,       /* total timeout after the connection was made */
    HTTP_E_CANCELLED,     /* *cancel became nonzero */
    HTTP_E_TOO_LARGE,     /* the response exceeded max_response */
    HTTP_E_LOCAL,         /* refused here before anything was sent (an invalid header, no URL,
                             libcurl setup): retrying cannot help */
    HTTP_E_TLS_TRUST      /* the TLS handshake failed on trust (the peer's certificate is not
                             trusted or does not match, the CA bundle cannot be read): nothing
                             was sent, and a retry would meet the same certificate */
} http_rc;

/* Fallbacks for a zero timeout in http_client_opts and in the AWS client. The defaults users
 * see and configure are the aws settings (core/conf.c aws_settings: connect_timeout, timeout);
 * these only apply when a caller passes 0. */
#define HTTP_FALLBACK_CONNECT_TIMEOUT_MS 3000L
#define HTTP_FALLBACK_TIMEOUT_MS 30000L

typedef struct http_request {
    const char *method;
    const char *url;
    const hdrs *headers;          /* sent as given; Host is derived by curl from the URL */
    const void *body;
    size_t body_len;
    long connect_timeout_ms;      /* 0: client default */
    long timeout_ms;              /* 0: client default */
    const volatile int *cancel;   /* optional */
    size_t max_response;          /* 0: client default */
} http_request;

typedef struct http_response {
    long status;                  /* after a failure: that of a final status line read before it
                                     (the answer began, then was cut, timed out or too large); 0
                                     when none came */
    hdrs headers;                 /* names as received */
    buf body;
    bool maybe_sent;              /* the request (or part of it) went out: after a failure or a
                                     cancellation, the server may have acted on it */
} http_response;

typedef struct http_client_opts {
    const char *ca_bundle;        /* NULL: system default */
    const char *user_agent;
    long connect_timeout_ms;      /* 0: HTTP_FALLBACK_CONNECT_TIMEOUT_MS */
    long timeout_ms;              /* total timeout per request; 0: HTTP_FALLBACK_TIMEOUT_MS */
    size_t max_response;          /* default 64 MiB */
    size_t max_idle_handles;      /* pooled easy handles kept for reuse */
} http_client_opts;

typedef struct http_client http_client;

/* Call once at startup before any thread is created (curl_global_init). */
int http_global_init(void);
void http_global_cleanup(void);

http_client *http_client_new(const http_client_opts *opts);
void http_client_free(http_client *c);
http_rc http_perform(http_client *c, const http_request *req, http_response *resp, char *err, size_t errlen);
void http_response_free(http_response *r);
const char *http_rc_name(http_rc rc);
#endif
