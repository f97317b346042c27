/* discovery plugin "prefix": selects the functions whose name starts with a prefix
 * (FUNCTION_PREFIX), and names their tools without it, as the upstream server does — for every
 * candidate that starts with the prefix, however it was selected. */
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

typedef struct prefix_state {
    const lmcp_host *host;
    char *prefix;
    size_t len;
    bool strip;
} prefix_state;

static const lmcp_setting_def prefix_settings[] = {
    {"prefix", LMCP_SETTING_STRING, "", "FUNCTION_PREFIX", NULL, 0, 0,
     "select functions whose name starts with this (empty: this selector abstains)"},
    {"strip", LMCP_SETTING_BOOL, "true", NULL, NULL, 0, 0, "remove the prefix from tool names (upstream behaviour)"},
    LMCP_SETTINGS_END,
};

static int prefix_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    prefix_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = ctx->host;
    const char *p = ctx->host->setting_string(ctx->settings, "prefix");
    s->prefix = strdup(p ? p : "");
    if (!s->prefix) {
        free(s);
        return LMCP_ERR;
    }
    s->len = strlen(s->prefix);
    s->strip = ctx->host->setting_bool(ctx->settings, "strip");
    *state = s;
    return LMCP_OK;
}

static void prefix_destroy(void *state)
{
    prefix_state *s = state;
    if (s)
        free(s->prefix);
    free(s);
}

static bool prefix_active(void *state) { return ((prefix_state *)state)->len > 0; }

static bool prefix_match(void *state, lmcp_function *fn)
{
    prefix_state *s = state;
    return s->len && strncmp(s->host->fn_name(fn), s->prefix, s->len) == 0;
}

static int prefix_enrich(void *state, lmcp_discovery_run *run)
{
    prefix_state *s = state;
    if (!s->len || !s->strip)
        return LMCP_OK;
    size_t n = s->host->run_count(run);
    for (size_t i = 0; i < n; i++) {
        lmcp_function *fn = s->host->run_candidate(run, i);
        const char *name = s->host->fn_name(fn);
        if (strncmp(name, s->prefix, s->len) == 0 && name[s->len])
            s->host->fn_set_tool_name(fn, name + s->len);
    }
    return LMCP_OK;
}

static const lmcp_discovery_ops prefix_ops = {
    .active = prefix_active,
    .match = prefix_match,
    .enrich = prefix_enrich,
};

static const lmcp_plugin_def prefix_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "prefix",
    .version = "1.0",
    .description = "select functions by name prefix (FUNCTION_PREFIX) and strip it from tool names",
    .settings = prefix_settings,
    .init = prefix_init,
    .destroy = prefix_destroy,
    .discovery = &prefix_ops,
};

LMCP_PLUGIN_DEFINE(prefix_plugin)
