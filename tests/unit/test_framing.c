/* stdio framing: the line reader (chunk boundaries, CRLF, empty lines, oversized lines, EOF)
 * and the writer (whole lines under concurrency, EPIPE). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcp/framing.h"
#include "util/buf.h"
#include "util/str.h"

/* ------------------------------------------------------------------------------ a feeding thread */

typedef struct piece {
    const char *data;
    size_t len;
} piece;

typedef struct feeder {
    int fd;
    piece *pieces;
    size_t n;
    size_t split;  /* write each piece in slices of this many bytes (0: whole) */
    bool pause;    /* sleep a little between slices, so reads see partial lines */
} feeder;

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void *feed_main(void *arg)
{
    feeder *f = arg;
    for (size_t i = 0; i < f->n; i++) {
        const char *p = f->pieces[i].data;
        size_t left = f->pieces[i].len;
        while (left > 0) {
            size_t k = f->split && f->split < left ? f->split : left;
            write_all(f->fd, p, k);
            p += k;
            left -= k;
            if (f->pause)
                usleep(200);
        }
    }
    close(f->fd);
    return NULL;
}

typedef struct feeding {
    pthread_t th;
    feeder f;
    int rfd;
} feeding;

static void feed_start(feeding *fd, piece *pieces, size_t n, size_t split, bool pause)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fd->rfd = p[0];
    fd->f = (feeder){p[1], pieces, n, split, pause};
    assert_int_equal(pthread_create(&fd->th, NULL, feed_main, &fd->f), 0);
}

static void feed_join(feeding *fd)
{
    pthread_join(fd->th, NULL);
    close(fd->rfd);
}

static void expect_line(frame_reader *r, const char *want)
{
    const char *line = NULL;
    size_t len = 0;
    frame_rc rc = frame_reader_next(r, &line, &len);
    assert_int_equal(rc, FRAME_LINE);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(line, want, len);
    assert_int_equal(line[len], '\0');
}

static void expect_rc(frame_reader *r, frame_rc want)
{
    const char *line = NULL;
    size_t len = 0;
    assert_int_equal(frame_reader_next(r, &line, &len), want);
}

/* ------------------------------------------------------------------------------ reader tests */

static void test_chunk_boundaries(void **state)
{
    (void)state;
    const char *lines[] = {"{\"a\":1}", "x", "{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"tools/list\"}",
                           "a somewhat longer line with spaces and \\u00e9 escapes in it", "z"};
    buf all = BUF_INIT;
    for (size_t i = 0; i < 5; i++) {
        buf_append_str(&all, lines[i]);
        buf_append_char(&all, '\n');
    }
    /* several slicings: one byte at a time, odd sizes, with pauses so reads see partial lines */
    size_t splits[] = {1, 3, 7, 13, 0};
    for (size_t s = 0; s < sizeof splits / sizeof *splits; s++) {
        piece p = {all.data, all.len};
        feeding fd;
        feed_start(&fd, &p, 1, splits[s], splits[s] >= 3);
        frame_reader *r = frame_reader_new(fd.rfd, 1024);
        for (size_t i = 0; i < 5; i++)
            expect_line(r, lines[i]);
        expect_rc(r, FRAME_EOF);
        expect_rc(r, FRAME_EOF);
        frame_reader_free(r);
        feed_join(&fd);
    }
    buf_free(&all);
}

static void test_many_lines_across_chunks(void **state)
{
    (void)state;
    /* more than one 64 KiB chunk of lines of many sizes: every boundary position is hit */
    buf all = BUF_INIT;
    size_t n = 3000;
    for (size_t i = 0; i < n; i++) {
        buf_appendf(&all, "%zu:", i);
        for (size_t k = 0; k < i % 97; k++)
            buf_append_char(&all, (char)('a' + (char)(k % 26)));
        buf_append_char(&all, '\n');
    }
    piece p = {all.data, all.len};
    feeding fd;
    feed_start(&fd, &p, 1, 4093, false);
    frame_reader *r = frame_reader_new(fd.rfd, 200);
    for (size_t i = 0; i < n; i++) {
        const char *line;
        size_t len;
        assert_int_equal(frame_reader_next(r, &line, &len), FRAME_LINE);
        char want[160];
        int w = snprintf(want, sizeof want, "%zu:", i);
        for (size_t k = 0; k < i % 97; k++)
            want[w++] = (char)('a' + (char)(k % 26));
        want[w] = '\0';
        assert_int_equal(len, (size_t)w);
        assert_memory_equal(line, want, len);
    }
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    feed_join(&fd);
    buf_free(&all);
}

