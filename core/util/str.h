/* Small string helpers. Every char * returned is owned by the caller (free()). */
#ifndef LMCP_UTIL_STR_H
#define LMCP_UTIL_STR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
char *base64_encode(const void *data, size_t len);
/* Returns a NUL-terminated buffer of *out_len bytes, or NULL on invalid input. */
unsigned char *base64_decode(const char *s, size_t *out_len);
void hex_encode(const unsigned char *data, size_t len, char *out /* 2*len+1 */);
/* Overwrite memory so a secret does not linger (explicit_bzero: not optimised away). The one
 * wipe function of the code base. */
void secure_zero(void *p, size_t n);
/* Parse "1500", "1.5s", "200ms", "2m", "1h" into milliseconds. */
bool parse_duration_ms(const char *s, int64_t *out);
#endif
