/* stdio framing: newline-delimited messages in, one whole message per write out.
 *
 * Reader: bytes are read in chunks into one buffer. A complete line is handed out in place
 * (NUL-terminated where its newline was). A line that grows past max_line is not buffered
 * further: the reader switches to skip mode, throws bytes away up to the next newline, and
 * reports the line once as FRAME_TOO_LARGE. The buffer never holds more than
 * max_line + 1 (a possible CR) + one chunk bytes.
 *
 * Writer: one mutex; each message and its '\n' go out with writev() in a loop over short
 * writes and EINTR, so concurrent writers never interleave inside a line — on the caller's
 * thread when nothing waits and the pipe or socket has room for it, else through a queue a
 * writer thread drains in order (below), so a client slow to read its stdout never blocks the
 * server's threads, the reader of stdin among them. Once the peer is gone (EPIPE, or any
 * other hard error) the writer is closed and drops later messages. */
#include "config.h"
#include "mcp/framing.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#ifndef F_GETPIPE_SZ
#define F_GETPIPE_SZ 1032 /* Linux, F_LINUX_SPECIFIC_BASE + 8 (glibc shows it with _GNU_SOURCE) */
#endif

#define FRAME_CHUNK ((size_t)64 * 1024)

struct frame_reader {
    int fd;
    size_t max_line;
    char *data;
    size_t cap;
    size_t start;    /* first byte not yet handed out */
    size_t len;      /* bytes in data */
    size_t scanned;  /* data[start, scanned) holds no newline */
    bool skipping;   /* discarding the rest of an oversized line */
    bool eof;
};

frame_reader *frame_reader_new(int fd, size_t max_line)
{
    frame_reader *r = xcalloc(1, sizeof *r);
    r->fd = fd;
    r->max_line = max_line ? max_line : 1;
    return r;
}

void frame_reader_free(frame_reader *r)
{
    if (!r)
        return;
    free(r->data);
    free(r);
}

