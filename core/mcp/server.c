/* The MCP dispatcher: both protocol eras over one stdio channel. See server.h.
 *
 * Threads and locks
 *   - the reader thread calls mcp_server_handle_line(); synchronous methods answer right
 *     there, tools/call is queued on the executor and answered from a worker thread;
 *   - worker threads run calls: the done callback formats and writes the response, the
 *     call's log_fn writes notifications/message;
 *   - the heartbeat thread writes notifications/progress for calls that asked for it;
 *   - whoever refreshes the tools calls mcp_server_notify_tools_changed().
 * s->mu guards the in-flight table, the subscriptions and the legacy session. Every message
 * that belongs to a call in flight or to a subscription (progress, client logs,
 * acknowledgements, list_changed, closures) is written while s->mu is held and only after
 * checking that the call or subscription is still live; a call's response is written after
 * it was marked done under s->mu. So nothing is ever sent for a call after its response or
 * after its cancellation, and nothing on a subscription before its acknowledgement.
 * Lock order: s->mu, then the writer's mutex or the executor's mutex (neither ever takes
 * s->mu; call_cancel() runs outside s->mu). The executor calls back without holding its own
 * mutex. A call's log_fn takes s->mu: never call it while holding the call's mutex.
 *
 * json-c reference counts are not atomic: an object is only ever shared between threads
 * read-only. Request ids and progress tokens handed to other threads are deep copies owned by
 * the entry; a call's arguments are taken out of the request (nothing else references them)
 * and owned by the call. */
#include "config.h"
#include "mcp/server.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/results.h"
#include "util/jsonparse.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define LOGC "mcp"
#define MAX_DEPTH 64

#define META_PROTOCOL_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_LOG_LEVEL "io.modelcontextprotocol/logLevel"
#define META_CLIENT_CAPABILITIES "io.modelcontextprotocol/clientCapabilities"
#define META_SERVER_INFO "io.modelcontextprotocol/serverInfo"
#define META_SUBSCRIPTION_ID "io.modelcontextprotocol/subscriptionId"

/* JSON-RPC and MCP error codes */
#define ERR_PARSE (-32700)
#define ERR_INVALID_REQUEST (-32600)
#define ERR_METHOD_NOT_FOUND (-32601)
#define ERR_INVALID_PARAMS (-32602)
#define ERR_INTERNAL (-32603)
#define ERR_UNSUPPORTED_VERSION (-32022)
/* subscriptions/listen streams open at once (one per client is the usual): each costs memory,
   a lookup for every request id and a message per tool-list change */
#define MAX_SUBSCRIPTIONS 256

#define DISCOVER_TTL_MS 3600000

/* MCP log levels, least severe first (RFC 5424 order reversed) */
static const char *const mcp_levels[] = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
#define N_MCP_LEVELS ((int)(sizeof mcp_levels / sizeof *mcp_levels))

static int mcp_level_parse(const char *s)
{
    for (int i = 0; s && i < N_MCP_LEVELS; i++)
        if (strcmp(s, mcp_levels[i]) == 0)
            return i;
    return -1;
}

static int mcp_level_of(lmcp_log_level l)
{
    switch (l) {
    case LMCP_LOG_ERROR: return 4;   /* error */
    case LMCP_LOG_WARN: return 3;    /* warning */
    case LMCP_LOG_INFO: return 1;    /* info */
    case LMCP_LOG_DEBUG:
    case LMCP_LOG_TRACE: return 0;   /* debug */
    }
    return 0;
}

/* ------------------------------------------------------------------------------ state */

/* A tools/call in flight. It is live (its progress, logs and response may be written) while it
 * is linked in s->calls: its response unlinks it, and so does its cancellation by the client. */
typedef struct inflight {
    struct inflight *prev, *next;
    struct mcp_server *s;
    json_object *id;           /* deep copy of the request id (owned); compared by value */
    lmcp_call *call;           /* a reference */
    const char *version;       /* static: the version this request is served with */
    bool modern;
    int log_threshold;         /* modern: from the request's _meta, -1: no logs */
    json_object *progress;     /* deep copy of the progress token, or NULL */
    int64_t next_progress_us;
    int64_t last_progress_ms;
} inflight;

typedef struct subscription {
    struct subscription *next;
    json_object *id;           /* owned; compared by value */
    bool tools;                /* toolsListChanged was asked for */
} subscription;

struct mcp_server {
    char *name, *version, *instructions;
    char *meta_text; /* {"io.modelcontextprotocol/serverInfo":{...}}: the _meta of a modern CallToolResult */
    int64_t tools_ttl_ms;
    size_t page_size;
    int64_t progress_interval_ms;
    size_t max_line;
    out_writer *out;
    registry *reg;
    executor *exec;

    pthread_mutex_t mu;
    inflight *calls;
    subscription *subs;
    size_t nsubs;                  /* linked in subs */
    const char *legacy_version;    /* NULL until `initialize` */
    bool legacy_ready;             /* notifications/initialized received */
    int legacy_log_level;          /* logging/setLevel; -1: no client logs */
    bool stopping;
    bool shut_down;

    pthread_cond_t hb_cv;
    pthread_t hb_thread;
    bool hb_started, hb_stop;

    /* Before the first discovery has finished, tools/list and tools/call wait here (in arrival
       order, as the lines that carried them) while everything else is answered at once; see
       mcp_server_tools_ready(). Under mu. */
    bool tools_ready;
    bool replaying;                /* mcp_server_tools_ready is handling parked lines */
    struct parked *parked, *parked_tail;
    size_t n_parked, parked_bytes;
    pthread_cond_t ready_cv;       /* tools_ready became true */
};

/* A request line kept until the tools are known. Owner: the server's parked list, then
 * whoever unlinks it (replay, cancellation, shutdown), which frees it with parked_free(). */
typedef struct parked {
    char *line;
    size_t len;
    json_object *id;               /* a reference, to find it when the client cancels it */
    struct parked *next;
} parked;

#define MAX_PARKED 1024
#define MAX_PARKED_BYTES ((size_t)64 << 20)
#define NOT_STARTED_MSG "the server is shutting down: the request was not started"

static void parked_free(parked *p)
{
    if (!p)
        return;
    free(p->line);
    json_object_put(p->id);
    free(p);
}

/* Take *pp (prev: the entry before it, NULL at the head) out of s's parked list. Under s->mu. */
static parked *parked_unlink(mcp_server *s, parked **pp, parked *prev)
{
    parked *p = *pp;
    *pp = p->next;
    if (s->parked_tail == p)
        s->parked_tail = prev;
    s->n_parked--;
    s->parked_bytes -= p->len;
    return p;
}

