/* Tool-argument validation against a JSON Schema (drafts 4, 6, 7, 2019-09 and 2020-12, where
 * they agree).
 *
 * schema_validator_new() compiles the schema once: every subschema becomes an snode, $refs are
 * resolved to node pointers (local references only; anything that would need a fetch is
 * refused), regexes are compiled, enum/const texts for messages are rendered. The compiled
 * validator is immutable, so schema_validate() may run on any number of threads at once: it
 * never touches json-c state that is not read-only (no serialisation of schema values, no
 * reference counting), and all its scratch state lives on the caller's stack.
 *
 * Work is bounded: at most MAX_EVALS subschema evaluations per validation, MAX_FRAMES nested
 * evaluations, MAX_SAME_INSTANCE nested evaluations of one value, and a re-entered $ref that
 * makes no progress is detected. Each is reported as a violation, never as a crash. Patterns
 * (ECMA-262 translated to POSIX ERE for glibc's regcomp/regexec) are bounded too: no
 * backreferences (exponential), no repetition that would compile to a huge automaton, and the
 * length of the strings an unanchored pattern searches (PATTERN_* below).
 *
 * Dialect notes (the root "$schema" decides; none or an unknown one means 2020-12, MCP's
 * default): draft 4..7 ignore the siblings of "$ref"; "id" is the identifier keyword in draft 4.
 * exclusiveMinimum/exclusiveMaximum are draft-4 modifiers when boolean, bounds when numbers.
 * "items" as an array (with "additionalItems") and "prefixItems" (with "items") both work in
 * every dialect, as do "dependencies" and "dependentRequired"/"dependentSchemas", and
 * unevaluatedProperties/unevaluatedItems (in draft 4..7 too, except beside a "$ref"). "format"
 * and the other annotations are ignored. The OpenAPI 3.0 "nullable": true is honoured (adds null
 * to "type") for schemas converted half-way. $dynamicRef/$recursiveRef are resolved statically
 * like $ref (no dynamic scope: a $dynamicAnchor overridden by an outer resource is not seen).
 *
 * In patterns \s and \S are ASCII white space ([[:space:]] in the C locale): ECMA-262 also counts
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF, but spelling
 * them out as UTF-8 alternatives made regexec 4x slower on ^\S{1,256}$ and 33x on ^[\w\s]{1,250}$
 * (and such counts would then exceed PATTERN_EXPANSION_MAX), so a string with U+00A0 passes ^\S+$.
 * For the same reason "." also matches U+2028 and U+2029 (ECMA-262 excludes them): spelling that
 * out (lead byte 0xE2 split three ways) would take "." from 22 bytes of ERE to 47, and put
 * ^.{1,1000}$ past PATTERN_EXPANSION_MAX (counts up to 1562 compile today). glibc lets "^" match
 * right after an atom that matched "\n", and "$" right before one ("\n^" and "a$\n" match "\n"
 * and "a\n"; in ECMA-262 they never match), and one inside a repeated group matches inside the
 * string ((^a){2} and (a$){2} match "aa"); anchors at the ends of the pattern or of an
 * alternative outside a repeated group are not affected.
 *
 * unevaluatedProperties/unevaluatedItems look at what the subschemas applied to the same value
 * evaluated (JSON Schema 2020-12 core 11.2/11.3): properties, patternProperties,
 * additionalProperties, prefixItems, items (and the array form with additionalItems), contains
 * (2020-12 only: not in 2019-09) and nested unevaluated*, through $ref, allOf, anyOf (every
 * alternative that matches), oneOf, if/then/else (if counts when it matches, even without
 * then/else), dependentSchemas/dependencies; not "not", and only from subschemas that match. The
 * compiler marks the nodes that can be reached that way from one with unevaluated* (snode.track);
 * only those are evaluated by eval_tracked, which records the evaluated members in a bitmap on
 * the validating thread's stack (the heap past 128 members); every other node is evaluated
 * exactly as before, by the same code with the recording compiled away. */
#include "config.h"
#include "tools/schema.h"

#include <math.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"

#define MAX_EVALS 1000000u       /* subschema evaluations per validation (an array of 100,001
                                    numbers took 100,002: refused as unchecked at 100,000) */
#define MAX_FRAMES 256u          /* nested evaluations (the worker stacks are 256 KiB) */
/* patterns: translation length x largest {m,n} count above this is not compiled (memory), nor
 * one whose quantified atoms regcomp copies that many bytes more than the translation (below) */
#define PATTERN_EXPANSION_MAX 50000.0
#define PATTERN_GROUP_DEPTH 100 /* groups nested deeper are not compiled (regcomp recurses) */
/* loops whose body matches "" (copies counted): regcomp's time grows exponentially with them;
   ^(((a?)*){0,3}){0,3}$ (9) took 14 ms, ^(((a?)*){0,4}){0,4}$ (16) 5 s */
#define PATTERN_EMPTY_LOOPS 10.0
/* groups that match "" in the automaton, copies made by counts included: regcomp's memory and
   time grow with the cube of them and more: ^(a?){64}$ took 4 MB, {100} 9 MB, {200} 50 MB, {400}
   359 MB and 8 s, {1000} 5.3 GB and 317 s; ^(a?){64}(b?){64}$ 47 MB; ten such groups in a group
   repeated {100} 313 MB and 3.6 s (found by fuzzing) */
#define PATTERN_EMPTY_COPIES 100.0
/* A string matched against a pattern: at most this many bytes. glibc's regexec is linear in the
 * string for a pattern anchored at its start, but searches an unanchored one from every position
 * (quadratic: [^@]+@[^@]+\.[^@]+ took 28 s on 100 KB), so those get less, and a validation feeds
 * them at most PATTERN_UNANCHORED_BUDGET bytes in all. A longer string is refused as unchecked. */
#define PATTERN_SUBJECT_MAX (1024u * 1024u)
#define PATTERN_UNANCHORED_MAX 4096u
#define PATTERN_UNANCHORED_BUDGET (64u * 1024u)
#define MAX_SAME_INSTANCE 64u    /* nested evaluations of the same value */
#define MAX_REPORT_LINES 20u
#define MAX_WARNINGS 8u
#define ENUM_TEXT_MAX 300u

/* ------------------------------------------------------------------ text (util/buf.h) */

/* A name inside a message: 'name', or a JSON string when quotes or control characters would
 * make the plain form ambiguous. */
static void append_name(buf *b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            buf_append_json_string(b, s, n);
            return;
        }
    }
    buf_append_char(b, '\'');
    buf_append(b, s, n);
    buf_append_char(b, '\'');
}

/* ------------------------------------------------------------------ arena (compiled schema) */

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
} ablock;

#define ABLOCK_HDR ((sizeof(ablock) + 15u) & ~(size_t)15u)

typedef struct arena {
    ablock *head;
} arena;

static void *arena_alloc(arena *a, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (n == 0)
        n = 16;
    if (!a->head || a->head->cap - a->head->used < n) {
        /* blocks grow from 512 bytes to 16 KB: most tool schemas compile into a few hundred
           bytes, and an account can hold thousands of them */
        size_t cap = a->head ? a->head->cap * 2 : 512;
        if (cap > 16384)
            cap = 16384;
        if (cap < n)
            cap = n;
        ablock *blk = xmalloc(ABLOCK_HDR + cap);
        blk->next = a->head;
        blk->used = 0;
        blk->cap = cap;
        a->head = blk;
    }
    void *p = (char *)a->head + ABLOCK_HDR + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

static void arena_free(arena *a)
{
    while (a->head) {
        ablock *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

/* ------------------------------------------------------------------ numbers */

enum { NK_INT, NK_UINT, NK_DBL };

typedef struct num {
    int k;
    int64_t i;     /* NK_INT */
    uint64_t u;    /* NK_UINT: values above INT64_MAX */
    double d;      /* NK_DBL */
} num;

static bool is_number(json_object *o)
{
    json_type t = json_object_get_type(o);
    return t == json_type_int || t == json_type_double;
}

static num num_of(json_object *o)
{
    num n = {NK_INT, 0, 0, 0.0};
    if (json_object_get_type(o) == json_type_double) {
        n.k = NK_DBL;
        n.d = json_object_get_double(o);
        return n;
    }
    n.i = json_object_get_int64(o);
    if (n.i == INT64_MAX) {
        uint64_t u = json_object_get_uint64(o);
        if (u > (uint64_t)INT64_MAX) {
            n.k = NK_UINT;
            n.u = u;
        }
    }
    return n;
}

static int cmp3(double a, double b) { return a < b ? -1 : a > b ? 1 : 0; }

/* i <=> d, exactly. */
static int cmp_int_dbl(int64_t i, double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return cmp3(0.0, d - t);
}

static int cmp_uint_dbl(uint64_t u, double d)
{
    if (isnan(d))
        return 0;
    if (d >= 18446744073709551616.0)
        return -1;
    if (d < 9223372036854775808.0)
        return 1;
    double t = trunc(d);
    uint64_t tu = (uint64_t)t;
    if (u != tu)
        return u < tu ? -1 : 1;
    return cmp3(0.0, d - t);
}

static int num_cmp(const num *a, const num *b)
{
    if (a->k == NK_DBL && b->k == NK_DBL)
        return cmp3(a->d, b->d);
    if (a->k == NK_DBL)
        return -num_cmp(b, a);
    /* a is an integer */
    if (b->k == NK_DBL)
        return a->k == NK_INT ? cmp_int_dbl(a->i, b->d) : cmp_uint_dbl(a->u, b->d);
    if (a->k == NK_UINT && b->k == NK_UINT)
        return a->u < b->u ? -1 : a->u > b->u;
    if (a->k == NK_UINT)
        return 1;
    if (b->k == NK_UINT)
        return -1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static bool dbl_integral(double d) { return isfinite(d) && d == floor(d); }

/* The shortest text that reads back as the same double. A normal double is within half a unit
 * of the 15th digit of any decimal of 15 digits or fewer that reads back as it, so %.15g is that
 * decimal; a subnormal one has fewer bits: 5e-324 is 4.94065645841247e-324 at 15 digits (then
 * multipleOf took 5e-310 for 4.99999999999998e-310, not a multiple of 1e-310), so it starts at 1. */
static void dbl_fmt(double d, char *out, size_t n)
{
    for (int p = fpclassify(d) == FP_SUBNORMAL ? 1 : 15; p <= 17; p++) {
        snprintf(out, n, "%.*g", p, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

static void num_fmt(const num *n, char *out, size_t len)
{
    if (n->k == NK_INT)
        snprintf(out, len, "%lld", (long long)n->i);
    else if (n->k == NK_UINT)
        snprintf(out, len, "%llu", (unsigned long long)n->u);
    else
        dbl_fmt(n->d, out, len);
}

/* A number as a decimal m * 10^e (m without trailing zeros). */
typedef struct dec {
    uint64_t m;
    int e;
} dec;

static bool dec_of(const num *n, dec *out)
{
    out->e = 0;
    if (n->k == NK_INT) {
        out->m = n->i < 0 ? (uint64_t)(-(n->i + 1)) + 1u : (uint64_t)n->i;
    } else if (n->k == NK_UINT) {
        out->m = n->u;
    } else {
        if (!isfinite(n->d))
            return false;
        char txt[40];
        dbl_fmt(n->d, txt, sizeof txt);
        const char *p = txt;
        if (*p == '-' || *p == '+')
            p++;
        uint64_t m = 0;
        int digits = 0, frac = 0;
        bool seen_point = false;
        for (; *p && *p != 'e' && *p != 'E'; p++) {
            if (*p == '.') {
                seen_point = true;
                continue;
            }
            if (*p < '0' || *p > '9')
                return false;
            if (digits >= 19)
                return false;
            if (m || *p != '0')
                digits++;
            m = m * 10u + (uint64_t)(*p - '0');
            if (seen_point)
                frac++;
        }
        long e = 0;
        if (*p == 'e' || *p == 'E')
            e = strtol(p + 1, NULL, 10);
        out->m = m;
        out->e = (int)(e - frac);
    }
    if (out->m == 0) {
        out->e = 0;
        return true;
    }
    while (out->m % 10u == 0) {
        out->m /= 10u;
        out->e++;
    }
    return true;
}

static uint64_t addmod(uint64_t x, uint64_t y, uint64_t m) { return x >= m - y ? x - (m - y) : x + y; }

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    uint64_t r = 0;
    a %= m;
    while (b) {
        if (b & 1u)
            r = addmod(r, a, m);
        a = addmod(a, a, m);
        b >>= 1;
    }
    return r;
}

static uint64_t powmod10(unsigned e, uint64_t m)
{
    uint64_t r = 1u % m, base = 10u % m;
    while (e) {
        if (e & 1u)
            r = mulmod(r, base, m);
        base = mulmod(base, base, m);
        e >>= 1;
    }
    return r;
}

/* A divisor prepared at compile time: its decimal form and, for m = mm * 10^-k with k <= 22,
 * the exact double 10^k. */
typedef struct mdiv {
    bool dec_ok;
    dec d;
    double scale; /* 0: no fast path */
} mdiv;

static mdiv mdiv_of(const num *m)
{
    mdiv r = {false, {0, 0}, 0.0};
    r.dec_ok = dec_of(m, &r.d);
    if (r.dec_ok && r.d.m && r.d.e < 0 && r.d.e >= -22) {
        r.scale = 1.0;
        for (int i = 0; i < -r.d.e; i++)
            r.scale *= 10.0; /* exact up to 1e22 */
    }
    return r;
}

/* x is a multiple of m (m > 0). Integers are exact; other numbers are compared as the decimals
 * they were written as (their shortest round-trip text), so 19.99 is a multiple of 0.01. */
static bool num_multiple_of(const num *x, const num *m, const mdiv *md)
{
    if (x->k == NK_DBL && md->scale != 0.0 && isfinite(x->d)) {
        /* Fast and exact: T = x * 10^k rounded; when T / 10^k gives x back (a correctly rounded
         * division of exact operands), T * 10^-k is the one decimal with k fraction digits that
         * reads as x (|T| < 2^52: x's rounding interval, one ulp <= 2^-52 |x| wide, is narrower
         * than the 10^-k between such decimals), hence x's shortest text; and x is a multiple
         * exactly when T is a multiple of m's digits. */
        double y = x->d * md->scale;
        if (fabs(y) < 4503599627370496.0) {
            double t = nearbyint(y);
            if (t / md->scale == x->d) {
                uint64_t at = (uint64_t)fabs(t);
                return at % md->d.m == 0;
            }
        }
    }
    if (x->k != NK_DBL && m->k != NK_DBL) {
        uint64_t ax = x->k == NK_INT ? (x->i < 0 ? (uint64_t)(-(x->i + 1)) + 1u : (uint64_t)x->i) : x->u;
        uint64_t am = m->k == NK_INT ? (uint64_t)m->i : m->u;
        return am == 0 || ax % am == 0;
    }
    dec dx, dm = md->d;
    if (md->dec_ok && dec_of(x, &dx)) {
        if (dx.m == 0 || dm.m == 0)
            return true;
        if (dx.e >= dm.e)
            return mulmod(dx.m, powmod10((unsigned)(dx.e - dm.e), dm.m), dm.m) == 0;
        int d = dm.e - dx.e;
        if (d > 19)
            return false;
        uint64_t den = dm.m;
        for (int k = 0; k < d; k++) {
            if (den > UINT64_MAX / 10u)
                return false;
            den *= 10u;
        }
        return dx.m % den == 0;
    }
    double xd = x->k == NK_DBL ? x->d : x->k == NK_INT ? (double)x->i : (double)x->u;
    double mv = m->k == NK_DBL ? m->d : m->k == NK_INT ? (double)m->i : (double)m->u;
    double q = xd / mv;
    if (!isfinite(q))
        return false;
    return fabs(q - nearbyint(q)) <= 4 * DBL_EPSILON * fmax(1.0, fabs(q));
}

/* ------------------------------------------------------------------ JSON equality and hashing */

static bool json_eq(json_object *a, json_object *b)
{
    if (is_number(a) && is_number(b)) {
        num x = num_of(a), y = num_of(b);
        return num_cmp(&x, &y) == 0;
    }
    json_type ta = json_object_get_type(a);
    if (ta != json_object_get_type(b))
        return false;
    switch (ta) {
    case json_type_null:
        return true;
    case json_type_boolean:
        return !json_object_get_boolean(a) == !json_object_get_boolean(b);
    case json_type_string: {
        int la = json_object_get_string_len(a);
        return la == json_object_get_string_len(b) &&
               memcmp(json_object_get_string(a), json_object_get_string(b), (size_t)la) == 0;
    }
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!json_eq(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return false;
        return true;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b))
            return false;
        struct json_object_iterator it = json_object_iter_begin(a), end = json_object_iter_end(a);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            json_object *bv;
            if (!json_object_object_get_ex(b, json_object_iter_peek_name(&it), &bv))
                return false;
            if (!json_eq(json_object_iter_peek_value(&it), bv))
                return false;
        }
        return true;
    }
    default:
        return false;
    }
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Consistent with json_eq: equal values hash equally (1 and 1.0 included). */
static uint64_t json_hash(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null:
        return 0x9e3779b97f4a7c15ULL;
    case json_type_boolean:
        return json_object_get_boolean(o) ? 0x1234567ULL : 0x7654321ULL;
    case json_type_int:
    case json_type_double: {
        num n = num_of(o);
        if (n.k == NK_UINT)
            return mix64(n.u);
        if (n.k == NK_INT)
            return n.i >= 0 ? mix64((uint64_t)n.i) : mix64(~(uint64_t)n.i ^ 0x5555ULL);
        if (dbl_integral(n.d) && n.d >= 0 && n.d < 18446744073709551616.0)
            return mix64((uint64_t)n.d);
        if (dbl_integral(n.d) && n.d < 0 && n.d >= -9223372036854775808.0)
            return mix64(~(uint64_t)(int64_t)n.d ^ 0x5555ULL);
        double d = n.d == 0 ? 0.0 : n.d;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return mix64(bits ^ 0xabcdefULL);
    }
    case json_type_string:
        return fnv1a(json_object_get_string(o), (size_t)json_object_get_string_len(o)) ^ 0x77ULL;
    case json_type_array: {
        uint64_t h = 0x3141592653ULL;
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            h = mix64(h * 31u + json_hash(json_object_array_get_idx(o, i)));
        return h;
    }
    case json_type_object: {
        uint64_t h = 0x2718281828ULL;
        struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *k = json_object_iter_peek_name(&it);
            h += mix64(fnv1a(k, strlen(k)) ^ json_hash(json_object_iter_peek_value(&it)));
        }
        return h;
    }
    }
    return 0;
}

/* ------------------------------------------------------------------ ECMA-262 patterns -> POSIX ERE */

/* regcomp sees bytes (patterns are compiled in the C locale, whatever the process's: see
 * compile_pattern); "one character" is spelled out as one ASCII byte or one UTF-8 sequence, or
 * quantifiers would count bytes. */
#define ERE_MB "[\xc0-\xff][\x80-\xbf]*"
#define ERE_NOT_ASCII "\x80-\xff"
#define ERE_NUL "[^\x01-\xff]"
#define ERE_NOTHING "\xff"
#define CP_MAX 0x10FFFFu

static void utf8_bytes(buf *o, unsigned cp)
{
    char u[4];
    buf_append(o, u, utf8_encode(cp, u));
}

/* One character; a multi-byte one is grouped so that a quantifier applies to all its bytes
 * (regcomp in the C locale sees bytes). */
static void ere_literal(buf *o, unsigned cp)
{
    if (cp == 0) { /* a pattern cannot hold NUL; the subject can (REG_STARTEND): the one byte not 1..255 */
        buf_append_str(o, ERE_NUL);
        return;
    }
    if (cp < 0x80) {
        if (strchr(".[]()*+?{}|^$\\", (int)cp) && cp)
            buf_append_char(o, '\\');
        buf_append_char(o, (char)cp);
        return;
    }
    buf_append_char(o, '(');
    utf8_bytes(o, cp);
    buf_append_char(o, ')');
}

static bool read_hex(const char *p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        int h = hex_digit((unsigned char)p[i]);
        if (h < 0)
            return false;
        v = v * 16u + (unsigned)h;
    }
    *out = v;
    return true;
}

/* One escaped character (after the backslash) that stands for a single character; *len is the
 * number of source bytes consumed after the backslash. */
static bool escape_char(const char *p, unsigned *cp, size_t *len)
{
    switch (*p) {
    case 'n': *cp = '\n'; *len = 1; return true;
    case 't': *cp = '\t'; *len = 1; return true;
    case 'r': *cp = '\r'; *len = 1; return true;
    case 'f': *cp = '\f'; *len = 1; return true;
    case 'v': *cp = '\v'; *len = 1; return true;
    case 'x':
        *len = 3;
        return read_hex(p + 1, 2, cp);
    case '0': /* NUL; "\01" is an octal escape, a syntax error with the u flag */
        *cp = 0;
        *len = 1;
        return !(p[1] >= '0' && p[1] <= '9');
    case 'c': /* a control character: \cJ is U+000A */
        *len = 2;
        if (!((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')))
            return false;
        *cp = (unsigned)p[1] % 32u;
        return true;
    case 'u':
        if (p[1] == '{') { /* \u{1F600} (ECMA-262 with the u flag) */
            unsigned v = 0;
            size_t n = 0;
            for (int h; n < 6 && (h = hex_digit((unsigned char)p[2 + n])) >= 0; n++)
                v = v * 16u + (unsigned)h;
            *len = 3 + n;
            *cp = v;
            return n > 0 && p[2 + n] == '}' && v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF);
        }
        *len = 5;
        if (!read_hex(p + 1, 4, cp))
            return false;
        if (*cp >= 0xD800 && *cp <= 0xDBFF) { /* a surrogate pair: \uD83D\uDE00 is U+1F600 */
            unsigned lo;
            if (p[5] != '\\' || p[6] != 'u' || !read_hex(p + 7, 4, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return false;
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
            *len = 11;
            return true;
        }
        return *cp < 0xD800 || *cp > 0xDFFF;
    default:
        if (*p && strchr("^$\\.*+?()[]{}|/-,:=!<>'\"#%&;@`~ _", *p)) {
            *cp = (unsigned char)*p;
            *len = 1;
            return true;
        }
        return false;
    }
}

/* The code point of the UTF-8 sequence at p and its length; 0 when p holds none (the schema's
 * text is valid UTF-8: the JSON parser checked it). */
static size_t cp_at(const char *p, unsigned *cp)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t len = utf8_seq_len(u, strnlen(p, 4), NULL);
    static const unsigned lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    if (!len)
        return 0;
    unsigned v = u[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++)
        v = v << 6 | (u[i] & 0x3Fu);
    *cp = v;
    return len;
}

/* A character class as a sorted list of disjoint code point ranges. */
typedef struct cp_set {
    struct cp_range {
        unsigned lo, hi;
    } *r;
    size_t n, cap;
} cp_set;

static void cps_add(cp_set *s, unsigned lo, unsigned hi)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->r = xrealloc(s->r, s->cap * sizeof *s->r);
    }
    s->r[s->n].lo = lo;
    s->r[s->n].hi = hi;
    s->n++;
}

static int cps_cmp(const void *a, const void *b)
{
    const struct cp_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted, overlapping and adjacent ranges merged. */
static void cps_normalize(cp_set *s)
{
    if (!s->n)
        return;
    qsort(s->r, s->n, sizeof *s->r, cps_cmp);
    size_t k = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->r[i].lo <= s->r[k].hi + 1) {
            if (s->r[i].hi > s->r[k].hi)
                s->r[k].hi = s->r[i].hi;
        } else {
            s->r[++k] = s->r[i];
        }
    }
    s->n = k + 1;
}

/* Every code point up to U+10FFFF not in s (NUL included: regexec sees the whole string, REG_STARTEND). */
static void cps_complement(cp_set *s)
{
    cps_normalize(s);
    cp_set c = {0};
    unsigned next = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].lo > next)
            cps_add(&c, next, s->r[i].lo - 1);
        if (s->r[i].hi + 1 > next)
            next = s->r[i].hi + 1;
    }
    if (next <= CP_MAX)
        cps_add(&c, next, CP_MAX);
    free(s->r);
    *s = c;
}

