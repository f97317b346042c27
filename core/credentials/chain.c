#include "config.h"
#include "credentials/chain.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials/credentials.h"
#include "plugin.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define REFRESH_WINDOW_MS (5 * 60 * 1000)
/* After the chain found nothing, the same answer is given for this long without walking it again:
 * with no credentials anywhere, every request would otherwise pay for every source (IMDS
 * timeouts included). Credentials that had already expired when they were fetched count as
 * nothing found. */
#define NEGATIVE_CACHE_MS 5000
/* after a failed refresh while the current credentials are still valid, the next attempt */
#define REFRESH_RETRY_MS 10000
/* credentials are not handed out in their last second: a request signed just before expiry may
 * arrive after it */
#define EXPIRY_MARGIN_MS 1000
/* how often a caller waiting for credentials looks at its cancel flag */
#define CANCEL_POLL_MS 20

/* Set on the resolver thread, and while a thread walks a chain: a plugin asking for the server's
 * own credentials from inside resolve() would otherwise wait for itself forever. */
static _Thread_local int t_resolving;

/* Every walk of the chain runs on one resolver thread per chain (started when first needed), so
 * that no call ever does it itself: a call holding valid credentials never waits for a refresh,
 * and a call without them waits only as long as its deadline and cancel flag allow. */
struct creds_chain {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;     /* a walk finished (waits on CLOCK_MONOTONIC) */
    pthread_cond_t work_cv;     /* the resolver has a walk to do, or must stop */
    plugin_instance **sources;
    size_t n;
    lmcp_credentials *cur;      /* cached credentials, NULL until the first success */
    int64_t obtained_ms;        /* when cur was obtained */
    bool refreshing;            /* a walk is asked for or running on the resolver thread */
    bool thread_started;
    bool stopping;
    pthread_t thread;
    int64_t last_failure_ms;    /* to pace refresh attempts after a failure */
    char *negative;             /* the last "nothing found" answer, while no credentials are valid */
    int64_t negative_until_ms;
    bool warned_expired;        /* "expired when fetched" logged at warn level since the last success */
};

creds_chain *creds_chain_new(plugin_instance **sources, size_t n)
{
    creds_chain *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&c->work_cv, NULL);
    c->sources = sources;
    c->n = n;
    return c;
}

void creds_chain_free(creds_chain *c)
{
    if (!c)
        return;
    /* a walk in progress is waited for: it uses the sources (and their AWS client), which the
       caller frees next. It is bounded by the plugins' own timeouts. */
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_broadcast(&c->work_cv);
    bool started = c->thread_started;
    pthread_mutex_unlock(&c->mu);
    if (started)
        pthread_join(c->thread, NULL);
    credentials_free(c->cur);
    free(c->negative);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->done_cv);
    pthread_cond_destroy(&c->work_cv);
    free(c);
}

bool creds_chain_busy(creds_chain *c)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool busy = c->refreshing;
    pthread_mutex_unlock(&c->mu);
    return busy;
}

int creds_resolve_one(plugin_instance *inst, lmcp_credentials **out, char *err, size_t errlen)
{
    lmcp_credentials *cr = credentials_new();
    char perr[512] = "";
    int rc = inst->def->credentials->resolve(inst->state, cr, perr, sizeof perr);
    if (rc == LMCP_OK && !credentials_valid(cr)) {
        rc = LMCP_ERR;
        snprintf(perr, sizeof perr, "returned success without an access key id and secret");
    }
    if (rc == LMCP_OK) {
        credentials_set_source(cr, inst->name);
        *out = cr;
        return LMCP_OK;
    }
    credentials_free(cr);
    if (rc == LMCP_NOT_FOUND)
        snprintf(err, errlen, "%s: %s", inst->name, *perr ? perr : "not configured");
    else
        snprintf(err, errlen, "%s: %s", inst->name, *perr ? perr : "failed");
    return rc == LMCP_NOT_FOUND ? LMCP_NOT_FOUND : LMCP_ERR;
}

