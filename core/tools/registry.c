#include "config.h"
#include "tools/registry.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "tools/schema.h"
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

static json_object *tool_wire(const tool *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(t->name));
    if (t->title)
        json_object_object_add(o, "title", json_object_new_string(t->title));
    json_object_object_add(o, "description", json_object_new_string(t->description ? t->description : ""));
    json_object_object_add(o, "inputSchema", json_object_get(t->input_schema));
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
        if (!t->input_schema) {
            t->input_schema = json_object_new_object();
            json_object_object_add(t->input_schema, "type", json_object_new_string("object"));
        }
        if (t->wire)
            json_object_put(t->wire);
        t->wire = tool_wire(t);
        size_t len;
        const char *txt = json_object_to_json_string_length(t->wire, JSON_C_TO_STRING_PLAIN, &len);
        EVP_DigestUpdate(md, txt, len);
        EVP_DigestUpdate(md, "\n", 1);
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
    if (t->input_schema)
        json_object_put(t->input_schema);
    if (t->annotations)
        json_object_put(t->annotations);
    free(t->function_name);
    free(t->function_arn);
    free(t->qualifier);
    hdrs_free(&t->tags);
    schema_validator_free(t->validator);
    if (t->wire)
        json_object_put(t->wire);
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
    uint64_t generation;
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
    s->generation = ++r->generation;
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
