/* wrapper plugin "audit": one JSON line per tools/call, for the audit trail.
 *
 * Format (version 1; fields always present and always in this order; documented in
 * plugins/wrappers/README.md — a change of meaning or order bumps "v"):
 *
 *   {"v":1,"time":"2026-01-02T03:04:05.678Z","tool":"greet",
 *    "function":"arn:aws:lambda:us-east-1:123456789012:function:greet","qualifier":null,
 *    "duration_ms":12.345,"outcome":"ok","request_id":"0f1e...","error_type":null,
 *    "from_cache":false,"arguments_sha256":"9f86d0..."}
 *
 *   time              when the call reached this wrapper, RFC 3339 UTC with milliseconds
 *   tool              the MCP tool name
 *   function          the function ARN, or its name when the ARN is unknown
 *   qualifier         alias or version invoked, null for $LATEST
 *   duration_ms       from this wrapper to the answer (inner wrappers included), 3 decimals
 *   outcome           ok | function_error | throttled | aws_error | service_error |
 *                     transport_error | timeout | cancelled | refused | invalid_arguments
 *   request_id        the AWS request id of the Invoke, null when Lambda was not reached
 *                     (a cache hit carries the request id of the invocation it replays)
 *   error_type        null when ok; else the function's errorType, the AWS error code, or the
 *                     refusing wrapper's reason (RateLimited, CircuitOpen, ...)
 *   from_cache        true when the answer came from the cache wrapper
 *   arguments_sha256  lowercase hex SHA-256 of the canonical JSON of the arguments: keys sorted
 *                     by byte order at every level, no whitespace, strings escaped only where
 *                     JSON requires it (", \, control characters), '/' and non-ASCII as is
 *   arguments         only with log_arguments = true: the arguments, canonical JSON
 *
 * Destination: `file` = "-" (the default) writes to stderr; anything else is a file opened with
 * O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0600 when it is created. Each line is written with
 * one write(2) under the plugin's mutex, so lines never interleave (O_APPEND also keeps them
 * whole next to other writers of the file). Before each write the path is stat()ed: when the
 * file was renamed or removed (log rotation) or replaced, it is reopened, so rotation needs no
 * signal. A SIGHUP reload builds a new instance, which opens the file afresh.
 * Write errors are logged (at most once a minute) and never fail the call. The server's log lines
 * (rotation, write errors) are formatted under the mutex and written after it is released, so a
 * stalled stderr never holds up the audit lines of the other calls. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lambda-mcp/plugin.h>

#include "common/wutil.h"

static const lmcp_setting_def audit_settings[] = {
    {"file", LMCP_SETTING_STRING, "-", "LAMBDA_MCP_AUDIT_FILE", NULL, 0, 0,
     "file the audit lines are appended to (created 0600); \"-\": stderr"},
    {"log_arguments", LMCP_SETTING_BOOL, "false", NULL, NULL, 0, 0,
     "also write the arguments themselves (canonical JSON); by default only their SHA-256"},
    LMCP_SETTINGS_END,
};

typedef struct audit {
    const lmcp_host *host;
    const lmcp_instance *inst;
    char *path;                /* NULL: stderr */
    bool log_arguments;
    pthread_mutex_t mu;
    int fd;                    /* -1: not open (failed; retried at the next line) */
    dev_t dev;
    ino_t ino;
    int64_t last_error_ms;
    uint64_t lines, errors;
} audit;

/* ------------------------------------------------------------------ a growable line */

typedef struct line {
    char *p;
    size_t len, cap;
    bool oom;
} line;

static void ln_reserve(line *l, size_t more)
{
    if (l->oom || l->len + more + 1 <= l->cap)
        return;
    size_t cap = l->cap ? l->cap : 512;
    while (cap < l->len + more + 1)
        cap *= 2;
    char *p = realloc(l->p, cap);
    if (!p) {
        l->oom = true;
        return;
    }
    l->p = p;
    l->cap = cap;
}

static void ln_add(line *l, const char *s, size_t n)
{
    ln_reserve(l, n);
    if (l->oom)
        return;
    memcpy(l->p + l->len, s, n);
    l->len += n;
    l->p[l->len] = '\0';
}

static void ln_str(line *l, const char *s) { ln_add(l, s, strlen(s)); }