/* \d, \w, \s and their negations (ECMA-262's, but \s ASCII only: see the comment at the top) */
static void cps_add_class(cp_set *s, char e)
{
    cp_set c = {0};
    switch (e == 'D' ? 'd' : e == 'W' ? 'w' : e == 'S' ? 's' : e) {
    case 'd': cps_add(&c, '0', '9'); break;
    case 'w': cps_add(&c, '0', '9'), cps_add(&c, 'A', 'Z'), cps_add(&c, '_', '_'), cps_add(&c, 'a', 'z'); break;
    default: cps_add(&c, '\t', '\r'), cps_add(&c, ' ', ' '); break; /* [[:space:]] in the C locale */
    }
    if (e == 'D' || e == 'W' || e == 'S')
        cps_complement(&c);
    for (size_t i = 0; i < c.n; i++)
        cps_add(s, c.r[i].lo, c.r[i].hi);
    free(c.r);
}

/* Code points lo..hi (all encoded with as many bytes, no surrogate) as alternatives of UTF-8 byte
 * sequences, each byte a literal or a range: U+4E00..U+9FA5 is \xe4[\xb8-\xbf][\x80-\xbf] |
 * [\xe5-\xe8][\x80-\xbf][\x80-\xbf] | \xe9[\x80-\xbd][\x80-\xbf] | \xe9\xbe[\x80-\xa5]. The range
 * is split until, at every byte, the bytes of lo and hi either agree or span every continuation. */
static void utf8_alternatives(buf *o, unsigned lo, unsigned hi)
{
    static const unsigned last[] = {0x7F, 0x7FF, 0xFFFF};
    for (size_t i = 0; i < sizeof last / sizeof *last; i++)
        if (lo <= last[i] && hi > last[i]) { /* by encoded length first */
            utf8_alternatives(o, lo, last[i]);
            utf8_alternatives(o, last[i] + 1, hi);
            return;
        }
    for (int i = 1; i < 4; i++) {
        unsigned m = (1u << (6 * i)) - 1;
        if ((lo & ~m) == (hi & ~m))
            continue;
        if (lo & m) {
            utf8_alternatives(o, lo, lo | m);
            utf8_alternatives(o, (lo | m) + 1, hi);
            return;
        }
        if ((hi & m) != m) {
            utf8_alternatives(o, lo, (hi & ~m) - 1);
            utf8_alternatives(o, hi & ~m, hi);
            return;
        }
    }
    char a[4], b[4];
    size_t len = utf8_encode(lo, a);
    (void)utf8_encode(hi, b);
    buf_append_char(o, '|');
    for (size_t k = 0; k < len; k++) {
        if (a[k] == b[k]) {
            buf_append_char(o, a[k]);
        } else {
            buf_append_char(o, '[');
            buf_append_char(o, a[k]);
            buf_append_char(o, '-');
            buf_append_char(o, b[k]);
            buf_append_char(o, ']');
        }
    }
}

/* The ASCII members of s as a POSIX bracket expression: ']' first, '[' '^' '-' last, no range
 * bounded by one of them. A pattern cannot name NUL, so a set with NUL is written as the
 * complement, "[^...]" (with the non-ASCII bytes, handled by the caller), and one without as its
 * members. Nothing is appended when there is no ASCII member. */
static void ascii_bracket(buf *o, const cp_set *s)
{
    if (!s->n || s->r[0].lo >= 0x80) /* sorted: the first range holds the smallest member */
        return;
    bool in[128] = {false};
    for (size_t i = 0; i < s->n && s->r[i].lo < 0x80; i++)
        for (unsigned c = s->r[i].lo; c <= s->r[i].hi && c < 0x80; c++)
            in[c] = true;
    bool neg = in[0];
    if (neg) /* list the complement */
        for (int c = 1; c < 128; c++)
            in[c] = !in[c];
    bool rb = in[']'], lb = in['['], caret = in['^'], dash = in['-'];
    in[']'] = in['['] = in['^'] = in['-'] = false;
    buf body = BUF_INIT;
    for (int c = 1; c < 128;) {
        if (!in[c]) {
            c++;
            continue;
        }
        int d = c;
        while (d + 1 < 128 && in[d + 1])
            d++;
        buf_append_char(&body, (char)c);
        if (d > c + 1)
            buf_append_char(&body, '-');
        if (d > c)
            buf_append_char(&body, (char)d);
        c = d + 1;
    }
    if (!neg && !rb && !lb && !body.len && caret && !dash) {
        buf_append_str(o, "\\^");
    } else {
        buf_append_str(o, neg ? "[^" : "[");
        if (rb)
            buf_append_char(o, ']');
        if (dash && !neg && !rb && !body.len && !lb) {
            buf_append_char(o, '-'); /* "[-^]": the dash first keeps the caret literal */
            dash = false;
        }
        buf_append(o, body.data, body.len);
        if (lb)
            buf_append_char(o, '[');
        if (caret)
            buf_append_char(o, '^');
        if (neg)
            buf_append_str(o, ERE_NOT_ASCII); /* bytes of multi-byte characters: the caller's */
        if (dash)
            buf_append_char(o, '-');
        buf_append_char(o, ']');
    }
    free(body.data);
}

/* The bracket expression starting after '['; *pp is left after the closing ']'. The class is
 * gathered as code points (negation, \D \W \S and non-ASCII ranges included), then written as a
 * bracket expression for its ASCII members and UTF-8 alternatives for the others:
 * "[a-zé]" -> "([a-z]|\xc3\xa9)", "[^é]" -> "([^\x80-\xff]|\xc2[\x80-\xbf]|...)". */
static bool ere_bracket(buf *o, const char **pp, char *why, size_t whylen)
{
    const char *p = *pp;
    bool neg = false;
    cp_set s = {0};
    if (*p == '^') {
        neg = true;
        p++;
    }
    while (*p && *p != ']') {
        unsigned cp;
        if (*p == '\\') {
            char e = p[1];
            if (e && strchr("dDwWsS", e)) {
                cps_add_class(&s, e);
                p += 2;
                continue; /* a '-' after a class is a literal dash */
            }
            if (e == 'b') {
                cp = '\b';
                p += 2;
            } else {
                size_t len;
                if (!escape_char(p + 1, &cp, &len)) {
                    snprintf(why, whylen, "unsupported escape \\%c", e ? e : ' ');
                    goto fail;
                }
                p += 1 + len;
            }
        } else {
            size_t len = cp_at(p, &cp);
            if (!len) {
                snprintf(why, whylen, "invalid UTF-8 in a character class");
                goto fail;
            }
            p += len;
        }
        if (*p == '-' && p[1] && p[1] != ']') { /* a range */
            p++;
            unsigned hi;
            if (*p == '\\') {
                size_t len;
                if (!escape_char(p + 1, &hi, &len)) {
                    snprintf(why, whylen, "unsupported range end in a character class");
                    goto fail;
                }
                p += 1 + len;
            } else {
                size_t len = cp_at(p, &hi);
                if (!len) {
                    snprintf(why, whylen, "invalid UTF-8 in a character class");
                    goto fail;
                }
                p += len;
            }
            if (hi < cp) {
                snprintf(why, whylen, "range out of order in a character class");
                goto fail;
            }
            cps_add(&s, cp, hi);
            continue;
        }
        cps_add(&s, cp, cp);
    }
    if (*p != ']') {
        snprintf(why, whylen, "unterminated character class");
        goto fail;
    }
    *pp = p + 1;
    if (neg)
        cps_complement(&s); /* [^] is every character */
    else
        cps_normalize(&s);
    if (!s.n) { /* [] (or [^\s\S]) matches nothing: a byte no UTF-8 text holds */
        buf_append_str(o, ERE_NOTHING);
        free(s.r);
        return true;
    }
    buf br = BUF_INIT, mb = BUF_INIT;
    ascii_bracket(&br, &s);
    bool all_mb = s.r[s.n - 1].hi == CP_MAX; /* every non-ASCII character (ranges are merged) */
    all_mb = all_mb && s.r[s.n - 1].lo <= 0x80;
    if (all_mb) {
        buf_append_str(&mb, "|" ERE_MB);
    } else {
        for (size_t i = 0; i < s.n; i++) {
            unsigned lo = s.r[i].lo < 0x80 ? 0x80 : s.r[i].lo, hi = s.r[i].hi;
            if (lo > hi)
                continue;
            if (lo < 0xD800) /* surrogates have no UTF-8 */
                utf8_alternatives(&mb, lo, hi < 0xD800 ? hi : 0xD7FF);
            if (hi > 0xDFFF)
                utf8_alternatives(&mb, lo > 0xE000 ? lo : 0xE000, hi);
        }
    }
    if (mb.len) {
        buf_append_char(o, '(');
        buf_append(o, br.data, br.len);
        buf_append(o, mb.data + (br.len ? 0 : 1), mb.len - (br.len ? 0 : 1)); /* no leading '|' without a bracket */
        buf_append_char(o, ')');
    } else {
        buf_append(o, br.data, br.len);
    }
    free(br.data);
    free(mb.data);
    free(s.r);
    return true;
fail:
    free(s.r);
    return false;
}

