#include "config.h"
#include "discovery/pipeline.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "aws/lambda.h"
#include "json.h"
#include "tools/naming.h"
#include "tools/schema.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/str.h"

#define COMP "discovery"

/* ------------------------------------------------------------------ data */

struct lmcp_function {
    char *name;
    char *arn;
    char *description;
    /* FunctionConfiguration's scalar members packed as "key\0value\0...key\0value\0\0" (what
     * fn_config can answer), or NULL for vendor functions. Not the json-c object: that costs
     * ~10 KB per function, 20 MB for an account of 2,000. */
    char *config;
    long timeout_s;            /* the configuration's Timeout, kept once config is released */
    hdrs tags;
    bool tags_known;
    char *tool_name;
    char *title;
    char *qualifier;
    char *desc_override;
    char *schema_text;         /* the input schema, compact JSON (text: a json-c tree is ~10x) */
    json_object *annotations;
    bool rejected;
    atomic_bool in_batch;      /* selected into a batch (a selector may hand the same function
                                  to run_select twice) */
    bool kept;                 /* survived its batch: a tool candidate for the snapshot */
};

typedef struct batch {
    lmcp_function **fns;
    size_t n, cap;
    char *source;
    struct batch *next;
} batch;

typedef struct tag_entry {
    char *arn;
    hdrs tags;
} tag_entry;

typedef struct run_state {
    generation *g;
    uint64_t serial;           /* run_serial: 1, 2, ... in the order runs start */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* every function allocated by the run (ownership) */
    lmcp_function **all;
    size_t n_all, cap_all;
    /* batch queue, consumed by the batch worker */
    batch *q_head, *q_tail;
    bool q_closed;
    /* survivors of filters and enrichers, in batch order */
    lmcp_function **out;
    size_t n_out, cap_out;
    /* failure */
    bool failed;
    char *fail_msg;
    /* tag index (GetResources) */
    int tags_state;            /* 0 not started, 1 loading, 2 ready, -1 failed, -2 denied */
    tag_entry *tag_index;
    size_t n_tag_index;
    pthread_t tag_thread;
    bool tag_thread_started;
    bool listtags_fallback_logged;
    bool listtags_denied;      /* ListTags refused in this run: the tagging API for the next batches */
    /* the account listing used when GetFunction is not permitted (run_fetch fallback) */
    bool getfunction_denied;   /* an earlier run was refused GetFunction for some references:
                                  those are not asked again in this one (g->gf_refusals) */
    bool acct_by_listing;      /* list_account (the matchers' listing) fills acct for the fallback */
    int acct_state;            /* 0 not listed, 1 listing, 2 listed, -1 failed */
    lmcp_function **acct;
    size_t n_acct;
    char *acct_err;
    discovery_stats st;
} run_state;

struct lmcp_discovery_run {
    run_state *rs;
    batch *b;
    const char *plugin;        /* instance name of the hook being run */
};

/* ------------------------------------------------------------------ pagination guard */

/* A paginated listing ends when the service stops sending a marker. One that sends a marker it
 * sent before (a service bug, a proxy replaying answers) would never end, and would fill memory
 * with the same page: every marker seen is remembered (a 64-bit hash of it), and a listing of
 * more than MAX_PAGES pages is refused as well. */
#define MAX_PAGES 100000

typedef struct page_guard {
    uint64_t *slot; /* open addressing; 0: empty */
    size_t cap, n, pages;
} page_guard;

static uint64_t marker_hash(const char *m)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)m; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h ? h : 1;
}

/* Count a page and its next marker (NULL or "": the last page). NULL when the listing may go on;
 * otherwise why it must stop (a static string). */
static const char *page_guard_next(page_guard *g, const char *marker)
{
    if (++g->pages > MAX_PAGES)
        return "more than 100000 pages: the listing would not end";
    if (!marker || !*marker)
        return NULL;
    if (2 * (g->n + 1) > g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        uint64_t *slot = xcalloc(cap, sizeof *slot);
        for (size_t i = 0; i < g->cap; i++)
            if (g->slot[i])
                for (size_t k = g->slot[i] & (cap - 1);; k = (k + 1) & (cap - 1))
                    if (!slot[k]) {
                        slot[k] = g->slot[i];
                        break;
                    }
        free(g->slot);
        g->slot = slot;
        g->cap = cap;
    }
    uint64_t h = marker_hash(marker);
    for (size_t k = h & (g->cap - 1);; k = (k + 1) & (g->cap - 1)) {
        if (g->slot[k] == h)
            return "the service sent the marker of an earlier page again: the listing would not end";
        if (!g->slot[k]) {
            g->slot[k] = h;
            g->n++;
            return NULL;
        }
    }
}

static void page_guard_free(page_guard *g) { free(g->slot); }

/* a GetFunction refusal is remembered this long; then GetFunction is tried again */
#define GETFUNCTION_RETRY_US (3600LL * 1000000LL)

void getfunction_refusals_init(getfunction_refusals *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

void getfunction_refusals_free(getfunction_refusals *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->refs[i]);
    free(r->refs);
    free(r->at_us);
    free(r->account);
    pthread_mutex_destroy(&r->mu);
}

/* Forget the refusals older than GETFUNCTION_RETRY_US; true when some remain. */
static bool refusals_prune(getfunction_refusals *r)
{
    int64_t now = clock_mono_us();
    pthread_mutex_lock(&r->mu);
    size_t o = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (now - r->at_us[i] < GETFUNCTION_RETRY_US) {
            r->refs[o] = r->refs[i];
            r->at_us[o++] = r->at_us[i];
        } else {
            free(r->refs[i]);
        }
    }
    r->n = o;
    bool any = o > 0;
    pthread_mutex_unlock(&r->mu);
    return any;
}

static size_t refusal_find_locked(const getfunction_refusals *r, const char *ref)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->refs[i], ref) == 0)
            return i;
    return SIZE_MAX;
}

static bool refusal_fresh(getfunction_refusals *r, const char *ref)
{
    pthread_mutex_lock(&r->mu);
    size_t i = refusal_find_locked(r, ref);
    bool fresh = i != SIZE_MAX && clock_mono_us() - r->at_us[i] < GETFUNCTION_RETRY_US;
    pthread_mutex_unlock(&r->mu);
    return fresh;
}

/* denied: remember (or renew) the refusal; else forget it (GetFunction answered again) */
static void refusal_note(getfunction_refusals *r, const char *ref, bool denied)
{
    pthread_mutex_lock(&r->mu);
    size_t i = refusal_find_locked(r, ref);
    if (denied) {
        int64_t now = clock_mono_us();
        if (i == SIZE_MAX) {
            r->refs = xrealloc(r->refs, (r->n + 1) * sizeof *r->refs);
            r->at_us = xrealloc(r->at_us, (r->n + 1) * sizeof *r->at_us);
            i = r->n++;
            r->refs[i] = xstrdup(ref);
        }
        r->at_us[i] = now;
    } else if (i != SIZE_MAX) {
        free(r->refs[i]);
        r->refs[i] = r->refs[r->n - 1];
        r->at_us[i] = r->at_us[r->n - 1];
        r->n--;
    }
    pthread_mutex_unlock(&r->mu);
}

static atomic_size_t g_default_concurrency = 16;
static atomic_uint_fast64_t g_run_serial; /* the last run's serial */

void discovery_set_default_concurrency(size_t n) { atomic_store(&g_default_concurrency, n ? n : 16); }

