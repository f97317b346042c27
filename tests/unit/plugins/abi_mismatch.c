/* A plugin built against a future ABI: the loader must refuse it before reading anything else. */
#include <lambda-mcp/plugin.h>

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)state, (void)err, (void)errlen;
    return LMCP_OK;
}

static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION + 1,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "abi_mismatch",
    .init = init,
};

LMCP_PLUGIN_DEFINE(def)
