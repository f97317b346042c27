/* discovery plugin "schema-registry": a function tag (FUNCTION_INPUT_SCHEMA_ARN_TAG_KEY) names an
 * EventBridge Schema Registry schema, arn:aws:schemas:<region>:<account>:schema/<registry>/<name>;
 * DescribeSchema fetches it (the latest version, or the version pinned by another tag) and it
 * becomes the tool's real inputSchema — not text pasted into the description, as upstream does.
 *
 *   JSONSchemaDraft4 content is used as it is (with its own "$schema").
 *   OpenApi3 content is converted: the event schema (the one carrying x-amazon-events-* markers,
 *   else "AWSEvent", else the only one) becomes the root; every schema of components/schemas is
 *   kept under $defs and "#/components/schemas/X" references become "#/$defs/X"; OpenAPI's
 *   `nullable: true` becomes a "null" type.
 *
 * A missing, unreadable or unusable schema leaves the tool with the generic schema and logs why;
 * it never removes the tool.
 *
 * Schemas are fetched concurrently, once per (ARN, version) and discovery run: the batches of a
 * run (the pages of the account listing, each selector's functions) share what was fetched for
 * the earlier ones, failures included. A later run (a refresh) fetches the latest versions again,
 * since they may have changed, but not a version pinned by the version tag that an earlier run
 * fetched within the last hour (PINNED_REUSE_MS): a version's content does not change (UpdateSchema
 * makes a new one), but a schema deleted and created again starts its versions at 1 anew. When a
 * fetch fails for a passing reason (throttling, a 5xx, the network) and the previous run had the
 * schema, the tool keeps it rather than falling back to the generic schema for one refresh (and
 * changing the tool list twice). Hosts without run_serial (older ABI v1 servers): once per batch. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

/* What DescribeSchema gave for one (ARN, version), kept for the rest of the run and, for a pinned
   version fetched successfully, for the next run. */
typedef struct kept_schema {
    char *arn;
    char *version;   /* NULL: the latest */
    char *text;      /* the converted schema, compact JSON (host memory); NULL: see problem */
    char *problem;
    uint64_t serial; /* the last run that used it */
    int64_t fetched_ms; /* when DescribeSchema gave it (monotonic) */
} kept_schema;

/* how long a pinned version is taken from an earlier run instead of being fetched again */
#define PINNED_REUSE_MS (3600 * 1000LL)

typedef struct sr_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const char *tag_key;
    const char *version_tag;
    pthread_mutex_t mu;   /* guards the fields below */
    kept_schema *kept;
    size_t n_kept, cap_kept;
    uint64_t serial;      /* the newest run seen */
} sr_state;

static const lmcp_setting_def sr_settings[] = {
    {"tag_key", LMCP_SETTING_STRING, "", "FUNCTION_INPUT_SCHEMA_ARN_TAG_KEY", NULL, 0, 0,
     "the function tag whose value is the schema ARN (empty: this plugin does nothing)"},
    {"version_tag", LMCP_SETTING_STRING, "lambda-mcp:schema-version", NULL, NULL, 0, 0,
     "a function tag pinning the schema version (absent: the latest version)"},
    LMCP_SETTINGS_END,
};

static int sr_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    sr_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return LMCP_ERR;
    }
    s->host = ctx->host;
    s->inst = ctx->instance;
    s->tag_key = ctx->host->setting_string(ctx->settings, "tag_key");
    s->version_tag = ctx->host->setting_string(ctx->settings, "version_tag");
    *state = s;
    return LMCP_OK;
}

static void kept_clear(const lmcp_host *h, kept_schema *k)
{
    free(k->arn);
    free(k->version);
    if (k->text)
        h->free(k->text);
    free(k->problem);
    memset(k, 0, sizeof *k);
}