/* The discovery.concurrency of the run this thread works for (0: no run). A run sets it on every
 * thread that runs its plugins' hooks (the caller of discovery_run, the batch worker, the
 * selector threads) and host_parallel_for passes it on to the threads it starts, so a hook's
 * parallel_for(limit 0) uses its own generation's value: after a reload the new conf's first run
 * (which starts before the generation becomes current) and an older run still going do not use
 * each other's setting. The global default serves calls made outside any run. */
static _Thread_local size_t t_run_concurrency;

static size_t run_concurrency_enter(const run_state *rs)
{
    size_t old = t_run_concurrency;
    t_run_concurrency = rs->g->discovery_concurrency ? rs->g->discovery_concurrency : 16;
    return old;
}

/* ------------------------------------------------------------------ parallel_for */

typedef struct pf_ctx {
    size_t run_concurrency; /* the caller's t_run_concurrency, for the threads started */
    atomic_size_t next;
    size_t n;
    lmcp_parallel_fn fn;
    void *ctx;
    atomic_int rc;
} pf_ctx;

static void *pf_worker(void *arg)
{
    pf_ctx *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        int rc = p->fn(p->ctx, i);
        if (rc != LMCP_OK) {
            int expected = LMCP_OK;
            atomic_compare_exchange_strong(&p->rc, &expected, rc);
        }
    }
    return NULL;
}

static void *pf_thread(void *arg)
{
    pf_ctx *p = arg;
    t_run_concurrency = p->run_concurrency;
    return pf_worker(p);
}

int host_parallel_for(size_t n, size_t limit, lmcp_parallel_fn fn, void *ctx)
{
    if (n == 0)
        return LMCP_OK;
    if (limit == 0)
        limit = t_run_concurrency ? t_run_concurrency : atomic_load(&g_default_concurrency);
    size_t nt = n < limit ? n : limit;
    pf_ctx p;
    p.run_concurrency = t_run_concurrency;
    atomic_init(&p.next, 0);
    p.n = n;
    p.fn = fn;
    p.ctx = ctx;
    atomic_init(&p.rc, LMCP_OK);
    if (nt <= 1) {
        pf_worker(&p);
        return atomic_load(&p.rc);
    }
    pthread_t *th = xcalloc(nt, sizeof *th);
    size_t started = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (size_t i = 1; i < nt; i++) {
        if (pthread_create(&th[started], &attr, pf_thread, &p) == 0)
            started++;
    }
    pthread_attr_destroy(&attr);
    pf_worker(&p); /* this thread works too */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    return atomic_load(&p.rc);
}

/* ------------------------------------------------------------------ functions */

static lmcp_function *fn_alloc(run_state *rs)
{
    lmcp_function *f = xcalloc(1, sizeof *f);
    pthread_mutex_lock(&rs->mu);
    if (rs->n_all == rs->cap_all) {
        rs->cap_all = rs->cap_all ? rs->cap_all * 2 : 256;
        rs->all = xrealloc(rs->all, rs->cap_all * sizeof *rs->all);
    }
    rs->all[rs->n_all++] = f;
    pthread_mutex_unlock(&rs->mu);
    return f;
}

static void fn_free(lmcp_function *f)
{
    free(f->name);
    free(f->arn);
    free(f->description);
    free(f->config);
    hdrs_free(&f->tags);
    free(f->tool_name);
    free(f->title);
    free(f->qualifier);
    free(f->desc_override);
    free(f->schema_text);
    if (f->annotations)
        json_object_put(f->annotations);
    free(f);
}

/* A function that will not become a tool (not selected, or rejected by a filter) keeps only its
 * name and ARN (account_lookup may still compare them): on a big account most functions are
 * dropped, and their configurations, tags and schemas would otherwise live until the run ends. */
static void fn_drop_data(lmcp_function *f)
{
    free(f->description);
    f->description = NULL;
    free(f->config);
    f->config = NULL;
    hdrs_free(&f->tags);
    free(f->desc_override);
    f->desc_override = NULL;
    free(f->schema_text);
    f->schema_text = NULL;
    if (f->annotations)
        json_object_put(f->annotations);
    f->annotations = NULL;
}

/* The scalar members of a FunctionConfiguration, packed (see lmcp_function.config). */
static char *config_pack(json_object *cfg)
{
    buf b = BUF_INIT;
    json_object_object_foreach(cfg, k, v)
    {
        if (!*k || !v || json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
            continue;
        const char *text = json_object_get_string(v);
        buf_append(&b, k, strlen(k) + 1);
        buf_append(&b, text, strlen(text) + 1);
    }
    buf_append(&b, "", 1);
    size_t n = b.len + 1;
    return xrealloc(buf_steal(&b), n); /* no slack: there are thousands of these */
}

/* A function from a FunctionConfiguration object (copies what it needs). */
static lmcp_function *fn_from_config(run_state *rs, json_object *cfg)
{
    const char *name = json_get_str(cfg, "FunctionName");
    if (!name)
        return NULL;
    lmcp_function *f = fn_alloc(rs);
    f->name = xstrdup(name);
    f->arn = xstrdup(json_get_str(cfg, "FunctionArn"));
    f->description = xstrdup(json_get_str(cfg, "Description"));
    f->config = config_pack(cfg);
    json_object *t = NULL;
    if (json_object_object_get_ex(cfg, "Timeout", &t) &&
        (json_object_is_type(t, json_type_int) || json_object_is_type(t, json_type_double)))
        f->timeout_s = (long)json_object_get_int64(t);
    return f;
}

static void tags_from_object(lmcp_function *f, json_object *tags)
{
    hdrs_free(&f->tags);
    if (tags && json_object_is_type(tags, json_type_object)) {
        json_object_object_foreach(tags, k, v)
        {
            if (json_object_is_type(v, json_type_string))
                hdrs_add(&f->tags, k, json_object_get_string(v));
        }
    }
    f->tags_known = true;
}

const char *fn_name(const lmcp_function *fn) { return fn->name; }
const char *fn_arn(const lmcp_function *fn) { return fn->arn; }
const char *fn_description(const lmcp_function *fn)
{
    return fn->desc_override ? fn->desc_override : fn->description;
}

const char *fn_config(const lmcp_function *fn, const char *field)
{
    for (const char *p = fn->config; p && *p;) {
        const char *key = p;
        p += strlen(p) + 1;
        const char *value = p;
        p += strlen(p) + 1;
        if (strcmp(key, field) == 0)
            return value;
    }
    return NULL;
}

bool fn_has_tags(const lmcp_function *fn) { return fn->tags_known; }
const char *fn_tag(const lmcp_function *fn, const char *key) { return hdrs_get_exact(&fn->tags, key); }

size_t fn_tags(const lmcp_function *fn, const char *const **keys, const char *const **values)
{
    if (keys)
        *keys = (const char *const *)fn->tags.names;
    if (values)
        *values = (const char *const *)fn->tags.values;
    return fn->tags.n;
}

void fn_set_tags(lmcp_function *fn, size_t n, const char *const *keys, const char *const *values)
{
    hdrs_free(&fn->tags);
    for (size_t i = 0; i < n; i++)
        hdrs_add(&fn->tags, keys[i], values[i]);
    fn->tags_known = true;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

void fn_set_description(lmcp_function *fn, const char *d) { set_str(&fn->desc_override, d); }
void fn_set_tool_name(lmcp_function *fn, const char *n) { set_str(&fn->tool_name, n); }
void fn_set_title(lmcp_function *fn, const char *t) { set_str(&fn->title, t); }
void fn_set_qualifier(lmcp_function *fn, const char *q) { set_str(&fn->qualifier, q); }

int fn_set_input_schema(lmcp_function *fn, const lmcp_json *schema, char *err, size_t errlen)
{
    json_object *s = JO(schema);
    if (!s || !json_object_is_type(s, json_type_object)) {
        snprintf(err, errlen, "an input schema must be a JSON object");
        return LMCP_ERR;
    }
    json_object *t = NULL;
    if (!json_object_object_get_ex(s, "type", &t) || !json_object_is_type(t, json_type_string) ||
        strcmp(json_object_get_string(t), "object") != 0) {
        snprintf(err, errlen, "an input schema must have \"type\": \"object\" at its root (MCP tool arguments are objects)");
        return LMCP_ERR;
    }
    char verr[512];
    schema_validator *v = schema_validator_new(s, verr, sizeof verr);
    if (!v) {
        snprintf(err, errlen, "%s", verr);
        return LMCP_ERR;
    }
    const char *text = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!fn->schema_text || strcmp(fn->schema_text, text) != 0) {
        /* what the validator will not enforce, said where the function is known: once per
           function and schema (an enricher setting the same schema again does not repeat it) */
        const char *warnings = schema_validator_warnings(v);
        if (warnings)
            LOG_WARN(COMP, "function %s: parts of its input schema are not enforced: %s", fn->name, warnings);
        free(fn->schema_text);
        fn->schema_text = xstrdup(text);
    }
    schema_validator_free(v);
    return LMCP_OK;
}

void fn_set_annotation(lmcp_function *fn, const char *hint, bool value)
{
    if (!fn->annotations)
        fn->annotations = json_object_new_object();
    json_object_object_add(fn->annotations, hint, json_object_new_boolean(value));
}

/* ------------------------------------------------------------------ batches */

static batch *batch_new(const char *source)
{
    batch *b = xcalloc(1, sizeof *b);
    b->source = xstrdup(source);
    return b;
}

static void batch_add(batch *b, lmcp_function *f)
{
    if (atomic_exchange(&f->in_batch, true))
        return;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->fns = xrealloc(b->fns, b->cap * sizeof *b->fns);
    }
    b->fns[b->n++] = f;
}

