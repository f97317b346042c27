/* The fixture of the wrapper plugin tests (tests/unit/test_wrappers_*.c #include this file):
 * real plugin modules from plugins/.libs, loaded by the host's loader from a conf text, put in
 * a real wrapper chain (core/invoke/chain.c) over a scripted terminal that stands in for
 * Lambda, with tools in a real snapshot whose per-tool wrapper settings are resolved by the
 * host (override blocks and function tags), as discovery does.
 *
 * The terminal answers by a script: a queue of steps (consumed in order by any thread), then
 * the default step. A step says the outcome, an optional delay (a cancellable call_sleep, as
 * a transfer would be), a log tail, and whether it is held until the test opens the gate
 * (fx_gate_open: a call kept in flight for exactly as long as the test needs, no timing). An OK payload is {"n":<terminal call number>,"args":<the
 * event>} so a test can tell a replayed answer from a fresh one. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "host.h"
#include "invoke/call.h"
#include "invoke/chain.h"
#include "json.h"
#include "plugin.h"
#include "tools/registry.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define FX_UNUSED __attribute__((unused))
#define FX_MAX_WRAPPERS 4
#define FX_MAX_STEPS 256

/* ------------------------------------------------------------------ timing */

/* Sanitizer and valgrind runs are slow: upper time bounds scale by LMCP_TIMEOUT_SCALE. */
static FX_UNUSED double fx_scale(void)
{
    const char *s = getenv("LMCP_TIMEOUT_SCALE");
    double v = s ? atof(s) : 0;
    if (v >= 1)
        return v;
    return getenv("LMCP_UNDER_VALGRIND") ? 20.0 : 1.0;
}

static FX_UNUSED int64_t fx_now_ms(void) { return clock_mono_us() / 1000; }

static FX_UNUSED void fx_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ the terminal */

typedef struct fx_step {
    lmcp_outcome outcome;
    const char *type;        /* error type (default per outcome) */
    const char *payload;     /* OK payload instead of the generated one */
    int64_t sleep_ms;        /* before answering; a cancel ends it (CANCELLED) */
    const char *log_tail;
    int64_t retry_after_ms;
    int fail_every;          /* > 0: terminal calls number k*fail_every answer SERVICE_ERROR */
    bool gate;               /* hold the call until fx_gate_open() (a cancel ends it: CANCELLED) */
    bool not_sent;           /* answer as the invoker does when nothing went to Lambda */
} fx_step;

/* The gate of gated steps: closed by fx_new, opened by the test. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
} fx_gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static FX_UNUSED void fx_gate_open(void)
{
    pthread_mutex_lock(&fx_gate.mu);
    fx_gate.open = true;
    pthread_cond_broadcast(&fx_gate.cv);
    pthread_mutex_unlock(&fx_gate.mu);
}

static void fx_gate_close(void)
{
    pthread_mutex_lock(&fx_gate.mu);
    fx_gate.open = false;
    pthread_mutex_unlock(&fx_gate.mu);
}

/* Wait for the gate; false when the call was cancelled first. */
static bool fx_gate_wait(lmcp_call *call)
{
    pthread_mutex_lock(&fx_gate.mu);
    while (!fx_gate.open && !call_is_cancelled(call)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L; /* re-check the cancel flag every 20 ms */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&fx_gate.cv, &fx_gate.mu, &ts);
    }
    bool open = fx_gate.open;
    pthread_mutex_unlock(&fx_gate.mu);
    return open;
}

static struct {
    pthread_mutex_t mu;
    fx_step dflt;
    fx_step queue[FX_MAX_STEPS];
    size_t head, len;
    atomic_int calls;
    atomic_int inflight, max_inflight;
    atomic_bool saw_log_tail_request;
    char last_function[128];
    int per_fn_calls[16];     /* by index in fx_fn_names */
} fx_term = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *fx_fn_names[16];

