/* The rate-limit wrapper (plugins/wrappers/rate-limit.c) as a real plugin module in a real chain. */
#include "test_wrappers_fixture.c"

static const fx_tool TOOLS[] = {
    {.name = "a"},
    {.name = "b"},
    {.name = "tagged", .tags = {"lambda-mcp:rate-limit", "5", "lambda-mcp:rate-burst", "2", NULL}},
    {.name = "neg", .tags = {"lambda-mcp:rate-limit", "-1", NULL}}, /* not a rate: ignored */
    {.name = "slow"},
    {.name = "tiny", .tags = {"lambda-mcp:rate-limit", "1e-14", NULL}}, /* one call in 3 million years */
};
#define NTOOLS (sizeof TOOLS / sizeof *TOOLS)

static fx *rl_fx(const char *settings)
{
    char conf[1024];
    snprintf(conf, sizeof conf, "wrappers = ( { plugin = \"rate-limit\"; %s } );\n", settings);
    fx *f = fx_new(conf, TOOLS, NTOOLS);
    if (!f->snap)
        fail_msg("%s", f->err);
    return f;
}

/* Run one call, return how long it took (ms) and its outcome. */
static int64_t timed(fx *f, const char *tool_name, lmcp_outcome *o, int64_t *retry)
{
    int64_t t0 = clock_mono_us();
    lmcp_result *r = fx_call(f, tool_name, "{}");
    int64_t ms = (clock_mono_us() - t0) / 1000;
    *o = r->outcome;
    if (retry)
        *retry = r->retry_after_ms;
    result_free(r);
    return ms;
}

