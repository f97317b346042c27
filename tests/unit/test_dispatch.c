/* The MCP dispatcher end to end: lines in through mcp_server_handle_line, a real executor
 * running a scripted terminal (no AWS), messages out through an out_writer on a pipe. */
#define _GNU_SOURCE 1 /* F_SETPIPE_SZ */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "invoke/chain.h"
#include "invoke/executor.h"
#include "mcp/framing.h"
#include "mcp/results.h"
#include "mcp/server.h"
#include "tools/registry.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define MODERN_META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
                    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

/* o as JSON text, a copy the caller frees */
static char *dump(json_object *o) { return xstrdup(mcp_json_text(o, NULL)); }

/* ------------------------------------------------------------------------------ the scripted terminal */

typedef struct script {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;          /* calls that reached the terminal */
    int saw_cancel;       /* blocked calls that observed call_is_cancelled */
    bool gate[16];        /* gate tool: call n returns once gate[n] is open */
} script;

static script S = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {false}};

static void script_reset(void)
{
    pthread_mutex_lock(&S.mu);
    S.started = 0;
    S.saw_cancel = 0;
    memset(S.gate, 0, sizeof S.gate);
    pthread_mutex_unlock(&S.mu);
}

static void script_started(void)
{
    pthread_mutex_lock(&S.mu);
    S.started++;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
}

static int64_t arg_int(lmcp_call *call, const char *key, int64_t dflt)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(call->arguments, key, &v))
        return json_object_get_int64(v);
    return dflt;
}

static int terminal(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx;
    const char *fn = call->tool->function_name;
    if (strcmp(fn, "fn-echo") == 0) {
        const char *s = json_object_to_json_string_ext(call->event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        result_set_ok(res, s, strlen(s));
    } else if (strcmp(fn, "fn-array") == 0) {
        result_set_ok(res, "[1,2,3]", 7);
    } else if (strcmp(fn, "fn-fail") == 0) {
        result_clear(res);
        res->outcome = LMCP_OUTCOME_FUNCTION_ERROR;
        buf_append_str(&res->payload, "{\"errorType\":\"Boom\",\"errorMessage\":\"it broke\",\"stackTrace\":[\"at a\",\"at b\"]}");
    } else if (strcmp(fn, "fn-throttle") == 0) {
        result_set_error(res, LMCP_OUTCOME_THROTTLED, "TooManyRequestsException", "Rate exceeded");
        res->retry_after_ms = 1000;
    } else if (strcmp(fn, "fn-block") == 0) {
        script_started();
        int64_t until = clock_mono_us() + 10 * 1000000;
        while (!call_is_cancelled(call) && clock_mono_us() < until)
            call_sleep(call, 100);
        if (call_is_cancelled(call)) {
            pthread_mutex_lock(&S.mu);
            S.saw_cancel++;
            pthread_cond_broadcast(&S.cv);
            pthread_mutex_unlock(&S.mu);
            result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled", "cancelled");
            res->lambda_called = true; /* as the invoker says of a request that went out */
        } else {
            result_set_ok(res, "\"late\"", 6);
        }
    } else if (strcmp(fn, "fn-gate") == 0) {
        int n = (int)arg_int(call, "n", 0);
        script_started();
        pthread_mutex_lock(&S.mu);
        while (!S.gate[n] && !call_is_cancelled(call)) {
            pthread_mutex_unlock(&S.mu);
            clock_sleep_ms(2);
            pthread_mutex_lock(&S.mu);
        }
        pthread_mutex_unlock(&S.mu);
        char p[32];
        snprintf(p, sizeof p, "{\"n\":%d}", n);
        result_set_ok(res, p, strlen(p));
    } else if (strcmp(fn, "fn-slow") == 0) {
        call_sleep(call, arg_int(call, "ms", 100));
        result_set_ok(res, "\"slow done\"", 11);
    } else if (strcmp(fn, "fn-log") == 0) {
        if (call->log_fn) {
            call->log_fn(call->log_ctx, LMCP_LOG_ERROR, "test", "an error");
            call->log_fn(call->log_ctx, LMCP_LOG_WARN, "test", "a warning");
            call->log_fn(call->log_ctx, LMCP_LOG_INFO, "test", "some info");
            call->log_fn(call->log_ctx, LMCP_LOG_DEBUG, NULL, "a detail");
        }
        result_set_ok(res, "\"logged\"", 8);
    } else {
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "ResourceNotFoundException", "no such function %s", fn);
    }
    return LMCP_OK;
}

/* ------------------------------------------------------------------------------ fixture */

typedef struct fx {
    registry *reg;
    chain *ch;
    executor *ex;
    out_writer *w;
    mcp_server *s;
    int rfd, wfd;
    buf in;        /* bytes read from the server's output, not yet split */
} fx;

static void add_tool(tool_snapshot *snap, const char *name, const char *fn)
{
    tool *t = snapshot_add(snap);
    t->name = xstrdup(name);
    t->description = xasprintf("Calls %s", fn);
    t->function_name = xstrdup(fn);
    t->timeout_ms = 30000;
}

static tool_snapshot *standard_tools(void)
{
    tool_snapshot *snap = snapshot_new();
    /* added out of order: the snapshot sorts them */
    add_tool(snap, "throttle", "fn-throttle");
    add_tool(snap, "echo", "fn-echo");
    add_tool(snap, "array", "fn-array");
    add_tool(snap, "fail", "fn-fail");
    add_tool(snap, "block", "fn-block");
    add_tool(snap, "gate", "fn-gate");
    add_tool(snap, "slow", "fn-slow");
    add_tool(snap, "log", "fn-log");
    snapshot_finish(snap);
    return snap;
}

typedef struct fx_opts {
    size_t page_size;
    int64_t progress_ms;
    size_t max_inflight, max_queued;
    tool_snapshot *tools; /* NULL: standard_tools() */
    bool tools_pending;   /* tools/list and tools/call wait for mcp_server_tools_ready() */
    bool unpublished;     /* no tool set published (every discovery failed so far) */
} fx_opts;

static fx *fx_new(const fx_opts *o)
{
    script_reset();
    fx *f = xcalloc(1, sizeof *f);
    int p[2];
    assert_int_equal(pipe(p), 0);
    f->rfd = p[0];
    f->wfd = p[1];
    fcntl(f->wfd, F_SETPIPE_SZ, 1024 * 1024);
    f->reg = registry_new();
    if (!o || !o->unpublished)
        registry_publish(f->reg, o && o->tools ? o->tools : standard_tools());
    f->ch = chain_new(terminal, NULL);
    executor_opts eo = {.max_inflight = o && o->max_inflight ? o->max_inflight : 16,
                        .max_queued = o && o->max_queued ? o->max_queued : 64};
    f->ex = executor_new(&eo, f->ch);
    f->w = out_writer_new(f->wfd);
    mcp_server_opts so = {
        .name = "lambda-mcp",
        .version = "9.9.9",
        .instructions = "Each tool calls one AWS Lambda function.",
        .tools_ttl_ms = 60000,
        .page_size = o && o->page_size ? o->page_size : 100,
        .progress_interval_ms = o ? o->progress_ms : 0,
        .max_line = 4096,
        .out = f->w,
        .reg = f->reg,
        .exec = f->ex,
        .tools_pending = o && o->tools_pending,
    };
    f->s = mcp_server_new(&so);
    return f;
}