static FX_UNUSED void fx_term_reset(void)
{
    pthread_mutex_lock(&fx_term.mu);
    memset(&fx_term.dflt, 0, sizeof fx_term.dflt);
    fx_term.head = fx_term.len = 0;
    atomic_store(&fx_term.calls, 0);
    atomic_store(&fx_term.inflight, 0);
    atomic_store(&fx_term.max_inflight, 0);
    atomic_store(&fx_term.saw_log_tail_request, false);
    memset(fx_term.per_fn_calls, 0, sizeof fx_term.per_fn_calls);
    fx_term.last_function[0] = '\0';
    pthread_mutex_unlock(&fx_term.mu);
    fx_gate_close();
}

static FX_UNUSED void fx_term_default(fx_step s)
{
    pthread_mutex_lock(&fx_term.mu);
    fx_term.dflt = s;
    pthread_mutex_unlock(&fx_term.mu);
}

static FX_UNUSED void fx_term_push(fx_step s)
{
    pthread_mutex_lock(&fx_term.mu);
    assert_true(fx_term.len < FX_MAX_STEPS);
    fx_term.queue[(fx_term.head + fx_term.len++) % FX_MAX_STEPS] = s;
    pthread_mutex_unlock(&fx_term.mu);
}

static FX_UNUSED int fx_calls(void) { return atomic_load(&fx_term.calls); }

static FX_UNUSED int fx_fn_calls(const char *fn)
{
    pthread_mutex_lock(&fx_term.mu);
    int n = 0;
    for (int i = 0; i < 16 && fx_fn_names[i]; i++)
        if (strcmp(fx_fn_names[i], fn) == 0)
            n = fx_term.per_fn_calls[i];
    pthread_mutex_unlock(&fx_term.mu);
    return n;
}

static const char *fx_default_type(lmcp_outcome o)
{
    switch (o) {
    case LMCP_OUTCOME_FUNCTION_ERROR: return "ValueError";
    case LMCP_OUTCOME_THROTTLED: return "TooManyRequestsException";
    case LMCP_OUTCOME_AWS_ERROR: return "AccessDeniedException";
    case LMCP_OUTCOME_SERVICE_ERROR: return "ServiceException";
    case LMCP_OUTCOME_TRANSPORT_ERROR: return "NetworkError";
    case LMCP_OUTCOME_TIMEOUT: return "Timeout";
    case LMCP_OUTCOME_CANCELLED: return "Cancelled";
    case LMCP_OUTCOME_REFUSED: return "Refused";
    case LMCP_OUTCOME_INVALID_ARGUMENTS: return "InvalidArguments";
    case LMCP_OUTCOME_OK: break;
    }
    return NULL;
}

static int fx_terminal(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx;
    int n = atomic_fetch_add(&fx_term.calls, 1) + 1;
    int in = atomic_fetch_add(&fx_term.inflight, 1) + 1;
    int prev = atomic_load(&fx_term.max_inflight);
    while (in > prev && !atomic_compare_exchange_weak(&fx_term.max_inflight, &prev, in))
        ;
    if (atomic_load(&call->log_tail))
        atomic_store(&fx_term.saw_log_tail_request, true);
    pthread_mutex_lock(&fx_term.mu);
    fx_step s = fx_term.dflt;
    if (fx_term.len) {
        s = fx_term.queue[fx_term.head];
        fx_term.head = (fx_term.head + 1) % FX_MAX_STEPS;
        fx_term.len--;
    }
    if (s.fail_every > 0 && n % s.fail_every == 0)
        s.outcome = LMCP_OUTCOME_SERVICE_ERROR;
    snprintf(fx_term.last_function, sizeof fx_term.last_function, "%s", call->tool->function_name);
    for (int i = 0; i < 16 && fx_fn_names[i]; i++)
        if (strcmp(fx_fn_names[i], call->tool->function_name) == 0)
            fx_term.per_fn_calls[i]++;
    pthread_mutex_unlock(&fx_term.mu);

    int rc = LMCP_OK;
    res->lambda_called = !s.not_sent; /* the terminal stands for the invoker, which sent the request */
    if (s.gate && !fx_gate_wait(call)) {
        result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled", "cancelled while held at the gate");
        atomic_fetch_sub(&fx_term.inflight, 1);
        return LMCP_CANCELLED;
    }
    if (s.sleep_ms > 0) {
        int src = call_sleep(call, s.sleep_ms);
        if (src == LMCP_CANCELLED) {
            result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled", "cancelled during the terminal's sleep");
            atomic_fetch_sub(&fx_term.inflight, 1);
            return LMCP_CANCELLED;
        }
        if (src == LMCP_TIMEOUT) {
            result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout", "the call ran out of time in the terminal");
            atomic_fetch_sub(&fx_term.inflight, 1);
            return LMCP_TIMEOUT;
        }
    }
    char rid[32];
    snprintf(rid, sizeof rid, "req-%d", n);
    free(res->request_id);
    res->request_id = strdup(rid);
    if (s.log_tail) {
        free(res->log_tail);
        res->log_tail = strdup(s.log_tail);
    }
    if (s.outcome == LMCP_OUTCOME_OK) {
        if (s.payload) {
            result_set_ok(res, s.payload, strlen(s.payload));
        } else {
            char *ev = json_canonical(call->event);
            char *p = xasprintf("{\"n\":%d,\"args\":%s}", n, ev);
            result_set_ok(res, p, strlen(p));
            free(p);
            free(ev);
        }
        res->http_status = 200;
    } else {
        result_set_error(res, s.outcome, s.type ? s.type : fx_default_type(s.outcome), "scripted %s",
                         outcome_name(s.outcome));
        if (s.outcome == LMCP_OUTCOME_FUNCTION_ERROR) {
            const char *p = "{\"errorMessage\":\"scripted\",\"errorType\":\"ValueError\"}";
            buf_reset(&res->payload);
            buf_append(&res->payload, p, strlen(p));
        }
        res->retry_after_ms = s.retry_after_ms;
    }
    atomic_fetch_sub(&fx_term.inflight, 1);
    return rc;
}

