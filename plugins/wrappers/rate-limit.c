/* wrapper plugin "rate-limit": token buckets in front of Lambda, one for the whole server
 * (global_rate, global_burst) and one per tool (rate, burst: per tool through an overrides
 * block or the function tags lambda-mcp:rate-limit and lambda-mcp:rate-burst).
 *
 * A bucket of `burst` tokens refilling at `rate` per second, kept as a schedule (GCRA, the
 * virtual-scheduling form of a token bucket): the times at which admitted calls fire. A call is
 * given the earliest time, not before now, at which firing keeps every bucket that applies within
 * its limit — with the calls already booked for later counted at the times they will fire, so a
 * call held back by its tool's bucket holds its global slot for when it fires, not from the moment
 * it was admitted, and does not block the global bucket before then (another tool's call fits in
 * between when there is room). The call books that time in each bucket and sleeps until then,
 * once, through host->call_sleep_ms, so a cancellation or the call's deadline ends the wait;
 * nobody polls. Bookings are made under one mutex, so calls of one tool are admitted first come,
 * first served (but see cancellations below). A call that would have to wait longer than `max_wait` (or past its own deadline)
 * books nothing and is refused at once (outcome REFUSED) with the time after which a retry would
 * be admitted (at most a day), both as result_set_retry_after_ms and in the message. A cancelled
 * or timed-out waiter's bookings are removed: its slot goes to whoever fits there next (possibly
 * a newcomer: calls already waiting keep their times), and no two calls ever share one.
 *
 * Why a schedule and not a token count: a count cannot say *when* a reserved token is spent, so
 * a token taken early for a call that fires late was counted as spent while the bucket refilled,
 * and a token given back "now" was a slot that a later waiter had already been promised.
 * The arithmetic is in double microseconds, compared with max_wait before anything is converted,
 * and the interval between two calls is capped (T_MAX_US): a tiny rate (1e-14 per second) stays a
 * finite, huge wait — refused — instead of overflowing into "no wait at all".
 *
 * A tool's bucket at rest — nothing booked, full again (tat not after now), no call waiting on
 * it — is no different from a new one, and is dropped (keytable.h: when the table has doubled
 * since the last sweep), so the buckets of tools that a rediscovery removed or renamed do not
 * stay forever: the table holds about twice the buckets that are not at rest, at most.
 *
 * rate 0 means "no limit" for that bucket. Settings are resolved per tool by the host; the
 * global bucket uses the instance's own values (global_* in an overrides block are ignored).
 * The instance's rates are checked at start (0 or a positive, finite number); a tool's own rate
 * (an overrides block or the tag) is checked once, when the tool's bucket first sees it (the
 * verdict is kept with the bucket, so a call costs no validation; a bucket dropped at rest
 * forgets it): a negative or infinite one is ignored with one warning and the instance's rate
 * applies. Log lines are formatted under the lock and written after it is released. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

#include "common/keytable.h"
#include "common/wutil.h"

#define T_MAX_US 1e15            /* longest interval between two calls of a bucket: ~31.7 years */
#define EPS_US 1.0               /* slack of the schedule's comparisons: rounding, not a limit */
#define RETRY_MAX_MS 86400000LL  /* a retry hint never says more than a day */

static const lmcp_setting_def rl_settings[] = {
    {"global_rate", LMCP_SETTING_DOUBLE, "0", NULL, NULL, 0, 0,
     "calls per second for all tools together (0: no global limit)"},
    {"global_burst", LMCP_SETTING_INT, "0", NULL, NULL, 0, 1000000,
     "calls the global bucket admits at once (0: max(1, global_rate))"},
    {"rate", LMCP_SETTING_DOUBLE, "0", NULL, "lambda-mcp:rate-limit", 0, 0,
     "calls per second per tool (per tool: an overrides block or the function tag; 0: no per-tool limit)"},
    {"burst", LMCP_SETTING_INT, "0", NULL, "lambda-mcp:rate-burst", 0, 1000000,
     "calls a tool's bucket admits at once (0: max(1, rate))"},
    {"max_wait", LMCP_SETTING_DURATION, "5s", NULL, NULL, 0, 3600000,
     "longest a call waits for a token before it is refused with a retry hint (0: refuse at once)"},
    LMCP_SETTINGS_END,
};