/* Translate an ECMA-262 pattern into a POSIX extended regular expression, or NULL with why. */
/* What regcomp builds for a pattern, estimated in bytes of the translation: glibc copies a
 * quantified atom (x+ is x x*, x{m,n} is n copies), so a quantifier on a quantified atom, or on
 * a group holding one, multiplies: ((x+)+)+... and x++++... doubled the automaton at each level
 * (found by fuzzing: 40 of them exhausted memory in regcomp).
 * Whether each atom can match the empty string is tracked too: regcomp's epsilon closures
 * explode on a '+' over such an atom nested a few deep (^(((((a?)+)+)+)+)+$ did not compile in
 * minutes), so a '+' or a {m,n} over an atom that matches "" is written as the same language
 * without the copies: X+ as X*, X{m,} as X*, X{m,n} as X{0,n} (with "" in X, X{m,n} holds every
 * X{k} for k <= n). What remains costly is a loop whose body matches "" ((a?)*, (a|b?)*)
 * copied by a count: ^((a?)*){0,20}$ did not compile either. Such loops are counted, copies
 * included, and a pattern with more than PATTERN_EMPTY_LOOPS of them is not compiled. So is one
 * with more than PATTERN_EMPTY_COPIES groups that match "", copies included ((a?){400}: 359 MB). */
typedef struct ere_cost {
    double alts;     /* the group's finished alternatives */
    double seq;      /* its current alternative */
    double last;     /* the last atom of that alternative (what a quantifier repeats) */
    bool alts_empty; /* a finished alternative matches "" */
    bool seq_empty;  /* the current alternative matches "" (so far) */
    bool prev_empty; /* ... without its last atom */
    bool last_empty; /* the last atom matches "" */
    double alts_loops, seq_loops, last_loops; /* loops over a body that matches "" */
    double alts_nul, seq_nul, last_nul;       /* groups that match "" (copies included) */
} ere_cost;

#define ERE_COST_INIT ((ere_cost){0, 0, 0, false, true, true, false, 0, 0, 0, 0, 0, 0})

static void cost_atom(ere_cost *c, double n, bool empty, double loops, double nul)
{
    c->seq_nul += nul;
    c->last_nul = nul;
    c->seq += n;
    c->last = n;
    c->prev_empty = c->seq_empty;
    c->seq_empty = c->prev_empty && empty;
    c->last_empty = empty;
    c->seq_loops += loops;
    c->last_loops = loops;
}

/* The last atom repeated: copies of it in the automaton; star: it loops (an unbounded count). */
static void cost_repeat(ere_cost *c, double copies, bool empty, bool star)
{
    double loops = c->last_loops * (copies > 1 ? copies : 1) + (star && c->last_empty ? 1 : 0);
    c->seq_loops += loops - c->last_loops;
    c->last_loops = loops;
    double nul = c->last_nul * (copies > 1 ? copies : 1);
    c->seq_nul += nul - c->last_nul;
    c->last_nul = nul;
    if (copies > 1) {
        c->seq += c->last * (copies - 1);
        c->last *= copies;
    }
    c->last_empty = empty;
    c->seq_empty = c->prev_empty && empty;
}

static char *ecma_to_ere(const char *src, char *why, size_t whylen)
{
    buf o = BUF_INIT;
    const char *p = src;
    unsigned long max_count = 0; /* the largest {m,n} count */
    ere_cost cost[PATTERN_GROUP_DEPTH + 1];
    int depth = 0;
    cost[0] = ERE_COST_INIT;
    buf_append_str(&o, "");
    while (*p) {
        char c = *p;
        size_t o_before = o.len;
        bool atom = true; /* what this step appended is an atom (a quantifier may repeat it) */
        if (c == '\\') {
            char e = p[1];
            const char *rep = NULL;
            switch (e) {
            case 'd': rep = "[0-9]"; break;
            case 'D': rep = "([^0-9" ERE_NOT_ASCII "]|" ERE_MB ")"; break;
            case 'w': rep = "[A-Za-z0-9_]"; break;
            case 'W': rep = "([^A-Za-z0-9_" ERE_NOT_ASCII "]|" ERE_MB ")"; break;
            case 's': rep = "[[:space:]]"; break;
            case 'S': rep = "([^[:space:]" ERE_NOT_ASCII "]|" ERE_MB ")"; break;
            case 'b': rep = "\\b"; break;
            case 'B': rep = "\\B"; break;
            default: break;
            }
            if (rep) {
                buf_append_str(&o, rep);
                p += 2;
                cost_atom(&cost[depth], (double)strlen(rep), e == 'b' || e == 'B', 0, 0);
                continue;
            }
            if ((e >= '1' && e <= '9') || e == 'k') {
                /* POSIX backreferences make matching exponential in the value's length (a client
                   could hold a worker for minutes), and the groups this translation adds would
                   shift their numbers anyway */
                snprintf(why, whylen, "backreferences are not supported");
                goto fail;
            }
            unsigned cp;
            size_t len;
            if (!e || !escape_char(p + 1, &cp, &len)) {
                snprintf(why, whylen, e ? "unsupported escape \\%c" : "trailing backslash", e);
                goto fail;
            }
            ere_literal(&o, cp);
            p += 1 + len;
        } else if (c == '[') {
            p++;
            if (!ere_bracket(&o, &p, why, whylen))
                goto fail;
        } else if (c == '(') {
            if (p[1] == '?') {
                if (p[2] == ':') {
                    p += 3;
                } else if (p[2] == '<' && p[3] != '=' && p[3] != '!') {
                    const char *gt = strchr(p, '>');
                    if (!gt) {
                        snprintf(why, whylen, "unterminated group name");
                        goto fail;
                    }
                    p = gt + 1;
                } else {
                    snprintf(why, whylen, "lookaround assertions are not supported");
                    goto fail;
                }
            } else {
                p++;
            }
            buf_append_char(&o, '(');
            if (depth == PATTERN_GROUP_DEPTH) {
                snprintf(why, whylen, "groups nested more than %d deep", PATTERN_GROUP_DEPTH);
                goto fail;
            }
            cost[++depth] = ERE_COST_INIT;
            continue;
        } else if (c == ')' && depth > 0) {
            buf_append_char(&o, ')');
            p++;
            double inner = cost[depth].alts + cost[depth].seq;
            bool empty = cost[depth].alts_empty || cost[depth].seq_empty;
            double loops = cost[depth].alts_loops + cost[depth].seq_loops;
            double nul = cost[depth].alts_nul + cost[depth].seq_nul + (empty ? 1 : 0);
            depth--;
            cost_atom(&cost[depth], inner + 2, empty, loops, nul);
            continue;
        } else if (c == '|') {
            buf_append_char(&o, '|');
            p++;
            cost[depth].alts += cost[depth].seq;
            cost[depth].alts_empty = cost[depth].alts_empty || cost[depth].seq_empty;
            cost[depth].seq = cost[depth].last = 0;
            cost[depth].alts_loops += cost[depth].seq_loops;
            cost[depth].seq_loops = cost[depth].last_loops = 0;
            cost[depth].alts_nul += cost[depth].seq_nul;
            cost[depth].seq_nul = cost[depth].last_nul = 0;
            cost[depth].seq_empty = cost[depth].prev_empty = true;
            cost[depth].last_empty = false;
            continue;
        } else if (c == '.') {
            buf_append_str(&o, "([^\n\r" ERE_NOT_ASCII "]|" ERE_MB ")");
            p++;
        } else if (c == '*' || c == '+' || c == '?') {
            bool empty = c != '+' || cost[depth].last_empty;
            buf_append_char(&o, c == '+' && empty ? '*' : c); /* X+ is X* when X matches "" */
            p++;
            if (*p == '?') /* lazy: the same set of matching strings */
                p++;
            cost_repeat(&cost[depth], c == '+' && !empty ? 2 : 1, empty, c != '?');
            atom = false;
        } else if (c == '{') {
            const char *q = p + 1;
            bool ok = *q >= '0' && *q <= '9';
            while (*q >= '0' && *q <= '9')
                q++;
            if (ok && *q == ',') {
                q++;
                while (*q >= '0' && *q <= '9')
                    q++;
            }
            if (ok && *q == '}') {
                unsigned long here = 0; /* this quantifier's largest count */
                for (const char *d = p + 1; d < q; d++) { /* the largest count (digits, saturating) */
                    unsigned long v = 0;
                    for (; d < q && *d >= '0' && *d <= '9'; d++) /* past every digit, also once saturated */
                        if (v < 1000000ul)
                            v = v * 10 + (unsigned long)(*d - '0');
                    if (v > here)
                        here = v;
                }
                if (here > max_count)
                    max_count = here;
                const char *comma = memchr(p, ',', (size_t)(q - p));
                bool min_zero = p[1] == '0' && (p[2] == ',' || p[2] == '}'), unbounded = q[-1] == ',';
                if (cost[depth].last_empty && !min_zero) {
                    /* X matches "": X{m,} is X*, X{m,n} is X{0,n}, X{m} is X{0,m} */
                    if (unbounded) {
                        buf_append_char(&o, '*');
                    } else {
                        buf_append_str(&o, "{0,");
                        const char *n = comma ? comma + 1 : p + 1;
                        buf_append(&o, n, (size_t)(q - n + 1));
                    }
                    cost_repeat(&cost[depth], unbounded ? 1 : (double)here, true, unbounded);
                } else {
                    /* {m,} is m copies and a starred one */
                    cost_repeat(&cost[depth], (double)here + (unbounded ? 1 : 0), min_zero, unbounded);
                    buf_append(&o, p, (size_t)(q - p + 1));
                }
                atom = false;
                p = q + 1;
                if (*p == '?')
                    p++;
            } else {
                buf_append_str(&o, "\\{"); /* Annex B: a brace that is not a quantifier is literal */
                p++;
            }
        } else if (c == '}' || c == ']') {
            buf_append_char(&o, '\\');
            buf_append_char(&o, c);
            p++;
        } else if ((unsigned char)c >= 0xC0) {
            /* a raw UTF-8 sequence: grouped, like an escaped one */
            size_t len = 1;
            while (((unsigned char)p[len] & 0xC0) == 0x80)
                len++;
            buf_append_char(&o, '(');
            buf_append(&o, p, len);
            buf_append_char(&o, ')');
            p += len;
        } else {
            buf_append_char(&o, c);
            p++;
        }
        if (atom) /* ^ and $ match no character */
            cost_atom(&cost[depth], (double)(o.len - o_before), c == '^' || c == '$', 0, 0);
    }
    /* regcomp copies a repeated atom once per count: with '.' or a class spelled out byte by
       byte, ^.{1,4096}$ took 272 MB and ^[^<>]{0,10000}$ 3 GB and 13 s. Bounded by a measure of
       the compiled size, the pattern's translation times its largest count. */
    if (max_count && (double)o.len * (double)max_count > PATTERN_EXPANSION_MAX) {
        snprintf(why, whylen, "a repetition count of %lu makes it too large to compile", max_count);
        goto fail;
    }
    double total = 0, loops = 0, nul = 0;
    for (int d = 0; d <= depth; d++) { /* groups left open: regcomp refuses them, but count them */
        total += cost[d].alts + cost[d].seq;
        loops += cost[d].alts_loops + cost[d].seq_loops;
        nul += cost[d].alts_nul + cost[d].seq_nul;
    }
    if (total > (double)o.len + PATTERN_EXPANSION_MAX) {
        snprintf(why, whylen, "nested repetitions make it too large to compile");
        goto fail;
    }
    if (nul > PATTERN_EMPTY_COPIES) {
        snprintf(why, whylen, "%.0f copies of groups that match empty text make it too costly to compile", nul);
        goto fail;
    }
    if (loops > PATTERN_EMPTY_LOOPS) {
        snprintf(why, whylen, "repeated loops over empty matches make it too costly to compile");
        goto fail;
    }
    return buf_steal(&o);
fail:
    free(o.data);
    return NULL;
}

/* ------------------------------------------------------------------ compiled schema */

enum { T_NULL = 1, T_BOOL = 2, T_OBJ = 4, T_ARR = 8, T_NUM = 16, T_INT = 32, T_STR = 64 };

typedef enum { D4 = 4, D6 = 6, D7 = 7, D2019 = 2019, D2020 = 2020 } dialect;

typedef struct snode snode;

typedef struct prop {
    const char *name; /* NULL: empty slot */
    uint64_t hash;
    snode *node;
} prop;

typedef struct pprop {
    regex_t *re; /* NULL: the pattern could not be compiled; names "match" but nothing applies */
    const char *src;
    snode *node;
} pprop;

typedef struct depreq {
    const char *name;
    const char **req;
    size_t nreq;
} depreq;

typedef struct depsch {
    const char *name;
    snode *node;
} depsch;

struct resource;

struct snode {
    const char *loc;       /* where it is, as "#/definitions/x" (for messages) */
    signed char boolean;   /* 1 true, 0 false, -1 a schema object */
    bool ref_only;         /* nothing but $ref to evaluate */
    bool track;            /* has unevaluated*, or is reached in place (same value) from one that
                              has: evaluated by eval_tracked, which records annotations */
    unsigned types;        /* 0: any */
    snode *ref;

    json_object **enum_vals;
    size_t nenum;
    const char *enum_txt;
    bool has_const;
    json_object *const_val;
    const char *const_txt;

    bool obj_kw, arr_kw, num_kw, str_kw;

    prop *ptab;            /* open addressing, ptab_mask + 1 slots */
    size_t ptab_mask, nprops;
    pprop *pprops;
    size_t npprops;
    snode *addl_props;
    snode *prop_names;
    const char **required;
    size_t nrequired;
    int64_t min_props, max_props;
    depreq *dreq;
    size_t ndreq;
    depsch *dsch;
    size_t ndsch;

    snode **prefix;
    size_t nprefix;
    snode *items;          /* items at index >= nprefix */
    int64_t min_items, max_items;
    bool unique;
    snode *contains;
    int64_t min_contains, max_contains;
    bool contains_ann;     /* the items contains matches count as evaluated (2020-12) */
    snode *uneval_props, *uneval_items;

    bool has_min, has_max, has_exmin, has_exmax, has_mult;
    num minimum, maximum, exmin, exmax, mult;
    mdiv mult_div;

    int64_t min_len, max_len;
    regex_t *pattern;
    const char *pattern_src;
    bool pattern_anchored; /* starts with ^ and has no alternation: matched in linear time */

    snode **all_of, **any_of, **one_of;
    size_t nall, nany, none;
    snode *not_s, *if_s, *then_s, *else_s;
    snode *if_alone;       /* "if" without then/else: only its annotations matter (track only) */

    /* compile-time only */
    json_object *js;
    struct resource *res;
    json_object *if_alone_js; /* compiled into if_alone once the node is known to track */
};

struct schema_validator {
    json_object *schema;
    snode *root;
    arena ar;
    regex_t **regexes;
    size_t nregex, capregex;
    json_object **held;
    size_t nheld, capheld;
    char *warnings;
};

/* ------------------------------------------------------------------ compiler */

typedef struct resource {
    char *abs;          /* absolute identifier without fragment, or NULL */
    char *raw;          /* as written, without fragment */
    json_object *obj;
} resource;

typedef struct anchor {
    char *name;
    json_object *obj;
    resource *res;
} anchor;

typedef struct memo_ent {
    json_object *key;
    snode *node;
} memo_ent;

typedef struct cctx {
    schema_validator *v;
    dialect d;
    memo_ent *memo;
    size_t memo_cap, memo_n;
    snode **work;
    size_t nwork, capwork;
    resource **res;
    size_t nres, capres;
    anchor *anch;
    size_t nanch, capanch;
    snode *true_node;
    snode **uneval;     /* the nodes with unevaluatedProperties/unevaluatedItems */
    size_t nuneval, capuneval;
    buf warn;
    size_t nwarn;
    char *err;
    size_t errlen;
    bool failed;
} cctx;

static void warnf(cctx *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(cctx *cc, const char *fmt, ...)
{
    cc->nwarn++;
    if (cc->nwarn > MAX_WARNINGS)
        return;
    if (cc->warn.len)
        buf_append_char(&cc->warn, '\n');
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&cc->warn, fmt, ap);
    va_end(ap);
}

