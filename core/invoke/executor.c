#include "config.h"
#include "invoke/executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "invoke/chain.h"
#include "tools/schema.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

typedef struct job {
    lmcp_call *call;
    call_done_fn done;
    void *ctx;
    struct job *next;
} job;

/* One thread of the pool and the call it is running (for cancellation at shutdown). A slot is
 * FREE (never used, or its thread joined), LIVE, or LEFT: its thread left after idling and is
 * joined by the next thread to leave, whoever reuses the slot, or shutdown. Under e->mu. */
enum slot_state { SLOT_FREE, SLOT_LIVE, SLOT_LEFT };
typedef struct worker_slot {
    struct executor *e;
    pthread_t thread;
    enum slot_state state;
    lmcp_call *call;          /* NULL when it runs none; under e->mu */
} worker_slot;

struct executor {
    pthread_mutex_t mu;
    pthread_cond_t work;      /* a job was queued, or stopping */
    pthread_cond_t idle;      /* a job finished */
    chain *chain;
    size_t max_workers, max_queued;
    job *head, *tail;
    size_t queued;
    size_t idle_workers;      /* threads waiting on work */
    size_t wakes_pending;     /* signals sent to work that no waiter has returned from yet */
    size_t running;           /* jobs being run: slots whose call is set */
    worker_slot *slots;       /* max_threads of them */
    size_t n_threads;         /* LIVE slots */
    size_t max_threads;       /* max_workers, plus one for the reader role */
    int64_t idle_timeout_ms;  /* an idle thread leaves after this, down to EXECUTOR_MIN_THREADS */
    bool stopping;
    bool hurry;               /* executor_hurry: the grace period is over */
    /* leader/followers reading */
    executor_read_fn read_fn;
    executor_eof_fn eof_fn;
    void *read_ctx;
    bool reading;             /* read_fn is set and the input has not ended */
    bool reader_busy;         /* a thread holds the reader role */
    pthread_t reader;         /* that thread, while reader_busy */
};

static void *worker(void *arg);

/* Start one more thread, unless the pool is full or the executor is stopping (shutdown joins
 * the threads that exist when it starts: one started later would never be joined). Caller
 * holds e->mu. */
static void spawn_locked(executor *e)
{
    if (e->stopping || e->n_threads >= e->max_threads)
        return;
    worker_slot *slot = NULL;
    for (size_t i = 0; i < e->max_threads && !slot; i++)
        if (e->slots[i].state != SLOT_LIVE)
            slot = &e->slots[i];
    if (slot->state == SLOT_LEFT) {
        /* its thread has marked it and let go of e->mu for good: joining under the mutex
           waits at most for it to return */
        pthread_join(slot->thread, NULL);
        slot->state = SLOT_FREE;
    }
    slot->e = e;
    slot->call = NULL;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&slot->thread, &attr, worker, slot) == 0) {
        slot->state = SLOT_LIVE;
        e->n_threads++;
    } else if (e->n_threads == 0) {
        LOG_ERROR("executor", "cannot start a worker thread");
    }
    pthread_attr_destroy(&attr);
}

/* Make sure one more thread comes to look at the queue and the reader role: claim a waiting
 * thread that no earlier signal has claimed yet (true: signal e->work after the unlock), else
 * start one. Counting the signals in flight matters: a thread already signalled but not yet
 * back from pthread_cond_wait still counts as idle, and a second signal meant for "another
 * thread" would wake nobody (a reader role handed to a thread that instead takes a queued call,
 * and nobody reads). Caller holds e->mu. */
static bool want_thread_locked(executor *e)
{
    if (e->idle_workers > e->wakes_pending) {
        e->wakes_pending++;
        return true;
    }
    spawn_locked(e);
    return false;
}

