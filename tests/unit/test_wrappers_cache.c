/* The cache wrapper (plugins/wrappers/cache.c) as a real plugin module in a real chain. */
#include "test_wrappers_fixture.c"

static const fx_tool TOOLS[] = {
    {.name = "c_one"},
    {.name = "c_two"},
    {.name = "plain"},
    {.name = "tagged", .tags = {"lambda-mcp:cacheable", "true", "lambda-mcp:cache-ttl", "150ms", NULL}},
    {.name = "tagged_off", .tags = {"lambda-mcp:cacheable", "false", NULL}},
};
#define NTOOLS (sizeof TOOLS / sizeof *TOOLS)

static fx *cache_fx(const char *extra)
{
    char conf[1024];
    snprintf(conf, sizeof conf,
             "wrappers = ( { plugin = \"cache\"; %s\n"
             "  overrides = ( { tools = [\"c_*\"]; cacheable = true; } ); } );\n",
             extra ? extra : "");
    fx *f = fx_new(conf, TOOLS, NTOOLS);
    assert_non_null(f->snap);
    return f;
}

static void test_key_order_does_not_matter(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    lmcp_result *a = fx_call(f, "c_one", "{\"a\":1,\"b\":{\"x\":[1,2,{\"p\":1,\"q\":2}],\"y\":\"z\"}}");
    lmcp_result *b = fx_call(f, "c_one", "{\"b\":{\"y\":\"z\",\"x\":[1,2,{\"q\":2,\"p\":1}]},\"a\":1}");
    assert_int_equal(a->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(b->outcome, LMCP_OUTCOME_OK);
    assert_false(a->from_cache);
    assert_true(b->from_cache);
    assert_int_equal(fx_calls(), 1);
    assert_int_equal(b->payload.len, a->payload.len);
    assert_memory_equal(b->payload.data, a->payload.data, a->payload.len);
    assert_string_equal(b->request_id, a->request_id);
    /* array order does matter, and so do values and the tool */
    lmcp_result *c = fx_call(f, "c_one", "{\"a\":1,\"b\":{\"x\":[2,1,{\"p\":1,\"q\":2}],\"y\":\"z\"}}");
    lmcp_result *d = fx_call(f, "c_one", "{\"a\":2}");
    lmcp_result *e = fx_call(f, "c_two", "{\"a\":1,\"b\":{\"x\":[1,2,{\"p\":1,\"q\":2}],\"y\":\"z\"}}");
    assert_false(c->from_cache);
    assert_false(d->from_cache);
    assert_false(e->from_cache);
    assert_int_equal(fx_calls(), 4);
    /* no arguments and {} are the same call */
    lmcp_result *g = fx_call(f, "c_two", NULL);
    lmcp_result *h = fx_call(f, "c_two", "{}");
    assert_true(h->from_cache);
    assert_int_equal(fx_calls(), 5);
    result_free(a), result_free(b), result_free(c), result_free(d), result_free(e), result_free(g), result_free(h);
    fx_free(f);
}

/* Integers at and beyond the 64-bit edges are different arguments: json-c keeps those above
   INT64_MAX as uint64, and the canonical JSON of the key once printed them clamped to INT64_MAX
   (three different calls, one key, the first one's answer for all three). */
static void test_big_integers_are_different_keys(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    const char *args[] = {
        "{\"id\":9223372036854775807}",  "{\"id\":9223372036854775808}",   "{\"id\":18446744073709551615}",
        "{\"id\":18446744073709551616}", "{\"id\":18446744073709551617}",  "{\"id\":-9223372036854775808}",
        "{\"id\":-9223372036854775809}", "{\"id\":-9223372036854775810}",
    };
    size_t n = sizeof args / sizeof *args;
    for (size_t i = 0; i < n; i++) {
        lmcp_result *r = fx_call(f, "c_one", args[i]);
        assert_int_equal(r->outcome, LMCP_OUTCOME_OK);
        if (r->from_cache)
            fail_msg("%s answered from the cache", args[i]);
        result_free(r);
    }
    assert_int_equal(fx_calls(), (int)n);
    for (size_t i = 0; i < n; i++) { /* and each one is its own hit */
        lmcp_result *r = fx_call(f, "c_one", args[i]);
        assert_true(r->from_cache);
        result_free(r);
    }
    assert_int_equal(fx_calls(), (int)n);
    fx_free(f);
}

static void test_only_cacheable_tools(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    for (int i = 0; i < 3; i++) {
        lmcp_result *r = fx_call(f, "plain", "{\"a\":1}");
        assert_false(r->from_cache);
        result_free(r);
        r = fx_call(f, "tagged_off", "{\"a\":1}");
        assert_false(r->from_cache);
        result_free(r);
    }
    assert_int_equal(fx_calls(), 6);
    /* the function tag turns it on, with its own TTL */
    lmcp_result *r1 = fx_call(f, "tagged", "{\"a\":1}");
    lmcp_result *r2 = fx_call(f, "tagged", "{\"a\":1}");
    assert_false(r1->from_cache);
    assert_true(r2->from_cache);
    assert_int_equal(fx_calls(), 7);
    fx_sleep_ms(200); /* the tag's ttl is 150ms */
    lmcp_result *r3 = fx_call(f, "tagged", "{\"a\":1}");
    assert_false(r3->from_cache);
    assert_int_equal(fx_calls(), 8);
    result_free(r1), result_free(r2), result_free(r3);
    fx_free(f);
}

static void test_ttl_expiry(void **state)
{
    (void)state;
    fx *f = cache_fx("ttl = \"120ms\";");
    lmcp_result *r = fx_call(f, "c_one", "{\"k\":1}");
    assert_int_equal(fx_payload_n(r), 1);
    result_free(r);
    r = fx_call(f, "c_one", "{\"k\":1}");
    assert_true(r->from_cache);
    assert_int_equal(fx_payload_n(r), 1);
    result_free(r);
    fx_sleep_ms(180);
    r = fx_call(f, "c_one", "{\"k\":1}");
    assert_false(r->from_cache);
    assert_int_equal(fx_payload_n(r), 2);
    result_free(r);
    r = fx_call(f, "c_one", "{\"k\":1}");
    assert_true(r->from_cache);
    assert_int_equal(fx_payload_n(r), 2);
    result_free(r);
    assert_int_equal(fx_calls(), 2);
    fx_free(f);
}

static bool cached(fx *f, const char *args)
{
    int before = fx_calls();
    lmcp_result *r = fx_call(f, "c_one", args);
    bool hit = r->from_cache;
    assert_int_equal(fx_calls(), before + (hit ? 0 : 1));
    result_free(r);
    return hit;
}

static void test_lru_eviction(void **state)
{
    (void)state;
    fx *f = cache_fx("max_entries = 3;");
    assert_false(cached(f, "{\"k\":\"a\"}"));
    assert_false(cached(f, "{\"k\":\"b\"}"));
    assert_false(cached(f, "{\"k\":\"c\"}"));
    assert_true(cached(f, "{\"k\":\"a\"}"));  /* a is now the most recently used: b is the oldest */
    assert_false(cached(f, "{\"k\":\"d\"}")); /* evicts b */
    assert_true(cached(f, "{\"k\":\"a\"}"));
    assert_true(cached(f, "{\"k\":\"c\"}"));
    assert_true(cached(f, "{\"k\":\"d\"}"));
    assert_false(cached(f, "{\"k\":\"b\"}")); /* was evicted; evicts a (least recently used) */
    assert_false(cached(f, "{\"k\":\"a\"}"));
    fx_free(f);
}

static void test_size_limits(void **state)
{
    (void)state;
    /* max_entry_size: a bigger payload is answered but not stored */
    fx *f = cache_fx("max_entry_size = 40;");
    fx_term_default((fx_step){.payload = "{\"big\":\"0123456789012345678901234567890123456789\"}"});
    lmcp_result *r = fx_call(f, "c_one", "{}");
    assert_int_equal(r->outcome, LMCP_OUTCOME_OK);
    result_free(r);
    r = fx_call(f, "c_one", "{}");
    assert_false(r->from_cache);
    result_free(r);
    assert_int_equal(fx_calls(), 2);
    fx_term_default((fx_step){.payload = "{\"small\":1}"});
    assert_false(cached(f, "{}"));
    assert_true(cached(f, "{}"));
    fx_free(f);

    /* max_bytes: the least recently used entries go first */
    f = cache_fx("max_bytes = 1024; max_entry_size = 100000;");
    char big[700];
    memset(big, 'x', sizeof big);
    memcpy(big, "{\"v\":\"", 6);
    memcpy(big + sizeof big - 3, "\"}", 3);
    fx_term_default((fx_step){.payload = big});
    assert_false(cached(f, "{\"k\":1}"));
    assert_true(cached(f, "{\"k\":1}"));
    assert_false(cached(f, "{\"k\":2}")); /* 2 x 700 bytes > 1024: k=1 evicted */
    assert_true(cached(f, "{\"k\":2}"));
    assert_false(cached(f, "{\"k\":1}"));
    fx_free(f);
}

static void test_errors_not_cached(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    const lmcp_outcome bad[] = {LMCP_OUTCOME_FUNCTION_ERROR, LMCP_OUTCOME_THROTTLED,      LMCP_OUTCOME_AWS_ERROR,
                                LMCP_OUTCOME_SERVICE_ERROR,  LMCP_OUTCOME_TRANSPORT_ERROR, LMCP_OUTCOME_TIMEOUT,
                                LMCP_OUTCOME_REFUSED};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fx_term_push((fx_step){.outcome = bad[i]});
        lmcp_result *r = fx_call(f, "c_one", "{\"same\":true}");
        assert_int_equal(r->outcome, bad[i]);
        assert_false(r->from_cache);
        result_free(r);
    }
    assert_int_equal(fx_calls(), (int)(sizeof bad / sizeof *bad));
    /* then a success is stored, and answers the next call */
    lmcp_result *ok = fx_call(f, "c_one", "{\"same\":true}");
    assert_int_equal(ok->outcome, LMCP_OUTCOME_OK);
    lmcp_result *hit = fx_call(f, "c_one", "{\"same\":true}");
    assert_true(hit->from_cache);
    assert_int_equal(hit->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(fx_calls(), (int)(sizeof bad / sizeof *bad) + 1);
    result_free(ok), result_free(hit);
    fx_free(f);
}

static void test_hit_counts_logged_at_debug(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_DEBUG);
    fx_stderr_begin();
    result_free(fx_call(f, "c_one", "{\"secret\":\"do-not-log-me\"}"));
    result_free(fx_call(f, "c_one", "{\"secret\":\"do-not-log-me\"}"));
    char *text = fx_stderr_end();
    log_set_level(old);
    assert_int_equal(fx_count_lines(text, " debug ", "cache: miss tool=c_one key=", "hits 0, misses 1", NULL), 1);
    assert_int_equal(fx_count_lines(text, " debug ", "cache: hit tool=c_one", "hits 1, misses 1", NULL), 1);
    assert_null(strstr(text, "do-not-log-me"));
    free(text);
    fx_free(f);
}