static void ln_fmt(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ln_fmt(line *l, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        ln_add(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string, or null. Invalid UTF-8 bytes become U+FFFD so the line stays valid JSON. */
static void ln_jstr(line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        ln_str(l, "null");
        return;
    }
    ln_add(l, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ln_add(l, e, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ln_add(l, e, 6);
            p++;
        } else if (c < 0x80) {
            ln_add(l, (const char *)p, 1);
            p++;
        } else {
            /* validate one UTF-8 sequence */
            size_t need = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
            size_t k = 1;
            while (need && k <= need && (p[k] & 0xC0) == 0x80)
                k++;
            bool ok = need && k == need + 1;
            if (ok && c == 0xE0 && p[1] < 0xA0)
                ok = false;
            if (ok && c == 0xED && p[1] > 0x9F)
                ok = false;
            if (ok && c == 0xF0 && p[1] < 0x90)
                ok = false;
            if (ok && c == 0xF4 && p[1] > 0x8F)
                ok = false;
            if (ok) {
                ln_add(l, (const char *)p, need + 1);
                p += need + 1;
            } else {
                ln_add(l, "\xEF\xBF\xBD", 3);
                p++;
            }
        }
    }
    ln_add(l, "\"", 1);
}

/* ------------------------------------------------------------------ the file */

static int open_file(audit *a, char *err, size_t errlen)
{
    int fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the audit file %s: %s", a->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat the audit file %s: %s", a->path, strerror(errno));
        close(fd);
        return -1;
    }
    a->fd = fd;
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    return 0;
}

/* Under mu: make sure a->fd is the file at a->path now (log rotation). Log lines go to q, written
   once mu is released. */
static void check_rotation(audit *a, wu_logq *q)
{
    if (a->fd >= 0) {
        struct stat st;
        if (stat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
            return;
        close(a->fd); /* renamed away, removed or replaced: start a new file */
        a->fd = -1;
        wu_log_add(q, a->host, LMCP_LOG_INFO, "the audit file %s was rotated: reopening it", a->path);
    }
    char err[512];
    if (open_file(a, err, sizeof err) < 0) {
        int64_t now = a->host->now_ms();
        if (now - a->last_error_ms >= 60000) {
            a->last_error_ms = now;
            wu_log_add(q, a->host, LMCP_LOG_ERROR, "%s; audit lines are being lost", err);
        }
    }
}

/* Write one line under mu; what there is to log about it is written after mu is released, so a
   stalled stderr never holds up the other calls' audit lines. */
static void emit(audit *a, const char *data, size_t len)
{
    wu_logq q;
    q.n = 0; /* (only n: the lines are not zeroed, a call pays nothing for them) */
    pthread_mutex_lock(&a->mu);
    int fd = 2;
    if (a->path) {
        check_rotation(a, &q);
        fd = a->fd;
    }
    int e = 0;
    if (fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(fd, data + off, len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                e = n < 0 ? errno : EIO;
                break;
            }
            off += (size_t)n;
        }
    } else {
        e = EBADF;
    }
    if (e) {
        a->errors++;
        int64_t now = a->host->now_ms();
        if (now - a->last_error_ms >= 60000) {
            a->last_error_ms = now;
            wu_log_add(&q, a->host, LMCP_LOG_ERROR, "cannot write an audit line to %s: %s",
                       a->path ? a->path : "stderr", strerror(e));
        }
    } else {
        a->lines++;
    }
    pthread_mutex_unlock(&a->mu);
    wu_log_flush(&q, a->host, a->inst);
}

/* ------------------------------------------------------------------ life cycle */

static int audit_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    audit *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    a->host = h;
    a->inst = ctx->instance;
    a->fd = -1;
    a->log_arguments = h->setting_bool(ctx->settings, "log_arguments");
    const char *p = h->setting_string(ctx->settings, "file");
    if (!p || !*p) {
        snprintf(err, errlen, "file must name a file, or be \"-\" for stderr");
        free(a);
        return LMCP_ERR;
    }
    if (strcmp(p, "-") != 0) {
        a->path = strdup(p);
        if (!a->path || open_file(a, err, errlen) < 0) {
            if (!a->path)
                snprintf(err, errlen, "out of memory");
            free(a->path);
            free(a);
            return LMCP_ERR;
        }
    }
    pthread_mutex_init(&a->mu, NULL);
    if (a->log_arguments)
        h->log(a->inst, LMCP_LOG_WARN, "log_arguments = true: call arguments are written to the audit trail (%s)",
               a->path ? a->path : "stderr");
    *state = a;
    return LMCP_OK;
}

