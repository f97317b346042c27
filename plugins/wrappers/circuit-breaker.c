/* wrapper plugin "circuit-breaker": stops calling a Lambda function that keeps failing.
 *
 * One breaker per function (its ARN, or its name when the ARN is unknown), shared by every
 * tool that invokes it. A breaker at rest — closed, no failure in a row, no call counted within
 * its window, no call running — is no different from a new one, and is dropped (keytable.h:
 * when the table has doubled since the last sweep), so the breakers of functions that a
 * rediscovery removed or renamed do not stay forever: the table holds about twice the breakers
 * that are not at rest, at most. An open or half-open breaker is kept until a call closes it.
 * States:
 *   closed     calls go through; outcomes are counted. The breaker opens after
 *              `failure_threshold` consecutive failures, or when at least `min_calls` calls
 *              finished within the last `window` and the share of failures among them reached
 *              `failure_ratio`. Only calls that started in the current closed period count: every
 *              state change starts a new epoch, and a call that started in an earlier one (say it
 *              hung through an outage, the breaker opened and a trial closed it again) is ignored
 *              when it ends.
 *   open       calls are refused at once (outcome REFUSED, no Lambda call) with the time until
 *              the next trial, for `cooldown`.
 *   half-open  after the cooldown exactly one call (the trial) goes through; the others are
 *              still refused while it runs. A successful trial closes the breaker, a failed one
 *              opens it for another cooldown. A trial that ends without a verdict (cancelled,
 *              invalid arguments, refused by an inner wrapper) lets the next call be the trial.
 * Failures: network errors (TRANSPORT_ERROR), AWS 5xx (SERVICE_ERROR), throttling, timeouts,
 * and — when count_function_errors = true — function errors. AWS 4xx refusals (AWS_ERROR) and
 * function errors otherwise count as successes: Lambda answered. Cancelled calls, invalid
 * arguments and refusals by other wrappers are not counted at all.
 * Every state change is logged: warn when it opens, info when it half-opens or closes, with
 * the function and the reason. Log lines are formatted under the lock and written after it is
 * released, so a slow stderr never holds up the other calls.
 *
 * The sliding window is a ring of 20 time slots of window/20 each. Settings are read per call
 * (per tool through overrides or tags); a function shared by tools with different settings
 * follows the settings of the call that is finishing. The instance's failure_ratio is checked at
 * start; a tool's own (an overrides block) is checked when a breaker first sees that value — the
 * verdict is kept with the breaker (one dropped at rest forgets it) — and one outside 0..1 is
 * ignored with one warning: the instance's failure_ratio applies. The integer settings are
 * bounded by the host. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

#include "common/keytable.h"
#include "common/wutil.h"

#define SLOTS 20

static const lmcp_setting_def cb_settings[] = {
    {"failure_threshold", LMCP_SETTING_INT, "5", NULL, "lambda-mcp:breaker-threshold", 0, 1000000,
     "consecutive failures that open the breaker (0: only the ratio opens it)"},
    {"failure_ratio", LMCP_SETTING_DOUBLE, "0.5", NULL, NULL, 0, 0,
     "share of failed calls within `window` that opens the breaker, 0..1 (0: only consecutive failures)"},
    {"min_calls", LMCP_SETTING_INT, "10", NULL, NULL, 1, 1000000,
     "calls within `window` needed before failure_ratio applies"},
    {"window", LMCP_SETTING_DURATION, "60s", NULL, NULL, 20, 86400000, "the sliding window of failure_ratio"},
    {"cooldown", LMCP_SETTING_DURATION, "30s", NULL, "lambda-mcp:breaker-cooldown", 1, 86400000,
     "how long an open breaker refuses calls before it lets one trial call through"},
    {"count_function_errors", LMCP_SETTING_BOOL, "false", NULL, NULL, 0, 0,
     "count function errors (X-Amz-Function-Error) as failures"},
    LMCP_SETTINGS_END,
};

typedef enum { CB_CLOSED, CB_OPEN, CB_HALF_OPEN } cb_state;
static const char *const state_names[] = {"closed", "open", "half-open"};

typedef struct slot {
    int64_t start_us; /* start of the slot's period; 0: empty */
    uint32_t calls, failures;
} slot;

typedef struct breaker {
    wk_node node;              /* in cb.table; node.key: the function's ARN or name */
    cb_state state;
    int64_t open_until_us;
    bool trial_in_flight;
    uint64_t trial_id;         /* which call is the trial */
    uint64_t epoch;            /* bumped on every state change: a call's outcome counts only if
                                  the epoch it started in is still the current one */
    uint32_t consecutive;
    uint32_t users;            /* calls running through it: it is not dropped meanwhile */
    int64_t slot_us;           /* width of a slot when the ring was filled */
    slot ring[SLOTS];
    char last_failure[160];    /* outcome and type of the last failure, for messages */
    bool ratio_seen;           /* the failure_ratio last seen, its verdict, the last one warned of */
    double seen_ratio, use_ratio, warned_ratio;
} breaker;