static void batch_free(batch *b)
{
    if (!b)
        return;
    free(b->fns);
    free(b->source);
    free(b);
}

static void enqueue(run_state *rs, batch *b)
{
    pthread_mutex_lock(&rs->mu);
    rs->st.candidates += b->n;
    if (rs->q_tail)
        rs->q_tail->next = b;
    else
        rs->q_head = b;
    rs->q_tail = b;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}

static void fail(run_state *rs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(run_state *rs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf b = BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&rs->mu);
    if (!rs->failed) {
        rs->failed = true;
        rs->fail_msg = buf_steal(&b);
    }
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    buf_free(&b);
}

static bool has_failed(run_state *rs)
{
    pthread_mutex_lock(&rs->mu);
    bool f = rs->failed;
    pthread_mutex_unlock(&rs->mu);
    return f;
}

/* ------------------------------------------------------------------ host API: runs */


/* A FUNCTION_LIST reference, split: "NAME[:QUALIFIER]", "ACCOUNT:function:NAME[:QUALIFIER]" or
 * "arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]" (what Invoke and GetFunction
 * accept). The members point into buf; absent ones are NULL. */
typedef struct fn_ref {
    char buf[256];
    const char *partition, *region, *account, *name, *qualifier;
} fn_ref;

static bool fn_ref_parse(const char *s, fn_ref *r)
{
    memset(r, 0, sizeof *r);
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof r->buf)
        return false;
    memcpy(r->buf, s, len + 1);
    char *part[9];
    size_t n = 0;
    for (char *p = r->buf;; p++) {
        if (n == 9)
            return false;
        part[n++] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p = '\0';
    }
    for (size_t i = 0; i < n; i++)
        if (!*part[i])
            return false;
    if (strcmp(part[0], "arn") == 0) {
        if ((n != 7 && n != 8) || strcmp(part[2], "lambda") != 0 || strcmp(part[5], "function") != 0)
            return false;
        r->partition = part[1];
        r->region = part[3];
        r->account = part[4];
        r->name = part[6];
        r->qualifier = n == 8 ? part[7] : NULL;
    } else if (n >= 3 && strcmp(part[1], "function") == 0) {
        if (n > 4)
            return false;
        r->account = part[0];
        r->name = part[2];
        r->qualifier = n == 4 ? part[3] : NULL;
    } else {
        if (n > 2)
            return false;
        r->name = part[0];
        r->qualifier = n == 2 ? part[1] : NULL;
    }
    return true;
}

static size_t config_size(const char *packed)
{
    const char *p = packed;
    while (*p) {
        p += strlen(p) + 1; /* key */
        p += strlen(p) + 1; /* value */
    }
    return (size_t)(p - packed) + 1;
}

/* A function known by its ARN only: another account's function that this role may invoke (a
 * resource policy) but not read. No description, configuration or tags; Invoke takes the ARN. */
static lmcp_function *fn_from_ref(run_state *rs, const fn_ref *r, const char *ref, bool just_refused)
{
    if (just_refused)
        LOG_WARN(COMP, "GetFunction is not permitted for %s (another account's function?): it becomes a tool from its "
                       "ARN alone, without description, configuration or tags", ref);
    lmcp_function *f = fn_alloc(rs);
    f->name = xstrdup(r->name);
    f->arn = xstrdup(ref);
    return f;
}

/* GetFunction is not permitted for name_or_arn (a role made for the upstream server only needs
 * ListFunctions; another account's function is invocable through a resource policy but not
 * readable): list the account once per run and find the function there; a reference to
 * another account's function is taken from the ARN alone. */