/* Walk the chain. Called without the lock held. */
static int resolve_chain(creds_chain *c, lmcp_credentials **out, char *err, size_t errlen)
{
    buf why = BUF_INIT;
    for (size_t i = 0; i < c->n; i++) {
        char e[600];
        int rc = creds_resolve_one(c->sources[i], out, e, sizeof e);
        if (rc == LMCP_OK) {
            if (log_enabled(LMCP_LOG_DEBUG)) {
                const char *k = (*out)->access_key_id;
                size_t kl = strlen(k);
                LOG_DEBUG("credentials", "credentials from %s (access key ****%s)", c->sources[i]->name,
                          kl > 4 ? k + kl - 4 : "");
            }
            buf_free(&why);
            return LMCP_OK;
        }
        if (rc == LMCP_ERR)
            LOG_WARN("credentials", "%s", e);
        else
            LOG_DEBUG("credentials", "%s", e);
        buf_appendf(&why, "%s%s", why.len ? "; " : "", e);
    }
    snprintf(err, errlen, "no AWS credentials found (%s)",
             c->n ? why.data : "no credentials plugins are configured");
    buf_free(&why);
    return LMCP_ERR;
}

static int64_t refresh_at(const creds_chain *c)
{
    const lmcp_credentials *cr = c->cur;
    if (!cr || !cr->expiration_ms)
        return INT64_MAX;
    int64_t life = cr->expiration_ms - c->obtained_ms;
    int64_t window = REFRESH_WINDOW_MS;
    if (life / 2 < window)
        window = life / 2;
    return cr->expiration_ms - window;
}

static bool fresh_enough(const lmcp_credentials *cr, int64_t now)
{
    return !cr->expiration_ms || now < cr->expiration_ms - EXPIRY_MARGIN_MS;
}

static bool usable(const creds_chain *c, int64_t now) { return c->cur && fresh_enough(c->cur, now); }