/* ------------------------------------------------------------------ client logs */

typedef struct fx_log {
    lmcp_log_level level;
    char logger[128];
    char *text;
} fx_log;

static struct {
    pthread_mutex_t mu;
    fx_log logs[64];
    size_t n;
} fx_logs = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void fx_client_log(void *ctx, lmcp_log_level level, const char *logger, const char *text)
{
    (void)ctx;
    pthread_mutex_lock(&fx_logs.mu);
    if (fx_logs.n < 64) {
        fx_log *l = &fx_logs.logs[fx_logs.n++];
        l->level = level;
        snprintf(l->logger, sizeof l->logger, "%s", logger ? logger : "");
        l->text = strdup(text ? text : "");
    }
    pthread_mutex_unlock(&fx_logs.mu);
}

static FX_UNUSED void fx_logs_reset(void)
{
    pthread_mutex_lock(&fx_logs.mu);
    for (size_t i = 0; i < fx_logs.n; i++)
        free(fx_logs.logs[i].text);
    fx_logs.n = 0;
    pthread_mutex_unlock(&fx_logs.mu);
}

/* ------------------------------------------------------------------ the fixture */

typedef struct fx_tool {
    const char *name;
    const char *function;     /* default: the name */
    const char *arn;          /* default: arn:aws:lambda:us-east-1:123456789012:function:<function> */
    const char *qualifier;
    const char *tags[8];      /* key, value, key, value, ..., NULL */
} fx_tool;

/* Churn: tools (or functions) that come and go, as refreshes bring renamed or redeployed ones.
 * FX_CHURN tools named c0, c1, ... (each its own function), called in FX_CHURN_ROUNDS rounds. */
#define FX_CHURN_ROUNDS 5
#define FX_CHURN_PER_ROUND 200
#define FX_CHURN (FX_CHURN_ROUNDS * FX_CHURN_PER_ROUND)
static char fx_churn_names[FX_CHURN][16];

/* Fill tools[0 .. FX_CHURN - 1] with the churn tools. */
static FX_UNUSED void fx_churn_tools(fx_tool *tools)
{
    for (int i = 0; i < FX_CHURN; i++) {
        snprintf(fx_churn_names[i], sizeof fx_churn_names[i], "c%d", i);
        tools[i] = (fx_tool){.name = fx_churn_names[i]};
    }
}