/* A token bucket as a schedule (GCRA). With T = 1/rate and tau = (burst - 1) * T, a sequence of
 * calls keeps within the bucket when each call, taken in order, fires at f >= tat - tau, after
 * which tat = max(tat, f) + T (tat: the "theoretical arrival time"). Calls that fired (their time
 * is past) are folded into tat; calls booked for later stay in `at`, sorted, so a new call can be
 * placed before them where there is room, and a cancelled one can be taken out again. */
typedef struct bucket {
    double rate;      /* calls per second; <= 0: unlimited */
    double burst;     /* capacity */
    double t_us;      /* T: 1e6 / rate, at most T_MAX_US */
    double tau_us;    /* (burst - 1) * T */
    double tat;       /* after the folded calls; 0 (monotonic time 0, long past): full */
    double *at;       /* the booked fire times after the folded ones, ascending */
    double *m;        /* scratch for bucket_earliest (same capacity) */
    size_t n, cap;
} bucket;

typedef struct tool_bucket {
    wk_node node;     /* in rl.tools, keyed by the tool name */
    bucket b;         /* b.rate <= 0: the tool has no bucket of its own */
    uint32_t users;   /* calls waiting for their slot in it: it is not dropped meanwhile */
    bool seen;        /* seen_*: the tool's settings the bucket was configured from */
    double seen_rate;
    int64_t seen_burst;
} tool_bucket;

typedef struct rl {
    const lmcp_host *host;
    const lmcp_instance *inst;
    double base_rate; /* the instance's rate (checked at start): stands in for an invalid tool's */
    pthread_mutex_t mu;
    bucket global;
    wk_table tools;   /* tool_bucket by tool name; at rest: dropped by a sweep */
    uint64_t admitted, delayed, refused, cancelled, dropped;
} rl;

static double burst_of(double rate, int64_t burst)
{
    if (burst > 0)
        return (double)burst;
    return rate >= 1.0 ? floor(rate) : 1.0;
}

/* (Re)configure; the schedule is kept (a new bucket is full: tat 0). */
static void bucket_config(bucket *b, double rate, int64_t burst)
{
    b->rate = rate;
    b->burst = burst_of(rate, burst);
    b->t_us = rate > 0 ? 1e6 / rate : 0;
    if (b->t_us > T_MAX_US)
        b->t_us = T_MAX_US;
    b->tau_us = (b->burst - 1.0) * b->t_us;
}

static void bucket_free(bucket *b)
{
    free(b->at);
    free(b->m);
}

static double dmax(double a, double b) { return a > b ? a : b; }

/* Fold the calls whose time has come into tat (in order: the schedule stays exact). */
static void bucket_fold(bucket *b, double now)
{
    size_t k = 0;
    while (k < b->n && b->at[k] <= now) {
        b->tat = dmax(b->tat, b->at[k]) + b->t_us;
        k++;
    }
    if (k) {
        memmove(b->at, b->at + k, (b->n - k) * sizeof *b->at);
        b->n -= k;
    }
}

/* The earliest time >= lb at which one more call fits the bucket, the calls booked for later
 * staying where they are. m[k] is the largest tat with which the booked calls at[k..] still all
 * fit (backwards: the call at[k] needs tat <= at[k] + tau, and leaves max(tat, at[k]) + T, which
 * must be <= m[k + 1]). Then, gap by gap from the earliest, the first time that fits. O(n). */