static int account_lookup(run_state *rs, const char *name_or_arn, bool just_refused, lmcp_function **out, char *err,
                          size_t errlen)
{
    getfunction_refusals *gr = &rs->g->gf_refusals;
    fn_ref want, have;
    if (!fn_ref_parse(name_or_arn, &want)) {
        snprintf(err, errlen, "is not a function name or ARN");
        return LMCP_NOT_FOUND;
    }
    if (want.region && rs->g->region && strcmp(want.region, rs->g->region) != 0) {
        snprintf(err, errlen, "is in region %s, and this server calls %s", want.region, rs->g->region);
        return LMCP_NOT_FOUND;
    }
    char mine[64] = ""; /* this account's id, once a listing has shown it */
    if (want.account) {
        pthread_mutex_lock(&gr->mu);
        snprintf(mine, sizeof mine, "%s", gr->account ? gr->account : "");
        pthread_mutex_unlock(&gr->mu);
        if (*mine && strcmp(mine, want.account) != 0) {
            /* another account: the listing cannot have it */
            *out = fn_from_ref(rs, &want, name_or_arn, just_refused);
            return LMCP_OK;
        }
    }
    pthread_mutex_lock(&rs->mu);
    while (rs->acct_state == 1)
        pthread_cond_wait(&rs->cv, &rs->mu);
    if (rs->acct_state == 0) {
        rs->acct_state = 1;
        pthread_mutex_unlock(&rs->mu);
        LOG_INFO(COMP, "GetFunction is not permitted: listing the account to find the listed functions");
        lmcp_function **v = NULL;
        size_t n = 0, cap = 0;
        char *marker = NULL;
        char lerr[1024] = "";
        int state = 2;
        page_guard pg = {0};
        for (;;) {
            json_object *page = NULL;
            if (lambda_list_functions_page(rs->g->aws, marker, 50, &page, lerr, sizeof lerr) != LMCP_OK) {
                state = -1;
                break;
            }
            json_object *fns = NULL;
            json_object_object_get_ex(page, "Functions", &fns);
            size_t m = fns && json_object_is_type(fns, json_type_array) ? json_object_array_length(fns) : 0;
            pthread_mutex_lock(&rs->mu);
            rs->st.pages++;
            rs->st.listed += m;
            pthread_mutex_unlock(&rs->mu);
            for (size_t i = 0; i < m; i++) {
                lmcp_function *f = fn_from_config(rs, json_object_array_get_idx(fns, i));
                if (!f)
                    continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    v = xrealloc(v, cap * sizeof *v);
                }
                v[n++] = f;
            }
            free(marker);
            marker = xstrdup(json_get_str(page, "NextMarker"));
            json_object_put(page);
            const char *stop = page_guard_next(&pg, marker);
            if (stop) {
                snprintf(lerr, sizeof lerr, "ListFunctions: %s", stop);
                state = -1;
                break;
            }
            if (!marker || !*marker)
                break;
        }
        free(marker);
        page_guard_free(&pg);
        pthread_mutex_lock(&rs->mu);
        rs->acct = v;
        rs->n_acct = n;
        rs->acct_state = state;
        rs->acct_err = state < 0 ? xstrdup(lerr) : NULL;
        pthread_cond_broadcast(&rs->cv);
    }
    int rc = LMCP_NOT_FOUND;
    lmcp_function *found = NULL;
    if (rs->acct_state < 0 && !want.account) {
        snprintf(err, errlen, "GetFunction is not permitted and ListFunctions failed: %s", rs->acct_err);
        rc = LMCP_ERR;
    } else if (rs->acct_state > 0) {
        /* this account's id, from the first ARN of the listing (they all share it) */
        for (size_t i = 0; i < rs->n_acct && !*mine; i++)
            if (rs->acct[i]->arn && fn_ref_parse(rs->acct[i]->arn, &have) && have.account)
                snprintf(mine, sizeof mine, "%s", have.account);
        /* the region was checked above, and the listing is of one account: the name decides,
           and a reference's account or partition must be the listing's */
        for (size_t i = 0; i < rs->n_acct && !found; i++) {
            lmcp_function *f = rs->acct[i];
            if (strcmp(f->name, want.name) != 0 || !f->arn || !fn_ref_parse(f->arn, &have))
                continue;
            if ((!want.account || (have.account && strcmp(want.account, have.account) == 0)) &&
                (!want.partition || (have.partition && strcmp(want.partition, have.partition) == 0)))
                found = f;
        }
    }
    pthread_mutex_unlock(&rs->mu);
    if (*mine) {
        pthread_mutex_lock(&gr->mu);
        if (!gr->account)
            gr->account = xstrdup(mine);
        pthread_mutex_unlock(&gr->mu);
    }
    /* the listing's functions stay as listed (never handed out: a batch's filters and enrichers
       change or drop what they are given), so the answer is a copy, made outside rs->mu
       (fn_alloc takes it). A version or alias: the listing has the unqualified function only,
       and the qualifier cannot be checked without GetFunction (a call to one that does not
       exist gets Lambda's ResourceNotFoundException). */
    if (found) {
        lmcp_function *c = fn_alloc(rs);
        c->name = xstrdup(found->name);
        c->arn = want.qualifier ? xasprintf("%s:%s", found->arn, want.qualifier) : xstrdup(found->arn);
        c->description = xstrdup(found->description);
        if (found->config) {
            size_t sz = config_size(found->config);
            c->config = xmalloc(sz);
            memcpy(c->config, found->config, sz);
        }
        c->timeout_s = found->timeout_s;
        *out = c;
        return LMCP_OK;
    }
    if (rc == LMCP_NOT_FOUND && want.account && (!*mine || strcmp(mine, want.account) != 0)) {
        /* another account's (or an empty account's: whose cannot be told) */
        *out = fn_from_ref(rs, &want, name_or_arn, just_refused);
        return LMCP_OK;
    }
    if (rc == LMCP_NOT_FOUND)
        snprintf(err, errlen, "does not exist");
    return rc;
}

int run_fetch(lmcp_discovery_run *run, const char *name_or_arn, lmcp_function **out, char *err, size_t errlen)
{
    generation *g = run->rs->g;
    if (run->rs->getfunction_denied && refusal_fresh(&g->gf_refusals, name_or_arn))
        return account_lookup(run->rs, name_or_arn, false, out, err, errlen);
    json_object *resp = NULL;
    lambda_status st;
    int rc = lambda_get_function(g->aws, name_or_arn, NULL, &resp, &st, err, errlen);
    /* lambda_get_function fails on every non-200 answer: the two that have a meaning here are
     * looked at before the failure is passed on. Only a refused permission is worked around; a
     * 403 for bad or expired credentials (UnrecognizedClient, InvalidSignature, ExpiredToken)
     * would fail the listing the same way and is reported as it is. */
    if (st.http == 404) {
        snprintf(err, errlen, "does not exist");
        return LMCP_NOT_FOUND;
    }
    if (st.http == 403 && strcmp(st.code, "AccessDeniedException") == 0) {
        /* remembered for this reference only: the next runs look it up in the account listing
           without asking, and still ask GetFunction for the others */
        refusal_note(&g->gf_refusals, name_or_arn, true);
        return account_lookup(run->rs, name_or_arn, true, out, err, errlen);
    }
    if (rc != LMCP_OK)
        return rc;
    if (run->rs->getfunction_denied) /* refused earlier, permitted again */
        refusal_note(&g->gf_refusals, name_or_arn, false);
    json_object *cfg = NULL, *tags = NULL;
    json_object_object_get_ex(resp, "Configuration", &cfg);
    lmcp_function *f = cfg ? fn_from_config(run->rs, cfg) : NULL;
    if (!f) {
        json_object_put(resp);
        snprintf(err, errlen, "GetFunction %s: the answer has no Configuration", name_or_arn);
        return LMCP_ERR;
    }
    /* GetFunction leaves Tags out for an untagged function, and for a caller not allowed
       lambda:ListTags, which gets a TagsError instead: then the tags are unknown and read later
       (the tag index, or ListTags) when a plugin needs them. */
    json_object *tags_error = NULL;
    json_object_object_get_ex(resp, "TagsError", &tags_error);
    if (!tags_error) {
        json_object_object_get_ex(resp, "Tags", &tags);
        tags_from_object(f, tags);
    }
    json_object_put(resp);
    *out = f;
    return LMCP_OK;
}

lmcp_function *run_new_function(lmcp_discovery_run *run, const char *name, const char *arn)
{
    lmcp_function *f = fn_alloc(run->rs);
    f->name = xstrdup(name ? name : arn);
    f->arn = xstrdup(arn);
    return f;
}

void run_select(lmcp_discovery_run *run, lmcp_function *fn)
{
    if (run->b && fn)
        batch_add(run->b, fn);
}

size_t run_count(const lmcp_discovery_run *run) { return run->b ? run->b->n : 0; }

uint64_t run_serial(const lmcp_discovery_run *run) { return run->rs->serial; }

lmcp_function *run_candidate(const lmcp_discovery_run *run, size_t i)
{
    return run->b && i < run->b->n ? run->b->fns[i] : NULL;
}

