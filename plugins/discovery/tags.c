/* discovery plugin "tags".
 *
 * Filter: keeps the candidates that carry every configured tag pair — FUNCTION_TAG_KEY and
 * FUNCTION_TAG_VALUE as upstream (only one of the two set: no function passes, with a warning
 * saying why), plus any pairs of the `tags` setting. Tags come from the host: one
 * GetResources chain for the whole account, or ListTags per candidate, as the conf says.
 *
 * Enricher: tool metadata from function tags (keys configurable): a title, the MCP annotations
 * readOnlyHint / destructiveHint / idempotentHint / openWorldHint ("true" or "false"), and a
 * qualifier (alias or version) to invoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lambda-mcp/plugin.h>

typedef enum { META_OFF, META_AUTO, META_ALWAYS } meta_mode;

typedef struct tags_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const lmcp_settings *settings;
    /* the pairs every function must carry */
    size_t n_pairs;
    const char **keys;
    const char **values;
    bool misconfigured;        /* only one of key/value: nothing passes (upstream rule) */
    meta_mode meta;
} tags_state;

static const lmcp_setting_def tags_settings[] = {
    {"key", LMCP_SETTING_STRING, "", "FUNCTION_TAG_KEY", NULL, 0, 0,
     "keep functions whose tag KEY has the value `value` (both must be set)"},
    {"value", LMCP_SETTING_STRING, "", "FUNCTION_TAG_VALUE", NULL, 0, 0, "the value the `key` tag must have"},
    {"tags", LMCP_SETTING_STRING_MAP, NULL, NULL, NULL, 0, 0,
     "more pairs a function must all carry: { team = \"core\"; } or [\"lambda-mcp:expose=true\", ...]"},
    {"metadata", LMCP_SETTING_STRING, "auto", NULL, NULL, 0, 0,
     "tool metadata from tags: auto (when tags are read anyway), always (read tags for it), off"},
    {"title_tag", LMCP_SETTING_STRING, "lambda-mcp:title", NULL, NULL, 0, 0, "tag holding the tool title"},
    {"read_only_tag", LMCP_SETTING_STRING, "lambda-mcp:read-only", NULL, NULL, 0, 0,
     "tag holding readOnlyHint (true/false)"},
    {"destructive_tag", LMCP_SETTING_STRING, "lambda-mcp:destructive", NULL, NULL, 0, 0,
     "tag holding destructiveHint (true/false)"},
    {"idempotent_tag", LMCP_SETTING_STRING, "lambda-mcp:idempotent", NULL, NULL, 0, 0,
     "tag holding idempotentHint (true/false)"},
    {"open_world_tag", LMCP_SETTING_STRING, "lambda-mcp:open-world", NULL, NULL, 0, 0,
     "tag holding openWorldHint (true/false)"},
    {"qualifier_tag", LMCP_SETTING_STRING, "lambda-mcp:qualifier", NULL, NULL, 0, 0,
     "tag holding the alias or version to invoke"},
    {"description_tag", LMCP_SETTING_STRING, "lambda-mcp:description", NULL, NULL, 0, 0,
     "tag holding a tool description that replaces the function's"},
    LMCP_SETTINGS_END,
};

static int tags_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    const lmcp_settings *st = ctx->settings;
    tags_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = h;
    s->inst = ctx->instance;
    s->settings = st;
    const char *key = h->setting_string(st, "key");
    const char *value = h->setting_string(st, "value");
    bool has_key = key && *key, has_value = value && *value;
    const char *const *mk = NULL, *const *mv = NULL;
    size_t nm = h->setting_map(st, "tags", &mk, &mv);
    s->keys = calloc(nm + 1, sizeof *s->keys);
    s->values = calloc(nm + 1, sizeof *s->values);
    if (!s->keys || !s->values) {
        free(s->keys);
        free(s->values);
        free(s);
        return LMCP_ERR;
    }
    if (has_key && has_value) {
        s->keys[s->n_pairs] = key;
        s->values[s->n_pairs++] = value;
    } else if (has_key || has_value) {
        s->misconfigured = true;
        h->log(s->inst, LMCP_LOG_WARN,
               "the tag %s is set (%s) but the tag %s is not: both FUNCTION_TAG_KEY and FUNCTION_TAG_VALUE (or `key` "
               "and `value`) must be set to filter by tag, so no function will be selected",
               has_key ? "key" : "value", h->setting_origin(st, has_key ? "key" : "value"), has_key ? "value" : "key");
    }
    for (size_t i = 0; i < nm; i++) {
        s->keys[s->n_pairs] = mk[i];
        s->values[s->n_pairs++] = mv[i];
    }
    const char *m = h->setting_string(st, "metadata");
    if (strcmp(m, "auto") == 0)
        s->meta = META_AUTO;
    else if (strcmp(m, "always") == 0)
        s->meta = META_ALWAYS;
    else if (strcmp(m, "off") == 0)
        s->meta = META_OFF;
    else {
        snprintf(err, errlen, "%s: metadata must be auto, always or off, not '%s'", h->setting_origin(st, "metadata"), m);
        free(s->keys);
        free(s->values);
        free(s);
        return LMCP_ERR;
    }
    *state = s;
    return LMCP_OK;
}