static void fx_free(fx *f)
{
    /* let calls that already answered leave the executor, so shutdown has nothing to cancel */
    int64_t until = clock_mono_us() + 100000;
    while (executor_inflight(f->ex) > 0 && clock_mono_us() < until)
        clock_sleep_ms(1);
    mcp_server_shutdown(f->s, 0);
    mcp_server_free(f->s);
    executor_free(f->ex);
    chain_free(f->ch);
    registry_free(f->reg);
    out_writer_free(f->w);
    close(f->wfd);
    close(f->rfd);
    buf_free(&f->in);
    free(f);
}

static void sendf(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf b = BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    mcp_server_handle_line(f->s, b.data, b.len);
    buf_free(&b);
}

static void send_raw(fx *f, const char *data, size_t len) { mcp_server_handle_line(f->s, data, len); }

/* The next message the server wrote, parsed; NULL when none came within timeout_ms. Every
 * line must be one JSON object with "jsonrpc": "2.0". */
static json_object *next_msg(fx *f, int timeout_ms)
{
    int64_t until = clock_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        char *nl = f->in.len ? memchr(f->in.data, '\n', f->in.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - f->in.data);
            json_object *o = NULL;
            const char *err = NULL;
            if (!mcp_json_parse_strict(f->in.data, n, 128, &o, &err))
                fail_msg("the server wrote a line that is not JSON (%s): %.*s", err, (int)n, f->in.data);
            assert_true(json_object_is_type(o, json_type_object));
            json_object *v = NULL;
            assert_true(json_object_object_get_ex(o, "jsonrpc", &v));
            assert_string_equal(json_object_get_string(v), "2.0");
            const char *dump = getenv("LMCP_TEST_DUMP"); /* for schema checks outside the test */
            if (dump) {
                FILE *df = fopen(dump, "a");
                if (df) {
                    fprintf(df, "%.*s\n", (int)n, f->in.data);
                    fclose(df);
                }
            }
            memmove(f->in.data, nl + 1, f->in.len - n - 1);
            f->in.len -= n + 1;
            return o;
        }
        int64_t left = (until - clock_mono_us()) / 1000;
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = f->rfd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr <= 0)
            continue;
        char chunk[65536];
        ssize_t r = read(f->rfd, chunk, sizeof chunk);
        assert_true(r > 0);
        buf_append(&f->in, chunk, (size_t)r);
    }
}

static json_object *must_msg(fx *f)
{
    json_object *o = next_msg(f, 5000);
    if (!o)
        fail_msg("no message from the server within 5 s");
    return o;
}

static void expect_silence(fx *f, int ms)
{
    json_object *o = next_msg(f, ms);
    if (o) {
        char *s = dump(o);
        json_object_put(o);
        fail_msg("unexpected message: %s", s);
    }
}

/* o at a dotted path ("result.tools"); numeric segments index arrays. */
static json_object *at(json_object *o, const char *path)
{
    char *p = xstrdup(path), *save = NULL;
    json_object *cur = o;
    for (char *seg = strtok_r(p, ".", &save); seg && cur; seg = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(cur, json_type_array)) {
            char *end;
            long i = strtol(seg, &end, 10);
            cur = *end == '\0' && i >= 0 && (size_t)i < json_object_array_length(cur)
                      ? json_object_array_get_idx(cur, (size_t)i)
                      : NULL;
        } else {
            json_object *next = NULL;
            cur = json_object_is_type(cur, json_type_object) && json_object_object_get_ex(cur, seg, &next) ? next : NULL;
            if (!next)
                cur = NULL;
        }
    }
    /* a member that is JSON null exists but is NULL: has() tells them apart */
    free(p);
    return cur;
}

static bool has(json_object *o, const char *path)
{
    const char *dot = strrchr(path, '.');
    json_object *parent = o;
    const char *key = path;
    char *pp = NULL;
    if (dot) {
        pp = xstrndup(path, (size_t)(dot - path));
        parent = at(o, pp);
        key = dot + 1;
    }
    bool r = parent && json_object_is_type(parent, json_type_object) && json_object_object_get_ex(parent, key, NULL);
    free(pp);
    return r;
}

static const char *str_at(json_object *o, const char *path)
{
    json_object *v = at(o, path);
    if (!v || !json_object_is_type(v, json_type_string))
        fail_msg("no string at %s", path);
    return json_object_get_string(v);
}

static int64_t int_at(json_object *o, const char *path)
{
    json_object *v = at(o, path);
    if (!v || !json_object_is_type(v, json_type_int))
        fail_msg("no integer at %s", path);
    return json_object_get_int64(v);
}

static void assert_json_at(json_object *o, const char *path, const char *want)
{
    json_object *v = at(o, path);
    char *s = v ? dump(v) : xstrdup(has(o, path) ? "null" : "(absent)");
    if (strcmp(s, want) != 0) {
        char *whole = dump(o);
        fail_msg("%s is %s, expected %s in %s", path, s, want, whole);
    }
    free(s);
}

/* A response with that id (JSON text of the id, e.g. "1" or "\"a\""). */
static json_object *expect_response(fx *f, const char *id)
{
    json_object *o = must_msg(f);
    assert_false(has(o, "method"));
    assert_json_at(o, "id", id);
    return o;
}

static json_object *expect_result(fx *f, const char *id)
{
    json_object *o = expect_response(f, id);
    if (!has(o, "result")) {
        char *s = dump(o);
        fail_msg("expected a result: %s", s);
    }
    assert_false(has(o, "error"));
    return o;
}

static void expect_error(fx *f, const char *id, int code, const char *msg_part)
{
    json_object *o = expect_response(f, id);
    if (!has(o, "error")) {
        char *s = dump(o);
        fail_msg("expected an error: %s", s);
    }
    assert_int_equal(int_at(o, "error.code"), code);
    if (msg_part && !strstr(str_at(o, "error.message"), msg_part))
        fail_msg("error message \"%s\" does not contain \"%s\"", str_at(o, "error.message"), msg_part);
    json_object_put(o);
}

/* A ping must be answered next, and nothing else may come before it. */
static void expect_ping_ok(fx *f, bool modern)
{
    if (modern)
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"ping\",\"method\":\"ping\",\"params\":{" MODERN_META "}}");
    else
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"ping\",\"method\":\"ping\"}");
    json_object *o = expect_result(f, "\"ping\"");
    json_object_put(o);
}

static void wait_started(int n)
{
    pthread_mutex_lock(&S.mu);
    int64_t until = clock_mono_us() + 5000000;
    while (S.started < n && clock_mono_us() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&S.cv, &S.mu, &ts);
    }
    int got = S.started;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(got, n);
}

static void wait_idle(fx *f)
{
    int64_t until = clock_mono_us() + 5000000;
    while (executor_inflight(f->ex) > 0 && clock_mono_us() < until)
        clock_sleep_ms(2);
    assert_int_equal(executor_inflight(f->ex), 0);
}

static void open_gate(int n)
{
    pthread_mutex_lock(&S.mu);
    S.gate[n] = true;
    pthread_mutex_unlock(&S.mu);
}

static void initialize(fx *f, const char *version)
{
    sendf(f,
          "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
          "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
          version);
    json_object *o = expect_result(f, "0");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
}

/* ------------------------------------------------------------------------------ eras end to end */

