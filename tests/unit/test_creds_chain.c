/* The credentials chain: first success wins, NOT_FOUND moves on, refresh ahead of expiry by one
 * caller while the others keep the valid credentials, a failed refresh keeps serving until real
 * expiry, "nothing found" is remembered for a few seconds, a plugin asking for the server's own
 * credentials from inside resolve() gets an error instead of a deadlock. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "credentials/chain.h"
#include "credentials/credentials.h"
#include "host.h"
#include "plugin.h"
#include "util/clock.h"

#include "../../plugins/credentials/common/hostjson.h"

typedef struct src {
    const char *name;
    int rc;              /* what resolve answers */
    int64_t life_ms;     /* lifetime of the credentials it hands out (0: none) */
    atomic_int calls;
    int64_t delay_ms;    /* resolve takes this long */
    bool loop;           /* ask the chain itself from inside resolve */
    int serial;
} src;

static creds_chain *g_chain;

static int src_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    src *s = state;
    atomic_fetch_add(&s->calls, 1);
    clock_sleep_ms(s->delay_ms);
    if (s->loop) {
        lmcp_credentials *c = NULL;
        char e[512];
        int rc = creds_chain_get(g_chain, &c, e, sizeof e);
        credentials_free(c);
        snprintf(err, errlen, "%s", e);
        return rc == LMCP_OK ? LMCP_OK : LMCP_ERR;
    }
    if (s->rc != LMCP_OK) {
        snprintf(err, errlen, "%s says no", s->name);
        return s->rc;
    }
    char akid[32];
    snprintf(akid, sizeof akid, "AKIDTEST%s%04d", s->name, ++s->serial);
    credentials_set(out, akid, "secret", NULL, s->life_ms ? clock_wall_ms() + s->life_ms : 0);
    return LMCP_OK;
}

static int src_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)ctx, (void)state, (void)err, (void)errlen;
    return LMCP_OK;
}

static const lmcp_credentials_ops ops = {.resolve = src_resolve};
static const lmcp_plugin_def def = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "src",
    .init = src_init,
    .credentials = &ops,
};
static plugin_module module = {.path = "test", .def = &def};

static plugin_instance *inst_of(src *s)
{
    char err[256];
    plugin_instance *i = plugin_instance_new(&module, NULL, host_table(), NULL, err, sizeof err);
    assert_non_null(i);
    i->state = s;
    free(i->name);
    i->name = strdup(s->name);
    return i;
}

static void free_insts(plugin_instance **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i]->state = NULL;
        plugin_instance_free(v[i]);
    }
}

static const char *get_akid(creds_chain *c, char *err, size_t errlen)
{
    static char akid[64];
    lmcp_credentials *cr = NULL;
    if (creds_chain_get(c, &cr, err, errlen) != LMCP_OK)
        return NULL;
    snprintf(akid, sizeof akid, "%s", cr->access_key_id);
    credentials_free(cr);
    return akid;
}

static void test_order_and_negative_cache(void **state)
{
    (void)state;
    src a = {.name = "a", .rc = LMCP_NOT_FOUND}, b = {.name = "b", .rc = LMCP_ERR};
    plugin_instance *v[2] = {inst_of(&a), inst_of(&b)};
    creds_chain *c = creds_chain_new(v, 2);
    char err[1024];
    assert_null(get_akid(c, err, sizeof err));
    assert_non_null(strstr(err, "a: a says no"));
    assert_non_null(strstr(err, "b: b says no"));
    assert_int_equal(a.calls, 1);
    /* within the negative cache window the chain is not walked again */
    assert_null(get_akid(c, err, sizeof err));
    assert_int_equal(a.calls, 1);
    assert_non_null(strstr(err, "b says no"));
    creds_chain_free(c);
    free_insts(v, 2);

    src x = {.name = "x", .rc = LMCP_NOT_FOUND}, y = {.name = "y", .rc = LMCP_OK};
    plugin_instance *w[2] = {inst_of(&x), inst_of(&y)};
    c = creds_chain_new(w, 2);
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTy0001");
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTy0001"); /* cached, no expiry */
    assert_int_equal(y.calls, 1);
    creds_chain_free(c);
    free_insts(w, 2);
}

