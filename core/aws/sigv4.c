/* AWS Signature Version 4, header signing.
 *
 * The canonical request is built from the request as it will be sent: the signer's own headers
 * (X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256) are computed from the params and
 * replace any copies already present, so the canonical request is the same before and after
 * sigv4_sign() has added them. Authorization and the headers AWS SDKs never sign (User-Agent,
 * Expect, X-Amzn-Trace-Id) are left out. */
#include "config.h"
#include "aws/sigv4.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#define HAVE_EVP_MAC 1
#endif

#include "util/buf.h"
#include "util/str.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"

/* ------------------------------------------------------------------ hashing */

/* OpenSSL 3 looks an algorithm up by name on every EVP_sha256()-style use and HMAC() call
   (EVP_Q_mac fetches the MAC and the digest each time): fetched once here instead. Process
   lifetime; nothing to free before exit. With OpenSSL 1.1 the one-shot calls are used. */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static const EVP_MD *md_sha256;
#if HAVE_EVP_MAC
static EVP_MAC_CTX *hmac_proto; /* HMAC-SHA256 without a key, copied for each use */
#endif

static void crypto_init(void)
{
#if HAVE_EVP_MAC
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    hmac_proto = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (hmac_proto && !EVP_MAC_CTX_set_params(hmac_proto, params)) {
        EVP_MAC_CTX_free(hmac_proto);
        hmac_proto = NULL; /* hmac_sha256 falls back to HMAC() */
    }
#endif
    if (!md_sha256)
        md_sha256 = EVP_sha256();
}

/* Per-thread contexts: a digest context and an HMAC context created for every hash were a
 * third of the signing work (allocation, provider set-up, freeing). Each thread keeps one of
 * each, re-initialised for every use and freed by the key's destructor when the thread ends.
 * Between uses the HMAC context holds the state of the last key it was given, which is the
 * cached signing key (kSigning, see signing_key_cache): no more than that cache keeps. */
typedef struct thread_crypto {
    EVP_MD_CTX *md;
#if HAVE_EVP_MAC
    EVP_MAC_CTX *mac;
#endif
} thread_crypto;

static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static pthread_key_t tc_key;
static bool tc_key_ok;

static void thread_crypto_free(void *p)
{
    thread_crypto *tc = p;
    EVP_MD_CTX_free(tc->md);
#if HAVE_EVP_MAC
    EVP_MAC_CTX_free(tc->mac); /* clears the key schedule */
#endif
    free(tc);
}

static void tc_key_init(void) { tc_key_ok = pthread_key_create(&tc_key, thread_crypto_free) == 0; }

/* This thread's contexts (either member may be NULL: the callers fall back to one-shot calls).
 * Runs crypto_init first, so md_sha256 and hmac_proto are set however it returns. */
static thread_crypto *thread_crypto_get(void)
{
    pthread_once(&crypto_once, crypto_init);
    pthread_once(&tc_once, tc_key_init);
    if (!tc_key_ok)
        return NULL;
    thread_crypto *tc = pthread_getspecific(tc_key);
    if (tc)
        return tc;
    tc = calloc(1, sizeof *tc);
    if (!tc)
        return NULL;
    tc->md = EVP_MD_CTX_new();
#if HAVE_EVP_MAC
    tc->mac = hmac_proto ? EVP_MAC_CTX_dup(hmac_proto) : NULL;
#endif
    if (pthread_setspecific(tc_key, tc) != 0) {
        thread_crypto_free(tc);
        return NULL;
    }
    return tc;
}

static int sha256_raw(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    thread_crypto *tc = thread_crypto_get();
    if (!len)
        data = "";
    if (tc && tc->md) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        int ok = EVP_DigestInit_ex2(tc->md, md_sha256, NULL);
#else
        int ok = EVP_DigestInit_ex(tc->md, md_sha256, NULL);
#endif
        if (ok && EVP_DigestUpdate(tc->md, data, len) && EVP_DigestFinal_ex(tc->md, out, &n) && n == 32)
            return 0;
        return -1;
    }
    if (EVP_Digest(data, len, out, &n, md_sha256, NULL) != 1 || n != 32)
        return -1;
    return 0;
}

static int sha256_hexstr(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    if (sha256_raw(data, len, md) < 0) {
        out[0] = '\0';
        return -1;
    }
    hex_encode(md, sizeof md, out);
    return 0;
}