/* One request being handled on the reader thread. */
typedef struct req {
    mcp_server *s;
    json_object *id;       /* borrowed: a string or an integer */
    const char *method;
    json_object *params;   /* borrowed; NULL when absent */
    json_object *meta;     /* params._meta, borrowed; NULL when absent */
    const char *version;   /* NULL: no era (ping before initialize) */
    bool modern;
    int log_threshold;
    int64_t t0_us;
    const char *line;      /* the line it came in, borrowed (kept by park() until the tools are known) */
    size_t len;
    bool replay;           /* handled again after waiting for the first discovery */
} req;

/* ------------------------------------------------------------------------------ helpers */

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static bool has_member(json_object *o, const char *key)
{
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, NULL);
}

static bool is_id(json_object *v)
{
    return v && (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int));
}

static json_object *copy_json(json_object *v)
{
    json_object *c = NULL;
    if (v && json_object_deep_copy(v, &c, NULL) != 0)
        c = NULL;
    return c;
}

/* Two request ids are the same id when they are equal JSON values: 7 and "7" are different
 * ids, and so are "a\u0000b" and "a\u0000c" (strings compare with their length). */
static bool same_id(json_object *a, json_object *b) { return json_object_equal(a, b) != 0; }

/* The id for log lines (never long). */
static void id_text(json_object *id, char *out, size_t n)
{
    if (!id) {
        snprintf(out, n, "null");
        return;
    }
    size_t len;
    const char *t = mcp_json_text(id, &len);
    snprintf(out, n, "%.*s", len > n ? (int)n : (int)len, t);
}

static json_object *server_info(const mcp_server *s)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(s->name));
    json_object_object_add(o, "version", json_object_new_string(s->version));
    return o;
}

/* The serialisation is json-c's own buffer (owned by msg): written as it is, no copy. */
static void send_msg(mcp_server *s, json_object *msg)
{
    size_t n;
    const char *t = mcp_json_text(msg, &n);
    out_write_line(s->out, t, n);
}

/* Every modern result carries _meta serverInfo (and resultType, which the code building the
 * result sets: mcp_call_result for a CallToolResult, reply_result for the others). */
static void add_server_info(const mcp_server *s, json_object *result)
{
    json_object *meta = member(result, "_meta");
    if (!meta || !json_object_is_type(meta, json_type_object)) {
        meta = json_object_new_object();
        json_object_object_add(result, "_meta", meta);
    }
    json_object_object_add(meta, META_SERVER_INFO, server_info(s));
}

/* {"jsonrpc":"2.0","id":id,"result":result}; takes result; id is copied (a reference). */
static json_object *response_new(json_object *id, json_object *result)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(m, "id", id ? json_object_get(id) : NULL);
    json_object_object_add(m, "result", result);
    return m;
}

static void send_error(mcp_server *s, json_object *id, int code, const char *message, json_object *data)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
    /* An id that could not be read is left out: JSON-RPC 2.0 writes "id": null, but both MCP
       schemas type the id as string | integer and make it optional for exactly this case. */
    if (id)
        json_object_object_add(m, "id", json_object_get(id));
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int(code));
    json_object_object_add(e, "message", mcp_json_string_utf8(message, strlen(message)));
    if (data)
        json_object_object_add(e, "data", data);
    json_object_object_add(m, "error", e);
    send_msg(s, m);
    json_object_put(m);
}

static void log_done(const req *rq, const char *what)
{
    if (!log_enabled(LMCP_LOG_DEBUG))
        return;
    char idt[80];
    id_text(rq->id, idt, sizeof idt);
    LOG_DEBUG(LOGC, "%s id=%s%s%s: %s in %.3f ms", rq->method, idt, rq->version ? " version=" : "",
              rq->version ? rq->version : "", what, (double)(clock_mono_us() - rq->t0_us) / 1000.0);
}

static void send_reply(req *rq, json_object *result)
{
    if (rq->modern)
        add_server_info(rq->s, result);
    json_object *m = response_new(rq->id, result);
    send_msg(rq->s, m);
    json_object_put(m);
    log_done(rq, "answered");
}

/* Answer with a result other than a CallToolResult: a modern one is "complete". */
static void reply_result(req *rq, json_object *result)
{
    if (rq->modern)
        json_object_object_add(result, "resultType", json_object_new_string("complete"));
    send_reply(rq, result);
}

/* Answer with a CallToolResult from mcp_call_result (which sets resultType for the version). */
static void reply_call_result(req *rq, json_object *result) { send_reply(rq, result); }

static void reply_error(req *rq, int code, const char *message, json_object *data)
{
    send_error(rq->s, rq->id, code, message, data);
    if (log_enabled(LMCP_LOG_DEBUG)) {
        char what[300];
        snprintf(what, sizeof what, "error %d (%s)", code, message);
        log_done(rq, what);
    }
}

static void reply_errorf(req *rq, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_errorf(req *rq, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf b = BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    reply_error(rq, code, b.data ? b.data : "", NULL);
    buf_free(&b);
}

static json_object *version_list(void)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; mcp_all_versions[i]; i++)
        json_object_array_add(a, json_object_new_string(mcp_all_versions[i]));
    return a;
}

static json_object *capabilities(void)
{
    json_object *caps = json_object_new_object();
    json_object *tools = json_object_new_object();
    json_object_object_add(tools, "listChanged", json_object_new_boolean(1));
    json_object_object_add(caps, "tools", tools);
    json_object_object_add(caps, "logging", json_object_new_object());
    return caps;
}

/* ------------------------------------------------------------------------------ in-flight table
 * (all under s->mu) */

static inflight *calls_find(mcp_server *s, json_object *id)
{
    for (inflight *e = s->calls; e; e = e->next)
        if (same_id(e->id, id))
            return e;
    return NULL;
}

/* Live: in s->calls (an unlinked entry has no prev and is not the head). */
static bool calls_live(const mcp_server *s, const inflight *e) { return e->prev || s->calls == e; }

static void calls_link(mcp_server *s, inflight *e)
{
    e->prev = NULL;
    e->next = s->calls;
    if (s->calls)
        s->calls->prev = e;
    s->calls = e;
}