static void test_single_flight(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    fx_term_default((fx_step){.sleep_ms = 200});
    enum { N = 8 };
    fx_async *a[N];
    for (int i = 0; i < N; i++)
        a[i] = fx_start(f, "c_one", "{\"q\":\"same\"}", 0);
    int from_cache = 0;
    for (int i = 0; i < N; i++) {
        fx_join(a[i]);
        assert_int_equal(a[i]->res->outcome, LMCP_OUTCOME_OK);
        assert_int_equal(fx_payload_n(a[i]->res), 1);
        from_cache += a[i]->res->from_cache;
        fx_async_free(a[i]);
    }
    assert_int_equal(fx_calls(), 1);
    assert_int_equal(from_cache, N - 1);

    /* the first call fails: errors are not shared, each waiting call invokes on its own */
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_SERVICE_ERROR, .sleep_ms = 200});
    fx_term_default((fx_step){.sleep_ms = 10});
    a[0] = fx_start(f, "c_one", "{\"q\":\"other\"}", 0);
    fx_sleep_ms(50);
    a[1] = fx_start(f, "c_one", "{\"q\":\"other\"}", 0);
    fx_join(a[0]);
    fx_join(a[1]);
    assert_int_equal(a[0]->res->outcome, LMCP_OUTCOME_SERVICE_ERROR);
    assert_int_equal(a[1]->res->outcome, LMCP_OUTCOME_OK);
    assert_false(a[1]->res->from_cache);
    assert_int_equal(fx_calls(), 3);
    fx_async_free(a[0]);
    fx_async_free(a[1]);
    fx_free(f);

    /* single_flight = false: both invoke */
    f = cache_fx("single_flight = false;");
    fx_term_default((fx_step){.sleep_ms = 100});
    a[0] = fx_start(f, "c_one", "{}", 0);
    a[1] = fx_start(f, "c_one", "{}", 0);
    fx_join(a[0]);
    fx_join(a[1]);
    assert_int_equal(fx_calls(), 2);
    fx_async_free(a[0]);
    fx_async_free(a[1]);
    fx_free(f);
}