static void test_burst_then_delay(void **state)
{
    (void)state;
    /* under valgrind or a sanitizer at a quarter of the rate: three slow calls must not take
       long enough for the bucket to refill */
    int slow = fx_scale() > 1 ? 4 : 1;
    char settings[128];
    snprintf(settings, sizeof settings, "rate = %g; burst = 3; max_wait = \"20s\";", 10.0 / slow);
    fx *f = rl_fx(settings);
    lmcp_outcome o;
    int64_t t0 = fx_now_ms();
    for (int i = 0; i < 3; i++) {
        int64_t ms = timed(f, "a", &o, NULL);
        assert_int_equal(o, LMCP_OUTCOME_OK);
        assert_true(ms < (int64_t)(30 * fx_scale()));
    }
    /* the bucket is empty: the next call waits for one token, 100 ms at 10/s after the first
       was taken (counted from t0, not from this call's start: a host slow to run the first three
       would otherwise shorten the wait this sees) */
    int64_t ms = timed(f, "a", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    assert_true(fx_now_ms() - t0 >= 98 * slow);
    assert_true(ms < (int64_t)(250 * fx_scale()));
    /* 4 calls so far; at 10/s the 6th is admitted about 300 ms after the start */
    timed(f, "a", &o, NULL);
    timed(f, "a", &o, NULL);
    int64_t total = fx_now_ms() - t0;
    assert_true(total >= 270 * slow);
    assert_int_equal(fx_calls(), 6);
    /* another tool has its own bucket */
    ms = timed(f, "b", &o, NULL);
    assert_true(ms < (int64_t)(30 * fx_scale()));
    fx_free(f);
}

static void test_refill(void **state)
{
    (void)state;
    fx *f = rl_fx("rate = 20; burst = 4;");
    lmcp_outcome o;
    /* Lower bounds are taken from a moment before the bucket was emptied, never from one call's
       own duration: a loaded host that delays the calls only moves them later, so it cannot make
       these fail (a call's wait shrinks by the time the host took elsewhere). */
    int64_t t_empty = 0;
    for (int i = 0; i < 4; i++) {
        if (i == 3)
            t_empty = fx_now_ms(); /* the 4th token is taken after this */
        timed(f, "a", &o, NULL);
    }
    fx_sleep_ms(110); /* 20/s for 110 ms: 2 tokens back (not more: 2.2) */
    assert_true(timed(f, "a", &o, NULL) < (int64_t)(20 * fx_scale()));
    assert_true(timed(f, "a", &o, NULL) < (int64_t)(20 * fx_scale()));
    timed(f, "a", &o, NULL);
    /* the third needs a third token: 150 ms of refill since the bucket was empty */
    int64_t after = fx_now_ms() - t_empty;
    if (after < 148)
        fail_msg("the third call after the pause was admitted %lld ms after the bucket emptied (3 tokens take 150)",
                 (long long)after);
    /* the bucket never holds more than burst: full (4) after the pause, 4 calls go through and the
       5th needs a token refilled since then: 50 ms after the first of them started */
    fx_sleep_ms(600);
    int64_t t_full = fx_now_ms();
    for (int i = 0; i < 4; i++)
        assert_true(timed(f, "a", &o, NULL) < (int64_t)(20 * fx_scale()));
    timed(f, "a", &o, NULL);
    after = fx_now_ms() - t_full;
    if (after < 48)
        fail_msg("the 5th call after a long pause was admitted after %lld ms: the bucket held more than burst",
                 (long long)after);
    fx_free(f);
}

static void test_wait_then_refuse(void **state)
{
    (void)state;
    /* 2/s, burst 1, wait at most 700 ms: of 5 simultaneous calls, one goes at once, one after
       500 ms, the other three would wait 1000, 1500, 2000 ms and are refused with that hint */
    fx *f = rl_fx("rate = 2; burst = 1; max_wait = \"700ms\";");
    enum { N = 5 };
    fx_async *a[N];
    for (int i = 0; i < N; i++)
        a[i] = fx_start(f, "a", "{}", 0);
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        fx_join(a[i]);
        lmcp_result *r = a[i]->res;
        if (r->outcome == LMCP_OUTCOME_OK) {
            ok++;
        } else {
            assert_int_equal(r->outcome, LMCP_OUTCOME_REFUSED);
            assert_string_equal(r->error_type, "RateLimited");
            assert_true(r->retry_after_ms > 700);
            assert_true(r->retry_after_ms <= 2000);
            char want[64];
            snprintf(want, sizeof want, "retry in %lld ms", (long long)r->retry_after_ms);
            assert_non_null(strstr(r->error_message, want));
            assert_non_null(strstr(r->error_message, "tool a"));
            /* refused at once, not after waiting */
            assert_true(a[i]->ended_ms - a[i]->started_ms < (int64_t)(100 * fx_scale()));
            refused++;
        }
        fx_async_free(a[i]);
    }
    assert_int_equal(ok, 2);
    assert_int_equal(refused, 3);
    assert_int_equal(fx_calls(), 2);
    fx_free(f);

    /* max_wait = 0: refuse at once */
    f = rl_fx("rate = 1; burst = 1; max_wait = 0;");
    lmcp_outcome o;
    int64_t retry = 0;
    timed(f, "a", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    int64_t ms = timed(f, "a", &o, &retry);
    assert_int_equal(o, LMCP_OUTCOME_REFUSED);
    assert_true(ms < (int64_t)(30 * fx_scale()));
    assert_true(retry > 900 && retry <= 1000);
    fx_free(f);
}

static void test_global_bucket(void **state)
{
    (void)state;
    fx *f = rl_fx("global_rate = 10; global_burst = 2;");
    lmcp_outcome o;
    int64_t t0 = fx_now_ms();
    assert_true(timed(f, "a", &o, NULL) < (int64_t)(30 * fx_scale()));
    assert_true(timed(f, "b", &o, NULL) < (int64_t)(30 * fx_scale()));
    /* a third call on any tool waits for the global bucket: admitted 100 ms after the first */
    timed(f, "tagged", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    assert_true(fx_now_ms() - t0 >= 98);
    fx_free(f);
}

static void test_per_tool_from_tags_and_overrides(void **state)
{
    (void)state;
    /* the tag gives "tagged" 5/s burst 2; an override gives "b" 2/s burst 1; "a" is unlimited */
    fx *f = rl_fx("max_wait = 0; overrides = ( { tools = \"b\"; rate = 2; burst = 1; } );");
    lmcp_outcome o;
    for (int i = 0; i < 20; i++) {
        timed(f, "a", &o, NULL);
        assert_int_equal(o, LMCP_OUTCOME_OK);
    }
    timed(f, "tagged", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    timed(f, "tagged", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    int64_t retry;
    timed(f, "tagged", &o, &retry);
    assert_int_equal(o, LMCP_OUTCOME_REFUSED);
    assert_true(retry > 150 && retry <= 200);
    timed(f, "b", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    timed(f, "b", &o, &retry);
    assert_int_equal(o, LMCP_OUTCOME_REFUSED);
    assert_true(retry > 450 && retry <= 500);
    fx_free(f);
}

static void test_cancel_during_wait(void **state)
{
    (void)state;
    fx *f = rl_fx("rate = 1; burst = 1; max_wait = \"10s\";");
    lmcp_outcome o;
    timed(f, "a", &o, NULL);
    int64_t t0 = fx_now_ms();
    fx_async *w = fx_start(f, "a", "{}", 0); /* waits about 1 s */
    fx_sleep_ms(100);
    call_cancel(w->call);
    fx_join(w);
    assert_int_equal(w->res->outcome, LMCP_OUTCOME_CANCELLED);
    assert_int_equal(w->rc, LMCP_CANCELLED);
    assert_true(fx_now_ms() - t0 < (int64_t)(400 * fx_scale()));
    assert_int_equal(fx_calls(), 1);
    fx_async_free(w);
    /* its token came back: the next call waits for the first refill only (~0.8 s), not ~1.8 s */
    int64_t ms = timed(f, "a", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    assert_true(ms < 1300);
    assert_true(ms > 500);
    fx_free(f);
}

static void test_deadline(void **state)
{
    (void)state;
    /* a call whose deadline comes before its slot is refused at once (no pointless wait) */
    fx *f = rl_fx("rate = 2; burst = 1; max_wait = \"10s\";");
    lmcp_outcome o;
    timed(f, "a", &o, NULL);
    int64_t t0 = fx_now_ms();
    lmcp_result *r = fx_call_timeout(f, "a", "{}", 200);
    assert_int_equal(r->outcome, LMCP_OUTCOME_REFUSED);
    assert_non_null(strstr(r->error_message, "timeout"));
    assert_true(r->retry_after_ms > 300);
    assert_true(fx_now_ms() - t0 < (int64_t)(100 * fx_scale()));
    result_free(r);
    fx_free(f);
}

/* first come, first served: calls queued 15 ms apart are admitted in that order (under valgrind
 * or a sanitizer, 60 ms apart at a quarter of the rate: a thread reaches the limiter later) */
static void test_fair_order(void **state)
{
    (void)state;
    int slow = fx_scale() > 1 ? 4 : 1;
    char settings[128];
    snprintf(settings, sizeof settings, "rate = %g; burst = 1; max_wait = \"60s\";", 20.0 / slow);
    fx *f = rl_fx(settings);
    enum { N = 10 };
    fx_async *a[N];
    char args[N][32];
    int64_t t_first = fx_now_ms(); /* before the first call takes the bucket's only token */
    for (int i = 0; i < N; i++) {
        snprintf(args[i], sizeof args[i], "{\"i\":%d}", i);
        a[i] = fx_start(f, "a", args[i], 0);
        fx_wait_running(a[i]);
        fx_sleep_ms(15 * slow);
    }
    int64_t prev_end = 0;
    int order_ok = 1;
    for (int i = 0; i < N; i++) {
        fx_join(a[i]);
        assert_int_equal(a[i]->res->outcome, LMCP_OUTCOME_OK);
        /* n is the terminal's call number: the i-th started is the i-th admitted */
        if (fx_payload_n(a[i]->res) != i + 1)
            order_ok = 0;
        if (a[i]->ended_ms < prev_end)
            order_ok = 0;
        prev_end = a[i]->ended_ms;
    }
    assert_true(order_ok);
    /* 10 calls at 20/s with burst 1: the last is admitted 450 ms after the first (counted from
       before the first started: its own end may come late on a loaded host) */
    assert_true(a[N - 1]->ended_ms - t_first >= 448 * slow);
    for (int i = 0; i < N; i++)
        fx_async_free(a[i]);
    fx_free(f);
}

static void test_waiting_does_not_spin(void **state)
{
    (void)state;
    /* 16 calls waiting up to ~1.5 s use next to no CPU: each sleeps once */
    fx *f = rl_fx("rate = 10; burst = 1; max_wait = \"5s\";");
    enum { N = 16 };
    fx_async *a[N];
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (int i = 0; i < N; i++)
        a[i] = fx_start(f, "a", "{}", 0);
    for (int i = 0; i < N; i++) {
        fx_join(a[i]);
        assert_int_equal(a[i]->res->outcome, LMCP_OUTCOME_OK);
        fx_async_free(a[i]);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu_ms = (double)(c1.tv_sec - c0.tv_sec) * 1000.0 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
    assert_true(cpu_ms < 100.0 * fx_scale());
    assert_int_equal(fx_calls(), N);
    fx_free(f);
}

typedef struct stress_arg {
    fx *f;
    int id, calls, ok, refused;
} stress_arg;

static void *stress_main(void *p)
{
    stress_arg *s = p;
    for (int i = 0; i < s->calls; i++) {
        lmcp_result *r = fx_call(s->f, (i + s->id) % 3 == 0 ? "b" : "a", "{}");
        if (r->outcome == LMCP_OUTCOME_OK)
            s->ok++;
        else if (r->outcome == LMCP_OUTCOME_REFUSED)
            s->refused++;
        result_free(r);
    }
    return NULL;
}

static void test_concurrency_stress(void **state)
{
    (void)state;
    fx *f = rl_fx("global_rate = 20000; global_burst = 50; rate = 5000; burst = 20; max_wait = \"2ms\";");
    enum { T = 8 };
    int per = getenv("LMCP_UNDER_VALGRIND") ? 200 : 4000;
    pthread_t th[T];
    stress_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (stress_arg){f, i, per, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, stress_main, &args[i]), 0);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
        refused += args[i].refused;
    }
    assert_int_equal(ok + refused, T * per);
    assert_int_equal(fx_calls(), ok);
    assert_true(ok > 0);
    fx_free(f);
}

static void test_bad_settings(void **state)
{
    (void)state;
    fx *f = fx_new("wrappers = ( { plugin = \"rate-limit\"; rate = -1; } );\n", TOOLS, NTOOLS);
    assert_null(f->snap);
    assert_non_null(strstr(f->err, "rate"));
    fx_free(f);
    f = fx_new("wrappers = ( { plugin = \"rate-limit\"; max_wait = \"forever\"; } );\n", TOOLS, NTOOLS);
    assert_null(f->snap);
    fx_free(f);
}

/* Review findings: a tool's negative rate was checked on every call (and only when a global
 * limit was set), remembered by creating a bucket entry, and logged while the plugin's lock
 * was held. Now it is checked once, when the tool's bucket first sees it: ignored with one
 * warning, the instance's rate applies. */
static void test_bad_tool_rate_ignored_once(void **state)
{
    (void)state;
    fx *f = rl_fx("rate = 2; burst = 2; max_wait = 0;");
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_INFO);
    fx_stderr_begin();
    lmcp_outcome o[4];
    for (int i = 0; i < 4; i++)
        timed(f, "neg", &o[i], NULL);
    char *text = fx_stderr_end();
    log_set_level(old);
    assert_int_equal(o[0], LMCP_OUTCOME_OK);
    assert_int_equal(o[1], LMCP_OUTCOME_OK);
    assert_int_equal(o[2], LMCP_OUTCOME_REFUSED); /* the instance's 2/s, burst 2 */
    assert_int_equal(o[3], LMCP_OUTCOME_REFUSED);
    assert_int_equal(fx_count_lines(text, " warn ", "tool neg", "rate -1 is not a rate", "rate 2 applies", NULL), 1);
    free(text);
    fx_free(f);

    /* no per-tool and no global limit otherwise: the tag is still reported, once */
    f = rl_fx("max_wait = 0;");
    log_set_level(LMCP_LOG_INFO);
    fx_stderr_begin();
    int ok = 0;
    for (int i = 0; i < 5; i++) {
        timed(f, "neg", &o[0], NULL);
        ok += o[0] == LMCP_OUTCOME_OK;
    }
    text = fx_stderr_end();
    assert_int_equal(ok, 5);
    log_set_level(old);
    assert_int_equal(fx_count_lines(text, " warn ", "tool neg", "rate -1 is not a rate", NULL), 1);
    free(text);
    fx_free(f);
}

/* Review finding: the warning above was written while the plugin's one lock was held, so a
 * stalled stderr stalled every rate-limited call. */
static void test_logs_written_outside_the_lock(void **state)
{
    (void)state;
    fx *f = rl_fx("global_rate = 1000; global_burst = 1000; max_wait = 0;"); /* every call takes the lock */
    lmcp_log_level old = log_get_level();
    log_set_level(LMCP_LOG_INFO);
    fx_stderr_block();
    fx_async *warner = fx_start(f, "neg", "{}", 0); /* its warning blocks in write(2) */
    fx_sleep_ms((int64_t)(200 * fx_scale()));
    bool warner_blocked = !atomic_load(&warner->done);
    fx_async *other = fx_start(f, "a", "{}", 0);
    bool other_done = fx_wait_done(other, (int64_t)(1000 * fx_scale()));
    char *text = fx_stderr_unblock();
    fx_join(warner);
    fx_join(other);
    log_set_level(old);
    assert_true(warner_blocked);
    assert_true(other_done);
    assert_int_equal(other->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(warner->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(fx_count_lines(text, " warn ", "tool neg", "is not a rate", NULL), 1);
    free(text);
    fx_async_free(warner);
    fx_async_free(other);
    fx_free(f);
}

/* Review finding: a call delayed by its tool's bucket took its global token when it was admitted,
 * not when it fired; the global bucket refilled meanwhile and another tool's call used it, so
 * both reached Lambda at once with global_burst = 1. Now the global slot is reserved for the time
 * the call fires. global 1/s burst 1, "slow" 0.5/s: slow#1 fires at 0, slow#2 waits for its tool
 * (2 s); a call to "a" at 0.5 s used to fire with slow#2 at 2 s. Now it fires at 1 s — between
 * the two, not after slow#2: a slot booked for later does not block the global bucket before it. */
static void test_global_limit_holds_when_calls_fire(void **state)
{
    (void)state;
    fx *f = rl_fx("global_rate = 1; global_burst = 1; max_wait = \"5s\";"
                  " overrides = ( { tools = \"slow\"; rate = 0.5; burst = 1; } );");
    fx_term_default((fx_step){.sleep_ms = 250}); /* calls less than 250 ms apart overlap in Lambda */
    lmcp_outcome o;
    timed(f, "slow", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    fx_async *slow2 = fx_start(f, "slow", "{}", 0);
    fx_sleep_ms(250);
    fx_async *other = fx_start(f, "a", "{}", 0);
    fx_join(slow2);
    fx_join(other);
    assert_int_equal(slow2->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(other->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(fx_calls(), 3);
    assert_int_equal(atomic_load(&fx_term.max_inflight), 1); /* never two in Lambda at once */
    assert_true(other->ended_ms < slow2->ended_ms);           /* "a" went first (1 s vs 2 s) */
    fx_async_free(slow2);
    fx_async_free(other);
    fx_free(f);
}

/* Review finding: a cancelled waiter's token was given back "at now", so a newcomer got a slot a
 * later waiter had already booked. 1/s burst 1: A fires at 0, B and C queue (1 s, 2 s), B is
 * cancelled, D arrives: C and D both fired at 2 s. Now D takes B's slot (1 s). */
static void test_cancelled_slot_not_shared(void **state)
{
    (void)state;
    fx *f = rl_fx("rate = 1; burst = 1; max_wait = \"5s\";");
    fx_term_default((fx_step){.sleep_ms = 250});
    lmcp_outcome o;
    timed(f, "a", &o, NULL);
    assert_int_equal(o, LMCP_OUTCOME_OK);
    fx_async *b = fx_start(f, "a", "{}", 0);
    fx_sleep_ms(20);
    fx_async *c = fx_start(f, "a", "{}", 0);
    fx_sleep_ms(80);
    call_cancel(b->call);
    fx_join(b);
    assert_int_equal(b->res->outcome, LMCP_OUTCOME_CANCELLED);
    fx_async *d = fx_start(f, "a", "{}", 0);
    fx_join(c);
    fx_join(d);
    assert_int_equal(c->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(d->res->outcome, LMCP_OUTCOME_OK);
    assert_int_equal(fx_calls(), 3);
    assert_int_equal(atomic_load(&fx_term.max_inflight), 1); /* 1 s apart, not together */
    fx_async_free(b);
    fx_async_free(c);
    fx_async_free(d);
    fx_free(f);
}

/* Review finding: the wait was converted to int64 before it was compared with max_wait; for a
 * tiny rate (the tag "1e-14") that overflowed (on x86: INT64_MIN) and every call was admitted.
 * Now the first call takes the bucket's one token and the others are refused with a retry hint
 * clamped to a day. */
static void test_tiny_rate_refuses(void **state)
{
    (void)state;
    static const char *const confs[] = {
        "max_wait = \"1s\";",                                                  /* the tag 1e-14 */
        "max_wait = \"1s\"; overrides = ( { tools = \"tiny\"; rate = 1e-300; burst = 1000000; } );",
        "max_wait = \"1s\"; global_rate = 1e-300; global_burst = 1;",
    };
    static const char *const tool_of[] = {"tiny", "tiny", "a"};
    for (size_t k = 0; k < sizeof confs / sizeof *confs; k++) {
        fx *f = rl_fx(confs[k]);
        lmcp_outcome o;
        int64_t retry = 0;
        int ok = 0, refused = 0;
        for (int i = 0; i < 5; i++) {
            timed(f, tool_of[k], &o, &retry);
            if (o == LMCP_OUTCOME_OK) {
                ok++;
                continue;
            }
            assert_int_equal(o, LMCP_OUTCOME_REFUSED);
            assert_int_equal(retry, 86400000); /* clamped: a day */
            refused++;
        }
        /* the burst of 1000000 lets them all through at once; otherwise one token only */
        assert_int_equal(ok, k == 1 ? 5 : 1);
        assert_int_equal(refused, 5 - ok);
        fx_free(f);
    }
}

/* A rate that is not a finite number (libconfig reads the float 1e999 as infinity) is refused
 * where it is written, with the conf file's line: the instance's rates and a tool's override
 * alike (a tag's text "inf" is refused by the host's text parser). */
static void test_non_finite_rates(void **state)
{
    (void)state;
    const char *confs[] = {
        "wrappers = ( { plugin = \"rate-limit\"; global_rate = 1e999; } );\n",
        "wrappers = ( { plugin = \"rate-limit\"; rate = -1e999; } );\n",
        "wrappers = ( { plugin = \"rate-limit\"; rate = 1; burst = 1;\n"
        "  overrides = ( { tools = \"slow\"; rate = 1e999; } ); } );\n",
    };
    for (size_t i = 0; i < sizeof confs / sizeof *confs; i++) {
        fx *f = fx_new(confs[i], TOOLS, NTOOLS);
        if (f->snap || !strstr(f->err, "must be a finite number") || !strstr(f->err, i == 2 ? ":2: " : ":1: "))
            fail_msg("conf %zu: %s", i, f->snap ? "accepted" : f->err);
        fx_free(f);
    }
}

/* Soak finding: a tool's bucket was made on its first call and kept until the plugin was
 * destroyed, so a server whose refreshes kept bringing new tools grew by one bucket per tool
 * name ever called, forever. Buckets at rest (nothing booked, full again, nobody waiting) are now
 * dropped when the table has doubled since the last sweep; a bucket that is not full, or has a
 * call waiting, stays. 1,000 tools in 5 rounds of 200: about 2 rounds' worth may be kept. */
static fx_tool churn_tools[FX_CHURN + 2];

static void test_idle_buckets_dropped(void **state)
{
    (void)state;
    fx_churn_tools(churn_tools);
    churn_tools[FX_CHURN] = (fx_tool){.name = "p"};
    churn_tools[FX_CHURN + 1] = (fx_tool){.name = "w"};
    fx *f = fx_new("wrappers = ( { plugin = \"rate-limit\"; rate = 1000; burst = 1; max_wait = \"0\";\n"
                   "  overrides = ( { tools = [\"p\", \"w\"]; rate = 0.01; }, { tools = \"w\"; max_wait = \"300s\"; } ); } );\n",
                   churn_tools, FX_CHURN + 2);
    if (!f->snap)
        fail_msg("%s", f->err);
    lmcp_outcome o;
    timed(f, "p", &o, NULL); /* p's bucket is empty for the next 100 s */
    assert_int_equal(o, LMCP_OUTCOME_OK);
    timed(f, "w", &o, NULL);
    fx_async *w = fx_start(f, "w", "{}", 0); /* waits about 100 s for its slot, booked in w's bucket */
    fx_wait_running(w);
    fx_sleep_ms((int64_t)(100 * fx_scale()));
    for (int r = 0; r < FX_CHURN_ROUNDS; r++) {
        for (int i = 0; i < FX_CHURN_PER_ROUND; i++) {
            timed(f, fx_churn_names[r * FX_CHURN_PER_ROUND + i], &o, NULL);
            assert_int_equal(o, LMCP_OUTCOME_OK);
        }
        fx_sleep_ms(5); /* each bucket is full again 1 ms after its call */
    }
    call_cancel(w->call); /* takes its booking back from w's bucket, which was kept for it */
    fx_join(w);
    assert_int_equal(w->res->outcome, LMCP_OUTCOME_CANCELLED);
    fx_async_free(w);
    int64_t retry = 0;
    timed(f, "p", &o, &retry); /* p's bucket was kept: still empty */
    assert_int_equal(o, LMCP_OUTCOME_REFUSED);
    assert_true(retry > 50000);
    assert_int_equal(fx_calls(), 2 + FX_CHURN);

    unsigned long kept = 0, dropped = 0;
    fx_free_stats(f, "cancelled while waiting; ", "cancelled while waiting; %lu tool buckets kept, %lu dropped at rest",
                  &kept, &dropped);
    print_message("%d tools called: %lu tool buckets kept, %lu dropped at rest\n", FX_CHURN + 2, kept, dropped);
    assert_true(kept <= 2 * (FX_CHURN_PER_ROUND + 2) + 64);
    assert_int_equal(kept + dropped, FX_CHURN + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_delay),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_wait_then_refuse),
        cmocka_unit_test(test_global_bucket),
        cmocka_unit_test(test_per_tool_from_tags_and_overrides),
        cmocka_unit_test(test_cancel_during_wait),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_fair_order),
        cmocka_unit_test(test_waiting_does_not_spin),
        cmocka_unit_test(test_concurrency_stress),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_bad_tool_rate_ignored_once),
        cmocka_unit_test(test_logs_written_outside_the_lock),
        cmocka_unit_test(test_global_limit_holds_when_calls_fire),
        cmocka_unit_test(test_cancelled_slot_not_shared),
        cmocka_unit_test(test_tiny_rate_refuses),
        cmocka_unit_test(test_non_finite_rates),
        cmocka_unit_test(test_idle_buckets_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
