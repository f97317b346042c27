/* libFuzzer target: the stdin framing (core/mcp/framing.c frame_reader) with arbitrary chunk
 * boundaries. A writer thread feeds the stream into a pipe one chunk at a time, waiting until
 * the reader has taken each chunk before writing the next, so every read returns exactly one
 * chunk. Input: byte 0 gives max_line (1..64, so oversized lines are common), byte 1 seeds the
 * chunk sizes (1..97 bytes), the rest is the stream.
 * Property: the reader yields exactly what a plain split gives: lines separated by '\n', one
 * trailing '\r' removed, empty lines skipped, a line longer than max_line reported once as
 * FRAME_TOO_LARGE, then FRAME_EOF. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mcp/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct feed {
    int fd;
    const uint8_t *p;
    size_t n;
    unsigned seed;
} feed;

static void *writer(void *arg)
{
    feed *f = arg;
    size_t off = 0;
    unsigned x = f->seed * 2654435761u + 1;
    while (off < f->n) {
        x = x * 1103515245u + 12345u;
        size_t k = 1 + (x >> 16) % 97;
        if (k > f->n - off)
            k = f->n - off;
        if (write(f->fd, f->p + off, k) != (ssize_t)k)
            abort();
        off += k;
        int pending = 1;
        while (ioctl(f->fd, FIONREAD, &pending) == 0 && pending > 0)
            usleep(10);
    }
    close(f->fd);
    return NULL;
}

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_framing: property violated: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 8192)
        return 0;
    size_t max_line = 1 + data[0] % 64;
    const uint8_t *s = data + 2;
    size_t n = size - 2;
    int p[2];
    if (pipe(p) != 0)
        abort();
    feed f = {p[1], s, n, data[1]};
    pthread_t t;
    if (pthread_create(&t, NULL, writer, &f) != 0)
        abort();
    frame_reader *r = frame_reader_new(p[0], max_line);
    size_t off = 0;
    for (;;) {
        /* the expected next event */
        int want = FRAME_EOF;
        const uint8_t *wl = NULL;
        size_t wn = 0;
        while (off < n) {
            const uint8_t *nl = memchr(s + off, '\n', n - off);
            size_t end = nl ? (size_t)(nl - s) : n;
            size_t len = end - off;
            const uint8_t *l = s + off;
            off = nl ? end + 1 : n;
            if (len && l[len - 1] == '\r')
                len--;
            if (len == 0)
                continue;
            want = len > max_line ? FRAME_TOO_LARGE : FRAME_LINE;
            wl = l;
            wn = len;
            break;
        }
        const char *line = NULL;
        size_t len = 0;
        frame_rc rc = frame_reader_next(r, &line, &len);
        must((int)rc == want, "unexpected frame result");
        if (rc == FRAME_LINE) {
            must(len == wn && memcmp(line, wl, len) == 0, "line differs");
            must(line[len] == '\0', "line not NUL-terminated");
        }
        if (rc == FRAME_EOF)
            break;
    }
    frame_reader_free(r);
    pthread_join(t, NULL);
    close(p[0]);
    return 0;
}
