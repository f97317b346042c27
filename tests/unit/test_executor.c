/* The executor's leader/followers reading: a call runs on the thread that read it, another thread
 * takes over reading meanwhile (so a cancel for a running call is read and acted on), max_inflight
 * calls run at once while reading goes on, the end of input is reported once. */
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

#include "invoke/chain.h"
#include "invoke/executor.h"
#include "tools/registry.h"
#include "util/clock.h"

#define MAX_CALLS 8

typedef struct fixture {
    executor *e;
    chain *c;
    tool_snapshot *snap;
    int fd;                       /* read end of the input pipe */
    FILE *in;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lmcp_call *calls[MAX_CALLS];
    pthread_t read_by[MAX_CALLS]; /* the thread that read "call i" */
    pthread_t run_by[MAX_CALLS];  /* the thread the terminal ran on for call i */
    int started, finished, cancelled_seen;
    atomic_int eofs;
    bool shut_down;               /* executor_shutdown returned (on a thread of the test's) */
    int concurrent, max_concurrent;
} fixture;

static fixture F;

/* The terminal: blocks until the call is cancelled or 2 s pass ("ms" ms when the arguments say),
 * recording where it ran. */
static int terminal(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx;
    int i = call->arguments ? json_object_get_int(json_object_object_get(call->arguments, "i")) : 0;
    pthread_mutex_lock(&F.mu);
    F.run_by[i] = pthread_self();
    F.started++;
    F.concurrent++;
    if (F.concurrent > F.max_concurrent)
        F.max_concurrent = F.concurrent;
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
    json_object *ms = call->arguments ? json_object_object_get(call->arguments, "ms") : NULL;
    int rc = call_sleep(call, ms ? json_object_get_int(ms) : 2000);
    pthread_mutex_lock(&F.mu);
    F.concurrent--;
    if (rc == LMCP_CANCELLED)
        F.cancelled_seen++;
    pthread_mutex_unlock(&F.mu);
    result_set_ok(res, "{}", 2);
    return LMCP_OK;
}

static void done(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx, (void)call, (void)res;
    pthread_mutex_lock(&F.mu);
    F.finished++;
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
}

/* One line of input per call: "call I" submits call I (one that ends after MS ms with "call I MS"),
 * "cancel I" cancels it. */
static bool read_fn(void *ctx)
{
    (void)ctx;
    char line[64];
    if (!fgets(line, sizeof line, F.in))
        return false;
    int i, ms;
    int n = sscanf(line, "call %d %d", &i, &ms);
    if (n >= 1) {
        json_object *args = json_object_new_object();
        json_object_object_add(args, "i", json_object_new_int(i));
        if (n == 2)
            json_object_object_add(args, "ms", json_object_new_int(ms));
        lmcp_call *c = call_new(F.snap, &F.snap->tools[0], args, 0);
        json_object_put(args);
        pthread_mutex_lock(&F.mu);
        F.calls[i] = c;
        F.read_by[i] = pthread_self();
        pthread_mutex_unlock(&F.mu);
        assert_int_equal(executor_submit(F.e, c, done, NULL), 0);
    } else if (sscanf(line, "cancel %d", &i) == 1) {
        pthread_mutex_lock(&F.mu);
        lmcp_call *c = F.calls[i];
        pthread_mutex_unlock(&F.mu);
        call_cancel(c);
    }
    return true;
}

static void eof_fn(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&F.eofs, 1);
    pthread_mutex_lock(&F.mu);
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
}

static void wait_for(int *counter, int n)
{
    struct timespec until = clock_mono_deadline(5000);
    pthread_mutex_lock(&F.mu);
    while (*counter < n)
        if (pthread_cond_timedwait(&F.cv, &F.mu, &until) != 0)
            break;
    int got = *counter;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(got, n);
}

/* The fixture F with an executor reading the pipe whose write end is returned (idle_ms: its
 * threads' idle timeout; 0 for the default). */
static int f_start_idle(size_t max_inflight, int64_t idle_ms)
{
    memset(&F, 0, sizeof F);
    pthread_mutex_init(&F.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&F.cv, &ca);
    pthread_condattr_destroy(&ca);
    int p[2];
    assert_int_equal(pipe(p), 0);
    F.in = fdopen(p[0], "r");
    setvbuf(F.in, NULL, _IONBF, 0); /* one line per read: no read-ahead hidden in stdio */
    F.snap = snapshot_new();
    tool *t = snapshot_add(F.snap);
    t->name = strdup("t");
    t->function_name = strdup("t");
    snapshot_finish(F.snap);
    F.c = chain_new(terminal, NULL);
    executor_opts o = {.max_inflight = max_inflight, .max_queued = 16, .idle_timeout_ms = idle_ms};
    F.e = executor_new(&o, F.c);
    executor_start_reading(F.e, read_fn, eof_fn, NULL);
    return p[1];
}

