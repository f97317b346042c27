/* wrapper plugin "rate-limit": token buckets in front of Lambda, one for the whole server
 * (global_rate, global_burst) and one per tool (rate, burst: per tool through an overrides
 * block or the function tags lambda-mcp:rate-limit and lambda-mcp:rate-burst).
 *
 * A bucket holds at most `burst` tokens and gains `rate` tokens per second; a call takes one
 * token from each bucket that applies. When a bucket is empty the call reserves its token
 * anyway (the bucket goes below zero) and sleeps until the token it reserved has been earned —
 * through host->call_sleep_ms, so a cancellation or the call's deadline ends the wait. The
 * reservations are made under one mutex in arrival order, so waiting callers are served first
 * come, first served, and nobody polls: each sleeps once, exactly as long as its own reservation
 * needs. A call that would have to wait longer than `max_wait` (or past its own deadline)
 * reserves nothing and is refused at once (outcome REFUSED) with the time after which a retry
 * would be admitted, both as result_set_retry_after_ms and in the message. A cancelled or
 * timed-out waiter gives its tokens back.
 *
 * rate 0 means "no limit" for that bucket. Settings are resolved per tool by the host; the
 * global bucket uses the instance's own values (global_* in an overrides block are ignored).
 * The instance's rates are checked at start (0 or a positive, finite number: a conf float may be
 * inf); a tool's own rate (an overrides block or the tag) is checked once, when the tool's bucket
 * first sees it (the verdict is kept with the bucket, so a call costs no validation): a negative
 * or infinite one is ignored with one warning and the instance's rate applies. Log lines are
 * formatted under the lock and written after it is released. The wait is computed in double and
 * compared with max_wait before it is converted: a tiny rate (1e-14 per second) is a huge wait —
 * refused, the retry hint clamped to a day — not an int64 overflow. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

#include "common/keytable.h"
#include "common/wutil.h"

#define RETRY_MAX_MS 86400000LL /* a retry hint never says more than a day */

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

typedef struct bucket {
    double rate;      /* tokens per second; <= 0: unlimited */
    double burst;     /* capacity */
    double tokens;    /* may be negative: tokens reserved ahead of time */
    int64_t last_us;  /* monotonic time of the last refill */
} bucket;

typedef struct tool_bucket {
    wk_node node;     /* in rl.tools, keyed by the tool name */
    bucket b;         /* b.rate <= 0: the tool has no bucket of its own */
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
    wk_table tools;   /* tool_bucket by tool name; never freed before destroy */
    uint64_t admitted, delayed, refused, cancelled;
} rl;

static double burst_of(double rate, int64_t burst)
{
    if (burst > 0)
        return (double)burst;
    return rate >= 1.0 ? floor(rate) : 1.0;
}

static void bucket_config(bucket *b, double rate, int64_t burst, int64_t now)
{
    double nb = burst_of(rate, burst);
    if (b->last_us == 0) {          /* new: full */
        b->tokens = nb;
        b->last_us = now;
    }
    b->rate = rate;
    b->burst = nb;
    if (b->tokens > nb)
        b->tokens = nb;
}

static void bucket_refill(bucket *b, int64_t now)
{
    if (b->rate <= 0)
        return;
    if (now > b->last_us) {
        b->tokens += (double)(now - b->last_us) * b->rate / 1e6;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_us = now;
    }
}

/* Microseconds until one more token is available (0: now). A double: for a tiny rate it is
   huge (1e-14 per second: 1e20 us), and it is compared with max_wait before any conversion. */
static double bucket_wait_us(const bucket *b)
{
    if (b->rate <= 0 || b->tokens >= 1.0)
        return 0;
    return ceil((1.0 - b->tokens) * 1e6 / b->rate);
}

static bool same_rate(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* The tool's bucket (created on first use; under mu), configured from the tool's settings when
   they are first seen or differ from the ones it was configured from (a rediscovery changed a
   tag): that is when they are checked, so the verdict costs nothing per call. NULL: the tool
   has no limit of its own (or out of memory). */
static bucket *tool_bucket_for(rl *r, const char *tool, double rate, int64_t burst, int64_t now, wu_logq *q)
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
        bucket_config(&tb->b, use, burst, now);
    }
    return tb->b.rate > 0 ? &tb->b : NULL;
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
    bucket_config(&r->global, grate, h->setting_int(ctx->settings, "global_burst"), h->monotonic_us());
    pthread_mutex_init(&r->mu, NULL);
    *state = r;
    return LMCP_OK;
}

static void rl_destroy(void *state)
{
    rl *r = state;
    if (!r)
        return;
    if (r->host->log_enabled(LMCP_LOG_DEBUG))
        r->host->log(r->inst, LMCP_LOG_DEBUG,
                     "rate-limit statistics: %" PRIu64 " admitted (%" PRIu64 " after a wait), %" PRIu64
                     " refused, %" PRIu64 " cancelled while waiting",
                     r->admitted, r->delayed, r->refused, r->cancelled);
    wk_destroy(&r->tools, NULL, NULL); /* tool_buckets are single allocations (wk_get) */
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void give_back(bucket *b)
{
    if (b && b->rate > 0) {
        b->tokens += 1.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
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
    int64_t now = h->monotonic_us();
    pthread_mutex_lock(&r->mu);
    bucket *g = r->global.rate > 0 ? &r->global : NULL;
    bucket *t = rate != 0 ? tool_bucket_for(r, tool, rate, burst, now, &q) : NULL;
    double wg = 0, wt = 0;
    if (g) {
        bucket_refill(g, now);
        wg = bucket_wait_us(g);
    }
    if (t) {
        bucket_refill(t, now);
        wt = bucket_wait_us(t);
    }
    double wait_us = wg > wt ? wg : wt;
    double limit_us = (double)max_wait_ms * 1000.0;
    int64_t dl = h->call_deadline_us(call);
    bool past_deadline = dl && (double)now + wait_us >= (double)dl;
    if (wait_us > 0 && (wait_us > limit_us || past_deadline)) {
        bool by_tool = wt >= wg;
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
                            past_deadline && wait_us <= limit_us ? "waiting for a slot would exceed the call's timeout"
                                                                 : "too many calls are waiting",
                            retry_ms);
        h->result_set_retry_after_ms(res, retry_ms);
        if (h->log_enabled(LMCP_LOG_DEBUG))
            h->log(r->inst, LMCP_LOG_DEBUG, "tool %s refused: a slot is %" PRId64 " ms away (max_wait %" PRId64 " ms)",
                   tool, retry_ms, max_wait_ms);
        return LMCP_OK;
    }
    /* reserve: one token from each bucket, possibly ahead of time */
    if (g)
        g->tokens -= 1.0;
    if (t)
        t->tokens -= 1.0;
    r->admitted++;
    if (wait_us > 0)
        r->delayed++;
    pthread_mutex_unlock(&r->mu);
    wu_log_flush(&q, h, r->inst);

    if (wait_us > 0) {
        int64_t ms = (int64_t)ceil(wait_us / 1000.0); /* <= max_wait: fits */
        if (h->log_enabled(LMCP_LOG_DEBUG))
            h->log(r->inst, LMCP_LOG_DEBUG, "tool %s delayed %" PRId64 " ms by the rate limit", tool, ms);
        int rc = h->call_sleep_ms(call, ms);
        if (rc != LMCP_OK) {
            /* the tokens were not used: give them back. A per-tool bucket is found again by
               name (the pointer stays valid: buckets are never freed before destroy). */
            pthread_mutex_lock(&r->mu);
            give_back(g);
            give_back(t);
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
};

LMCP_PLUGIN_DEFINE(rl_plugin)
