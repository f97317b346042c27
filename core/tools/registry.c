#include "config.h"
#include "tools/registry.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "tools/schema.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/str.h"

tool_snapshot *snapshot_new(void)
{
    tool_snapshot *s = xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    return s;
}

tool *snapshot_add(tool_snapshot *s)
{
    s->tools = xrealloc(s->tools, (s->n + 1) * sizeof *s->tools);
    tool *t = &s->tools[s->n++];
    memset(t, 0, sizeof *t);
    return t;
}

static int cmp_tool(const void *a, const void *b)
{
    return strcmp(((const tool *)a)->name, ((const tool *)b)->name);
}

static json_object *generic_schema(void)
{
    json_object *s = json_object_new_object();
    json_object_object_add(s, "type", json_object_new_string("object"));
    json_object_object_add(s, "properties", json_object_new_object());
    json_object_object_add(s, "additionalProperties", json_object_new_boolean(1));
    json_object_object_add(s, "description",
                           json_object_new_string("The event passed to the Lambda function: any JSON object."));
    return s;
}

/* Members of a schema's root that belong at the root of the document: the dialect, and the
 * definitions that local references ("#/$defs/X", "#/definitions/X") resolve against. */
static const char *const root_keywords[] = {"$schema", "$defs", "definitions"};

/* upstream's shape: {"parameters": {...}} required; takes inner (NULL: any object). The inner
 * schema's root keywords move to the wrapper's root, so its "#/..." references still resolve in
 * the document clients see (and the validator compiles) — unless the inner schema has an id of
 * its own, which makes it the base of its references wherever it sits. */
static json_object *wrap_parameters(json_object *inner)
{
    json_object *s = json_object_new_object();
    json_object *p = inner;
    if (!p) {
        p = json_object_new_object();
        json_object_object_add(p, "type", json_object_new_string("object"));
        json_object_object_add(p, "additionalProperties", json_object_new_boolean(1));
    } else if (!json_object_object_get_ex(p, "$id", NULL) && !json_object_object_get_ex(p, "id", NULL)) {
        for (size_t i = 0; i < sizeof root_keywords / sizeof *root_keywords; i++) {
            json_object *v = NULL;
            if (json_object_object_get_ex(p, root_keywords[i], &v)) {
                json_object_object_add(s, root_keywords[i], json_object_get(v));
                json_object_object_del(p, root_keywords[i]);
            }
        }
    }
    json_object_object_add(s, "type", json_object_new_string("object"));
    json_object *props = json_object_new_object();
    json_object_object_add(p, "title", json_object_new_string("Parameters"));
    json_object_object_add(props, "parameters", p);
    json_object_object_add(s, "properties", props);
    json_object *req = json_object_new_array();
    json_object_array_add(req, json_object_new_string("parameters"));
    json_object_object_add(s, "required", req);
    return s;
}

