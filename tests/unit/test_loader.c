/* The plugin loader: entry symbol, ABI version, kind checks, instance settings, per-tool
 * overrides and tag settings, and a wrapper in the chain. */
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
#include "host.h"
#include "invoke/call.h"
#include "invoke/chain.h"
#include "plugin.h"
#include "tools/registry.h"

static plugin_loader *loader;

static int setup(void **state)
{
    (void)state;
    loader = plugin_loader_new(LMCP_TEST_PLUGIN_DIR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    plugin_loader_free(loader);
    return 0;
}

static void test_wrong_abi(void **state)
{
    (void)state;
    char err[1024] = "";
    plugin_module *m = plugin_loader_load(loader, "abi_mismatch", NULL, LMCP_PLUGIN_DISCOVERY, err, sizeof err);
    assert_null(m);
    assert_non_null(strstr(err, "abi_mismatch.so"));
    char want[128];
    snprintf(want, sizeof want, "plugin ABI version %u, but lambda-mcp", LMCP_PLUGIN_ABI_VERSION + 1);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof want, "speaks plugin ABI version %u", LMCP_PLUGIN_ABI_VERSION);
    assert_non_null(strstr(err, want));
}

static void test_no_entry(void **state)
{
    (void)state;
    char err[1024] = "";
    assert_null(plugin_loader_load(loader, "no_entry", NULL, LMCP_PLUGIN_WRAPPER, err, sizeof err));
    assert_non_null(strstr(err, "no_entry.so"));
    assert_non_null(strstr(err, "no lmcp_plugin_entry symbol"));
}

/* <dir>/NAME.so must hold plugin NAME (a copy of env.so saved as foo.so would run as 'foo');
 * an explicit path may be named anything. */
static void test_file_named_after_its_plugin(void **state)
{
    (void)state;
    char dir[] = "/tmp/lmcp-loader-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[512], copy[256];
    snprintf(copy, sizeof copy, "%s/renamed.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s/match_only.so' '%s'", LMCP_TEST_PLUGIN_DIR, copy);
    assert_int_equal(system(cmd), 0);
    plugin_loader *l = plugin_loader_new(dir);
    char err[1024] = "";
    assert_null(plugin_loader_load(l, "renamed", NULL, LMCP_PLUGIN_DISCOVERY, err, sizeof err));
    assert_non_null(strstr(err, "this file holds plugin 'match_only', not 'renamed'"));
    assert_non_null(plugin_loader_load(l, "renamed", copy, LMCP_PLUGIN_DISCOVERY, err, sizeof err));
    plugin_loader_free(l);
    unlink(copy);
    rmdir(dir);
}

/* A plugin file someone else could have written is refused (it would run with the server's
 * AWS credentials): writable by every user, in a directory writable by every user without the
 * sticky bit, or owned by another user (checked when the test runs as root). */
static void test_untrusted_file_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/lmcp-trust-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[512], file[256], err[1024];
    snprintf(file, sizeof file, "%s/match_only.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s/match_only.so' '%s'", LMCP_TEST_PLUGIN_DIR, file);
    assert_int_equal(system(cmd), 0);
    struct {
        mode_t file, dir;
        const char *refusal; /* NULL: loads */
    } cases[] = {
        {0755, 0755, NULL},
        {0775, 0775, NULL}, /* group write: an ops group may own plugins */
        {0757, 0755, "writable by every user; a plugin runs with the server's AWS credentials (chmod o-w it)"},
        {0755, 0777, "is writable by every user, who could replace it"},
        {0755, 01777, NULL}, /* sticky, like /tmp: only the owner may replace the file */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(chmod(file, cases[i].file), 0);
        assert_int_equal(chmod(dir, cases[i].dir), 0);
        plugin_loader *l = plugin_loader_new(dir);
        err[0] = '\0';
        plugin_module *m = plugin_loader_load(l, "match_only", NULL, LMCP_PLUGIN_DISCOVERY, err, sizeof err);
        if (cases[i].refusal) {
            assert_null(m);
            assert_non_null(strstr(err, file));
            assert_non_null(strstr(err, cases[i].refusal));
        } else {
            assert_non_null(m);
        }
        plugin_loader_free(l);
    }
    chmod(dir, 0700);
    if (geteuid() == 0) {
        assert_int_equal(chown(file, 12345, 12345), 0);
        plugin_loader *l = plugin_loader_new(dir);
        assert_null(plugin_loader_load(l, "match_only", NULL, LMCP_PLUGIN_DISCOVERY, err, sizeof err));
        assert_non_null(strstr(err, "refused: owned by uid 12345, neither root nor the user lambda-mcp runs as"));
        plugin_loader_free(l);
    }
    unlink(file);
    rmdir(dir);
}

