#include "config.h"
#include "http_test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_REQUESTS 512
#define MAX_QUEUE 64

typedef struct owned_action {
    ts_action a;
    char *headers;
    char *body;
} owned_action;

typedef struct conn {
    int fd;
    pthread_t thread;
    struct ts_server *server;
} conn;

struct ts_server {
    int listen_fd;
    int port;
    int wake[2];
    pthread_t accept_thread;
    atomic_int stopping;
    atomic_int unlistened; /* the listening socket was shut down (ts_action.unlisten) */

    pthread_mutex_t mu;
    owned_action queue[MAX_QUEUE];
    size_t q_head, q_len;
    owned_action dflt;
    conn *conns[MAX_CONNS];
    int n_conns;      /* accepted connections (threads to join) */
    int n_counted;    /* accepted since the last reset */
    char *requests[MAX_REQUESTS];
    int n_requests;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void owned_set(owned_action *o, const ts_action *a)
{
    free(o->headers);
    free(o->body);
    o->a = *a;
    o->headers = dup_or_null(a->headers);
    o->body = dup_or_null(a->body);
    o->a.headers = o->headers;
    o->a.body = o->body;
}

static void owned_free(owned_action *o)
{
    free(o->headers);
    free(o->body);
    memset(o, 0, sizeof *o);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one request (headers, then Content-Length bytes of body) into a malloc'd string. */
static char *read_request(int fd, char **carry, size_t *carry_len)
{
    size_t cap = 4096, len = *carry_len;
    char *b = malloc(cap + 1);
    if (!b)
        return NULL;
    if (len) {
        if (len > cap) {
            cap = len;
            b = realloc(b, cap + 1);
        }
        memcpy(b, *carry, len);
    }
    free(*carry);
    *carry = NULL;
    *carry_len = 0;
    size_t need = 0;
    for (;;) {
        b[len] = '\0';
        if (!need) {
            char *end = strstr(b, "\r\n\r\n");
            if (end) {
                size_t hlen = (size_t)(end - b) + 4;
                size_t clen = 0;
                for (char *line = strstr(b, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
                    if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
                        clen = strtoul(line + 17, NULL, 10);
                need = hlen + clen;
            }
        }
        if (need && len >= need) {
            if (len > need) {
                *carry_len = len - need;
                *carry = malloc(*carry_len);
                memcpy(*carry, b + need, *carry_len);
            }
            b[need] = '\0';
            return b;
        }
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
        ssize_t r = recv(fd, b + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return NULL;
        }
        len += (size_t)r;
    }
}

/* Wait up to ms, returning early when the peer goes away or the server stops. */
static void wait_or_peer_gone(ts_server *s, int fd, int ms)
{
    for (int waited = 0; waited < ms && !atomic_load(&s->stopping); waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) > 0) {
            char ch;
            if (p.revents & (POLLHUP | POLLERR))
                return;
            if (recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
                return; /* the client closed its end */
            sleep_ms(10); /* data (not expected while a request is pending): just wait */
        }
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    ts_server *s = c->server;
    char *carry = NULL;
    size_t carry_len = 0;
    for (;;) {
        char *req = read_request(c->fd, &carry, &carry_len);
        if (!req)
            break;
        owned_action act = {0};
        pthread_mutex_lock(&s->mu);
        if (s->n_requests < MAX_REQUESTS)
            s->requests[s->n_requests++] = req;
        else
            free(req);
        if (s->q_len) {
            act = s->queue[s->q_head];
            memset(&s->queue[s->q_head], 0, sizeof s->queue[s->q_head]);
            s->q_head = (s->q_head + 1) % MAX_QUEUE;
            s->q_len--;
        } else {
            owned_set(&act, &s->dflt.a);
        }
        pthread_mutex_unlock(&s->mu);

        if (act.a.delay_ms)
            wait_or_peer_gone(s, c->fd, act.a.delay_ms);
        if (act.a.drop) {
            if (act.a.unlisten) {
                /* Linux: a listening socket shut down refuses new connections (RST) */
                atomic_store(&s->unlistened, 1);
                shutdown(s->listen_fd, SHUT_RDWR);
            }
            owned_free(&act);
            break;
        }
        if (act.a.interim_100) {
            static const char interim[] = "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n";
            send_all(c->fd, interim, sizeof interim - 1);
        }
        size_t blen = act.a.body ? strlen(act.a.body) : act.a.body_size;
        char *body = NULL;
        if (!act.a.body && blen) {
            body = malloc(blen);
            memset(body, 'x', blen);
        }
        /* the head is as long as the extra headers make it (a header-limit test sends 200 kB) */
        int status = act.a.status ? act.a.status : 200;
        const char *extra = act.a.headers ? act.a.headers : "";
        const char *closing = act.a.close_after ? "Connection: close\r\n" : "";
        size_t cap = strlen(extra) + 256;
        char *head = malloc(cap);
        int hn;
        if (act.a.no_length)
            hn = snprintf(head, cap, "HTTP/1.1 %d Status\r\nConnection: close\r\n%s\r\n", status, extra);
        else
            hn = snprintf(head, cap, "HTTP/1.1 %d Status\r\nContent-Length: %zu\r\n%s%s\r\n", status, blen, closing, extra);
        int rc = send_all(c->fd, head, (size_t)hn);
        free(head);
        if (rc == 0 && blen)
            rc = send_all(c->fd, act.a.body ? act.a.body : body, blen);
        free(body);
        bool close_now = act.a.close_after || act.a.no_length || rc < 0;
        owned_free(&act);
        if (close_now)
            break;
    }
    free(carry);
    shutdown(c->fd, SHUT_RDWR); /* the fd itself is closed by ts_stop, after the join */
    return NULL;
}

static void *accept_main(void *arg)
{
    ts_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->wake[0], POLLIN, 0}, {s->listen_fd, POLLIN, 0}};
        /* after unlisten only the stop wakes it up (the shut-down socket polls readable) */
        if (poll(p, atomic_load(&s->unlistened) ? 1 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents || atomic_load(&s->stopping))
            break;
        if (atomic_load(&s->unlistened) || !(p[1].revents & POLLIN))
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1; /* headers and body go in separate writes: no Nagle stalls */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        c->fd = fd;
        c->server = s;
        pthread_mutex_lock(&s->mu);
        if (s->n_conns == MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            free(c);
            continue;
        }
        s->conns[s->n_conns++] = c;
        s->n_counted++;
        pthread_create(&c->thread, NULL, conn_main, c);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

ts_server *ts_start(void)
{
    ts_server *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    ts_action d = {.status = 200, .headers = "Content-Type: application/json\r\n", .body = "{}"};
    owned_set(&s->dflt, &d);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t alen = sizeof a;
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->listen_fd, 64) < 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &alen) < 0 || pipe(s->wake) < 0) {
        perror("ts_start");
        abort();
    }
    s->port = ntohs(a.sin_port);
    pthread_create(&s->accept_thread, NULL, accept_main, s);
    return s;
}

void ts_stop(ts_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    if (write(s->wake[1], "x", 1) < 0)
        perror("ts_stop");
    pthread_join(s->accept_thread, NULL);
    for (int i = 0; i < s->n_conns; i++)
        shutdown(s->conns[i]->fd, SHUT_RDWR);
    for (int i = 0; i < s->n_conns; i++) {
        pthread_join(s->conns[i]->thread, NULL);
        close(s->conns[i]->fd);
        free(s->conns[i]);
    }
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    for (int i = 0; i < s->n_requests; i++)
        free(s->requests[i]);
    for (size_t i = 0; i < s->q_len; i++)
        owned_free(&s->queue[(s->q_head + i) % MAX_QUEUE]);
    owned_free(&s->dflt);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int ts_port(const ts_server *s) { return s->port; }

void ts_push(ts_server *s, const ts_action *a)
{
    pthread_mutex_lock(&s->mu);
    if (s->q_len < MAX_QUEUE) {
        owned_action *o = &s->queue[(s->q_head + s->q_len) % MAX_QUEUE];
        memset(o, 0, sizeof *o);
        owned_set(o, a);
        s->q_len++;
    }
    pthread_mutex_unlock(&s->mu);
}

void ts_set_default(ts_server *s, const ts_action *a)
{
    pthread_mutex_lock(&s->mu);
    owned_set(&s->dflt, a);
    pthread_mutex_unlock(&s->mu);
}

int ts_connections(ts_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_counted;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int ts_requests(ts_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

char *ts_request(ts_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    char *r = i >= 0 && i < s->n_requests ? strdup(s->requests[i]) : NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

char *ts_request_header(ts_server *s, int i, const char *name)
{
    char *r = ts_request(s, i);
    if (!r)
        return NULL;
    char *end = strstr(r, "\r\n\r\n");
    size_t nlen = strlen(name);
    char *out = NULL;
    for (char *line = strstr(r, "\r\n"); line && (!end || line < end); line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
            char *v = l + nlen + 1;
            while (*v == ' ')
                v++;
            char *e = strstr(v, "\r\n");
            out = strndup(v, e ? (size_t)(e - v) : strlen(v));
            break;
        }
    }
    free(r);
    return out;
}

void ts_reset(ts_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_requests; i++)
        free(s->requests[i]);
    s->n_requests = 0;
    s->n_counted = 0;
    for (size_t i = 0; i < s->q_len; i++)
        owned_free(&s->queue[(s->q_head + i) % MAX_QUEUE]);
    s->q_len = 0;
    s->q_head = 0;
    pthread_mutex_unlock(&s->mu);
}

int ts_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("ts_closed_port");
        abort();
    }
    close(fd); /* bound but never listening: connections are refused */
    return ntohs(a.sin_port);
}

void ts_blackhole_open(ts_blackhole *b)
{
    b->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(b->listen_fd, 0) < 0 ||
        getsockname(b->listen_fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("ts_blackhole_open");
        abort();
    }
    b->port = ntohs(a.sin_port);
    for (size_t i = 0; i < sizeof b->fill / sizeof b->fill[0]; i++) {
        b->fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(b->fill[i], (struct sockaddr *)&a, sizeof a);
    }
    struct timespec ts = {0, 50 * 1000000L}; /* the handshakes of the fillers complete */
    nanosleep(&ts, NULL);
}

void ts_blackhole_close(ts_blackhole *b)
{
    for (size_t i = 0; i < sizeof b->fill / sizeof b->fill[0]; i++)
        close(b->fill[i]);
    close(b->listen_fd);
}

static void *cancel_main(void *p)
{
    ts_canceller *c = p;
    struct timespec ts = {c->after_ms / 1000, (long)(c->after_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    /* the code under test polls the flag with __atomic_load_n: store it the same way */
    __atomic_store_n(c->flag, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

void ts_cancel_later(ts_canceller *c, volatile int *flag, int after_ms)
{
    c->flag = flag;
    c->after_ms = after_ms;
    if (pthread_create(&c->thread, NULL, cancel_main, c) != 0)
        abort();
}

void ts_cancel_join(ts_canceller *c) { pthread_join(c->thread, NULL); }
