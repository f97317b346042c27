/* The audit wrapper (plugins/wrappers/audit.c) as a real plugin module in a real chain. */
#include "test_wrappers_fixture.c"

#include <dirent.h>
#include <regex.h>
#include <openssl/evp.h>

static const fx_tool TOOLS[] = {
    {.name = "greet", .function = "greet"},
    {.name = "greet_live", .function = "greet", .qualifier = "live"},
    {.name = "vendor", .function = "vendor-fn", .arn = ""},
};
#define NTOOLS (sizeof TOOLS / sizeof *TOOLS)

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lmcp-audit-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/audit.jsonl", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

static fx *audit_fx(const char *settings, const char *more_wrappers)
{
    unlink(path);
    char conf[1024];
    snprintf(conf, sizeof conf, "wrappers = ( { plugin = \"audit\"; file = \"%s\"; %s }%s );\n", path, settings,
             more_wrappers ? more_wrappers : "");
    fx *f = fx_new(conf, TOOLS, NTOOLS);
    if (!f->snap)
        fail_msg("%s", f->err);
    return f;
}

static char *slurp(const char *p)
{
    FILE *fp = fopen(p, "r");
    if (!fp)
        return NULL;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', fp);
    fclose(fp);
    if (n < 0) {
        free(text);
        return strdup("");
    }
    return text;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

/* The n-th line (0-based) parsed; NULL when it is not JSON. */
static json_object *line_json(const char *text, int n)
{
    const char *p = text;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    const char *e = strchr(p, '\n');
    assert_non_null(e);
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, p, (int)(e - p));
    if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != (size_t)(e - p)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool jnull(json_object *o, const char *k)
{
    json_object *v = (json_object *)1;
    return json_object_object_get_ex(o, k, &v) && v == NULL;
}

static void sha256(const char *s, char out[65])
{
    unsigned char d[32];
    unsigned n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_line_format(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL);
    int64_t before = (int64_t)time(NULL);
    lmcp_result *r = fx_call(f, "greet", "{\"secret\":\"hunter2\",\"name\":\"Zed\",\"nested\":{\"b\":1,\"a\":[1,\"x/y\"]}}");
    assert_int_equal(r->outcome, LMCP_OUTCOME_OK);
    result_free(r);
    char *text = slurp(path);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 1);
    /* no raw argument value anywhere */
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "Zed"));
    json_object *o = line_json(text, 0);
    assert_non_null(o);
    /* the fields, in this order */
    static const char *const keys[] = {"v",          "time",      "tool",       "function",
                                       "qualifier",  "duration_ms", "outcome",  "request_id",
                                       "error_type", "from_cache", "arguments_sha256"};
    size_t k = 0;
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        assert_true(k < sizeof keys / sizeof *keys);
        assert_string_equal(key, keys[k]);
        k++;
    }
    assert_int_equal(k, sizeof keys / sizeof *keys);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "v", &v));
    assert_int_equal(json_object_get_int(v), 1);
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, jstr(o, "time"), 0, NULL, 0), 0);
    regfree(&re);
    struct tm tm = {0};
    assert_int_equal(sscanf(jstr(o, "time"), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                            &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    assert_true(t >= before && t <= before + 5);
    assert_string_equal(jstr(o, "tool"), "greet");
    assert_string_equal(jstr(o, "function"), "arn:aws:lambda:us-east-1:123456789012:function:greet");
    assert_true(jnull(o, "qualifier"));
    assert_true(json_object_object_get_ex(o, "duration_ms", &v));
    assert_true(json_object_is_type(v, json_type_double));
    assert_true(json_object_get_double(v) >= 0);
    assert_string_equal(jstr(o, "outcome"), "ok");
    assert_string_equal(jstr(o, "request_id"), "req-1");
    assert_true(jnull(o, "error_type"));
    assert_true(json_object_object_get_ex(o, "from_cache", &v));
    assert_false(json_object_get_boolean(v));
    /* the hash is that of the canonical JSON: keys sorted at every level, no whitespace */
    char want[65];
    sha256("{\"name\":\"Zed\",\"nested\":{\"a\":[1,\"x/y\"],\"b\":1},\"secret\":\"hunter2\"}", want);
    assert_string_equal(jstr(o, "arguments_sha256"), want);
    json_object_put(o);
    free(text);

    /* a qualifier, a function known by name only, no arguments */
    result_free(fx_call(f, "greet_live", "{\"name\":\"Zed\",\"secret\":\"hunter2\",\"nested\":{\"a\":[1,\"x/y\"],\"b\":1}}"));
    result_free(fx_call(f, "vendor", NULL));
    text = slurp(path);
    assert_int_equal(count_lines(text), 3);
    o = line_json(text, 1);
    assert_string_equal(jstr(o, "qualifier"), "live");
    assert_string_equal(jstr(o, "arguments_sha256"), want); /* same arguments, another key order */
    json_object_put(o);
    o = line_json(text, 2);
    assert_string_equal(jstr(o, "function"), "vendor-fn");
    sha256("{}", want);
    assert_string_equal(jstr(o, "arguments_sha256"), want);
    json_object_put(o);
    free(text);
    fx_free(f);
}

static void test_error_lines(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL);
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_FUNCTION_ERROR, .type = "ValueError"});
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_THROTTLED});
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_REFUSED, .type = "RateLimited"});
    fx_term_push((fx_step){.outcome = LMCP_OUTCOME_TIMEOUT});
    for (int i = 0; i < 4; i++)
        result_free(fx_call(f, "greet", "{}"));
    char *text = slurp(path);
    assert_int_equal(count_lines(text), 4);
    const char *want[4][2] = {{"function_error", "ValueError"},
                              {"throttled", "TooManyRequestsException"},
                              {"refused", "RateLimited"},
                              {"timeout", "Timeout"}};
    for (int i = 0; i < 4; i++) {
        json_object *o = line_json(text, i);
        assert_non_null(o);
        assert_string_equal(jstr(o, "outcome"), want[i][0]);
        assert_string_equal(jstr(o, "error_type"), want[i][1]);
        json_object_put(o);
    }
    free(text);
    fx_free(f);
}