static void test_missing(void **state)
{
    (void)state;
    char err[1024] = "";
    assert_null(plugin_loader_load(loader, "does_not_exist", NULL, LMCP_PLUGIN_WRAPPER, err, sizeof err));
    assert_non_null(strstr(err, "no plugin named 'does_not_exist'"));
    assert_null(plugin_loader_load(loader, "x", "/nonexistent/x.so", LMCP_PLUGIN_WRAPPER, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/x.so"));
}

static void test_reserved_setting(void **state)
{
    (void)state;
    char err[1024] = "";
    assert_null(plugin_loader_load(loader, "reserved_setting", NULL, LMCP_PLUGIN_CREDENTIALS, err, sizeof err));
    assert_non_null(strstr(err, "reserved_setting.so: plugin declares a setting named plugin, name, path or overrides"));
}

static void test_match_only_and_wrapper_tools(void **state)
{
    (void)state;
    char err[1024] = "";
    /* a selector may work by match alone */
    assert_non_null(plugin_loader_load(loader, "match_only", NULL, LMCP_PLUGIN_DISCOVERY, err, sizeof err));
    /* a wrapper setting named "tools" could never be overridden per tool */
    assert_null(plugin_loader_load(loader, "wrapper_tools", NULL, LMCP_PLUGIN_WRAPPER, err, sizeof err));
    assert_non_null(strstr(err, "declares a setting named tools, which a wrapper's override blocks reserve"));
}

static void test_wrong_kind(void **state)
{
    (void)state;
    char err[1024] = "";
    assert_null(plugin_loader_load(loader, "test_wrapper", NULL, LMCP_PLUGIN_CREDENTIALS, err, sizeof err));
    assert_non_null(strstr(err, "is a wrapper plugin, but it is listed as a credentials plugin"));
    plugin_module *m = plugin_loader_load(loader, "test_wrapper", NULL, LMCP_PLUGIN_WRAPPER, err, sizeof err);
    assert_non_null(m);
    /* loaded once, cached */
    assert_ptr_equal(m, plugin_loader_load(loader, "test_wrapper", NULL, LMCP_PLUGIN_WRAPPER, err, sizeof err));
}

static char *write_conf(const char *text)
{
    char *path = strdup("/tmp/lmcp-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static plugin_instance *instance_from(const char *conf_text, app_config *cfg, char *err, size_t errlen)
{
    char *path = write_conf(conf_text);
    int rc = app_config_load(cfg, path, err, errlen);
    unlink(path);
    free(path);
    if (rc < 0)
        return NULL;
    assert_int_equal(cfg->n_wrappers, 1);
    plugin_module *m = plugin_loader_load(loader, cfg->wrappers[0].plugin, NULL, LMCP_PLUGIN_WRAPPER, err, errlen);
    assert_non_null(m);
    return plugin_instance_new(m, &cfg->wrappers[0], host_table(), NULL, err, errlen);
}

static void test_instance_settings_errors(void **state)
{
    (void)state;
    app_config cfg;
    char err[1024];
    assert_null(instance_from("wrappers = ( { plugin = \"test_wrapper\";\n  answr = 3; } );\n", &cfg, err, sizeof err));
    assert_non_null(strstr(err, ":2: unknown setting 'answr' for plugin test_wrapper (it accepts: answer, label)"));
    app_config_free(&cfg);
    assert_null(instance_from("wrappers = ( { plugin = \"test_wrapper\"; answer = \"three\"; } );\n", &cfg, err, sizeof err));
    assert_non_null(strstr(err, ":1: setting 'answer' of plugin test_wrapper is a string, expected an integer"));
    app_config_free(&cfg);
    assert_null(instance_from("wrappers = ( { plugin = \"test_wrapper\";\n overrides = ( { tools = \"a*\";\n"
                              "   lable = \"z\"; } ); } );\n",
                              &cfg, err, sizeof err));
    assert_non_null(strstr(err, ":3: unknown setting 'lable'"));
    app_config_free(&cfg);
    /* an override pattern no tool name can match would silently do nothing */
    assert_null(instance_from("wrappers = ( { plugin = \"test_wrapper\";\n overrides = ( { tools = [\"a*\",\n"
                              "   \"billing-*\"]; answer = 2; } ); } );\n",
                              &cfg, err, sizeof err));
    assert_non_null(strstr(err, ":3: 'tools': the pattern \"billing-*\" matches no tool"));
    app_config_free(&cfg);
    assert_null(instance_from("wrappers = ( { plugin = \"test_wrapper\"; overrides = ( { tools = [ ]; answer = 2; } ); } );\n",
                              &cfg, err, sizeof err));
    assert_non_null(strstr(err, ":1: 'tools' is an empty list"));
    app_config_free(&cfg);
}

/* A setting the plugin reads once for all tools (lmcp_plugin_def.instance_settings) cannot be set
 * in an overrides block: refused at its line rather than silently ignored. A plugin built before
 * that field was appended to ABI 1 (a shorter struct_size and object) loads, and the loader never
 * reads past its definition (valgrind / ASan would report it: the definition is a heap block of
 * exactly the old size). */
static void test_instance_wide_settings(void **state)
{
    (void)state;
    app_config cfg;
    char err[1024] = "";
    assert_null(instance_from("wrappers = ( { plugin = \"instance_wide\";\n overrides = ( { tools = \"a*\";\n"
                              "   label = \"z\"; } ); } );\n",
                              &cfg, err, sizeof err));
    assert_non_null(strstr(err, ":3: 'label' cannot be set per tool: plugin instance_wide reads it once for all tools"));
    app_config_free(&cfg);
    /* per tool, the other setting is fine */
    plugin_instance *inst = instance_from("wrappers = ( { plugin = \"instance_wide\"; label = \"y\";\n"
                                          " overrides = ( { tools = \"a*\"; answer = 2; } ); } );\n",
                                          &cfg, err, sizeof err);
    assert_non_null(inst);
    plugin_instance_free(inst);
    app_config_free(&cfg);

    err[0] = '\0';
    plugin_module *m = plugin_loader_load(loader, "old_layout", NULL, LMCP_PLUGIN_WRAPPER, err, sizeof err);
    assert_non_null(m);
    assert_string_equal(err, "");
    inst = instance_from("wrappers = ( { plugin = \"old_layout\";\n overrides = ( { tools = \"a*\";\n"
                         "   label = \"z\"; } ); } );\n",
                         &cfg, err, sizeof err);
    assert_non_null(inst);
    plugin_instance_free(inst);
    app_config_free(&cfg);
}

static bool tags(void *ctx, const char *key, const char **value)
{
    const char *const *kv = ctx;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0) {
            *value = kv[1];
            return true;
        }
    return false;
}

static void test_overrides_and_tags(void **state)
{
    (void)state;
    app_config cfg;
    char err[1024] = "";
    plugin_instance *inst = instance_from("wrappers = ( { plugin = \"test_wrapper\"; name = \"tw\"; answer = 1;\n"
                                          "  overrides = ( { tools = [\"billing_*\", \"x\"]; answer = 5; },\n"
                                          "                { tools = \"billing_eu\"; label = \"eu\"; } ); } );\n",
                                          &cfg, err, sizeof err);
    assert_non_null(inst);
    assert_string_equal(inst->name, "tw");
    const lmcp_host *h = host_table();
    lmcp_settings *s = plugin_instance_settings_for(inst, "other", NULL, NULL);
    assert_ptr_equal(s, inst->settings); /* nothing applies: shared */
    assert_int_equal(h->setting_int(s, "answer"), 1);
    settings_release(s);
    s = plugin_instance_settings_for(inst, "billing_eu", NULL, NULL);
    assert_int_equal(h->setting_int(s, "answer"), 5);
    assert_string_equal(h->setting_string(s, "label"), "eu");
    assert_non_null(strstr(h->setting_origin(s, "answer"), ":2"));
    settings_release(s);
    /* a function tag applies unless a conf override says otherwise */
    const char *kv[] = {"test:answer", "9", NULL, NULL};
    s = plugin_instance_settings_for(inst, "other", tags, (void *)kv);
    assert_int_equal(h->setting_int(s, "answer"), 9);
    assert_string_equal(h->setting_origin(s, "answer"), "tag test:answer");
    settings_release(s);
    s = plugin_instance_settings_for(inst, "billing_us", tags, (void *)kv);
    assert_int_equal(h->setting_int(s, "answer"), 5);
    settings_release(s);
    /* a malformed tag value is ignored (logged) */
    const char *bad[] = {"test:answer", "lots", NULL, NULL};
    s = plugin_instance_settings_for(inst, "other", tags, (void *)bad);
    assert_int_equal(h->setting_int(s, "answer"), 1);
    settings_release(s);
    plugin_instance_free(inst);
    app_config_free(&cfg);
}

static int terminal_calls;
static int terminal(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx, (void)call;
    terminal_calls++;
    result_set_ok(res, "\"from lambda\"", 13);
    return LMCP_OK;
}

static void test_chain(void **state)
{
    (void)state;
    app_config cfg;
    char err[1024] = "";
    plugin_instance *inst = instance_from(
        "wrappers = ( { plugin = \"test_wrapper\"; overrides = ( { tools = \"short\"; answer = 42; } ); } );\n", &cfg,
        err, sizeof err);
    assert_non_null(inst);
    chain *c = chain_new(terminal, NULL);
    chain_append(c, inst);
    tool_snapshot *snap = snapshot_new();
    const char *names[] = {"short", "long"};
    for (int i = 0; i < 2; i++) {
        tool *t = snapshot_add(snap);
        t->name = strdup(names[i]);
        t->function_name = strdup(names[i]);
        t->n_wrapper_settings = 1;
        t->wrapper_settings = calloc(1, sizeof *t->wrapper_settings);
    }
    snapshot_finish(snap);
    for (size_t i = 0; i < snap->n; i++)
        snap->tools[i].wrapper_settings[0] = plugin_instance_settings_for(inst, snap->tools[i].name, NULL, NULL);
    lmcp_result res;
    result_init(&res);
    lmcp_call *call = call_new(snap, snapshot_find(snap, "short"), NULL, 0);
    terminal_calls = 0;
    chain_run(c, call, &res);
    assert_int_equal(terminal_calls, 0);
    assert_string_equal(res.payload.data, "42");
    call_release(call);
    call = call_new(snap, snapshot_find(snap, "long"), NULL, 0);
    chain_run(c, call, &res);
    assert_int_equal(terminal_calls, 1);
    assert_string_equal(res.payload.data, "\"from lambda\"");
    call_cancel(call);
    chain_run(c, call, &res);
    assert_int_equal(res.outcome, LMCP_OUTCOME_CANCELLED);
    assert_int_equal(terminal_calls, 1);
    call_release(call);
    result_clear(&res);
    snapshot_release(snap);
    chain_free(c);
    plugin_instance_free(inst);
    app_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_abi),         cmocka_unit_test(test_no_entry),
        cmocka_unit_test(test_missing),           cmocka_unit_test(test_file_named_after_its_plugin),           cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_reserved_setting),  cmocka_unit_test(test_match_only_and_wrapper_tools),
        cmocka_unit_test(test_instance_settings_errors), cmocka_unit_test(test_overrides_and_tags),
        cmocka_unit_test(test_instance_wide_settings),   cmocka_unit_test(test_untrusted_file_refused),
        cmocka_unit_test(test_chain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