void run_reject(lmcp_discovery_run *run, lmcp_function *fn, const char *reason)
{
    if (!fn || fn->rejected)
        return;
    fn->rejected = true;
    LOG_DEBUG(COMP, "%s: %s rejected: %s", run->plugin ? run->plugin : "?", fn->name, reason ? reason : "");
}

void run_fail(lmcp_discovery_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf b = BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    fail(run->rs, "%s: %s", run->plugin ? run->plugin : "discovery", b.data ? b.data : "");
    buf_free(&b);
}

/* ------------------------------------------------------------------ tags */

static int cmp_tag_entry(const void *a, const void *b)
{
    return strcmp(((const tag_entry *)a)->arn, ((const tag_entry *)b)->arn);
}

/* The whole account's tags of Lambda functions through the Resource Groups Tagging API. */
static void *tag_index_thread(void *arg)
{
    run_state *rs = arg;
    aws_client *aws = rs->g->aws;
    char *token = NULL;
    tag_entry *idx = NULL;
    size_t n = 0, cap = 0;
    int state = 2;
    size_t pages = 0;
    page_guard pg = {0};
    int64_t t0 = clock_mono_us();
    for (;;) {
        if (has_failed(rs)) { /* nobody will read the index: stop paging */
            state = -1;
            break;
        }
        json_object *body = json_object_new_object();
        json_object *types = json_object_new_array();
        json_object_array_add(types, json_object_new_string("lambda:function"));
        json_object_object_add(body, "ResourceTypeFilters", types);
        json_object_object_add(body, "ResourcesPerPage", json_object_new_int(100));
        if (token && *token)
            json_object_object_add(body, "PaginationToken", json_object_new_string(token));
        const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
        const char *hdr[] = {"X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources",
                             "Content-Type: application/x-amz-json-1.1", NULL};
        lmcp_aws_request req = {.service = "tagging", .method = "POST", .path = "/", .headers = hdr,
                                .body = text, .body_len = strlen(text), .flags = LMCP_AWS_IDEMPOTENT};
        aws_response *resp = NULL;
        char err[512];
        int rc = aws_request(aws, &req, &resp, err, sizeof err);
        json_object_put(body);
        if (rc != LMCP_OK) {
            LOG_WARN(COMP, "tagging API GetResources failed: %s", err);
            state = -1;
            break;
        }
        if (resp->status != 200) {
            const char *code = resp->error_code ? resp->error_code : "";
            bool denied = resp->status == 403 || strstr(code, "AccessDenied") || strstr(code, "UnauthorizedOperation") ||
                          strstr(code, "NotAuthorized");
            LOG_WARN(COMP, "tagging API GetResources: %s%s%s (HTTP %ld)%s", code, resp->error_message ? ": " : "",
                     resp->error_message ? resp->error_message : "", resp->status,
                     denied ? "; falling back to ListTags per function" : "");
            state = denied ? -2 : -1;
            aws_response_free(resp);
            break;
        }
        pages++;
        char perr[256];
        json_object *page = json_parse_text(resp->body.data ? resp->body.data : "", resp->body.len, perr, sizeof perr);
        aws_response_free(resp);
        if (!page) {
            LOG_WARN(COMP, "tagging API GetResources: unreadable answer: %s", perr[0] ? perr : "null, not an object");
            state = -1;
            break;
        }
        json_object *list = NULL;
        json_object_object_get_ex(page, "ResourceTagMappingList", &list);
        size_t m = list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < m; i++) {
            json_object *it = json_object_array_get_idx(list, i);
            const char *arn = json_get_str(it, "ResourceARN");
            if (!arn)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                idx = xrealloc(idx, cap * sizeof *idx);
            }
            tag_entry *e = &idx[n++];
            memset(e, 0, sizeof *e);
            e->arn = xstrdup(arn);
            json_object *tags = NULL;
            json_object_object_get_ex(it, "Tags", &tags);
            size_t k = tags && json_object_is_type(tags, json_type_array) ? json_object_array_length(tags) : 0;
            for (size_t j = 0; j < k; j++) {
                json_object *t = json_object_array_get_idx(tags, j);
                const char *key = json_get_str(t, "Key"), *val = json_get_str(t, "Value");
                if (key)
                    hdrs_add(&e->tags, key, val ? val : "");
            }
        }
        free(token);
        token = xstrdup(json_get_str(page, "PaginationToken"));
        json_object_put(page);
        const char *stop = page_guard_next(&pg, token);
        if (stop) {
            LOG_WARN(COMP, "tagging API GetResources: %s", stop);
            state = -1;
            break;
        }
        if (!token || !*token)
            break;
    }
    free(token);
    page_guard_free(&pg);
    if (state == 2) {
        qsort(idx, n, sizeof *idx, cmp_tag_entry);
        LOG_DEBUG(COMP, "tag index: %zu tagged functions in %zu page(s), %.0f ms", n, pages,
                  (double)(clock_mono_us() - t0) / 1000.0);
    } else {
        for (size_t i = 0; i < n; i++) {
            free(idx[i].arn);
            hdrs_free(&idx[i].tags);
        }
        free(idx);
        idx = NULL;
        n = 0;
    }
    pthread_mutex_lock(&rs->mu);
    rs->tag_index = idx;
    rs->n_tag_index = n;
    rs->tags_state = state;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    return NULL;
}

/* Start the tag index unless it is already started. Caller holds rs->mu. */
static void start_tag_index_locked(run_state *rs)
{
    if (rs->tags_state != 0)
        return;
    rs->tags_state = 1;
    if (pthread_create(&rs->tag_thread, NULL, tag_index_thread, rs) == 0) {
        rs->tag_thread_started = true;
    } else {
        rs->tags_state = -1;
    }
}

typedef struct listtags_ctx {
    run_state *rs;
    lmcp_function **fns;
    atomic_bool denied;   /* ListTags not permitted (AccessDeniedException) for some function */
    atomic_size_t n_read; /* functions whose tags were read */
} listtags_ctx;

static int listtags_one(void *arg, size_t i)
{
    listtags_ctx *c = arg;
    lmcp_function *f = c->fns[i];
    json_object *resp = NULL;
    char err[512];
    lambda_status st;
    if (lambda_list_tags(c->rs->g->aws, f->arn, &resp, &st, err, sizeof err) != LMCP_OK) {
        if (st.http == 404) { /* deleted since it was listed: not a tool, the others go on */
            f->rejected = true;
            LOG_INFO(COMP, "function %s no longer exists (ListTags: %s): skipped", f->name, err);
            return LMCP_OK;
        }
        if (st.http == 403 && strcmp(st.code, "AccessDeniedException") == 0) {
            atomic_store(&c->denied, true); /* the tagging API is tried instead */
            return LMCP_OK;
        }
        LOG_WARN(COMP, "ListTags %s: %s", f->name, err);
        return LMCP_ERR;
    }
    json_object *tags = NULL;
    json_object_object_get_ex(resp, "Tags", &tags);
    tags_from_object(f, tags);
    json_object_put(resp);
    atomic_fetch_add(&c->n_read, 1);
    return LMCP_OK;
}

/* ListTags was refused for some functions and the tagging API cannot stand in: when it answered
 * for others (IAM may allow lambda:ListTags on some functions only), the refused ones keep
 * unknown tags — a tag filter rejects them, a schema tag is not found — and the run goes on, as
 * the upstream server skips a function whose ListTags fails. Refused for all: LMCP_ERR. */