static void audit_destroy(void *state)
{
    audit *a = state;
    if (!a)
        return;
    if (a->host->log_enabled(LMCP_LOG_DEBUG))
        a->host->log(a->inst, LMCP_LOG_DEBUG, "audit: %" PRIu64 " lines written, %" PRIu64 " lost", a->lines,
                     a->errors);
    if (a->fd >= 0)
        close(a->fd);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

/* ------------------------------------------------------------------ the call */

static void rfc3339_ms(int64_t ms, char out[64])
{
    time_t sec = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        sec--;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static int audit_invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    (void)s;
    audit *a = state;
    const lmcp_host *h = a->host;
    int64_t wall = h->now_ms();
    int64_t t0 = h->monotonic_us();
    /* the arguments' digest: computed once per call by the host (the cache keys on the same
       one), here before the chain runs — what the client sent; the arguments never change */
    char dbuf[65];
    const char *digest = wu_arguments_sha256(h, call, dbuf);

    int rc = h->call_next(next, call, res);

    int64_t us = h->monotonic_us() - t0;
    lmcp_outcome o = h->result_outcome(res);
    char ts[64];
    rfc3339_ms(wall, ts);
    const char *fn = h->call_arn(call);
    if (!fn || !*fn)
        fn = h->call_function(call);
    const char *rid = h->result_request_id(res);
    const char *etype = o == LMCP_OUTCOME_OK ? NULL : h->result_error_type(res);

    line l = {0};
    ln_str(&l, "{\"v\":1,\"time\":\"");
    ln_str(&l, ts);
    ln_str(&l, "\",\"tool\":");
    ln_jstr(&l, h->call_tool(call));
    ln_str(&l, ",\"function\":");
    ln_jstr(&l, fn);
    ln_str(&l, ",\"qualifier\":");
    ln_jstr(&l, h->call_qualifier(call));
    ln_fmt(&l, ",\"duration_ms\":%" PRId64 ".%03d", us / 1000, (int)(us % 1000));
    ln_str(&l, ",\"outcome\":");
    ln_jstr(&l, lmcp_outcome_name(o));
    ln_str(&l, ",\"request_id\":");
    ln_jstr(&l, rid && *rid ? rid : NULL);
    ln_str(&l, ",\"error_type\":");
    ln_jstr(&l, etype && *etype ? etype : (o == LMCP_OUTCOME_OK ? NULL : "Unknown"));
    ln_str(&l, h->result_from_cache(res) ? ",\"from_cache\":true" : ",\"from_cache\":false");
    ln_str(&l, ",\"arguments_sha256\":\"");
    ln_str(&l, digest);
    ln_str(&l, "\"");
    if (a->log_arguments) {
        /* serialised only when written: the same canonical text the digest is of */
        const lmcp_json *args = h->call_arguments(call);
        char *canon = args ? h->json_to_string(args, LMCP_JSON_CANONICAL) : NULL;
        ln_str(&l, ",\"arguments\":");
        ln_str(&l, canon ? canon : "{}");
        h->free(canon);
    }
    ln_str(&l, "}\n");
    if (l.oom) {
        h->log(a->inst, LMCP_LOG_ERROR, "out of memory: an audit line for tool %s was lost", h->call_tool(call));
    } else {
        emit(a, l.p, l.len);
    }
    free(l.p);
    return rc;
}

static const lmcp_wrapper_ops audit_ops = {.invoke = audit_invoke};

/* read once, in init: an overrides block cannot change them (the host refuses it) */
static const char *const audit_instance_settings[] = {"file", "log_arguments", NULL};

static const lmcp_plugin_def audit_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "audit",
    .version = "1.0",
    .description = "one JSON line per call (time, tool, function, outcome, request id, duration, argument hash) to "
                   "a file or stderr",
    .settings = audit_settings,
    .init = audit_init,
    .destroy = audit_destroy,
    .wrapper = &audit_ops,
    .instance_settings = audit_instance_settings,
};

LMCP_PLUGIN_DEFINE(audit_plugin)