static void test_legacy_end_to_end(void **state)
{
    (void)state;
    /* with every log line on, to run the logging paths (stderr) */
    lmcp_log_level saved = log_get_level();
    log_set_level(getenv("LMCP_TEST_QUIET") ? saved : LMCP_LOG_TRACE);
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
             "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    json_object *o = expect_result(f, "1");
    assert_string_equal(str_at(o, "result.protocolVersion"), "2025-06-18");
    assert_json_at(o, "result.capabilities", "{\"tools\":{\"listChanged\":true},\"logging\":{}}");
    assert_json_at(o, "result.serverInfo", "{\"name\":\"lambda-mcp\",\"version\":\"9.9.9\"}");
    assert_string_equal(str_at(o, "result.instructions"), "Each tool calls one AWS Lambda function.");
    assert_false(has(o, "result.resultType"));
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    expect_silence(f, 20);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    o = expect_result(f, "2");
    json_object *tools = at(o, "result.tools");
    assert_int_equal(json_object_array_length(tools), 8);
    const char *order[] = {"array", "block", "echo", "fail", "gate", "log", "slow", "throttle"};
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(json_object_get_string(at(json_object_array_get_idx(tools, i), "name")), order[i]);
    /* a tool without a schema of its own takes any object (the arguments are the event) */
    assert_json_at(o, "result.tools.2",
                   "{\"name\":\"echo\",\"description\":\"Calls fn-echo\",\"inputSchema\":{\"type\":\"object\",\"properties\":{},"
                   "\"additionalProperties\":true,\"description\":\"The event passed to the Lambda function: any JSON object.\"}}");
    assert_false(has(o, "result.nextCursor"));
    assert_false(has(o, "result.ttlMs"));
    assert_false(has(o, "result.resultType"));
    json_object_put(o);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
             "\"arguments\":{\"a\":1,\"path\":\"x/y\"}}}");
    o = expect_result(f, "\"c1\"");
    assert_json_at(o, "result",
                   "{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"a\\\":1,\\\"path\\\":\\\"x/y\\\"}\"}],"
                   "\"structuredContent\":{\"a\":1,\"path\":\"x/y\"},\"isError\":false}");
    json_object_put(o);

    /* 2025-06-18 takes structuredContent only as an object */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"array\"}}");
    o = expect_result(f, "3");
    assert_json_at(o, "result", "{\"content\":[{\"type\":\"text\",\"text\":\"[1,2,3]\"}],\"isError\":false}");
    json_object_put(o);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"fail\",\"arguments\":{}}}");
    o = expect_result(f, "4");
    assert_true(json_object_get_boolean(at(o, "result.isError")));
    assert_string_equal(str_at(o, "result.content.0.text"), "Function fn-fail failed: Boom: it broke\nat a\nat b");
    assert_string_equal(str_at(o, "result.structuredContent.errorType"), "Boom");
    json_object_put(o);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"throttle\"}}");
    o = expect_result(f, "5");
    assert_true(json_object_get_boolean(at(o, "result.isError")));
    assert_string_equal(str_at(o, "result.content.0.text"),
                        "Lambda throttled the call (TooManyRequestsException): Rate exceeded (retry after 1000 ms)");
    assert_false(has(o, "result.structuredContent"));
    json_object_put(o);

    expect_ping_ok(f, false);
    /* initialize twice */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}");
    expect_error(f, "6", -32600, "already");
    /* modern-only and unknown methods in a legacy session */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"server/discover\"}");
    expect_error(f, "7", -32601, "Method not found: server/discover");
    fx_free(f);
    log_set_level(saved);
}

static void test_legacy_versions(void **state)
{
    (void)state;
    struct {
        const char *asked, *got;
        bool structured;
    } cases[] = {{"2024-11-05", "2024-11-05", false},
                 {"2025-03-26", "2025-11-25", true}, /* not offered: it needs JSON-RPC batches */
                 {"2025-11-25", "2025-11-25", true},
                 {"1999-01-01", "2025-11-25", true},
                 {"2026-07-28", "2025-11-25", true}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fx *f = fx_new(NULL);
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\"}}",
              cases[i].asked);
        json_object *o = expect_result(f, "1");
        assert_string_equal(str_at(o, "result.protocolVersion"), cases[i].got);
        json_object_put(o);
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"k\":true}}}");
        o = expect_result(f, "2");
        assert_int_equal(has(o, "result.structuredContent"), cases[i].structured);
        assert_false(has(o, "result.resultType"));
        json_object_put(o);
        fx_free(f);
    }
    /* initialize without a protocolVersion */
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    expect_error(f, "1", -32602, "protocolVersion");
    fx_free(f);
}

static void assert_modern_meta(json_object *o)
{
    assert_string_equal(str_at(o, "result.resultType"), "complete");
    json_object *meta = at(o, "result._meta");
    assert_non_null(meta);
    json_object *si = NULL;
    assert_true(json_object_object_get_ex(meta, "io.modelcontextprotocol/serverInfo", &si));
    assert_string_equal(json_object_to_json_string_ext(si, JSON_C_TO_STRING_PLAIN),
                        "{\"name\":\"lambda-mcp\",\"version\":\"9.9.9\"}");
}

static void test_modern_end_to_end(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"d\",\"method\":\"server/discover\",\"params\":{" MODERN_META "}}");
    json_object *o = expect_result(f, "\"d\"");
    assert_json_at(o, "result.supportedVersions", "[\"2026-07-28\",\"2025-11-25\",\"2025-06-18\",\"2024-11-05\"]");
    assert_json_at(o, "result.capabilities", "{\"tools\":{\"listChanged\":true},\"logging\":{}}");
    assert_string_equal(str_at(o, "result.instructions"), "Each tool calls one AWS Lambda function.");
    assert_true(int_at(o, "result.ttlMs") >= 0);
    assert_string_equal(str_at(o, "result.cacheScope"), "public");
    assert_modern_meta(o);
    json_object_put(o);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" MODERN_META "}}");
    o = expect_result(f, "1");
    assert_int_equal(json_object_array_length(at(o, "result.tools")), 8);
    assert_int_equal(int_at(o, "result.ttlMs"), 60000);
    assert_string_equal(str_at(o, "result.cacheScope"), "private");
    assert_false(has(o, "result.nextCursor"));
    assert_modern_meta(o);
    json_object_put(o);

    /* structuredContent of a JSON array: modern takes any JSON value */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"array\"}}");
    o = expect_result(f, "2");
    assert_json_at(o, "result.content", "[{\"type\":\"text\",\"text\":\"[1,2,3]\"}]");
    assert_json_at(o, "result.structuredContent", "[1,2,3]");
    assert_json_at(o, "result.isError", "false");
    assert_modern_meta(o);
    json_object_put(o);

    expect_ping_ok(f, true);
    /* no legacy session was opened: a request without _meta is refused, naming both ways in */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}");
    expect_error(f, "3", -32600, "initialize");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}");
    expect_error(f, "4", -32600, "params._meta");
    /* legacy-only methods are not modern */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"logging/setLevel\",\"params\":{" MODERN_META ",\"level\":\"info\"}}");
    expect_error(f, "5", -32601, "Method not found: logging/setLevel");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"initialize\",\"params\":{" MODERN_META ",\"protocolVersion\":\"2025-11-25\"}}");
    expect_error(f, "6", -32601, "initialize");
    fx_free(f);
}

static void test_dual_era(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    initialize(f, "2025-11-25");
    /* a modern request while the legacy session exists: served modern */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"array\"}}");
    json_object *o = expect_result(f, "1");
    assert_json_at(o, "result.structuredContent", "[1,2,3]");
    assert_modern_meta(o);
    json_object_put(o);
    /* and the legacy one, legacy */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"array\"}}");
    o = expect_result(f, "2");
    assert_false(has(o, "result.structuredContent"));
    assert_false(has(o, "result.resultType"));
    assert_false(has(o, "result._meta"));
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"server/discover\",\"params\":{" MODERN_META "}}");
    o = expect_result(f, "3");
    assert_modern_meta(o);
    json_object_put(o);
    fx_free(f);
}