static int listtags_partial(listtags_ctx *c, size_t n)
{
    size_t read = atomic_load(&c->n_read);
    if (read == 0)
        return LMCP_ERR;
    buf b = BUF_INIT;
    size_t shown = 0, unread = 0;
    for (size_t i = 0; i < n; i++) {
        lmcp_function *f = c->fns[i];
        if (f->tags_known || f->rejected)
            continue;
        unread++;
        if (shown++ < 10)
            buf_appendf(&b, "%s%s", shown > 1 ? ", " : "", f->name);
    }
    LOG_WARN(COMP, "ListTags is not permitted for %zu function%s (%s%s): %s tags are unknown, as if %s had none",
             unread, unread == 1 ? "" : "s", b.data ? b.data : "", unread > 10 ? ", ..." : "",
             unread == 1 ? "its" : "their", unread == 1 ? "it" : "they");
    buf_free(&b);
    return LMCP_OK;
}

int run_load_tags(lmcp_discovery_run *run)
{
    run_state *rs = run->rs;
    generation *g = rs->g;
    batch *b = run->b;
    if (!b)
        return LMCP_OK;
    lmcp_function **pending = xmalloc((b->n ? b->n : 1) * sizeof *pending);
    size_t np = 0;
    for (size_t i = 0; i < b->n; i++) {
        lmcp_function *f = b->fns[i];
        if (f->rejected || f->tags_known)
            continue;
        if (!f->arn) { /* vendor function known by name only: no tags to read */
            f->tags_known = true;
            continue;
        }
        pending[np++] = f;
    }
    if (np == 0) {
        free(pending);
        return LMCP_OK;
    }
    const char *from = settings_get_string(g->cfg.discovery, "tags_from");
    size_t threshold = (size_t)settings_get_int(g->cfg.discovery, "list_tags_threshold");
    pthread_mutex_lock(&rs->mu);
    bool use_index = strcmp(from, "tagging-api") == 0 ||
                     (strcmp(from, "auto") == 0 && (rs->tags_state != 0 || np > threshold || rs->listtags_denied));
    if (use_index && rs->tags_state == 0)
        start_tag_index_locked(rs);
    while (use_index && rs->tags_state == 1)
        pthread_cond_wait(&rs->cv, &rs->mu);
    int state = rs->tags_state;
    pthread_mutex_unlock(&rs->mu);

    int rc = LMCP_OK;
    if (!use_index) {
        /* a few functions: ListTags each; where it is not permitted (a role with only
           tag:GetResources), the tagging API after all */
        listtags_ctx c = {rs, pending, false, 0};
        rc = host_parallel_for(np, g->discovery_concurrency, listtags_one, &c);
        bool denied = atomic_load(&c.denied);
        if (rc != LMCP_OK || !denied || strcmp(from, "auto") != 0) {
            if (rc == LMCP_OK && denied)
                rc = listtags_partial(&c, np);
            free(pending);
            return rc;
        }
        LOG_INFO(COMP, "ListTags is not permitted: reading tags with the tagging API");
        pthread_mutex_lock(&rs->mu);
        rs->listtags_denied = true; /* the next batches go to the index directly */
        start_tag_index_locked(rs);
        while (rs->tags_state == 1)
            pthread_cond_wait(&rs->cv, &rs->mu);
        state = rs->tags_state;
        pthread_mutex_unlock(&rs->mu);
        if (state != 2) {
            /* neither ListTags (for some or all functions) nor the tagging API: the index said why */
            rc = listtags_partial(&c, np);
            free(pending);
            return rc;
        }
        use_index = true;
        np = 0; /* the functions whose tags are still unknown */
        for (size_t i = 0; i < b->n; i++)
            if (!b->fns[i]->rejected && !b->fns[i]->tags_known && b->fns[i]->arn)
                pending[np++] = b->fns[i];
    }
    if (use_index && state == 2) {
        for (size_t i = 0; i < np; i++) {
            tag_entry key = {pending[i]->arn, HDRS_INIT};
            tag_entry *e = bsearch(&key, rs->tag_index, rs->n_tag_index, sizeof *rs->tag_index, cmp_tag_entry);
            hdrs_free(&pending[i]->tags);
            for (size_t k = 0; e && k < e->tags.n; k++)
                hdrs_add(&pending[i]->tags, e->tags.names[k], e->tags.values[k]);
            pending[i]->tags_known = true; /* not in the index: the function has no tags */
        }
    } else {
        if (use_index) {
            pthread_mutex_lock(&rs->mu);
            bool first = !rs->listtags_fallback_logged;
            rs->listtags_fallback_logged = true;
            pthread_mutex_unlock(&rs->mu);
            if (first)
                LOG_WARN(COMP, "reading tags with ListTags, one call per function (%s)",
                         state == -2 ? "the tagging API is not permitted" : "the tagging API failed");
        }
        listtags_ctx c = {rs, pending, false, 0};
        rc = host_parallel_for(np, g->discovery_concurrency, listtags_one, &c);
        if (rc == LMCP_OK && atomic_load(&c.denied))
            rc = listtags_partial(&c, np); /* the tagging API is not permitted, ListTags not for all */
    }
    free(pending);
    return rc;
}

/* ------------------------------------------------------------------ the batch worker */

static bool hook_active(plugin_instance *p)
{
    const lmcp_discovery_ops *ops = p->def->discovery;
    return !ops->active || ops->active(p->state);
}

static void process_batch(run_state *rs, batch *b)
{
    generation *g = rs->g;
    for (int phase = 0; phase < 2 && !has_failed(rs); phase++) {
        for (size_t i = 0; i < g->n_discovery && !has_failed(rs); i++) {
            plugin_instance *p = g->discovery[i];
            int (*hook)(void *, lmcp_discovery_run *) = phase == 0 ? p->def->discovery->filter : p->def->discovery->enrich;
            if (!hook)
                continue;
            /* hooks see only the candidates still standing */
            size_t o = 0;
            for (size_t k = 0; k < b->n; k++) {
                if (!b->fns[k]->rejected)
                    b->fns[o++] = b->fns[k];
                else
                    fn_drop_data(b->fns[k]);
            }
            b->n = o;
            if (b->n == 0)
                return;
            lmcp_discovery_run view = {rs, b, p->name};
            if (hook(p->state, &view) != LMCP_OK)
                fail(rs, "%s plugin %s failed on %s", phase == 0 ? "filter" : "enricher", p->name, b->source);
        }
    }
    pthread_mutex_lock(&rs->mu);
    for (size_t k = 0; k < b->n; k++) {
        if (b->fns[k]->rejected) {
            fn_drop_data(b->fns[k]);
            continue;
        }
        /* the hooks were the configuration's last readers (the snapshot needs only timeout_s) */
        free(b->fns[k]->config);
        b->fns[k]->config = NULL;
        b->fns[k]->kept = true;
        if (rs->n_out == rs->cap_out) {
            rs->cap_out = rs->cap_out ? rs->cap_out * 2 : 256;
            rs->out = xrealloc(rs->out, rs->cap_out * sizeof *rs->out);
        }
        rs->out[rs->n_out++] = b->fns[k];
    }
    pthread_mutex_unlock(&rs->mu);
}

/* Batches that queued up while the worker was busy (typically the pages listed while the tag
 * index was loading) are processed as one: the per-batch work that waits on AWS (tag lookups,
 * schema fetches) then runs in parallel across all of them, instead of one page after another,
 * which left the worker behind the ListFunctions chain for the whole run. Order is kept. */
