#include "config.h"
#include "credentials/chain.h"

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
 * timeouts included). */
#define NEGATIVE_CACHE_MS 5000

/* Set while this thread walks a chain: a plugin asking for the server's own credentials from
 * inside resolve() would otherwise wait for itself forever. */
static _Thread_local int t_resolving;

struct creds_chain {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    plugin_instance **sources;
    size_t n;
    lmcp_credentials *cur;      /* cached credentials, NULL until the first success */
    int64_t obtained_ms;        /* when cur was obtained */
    bool refreshing;            /* one caller is resolving */
    int64_t last_failure_ms;    /* to pace refresh attempts after a failure */
    char *negative;             /* the last "nothing found" answer, while no credentials are valid */
    int64_t negative_until_ms;
};

creds_chain *creds_chain_new(plugin_instance **sources, size_t n)
{
    creds_chain *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->sources = sources;
    c->n = n;
    return c;
}

void creds_chain_free(creds_chain *c)
{
    if (!c)
        return;
    credentials_free(c->cur);
    free(c->negative);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
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

static bool usable(const creds_chain *c, int64_t now)
{
    /* a little margin: a request signed a second before expiry may arrive after it */
    return c->cur && (!c->cur->expiration_ms || now < c->cur->expiration_ms - 1000);
}

int creds_chain_get(void *arg, lmcp_credentials **out, char *err, size_t errlen)
{
    creds_chain *c = arg;
    if (t_resolving) {
        snprintf(err, errlen, "a credentials plugin asked for the server's own credentials while they were being "
                              "resolved (a loop in the chain configuration)");
        return LMCP_ERR;
    }
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int64_t now = clock_wall_ms();
        bool ok = usable(c, now);
        bool due = !ok || now >= refresh_at(c);
        /* after a failed refresh with valid credentials, retry at most every 10 s */
        if (ok && due && c->last_failure_ms && now - c->last_failure_ms < 10000)
            due = false;
        if (ok && (!due || c->refreshing)) {
            *out = credentials_dup(c->cur);
            pthread_mutex_unlock(&c->mu);
            return LMCP_OK;
        }
        if (c->refreshing) { /* nothing valid to hand out: wait for the refresher */
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        if (!ok && c->negative && now < c->negative_until_ms) {
            snprintf(err, errlen, "%s", c->negative);
            pthread_mutex_unlock(&c->mu);
            return LMCP_ERR;
        }
        c->refreshing = true;
        pthread_mutex_unlock(&c->mu);
        lmcp_credentials *fresh = NULL;
        char e[2048];
        t_resolving = 1;
        int rc = resolve_chain(c, &fresh, e, sizeof e);
        t_resolving = 0;
        pthread_mutex_lock(&c->mu);
        c->refreshing = false;
        pthread_cond_broadcast(&c->cv);
        if (rc == LMCP_OK) {
            if (c->cur && c->cur->expiration_ms)
                LOG_INFO("credentials", "refreshed credentials from %s%s", fresh->source,
                         fresh->expiration_ms ? "" : " (no expiry)");
            credentials_free(c->cur);
            c->cur = fresh;
            c->obtained_ms = clock_wall_ms();
            c->last_failure_ms = 0;
            free(c->negative);
            c->negative = NULL;
            *out = credentials_dup(c->cur);
            pthread_mutex_unlock(&c->mu);
            return LMCP_OK;
        }
        if (usable(c, clock_wall_ms())) {
            c->last_failure_ms = clock_wall_ms();
            LOG_WARN("credentials", "refresh failed, still using the current credentials until they expire in %llds: %s",
                     (long long)((c->cur->expiration_ms - clock_wall_ms()) / 1000), e);
            *out = credentials_dup(c->cur);
            pthread_mutex_unlock(&c->mu);
            return LMCP_OK;
        }
        if (c->cur) {
            /* say that the credentials in use ran out, not just that none were found */
            char when[32] = "?";
            time_t t = (time_t)(c->cur->expiration_ms / 1000);
            struct tm tm;
            if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(err, errlen, "the credentials from %s %s at %s and could not be refreshed: %s",
                     c->cur->source ? c->cur->source : "?",
                     c->cur->expiration_ms > clock_wall_ms() ? "expire" : "expired", when, e);
        } else {
            snprintf(err, errlen, "%s", e);
        }
        free(c->negative);
        c->negative = xstrdup(err);
        c->negative_until_ms = clock_wall_ms() + NEGATIVE_CACHE_MS;
        pthread_mutex_unlock(&c->mu);
        return LMCP_ERR;
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