static double bucket_earliest(bucket *b, double lb)
{
    const double T = b->t_us, tau = b->tau_us;
    double *m = b->m;
    double next = INFINITY; /* m[n] */
    for (size_t k = b->n; k-- > 0;) {
        double a = b->at[k];
        m[k] = a + T <= next ? fmin(a + tau + EPS_US, next - T) : -INFINITY;
        next = m[k];
    }
    double tat = b->tat;
    for (size_t k = 0;; k++) {
        double lo = k ? b->at[k - 1] : -INFINITY;
        double hi = k < b->n ? b->at[k] : INFINITY;
        double mk = k < b->n ? m[k] : INFINITY;
        double c = dmax(dmax(lb, lo), tat - tau);
        if (c <= hi && dmax(tat, c) + T <= mk)
            return c;
        tat = dmax(tat, b->at[k]) + T; /* k < n: the last gap (k == n) always fits */
    }
}

/* Book a call at time t (>= every folded call). A call firing now is folded at once; a later
   one is kept in order (so it can be taken back). Out of memory: folded at once as well — still
   within the limit (a GCRA taken in any order never admits more than the bucket allows), it can
   only not be given back. */
static void bucket_book(bucket *b, double t, double now)
{
    if (t > now && b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        double *at = realloc(b->at, cap * sizeof *at);
        if (at)
            b->at = at;
        double *m = at ? realloc(b->m, cap * sizeof *m) : NULL;
        if (m) {
            b->m = m;
            b->cap = cap;
        }
    }
    if (t <= now || b->n == b->cap) {
        b->tat = dmax(b->tat, t) + b->t_us;
        return;
    }
    size_t k = b->n;
    while (k > 0 && b->at[k - 1] > t)
        k--;
    memmove(b->at + k + 1, b->at + k, (b->n - k) * sizeof *b->at);
    b->at[k] = t;
    b->n++;
}

/* Take back a booking not used (a cancelled or timed-out waiter). Nothing if it was folded
   already (its time has passed). */
static void bucket_unbook(bucket *b, double t)
{
    for (size_t k = 0; k < b->n; k++)
        if (b->at[k] == t) {
            memmove(b->at + k, b->at + k + 1, (b->n - k - 1) * sizeof *b->at);
            b->n--;
            return;
        }
}

/* The earliest time >= now that fits both buckets (either may be NULL). Each round moves t to the
   next time one of them admits; a time both admit ends it. The rounds are bounded by the gaps of
   the two schedules; the cap is only a guard — past every booking both admit any later time. */
static double earliest_both(bucket *g, bucket *t, double now)
{
    double at = now;
    size_t rounds = (g ? g->n : 0) + (t ? t->n : 0) + 4;
    for (size_t i = 0; i < rounds; i++) {
        double a = g ? bucket_earliest(g, at) : at;
        double c = t ? bucket_earliest(t, a) : a;
        if (c == a)
            return c;
        at = c;
    }
    double last = at;
    if (g && g->n)
        last = dmax(last, g->at[g->n - 1]);
    if (t && t->n)
        last = dmax(last, t->at[t->n - 1]);
    return dmax(g ? bucket_earliest(g, last) : last, t ? bucket_earliest(t, last) : last);
}

static bool same_rate(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* The tool's bucket (created on first use; under mu), configured from the tool's settings when
   they are first seen or differ from the ones it was configured from (a rediscovery changed a
   tag): that is when they are checked, so the verdict costs nothing per call. NULL: out of
   memory; tb->b.rate <= 0: the tool has no limit of its own. */
static tool_bucket *tool_bucket_for(rl *r, const char *tool, double rate, int64_t burst, wu_logq *q)
{
    tool_bucket *tb = (tool_bucket *)wk_get(&r->tools, tool, sizeof(tool_bucket), NULL);
    if (!tb)
        return NULL;
    if (!tb->seen || !same_rate(tb->seen_rate, rate) || tb->seen_burst != burst) {
        tb->seen = true;
        tb->seen_rate = rate;
        tb->seen_burst = burst;
        double use = rate;
        if (!(rate >= 0) || !isfinite(rate)) { /* an override or a tag may be < 0, a conf float inf */
            use = r->base_rate;
            wu_log_add(q, r->host, LMCP_LOG_WARN,
                       "tool %s: rate %g is not a rate (calls per second, 0: no limit): ignored, the plugin's rate "
                       "%g applies",
                       tool, rate, use);
        }
        bucket_config(&tb->b, use, burst);
    }
    return tb;
}

/* Whether a tool's bucket is the same as a new one (a wk_sweep callback; ctx: the time now, a
   double): nothing booked and tat not after now (a later call is then placed exactly as in a
   full bucket), and no waiting call that will take its booking back. */
static bool tool_bucket_at_rest(const wk_node *node, void *ctx)
{
    const tool_bucket *tb = (const tool_bucket *)node;
    return tb->users == 0 && tb->b.n == 0 && tb->b.tat <= *(const double *)ctx;
}

static int rl_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    double grate = h->setting_double(ctx->settings, "global_rate");
    double rate = h->setting_double(ctx->settings, "rate");
    if (!(grate >= 0) || !(rate >= 0) || !isfinite(grate) || !isfinite(rate)) {
        snprintf(err, errlen,
                 "global_rate and rate must be 0 (no limit) or a positive, finite number of calls per second");
        return LMCP_ERR;
    }
    rl *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    r->host = h;
    r->inst = ctx->instance;
    r->base_rate = rate;
    if (!wk_init(&r->tools, 16)) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    bucket_config(&r->global, grate, h->setting_int(ctx->settings, "global_burst"));
    pthread_mutex_init(&r->mu, NULL);
    *state = r;
    return LMCP_OK;
}