static batch *batch_merge(batch *first)
{
    if (!first || !first->next)
        return first;
    size_t n = 0, k = 0;
    batch *last = first;
    for (batch *x = first; x; x = x->next) {
        n += x->n;
        k++;
        last = x;
    }
    batch *m = xcalloc(1, sizeof *m);
    m->source = xasprintf("%s .. %s (%zu batches)", first->source, last->source, k);
    m->cap = n ? n : 1;
    m->fns = xmalloc(m->cap * sizeof *m->fns);
    for (batch *x = first; x;) {
        if (x->n)
            memcpy(m->fns + m->n, x->fns, x->n * sizeof *x->fns);
        m->n += x->n;
        batch *next = x->next;
        batch_free(x);
        x = next;
    }
    return m;
}

static void *batch_worker(void *arg)
{
    run_state *rs = arg;
    run_concurrency_enter(rs);
    for (;;) {
        pthread_mutex_lock(&rs->mu);
        while (!rs->q_head && !rs->q_closed)
            pthread_cond_wait(&rs->cv, &rs->mu);
        batch *b = rs->q_head; /* everything queued so far */
        rs->q_head = rs->q_tail = NULL;
        pthread_mutex_unlock(&rs->mu);
        if (!b)
            break;
        b = batch_merge(b);
        if (!has_failed(rs))
            process_batch(rs, b);
        batch_free(b);
    }
    return NULL;
}

/* ------------------------------------------------------------------ selectors */

typedef struct selector_job {
    run_state *rs;
    plugin_instance *p;
    pthread_t th;
    bool started;
} selector_job;

static void *selector_thread(void *arg)
{
    selector_job *j = arg;
    run_concurrency_enter(j->rs);
    char src[300];
    snprintf(src, sizeof src, "the functions of selector %s", j->p->name);
    batch *b = batch_new(src);
    lmcp_discovery_run view = {j->rs, b, j->p->name};
    int rc = j->p->def->discovery->select(j->p->state, &view);
    if (rc != LMCP_OK) { /* like a filter: anything but LMCP_OK (a timeout too) fails the run */
        fail(j->rs, "selector %s failed", j->p->name);
        batch_free(b);
        return NULL;
    }
    enqueue(j->rs, b);
    return NULL;
}

/* List the account, page by page, handing each page's selected functions to the batch worker.
 * With rs->acct_by_listing it also keeps every function of the account (a copy of the selected
 * ones: a function object belongs to one batch) as the GetFunction fallback's listing, so the
 * account is not listed twice in the run. */
static void list_account(run_state *rs, plugin_instance **matchers, size_t n_matchers, bool select_all)
{
    generation *g = rs->g;
    bool keep = rs->acct_by_listing;
    lmcp_function **acct = NULL;
    size_t n_acct = 0, cap_acct = 0;
    char *acct_err = NULL;
    char *marker = NULL;
    page_guard pg = {0};
    for (size_t page_no = 1;; page_no++) {
        if (has_failed(rs)) {
            acct_err = xstrdup("discovery failed");
            break;
        }
        json_object *page = NULL;
        char err[1024];
        if (lambda_list_functions_page(g->aws, marker, 50, &page, err, sizeof err) != LMCP_OK) {
            fail(rs, "ListFunctions page %zu: %s", page_no, err);
            acct_err = xstrdup(err);
            break;
        }
        json_object *fns = NULL;
        json_object_object_get_ex(page, "Functions", &fns);
        size_t n = fns && json_object_is_type(fns, json_type_array) ? json_object_array_length(fns) : 0;
        pthread_mutex_lock(&rs->mu); /* the GetFunction fallback may be listing too */
        rs->st.pages++;
        rs->st.listed += n;
        pthread_mutex_unlock(&rs->mu);
        char src[64];
        snprintf(src, sizeof src, "ListFunctions page %zu", page_no);
        batch *b = batch_new(src);
        for (size_t i = 0; i < n; i++) {
            json_object *cfg = json_object_array_get_idx(fns, i);
            lmcp_function *f = fn_from_config(rs, cfg);
            if (!f)
                continue;
            bool take = select_all;
            for (size_t m = 0; !take && m < n_matchers; m++)
                take = matchers[m]->def->discovery->match(matchers[m]->state, f);
            lmcp_function *kept = !keep ? NULL : take ? fn_from_config(rs, cfg) : f;
            if (kept) {
                if (n_acct == cap_acct) {
                    cap_acct = cap_acct ? cap_acct * 2 : 64;
                    acct = xrealloc(acct, cap_acct * sizeof *acct);
                }
                acct[n_acct++] = kept;
            }
            if (take)
                batch_add(b, f);
            else if (!keep)
                fn_drop_data(f);
        }
        free(marker);
        marker = xstrdup(json_get_str(page, "NextMarker"));
        json_object_put(page);
        enqueue(rs, b);
        const char *stop = page_guard_next(&pg, marker);
        if (stop) {
            fail(rs, "ListFunctions page %zu: %s", page_no, stop);
            acct_err = xstrdup(stop);
            break;
        }
        if (!marker || !*marker)
            break;
    }
    free(marker);
    page_guard_free(&pg);
    if (keep) {
        pthread_mutex_lock(&rs->mu);
        rs->acct = acct;
        rs->n_acct = n_acct;
        rs->acct_state = acct_err ? -1 : 2;
        rs->acct_err = acct_err;
        pthread_cond_broadcast(&rs->cv);
        pthread_mutex_unlock(&rs->mu);
    } else {
        free(acct);
        free(acct_err);
    }
}

/* ------------------------------------------------------------------ building the snapshot */

static bool tag_lookup(void *ctx, const char *key, const char **value)
{
    const lmcp_function *f = ctx;
    const char *v = f->tags_known ? hdrs_get_exact(&f->tags, key) : NULL;
    if (v)
        *value = v;
    return v != NULL;
}