static void test_crlf_and_empty_lines(void **state)
{
    (void)state;
    const char *text = "\n\r\none\r\n\n\ntwo\n\r\n  \nthree\r\r\n";
    piece p = {text, strlen(text)};
    feeding fd;
    feed_start(&fd, &p, 1, 2, true);
    frame_reader *r = frame_reader_new(fd.rfd, 64);
    expect_line(r, "one");
    expect_line(r, "two");
    expect_line(r, "  "); /* not empty: the dispatcher answers it with a parse error */
    expect_line(r, "three\r"); /* only the one CR before the newline is stripped */
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    feed_join(&fd);
}

static void test_huge_line_skipped(void **state)
{
    (void)state;
    size_t huge = 20u * 1024 * 1024;
    char *big = xmalloc(huge + 1);
    memset(big, 'x', huge);
    big[huge] = '\n';
    piece pieces[] = {{"first\n", 6}, {big, huge + 1}, {"next\n", 5}, {"{\"last\":true}\n", 14}};
    feeding fd;
    feed_start(&fd, pieces, 4, 0, false);
    frame_reader *r = frame_reader_new(fd.rfd, 1024 * 1024);
    expect_line(r, "first");
    expect_rc(r, FRAME_TOO_LARGE); /* reported once */
    expect_line(r, "next");
    expect_line(r, "{\"last\":true}");
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    feed_join(&fd);
    free(big);
}

static void test_line_limit_exact(void **state)
{
    (void)state;
    /* max_line 10: 10 bytes pass (also with CRLF), 11 do not, with or without a CR */
    const char *text = "0123456789\n0123456789\r\n0123456789A\n0123456789A\r\nok\n";
    piece p = {text, strlen(text)};
    for (int pass = 0; pass < 2; pass++) {
        feeding fd;
        feed_start(&fd, &p, 1, pass ? 1 : 0, false);
        frame_reader *r = frame_reader_new(fd.rfd, 10);
        expect_line(r, "0123456789");
        expect_line(r, "0123456789");
        expect_rc(r, FRAME_TOO_LARGE);
        expect_rc(r, FRAME_TOO_LARGE);
        expect_line(r, "ok");
        expect_rc(r, FRAME_EOF);
        frame_reader_free(r);
        feed_join(&fd);
    }
}

static void test_eof_partial_line(void **state)
{
    (void)state;
    const char *text = "a\npartial";
    piece p = {text, strlen(text)};
    feeding fd;
    feed_start(&fd, &p, 1, 4, true);
    frame_reader *r = frame_reader_new(fd.rfd, 64);
    expect_line(r, "a");
    expect_line(r, "partial");
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    feed_join(&fd);

    const char *text2 = "b\nlast\r";
    piece p2 = {text2, strlen(text2)};
    feed_start(&fd, &p2, 1, 0, false);
    r = frame_reader_new(fd.rfd, 64);
    expect_line(r, "b");
    expect_line(r, "last");
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    feed_join(&fd);
}

static void test_eof_inside_oversized_line(void **state)
{
    (void)state;
    size_t n = 300000;
    char *big = xmalloc(n);
    memset(big, 'y', n);
    piece pieces[] = {{"one\n", 4}, {big, n}};
    feeding fd;
    feed_start(&fd, pieces, 2, 0, false);
    frame_reader *r = frame_reader_new(fd.rfd, 1000);
    expect_line(r, "one");
    expect_rc(r, FRAME_TOO_LARGE);
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    feed_join(&fd);
    free(big);
}

static void test_empty_input(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    frame_reader *r = frame_reader_new(p[0], 16);
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    close(p[0]);
}

static void test_read_error(void **state)
{
    (void)state;
    frame_reader *r = frame_reader_new(-1, 16);
    expect_rc(r, FRAME_ERROR);
    frame_reader_free(r);
}

/* ------------------------------------------------------------------------------ writer tests */

#define WRITERS 6
#define PER_WRITER 60

typedef struct wjob {
    out_writer *w;
    int index;
    int failures; /* cmocka asserts only on the main thread */
} wjob;

/* message j of writer i: "<i>:<j>:" then a body whose length and bytes depend on i and j; some
 * are larger than PIPE_BUF and than the pipe, so writes are partial */