int sigv4_sha256_hex(const void *data, size_t len, char out[65]) { return sha256_hexstr(data, len, out); }

static int hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    if (klen > INT32_MAX)
        return -1;
    if (!mlen)
        msg = "";
    thread_crypto *tc = thread_crypto_get();
#if HAVE_EVP_MAC
    if (tc && tc->mac) {
        size_t n = 0;
        return EVP_MAC_init(tc->mac, key, klen, NULL) && EVP_MAC_update(tc->mac, msg, mlen) &&
                       EVP_MAC_final(tc->mac, out, &n, 32) && n == 32
                   ? 0
                   : -1;
    }
#endif
    (void)tc; /* OpenSSL 1.1, or no per-thread context */
    unsigned int n = 0;
    if (!HMAC(md_sha256, key, (int)klen, msg, mlen, out, &n) || n != 32)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ small helpers */

static void put_digits(char *o, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        o[i] = (char)('0' + v % 10);
}

void sigv4_amz_date(time_t when, char out[17])
{
    struct tm tm;
    if (!gmtime_r(&when, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        memcpy(out, "19700101T000000Z", 17);
        return;
    }
    /* strftime("%Y%m%dT%H%M%SZ") without the locale machinery: signed three times per request */
    put_digits(out, tm.tm_year + 1900, 4);
    put_digits(out + 4, tm.tm_mon + 1, 2);
    put_digits(out + 6, tm.tm_mday, 2);
    out[8] = 'T';
    put_digits(out + 9, tm.tm_hour, 2);
    put_digits(out + 11, tm.tm_min, 2);
    put_digits(out + 13, tm.tm_sec, 2);
    out[15] = 'Z';
    out[16] = '\0';
}

static bool has_value(const char *s) { return s && *s; }

/* Characters allowed in the credential scope parts and the key id: printable ASCII without
 * blanks, and without '/' in the scope parts (it separates them). Keeps CR/LF out of headers. */
static bool scope_part_ok(const char *s, bool allow_slash)
{
    if (!has_value(s))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == ',' || (*p == '/' && !allow_slash))
            return false;
    return true;
}

/* ------------------------------------------------------------------ canonical URI */

/* RFC 3986 dot-segment removal plus collapsing of empty segments, as AWS expects for every
 * service but S3. The result always starts with '/'; a trailing '/' is kept when anything
 * is left. */
static char *normalize_path(const char *path)
{
    size_t n = strlen(path);
    size_t *starts = xmalloc((n / 2 + 2) * sizeof *starts);
    size_t *lens = xmalloc((n / 2 + 2) * sizeof *lens);
    size_t depth = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && path[i] == '.')) {
            /* empty or "." segment: dropped */
        } else if (len == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (depth)
                depth--;
        } else {
            starts[depth] = i;
            lens[depth] = len;
            depth++;
        }
        i = j + 1;
    }
    buf b = BUF_INIT;
    buf_append_char(&b, '/');
    for (size_t k = 0; k < depth; k++) {
        if (k)
            buf_append_char(&b, '/');
        buf_append(&b, path + starts[k], lens[k]);
    }
    if (depth && n && path[n - 1] == '/')
        buf_append_char(&b, '/');
    free(starts);
    free(lens);
    return buf_steal(&b);
}

static char *canonical_uri(const sigv4_params *p, const char *path)
{
    if (!has_value(path))
        path = "/";
    char *norm = p->normalize_path ? normalize_path(path) : xstrdup(path);
    if (!p->double_encode_path)
        return norm;
    char *enc = uri_encode(norm, false);
    free(norm);
    return enc;
}

/* ------------------------------------------------------------------ canonical query */

typedef struct qparam {
    char *key;
    char *value;
} qparam;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Each parameter is decoded and encoded again with the SigV4 rules, so a query given raw or
 * already encoded canonicalises the same way; then sorted by key, then value. */