static void free_tool_bucket(wk_node *node, void *ctx)
{
    (void)ctx;
    bucket_free(&((tool_bucket *)node)->b);
    free(node);
}

static void rl_destroy(void *state)
{
    rl *r = state;
    if (!r)
        return;
    if (r->host->log_enabled(LMCP_LOG_DEBUG))
        r->host->log(r->inst, LMCP_LOG_DEBUG,
                     "rate-limit statistics: %" PRIu64 " admitted (%" PRIu64 " after a wait), %" PRIu64
                     " refused, %" PRIu64 " cancelled while waiting; %zu tool buckets kept, %" PRIu64
                     " dropped at rest",
                     r->admitted, r->delayed, r->refused, r->cancelled, r->tools.n, r->dropped);
    wk_destroy(&r->tools, free_tool_bucket, NULL);
    bucket_free(&r->global);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static int rl_invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    rl *r = state;
    const lmcp_host *h = r->host;
    double rate = h->setting_double(s, "rate");
    int64_t burst = h->setting_int(s, "burst");
    int64_t max_wait_ms = h->setting_duration_ms(s, "max_wait");
    const char *tool = h->call_tool(call);
    if (r->global.rate <= 0 && rate == 0)
        return h->call_next(next, call, res); /* nothing limits this tool */

    wu_logq q; /* written after the lock is released */
    q.n = 0;   /* (only n: the lines are not zeroed, a call pays nothing for them) */
    int64_t now_us = h->monotonic_us();
    double now = (double)now_us;
    pthread_mutex_lock(&r->mu);
    bucket *g = r->global.rate > 0 ? &r->global : NULL;
    if (rate != 0 && wk_sweep_due(&r->tools)) /* before the lookup: this tool's bucket at rest may go too */
        r->dropped += wk_sweep(&r->tools, tool_bucket_at_rest, free_tool_bucket, &now);
    tool_bucket *tb = rate != 0 ? tool_bucket_for(r, tool, rate, burst, &q) : NULL;
    bucket *t = tb && tb->b.rate > 0 ? &tb->b : NULL;
    if (g)
        bucket_fold(g, now);
    if (t)
        bucket_fold(t, now);
    double fire = earliest_both(g, t, now);
    double wait_us = fire - now; /* >= 0, possibly huge: compared before any conversion */
    if (wait_us < EPS_US) {
        wait_us = 0;
        fire = now;
    }
    int64_t ms = 0; /* the sleep, whole milliseconds (call_sleep_ms) */
    bool too_long = wait_us > (double)max_wait_ms * 1000.0;
    bool past_deadline = false;
    if (!too_long && wait_us > 0) {
        ms = (int64_t)ceil(wait_us / 1000.0);
        int64_t dl = h->call_deadline_us(call);
        past_deadline = dl && now_us + ms * 1000 >= dl;
    }
    if (too_long || past_deadline) {
        /* which bucket holds it back: the one that alone would make it wait longer */
        double tw = t ? bucket_earliest(t, now) : now;
        double gw = g ? bucket_earliest(g, now) : now;
        bool by_tool = t && (!g || tw >= gw);
        const bucket *b = by_tool ? t : g;
        double b_rate = b->rate, b_burst = b->burst; /* read under the lock */
        r->refused++;
        pthread_mutex_unlock(&r->mu);
        wu_log_flush(&q, h, r->inst);
        double retry = ceil(wait_us / 1000.0);
        int64_t retry_ms = retry >= (double)RETRY_MAX_MS ? RETRY_MAX_MS : retry < 1 ? 1 : (int64_t)retry;
        h->result_set_error(res, LMCP_OUTCOME_REFUSED, "RateLimited",
                            "rate limit: %s %s allows %g call%s per second (burst %g); %s; retry in %" PRId64 " ms",
                            by_tool ? "tool" : "the server", by_tool ? tool : "(all tools)", b_rate,
                            b_rate == 1.0 ? "" : "s", b_burst,
                            past_deadline ? "waiting for a slot would exceed the call's timeout"
                                          : "too many calls are waiting",
                            retry_ms);
        h->result_set_retry_after_ms(res, retry_ms);
        if (h->log_enabled(LMCP_LOG_DEBUG))
            h->log(r->inst, LMCP_LOG_DEBUG, "tool %s refused: a slot is %" PRId64 " ms away (max_wait %" PRId64 " ms)",
                   tool, retry_ms, max_wait_ms);
        return LMCP_OK;
    }
    /* book the slot in each bucket, for the time the call fires */
    if (g)
        bucket_book(g, fire, now);
    if (t)
        bucket_book(t, fire, now);
    r->admitted++;
    if (wait_us > 0)
        r->delayed++;
    if (wait_us > 0 && t)
        tb->users++; /* its booking may be taken back after the wait: tb stays linked until then */
    pthread_mutex_unlock(&r->mu);
    wu_log_flush(&q, h, r->inst);

    if (wait_us > 0) {
        if (h->log_enabled(LMCP_LOG_DEBUG))
            h->log(r->inst, LMCP_LOG_DEBUG, "tool %s delayed %" PRId64 " ms by the rate limit", tool, ms);
        int rc = h->call_sleep_ms(call, ms);
        if (rc == LMCP_OK && t) {
            pthread_mutex_lock(&r->mu);
            tb->users--;
            pthread_mutex_unlock(&r->mu);
        }
        if (rc != LMCP_OK) {
            /* the slot was not used: take the bookings back, so the next call that fits there
               gets it (the tool's bucket is still linked: users) */
            pthread_mutex_lock(&r->mu);
            if (g)
                bucket_unbook(g, fire);
            if (t) {
                bucket_unbook(t, fire);
                tb->users--;
            }
            r->cancelled++;
            pthread_mutex_unlock(&r->mu);
            if (rc == LMCP_CANCELLED) {
                h->result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled",
                                    "the call was cancelled while it waited for the rate limit");
                return LMCP_CANCELLED;
            }
            h->result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                                "the call ran out of time while it waited for the rate limit of tool %s", tool);
            return LMCP_TIMEOUT;
        }
    }
    return h->call_next(next, call, res);
}

static const lmcp_wrapper_ops rl_ops = {.invoke = rl_invoke};

/* read once, in init: an overrides block cannot change them (the host refuses it) */
static const char *const rl_instance_settings[] = {"global_rate", "global_burst", NULL};

static const lmcp_plugin_def rl_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "rate-limit",
    .version = "1.0",
    .description = "token buckets (global and per tool): delay calls over the rate up to max_wait, then refuse "
                   "with a retry hint",
    .settings = rl_settings,
    .init = rl_init,
    .destroy = rl_destroy,
    .wrapper = &rl_ops,
    .instance_settings = rl_instance_settings,
};

LMCP_PLUGIN_DEFINE(rl_plugin)
