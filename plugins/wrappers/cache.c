/* wrapper plugin "cache": answers a repeated call from memory instead of invoking Lambda.
 *
 * Only tools marked cacheable are cached: the setting `cacheable` (conf, a per-tool override
 * block, or the function tag lambda-mcp:cacheable = "true"). The key is the SHA-256 of the tool
 * name, the function (ARN or name), the qualifier and the SHA-256 of the canonical JSON of the
 * arguments (keys sorted at every level, no whitespace — the digest the host computes once per
 * call, host->call_arguments_sha256, shared with the audit wrapper), so the order of keys in
 * the client's arguments does not matter. When the host's SHA-256 fails (it gives "" then, not 64
 * hex characters) there is no key to tell calls apart: the call is not cached — it goes to
 * Lambda — and a warning says so once. Only OK outcomes are stored — a function error,
 * throttling, a timeout, a refusal never is. A hit answers without calling the rest of the
 * chain and is marked from_cache.
 *
 * Memory is bounded by `max_entries` and `max_bytes` (least recently used entries are evicted
 * first) and by `max_entry_size` (bigger payloads are not stored; neither is a payload that
 * alone exceeds max_bytes — it would evict everything else). Entries expire after `ttl` (per
 * tool: override block or the tag lambda-mcp:cache-ttl).
 *
 * Concurrent identical misses (single_flight = true, the default): the first caller (the
 * leader) invokes Lambda, the others wait for its outcome and are answered from it (counted as
 * "coalesced"): from the entry it stored (the flight holds a reference to it, no second copy),
 * or — when the payload may not be stored — from one copy made only if calls are waiting.
 * A waiting caller still honours its own cancellation and deadline (it re-checks them every
 * 50 ms while it waits). When the leader does not end with an OK outcome (errors are not
 * shared), the waiting callers look the key up again: the first to get the lock leads a new
 * attempt and the others wait for that one — a failure never lets all of them invoke at once.
 *
 * Thread safety: one mutex guards the table, the LRU list, the in-flight list, the counters and
 * the reference counts of entries and flights. A result is copied outside the lock: a hit
 * holds a reference to its entry (an evicted entry lives on until its last reader is done), a
 * waiter holds a reference to its flight, whose result never changes once it is done. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lambda-mcp/plugin.h>

#include "common/keytable.h"
#include "common/wutil.h"

#define WAIT_SLICE_MS 50

static const lmcp_setting_def cache_settings[] = {
    {"cacheable", LMCP_SETTING_BOOL, "false", NULL, "lambda-mcp:cacheable", 0, 0,
     "cache this tool's results (per tool: an overrides block or the function tag)"},
    {"ttl", LMCP_SETTING_DURATION, "60s", NULL, "lambda-mcp:cache-ttl", 0, 2592000000LL,
     "how long a result stays valid (per tool: an overrides block or the function tag; 0: not cached)"},
    {"max_entries", LMCP_SETTING_INT, "1000", NULL, NULL, 1, 10000000,
     "entries kept at most, for all tools together (least recently used evicted first)"},
    {"max_bytes", LMCP_SETTING_INT, "67108864", NULL, NULL, 1024, 68719476736LL,
     "payload bytes kept at most, for all tools together (least recently used evicted first)"},
    {"max_entry_size", LMCP_SETTING_INT, "1048576", NULL, NULL, 0, 68719476736LL,
     "payloads bigger than this many bytes are not cached"},
    {"single_flight", LMCP_SETTING_BOOL, "true", NULL, NULL, 0, 0,
     "concurrent identical misses wait for the first one instead of each invoking Lambda"},
    LMCP_SETTINGS_END,
};

typedef struct entry {
    wk_node node;                 /* in the table: hash (key_hash) and key (-> key below) */
    struct entry *lprev, *lnext;  /* LRU list, most recently used first */
    char key[65];
    int64_t expires_us;           /* monotonic */
    size_t bytes;                 /* accounted against max_bytes */
    int refs;                     /* 1 for the table while linked, +1 per reader (under mu) */
    lmcp_result *res;             /* a copy of the OK result, from_cache set */
} entry;

