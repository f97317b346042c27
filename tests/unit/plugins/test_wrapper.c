/* A valid wrapper plugin used by the unit tests: counts calls and can answer by itself. */
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

typedef struct st {
    const lmcp_host *host;
    int64_t answer;
} st;

static const lmcp_setting_def settings[] = {
    {"answer", LMCP_SETTING_INT, "0", NULL, "test:answer", 0, 0, "answer this number instead of calling next (0: pass)"},
    {"label", LMCP_SETTING_STRING, "x", NULL, NULL, 0, 0, "a label"},
    LMCP_SETTINGS_END,
};

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    st *s = calloc(1, sizeof *s);
    s->host = ctx->host;
    s->answer = ctx->host->setting_int(ctx->settings, "answer");
    *state = s;
    return LMCP_OK;
}

static void destroy(void *state) { free(state); }

static int invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    st *t = state;
    int64_t answer = t->host->setting_int(s, "answer");
    if (answer) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)answer);
        t->host->result_set_ok(res, buf, (size_t)n);
        return LMCP_OK;
    }
    return t->host->call_next(next, call, res);
}

static const lmcp_wrapper_ops ops = {.invoke = invoke};

static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "test_wrapper",
    .version = "0",
    .description = "unit-test wrapper",
    .settings = settings,
    .init = init,
    .destroy = destroy,
    .wrapper = &ops,
};

LMCP_PLUGIN_DEFINE(def)