/* Read one chunk (at most FRAME_CHUNK bytes) at data[len]. 1: got bytes, 0: EOF, -1: error. */
static int fill(frame_reader *r)
{
    if (r->start > 0) { /* keep the pending bytes at the front */
        memmove(r->data, r->data + r->start, r->len - r->start);
        r->len -= r->start;
        r->scanned -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len < FRAME_CHUNK + 1) {
        size_t ncap = r->len + FRAME_CHUNK + 1;
        if (ncap < r->cap * 2)
            ncap = r->cap * 2;
        size_t limit = r->max_line + 1 + FRAME_CHUNK + 1;
        if (ncap > limit)
            ncap = limit;
        if (ncap > r->cap) {
            r->data = xrealloc(r->data, ncap);
            r->cap = ncap;
        }
    }
    size_t room = r->cap - r->len - 1; /* one byte for the NUL after a line at the very end */
    if (room > FRAME_CHUNK)
        room = FRAME_CHUNK;
    for (;;) {
        ssize_t n = read(r->fd, r->data + r->len, room);
        if (n > 0) {
            r->len += (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = {.fd = r->fd, .events = POLLIN};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return -1;
            continue;
        }
        return -1;
    }
}

/* Hand out data[start, end) as a line (CR stripped); returns false when it is empty. */
static bool take_line(frame_reader *r, size_t end, size_t next, const char **line, size_t *len)
{
    char *l = r->data + r->start;
    size_t n = end - r->start;
    if (n > 0 && l[n - 1] == '\r')
        n--;
    l[n] = '\0';
    r->start = next;
    r->scanned = next;
    if (n == 0)
        return false;
    *line = l;
    *len = n;
    return true;
}

frame_rc frame_reader_next(frame_reader *r, const char **line, size_t *len)
{
    for (;;) {
        if (r->skipping) {
            /* nothing of the oversized line is kept: look for its end in what we hold */
            char *nl = r->len > r->start ? memchr(r->data + r->start, '\n', r->len - r->start) : NULL;
            if (nl) {
                r->start = (size_t)(nl - r->data) + 1;
                r->scanned = r->start;
                r->skipping = false;
                return FRAME_TOO_LARGE;
            }
            r->start = r->len = r->scanned = 0;
            if (r->eof) {
                r->skipping = false;
                return FRAME_TOO_LARGE;
            }
        } else {
            char *nl = r->len > r->scanned ? memchr(r->data + r->scanned, '\n', r->len - r->scanned) : NULL;
            if (nl) {
                size_t end = (size_t)(nl - r->data);
                size_t n = end - r->start;
                if (n > 0 && r->data[end - 1] == '\r')
                    n--;
                if (n > r->max_line) {
                    r->start = r->scanned = end + 1;
                    return FRAME_TOO_LARGE;
                }
                if (take_line(r, end, end + 1, line, len))
                    return FRAME_LINE;
                continue;
            }
            r->scanned = r->len;
            /* max_line + 1: the line may still end with "\r\n" */
            if (r->len - r->start > r->max_line + 1) {
                r->skipping = true;
                continue;
            }
            if (r->eof) {
                if (r->len > r->start) {
                    size_t n = r->len - r->start;
                    if (r->data[r->len - 1] == '\r')
                        n--;
                    if (n > r->max_line) {
                        r->start = r->len = r->scanned = 0;
                        return FRAME_TOO_LARGE;
                    }
                    if (take_line(r, r->len, r->len, line, len))
                        return FRAME_LINE;
                }
                return FRAME_EOF;
            }
        }
        int rc = fill(r);
        if (rc < 0)
            return FRAME_ERROR;
        if (rc == 0)
            r->eof = true;
    }
}

/* ------------------------------------------------------------------------------ writer */

/* Bytes the queue may hold before producers wait for the client to read (a client that never
   reads cannot make the server grow without end). */
#define OUT_MAX_QUEUED ((size_t)256 * 1024 * 1024)
/* Give up on the client at the end when nothing could be written for this long. */
#define OUT_DRAIN_STALL_MS 2000

typedef struct out_item {
    struct out_item *next;
    size_t len;     /* the message and its '\n' */
    char data[];
} out_item;

typedef enum { OUT_OTHER, OUT_FIFO, OUT_SOCKET } out_kind;

struct out_writer {
    int fd;
    out_kind kind;
    size_t capacity;           /* FIFO: the pipe's size; socket: SO_SNDBUF (as the kernel counts) */
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* the writer thread: work; producers: room; free: progress */
    atomic_bool closed;
    out_item *head, *tail;     /* owned; the writer thread writes head, then unlinks it */
    size_t queued;             /* bytes in the queue */
    size_t max_queued;         /* OUT_MAX_QUEUED (the tests lower it) */
    uint64_t written;          /* messages the writer thread finished (progress, for free) */
    bool stop, started;
    bool abandoned;            /* out_writer_free gave up waiting: the thread frees w on its way out */
    pthread_t thread;
};

out_writer *out_writer_new(int fd)
{
    out_writer *w = xcalloc(1, sizeof *w);
    w->fd = fd;
    w->max_queued = OUT_MAX_QUEUED;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&w->closed, false);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        /* not open: kind OUT_OTHER, and the first write fails and closes the writer */
    } else if (S_ISFIFO(st.st_mode)) {
        int cap = fcntl(fd, F_GETPIPE_SZ);
        if (cap > 0) {
            w->kind = OUT_FIFO;
            w->capacity = (size_t)cap;
        }
    } else if (S_ISSOCK(st.st_mode)) { /* Node.js (libuv) gives its children socket pairs */
        int sndbuf = 0;
        socklen_t sl = sizeof sndbuf;
        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 && sndbuf > 0) {
            w->kind = OUT_SOCKET;
            w->capacity = (size_t)sndbuf;
        }
    }
    return w;
}

/* Whether a write of n bytes now cannot block: the room left in the pipe (its size less the
 * bytes not yet read, less two pages that a partly read first buffer and a partly filled last
 * one may hold back) or in the socket's send buffer (the kernel counts each chunk with its
 * overhead: an eighth more and 2 KB are allowed for it). Not a pipe or a socket (a file, a
 * terminal): written directly, as always. When unsure: no (the writer thread takes it). */
static bool fits_now(const out_writer *w, size_t n)
{
    int pending = 0;
    switch (w->kind) {
    case OUT_OTHER:
        return true;
    case OUT_FIFO:
        if (ioctl(w->fd, FIONREAD, &pending) < 0 || pending < 0)
            return false;
        return (size_t)pending + 2 * 4096 + n <= w->capacity;
    case OUT_SOCKET:
        if (ioctl(w->fd, TIOCOUTQ, &pending) < 0 || pending < 0)
            return false;
        return (size_t)pending + n + n / 8 + 2048 <= w->capacity;
    }
    return false;
}