static void test_unsupported_version(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/list\",\"params\":{\"_meta\":"
             "{\"io.modelcontextprotocol/protocolVersion\":\"2030-01-01\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    json_object *o = expect_response(f, "9");
    assert_int_equal(int_at(o, "error.code"), -32022);
    assert_string_equal(str_at(o, "error.message"), "Unsupported protocol version");
    assert_json_at(o, "error.data",
                   "{\"supported\":[\"2026-07-28\",\"2025-11-25\",\"2025-06-18\",\"2024-11-05\"],"
                   "\"requested\":\"2030-01-01\"}");
    json_object_put(o);
    /* a legacy version is not a modern one */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"server/discover\",\"params\":{\"_meta\":"
             "{\"io.modelcontextprotocol/protocolVersion\":\"2025-11-25\"}}}");
    expect_error(f, "10", -32022, "Unsupported protocol version");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"server/discover\",\"params\":{\"_meta\":"
             "{\"io.modelcontextprotocol/protocolVersion\":7}}}");
    expect_error(f, "11", -32602, NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"server/discover\",\"params\":{\"_meta\":"
             "{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":[]}}}");
    expect_error(f, "12", -32602, "clientCapabilities");
    /* clientCapabilities absent: a malformed request (-32602), as the 2026-07-28 spec requires */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"server/discover\",\"params\":{\"_meta\":"
             "{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}");
    expect_error(f, "13", -32602, "clientCapabilities\"] is required");
    /* and a request that looks modern but has no protocol version: -32602 as well */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"server/discover\",\"params\":{\"_meta\":"
             "{\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    expect_error(f, "14", -32602, "protocolVersion\"] is required");
    expect_ping_ok(f, true);
    fx_free(f);
}

/* Before any discovery succeeded, the (empty) tool list is not to be kept: ttlMs 0, not the
 * configured 60 s (a client would otherwise cache "no tools" that long). Once a tool set is
 * published, the configured ttl. */
static void test_ttl_before_first_discovery(void **state)
{
    (void)state;
    fx_opts fo = {.unpublished = true};
    fx *f = fx_new(&fo);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" MODERN_META "}}");
    json_object *o = expect_result(f, "1");
    assert_json_at(o, "result.tools", "[]");
    assert_int_equal(int_at(o, "result.ttlMs"), 0);
    json_object_put(o);
    assert_true(registry_publish(f->reg, standard_tools()));
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{" MODERN_META "}}");
    o = expect_result(f, "2");
    assert_int_equal(int_at(o, "result.ttlMs"), 60000);
    json_object_put(o);
    fx_free(f);
}

/* ------------------------------------------------------------------------------ malformed input */

static void test_malformed_input(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    struct {
        const char *line;
        int code;         /* 0: no response at all */
        const char *id;   /* the id the error must carry */
    } cases[] = {
        {"not json", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"\xff\"}", -32700, "(absent)"},
        /* UTF-8 that json-c lets through: overlong forms, encoded surrogates, beyond U+10FFFF */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"a\xc0\xaf" "b\"}", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"a\xed\xa0\x80\"}", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"\xf4\x90\x80\x80\"}", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"\xe2\x82\"}", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{}", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":NaN}", -32700, "(absent)"},
        {"{'jsonrpc':'2.0','id':1,'method':'ping'}", -32700, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"", -32700, "(absent)"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600, "(absent)"},
        {"42", -32600, "(absent)"},
        {"\"ping\"", -32600, "(absent)"},
        {"null", -32600, "(absent)"},
        {"{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"ping\"}", -32600, "5"},
        {"{\"id\":5,\"method\":\"ping\"}", -32600, "5"},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", -32600, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", -32600, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", -32600, "(absent)"},
        {"{\"jsonrpc\":\"2.0\",\"id\":7}", -32600, "7"},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":5}", -32600, "\"x\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":[1]}", -32602, "8"},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":\"x\"}", -32602, "8"},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":{\"_meta\":5}}", -32602, "8"},
        {"{\"foo\":\"bar\"}", -32600, "(absent)"},
        /* responses from the client, and broken notifications: never answered */
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"x\"}}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1,\"message\":\"x\"}}", 0, NULL},
        {"{\"jsonrpc\":\"1.0\",\"method\":\"notifications/initialized\"}", 0, NULL},
        {"{\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":\"x\"}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":null}}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"nobody\"}}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\",\"params\":{}}", 0, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        send_raw(f, cases[i].line, strlen(cases[i].line));
        if (cases[i].code) {
            json_object *o = must_msg(f);
            char *s = dump(o);
            if (!has(o, "error") || int_at(o, "error.code") != cases[i].code)
                fail_msg("case %zu (%s): got %s", i, cases[i].line, s);
            assert_true(json_object_is_type(at(o, "error.message"), json_type_string));
            assert_json_at(o, "id", cases[i].id);
            assert_false(has(o, "result"));
            free(s);
            json_object_put(o);
        }
        /* the next request is answered normally, and nothing else was written before it */
        expect_ping_ok(f, i % 2 == 0);
    }
    /* an embedded NUL inside the line */
    send_raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\0junk", 44);
    expect_error(f, "(absent)", -32700, NULL);
    /* nesting deeper than the limit */
    buf deep = BUF_INIT;
    buf_append_str(&deep, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":");
    for (int i = 0; i < 100; i++)
        buf_append_char(&deep, '[');
    for (int i = 0; i < 100; i++)
        buf_append_char(&deep, ']');
    buf_append_str(&deep, "}}");
    send_raw(f, deep.data, deep.len);
    buf_free(&deep);
    expect_error(f, "(absent)", -32700, NULL);
    /* an oversized line (the reader skipped it) */
    mcp_server_handle_oversized(f->s);
    json_object *o = must_msg(f);
    assert_int_equal(int_at(o, "error.code"), -32600);
    assert_string_equal(str_at(o, "error.message"), "message too large: lines are limited to 4096 bytes");
    assert_json_at(o, "id", "(absent)");
    json_object_put(o);
    expect_ping_ok(f, false);
    /* no legacy session and no modern _meta */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}");
    expect_error(f, "1", -32600, "initialize");
    expect_silence(f, 30);
    fx_free(f);
}

/* A lone surrogate escape in a request (JSON.stringify writes one for a broken UTF-16 string) is
 * valid JSON grammar: the request is answered under its id, and the function gets U+FFFD. It
 * was a parse error without an id: the client waited for an answer that never came. */
static void test_lone_surrogate_escape(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{" MODERN_META
             ",\"name\":\"echo\",\"arguments\":{\"x\":\"a\\ud800b\",\"y\":\"\\ud83d\\ude00\"}}}");
    json_object *o = expect_result(f, "1");
    assert_string_equal(str_at(o, "result.structuredContent.x"), "a\xef\xbf\xbd" "b");
    assert_string_equal(str_at(o, "result.structuredContent.y"), "\xf0\x9f\x98\x80");
    json_object_put(o);
    fx_free(f);
}

