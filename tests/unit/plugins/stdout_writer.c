/* A credentials plugin that writes to stdout — with stdio and with write(2) — when it starts
 * and each time it is asked, and never has credentials: in server mode none of it may reach the
 * protocol stream (tests/integration/credentials/echoed-secrets.sh). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lambda-mcp/plugin.h>

static int init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    printf("stdout_writer: printf from init\n");
    fflush(stdout);
    *state = NULL;
    return LMCP_OK;
}

static int resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    (void)state, (void)out;
    static const char line[] = "stdout_writer: write(1) from resolve\n";
    ssize_t n = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)n;
    puts("stdout_writer: puts from resolve");
    fflush(stdout);
    snprintf(err, errlen, "stdout_writer never has credentials");
    return LMCP_NOT_FOUND;
}

static const lmcp_credentials_ops ops = {.resolve = resolve};
static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "stdout_writer",
    .init = init,
    .credentials = &ops,
};

LMCP_PLUGIN_DEFINE(def)
