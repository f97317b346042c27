/* A wrapper declaring a setting named "tools", which its override blocks reserve: refused. */
#include <lambda-mcp/plugin.h>

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)state, (void)err, (void)errlen;
    return LMCP_OK;
}

static int invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    (void)state, (void)s, (void)call, (void)res, (void)next;
    return LMCP_OK;
}

static const lmcp_setting_def settings[] = {
    {"tools", LMCP_SETTING_STRING_LIST, NULL, NULL, NULL, 0, 0, "clashes with the override blocks' tools"},
    LMCP_SETTINGS_END,
};
static const lmcp_wrapper_ops ops = {.invoke = invoke};
static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "wrapper_tools",
    .settings = settings,
    .init = init,
    .wrapper = &ops,
};

LMCP_PLUGIN_DEFINE(def)