typedef struct fx {
    app_config cfg;
    bool cfg_loaded;
    plugin_loader *loader;
    plugin_instance *inst[FX_MAX_WRAPPERS];
    size_t n_inst;
    chain *chain;
    tool_snapshot *snap;
    char err[2048];
} fx;

/* The host table fx_new hands the plugins: NULL for the real one, or a test's copy with a
 * function wrapped (it must outlive the fixture: the plugins keep the pointer). */
static const lmcp_host *fx_host;

static bool fx_tag_lookup(void *ctx, const char *key, const char **value)
{
    const tool *t = ctx;
    const char *v = hdrs_get_exact(&t->tags, key);
    if (v)
        *value = v;
    return v != NULL;
}

/* Load the wrappers of conf_text (a conf file with a `wrappers` list) over the tools.
 * Returns NULL (with f->err) when the conf or a plugin refuses. */
static FX_UNUSED fx *fx_new(const char *conf_text, const fx_tool *tools, size_t n_tools)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char path[] = "/tmp/lmcp-wrappers-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, conf_text, strlen(conf_text)), (ssize_t)strlen(conf_text));
    close(fd);
    int rc = app_config_load(&f->cfg, path, f->err, sizeof f->err);
    unlink(path);
    f->cfg_loaded = true;
    if (rc < 0)
        goto refuse;
    f->loader = plugin_loader_new(LMCP_WRAPPER_PLUGIN_DIR);
    f->chain = chain_new(fx_terminal, NULL);
    assert_true(f->cfg.n_wrappers <= FX_MAX_WRAPPERS);
    for (size_t i = 0; i < f->cfg.n_wrappers; i++) {
        const plugin_entry *e = &f->cfg.wrappers[i];
        plugin_module *m = plugin_loader_load(f->loader, e->plugin, e->path, LMCP_PLUGIN_WRAPPER, f->err, sizeof f->err);
        if (!m)
            goto refuse;
        plugin_instance *inst = plugin_instance_new(m, e, fx_host ? fx_host : host_table(), NULL, f->err, sizeof f->err);
        if (!inst)
            goto refuse;
        f->inst[f->n_inst++] = inst;
        chain_append(f->chain, inst);
    }
    f->snap = snapshot_new();
    memset(fx_fn_names, 0, sizeof fx_fn_names);
    size_t nf = 0;
    for (size_t i = 0; i < n_tools; i++) {
        tool *t = snapshot_add(f->snap);
        const fx_tool *d = &tools[i];
        const char *fn = d->function ? d->function : d->name;
        t->name = strdup(d->name);
        t->function_name = strdup(fn);
        if (d->arn)
            t->function_arn = *d->arn ? strdup(d->arn) : NULL;
        else
            t->function_arn = xasprintf("arn:aws:lambda:us-east-1:123456789012:function:%s", fn);
        t->qualifier = d->qualifier ? strdup(d->qualifier) : NULL;
        for (size_t k = 0; d->tags[k] && d->tags[k + 1]; k += 2)
            hdrs_add(&t->tags, d->tags[k], d->tags[k + 1]);
        t->tags_known = true;
        bool seen = false;
        for (size_t k = 0; k < nf; k++)
            seen = seen || strcmp(fx_fn_names[k], fn) == 0;
        if (!seen && nf < 15)
            fx_fn_names[nf++] = fn; /* the fx_tool array outlives the fixture in every test */
    }
    snapshot_finish(f->snap);
    for (size_t i = 0; i < f->snap->n; i++) {
        tool *t = &f->snap->tools[i];
        t->n_wrapper_settings = f->n_inst;
        t->wrapper_settings = calloc(f->n_inst ? f->n_inst : 1, sizeof *t->wrapper_settings);
        for (size_t w = 0; w < f->n_inst; w++)
            t->wrapper_settings[w] = plugin_instance_settings_for(f->inst[w], t->name, fx_tag_lookup, t);
    }
    f->snap->chain = f->chain;
    fx_term_reset();
    fx_logs_reset();
    return f;
refuse:
    return f; /* f->snap == NULL: the caller checks f->err */
}