static void test_loop_guard(void **state)
{
    (void)state;
    src l = {.name = "loop", .rc = LMCP_OK, .loop = true};
    plugin_instance *v[1] = {inst_of(&l)};
    g_chain = creds_chain_new(v, 1);
    char err[1024];
    assert_null(get_akid(g_chain, err, sizeof err)); /* returns: no deadlock */
    assert_non_null(strstr(err, "while they were being resolved"));
    creds_chain_free(g_chain);
    g_chain = NULL;
    free_insts(v, 1);
}

typedef struct getter {
    creds_chain *c;
    char akid[64];
    int64_t took_ms;
} getter;

static void *get_thread(void *arg)
{
    getter *g = arg;
    char err[256];
    int64_t t0 = clock_mono_us();
    const char *a = get_akid(g->c, err, sizeof err);
    g->took_ms = (clock_mono_us() - t0) / 1000;
    snprintf(g->akid, sizeof g->akid, "%s", a ? a : "NONE");
    return NULL;
}

static void test_refresh_ahead(void **state)
{
    (void)state;
    /* 4 s credentials: refreshed after half their life, by one caller, while others keep them;
       they stop being handed out 1 s before they expire */
    src s = {.name = "s", .rc = LMCP_OK, .life_ms = 4000};
    plugin_instance *v[1] = {inst_of(&s)};
    creds_chain *c = creds_chain_new(v, 1);
    char err[256];
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTs0001");
    clock_sleep_ms(2100); /* inside the refresh window, not expired */
    s.delay_ms = 400;     /* the refresh is slow */
    getter g[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (getter){.c = c};
        pthread_create(&th[i], NULL, get_thread, &g[i]);
        clock_sleep_ms(20);
    }
    int fresh = 0, fast = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (strcmp(g[i].akid, "AKIDTESTs0002") == 0)
            fresh++;
        else
            assert_string_equal(g[i].akid, "AKIDTESTs0001");
        if (g[i].took_ms < 200)
            fast++;
    }
    assert_int_equal(s.calls, 2);       /* one refresh, not four */
    assert_true(fresh >= 1);
    assert_int_equal(fast, 3);          /* the others did not wait for it */
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTs0002");

    /* a failed refresh keeps serving the current credentials until they really expire */
    clock_sleep_ms(2100);
    s.rc = LMCP_ERR;
    s.delay_ms = 0;
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTs0002");
    clock_sleep_ms(1000); /* now within the last second: no longer handed out */
    assert_null(get_akid(c, err, sizeof err));
    assert_non_null(strstr(err, "could not be refreshed"));
    creds_chain_free(c);
    free_insts(v, 1);
}

/* cc_jint (plugins/credentials/common/hostjson.h) through the real host: integers, floats
 * truncated, anything beyond the int64 range clamped (the parser keeps such numbers as doubles;
 * casting one to int64_t would be undefined), non-numbers refused. */
static void test_cc_jint(void **state)
{
    (void)state;
    const lmcp_host *h = host_table();
    const char *text = "{\"i\":28800,\"f\":1.9,\"big\":99999999999999999999999,"
                       "\"neg\":-99999999999999999999999,\"u\":18446744073709551615,\"s\":\"7\"}";
    char err[100];
    lmcp_json *j = h->json_parse(text, strlen(text), err, sizeof err);
    assert_non_null(j);
    int64_t v = 0;
    assert_true(cc_jint(h, j, "i", &v));
    assert_int_equal(v, 28800);
    assert_true(cc_jint(h, j, "f", &v));
    assert_int_equal(v, 1);
    assert_true(cc_jint(h, j, "big", &v));
    assert_true(v == INT64_MAX);
    assert_true(cc_jint(h, j, "neg", &v));
    assert_true(v == INT64_MIN);
    assert_true(cc_jint(h, j, "u", &v));
    assert_true(v == INT64_MAX);
    assert_false(cc_jint(h, j, "s", &v));
    assert_false(cc_jint(h, j, "absent", &v));
    assert_false(cc_jint(h, NULL, "i", &v));
    h->json_put(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_negative_cache),
        cmocka_unit_test(test_loop_guard),
        cmocka_unit_test(test_refresh_ahead),
        cmocka_unit_test(test_cc_jint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