typedef struct flight {
    struct flight *next;
    uint64_t hash;
    char key[65];
    int refs;                     /* leader + waiters (under the cache mutex) */
    bool done;                    /* stored and res never change once done is set */
    struct entry *stored;         /* the leader's OK result as stored (a reference), or NULL */
    lmcp_result *res;             /* the leader's OK result when it was not stored, or NULL */
    pthread_cond_t cv;
} flight;

typedef struct cache {
    const lmcp_host *host;
    const lmcp_instance *inst;
    size_t max_entries;
    size_t max_bytes;
    bool single_flight;

    pthread_mutex_t mu;
    wk_table table;               /* the entries by key; table.n: entries linked */
    size_t bytes;
    entry *lru_head, *lru_tail;
    flight *flights;

    uint64_t hits, misses, coalesced, stores, evictions, expirations, uncacheable;
    atomic_bool warned_digest;    /* the host's SHA-256 failed: said once */
} cache;

/* ------------------------------------------------------------------ entries */

static uint64_t key_hash(const char *hex)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        char c = hex[i];
        unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 0;
        h = (h << 4) | v;
    }
    return h;
}

/* Under mu. */
static void entry_unref(cache *c, entry *e)
{
    if (--e->refs == 0) {
        c->host->result_free(e->res);
        free(e);
    }
}