static void failf(cctx *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(cctx *cc, const char *fmt, ...)
{
    if (cc->failed)
        return;
    cc->failed = true;
    if (cc->err && cc->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cc->err, cc->errlen, fmt, ap);
        va_end(ap);
    }
}

static void hold(schema_validator *v, json_object *o)
{
    if (!o)
        return;
    if (v->nheld == v->capheld) {
        v->capheld = v->capheld ? v->capheld * 2 : 16;
        v->held = xrealloc(v->held, v->capheld * sizeof *v->held);
    }
    v->held[v->nheld++] = json_object_get(o);
}

static json_object *kw(json_object *js, const char *name)
{
    json_object *o = NULL;
    return json_object_object_get_ex(js, name, &o) ? o : NULL;
}

static bool has_scheme(const char *s)
{
    const char *p = s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
           *p == '-' || *p == '.')
        p++;
    return *p == ':';
}

/* rel resolved against base (both without fragments); a simple RFC 3986 subset (5.2.2, then the
 * normalisation below: no percent-encoding normalisation). */
/* RFC 3986 normalisation of uri, in place: the scheme and the host in lower case (6.2.2.1:
 * "HTTPS://Example.COM/s.json" names what "https://example.com/s.json" names; the user
 * information, the path and the fragment keep their case), and 5.2.4 remove_dot_segments on
 * the path: "a/./b" -> "a/b", "a/b/../c" -> "a/c" ("http://x/a/../c.json" names what
 * "http://x/c.json" names). */
static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static char *remove_dots(char *uri)
{
    char *path = uri;
    char *colon = strchr(uri, ':');
    if (colon && has_scheme(uri)) {
        for (char *c = uri; c < colon; c++)
            *c = ascii_lower(*c);
        path = colon + 1;
    }
    if (path[0] == '/' && path[1] == '/') { /* the authority */
        char *end = path + 2 + strcspn(path + 2, "/?#");
        char *host = path + 2;
        for (char *c = host; c < end; c++)
            if (*c == '@')
                host = c + 1;
        for (char *c = host; c < end; c++)
            *c = ascii_lower(*c);
        path = end;
    }
    size_t plen = strcspn(path, "?#");
    char *rest = xstrdup(path + plen); /* query and fragment, kept as they are */
    char *out = path, *o = path;        /* the output never outruns the input */
    const char *in = path, *end = path + plen;
    bool abs = *in == '/';
    if (abs) {
        *o++ = '/';
        in++;
    }
    char *start = o;
    while (in < end) {
        const char *seg = in;
        while (in < end && *in != '/')
            in++;
        size_t n = (size_t)(in - seg);
        bool last = in >= end;
        if (in < end)
            in++; /* the '/' */
        if (n == 1 && seg[0] == '.') {
            continue;
        } else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (o > start) { /* drop the last output segment */
                o--;         /* its trailing '/' */
                while (o > start && o[-1] != '/')
                    o--;
            }
            continue;
        }
        memmove(o, seg, n);
        o += n;
        if (!last)
            *o++ = '/';
    }
    *o = '\0';
    (void)out;
    size_t rl = strlen(rest);
    memmove(o, rest, rl + 1);
    free(rest);
    return uri;
}

static char *uri_resolve_raw(const char *base, const char *rel);

static char *uri_resolve(const char *base, const char *rel) { return remove_dots(uri_resolve_raw(base, rel)); }

static char *uri_resolve_raw(const char *base, const char *rel)
{
    if (!base || has_scheme(rel))
        return xstrdup(rel);
    if (!*rel)
        return xstrdup(base);
    /* the base's query is replaced, never searched for the path's last '/' (RFC 3986 5.2.2) */
    size_t blen = strcspn(base, "?#");
    if (rel[0] == '?') /* the base's path with this query */
        return xasprintf("%.*s%s", (int)blen, base, rel);
    const char *colon = strchr(base, ':');
    const char *auth = colon && colon[1] == '/' && colon[2] == '/' ? colon + 3 : NULL;
    if (rel[0] == '/' && rel[1] == '/')
        return colon ? xasprintf("%.*s%s", (int)(colon - base + 1), base, rel) : xstrdup(rel);
    if (rel[0] == '/') {
        size_t keep = auth ? (size_t)(auth - base) + strcspn(auth, "/?#") : colon ? (size_t)(colon - base + 1) : 0;
        return xasprintf("%.*s%s", (int)keep, base, rel);
    }
    if (auth && (size_t)(auth - base) + strcspn(auth, "/?#") == blen) /* an authority, no path: */
        return xasprintf("%.*s/%s", (int)blen, base, rel);          /* "/" + rel (5.2.3) */
    size_t slash = blen;
    while (slash > 0 && base[slash - 1] != '/')
        slash--;
    if (!slash)
        return xstrdup(rel);
    return xasprintf("%.*s%s", (int)slash, base, rel);
}

static resource *resource_of_obj(cctx *cc, json_object *o)
{
    for (size_t i = 0; i < cc->nres; i++)
        if (cc->res[i]->obj == o)
            return cc->res[i];
    return NULL;
}

static resource *add_resource(cctx *cc, json_object *o, const char *raw, const resource *parent)
{
    if (cc->nres == cc->capres) {
        cc->capres = cc->capres ? cc->capres * 2 : 8;
        cc->res = xrealloc(cc->res, cc->capres * sizeof *cc->res);
    }
    resource *r = xcalloc(1, sizeof *r);
    r->obj = o;
    if (raw) {
        r->raw = xstrdup(raw);
        r->abs = uri_resolve(parent ? parent->abs : NULL, raw);
    } else if (parent && parent->abs) {
        r->abs = xstrdup(parent->abs);
    }
    cc->res[cc->nres++] = r;
    return r;
}

static void add_anchor(cctx *cc, const char *name, json_object *o, resource *r)
{
    if (cc->nanch == cc->capanch) {
        cc->capanch = cc->capanch ? cc->capanch * 2 : 8;
        cc->anch = xrealloc(cc->anch, cc->capanch * sizeof *cc->anch);
    }
    cc->anch[cc->nanch++] = (anchor){xstrdup(name), o, r};
}

static const char *id_of(cctx *cc, json_object *o)
{
    json_object *id = kw(o, "$id");
    if (!id && cc->d == D4)
        id = kw(o, "id");
    return json_object_get_type(id) == json_type_string ? json_object_get_string(id) : NULL;
}

typedef struct prescan_item {
    json_object *o;
    resource *r;
    bool names; /* a map whose keys are names (properties, $defs, ...) and values schemas */
} prescan_item;

typedef struct prescan_stack {
    prescan_item *v;
    size_t n, cap;
} prescan_stack;

/* Push a value that can hold schemas (an object or an array); scalars are skipped. */
static void prescan_push(prescan_stack *st, json_object *val, resource *r, bool names)
{
    json_type t = json_object_get_type(val);
    if (t != json_type_object && t != json_type_array)
        return;
    if (st->n == st->cap)
        st->v = xrealloc(st->v, (st->cap = st->cap ? st->cap * 2 : 64) * sizeof *st->v);
    st->v[st->n++] = (prescan_item){val, r, names && t == json_type_object};
}

/* Identifiers and anchors anywhere in the document (values of enum/const/default/examples are
 * data, not schemas). Iterative: the document may be deep. */
static void prescan(cctx *cc, json_object *root)
{
    prescan_stack st = {0};
    prescan_push(&st, root, NULL, false);
    while (st.n) {
        prescan_item it = st.v[--st.n];
        resource *r = it.r;
        if (it.names && json_object_get_type(it.o) == json_type_object) {
            /* every value is a schema, whatever its name ("default", "enum", "id" are names here) */
            struct json_object_iterator i = json_object_iter_begin(it.o), end = json_object_iter_end(it.o);
            for (; !json_object_iter_equal(&i, &end); json_object_iter_next(&i))
                prescan_push(&st, json_object_iter_peek_value(&i), r, false);
        } else if (json_object_get_type(it.o) == json_type_object) {
            const char *id = id_of(cc, it.o);
            if (id) {
                const char *hash = strchr(id, '#');
                size_t blen = hash ? (size_t)(hash - id) : strlen(id);
                if (blen || !r) {
                    char *raw = blen ? xstrndup(id, blen) : NULL;
                    r = add_resource(cc, it.o, raw, r);
                    free(raw);
                }
                if (hash && hash[1] && cc->d <= D7)
                    add_anchor(cc, hash + 1, it.o, r);
            } else if (!r) {
                r = add_resource(cc, it.o, NULL, NULL);
            }
            json_object *a = kw(it.o, "$anchor");
            if (json_object_get_type(a) == json_type_string)
                add_anchor(cc, json_object_get_string(a), it.o, r);
            a = kw(it.o, "$dynamicAnchor");
            if (json_object_get_type(a) == json_type_string)
                add_anchor(cc, json_object_get_string(a), it.o, r);
            struct json_object_iterator i = json_object_iter_begin(it.o), end = json_object_iter_end(it.o);
            for (; !json_object_iter_equal(&i, &end); json_object_iter_next(&i)) {
                const char *k = json_object_iter_peek_name(&i);
                if (!strcmp(k, "enum") || !strcmp(k, "const") || !strcmp(k, "default") || !strcmp(k, "examples") ||
                    !strcmp(k, "example"))
                    continue;
                bool names = !strcmp(k, "properties") || !strcmp(k, "patternProperties") || !strcmp(k, "$defs") ||
                             !strcmp(k, "definitions") || !strcmp(k, "dependentSchemas") || !strcmp(k, "dependencies");
                prescan_push(&st, json_object_iter_peek_value(&i), r, names);
            }
        } else if (json_object_get_type(it.o) == json_type_array) {
            size_t len = json_object_array_length(it.o);
            for (size_t i = 0; i < len; i++)
                prescan_push(&st, json_object_array_get_idx(it.o, i), r, false);
        }
    }
    free(st.v);
}

static size_t ptr_hash(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    return (size_t)mix64((uint64_t)x);
}

static snode *memo_get(cctx *cc, json_object *k)
{
    if (!cc->memo_cap)
        return NULL;
    for (size_t i = ptr_hash(k) & (cc->memo_cap - 1);; i = (i + 1) & (cc->memo_cap - 1)) {
        if (!cc->memo[i].key)
            return NULL;
        if (cc->memo[i].key == k)
            return cc->memo[i].node;
    }
}

static void memo_put(cctx *cc, json_object *k, snode *n)
{
    if ((cc->memo_n + 1) * 2 > cc->memo_cap) {
        size_t ncap = cc->memo_cap ? cc->memo_cap * 2 : 64;
        memo_ent *nm = xcalloc(ncap, sizeof *nm);
        for (size_t j = 0; j < cc->memo_cap; j++) {
            if (!cc->memo[j].key)
                continue;
            size_t i = ptr_hash(cc->memo[j].key) & (ncap - 1);
            while (nm[i].key)
                i = (i + 1) & (ncap - 1);
            nm[i] = cc->memo[j];
        }
        free(cc->memo);
        cc->memo = nm;
        cc->memo_cap = ncap;
    }
    size_t i = ptr_hash(k) & (cc->memo_cap - 1);
    while (cc->memo[i].key)
        i = (i + 1) & (cc->memo_cap - 1);
    cc->memo[i] = (memo_ent){k, n};
    cc->memo_n++;
}

static snode *new_node(cctx *cc, const char *loc)
{
    snode *n = arena_alloc(&cc->v->ar, sizeof *n);
    n->loc = arena_strdup(&cc->v->ar, loc);
    n->boolean = -1;
    n->min_props = n->max_props = -1;
    n->min_items = n->max_items = -1;
    n->min_contains = 1;
    n->max_contains = -1;
    n->min_len = n->max_len = -1;
    return n;
}

/* The node for a subschema, created on first sight and queued for compilation. */
static snode *get_node(cctx *cc, json_object *js, resource *r, const char *loc)
{
    json_type t = json_object_get_type(js);
    if (t != json_type_object && t != json_type_boolean) {
        warnf(cc, "%s is not a schema (expected an object or a boolean); it is ignored", loc);
        return cc->true_node;
    }
    snode *n = memo_get(cc, js);
    if (n)
        return n;
    n = new_node(cc, loc);
    n->js = js;
    memo_put(cc, js, n);
    if (t == json_type_boolean) {
        n->boolean = json_object_get_boolean(js) ? 1 : 0;
        return n;
    }
    resource *own = resource_of_obj(cc, js);
    n->res = own ? own : r;
    if (cc->nwork == cc->capwork) {
        cc->capwork = cc->capwork ? cc->capwork * 2 : 64;
        cc->work = xrealloc(cc->work, cc->capwork * sizeof *cc->work);
    }
    cc->work[cc->nwork++] = n;
    return n;
}

static void ptr_token(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '~')
            buf_append_str(b, "~0");
        else if (*s == '/')
            buf_append_str(b, "~1");
        else
            buf_append_char(b, *s);
    }
}

/* "<parent>/<kw>[/<key>|/<idx>]" */
static char *child_loc(const snode *parent, const char *k, const char *key, long idx)
{
    buf b = BUF_INIT;
    buf_append_str(&b, parent->loc);
    buf_append_char(&b, '/');
    ptr_token(&b, k);
    if (key) {
        buf_append_char(&b, '/');
        ptr_token(&b, key);
    } else if (idx >= 0) {
        buf_appendf(&b, "/%ld", idx);
    }
    return buf_steal(&b);
}

static snode *sub(cctx *cc, snode *parent, json_object *js, const char *k, const char *key, long idx)
{
    char *loc = child_loc(parent, k, key, idx);
    snode *n = get_node(cc, js, parent->res, loc);
    free(loc);
    return n;
}

static resource *find_resource(cctx *cc, const char *base, const resource *cur)
{
    char *abs = uri_resolve(cur ? cur->abs : NULL, base);
    resource *found = NULL;
    for (size_t i = 0; i < cc->nres && !found; i++) {
        resource *r = cc->res[i];
        if ((r->abs && (!strcmp(r->abs, abs) || !strcmp(r->abs, base))) || (r->raw && !strcmp(r->raw, base)))
            found = r;
    }
    free(abs);
    return found;
}

static snode *resolve_ref(cctx *cc, snode *from, const char *kwname, const char *ref)
{
    const char *hash = strchr(ref, '#');
    size_t blen = hash ? (size_t)(hash - ref) : strlen(ref);
    resource *r = from->res;
    if (blen) {
        char *base = xstrndup(ref, blen);
        resource *t = find_resource(cc, base, from->res);
        if (!t) {
            if (has_scheme(base))
                failf(cc, "unresolvable %s \"%s\" at %s: remote references are not fetched", kwname, ref, from->loc);
            else
                failf(cc, "unresolvable %s \"%s\" at %s: it refers to another document, which is not fetched",
                      kwname, ref, from->loc);
            free(base);
            return NULL;
        }
        free(base);
        r = t;
    }
    const char *frag_raw = hash ? hash + 1 : "";
    char *frag = uri_decode(frag_raw, strlen(frag_raw));
    json_object *target = r->obj;
    resource *tres = r;
    const char *problem = NULL;
    if (frag[0] == '/') {
        char *p = frag + 1;
        for (;;) {
            char *slash = strchr(p, '/');
            if (slash)
                *slash = '\0';
            /* unescape ~1 and ~0 in place */
            char *w = p;
            for (char *s = p; *s; s++) {
                if (*s == '~' && s[1] == '1') {
                    *w++ = '/';
                    s++;
                } else if (*s == '~' && s[1] == '0') {
                    *w++ = '~';
                    s++;
                } else {
                    *w++ = *s;
                }
            }
            *w = '\0';
            json_object *next = NULL;
            if (json_object_get_type(target) == json_type_object) {
                if (!json_object_object_get_ex(target, p, &next)) {
                    problem = "no such location in the schema";
                    break;
                }
            } else if (json_object_get_type(target) == json_type_array) {
                char *end;
                unsigned long idx = strtoul(p, &end, 10);
                if (!*p || *end || (p[0] == '0' && p[1]) || p[0] == '-' || p[0] == '+' ||
                    idx >= json_object_array_length(target)) {
                    problem = "no such location in the schema";
                    break;
                }
                next = json_object_array_get_idx(target, idx);
            } else {
                problem = "no such location in the schema";
                break;
            }
            target = next;
            resource *own = json_object_get_type(target) == json_type_object ? resource_of_obj(cc, target) : NULL;
            if (own)
                tres = own;
            if (!slash)
                break;
            p = slash + 1;
        }
    } else if (frag[0]) {
        target = NULL;
        for (size_t i = 0; i < cc->nanch && !target; i++)
            if (cc->anch[i].res == r && !strcmp(cc->anch[i].name, frag))
                target = cc->anch[i].obj, tres = cc->anch[i].res;
        for (size_t i = 0; i < cc->nanch && !target; i++)
            if (!strcmp(cc->anch[i].name, frag))
                target = cc->anch[i].obj, tres = cc->anch[i].res;
        if (!target)
            problem = "no such anchor in the schema";
    }
    if (!problem) {
        json_type t = json_object_get_type(target);
        if (t != json_type_object && t != json_type_boolean)
            problem = "the target is not a schema";
    }
    if (problem) {
        failf(cc, "unresolvable %s \"%s\" at %s: %s", kwname, ref, from->loc, problem);
        free(frag);
        return NULL;
    }
    free(frag);
    snode *n = memo_get(cc, target);
    if (n)
        return n;
    return get_node(cc, target, tres, blen ? ref : (ref[0] == '#' ? ref : "#"));
}

