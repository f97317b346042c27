#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
    fputs("lambda-mcp: credentials plugin: out of memory\n", stderr);
    abort();
}

void *cc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *cc_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *cc_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *cc_strdup(const char *s)
{
    return s ? cc_strndup(s, strlen(s)) : NULL;
}

char *cc_strndup(const char *s, size_t n)
{
    char *d = cc_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *cc_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    char *s = cc_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void cc_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (v && n--)
        *v++ = 0;
}

void cc_free_secret(char *s)
{
    if (s) {
        cc_wipe(s, strlen(s));
        free(s);
    }
}

void cc_free_secret_n(char *s, size_t n)
{
    if (s) {
        cc_wipe(s, n);
        free(s);
    }
}

void cc_strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        cc_free_secret(*p);
    free(v);
}

/* ------------------------------------------------------------------ buffer */

void cc_buf_append(cc_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        /* grow by copying so the old block can be wiped: buffers may hold secrets */
        char *d = cc_xmalloc(cap);
        if (b->len)
            memcpy(d, b->data, b->len);
        if (b->data) {
            cc_wipe(b->data, b->cap);
            free(b->data);
        }
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cc_buf_puts(cc_buf *b, const char *s) { cc_buf_append(b, s, strlen(s)); }

void cc_buf_printf(cc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    char *tmp = cc_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cc_buf_append(b, tmp, (size_t)n);
    cc_free_secret_n(tmp, (size_t)n);
}

void cc_buf_wipe_free(cc_buf *b)
{
    if (b->data) {
        cc_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ environment */

const char *cc_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

bool cc_streq_ci(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

bool cc_env_true(const char *name)
{
    const char *v = cc_env(name);
    if (!v)
        return false;
    char tmp[16];
    size_t n = strlen(v);
    /* tolerate surrounding blanks, as the SDKs strip the value */
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    while (n && isspace((unsigned char)*v)) {
        v++;
        n--;
    }
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    return cc_streq_ci(tmp, "true");
}

char *cc_trim(char *s)
{
    if (!s)
        return s;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
    return s;
}

void cc_redact(char *s, const char *secret)
{
    if (!s || !secret)
        return;
    size_t n = strlen(secret);
    if (n < 4)
        return;
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r == *secret && strncmp(r, secret, n) == 0) {
            memcpy(w, "****", 4);
            w += 4;
            r += n;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

void cc_mask_key(const char *akid, char out[24])
{
    size_t n = akid ? strlen(akid) : 0;
    if (n <= 4)
        snprintf(out, 24, "****");
    else
        snprintf(out, 24, "****************%s", akid + n - 4);
}

/* ------------------------------------------------------------------ time */

/* days since 1970-01-01 of a civil date (proleptic Gregorian, no time zone involved) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int cc_parse_time(const char *s, int64_t *ms)
{
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    const char *p = s;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0)
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec) < 0)
                return -1;
        }
    } else if (*p) {
        return -1;
    }
    int frac_ms = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int k = 0;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++, k++)
            if (k < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        for (; k < 3; k++)
            frac_ms *= 10;
    }
    long off = 0;
    while (*p == ' ')
        p++;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (strncmp(p, "UTC", 3) == 0 || strncmp(p, "GMT", 3) == 0) {
        p += 3;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '+' ? 1 : -1, oh, om = 0;
        p++;
        if (digits(&p, 2, &oh) < 0)
            return -1;
        /* +hh, +hhmm or +hh:mm; every read stops at the first non-digit, so at the NUL too */
        bool colon = *p == ':';
        if (colon)
            p++;
        if ((colon || *p) && digits(&p, 2, &om) < 0)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600L + om * 60L);
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    long long secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + h * 3600LL + mi * 60LL + sec - off;
    *ms = (int64_t)secs * 1000 + frac_ms;
    return 0;
}

void cc_format_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00Z");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------ paths and files */

static const char *home_dir(void)
{
    const char *h = cc_env("HOME");
    if (h)
        return h;
    struct passwd pw, *res = NULL;
    static __thread char pbuf[1024];
    if (getpwuid_r(getuid(), &pw, pbuf, sizeof pbuf, &res) == 0 && res && res->pw_dir)
        return res->pw_dir;
    return NULL;
}

static bool var_char(char c, bool first)
{
    return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

char *cc_expand_path(const char *path)
{
    if (!path)
        return NULL;
    cc_buf b = CC_BUF_INIT;
    for (const char *p = path; *p;) {
        if (*p == '$') {
            const char *name = NULL;
            size_t n = 0;
            const char *after = p + 1;
            if (p[1] == '{') {
                const char *close = strchr(p + 2, '}');
                if (close && close > p + 2) {
                    name = p + 2;
                    n = (size_t)(close - name);
                    after = close + 1;
                }
            } else if (var_char(p[1], true)) {
                name = p + 1;
                while (var_char(name[n], n == 0))
                    n++;
                after = name + n;
            }
            if (name) {
                char *var = cc_strndup(name, n);
                const char *val = getenv(var);
                free(var);
                if (val) {
                    cc_buf_puts(&b, val);
                    p = after;
                    continue;
                }
                cc_buf_append(&b, p, (size_t)(after - p));
                p = after;
                continue;
            }
        }
        cc_buf_append(&b, p, 1);
        p++;
    }
    char *s = b.data ? b.data : cc_strdup("");
    if (s[0] == '~' && (s[1] == '/' || s[1] == '\0')) {
        const char *h = home_dir();
        if (h) {
            char *e = cc_asprintf("%s%s", h, s + 1);
            free(s);
            s = e;
        }
    }
    return s;
}

int cc_read_file(const char *path, size_t max, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    cc_buf b = CC_BUF_INIT;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            cc_wipe(chunk, sizeof chunk);
            cc_buf_wipe_free(&b);
            return -e;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > max) {
            close(fd);
            cc_wipe(chunk, sizeof chunk);
            cc_buf_wipe_free(&b);
            return -EFBIG;
        }
        cc_buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    cc_wipe(chunk, sizeof chunk);
    if (!b.data)
        cc_buf_append(&b, "", 0);
    *data = b.data;
    *len = b.len;
    return 0;
}

int cc_read_token_file(const char *path, size_t max, char **token, size_t *len)
{
    int rc = cc_read_file(path, max, token, len);
    if (rc < 0)
        return rc;
    /* platforms write tokens without a newline; an editor may add one */
    size_t n = *len;
    while (n && isspace((unsigned char)(*token)[n - 1]))
        (*token)[--n] = '\0';
    return 0;
}
