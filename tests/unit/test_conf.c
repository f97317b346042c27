/* The conf file: syntax and semantic errors with file:line, core settings types and bounds,
 * environment fallbacks and precedence, plugin lists, tool rules, the built-in default. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

static char *path;

static const char *load(app_config *c, const char *text, char *err, size_t errlen, int *rc)
{
    free(path);
    path = strdup("/tmp/lmcp-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    err[0] = '\0';
    *rc = app_config_load(c, path, err, errlen);
    unlink(path);
    return err;
}

/* the error must start with "<path>:<line>: " and contain `what` */
static void expect_error(const char *text, int line, const char *what)
{
    app_config c;
    char err[1024];
    int rc;
    load(&c, text, err, sizeof err, &rc);
    assert_int_equal(rc, -1);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
        fail_msg("expected \"%s...%s\", got \"%s\"", prefix, what, err);
    app_config_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("server = { page_size = 5 \n", 2, "syntax error");
    expect_error("\n\nsevrer = { };\n", 3, "unknown section 'sevrer'");
    expect_error("server = { page_size = \"many\"; };\n", 1, "setting 'page_size' of section server is a string, expected an integer");
    expect_error("server = {\n page_size = 0; };\n", 2, "must be between 1 and 10000");
    expect_error("server = {\n\n colour = 1; };\n", 3, "unknown setting 'colour' for section server");
    expect_error("aws = { max_attempts = 1.5; };\n", 1, "is a number, expected an integer");
    expect_error("aws = { timeout = \"soon\"; };\n", 1, "is not a duration");
    expect_error("aws = { endpoints = [\"x\"]; };\n", 1, "item 1 is not a \"key=value\" string");
    expect_error("aws = { endpoints = 5; };\n", 1, "expected a group of strings");
    expect_error("discovery = { tags_from = \"magic\"; };\n", 1, "tags_from must be auto, tagging-api or list-tags");
    expect_error("credentials = { plugin = \"env\"; };\n", 1, "'credentials' must be a list of plugin entries");
    expect_error("credentials = ( \"env\" );\n", 1, "each entry of 'credentials' must be a group");
    expect_error("wrappers = (\n { name = \"x\"; } );\n", 2, "names no plugin");
    expect_error("tools = ( { timeout = \"5s\"; } );\n", 1, "tool rule without 'match'");
    expect_error("tools = ( { match = \"a*\";\n   timeout = true; } );\n", 2, "setting 'timeout' of a tools rule is a boolean");
    expect_error("server = [ 1 ];\n", 1, "'server' must be a group");
    /* the entry keys: another type is an error, not an absent key */
    expect_error("credentials = ( { plugin = \"env\";\n name = 5; } );\n", 2, "'name' must be a non-empty string");
    expect_error("credentials = ( { path = 5; } );\n", 1, "'path' must be a non-empty string");
    expect_error("credentials = ( { plugin = \"\"; } );\n", 1, "'plugin' must be a non-empty string");
    expect_error("credentials = ( { plugin = \"../lib/env\"; } );\n", 1, "'plugin' is a name, not a file: write path =");
    /* two entries of one section with one name */
    expect_error("wrappers = ( { plugin = \"cache\"; },\n { plugin = \"cache\"; ttl = \"5s\"; } );\n", 2,
                 "'wrappers' already has an entry named 'cache' (at ");
    expect_error("discovery = { plugins = ( { plugin = \"prefix\"; prefix = \"a-\"; name = \"p\"; },\n"
                 "  { path = \"/opt/x/p.so\"; } ); };\n", 2, "'discovery.plugins' already has an entry named 'p'");
}