static void test_tool_errors(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"nope\"}}");
    expect_error(f, "1", -32602, "Unknown tool: nope");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":5}}");
    expect_error(f, "2", -32602, "name");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\",\"arguments\":[1]}}");
    expect_error(f, "3", -32602, "arguments");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\",\"arguments\":null}}");
    expect_error(f, "4", -32602, "arguments");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"foo/bar\",\"params\":{" MODERN_META "}}");
    expect_error(f, "5", -32601, "Method not found: foo/bar");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/logLevel\":\"loud\"}}}");
    expect_error(f, "6", -32602, "logLevel");
    initialize(f, "2025-11-25");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}");
    expect_error(f, "7", -32602, "Unknown tool: nope");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"resources/list\"}");
    expect_error(f, "8", -32601, "Method not found: resources/list");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\"}");
    expect_error(f, "9", -32602, NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\"}");
    expect_ping_ok(f, false);
    fx_free(f);
}

/* ------------------------------------------------------------------------------ pagination */

static tool_snapshot *numbered_tools(int n, int skip_a, int skip_b, const char *extra)
{
    tool_snapshot *snap = snapshot_new();
    /* added in a scrambled order */
    for (int k = 0; k < n; k++) {
        int i = (k * 97) % n; /* 97 is prime to 250 */
        if (i == skip_a || i == skip_b)
            continue;
        char name[16];
        snprintf(name, sizeof name, "t%03d", i);
        add_tool(snap, name, "fn-echo");
    }
    if (extra)
        add_tool(snap, extra, "fn-echo");
    snapshot_finish(snap);
    return snap;
}

static json_object *list_page(fx *f, const char *cursor, bool modern, int id)
{
    if (cursor)
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\",\"params\":{%s%s\"cursor\":\"%s\"}}", id,
              modern ? MODERN_META : "", modern ? "," : "", cursor);
    else
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\",\"params\":{%s}}", id, modern ? MODERN_META : "");
    char ids[16];
    snprintf(ids, sizeof ids, "%d", id);
    return expect_result(f, ids);
}

static void test_pagination(void **state)
{
    (void)state;
    fx_opts fo = {.page_size = 100, .tools = numbered_tools(250, -1, -1, NULL)};
    fx *f = fx_new(&fo);
    for (int modern = 0; modern < 2; modern++) {
        if (!modern)
            initialize(f, "2025-11-25");
        char *cursors[3] = {NULL, NULL, NULL};
        int seen = 0;
        char *cur = NULL;
        for (int page = 0; page < 3; page++) {
            json_object *o = list_page(f, cur, modern, 100 + page);
            json_object *tools = at(o, "result.tools");
            size_t n = json_object_array_length(tools);
            assert_int_equal(n, page < 2 ? 100 : 50);
            for (size_t i = 0; i < n; i++) {
                char want[16];
                snprintf(want, sizeof want, "t%03d", seen++);
                assert_string_equal(json_object_get_string(at(json_object_array_get_idx(tools, i), "name")), want);
            }
            if (modern) {
                assert_int_equal(int_at(o, "result.ttlMs"), 60000);
                assert_string_equal(str_at(o, "result.cacheScope"), "private");
                assert_modern_meta(o);
            }
            free(cur);
            cur = NULL;
            if (page < 2) {
                cur = xstrdup(str_at(o, "result.nextCursor"));
                cursors[page] = xstrdup(cur);
            } else {
                assert_false(has(o, "result.nextCursor"));
            }
            json_object_put(o);
        }
        assert_int_equal(seen, 250);
        /* deterministic: the same page again gives the same cursor */
        json_object *o = list_page(f, cursors[0], modern, 110);
        assert_string_equal(str_at(o, "result.nextCursor"), cursors[1]);
        assert_string_equal(json_object_get_string(at(o, "result.tools.0.name")), "t100");
        json_object_put(o);
        free(cursors[0]);
        free(cursors[1]);
    }
    /* malformed cursors */
    const char *bad[] = {"!!!", "", "djI6dDEwMA", "A", "djE6", "dj E"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/list\",\"params\":{\"cursor\":\"%s\"}}", i, bad[i]);
        char ids[16];
        snprintf(ids, sizeof ids, "%zu", i);
        expect_error(f, ids, -32602, "cursor");
    }
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"tools/list\",\"params\":{\"cursor\":17}}");
    expect_error(f, "50", -32602, "cursor");

    /* a refresh between pages: no repeats, no skips of names that exist in both */
    json_object *o = list_page(f, NULL, false, 200);
    char *cur = xstrdup(str_at(o, "result.nextCursor")); /* after t099 */
    json_object_put(o);
    /* t050 (already listed) and t150 go away, t0995 (sorts between t099 and t100) comes in */
    assert_true(registry_publish(f->reg, numbered_tools(250, 50, 150, "t0995")));
    o = list_page(f, cur, false, 201);
    free(cur);
    json_object *tools = at(o, "result.tools");
    assert_string_equal(json_object_get_string(at(json_object_array_get_idx(tools, 0), "name")), "t0995");
    assert_string_equal(json_object_get_string(at(json_object_array_get_idx(tools, 1), "name")), "t100");
    assert_string_equal(json_object_get_string(at(json_object_array_get_idx(tools, 99), "name")), "t199");
    for (size_t i = 0; i < json_object_array_length(tools); i++)
        assert_string_not_equal(json_object_get_string(at(json_object_array_get_idx(tools, i), "name")), "t150");
    cur = xstrdup(str_at(o, "result.nextCursor"));
    json_object_put(o);
    o = list_page(f, cur, false, 202);
    free(cur);
    tools = at(o, "result.tools");
    assert_int_equal(json_object_array_length(tools), 50);
    assert_string_equal(json_object_get_string(at(json_object_array_get_idx(tools, 0), "name")), "t200");
    assert_false(has(o, "result.nextCursor"));
    json_object_put(o);
    fx_free(f);
}

/* ------------------------------------------------------------------------------ calls in flight */

static void test_concurrency_out_of_order(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    initialize(f, "2025-11-25");
    for (int i = 0; i < 5; i++)
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":\"gate\",\"arguments\":{\"n\":%d}}}",
              10 + i, i);
    wait_started(5);
    /* the reader thread was never blocked: it answers a ping while five calls wait */
    expect_ping_ok(f, false);
    int order[] = {3, 1, 4, 0, 2};
    for (int k = 0; k < 5; k++) {
        open_gate(order[k]);
        char id[16];
        snprintf(id, sizeof id, "%d", 10 + order[k]);
        json_object *o = expect_result(f, id);
        char want[32];
        snprintf(want, sizeof want, "{\"n\":%d}", order[k]);
        assert_json_at(o, "result.structuredContent", want);
        json_object_put(o);
    }
    expect_silence(f, 20);
    fx_free(f);
}

static void test_cancellation(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"block\"}}");
    wait_started(1);
    /* another request with the same id while it is in flight: no answer (any would carry "c1" and
       read as the answer to the first call), the next message is the ping's */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\"}}");
    expect_ping_ok(f, true);
    /* another method is answered at once, whatever its id (README, Calls) */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"ping\",\"params\":{" MODERN_META "}}");
    json_object *p = expect_result(f, "\"c1\"");
    json_object_put(p);
    /* an id of another type is another id */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\"}}");
    json_object *o = expect_result(f, "1");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"c1\",\"reason\":\"user\"}}");
    pthread_mutex_lock(&S.mu);
    int64_t until = clock_mono_us() + 5000000;
    while (S.saw_cancel < 1 && clock_mono_us() < until) {
        pthread_mutex_unlock(&S.mu);
        clock_sleep_ms(2);
        pthread_mutex_lock(&S.mu);
    }
    int saw = S.saw_cancel;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(saw, 1); /* the terminal saw call_is_cancelled */
    wait_idle(f);             /* the done callback has run */
    expect_ping_ok(f, true);  /* and wrote nothing for c1 */
    expect_silence(f, 50);
    /* cancelling again, or a finished request: ignored */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"c1\"}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}");
    expect_ping_ok(f, true);
    /* the id can be used again */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\"}}");
    o = expect_result(f, "\"c1\"");
    json_object_put(o);
    fx_free(f);
}