/* A non-negative integer keyword value (5 or 5.0). */
static bool get_count(cctx *cc, snode *n, json_object *js, const char *name, int64_t *out)
{
    json_object *o = kw(js, name);
    if (!o)
        return false;
    if (is_number(o)) {
        num x = num_of(o);
        if (x.k == NK_INT && x.i >= 0) {
            *out = x.i;
            return true;
        }
        if (x.k == NK_UINT) {
            *out = INT64_MAX;
            return true;
        }
        if (x.k == NK_DBL && dbl_integral(x.d) && x.d >= 0) {
            *out = x.d >= 9.2e18 ? INT64_MAX : (int64_t)x.d;
            return true;
        }
    }
    warnf(cc, "%s: %s must be a non-negative integer; it is ignored", n->loc, name);
    return false;
}

static bool get_num(cctx *cc, snode *n, json_object *js, const char *name, num *out)
{
    json_object *o = kw(js, name);
    if (!o)
        return false;
    if (!is_number(o) || (json_object_get_type(o) == json_type_double && !isfinite(json_object_get_double(o)))) {
        if (json_object_get_type(o) != json_type_boolean)
            warnf(cc, "%s: %s must be a number; it is ignored", n->loc, name);
        return false;
    }
    *out = num_of(o);
    return true;
}

static unsigned type_bit(const char *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"null", T_NULL},   {"boolean", T_BOOL}, {"object", T_OBJ},  {"array", T_ARR},
                 {"number", T_NUM}, {"integer", T_INT}, {"string", T_STR}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i].name))
            return names[i].bit;
    return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static regex_t *compile_pattern(cctx *cc, snode *n, const char *where, const char *src)
{
    char why[160] = "";
    /* The translation spells characters out as UTF-8 bytes: regcomp must see bytes, in the C
       locale, even when a plugin has called setlocale (a regex_t keeps the mode it was compiled
       in, so regexec needs no locale of its own). */
    pthread_once(&c_locale_once, c_locale_init);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    char *ere = !c_locale && MB_CUR_MAX != 1 ? NULL : ecma_to_ere(src, why, sizeof why);
    if (!c_locale && MB_CUR_MAX != 1)
        snprintf(why, sizeof why, "no C locale to compile it in");
    regex_t *re = NULL;
    if (ere) {
        re = arena_alloc(&cc->v->ar, sizeof *re);
        int rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            regerror(rc, re, why, sizeof why);
            re = NULL;
        }
        free(ere);
    }
    if (c_locale)
        uselocale(old);
    if (!re) {
        warnf(cc, "%s: %s \"%s\" cannot be compiled (%s); it is treated as always satisfied", n->loc, where, src,
              why);
        return NULL;
    }
    schema_validator *v = cc->v;
    if (v->nregex == v->capregex) {
        v->capregex = v->capregex ? v->capregex * 2 : 8;
        v->regexes = xrealloc(v->regexes, v->capregex * sizeof *v->regexes);
    }
    v->regexes[v->nregex++] = re;
    return re;
}

/* The text of a value inside a message, e.g. ["open", "closed"]; long texts are cut. Printed
 * here rather than by json-c, whose serialiser writes into the object (not thread-safe while
 * other threads may be serialising the same schema). */
static void json_text(buf *b, json_object *o, const char *sep)
{
    if (b->len > ENUM_TEXT_MAX)
        return;
    char t[40];
    switch (json_object_get_type(o)) {
    case json_type_null:
        buf_append_str(b, "null");
        break;
    case json_type_boolean:
        buf_append_str(b, json_object_get_boolean(o) ? "true" : "false");
        break;
    case json_type_int:
    case json_type_double: {
        num x = num_of(o);
        num_fmt(&x, t, sizeof t);
        buf_append_str(b, t);
        break;
    }
    case json_type_string:
        buf_append_json_string(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
        break;
    case json_type_array: {
        buf_append_char(b, '[');
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
            if (b->len > ENUM_TEXT_MAX) {
                buf_appendf(b, "%s... %zu more", sep, n - i);
                break;
            }
            if (i)
                buf_append_str(b, sep);
            json_text(b, json_object_array_get_idx(o, i), ",");
        }
        buf_append_char(b, ']');
        break;
    }
    case json_type_object: {
        buf_append_char(b, '{');
        bool first = true;
        struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
        for (; !json_object_iter_equal(&it, &end) && b->len <= ENUM_TEXT_MAX; json_object_iter_next(&it)) {
            if (!first)
                buf_append_char(b, ',');
            first = false;
            const char *k = json_object_iter_peek_name(&it);
            buf_append_json_string(b, k, strlen(k));
            buf_append_char(b, ':');
            json_text(b, json_object_iter_peek_value(&it), ",");
        }
        buf_append_char(b, '}');
        break;
    }
    }
}

static const char *value_text(cctx *cc, json_object *o, const char *sep)
{
    buf b = BUF_INIT;
    json_text(&b, o, sep);
    if (b.len > ENUM_TEXT_MAX + 40) { /* one long value: cut it */
        size_t cut = ENUM_TEXT_MAX;
        while (cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
            cut--; /* not inside a UTF-8 sequence */
        b.len = cut;
        buf_append_str(&b, "...");
    }
    const char *t = arena_strdup(&cc->v->ar, b.data);
    free(b.data);
    return t;
}

static snode **sub_array(cctx *cc, snode *n, json_object *arr, const char *name, size_t *count)
{
    size_t len = json_object_array_length(arr);
    snode **v = arena_alloc(&cc->v->ar, (len ? len : 1) * sizeof *v);
    for (size_t i = 0; i < len; i++)
        v[i] = sub(cc, n, json_object_array_get_idx(arr, i), name, NULL, (long)i);
    *count = len;
    return v;
}

static const char **string_array(cctx *cc, snode *n, json_object *arr, const char *name, size_t *count)
{
    size_t len = json_object_array_length(arr), k = 0;
    const char **v = arena_alloc(&cc->v->ar, (len ? len : 1) * sizeof *v);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (json_object_get_type(e) != json_type_string) {
            warnf(cc, "%s: %s contains a value that is not a string; it is ignored", n->loc, name);
            continue;
        }
        v[k++] = arena_strdup(&cc->v->ar, json_object_get_string(e));
    }
    *count = k;
    return v;
}

static void compile_dependencies(cctx *cc, snode *n, json_object *o, const char *name, int which)
{
    if (json_object_get_type(o) != json_type_object) {
        warnf(cc, "%s: %s must be an object; it is ignored", n->loc, name);
        return;
    }
    size_t len = (size_t)json_object_object_length(o);
    depreq *dr = arena_alloc(&cc->v->ar, (n->ndreq + len + 1) * sizeof *dr);
    depsch *ds = arena_alloc(&cc->v->ar, (n->ndsch + len + 1) * sizeof *ds);
    if (n->ndreq)
        memcpy(dr, n->dreq, n->ndreq * sizeof *dr);
    if (n->ndsch)
        memcpy(ds, n->dsch, n->ndsch * sizeof *ds);
    n->dreq = dr;
    n->dsch = ds;
    struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *k = json_object_iter_peek_name(&it);
        json_object *val = json_object_iter_peek_value(&it);
        bool is_arr = json_object_get_type(val) == json_type_array;
        if (is_arr && which != 2) {
            depreq *d = &n->dreq[n->ndreq++];
            d->name = arena_strdup(&cc->v->ar, k);
            d->req = string_array(cc, n, val, name, &d->nreq);
        } else if (!is_arr && which != 1) {
            depsch *d = &n->dsch[n->ndsch++];
            d->name = arena_strdup(&cc->v->ar, k);
            d->node = sub(cc, n, val, name, k, -1);
        } else {
            warnf(cc, "%s: %s/%s has the wrong form; it is ignored", n->loc, name, k);
        }
    }
}

static void compile_node(cctx *cc, snode *n)
{
    json_object *js = n->js, *o;
    arena *ar = &cc->v->ar;

    /* $ref (and the dynamic forms, resolved statically) */
    const char *refkw = "$ref";
    o = kw(js, "$ref");
    if (!o && (o = kw(js, "$dynamicRef")))
        refkw = "$dynamicRef";
    if (!o && (o = kw(js, "$recursiveRef")))
        refkw = "$recursiveRef";
    if (o) {
        if (json_object_get_type(o) != json_type_string) {
            warnf(cc, "%s: %s must be a string; it is ignored", n->loc, refkw);
        } else {
            n->ref = resolve_ref(cc, n, refkw, json_object_get_string(o));
            if (!n->ref)
                return;
            if (cc->d <= D7) { /* siblings of $ref are ignored before 2019-09 */
                n->ref_only = true;
                return;
            }
        }
    }

    if ((o = kw(js, "type"))) {
        if (json_object_get_type(o) == json_type_string) {
            n->types = type_bit(json_object_get_string(o));
            if (!n->types)
                warnf(cc, "%s: unknown type \"%s\"; it is ignored", n->loc, json_object_get_string(o));
        } else if (json_object_get_type(o) == json_type_array) {
            for (size_t i = 0; i < json_object_array_length(o); i++) {
                json_object *e = json_object_array_get_idx(o, i);
                unsigned b = json_object_get_type(e) == json_type_string ? type_bit(json_object_get_string(e)) : 0;
                if (!b) {
                    warnf(cc, "%s: type contains an unknown type; the type keyword is ignored", n->loc);
                    n->types = 0;
                    break;
                }
                n->types |= b;
            }
        } else {
            warnf(cc, "%s: type must be a string or an array; it is ignored", n->loc);
        }
        if (n->types && (o = kw(js, "nullable")) && json_object_get_type(o) == json_type_boolean &&
            json_object_get_boolean(o))
            n->types |= T_NULL;
    }

    if ((o = kw(js, "enum"))) {
        if (json_object_get_type(o) == json_type_array) {
            n->nenum = json_object_array_length(o);
            n->enum_vals = arena_alloc(ar, (n->nenum ? n->nenum : 1) * sizeof *n->enum_vals);
            for (size_t i = 0; i < n->nenum; i++)
                n->enum_vals[i] = json_object_array_get_idx(o, i);
            hold(cc->v, o);
            n->enum_txt = value_text(cc, o, ", ");
            if (!n->nenum)
                warnf(cc, "%s: enum is empty: no value can match", n->loc);
        } else {
            warnf(cc, "%s: enum must be an array; it is ignored", n->loc);
        }
    }
    if (json_object_object_get_ex(js, "const", &o)) {
        n->has_const = true;
        n->const_val = o;
        hold(cc->v, o);
        n->const_txt = value_text(cc, o, ", ");
    }

    /* objects */
    if ((o = kw(js, "properties"))) {
        if (json_object_get_type(o) == json_type_object) {
            size_t cnt = (size_t)json_object_object_length(o), cap = 4;
            while (cap < cnt * 2)
                cap *= 2;
            n->ptab = arena_alloc(ar, cap * sizeof *n->ptab);
            n->ptab_mask = cap - 1;
            struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
            for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *k = json_object_iter_peek_name(&it);
                uint64_t h = fnv1a(k, strlen(k));
                size_t i = (size_t)h & n->ptab_mask;
                while (n->ptab[i].name)
                    i = (i + 1) & n->ptab_mask;
                n->ptab[i].name = arena_strdup(ar, k);
                n->ptab[i].hash = h;
                n->ptab[i].node = sub(cc, n, json_object_iter_peek_value(&it), "properties", k, -1);
                n->nprops++;
            }
        } else {
            warnf(cc, "%s: properties must be an object; it is ignored", n->loc);
        }
    }
    if ((o = kw(js, "patternProperties"))) {
        if (json_object_get_type(o) == json_type_object) {
            size_t cnt = (size_t)json_object_object_length(o);
            n->pprops = arena_alloc(ar, (cnt ? cnt : 1) * sizeof *n->pprops);
            struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
            for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *k = json_object_iter_peek_name(&it);
                pprop *pp = &n->pprops[n->npprops++];
                pp->src = arena_strdup(ar, k);
                pp->re = compile_pattern(cc, n, "patternProperties pattern", k);
                pp->node = sub(cc, n, json_object_iter_peek_value(&it), "patternProperties", k, -1);
            }
        } else {
            warnf(cc, "%s: patternProperties must be an object; it is ignored", n->loc);
        }
    }
    if ((o = kw(js, "additionalProperties")))
        n->addl_props = sub(cc, n, o, "additionalProperties", NULL, -1);
    if ((o = kw(js, "propertyNames")))
        n->prop_names = sub(cc, n, o, "propertyNames", NULL, -1);
    if ((o = kw(js, "required"))) {
        if (json_object_get_type(o) == json_type_array)
            n->required = string_array(cc, n, o, "required", &n->nrequired);
        else if (json_object_get_type(o) != json_type_boolean) /* draft 3's boolean: not supported */
            warnf(cc, "%s: required must be an array; it is ignored", n->loc);
    }
    get_count(cc, n, js, "minProperties", &n->min_props);
    get_count(cc, n, js, "maxProperties", &n->max_props);
    if ((o = kw(js, "dependencies")))
        compile_dependencies(cc, n, o, "dependencies", 0);
    if ((o = kw(js, "dependentRequired")))
        compile_dependencies(cc, n, o, "dependentRequired", 1);
    if ((o = kw(js, "dependentSchemas")))
        compile_dependencies(cc, n, o, "dependentSchemas", 2);
    n->obj_kw = n->nprops || n->npprops || n->addl_props || n->prop_names || n->nrequired || n->min_props >= 0 ||
                n->max_props >= 0 || n->ndreq || n->ndsch;

    /* arrays */
    json_object *items = kw(js, "items"), *prefix = kw(js, "prefixItems");
    if (prefix && json_object_get_type(prefix) == json_type_array) {
        n->prefix = sub_array(cc, n, prefix, "prefixItems", &n->nprefix);
        if (items && json_object_get_type(items) != json_type_array)
            n->items = sub(cc, n, items, "items", NULL, -1);
    } else if (items && json_object_get_type(items) == json_type_array) {
        n->prefix = sub_array(cc, n, items, "items", &n->nprefix);
        if ((o = kw(js, "additionalItems")))
            n->items = sub(cc, n, o, "additionalItems", NULL, -1);
    } else if (items) {
        n->items = sub(cc, n, items, "items", NULL, -1);
    }
    get_count(cc, n, js, "minItems", &n->min_items);
    get_count(cc, n, js, "maxItems", &n->max_items);
    if ((o = kw(js, "uniqueItems")))
        n->unique = json_object_get_type(o) == json_type_boolean && json_object_get_boolean(o);
    if ((o = kw(js, "contains"))) {
        n->contains = sub(cc, n, o, "contains", NULL, -1);
        n->contains_ann = cc->d >= D2020;
        if (cc->d >= D2019) { /* minContains/maxContains are 2019-09 keywords: unknown before */
            get_count(cc, n, js, "minContains", &n->min_contains);
            get_count(cc, n, js, "maxContains", &n->max_contains);
        }
    }
    n->arr_kw = n->nprefix || n->items || n->min_items >= 0 || n->max_items >= 0 || n->unique || n->contains;

    /* numbers */
    n->has_min = get_num(cc, n, js, "minimum", &n->minimum);
    n->has_max = get_num(cc, n, js, "maximum", &n->maximum);
    if ((o = kw(js, "exclusiveMinimum"))) {
        if (json_object_get_type(o) == json_type_boolean) { /* draft 4 */
            if (json_object_get_boolean(o) && n->has_min) {
                n->has_exmin = true;
                n->exmin = n->minimum;
                n->has_min = false;
            }
        } else {
            n->has_exmin = get_num(cc, n, js, "exclusiveMinimum", &n->exmin);
        }
    }
    if ((o = kw(js, "exclusiveMaximum"))) {
        if (json_object_get_type(o) == json_type_boolean) {
            if (json_object_get_boolean(o) && n->has_max) {
                n->has_exmax = true;
                n->exmax = n->maximum;
                n->has_max = false;
            }
        } else {
            n->has_exmax = get_num(cc, n, js, "exclusiveMaximum", &n->exmax);
        }
    }
    if (get_num(cc, n, js, "multipleOf", &n->mult)) {
        num zero = {NK_INT, 0, 0, 0.0};
        if (num_cmp(&n->mult, &zero) > 0) {
            n->has_mult = true;
            n->mult_div = mdiv_of(&n->mult);
        }
        else
            warnf(cc, "%s: multipleOf must be greater than 0; it is ignored", n->loc);
    }
    n->num_kw = n->has_min || n->has_max || n->has_exmin || n->has_exmax || n->has_mult;

    /* strings */
    get_count(cc, n, js, "minLength", &n->min_len);
    get_count(cc, n, js, "maxLength", &n->max_len);
    if ((o = kw(js, "pattern"))) {
        if (json_object_get_type(o) == json_type_string) {
            n->pattern_src = arena_strdup(ar, json_object_get_string(o));
            n->pattern = compile_pattern(cc, n, "pattern", n->pattern_src);
            n->pattern_anchored = n->pattern_src[0] == '^' && !strchr(n->pattern_src, '|');
        } else {
            warnf(cc, "%s: pattern must be a string; it is ignored", n->loc);
        }
    }
    n->str_kw = n->min_len >= 0 || n->max_len >= 0 || n->pattern;

    /* composition */
    static const char *const comp[] = {"allOf", "anyOf", "oneOf"};
    for (int c = 0; c < 3; c++) {
        if (!(o = kw(js, comp[c])))
            continue;
        if (json_object_get_type(o) != json_type_array || json_object_array_length(o) == 0) {
            warnf(cc, "%s: %s must be a non-empty array; it is ignored", n->loc, comp[c]);
            continue;
        }
        size_t cnt;
        snode **v = sub_array(cc, n, o, comp[c], &cnt);
        if (c == 0)
            n->all_of = v, n->nall = cnt;
        else if (c == 1)
            n->any_of = v, n->nany = cnt;
        else
            n->one_of = v, n->none = cnt;
    }
    if ((o = kw(js, "not")))
        n->not_s = sub(cc, n, o, "not", NULL, -1);
    if ((o = kw(js, "if"))) {
        json_object *t = kw(js, "then"), *e = kw(js, "else");
        if (t || e) {
            n->if_s = sub(cc, n, o, "if", NULL, -1);
            if (t)
                n->then_s = sub(cc, n, t, "then", NULL, -1);
            if (e)
                n->else_s = sub(cc, n, e, "else", NULL, -1);
        } else {
            n->if_alone_js = o;
        }
    }
    if ((o = kw(js, "unevaluatedProperties")))
        n->uneval_props = sub(cc, n, o, "unevaluatedProperties", NULL, -1);
    if ((o = kw(js, "unevaluatedItems")))
        n->uneval_items = sub(cc, n, o, "unevaluatedItems", NULL, -1);
    if (n->uneval_props || n->uneval_items) {
        if (cc->nuneval == cc->capuneval) {
            cc->capuneval = cc->capuneval ? cc->capuneval * 2 : 16;
            cc->uneval = xrealloc(cc->uneval, cc->capuneval * sizeof *cc->uneval);
        }
        cc->uneval[cc->nuneval++] = n;
    }

    n->ref_only = n->ref && !n->types && !n->enum_vals && !n->has_const && !n->obj_kw && !n->arr_kw &&
                  !n->num_kw && !n->str_kw && !n->nall && !n->nany && !n->none && !n->not_s && !n->if_s &&
                  !n->if_alone_js && !n->uneval_props && !n->uneval_items;
}