static void lru_unlink(cache *c, entry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        c->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        c->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_push_front(cache *c, entry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

/* Remove e from the table and the LRU list and drop the table's reference (under mu). */
static void entry_remove(cache *c, entry *e)
{
    wk_remove(&c->table, &e->node);
    lru_unlink(c, e);
    c->bytes -= e->bytes;
    entry_unref(c, e);
}

static entry *entry_find(cache *c, uint64_t hash, const char *key)
{
    return (entry *)wk_find(&c->table, hash, key); /* the node is the entry's first member */
}

/* ------------------------------------------------------------------ life cycle */

static int cache_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    cache *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    c->host = h;
    c->inst = ctx->instance;
    c->max_entries = (size_t)h->setting_int(ctx->settings, "max_entries");
    c->max_bytes = (size_t)h->setting_int(ctx->settings, "max_bytes");
    c->single_flight = h->setting_bool(ctx->settings, "single_flight");
    if (!wk_init(&c->table, 64)) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    pthread_mutex_init(&c->mu, NULL);
    *state = c;
    return LMCP_OK;
}

static void cache_destroy(void *state)
{
    cache *c = state;
    if (!c)
        return;
    /* no call is running any more: no reader holds an entry, no flight is open */
    while (c->lru_head)
        entry_remove(c, c->lru_head);
    if (c->host->log_enabled(LMCP_LOG_DEBUG))
        c->host->log(c->inst, LMCP_LOG_DEBUG,
                     "cache statistics: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " coalesced, %" PRIu64
                     " stored, %" PRIu64 " evicted, %" PRIu64 " expired, %" PRIu64 " not storable",
                     c->hits, c->misses, c->coalesced, c->stores, c->evictions, c->expirations, c->uncacheable);
    wk_destroy(&c->table, NULL, NULL); /* empty by now */
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ------------------------------------------------------------------ the call */

/* A digest as the host gives it: 64 lowercase hex characters. The host's SHA-256 gives "" when
   libcrypto fails; such a "digest" would be the same for every call. */
static bool is_digest(const char *d)
{
    for (int i = 0; i < 64; i++)
        if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
            return false; /* also at a '\0' before the 64th */
    return d[64] == '\0';
}

/* The call is not cached: no key to tell it from other calls. Said once per instance. */
static void digest_failed(cache *c, const char *tool)
{
    if (!atomic_exchange(&c->warned_digest, true))
        c->host->log(c->inst, LMCP_LOG_WARN,
                     "the host's SHA-256 failed (tool %s): calls are not cached while it does, they go to Lambda",
                     tool ? tool : "?");
}

/* The key: sha256 over tool \0 function \0 qualifier \0 the arguments' digest (the hex SHA-256
   of their canonical JSON, computed once per call by the host and shared with audit). false: no
   key (out of memory, or the host's SHA-256 failed): the call is not cached. */
static bool make_key(cache *c, const lmcp_call *call, char out[65])
{
    const lmcp_host *h = c->host;
    char dbuf[65];
    const char *digest = wu_arguments_sha256(h, call, dbuf);
    if (!digest || !is_digest(digest)) {
        digest_failed(c, h->call_tool(call));
        return false;
    }
    const char *tool = h->call_tool(call);
    const char *fn = h->call_arn(call) ? h->call_arn(call) : h->call_function(call);
    const char *q = h->call_qualifier(call);
    const char *parts[4] = {tool ? tool : "", fn ? fn : "", q ? q : "", digest};
    size_t lens[4], total = 0;
    for (int i = 0; i < 4; i++) {
        lens[i] = strlen(parts[i]);
        total += lens[i] + 1;
    }
    char small[512];
    char *buf = total <= sizeof small ? small : malloc(total);
    if (!buf)
        return false;
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(buf + off, parts[i], lens[i]);
        off += lens[i];
        buf[off++] = '\0';
    }
    out[0] = '\0';
    h->sha256_hex(buf, total - 1, out);
    if (buf != small)
        free(buf);
    if (!is_digest(out)) {
        digest_failed(c, tool);
        return false;
    }
    return true;
}

static flight *flight_find(cache *c, uint64_t hash, const char *key)
{
    for (flight *f = c->flights; f; f = f->next)
        if (f->hash == hash && memcmp(f->key, key, 64) == 0)
            return f;
    return NULL;
}

static void flight_unref(cache *c, flight *f)
{
    if (--f->refs > 0)
        return;
    if (f->stored)
        entry_unref(c, f->stored);
    if (f->res)
        c->host->result_free(f->res);
    pthread_cond_destroy(&f->cv);
    free(f);
}

static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

typedef enum { WAIT_SHARED, WAIT_ALONE, WAIT_CANCELLED, WAIT_TIMEOUT } wait_rc;

/* A follower waits for the leader's flight (mu held; returns with mu held). WAIT_SHARED: *shared
   is the leader's result, which never changes and lives as long as the caller's reference to f:
   the caller copies it after releasing mu. */
static wait_rc wait_flight(cache *c, flight *f, lmcp_call *call, const lmcp_result **shared)
{
    const lmcp_host *h = c->host;
    while (!f->done) {
        if (h->call_cancelled(call))
            return WAIT_CANCELLED;
        int64_t slice = WAIT_SLICE_MS;
        int64_t dl = h->call_deadline_us(call);
        if (dl) {
            int64_t left = (dl - h->monotonic_us()) / 1000;
            if (left <= 0)
                return WAIT_TIMEOUT;
            if (left < slice)
                slice = left;
        }
        struct timespec ts = deadline_in(slice);
        pthread_cond_timedwait(&f->cv, &c->mu, &ts);
    }
    *shared = f->stored ? f->stored->res : f->res;
    return *shared ? WAIT_SHARED : WAIT_ALONE;
}

static void log_event(cache *c, const char *what, const char *tool, const char *key)
{
    const lmcp_host *h = c->host;
    if (!h->log_enabled(LMCP_LOG_DEBUG))
        return;
    pthread_mutex_lock(&c->mu);
    uint64_t hits = c->hits, misses = c->misses, co = c->coalesced, ev = c->evictions, ex = c->expirations;
    size_t n = c->table.n, bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
    h->log(c->inst, LMCP_LOG_DEBUG,
           "%s tool=%s key=%.12s (hits %" PRIu64 ", misses %" PRIu64 ", coalesced %" PRIu64 ", evictions %" PRIu64
           ", expired %" PRIu64 "; %zu entries, %zu bytes)",
           what, tool, key, hits, misses, co, ev, ex, n, bytes);
}

/* A new entry holding a copy of an OK result (mu not held: the copy is the expensive part). */
static entry *entry_new(cache *c, uint64_t hash, const char *key, const lmcp_result *res, size_t plen, int64_t ttl_ms)
{
    const lmcp_host *h = c->host;
    entry *e = calloc(1, sizeof *e);
    lmcp_result *copy = h->result_new();
    if (!e || !copy) {
        free(e);
        if (copy)
            h->result_free(copy);
        return NULL;
    }
    h->result_copy(copy, res);
    h->result_set_from_cache(copy, true);
    e->res = copy;
    memcpy(e->key, key, 65);
    e->node.hash = hash;
    e->node.key = e->key;
    e->bytes = plen + sizeof *e;
    e->expires_us = h->monotonic_us() + ttl_ms * 1000;
    e->refs = 1;
    return e;
}

/* Link a new entry (replacing an older one of the key) and evict least recently used entries
   until the limits hold again (under mu). e->bytes <= max_bytes, so e itself stays. Returns how
   many were evicted. */
static size_t entry_link(cache *c, entry *e)
{
    entry *old = entry_find(c, e->node.hash, e->key);
    if (old)
        entry_remove(c, old);
    wk_insert(&c->table, &e->node);
    lru_push_front(c, e);
    c->bytes += e->bytes;
    c->stores++;
    size_t evicted = 0;
    while ((c->table.n > c->max_entries || c->bytes > c->max_bytes) && c->lru_tail && c->lru_tail != e) {
        entry_remove(c, c->lru_tail);
        c->evictions++;
        evicted++;
    }
    return evicted;
}

/* The end of a lead (mu not held), the one place a result is stored: store an OK result that may
   be kept, then close the flight f (NULL: none) and hand the result to the calls waiting on it —
   the stored entry itself (a reference), or, when it was not stored but calls are waiting, one
   copy for all of them. Without an OK result the waiting calls find no answer and look again. */
static void lead_finish(cache *c, const lmcp_settings *s, flight *f, uint64_t hash, const char *key,
                        const lmcp_result *res, int64_t ttl_ms, const char *tool)
{
    const lmcp_host *h = c->host;
    bool ok = h->result_outcome(res) == LMCP_OUTCOME_OK;
    size_t plen = 0;
    h->result_payload(res, &plen);
    const char *too_big = NULL; /* the limit an OK payload exceeds */
    if (ok && plen > (size_t)h->setting_int(s, "max_entry_size"))
        too_big = "max_entry_size";
    else if (ok && plen + sizeof(entry) > c->max_bytes)
        too_big = "max_bytes"; /* storing it would evict everything else, and still not fit */
    entry *e = ok && !too_big ? entry_new(c, hash, key, res, plen, ttl_ms) : NULL;

    size_t evicted = 0;
    lmcp_result *copy = NULL;
    pthread_mutex_lock(&c->mu);
    if (e)
        evicted = entry_link(c, e);
    else if (ok)
        c->uncacheable++;
    if (f && ok && !e && f->refs > 1) {
        /* not stored, and calls are waiting: one copy for all of them, made outside the lock
           (calls that join the flight meanwhile get it too) */
        pthread_mutex_unlock(&c->mu);
        copy = h->result_new();
        if (copy)
            h->result_copy(copy, res);
        pthread_mutex_lock(&c->mu);
    }
    if (f) {
        for (flight **pp = &c->flights; *pp; pp = &(*pp)->next)
            if (*pp == f) {
                *pp = f->next;
                break;
            }
        if (e) {
            e->refs++; /* the flight's reference: the waiters read e->res, even if e is evicted */
            f->stored = e;
        }
        f->res = copy;
        f->done = true;
        pthread_cond_broadcast(&f->cv);
        flight_unref(c, f);
    }
    pthread_mutex_unlock(&c->mu);
    if (e) {
        log_event(c, "stored", tool, key);
        if (evicted && h->log_enabled(LMCP_LOG_DEBUG))
            h->log(c->inst, LMCP_LOG_DEBUG, "evicted %zu least recently used entr%s to make room", evicted,
                   evicted == 1 ? "y" : "ies");
    } else if (too_big && h->log_enabled(LMCP_LOG_DEBUG)) {
        h->log(c->inst, LMCP_LOG_DEBUG, "not stored tool=%s key=%.12s: the payload (%zu bytes) exceeds %s", tool, key,
               plen, too_big);
    }
}

static int cache_invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    cache *c = state;
    const lmcp_host *h = c->host;
    if (!h->setting_bool(s, "cacheable"))
        return h->call_next(next, call, res);
    int64_t ttl_ms = h->setting_duration_ms(s, "ttl");
    if (ttl_ms <= 0)
        return h->call_next(next, call, res);
    const char *tool = h->call_tool(call);
    char key[65];
    if (!make_key(c, call, key))
        return h->call_next(next, call, res);
    uint64_t hash = key_hash(key);
    bool again = false; /* the leader we waited for failed: this is a second look */

    pthread_mutex_lock(&c->mu);
    for (;;) {
        /* 1. a valid entry answers */
        entry *e = entry_find(c, hash, key);
        if (e && h->monotonic_us() >= e->expires_us) {
            entry_remove(c, e);
            c->expirations++;
            e = NULL;
        }
        if (e) {
            e->refs++;
            lru_unlink(c, e);
            lru_push_front(c, e);
            c->hits++;
            pthread_mutex_unlock(&c->mu);
            h->result_copy(res, e->res); /* the entry's result is never written after entry_new() */
            h->result_set_from_cache(res, true);
            pthread_mutex_lock(&c->mu);
            entry_unref(c, e);
            pthread_mutex_unlock(&c->mu);
            log_event(c, "hit", tool, key);
            return LMCP_OK;
        }

        /* 2. an identical call in flight: wait for it */
        flight *f = c->single_flight ? flight_find(c, hash, key) : NULL;
        if (!f)
            break;
        f->refs++;
        const lmcp_result *shared = NULL;
        wait_rc w = wait_flight(c, f, call, &shared);
        if (w == WAIT_ALONE) {
            /* the leader did not end well (errors are not shared): look again with mu held, so
               the first waiter here leads the next attempt and the others wait for it */
            flight_unref(c, f);
            again = true;
            continue;
        }
        if (w == WAIT_SHARED) {
            c->coalesced++;
            pthread_mutex_unlock(&c->mu);
            h->result_copy(res, shared); /* immutable once done; our reference to f keeps it */
            h->result_set_from_cache(res, true);
            pthread_mutex_lock(&c->mu);
            flight_unref(c, f);
            pthread_mutex_unlock(&c->mu);
            log_event(c, "coalesced with an identical call in flight:", tool, key);
            return LMCP_OK;
        }
        c->misses++;
        flight_unref(c, f);
        pthread_mutex_unlock(&c->mu);
        if (w == WAIT_CANCELLED) {
            h->result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled",
                                "the call was cancelled while it waited for an identical call in flight");
            return LMCP_CANCELLED;
        }
        h->result_set_error(res, LMCP_OUTCOME_TIMEOUT, "Timeout",
                            "the call ran out of time while it waited for an identical call to %s in flight", tool);
        return LMCP_TIMEOUT;
    }

    /* 3. a miss: we lead */
    c->misses++;
    flight *f = NULL;
    if (c->single_flight) {
        f = calloc(1, sizeof *f);
        if (f) {
            f->hash = hash;
            memcpy(f->key, key, 65);
            f->refs = 1;
            pthread_condattr_t ca;
            pthread_condattr_init(&ca);
            pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
            pthread_cond_init(&f->cv, &ca);
            pthread_condattr_destroy(&ca);
            f->next = c->flights;
            c->flights = f;
        }
    }
    pthread_mutex_unlock(&c->mu);
    log_event(c, again ? "miss (the identical call in flight failed; this call leads the next attempt)" : "miss", tool,
              key);

    int rc = h->call_next(next, call, res);
    lead_finish(c, s, f, hash, key, res, ttl_ms, tool);
    return rc;
}

static const lmcp_wrapper_ops cache_ops = {.invoke = cache_invoke};

/* read once, in init: an overrides block cannot change them (the host refuses it) */
static const char *const cache_instance_settings[] = {"max_entries", "max_bytes", "single_flight", NULL};

static const lmcp_plugin_def cache_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "cache",
    .version = "1.0",
    .description = "answer repeated calls of cacheable tools from memory (TTL, LRU, only successful results)",
    .settings = cache_settings,
    .init = cache_init,
    .destroy = cache_destroy,
    .wrapper = &cache_ops,
    .instance_settings = cache_instance_settings,
};

LMCP_PLUGIN_DEFINE(cache_plugin)