static void canonical_query(const char *query, buf *out)
{
    if (!has_value(query))
        return;
    size_t cap = 8, n = 0;
    qparam *ps = xmalloc(cap * sizeof *ps);
    const char *p = query;
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            char *k = uri_decode(p, klen);
            char *v = eq ? uri_decode(eq + 1, len - klen - 1) : xstrdup("");
            if (n == cap) {
                cap *= 2;
                ps = xrealloc(ps, cap * sizeof *ps);
            }
            ps[n].key = uri_encode(k, true);
            ps[n].value = uri_encode(v, true);
            n++;
            free(k);
            free(v);
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    qsort(ps, n, sizeof *ps, qparam_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_char(out, '&');
        buf_append_str(out, ps[i].key);
        buf_append_char(out, '=');
        buf_append_str(out, ps[i].value);
        free(ps[i].key);
        free(ps[i].value);
    }
    free(ps);
}

/* ------------------------------------------------------------------ canonical headers */

typedef struct hentry {
    char *name;   /* lowercase, trimmed */
    char *value;  /* trimmed, internal whitespace runs collapsed */
    size_t order; /* position in the request: keeps the values of one name in order */
} hentry;

static int hentry_cmp(const void *a, const void *b)
{
    const hentry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

static char *lower_trim(const char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n && is_blank(s[n - 1]))
        n--;
    char *out = xstrndup(s, n);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

static char *trim_all(const char *s)
{
    size_t n = strlen(s);
    char *out = xmalloc(n + 1), *o = out;
    bool pending_space = false;
    for (; *s; s++) {
        if (is_blank(*s)) {
            pending_space = o != out;
            continue;
        }
        if (pending_space)
            *o++ = ' ';
        pending_space = false;
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static bool never_signed(const char *lname)
{
    static const char *const names[] = {"authorization", "user-agent", "expect", "x-amzn-trace-id"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(lname, names[i]) == 0)
            return true;
    return false;
}

/* What the signer itself adds: these replace any copy in the request. */
static bool signer_owned(const sigv4_params *p, const char *lname)
{
    if (strcmp(lname, "x-amz-date") == 0)
        return true;
    if (strcmp(lname, "x-amz-security-token") == 0 && has_value(p->session_token))
        return true;
    if (strcmp(lname, "x-amz-content-sha256") == 0 && p->add_content_sha256)
        return true;
    return false;
}

static void hentry_push(hentry **v, size_t *n, size_t *cap, char *name, char *value)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[*n].name = name;
    (*v)[*n].value = value;
    (*v)[*n].order = *n;
    (*n)++;
}

/* Appends the canonical header block (each "name:value\n") to out and the signed header list
 * to signed_headers. */
static void canonical_headers(const sigv4_params *p, const sigv4_request *r, const char *amz_date,
                              const char *payload_hash, buf *out, buf *signed_headers)
{
    hentry *v = NULL;
    size_t n = 0, cap = 0;
    const hdrs *h = r->headers;
    for (size_t i = 0; h && i < h->n; i++) {
        char *name = lower_trim(h->names[i]);
        if (!*name || never_signed(name) || signer_owned(p, name)) {
            free(name);
            continue;
        }
        hentry_push(&v, &n, &cap, name, trim_all(h->values[i]));
    }
    hentry_push(&v, &n, &cap, xstrdup("x-amz-date"), xstrdup(amz_date));
    if (has_value(p->session_token) && !p->omit_session_token)
        hentry_push(&v, &n, &cap, xstrdup("x-amz-security-token"), trim_all(p->session_token));
    if (p->add_content_sha256)
        hentry_push(&v, &n, &cap, xstrdup("x-amz-content-sha256"), xstrdup(payload_hash));
    qsort(v, n, sizeof *v, hentry_cmp);
    for (size_t i = 0; i < n; i++) {
        bool first_of_name = i == 0 || strcmp(v[i].name, v[i - 1].name) != 0;
        if (first_of_name) {
            if (i) {
                buf_append_char(out, '\n');
                buf_append_char(signed_headers, ';');
            }
            buf_append_str(out, v[i].name);
            buf_append_char(out, ':');
            buf_append_str(signed_headers, v[i].name);
        } else {
            buf_append_char(out, ',');
        }
        buf_append_str(out, v[i].value);
    }
    if (n)
        buf_append_char(out, '\n');
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        secure_zero(v[i].value, strlen(v[i].value));
        free(v[i].value);
    }
    free(v);
}

/* ------------------------------------------------------------------ the artefacts */

static char *build_canonical_request(const sigv4_params *p, const sigv4_request *r, buf *signed_headers)
{
    char amz_date[17];
    char payload_hash[65];
    sigv4_amz_date(p->when, amz_date);
    if (sha256_hexstr(r->body, r->body_len, payload_hash) < 0)
        return NULL;

    buf cr = BUF_INIT;
    buf_append_str(&cr, r->method ? r->method : "GET");
    buf_append_char(&cr, '\n');
    char *uri = canonical_uri(p, r->path);
    buf_append_str(&cr, uri);
    free(uri);
    buf_append_char(&cr, '\n');
    canonical_query(r->query, &cr);
    buf_append_char(&cr, '\n');
    canonical_headers(p, r, amz_date, payload_hash, &cr, signed_headers);
    buf_append_char(&cr, '\n');
    buf_append(&cr, signed_headers->data ? signed_headers->data : "", signed_headers->len);
    buf_append_char(&cr, '\n');
    buf_append_str(&cr, payload_hash);
    return buf_steal(&cr);
}

char *sigv4_canonical_request(const sigv4_params *p, const sigv4_request *r)
{
    buf sh = BUF_INIT;
    char *cr = build_canonical_request(p, r, &sh);
    buf_free(&sh);
    return cr;
}

/* date8/region/service/aws4_request */
static void append_scope(buf *b, const char *amz_date, const char *region, const char *service)
{
    buf_append(b, amz_date, 8);
    buf_append_char(b, '/');
    buf_append_str(b, region ? region : "");
    buf_append_char(b, '/');
    buf_append_str(b, service ? service : "");
    buf_append_str(b, "/" SIGV4_TERMINATOR);
}

char *sigv4_string_to_sign(const sigv4_params *p, const char *canonical_request)
{
    char amz_date[17];
    char hash[65];
    sigv4_amz_date(p->when, amz_date);
    if (sha256_hexstr(canonical_request, strlen(canonical_request), hash) < 0)
        return NULL;
    /* ALGORITHM \n date \n scope \n hash, appended (made once per request) */
    buf b = BUF_INIT;
    buf_append_str(&b, SIGV4_ALGORITHM "\n");
    buf_append(&b, amz_date, 16);
    buf_append_char(&b, '\n');
    append_scope(&b, amz_date, p->region, p->service);
    buf_append_char(&b, '\n');
    buf_append(&b, hash, 64);
    return buf_steal(&b);
}

/* The signing key (kSigning) depends only on the secret, the date, the region and the service:
 * one per day per scope, and the four HMACs that derive it are most of the signing work. Each
 * thread keeps the last one it derived, with the inputs it came from (compared in full; a
 * secret or scope too long for the fixed buffers is simply not cached). Thread-local, so no
 * lock; fixed-size, so nothing to free at thread exit; the copy is wiped when replaced. */
typedef struct signing_key_cache {
    bool valid;
    size_t secret_len;
    char secret[128];
    char date[8];
    char region[64];
    char service[64];
    unsigned char key[32];
} signing_key_cache;

static _Thread_local signing_key_cache tl_skey;

static int derive_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                              unsigned char out[32])
{
    size_t slen = strlen(secret), rlen = strlen(region), svlen = strlen(service);
    signing_key_cache *k = &tl_skey;
    bool cacheable = slen < sizeof k->secret && rlen < sizeof k->region && svlen < sizeof k->service;
    if (cacheable && k->valid && k->secret_len == slen && CRYPTO_memcmp(k->secret, secret, slen) == 0 &&
        memcmp(k->date, date8, 8) == 0 && strcmp(k->region, region) == 0 && strcmp(k->service, service) == 0) {
        memcpy(out, k->key, 32);
        return 0;
    }

    char *ksecret = xmalloc(slen + 5);
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret, slen + 1);
    unsigned char k1[32], k2[32];
    int rc = hmac_sha256(ksecret, slen + 4, date8, 8, k1);                 /* kDate */
    rc |= hmac_sha256(k1, 32, region, rlen, k2);                            /* kRegion */
    rc |= hmac_sha256(k2, 32, service, svlen, k1);                          /* kService */
    rc |= hmac_sha256(k1, 32, SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), out); /* kSigning */
    secure_zero(ksecret, slen + 4);
    free(ksecret);
    secure_zero(k1, sizeof k1);
    secure_zero(k2, sizeof k2);

    if (cacheable) {
        secure_zero(k, sizeof *k);
        if (rc == 0) {
            memcpy(k->secret, secret, slen);
            k->secret_len = slen;
            memcpy(k->date, date8, 8);
            memcpy(k->region, region, rlen + 1);
            memcpy(k->service, service, svlen + 1);
            memcpy(k->key, out, 32);
            k->valid = true;
        }
    }
    return rc;
}