static void sr_destroy(void *state)
{
    sr_state *s = state;
    for (size_t i = 0; i < s->n_kept; i++)
        kept_clear(s->host, &s->kept[i]);
    free(s->kept);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool sr_needs_tags(void *state)
{
    sr_state *s = state;
    return s->tag_key && *s->tag_key;
}

/* ------------------------------------------------------------------ ARNs */

typedef struct schema_ref {
    char *arn;          /* as tagged */
    char *version;      /* NULL: latest */
    char region[64];
    char registry[300];
    char name[400];
    /* outcome */
    lmcp_json *schema;  /* converted, ready for fn_set_input_schema */
    char *problem;      /* why there is no schema */
    bool transient;     /* the problem may pass (throttling, 5xx, network): the previous run's schema will do */
    char *previous;     /* that schema (compact text), when the previous run had it */
    int64_t fetched_ms; /* when the schema was fetched */
} schema_ref;

/* arn:<partition>:schemas:<region>:<account>:schema/<registry>/<name> */
static int parse_arn(const char *arn, schema_ref *r, char *why, size_t whylen)
{
    const char *p = arn;
    const char *field[6];
    size_t len[6];
    for (int i = 0; i < 6; i++) {
        field[i] = p;
        const char *c = i < 5 ? strchr(p, ':') : p + strlen(p);
        if (!c) {
            snprintf(why, whylen, "has %d ARN fields, expected 6", i + 1);
            return -1;
        }
        len[i] = (size_t)(c - p);
        p = c + (i < 5);
    }
    if (len[0] != 3 || strncmp(field[0], "arn", 3) != 0) {
        snprintf(why, whylen, "does not start with arn:");
        return -1;
    }
    if (len[2] != 7 || strncmp(field[2], "schemas", 7) != 0) {
        snprintf(why, whylen, "is not a Schema Registry ARN (service '%.*s', expected 'schemas')", (int)len[2], field[2]);
        return -1;
    }
    if (len[3] == 0 || len[3] >= sizeof r->region) {
        snprintf(why, whylen, "has no region");
        return -1;
    }
    for (size_t i = 0; i < len[3]; i++) {
        char c = field[3][i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            snprintf(why, whylen, "has an invalid region");
            return -1;
        }
    }
    memcpy(r->region, field[3], len[3]);
    r->region[len[3]] = '\0';
    const char *res = field[5];
    if (strncmp(res, "schema/", 7) != 0) {
        snprintf(why, whylen, "resource '%s' is not schema/<registry>/<name>", res);
        return -1;
    }
    res += 7;
    const char *slash = strchr(res, '/');
    if (!slash || slash == res || !slash[1] || strchr(slash + 1, '/')) {
        snprintf(why, whylen, "resource is not schema/<registry>/<name>");
        return -1;
    }
    size_t rl = (size_t)(slash - res), nl = strlen(slash + 1);
    if (rl >= sizeof r->registry || nl >= sizeof r->name) {
        snprintf(why, whylen, "registry or schema name too long");
        return -1;
    }
    memcpy(r->registry, res, rl);
    r->registry[rl] = '\0';
    memcpy(r->name, slash + 1, nl + 1);
    return 0;
}

/* ------------------------------------------------------------------ OpenAPI 3 -> JSON Schema */

/* Rewrite refs and nullable in place, recursively. */
static void rewrite(const lmcp_host *h, lmcp_json *j, int depth)
{
    if (!j || depth > 200)
        return;
    lmcp_json_type t = h->json_type(j);
    if (t == LMCP_JSON_ARRAY) {
        for (size_t i = 0; i < h->json_length(j); i++)
            rewrite(h, h->json_index(j, i), depth + 1);
        return;
    }
    if (t != LMCP_JSON_OBJECT)
        return;
    const char *ref = h->json_string(h->json_get(j, "$ref"));
    static const char prefix[] = "#/components/schemas/";
    if (ref && strncmp(ref, prefix, sizeof prefix - 1) == 0) {
        size_t n = strlen(ref) - (sizeof prefix - 1);
        char *nr = malloc(n + 9);
        if (nr) {
            memcpy(nr, "#/$defs/", 8);
            memcpy(nr + 8, ref + sizeof prefix - 1, n + 1);
            h->json_set(j, "$ref", h->json_new_string(nr));
            free(nr);
        }
    }
    lmcp_json *nullable = h->json_get(j, "nullable");
    if (nullable && h->json_type(nullable) == LMCP_JSON_BOOL) {
        bool is_null = h->json_bool(nullable);
        const char *type = h->json_string(h->json_get(j, "type"));
        if (is_null && type) {
            lmcp_json *arr = h->json_new_array();
            h->json_append(arr, h->json_new_string(type));
            h->json_append(arr, h->json_new_string("null"));
            h->json_set(j, "type", arr);
        }
    }
    for (size_t i = 0; i < h->json_length(j); i++)
        rewrite(h, h->json_get(j, h->json_object_key(j, i)), depth + 1);
}

static lmcp_json *deep_copy(const lmcp_host *h, const lmcp_json *j)
{
    char *text = h->json_to_string(j, LMCP_JSON_COMPACT);
    if (!text)
        return NULL;
    char err[64];
    lmcp_json *c = h->json_parse(text, strlen(text), err, sizeof err);
    h->free(text);
    return c;
}

static lmcp_json *from_openapi(const lmcp_host *h, const lmcp_json *doc, char *why, size_t whylen)
{
    lmcp_json *schemas = h->json_get(h->json_get(doc, "components"), "schemas");
    if (!schemas || h->json_type(schemas) != LMCP_JSON_OBJECT || h->json_length(schemas) == 0) {
        snprintf(why, whylen, "OpenApi3 content has no components/schemas");
        return NULL;
    }
    /* the event schema: marked by EventBridge, or AWSEvent, or the only one */
    const char *root = NULL;
    size_t n = h->json_length(schemas);
    for (size_t i = 0; i < n && !root; i++) {
        const char *k = h->json_object_key(schemas, i);
        lmcp_json *sch = h->json_get(schemas, k);
        if (h->json_get(sch, "x-amazon-events-detail-type") || h->json_get(sch, "x-amazon-events-source"))
            root = k;
    }
    if (!root && h->json_get(schemas, "AWSEvent"))
        root = "AWSEvent";
    if (!root && n == 1)
        root = h->json_object_key(schemas, 0);
    if (!root) {
        snprintf(why, whylen, "OpenApi3 content has %zu schemas and none is marked as the event (x-amazon-events-*)", n);
        return NULL;
    }
    lmcp_json *out = deep_copy(h, h->json_get(schemas, root));
    lmcp_json *defs = deep_copy(h, schemas);
    if (!out || !defs || h->json_type(out) != LMCP_JSON_OBJECT) {
        if (out)
            h->json_put(out);
        if (defs)
            h->json_put(defs);
        snprintf(why, whylen, "OpenApi3 event schema %s is not an object", root);
        return NULL;
    }
    rewrite(h, out, 0);
    rewrite(h, defs, 0);
    h->json_set(out, "$defs", defs);
    h->json_set(out, "$schema", h->json_new_string("https://json-schema.org/draft/2020-12/schema"));
    return out;
}

/* ------------------------------------------------------------------ fetching */

typedef struct fetch_ctx {
    sr_state *s;
    schema_ref *refs;
    const size_t *todo; /* the refs to fetch */
} fetch_ctx;

static char *xdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void set_problem(schema_ref *r, const char *fmt, const char *a, const char *b)
{
    char buf[1200];
    snprintf(buf, sizeof buf, fmt, a ? a : "", b ? b : "");
    free(r->problem);
    r->problem = xdup(buf);
}

static int fetch_one(void *arg, size_t i)
{
    fetch_ctx *c = arg;
    const lmcp_host *h = c->s->host;
    schema_ref *r = &c->refs[c->todo[i]];
    char *reg = h->uri_encode(r->registry, true), *name = h->uri_encode(r->name, true);
    char path[2048];
    snprintf(path, sizeof path, "/v1/registries/name/%s/schemas/name/%s", reg, name);
    h->free(reg);
    h->free(name);
    char query[300] = "";
    if (r->version) {
        char *v = h->uri_encode(r->version, true);
        snprintf(query, sizeof query, "schemaVersion=%s", v);
        h->free(v);
    }
    lmcp_aws_request req = {.service = "schemas", .region = r->region, .method = "GET", .path = path,
                            .query = *query ? query : NULL, .flags = LMCP_AWS_IDEMPOTENT};
    lmcp_aws_response *resp = NULL;
    char err[600];
    r->fetched_ms = h->monotonic_us() / 1000;
    if (h->aws_request(c->s->inst, &req, &resp, err, sizeof err) != LMCP_OK) {
        set_problem(r, "DescribeSchema failed: %s%s", err, NULL);
        r->transient = true;
        return LMCP_OK;
    }
    long status = h->aws_status(resp);
    if (status != 200) {
        r->transient = status == 429 || status >= 500;
        char detail[700];
        /* the message (up to 2 KiB) is cut, at a character boundary, so "(HTTP n)" still fits */
        const char *msg = h->aws_error_message(resp);
        size_t mlen = msg ? strlen(msg) : 0, keep = mlen > 400 ? 400 : mlen;
        while (keep < mlen && keep > 0 && ((unsigned char)msg[keep] & 0xC0) == 0x80)
            keep--;
        const char *code = h->aws_error_code(resp);
        snprintf(detail, sizeof detail, "%s%s%.*s%s (HTTP %ld)", code ? code : "error", msg ? ": " : "", (int)keep,
                 msg ? msg : "", keep < mlen ? "..." : "", status);
        set_problem(r, "DescribeSchema: %s%s", detail, NULL);
        h->aws_response_free(resp);
        return LMCP_OK;
    }
    size_t blen;
    const char *body = h->aws_body(resp, &blen);
    char perr[256];
    lmcp_json *desc = h->json_parse(body, blen, perr, sizeof perr);
    h->aws_response_free(resp);
    if (!desc) {
        set_problem(r, "DescribeSchema answer is not JSON: %s%s", perr, NULL);
        return LMCP_OK;
    }
    const char *type = h->json_string(h->json_get(desc, "Type"));
    const char *content = h->json_string(h->json_get(desc, "Content"));
    if (!content) {
        set_problem(r, "DescribeSchema answer has no Content%s%s", NULL, NULL);
        h->json_put(desc);
        return LMCP_OK;
    }
    lmcp_json *doc = h->json_parse(content, strlen(content), perr, sizeof perr);
    if (!doc) {
        set_problem(r, "the schema content is not valid JSON: %s%s", perr, NULL);
        h->json_put(desc);
        return LMCP_OK;
    }
    char why[512] = "";
    if (type && strcmp(type, "OpenApi3") == 0) {
        r->schema = from_openapi(h, doc, why, sizeof why);
        h->json_put(doc);
        if (!r->schema)
            set_problem(r, "%s%s", why, NULL);
    } else if (!type || strcmp(type, "JSONSchemaDraft4") == 0) {
        r->schema = doc;
    } else {
        set_problem(r, "unsupported schema type '%s'%s", type, NULL);
        h->json_put(doc);
    }
    h->json_put(desc);
    return LMCP_OK;
}

/* ------------------------------------------------------------------ what earlier batches fetched */

static bool same_ref(const char *arn, const char *ver, const kept_schema *k)
{
    return strcmp(arn, k->arn) == 0 && ((!ver && !k->version) || (ver && k->version && strcmp(ver, k->version) == 0));
}

/* The first batch of a newer run: keep only the schemas the previous run had (pinned versions
   to reuse, and any as a fallback when a fetch fails for a passing reason). With s->mu held. */
static void kept_new_run(sr_state *s, uint64_t serial)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n_kept; i++) {
        kept_schema *k = &s->kept[i];
        if (k->text && k->serial == s->serial)
            s->kept[w++] = *k;
        else
            kept_clear(s->host, k);
    }
    s->n_kept = w;
    s->serial = serial;
}

