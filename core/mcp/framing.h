/* stdio framing: one JSON-RPC message per line, bounded size; one writer at a time. */
#ifndef LMCP_MCP_FRAMING_H
#define LMCP_MCP_FRAMING_H
#include <stdbool.h>
#include <stddef.h>

typedef enum frame_rc {
    FRAME_LINE = 0,     /* *line, *len hold one message, without the newline (CR stripped) */
    FRAME_TOO_LARGE,    /* a line exceeded max_line; it was skipped up to its newline */
    FRAME_EOF,
    FRAME_ERROR         /* read error other than EINTR */
} frame_rc;

typedef struct frame_reader frame_reader;
frame_reader *frame_reader_new(int fd, size_t max_line);
/* Blocks for the next line. The line stays valid until the next call. Empty lines are skipped. */
frame_rc frame_reader_next(frame_reader *r, const char **line, size_t *len);
void frame_reader_free(frame_reader *r);

typedef struct out_writer out_writer;
out_writer *out_writer_new(int fd);
/* Write one message followed by '\n' atomically with respect to other writers, in the order
 * of the calls: at once when nothing waits and the fd (a pipe or a socket) has room, else
 * queued for a writer thread, so the caller does not wait for the client to read (unless 256 MB
 * are already queued). Returns 0 (written or queued), or -1 once the peer has gone (EPIPE):
 * later writes are dropped. */
int out_write_line(out_writer *w, const char *msg, size_t len);
/* Whether the writer gave up (the peer is gone). Only the tests ask (test_framing.c). */
bool out_writer_closed(out_writer *w);
/* Lower the bytes that may wait in the queue (256 MB). Only the tests set it (test_framing.c). */
void out_writer_limit(out_writer *w, size_t max_queued);
/* Delivers what is queued first, for as long as the client keeps reading; after 2 s in which
 * nothing could be written it gives up (logged) and leaves the blocked thread to free w.
 * Returns false then: that thread still writes to the fd, so the caller must not close it. */
bool out_writer_free(out_writer *w);
#endif
