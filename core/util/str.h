/* Small string helpers. Every char * returned is owned by the caller (free()). */
#ifndef LMCP_UTIL_STR_H
#define LMCP_UTIL_STR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"

char *xstrdup(const char *s);                 /* NULL in, NULL out; aborts on OOM */
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);                      /* aborts with a message on OOM */
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool str_starts_with(const char *s, const char *prefix);
bool str_ieq(const char *a, const char *b);   /* ASCII case-insensitive equality */
char *str_trim(char *s);                      /* in place; returns s advanced past blanks */
/* Split on sep, trim each item, drop empty items. Returns the count; *items is a
 * NULL-terminated array owned by the caller (str_list_free). */
size_t str_split(const char *s, char sep, char ***items);
void str_list_free(char **items);
/* URI-encode per SigV4 rules: unreserved A-Za-z0-9-_.~ kept, everything else %XX;
 * '/' kept when encode_slash is false. */
char *uri_encode(const char *s, bool encode_slash);
/* Percent-decode n bytes of s into a new NUL-terminated string; a '%' not followed by two hex
 * digits is kept as it is. ('+' is not a space: this is URI, not form, decoding.) */
char *uri_decode(const char *s, size_t n);
/* A copy of url without its userinfo (user:password@) and without query and fragment: the
 * form of a URL that may appear in logs and messages. */
char *url_for_log(const char *url);
/* Replace, in place, every occurrence of secret in s by "****" (the text only shrinks). Secrets
 * shorter than STR_REDACT_MIN characters are left alone: masking every "abc" would garble the
 * text and hide nothing worth hiding. Returns the number of occurrences replaced. For messages
 * built from what a server answered, which may quote what it was sent. */
#define STR_REDACT_MIN 4
size_t str_redact(char *s, const char *secret);
/* base64 (RFC 4648): the one encoder and decoder of the code base. */
char *base64_encode(const void *data, size_t len);   /* standard alphabet, padded */
/* Lenient: either alphabet, whitespace skipped, stops at '='. Returns a NUL-terminated buffer
 * of *out_len bytes, or NULL on invalid input. */
unsigned char *base64_decode(const char *s, size_t *out_len);
char *base64url_encode(const void *data, size_t len); /* URL alphabet, no padding */
/* Strict base64url: the URL alphabet only, no padding, no whitespace, and the canonical
 * encoding only (a length that is not 1 mod 4, unused trailing bits zero), so one byte string
 * has exactly one encoding. Returns a NUL-terminated buffer of *out_len bytes, or NULL. */
unsigned char *base64url_decode(const char *s, size_t *out_len);

/* UTF-8, RFC 3629 strictly (no overlong forms, no encoded surrogates, nothing above U+10FFFF):
 * the one table of the code base. The length of the sequence at s (n >= 1 bytes available):
 * 1 for ASCII, up to 4; 0 when s does not start a valid sequence, with *bad (when not NULL) the
 * length of its maximal valid prefix (at least 1), the unit one U+FFFD replaces (Unicode's
 * "substitution of maximal subparts"). */
size_t utf8_seq_len(const unsigned char *s, size_t n, size_t *bad);
/* The UTF-8 encoding of code point cp (at most U+10FFFF) in out; returns its length, 1..4. */
size_t utf8_encode(unsigned cp, char out[4]);
/* Whether s (len bytes) is valid UTF-8 as utf8_seq_len defines it. */
bool utf8_valid(const char *s, size_t len);
/* The length of s (len bytes) cut to at most max bytes without splitting a UTF-8 sequence. */
size_t utf8_cut(const char *s, size_t len, size_t max);
/* Append s (len bytes) to out as valid UTF-8: each invalid sequence becomes U+FFFD. */
void utf8_sanitize(buf *out, const char *s, size_t len);
void hex_encode(const unsigned char *data, size_t len, char *out /* 2*len+1 */);
int hex_digit(int c); /* the value of a hex digit (either case), or -1 */
/* Overwrite memory so a secret does not linger (explicit_bzero: not optimised away). The one
 * wipe function of the code base. */
void secure_zero(void *p, size_t n);
/* Parse "1500", "1.5s", "200ms", "2m", "1h" into milliseconds. */
bool parse_duration_ms(const char *s, int64_t *out);
#endif
