/* The log-tail wrapper (plugins/wrappers/log-tail.c) as a real plugin module in a real chain. */
#include "test_wrappers_fixture.c"

static const fx_tool TOOLS[] = {
    {.name = "logs", .function = "logs-fn"},
    {.name = "errs_only", .function = "other-fn"},
};
#define NTOOLS (sizeof TOOLS / sizeof *TOOLS)

static fx *lt_fx(const char *conf_wrappers)
{
    fx *f = fx_new(conf_wrappers, TOOLS, NTOOLS);
    if (!f->snap)
        fail_msg("%s", f->err);
    return f;
}

static void test_tail_sent_as_client_log(void **state)
{
    (void)state;
    fx *f = lt_fx("wrappers = ( { plugin = \"log-tail\"; } );\n");
    fx_term_default((fx_step){.log_tail = "START RequestId: 1\nhello from the function\nEND RequestId: 1\n"});
    lmcp_result *r = fx_call(f, "logs", "{}");
    assert_int_equal(r->outcome, LMCP_OUTCOME_OK);
    result_free(r);
    assert_true(atomic_load(&fx_term.saw_log_tail_request)); /* X-Amz-Log-Type: Tail was asked for */
    assert_int_equal(fx_logs.n, 1);
    assert_int_equal(fx_logs.logs[0].level, LMCP_LOG_INFO);
    assert_string_equal(fx_logs.logs[0].logger, "lambda/logs-fn");
    assert_string_equal(fx_logs.logs[0].text, "START RequestId: 1\nhello from the function\nEND RequestId: 1");
    /* a failed call's tail too */
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_FUNCTION_ERROR, .log_tail = "Traceback ...\n"});
    result_free(fx_call(f, "logs", "{}"));
    assert_int_equal(fx_logs.n, 2);
    assert_string_equal(fx_logs.logs[1].text, "Traceback ...");
    /* no tail, an empty one, a cancelled call: nothing */
    fx_term_push((fx_step){0});
    fx_term_push((fx_step){.log_tail = "\n"});
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_CANCELLED, .log_tail = "x"});
    for (int i = 0; i < 3; i++)
        result_free(fx_call(f, "logs", "{}"));
    assert_int_equal(fx_logs.n, 2);
    fx_free(f);
}

static void test_settings(void **state)
{
    (void)state;
    /* level, only_errors per tool, max_bytes keeps the end */
    fx *f = lt_fx("wrappers = ( { plugin = \"log-tail\"; level = \"debug\"; max_bytes = 16;\n"
                  "  overrides = ( { tools = \"errs_only\"; only_errors = true; } ); } );\n");
    fx_term_default((fx_step){.log_tail = "0123456789abcdefghijklmnopqrstuvwxyz\n"});
    result_free(fx_call(f, "logs", "{}"));
    assert_int_equal(fx_logs.n, 1);
    assert_int_equal(fx_logs.logs[0].level, LMCP_LOG_DEBUG);
    assert_string_equal(fx_logs.logs[0].text, "lmnopqrstuvwxyz"); /* the last 16 bytes, newline trimmed */
    result_free(fx_call(f, "errs_only", "{}"));
    assert_int_equal(fx_logs.n, 1);
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_SERVICE_ERROR, .log_tail = "boom"});
    result_free(fx_call(f, "errs_only", "{}"));
    assert_int_equal(fx_logs.n, 2);
    assert_string_equal(fx_logs.logs[1].logger, "lambda/other-fn");
    fx_free(f);

    /* a cut never starts inside a UTF-8 sequence */
    f = lt_fx("wrappers = ( { plugin = \"log-tail\"; max_bytes = 16; } );\n");
    fx_term_default((fx_step){.log_tail = "xxxx\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9z"});
    result_free(fx_call(f, "logs", "{}"));
    assert_int_equal(fx_logs.n, 1);
    /* the last 16 bytes begin with the second byte of an \xc3\xa9: it is skipped */
    assert_string_equal(fx_logs.logs[0].text, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9z");
    fx_free(f);

    f = fx_new("wrappers = ( { plugin = \"log-tail\"; level = \"loud\"; } );\n", TOOLS, NTOOLS);
    assert_null(f->snap);
    assert_non_null(strstr(f->err, "level must be"));
    fx_free(f);
}

static void test_cached_answers_replay_no_log(void **state)
{
    (void)state;
    /* log-tail outside the cache: a hit carries from_cache and no log is sent */
    fx *f = lt_fx("wrappers = ( { plugin = \"log-tail\"; }, { plugin = \"cache\"; cacheable = true; } );\n");
    fx_term_default((fx_step){.log_tail = "a log line\n"});
    result_free(fx_call(f, "logs", "{\"a\":1}"));
    lmcp_result *r = fx_call(f, "logs", "{\"a\":1}");
    assert_true(r->from_cache);
    result_free(r);
    assert_int_equal(fx_calls(), 1);
    assert_int_equal(fx_logs.n, 1);
    fx_free(f);
}

typedef struct stress_arg {
    fx *f;
    int calls;
} stress_arg;

static void *stress_main(void *p)
{
    stress_arg *s = p;
    for (int i = 0; i < s->calls; i++)
        result_free(fx_call(s->f, "logs", "{}"));
    return NULL;
}

static int stress_logs;
static void count_log(void *ctx, lmcp_log_level level, const char *logger, const char *text)
{
    (void)ctx, (void)level, (void)logger, (void)text;
    __atomic_add_fetch(&stress_logs, 1, __ATOMIC_SEQ_CST);
}

static void *stress_main_counting(void *p)
{
    stress_arg *s = p;
    for (int i = 0; i < s->calls; i++) {
        lmcp_call *c = fx_call_new(s->f, "logs", "{}", 0);
        c->log_fn = count_log;
        lmcp_result *r = result_new();
        fx_run(s->f, c, r);
        call_release(c);
        result_free(r);
    }
    return NULL;
}

static void test_concurrency_stress(void **state)
{
    (void)state;
    fx *f = lt_fx("wrappers = ( { plugin = \"log-tail\"; } );\n");
    fx_term_default((fx_step){.log_tail = "line\n"});
    enum { T = 8 };
    int per = getenv("LMCP_UNDER_VALGRIND") ? 200 : 3000;
    pthread_t th[T];
    stress_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (stress_arg){f, per};
        assert_int_equal(pthread_create(&th[i], NULL, i % 2 ? stress_main_counting : stress_main, &args[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(fx_calls(), T * per);
    assert_int_equal(__atomic_load_n(&stress_logs, __ATOMIC_SEQ_CST), T / 2 * per);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_sent_as_client_log),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_cached_answers_replay_no_log),
        cmocka_unit_test(test_concurrency_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