static void test_waiting_call_cancel_and_deadline(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    fx_term_default((fx_step){.sleep_ms = 1500});
    fx_async *leader = fx_start(f, "c_one", "{\"w\":1}", 0);
    fx_sleep_ms(50);
    fx_async *follower = fx_start(f, "c_one", "{\"w\":1}", 0);
    fx_sleep_ms(100);
    int64_t t0 = fx_now_ms();
    call_cancel(follower->call);
    fx_join(follower);
    assert_int_equal(follower->res->outcome, LMCP_OUTCOME_CANCELLED);
    assert_true(fx_now_ms() - t0 < (int64_t)(400 * fx_scale()));
    /* a follower with a deadline gives up at its deadline */
    fx_async *late = fx_start(f, "c_one", "{\"w\":1}", 200);
    fx_join(late);
    assert_int_equal(late->res->outcome, LMCP_OUTCOME_TIMEOUT);
    assert_true(late->ended_ms - late->started_ms < (int64_t)(700 * fx_scale()));
    fx_join(leader);
    assert_int_equal(leader->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(fx_calls(), 1);
    fx_async_free(leader);
    fx_async_free(follower);
    fx_async_free(late);
    fx_free(f);
}

/* many threads, few keys, a small table: hits, misses, evictions and flights all at once */
typedef struct stress_arg {
    fx *f;
    int id, calls;
    int ok, hits;
} stress_arg;

static void *stress_main(void *p)
{
    stress_arg *s = p;
    unsigned seed = (unsigned)s->id * 7919u + 1;
    for (int i = 0; i < s->calls; i++) {
        char args[64];
        seed = seed * 1103515245u + 12345u;
        snprintf(args, sizeof args, "{\"k\":%u}", (seed >> 16) % 24);
        lmcp_result *r = fx_call(s->f, (seed >> 8) & 1 ? "c_one" : "c_two", args);
        if (r->outcome == LMCP_OUTCOME_OK)
            s->ok++;
        s->hits += r->from_cache;
        result_free(r);
    }
    return NULL;
}

static void test_concurrency_stress(void **state)
{
    (void)state;
    fx *f = cache_fx("max_entries = 16; ttl = \"20ms\";");
    enum { T = 8 };
    int per = getenv("LMCP_UNDER_VALGRIND") ? 150 : 2500;
    pthread_t th[T];
    stress_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (stress_arg){f, i, per, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, stress_main, &args[i]), 0);
    }
    int ok = 0, hits = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
        hits += args[i].hits;
    }
    assert_int_equal(ok, T * per);
    assert_int_equal(hits + fx_calls(), T * per);
    assert_true(hits > 0);
    fx_free(f);
}