static void calls_unlink(mcp_server *s, inflight *e)
{
    if (!calls_live(s, e))
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->calls = e->next;
    if (e->next)
        e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

static void inflight_free(inflight *e)
{
    if (!e)
        return;
    json_object_put(e->id);
    json_object_put(e->progress);
    call_release(e->call);
    free(e);
}

static subscription **subs_find(mcp_server *s, json_object *id)
{
    for (subscription **p = &s->subs; *p; p = &(*p)->next)
        if (same_id((*p)->id, id))
            return p;
    return NULL;
}

static void subscription_free(subscription *sub)
{
    json_object_put(sub->id);
    free(sub);
}

/* ------------------------------------------------------------------------------ call callbacks */

static const char *function_of(const lmcp_call *c)
{
    return c->tool->function_name ? c->tool->function_name : c->tool->name;
}

/* call->log_fn: a worker thread (inside the wrapper chain) wants the client to see a log. */
static void call_log(void *ctx, lmcp_log_level level, const char *logger, const char *text)
{
    inflight *e = ctx;
    mcp_server *s = e->s;
    int lvl = mcp_level_of(level);
    pthread_mutex_lock(&s->mu);
    int threshold = e->modern ? e->log_threshold : s->legacy_log_level;
    if (calls_live(s, e) && threshold >= 0 && lvl >= threshold) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(m, "method", json_object_new_string("notifications/message"));
        json_object *p = json_object_new_object();
        json_object_object_add(p, "level", json_object_new_string(mcp_levels[lvl]));
        json_object_object_add(p, "logger", json_object_new_string(logger && *logger ? logger : "lambda-mcp"));
        json_object_object_add(p, "data", mcp_json_string_utf8(text ? text : "", text ? strlen(text) : 0));
        json_object_object_add(m, "params", p);
        send_msg(s, m);
        json_object_put(m);
    }
    pthread_mutex_unlock(&s->mu);
}

/* A request id (a string or an integer: is_id) as JSON text, without serialising the object
 * itself (json-c keeps that text in the object: another thread may be reading the id). */
static void append_id(buf *b, json_object *id)
{
    if (id && json_object_is_type(id, json_type_string)) {
        buf_append_json_string(b, json_object_get_string(id), (size_t)json_object_get_string_len(id));
        return;
    }
    char num[32];
    int64_t i = id ? json_object_get_int64(id) : 0;
    if (!id)
        snprintf(num, sizeof num, "null");
    else if (i == INT64_MAX) /* or above: a uint64 */
        snprintf(num, sizeof num, "%" PRIu64, json_object_get_uint64(id));
    else
        snprintf(num, sizeof num, "%" PRId64, i);
    buf_append_str(b, num);
}

/* Executor callback, on a worker thread: the call has finished. */
static void call_done(void *ctx, lmcp_call *call, lmcp_result *res)
{
    inflight *e = ctx;
    mcp_server *s = e->s;

    pthread_mutex_lock(&s->mu);
    bool by_client = !calls_live(s, e); /* only a cancellation unlinks a call before its response */
    /* shutdown cancels every call still active, even one whose answer is already here (its
       done callback racing the grace period): any outcome but the cancellation (an answer, a
       throttling, a timeout) is sent as it is */
    bool by_shutdown = !by_client && s->stopping && call_is_cancelled(call) && res->outcome == LMCP_OUTCOME_CANCELLED;
    calls_unlink(s, e);
    pthread_mutex_unlock(&s->mu);

    /* A call the client cancelled gets nothing more (MCP). One the shutdown cancelled is the
       server's doing, so the client is told, saying whether Lambda may have run it: a client
       that closes its input and reads the answers to the end loses no request. */
    if (by_shutdown)
        result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled",
                         res->lambda_called
                             ? "the server shut down while the call to %s was running: it was abandoned, and the "
                               "function may or may not have run"
                             : "the server shut down before the call to %s was sent: the function did not run",
                         function_of(call));
    /* unlinked under s->mu: no heartbeat or log for this call can follow the response */
    if (!by_client) {
        /* written as text: {"jsonrpc":"2.0","id":...,"result":CallToolResult} */
        buf line = BUF_INIT;
        buf_append_str(&line, "{\"jsonrpc\":\"2.0\",\"id\":");
        append_id(&line, e->id);
        buf_append_str(&line, ",\"result\":");
        mcp_call_result_text(&line, res, function_of(call), e->version, e->modern ? s->meta_text : NULL);
        buf_append_char(&line, '}');
        out_write_line(s->out, line.data, line.len);
        buf_free(&line);
    }

    if (log_enabled(LMCP_LOG_DEBUG)) {
        char idt[80];
        id_text(e->id, idt, sizeof idt);
        LOG_DEBUG(LOGC, "tools/call id=%s tool=%s: %s%s in %.3f ms", idt, call->tool->name, outcome_name(res->outcome),
                  by_client ? ", cancelled by the client (no response)"
                            : by_shutdown ? ", cancelled by shutdown" : "",
                  (double)(clock_mono_us() - call->started_us) / 1000.0);
    }
    inflight_free(e);
}

/* ------------------------------------------------------------------------------ heartbeats */