static json_object *parse_schema(const tool *t)
{
    if (!t->schema_text)
        return NULL;
    /* the same parser and depth limit as discovery's (json_parse_text), so a schema accepted
       there is read back here rather than silently replaced by the generic one */
    json_object *o = NULL;
    const char *err = NULL;
    if (!json_parse_strict(t->schema_text, strlen(t->schema_text), JSON_MAX_DEPTH, &o, &err) ||
        !json_object_is_type(o, json_type_object)) { /* cannot happen: it was serialised by us */
        LOG_DEBUG("tools", "tool %s: the stored input schema does not parse (%s)", t->name,
                  err ? err : "not an object");
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *tool_input_schema(const tool *t)
{
    json_object *own = parse_schema(t);
    if (t->wrap_parameters)
        return wrap_parameters(own);
    return own ? own : generic_schema();
}

const struct schema_validator *tool_validator(const tool *t)
{
    tool *mt = (tool *)t; /* a cache inside an immutable snapshot: published atomically */
    schema_validator *v = atomic_load(&mt->validator);
    /* without a schema of its own and without the wrapper, the schema is "any object", which
       tools/call already checks */
    if (v || (!t->schema_text && !t->wrap_parameters) || atomic_load(&mt->validator_failed))
        return v;
    /* the schema the client sees (what tools/list sends), so the arguments are checked against
       what was advertised, wrapper included */
    json_object *o = tool_input_schema(t);
    char err[512] = "";
    schema_validator *nv = schema_validator_new(o, err, sizeof err);
    json_object_put(o); /* the validator holds its own reference */
    if (!nv) {
        if (!atomic_exchange(&mt->validator_failed, true))
            LOG_WARN("tools", "tool %s: input schema cannot be compiled (%s): arguments are not checked", t->name, err);
        return NULL;
    }
    schema_validator *expected = NULL;
    if (!atomic_compare_exchange_strong(&mt->validator, &expected, nv)) {
        schema_validator_free(nv); /* another call compiled it first */
        return expected;
    }
    return nv;
}

json_object *tool_wire(const tool *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(t->name));
    if (t->title)
        json_object_object_add(o, "title", json_object_new_string(t->title));
    json_object_object_add(o, "description", json_object_new_string(t->description ? t->description : ""));
    json_object_object_add(o, "inputSchema", tool_input_schema(t));
    if (t->annotations && json_object_object_length(t->annotations) > 0)
        json_object_object_add(o, "annotations", json_object_get(t->annotations));
    return o;
}

void snapshot_finish(tool_snapshot *s)
{
    if (s->n > 1)
        qsort(s->tools, s->n, sizeof *s->tools, cmp_tool);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < s->n; i++) {
        tool *t = &s->tools[i];
        json_object *w = tool_wire(t);
        size_t len;
        const char *txt = json_object_to_json_string_length(w, JSON_C_TO_STRING_PLAIN, &len);
        EVP_DigestUpdate(md, txt, len);
        EVP_DigestUpdate(md, "\n", 1);
        json_object_put(w);
    }
    unsigned char d[32];
    unsigned dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    hex_encode(d, 32, s->digest);
}

const tool *snapshot_find(const tool_snapshot *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->tools[mid].name, name);
        if (c == 0)
            return &s->tools[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t snapshot_index_after(const tool_snapshot *s, const char *after)
{
    if (!after)
        return 0;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->tools[mid].name, after) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

tool_snapshot *snapshot_ref(tool_snapshot *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

static void tool_free(tool *t)
{
    free(t->name);
    free(t->title);
    free(t->description);
    free(t->schema_text);
    if (t->annotations)
        json_object_put(t->annotations);
    free(t->function_name);
    free(t->function_arn);
    free(t->qualifier);
    hdrs_free(&t->tags);
    schema_validator_free(atomic_load(&t->validator));
    for (size_t i = 0; i < t->n_wrapper_settings; i++)
        settings_release(t->wrapper_settings[i]);
    free(t->wrapper_settings);
}

void snapshot_release(tool_snapshot *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        tool_free(&s->tools[i]);
    free(s->tools);
    if (s->owner_release)
        s->owner_release(s->owner);
    free(s);
}

struct registry {
    pthread_mutex_t mu;
    tool_snapshot *cur;
    bool published;
};

registry *registry_new(void)
{
    registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->cur = snapshot_new();
    snapshot_finish(r->cur);
    return r;
}

void registry_free(registry *r)
{
    if (!r)
        return;
    snapshot_release(r->cur);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

tool_snapshot *registry_acquire(registry *r)
{
    pthread_mutex_lock(&r->mu);
    tool_snapshot *s = snapshot_ref(r->cur);
    pthread_mutex_unlock(&r->mu);
    return s;
}

bool registry_publish(registry *r, tool_snapshot *s)
{
    pthread_mutex_lock(&r->mu);
    bool changed = strcmp(r->cur->digest, s->digest) != 0;
    tool_snapshot *old = r->cur;
    r->cur = s;
    r->published = true;
    pthread_mutex_unlock(&r->mu);
    snapshot_release(old);
    return changed;
}

bool registry_has_published(registry *r)
{
    pthread_mutex_lock(&r->mu);
    bool p = r->published;
    pthread_mutex_unlock(&r->mu);
    return p;
}