static void test_named_entries(void **state)
{
    (void)state;
    app_config c;
    char err[1024];
    int rc;
    load(&c,
         "credentials = ( { plugin = \"env\"; }, { plugin = \"profile\"; name = \"prod/ro\"; },\n"
         "                { plugin = \"profile\"; name = \"dev\"; } );\n"
         "discovery = { plugins = ( { plugin = \"prefix\"; prefix = \"a-\"; },\n"
         "                          { plugin = \"prefix\"; name = \"prefix-b\"; prefix = \"b-\"; } ); };\n",
         err, sizeof err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c.n_credentials, 3);
    assert_string_equal(c.credentials[1].name, "prod/ro");
    assert_int_equal(c.n_discovery, 2);
    assert_string_equal(c.discovery_plugins[1].name, "prefix-b");
    app_config_free(&c);
}

/* libconfig 1.5 wraps an integer literal wider than 32 bits without the L suffix: refused at its
 * line instead of running with another number (4294968320 would be 1024) */
static void test_wide_integers(void **state)
{
    (void)state;
    expect_error("server = {\n max_queued = 4294967297; };\n", 2, "the integer 4294967297 does not fit in 32 bits");
    expect_error("server = { max_queued = 0x100000001; };\n", 1, "with an L suffix (0x100000001L)");
    expect_error("server = { max_queued = -2147483649; };\n", 1, "the integer -2147483649 does not fit");
    expect_error("wrappers = ( { plugin = \"cache\";\n\n ttl = 3000000000; } );\n", 3, "does not fit in 32 bits");
    /* what is not an integer literal is left alone: comments, strings, names, floats, L suffixes */
    app_config c;
    char err[1024];
    int rc;
    load(&c,
         "# 99999999999 /* 99999999999 */ // 99999999999\n"
         "/* 99999999999\n 99999999999 */\n"
         "server = { instructions = \"99999999999 \\\" 99999999999\"; max_queued = 2147483647L;\n"
         "           page_size = 100; shutdown_grace = 2.5e3; tools_ttl = 86400000L; };\n"
         "tools = ( { match = \"t99999999999*\"; timeout = 0x7FFFFFFF; } );\n",
         err, sizeof err, &rc);
    /* the only error is max_queued's range: the value libconfig read is the one written */
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, ":4: setting 'max_queued' of section server is invalid: must be between 1 and 1000000"));
    app_config_free(&c);
    load(&c,
         "# 99999999999 /* 99999999999 */ // 99999999999\n"
         "server = { instructions = \"99999999999 \\\" 99999999999\"; max_queued = 1000000L;\n"
         "           tools_ttl = 86400000L; };\n"
         "wrappers = ( { plugin = \"rate-limit\"; rate = 2.5e3; global_rate = -1e-9; } );\n",
         err, sizeof err, &rc);
    assert_string_equal(err, "");
    assert_int_equal(rc, 0);
    assert_int_equal(settings_get_int(c.server, "max_queued"), 1000000);
    assert_int_equal(settings_get_duration_ms(c.server, "tools_ttl"), 86400000);
    app_config_free(&c);
}

/* strings reach MCP clients as JSON: a conf string that is not UTF-8 is refused at its line */
static void test_not_utf8(void **state)
{
    (void)state;
    expect_error("server = {\n instructions = \"caf\xe9\"; };\n", 2, "the value of 'instructions' is not valid UTF-8");
    expect_error("discovery = { plugins = ( { plugin = \"list\";\n functions = [\"a\",\n \"\xff\"]; } ); };\n", 3,
                 "the value of 'functions' is not valid UTF-8");
    app_config c;
    char err[1024];
    int rc;
    load(&c, "server = { instructions = \"caf\xc3\xa9 \xe2\x82\xac\"; };\n", err, sizeof err, &rc);
    assert_int_equal(rc, 0);
    app_config_free(&c);
}