static void send_progress(mcp_server *s, inflight *e, int64_t now_us)
{
    int64_t ms = (now_us - e->call->started_us) / 1000;
    if (ms <= e->last_progress_ms)
        ms = e->last_progress_ms + 1; /* progress strictly increases */
    e->last_progress_ms = ms;
    char num[48], msg[512];
    snprintf(num, sizeof num, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
    snprintf(msg, sizeof msg, "waiting for function %s (%" PRId64 " s)", function_of(e->call), ms / 1000);
    json_object *m = json_object_new_object();
    json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(m, "method", json_object_new_string("notifications/progress"));
    json_object *p = json_object_new_object();
    json_object_object_add(p, "progressToken", json_object_get(e->progress));
    json_object_object_add(p, "progress", json_object_new_double_s((double)ms / 1000.0, num));
    json_object_object_add(p, "message", mcp_json_string_utf8(msg, strlen(msg)));
    json_object_object_add(m, "params", p);
    send_msg(s, m);
    json_object_put(m);
}

static void *heartbeat_main(void *arg)
{
    mcp_server *s = arg;
    int64_t interval_us = s->progress_interval_ms * 1000;
    pthread_mutex_lock(&s->mu);
    while (!s->hb_stop) {
        int64_t now = clock_mono_us();
        int64_t next = INT64_MAX;
        for (inflight *e = s->calls; e; e = e->next) {
            if (!e->progress) /* every entry in s->calls is live */
                continue;
            if (e->next_progress_us <= now) {
                send_progress(s, e, now);
                e->next_progress_us += interval_us;
                if (e->next_progress_us <= now) /* fell behind (a slow client): no burst */
                    e->next_progress_us = now + interval_us;
            }
            if (e->next_progress_us < next)
                next = e->next_progress_us;
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&s->hb_cv, &s->mu);
        } else {
            struct timespec ts = clock_mono_deadline((next - now + 999) / 1000);
            pthread_cond_timedwait(&s->hb_cv, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ------------------------------------------------------------------------------ methods */

static void do_ping(req *rq) { reply_result(rq, json_object_new_object()); }

static void do_discover(req *rq)
{
    mcp_server *s = rq->s;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "supportedVersions", version_list());
    json_object_object_add(r, "capabilities", capabilities());
    if (s->instructions)
        json_object_object_add(r, "instructions", json_object_new_string(s->instructions));
    json_object_object_add(r, "ttlMs", json_object_new_int64(DISCOVER_TTL_MS));
    json_object_object_add(r, "cacheScope", json_object_new_string("public"));
    reply_result(rq, r);
}

static void do_initialize(req *rq)
{
    mcp_server *s = rq->s;
    json_object *pv = member(rq->params, "protocolVersion");
    if (!pv || !json_object_is_type(pv, json_type_string)) {
        reply_error(rq, ERR_INVALID_PARAMS, "initialize: params.protocolVersion must be a string", NULL);
        return;
    }
    const char *requested = json_object_get_string(pv);
    const char *v = mcp_legacy_version(requested);
    if (!v)
        v = MCP_LEGACY_LATEST;
    if (log_enabled(LMCP_LOG_DEBUG)) {
        json_object *ci = member(rq->params, "clientInfo");
        json_object *cn = member(ci, "name"), *cv = member(ci, "version");
        LOG_DEBUG(LOGC, "initialize: client %s %s asked for %s, session uses %s",
                  json_object_is_type(cn, json_type_string) ? json_object_get_string(cn) : "?",
                  json_object_is_type(cv, json_type_string) ? json_object_get_string(cv) : "?", requested, v);
    }
    pthread_mutex_lock(&s->mu);
    s->legacy_version = v;
    pthread_mutex_unlock(&s->mu);
    rq->version = v;

    json_object *r = json_object_new_object();
    json_object_object_add(r, "protocolVersion", json_object_new_string(v));
    json_object_object_add(r, "capabilities", capabilities());
    json_object_object_add(r, "serverInfo", server_info(s));
    if (s->instructions)
        json_object_object_add(r, "instructions", json_object_new_string(s->instructions));
    reply_result(rq, r);
}

static void do_set_level(req *rq)
{
    json_object *lv = member(rq->params, "level");
    int level = json_object_is_type(lv, json_type_string) ? mcp_level_parse(json_object_get_string(lv)) : -1;
    if (level < 0) {
        reply_error(rq, ERR_INVALID_PARAMS,
                    "logging/setLevel: params.level must be one of debug, info, notice, warning, error, critical, "
                    "alert, emergency",
                    NULL);
        return;
    }
    pthread_mutex_lock(&rq->s->mu);
    rq->s->legacy_log_level = level;
    pthread_mutex_unlock(&rq->s->mu);
    reply_result(rq, json_object_new_object());
}

/* Cursors: base64url (no padding) of "v1:" + the name of the last tool returned. */
static char *cursor_encode(const char *name)
{
    char *raw = xasprintf("v1:%s", name);
    char *c = base64url_encode(raw, strlen(raw));
    free(raw);
    return c;
}

/* The tool name in a cursor, or NULL when the cursor is not one of ours (only the canonical
 * encoding of "v1:" + a name without NUL bytes is). */
static char *cursor_decode(const char *c)
{
    size_t n = strlen(c);
    if (n == 0 || n > 4096)
        return NULL;
    size_t len = 0;
    unsigned char *raw = base64url_decode(c, &len);
    char *name = NULL;
    if (raw && len > 3 && memcmp(raw, "v1:", 3) == 0 && !memchr(raw, '\0', len))
        name = xstrdup((const char *)raw + 3);
    free(raw);
    return name;
}

static void do_tools_list(req *rq)
{
    mcp_server *s = rq->s;
    json_object *cur = member(rq->params, "cursor");
    char *after = NULL;
    if (cur) {
        if (!json_object_is_type(cur, json_type_string) || !(after = cursor_decode(json_object_get_string(cur)))) {
            reply_error(rq, ERR_INVALID_PARAMS, "tools/list: invalid cursor (list again without a cursor)", NULL);
            return;
        }
    }
    tool_snapshot *snap = registry_acquire(s->reg);
    size_t start = snapshot_index_after(snap, after);
    size_t end = start + s->page_size < snap->n ? start + s->page_size : snap->n;
    json_object *tools = json_object_new_array_ext((int)(end > start ? end - start : 0));
    for (size_t i = start; i < end; i++)
        json_object_array_add(tools, tool_wire(&snap->tools[i]));
    json_object *r = json_object_new_object();
    json_object_object_add(r, "tools", tools);
    if (end < snap->n) {
        char *next = cursor_encode(snap->tools[end - 1].name);
        json_object_object_add(r, "nextCursor", json_object_new_string(next));
        free(next);
    }
    if (rq->modern) {
        /* before any discovery succeeded the (empty) list is no answer to keep: not fresh at all */
        int64_t ttl = s->tools_ttl_ms > 0 && registry_has_published(s->reg) ? s->tools_ttl_ms : 0;
        json_object_object_add(r, "ttlMs", json_object_new_int64(ttl));
        json_object_object_add(r, "cacheScope", json_object_new_string("private"));
    }
    /* serialized while the snapshot (whose annotations the tool objects share) is held */
    reply_result(rq, r);
    snapshot_release(snap);
    free(after);
}

/* A request whose id is that of a request still in flight (a client bug: ids must not be reused
 * while in flight). Any answer would carry that id and so read as the answer to the first one (or
 * as the end of a live subscription): it gets none, and the log says why. */
static void duplicate_id(req *rq)
{
    char idt[80];
    id_text(rq->id, idt, sizeof idt);
    LOG_WARN(LOGC, "%s id=%s ignored: a request with this id is still in flight (ids must not be reused until "
                   "answered)",
             rq->method, idt);
}

static void reply_refused(req *rq, const tool *t, const char *type, const char *msg)
{
    lmcp_result res;
    result_init(&res);
    result_set_error(&res, LMCP_OUTCOME_REFUSED, type, "%s", msg);
    json_object *r = mcp_call_result(&res, t->function_name ? t->function_name : t->name, rq->version);
    result_clear(&res);
    reply_call_result(rq, r);
}

static void do_tools_call(req *rq)
{
    mcp_server *s = rq->s;
    if (!rq->params) {
        reply_error(rq, ERR_INVALID_PARAMS, "tools/call: params are required", NULL);
        return;
    }
    json_object *jname = member(rq->params, "name");
    if (!jname || !json_object_is_type(jname, json_type_string)) {
        reply_error(rq, ERR_INVALID_PARAMS, "tools/call: params.name must be a string", NULL);
        return;
    }
    json_object *args = NULL;
    if (json_object_object_get_ex(rq->params, "arguments", &args) && !json_object_is_type(args, json_type_object)) {
        reply_error(rq, ERR_INVALID_PARAMS, "tools/call: params.arguments must be an object", NULL);
        return;
    }
    const char *name = json_object_get_string(jname);
    tool_snapshot *snap = registry_acquire(s->reg);
    const tool *t = snapshot_find(snap, name);
    if (!t) {
        snapshot_release(snap);
        reply_errorf(rq, ERR_INVALID_PARAMS, "Unknown tool: %s", name);
        return;
    }
    json_object *token = member(rq->meta, "progressToken");
    if (token && !is_id(token)) {
        LOG_DEBUG(LOGC, "tools/call: ignoring a progressToken that is neither a string nor an integer");
        token = NULL;
    }
    /* the arguments are never logged, at any level: a model may pass anything in them, tokens
       included (the audit plugin records their SHA-256 unless configured otherwise) */

    inflight *e = xcalloc(1, sizeof *e);
    e->s = s;
    e->id = copy_json(rq->id);
    e->version = rq->version;
    e->modern = rq->modern;
    e->log_threshold = rq->log_threshold;
    e->progress = copy_json(token);
    /* The call takes the arguments object out of the request rather than copying it: after the
       delete, the call holds the only reference (json-c's counts are not atomic, and the call is
       released on a worker thread while the request is freed on this one). */
    json_object *own_args;
    if (args) {
        own_args = json_object_get(args);
        json_object_object_del(rq->params, "arguments");
    } else {
        own_args = json_object_new_object();
    }
    e->call = call_new(snap, t, own_args, t->timeout_ms);
    json_object_put(own_args);
    snapshot_release(snap); /* the call holds its own reference (and so keeps t alive) */
    t = e->call->tool;
    e->call->log_fn = call_log;
    e->call->log_ctx = e;
    e->last_progress_ms = 0;

    pthread_mutex_lock(&s->mu);
    if (calls_find(s, e->id) || subs_find(s, e->id)) {
        pthread_mutex_unlock(&s->mu);
        inflight_free(e);
        duplicate_id(rq);
        return;
    }
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        reply_refused(rq, t, "ShuttingDown", "the server is shutting down; the call was not started");
        inflight_free(e);
        return;
    }
    calls_link(s, e);
    if (e->progress && s->hb_started) {
        e->next_progress_us = e->call->started_us + s->progress_interval_ms * 1000;
        pthread_cond_signal(&s->hb_cv);
    }
    int rc = executor_submit(s->exec, e->call, call_done, e);
    if (rc != 0)
        calls_unlink(s, e);
    pthread_mutex_unlock(&s->mu);
    if (rc != 0) {
        LOG_WARN(LOGC, "tools/call %s refused: the call queue is full", t->name);
        reply_refused(rq, t, "ConcurrencyLimit",
                      "the server is at its concurrency limit (too many calls in flight); retry in a moment");
        inflight_free(e);
        return;
    }
    log_done(rq, "queued");
}

static void do_listen(req *rq)
{
    mcp_server *s = rq->s;
    json_object *filter = NULL;
    if (rq->params && json_object_object_get_ex(rq->params, "notifications", &filter) &&
        !json_object_is_type(filter, json_type_object)) {
        reply_error(rq, ERR_INVALID_PARAMS, "subscriptions/listen: params.notifications must be an object", NULL);
        return;
    }
    json_object *tl = member(filter, "toolsListChanged");
    subscription *sub = xcalloc(1, sizeof *sub);
    sub->id = copy_json(rq->id);
    sub->tools = tl && json_object_is_type(tl, json_type_boolean) && json_object_get_boolean(tl);

    pthread_mutex_lock(&s->mu);
    if (calls_find(s, sub->id) || subs_find(s, sub->id)) {
        pthread_mutex_unlock(&s->mu);
        subscription_free(sub);
        duplicate_id(rq);
        return;
    }
    if (s->nsubs >= MAX_SUBSCRIPTIONS && !s->stopping) {
        pthread_mutex_unlock(&s->mu);
        subscription_free(sub);
        reply_errorf(rq, ERR_INTERNAL, "subscriptions/listen: %d subscriptions are open already, the most this "
                     "server keeps; cancel one first", MAX_SUBSCRIPTIONS);
        return;
    }
    json_object *ack = json_object_new_object();
    json_object_object_add(ack, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(ack, "method", json_object_new_string("notifications/subscriptions/acknowledged"));
    json_object *p = json_object_new_object();
    json_object *granted = json_object_new_object();
    if (sub->tools)
        json_object_object_add(granted, "toolsListChanged", json_object_new_boolean(1));
    json_object_object_add(p, "notifications", granted);
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, META_SUBSCRIPTION_ID, json_object_get(rq->id));
    json_object_object_add(p, "_meta", meta);
    json_object_object_add(ack, "params", p);
    send_msg(s, ack);
    json_object_put(ack);
    bool closed = s->stopping;
    if (!closed) {
        sub->next = s->subs;
        s->subs = sub;
        s->nsubs++;
    }
    pthread_mutex_unlock(&s->mu);
    if (closed) { /* shutting down: acknowledge and close at once */
        json_object *r = json_object_new_object();
        json_object *m = json_object_new_object();
        json_object_object_add(m, META_SUBSCRIPTION_ID, json_object_get(rq->id));
        json_object_object_add(r, "_meta", m);
        reply_result(rq, r);
        subscription_free(sub);
        return;
    }
    log_done(rq, sub->tools ? "subscribed (toolsListChanged)" : "subscribed (nothing we send)");
}

/* ------------------------------------------------------------------------------ notifications */

static void on_cancelled(mcp_server *s, json_object *params)
{
    json_object *rid = member(params, "requestId");
    if (!is_id(rid)) {
        LOG_DEBUG(LOGC, "notifications/cancelled without a usable requestId: ignored");
        return;
    }
    json_object *reason = member(params, "reason");
    const char *what = "unknown or finished request: ignored";
    lmcp_call *victim = NULL;
    pthread_mutex_lock(&s->mu);
    inflight *e = calls_find(s, rid); /* only live calls are in the table */
    subscription **sp = e ? NULL : subs_find(s, rid);
    parked *gone = NULL;
    if (!e && !sp) { /* one that waits for the first discovery never starts */
        for (parked **pp = &s->parked, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
            if (json_object_equal((*pp)->id, rid)) {
                gone = parked_unlink(s, pp, prev);
                what = "cancelled before it started (it was waiting for the first discovery)";
                break;
            }
        }
    }
    if (e) {
        calls_unlink(s, e); /* from here on nothing is written for it; the done callback frees it */
        victim = call_ref(e->call);
        what = "tools/call cancelled";
    } else if (sp) {
        subscription *sub = *sp;
        *sp = sub->next;
        s->nsubs--;
        subscription_free(sub);
        what = "subscription closed";
    }
    pthread_mutex_unlock(&s->mu);
    parked_free(gone);
    if (victim) { /* outside s->mu: a call's own lock never nests inside ours */
        call_cancel(victim);
        /* one still waiting for a worker leaves the queue now (its done callback frees the
           entry, writing nothing): it must not hold a place of max_queued until a slot frees */
        if (executor_withdraw(s->exec, victim))
            what = "tools/call cancelled before it started";
        call_release(victim);
    }
    if (log_enabled(LMCP_LOG_DEBUG)) {
        char idt[80];
        id_text(rid, idt, sizeof idt);
        LOG_DEBUG(LOGC, "notifications/cancelled requestId=%s%s%s: %s", idt,
                  json_object_is_type(reason, json_type_string) ? " reason=" : "",
                  json_object_is_type(reason, json_type_string) ? json_object_get_string(reason) : "", what);
    }
}

static void handle_notification(mcp_server *s, const char *method, json_object *params)
{
    if (strcmp(method, "notifications/cancelled") == 0) {
        on_cancelled(s, params);
    } else if (strcmp(method, "notifications/initialized") == 0) {
        pthread_mutex_lock(&s->mu);
        bool have = s->legacy_version != NULL;
        if (have)
            s->legacy_ready = true;
        pthread_mutex_unlock(&s->mu);
        LOG_DEBUG(LOGC, "notifications/initialized%s", have ? ": the legacy session is ready" : " before initialize: ignored");
    } else {
        LOG_DEBUG(LOGC, "notification %s ignored", method);
    }
}

/* ------------------------------------------------------------------------------ dispatch */

static bool park(mcp_server *s, json_object *id, const char *method, const char *line, size_t len);

/* tools/list and tools/call, the same in both eras (false for any other method). Before the
 * first discovery has finished they wait for it (park) unless this is that wait's replay. */
static bool dispatch_tools(req *rq)
{
    bool list = strcmp(rq->method, "tools/list") == 0;
    if (!list && strcmp(rq->method, "tools/call") != 0)
        return false;
    if (!rq->replay && park(rq->s, rq->id, rq->method, rq->line, rq->len))
        return true; /* kept, or refused because too much waits */
    if (list)
        do_tools_list(rq);
    else
        do_tools_call(rq);
    return true;
}

static void dispatch_modern(req *rq)
{
    const char *m = rq->method;
    if (dispatch_tools(rq))
        return;
    if (strcmp(m, "server/discover") == 0)
        do_discover(rq);
    else if (strcmp(m, "ping") == 0)
        do_ping(rq);
    else if (strcmp(m, "subscriptions/listen") == 0)
        do_listen(rq);
    else
        reply_errorf(rq, ERR_METHOD_NOT_FOUND, "Method not found: %s", m);
}

static void dispatch_legacy(req *rq)
{
    const char *m = rq->method;
    if (dispatch_tools(rq))
        return;
    if (strcmp(m, "ping") == 0)
        do_ping(rq);
    else if (strcmp(m, "logging/setLevel") == 0)
        do_set_level(rq);
    else
        reply_errorf(rq, ERR_METHOD_NOT_FOUND, "Method not found: %s", m);
}

static void handle_request(mcp_server *s, req *rq)
{
    json_object *meta = NULL;
    if (rq->params && json_object_object_get_ex(rq->params, "_meta", &meta) &&
        !json_object_is_type(meta, json_type_object)) {
        reply_error(rq, ERR_INVALID_PARAMS, "Invalid params: params._meta must be an object", NULL);
        return;
    }
    rq->meta = meta;
    json_object *pv = member(meta, META_PROTOCOL_VERSION);
    if (pv) {
        if (!json_object_is_type(pv, json_type_string)) {
            reply_error(rq, ERR_INVALID_PARAMS, "Invalid params: _meta[\"" META_PROTOCOL_VERSION "\"] must be a string",
                        NULL);
            return;
        }
        const char *v = mcp_modern_version(json_object_get_string(pv));
        if (!v) {
            json_object *data = json_object_new_object();
            json_object_object_add(data, "supported", version_list());
            json_object_object_add(data, "requested", json_object_get(pv));
            reply_error(rq, ERR_UNSUPPORTED_VERSION, "Unsupported protocol version", data);
            return;
        }
        /* required: "a request missing any required field is malformed" (-32602) */
        json_object *cc = member(meta, META_CLIENT_CAPABILITIES);
        if (!cc || !json_object_is_type(cc, json_type_object)) {
            reply_error(rq, ERR_INVALID_PARAMS,
                        cc ? "Invalid params: _meta[\"" META_CLIENT_CAPABILITIES "\"] must be an object"
                           : "Invalid params: _meta[\"" META_CLIENT_CAPABILITIES "\"] is required with "
                             "_meta[\"" META_PROTOCOL_VERSION "\"] (an object, {} when the client has none)",
                        NULL);
            return;
        }
        json_object *ll = member(meta, META_LOG_LEVEL);
        if (ll) {
            rq->log_threshold = json_object_is_type(ll, json_type_string) ? mcp_level_parse(json_object_get_string(ll)) : -1;
            if (rq->log_threshold < 0) {
                reply_error(rq, ERR_INVALID_PARAMS,
                            "Invalid params: _meta[\"" META_LOG_LEVEL "\"] must be one of debug, info, notice, warning, "
                            "error, critical, alert, emergency",
                            NULL);
                return;
            }
        }
        rq->version = v;
        rq->modern = true;
        dispatch_modern(rq);
        return;
    }

    pthread_mutex_lock(&s->mu);
    const char *legacy = s->legacy_version;
    pthread_mutex_unlock(&s->mu);
    if (strcmp(rq->method, "initialize") == 0) {
        if (legacy) {
            rq->version = legacy;
            reply_errorf(rq, ERR_INVALID_REQUEST, "Invalid Request: initialize was already received (protocol version %s)",
                         legacy);
            return;
        }
        do_initialize(rq);
        return;
    }
    if (legacy) {
        rq->version = legacy;
        dispatch_legacy(rq);
        return;
    }
    if (strcmp(rq->method, "ping") == 0) {
        do_ping(rq);
        return;
    }
    if (member(meta, META_CLIENT_CAPABILITIES)) { /* a 2026-07-28 request without its version */
        reply_error(rq, ERR_INVALID_PARAMS,
                    "Invalid params: _meta[\"" META_PROTOCOL_VERSION "\"] is required (MCP " MCP_MODERN_VERSION ")",
                    NULL);
        return;
    }
    reply_error(rq, ERR_INVALID_REQUEST,
                "Invalid Request: no protocol version; send `initialize` first (legacy MCP), or put the protocol "
                "version in params._meta[\"" META_PROTOCOL_VERSION "\"] (MCP " MCP_MODERN_VERSION ")",
                NULL);
}

/* tools/list and tools/call before the first discovery has finished: keep the line for
 * mcp_server_tools_ready(). Returns false when the tools are ready (handle it now); true when
 * the line was kept, or refused with an error because too much is waiting already or the
 * server is shutting down. */
static bool park(mcp_server *s, json_object *id, const char *method, const char *line, size_t len)
{
    pthread_mutex_lock(&s->mu);
    if (s->tools_ready) {
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    bool stopping = s->stopping; /* the shutdown has refused what waited: refuse this too */
    bool full = !stopping && (s->n_parked >= MAX_PARKED || s->parked_bytes + len > MAX_PARKED_BYTES);
    if (!full && !stopping) {
        parked *p = xcalloc(1, sizeof *p);
        p->line = xmalloc(len ? len : 1);
        memcpy(p->line, line, len);
        p->len = len;
        p->id = copy_json(id); /* not a reference: id belongs to the reader's message, and
                                  json-c's reference counts are not atomic */
        if (s->parked_tail)
            s->parked_tail->next = p;
        else
            s->parked = p;
        s->parked_tail = p;
        s->n_parked++;
        s->parked_bytes += len;
    }
    size_t n = s->n_parked;
    pthread_mutex_unlock(&s->mu);
    if (stopping) {
        send_error(s, id, ERR_INTERNAL, NOT_STARTED_MSG, NULL);
    } else if (full) {
        char m[200];
        snprintf(m, sizeof m, "%s: the server is still discovering its tools and %zu requests are waiting for that already; "
                              "try again in a moment", method, n);
        send_error(s, id, ERR_INTERNAL, m, NULL);
    } else if (log_enabled(LMCP_LOG_DEBUG)) {
        char idt[80];
        id_text(id, idt, sizeof idt);
        LOG_DEBUG(LOGC, "%s id=%s waits for the first discovery (%zu waiting)", method, idt, n);
    }
    return true;
}

static void handle_line(mcp_server *s, const char *line, size_t len, bool replay);

void mcp_server_handle_line(mcp_server *s, const char *line, size_t len) { handle_line(s, line, len, false); }

void mcp_server_tools_ready(mcp_server *s)
{
    size_t n = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (!s->parked) { /* lines parked while these were replayed are replayed too, in order */
            s->tools_ready = true;
            s->replaying = false;
            pthread_cond_broadcast(&s->ready_cv);
            pthread_mutex_unlock(&s->mu);
            break;
        }
        parked *p = parked_unlink(s, &s->parked, NULL);
        s->replaying = true; /* the parked list is empty while its last line is handled */
        pthread_mutex_unlock(&s->mu);
        handle_line(s, p->line, p->len, true);
        parked_free(p);
        n++;
    }
    if (n)
        LOG_DEBUG(LOGC, "the tools are known: %zu waiting request%s handled", n, n == 1 ? "" : "s");
}

bool mcp_server_wait_parked(mcp_server *s, int64_t timeout_ms)
{
    struct timespec until = clock_mono_deadline(timeout_ms);
    pthread_mutex_lock(&s->mu);
    while (!s->tools_ready && (s->parked || s->replaying) &&
           pthread_cond_timedwait(&s->ready_cv, &s->mu, &until) == 0)
        ;
    bool done = s->tools_ready || (!s->parked && !s->replaying);
    pthread_mutex_unlock(&s->mu);
    return done;
}

static void handle_line(mcp_server *s, const char *line, size_t len, bool replay)
{
    int64_t t0 = clock_mono_us();
    json_object *msg = NULL;
    const char *perr = NULL;
    if (!json_parse_strict(line, len, MAX_DEPTH, &msg, &perr)) {
        LOG_DEBUG(LOGC, "unparseable message (%zu bytes): %s", len, perr ? perr : "?");
        char m[160];
        snprintf(m, sizeof m, "Parse error: %s", perr ? perr : "not JSON");
        send_error(s, NULL, ERR_PARSE, m, NULL);
        return;
    }
    if (!json_object_is_type(msg, json_type_object)) {
        LOG_DEBUG(LOGC, "a message that is not a JSON object: %s", msg ? json_type_to_name(json_object_get_type(msg)) : "null");
        send_error(s, NULL, ERR_INVALID_REQUEST,
                   json_object_is_type(msg, json_type_array) ? "Invalid Request: batches are not supported"
                                                             : "Invalid Request: a message must be a JSON object",
                   NULL);
        json_object_put(msg);
        return;
    }
    json_object *id = NULL, *jm = NULL, *params = NULL, *jv = NULL;
    bool has_id = json_object_object_get_ex(msg, "id", &id);
    bool has_method = json_object_object_get_ex(msg, "method", &jm);
    bool has_params = json_object_object_get_ex(msg, "params", &params);
    json_object_object_get_ex(msg, "jsonrpc", &jv);
    bool version_ok = jv && json_object_is_type(jv, json_type_string) && strcmp(json_object_get_string(jv), "2.0") == 0;
    bool method_ok = has_method && json_object_is_type(jm, json_type_string);

    if (!has_method && (has_member(msg, "result") || has_member(msg, "error"))) {
        LOG_DEBUG(LOGC, "a response from the client (we send no requests): ignored");
        json_object_put(msg);
        return;
    }
    if (!has_id && method_ok) { /* a notification: never answered, whatever is wrong with it */
        const char *method = json_object_get_string(jm);
        if (!version_ok)
            LOG_DEBUG(LOGC, "notification %s without jsonrpc \"2.0\": ignored", method);
        else if (has_params && !json_object_is_type(params, json_type_object))
            LOG_DEBUG(LOGC, "notification %s with params that are not an object: ignored", method);
        else
            handle_notification(s, method, has_params ? params : NULL);
        json_object_put(msg);
        return;
    }
    req rq = {.s = s, .id = is_id(id) ? id : NULL, .method = method_ok ? json_object_get_string(jm) : "?",
              .log_threshold = -1, .t0_us = t0, .line = line, .len = len, .replay = replay};
    if (has_id && !is_id(id))
        reply_error(&rq, ERR_INVALID_REQUEST, "Invalid Request: id must be a string or an integer (of at most 64 bits)", NULL);
    else if (!version_ok)
        reply_error(&rq, ERR_INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\"", NULL);
    else if (!method_ok)
        reply_error(&rq, ERR_INVALID_REQUEST,
                    has_method ? "Invalid Request: method must be a string" : "Invalid Request: method is missing", NULL);
    else if (has_params && !json_object_is_type(params, json_type_object))
        reply_error(&rq, ERR_INVALID_PARAMS, "Invalid params: params must be an object", NULL);
    else {
        rq.params = has_params ? params : NULL;
        handle_request(s, &rq);
    }
    json_object_put(msg);
}

void mcp_server_handle_oversized(mcp_server *s)
{
    char m[128];
    snprintf(m, sizeof m, "message too large: lines are limited to %zu bytes", s->max_line);
    LOG_WARN(LOGC, "%s; the line was skipped", m);
    send_error(s, NULL, ERR_INVALID_REQUEST, m, NULL);
}

/* ------------------------------------------------------------------------------ list changes */

void mcp_server_notify_tools_changed(mcp_server *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    for (subscription *sub = s->subs; sub; sub = sub->next) {
        if (!sub->tools)
            continue;
        json_object *m = json_object_new_object();
        json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(m, "method", json_object_new_string("notifications/tools/list_changed"));
        json_object *p = json_object_new_object();
        json_object *meta = json_object_new_object();
        json_object_object_add(meta, META_SUBSCRIPTION_ID, json_object_get(sub->id));
        json_object_object_add(p, "_meta", meta);
        json_object_object_add(m, "params", p);
        send_msg(s, m);
        json_object_put(m);
        n++;
    }
    if (s->legacy_ready) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(m, "method", json_object_new_string("notifications/tools/list_changed"));
        send_msg(s, m);
        json_object_put(m);
        n++;
    }
    pthread_mutex_unlock(&s->mu);
    LOG_DEBUG(LOGC, "tools changed: notified %zu listener(s)", n);
}

/* ------------------------------------------------------------------------------ lifecycle */

mcp_server *mcp_server_new(const mcp_server_opts *o)
{
    mcp_server *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(o->name ? o->name : "lambda-mcp");
    s->version = xstrdup(o->version ? o->version : PACKAGE_VERSION);
    s->instructions = xstrdup(o->instructions);
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, META_SERVER_INFO, server_info(s));
    s->meta_text = xstrdup(mcp_json_text(meta, NULL));
    json_object_put(meta);
    s->tools_ttl_ms = o->tools_ttl_ms;
    s->page_size = o->page_size ? o->page_size : 100;
    s->progress_interval_ms = o->progress_interval_ms;
    s->max_line = o->max_line;
    s->out = o->out;
    s->reg = o->reg;
    s->exec = o->exec;
    s->legacy_log_level = -1;
    s->tools_ready = !o->tools_pending;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines from clock_mono_deadline() */
    pthread_cond_init(&s->hb_cv, &ca);
    pthread_cond_init(&s->ready_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (s->progress_interval_ms > 0) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&s->hb_thread, &attr, heartbeat_main, s) == 0)
            s->hb_started = true;
        else
            LOG_WARN(LOGC, "cannot start the progress thread: no progress notifications will be sent");
        pthread_attr_destroy(&attr);
    }
    return s;
}

