/* credentials plugins: credential_process command lines are split like botocore's shlex.split
 * (no shell: $(...), ;, |, &&, `...`, globs stay literal words) and run with a hard timeout
 * (plugins/credentials/common/shellsplit.h, proc.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../plugins/credentials/common/proc.h"
#include "../../plugins/credentials/common/shellsplit.h"
#include "../../plugins/credentials/common/util.h"

/* split and compare with the expected words (NULL-terminated) */
static void split_is(const char *line, const char *const *expect)
{
    char **argv;
    size_t argc;
    char err[200];
    if (cc_shell_split(line, &argv, &argc, err, sizeof err) != 0)
        fail_msg("'%s': %s", line, err);
    size_t n = 0;
    while (expect[n])
        n++;
    if (argc != n)
        fail_msg("'%s': %zu words, expected %zu", line, argc, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(argv[i], expect[i]);
    assert_null(argv[argc]);
    cc_strv_free(argv);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_split_words_and_quotes(void **state)
{
    (void)state;
    split_is("a b  c", WORDS("a", "b", "c"));
    split_is("  lead and trail  ", WORDS("lead", "and", "trail"));
    split_is("a\tb\nc", WORDS("a", "b", "c"));
    split_is("\"a b\" c", WORDS("a b", "c"));
    split_is("'a \"b\" c'", WORDS("a \"b\" c"));
    split_is("a\\ b", WORDS("a b"));
    split_is("\"a\\\"b\"", WORDS("a\"b"));
    split_is("\"a\\\\b\"", WORDS("a\\b"));
    /* inside double quotes a backslash escapes only " and \ */
    split_is("\"a\\nb\"", WORDS("a\\nb"));
    split_is("\"a\\$b\"", WORDS("a\\$b"));
    split_is("'a\\b'", WORDS("a\\b"));
    split_is("a\\\\b", WORDS("a\\b"));
    split_is("x''", WORDS("x"));
    split_is("''", WORDS(""));
    split_is("\"\" a", WORDS("", "a"));
    split_is("a\"b\"'c'd", WORDS("abcd"));
    split_is("/usr/bin/aws-vault export --format=json \"my profile\"",
             WORDS("/usr/bin/aws-vault", "export", "--format=json", "my profile"));
}

static void test_split_no_shell_semantics(void **state)
{
    (void)state;
    split_is("/bin/echo $(id) ; touch /tmp/pwned | cat && rm -rf ~ # c",
             WORDS("/bin/echo", "$(id)", ";", "touch", "/tmp/pwned", "|", "cat", "&&", "rm", "-rf", "~", "#", "c"));
    split_is("$HOME `id` *.txt > out < in 2>&1", WORDS("$HOME", "`id`", "*.txt", ">", "out", "<", "in", "2>&1"));
    split_is("cmd;touch /tmp/x", WORDS("cmd;touch", "/tmp/x"));
}

static void test_split_errors(void **state)
{
    (void)state;
    char **argv;
    size_t argc;
    char err[200];
    assert_int_equal(cc_shell_split("\"abc", &argv, &argc, err, sizeof err), -1);
    assert_null(argv);
    assert_non_null(strstr(err, "closing quote"));
    assert_int_equal(cc_shell_split("'abc", &argv, &argc, err, sizeof err), -1);
    assert_int_equal(cc_shell_split("abc\\", &argv, &argc, err, sizeof err), -1);
    assert_non_null(strstr(err, "backslash"));
    assert_int_equal(cc_shell_split("", &argv, &argc, err, sizeof err), 0);
    assert_int_equal(argc, 0);
    assert_null(argv[0]);
    cc_strv_free(argv);
    assert_int_equal(cc_shell_split("   \t ", &argv, &argc, err, sizeof err), 0);
    assert_int_equal(argc, 0);
    cc_strv_free(argv);
}

/* ------------------------------------------------------------------ running */

typedef struct lines {
    char buf[4096];
    int n;
} lines;

static void collect(void *ctx, const char *line)
{
    lines *l = ctx;
    l->n++;
    size_t used = strlen(l->buf);
    snprintf(l->buf + used, sizeof l->buf - used, "%s|", line);
}

static int run_line(const char *line, int64_t timeout_ms, cc_buf *out, lines *err_lines, cc_proc_result *res)
{
    char **argv;
    size_t argc;
    char err[300];
    assert_int_equal(cc_shell_split(line, &argv, &argc, err, sizeof err), 0);
    int rc = cc_proc_run(argv, timeout_ms, 1 << 20, out, collect, err_lines, res, err, sizeof err);
    cc_strv_free(argv);
    return rc;
}

static void test_run_output_and_status(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    assert_int_equal(run_line("/bin/sh -c 'printf \"{\\\"Version\\\": 1}\"; echo warn1 >&2; echo warn2 >&2; exit 3'",
                              5000, &out, &el, &res),
                     0);
    assert_string_equal(out.data, "{\"Version\": 1}");
    assert_true(res.exited);
    assert_int_equal(res.exit_code, 3);
    assert_false(res.timed_out);
    assert_string_equal(el.buf, "warn1|warn2|");
    cc_buf_wipe_free(&out);
}

static void test_run_no_shell(void **state)
{
    (void)state;
    char dir[] = "/tmp/lmcp-test-proc.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *marker = cc_asprintf("%s/pwned", dir);
    char *line = cc_asprintf("/bin/echo hello ; touch %s $(touch %s) `touch %s`", marker, marker, marker);
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    assert_int_equal(run_line(line, 5000, &out, &el, &res), 0);
    struct stat st;
    assert_int_not_equal(stat(marker, &st), 0); /* nothing ran but echo */
    char *expect = cc_asprintf("hello ; touch %s $(touch %s) `touch %s`\n", marker, marker, marker);
    assert_string_equal(out.data, expect);
    free(expect);
    free(line);
    free(marker);
    cc_buf_wipe_free(&out);
    rmdir(dir);
}

static void test_run_stdin_is_empty(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    /* reads stdin: gets EOF at once (never the server's MCP stream) */
    assert_int_equal(run_line("/bin/cat", 5000, &out, &el, &res), 0);
    assert_true(res.exited);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(out.len, 0);
    cc_buf_wipe_free(&out);
}

static void test_run_timeout_kills_the_group(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* a child that starts a grandchild holding the pipes open: both must die */
    assert_int_equal(run_line("/bin/sh -c 'sleep 30 & sleep 30'", 300, &out, &el, &res), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(res.timed_out);
    assert_true(secs < 3.0);
    cc_buf_wipe_free(&out);
}

static void test_run_failures(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    char err[300];
    char *argv[] = {"/nonexistent/credential-helper", NULL};
    assert_int_equal(cc_proc_run(argv, 1000, 1024, &out, collect, &el, &res, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot run /nonexistent/credential-helper: No such file"));
    char *nopath[] = {"lmcp-no-such-credential-helper", NULL};
    assert_int_equal(cc_proc_run(nopath, 1000, 1024, &out, collect, &el, &res, err, sizeof err), -1);
    assert_non_null(strstr(err, "not found in PATH"));
    char plain[] = "/tmp/lmcp-test-noexec.XXXXXX";
    int fd = mkstemp(plain); /* mode 0600: not executable */
    assert_true(fd >= 0);
    close(fd);
    char *notexec[] = {plain, NULL};
    assert_int_equal(cc_proc_run(notexec, 1000, 1024, &out, collect, &el, &res, err, sizeof err), -1);
    unlink(plain);
    /* found through PATH */
    char *viapath[] = {"true", NULL};
    assert_int_equal(cc_proc_run(viapath, 5000, 1024, &out, collect, &el, &res, err, sizeof err), 0);
    assert_true(res.exited && res.exit_code == 0);
    char *empty[] = {NULL};
    assert_int_equal(cc_proc_run(empty, 1000, 1024, &out, collect, &el, &res, err, sizeof err), -1);
    /* too much output */
    char *big[] = {"/bin/sh", "-c", "head -c 5000 /dev/zero", NULL};
    assert_int_equal(cc_proc_run(big, 5000, 1024, &out, collect, &el, &res, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 1024 bytes"));
    cc_buf_wipe_free(&out);
    /* killed by a signal */
    char *sig[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
    assert_int_equal(cc_proc_run(sig, 5000, 1024, &out, collect, &el, &res, err, sizeof err), 0);
    assert_false(res.exited);
    assert_int_equal(res.signal, 9);
    cc_buf_wipe_free(&out);
}

/* Only 0-2 reach the child: not a descriptor the server opened without O_CLOEXEC (pooled
 * sockets), low or high, whichever way the descriptors are closed. */
static void fds_closed_in_child(cc_fd_close how)
{
    int low = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */
    assert_true(low >= 3);
    int high = dup2(low, 9); /* the highest a POSIX sh can test (dash: single digits) */
    assert_int_equal(high, 9);
    assert_int_equal(fcntl(high, F_GETFD) & FD_CLOEXEC, 0);
    char *line = cc_asprintf("/bin/sh -c 'for f in 0 1 2 %d %d; do (: <&$f) 2>/dev/null && printf \"%%s \" $f; "
                             "done; echo'", low, high);
    cc_proc_set_fd_close(how);
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    int rc = run_line(line, 5000, &out, &el, &res);
    cc_proc_set_fd_close(CC_FDS_AUTO);
    assert_int_equal(rc, 0);
    assert_true(res.exited);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out.data, "0 1 2 \n");
    cc_buf_wipe_free(&out);
    free(line);
    close(high);
    close(low);
}

static void test_run_closes_descriptors(void **state)
{
    (void)state;
    fds_closed_in_child(CC_FDS_AUTO);
    fds_closed_in_child(CC_FDS_LIST);
    fds_closed_in_child(CC_FDS_BOUNDED);
}

static void test_run_long_stderr(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    lines el = {"", 0};
    cc_proc_result res;
    /* 300 lines: at most 200 are passed on, plus a note */
    assert_int_equal(run_line("/bin/sh -c 'i=0; while [ $i -lt 300 ]; do echo x >&2; i=$((i+1)); done'", 5000, &out,
                              &el, &res),
                     0);
    assert_int_equal(el.n, 201);
    cc_buf_wipe_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_words_and_quotes),
        cmocka_unit_test(test_split_no_shell_semantics),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_run_output_and_status),
        cmocka_unit_test(test_run_no_shell),
        cmocka_unit_test(test_run_stdin_is_empty),
        cmocka_unit_test(test_run_timeout_kills_the_group),
        cmocka_unit_test(test_run_failures),
        cmocka_unit_test(test_run_long_stderr),
        cmocka_unit_test(test_run_closes_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