void sigv4_signature(const sigv4_params *p, const char *string_to_sign, char out[65])
{
    char amz_date[17];
    sigv4_amz_date(p->when, amz_date);
    unsigned char key[32], sig[32];
    int rc = derive_signing_key(p->secret_access_key ? p->secret_access_key : "", amz_date,
                                p->region ? p->region : "", p->service ? p->service : "", key);
    if (rc == 0)
        rc = hmac_sha256(key, 32, string_to_sign, strlen(string_to_sign), sig);
    if (rc == 0)
        hex_encode(sig, sizeof sig, out);
    else
        out[0] = '\0';
    secure_zero(key, sizeof key);
    secure_zero(sig, sizeof sig);
}

int sigv4_sign(const sigv4_params *p, sigv4_request *r, char *err, size_t errlen)
{
    if (!p || !r || !r->headers) {
        snprintf(err, errlen, "sigv4: no request to sign");
        return -1;
    }
    if (!scope_part_ok(p->access_key_id, true)) {
        snprintf(err, errlen, "sigv4: the access key id is missing or malformed");
        return -1;
    }
    if (!has_value(p->secret_access_key)) {
        snprintf(err, errlen, "sigv4: the secret access key is missing");
        return -1;
    }
    if (!scope_part_ok(p->region, false) || !scope_part_ok(p->service, false)) {
        snprintf(err, errlen, "sigv4: the region or signing name is missing or malformed");
        return -1;
    }
    if (has_value(p->session_token) && !hdrs_value_ok(p->session_token)) {
        snprintf(err, errlen, "sigv4: the session token contains a line break");
        return -1;
    }
    if (!has_value(r->method)) {
        snprintf(err, errlen, "sigv4: no method");
        return -1;
    }
    if (!hdrs_get(r->headers, "Host")) {
        snprintf(err, errlen, "sigv4: the request has no Host header");
        return -1;
    }

    buf signed_headers = BUF_INIT;
    char *cr = build_canonical_request(p, r, &signed_headers);
    char *sts = cr ? sigv4_string_to_sign(p, cr) : NULL;
    char sig[65] = "";
    if (sts)
        sigv4_signature(p, sts, sig);
    if (cr) /* it holds the session token (x-amz-security-token), like the header copies wiped above */
        secure_zero(cr, strlen(cr));
    free(cr);
    free(sts);
    if (!sig[0]) {
        buf_free(&signed_headers);
        snprintf(err, errlen, "sigv4: hashing failed (libcrypto)");
        return -1;
    }

    char amz_date[17];
    sigv4_amz_date(p->when, amz_date);
    hdrs_remove(r->headers, "Authorization");
    hdrs_set(r->headers, "X-Amz-Date", amz_date);
    if (p->add_content_sha256) {
        char payload_hash[65];
        sha256_hexstr(r->body, r->body_len, payload_hash);
        hdrs_set(r->headers, "x-amz-content-sha256", payload_hash);
    }
    if (has_value(p->session_token))
        hdrs_set(r->headers, "X-Amz-Security-Token", p->session_token);

    buf auth = BUF_INIT;
    buf_reserve(&auth, 128 + strlen(p->access_key_id) + strlen(p->region) + strlen(p->service) +
                           signed_headers.len); /* one block: nothing left behind by a realloc */
    buf_append_str(&auth, SIGV4_ALGORITHM " Credential=");
    buf_append_str(&auth, p->access_key_id);
    buf_append_char(&auth, '/');
    append_scope(&auth, amz_date, p->region, p->service);
    buf_append_str(&auth, ", SignedHeaders=");
    buf_append(&auth, signed_headers.data ? signed_headers.data : "", signed_headers.len);
    buf_append_str(&auth, ", Signature=");
    buf_append_str(&auth, sig);
    hdrs_add(r->headers, "Authorization", auth.data);
    secure_zero(auth.data, auth.len);
    buf_free(&auth);
    buf_free(&signed_headers);
    return 0;
}
