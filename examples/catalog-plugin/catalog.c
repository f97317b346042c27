/* An out-of-tree lambda-mcp discovery plugin: tools from a JSON catalog file.
 *
 * Build it against an installed lambda-mcp with nothing but its SDK:
 *   cc -shared -fPIC -o catalog.so catalog.c $(pkg-config --cflags --libs lambda-mcp-plugin)
 *
 * The catalog names Lambda functions and says how each should look as a tool:
 *   { "tools": [ { "function": "orders-get",            (a function name or ARN; required)
 *                  "name": "get_order",                  (tool name; default: from the function)
 *                  "title": "Get an order",
 *                  "description": "Looks an order up by id.",
 *                  "inputSchema": { "type": "object", ... },
 *                  "annotations": { "readOnlyHint": true },
 *                  "qualifier": "live" } ] }
 * This plugin is a selector: its functions join those of the other selectors (prefix, list). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

typedef struct catalog {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const char *path;
} catalog;

static const lmcp_setting_def catalog_settings[] = {
    {"catalog", LMCP_SETTING_STRING, NULL, "CATALOG_FILE", NULL, 0, 0, "path of the JSON catalog file"},
    LMCP_SETTINGS_END,
};

static int catalog_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const char *path = ctx->host->setting_string(ctx->settings, "catalog");
    if (!path || !*path) {
        snprintf(err, errlen, "set `catalog` to the path of a JSON catalog file");
        return LMCP_ERR;
    }
    catalog *c = calloc(1, sizeof *c);
    if (!c)
        return LMCP_ERR;
    c->host = ctx->host;
    c->inst = ctx->instance;
    c->path = path; /* settings outlive the instance state */
    *state = c;
    return LMCP_OK;
}

static void catalog_destroy(void *state) { free(state); }

/* Read the whole file: the catalog is re-read at every discovery, so edits show up on refresh. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(data, cap);
            if (!p) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = p;
        }
        size_t r = fread(data + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return data;
}

static int catalog_select(void *state, lmcp_discovery_run *run)
{
    catalog *c = state;
    const lmcp_host *h = c->host;
    size_t len = 0;
    char *text = slurp(c->path, &len);
    if (!text) {
        h->run_fail(run, "cannot read the catalog %s", c->path);
        return LMCP_ERR;
    }
    char err[256];
    lmcp_json *doc = h->json_parse(text, len, err, sizeof err);
    free(text);
    if (!doc) {
        h->run_fail(run, "%s is not valid JSON: %s", c->path, err);
        return LMCP_ERR;
    }
    lmcp_json *tools = h->json_get(doc, "tools");
    size_t n = tools ? h->json_length(tools) : 0;
    for (size_t i = 0; i < n; i++) {
        lmcp_json *t = h->json_index(tools, i);
        const char *function = h->json_string(h->json_get(t, "function"));
        if (!function) {
            h->log(c->inst, LMCP_LOG_WARN, "%s: tools[%zu] has no \"function\": skipped", c->path, i);
            continue;
        }
        bool is_arn = strncmp(function, "arn:", 4) == 0;
        lmcp_function *fn = h->run_new_function(run, function, is_arn ? function : NULL);
        const char *s;
        if ((s = h->json_string(h->json_get(t, "name"))))
            h->fn_set_tool_name(fn, s);
        if ((s = h->json_string(h->json_get(t, "title"))))
            h->fn_set_title(fn, s);
        if ((s = h->json_string(h->json_get(t, "description"))))
            h->fn_set_description(fn, s);
        if ((s = h->json_string(h->json_get(t, "qualifier"))))
            h->fn_set_qualifier(fn, s);
        lmcp_json *schema = h->json_get(t, "inputSchema");
        if (schema && h->fn_set_input_schema(fn, schema, err, sizeof err) != LMCP_OK)
            h->log(c->inst, LMCP_LOG_WARN, "%s: tools[%zu] (%s): inputSchema not used: %s", c->path, i, function, err);
        lmcp_json *ann = h->json_get(t, "annotations");
        for (size_t k = 0; ann && k < h->json_length(ann); k++) {
            const char *hint = h->json_object_key(ann, k);
            lmcp_json *v = h->json_get(ann, hint);
            if (h->json_type(v) == LMCP_JSON_BOOL)
                h->fn_set_annotation(fn, hint, h->json_bool(v));
        }
        h->run_select(run, fn);
    }
    h->log(c->inst, LMCP_LOG_INFO, "%zu tool(s) from %s", n, c->path);
    h->json_put(doc);
    return LMCP_OK;
}

static const lmcp_discovery_ops catalog_ops = {.select = catalog_select};

static const lmcp_plugin_def catalog_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "catalog",
    .version = "1.0",
    .description = "tools from a JSON catalog file (an example vendor plugin)",
    .settings = catalog_settings,
    .init = catalog_init,
    .destroy = catalog_destroy,
    .discovery = &catalog_ops,
};

LMCP_PLUGIN_DEFINE(catalog_plugin)