static void test_log_arguments(void **state)
{
    (void)state;
    fx_stderr_begin();
    fx *f = audit_fx("log_arguments = true;", NULL);
    char *warn = fx_stderr_end();
    assert_int_equal(fx_count_lines(warn, " warn ", "log_arguments = true", NULL), 1);
    free(warn);
    result_free(fx_call(f, "greet", "{\"z\":\"\\u00e9\\n\",\"a\":{\"y\":null,\"x\":true}}"));
    char *text = slurp(path);
    json_object *o = line_json(text, 0);
    assert_non_null(o);
    json_object *args;
    assert_true(json_object_object_get_ex(o, "arguments", &args));
    assert_true(json_object_is_type(args, json_type_object));
    /* the canonical text is in the line as is */
    assert_non_null(strstr(text, ",\"arguments\":{\"a\":{\"x\":true,\"y\":null},\"z\":\"\xc3\xa9\\n\"}}\n"));
    char want[65];
    sha256("{\"a\":{\"x\":true,\"y\":null},\"z\":\"\xc3\xa9\\n\"}", want);
    assert_string_equal(jstr(o, "arguments_sha256"), want);
    json_object_put(o);
    free(text);
    fx_free(f);
}

static void test_file_mode_and_append(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL); /* creates the file */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    result_free(fx_call(f, "greet", "{}"));
    fx_free(f);
    /* an existing file keeps its content and mode; lines are appended */
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "previous line\n", 14), 14);
    close(fd);
    char conf[512];
    snprintf(conf, sizeof conf, "wrappers = ( { plugin = \"audit\"; file = \"%s\"; } );\n", path);
    f = fx_new(conf, TOOLS, NTOOLS);
    assert_non_null(f->snap);
    result_free(fx_call(f, "greet", "{}"));
    result_free(fx_call(f, "greet", "{}"));
    char *text = slurp(path);
    assert_int_equal(count_lines(text), 3);
    assert_memory_equal(text, "previous line\n{\"v\":1,", 21);
    free(text);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    fx_free(f);
}