static void tags_destroy(void *state)
{
    tags_state *s = state;
    if (!s)
        return;
    free(s->keys);
    free(s->values);
    free(s);
}

static bool tags_needs(void *state)
{
    tags_state *s = state;
    return s->n_pairs > 0 || s->meta == META_ALWAYS;
}

static int tags_filter(void *state, lmcp_discovery_run *run)
{
    tags_state *s = state;
    const lmcp_host *h = s->host;
    size_t n = h->run_count(run);
    if (s->misconfigured) {
        for (size_t i = 0; i < n; i++)
            h->run_reject(run, h->run_candidate(run, i), "the tag filter is half configured");
        return LMCP_OK;
    }
    if (s->n_pairs == 0)
        return LMCP_OK;
    if (h->run_load_tags(run) != LMCP_OK) {
        /* never guess: letting untagged functions through would expose what was not meant to be */
        h->run_fail(run, "cannot read function tags to apply the tag filter");
        return LMCP_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        lmcp_function *fn = h->run_candidate(run, i);
        for (size_t k = 0; k < s->n_pairs; k++) {
            const char *v = h->fn_tag(fn, s->keys[k]);
            if (!v || strcmp(v, s->values[k]) != 0) {
                h->run_reject(run, fn, v ? "tag value differs" : h->fn_has_tags(fn) ? "tag missing" : "tags unreadable");
                break;
            }
        }
    }
    return LMCP_OK;
}

static int parse_bool(const char *v, bool *out)
{
    /* the same words, in any case, as the host accepts for boolean settings from tags */
    if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

static int tags_enrich(void *state, lmcp_discovery_run *run)
{
    tags_state *s = state;
    const lmcp_host *h = s->host;
    if (s->meta == META_OFF)
        return LMCP_OK;
    if (s->meta == META_ALWAYS && h->run_load_tags(run) != LMCP_OK)
        h->log(s->inst, LMCP_LOG_WARN, "cannot read function tags for tool metadata; tools keep their defaults");
    static const char *const hints[][2] = {
        {"read_only_tag", "readOnlyHint"},
        {"destructive_tag", "destructiveHint"},
        {"idempotent_tag", "idempotentHint"},
        {"open_world_tag", "openWorldHint"},
    };
    const char *title_tag = h->setting_string(s->settings, "title_tag");
    const char *qual_tag = h->setting_string(s->settings, "qualifier_tag");
    const char *desc_tag = h->setting_string(s->settings, "description_tag");
    size_t n = h->run_count(run);
    for (size_t i = 0; i < n; i++) {
        lmcp_function *fn = h->run_candidate(run, i);
        if (!h->fn_has_tags(fn))
            continue;
        const char *v;
        if (title_tag && *title_tag && (v = h->fn_tag(fn, title_tag)) && *v)
            h->fn_set_title(fn, v);
        if (desc_tag && *desc_tag && (v = h->fn_tag(fn, desc_tag)) && *v)
            h->fn_set_description(fn, v);
        if (qual_tag && *qual_tag && (v = h->fn_tag(fn, qual_tag)) && *v)
            h->fn_set_qualifier(fn, v);
        for (size_t k = 0; k < sizeof hints / sizeof *hints; k++) {
            const char *key = h->setting_string(s->settings, hints[k][0]);
            bool b;
            if (!key || !*key || !(v = h->fn_tag(fn, key)))
                continue;
            if (parse_bool(v, &b) == 0)
                h->fn_set_annotation(fn, hints[k][1], b);
            else
                h->log(s->inst, LMCP_LOG_WARN, "function %s: tag %s=%s is not true or false: ignored",
                       h->fn_name(fn), key, v);
        }
    }
    return LMCP_OK;
}

static const lmcp_discovery_ops tags_ops = {
    .filter = tags_filter,
    .enrich = tags_enrich,
    .needs_tags = tags_needs,
};

static const lmcp_plugin_def tags_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "tags",
    .version = "1.0",
    .description = "keep functions carrying tag pairs (FUNCTION_TAG_KEY/FUNCTION_TAG_VALUE); tool title, "
                   "annotations and qualifier from tags",
    .settings = tags_settings,
    .init = tags_init,
    .destroy = tags_destroy,
    .discovery = &tags_ops,
};

LMCP_PLUGIN_DEFINE(tags_plugin)