static size_t body_len(int i, int j) { return (size_t)((i * 7919 + j * 104729) % 200000) + (size_t)j; }

static void *writer_main(void *arg)
{
    wjob *job = arg;
    for (int j = 0; j < PER_WRITER; j++) {
        buf m = BUF_INIT;
        buf_appendf(&m, "%d:%d:", job->index, j);
        size_t n = body_len(job->index, j);
        buf_reserve(&m, n);
        for (size_t k = 0; k < n; k++)
            buf_append_char(&m, (char)('A' + job->index));
        if (out_write_line(job->w, m.data, m.len) != 0)
            job->failures++;
        buf_free(&m);
    }
    return NULL;
}

static void test_writer_atomic(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    out_writer *w = out_writer_new(p[1]);
    pthread_t th[WRITERS];
    wjob jobs[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        jobs[i] = (wjob){w, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &jobs[i]), 0);
    }
    frame_reader *r = frame_reader_new(p[0], 1024 * 1024);
    int next[WRITERS] = {0};
    for (int count = 0; count < WRITERS * PER_WRITER; count++) {
        const char *line;
        size_t len;
        assert_int_equal(frame_reader_next(r, &line, &len), FRAME_LINE);
        int i = -1, j = -1, off = 0;
        assert_int_equal(sscanf(line, "%d:%d:%n", &i, &j, &off), 2);
        assert_true(i >= 0 && i < WRITERS);
        assert_int_equal(j, next[i]); /* each writer's messages in its order, none lost */
        next[i]++;
        size_t n = body_len(i, j);
        assert_int_equal(len, (size_t)off + n);
        for (size_t k = 0; k < n; k++)
            if (line[off + (int)k] != (char)('A' + i))
                fail_msg("line %d:%d has a foreign byte at %zu", i, j, k);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
    }
    assert_false(out_writer_closed(w));
    close(p[1]);
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    out_writer_free(w);
    close(p[0]);
}

/* A writer on a new pipe whose first message, "{}", was written at once on this thread: it is
 * in the pipe when out_write_line returns. */
static out_writer *pipe_writer_first_message(int p[2])
{
    assert_int_equal(pipe(p), 0);
    out_writer *w = out_writer_new(p[1]);
    assert_int_equal(out_write_line(w, "{}", 2), 0);
    char got[8] = {0};
    assert_int_equal(read(p[0], got, sizeof got), 3);
    assert_string_equal(got, "{}\n");
    return w;
}

static void test_writer_epipe(void **state)
{
    (void)state;
    int p[2];
    out_writer *w = pipe_writer_first_message(p);
    close(p[0]);
    assert_int_equal(out_write_line(w, "{\"a\":1}", 7), -1); /* SIGPIPE is ignored: EPIPE */
    assert_true(out_writer_closed(w));
    assert_int_equal(out_write_line(w, "{}", 2), -1);
    out_writer_free(w);
    close(p[1]);
}

/* A descriptor that is not open (stdout closed before the server started): the writer is made,
 * the first write fails and closes it; nothing reads what fstat did not fill in (valgrind: the
 * old file branched on the uninitialised st_mode of a failed fstat). */
static void test_writer_on_a_closed_fd(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    close(p[1]); /* p[1] names no open file now */
    out_writer *w = out_writer_new(p[1]);
    assert_int_equal(out_write_line(w, "{}", 2), -1);
    assert_true(out_writer_closed(w));
    assert_true(out_writer_free(w));
}

/* A client that does not read: out_write_line still returns at once (the messages wait in the
 * queue), for a pipe and for a socket pair (what Node.js gives a child); once it reads, every
 * message arrives whole and in order. With writes that block, the writing thread never got back. */
#define NOREAD_MSGS 300
#define NOREAD_LEN 10000

typedef struct noread_job {
    out_writer *w;
    atomic_int done;
    int failures;
} noread_job;

static void noread_msg(buf *m, int j)
{
    buf_appendf(m, "%d:", j);
    for (int k = 0; k < NOREAD_LEN; k++)
        buf_append_char(m, (char)('a' + (j + k) % 26));
}

/* what noread_writer wrote, every message whole and in order */
static void expect_noread_msgs(frame_reader *r)
{
    for (int j = 0; j < NOREAD_MSGS; j++) {
        const char *line;
        size_t len;
        assert_int_equal(frame_reader_next(r, &line, &len), FRAME_LINE);
        buf want = BUF_INIT;
        noread_msg(&want, j);
        if (len != want.len || memcmp(line, want.data, len) != 0)
            fail_msg("message %d arrived changed or out of order", j);
        buf_free(&want);
    }
}