static void format_utc(int64_t ms, char when[32])
{
    snprintf(when, 32, "?");
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The outcome of a walk, under the lock. */
static void settle(creds_chain *c, int rc, lmcp_credentials *fresh, const char *e)
{
    int64_t now = clock_wall_ms();
    char stale[700];
    if (rc == LMCP_OK && !fresh_enough(fresh, now)) {
        /* handed out, they would only earn an ExpiredToken from AWS; cached, every call would
           walk the chain again: a failed walk, retried after NEGATIVE_CACHE_MS */
        char when[32];
        format_utc(fresh->expiration_ms, when);
        snprintf(stale, sizeof stale,
                 "%s returned credentials that %s at %s, too late to sign a request (is this host's clock, or the "
                 "source's, wrong?)",
                 fresh->source ? fresh->source : "?", fresh->expiration_ms <= now ? "had already expired" : "expire",
                 when);
        if (!c->warned_expired)
            LOG_WARN("credentials", "%s; treated as no credentials, tried again in %d s", stale,
                     NEGATIVE_CACHE_MS / 1000);
        else
            LOG_DEBUG("credentials", "%s", stale);
        c->warned_expired = true;
        credentials_free(fresh);
        fresh = NULL;
        rc = LMCP_ERR;
        e = stale;
    }
    if (rc == LMCP_OK) {
        if (c->cur && c->cur->expiration_ms)
            LOG_INFO("credentials", "refreshed credentials from %s%s", fresh->source,
                     fresh->expiration_ms ? "" : " (no expiry)");
        credentials_free(c->cur);
        c->cur = fresh;
        c->obtained_ms = now;
        c->last_failure_ms = 0;
        c->warned_expired = false;
        free(c->negative);
        c->negative = NULL;
        return;
    }
    if (usable(c, now)) {
        c->last_failure_ms = now;
        LOG_WARN("credentials", "refresh failed, still using the current credentials until they expire in %llds: %s",
                 (long long)((c->cur->expiration_ms - now) / 1000), e);
        return;
    }
    char err[3000];
    if (c->cur) {
        /* say that the credentials in use ran out, not just that none were found */
        char when[32];
        format_utc(c->cur->expiration_ms, when);
        snprintf(err, sizeof err, "the credentials from %s %s at %s and could not be refreshed: %s",
                 c->cur->source ? c->cur->source : "?", c->cur->expiration_ms > now ? "expire" : "expired", when, e);
    } else {
        snprintf(err, sizeof err, "%s", e);
    }
    free(c->negative);
    c->negative = xstrdup(err);
    c->negative_until_ms = now + NEGATIVE_CACHE_MS;
}

static void *resolver_main(void *arg)
{
    creds_chain *c = arg;
    t_resolving = 1;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->refreshing && !c->stopping)
            pthread_cond_wait(&c->work_cv, &c->mu);
        if (c->stopping)
            break;
        pthread_mutex_unlock(&c->mu);
        lmcp_credentials *fresh = NULL;
        char e[2048];
        int rc = resolve_chain(c, &fresh, e, sizeof e);
        pthread_mutex_lock(&c->mu);
        settle(c, rc, fresh, e);
        c->refreshing = false;
        pthread_cond_broadcast(&c->done_cv);
    }
    c->refreshing = false;
    pthread_cond_broadcast(&c->done_cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Ask the resolver thread for a walk (under the lock). 0, or an errno value when the thread
 * cannot be started. */
static int start_walk(creds_chain *c)
{
    if (!c->thread_started) {
        int e = pthread_create(&c->thread, NULL, resolver_main, c);
        if (e)
            return e;
        c->thread_started = true;
    }
    c->refreshing = true;
    pthread_cond_signal(&c->work_cv);
    return 0;
}

/* One wait for the walk in progress to finish (under the lock; may wake early). */
static int wait_walk(creds_chain *c, int64_t deadline_us, const volatile int *cancel)
{
    if (cancel && __atomic_load_n(cancel, __ATOMIC_SEQ_CST))
        return LMCP_CANCELLED;
    int64_t now = clock_mono_us();
    if (deadline_us && now >= deadline_us)
        return LMCP_TIMEOUT;
    if (!deadline_us && !cancel) {
        pthread_cond_wait(&c->done_cv, &c->mu);
        return LMCP_OK;
    }
    int64_t until = deadline_us ? deadline_us : INT64_MAX;
    if (cancel && until - now > (int64_t)CANCEL_POLL_MS * 1000)
        until = now + (int64_t)CANCEL_POLL_MS * 1000;
    struct timespec ts = {(time_t)(until / 1000000), (long)(until % 1000000) * 1000L};
    pthread_cond_timedwait(&c->done_cv, &c->mu, &ts);
    return LMCP_OK;
}

int creds_chain_get(void *chain, lmcp_credentials **out, char *err, size_t errlen)
{
    return creds_chain_get_until(chain, 0, NULL, out, err, errlen);
}

int creds_chain_get_until(void *arg, int64_t deadline_us, const volatile int *cancel, lmcp_credentials **out,
                          char *err, size_t errlen)
{
    creds_chain *c = arg;
    if (t_resolving) {
        snprintf(err, errlen, "a credentials plugin asked for the server's own credentials while they were being "
                              "resolved (a loop in the chain configuration)");
        return LMCP_ERR;
    }
    int64_t wait_from = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int64_t now = clock_wall_ms();
        if (usable(c, now)) {
            /* valid: handed out at once; when they are due for a refresh, the resolver does it
               in the background (after a failed one, at most every REFRESH_RETRY_MS) */
            bool due = now >= refresh_at(c) && !(c->last_failure_ms && now - c->last_failure_ms < REFRESH_RETRY_MS);
            if (due && !c->refreshing && !c->stopping) {
                int e = start_walk(c);
                if (e)
                    LOG_WARN("credentials", "cannot start the credentials thread to refresh them: %s", strerror(e));
            }
            *out = credentials_dup(c->cur);
            pthread_mutex_unlock(&c->mu);
            return LMCP_OK;
        }
        if (!c->refreshing) {
            if (c->negative && now < c->negative_until_ms) {
                snprintf(err, errlen, "%s", c->negative);
                pthread_mutex_unlock(&c->mu);
                return LMCP_ERR;
            }
            int e = c->stopping ? ECANCELED : start_walk(c);
            if (e) {
                snprintf(err, errlen, "cannot start the credentials thread: %s", strerror(e));
                pthread_mutex_unlock(&c->mu);
                return LMCP_ERR;
            }
        }
        /* no valid credentials: wait for the walk, as long as the caller's deadline allows */
        if (!wait_from)
            wait_from = clock_mono_us();
        int wrc = wait_walk(c, deadline_us, cancel);
        if (wrc != LMCP_OK) {
            long long waited = (long long)((clock_mono_us() - wait_from) / 1000);
            if (wrc == LMCP_CANCELLED)
                snprintf(err, errlen, "cancelled after waiting %lld ms for the credentials plugins", waited);
            else
                snprintf(err, errlen, "timed out after waiting %lld ms: the credentials plugins have not answered "
                                      "yet (%s; they go on, and later calls get what they find)",
                         waited, c->cur ? "the cached credentials expired" : "no credentials were fetched yet");
            pthread_mutex_unlock(&c->mu);
            return wrc;
        }
    }
}

int creds_chain_region(creds_chain *c, char *out, size_t len, const char **source)
{
    for (size_t i = 0; i < c->n; i++) {
        plugin_instance *inst = c->sources[i];
        if (inst->def->credentials->region && inst->def->credentials->region(inst->state, out, len) == LMCP_OK &&
            out[0]) {
            if (source)
                *source = inst->name;
            return LMCP_OK;
        }
    }
    return LMCP_NOT_FOUND;
}
