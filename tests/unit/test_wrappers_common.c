/* The wrappers' shared helpers (plugins/wrappers/common, linked in directly): the keyed table of
 * rate-limit, circuit-breaker and cache; log lines queued under a lock and written after it; the
 * arguments digest (the host's memoised one, or computed when an older host lacks it); and the
 * outcome names of the plugin header. */
#include "test_wrappers_fixture.c"

#include "../../plugins/wrappers/common/keytable.h"
#include "../../plugins/wrappers/common/wutil.h"

#include <openssl/evp.h>

typedef struct item {
    wk_node node;
    int value;
} item;

static void count_and_free(wk_node *n, void *ctx)
{
    (*(size_t *)ctx)++;
    free(n);
}

static void test_keytable(void **state)
{
    (void)state;
    /* FNV-1a test vectors */
    assert_true(wk_hash("") == 0xcbf29ce484222325ULL);
    assert_true(wk_hash("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(wk_hash("foobar") == 0x85944171f73967e8ULL);

    wk_table t;
    assert_true(wk_init(&t, 3));
    assert_int_equal(t.nslots, 4); /* rounded up to a power of two */
    enum { N = 1000 };
    item *made[N];
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        bool created = false;
        item *it = (item *)wk_get(&t, key, sizeof(item), &created);
        assert_non_null(it);
        assert_true(created);
        assert_string_equal(it->node.key, key);
        assert_int_equal(it->value, 0); /* zeroed */
        it->value = i;
        made[i] = it;
    }
    assert_int_equal(t.n, N);
    assert_true(t.nslots >= N); /* grew */
    assert_int_equal(t.nslots & (t.nslots - 1), 0);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        bool created = true;
        assert_ptr_equal(wk_get(&t, key, sizeof(item), &created), made[i]);
        assert_false(created);
        item *it = (item *)wk_find(&t, wk_hash(key), key);
        assert_ptr_equal(it, made[i]);
        assert_int_equal(it->value, i);
    }
    assert_null(wk_find(&t, wk_hash("nope"), "nope"));
    /* remove every other one */
    for (int i = 0; i < N; i += 2) {
        wk_remove(&t, &made[i]->node);
        free(made[i]);
    }
    assert_int_equal(t.n, N / 2);
    wk_remove(&t, &made[1]->node);
    wk_remove(&t, &made[1]->node); /* not linked any more: nothing happens */
    assert_int_equal(t.n, N / 2 - 1);
    free(made[1]);
    for (int i = 2; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        wk_node *n = wk_find(&t, wk_hash(key), key);
        if (i % 2)
            assert_ptr_equal(n, made[i]);
        else
            assert_null(n);
    }
    size_t freed = 0;
    wk_destroy(&t, count_and_free, &freed);
    assert_int_equal(freed, N / 2 - 1);
    assert_null(t.slots);
    assert_int_equal(t.n, 0);
}

/* Nodes with a caller-chosen hash (the cache's, from its hex key) and colliding hashes. */
typedef struct hexnode {
    wk_node node;
    char key[8];
} hexnode;

static void test_keytable_own_hash(void **state)
{
    (void)state;
    wk_table t;
    assert_true(wk_init(&t, 2));
    hexnode n[40];
    for (int i = 0; i < 40; i++) {
        snprintf(n[i].key, sizeof n[i].key, "h%d", i);
        n[i].node.key = n[i].key;
        n[i].node.hash = (uint64_t)(i % 3); /* many collisions */
        wk_insert(&t, &n[i].node);
    }
    assert_int_equal(t.n, 40);
    for (int i = 0; i < 40; i++) {
        assert_ptr_equal(wk_find(&t, (uint64_t)(i % 3), n[i].key), &n[i].node);
        assert_null(wk_find(&t, (uint64_t)(i % 3) + 3, n[i].key)); /* another hash: not found */
    }
    for (int i = 0; i < 40; i++)
        wk_remove(&t, &n[i].node);
    assert_int_equal(t.n, 0);
    wk_destroy(&t, NULL, NULL);
}

static void test_log_queue(void **state)
{
    (void)state;
    const lmcp_host *h = host_table();
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_INFO);
    wu_logq q = {0};
    wu_log_add(&q, h, LMCP_LOG_WARN, "first %d", 1);
    wu_log_add(&q, h, LMCP_LOG_DEBUG, "below the level: %s", "not even formatted");
    wu_log_add(&q, h, LMCP_LOG_INFO, "second %s", "line");
    assert_int_equal(q.n, 2);
    char longer[3000];
    memset(longer, 'z', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    wu_log_add(&q, h, LMCP_LOG_ERROR, "third %s", longer); /* cut to WU_LOG_LINE */
    assert_int_equal(strlen(q.text[2]), WU_LOG_LINE - 1);
    for (int i = 0; i < WU_LOGQ_MAX + 2; i++)
        wu_log_add(&q, h, LMCP_LOG_WARN, "extra %d", i); /* beyond the queue: dropped */
    assert_int_equal(q.n, WU_LOGQ_MAX);
    fx_stderr_begin();
    wu_log_flush(&q, h, NULL);
    char *text = fx_stderr_end();
    log_set_level(old);
    assert_int_equal(q.n, 0);
    assert_int_equal(fx_count_lines(text, " warn ", "first 1", NULL), 1);
    assert_int_equal(fx_count_lines(text, " info ", "second line", NULL), 1);
    assert_int_equal(fx_count_lines(text, "third zzz", NULL), 1);
    assert_int_equal(fx_count_lines(text, "extra 0", NULL), 1);
    assert_int_equal(fx_count_lines(text, "extra 1", NULL), 0);
    assert_null(strstr(text, "not even formatted"));
    assert_true(strstr(text, "first 1") < strstr(text, "second line")); /* in order */
    free(text);
}

