/* SigV4: every case of the AWS signing test suite (tests/data/sigv4/v4), header signing.
 * For each case: parse context.json and request.txt, then compare our canonical request,
 * string to sign and signature with the expected files, and the headers sigv4_sign() adds
 * with header-signed-request.txt. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "aws/sigv4.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hdrs.h"
#include "util/str.h"

#define SUITE_DIR LMCP_TEST_DATA "/sigv4/v4"

/* ------------------------------------------------------------------ helpers */

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    if (len)
        *len = b.len;
    return buf_steal(&b);
}

/* Expected files may or may not end with a newline; the artefacts never do. */
static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

typedef struct parsed_request {
    char *method;
    char *path;
    char *query; /* NULL when none */
    hdrs headers;
    char *body;
    size_t body_len;
} parsed_request;

static void parsed_request_free(parsed_request *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    hdrs_free(&r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Next line of text[*pos..len): returns its start and length without the line break, advances
 * *pos past the break. False at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *llen)
{
    if (*pos >= len)
        return false;
    const char *s = text + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - s) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n && s[n - 1] == '\r')
        n--;
    *line = s;
    *llen = n;
    return true;
}

/* An HTTP/1.1 request as text: request line (the target may contain spaces), headers (a name
 * may repeat; a line starting with a blank continues the previous value, joined with one
 * space as RFC 7230 allows for obs-fold), a blank line, the body. */
static int parse_request(const char *text, size_t len, parsed_request *r)
{
    memset(r, 0, sizeof *r);
    size_t pos = 0;
    const char *line;
    size_t llen;
    if (!next_line(text, len, &pos, &line, &llen))
        return -1;
    const char *sp1 = memchr(line, ' ', llen);
    const char *sp2 = NULL;
    for (const char *p = line + llen; p > line; p--)
        if (p[-1] == ' ') {
            sp2 = p - 1;
            break;
        }
    if (!sp1 || !sp2 || sp2 <= sp1)
        return -1;
    r->method = xstrndup(line, (size_t)(sp1 - line));
    char *target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    char *q = strchr(target, '?');
    if (q) {
        *q = '\0';
        r->query = xstrdup(q + 1);
    }
    r->path = xstrdup(target);
    free(target);

    while (next_line(text, len, &pos, &line, &llen)) {
        if (llen == 0)
            break;
        if (line[0] == ' ' || line[0] == '\t') {
            if (!r->headers.n)
                return -1;
            char *old = r->headers.values[r->headers.n - 1];
            buf b = BUF_INIT;
            buf_append_str(&b, old);
            buf_append_char(&b, ' ');
            buf_append(&b, line, llen);
            free(old);
            r->headers.values[r->headers.n - 1] = buf_steal(&b);
            continue;
        }
        const char *colon = memchr(line, ':', llen);
        if (!colon)
            return -1;
        hdrs_addn(&r->headers, line, (size_t)(colon - line), colon + 1, llen - (size_t)(colon - line) - 1);
    }
    r->body_len = len - pos;
    r->body = xstrndup(text + pos, r->body_len);
    return 0;
}

typedef struct sig_case {
    char *dir;
    char *name;
} sig_case;

static const char *json_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static bool json_bool_or(json_object *o, const char *key, bool dflt)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_boolean(v) : dflt;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* "lowercase-name:value" for every header, sorted: compares header sets regardless of order. */
static char **header_set(const hdrs *h)
{
    char **v = xcalloc(h->n + 1, sizeof *v);
    for (size_t i = 0; i < h->n; i++) {
        char *name = xstrdup(h->names[i]);
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        v[i] = xasprintf("%s:%s", name, h->values[i]);
        free(name);
    }
    qsort(v, h->n, sizeof *v, cmp_str);
    return v;
}

/* ------------------------------------------------------------------ one vector */

static int n_passed, n_skipped;