static void test_rotation(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL);
    char rotated[160];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    result_free(fx_call(f, "greet", "{\"n\":1}"));
    assert_int_equal(rename(path, rotated), 0); /* logrotate's default: rename */
    fx_stderr_begin();
    result_free(fx_call(f, "greet", "{\"n\":2}"));
    result_free(fx_call(f, "greet", "{\"n\":3}"));
    char *log = fx_stderr_end();
    assert_int_equal(fx_count_lines(log, " info ", "rotated: reopening", NULL), 1);
    free(log);
    char *old = slurp(rotated), *cur = slurp(path);
    assert_int_equal(count_lines(old), 1);
    assert_int_equal(count_lines(cur), 2);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(old);
    free(cur);
    /* removed: recreated */
    unlink(path);
    result_free(fx_call(f, "greet", "{\"n\":4}"));
    cur = slurp(path);
    assert_int_equal(count_lines(cur), 1);
    free(cur);
    unlink(rotated);
    fx_free(f);
}

static void test_from_cache(void **state)
{
    (void)state;
    fx *f = audit_fx("", ", { plugin = \"cache\"; cacheable = true; }");
    result_free(fx_call(f, "greet", "{\"a\":1}"));
    result_free(fx_call(f, "greet", "{\"a\":1}"));
    assert_int_equal(fx_calls(), 1);
    char *text = slurp(path);
    assert_int_equal(count_lines(text), 2);
    json_object *a = line_json(text, 0), *b = line_json(text, 1);
    json_object *v;
    assert_true(json_object_object_get_ex(a, "from_cache", &v));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(b, "from_cache", &v));
    assert_true(json_object_get_boolean(v));
    assert_string_equal(jstr(b, "request_id"), jstr(a, "request_id"));
    assert_string_equal(jstr(b, "arguments_sha256"), jstr(a, "arguments_sha256"));
    json_object_put(a);
    json_object_put(b);
    free(text);
    fx_free(f);
}

static void test_stderr_destination(void **state)
{
    (void)state;
    fx *f = fx_new("wrappers = ( { plugin = \"audit\"; } );\n", TOOLS, NTOOLS); /* path "-" by default */
    assert_non_null(f->snap);
    fx_stderr_begin();
    result_free(fx_call(f, "greet", "{\"secret\":\"hunter2\"}"));
    char *text = fx_stderr_end();
    assert_int_equal(count_lines(text), 1);
    assert_memory_equal(text, "{\"v\":1,\"time\":\"", 15);
    assert_null(strstr(text, "hunter2"));
    json_object *o = line_json(text, 0);
    assert_non_null(o);
    json_object_put(o);
    free(text);
    fx_free(f);
}

static void test_bad_path(void **state)
{
    (void)state;
    fx *f = fx_new("wrappers = ( { plugin = \"audit\"; file = \"/nonexistent-dir/x/audit.jsonl\"; } );\n", TOOLS,
                   NTOOLS);
    assert_null(f->snap);
    assert_non_null(strstr(f->err, "cannot open the audit file /nonexistent-dir/x/audit.jsonl"));
    fx_free(f);
    f = fx_new("wrappers = ( { plugin = \"audit\"; file = \"\"; } );\n", TOOLS, NTOOLS);
    assert_null(f->snap);
    fx_free(f);
}

/* many threads writing while another rotates the file: every line whole, none lost */
typedef struct stress_arg {
    fx *f;
    int id, calls;
} stress_arg;

static void *stress_main(void *p)
{
    stress_arg *s = p;
    for (int i = 0; i < s->calls; i++) {
        char args[160];
        snprintf(args, sizeof args, "{\"thread\":%d,\"i\":%d,\"pad\":\"%064d\"}", s->id, i, i);
        lmcp_result *r = fx_call(s->f, i % 2 ? "greet" : "greet_live", args);
        result_free(r);
    }
    return NULL;
}

static atomic_bool rotating;

static void *rotator(void *p)
{
    (void)p;
    int n = 0;
    while (atomic_load(&rotating)) {
        char to[160];
        snprintf(to, sizeof to, "%s.r%d", path, ++n);
        rename(path, to);
        fx_sleep_ms(3);
    }
    return NULL;
}