/* writev in a loop over short writes and EINTR; on a hard error the writer is closed. */
static int write_all(out_writer *w, struct iovec *v, int cnt)
{
    while (cnt > 0) {
        ssize_t n = writev(w->fd, v, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd p = {.fd = w->fd, .events = POLLOUT};
                if (poll(&p, 1, -1) >= 0 || errno == EINTR)
                    continue;
            }
            if (errno != EPIPE)
                LOG_ERROR("mcp", "writing to the client failed: %s; no more messages will be sent", strerror(errno));
            else
                LOG_DEBUG("mcp", "the client closed its input; no more messages will be sent");
            atomic_store(&w->closed, true);
            return -1;
        }
        size_t done = (size_t)n;
        while (cnt > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            cnt--;
        }
        if (cnt > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
    return 0;
}

static void queue_drop(out_writer *w)
{
    while (w->head) {
        out_item *it = w->head;
        w->head = it->next;
        free(it);
    }
    w->tail = NULL;
    w->queued = 0;
}

static void writer_destroy(out_writer *w)
{
    queue_drop(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* The writer thread: writes the queue in order, blocking in write(2) as long as the client
 * takes, without holding the mutex, so producers only ever wait for it to append. */
static void *writer_main(void *arg)
{
    out_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head || atomic_load(&w->closed))
            break;
        out_item *it = w->head;
        pthread_mutex_unlock(&w->mu);
        struct iovec v = {it->data, it->len};
        int rc = write_all(w, &v, 1);
        pthread_mutex_lock(&w->mu);
        w->head = it->next;
        if (!w->head)
            w->tail = NULL;
        w->queued -= it->len;
        w->written++;
        free(it);
        if (rc < 0)
            queue_drop(w); /* the client is gone: nothing more can be delivered */
        pthread_cond_broadcast(&w->cv);
    }
    bool abandoned = w->abandoned;
    pthread_mutex_unlock(&w->mu);
    if (abandoned) /* nobody else holds w any more */
        writer_destroy(w);
    return NULL;
}

bool out_writer_free(out_writer *w)
{
    if (!w)
        return true;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    /* what is queued is delivered while the client reads: the wait ends when the queue is empty,
       or after OUT_DRAIN_STALL_MS without one message getting through (a client that stopped
       reading: then the thread is left blocked in write(2), the process being on its way out) */
    bool drained = true;
    while (w->started && w->head && !atomic_load(&w->closed)) {
        uint64_t before = w->written;
        struct timespec until = clock_mono_deadline(OUT_DRAIN_STALL_MS);
        while (w->head && w->written == before && !atomic_load(&w->closed))
            if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
                break;
        if (w->head && w->written == before && !atomic_load(&w->closed)) {
            drained = false;
            break;
        }
    }
    bool started = w->started;
    if (!drained) {
        /* the thread, blocked in write(2), owns w from here: it frees it if the write ever
           returns (the client reads, or goes: EPIPE), else the process's exit ends both */
        LOG_WARN("mcp", "the client has not read its stdout for %d s: %zu bytes of messages are not delivered",
                 OUT_DRAIN_STALL_MS / 1000, w->queued);
        atomic_store(&w->closed, true);
        w->abandoned = true;
        pthread_cond_broadcast(&w->cv); /* producers waiting for room: the writer is closed */
        pthread_detach(w->thread);
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    pthread_mutex_unlock(&w->mu);
    if (started)
        pthread_join(w->thread, NULL);
    writer_destroy(w);
    return true;
}

bool out_writer_closed(out_writer *w) { return atomic_load(&w->closed); }

void out_writer_limit(out_writer *w, size_t max_queued)
{
    pthread_mutex_lock(&w->mu);
    w->max_queued = max_queued;
    pthread_mutex_unlock(&w->mu);
}

/* The message and its '\n' on this thread (caller holds w->mu). */
static int write_line_now(out_writer *w, const char *msg, size_t len)
{
    char nl = '\n';
    struct iovec iov[2] = {{(void *)msg, len}, {&nl, 1}};
    return write_all(w, iov, 2);
}

int out_write_line(out_writer *w, const char *msg, size_t len)
{
    if (atomic_load(&w->closed))
        return -1;
    pthread_mutex_lock(&w->mu);
    if (atomic_load(&w->closed)) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    /* nothing queued and room for it: written here, no hand-off (the usual case) */
    if (!w->head && fits_now(w, len + 1)) {
        int rc = write_line_now(w, msg, len);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    /* else behind what waits, in order: the caller never blocks on the client */
    while (w->queued && w->queued + len + 1 > w->max_queued && !atomic_load(&w->closed))
        pthread_cond_wait(&w->cv, &w->mu);
    if (atomic_load(&w->closed)) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    if (!w->started) {
        if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
            /* no thread (so nothing queued either): written here, as before the queue existed */
            int rc = write_line_now(w, msg, len);
            pthread_mutex_unlock(&w->mu);
            return rc;
        }
        w->started = true;
    }
    out_item *it = xmalloc(sizeof *it + len + 1);
    it->next = NULL;
    it->len = len + 1;
    memcpy(it->data, msg, len);
    it->data[len] = '\n';
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->queued += it->len;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}