typedef struct cb {
    const lmcp_host *host;
    const lmcp_instance *inst;
    double base_ratio;         /* the instance's failure_ratio, checked at start */
    pthread_mutex_t mu;
    wk_table table;            /* breaker by function; at rest: dropped by a sweep */
    uint64_t next_call_id;
    uint64_t refused, opened, dropped;
} cb;

/* The breaker of a function, created closed on first use (under mu). NULL: out of memory. */
static breaker *breaker_get(cb *c, const char *key)
{
    return (breaker *)wk_get(&c->table, key, sizeof(breaker), NULL);
}

/* Whether a breaker is the same as a new one (a wk_sweep callback; ctx: the monotonic time now):
   closed, no failure in a row, no call running, and every slot of its ring older than the window
   it was filled for (window_sum ignores a slot older than the window; the ring's window is
   slot_us * SLOTS plus less than SLOTS microseconds of rounding, within slot_us * (SLOTS + 1)). */
static bool breaker_at_rest(const wk_node *node, void *ctx)
{
    const breaker *b = (const breaker *)node;
    int64_t now = *(const int64_t *)ctx;
    if (b->users || b->state != CB_CLOSED || b->consecutive)
        return false;
    for (int i = 0; i < SLOTS; i++)
        if (b->ring[i].start_us && b->ring[i].start_us + b->slot_us * (SLOTS + 1) > now)
            return false;
    return true;
}

/* The failure_ratio to apply for the finishing call's value (under mu). A value is checked when
   the breaker first sees it (the verdict is kept until another value comes): outside 0..1 it is
   ignored for the instance's, with one warning per breaker and value. */
static double ratio_for(cb *c, breaker *b, double ratio, const char *tool, wu_logq *q)
{
    if (b->ratio_seen && ratio == b->seen_ratio)
        return b->use_ratio;
    b->ratio_seen = true;
    b->seen_ratio = ratio;
    b->use_ratio = ratio;
    if (ratio < 0.0 || ratio > 1.0) {
        b->use_ratio = c->base_ratio;
        if (ratio != b->warned_ratio) /* 0 (never warned) is a valid ratio */
            wu_log_add(q, c->host, LMCP_LOG_WARN,
                       "tool %s: failure_ratio %g is not a share between 0 and 1: ignored, the plugin's failure_ratio "
                       "%g applies (function %s)",
                       tool, ratio, c->base_ratio, b->node.key);
        b->warned_ratio = ratio;
    }
    return b->use_ratio;
}

static int cb_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    double ratio = h->setting_double(ctx->settings, "failure_ratio");
    if (!(ratio >= 0.0 && ratio <= 1.0)) {
        snprintf(err, errlen, "failure_ratio must be between 0 and 1 (it is %g)", ratio);
        return LMCP_ERR;
    }
    if (ratio == 0.0 && h->setting_int(ctx->settings, "failure_threshold") == 0)
        h->log(ctx->instance, LMCP_LOG_WARN,
               "failure_threshold and failure_ratio are both 0: breakers only open where a tool's override sets one");
    cb *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    c->host = h;
    c->inst = ctx->instance;
    c->base_ratio = ratio;
    if (!wk_init(&c->table, 16)) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    pthread_mutex_init(&c->mu, NULL);
    *state = c;
    return LMCP_OK;
}