static void test_bad_settings(void **state)
{
    (void)state;
    fx *f = fx_new("wrappers = ( { plugin = \"cache\"; max_entries = 0; } );\n", TOOLS, NTOOLS);
    assert_null(f->snap);
    assert_non_null(strstr(f->err, "max_entries"));
    fx_free(f);
    f = fx_new("wrappers = ( { plugin = \"cache\"; ttl = \"soon\"; } );\n", TOOLS, NTOOLS);
    assert_null(f->snap);
    assert_non_null(strstr(f->err, "ttl"));
    fx_free(f);
}

/* Review finding: an entry bigger than max_bytes used to be stored anyway, evicting every other
 * entry. It is now answered but not stored (counted as not storable), and the others stay. */
static void test_entry_over_max_bytes_not_stored(void **state)
{
    (void)state;
    fx *f = cache_fx("max_bytes = 1024; max_entry_size = 100000;");
    fx_term_default((fx_step){.payload = "{\"small\":1}"});
    assert_false(cached(f, "{\"k\":1}"));
    assert_true(cached(f, "{\"k\":1}"));
    static char big[3001];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "{\"v\":\"", 6);
    memcpy(big + sizeof big - 3, "\"}", 3);
    fx_term_default((fx_step){.payload = big});
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_DEBUG);
    fx_stderr_begin();
    bool big1 = cached(f, "{\"k\":2}");
    bool big2 = cached(f, "{\"k\":2}");
    char *text = fx_stderr_end();
    log_set_level(old);
    assert_false(big1);
    assert_false(big2); /* answered twice by Lambda, never stored */
    assert_int_equal(fx_count_lines(text, " debug ", "not stored tool=c_one", "(3000 bytes) exceeds max_bytes", NULL), 2);
    free(text);
    fx_term_default((fx_step){.payload = "{\"small\":2}"});
    assert_true(cached(f, "{\"k\":1}")); /* the earlier entry was not evicted */
    fx_free(f);
}

