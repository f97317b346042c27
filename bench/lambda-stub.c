/* bench/lambda-stub: a minimal, single-threaded Lambda endpoint for bench/invoke --stub.
 *
 *   lambda-stub     prints "STUB_READY http://127.0.0.1:PORT" and serves until killed
 *
 * It answers what lambda-mcp needs for functions `echo` and `sleep-100ms` (no SigV4 check, no
 * handler: it costs a few microseconds, so a round trip through lambda-mcp against it is almost
 * all lambda-mcp): GetFunction, GetFunctionConfiguration, ListFunctions, and Invoke (the
 * answer echoes the request body). HTTP/1.1 keep-alive, Content-Length bodies, many
 * connections through poll(2). For every Invoke it records its handling time — from the moment
 * the whole request has been read to the moment the answer has been written — and
 * GET /__stub/timings returns them (microseconds, one per line, in order) and clears them.
 *
 * Plain C11 + POSIX; built by bench/invoke with cc -O2. Never use it for anything else: it
 * accepts any request from anyone on loopback. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 256
#define BUF_CAP (1 << 20)
#define MAX_TIMINGS 1000000

typedef struct conn {
    int fd;
    char *buf;
    size_t len;
} conn;

static conn conns[MAX_CONN];
static size_t nconn;
static double *timings;
static size_t ntimings;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int respond(int fd, int status, const char *extra_headers, const char *body, size_t blen)
{
    static unsigned long rid;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nx-amzn-RequestId: 00000000-0000-4000-8000-%012lu\r\n"
                     "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                     status, status == 200 ? "OK" : "Not Found", ++rid, extra_headers, blen);
    /* one send for small answers, like a real server's write of headers and body */
    char *out = malloc((size_t)n + blen);
    if (!out)
        return -1;
    memcpy(out, head, (size_t)n);
    memcpy(out + n, body, blen);
    int rc = send_all(fd, out, (size_t)n + blen);
    free(out);
    return rc;
}

static const char *fn_of(const char *path, char *name, size_t cap)
{
    /* /2015-03-31/functions/<name or url-encoded ARN>[/...] */
    const char *p = path + strlen("/2015-03-31/functions/");
    size_t n = strcspn(p, "/?");
    if (n >= cap)
        n = cap - 1;
    memcpy(name, p, n);
    name[n] = '\0';
    const char *colon = strstr(name, "%3Afunction%3A"); /* an ARN: keep the name */
    if (colon)
        memmove(name, colon + 14, strlen(colon + 14) + 1);
    return p + n;
}

static const char *config_of(const char *fn, char *out, size_t cap)
{
    snprintf(out, cap,
             "{\"FunctionName\":\"%s\",\"FunctionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:%s\","
             "\"Runtime\":\"python3.12\",\"Handler\":\"stub.handler\",\"Timeout\":5,\"MemorySize\":128,"
             "\"Description\":\"bench stub\",\"Version\":\"$LATEST\",\"LastModified\":\"2024-01-01T00:00:00.000+0000\","
             "\"CodeSize\":1,\"PackageType\":\"Zip\",\"Architectures\":[\"x86_64\"]}",
             fn, fn);
    return out;
}