/* unevaluatedProperties/unevaluatedItems need the annotations of every subschema applied in place
 * (to the same value) below them: those nodes, found here once the graph is complete, are
 * evaluated by eval_tracked; the others never pay for annotations. "not" is not followed: it
 * contributes nothing. An "if" without then/else matters only to those nodes: it is compiled
 * here (queued, then marked in the next round: schema_validator_new repeats until nothing is
 * left to compile). */
static void mark_tracked(cctx *cc)
{
    snode **st = NULL;
    size_t n = 0, cap = 0;
#define TRACK(x)                                                  \
    do {                                                          \
        snode *t_ = (x);                                          \
        if (t_ && t_->boolean < 0 && !t_->track) {                \
            t_->track = true;                                     \
            if (n == cap) {                                       \
                cap = cap ? cap * 2 : 64;                         \
                st = xrealloc(st, cap * sizeof *st);              \
            }                                                     \
            st[n++] = t_;                                         \
        }                                                         \
    } while (0)
    for (size_t i = 0; i < cc->nuneval; i++)
        TRACK(cc->uneval[i]);
    cc->nuneval = 0;
    while (n) {
        snode *x = st[--n];
        TRACK(x->ref);
        for (size_t i = 0; i < x->nall; i++)
            TRACK(x->all_of[i]);
        for (size_t i = 0; i < x->nany; i++)
            TRACK(x->any_of[i]);
        for (size_t i = 0; i < x->none; i++)
            TRACK(x->one_of[i]);
        TRACK(x->if_s);
        TRACK(x->then_s);
        TRACK(x->else_s);
        TRACK(x->if_alone);
        for (size_t i = 0; i < x->ndsch; i++)
            TRACK(x->dsch[i].node);
        if (x->if_alone_js && !x->if_alone) {
            snode *y = x->if_alone = sub(cc, x, x->if_alone_js, "if", NULL, -1);
            if (y->boolean < 0 && !y->track) { /* a root of the next round, once compiled */
                if (cc->nuneval == cc->capuneval) {
                    cc->capuneval = cc->capuneval ? cc->capuneval * 2 : 16;
                    cc->uneval = xrealloc(cc->uneval, cc->capuneval * sizeof *cc->uneval);
                }
                cc->uneval[cc->nuneval++] = y;
            }
        }
    }
#undef TRACK
    free(st);
}

static dialect dialect_of(json_object *schema)
{
    json_object *s = kw(schema, "$schema");
    const char *u = json_object_get_type(s) == json_type_string ? json_object_get_string(s) : "";
    if (strstr(u, "draft-04"))
        return D4;
    if (strstr(u, "draft-06"))
        return D6;
    if (strstr(u, "draft-07"))
        return D7;
    if (strstr(u, "2019-09"))
        return D2019;
    return D2020;
}

void schema_validator_free(schema_validator *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->nregex; i++)
        regfree(v->regexes[i]);
    free(v->regexes);
    for (size_t i = 0; i < v->nheld; i++)
        json_object_put(v->held[i]);
    free(v->held);
    if (v->schema)
        json_object_put(v->schema);
    free(v->warnings);
    arena_free(&v->ar);
    free(v);
}

schema_validator *schema_validator_new(json_object *schema, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    json_type t = json_object_get_type(schema);
    if (t != json_type_object && t != json_type_boolean) {
        if (err && errlen)
            snprintf(err, errlen, "the schema must be a JSON object or a boolean");
        return NULL;
    }
    schema_validator *v = xcalloc(1, sizeof *v);
    v->schema = json_object_get(schema);
    cctx cc = {0};
    cc.v = v;
    cc.err = err;
    cc.errlen = errlen;
    cc.d = t == json_type_object ? dialect_of(schema) : D2020;
    cc.true_node = new_node(&cc, "#");
    cc.true_node->boolean = 1;
    if (t == json_type_object)
        prescan(&cc, schema);
    resource *root_res = cc.nres ? cc.res[0] : add_resource(&cc, schema, NULL, NULL);
    v->root = get_node(&cc, schema, root_res, "#");
    do {
        while (cc.nwork && !cc.failed) {
            snode *n = cc.work[--cc.nwork];
            compile_node(&cc, n);
        }
        if (!cc.failed)
            mark_tracked(&cc);
    } while ((cc.nwork || cc.nuneval) && !cc.failed);
    free(cc.uneval);
    if (cc.nwarn) {
        if (cc.nwarn > MAX_WARNINGS)
            buf_appendf(&cc.warn, "\n... and %zu more warnings", cc.nwarn - MAX_WARNINGS);
        v->warnings = buf_steal(&cc.warn); /* the caller logs them, naming the tool */
    }
    free(cc.warn.data);
    free(cc.memo);
    free(cc.work);
    for (size_t i = 0; i < cc.nres; i++) {
        free(cc.res[i]->abs);
        free(cc.res[i]->raw);
        free(cc.res[i]);
    }
    free(cc.res);
    for (size_t i = 0; i < cc.nanch; i++)
        free(cc.anch[i].name);
    free(cc.anch);
    if (cc.failed) {
        schema_validator_free(v);
        return NULL;
    }
    return v;
}

const char *schema_validator_warnings(const schema_validator *v) { return v ? v->warnings : NULL; }

/* ------------------------------------------------------------------ validation */

enum { K_OTHER, K_TYPE, K_VALUE, K_FALSE };

typedef struct verr {
    char *path;
    char *msg;
    unsigned indent;
    unsigned depth;   /* path depth */
    unsigned kind;
    unsigned types;   /* K_TYPE: the expected types */
} verr;

typedef struct errvec {
    verr *v;
    size_t n, cap;
    size_t dropped;   /* beyond what a report can show: counted, not kept */
} errvec;

static size_t errvec_total(const errvec *e) { return e->n + e->dropped; }

static void errvec_free(errvec *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].path);
        free(e->v[i].msg);
    }
    free(e->v);
    memset(e, 0, sizeof *e);
}

static void errvec_push(errvec *e, verr x)
{
    if (e->n >= MAX_REPORT_LINES) {
        e->dropped++;
        free(x.path);
        free(x.msg);
        return;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++] = x;
}

/* Move src's entries to the end of dst, one level deeper; src ends up empty. */
static void errvec_move(errvec *dst, errvec *src, unsigned indent_add)
{
    for (size_t i = 0; i < src->n; i++) {
        src->v[i].indent += indent_add;
        errvec_push(dst, src->v[i]);
    }
    dst->dropped += src->dropped;
    free(src->v);
    memset(src, 0, sizeof *src);
}

typedef struct pseg {
    const struct pseg *up;
    const char *key;  /* NULL: an array index */
    size_t idx;
    unsigned depth;
} pseg;

typedef struct frame {
    const snode *n;
    unsigned depth;
} frame;

/* The annotations unevaluatedProperties/unevaluatedItems look at: which members (properties, in
 * the object's iteration order, or items) of one value the subschemas applied to it in place have
 * evaluated. Only eval_tracked (nodes with track) creates and fills one. */
#define ANN_SMALL_WORDS 2u /* members 0..127 need no heap */

typedef struct ann {
    json_object *inst; /* the object or array */
    size_t n;          /* its members */
    uint64_t *bits;    /* NULL until a member is marked; small or the heap */
    bool all;          /* every member is evaluated */
    bool keep_failed;  /* see eval_tracked */
    uint64_t small[ANN_SMALL_WORDS];
} ann;

typedef struct vctx {
    size_t evals;
    size_t unanchored_bytes; /* fed to unanchored patterns so far (PATTERN_UNANCHORED_BUDGET) */
    ann *ann;         /* where the evaluations of ann->inst record what they evaluate, or NULL */
    unsigned quiet;   /* > 0: only the verdict matters (no messages, stop at the first failure) */
    bool aborted;
    char *abort_path, *abort_msg;
    errvec errs;
    unsigned nframes;
    frame frames[MAX_FRAMES];
} vctx;

static bool is_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static char *render_path(const pseg *p)
{
    const pseg *small[32], **segs = small;
    if (p->depth > 32)
        segs = xmalloc(p->depth * sizeof *segs);
    unsigned n = 0;
    for (const pseg *q = p; q && q->depth > 0; q = q->up)
        segs[n++] = q;
    buf b = BUF_INIT;
    buf_append_char(&b, '$');
    while (n--) {
        const pseg *s = segs[n];
        if (!s->key) {
            buf_appendf(&b, "[%zu]", s->idx);
        } else if (is_ident(s->key)) {
            buf_append_char(&b, '.');
            buf_append_str(&b, s->key);
        } else {
            buf_append_char(&b, '[');
            buf_append_json_string(&b, s->key, strlen(s->key));
            buf_append_char(&b, ']');
        }
    }
    if (segs != small)
        free(segs);
    return buf_steal(&b);
}

static void report(vctx *c, const pseg *path, unsigned kind, unsigned types, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report(vctx *c, const pseg *path, unsigned kind, unsigned types, const char *fmt, ...)
{
    if (c->quiet)
        return;
    if (c->errs.n >= MAX_REPORT_LINES) {
        c->errs.dropped++;
        return;
    }
    buf m = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&m, fmt, ap);
    va_end(ap);
    errvec_push(&c->errs, (verr){render_path(path), buf_steal(&m), 0, path->depth, kind, types});
}

static void vabort(vctx *c, const pseg *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vabort(vctx *c, const pseg *path, const char *fmt, ...)
{
    if (c->aborted)
        return;
    c->aborted = true;
    buf m = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&m, fmt, ap);
    va_end(ap);
    c->abort_msg = buf_steal(&m);
    c->abort_path = render_path(path);
}

/* inlined (also prop_find): eval_tracked, their second caller, would otherwise have eval call them */
#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE unsigned inst_types(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null: return T_NULL;
    case json_type_boolean: return T_BOOL;
    case json_type_object: return T_OBJ;
    case json_type_array: return T_ARR;
    case json_type_string: return T_STR;
    case json_type_int: return T_NUM | T_INT;
    case json_type_double: return dbl_integral(json_object_get_double(o)) ? T_NUM | T_INT : T_NUM;
    }
    return 0;
}

static const char *inst_type_name(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null: return "null";
    case json_type_boolean: return "boolean";
    case json_type_object: return "object";
    case json_type_array: return "array";
    case json_type_string: return "string";
    case json_type_int: return "integer";
    case json_type_double: return "number";
    }
    return "?";
}