/* Run one call on this thread: argument validation, then the wrapper chain. */
static void run_call(executor *e, lmcp_call *call, lmcp_result *res)
{
    result_clear(res);
    int64_t t0 = clock_mono_us();
    const tool *t = call->tool;
    if (call_is_cancelled(call)) {
        result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled", "the call was cancelled");
        return;
    }
    /* the arguments as the client sent them, against the schema it was shown */
    const schema_validator *v = tool_validator(t);
    if (v) {
        char *report = NULL;
        size_t n = schema_validate(v, call->arguments, &report);
        if (n > 0) {
            result_set_error(res, LMCP_OUTCOME_INVALID_ARGUMENTS, "InvalidArguments",
                             "the arguments do not match the input schema of tool '%s' (%zu violation%s):\n%s", t->name,
                             n, n == 1 ? "" : "s", report ? report : "");
            free(report);
            return;
        }
        free(report);
    }
    chain *c = call->snap->chain ? call->snap->chain : e->chain;
    if (c)
        chain_run(c, call, res);
    else
        result_set_error(res, LMCP_OUTCOME_SERVICE_ERROR, "NoInvoker", "no invoker is configured");
    if (!res->duration_us)
        res->duration_us = clock_mono_us() - t0;
}

static void *worker(void *arg)
{
    worker_slot *slot = arg;
    executor *e = slot->e;
    lmcp_result res;
    result_init(&res);
    bool wake_follower = false; /* signal e->work once e->mu is released */
    bool idled = false;         /* its last wait for work timed out */
    pthread_mutex_lock(&e->mu);
    for (;;) {
        if (e->head && e->running < e->max_workers) {
            job *j = e->head;
            e->head = j->next;
            if (!e->head)
                e->tail = NULL;
            e->queued--;
            e->running++;
            slot->call = j->call;
            idled = false;
            pthread_mutex_unlock(&e->mu);
            /* woken while this thread still held e->mu, the follower would block on the mutex
               at once and need a second wake-up: one more context switch on the call's path */
            if (wake_follower)
                pthread_cond_signal(&e->work);
            wake_follower = false;

            run_call(e, j->call, &res);
            j->done(j->ctx, j->call, &res);
            result_clear(&res);

            /* one lock round per call on the way back (a second one here was a second chance to
               collide with the reader handing its role on) */
            pthread_mutex_lock(&e->mu);
            slot->call = NULL; /* before the release: shutdown cancels what slots point to */
            e->running--;
            if (e->stopping) {
                pthread_cond_broadcast(&e->idle); /* only shutdown waits on it */
                /* threads that found the queue non-empty but every slot taken wait for work
                   (the reader among them, once its input has ended): with the queue now empty
                   nothing else would wake them to leave, and shutdown joins them */
                if (!e->head)
                    pthread_cond_broadcast(&e->work);
            }
            call_release(j->call);
            free(j);
            continue;
        }
        if (e->reading && !e->reader_busy && !e->stopping) {
            e->reader_busy = true;
            e->reader = pthread_self();
            idled = false;
            pthread_mutex_unlock(&e->mu);
            bool more = e->read_fn(e->read_ctx);
            pthread_mutex_lock(&e->mu);
            e->reader_busy = false;
            if (e->stopping) {
                /* shutdown started while this thread was reading: it may have been left alone
                   (detached) as a reader blocked in read(2), so it takes nothing more — what it
                   queued is run by the pool or finished by shutdown — and leaves */
                break;
            }
            if (!more) {
                e->reading = false;
                pthread_cond_broadcast(&e->work);
                pthread_mutex_unlock(&e->mu);
                if (e->eof_fn)
                    e->eof_fn(e->read_ctx);
                pthread_mutex_lock(&e->mu);
                continue;
            }
            if (e->head && e->running < e->max_workers) /* this thread runs what it just read: */
                wake_follower = want_thread_locked(e);   /* someone else reads meanwhile */
            continue;
        }
        if (e->stopping && !e->head)
            break;
        if (idled && e->n_threads > EXECUTOR_MIN_THREADS && !e->stopping) {
            /* idle for idle_timeout_ms with nothing to do: leave (a burst's threads are not
               kept for ever). An exited thread keeps its stack until it is joined: this one
               joins those that left before it (they let go of e->mu for good when they left),
               so at most one is waiting at a time, for the next to leave, a spawn that reuses
               its slot, or shutdown. */
            for (size_t i = 0; i < e->max_threads; i++)
                if (e->slots[i].state == SLOT_LEFT) {
                    pthread_join(e->slots[i].thread, NULL);
                    e->slots[i].state = SLOT_FREE;
                }
            slot->state = SLOT_LEFT;
            e->n_threads--;
            break;
        }
        e->idle_workers++;
        struct timespec until = clock_mono_deadline(e->idle_timeout_ms);
        int rc = pthread_cond_timedwait(&e->work, &e->mu, &until);
        e->idle_workers--;
        /* Timed out with no signal in flight: nobody counted on this thread, so it may leave once
           it has looked at the queue and the reader role again. With a signal in flight it may
           have taken that signal (a timed-out wait may still consume one), so it stays. */
        idled = rc == ETIMEDOUT && e->wakes_pending == 0;
        if (e->wakes_pending) /* (a spurious wake-up may take another's: then one signal too many) */
            e->wakes_pending--;
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

executor *executor_new(const executor_opts *o, chain *c)
{
    executor *e = xcalloc(1, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    /* both waited on with deadlines from clock_mono_deadline(): a condition variable on the
       default clock (CLOCK_REALTIME) takes such a deadline for one long past and returns at once */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->work, &ca);
    pthread_cond_init(&e->idle, &ca);
    pthread_condattr_destroy(&ca);
    e->chain = c;
    e->max_workers = o && o->max_inflight ? o->max_inflight : 64;
    e->max_queued = o && o->max_queued ? o->max_queued : 1024;
    e->max_threads = e->max_workers + 1;
    e->idle_timeout_ms = o && o->idle_timeout_ms > 0 ? o->idle_timeout_ms : EXECUTOR_IDLE_TIMEOUT_MS;
    e->slots = xcalloc(e->max_threads, sizeof *e->slots);
    return e;
}

int executor_submit(executor *e, lmcp_call *call, call_done_fn done, void *ctx)
{
    pthread_mutex_lock(&e->mu);
    if (e->stopping || e->queued >= e->max_queued) {
        pthread_mutex_unlock(&e->mu);
        return -1;
    }
    job *j = xcalloc(1, sizeof *j);
    j->call = call_ref(call);
    j->done = done;
    j->ctx = ctx;
    if (e->tail)
        e->tail->next = j;
    else
        e->head = j;
    e->tail = j;
    e->queued++;
    /* submitted by the reader: it runs the call itself as soon as read_fn returns */
    if (e->reader_busy && pthread_equal(e->reader, pthread_self())) {
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    /* A worker waiting for work is woken after the unlock: woken while we still held e->mu, it
       would block on the mutex at once and need a second wake-up (one more context switch per
       call). One that is not waiting yet checks the queue under e->mu before it waits. With no
       unclaimed waiter, one more thread is started (up to max_workers plus the reader: the
       reader, blocked in read(2), runs nothing until its input moves). */
    bool wake = want_thread_locked(e);
    pthread_mutex_unlock(&e->mu);
    if (wake)
        pthread_cond_signal(&e->work);
    return 0;
}

bool executor_withdraw(executor *e, lmcp_call *call)
{
    pthread_mutex_lock(&e->mu);
    job *j = NULL, *prev = NULL;
    for (j = e->head; j && j->call != call; j = j->next)
        prev = j;
    if (j) {
        if (prev)
            prev->next = j->next;
        else
            e->head = j->next;
        if (e->tail == j)
            e->tail = prev;
        e->queued--;
        if (e->stopping && !e->head) {
            pthread_cond_broadcast(&e->idle);
            pthread_cond_broadcast(&e->work); /* see worker(): threads waiting for a slot leave */
        }
    }
    pthread_mutex_unlock(&e->mu);
    if (!j)
        return false;
    lmcp_result res;
    result_init(&res);
    result_set_error(&res, LMCP_OUTCOME_CANCELLED, "Cancelled", "the call was cancelled before it started");
    j->done(j->ctx, j->call, &res);
    result_clear(&res);
    call_release(j->call);
    free(j);
    return true;
}

void executor_start_reading(executor *e, executor_read_fn read_fn, executor_eof_fn eof_fn, void *ctx)
{
    pthread_mutex_lock(&e->mu);
    e->read_fn = read_fn;
    e->eof_fn = eof_fn;
    e->read_ctx = ctx;
    e->reading = true;
    bool wake = want_thread_locked(e);
    pthread_mutex_unlock(&e->mu);
    if (wake)
        pthread_cond_signal(&e->work);
}

size_t executor_threads(executor *e, size_t *left)
{
    pthread_mutex_lock(&e->mu);
    size_t n = e->n_threads;
    if (left) {
        *left = 0;
        for (size_t i = 0; i < e->max_threads; i++)
            *left += e->slots[i].state == SLOT_LEFT;
    }
    pthread_mutex_unlock(&e->mu);
    return n;
}

size_t executor_inflight(executor *e)
{
    pthread_mutex_lock(&e->mu);
    size_t n = e->running + e->queued;
    pthread_mutex_unlock(&e->mu);
    return n;
}

void executor_shutdown(executor *e, int64_t grace_ms)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_broadcast(&e->work);
    struct timespec until = clock_mono_deadline(grace_ms > 0 ? grace_ms : 0);
    while ((e->running || e->queued) && grace_ms > 0 && !e->hurry) {
        if (pthread_cond_timedwait(&e->idle, &e->mu, &until) != 0)
            break;
    }
    if (e->running || e->queued)
        LOG_INFO("executor", "shutting down: cancelling %zu call(s) still running", e->running + e->queued);
    for (size_t i = 0; i < e->max_threads; i++)
        if (e->slots[i].state == SLOT_LIVE && e->slots[i].call)
            call_cancel(e->slots[i].call);
    for (job *j = e->head; j; j = j->next)
        call_cancel(j->call);
    bool reader_blocked = e->reader_busy;
    pthread_t reader = e->reader;
    pthread_mutex_unlock(&e->mu);
    /* no thread starts or leaves once stopping is set: the slots stay as they are */
    for (size_t i = 0; i < e->max_threads; i++) {
        worker_slot *slot = &e->slots[i];
        if (slot->state == SLOT_FREE)
            continue;
        if (slot->state == SLOT_LIVE && reader_blocked && pthread_equal(slot->thread, reader))
            pthread_detach(slot->thread); /* blocked in read(2) on input the client still holds */
        else
            pthread_join(slot->thread, NULL);
        slot->state = SLOT_FREE;
    }
    /* The joined threads drained the queue before leaving; a job is left only when no thread
       was there to run it (the only one was the reader, which takes nothing once stopping is
       set). It was cancelled above: finish it here, so every done callback runs once. */
    lmcp_result res;
    result_init(&res);
    pthread_mutex_lock(&e->mu);
    e->n_threads = 0;
    while (e->head) {
        job *j = e->head;
        e->head = j->next;
        if (!e->head)
            e->tail = NULL;
        e->queued--;
        pthread_mutex_unlock(&e->mu);
        result_set_error(&res, LMCP_OUTCOME_CANCELLED, "Cancelled", "the server shut down before the call started");
        j->done(j->ctx, j->call, &res);
        result_clear(&res);
        call_release(j->call);
        free(j);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
}

void executor_hurry(executor *e)
{
    pthread_mutex_lock(&e->mu);
    e->hurry = true;
    pthread_cond_broadcast(&e->idle);
    pthread_mutex_unlock(&e->mu);
}

void executor_free(executor *e)
{
    if (!e)
        return;
    executor_shutdown(e, 0);
    free(e->slots);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->idle);
    free(e);
}