static void run_case(void **state)
{
    const sig_case *tc = *state;
    char *ctx_text = slurp(tc->dir, "context.json", NULL);
    size_t req_len = 0;
    char *req_text = slurp(tc->dir, "request.txt", &req_len);
    char *want_cr = slurp(tc->dir, "header-canonical-request.txt", NULL);
    char *want_sts = slurp(tc->dir, "header-string-to-sign.txt", NULL);
    char *want_sig = slurp(tc->dir, "header-signature.txt", NULL);
    size_t signed_len = 0;
    char *want_signed = slurp(tc->dir, "header-signed-request.txt", &signed_len);
    if (!ctx_text || !req_text || !want_cr || !want_sts || !want_sig) {
        printf("[  SKIP    ] %s: no header-signing artefacts (query signing only)\n", tc->name);
        free(ctx_text), free(req_text), free(want_cr), free(want_sts), free(want_sig), free(want_signed);
        n_skipped++;
        skip();
    }
    chomp(want_cr);
    chomp(want_sts);
    chomp(want_sig);

    json_object *ctx = json_tokener_parse(ctx_text);
    assert_non_null(ctx);
    json_object *creds;
    assert_true(json_object_object_get_ex(ctx, "credentials", &creds));
    sigv4_params p = {0};
    p.access_key_id = json_str(creds, "access_key_id");
    p.secret_access_key = json_str(creds, "secret_access_key");
    p.session_token = json_str(creds, "token");
    p.region = json_str(ctx, "region");
    p.service = json_str(ctx, "service");
    int64_t ms = clock_parse_iso8601_ms(json_str(ctx, "timestamp"));
    assert_true(ms > 0);
    p.when = (time_t)(ms / 1000);
    p.normalize_path = json_bool_or(ctx, "normalize", true);
    p.double_encode_path = json_bool_or(ctx, "double_uri_encode", true);
    p.add_content_sha256 = json_bool_or(ctx, "sign_body", false);
    p.omit_session_token = json_bool_or(ctx, "omit_session_token", false);

    parsed_request pr;
    assert_int_equal(parse_request(req_text, req_len, &pr), 0);
    sigv4_request r = {pr.method, pr.path, pr.query, &pr.headers, pr.body, pr.body_len};

    char *cr = sigv4_canonical_request(&p, &r);
    assert_non_null(cr);
    if (strcmp(cr, want_cr) != 0)
        printf("canonical request mismatch in %s\n--- got\n%s\n--- want\n%s\n", tc->name, cr, want_cr);
    assert_string_equal(cr, want_cr);
    char *sts = sigv4_string_to_sign(&p, cr);
    assert_string_equal(sts, want_sts);
    char sig[65];
    sigv4_signature(&p, sts, sig);
    assert_string_equal(sig, want_sig);

    /* sign in place, then compare the header set with the signed request */
    char err[256];
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), 0);
    char *cr_after = sigv4_canonical_request(&p, &r);
    assert_string_equal(cr_after, want_cr); /* signing does not change what is signed */
    if (want_signed) {
        parsed_request ps;
        assert_int_equal(parse_request(want_signed, signed_len, &ps), 0);
        char **got = header_set(&pr.headers), **want = header_set(&ps.headers);
        for (size_t i = 0; want[i] || got[i]; i++) {
            if (!want[i] || !got[i] || strcmp(want[i], got[i]) != 0)
                printf("signed header mismatch in %s: got %s, want %s\n", tc->name, got[i] ? got[i] : "(none)",
                       want[i] ? want[i] : "(none)");
            assert_non_null(got[i]);
            assert_non_null(want[i]);
            assert_string_equal(got[i], want[i]);
        }
        for (size_t i = 0; got[i]; i++)
            free(got[i]);
        for (size_t i = 0; want[i]; i++)
            free(want[i]);
        free(got);
        free(want);
        parsed_request_free(&ps);
    }

    free(cr_after);
    free(cr);
    free(sts);
    parsed_request_free(&pr);
    json_object_put(ctx);
    free(ctx_text), free(req_text), free(want_cr), free(want_sts), free(want_sig), free(want_signed);
    n_passed++;
}

/* ------------------------------------------------------------------ beyond the vectors */

static void test_lambda_path_double_encoded(void **state)
{
    (void)state;
    hdrs h = HDRS_INIT;
    hdrs_add(&h, "Host", "lambda.us-east-1.amazonaws.com");
    sigv4_params p = {"AKIDEXAMPLE", "secret", NULL, "us-east-1", "lambda", 1440938160, true, true, false, false};
    sigv4_request r = {"GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af", "Qualifier=%24LATEST",
                       &h, NULL, 0};
    char *cr = sigv4_canonical_request(&p, &r);
    assert_true(str_starts_with(cr, "GET\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A1%253Afunction%253Af\n"
                                    "Qualifier=%24LATEST\n"));
    free(cr);
    hdrs_free(&h);
}

static void test_query_rules(void **state)
{
    (void)state;
    hdrs h = HDRS_INIT;
    hdrs_add(&h, "Host", "h");
    sigv4_params p = {"AKID", "secret", NULL, "us-east-1", "svc", 0, true, true, false, false};
    sigv4_request r = {"GET", "/", "b=2&a&a=1&c=x y&d=%7e&e=a+b", &h, NULL, 0};
    char *cr = sigv4_canonical_request(&p, &r);
    assert_true(str_starts_with(cr, "GET\n/\na=&a=1&b=2&c=x%20y&d=~&e=a%2Bb\n"));
    free(cr);
    /* uri_decode's rules: a '%' without two hex digits is a literal '%', encoded again */
    r.query = "p=%zz&q=%4&r=50%&s=%41%2f";
    cr = sigv4_canonical_request(&p, &r);
    assert_true(str_starts_with(cr, "GET\n/\np=%25zz&q=%254&r=50%25&s=A%2F\n"));
    free(cr);
    hdrs_free(&h);
}