static void test_concurrency_stress(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL);
    enum { T = 8 };
    int per = getenv("LMCP_UNDER_VALGRIND") ? 100 : 1000;
    pthread_t th[T], rot;
    stress_arg args[T];
    atomic_store(&rotating, true);
    fx_stderr_begin(); /* "rotated: reopening" info lines */
    assert_int_equal(pthread_create(&rot, NULL, rotator, NULL), 0);
    for (int i = 0; i < T; i++) {
        args[i] = (stress_arg){f, i, per};
        assert_int_equal(pthread_create(&th[i], NULL, stress_main, &args[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    atomic_store(&rotating, false);
    pthread_join(rot, NULL);
    free(fx_stderr_end());
    /* every line of every file is one whole JSON object */
    int lines = 0, files = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "audit.jsonl", 11) != 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        char *text = slurp(p);
        int n = count_lines(text);
        for (int i = 0; i < n; i++) {
            json_object *o = line_json(text, i);
            assert_non_null(o);
            json_object_put(o);
        }
        lines += n;
        files++;
        free(text);
        unlink(p);
    }
    closedir(d);
    assert_int_equal(lines, T * per);
    assert_true(files >= 2);
    fx_free(f);
}

/* Review finding: with audit and cache both on, the arguments were serialised and hashed twice
 * per call. The host now computes the digest once per call and memoises it in the call; both
 * wrappers use it (and audit writes the same digest as before). */
static void test_arguments_digest_computed_once(void **state)
{
    (void)state;
    fx *f = audit_fx("", ", { plugin = \"cache\"; cacheable = true; }");
    lmcp_call *c = fx_call_new(f, "greet", "{\"b\":[1,{\"y\":2,\"x\":1}],\"a\":\"s/t\"}", 0);
    assert_null(atomic_load(&c->args_sha256));
    lmcp_result *r = result_new();
    fx_run(f, c, r);
    const char *memo = atomic_load(&c->args_sha256);
    assert_non_null(memo); /* the chain asked the host */
    assert_true(LMCP_HOST_HAS(host_table(), call_arguments_sha256));
    assert_ptr_equal(host_table()->call_arguments_sha256(c), memo); /* never computed again */
    char want[65];
    sha256("{\"a\":\"s/t\",\"b\":[1,{\"x\":1,\"y\":2}]}", want);
    assert_string_equal(memo, want);
    char *text = slurp(path);
    json_object *line = line_json(text, 0);
    assert_string_equal(jstr(line, "arguments_sha256"), want);
    json_object_put(line);
    free(text);
    result_free(r);
    call_release(c);
    /* no arguments: the digest of {} */
    c = fx_call_new(f, "greet", NULL, 0);
    sha256("{}", want);
    assert_string_equal(host_table()->call_arguments_sha256(c), want);
    call_release(c);
    fx_free(f);
}

typedef struct digest_race {
    lmcp_call *call;
    pthread_barrier_t *go;
    const char *got;
} digest_race;

static void *digest_race_main(void *p)
{
    digest_race *d = p;
    pthread_barrier_wait(d->go);
    d->got = host_table()->call_arguments_sha256(d->call);
    return NULL;
}

/* Many wrappers asking at once get the one memoised string (the losers' copies are freed). */
static void test_arguments_digest_concurrent(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL);
    enum { T = 8 };
    for (int round = 0; round < 20; round++) {
        lmcp_call *c = fx_call_new(f, "greet", "{\"round\":1,\"x\":[true,null]}", 0);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, T);
        pthread_t th[T];
        digest_race d[T];
        for (int i = 0; i < T; i++) {
            d[i] = (digest_race){c, &go, NULL};
            assert_int_equal(pthread_create(&th[i], NULL, digest_race_main, &d[i]), 0);
        }
        for (int i = 0; i < T; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < T; i++)
            assert_ptr_equal(d[i].got, d[0].got);
        assert_ptr_equal(atomic_load(&c->args_sha256), d[0].got);
        assert_int_equal(strlen(d[0].got), 64);
        call_release(c);
    }
    fx_free(f);
}

/* Review finding: audit had its own table of outcome names (a new outcome would have printed
 * "unknown" in a versioned format). It now uses lmcp_outcome_name() of the plugin header. */
