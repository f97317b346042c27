/* bench/stdio-client: a minimal MCP client on the raw stdio protocol, for bench/invoke.
 *
 *   stdio-client latency   OUT N WARMUP TOOL ARGS -- SERVER ARGV...
 *   stdio-client inflight  OUT N INFLIGHT TOOL ARGS -- SERVER ARGV...
 *   stdio-client echo-server
 *
 * It spawns the server with pipes, runs the legacy handshake (initialize, then
 * notifications/initialized), then:
 *   latency   WARMUP + N sequential tools/call of TOOL with the JSON object ARGS; for each of
 *             the last N it writes one line to OUT: the nanoseconds from just before the
 *             write(2) of the request line to just after the read(2) that completed the
 *             response line (CLOCK_MONOTONIC);
 *   inflight  N calls with INFLIGHT of them outstanding at all times (a new request is written
 *             as soon as a response arrives); writes "calls seconds" to OUT, then one latency
 *             per line.
 * Every response is checked: its id is the expected one (latency) or a known one (inflight),
 * and it is a result with "isError":false. Any other message is an error (nothing else is
 * expected: no progress token, no log level). Exit status 0 when every call succeeded.
 *
 * echo-server: a stand-in server that answers each request line at once with a fixed result,
 * to measure what the client and the pipes cost by themselves (the measurement floor).
 *
 * Plain C11 + POSIX; no dependencies. Built by bench/invoke with cc -O2. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int to_srv = -1, from_srv = -1;
static pid_t srv_pid;
static char rbuf[1 << 20];
static size_t rlen, roff;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "stdio-client: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\n");
    if (srv_pid > 0)
        kill(srv_pid, SIGTERM);
    exit(2);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(to_srv, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write to the server failed: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* The next line from the server (without the newline), or NULL at EOF. Valid until the next call. */