/* Fill r from what an earlier batch of this run fetched (outcome whatever it was), or from a
   pinned version fetched successfully within PINNED_REUSE_MS. Otherwise it is to be fetched, and
   r->previous is the previous run's schema if it had one. With s->mu held. */
static bool kept_take(sr_state *s, schema_ref *r, uint64_t serial, int64_t now_ms)
{
    const lmcp_host *h = s->host;
    for (size_t i = 0; i < s->n_kept; i++) {
        kept_schema *k = &s->kept[i];
        if (!same_ref(r->arn, r->version, k))
            continue;
        if (k->serial != serial && !(k->version && k->text && now_ms - k->fetched_ms < PINNED_REUSE_MS)) {
            r->previous = k->text ? xdup(k->text) : NULL;
            return false;
        }
        r->fetched_ms = k->fetched_ms;
        if (k->text) {
            char perr[200];
            r->schema = h->json_parse(k->text, strlen(k->text), perr, sizeof perr);
            if (!r->schema)
                return false; /* cannot happen (our own output); fetch it again */
        } else {
            r->problem = xdup(k->problem);
        }
        if (k->serial < serial)
            k->serial = serial;
        return true;
    }
    return false;
}

/* Remember what a fetch gave (after it was tried as an input schema). With s->mu held. */
static void kept_store(sr_state *s, const schema_ref *r, uint64_t serial)
{
    const lmcp_host *h = s->host;
    kept_schema k = {xdup(r->arn), xdup(r->version), NULL, NULL, serial, r->fetched_ms};
    if (r->schema)
        k.text = h->json_to_string(r->schema, LMCP_JSON_COMPACT);
    else
        k.problem = xdup(r->problem ? r->problem : "unavailable");
    if (!k.arn || (r->version && !k.version) || (!k.text && !k.problem)) {
        kept_clear(h, &k); /* out of memory: not kept, fetched again if needed */
        return;
    }
    for (size_t i = 0; i < s->n_kept; i++) {
        if (same_ref(r->arn, r->version, &s->kept[i])) {
            kept_clear(h, &s->kept[i]);
            s->kept[i] = k;
            return;
        }
    }
    if (s->n_kept == s->cap_kept) {
        size_t cap = s->cap_kept ? 2 * s->cap_kept : 16;
        kept_schema *grown = realloc(s->kept, cap * sizeof *grown);
        if (!grown) {
            kept_clear(h, &k);
            return;
        }
        s->kept = grown;
        s->cap_kept = cap;
    }
    s->kept[s->n_kept++] = k;
}

