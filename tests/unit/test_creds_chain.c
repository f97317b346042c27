/* The credentials chain: first success wins, NOT_FOUND moves on, refresh ahead of expiry in the
 * background while every caller keeps the valid credentials, a failed refresh keeps serving until
 * real expiry, callers without credentials wait only until their deadline or cancellation,
 * "nothing found" (or credentials expired when fetched) is remembered for a few seconds, a plugin
 * asking for the server's own credentials from inside resolve() gets an error instead of a
 * deadlock. */
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
#include <unistd.h>
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
    int64_t deadline_us;
    const volatile int *cancel;
    int rc;
    char err[512];
} getter;

static void *get_thread(void *arg)
{
    getter *g = arg;
    lmcp_credentials *cr = NULL;
    int64_t t0 = clock_mono_us();
    g->rc = creds_chain_get_until(g->c, g->deadline_us, g->cancel, &cr, g->err, sizeof g->err);
    g->took_ms = (clock_mono_us() - t0) / 1000;
    snprintf(g->akid, sizeof g->akid, "%s", g->rc == LMCP_OK ? cr->access_key_id : "NONE");
    credentials_free(cr);
    return NULL;
}

/* Found in review: the first caller in the refresh window refreshed the credentials itself, with
 * no deadline, while they were still valid (a 15 s credential_process made a 3 s call take 15 s).
 * Now every caller gets the valid credentials at once and one background walk refreshes them. */
static void test_refresh_in_background(void **state)
{
    (void)state;
    /* 6 s credentials: due for a refresh after half their life, no longer handed out in their
       last second */
    src s = {.name = "s", .rc = LMCP_OK, .life_ms = 6000};
    plugin_instance *v[1] = {inst_of(&s)};
    creds_chain *c = creds_chain_new(v, 1);
    char err[256];
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTs0001");
    clock_sleep_ms(3100); /* inside the refresh window, 1.9 s before they stop being handed out */
    s.delay_ms = 1500;    /* the refresh is slow */
    getter g[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (getter){.c = c};
        pthread_create(&th[i], NULL, get_thread, &g[i]);
        clock_sleep_ms(20);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(g[i].rc, LMCP_OK);
        assert_string_equal(g[i].akid, "AKIDTESTs0001"); /* the valid ones, */
        if (g[i].took_ms >= 750)                           /* at once: nobody waited for the refresh */
            fail_msg("caller %d waited %lld ms for a refresh while it had valid credentials", i,
                     (long long)g[i].took_ms);
    }
    /* the refresh went on in the background, once; its result is what comes next */
    const char *a = NULL;
    for (int i = 0; i < 200; i++) {
        a = get_akid(c, err, sizeof err);
        if (a && strcmp(a, "AKIDTESTs0002") == 0)
            break;
        clock_sleep_ms(50);
    }
    assert_non_null(a);
    assert_string_equal(a, "AKIDTESTs0002");
    assert_int_equal(s.calls, 2);
    creds_chain_free(c);
    free_insts(v, 1);
}

static void test_failed_refresh_keeps_serving(void **state)
{
    (void)state;
    /* a failed refresh keeps serving the current credentials until they really expire */
    src s = {.name = "s", .rc = LMCP_OK, .life_ms = 4000};
    plugin_instance *v[1] = {inst_of(&s)};
    creds_chain *c = creds_chain_new(v, 1);
    char err[1024];
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTs0001");
    clock_sleep_ms(2100); /* due for a refresh, 0.9 s before they stop being handed out */
    s.rc = LMCP_ERR;
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTs0001");
    clock_sleep_ms(1000); /* now within the last second: no longer handed out */
    assert_null(get_akid(c, err, sizeof err));
    assert_non_null(strstr(err, "could not be refreshed"));
    assert_non_null(strstr(err, "s says no"));
    assert_int_equal(s.calls, 3); /* the first fetch, the background refresh, the last walk */
    assert_null(get_akid(c, err, sizeof err)); /* remembered for a few seconds */
    assert_int_equal(s.calls, 3);
    creds_chain_free(c);
    free_insts(v, 1);
}

/* Found in review: callers without valid credentials waited for the walk with no limit. They wait
 * until their deadline or their cancellation; the walk goes on and later callers get its result. */