static void test_io_error(void **state)
{
    (void)state;
    app_config c;
    char err[512];
    assert_int_equal(app_config_load(&c, "/nonexistent/lambda-mcp.conf", err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/lambda-mcp.conf: cannot read the conf file: No such file or directory");
    app_config_free(&c);
    assert_int_equal(app_config_load(&c, "/tmp", err, sizeof err), -1);
    assert_string_equal(err, "/tmp: cannot read the conf file: Is a directory");
    app_config_free(&c);
}

/* a conf file (or an @include) anyone could have edited is refused: it decides which plugins
 * run and where the calls and their arguments go */
static void test_untrusted_conf(void **state)
{
    (void)state;
    char dir[] = "/tmp/lmcp-conftrust-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128], inc[128], text[256], err[1024];
    snprintf(file, sizeof file, "%s/lambda-mcp.conf", dir);
    snprintf(inc, sizeof inc, "%s/more.conf", dir);
    snprintf(text, sizeof text, "@include \"%s\"\nserver = { max_queued = 7; };\n", inc);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    f = fopen(inc, "w");
    assert_non_null(f);
    fputs("aws = { max_attempts = 2; };\n", f);
    fclose(f);
    struct {
        mode_t file, inc, dir;
        const char *refused, *why; /* NULL: loads */
    } cases[] = {
        {0644, 0644, 0755, NULL, NULL},
        {0664, 0664, 0775, NULL, NULL}, /* group write is allowed */
        {0646, 0644, 0755, file, "refused: writable by every user; the conf file decides which plugins run"},
        {0644, 0666, 0755, inc, "refused: writable by every user"},
        {0644, 0644, 0777, file, "is writable by every user, who could replace it"},
        {0644, 0644, 01777, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(chmod(file, cases[i].file), 0);
        assert_int_equal(chmod(inc, cases[i].inc), 0);
        assert_int_equal(chmod(dir, cases[i].dir), 0);
        app_config c;
        err[0] = '\0';
        int rc = app_config_load(&c, file, err, sizeof err);
        if (cases[i].refused) {
            assert_int_equal(rc, -1);
            if (strncmp(err, cases[i].refused, strlen(cases[i].refused)) != 0 || !strstr(err, cases[i].why))
                fail_msg("case %zu: expected \"%s: ...%s\", got \"%s\"", i, cases[i].refused, cases[i].why, err);
        } else {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(settings_get_int(c.server, "max_queued"), 7);
        }
        app_config_free(&c);
    }
    chmod(dir, 0700);
    unlink(inc);
    unlink(file);
    rmdir(dir);
}

static void test_values_and_precedence(void **state)
{
    (void)state;
    app_config c;
    char err[1024];
    int rc;
    setenv("LAMBDA_MCP_LOG_LEVEL", "debug", 1);
    setenv("AWS_MAX_ATTEMPTS", "7", 1);
    load(&c,
         "server = { log_level = \"warn\"; shutdown_grace = \"1.5s\"; };\n"
         "aws = { endpoints = { lambda = \"http://127.0.0.1:1\"; }; };\n"
         "credentials = ( { plugin = \"env\"; }, { plugin = \"profile\"; name = \"prod\"; profile = \"p\"; } );\n"
         "discovery = { concurrency = 4; plugins = ( { plugin = \"prefix\"; prefix = \"x-\"; } ); };\n",
         err, sizeof err, &rc);
    assert_int_equal(rc, 0);
    /* conf beats environment */
    assert_string_equal(settings_get_string(c.server, "log_level"), "warn");
    /* environment beats default */
    assert_int_equal(settings_get_int(c.aws, "max_attempts"), 7);
    assert_string_equal(settings_origin(c.aws, "max_attempts"), "env AWS_MAX_ATTEMPTS");
    assert_int_equal(settings_get_duration_ms(c.server, "shutdown_grace"), 1500);
    assert_int_equal(settings_get_int(c.discovery, "concurrency"), 4);
    const char *const *k, *const *v;
    assert_int_equal(settings_get_map(c.aws, "endpoints", &k, &v), 1);
    assert_string_equal(k[0], "lambda");
    assert_string_equal(v[0], "http://127.0.0.1:1");
    assert_int_equal(c.n_credentials, 2);
    assert_string_equal(c.credentials[1].plugin, "profile");
    assert_string_equal(c.credentials[1].name, "prod");
    assert_int_equal(c.n_discovery, 1);
    char want[64];
    snprintf(want, sizeof want, "%s:4", path);
    assert_string_equal(c.discovery_plugins[0].origin, want);
    app_config_free(&c);
    unsetenv("LAMBDA_MCP_LOG_LEVEL");
    unsetenv("AWS_MAX_ATTEMPTS");

    setenv("AWS_MAX_ATTEMPTS", "lots", 1);
    load(&c, "", err, sizeof err, &rc);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "environment variable AWS_MAX_ATTEMPTS"));
    app_config_free(&c);
    unsetenv("AWS_MAX_ATTEMPTS");
}

static void test_tool_rules(void **state)
{
    (void)state;
    app_config c;
    char err[1024];
    int rc;
    load(&c,
         "tools = ( { match = \"*\"; parameters_wrapper = true; },\n"
         "          { match = [\"slow_*\", \"batch\"]; timeout = \"5m\"; },\n"
         "          { match = \"slow_x\"; timeout = 1000; } );\n",
         err, sizeof err, &rc);
    assert_int_equal(rc, 0);
    lmcp_settings *s = app_config_tool_settings(&c, "fast", NULL, NULL);
    assert_true(settings_get_bool(s, "parameters_wrapper"));
    assert_int_equal(settings_get_duration_ms(s, "timeout"), 0);
    settings_release(s);
    s = app_config_tool_settings(&c, "slow_y", NULL, NULL);
    assert_int_equal(settings_get_duration_ms(s, "timeout"), 300000);
    settings_release(s);
    s = app_config_tool_settings(&c, "slow_x", NULL, NULL); /* later rules win */
    assert_int_equal(settings_get_duration_ms(s, "timeout"), 1000);
    settings_release(s);
    s = app_config_tool_settings(&c, "batch", NULL, NULL);
    assert_int_equal(settings_get_duration_ms(s, "timeout"), 300000);
    settings_release(s);
    app_config_free(&c);
}

/* Rule patterns: '*' matches '_', classes work, overlapping rules apply in order (the later one
 * wins, an exact name is not special); a pattern that can match no tool name is refused. */
static void test_tool_rule_patterns(void **state)
{
    (void)state;
    app_config c;
    char err[1024];
    int rc;
    load(&c,
         "tools = ( { match = \"get_prices\"; timeout = 1000; },\n"
         "          { match = \"get*\"; timeout = 2000; },\n"
         "          { match = [\"[a-c]?_*\", \"x[!0-9]\"]; timeout = 3000; },\n"
         "          { match = \"bb_exact\"; timeout = 4000; } );\n",
         err, sizeof err, &rc);
    assert_int_equal(rc, 0);
    static const struct { const char *tool; int64_t ms; } want[] = {
        {"get_prices", 2000}, /* the later glob wins over the earlier exact name */
        {"getx", 2000},       {"ab_x", 3000}, {"ab_", 3000}, {"dd_x", 0},
        {"xa", 3000},         {"x1", 0},      {"bb_exact", 4000}, /* the later exact name wins */
        {"GET_prices", 0},    /* case-sensitive */
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        lmcp_settings *s = app_config_tool_settings(&c, want[i].tool, NULL, NULL);
        if (settings_get_duration_ms(s, "timeout") != want[i].ms)
            fail_msg("%s: timeout %lld, expected %lld", want[i].tool, (long long)settings_get_duration_ms(s, "timeout"),
                     (long long)want[i].ms);
        settings_release(s);
    }
    app_config_free(&c);
    expect_error("tools = ( { match = \"get-prices\"; timeout = 1; } );\n", 1,
                 "the pattern \"get-prices\" matches no tool: tool names hold only A-Z, a-z, 0-9 and _");
    expect_error("tools = ( { match = [\"ok_*\",\n \"fn.v2\"]; timeout = 1; } );\n", 2, "not '.'");
    expect_error("tools = ( { match = [\"ok_*\", \"caf\xc3\xa9\"]; timeout = 1; } );\n", 1, "not the byte 0xC3");
    expect_error("tools = ( { match = \"\"; timeout = 1; } );\n", 1, "an empty pattern matches no tool");
    expect_error("tools = ( { match = [ ]; timeout = 1; } );\n", 1, "'match' is an empty list");
    expect_error("tools = ( { match = (\"a\", 1); timeout = 1; } );\n", 1, "tool name patterns must be strings");
    expect_error("tools = ( { match = 5; timeout = 1; } );\n", 1, "'match' must be a tool name pattern");
}

static void test_builtin_default(void **state)
{
    (void)state;
    app_config c;
    char err[512];
    assert_int_equal(app_config_load(&c, NULL, err, sizeof err), 0);
    assert_int_equal(c.n_credentials, 5);
    assert_string_equal(c.credentials[0].plugin, "env");
    assert_string_equal(c.credentials[1].plugin, "profile");
    assert_string_equal(c.credentials[2].plugin, "web-identity");
    assert_string_equal(c.credentials[3].plugin, "container");
    assert_string_equal(c.credentials[4].plugin, "imds");
    assert_int_equal(c.n_discovery, 4);
    assert_string_equal(c.discovery_plugins[0].plugin, "prefix");
    assert_string_equal(c.discovery_plugins[1].plugin, "list");
    assert_string_equal(c.discovery_plugins[2].plugin, "tags");
    assert_string_equal(c.discovery_plugins[3].plugin, "schema-registry");
    assert_int_equal(c.n_wrappers, 0);
    assert_non_null(strstr(c.credentials[0].origin, "built-in default"));
    app_config_free(&c);

    /* a conf that leaves the lists out gets them, and an error about one of them names that conf,
       not a line of the built-in text */
    int rc;
    load(&c, "wrappers = ( { plugin = \"cache\"; } );\n", err, sizeof err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c.n_credentials, 5);
    char want[256];
    snprintf(want, sizeof want, "%s (no credentials section: the default chain)", path);
    assert_string_equal(c.credentials[4].origin, want);
    snprintf(want, sizeof want, "%s (no discovery.plugins: the default plugins)", path);
    assert_string_equal(c.discovery_plugins[0].origin, want);
    assert_int_equal(c.n_wrappers, 1);
    assert_non_null(strstr(c.wrappers[0].origin, path));
    app_config_free(&c);
}

static void test_settings_text(void **state)
{
    (void)state;
    static const lmcp_setting_def defs[] = {
        {"names", LMCP_SETTING_STRING_LIST, " a, b ,, c ", NULL, NULL, 0, 0, ""},
        {"pairs", LMCP_SETTING_STRING_MAP, "k=v, team = core", NULL, NULL, 0, 0, ""},
        {"ratio", LMCP_SETTING_DOUBLE, "0.5", NULL, NULL, 0, 0, ""},
        {"on", LMCP_SETTING_BOOL, "yes", NULL, NULL, 0, 0, ""},
        LMCP_SETTINGS_END,
    };
    char err[256];
    lmcp_settings *s = settings_new(defs, "test", err, sizeof err);
    assert_non_null(s);
    const char *const *items;
    assert_int_equal(settings_get_list(s, "names", &items), 3);
    assert_string_equal(items[2], "c");
    const char *const *k, *const *v;
    assert_int_equal(settings_get_map(s, "pairs", &k, &v), 2);
    assert_string_equal(k[1], "team");
    assert_string_equal(v[1], "core");
    assert_true(settings_get_double(s, "ratio") == 0.5);
    assert_true(settings_get_bool(s, "on"));
    assert_false(settings_is_set(s, "on"));
    /* a map from a conf file: a group, a "k=v" string, or a list of "k=v" strings (keys with ':') */
    config_t cf;
    config_init(&cf);
    assert_true(config_read_string(&cf, "a = { team = \"core\"; };\n"
                                        "b = \"lambda-mcp:expose=true, x/y=1\";\n"
                                        "c = [\"lambda-mcp:expose=true\", \"k=v=w\"];\n"
                                        "d = [\"novalue\"];\n"));
    static const char *const names[] = {"a", "b", "c"};
    static const char *const want_k[] = {"team", "x/y", "k"};
    static const char *const want_v[] = {"core", "1", "v=w"};
    for (int i = 0; i < 3; i++) {
        config_setting_t *grp = config_root_setting(&cf);
        lmcp_settings *m = settings_new(defs, "test", err, sizeof err);
        /* apply only the one key, renamed to "pairs" */
        config_setting_t *one = config_setting_get_member(grp, names[i]);
        config_t tmp;
        config_init(&tmp);
        config_setting_t *dst = config_setting_add(config_root_setting(&tmp), "pairs", config_setting_type(one));
        if (config_setting_type(one) == CONFIG_TYPE_STRING) {
            config_setting_set_string(dst, config_setting_get_string(one));
        } else if (config_setting_type(one) == CONFIG_TYPE_GROUP) {
            config_setting_set_string(config_setting_add(dst, "team", CONFIG_TYPE_STRING), "core");
        } else {
            for (int j = 0; j < config_setting_length(one); j++)
                config_setting_set_string_elem(dst, -1, config_setting_get_string_elem(one, j));
        }
        assert_int_equal(settings_apply_conf(m, config_root_setting(&tmp), NULL, err, sizeof err), 0);
        const char *const *mk, *const *mv;
        size_t n = settings_get_map(m, "pairs", &mk, &mv);
        assert_true(n >= 1);
        assert_string_equal(mk[n - 1], want_k[i]);
        assert_string_equal(mv[n - 1], want_v[i]);
        config_destroy(&tmp);
        settings_release(m);
    }
    config_setting_t *bad = config_setting_get_member(config_root_setting(&cf), "d");
    config_t tmp;
    config_init(&tmp);
    config_setting_t *dst = config_setting_add(config_root_setting(&tmp), "pairs", CONFIG_TYPE_ARRAY);
    config_setting_set_string_elem(dst, -1, config_setting_get_string_elem(bad, 0));
    lmcp_settings *m = settings_new(defs, "test", err, sizeof err);
    assert_int_equal(settings_apply_conf(m, config_root_setting(&tmp), NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a \"key=value\" string"));
    settings_release(m);
    config_destroy(&tmp);
    config_destroy(&cf);

    assert_int_equal(settings_apply_text(s, "pairs", "novalue", "tag t", err, sizeof err), -1);
    assert_non_null(strstr(err, "not a key=value pair"));
    assert_int_equal(settings_apply_text(s, "on", "maybe", "tag t", err, sizeof err), -1);
    /* tags and environment values: the same words in any case */
    assert_int_equal(settings_apply_text(s, "on", "TRUE", "tag t", err, sizeof err), 0);
    assert_true(settings_get_bool(s, "on"));
    assert_int_equal(settings_apply_text(s, "on", "Off", "tag t", err, sizeof err), 0);
    assert_false(settings_get_bool(s, "on"));
    assert_int_equal(settings_apply_text(s, "on", "false", "tag t", err, sizeof err), 0);
    assert_false(settings_get_bool(s, "on"));
    assert_true(settings_is_set(s, "on"));
    settings_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_io_error), cmocka_unit_test(test_untrusted_conf),
        cmocka_unit_test(test_wide_integers),  cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_values_and_precedence), cmocka_unit_test(test_tool_rules),
        cmocka_unit_test(test_tool_rule_patterns), cmocka_unit_test(test_named_entries),
        cmocka_unit_test(test_builtin_default), cmocka_unit_test(test_settings_text),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(path);
    return rc;
}