static FX_UNUSED void fx_free(fx *f)
{
    if (!f)
        return;
    if (f->snap)
        snapshot_release(f->snap);
    chain_free(f->chain);
    for (size_t i = f->n_inst; i-- > 0;)
        plugin_instance_free(f->inst[i]);
    if (f->loader)
        plugin_loader_free(f->loader);
    if (f->cfg_loaded)
        app_config_free(&f->cfg);
    fx_logs_reset();
    free(f);
}

/* A call ready to run (the caller releases it). args: JSON text or NULL. */
static FX_UNUSED lmcp_call *fx_call_new(fx *f, const char *tool_name, const char *args, int64_t timeout_ms)
{
    const tool *t = snapshot_find(f->snap, tool_name);
    assert_non_null(t);
    json_object *a = NULL;
    if (args) {
        char err[256]; /* the server's own parser, as for a tools/call from a client */
        a = json_parse_text(args, strlen(args), err, sizeof err);
        if (!a)
            fail_msg("fixture arguments are not JSON: %s: %s", err, args);
    }
    lmcp_call *c = call_new(f->snap, t, a, timeout_ms);
    json_object_put(a);
    c->log_fn = fx_client_log;
    c->log_ctx = NULL;
    return c;
}

static FX_UNUSED int fx_run(fx *f, lmcp_call *c, lmcp_result *res)
{
    return chain_run(f->chain, c, res);
}

/* Run one call to completion; the caller frees the result (result_free). */
static FX_UNUSED lmcp_result *fx_call(fx *f, const char *tool_name, const char *args)
{
    lmcp_call *c = fx_call_new(f, tool_name, args, 0);
    lmcp_result *r = result_new();
    fx_run(f, c, r);
    call_release(c);
    return r;
}

static FX_UNUSED lmcp_result *fx_call_timeout(fx *f, const char *tool_name, const char *args, int64_t timeout_ms)
{
    lmcp_call *c = fx_call_new(f, tool_name, args, timeout_ms);
    lmcp_result *r = result_new();
    fx_run(f, c, r);
    call_release(c);
    return r;
}

/* A call on its own thread. */
typedef struct fx_async {
    fx *f;
    lmcp_call *call;
    lmcp_result *res;
    pthread_t th;
    int64_t started_ms, ended_ms;
    int rc;
    atomic_bool done;        /* set when the call returned (fx_wait_done) */
    atomic_bool running;     /* set when its thread started (fx_wait_running) */
} fx_async;

static void *fx_async_main(void *arg)
{
    fx_async *a = arg;
    a->started_ms = fx_now_ms();
    atomic_store(&a->running, true);
    a->rc = fx_run(a->f, a->call, a->res);
    a->ended_ms = fx_now_ms();
    atomic_store(&a->done, true);
    return NULL;
}

/* Wait until the async call's thread runs (a loaded host may start it late). */
static FX_UNUSED void fx_wait_running(fx_async *a)
{
    while (!atomic_load(&a->running))
        fx_sleep_ms(1);
}

/* Whether the async call returns within ms milliseconds (it is not joined). */
static FX_UNUSED bool fx_wait_done(fx_async *a, int64_t ms)
{
    int64_t until = fx_now_ms() + ms;
    while (!atomic_load(&a->done) && fx_now_ms() < until)
        fx_sleep_ms(5);
    return atomic_load(&a->done);
}

static FX_UNUSED fx_async *fx_start(fx *f, const char *tool_name, const char *args, int64_t timeout_ms)
{
    fx_async *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->f = f;
    a->call = fx_call_new(f, tool_name, args, timeout_ms);
    a->res = result_new();
    assert_int_equal(pthread_create(&a->th, NULL, fx_async_main, a), 0);
    return a;
}

static FX_UNUSED void fx_join(fx_async *a)
{
    pthread_join(a->th, NULL);
}

static FX_UNUSED void fx_async_free(fx_async *a)
{
    call_release(a->call);
    result_free(a->res);
    free(a);
}

/* The JSON member of an OK payload. */
static FX_UNUSED int64_t fx_payload_n(const lmcp_result *r)
{
    json_object *o = json_tokener_parse(r->payload.data ? r->payload.data : "");
    json_object *n = NULL;
    int64_t v = -1;
    if (o && json_object_object_get_ex(o, "n", &n))
        v = json_object_get_int64(n);
    json_object_put(o);
    return v;
}