static void test_sign_errors(void **state)
{
    (void)state;
    char err[256];
    hdrs h = HDRS_INIT;
    sigv4_params p = {"AKID", "secret", NULL, "us-east-1", "svc", 0, true, true, false, false};
    sigv4_request r = {"GET", "/", NULL, &h, NULL, 0};
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), -1); /* no Host */
    assert_non_null(strstr(err, "Host"));
    hdrs_add(&h, "Host", "h");
    p.session_token = "tok\r\nX-Evil: 1";
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), -1); /* line break in the token */
    assert_null(strstr(err, "X-Evil"));
    p.session_token = NULL;
    p.region = "us-east-1/x";
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), -1);
    p.region = "us-east-1";
    p.secret_access_key = "";
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), -1);
    assert_int_equal(h.n, 1); /* nothing added on failure */
    p.secret_access_key = "secret";
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), 0);
    /* signing twice replaces, never duplicates */
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), 0);
    size_t n_auth = 0;
    for (size_t i = 0; i < h.n; i++)
        n_auth += str_ieq(h.names[i], "Authorization");
    assert_int_equal(n_auth, 1);
    hdrs_free(&h);
}

static void test_amz_date(void **state)
{
    (void)state;
    char d[17];
    sigv4_amz_date(1440938160, d);
    assert_string_equal(d, "20150830T123600Z");
    sigv4_amz_date(0, d);
    assert_string_equal(d, "19700101T000000Z");
    sigv4_amz_date(951868799, d); /* leap day, last second */
    assert_string_equal(d, "20000229T235959Z");
    sigv4_amz_date(253402300799, d);
    assert_string_equal(d, "99991231T235959Z");
}

/* The signing key is cached per thread (the last secret/date/region/service it was derived
 * for): a thread that signs for other inputs in turn must get, every time, what a thread with
 * no cache gets. */
typedef struct key_case {
    const char *secret, *region, *service;
    time_t when;
    char sig[65];
} key_case;

static void *sign_fresh(void *arg)
{
    key_case *k = arg;
    sigv4_params p = {.secret_access_key = k->secret, .region = k->region, .service = k->service, .when = k->when};
    sigv4_signature(&p, "AWS4-HMAC-SHA256\n20150830T123600Z\n...", k->sig);
    return NULL;
}

static void test_signing_key_cache(void **state)
{
    (void)state;
    char long_secret[300];
    memset(long_secret, 'k', sizeof long_secret - 1);
    long_secret[sizeof long_secret - 1] = '\0';
    const time_t day = 1440938160, next_day = day + 86400;
    key_case cases[] = {
        {"secretA", "us-east-1", "lambda", day, ""},
        {"secretB", "us-east-1", "lambda", day, ""},      /* secret */
        {"secretBx", "us-east-1", "lambda", day, ""},     /* secret, the previous one its prefix */
        {"secretB", "us-east-1", "lambda", day, ""},      /* secret, a prefix of the previous one */
        {"secretB", "eu-west-1", "lambda", day, ""},      /* region */
        {"secretB", "eu-west-1", "sts", day, ""},         /* service */
        {"secretB", "eu-west-1", "sts", next_day, ""},    /* date */
        {long_secret, "eu-west-1", "sts", next_day, ""},  /* secret, too long to cache */
        {"secretA", "us-east-1", "lambda", day + 60, ""}, /* everything; the same key as case 0 */
        {"secretA", "us-east-1", "lambda", day, ""},
    };
    const size_t n = sizeof cases / sizeof *cases;
    key_case ref[sizeof cases / sizeof *cases];
    for (size_t i = 0; i < n; i++) {
        ref[i] = cases[i];
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, sign_fresh, &ref[i]), 0); /* a fresh cache */
        pthread_join(t, NULL);
        assert_int_equal(strlen(ref[i].sig), 64);
    }
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++) {
            sign_fresh(&cases[i]); /* this thread: cache hits and misses in turn */
            assert_string_equal(cases[i].sig, ref[i].sig);
        }
    /* each case above differs from the one before it in one input; different inputs, different keys */
    for (size_t i = 1; i < 9; i++)
        assert_string_not_equal(ref[i - 1].sig, ref[i].sig);
    assert_string_equal(ref[1].sig, ref[3].sig);
    assert_string_equal(ref[0].sig, ref[8].sig);
    assert_string_equal(ref[0].sig, ref[9].sig);
}