static void cb_destroy(void *state)
{
    cb *c = state;
    if (!c)
        return;
    if (c->host->log_enabled(LMCP_LOG_DEBUG))
        c->host->log(c->inst, LMCP_LOG_DEBUG,
                     "circuit-breaker statistics: %zu breakers kept, %" PRIu64 " dropped at rest, %" PRIu64
                     " times opened, %" PRIu64 " calls refused",
                     c->table.n, c->dropped, c->opened, c->refused);
    wk_destroy(&c->table, NULL, NULL); /* breakers are single allocations (wk_get) */
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ------------------------------------------------------------------ the window */

static void window_reset(breaker *b)
{
    memset(b->ring, 0, sizeof b->ring);
}

static void window_add(breaker *b, int64_t now, int64_t window_us, bool failed)
{
    int64_t w = window_us / SLOTS;
    if (w < 1)
        w = 1;
    if (w != b->slot_us) { /* the window changed: start over */
        window_reset(b);
        b->slot_us = w;
    }
    int64_t start = now - now % w;
    slot *s = &b->ring[(uint64_t)(now / w) % SLOTS];
    if (s->start_us != start) {
        s->start_us = start;
        s->calls = s->failures = 0;
    }
    s->calls++;
    if (failed)
        s->failures++;
}

static void window_sum(const breaker *b, int64_t now, int64_t window_us, uint32_t *calls, uint32_t *failures)
{
    *calls = *failures = 0;
    for (int i = 0; i < SLOTS; i++) {
        const slot *s = &b->ring[i];
        if (s->start_us && s->start_us > now - window_us) {
            *calls += s->calls;
            *failures += s->failures;
        }
    }
}

/* ------------------------------------------------------------------ the call */

typedef enum { V_NEUTRAL, V_SUCCESS, V_FAILURE } verdict;

static verdict classify(lmcp_outcome o, bool count_function_errors)
{
    switch (o) {
    case LMCP_OUTCOME_OK:
    case LMCP_OUTCOME_AWS_ERROR:
        return V_SUCCESS;
    case LMCP_OUTCOME_FUNCTION_ERROR:
        return count_function_errors ? V_FAILURE : V_SUCCESS;
    case LMCP_OUTCOME_THROTTLED:
    case LMCP_OUTCOME_SERVICE_ERROR:
    case LMCP_OUTCOME_TRANSPORT_ERROR:
    case LMCP_OUTCOME_TIMEOUT:
        return V_FAILURE;
    case LMCP_OUTCOME_CANCELLED:
    case LMCP_OUTCOME_REFUSED:
    case LMCP_OUTCOME_INVALID_ARGUMENTS:
        return V_NEUTRAL;
    }
    return V_NEUTRAL;
}

/* Under mu; the warning goes to q, written once mu is released. */
static void set_open(cb *c, breaker *b, int64_t now, int64_t cooldown_ms, const char *reason, wu_logq *q)
{
    cb_state from = b->state;
    b->state = CB_OPEN;
    b->epoch++;
    b->open_until_us = now + cooldown_ms * 1000;
    b->trial_in_flight = false;
    b->consecutive = 0;
    window_reset(b);
    c->opened++;
    wu_log_add(q, c->host, LMCP_LOG_WARN, "function %s: circuit %s -> open for %" PRId64 " ms: %s", b->node.key,
               state_names[from], cooldown_ms, reason);
}

static int cb_invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    cb *c = state;
    const lmcp_host *h = c->host;
    const char *key = h->call_arn(call);
    if (!key || !*key)
        key = h->call_function(call);
    if (!key || !*key)
        key = h->call_tool(call);
    int64_t cooldown_ms = h->setting_duration_ms(s, "cooldown");

    wu_logq q; /* log lines, written after the lock is released */
    q.n = 0;   /* (only n: the lines are not zeroed, a call pays nothing for them) */
    int64_t now = h->monotonic_us();
    pthread_mutex_lock(&c->mu);
    if (wk_sweep_due(&c->table)) /* before the lookup: a breaker of this key at rest may go too */
        c->dropped += wk_sweep(&c->table, breaker_at_rest, NULL, &now);
    breaker *b = breaker_get(c, key);
    if (!b) { /* out of memory: do not get in the way */
        pthread_mutex_unlock(&c->mu);
        return h->call_next(next, call, res);
    }
    uint64_t id = ++c->next_call_id;
    bool trial = false;
    if (b->state == CB_OPEN && now >= b->open_until_us) {
        b->state = CB_HALF_OPEN;
        b->epoch++;
        b->trial_in_flight = false;
        wu_log_add(&q, h, LMCP_LOG_INFO,
                   "function %s: circuit open -> half-open: the cooldown of %" PRId64
                   " ms is over, letting one trial call through",
                   b->node.key, cooldown_ms);
    }
    if (b->state == CB_HALF_OPEN && !b->trial_in_flight) {
        b->trial_in_flight = true;
        b->trial_id = id;
        trial = true;
    } else if (b->state != CB_CLOSED) {
        int64_t retry_ms;
        const char *why;
        if (b->state == CB_OPEN) {
            retry_ms = (b->open_until_us - now + 999) / 1000;
            why = "open";
        } else {
            retry_ms = cooldown_ms < 1000 ? cooldown_ms : 1000; /* the trial's verdict is pending */
            why = "half-open (a trial call is running)";
        }
        if (retry_ms < 1)
            retry_ms = 1;
        char last[sizeof b->last_failure];
        memcpy(last, b->last_failure, sizeof last);
        c->refused++;
        pthread_mutex_unlock(&c->mu);
        wu_log_flush(&q, h, c->inst);
        h->result_set_error(res, LMCP_OUTCOME_REFUSED, "CircuitOpen",
                            "circuit breaker %s for function %s after repeated failures (last: %s); Lambda was not "
                            "called; next trial in %" PRId64 " ms",
                            why, key, *last ? last : "?", retry_ms);
        h->result_set_retry_after_ms(res, retry_ms);
        return LMCP_OK;
    }
    uint64_t epoch = b->epoch;
    b->users++; /* b stays linked until this call is done with it */
    pthread_mutex_unlock(&c->mu);
    wu_log_flush(&q, h, c->inst);

    int rc = h->call_next(next, call, res);

    lmcp_outcome o = h->result_outcome(res);
    verdict v = classify(o, h->setting_bool(s, "count_function_errors"));
    /* a timeout that came before anything went to Lambda (a rate limit's wait or a wait for an
       identical call, in a wrapper inside this one; no credentials in time) says nothing about
       the function. A host without the field: counted, as before it existed. */
    if (v == V_FAILURE && o == LMCP_OUTCOME_TIMEOUT && LMCP_HOST_HAS(h, result_lambda_called) &&
        !h->result_lambda_called(res))
        v = V_NEUTRAL;
    now = h->monotonic_us();
    pthread_mutex_lock(&c->mu);
    b->users--;
    if (v == V_FAILURE) {
        const char *type = h->result_error_type(res);
        snprintf(b->last_failure, sizeof b->last_failure, "%s%s%s%s", lmcp_outcome_name(o), type ? " (" : "",
                 type ? type : "", type ? ")" : "");
    }
    if (trial && b->state == CB_HALF_OPEN && b->trial_id == id) {
        if (v == V_SUCCESS) {
            b->state = CB_CLOSED;
            b->epoch++;
            b->trial_in_flight = false;
            b->consecutive = 0;
            window_reset(b);
            wu_log_add(&q, h, LMCP_LOG_INFO, "function %s: circuit half-open -> closed: the trial call succeeded (%s)",
                       b->node.key, lmcp_outcome_name(o));
        } else if (v == V_FAILURE) {
            char reason[256];
            snprintf(reason, sizeof reason, "the trial call failed (%s)", b->last_failure);
            set_open(c, b, now, cooldown_ms, reason, &q);
        } else {
            b->trial_in_flight = false; /* no verdict: the next call is the trial */
            wu_log_add(&q, h, LMCP_LOG_DEBUG, "function %s: the trial call ended without a verdict (%s)", b->node.key,
                       lmcp_outcome_name(o));
        }
    } else if (b->state == CB_CLOSED && b->epoch == epoch && v != V_NEUTRAL) {
        int64_t window_ms = h->setting_duration_ms(s, "window");
        window_add(b, now, window_ms * 1000, v == V_FAILURE);
        if (v == V_SUCCESS) {
            b->consecutive = 0;
        } else {
            b->consecutive++;
            int64_t threshold = h->setting_int(s, "failure_threshold");
            double ratio = ratio_for(c, b, h->setting_double(s, "failure_ratio"), h->call_tool(call), &q);
            int64_t min_calls = h->setting_int(s, "min_calls");
            uint32_t calls, failures;
            window_sum(b, now, window_ms * 1000, &calls, &failures);
            char reason[320];
            if (threshold > 0 && b->consecutive >= (uint64_t)threshold) {
                snprintf(reason, sizeof reason, "%" PRIu32 " consecutive failures (last: %s)", b->consecutive,
                         b->last_failure);
                set_open(c, b, now, cooldown_ms, reason, &q);
            } else if (ratio > 0 && calls >= (uint64_t)min_calls && (double)failures >= ratio * (double)calls) {
                snprintf(reason, sizeof reason,
                         "%" PRIu32 " of the last %" PRIu32 " calls within %" PRId64 " ms failed (%.0f%% >= %.0f%%; last: %s)",
                         failures, calls, window_ms, 100.0 * failures / calls, 100.0 * ratio, b->last_failure);
                set_open(c, b, now, cooldown_ms, reason, &q);
            }
        }
    }
    /* else: a call that started in another state than the breaker is in now — before it opened
       (even if a trial has closed it again since), or while another call was the trial —
       finished; the state it finds was decided by calls that saw the function after it did, so
       its outcome is not counted */
    pthread_mutex_unlock(&c->mu);
    wu_log_flush(&q, h, c->inst);
    return rc;
}

static const lmcp_wrapper_ops cb_ops = {.invoke = cb_invoke};

static const lmcp_plugin_def cb_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "circuit-breaker",
    .version = "1.0",
    .description = "per function: stop calling Lambda after repeated failures, refuse calls during a cooldown, "
                   "then let one trial call through",
    .settings = cb_settings,
    .init = cb_init,
    .destroy = cb_destroy,
    .wrapper = &cb_ops,
};

LMCP_PLUGIN_DEFINE(cb_plugin)