static int f_start(size_t max_inflight)
{
    return f_start_idle(max_inflight, 0);
}

/* Free what f_start made, once the executor is shut down. */
static void f_free(void)
{
    executor_free(F.e);
    for (int i = 0; i < MAX_CALLS; i++)
        if (F.calls[i])
            call_release(F.calls[i]);
    chain_free(F.c);
    snapshot_release(F.snap);
    fclose(F.in);
    pthread_mutex_destroy(&F.mu);
    pthread_cond_destroy(&F.cv);
}

/* Close the input, wait for the end of input to be reported (once), shut down, free. */
static void f_finish(int wfd)
{
    close(wfd);
    struct timespec until = clock_mono_deadline(5000);
    pthread_mutex_lock(&F.mu);
    while (atomic_load(&F.eofs) == 0 && pthread_cond_timedwait(&F.cv, &F.mu, &until) == 0) {
    }
    pthread_mutex_unlock(&F.mu);
    clock_sleep_ms(50);
    assert_int_equal(atomic_load(&F.eofs), 1);
    executor_shutdown(F.e, 1000);
    f_free();
}

static void test_leader_followers(void **state)
{
    (void)state;
    int w = f_start(3);

    /* a call runs on the thread that read it */
    dprintf(w, "call 0\n");
    wait_for(&F.started, 1);
    assert_true(pthread_equal(F.read_by[0], F.run_by[0]));
    /* while it runs, another thread reads: its cancel arrives and ends it */
    dprintf(w, "cancel 0\n");
    wait_for(&F.finished, 1);
    assert_int_equal(F.cancelled_seen, 1);

    /* max_inflight (3) calls at once, and reading goes on: the 4th waits, a cancel still arrives */
    dprintf(w, "call 1\ncall 2\ncall 3\ncall 4\n");
    wait_for(&F.started, 4); /* calls 1-3 */
    clock_sleep_ms(100);
    pthread_mutex_lock(&F.mu);
    int started = F.started, maxc = F.max_concurrent;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(started, 4);
    assert_int_equal(maxc, 3);
    dprintf(w, "cancel 1\n");
    wait_for(&F.started, 5);   /* call 4 took the freed slot */
    dprintf(w, "cancel 2\ncancel 3\ncancel 4\n");
    wait_for(&F.finished, 5);
    assert_int_equal(F.cancelled_seen, 5);

    /* the end of input is reported once */
    f_finish(w);
}

/* A call submitted by a thread that is not the reader (the server replays requests parked before
 * the first discovery from the discovery thread) runs at once even with max_inflight = 1 while
 * the reader is blocked in read(2). It waited for the next input line: the pool counted the
 * reader as one of the max_inflight workers, so no thread was started for the call. */
static void test_submit_from_another_thread(void **state)
{
    (void)state;
    int w = f_start(1);
    clock_sleep_ms(50); /* the reader is blocked on the empty pipe */

    json_object *args = json_object_new_object();
    json_object_object_add(args, "i", json_object_new_int(0));
    lmcp_call *c = call_new(F.snap, &F.snap->tools[0], args, 0);
    json_object_put(args);
    F.calls[0] = c;
    assert_int_equal(executor_submit(F.e, c, done, NULL), 0);
    wait_for(&F.started, 1); /* no input line needed */
    /* and reading goes on: a cancel written now reaches the running call */
    dprintf(w, "cancel 0\n");
    wait_for(&F.finished, 1);
    assert_int_equal(F.cancelled_seen, 1);

    /* the end of input reached before shutdown: no reader left blocked (detached) to outlive
       this test and change the next one's thread count */
    f_finish(w);
}

/* The end of input with more calls than max_inflight: the reader, its input gone, waits for a
 * free slot like any thread; the calls run one after another and finish on their own within the
 * grace period. Then shutdown returns: the thread that ran the last call wakes the ones still
 * waiting for work, which leave. (It hung in pthread_join: nothing woke them once the queue was
 * empty, and the server waited out shutdown_grace + 3 s and _exit()ed.) */
static void *shutdown_main(void *arg)
{
    executor_shutdown(arg, 5000);
    pthread_mutex_lock(&F.mu);
    F.shut_down = true;
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
    return NULL;
}