/* Before the first discovery has finished (mcp_server_tools_ready), tools/list and tools/call
 * wait while ping is answered; then they are handled in arrival order; a waiting call the client
 * cancels never runs and is never answered. At most MAX_PARKED (1024) wait; the shutdown refuses
 * the waiting ones, and one that comes after it, with an error. */
static void test_requests_wait_for_first_discovery(void **state)
{
    (void)state;
    fx_opts o = {.tools_pending = true};
    fx *f = fx_new(&o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"l1\",\"method\":\"tools/list\",\"params\":{" MODERN_META "}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{" MODERN_META
             ",\"name\":\"echo\",\"arguments\":{\"x\":1}}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"c2\",\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"block\"}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"c2\"}}");
    expect_ping_ok(f, true); /* answered at once, and nothing was written before it */
    expect_silence(f, 50);
    mcp_server_tools_ready(f->s);
    json_object *l1 = expect_result(f, "\"l1\""); /* handled in order: the list first */
    json_object *tools = NULL;
    assert_true(json_object_object_get_ex(json_object_object_get(l1, "result"), "tools", &tools));
    assert_int_equal(json_object_array_length(tools), 8);
    json_object_put(l1);
    json_object *c1 = expect_result(f, "\"c1\"");
    assert_int_equal(int_at(c1, "result.structuredContent.x"), 1);
    json_object_put(c1);
    wait_idle(f);
    expect_silence(f, 50); /* nothing for c2 */
    pthread_mutex_lock(&S.mu);
    int started = S.started;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(started, 0); /* the block tool never ran */
    /* from now on at once */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"l2\",\"method\":\"tools/list\",\"params\":{" MODERN_META "}}");
    json_object_put(expect_result(f, "\"l2\""));
    fx_free(f);

    /* the bound, and the shutdown */
    f = fx_new(&o);
    for (int i = 0; i < 1024; i++)
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\",\"params\":{" MODERN_META "}}", i);
    expect_silence(f, 20);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1024,\"method\":\"tools/list\",\"params\":{" MODERN_META "}}");
    expect_error(f, "1024", -32603, "still discovering its tools and 1024 requests are waiting");
    mcp_server_shutdown(f->s, 0);
    for (int i = 0; i < 1024; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        expect_error(f, id, -32603, "shutting down: the request was not started");
    }
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"late\",\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\"}}");
    expect_error(f, "\"late\"", -32603, "shutting down");
    fx_free(f);
}

/* Request ids are compared as JSON values, whole: 1 and "1" are two requests, "a\u0000b" and
 * "a\u0000c" are two requests (not "a" twice), INT64_MAX and INT64_MAX + 1 are two requests; a
 * cancellation reaches the request with exactly its id, and so does a subscription's. */
static void test_request_ids(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    initialize(f, "2025-11-25");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"block\"}}");
    wait_started(1);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"k\":1}}}");
    json_object *o = expect_result(f, "\"1\"");
    assert_json_at(o, "result.structuredContent", "{\"k\":1}");
    json_object_put(o);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"tools/call\",\"params\":{\"name\":\"block\"}}");
    wait_started(2);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000c\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"k\":2}}}");
    o = expect_result(f, "\"a\\u0000c\"");
    assert_json_at(o, "result.structuredContent", "{\"k\":2}");
    json_object_put(o);
    /* the same id (NUL and all) while it is in flight is not answered */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}");
    expect_ping_ok(f, false);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775807,\"method\":\"tools/call\",\"params\":{\"name\":\"block\"}}");
    wait_started(3);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775808,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"k\":3}}}");
    o = expect_result(f, "9223372036854775808");
    assert_json_at(o, "result.structuredContent", "{\"k\":3}");
    json_object_put(o);

    /* cancelling finished requests whose ids look like running ones cancels nothing */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"1\"}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"a\\u0000c\"}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":9223372036854775808}}");
    expect_ping_ok(f, false);
    clock_sleep_ms(150); /* the blocked calls poll their cancellation every 100 ms */
    pthread_mutex_lock(&S.mu);
    int saw = S.saw_cancel;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(saw, 0);
    assert_int_equal(executor_inflight(f->ex), 3);

    /* each running call is cancelled by its own id */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"a\\u0000b\"}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":9223372036854775807}}");
    wait_idle(f);
    pthread_mutex_lock(&S.mu);
    saw = S.saw_cancel;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(saw, 3);
    expect_ping_ok(f, false); /* and nothing was written for them */

    /* a subscription's id is compared the same way */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s\\u0000x\",\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{\"toolsListChanged\":true}}}");
    o = must_msg(f);
    assert_json_at(o, "method", "\"notifications/subscriptions/acknowledged\"");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s\\u0000y\",\"method\":\"tools/call\",\"params\":{" MODERN_META
             ",\"name\":\"echo\",\"arguments\":{\"k\":4}}}");
    o = expect_result(f, "\"s\\u0000y\"");
    assert_json_at(o, "result.structuredContent", "{\"k\":4}");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s\\u0000x\",\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"echo\"}}");
    expect_ping_ok(f, true);
    fx_free(f);
}

/* A tool with upstream's {"parameters": {...}} shape: the arguments the client sends are checked
 * against the schema it was shown (the wrapped one), before anything runs; the function gets
 * arguments.parameters. The function's own schema keeps its $defs references working. */