static void test_wait_bounded(void **state)
{
    (void)state;
    src s = {.name = "slow", .rc = LMCP_OK, .delay_ms = 3000};
    plugin_instance *v[1] = {inst_of(&s)};
    creds_chain *c = creds_chain_new(v, 1);

    getter g = {.c = c, .deadline_us = clock_mono_us() + 300 * 1000};
    get_thread(&g);
    assert_int_equal(g.rc, LMCP_TIMEOUT);
    assert_true(g.took_ms < 2500);
    assert_non_null(strstr(g.err, "timed out after waiting"));
    assert_non_null(strstr(g.err, "no credentials were fetched yet"));

    int cancel = 0;
    getter gc = {.c = c, .cancel = &cancel};
    pthread_t th;
    pthread_create(&th, NULL, get_thread, &gc);
    clock_sleep_ms(200);
    __atomic_store_n(&cancel, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    assert_int_equal(gc.rc, LMCP_CANCELLED);
    assert_true(gc.took_ms < 2000);
    assert_non_null(strstr(gc.err, "cancelled after waiting"));

    /* a deadline already past: no wait at all */
    getter gp = {.c = c, .deadline_us = clock_mono_us() - 1};
    get_thread(&gp);
    assert_int_equal(gp.rc, LMCP_TIMEOUT);

    /* no limit: waits for the same walk, which the others did not restart */
    char err[256];
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTslow0001");
    assert_int_equal(s.calls, 1);
    creds_chain_free(c);
    free_insts(v, 1);
}

/* stderr to a file, for the log */
static int capture_begin(char *path)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = mkstemp(path);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static int capture_end(int saved, const char *path, const char *needle)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, fp))
        if (strstr(line, needle))
            n++;
    fclose(fp);
    unlink(path);
    return n;
}

/* Found in review: credentials that had already expired (or expire within the last second) when
 * they were fetched were handed out, never cached, so every call walked the whole chain again
 * and then got ExpiredToken from AWS. Now: a failed walk with a clear error, remembered like
 * "nothing found" (no walk for a few seconds), warned about once. */
static void test_expired_when_fetched(void **state)
{
    (void)state;
    src s = {.name = "old", .rc = LMCP_OK, .life_ms = -60000};
    plugin_instance *v[1] = {inst_of(&s)};
    creds_chain *c = creds_chain_new(v, 1);
    char err[1024];
    char path[] = "/tmp/lmcp-test-chain-log.XXXXXX";
    int saved = capture_begin(path);
    assert_null(get_akid(c, err, sizeof err));
    assert_non_null(strstr(err, "old returned credentials that had already expired at "));
    assert_non_null(strstr(err, "clock"));
    assert_null(get_akid(c, err, sizeof err)); /* not walked again at once */
    assert_int_equal(s.calls, 1);
    clock_sleep_ms(5100); /* after the back-off: walked again, the same answer, no second warning */
    assert_null(get_akid(c, err, sizeof err));
    assert_int_equal(s.calls, 2);
    assert_int_equal(capture_end(saved, path, "treated as no credentials"), 1);
    creds_chain_free(c);
    free_insts(v, 1);

    /* expiring within the second: the same */
    src t = {.name = "brief", .rc = LMCP_OK, .life_ms = 500};
    plugin_instance *w[1] = {inst_of(&t)};
    c = creds_chain_new(w, 1);
    char path2[] = "/tmp/lmcp-test-chain-log.XXXXXX";
    saved = capture_begin(path2);
    assert_null(get_akid(c, err, sizeof err));
    assert_int_equal(capture_end(saved, path2, "treated as no credentials"), 1);
    assert_non_null(strstr(err, "brief returned credentials that expire at "));
    creds_chain_free(c);
    free_insts(w, 1);

    /* as the result of a refresh while the current ones are valid: the current ones stay */
    src u = {.name = "u", .rc = LMCP_OK, .life_ms = 4000};
    plugin_instance *x[1] = {inst_of(&u)};
    c = creds_chain_new(x, 1);
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTu0001");
    clock_sleep_ms(2100);
    u.life_ms = -1000;
    char path3[] = "/tmp/lmcp-test-chain-log.XXXXXX";
    saved = capture_begin(path3);
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTu0001");
    for (int i = 0; i < 100 && atomic_load(&u.calls) < 2; i++)
        clock_sleep_ms(20);
    clock_sleep_ms(100);
    assert_string_equal(get_akid(c, err, sizeof err), "AKIDTESTu0001");
    assert_int_equal(capture_end(saved, path3, "refresh failed, still using the current credentials"), 1);
    assert_int_equal(u.calls, 2);
    creds_chain_free(c);
    free_insts(x, 1);
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
        cmocka_unit_test(test_refresh_in_background),
        cmocka_unit_test(test_failed_refresh_keeps_serving),
        cmocka_unit_test(test_wait_bounded),
        cmocka_unit_test(test_expired_when_fetched),
        cmocka_unit_test(test_cc_jint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
