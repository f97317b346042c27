/* A discovery plugin that selects with `match` alone, as the ABI allows. */
#include <string.h>

#include <lambda-mcp/plugin.h>

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)state, (void)err, (void)errlen;
    return LMCP_OK;
}

static bool match(void *state, lmcp_function *fn)
{
    (void)state, (void)fn;
    return true;
}

static const lmcp_discovery_ops ops = {.match = match};
static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_DISCOVERY,
    .name = "match_only",
    .init = init,
    .discovery = &ops,
};

LMCP_PLUGIN_DEFINE(def)
