/* Run a program without a shell and capture what it prints, with a hard time limit.
 *
 * The child gets stdin from /dev/null (the server's stdin is the MCP stream: a child must never
 * read it), stdout and stderr on pipes, the parent's environment, an empty signal mask and
 * default signal dispositions (the server blocks or ignores some), and a process group of its
 * own so that a timeout kills it together with anything it started. No descriptor of the
 * server other than 0-2 leaks into it. */
#ifndef LMCP_CRED_PROC_H
#define LMCP_CRED_PROC_H
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef void (*cc_line_fn)(void *ctx, const char *line);

typedef struct cc_proc_result {
    int exited;      /* 1: exited normally, exit_code is valid */
    int exit_code;
    int signal;      /* when killed by a signal (not by us) */
    int timed_out;   /* 1: we killed it after timeout_ms */
} cc_proc_result;

/* Runs argv: argv[0] is looked up in PATH like execvp does, before anything is started (a
 * missing program is an error, not an exit status). stdout is collected into *out (at most
 * max_out bytes: more kills the child and fails); every stderr line is passed to on_stderr (long
 * lines are cut at 1000 bytes, at most 200 lines are passed on). Returns 0 when the child ran
 * (see res: exit status, timeout), or -1 with err when it could not be started or printed too
 * much. */
int cc_proc_run(char *const argv[], int64_t timeout_ms, size_t max_out, cc_buf *out, cc_line_fn on_stderr,
                void *ctx, cc_proc_result *res, char *err, size_t errlen);

/* How the child's descriptors >= 3 are closed. CC_FDS_AUTO (the default): in one spawn action
 * where the C library has one (glibc >= 2.34), else as CC_FDS_LIST. CC_FDS_LIST: each descriptor
 * listed in /proc/self/fd, else as CC_FDS_BOUNDED. CC_FDS_BOUNDED: every number from 3 to
 * sysconf(_SC_OPEN_MAX), at most 4096. For the tests of the portable paths; not thread-safe. */
typedef enum cc_fd_close { CC_FDS_AUTO, CC_FDS_LIST, CC_FDS_BOUNDED } cc_fd_close;
void cc_proc_set_fd_close(cc_fd_close how);
#endif
