/* libFuzzer target: the conf loader (core/conf.c app_config_load): libconfig's parser, then the
 * integer-literal scanner (scan_int_literals), the UTF-8 check, the sections, settings values
 * (durations, sizes, booleans, globs) and plugin entry lists, and the per-tool settings.
 * The input is written to a file in a private temporary directory, which is the working
 * directory while it loads (libconfig reads a relative @include from there, so
 * @include "inc.conf" finds the file placed next to it). Inputs that name devices or
 * kernel files (/dev, /proc, /sys) are skipped: @include of /dev/zero is the conf author's own
 * doing, not input the server receives. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static char path[128];

static void write_file(const char *p, const void *d, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    if (n && fwrite(d, 1, n, f) != n)
        abort();
    fclose(f);
}

static void cleanup(void)
{
    unlink(path);
    char inc[160];
    snprintf(inc, sizeof inc, "%s/inc.conf", dir);
    unlink(inc);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/fuzz-conf-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/main.conf", dir);
    static const char inc[] = "server = { max_inflight = 4; };\n";
    char incp[160];
    snprintf(incp, sizeof incp, "%s/inc.conf", dir);
    write_file(incp, inc, sizeof inc - 1);
    atexit(cleanup);
    return 0;
}

static bool contains(const uint8_t *d, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(d + i, s, k) == 0)
            return true;
    return false;
}

static bool tag(void *ctx, const char *key, const char **value)
{
    (void)ctx, (void)key;
    *value = "5s";
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        LLVMFuzzerInitialize(NULL, NULL);
    if (contains(data, size, "/dev") || contains(data, size, "/proc") || contains(data, size, "/sys"))
        return 0;
    write_file(path, data, size);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0)
        abort();
    app_config c;
    char err[1024];
    if (app_config_load(&c, path, err, sizeof err) == 0) {
        lmcp_settings *s = app_config_tool_settings(&c, "some_tool", tag, NULL);
        settings_release(s);
    }
    app_config_free(&c);
    if (chdir(cwd) != 0)
        abort();
    return 0;
}