/* Review finding: when the single-flight leader failed, every waiting call invoked Lambda at once
 * (the stampede single flight exists to prevent). Now they look again: one leads the next
 * attempt, the others wait for it and share its answer. */
static void test_failed_leader_one_retry(void **state)
{
    (void)state;
    fx *f = cache_fx(NULL);
    int64_t lead_ms = (int64_t)(300 * fx_scale());
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_SERVICE_ERROR, .sleep_ms = lead_ms});
    fx_term_default((fx_step){.sleep_ms = 150});
    fx_async *leader = fx_start(f, "c_one", "{\"q\":\"retry\"}", 0);
    fx_sleep_ms(lead_ms / 6);
    enum { N = 6 };
    fx_async *w[N];
    for (int i = 0; i < N; i++)
        w[i] = fx_start(f, "c_one", "{\"q\":\"retry\"}", 0);
    fx_join(leader);
    assert_int_equal(leader->res->outcome, LMCP_OUTCOME_SERVICE_ERROR);
    int fresh = 0;
    for (int i = 0; i < N; i++) {
        fx_join(w[i]);
        assert_int_equal(w[i]->res->outcome, LMCP_OUTCOME_OK);
        assert_int_equal(fx_payload_n(w[i]->res), 2); /* all answered by the second invocation */
        fresh += !w[i]->res->from_cache;
        fx_async_free(w[i]);
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(fx_calls(), 2);
    assert_int_equal(atomic_load(&fx_term.max_inflight), 1);
    fx_async_free(leader);
    /* the answer of the retry was stored */
    lmcp_result *r = fx_call(f, "c_one", "{\"q\":\"retry\"}");
    assert_true(r->from_cache);
    assert_int_equal(fx_payload_n(r), 2);
    result_free(r);
    assert_int_equal(fx_calls(), 2);
    fx_free(f);
}

/* Review finding: waiters copied the leader's result while holding the cache lock, and the
 * leader copied it twice (store and share) even when it could not be stored. Now the flight
 * points at the stored entry and waiters copy outside the lock; a payload that may not be stored
 * is still shared with the calls waiting for it (one copy for all), and never stored. */