void mcp_server_shutdown(mcp_server *s, int64_t grace_ms)
{
    pthread_mutex_lock(&s->mu);
    if (s->shut_down || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    /* what still waits for the first discovery (after a signal; at the end of input the caller
       waited with mcp_server_wait_parked) is refused: it never started */
    parked *left = s->parked;
    s->parked = s->parked_tail = NULL;
    s->n_parked = 0;
    s->parked_bytes = 0;
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    size_t n_left = 0;
    while (left) {
        parked *p = left;
        left = p->next;
        send_error(s, p->id, ERR_INTERNAL, NOT_STARTED_MSG, NULL);
        parked_free(p);
        n_left++;
    }
    if (n_left)
        LOG_INFO(LOGC, "shutdown: %zu request(s) that waited for the first discovery were refused", n_left);
    pthread_mutex_lock(&s->mu);
    /* end every subscription gracefully: its listen request gets its (empty) result */
    size_t nsubs = 0;
    while (s->subs) {
        subscription *sub = s->subs;
        s->subs = sub->next;
        json_object *r = json_object_new_object();
        json_object_object_add(r, "resultType", json_object_new_string("complete"));
        json_object *meta = json_object_new_object();
        json_object_object_add(meta, META_SUBSCRIPTION_ID, json_object_get(sub->id));
        json_object_object_add(meta, META_SERVER_INFO, server_info(s));
        json_object_object_add(r, "_meta", meta);
        json_object *m = response_new(sub->id, r);
        send_msg(s, m);
        json_object_put(m);
        subscription_free(sub);
        nsubs++;
    }
    s->nsubs = 0;
    pthread_mutex_unlock(&s->mu);
    LOG_DEBUG(LOGC, "shutdown: closed %zu subscription(s), draining calls for up to %" PRId64 " ms", nsubs, grace_ms);

    executor_shutdown(s->exec, grace_ms);

    pthread_mutex_lock(&s->mu);
    s->hb_stop = true;
    pthread_cond_broadcast(&s->hb_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->hb_started) {
        pthread_join(s->hb_thread, NULL);
        s->hb_started = false;
    }
    pthread_mutex_lock(&s->mu);
    s->shut_down = true;
    pthread_mutex_unlock(&s->mu);
}

void mcp_server_free(mcp_server *s)
{
    if (!s)
        return;
    mcp_server_shutdown(s, 0);
    /* the executor has run every done callback: nothing is left in flight */
    while (s->calls) {
        inflight *e = s->calls;
        calls_unlink(s, e);
        inflight_free(e);
    }
    while (s->subs) {
        subscription *sub = s->subs;
        s->subs = sub->next;
        subscription_free(sub);
    }
    while (s->parked) { /* none: the shutdown took them and park() refuses after it */
        parked *p = s->parked;
        s->parked = p->next;
        parked_free(p);
    }
    pthread_cond_destroy(&s->hb_cv);
    pthread_cond_destroy(&s->ready_cv);
    pthread_mutex_destroy(&s->mu);
    free(s->name);
    free(s->version);
    free(s->meta_text);
    free(s->instructions);
    free(s);
}