static void test_drain_with_queued_calls(void **state)
{
    (void)state;
    int w = f_start(1);
    dprintf(w, "call 0 100\ncall 1 100\ncall 2 100\n");
    close(w);
    struct timespec until = clock_mono_deadline(5000);
    pthread_mutex_lock(&F.mu);
    while (atomic_load(&F.eofs) == 0 && pthread_cond_timedwait(&F.cv, &F.mu, &until) == 0) {
    }
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(atomic_load(&F.eofs), 1);
    int64_t t0 = clock_mono_us();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, shutdown_main, F.e), 0);
    /* the three calls take 300 ms; the grace period is 5 s */
    until = clock_mono_deadline(3000);
    pthread_mutex_lock(&F.mu);
    while (!F.shut_down && pthread_cond_timedwait(&F.cv, &F.mu, &until) == 0) {
    }
    bool returned = F.shut_down;
    int finished = F.finished, cancelled = F.cancelled_seen;
    pthread_mutex_unlock(&F.mu);
    if (!returned)
        fail_msg("executor_shutdown did not return within 3 s of the end of input (%d of 3 calls finished)", finished);
    pthread_join(th, NULL);
    assert_int_equal(finished, 3);
    assert_int_equal(cancelled, 0); /* each ran to its end within the grace period */
    assert_true(clock_mono_us() - t0 < 2000000);
    f_free();
}

/* ------------------------------------------------------------------ shutdown while reading */

/* The reader submits a call, then stays in read_fn (as a reader blocked in read(2) does) until
 * the test opens the gate: shutdown happens meanwhile. */
typedef struct gate_fixture {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    executor *e;
    tool_snapshot *snap;
    int reads;
    bool waiting, open;
    int done;
    lmcp_outcome outcome;
} gate_fixture;

static gate_fixture G;

static void gate_done(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx, (void)call;
    pthread_mutex_lock(&G.mu);
    G.done++;
    G.outcome = res->outcome;
    pthread_cond_broadcast(&G.cv);
    pthread_mutex_unlock(&G.mu);
}

static bool gate_read(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&G.mu);
    int n = G.reads++;
    pthread_mutex_unlock(&G.mu);
    if (n > 0)
        fail_msg("read_fn was called again after shutdown");
    lmcp_call *c = call_new(G.snap, &G.snap->tools[0], NULL, 0);
    assert_int_equal(executor_submit(G.e, c, gate_done, NULL), 0);
    call_release(c);
    pthread_mutex_lock(&G.mu);
    G.waiting = true;
    pthread_cond_broadcast(&G.cv);
    while (!G.open)
        pthread_cond_wait(&G.cv, &G.mu);
    pthread_mutex_unlock(&G.mu);
    return true;
}