static void test_single_flight_big_payloads(void **state)
{
    (void)state;
    enum { N = 8, BIG = 2 * 1024 * 1024 };
    char *big = malloc(BIG + 1);
    assert_non_null(big);
    memset(big, 'y', BIG);
    memcpy(big, "{\"v\":\"", 6);
    memcpy(big + BIG - 2, "\"}", 2);
    big[BIG] = '\0';
    for (int storable = 1; storable >= 0; storable--) {
        fx *f = cache_fx(storable ? "max_entry_size = 4194304; max_bytes = 16777216;" : "max_entry_size = 1024;");
        fx_term_default((fx_step){.payload = big, .sleep_ms = (int64_t)(200 * fx_scale())});
        lmcp_log_level old = log_get_level();
        log_set_level(LMCP_LOG_DEBUG);
        fx_stderr_begin();
        fx_async *a[N];
        for (int i = 0; i < N; i++)
            a[i] = fx_start(f, "c_one", "{\"q\":\"big\"}", 0);
        int from_cache = 0, same = 0;
        for (int i = 0; i < N; i++) {
            fx_join(a[i]);
            from_cache += a[i]->res->from_cache;
            same += a[i]->res->outcome == LMCP_OUTCOME_OK && a[i]->res->payload.len == BIG &&
                    memcmp(a[i]->res->payload.data, big, BIG) == 0 && strcmp(a[i]->res->request_id, "req-1") == 0;
            fx_async_free(a[i]);
        }
        char *text = fx_stderr_end();
        log_set_level(old);
        assert_int_equal(same, N);
        assert_int_equal(fx_calls(), 1);
        assert_int_equal(from_cache, N - 1);
        assert_int_equal(fx_count_lines(text, "cache: coalesced with an identical call in flight", NULL), N - 1);
        assert_int_equal(fx_count_lines(text, "cache: stored tool=c_one", NULL), storable ? 1 : 0);
        assert_int_equal(fx_count_lines(text, "not stored tool=c_one", "exceeds max_entry_size", NULL), storable ? 0 : 1);
        free(text);
        /* the next call: a hit when stored, Lambda again when not */
        lmcp_result *r = fx_call(f, "c_one", "{\"q\":\"big\"}");
        assert_int_equal(r->from_cache, storable);
        assert_int_equal(fx_calls(), storable ? 1 : 2);
        result_free(r);
        fx_free(f);
    }
    free(big);
}

/* A host whose result_copy counts (and slows down) copies of payloads starting {"slow": */
static lmcp_host counting_host;
static atomic_int copies, copying, max_copying;

static void counting_copy(lmcp_result *dst, const lmcp_result *src)
{
    bool marked = src->payload.len >= 8 && memcmp(src->payload.data, "{\"slow\":", 8) == 0;
    if (marked) {
        atomic_fetch_add(&copies, 1);
        int in = atomic_fetch_add(&copying, 1) + 1;
        int prev = atomic_load(&max_copying);
        while (in > prev && !atomic_compare_exchange_weak(&max_copying, &prev, in))
            ;
        fx_sleep_ms(100); /* a 6 MB payload */
    }
    host_table()->result_copy(dst, src);
    if (marked)
        atomic_fetch_sub(&copying, 1);
}

static fx *counting_cache_fx(const char *extra)
{
    counting_host = *host_table();
    counting_host.result_copy = counting_copy;
    atomic_store(&copies, 0);
    atomic_store(&max_copying, 0);
    fx_host = &counting_host;
    fx *f = cache_fx(extra);
    fx_host = NULL;
    return f;
}

/* Review finding: waiters copied the leader's result while holding the cache's one lock (so N
 * waiters copied one after the other, and every lookup of every tool waited), the leader made a
 * second copy for them next to the stored one, and made it even for a payload it could not
 * store. Now waiters copy outside the lock from the stored entry; nothing is copied for nobody. */