/* ------------------------------------------------------------------ stderr capture */

static int fx_saved_stderr = -1;
static char fx_stderr_path[64];

static FX_UNUSED void fx_stderr_begin(void)
{
    fflush(stderr);
    snprintf(fx_stderr_path, sizeof fx_stderr_path, "/tmp/lmcp-wrappers-stderr-XXXXXX");
    int fd = mkstemp(fx_stderr_path);
    assert_true(fd >= 0);
    fx_saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* The text written to stderr since fx_stderr_begin (the caller frees it). */
static FX_UNUSED char *fx_stderr_end(void)
{
    fflush(stderr);
    dup2(fx_saved_stderr, 2);
    close(fx_saved_stderr);
    fx_saved_stderr = -1;
    FILE *fp = fopen(fx_stderr_path, "r");
    assert_non_null(fp);
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', fp);
    fclose(fp);
    unlink(fx_stderr_path);
    if (n < 0) {
        free(text);
        return strdup("");
    }
    return text;
}

/* Free the fixture with debug logging on and return the "<prefix>%lu ... %lu" counts of the
 * statistics line a wrapper writes at destroy (the two numbers after prefix, read by fmt). */
static FX_UNUSED void fx_free_stats(fx *f, const char *prefix, const char *fmt, unsigned long *a, unsigned long *b)
{
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_DEBUG);
    fx_stderr_begin();
    fx_free(f);
    char *text = fx_stderr_end();
    log_set_level(old);
    const char *st = strstr(text, prefix);
    if (!st)
        fail_msg("no statistics line at destroy:\n%s", text);
    assert_int_equal(sscanf(st, fmt, a, b), 2);
    free(text);
}

/* ------------------------------------------------------------------ a stalled stderr */

/* Make stderr a full pipe: whoever writes a log line now blocks in write(2) — holding the
 * logger's lock and whatever lock it logged under — until fx_stderr_unblock drains the pipe.
 * In between the test thread must not write to stderr itself (a failing cmocka assertion would
 * block): record what it sees, unblock, then assert. */
static int fx_block_rfd = -1, fx_block_saved = -1;
static size_t fx_block_filled;

static FX_UNUSED void fx_stderr_block(void)
{
    fflush(stderr);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fx_block_saved = dup(2);
    dup2(p[1], 2);
    close(p[1]);
    int fl = fcntl(2, F_GETFL);
    fcntl(2, F_SETFL, fl | O_NONBLOCK);
    char junk[4096];
    memset(junk, '.', sizeof junk);
    fx_block_filled = 0;
    for (size_t chunk = sizeof junk; chunk > 0; chunk /= 2) {
        ssize_t n;
        while ((n = write(2, junk, chunk)) > 0)
            fx_block_filled += (size_t)n;
    }
    fcntl(2, F_SETFL, fl);
    fx_block_rfd = p[0];
}

/* Restore stderr and drain the pipe until every writer is done with it; returns the text logged
 * while it was blocked (the caller frees it). */
static FX_UNUSED char *fx_stderr_unblock(void)
{
    dup2(fx_block_saved, 2);
    close(fx_block_saved);
    fx_block_saved = -1;
    buf b = BUF_INIT;
    size_t skip = fx_block_filled;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fx_block_rfd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t k = (size_t)n < skip ? (size_t)n : skip;
        skip -= k;
        buf_append(&b, chunk + k, (size_t)n - k);
    }
    close(fx_block_rfd);
    fx_block_rfd = -1;
    return buf_steal(&b); /* never NULL */
}

/* Count the lines of text containing every one of the (NULL-terminated) needles. */
static FX_UNUSED int fx_count_lines(const char *text, ...)
{
    int count = 0;
    const char *p = text;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *ln = strndup(p, len);
        va_list ap;
        va_start(ap, text);
        bool all = true;
        for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
            if (!strstr(ln, needle))
                all = false;
        va_end(ap);
        if (all)
            count++;
        free(ln);
        p = e ? e + 1 : NULL;
    }
    return count;
}
