/* A wrapper plugin with one setting read once for all tools ("label", declared in
 * instance_settings), built twice (tests/unit/Makefile.inc):
 *   instance_wide.so  the current definition: an overrides block that sets "label" is refused;
 *   old_layout.so     (-DOLD_LAYOUT) the definition as a plugin built before instance_settings
 *                     was appended to ABI 1 saw it: struct_size and the object itself end before
 *                     that field (a heap block of exactly that size, so that valgrind or ASan
 *                     report a loader that reads past it); it loads, and "label" in an overrides
 *                     block is accepted, since this plugin never said it was instance-wide. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

static const lmcp_setting_def settings[] = {
    {"answer", LMCP_SETTING_INT, "0", NULL, NULL, 0, 0, "answer this number instead of calling next (0: pass)"},
    {"label", LMCP_SETTING_STRING, "x", NULL, NULL, 0, 0, "read once, in init"},
    LMCP_SETTINGS_END,
};

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    *state = NULL;
    return LMCP_OK;
}

static int invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    (void)state, (void)s;
    (void)next;
    (void)call;
    (void)res;
    return LMCP_OK;
}

static const lmcp_wrapper_ops ops = {.invoke = invoke};
static const char *const wide[] = {"label", NULL};

static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
#ifdef OLD_LAYOUT
    .name = "old_layout",
#else
    .name = "instance_wide",
#endif
    .kind = LMCP_PLUGIN_WRAPPER,
    .version = "0",
    .description = "unit-test wrapper: instance_settings",
    .settings = settings,
    .init = init,
    .wrapper = &ops,
    .instance_settings = wide,
};

#ifdef OLD_LAYOUT
#define OLD_SIZE offsetof(lmcp_plugin_def, instance_settings)
static void *old; /* the definition, OLD_SIZE bytes; freed when the library is unloaded */

__attribute__((destructor)) static void drop(void) { free(old); }

LMCP_EXPORT const lmcp_plugin_def *lmcp_plugin_entry(void);
LMCP_EXPORT const lmcp_plugin_def *lmcp_plugin_entry(void)
{
    if (!old) {
        lmcp_plugin_def d = def;
        d.struct_size = (uint32_t)OLD_SIZE;
        old = malloc(OLD_SIZE);
        if (!old)
            return NULL;
        memcpy(old, &d, OLD_SIZE);
    }
    return old;
}
#else
LMCP_PLUGIN_DEFINE(def)
#endif
