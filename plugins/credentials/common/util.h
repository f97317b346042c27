/* Small helpers shared by the credentials plugins: allocation (abort on out-of-memory, as the
 * host does), secret wiping, a growable buffer, timestamps, path expansion, file reading.
 * Everything here is pure C11 + POSIX: no host services, so the unit tests link it directly. */
#ifndef LMCP_CRED_UTIL_H
#define LMCP_CRED_UTIL_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *cc_xmalloc(size_t n);
void *cc_xcalloc(size_t n, size_t size);
void *cc_xrealloc(void *p, size_t n);
char *cc_strdup(const char *s);               /* NULL -> NULL */
char *cc_strndup(const char *s, size_t n);
char *cc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Overwrite memory so the compiler cannot drop it, then (for the _free variants) release it. */
void cc_wipe(void *p, size_t n);
void cc_free_secret(char *s);                 /* wipe strlen(s) bytes, free; NULL is fine */
void cc_free_secret_n(char *s, size_t n);     /* wipe n bytes, free */

void cc_strv_free(char **v);                  /* NULL-terminated vector */

/* A growable byte buffer, always NUL-terminated once anything was appended. */
typedef struct cc_buf {
    char *data;
    size_t len, cap;
} cc_buf;
#define CC_BUF_INIT {NULL, 0, 0}
void cc_buf_append(cc_buf *b, const void *p, size_t n);
void cc_buf_puts(cc_buf *b, const char *s);
void cc_buf_printf(cc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cc_buf_wipe_free(cc_buf *b);             /* wipe the whole allocation, free */

/* getenv() that treats an empty value as unset. */
const char *cc_env(const char *name);
/* true when the variable is set to "true" (any case), as the AWS SDKs read flags */
bool cc_env_true(const char *name);
bool cc_streq_ci(const char *a, const char *b);

/* ISO 8601 / RFC 3339 time -> Unix epoch milliseconds. Accepts "2026-01-02T03:04:05Z",
 * fractions, "+01:00" / "+0100" offsets, a "UTC" suffix (old AWS CLI SSO caches), a space
 * instead of the T, and no zone at all (taken as UTC). Returns 0, or -1 if it is not a time. */
int cc_parse_time(const char *s, int64_t *ms);
/* "2026-01-02T03:04:05Z" (what the AWS CLI writes in its SSO cache) */
void cc_format_time(int64_t ms, char out[32]);

/* Like Python's os.path.expandvars + expanduser (which botocore applies to AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE): $VAR and ${VAR} are replaced when VAR is set (left as they are
 * otherwise), then a leading ~ or ~/ becomes $HOME (or the passwd entry's home). */
char *cc_expand_path(const char *path);

/* Read a whole file (at most max bytes; more is an error). Returns 0 and a NUL-terminated
 * buffer, or -errno (-ENOENT when it does not exist, -EFBIG when it is too large). The caller
 * frees with cc_free_secret_n(data, len) when it may hold a secret. */
int cc_read_file(const char *path, size_t max, char **data, size_t *len);
/* cc_read_file for a token file (a bearer or web identity token, rotated by the platform, so
 * read at every use): trailing whitespace is cut (NULs written over it). *len stays the number of
 * bytes read: free with cc_free_secret_n(token, len). */
int cc_read_token_file(const char *path, size_t max, char **token, size_t *len);

/* Replace, in place, every occurrence of secret (4 characters or more) in s by "****"; the text
 * only shrinks. For messages that quote what an endpoint answered: the answer may echo the token
 * it was sent. */
void cc_redact(char *s, const char *secret);

/* Trim ASCII whitespace at both ends in place; returns s. */
char *cc_trim(char *s);

/* "****************ABCD": the last four characters of an access key id, like the AWS CLI. */
void cc_mask_key(const char *akid, char out[24]);
#endif