/* Each thread hashes and signs with its own OpenSSL contexts (and signing-key cache): threads
 * signing different requests at the same time get what one thread alone gets. */
typedef struct full_case {
    const char *secret, *region, *body;
    time_t when;
    char auth[512];
} full_case;

static void sign_full(full_case *c)
{
    hdrs h = HDRS_INIT;
    hdrs_add(&h, "Host", "lambda.example.com");
    hdrs_add(&h, "Content-Type", "application/json");
    sigv4_params p = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = c->secret, .session_token = "tok",
                      .region = c->region, .service = "lambda", .when = c->when};
    sigv4_request r = {"POST", "/2015-03-31/functions/f/invocations", NULL, &h, c->body, strlen(c->body)};
    char err[128];
    assert_int_equal(sigv4_sign(&p, &r, err, sizeof err), 0);
    const char *a = hdrs_get(&h, "Authorization");
    assert_non_null(a);
    snprintf(c->auth, sizeof c->auth, "%s", a);
    hdrs_free(&h);
}

#define N_FULL 4

static void *sign_many(void *arg)
{
    full_case *mine = arg; /* N_FULL cases, a copy per thread, checked by the caller */
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < N_FULL; i++) {
            char before[512];
            memcpy(before, mine[i].auth, sizeof before);
            sign_full(&mine[i]);
            if (strcmp(before, mine[i].auth) != 0)
                return (void *)1;
        }
    return NULL;
}

static void test_concurrent_signing(void **state)
{
    (void)state;
    const full_case base[N_FULL] = {
        {"secretA", "us-east-1", "{\"a\":1}", 1440938160, ""},
        {"secretB", "us-east-1", "{\"a\":1}", 1440938160, ""},
        {"secretA", "eu-west-1", "{}", 1440938160 + 86400, ""},
        {"secretA", "us-east-1", "{\"a\":2}", 1440938160, ""},
    };
    full_case ref[N_FULL];
    memcpy(ref, base, sizeof ref);
    for (int i = 0; i < N_FULL; i++)
        sign_full(&ref[i]);
    for (int i = 1; i < N_FULL; i++)
        assert_string_not_equal(ref[i - 1].auth, ref[i].auth);
    full_case per[4][N_FULL];
    pthread_t t[4];
    for (int k = 0; k < 4; k++) {
        memcpy(per[k], ref, sizeof ref); /* each thread checks every signature against ref */
        assert_int_equal(pthread_create(&t[k], NULL, sign_many, per[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        void *bad = (void *)1;
        pthread_join(t[k], &bad);
        assert_null(bad);
    }
}

/* ------------------------------------------------------------------ main */

static int cmp_case(const void *a, const void *b)
{
    return strcmp(((const sig_case *)a)->name, ((const sig_case *)b)->name);
}

int main(void)
{
    DIR *d = opendir(SUITE_DIR);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", SUITE_DIR);
        return 1;
    }
    size_t n = 0, cap = 64;
    sig_case *cases = xcalloc(cap, sizeof *cases);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *dir = xasprintf("%s/%s", SUITE_DIR, e->d_name);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(dir);
            continue;
        }
        if (n == cap) {
            cap *= 2;
            cases = xrealloc(cases, cap * sizeof *cases);
        }
        cases[n].dir = dir;
        cases[n].name = xstrdup(e->d_name);
        n++;
    }
    closedir(d);
    qsort(cases, n, sizeof *cases, cmp_case);

    struct CMUnitTest *tests = xcalloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = &cases[i];
    }
    int failed = _cmocka_run_group_tests("sigv4_vectors", tests, n, NULL, NULL);
    printf("sigv4 test suite: %zu cases, %d passed, %d skipped, %d failed\n", n, n_passed, n_skipped, failed);

    const struct CMUnitTest more[] = {
        cmocka_unit_test(test_lambda_path_double_encoded),
        cmocka_unit_test(test_query_rules),
        cmocka_unit_test(test_sign_errors),
        cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_signing_key_cache),
        cmocka_unit_test(test_concurrent_signing),
    };
    failed += cmocka_run_group_tests_name("sigv4", more, NULL, NULL);

    for (size_t i = 0; i < n; i++) {
        free(cases[i].dir);
        free(cases[i].name);
    }
    free(cases);
    free(tests);
    if (n < 38) {
        fprintf(stderr, "expected the 38 cases of the suite, found %zu\n", n);
        return 1;
    }
    return failed ? 1 : 0;
}