static void test_parameters_wrapper(void **state)
{
    (void)state;
    tool_snapshot *snap = standard_tools();
    tool *t = snapshot_add(snap);
    t->name = xstrdup("wrapped");
    t->description = xstrdup("wrapped");
    t->function_name = xstrdup("fn-echo");
    t->timeout_ms = 30000;
    t->wrap_parameters = true;
    t->schema_text = xstrdup("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
                             "\"properties\":{\"x\":{\"$ref\":\"#/$defs/X\"}},\"required\":[\"x\"],"
                             "\"$defs\":{\"X\":{\"type\":\"integer\"}}}");
    t = snapshot_add(snap);
    t->name = xstrdup("wrapped_any");
    t->description = xstrdup("wrapped, no schema of its own");
    t->function_name = xstrdup("fn-echo");
    t->timeout_ms = 30000;
    t->wrap_parameters = true;
    snapshot_finish(snap);
    fx_opts fo = {.tools = snap};
    fx *f = fx_new(&fo);
    initialize(f, "2025-11-25");

    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    json_object *o = expect_result(f, "1");
    assert_json_at(o, "result.tools.8.name", "\"wrapped\"");
    assert_json_at(o, "result.tools.8.inputSchema",
                   "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$defs\":{\"X\":{\"type\":\"integer\"}},"
                   "\"type\":\"object\",\"properties\":{\"parameters\":{\"type\":\"object\",\"properties\":{\"x\":"
                   "{\"$ref\":\"#/$defs/X\"}},\"required\":[\"x\"],\"title\":\"Parameters\"}},\"required\":[\"parameters\"]}");
    assert_json_at(o, "result.tools.9.inputSchema",
                   "{\"type\":\"object\",\"properties\":{\"parameters\":{\"type\":\"object\",\"additionalProperties\":true,"
                   "\"title\":\"Parameters\"}},\"required\":[\"parameters\"]}");
    json_object_put(o);

    struct {
        const char *tool, *args, *want; /* want: the structuredContent, or a part of the error text */
        bool error;
    } cases[] = {
        {"wrapped", "{\"parameters\":{\"x\":1}}", "{\"x\":1}", false},
        {"wrapped", "{\"parameters\":{\"x\":\"one\"}}", "\n$.parameters.x: expected integer, got string", true},
        {"wrapped", "{\"x\":1}", "\n$: missing required property 'parameters'", true},
        {"wrapped", "{\"parameters\":{}}", "\n$.parameters: missing required property 'x'", true},
        {"wrapped_any", "{\"parameters\":{\"y\":[1]}}", "{\"y\":[1]}", false},
        {"wrapped_any", "{\"y\":1}", "\n$: missing required property 'parameters'", true},
        {"wrapped_any", "{\"parameters\":5}", "\n$.parameters: expected object, got integer", true},
        {"wrapped_any", "{}", "\n$: missing required property 'parameters'", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
              10 + i, cases[i].tool, cases[i].args);
        char id[16];
        snprintf(id, sizeof id, "%zu", 10 + i);
        o = expect_result(f, id);
        bool is_error = json_object_get_boolean(at(o, "result.isError"));
        const char *text = str_at(o, "result.content.0.text");
        if (is_error != cases[i].error)
            fail_msg("%s %s: isError %d: %s", cases[i].tool, cases[i].args, is_error, text);
        if (cases[i].error) {
            if (!strstr(text, "do not match the input schema of tool") || !strstr(text, cases[i].want))
                fail_msg("%s %s: \"%s\" does not say \"%s\"", cases[i].tool, cases[i].args, text, cases[i].want);
        } else {
            assert_json_at(o, "result.structuredContent", cases[i].want);
        }
        json_object_put(o);
    }
    fx_free(f);
}

static void test_queue_full(void **state)
{
    (void)state;
    fx_opts fo = {.max_inflight = 1, .max_queued = 1};
    fx *f = fx_new(&fo);
    initialize(f, "2025-11-25");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"block\"}}");
    wait_started(1);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"block\"}}"); /* queued */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}");
    json_object *o = expect_result(f, "3");
    assert_true(json_object_get_boolean(at(o, "result.isError")));
    assert_non_null(strstr(str_at(o, "result.content.0.text"), "concurrency limit"));
    json_object_put(o);
    /* the queued call cancelled, its place is free at once (not when call 1 ends): call 4 is
       queued, not refused, and runs when call 1 ends */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":2}}");
    assert_int_equal(executor_inflight(f->ex), 1);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"k\":4}}}");
    expect_ping_ok(f, false); /* nothing before the ping's answer: call 4 was not refused */
    assert_int_equal(executor_inflight(f->ex), 2);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}");
    o = expect_result(f, "4");
    assert_false(json_object_get_boolean(at(o, "result.isError")));
    assert_json_at(o, "result.structuredContent", "{\"k\":4}");
    json_object_put(o);
    wait_idle(f);
    expect_ping_ok(f, false);
    expect_silence(f, 20);
    pthread_mutex_lock(&S.mu);
    int started = S.started;
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(started, 1); /* the cancelled call 2 never ran */
    fx_free(f);
}

/* ------------------------------------------------------------------------------ progress */

static void test_progress(void **state)
{
    (void)state;
    fx_opts fo = {.progress_ms = 50};
    fx *f = fx_new(&fo);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{},\"progressToken\":\"tok\"},"
             "\"name\":\"slow\",\"arguments\":{\"ms\":330}}}");
    int progress = 0;
    double last = -1;
    for (;;) {
        json_object *o = must_msg(f);
        if (has(o, "id")) {
            assert_json_at(o, "id", "1");
            assert_json_at(o, "result.structuredContent", "\"slow done\"");
            json_object_put(o);
            break;
        }
        assert_string_equal(str_at(o, "method"), "notifications/progress");
        assert_json_at(o, "params.progressToken", "\"tok\"");
        double p = json_object_get_double(at(o, "params.progress"));
        assert_true(p > last);
        last = p;
        assert_non_null(strstr(str_at(o, "params.message"), "waiting for function fn-slow ("));
        progress++;
        json_object_put(o);
    }
    assert_true(progress >= 3 && progress <= 8);
    expect_silence(f, 150); /* nothing after the response */

    /* no token, no progress */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"slow\",\"arguments\":{\"ms\":150}}}");
    json_object *o = expect_result(f, "2");
    json_object_put(o);

    /* an integer token, then a cancel: the heartbeats stop with it */
    initialize(f, "2025-11-25");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"_meta\":{\"progressToken\":77},\"name\":\"block\"}}");
    o = must_msg(f);
    assert_string_equal(str_at(o, "method"), "notifications/progress");
    assert_json_at(o, "params.progressToken", "77");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":3}}");
    wait_idle(f);
    /* a heartbeat may have been on its way before the cancel; after that, nothing */
    o = next_msg(f, 10);
    if (o) {
        assert_string_equal(str_at(o, "method"), "notifications/progress");
        json_object_put(o);
    }
    expect_silence(f, 150);
    fx_free(f);
}

/* ------------------------------------------------------------------------------ client logs */

static void collect_logs(fx *f, const char *id, buf *levels)
{
    for (;;) {
        json_object *o = must_msg(f);
        if (has(o, "id")) {
            assert_json_at(o, "id", id);
            assert_json_at(o, "result.isError", "false");
            json_object_put(o);
            return;
        }
        assert_string_equal(str_at(o, "method"), "notifications/message");
        buf_appendf(levels, "%s=%s/%s;", str_at(o, "params.level"), str_at(o, "params.logger"),
                    str_at(o, "params.data"));
        json_object_put(o);
    }
}

static void test_client_logs(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    initialize(f, "2025-11-25");
    buf got = BUF_INIT;
    /* no logging/setLevel yet: no logs */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"}}");
    collect_logs(f, "1", &got);
    assert_int_equal(got.len, 0);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"warning\"}}");
    json_object *o = expect_result(f, "2");
    assert_json_at(o, "result", "{}");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"}}");
    collect_logs(f, "3", &got);
    assert_string_equal(got.data, "error=test/an error;warning=test/a warning;");
    buf_reset(&got);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}");
    o = expect_result(f, "4");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"}}");
    collect_logs(f, "5", &got);
    assert_string_equal(got.data, "error=test/an error;warning=test/a warning;info=test/some info;debug=lambda-mcp/a detail;");
    buf_reset(&got);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"verbose\"}}");
    expect_error(f, "6", -32602, "level");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"emergency\"}}");
    o = expect_result(f, "7");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"log\"}}");
    collect_logs(f, "8", &got);
    assert_int_equal(got.len, 0);

    /* modern: only with the request's logLevel, whatever the legacy session says */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}");
    o = expect_result(f, "9");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{" MODERN_META ",\"name\":\"log\"}}");
    collect_logs(f, "10", &got);
    assert_int_equal(got.len, 0);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
             "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/logLevel\":\"info\"},"
             "\"name\":\"log\"}}");
    collect_logs(f, "11", &got);
    assert_string_equal(got.data, "error=test/an error;warning=test/a warning;info=test/some info;");
    buf_free(&got);
    fx_free(f);
}

/* ------------------------------------------------------------------------------ list changes */