static char *read_line(void)
{
    for (;;) {
        char *nl = memchr(rbuf + roff, '\n', rlen - roff);
        if (nl) {
            *nl = '\0';
            char *line = rbuf + roff;
            roff = (size_t)(nl - rbuf) + 1;
            return line;
        }
        if (roff > 0) {
            memmove(rbuf, rbuf + roff, rlen - roff);
            rlen -= roff;
            roff = 0;
        }
        if (rlen == sizeof rbuf)
            die("a line longer than %s", "1 MB");
        ssize_t r = read(from_srv, rbuf + rlen, sizeof rbuf - rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        rlen += (size_t)r;
    }
}

static bool line_has_id(const char *line, long id)
{
    char a[48], b[48];
    snprintf(a, sizeof a, "\"id\":%ld,", id);
    snprintf(b, sizeof b, "\"id\":%ld}", id);
    return strstr(line, a) != NULL || strstr(line, b) != NULL;
}

static long line_id(const char *line)
{
    const char *p = strstr(line, "\"id\":");
    return p ? strtol(p + 5, NULL, 10) : -1;
}

static void check_result(const char *line)
{
    if (!strstr(line, "\"result\":") || !strstr(line, "\"isError\":false"))
        die("not a successful tool result: %.400s", line);
}

static void spawn(char **argv)
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        die("pipe: %s", strerror(errno));
    srv_pid = fork();
    if (srv_pid < 0)
        die("fork: %s", strerror(errno));
    if (srv_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "stdio-client: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_srv = in[1];
    from_srv = out[0];
}

static void handshake(void)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
        "\"capabilities\":{},\"clientInfo\":{\"name\":\"bench-stdio-client\",\"version\":\"1\"}}}\n";
    static const char ready[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
    write_all(init, sizeof init - 1);
    char *l = read_line();
    if (!l || !line_has_id(l, 0) || !strstr(l, "\"protocolVersion\""))
        die("initialize failed: %s", l ? l : "(EOF)");
    write_all(ready, sizeof ready - 1);
}

static int finish(void)
{
    close(to_srv);
    while (read_line())
        ;
    int st = 0;
    waitpid(srv_pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t request(char *buf, size_t cap, long id, const char *tool, const char *args)
{
    int n = snprintf(buf, cap, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}\n",
                     id, tool, args);
    if (n < 0 || (size_t)n >= cap)
        die("request too long%s", "");
    return (size_t)n;
}

static int run_latency(FILE *out, long n, long warmup, const char *tool, const char *args)
{
    char req[8192];
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!lat)
        die("out of memory%s", "");
    for (long i = 0; i < warmup + n; i++) {
        long id = i + 1;
        size_t len = request(req, sizeof req, id, tool, args);
        int64_t t0 = now_ns();
        write_all(req, len);
        char *l = read_line();
        int64_t t1 = now_ns();
        if (!l)
            die("the server closed its output%s", "");
        if (!line_has_id(l, id))
            die("unexpected message: %.400s", l);
        check_result(l);
        if (i >= warmup)
            lat[i - warmup] = t1 - t0;
    }
    for (long i = 0; i < n; i++)
        fprintf(out, "%lld\n", (long long)lat[i]);
    free(lat);
    return 0;
}

static int run_inflight(FILE *out, long n, long inflight, const char *tool, const char *args)
{
    char req[8192];
    int64_t *sent = calloc((size_t)n + 1, sizeof *sent);
    int64_t *lat = calloc((size_t)n + 1, sizeof *lat);
    if (!sent || !lat)
        die("out of memory%s", "");
    long next = 1, done = 0;
    int64_t t0 = now_ns();
    while (next <= n && next <= inflight) {
        size_t len = request(req, sizeof req, next, tool, args);
        sent[next] = now_ns();
        write_all(req, len);
        next++;
    }
    while (done < n) {
        char *l = read_line();
        if (!l)
            die("the server closed its output%s", "");
        long id = line_id(l);
        if (id < 1 || id > n || !sent[id] || lat[id])
            die("unexpected message: %.400s", l);
        check_result(l);
        lat[id] = now_ns() - sent[id];
        done++;
        if (next <= n) {
            size_t len = request(req, sizeof req, next, tool, args);
            sent[next] = now_ns();
            write_all(req, len);
            next++;
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    fprintf(out, "%ld %.6f\n", n, secs);
    for (long i = 1; i <= n; i++)
        fprintf(out, "%lld\n", (long long)lat[i]);
    free(sent);
    free(lat);
    return 0;
}

/* A stand-in server: every request line is answered at once. */
static int echo_server(void)
{
    to_srv = 1;
    from_srv = 0;
    char *l;
    char resp[256];
    while ((l = read_line())) {
        long id = line_id(l);
        if (!strstr(l, "\"id\":"))
            continue; /* a notification */
        int n = strstr(l, "\"initialize\"")
                    ? snprintf(resp, sizeof resp,
                               "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"result\":{\"protocolVersion\":\"2025-11-25\"}}\n", id)
                    : snprintf(resp, sizeof resp,
                               "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"result\":{\"content\":[],\"isError\":false}}\n", id);
        write_all(resp, (size_t)n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && strcmp(argv[1], "echo-server") == 0)
        return echo_server();
    if (argc < 9 || strcmp(argv[7], "--") != 0) {
        fprintf(stderr, "usage: stdio-client latency|inflight OUT N WARMUP|INFLIGHT TOOL ARGS -- SERVER ARGV...\n"
                        "       stdio-client echo-server\n");
        return 2;
    }
    FILE *out = fopen(argv[2], "w");
    if (!out)
        die("cannot write %s", argv[2]);
    long n = atol(argv[3]), k = atol(argv[4]);
    spawn(argv + 8);
    handshake();
    int rc = strcmp(argv[1], "latency") == 0 ? run_latency(out, n, k, argv[5], argv[6])
             : strcmp(argv[1], "inflight") == 0 ? run_inflight(out, n, k, argv[5], argv[6])
                                                 : (die("unknown mode %s", argv[1]), 2);
    fclose(out);
    int st = finish();
    if (st != 0) {
        fprintf(stderr, "stdio-client: the server exited with status %d\n", st);
        return 1;
    }
    return rc;
}
