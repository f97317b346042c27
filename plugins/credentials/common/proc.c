#define _GNU_SOURCE 1 /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_LINE 1000
#define MAX_LINES 200

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct line_state {
    cc_buf cur;
    int lines;
    cc_line_fn fn;
    void *ctx;
} line_state;

static void emit_line(line_state *ls)
{
    if (ls->fn && ls->lines < MAX_LINES) {
        size_t n = ls->cur.len;
        while (n && (ls->cur.data[n - 1] == '\r'))
            n--;
        if (ls->cur.data)
            ls->cur.data[n] = '\0';
        ls->fn(ls->ctx, ls->cur.data ? ls->cur.data : "");
        if (++ls->lines == MAX_LINES)
            ls->fn(ls->ctx, "(further stderr lines are not logged)");
    }
    cc_buf_wipe_free(&ls->cur);
}

static void feed_stderr(line_state *ls, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            emit_line(ls);
            continue;
        }
        if (ls->cur.len >= MAX_LINE) {
            if (ls->cur.len == MAX_LINE)
                cc_buf_puts(&ls->cur, "..."); /* mark the cut, drop the rest of the line */
            continue;
        }
        cc_buf_append(&ls->cur, p + i, 1);
    }
}

/* execvp's search, done here so a missing program is a clear error before anything is started */
static char *find_program(const char *name, char *err, size_t errlen)
{
    struct stat st;
    if (strchr(name, '/')) {
        if (stat(name, &st) < 0 || !S_ISREG(st.st_mode) || access(name, X_OK) < 0) {
            snprintf(err, errlen, "cannot run %.200s: %s", name,
                     errno ? strerror(errno) : "not an executable file");
            return NULL;
        }
        return cc_strdup(name);
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        char *cand = n ? cc_asprintf("%.*s/%s", (int)n, p, name) : cc_asprintf("./%s", name);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        if (!p[n])
            break;
        p += n + 1;
    }
    snprintf(err, errlen, "cannot run %.200s: not found in PATH", name);
    return NULL;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM_NP 1
#endif
/* without /proc: close 3 .. min(sysconf(_SC_OPEN_MAX), this) - 1 */
#define MAX_CLOSE_BOUNDED 4096

static cc_fd_close fd_close_how = CC_FDS_AUTO;

void cc_proc_set_fd_close(cc_fd_close how) { fd_close_how = how; }

static void add_close_range(posix_spawn_file_actions_t *fa, const int keep[2])
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > MAX_CLOSE_BOUNDED)
        max = MAX_CLOSE_BOUNDED;
    for (int fd = 3; fd < (int)max; fd++)
        if (fd != keep[0] && fd != keep[1])
            posix_spawn_file_actions_addclose(fa, fd);
}

/* File actions closing every descriptor >= 3 of the child but keep[] (the pipe ends, O_CLOEXEC
 * anyway): the pooled HTTPS sockets and whatever else the server holds must not reach it. glibc
 * >= 2.34 does it in one action; elsewhere (older glibc, musl, the BSDs) the descriptors open now
 * are listed from /proc/self/fd, or, without /proc, every number up to a bound is closed. (A
 * descriptor another thread opens between the listing and the spawn, without O_CLOEXEC, can still
 * get through there: the single action has no such gap.) */
static void add_close_actions(posix_spawn_file_actions_t *fa, const int keep[2])
{
#ifdef HAVE_ADDCLOSEFROM_NP
    if (fd_close_how == CC_FDS_AUTO && posix_spawn_file_actions_addclosefrom_np(fa, 3) == 0)
        return;
#endif
    DIR *d = fd_close_how == CC_FDS_BOUNDED ? NULL : opendir("/proc/self/fd");
    if (!d) {
        add_close_range(fa, keep);
        return;
    }
    int self = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        errno = 0;
        long fd = strtol(e->d_name, &end, 10);
        if (errno || end == e->d_name || *end || fd < 3 || fd > INT_MAX || fd == self || fd == keep[0] ||
            fd == keep[1])
            continue;
        posix_spawn_file_actions_addclose(fa, (int)fd);
    }
    closedir(d);
}

static void kill_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

int cc_proc_run(char *const argv[], int64_t timeout_ms, size_t max_out, cc_buf *out, cc_line_fn on_stderr,
                void *ctx, cc_proc_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (!argv || !argv[0] || !argv[0][0]) {
        snprintf(err, errlen, "the command is empty");
        return -1;
    }
    errno = 0;
    char *prog = find_program(argv[0], err, errlen);
    if (!prog)
        return -1;
    int op[2] = {-1, -1}, ep[2] = {-1, -1};
    if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        if (op[0] >= 0) {
            close(op[0]);
            close(op[1]);
        }
        free(prog);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, op[1], 1);
    posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    add_close_actions(&fa, (const int[2]){op[1], ep[1]});
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaddset(&defaults, sigs[i]);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    pid_t pid;
    int src = posix_spawn(&pid, prog, &fa, &attr, argv, environ);
    free(prog);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(op[1]);
    close(ep[1]);
    if (src != 0) {
        snprintf(err, errlen, "cannot run %.200s: %s", argv[0], strerror(src));
        close(op[0]);
        close(ep[0]);
        return -1;
    }

    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
    line_state ls = {CC_BUF_INIT, 0, on_stderr, ctx};
    struct pollfd pf[2] = {{op[0], POLLIN, 0}, {ep[0], POLLIN, 0}};
    int open_fds = 2;
    int rc = 0;
    char chunk[4096];
    while (open_fds > 0) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            res->timed_out = 1;
            break;
        }
        int n = poll(pf, 2, (int)(left > 1000 ? 1000 : left));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "poll: %s", strerror(errno));
            rc = -1;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pf[i].fd, chunk, sizeof chunk);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                if (out->len + (size_t)got > max_out) {
                    snprintf(err, errlen, "%.200s printed more than %zu bytes", argv[0], max_out);
                    rc = -1;
                    break;
                }
                cc_buf_append(out, chunk, (size_t)got);
            } else {
                feed_stderr(&ls, chunk, (size_t)got);
            }
        }
        if (rc < 0)
            break;
    }
    cc_wipe(chunk, sizeof chunk);
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    if (ls.cur.len)
        emit_line(&ls);
    cc_buf_wipe_free(&ls.cur);

    int status = 0;
    bool reaped = false;
    if (rc == 0 && !res->timed_out) {
        /* output closed: wait for the exit, still within the deadline */
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                reaped = true;
                break;
            }
            if (w < 0 && errno != EINTR) {
                reaped = true; /* not our child any more (cannot happen); do not hang */
                status = 0;
                break;
            }
            if (mono_ms() >= deadline) {
                res->timed_out = 1;
                break;
            }
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!reaped) {
        kill_group(pid);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (res->timed_out)
            return 0;
    }
    if (rc < 0)
        return -1;
    if (WIFEXITED(status)) {
        res->exited = 1;
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
    }
    return 0;
}
