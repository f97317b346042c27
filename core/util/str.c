#include "config.h"
#include "util/str.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
    static const char msg[] = "lambda-mcp: out of memory\n";
    fwrite(msg, 1, sizeof msg - 1, stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = strndup(s, n);
    if (!p)
        oom();
    return p;
}

/* One formatting pass into a stack buffer for the common short result: glibc's
 * vsnprintf(NULL, 0, ...) sizing pass writes through a 64-byte scratch buffer and costs more
 * than the formatting itself (header lines, paths and the SigV4 strings are made here). */
char *xasprintf(const char *fmt, ...)
{
    char small[512];
    va_list ap, cp;
    va_start(ap, fmt);
    va_copy(cp, ap);
    int n = vsnprintf(small, sizeof small, fmt, cp);
    va_end(cp);
    if (n < 0)
        oom();
    char *p = xmalloc((size_t)n + 1);
    if ((size_t)n < sizeof small)
        memcpy(p, small, (size_t)n + 1);
    else
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    secure_zero(small, (size_t)n < sizeof small ? (size_t)n : sizeof small); /* header lines carry tokens */
    return p;
}

bool str_starts_with(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ieq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    while (*a && *b) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++, b++;
    }
    return *a == *b;
}

char *str_trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

size_t str_split(const char *s, char sep, char ***items)
{
    size_t n = 0, cap = 4;
    char **out = xmalloc(cap * sizeof *out);
    const char *p = s ? s : "";
    for (;;) {
        const char *e = strchr(p, sep);
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *item = xstrndup(p, len);
        char *t = str_trim(item);
        if (*t) {
            if (n + 2 > cap) {
                cap *= 2;
                out = xrealloc(out, cap * sizeof *out);
            }
            out[n++] = xstrdup(t);
        }
        free(item);
        if (!e)
            break;
        p = e + 1;
    }
    out[n] = NULL;
    *items = out;
    return n;
}

void str_list_free(char **items)
{
    if (!items)
        return;
    for (char **p = items; *p; p++)
        free(*p);
    free(items);
}

char *uri_encode(const char *s, bool encode_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(n * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        /* ASCII only, whatever the locale: a multibyte locale must not change a signature */
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '_' || c == '.' || c == '~';
        if (unreserved || (c == '/' && !encode_slash)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *uri_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hex_digit((unsigned char)s[i + 1])) >= 0 &&
            (l = hex_digit((unsigned char)s[i + 2])) >= 0) {
            *o++ = (char)(h << 4 | l);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

size_t str_redact(char *s, const char *secret)
{
    if (!s || !secret)
        return 0;
    size_t n = strlen(secret), hits = 0;
    if (n < STR_REDACT_MIN)
        return 0;
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r == *secret && strncmp(r, secret, n) == 0) {
            memcpy(w, "****", 4);
            w += 4;
            r += n;
            hits++;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return hits;
}

char *url_for_log(const char *url)
{
    if (!url)
        return xstrdup("");
    size_t n = strcspn(url, "?#");
    const char *sep = strstr(url, "://");
    if (sep && (size_t)(sep - url) < n) {
        const char *auth = sep + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *p = auth; p < auth + alen; p++) /* the last '@' ends the userinfo */
            if (*p == '@')
                at = p;
        if (at)
            return xasprintf("%.*s%.*s", (int)(auth - url), url, (int)(n - (size_t)(at + 1 - url)), at + 1);
    }
    return xstrndup(url, n);
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const void *data, size_t len, const char *alphabet, bool pad)
{
    const unsigned char *p = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        if (i + 1 < len)
            *o++ = alphabet[v >> 6 & 63];
        else if (pad)
            *o++ = '=';
        if (pad)
            *o++ = '=';
    }
    *o = '\0';
    return out;
}

char *base64_encode(const void *data, size_t len) { return b64_encode(data, len, b64_std, true); }
char *base64url_encode(const void *data, size_t len) { return b64_encode(data, len, b64_url, false); }

/* The value of c in either alphabet (strict: the URL one only), or -1. */
static int b64_val(int c, bool url_only)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || (c == '+' && !url_only))
        return 62;
    if (c == '_' || (c == '/' && !url_only))
        return 63;
    return -1;
}

static unsigned char *b64_decode(const char *s, size_t *out_len, bool strict)
{
    size_t n = strlen(s);
    if (strict && n % 4 == 1)
        return NULL;
    unsigned char *out = xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '=' && !strict)
            break;
        if (isspace(c) && !strict)
            continue;
        int v = b64_val(c, strict);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    /* the leftover bits of a canonical encoding are zero */
    if (strict && bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

unsigned char *base64_decode(const char *s, size_t *out_len) { return b64_decode(s, out_len, false); }
unsigned char *base64url_decode(const char *s, size_t *out_len) { return b64_decode(s, out_len, true); }

/* ------------------------------------------------------------------ UTF-8 */

size_t utf8_seq_len(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte; later ones are 80..BF */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2, lo = 0xA0;  /* no overlong forms */
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) {
        need = 2, hi = 0x9F;  /* U+D800..U+DFFF are not characters */
    } else if (c == 0xF0) {
        need = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) {
        need = 3, hi = 0x8F;  /* nothing above U+10FFFF */
    } else {
        if (bad)
            *bad = 1;
        return 0;
    }
    size_t k = 1;
    while (k <= need && k < n) {
        unsigned b = s[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
            break;
        k++;
    }
    if (k == need + 1)
        return k;
    if (bad)
        *bad = k;
    return 0;
}

size_t utf8_encode(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    /* back over continuation bytes to the start of the sequence the cut would split (at most 3) */
    size_t n = max;
    for (int k = 0; k < 3 && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; k++)
        n--;
    return ((unsigned char)s[n] & 0xC0) == 0x80 ? max : n; /* not UTF-8 there anyway: as asked */
}

bool utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        size_t k = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, len - i, NULL);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

void utf8_sanitize(buf *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    buf_reserve(out, len);
    size_t i = 0;
    while (i < len) {
        /* copy a run of valid text at once */
        size_t j = i, k, bad = 0;
        while (j < len) {
            if (s[j] < 0x80) {
                j++;
                continue;
            }
            if (!(k = utf8_seq_len(s + j, len - j, &bad)))
                break;
            j += k;
        }
        if (j > i)
            buf_append(out, s + i, j - i);
        if (j >= len)
            break;
        buf_append(out, "\xEF\xBF\xBD", 3);
        i = j + bad;
    }
    if (!out->data)
        buf_append(out, "", 0);
}

void hex_encode(const unsigned char *data, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[data[i] >> 4];
        out[2 * i + 1] = hex[data[i] & 15];
    }
    out[2 * len] = '\0';
}

void secure_zero(void *p, size_t n)
{
    if (!p || !n)
        return;
#if HAVE_EXPLICIT_BZERO
    explicit_bzero(p, n);
#else
    volatile unsigned char *v = p; /* every store is kept: the compiler cannot drop the wipe */
    while (n--)
        *v++ = 0;
#endif
}

bool parse_duration_ms(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isfinite(v))
        return false;
    while (*end == ' ')
        end++;
    double mult;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return false;
    double ms = v * mult;
    if (ms > 9.0e15)
        return false;
    *out = (int64_t)llround(ms);
    return true;
}
