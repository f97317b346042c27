/* A plugin declaring a setting the conf entry reserves ("path"): the loader must refuse it. */
#include <lambda-mcp/plugin.h>

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)state, (void)err, (void)errlen;
    return LMCP_OK;
}

static int resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    (void)state, (void)out, (void)err, (void)errlen;
    return LMCP_NOT_FOUND;
}

static const lmcp_setting_def settings[] = {
    {"path", LMCP_SETTING_STRING, NULL, NULL, NULL, 0, 0, "clashes with the conf entry's path"},
    LMCP_SETTINGS_END,
};
static const lmcp_credentials_ops ops = {.resolve = resolve};
static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "reserved_setting",
    .settings = settings,
    .init = init,
    .credentials = &ops,
};

LMCP_PLUGIN_DEFINE(def)