static int threads_of_process(void)
{
    int n = 0;
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* Shutdown while the reader is inside read_fn with a call it queued: the call is finished (its
 * done callback runs once, cancelled) by shutdown, and when read_fn returns the thread takes
 * nothing more, starts no thread and leaves. */
static void test_shutdown_while_reading(void **state)
{
    (void)state;
    int baseline = threads_of_process();
    memset(&G, 0, sizeof G);
    pthread_mutex_init(&G.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines from clock_mono_deadline() */
    pthread_cond_init(&G.cv, &ca);
    pthread_condattr_destroy(&ca);
    G.snap = snapshot_new();
    tool *t = snapshot_add(G.snap);
    t->name = strdup("t");
    t->function_name = strdup("t");
    snapshot_finish(G.snap);
    chain *c = chain_new(terminal, NULL);
    executor_opts o = {.max_inflight = 2, .max_queued = 4};
    G.e = executor_new(&o, c);
    executor_start_reading(G.e, gate_read, NULL, NULL);
    struct timespec until = clock_mono_deadline(5000);
    pthread_mutex_lock(&G.mu);
    while (!G.waiting && pthread_cond_timedwait(&G.cv, &G.mu, &until) == 0) {
    }
    assert_true(G.waiting);
    pthread_mutex_unlock(&G.mu);

    executor_shutdown(G.e, 0);
    pthread_mutex_lock(&G.mu);
    assert_int_equal(G.done, 1); /* finished by shutdown, not left in the queue */
    assert_int_equal(G.outcome, LMCP_OUTCOME_CANCELLED);
    G.open = true;
    pthread_cond_broadcast(&G.cv);
    pthread_mutex_unlock(&G.mu);

    /* the detached reader leaves once read_fn returns, having run nothing */
    int64_t end = clock_mono_us() + 5000000;
    while (threads_of_process() > baseline && clock_mono_us() < end)
        clock_sleep_ms(5);
    assert_int_equal(threads_of_process(), baseline);
    pthread_mutex_lock(&G.mu);
    assert_int_equal(G.done, 1);
    assert_int_equal(G.reads, 1);
    pthread_mutex_unlock(&G.mu);
    executor_free(G.e);
    chain_free(c);
    snapshot_release(G.snap);
    pthread_mutex_destroy(&G.mu);
    pthread_cond_destroy(&G.cv);
}

/* ------------------------------------------------------------------ idle threads leave */

/* A burst's threads do not stay for ever: once idle for idle_timeout_ms they leave, down to
 * EXECUTOR_MIN_THREADS (the reader and one ready to take over reading), and really exit; the next
 * burst starts threads again in the slots they left, and every call runs. (Before, a pool kept
 * every thread it had ever started: max_inflight + 1 after one burst.) */
static void test_idle_threads_leave(void **state)
{
    (void)state;
    int baseline = threads_of_process();
    int w = f_start_idle(6, 2000);
    /* no thread of the pool can have idled for longer than this has been running */
    int64_t burst_start = clock_mono_us();
    dprintf(w, "call 0 800\ncall 1 800\ncall 2 800\ncall 3 800\ncall 4 800\ncall 5 800\n");
    wait_for(&F.started, 6);
    size_t burst = executor_threads(F.e, NULL);
    assert_true(burst >= 7); /* six running (800 ms each: still running on a slow host) and the reader */
    wait_for(&F.finished, 6);

    /* idle, they wait without using the CPU and stay until the timeout. (The condition variable
       they wait on was on CLOCK_REALTIME and took the monotonic deadline for one long past: every
       wait returned at once, the threads left at once and the last two spun, one vCPU busy.) */
    struct timespec c0, c1;
    int64_t t0 = clock_mono_us();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    clock_sleep_ms(300);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    int64_t idle_us = clock_mono_us() - t0;
    int64_t cpu_us = (c1.tv_sec - c0.tv_sec) * 1000000 + (c1.tv_nsec - c0.tv_nsec) / 1000;
    if (cpu_us > idle_us / 3)
        fail_msg("the idle pool used %lld us of CPU in %lld us", (long long)cpu_us, (long long)idle_us);
    /* none has idled for 2 s yet: none may have left (a host so slow that 2 s went by since the
       burst began proves nothing either way, and skips the check) */
    size_t now_threads = executor_threads(F.e, NULL);
    int64_t since_burst_us = clock_mono_us() - burst_start;
    if (since_burst_us < 2000000 && now_threads < burst)
        fail_msg("%zu of %zu threads left %lld ms after the burst began; the idle timeout is 2000 ms", burst - now_threads, burst,
                 (long long)since_burst_us / 1000);

    /* after the timeout they leave (the wait is bounded, not timed: a loaded host only makes it later) */
    int64_t end = clock_mono_us() + 10000000;
    while ((executor_threads(F.e, NULL) > EXECUTOR_MIN_THREADS ||
            threads_of_process() > baseline + EXECUTOR_MIN_THREADS) && clock_mono_us() < end)
        clock_sleep_ms(10);
    if (executor_threads(F.e, NULL) != EXECUTOR_MIN_THREADS)
        fail_msg("%zu threads 10 s after a burst of %zu went idle (idle timeout 2000 ms); expected %d", executor_threads(F.e, NULL),
                 burst, EXECUTOR_MIN_THREADS);
    assert_int_equal(threads_of_process(), baseline + EXECUTOR_MIN_THREADS); /* exited, not just counted out */
    /* and joined, but for the last to leave: an exited thread holds its stack until it is */
    size_t left = 0;
    executor_threads(F.e, &left);
    if (left > 1)
        fail_msg("%zu threads left and were never joined (each holds its stack); at most 1 should wait", left);

    /* the next burst: threads start again where the others left, every call runs and a cancel is
       still read while they run */
    dprintf(w, "call 6 300\ncall 7\n");
    wait_for(&F.started, 8);
    assert_true(executor_threads(F.e, NULL) >= 3);
    dprintf(w, "cancel 7\n");
    wait_for(&F.finished, 8);
    assert_int_equal(F.cancelled_seen, 1);
    f_finish(w);
    /* joined; the kernel may count an exiting thread a moment longer (pthread_join returns once
       its tid is cleared, before it leaves the thread group) */
    end = clock_mono_us() + 5000000;
    while (threads_of_process() > baseline && clock_mono_us() < end)
        clock_sleep_ms(5);
    assert_int_equal(threads_of_process(), baseline);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_leader_followers), cmocka_unit_test(test_submit_from_another_thread),
                                       cmocka_unit_test(test_drain_with_queued_calls),
                                       cmocka_unit_test(test_shutdown_while_reading),
                                       cmocka_unit_test(test_idle_threads_leave)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
