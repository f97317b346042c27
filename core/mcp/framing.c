/* stdio framing: newline-delimited messages in, one whole message per write out.
 *
 * Reader: bytes are read in chunks into one buffer. A complete line is handed out in place
 * (NUL-terminated where its newline was). A line that grows past max_line is not buffered
 * further: the reader switches to skip mode, throws bytes away up to the next newline, and
 * reports the line once as FRAME_TOO_LARGE. The buffer never holds more than
 * max_line + 1 (a possible CR) + one chunk bytes.
 *
 * Writer: one mutex; each message and its '\n' go out with writev() in a loop over short
 * writes and EINTR, so concurrent writers never interleave inside a line. Once the peer is
 * gone (EPIPE, or any other hard error) the writer is closed and drops later messages. */
#include "config.h"
#include "mcp/framing.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

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

struct out_writer {
    int fd;
    pthread_mutex_t mu;
    atomic_bool closed;
};

out_writer *out_writer_new(int fd)
{
    out_writer *w = xcalloc(1, sizeof *w);
    w->fd = fd;
    pthread_mutex_init(&w->mu, NULL);
    atomic_init(&w->closed, false);
    return w;
}

void out_writer_free(out_writer *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

bool out_writer_closed(out_writer *w) { return atomic_load(&w->closed); }

int out_write_line(out_writer *w, const char *msg, size_t len)
{
    if (atomic_load(&w->closed))
        return -1;
    char nl = '\n';
    struct iovec iov[2] = {{(void *)msg, len}, {&nl, 1}};
    struct iovec *v = iov;
    int cnt = 2;
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (atomic_load(&w->closed)) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
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
            rc = -1;
            break;
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
    pthread_mutex_unlock(&w->mu);
    return rc;
}