typedef struct keyed {
    const char *key;
    size_t idx;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static tool_snapshot *build_snapshot(run_state *rs)
{
    generation *g = rs->g;
    /* de-duplicate by ARN (or name), keeping the first occurrence */
    lmcp_function **fns = rs->out;
    size_t n = rs->n_out;
    if (n > 1) {
        keyed *k = xmalloc(n * sizeof *k);
        for (size_t i = 0; i < n; i++)
            k[i] = (keyed){fns[i]->arn ? fns[i]->arn : fns[i]->name, i};
        qsort(k, n, sizeof *k, cmp_keyed);
        for (size_t i = 1; i < n; i++)
            if (strcmp(k[i - 1].key, k[i].key) == 0)
                fns[k[i].idx]->rejected = true; /* the first selected copy stays */
        free(k);
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            if (!fns[i]->rejected)
                fns[o++] = fns[i];
        n = o;
    }
    char **names = xcalloc(n ? n : 1, sizeof *names);
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        names[i] = tool_name_sanitize(fns[i]->tool_name ? fns[i]->tool_name : fns[i]->name);
        keys[i] = fns[i]->arn ? fns[i]->arn : fns[i]->name;
    }
    rs->st.renamed = tool_names_make_unique(names, keys, n);

    tool_snapshot *s = snapshot_new();
    for (size_t i = 0; i < n; i++) {
        lmcp_function *f = fns[i];
        tool *t = snapshot_add(s);
        t->name = names[i];
        names[i] = NULL;
        t->title = xstrdup(f->title);
        const char *d = fn_description(f);
        t->description = d && *d ? xstrdup(d) : xasprintf("AWS Lambda function: %s", f->name);
        t->function_name = xstrdup(f->name);
        t->function_arn = xstrdup(f->arn);
        t->qualifier = xstrdup(f->qualifier);
        t->tags_known = f->tags_known;
        for (size_t k = 0; k < f->tags.n; k++)
            hdrs_add(&t->tags, f->tags.names[k], f->tags.values[k]);
        if (f->annotations)
            t->annotations = json_object_get(f->annotations);

        lmcp_settings *ts = app_config_tool_settings(&g->cfg, t->name, tag_lookup, f);
        int64_t timeout = settings_get_duration_ms(ts, "timeout");
        if (timeout == 0)
            timeout = f->timeout_s > 0 ? ((int64_t)f->timeout_s + 10) * 1000 : 70000;
        t->timeout_ms = timeout;
        t->wrap_parameters = settings_get_bool(ts, "parameters_wrapper");
        settings_release(ts);

        /* fn_set_input_schema compiled it once already: keep the text, compile on first call */
        t->schema_text = f->schema_text;
        f->schema_text = NULL;

        t->n_wrapper_settings = g->n_wrappers;
        t->wrapper_settings = xcalloc(g->n_wrappers ? g->n_wrappers : 1, sizeof *t->wrapper_settings);
        for (size_t w = 0; w < g->n_wrappers; w++)
            t->wrapper_settings[w] = plugin_instance_settings_for(g->wrappers[w], t->name, tag_lookup, f);
    }
    free(names);
    free(keys);
    s->chain = g->chain;
    s->owner = generation_ref(g);
    s->owner_release = (void (*)(void *))generation_release;
    snapshot_finish(s);
    return s;
}

/* ------------------------------------------------------------------ the run */

/* Once every batch is done, what the snapshot will not read goes, before the snapshot is built
 * (the peak of the run): the tag index and the functions that did not survive their batch. */
static void release_before_snapshot(run_state *rs)
{
    for (size_t i = 0; i < rs->n_tag_index; i++) {
        free(rs->tag_index[i].arn);
        hdrs_free(&rs->tag_index[i].tags);
    }
    free(rs->tag_index);
    rs->tag_index = NULL;
    rs->n_tag_index = 0;
    free(rs->acct); /* borrowed pointers into rs->all */
    rs->acct = NULL;
    rs->n_acct = 0;
    size_t o = 0;
    for (size_t i = 0; i < rs->n_all; i++) {
        if (rs->all[i]->kept)
            rs->all[o++] = rs->all[i];
        else
            fn_free(rs->all[i]);
    }
    rs->n_all = o;
}

static void run_state_free(run_state *rs)
{
    for (size_t i = 0; i < rs->n_all; i++)
        fn_free(rs->all[i]);
    free(rs->all);
    free(rs->out);
    while (rs->q_head) {
        batch *b = rs->q_head;
        rs->q_head = b->next;
        batch_free(b);
    }
    for (size_t i = 0; i < rs->n_tag_index; i++) {
        free(rs->tag_index[i].arn);
        hdrs_free(&rs->tag_index[i].tags);
    }
    free(rs->tag_index);
    free(rs->acct);
    free(rs->acct_err);
    free(rs->fail_msg);
    pthread_mutex_destroy(&rs->mu);
    pthread_cond_destroy(&rs->cv);
}

tool_snapshot *discovery_run(generation *g, discovery_stats *st, char *err, size_t errlen)
{
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.g = g;
    rs.serial = (uint64_t)atomic_fetch_add(&g_run_serial, 1) + 1;
    pthread_mutex_init(&rs.mu, NULL);
    pthread_cond_init(&rs.cv, NULL);
    size_t outer_concurrency = run_concurrency_enter(&rs); /* the matchers run on this thread */
    int64_t t0 = clock_mono_us();

    plugin_instance **matchers = xcalloc(g->n_discovery + 1, sizeof *matchers);
    selector_job *jobs = xcalloc(g->n_discovery + 1, sizeof *jobs);
    size_t n_matchers = 0, n_jobs = 0;
    bool any_active = false, need_tags = false;
    for (size_t i = 0; i < g->n_discovery; i++) {
        plugin_instance *p = g->discovery[i];
        const lmcp_discovery_ops *ops = p->def->discovery;
        if (ops->needs_tags && ops->needs_tags(p->state))
            need_tags = true;
        if (!ops->match && !ops->select)
            continue;
        if (!hook_active(p)) {
            LOG_DEBUG(COMP, "selector %s has nothing configured: abstains", p->name);
            continue;
        }
        any_active = true;
        if (ops->match)
            matchers[n_matchers++] = p;
        if (ops->select)
            jobs[n_jobs++] = (selector_job){&rs, p, 0, false};
    }
    bool listing = n_matchers > 0 || !any_active;
    if (!any_active)
        LOG_DEBUG(COMP, "no selector is active: every function of the account is a candidate");
    /* GetFunction refused in an earlier run: the names are looked up in the account listing
       straight away, in the matchers' listing when there is one (the account is listed once) */
    if (n_jobs > 0 && refusals_prune(&g->gf_refusals)) {
        rs.getfunction_denied = true;
        rs.acct_by_listing = listing;
        if (listing)
            rs.acct_state = 1; /* before any selector starts: its lookups wait for list_account */
        LOG_DEBUG(COMP, "GetFunction was not permitted in an earlier discovery: the listed functions are looked up in "
                        "the account listing%s (GetFunction is asked again an hour after the refusal)",
                  listing ? " the matchers make" : "");
    }
    const char *from = settings_get_string(g->cfg.discovery, "tags_from");
    if (listing && need_tags && strcmp(from, "list-tags") != 0) {
        pthread_mutex_lock(&rs.mu);
        start_tag_index_locked(&rs); /* side by side with the ListFunctions chain */
        pthread_mutex_unlock(&rs.mu);
    }

    pthread_t worker;
    bool worker_ok = pthread_create(&worker, NULL, batch_worker, &rs) == 0;
    if (!worker_ok)
        fail(&rs, "cannot start a discovery thread");
    for (size_t i = 0; worker_ok && i < n_jobs; i++)
        jobs[i].started = pthread_create(&jobs[i].th, NULL, selector_thread, &jobs[i]) == 0;
    if (worker_ok && listing)
        list_account(&rs, matchers, n_matchers, !any_active);
    for (size_t i = 0; i < n_jobs; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].th, NULL);
        else if (worker_ok)
            fail(&rs, "cannot start selector %s", jobs[i].p->name);
    }
    pthread_mutex_lock(&rs.mu);
    rs.q_closed = true;
    pthread_cond_broadcast(&rs.cv);
    pthread_mutex_unlock(&rs.mu);
    if (worker_ok)
        pthread_join(worker, NULL);
    if (rs.tag_thread_started)
        pthread_join(rs.tag_thread, NULL);
    free(matchers);
    free(jobs);

    tool_snapshot *snap = NULL;
    if (rs.failed) {
        snprintf(err, errlen, "%s", rs.fail_msg ? rs.fail_msg : "discovery failed");
    } else {
        release_before_snapshot(&rs);
        snap = build_snapshot(&rs);
        rs.st.tools = snap->n;
    }
    rs.st.duration_ms = (clock_mono_us() - t0) / 1000;
    if (st)
        *st = rs.st;
    run_state_free(&rs);
    t_run_concurrency = outer_concurrency;
    return snap;
}