/* ------------------------------------------------------------------ the enricher */

static int sr_enrich(void *state, lmcp_discovery_run *run)
{
    sr_state *s = state;
    const lmcp_host *h = s->host;
    if (!s->tag_key || !*s->tag_key)
        return LMCP_OK;
    if (h->run_load_tags(run) != LMCP_OK)
        h->log(s->inst, LMCP_LOG_WARN, "could not read every function's tags; those tools keep the generic schema");
    size_t n = h->run_count(run);
    schema_ref *refs = calloc(n ? n : 1, sizeof *refs);
    size_t *of = calloc(n ? n : 1, sizeof *of); /* candidate i -> refs index, or SIZE_MAX */
    if (!refs || !of) {
        free(refs);
        free(of);
        return LMCP_ERR;
    }
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        of[i] = (size_t)-1;
        lmcp_function *fn = h->run_candidate(run, i);
        const char *arn = h->fn_tag(fn, s->tag_key);
        if (!arn)
            continue;
        const char *ver = s->version_tag && *s->version_tag ? h->fn_tag(fn, s->version_tag) : NULL;
        size_t k;
        for (k = 0; k < nr; k++)
            if (strcmp(refs[k].arn, arn) == 0 && ((!ver && !refs[k].version) ||
                                                  (ver && refs[k].version && strcmp(ver, refs[k].version) == 0)))
                break;
        if (k == nr) {
            char why[256];
            schema_ref tmp;
            memset(&tmp, 0, sizeof tmp);
            if (parse_arn(arn, &tmp, why, sizeof why) < 0) {
                h->log(s->inst, LMCP_LOG_WARN,
                       "function %s: tag %s = '%s' %s; a schema ARN looks like "
                       "arn:aws:schemas:<region>:<account>:schema/<registry>/<schema>. The tool keeps the generic schema",
                       h->fn_name(fn), s->tag_key, arn, why);
                continue;
            }
            tmp.arn = xdup(arn);
            tmp.version = xdup(ver);
            refs[nr++] = tmp;
        }
        of[i] = k;
    }
    /* what this run fetched already, or a pinned version the previous one had */
    uint64_t serial = LMCP_HOST_HAS(h, run_serial) ? h->run_serial(run) : 0;
    size_t *todo = calloc(nr ? nr : 1, sizeof *todo);
    if (!todo) {
        for (size_t k = 0; k < nr; k++) {
            free(refs[k].arn);
            free(refs[k].version);
        }
        free(refs);
        free(of);
        return LMCP_ERR;
    }
    size_t nt = 0;
    if (serial) {
        pthread_mutex_lock(&s->mu);
        if (serial > s->serial)
            kept_new_run(s, serial);
        int64_t now_ms = h->monotonic_us() / 1000;
        for (size_t k = 0; k < nr; k++)
            if (!kept_take(s, &refs[k], serial, now_ms))
                todo[nt++] = k;
        pthread_mutex_unlock(&s->mu);
    } else {
        for (size_t k = 0; k < nr; k++)
            todo[nt++] = k;
    }
    if (h->log_enabled(LMCP_LOG_DEBUG) && nr)
        h->log(s->inst, LMCP_LOG_DEBUG, "%zu distinct schema%s in this batch: %zu fetched, %zu known from an earlier "
               "batch of this run or (pinned versions) from the previous run", nr, nr == 1 ? "" : "s", nt, nr - nt);
    fetch_ctx c = {s, refs, todo};
    h->parallel_for(nt, 0, fetch_one, &c);
    for (size_t i = 0; i < nt; i++) { /* a passing failure: the previous run's schema stays */
        schema_ref *r = &refs[todo[i]];
        char perr[200];
        lmcp_json *prev = !r->schema && r->transient && r->previous
                              ? h->json_parse(r->previous, strlen(r->previous), perr, sizeof perr)
                              : NULL;
        if (prev) {
            h->log(s->inst, LMCP_LOG_WARN, "schema %s%s%s: %s; its tools keep the schema of the previous discovery",
                   r->arn, r->version ? " version " : "", r->version ? r->version : "", r->problem ? r->problem : "");
            r->schema = prev;
            r->fetched_ms -= PINNED_REUSE_MS; /* not a fetch: a pinned one is asked again next run */
            free(r->problem);
            r->problem = NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (of[i] == (size_t)-1)
            continue;
        lmcp_function *fn = h->run_candidate(run, i);
        schema_ref *r = &refs[of[i]];
        char err[600];
        if (!r->schema) {
            h->log(s->inst, LMCP_LOG_WARN, "function %s: schema %s%s%s: %s; the tool keeps the generic schema",
                   h->fn_name(fn), r->arn, r->version ? " version " : "", r->version ? r->version : "",
                   r->problem ? r->problem : "unavailable");
        } else if (h->fn_set_input_schema(fn, r->schema, err, sizeof err) != LMCP_OK) {
            h->log(s->inst, LMCP_LOG_WARN, "function %s: schema %s cannot be an input schema: %s; the tool keeps the "
                   "generic schema", h->fn_name(fn), r->arn, err);
            /* the other functions sharing it would compile it again only to fail the same way */
            char why[700];
            snprintf(why, sizeof why, "it cannot be an input schema: %s", err);
            h->json_put(r->schema);
            r->schema = NULL;
            set_problem(r, "%s%s", why, NULL);
        } else if (h->log_enabled(LMCP_LOG_DEBUG)) {
            h->log(s->inst, LMCP_LOG_DEBUG, "function %s: input schema from %s", h->fn_name(fn), r->arn);
        }
    }
    if (serial && nt) {
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < nt; i++)
            kept_store(s, &refs[todo[i]], serial);
        pthread_mutex_unlock(&s->mu);
    }
    for (size_t k = 0; k < nr; k++) {
        free(refs[k].arn);
        free(refs[k].version);
        free(refs[k].problem);
        free(refs[k].previous);
        if (refs[k].schema)
            h->json_put(refs[k].schema);
    }
    free(todo);
    free(refs);
    free(of);
    return LMCP_OK;
}

static const lmcp_discovery_ops sr_ops = {
    .enrich = sr_enrich,
    .needs_tags = sr_needs_tags,
};

static const lmcp_plugin_def sr_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "schema-registry",
    .version = "1.0",
    .description = "tool input schemas from the EventBridge Schema Registry (FUNCTION_INPUT_SCHEMA_ARN_TAG_KEY)",
    .settings = sr_settings,
    .init = sr_init,
    .destroy = sr_destroy,
    .discovery = &sr_ops,
};

LMCP_PLUGIN_DEFINE(sr_plugin)
