/* A tiny scripted HTTP/1.1 server for unit tests: plain sockets on 127.0.0.1 at an ephemeral
 * port, one thread per connection, keep-alive. Each request takes the next scripted action
 * (or the default one), and the server counts connections and keeps a copy of every request. */
#ifndef LMCP_TESTS_HTTP_TEST_SERVER_H
#define LMCP_TESTS_HTTP_TEST_SERVER_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ts_action {
    int status;            /* 0: 200 */
    const char *headers;   /* extra header lines, each ending in "\r\n", or NULL */
    const char *body;      /* NULL: "" (or body_size bytes of 'x') */
    size_t body_size;      /* with body NULL: send this many 'x' */
    int delay_ms;          /* wait before answering (cut short when the client goes away) */
    bool drop;             /* read the request, then close without answering */
    bool unlisten;         /* with drop: stop listening first, so that a new connection is refused */
    bool close_after;      /* answer with Connection: close and close */
    bool no_length;        /* no Content-Length: the body ends when the connection closes */
    bool interim_100;      /* send "100 Continue" (with a header) before the answer */
} ts_action;

typedef struct ts_server ts_server;

ts_server *ts_start(void);
void ts_stop(ts_server *s);
int ts_port(const ts_server *s);
/* Queue an action for the next request (strings are copied). */
void ts_push(ts_server *s, const ts_action *a);
/* The action used when the queue is empty (default: 200 with body "{}"). */
void ts_set_default(ts_server *s, const ts_action *a);
int ts_connections(ts_server *s);
int ts_requests(ts_server *s);
/* A copy of request i (0-based, in arrival order): request line, headers, blank line, body.
 * Caller frees. NULL if there is no such request. */
char *ts_request(ts_server *s, int i);
/* The value of header `name` in request i (case-insensitive), malloc'd, or NULL. */
char *ts_request_header(ts_server *s, int i, const char *name);
/* Forget recorded requests and counters. */
void ts_reset(ts_server *s);
/* A port on 127.0.0.1 where nothing listens. */
int ts_closed_port(void);

/* A port on 127.0.0.1 where connect() hangs: a listen(fd, 0) socket that never accepts, its
 * accept queue filled by a few connections, so that new SYNs are dropped (loopback only). */
typedef struct ts_blackhole {
    int listen_fd;
    int fill[4];
    int port;
} ts_blackhole;
void ts_blackhole_open(ts_blackhole *b);
void ts_blackhole_close(ts_blackhole *b);

/* A client cancelling mid-request: ts_cancel_later sets *flag to 1 from another thread after
 * after_ms; ts_cancel_join waits for that thread. */
typedef struct ts_canceller {
    pthread_t thread;
    volatile int *flag;
    int after_ms;
} ts_canceller;
void ts_cancel_later(ts_canceller *c, volatile int *flag, int after_ms);
void ts_cancel_join(ts_canceller *c);
#endif