static void sha256(const char *s, char out[65])
{
    unsigned char d[32];
    unsigned n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const fx_tool TOOLS[] = {{.name = "t"}};

static void test_arguments_digest(void **state)
{
    (void)state;
    fx *f = fx_new("wrappers = ( { plugin = \"log-tail\"; } );\n", TOOLS, 1);
    assert_non_null(f->snap);
    const char *args = "{\"z\":{\"b\":2,\"a\":1},\"a\":[3,2,1]}";
    char want[65], out[65];
    sha256("{\"a\":[3,2,1],\"z\":{\"a\":1,\"b\":2}}", want);

    /* a host with call_arguments_sha256: its memoised string */
    lmcp_call *c = fx_call_new(f, "t", args, 0);
    const char *d = wu_arguments_sha256(host_table(), c, out);
    assert_ptr_not_equal(d, out);
    assert_ptr_equal(d, atomic_load(&c->args_sha256));
    assert_string_equal(d, want);
    assert_ptr_equal(wu_arguments_sha256(host_table(), c, out), d);
    call_release(c);

    /* an older v1 host whose table ends before the field: computed here, the same digest */
    lmcp_host older = *host_table();
    older.size = (uint32_t)offsetof(lmcp_host, call_arguments_sha256);
    assert_false(LMCP_HOST_HAS(&older, call_arguments_sha256));
    c = fx_call_new(f, "t", args, 0);
    d = wu_arguments_sha256(&older, c, out);
    assert_ptr_equal(d, out);
    assert_string_equal(d, want);
    assert_null(atomic_load(&c->args_sha256)); /* the host's function was not called */
    call_release(c);

    /* no arguments: the digest of {} either way */
    sha256("{}", want);
    c = fx_call_new(f, "t", NULL, 0);
    assert_string_equal(wu_arguments_sha256(&older, c, out), want);
    assert_string_equal(wu_arguments_sha256(host_table(), c, out), want);
    call_release(c);
    fx_free(f);
}

static void test_outcome_names(void **state)
{
    (void)state;
    static const char *const want[] = {"ok",      "function_error", "throttled", "aws_error", "service_error",
                                       "transport_error", "timeout", "cancelled", "refused", "invalid_arguments"};
    assert_int_equal(sizeof want / sizeof *want, LMCP_OUTCOME_INVALID_ARGUMENTS + 1);
    for (int o = LMCP_OUTCOME_OK; o <= LMCP_OUTCOME_INVALID_ARGUMENTS; o++) {
        assert_string_equal(lmcp_outcome_name((lmcp_outcome)o), want[o]);
        /* core names them the same way (not necessarily the same pointer: string literals of
           different objects need not be merged) */
        assert_string_equal(outcome_name((lmcp_outcome)o), want[o]);
    }
    assert_string_equal(lmcp_outcome_name((lmcp_outcome)99), "unknown");
    assert_string_equal(lmcp_outcome_name((lmcp_outcome)-1), "unknown");
}

static bool odd_value(const wk_node *n, void *ctx)
{
    (void)ctx;
    return ((const item *)n)->value % 2 == 1;
}

/* wk_sweep drops the nodes the callback says are at rest, keeps the others findable, and
 * wk_sweep_due asks for the next sweep when the table has doubled since (at least WK_SWEEP_MIN). */
static void test_keytable_sweep(void **state)
{
    (void)state;
    wk_table t;
    assert_true(wk_init(&t, 16));
    int i = 0;
    for (; !wk_sweep_due(&t); i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ((item *)wk_get(&t, key, sizeof(item), NULL))->value = i;
    }
    assert_int_equal(i, WK_SWEEP_MIN);
    size_t freed = 0;
    assert_int_equal(wk_sweep(&t, odd_value, count_and_free, &freed), WK_SWEEP_MIN / 2);
    assert_int_equal(freed, WK_SWEEP_MIN / 2);
    assert_int_equal(t.n, WK_SWEEP_MIN / 2);
    for (int k = 0; k < i; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        wk_node *n = wk_find(&t, wk_hash(key), key);
        if (k % 2)
            assert_null(n);
        else
            assert_int_equal(((item *)n)->value, k);
    }
    /* 32 kept: the next sweep is due at 64 again (never below WK_SWEEP_MIN) */
    assert_false(wk_sweep_due(&t));
    for (; t.n < WK_SWEEP_MIN; i += 2) { /* even values only: nothing at rest */
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ((item *)wk_get(&t, key, sizeof(item), NULL))->value = i;
    }
    assert_true(wk_sweep_due(&t));
    assert_int_equal(wk_sweep(&t, odd_value, NULL, NULL), 0); /* free() when no free_node */
    /* all 64 kept: due at 128 */
    assert_false(wk_sweep_due(&t));
    for (; t.n < 2 * WK_SWEEP_MIN - 1; i += 2) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ((item *)wk_get(&t, key, sizeof(item), NULL))->value = i;
    }
    assert_false(wk_sweep_due(&t));
    ((item *)wk_get(&t, "one more", sizeof(item), NULL))->value = 1;
    assert_true(wk_sweep_due(&t));
    assert_int_equal(wk_sweep(&t, odd_value, NULL, NULL), 1);
    assert_null(wk_find(&t, wk_hash("one more"), "one more"));
    freed = 0;
    wk_destroy(&t, count_and_free, &freed);
    assert_int_equal(freed, 2 * WK_SWEEP_MIN - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keytable),
        cmocka_unit_test(test_keytable_own_hash),
        cmocka_unit_test(test_keytable_sweep),
        cmocka_unit_test(test_log_queue),
        cmocka_unit_test(test_arguments_digest),
        cmocka_unit_test(test_outcome_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