static void *noread_writer(void *arg)
{
    noread_job *job = arg;
    for (int j = 0; j < NOREAD_MSGS; j++) {
        buf m = BUF_INIT;
        noread_msg(&m, j);
        if (out_write_line(job->w, m.data, m.len) != 0)
            job->failures++;
        buf_free(&m);
    }
    atomic_store(&job->done, 1);
    return NULL;
}

static void writer_without_reader(bool socket)
{
    int p[2];
    if (socket)
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    else
        assert_int_equal(pipe(p), 0);
    int rd = p[0], wr = p[1];
    noread_job job = {.w = out_writer_new(wr)};
    atomic_init(&job.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, noread_writer, &job), 0);
    for (int i = 0; i < 1000 && !atomic_load(&job.done); i++)
        usleep(10000);
    bool returned = atomic_load(&job.done);
    /* read everything (this also frees a writer that blocked, so the test ends either way) */
    frame_reader *r = frame_reader_new(rd, 1024 * 1024);
    expect_noread_msgs(r);
    pthread_join(th, NULL);
    if (!returned)
        fail_msg("%s: the writer waited for the client to read (%d messages of %d bytes)", socket ? "socket" : "pipe",
                 NOREAD_MSGS, NOREAD_LEN);
    assert_int_equal(job.failures, 0);
    assert_true(out_writer_free(job.w));
    close(wr);
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    close(rd);
}

static void test_writer_does_not_wait_for_the_client(void **state)
{
    (void)state;
    writer_without_reader(false);
    writer_without_reader(true);
}

/* At the queue's bound the producer waits for the client to read (nothing is dropped): with
 * 100 KB allowed, 300 messages of 10 KB cannot all be handed over while nobody reads; once the
 * client reads, they are, and every one arrives in order. */
static void test_writer_bound_waits_for_the_client(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    noread_job job = {.w = out_writer_new(p[1])};
    out_writer_limit(job.w, 100 * 1000);
    atomic_init(&job.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, noread_writer, &job), 0);
    usleep(300000);
    assert_false(atomic_load(&job.done)); /* waiting at the bound, not queueing 3 MB */
    frame_reader *r = frame_reader_new(p[0], 1024 * 1024);
    expect_noread_msgs(r);
    pthread_join(th, NULL);
    assert_int_equal(job.failures, 0);
    assert_true(out_writer_free(job.w));
    close(p[1]);
    expect_rc(r, FRAME_EOF);
    frame_reader_free(r);
    close(p[0]);
}

/* A small message when nothing waits goes out at once on the caller's thread; at the end, a
 * client that never reads does not hold out_writer_free for more than the stall limit. */
static void test_writer_free_with_a_client_that_never_reads(void **state)
{
    (void)state;
    int p[2];
    out_writer *w = pipe_writer_first_message(p);
    buf m = BUF_INIT;
    noread_msg(&m, 0);
    for (int j = 0; j < 50; j++) /* 500 KB: more than the pipe holds */
        assert_int_equal(out_write_line(w, m.data, m.len), 0);
    buf_free(&m);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(out_writer_free(w)); /* gives up after 2 s without progress: the fd is still in use */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took >= 1.9 && took < 10.0);
    /* the client goes: the abandoned thread's write fails (EPIPE) and it frees the writer (p[1]
       stays open: that thread may still be in writev on it, as it may on the server's stdout) */
    close(p[0]);
    usleep(300000);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_boundaries),
        cmocka_unit_test(test_many_lines_across_chunks),
        cmocka_unit_test(test_crlf_and_empty_lines),
        cmocka_unit_test(test_huge_line_skipped),
        cmocka_unit_test(test_line_limit_exact),
        cmocka_unit_test(test_eof_partial_line),
        cmocka_unit_test(test_eof_inside_oversized_line),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_writer_atomic),
        cmocka_unit_test(test_writer_epipe),
        cmocka_unit_test(test_writer_on_a_closed_fd),
        cmocka_unit_test(test_writer_does_not_wait_for_the_client),
        cmocka_unit_test(test_writer_bound_waits_for_the_client),
        cmocka_unit_test(test_writer_free_with_a_client_that_never_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