static void test_waiters_copy_outside_the_lock(void **state)
{
    (void)state;
    fx *f = counting_cache_fx(NULL);
    fx_term_default((fx_step){.payload = "{\"slow\":1}", .sleep_ms = (int64_t)(200 * fx_scale())});
    enum { N = 6 };
    fx_async *a[N];
    for (int i = 0; i < N; i++)
        a[i] = fx_start(f, "c_one", "{\"q\":\"copy\"}", 0);
    int from_cache = 0;
    for (int i = 0; i < N; i++) {
        fx_join(a[i]);
        assert_int_equal(a[i]->res->outcome, LMCP_OUTCOME_OK);
        assert_string_equal(a[i]->res->payload.data, "{\"slow\":1}");
        from_cache += a[i]->res->from_cache;
        fx_async_free(a[i]);
    }
    assert_int_equal(fx_calls(), 1);
    assert_int_equal(from_cache, N - 1);
    assert_int_equal(atomic_load(&copies), N);      /* the stored entry, then one per waiter */
    assert_true(atomic_load(&max_copying) >= 2);    /* waiters copied at the same time */
    fx_free(f);

    /* a payload that may not be stored, nobody waiting: not copied at all */
    f = counting_cache_fx("max_entry_size = 4;");
    fx_term_default((fx_step){.payload = "{\"slow\":2}"});
    lmcp_result *r = fx_call(f, "c_one", "{\"q\":\"alone\"}");
    assert_int_equal(r->outcome, LMCP_OUTCOME_OK);
    assert_false(r->from_cache);
    result_free(r);
    assert_int_equal(atomic_load(&copies), 0);
    fx_free(f);
}

/* A host whose SHA-256 fails (libcrypto refusing): the digest functions give "" as the real
 * host's do then. */
static lmcp_host failing_host;
static void failing_sha256_hex(const void *data, size_t len, char out[65])
{
    (void)data, (void)len;
    out[0] = '\0';
}
static const char *failing_args_sha256(const lmcp_call *call)
{
    (void)call;
    return "";
}

/* Review finding: when the host's SHA-256 failed, make_key used the empty digest and every
 * cacheable call got the same key — the first call's answer for all arguments. Now such a call
 * is not cached (it calls through), with one warning. Either digest may fail: the arguments' one
 * (call_arguments_sha256) or the key's own (sha256_hex). */
static void test_failed_digest_not_cached(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        failing_host = *host_table();
        if (k != 1)
            failing_host.sha256_hex = failing_sha256_hex;
        if (k != 2)
            failing_host.call_arguments_sha256 = failing_args_sha256;
        fx_host = &failing_host;
        fx *f = cache_fx(NULL);
        fx_host = NULL;
        lmcp_log_level old = log_get_level();
        log_set_level(LMCP_LOG_INFO);
        fx_stderr_begin();
        lmcp_result *a = fx_call(f, "c_one", "{\"a\":1}");
        lmcp_result *b = fx_call(f, "c_one", "{\"a\":2}");
        lmcp_result *c = fx_call(f, "c_one", "{\"a\":1}");
        char *text = fx_stderr_end();
        log_set_level(old);
        assert_int_equal(a->outcome, LMCP_OUTCOME_OK);
        assert_int_equal(b->outcome, LMCP_OUTCOME_OK);
        assert_int_equal(c->outcome, LMCP_OUTCOME_OK);
        assert_false(b->from_cache); /* not the answer to {"a":1} */
        assert_non_null(strstr(b->payload.data, "\"args\":{\"a\":2}"));
        assert_false(c->from_cache); /* nothing is cached without a key */
        assert_int_equal(fx_calls(), 3);
        assert_int_equal(fx_count_lines(text, " warn ", "cache", "SHA-256", "not cached", NULL), 1); /* once */
        free(text);
        result_free(a), result_free(b), result_free(c);
        fx_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_order_does_not_matter),
        cmocka_unit_test(test_big_integers_are_different_keys),
        cmocka_unit_test(test_only_cacheable_tools),
        cmocka_unit_test(test_ttl_expiry),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_errors_not_cached),
        cmocka_unit_test(test_hit_counts_logged_at_debug),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_waiting_call_cancel_and_deadline),
        cmocka_unit_test(test_concurrency_stress),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_entry_over_max_bytes_not_stored),
        cmocka_unit_test(test_failed_leader_one_retry),
        cmocka_unit_test(test_single_flight_big_payloads),
        cmocka_unit_test(test_waiters_copy_outside_the_lock),
        cmocka_unit_test(test_failed_digest_not_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