/* Handle one complete request; returns -1 to close the connection. */
static int handle(int fd, const char *method, const char *path, const char *body, size_t blen, int64_t t_read)
{
    char cfg[1024], big[2048], name[256];
    if (strncmp(path, "/__stub/timings", 15) == 0) {
        size_t cap = ntimings * 16 + 16, len = 0;
        char *out = malloc(cap);
        if (!out)
            return -1;
        for (size_t i = 0; i < ntimings; i++)
            len += (size_t)snprintf(out + len, cap - len, "%.1f\n", timings[i]);
        ntimings = 0;
        int rc = respond(fd, 200, "", out, len);
        free(out);
        return rc;
    }
    if (strncmp(path, "/2015-03-31/functions", 21) != 0)
        return respond(fd, 404, "x-amzn-ErrorType: UnknownOperationException\r\n", "{\"message\":\"stub\"}", 18);
    if (strcmp(method, "GET") == 0 && (path[21] == '\0' || path[21] == '?' || strcmp(path + 21, "/") == 0 ||
                                       strncmp(path + 21, "/?", 2) == 0)) {
        char a[1024], b[1024];
        int n = snprintf(big, sizeof big, "{\"Functions\":[%s,%s]}", config_of("echo", a, sizeof a),
                         config_of("sleep-100ms", b, sizeof b));
        return respond(fd, 200, "", big, (size_t)n);
    }
    const char *rest = fn_of(path, name, sizeof name);
    if (strcmp(name, "echo") != 0 && strcmp(name, "sleep-100ms") != 0)
        return respond(fd, 404, "x-amzn-ErrorType: ResourceNotFoundException\r\n",
                       "{\"Type\":\"User\",\"Message\":\"Function not found\"}", 46);
    if (strcmp(method, "POST") == 0 && strncmp(rest, "/invocations", 12) == 0) {
        if (strcmp(name, "sleep-100ms") == 0) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL); /* single-threaded: only for a quick check, not for (b) */
        }
        int rc = respond(fd, 200, "X-Amz-Executed-Version: $LATEST\r\n", blen ? body : "{}", blen ? blen : 2);
        if (ntimings < MAX_TIMINGS)
            timings[ntimings++] = (double)(now_ns() - t_read) / 1000.0;
        return rc;
    }
    if (strcmp(method, "GET") == 0 && strncmp(rest, "/configuration", 14) == 0)
        return respond(fd, 200, "", config_of(name, cfg, sizeof cfg), strlen(cfg));
    if (strcmp(method, "GET") == 0) {
        int n = snprintf(big, sizeof big, "{\"Configuration\":%s,\"Tags\":{}}", config_of(name, cfg, sizeof cfg));
        return respond(fd, 200, "", big, (size_t)n);
    }
    return respond(fd, 404, "x-amzn-ErrorType: UnknownOperationException\r\n", "{\"message\":\"stub\"}", 18);
}

/* Serve every complete request in c->buf; -1: close. */
static int serve(conn *c)
{
    for (;;) {
        char *end = NULL;
        for (size_t i = 0; i + 3 < c->len; i++)
            if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
                end = c->buf + i;
                break;
            }
        if (!end)
            return 0;
        size_t head_len = (size_t)(end - c->buf) + 4;
        size_t clen = 0;
        for (char *h = strstr(c->buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
            if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                clen = strtoul(h + 17, NULL, 10);
        if (c->len < head_len + clen)
            return 0;
        int64_t t_read = now_ns();
        char method[16] = "", path[1024] = "";
        if (sscanf(c->buf, "%15s %1023s", method, path) != 2)
            return -1;
        int rc = handle(c->fd, method, path, c->buf + head_len, clen, t_read);
        memmove(c->buf, c->buf + head_len + clen, c->len - head_len - clen);
        c->len -= head_len + clen;
        c->buf[c->len] = '\0';
        if (rc < 0)
            return -1;
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    timings = malloc(MAX_TIMINGS * sizeof *timings);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    if (!timings || ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0) {
        perror("lambda-stub");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("STUB_READY http://127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    struct pollfd pf[MAX_CONN + 1];
    for (;;) {
        pf[0] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (size_t i = 0; i < nconn; i++)
            pf[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pf, nconn + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        for (size_t i = nconn; i-- > 0;) {
            if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            conn *c = &conns[i];
            ssize_t r = c->len + 1 < BUF_CAP ? recv(c->fd, c->buf + c->len, BUF_CAP - 1 - c->len, 0) : -1;
            if (r > 0) {
                c->len += (size_t)r;
                c->buf[c->len] = '\0';
            }
            if (r <= 0 || serve(c) < 0) {
                close(c->fd);
                free(c->buf);
                conns[i] = conns[--nconn];
            }
        }
        if ((pf[0].revents & POLLIN) && nconn < MAX_CONN) {
            int fd = accept(ls, NULL, NULL);
            if (fd >= 0) {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[nconn].fd = fd;
                conns[nconn].buf = malloc(BUF_CAP);
                conns[nconn].len = 0;
                if (conns[nconn].buf)
                    nconn++;
                else
                    close(fd);
            }
        }
    }
}
