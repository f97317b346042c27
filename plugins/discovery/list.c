/* discovery plugin "list": selects the functions named in a list (FUNCTION_LIST, comma
 * separated, names or ARNs), fetched directly with GetFunction in parallel, so a short list
 * never pays for listing the whole account. A name that does not exist is reported and skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

typedef struct list_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
    const char *const *names;
    size_t n;
} list_state;

static const lmcp_setting_def list_settings[] = {
    {"functions", LMCP_SETTING_STRING_LIST, "", "FUNCTION_LIST", NULL, 0, 0,
     "function names or ARNs to select (empty: this selector abstains)"},
    LMCP_SETTINGS_END,
};

static int list_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    list_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = ctx->host;
    s->inst = ctx->instance;
    /* the settings outlive the instance state: borrow the list */
    s->n = ctx->host->setting_list(ctx->settings, "functions", &s->names);
    *state = s;
    return LMCP_OK;
}

static void list_destroy(void *state) { free(state); }

static bool list_active(void *state) { return ((list_state *)state)->n > 0; }

typedef struct fetch_ctx {
    list_state *s;
    lmcp_discovery_run *run;
    lmcp_function **found;
} fetch_ctx;

static int fetch_one(void *arg, size_t i)
{
    fetch_ctx *c = arg;
    char err[512];
    int rc = c->s->host->run_fetch(c->run, c->s->names[i], &c->found[i], err, sizeof err);
    if (rc == LMCP_NOT_FOUND) {
        c->s->host->log(c->s->inst, LMCP_LOG_WARN, "function '%s' is in the list but %s: skipped", c->s->names[i],
                        err);
        return LMCP_OK;
    }
    if (rc != LMCP_OK) {
        c->s->host->log(c->s->inst, LMCP_LOG_ERROR, "cannot look up function '%s': %s", c->s->names[i], err);
        return LMCP_ERR;
    }
    return LMCP_OK;
}

static int list_select(void *state, lmcp_discovery_run *run)
{
    list_state *s = state;
    lmcp_function **found = calloc(s->n, sizeof *found);
    if (!found)
        return LMCP_ERR;
    fetch_ctx c = {s, run, found};
    int rc = s->host->parallel_for(s->n, 0, fetch_one, &c);
    if (rc == LMCP_OK)
        for (size_t i = 0; i < s->n; i++)
            if (found[i])
                s->host->run_select(run, found[i]);
    free(found);
    return rc;
}

static const lmcp_discovery_ops list_ops = {
    .active = list_active,
    .select = list_select,
};

static const lmcp_plugin_def list_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "list",
    .version = "1.0",
    .description = "select the functions named in a list (FUNCTION_LIST)",
    .settings = list_settings,
    .init = list_init,
    .destroy = list_destroy,
    .discovery = &list_ops,
};

LMCP_PLUGIN_DEFINE(list_plugin)