/* "string, integer or null" */
static void types_text(unsigned mask, char *out, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {{T_OBJ, "object"}, {T_ARR, "array"},   {T_STR, "string"}, {T_NUM, "number"},
                 {T_INT, "integer"}, {T_BOOL, "boolean"}, {T_NULL, "null"}};
    if (mask & T_NUM)
        mask &= ~(unsigned)T_INT;
    const char *names[8];
    size_t n = 0;
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (mask & order[i].bit)
            names[n++] = order[i].name;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(out + used, len - used, "%s%s", sep, names[i]);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

static bool eval(vctx *c, const snode *n, json_object *inst, const pseg *path);

/* Message formatting and the non-recursive checks stay out of the recursive frames: each level
 * of nesting costs stack, and worker threads have 256 KiB. */
#define NOINLINE __attribute__((noinline))

static NOINLINE void report_type(vctx *c, const pseg *path, unsigned types, json_object *inst)
{
    if (c->quiet)
        return;
    char t[128];
    types_text(types, t, sizeof t);
    report(c, path, K_TYPE, types, "expected %s, got %s", t, inst_type_name(inst));
}

#define FAIL()                          \
    do {                                \
        ok = false;                     \
        if (c->quiet || c->aborted)     \
            return false;               \
    } while (0)

static const char *plural(int64_t n, const char *one, const char *many) { return n == 1 ? one : many; }

static ALWAYS_INLINE const snode *prop_find(const snode *n, const char *k)
{
    if (!n->nprops)
        return NULL;
    uint64_t h = fnv1a(k, strlen(k));
    for (size_t i = (size_t)h & n->ptab_mask;; i = (i + 1) & n->ptab_mask) {
        const prop *p = &n->ptab[i];
        if (!p->name)
            return NULL;
        if (p->hash == h && !strcmp(p->name, k))
            return p->node;
    }
}

/* A property name against propertyNames; its violations are reported at the property's path. */
static NOINLINE bool eval_property_name(vctx *c, const snode *names, const char *k, const pseg *child)
{
    json_object *ks = json_object_new_string(k);
    if (c->quiet) {
        bool r = eval(c, names, ks, child);
        json_object_put(ks);
        return r;
    }
    errvec saved = c->errs;
    memset(&c->errs, 0, sizeof c->errs);
    bool r = eval(c, names, ks, child);
    json_object_put(ks);
    errvec mine = c->errs;
    c->errs = saved;
    for (size_t i = 0; i < mine.n; i++) {
        if (mine.v[i].indent)
            continue;
        char *m = xasprintf("invalid property name: %s", mine.v[i].msg);
        free(mine.v[i].msg);
        mine.v[i].msg = m;
    }
    errvec_move(&c->errs, &mine, 0);
    return r;
}

static NOINLINE void report_names(vctx *c, const pseg *path, const char *fmt, const char *a, const char *b)
{
    if (c->quiet)
        return;
    buf x = BUF_INIT, y = BUF_INIT;
    append_name(&x, a);
    if (b)
        append_name(&y, b);
    report(c, path, K_OTHER, 0, fmt, x.data, y.data ? y.data : "");
    free(x.data);
    free(y.data);
}

/* ------------------------------------------------------------------ annotations (ann) */

static void ann_init(ann *a, json_object *inst)
{
    a->inst = inst;
    a->n = json_object_get_type(inst) == json_type_object ? (size_t)json_object_object_length(inst)
                                                          : json_object_array_length(inst);
    a->bits = NULL;
    a->all = false;
    a->keep_failed = true;
}

static void ann_free(ann *a)
{
    if (a->bits != a->small)
        free(a->bits);
}

/* A big value's bitmap costs an evaluation per 1024 members (MAX_EVALS bounds the work). */
static NOINLINE void ann_alloc(vctx *c, ann *a)
{
    size_t words = (a->n + 63u) / 64u;
    if (words <= ANN_SMALL_WORDS) {
        memset(a->small, 0, sizeof a->small);
        a->bits = a->small;
        return;
    }
    a->bits = xcalloc(words, sizeof *a->bits);
    c->evals += words / 16u;
}

static void ann_mark(vctx *c, ann *a, size_t i)
{
    if (a->all)
        return;
    if (!a->bits)
        ann_alloc(c, a);
    a->bits[i / 64u] |= (uint64_t)1 << (i % 64u);
}

/* Members lo .. hi-1. */
static void ann_mark_range(vctx *c, ann *a, size_t lo, size_t hi)
{
    if (hi > a->n)
        hi = a->n;
    if (a->all || lo >= hi)
        return;
    if (lo == 0 && hi == a->n) {
        a->all = true;
        return;
    }
    if (!a->bits)
        ann_alloc(c, a);
    for (; lo < hi && lo % 64u; lo++)
        a->bits[lo / 64u] |= (uint64_t)1 << (lo % 64u);
    for (; lo + 64u <= hi; lo += 64u)
        a->bits[lo / 64u] = UINT64_MAX;
    for (; lo < hi; lo++)
        a->bits[lo / 64u] |= (uint64_t)1 << (lo % 64u);
}

static bool ann_has(const ann *a, size_t i)
{
    return a->all || (a->bits && (a->bits[i / 64u] >> (i % 64u) & 1u));
}

static void ann_merge(vctx *c, ann *dst, const ann *src)
{
    if (dst->all || (!src->all && !src->bits))
        return;
    if (src->all) {
        dst->all = true;
        return;
    }
    if (!dst->bits)
        ann_alloc(c, dst);
    for (size_t w = 0, words = (dst->n + 63u) / 64u; w < words; w++)
        dst->bits[w] |= src->bits[w];
}

/* ------------------------------------------------------------------ objects, arrays */

/* The keyword checks that apply to objects. mark (eval_tracked only; a constant NULL elsewhere,
 * which compiles the recording away): records the properties that properties,
 * patternProperties and additionalProperties evaluate. */
static ALWAYS_INLINE bool eval_object_impl(vctx *c, const snode *n, json_object *obj,
                                                                   const pseg *path, ann *mark)
{
    bool ok = true;
    size_t count = (size_t)json_object_object_length(obj);
    if (n->min_props >= 0 && count < (uint64_t)n->min_props) {
        report(c, path, K_OTHER, 0, "expected at least %lld %s, got %zu", (long long)n->min_props,
               plural(n->min_props, "property", "properties"), count);
        FAIL();
    }
    if (n->max_props >= 0 && count > (uint64_t)n->max_props) {
        report(c, path, K_OTHER, 0, "expected at most %lld %s, got %zu", (long long)n->max_props,
               plural(n->max_props, "property", "properties"), count);
        FAIL();
    }
    for (size_t i = 0; i < n->nrequired; i++) {
        if (!json_object_object_get_ex(obj, n->required[i], NULL)) {
            report_names(c, path, "missing required property %s%s", n->required[i], NULL);
            FAIL();
        }
    }
    for (size_t i = 0; i < n->ndreq; i++) {
        const depreq *d = &n->dreq[i];
        if (!json_object_object_get_ex(obj, d->name, NULL))
            continue;
        for (size_t j = 0; j < d->nreq; j++) {
            if (json_object_object_get_ex(obj, d->req[j], NULL))
                continue;
            report_names(c, path, "missing property %s (required when %s is present)", d->req[j], d->name);
            FAIL();
        }
    }
    if (n->nprops || n->npprops || n->addl_props || n->prop_names) {
        struct json_object_iterator it = json_object_iter_begin(obj), end = json_object_iter_end(obj);
        for (size_t pos = 0; !json_object_iter_equal(&it, &end); json_object_iter_next(&it), pos++) {
            const char *k = json_object_iter_peek_name(&it);
            json_object *val = json_object_iter_peek_value(&it);
            pseg child = {path, k, 0, path->depth + 1};
            if (n->prop_names && !eval_property_name(c, n->prop_names, k, &child))
                FAIL();
            bool matched = false;
            const snode *p = prop_find(n, k);
            if (p) {
                matched = true;
                if (p->boolean == 0) {
                    report(c, &child, K_OTHER, 0, "property is not allowed");
                    FAIL();
                } else if (!eval(c, p, val, &child)) {
                    FAIL();
                }
            }
            for (size_t i = 0; i < n->npprops; i++) {
                const pprop *pp = &n->pprops[i];
                if (!pp->re) {
                    matched = true;
                    continue;
                }
                /* names get the patterns' limits too: a huge name against an unanchored pattern */
                size_t klen = strlen(k);
                bool anch = pp->src[0] == '^' && !strchr(pp->src, '|');
                if (klen > (anch ? PATTERN_SUBJECT_MAX : PATTERN_UNANCHORED_MAX) ||
                    (!anch && c->unanchored_bytes + klen > PATTERN_UNANCHORED_BUDGET)) {
                    report(c, &child, K_OTHER, 0,
                           "a property name of %zu bytes is too long to be checked against patternProperties %s", klen,
                           pp->src);
                    FAIL();
                    matched = true;
                    continue;
                }
                if (!anch)
                    c->unanchored_bytes += klen;
                if (regexec(pp->re, k, 0, NULL, 0) != 0)
                    continue;
                matched = true;
                if (!eval(c, pp->node, val, &child))
                    FAIL();
            }
            if (!matched && n->addl_props) {
                if (n->addl_props->boolean == 0) {
                    report(c, &child, K_OTHER, 0, "property is not allowed (additionalProperties is false)");
                    FAIL();
                } else if (!eval(c, n->addl_props, val, &child)) {
                    FAIL();
                }
            }
            if (mark && (matched || n->addl_props))
                ann_mark(c, mark, pos);
        }
    }
    for (size_t i = 0; i < n->ndsch; i++) {
        if (json_object_object_get_ex(obj, n->dsch[i].name, NULL) && !eval(c, n->dsch[i].node, obj, path))
            FAIL();
    }
    return ok;
}

static bool eval_object(vctx *c, const snode *n, json_object *obj, const pseg *path)
{
    return eval_object_impl(c, n, obj, path, NULL);
}

static NOINLINE bool eval_object_ann(vctx *c, const snode *n, json_object *obj, const pseg *path, ann *mark)
{
    return eval_object_impl(c, n, obj, path, mark);
}

typedef struct hidx {
    uint64_t h;
    size_t i;
} hidx;

static int cmp_hidx(const void *a, const void *b)
{
    const hidx *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The first duplicate (lowest second index): *a < *b equal items. */
static NOINLINE bool find_duplicate(json_object *arr, size_t len, size_t *a, size_t *b)
{
    bool found = false;
    if (len <= 16) {
        for (size_t j = 1; j < len && !found; j++)
            for (size_t i = 0; i < j && !found; i++)
                if (json_eq(json_object_array_get_idx(arr, i), json_object_array_get_idx(arr, j)))
                    *a = i, *b = j, found = true;
        return found;
    }
    hidx *h = xmalloc(len * sizeof *h);
    for (size_t i = 0; i < len; i++)
        h[i] = (hidx){json_hash(json_object_array_get_idx(arr, i)), i};
    qsort(h, len, sizeof *h, cmp_hidx);
    for (size_t s = 0; s < len;) {
        size_t e = s + 1;
        while (e < len && h[e].h == h[s].h)
            e++;
        for (size_t j = s + 1; j < e; j++) {
            if (found && h[j].i >= *b)
                break;
            for (size_t i = s; i < j; i++) {
                if (json_eq(json_object_array_get_idx(arr, h[i].i), json_object_array_get_idx(arr, h[j].i))) {
                    *a = h[i].i, *b = h[j].i, found = true;
                    break;
                }
            }
        }
        s = e;
    }
    free(h);
    return found;
}

/* The keyword checks that apply to arrays; mark as for eval_object_impl: the items prefixItems,
 * items and (2020-12) contains evaluate. */
static ALWAYS_INLINE bool eval_array_impl(vctx *c, const snode *n, json_object *arr,
                                                                  const pseg *path, ann *mark)
{
    bool ok = true;
    size_t len = json_object_array_length(arr);
    if (n->min_items >= 0 && len < (uint64_t)n->min_items) {
        report(c, path, K_OTHER, 0, "expected at least %lld %s, got %zu", (long long)n->min_items,
               plural(n->min_items, "item", "items"), len);
        FAIL();
    }
    if (n->max_items >= 0 && len > (uint64_t)n->max_items) {
        report(c, path, K_OTHER, 0, "expected at most %lld %s, got %zu", (long long)n->max_items,
               plural(n->max_items, "item", "items"), len);
        FAIL();
    }
    for (size_t i = 0; i < len && i < n->nprefix; i++) {
        pseg child = {path, NULL, i, path->depth + 1};
        if (!eval(c, n->prefix[i], json_object_array_get_idx(arr, i), &child))
            FAIL();
    }
    if (n->items && len > n->nprefix) {
        if (n->items->boolean == 0) {
            report(c, path, K_OTHER, 0, "expected at most %zu %s, got %zu (additional items are not allowed)",
                   n->nprefix, plural((int64_t)n->nprefix, "item", "items"), len);
            FAIL();
        } else {
            for (size_t i = n->nprefix; i < len; i++) {
                pseg child = {path, NULL, i, path->depth + 1};
                if (!eval(c, n->items, json_object_array_get_idx(arr, i), &child))
                    FAIL();
            }
        }
    }
    if (mark)
        ann_mark_range(c, mark, 0, n->items ? len : n->nprefix);
    /* recording what contains matches means trying every item, even with minContains 0 */
    bool contains_all = mark && n->contains_ann;
    if (n->contains && (n->min_contains > 0 || n->max_contains >= 0 || contains_all)) {
        size_t matches = 0;
        c->quiet++;
        for (size_t i = 0; i < len && !c->aborted; i++) {
            pseg child = {path, NULL, i, path->depth + 1};
            if (eval(c, n->contains, json_object_array_get_idx(arr, i), &child)) {
                matches++;
                if (contains_all)
                    ann_mark(c, mark, i);
            }
            if (n->max_contains < 0 && matches >= (uint64_t)n->min_contains && !contains_all)
                break;
        }
        c->quiet--;
        if (c->aborted)
            return false;
        if (matches < (uint64_t)n->min_contains) {
            report(c, path, K_OTHER, 0, "expected at least %lld %s matching the 'contains' schema, got %zu",
                   (long long)n->min_contains, plural(n->min_contains, "item", "items"), matches);
            FAIL();
        }
        if (n->max_contains >= 0 && matches > (uint64_t)n->max_contains) {
            report(c, path, K_OTHER, 0, "expected at most %lld %s matching the 'contains' schema, got %zu",
                   (long long)n->max_contains, plural(n->max_contains, "item", "items"), matches);
            FAIL();
        }
    }
    if (n->unique && len > 1) {
        c->evals += len;
        size_t a, b;
        if (find_duplicate(arr, len, &a, &b)) {
            report(c, path, K_OTHER, 0, "items must be unique, but [%zu] and [%zu] are equal", a, b);
            FAIL();
        }
    }
    return ok;
}

static bool eval_array(vctx *c, const snode *n, json_object *arr, const pseg *path)
{
    return eval_array_impl(c, n, arr, path, NULL);
}

static NOINLINE bool eval_array_ann(vctx *c, const snode *n, json_object *arr, const pseg *path, ann *mark)
{
    return eval_array_impl(c, n, arr, path, mark);
}

static size_t utf8_length(const char *s, size_t n)
{
    size_t cps = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            cps++;
    return cps;
}

static NOINLINE bool eval_string(vctx *c, const snode *n, json_object *str, const pseg *path)
{
    bool ok = true;
    const char *s = json_object_get_string(str);
    if (n->min_len >= 0 || n->max_len >= 0) {
        size_t len = utf8_length(s, (size_t)json_object_get_string_len(str));
        if (n->min_len >= 0 && len < (uint64_t)n->min_len) {
            report(c, path, K_OTHER, 0, "expected at least %lld %s, got %zu", (long long)n->min_len,
                   plural(n->min_len, "character", "characters"), len);
            FAIL();
        }
        if (n->max_len >= 0 && len > (uint64_t)n->max_len) {
            report(c, path, K_OTHER, 0, "expected at most %lld %s, got %zu", (long long)n->max_len,
                   plural(n->max_len, "character", "characters"), len);
            FAIL();
        }
    }
    if (n->pattern && ok) { /* a string already too long or short is not also searched */
        size_t blen = (size_t)json_object_get_string_len(str);
        size_t cap = n->pattern_anchored ? PATTERN_SUBJECT_MAX : PATTERN_UNANCHORED_MAX;
        if (!n->pattern_anchored && c->unanchored_bytes + blen > PATTERN_UNANCHORED_BUDGET)
            cap = 0;
        if (blen > cap) {
            report(c, path, K_OTHER, 0,
                   "a string of %zu bytes is too long to be checked against pattern %s (at most %zu bytes%s)", blen,
                   n->pattern_src, n->pattern_anchored ? (size_t)PATTERN_SUBJECT_MAX : (size_t)PATTERN_UNANCHORED_MAX,
                   n->pattern_anchored ? "" : ", and 64 KiB for all such strings of one call");
            FAIL();
        } else {
            if (!n->pattern_anchored)
                c->unanchored_bytes += blen;
            /* the whole string, NUL bytes included (REG_STARTEND): a C string would end at the
               first "\u0000", and "abc\u0000;rm -rf /" matched ^[a-z]+$ */
            regmatch_t whole = {0, (regoff_t)blen};
            if (regexec(n->pattern, s, 1, &whole, REG_STARTEND) != 0) {
                report(c, path, K_OTHER, 0, "must match pattern %s", n->pattern_src);
                FAIL();
            }
        }
    }
    return ok;
}

static NOINLINE bool eval_number(vctx *c, const snode *n, json_object *o, const pseg *path)
{
    bool ok = true;
    num x = num_of(o);
    char a[40], b[40];
    if (n->has_min && num_cmp(&x, &n->minimum) < 0) {
        if (!c->quiet) {
            num_fmt(&n->minimum, a, sizeof a);
            num_fmt(&x, b, sizeof b);
        }
        report(c, path, K_OTHER, 0, "must be >= %s, got %s", a, b);
        FAIL();
    }
    if (n->has_exmin && num_cmp(&x, &n->exmin) <= 0) {
        if (!c->quiet) {
            num_fmt(&n->exmin, a, sizeof a);
            num_fmt(&x, b, sizeof b);
        }
        report(c, path, K_OTHER, 0, "must be > %s, got %s", a, b);
        FAIL();
    }
    if (n->has_max && num_cmp(&x, &n->maximum) > 0) {
        if (!c->quiet) {
            num_fmt(&n->maximum, a, sizeof a);
            num_fmt(&x, b, sizeof b);
        }
        report(c, path, K_OTHER, 0, "must be <= %s, got %s", a, b);
        FAIL();
    }
    if (n->has_exmax && num_cmp(&x, &n->exmax) >= 0) {
        if (!c->quiet) {
            num_fmt(&n->exmax, a, sizeof a);
            num_fmt(&x, b, sizeof b);
        }
        report(c, path, K_OTHER, 0, "must be < %s, got %s", a, b);
        FAIL();
    }
    if (n->has_mult && !num_multiple_of(&x, &n->mult, &n->mult_div)) {
        if (!c->quiet) {
            num_fmt(&n->mult, a, sizeof a);
            num_fmt(&x, b, sizeof b);
        }
        report(c, path, K_OTHER, 0, "must be a multiple of %s, got %s", a, b);
        FAIL();
    }
    return ok;
}

/* How far an alternative is from matching, compared in this order: the violations that say "this
 * is the wrong alternative" (a wrong type of the value itself, a false schema, a wrong
 * constant/enum value at or right below it, i.e. a discriminator); then the number of
 * violations; then how deep the deepest one is (deeper: the value got further into it). */
typedef struct alt_dist {
    size_t heavy, total;
    unsigned deepest;
} alt_dist;

static alt_dist alt_distance(const errvec *e, unsigned depth)
{
    alt_dist d = {0, errvec_total(e), 0};
    for (size_t i = 0; i < e->n; i++) {
        const verr *x = &e->v[i];
        if (x->depth > d.deepest)
            d.deepest = x->depth;
        if (x->indent)
            continue;
        if (x->kind == K_FALSE && x->depth == depth)
            d.heavy += 2; /* can never match */
        else if ((x->kind == K_TYPE && x->depth == depth) || (x->kind == K_VALUE && x->depth <= depth + 1))
            d.heavy++;
    }
    return d;
}

static bool alt_closer(const alt_dist *a, const alt_dist *b)
{
    if (a->heavy != b->heavy)
        return a->heavy < b->heavy;
    if (a->total != b->total)
        return a->total < b->total;
    return a->deepest > b->deepest;
}

#define MAX_LISTED_MATCHES 8u

static NOINLINE void report_matches(vctx *c, const pseg *path, const uint32_t *matches, size_t nmatch,
                                    const char *kwname)
{
    char list[64] = "";
    size_t used = 0;
    for (size_t i = 0; i < nmatch && i < MAX_LISTED_MATCHES; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%u", i ? ", " : "", (unsigned)matches[i] + 1u);
        if (w < 0 || (size_t)w >= sizeof list - used)
            break;
        used += (size_t)w;
    }
    report(c, path, K_OTHER, 0, "matches %zu alternatives (%s%s), expected exactly one (%s)", nmatch, list,
           nmatch > MAX_LISTED_MATCHES ? ", ..." : "", kwname);
}

/* anyOf (exactly_one false) or oneOf (true). all: an anyOf tries every alternative, not just up
 * to the first that matches (the annotations of all those that match count). */
static bool eval_alternatives(vctx *c, snode *const *alts, size_t nalts, bool exactly_one, bool all,
                              json_object *inst, const pseg *path)
{
    if (c->quiet) {
        size_t matched = 0;
        for (size_t i = 0; i < nalts && !c->aborted; i++) {
            if (eval(c, alts[i], inst, path)) {
                if (!exactly_one && !all)
                    return true;
                if (++matched > 1 && exactly_one)
                    return false;
            }
        }
        return (exactly_one ? matched == 1 : matched > 0) && !c->aborted;
    }
    errvec saved = c->errs, best = {0};
    size_t best_i = 0;
    alt_dist best_d = {SIZE_MAX, SIZE_MAX, 0};
    uint32_t matches[MAX_LISTED_MATCHES];
    size_t nmatch = 0;
    bool all_type = true;
    unsigned types = 0;
    for (size_t i = 0; i < nalts; i++) {
        if (nmatch) { /* one matched already: only the verdict of the others matters */
            c->quiet++;
            bool r = eval(c, alts[i], inst, path);
            c->quiet--;
            if (r) {
                if (nmatch < MAX_LISTED_MATCHES)
                    matches[nmatch] = (uint32_t)i;
                nmatch++;
            }
            if (c->aborted)
                break;
            continue;
        }
        memset(&c->errs, 0, sizeof c->errs);
        bool r = eval(c, alts[i], inst, path);
        errvec mine = c->errs;
        if (r || c->aborted) {
            errvec_free(&mine);
            if (c->aborted)
                break;
            matches[nmatch++] = (uint32_t)i;
            if (!exactly_one && !all)
                break;
            continue;
        }
        if (errvec_total(&mine) == 1 && mine.n == 1 && mine.v[0].kind == K_TYPE && mine.v[0].depth == path->depth)
            types |= mine.v[0].types;
        else
            all_type = false;
        alt_dist d = alt_distance(&mine, path->depth);
        if (alt_closer(&d, &best_d)) {
            errvec_free(&best);
            best = mine;
            best_i = i;
            best_d = d;
        } else {
            errvec_free(&mine);
        }
    }
    c->errs = saved;
    if (c->aborted) {
        errvec_free(&best);
        return false;
    }
    const char *kwname = exactly_one ? "oneOf" : "anyOf";
    if (nmatch == 1 || (nmatch > 1 && !exactly_one)) {
        errvec_free(&best);
        return true;
    }
    if (nmatch > 1) {
        errvec_free(&best);
        report_matches(c, path, matches, nmatch, kwname);
        return false;
    }
    if (all_type && types) {
        errvec_free(&best);
        report_type(c, path, types, inst);
        return false;
    }
    report(c, path, K_OTHER, 0, "does not match any of the %zu alternatives (%s); the closest, alternative %zu, "
           "fails with:", nalts, kwname, best_i + 1);
    errvec_move(&c->errs, &best, 1);
    return false;
}

/* The unevaluated members of an object (unevaluatedProperties) or an array (unevaluatedItems)
 * against the keyword's schema; they are evaluated afterwards. */
static NOINLINE bool eval_unevaluated(vctx *c, const snode *n, json_object *inst, const pseg *path, ann *a)
{
    bool ok = true;
    bool obj = json_object_get_type(inst) == json_type_object;
    const snode *u = obj ? n->uneval_props : n->uneval_items;
    if (a->all || u->boolean == 1) {
        a->all = true;
        return true;
    }
    if (obj) {
        struct json_object_iterator it = json_object_iter_begin(inst), end = json_object_iter_end(inst);
        for (size_t pos = 0; !json_object_iter_equal(&it, &end); json_object_iter_next(&it), pos++) {
            if (ann_has(a, pos))
                continue;
            pseg child = {path, json_object_iter_peek_name(&it), 0, path->depth + 1};
            if (u->boolean == 0) {
                report(c, &child, K_OTHER, 0, "property is not allowed (unevaluatedProperties is false)");
                FAIL();
            } else if (!eval(c, u, json_object_iter_peek_value(&it), &child)) {
                FAIL();
            }
        }
    } else {
        for (size_t i = 0; i < a->n; i++) {
            if (ann_has(a, i))
                continue;
            pseg child = {path, NULL, i, path->depth + 1};
            if (u->boolean == 0) {
                report(c, &child, K_OTHER, 0, "item is not allowed (unevaluatedItems is false)");
                FAIL();
            } else if (!eval(c, u, json_object_array_get_idx(inst, i), &child)) {
                FAIL();
            }
        }
    }
    a->all = true;
    return ok;
}

/* A node's keywords. tracked (a constant): the eval_tracked version, where col, when not NULL, is
 * the record of what this node evaluates of inst (then it also applies unevaluated*); without
 * tracked, every annotation step compiles away. */
static ALWAYS_INLINE bool eval_keywords_impl(vctx *c, const snode *n, json_object *inst,
                                                                     const pseg *path, bool tracked, ann *col)
{
    bool ok = true;
    if (n->ref && !eval(c, n->ref, inst, path))
        FAIL();
    unsigned it = inst_types(inst);
    if (n->types && !(n->types & it)) {
        report_type(c, path, n->types, inst);
        return false;
    }
    if (n->enum_vals) {
        bool found = false;
        for (size_t i = 0; i < n->nenum && !found; i++)
            found = json_eq(inst, n->enum_vals[i]);
        if (!found) {
            report(c, path, K_VALUE, 0, "must be one of %s", n->enum_txt);
            FAIL();
        }
    }
    if (n->has_const && !json_eq(inst, n->const_val)) {
        report(c, path, K_VALUE, 0, "must be equal to %s", n->const_txt);
        FAIL();
    }
    if ((it & T_OBJ) && n->obj_kw &&
        !(tracked ? eval_object_ann(c, n, inst, path, col) : eval_object(c, n, inst, path)))
        FAIL();
    if ((it & T_ARR) && n->arr_kw &&
        !(tracked ? eval_array_ann(c, n, inst, path, col) : eval_array(c, n, inst, path)))
        FAIL();
    if ((it & T_STR) && n->str_kw && !eval_string(c, n, inst, path))
        FAIL();
    if ((it & T_NUM) && n->num_kw && !eval_number(c, n, inst, path))
        FAIL();
    for (size_t i = 0; i < n->nall; i++)
        if (!eval(c, n->all_of[i], inst, path))
            FAIL();
    /* the alternatives that fail, and "if", do not make this node fail: what they evaluated is
       dropped (see eval_tracked) */
    if (tracked && col)
        col->keep_failed = false;
    if (n->nany && !eval_alternatives(c, n->any_of, n->nany, false, tracked && col, inst, path))
        FAIL();
    if (n->none && !eval_alternatives(c, n->one_of, n->none, true, tracked && col, inst, path))
        FAIL();
    if (tracked && col)
        col->keep_failed = true;
    if (n->not_s) {
        ann *saved = c->ann;
        if (tracked)
            c->ann = NULL; /* "not" evaluates nothing */
        c->quiet++;
        bool r = eval(c, n->not_s, inst, path);
        c->quiet--;
        if (tracked)
            c->ann = saved;
        if (c->aborted)
            return false;
        if (r) {
            report(c, path, K_OTHER, 0, "must not match the schema in 'not'");
            FAIL();
        }
    }
    if (n->if_s) {
        if (tracked && col)
            col->keep_failed = false;
        c->quiet++;
        bool r = eval(c, n->if_s, inst, path);
        c->quiet--;
        if (tracked && col)
            col->keep_failed = true;
        if (c->aborted)
            return false;
        const snode *branch = r ? n->then_s : n->else_s;
        if (branch && !eval(c, branch, inst, path))
            FAIL();
    }
    if (tracked && col) {
        if (n->if_alone) { /* only for what it evaluates */
            col->keep_failed = false;
            c->quiet++;
            eval(c, n->if_alone, inst, path);
            c->quiet--;
            col->keep_failed = true;
            if (c->aborted)
                return false;
        }
        if (((it & T_OBJ) ? n->uneval_props : (it & T_ARR) ? n->uneval_items : NULL) &&
            !eval_unevaluated(c, n, inst, path, col))
            FAIL();
    }
    return ok;
}

/* A node with track. What the node evaluates of inst is recorded when unevaluated* of this node
 * need it, or when an enclosing node's do (c->ann is inst's record): then in a record of its own,
 * merged into the enclosing one if the node validates, as annotations of failed subschemas are
 * dropped. A node that fails in a subschema that must match for the enclosing one to match (allOf,
 * $ref, then/else, dependentSchemas: keep_failed) is merged all the same: the verdict is "invalid"
 * either way, and the enclosing unevaluated* then does not add "not allowed" for the properties
 * that subschema defines to its own messages. */
static NOINLINE bool eval_tracked(vctx *c, const snode *n, json_object *inst, const pseg *path)
{
    ann *outer = c->ann;
    bool join = outer && outer->inst == inst;
    json_type t = json_object_get_type(inst);
    const snode *u = t == json_type_object ? n->uneval_props : t == json_type_array ? n->uneval_items : NULL;
    if (!join && (!u || u->boolean == 1)) /* nothing to record */
        return eval_keywords_impl(c, n, inst, path, true, NULL);
    ann mine;
    ann_init(&mine, inst);
    c->ann = &mine;
    bool ok = eval_keywords_impl(c, n, inst, path, true, &mine);
    c->ann = outer;
    if (join && (ok || outer->keep_failed) && !c->aborted)
        ann_merge(c, outer, &mine);
    ann_free(&mine);
    return ok;
}

static bool eval(vctx *c, const snode *n, json_object *inst, const pseg *path)
{
    unsigned pushed = 0;
    bool ok = false;
    for (;;) {
        if (c->aborted)
            goto out;
        if (++c->evals > MAX_EVALS) {
            vabort(c, path,
                   "validation stopped after %u subschema evaluations: the schema is too complex for this value, "
                   "so the arguments could not be checked",
                   MAX_EVALS);
            goto out;
        }
        if (n->boolean >= 0) {
            ok = n->boolean == 1;
            if (!ok)
                report(c, path, K_FALSE, 0, "no value is allowed here (the schema is false)");
            goto out;
        }
        unsigned same = 0;
        for (unsigned k = c->nframes; k-- > 0 && c->frames[k].depth == path->depth; same++) {
            if (c->frames[k].n == n) {
                vabort(c, path, "schema error: $ref cycle without progress (%s is re-entered for the same value)",
                       n->loc);
                goto out;
            }
        }
        if (same >= MAX_SAME_INSTANCE) {
            vabort(c, path, "schema error: more than %u nested subschemas apply to the same value (at %s)",
                   MAX_SAME_INSTANCE, n->loc);
            goto out;
        }
        if (c->nframes >= MAX_FRAMES) {
            vabort(c, path, "the value is nested too deeply to validate (more than %u levels of subschemas)",
                   MAX_FRAMES);
            goto out;
        }
        c->frames[c->nframes++] = (frame){n, path->depth};
        pushed++;
        if (!n->ref_only)
            break;
        n = n->ref;
    }
    ok = n->track ? eval_tracked(c, n, inst, path) : eval_keywords_impl(c, n, inst, path, false, NULL);
out:
    c->nframes -= pushed;
    return ok;
}

static void add_line(buf *r, const char *path, const char *msg, unsigned indent)
{
    if (r->len)
        buf_append_char(r, '\n');
    for (unsigned i = 0; i < indent; i++)
        buf_append_str(r, "  ");
    buf_append_str(r, path);
    buf_append_str(r, ": ");
    const unsigned char *run = (const unsigned char *)msg, *p = run;
    for (; *p; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            continue;
        buf_append(r, (const char *)run, (size_t)(p - run));
        if (*p == '\n')
            buf_append_str(r, "\\n");
        else if (*p == '\r')
            buf_append_str(r, "\\r");
        else if (*p == '\t')
            buf_append_str(r, "\\t");
        else
            buf_appendf(r, "\\u%04x", *p);
        run = p + 1;
    }
    buf_append(r, (const char *)run, (size_t)(p - run));
}

size_t schema_validate(const schema_validator *v, json_object *instance, char **report_out)
{
    if (report_out)
        *report_out = NULL;
    if (!v)
        return 0;
    vctx ctx; /* the frame stack needs no clearing: only frames below nframes are read */
    ctx.evals = 0;
    ctx.unanchored_bytes = 0;
    ctx.ann = NULL;
    ctx.quiet = 0;
    ctx.aborted = false;
    ctx.abort_path = ctx.abort_msg = NULL;
    memset(&ctx.errs, 0, sizeof ctx.errs);
    ctx.nframes = 0;
    vctx *c = &ctx;
    pseg root = {NULL, NULL, 0, 0};
    eval(c, v->root, instance, &root);
    size_t total = errvec_total(&c->errs) + (c->aborted ? 1u : 0u);
    if (total && report_out) {
        buf r = BUF_INIT;
        size_t shown = 0;
        if (c->aborted) {
            add_line(&r, c->abort_path, c->abort_msg, 0);
            shown++;
        }
        for (size_t i = 0; i < c->errs.n && shown < MAX_REPORT_LINES; i++, shown++)
            add_line(&r, c->errs.v[i].path, c->errs.v[i].msg, c->errs.v[i].indent);
        if (total > shown)
            buf_appendf(&r, "\n... and %zu more", total - shown);
        *report_out = buf_steal(&r);
    }
    errvec_free(&c->errs);
    free(c->abort_path);
    free(c->abort_msg);
    return total;
}