static void test_subscriptions(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"sub1\",\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{\"toolsListChanged\":true,\"promptsListChanged\":true,\"resourceSubscriptions\":[\"x:y\"]}}}");
    json_object *o = must_msg(f);
    assert_json_at(o, "method", "\"notifications/subscriptions/acknowledged\"");
    assert_false(has(o, "id"));
    assert_json_at(o, "params.notifications", "{\"toolsListChanged\":true}");
    assert_string_equal(json_object_to_json_string_ext(at(o, "params._meta"), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        "{\"io.modelcontextprotocol/subscriptionId\":\"sub1\"}");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{\"resourcesListChanged\":true}}}");
    o = must_msg(f);
    assert_json_at(o, "method", "\"notifications/subscriptions/acknowledged\"");
    assert_json_at(o, "params.notifications", "{}");
    json_object_put(o);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{\"toolsListChanged\":true}}}");
    o = must_msg(f);
    json_object_put(o);
    /* the subscription stays open: no response yet */
    expect_ping_ok(f, true);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":\"sub1\",\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{}}}");
    expect_ping_ok(f, true); /* not answered: an answer under "sub1" would end the live subscription */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META ",\"notifications\":5}}");
    expect_error(f, "4", -32602, "notifications");

    /* a legacy session that is initialized but not ready gets nothing yet */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-03-26\"}}");
    o = expect_result(f, "0");
    json_object_put(o);
    /* subscription 3 is cancelled by the client: closed silently */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":3}}");
    mcp_server_notify_tools_changed(f->s);
    o = must_msg(f);
    assert_json_at(o, "method", "\"notifications/tools/list_changed\"");
    assert_string_equal(json_object_to_json_string_ext(at(o, "params"), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        "{\"_meta\":{\"io.modelcontextprotocol/subscriptionId\":\"sub1\"}}");
    json_object_put(o);
    expect_silence(f, 30);

    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    mcp_server_notify_tools_changed(f->s);
    bool saw_sub = false, saw_legacy = false;
    for (int i = 0; i < 2; i++) {
        o = must_msg(f);
        assert_json_at(o, "method", "\"notifications/tools/list_changed\"");
        if (has(o, "params")) {
            saw_sub = true;
        } else {
            saw_legacy = true;
        }
        json_object_put(o);
    }
    assert_true(saw_sub && saw_legacy);
    expect_silence(f, 30);

    /* shutdown: the open subscriptions get their graceful closure, the cancelled one nothing */
    mcp_server_shutdown(f->s, 0);
    const char *closed[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        o = must_msg(f);
        assert_true(has(o, "result"));
        json_object *id = at(o, "id");
        closed[i] = json_object_is_type(id, json_type_string) ? "sub1" : "2";
        assert_string_equal(str_at(o, "result.resultType"), "complete");
        json_object *meta = at(o, "result._meta");
        json_object *sid = NULL, *si = NULL;
        assert_true(json_object_object_get_ex(meta, "io.modelcontextprotocol/subscriptionId", &sid));
        assert_true(json_object_object_get_ex(meta, "io.modelcontextprotocol/serverInfo", &si));
        assert_string_equal(json_object_to_json_string(sid), json_object_to_json_string(id));
        assert_int_equal(json_object_object_length(at(o, "result")), 2);
        json_object_put(o);
    }
    assert_string_not_equal(closed[0], closed[1]);
    expect_silence(f, 30);
    fx_free(f);
}

/* Open subscriptions are bounded: past MAX_SUBSCRIPTIONS (256) a listen is refused with an error
 * naming the limit, and a cancelled one makes room again. */
static void test_subscriptions_bounded(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    for (int i = 0; i < 256; i++) {
        sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
                 ",\"notifications\":{\"toolsListChanged\":true}}}", 1000 + i);
        json_object *o = must_msg(f);
        assert_json_at(o, "method", "\"notifications/subscriptions/acknowledged\"");
        json_object_put(o);
    }
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{\"toolsListChanged\":true}}}");
    expect_error(f, "9", -32603, "256 subscriptions are open already");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1017}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"subscriptions/listen\",\"params\":{" MODERN_META
             ",\"notifications\":{\"toolsListChanged\":true}}}");
    json_object *o = must_msg(f);
    assert_json_at(o, "method", "\"notifications/subscriptions/acknowledged\"");
    json_object_put(o);
    expect_ping_ok(f, true);
    mcp_server_shutdown(f->s, 0);
    for (int i = 0; i < 256; i++) { /* every open one is closed: 1017 was cancelled, 10 took its place */
        o = must_msg(f);
        assert_true(has(o, "result"));
        assert_true(json_object_get_int(at(o, "id")) != 1017);
        json_object_put(o);
    }
    expect_silence(f, 30);
    fx_free(f);
}

static void test_legacy_list_changed_only_when_ready(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    mcp_server_notify_tools_changed(f->s); /* no session */
    expect_silence(f, 20);
    sendf(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"); /* before initialize: ignored */
    mcp_server_notify_tools_changed(f->s);
    expect_silence(f, 20);
    initialize(f, "2025-11-25");
    mcp_server_notify_tools_changed(f->s);
    json_object *o = must_msg(f);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}");
    json_object_put(o);
    fx_free(f);
}

/* ------------------------------------------------------------------------------ shutdown */

static void test_shutdown_drains(void **state)
{
    (void)state;
    fx *f = fx_new(NULL);
    initialize(f, "2025-11-25");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"block\"}}");
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\",\"arguments\":{\"ms\":100}}}");
    wait_started(1);
    int64_t t0 = clock_mono_us();
    mcp_server_shutdown(f->s, 400);
    int64_t took = (clock_mono_us() - t0) / 1000;
    assert_true(took >= 300 && took < 3000);
    /* the call that finished within the grace period was answered as usual; the one the
       shutdown cancelled is answered isError, saying the function may have run */
    json_object *o = expect_result(f, "2");
    assert_json_at(o, "result.content.0.text", "\"\\\"slow done\\\"\"");
    json_object_put(o);
    o = expect_result(f, "1");
    assert_true(json_object_get_boolean(at(o, "result.isError")));
    assert_non_null(strstr(json_object_get_string(at(o, "result.content.0.text")),
                           "the server shut down while the call to fn-block was running"));
    json_object_put(o);
    expect_silence(f, 50);
    pthread_mutex_lock(&S.mu);
    assert_int_equal(S.saw_cancel, 1);
    pthread_mutex_unlock(&S.mu);
    /* after shutdown a call is refused, not queued */
    sendf(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}");
    o = expect_result(f, "3");
    assert_true(json_object_get_boolean(at(o, "result.isError")));
    json_object_put(o);
    fx_free(f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_end_to_end),
        cmocka_unit_test(test_legacy_versions),
        cmocka_unit_test(test_modern_end_to_end),
        cmocka_unit_test(test_dual_era),
        cmocka_unit_test(test_unsupported_version),
        cmocka_unit_test(test_ttl_before_first_discovery),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_lone_surrogate_escape),
        cmocka_unit_test(test_tool_errors),
        cmocka_unit_test(test_pagination),
        cmocka_unit_test(test_concurrency_out_of_order),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_parameters_wrapper),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_client_logs),
        cmocka_unit_test(test_subscriptions),
        cmocka_unit_test(test_subscriptions_bounded),
        cmocka_unit_test(test_legacy_list_changed_only_when_ready),
        cmocka_unit_test(test_shutdown_drains),
        cmocka_unit_test(test_requests_wait_for_first_discovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