static void test_every_outcome_named(void **state)
{
    (void)state;
    fx *f = audit_fx("", NULL);
    for (int o = LMCP_OUTCOME_OK; o <= LMCP_OUTCOME_INVALID_ARGUMENTS; o++) {
        fx_term_push((fx_step){.outcome = (lmcp_outcome)o});
        result_free(fx_call(f, "greet", "{}"));
    }
    char *text = slurp(path);
    assert_int_equal(count_lines(text), LMCP_OUTCOME_INVALID_ARGUMENTS + 1);
    for (int o = LMCP_OUTCOME_OK; o <= LMCP_OUTCOME_INVALID_ARGUMENTS; o++) {
        json_object *line = line_json(text, o);
        assert_non_null(line);
        assert_string_equal(jstr(line, "outcome"), lmcp_outcome_name((lmcp_outcome)o));
        assert_string_equal(jstr(line, "outcome"), outcome_name((lmcp_outcome)o));
        assert_string_not_equal(jstr(line, "outcome"), "unknown");
        json_object_put(line);
    }
    free(text);
    fx_free(f);
}

/* Review finding: the audit wrapper logged to the server's log (stderr) while it held its lock —
 * "the audit file was rotated: reopening it" and "cannot write an audit line" — so with the audit
 * going to a file, a stalled stderr stalled every call at the audit wrapper. The lines are now
 * written after the lock is released. Two ways to get such a line: a rotation, and a write error
 * (/dev/full: ENOSPC; logged once a minute, so the second call only needs the lock). */
static void test_logs_written_outside_the_lock(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        char rotated[160];
        snprintf(rotated, sizeof rotated, "%s.1", path);
        fx *f;
        if (k == 0) {
            f = audit_fx("", NULL);
            result_free(fx_call(f, "greet", "{\"n\":1}"));
            assert_int_equal(rename(path, rotated), 0);
        } else {
            f = fx_new("wrappers = ( { plugin = \"audit\"; file = \"/dev/full\"; } );\n", TOOLS, NTOOLS);
            if (!f->snap)
                fail_msg("%s", f->err);
        }
        lmcp_log_level old = log_get_level();
        log_set_level(LMCP_LOG_INFO);
        fx_stderr_block();
        fx_async *logger = fx_start(f, "greet", "{\"n\":2}", 0); /* its log line blocks in write(2) */
        fx_sleep_ms((int64_t)(200 * fx_scale()));
        bool logger_blocked = !atomic_load(&logger->done);
        fx_async *other = fx_start(f, "greet_live", "{\"n\":3}", 0); /* needs only the audit lock */
        bool other_done = fx_wait_done(other, (int64_t)(1000 * fx_scale()));
        char *text = fx_stderr_unblock();
        fx_join(logger);
        fx_join(other);
        log_set_level(old);
        assert_true(logger_blocked);
        assert_true(other_done);
        assert_int_equal(logger->res->outcome, LMCP_OUTCOME_OK);
        assert_int_equal(other->res->outcome, LMCP_OUTCOME_OK);
        if (k == 0) {
            assert_int_equal(fx_count_lines(text, " info ", "audit: the audit file", "rotated: reopening", NULL), 1);
            char *cur = slurp(path);
            assert_int_equal(count_lines(cur), 2); /* both calls' lines, in the new file */
            free(cur);
            unlink(rotated);
        } else {
            assert_int_equal(fx_count_lines(text, " error ", "cannot write an audit line to /dev/full", NULL), 1);
        }
        free(text);
        fx_async_free(logger);
        fx_async_free(other);
        fx_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_error_lines),
        cmocka_unit_test(test_log_arguments),
        cmocka_unit_test(test_file_mode_and_append),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_from_cache),
        cmocka_unit_test(test_stderr_destination),
        cmocka_unit_test(test_bad_path),
        cmocka_unit_test(test_concurrency_stress),
        cmocka_unit_test(test_arguments_digest_computed_once),
        cmocka_unit_test(test_arguments_digest_concurrent),
        cmocka_unit_test(test_every_outcome_named),
        cmocka_unit_test(test_logs_written_outside_the_lock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
