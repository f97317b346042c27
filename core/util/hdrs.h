/* An ordered list of HTTP header (name, value) pairs. Names keep their case; lookups are
 * case-insensitive. Owner: whoever declared it; release with hdrs_free(). */
#ifndef LMCP_UTIL_HDRS_H
#define LMCP_UTIL_HDRS_H
#include <stdbool.h>
#include <stddef.h>

typedef struct hdrs {
    size_t n, cap;
    char **names;
    char **values;
} hdrs;

#define HDRS_INIT {0, 0, NULL, NULL}

void hdrs_add(hdrs *h, const char *name, const char *value);     /* copies both */
void hdrs_addn(hdrs *h, const char *name, size_t nlen, const char *value, size_t vlen);
void hdrs_set(hdrs *h, const char *name, const char *value);     /* replace all of that name */
const char *hdrs_get(const hdrs *h, const char *name);           /* first match or NULL */
const char *hdrs_get_exact(const hdrs *h, const char *name);     /* case-sensitive (tags) */
void hdrs_remove(hdrs *h, const char *name);
/* Parse "Name: value" strings (NULL-terminated array) into h. Returns -1 on a malformed one. */
int hdrs_add_lines(hdrs *h, const char *const *lines);
void hdrs_free(hdrs *h);
/* True when s can go into a header line as it is: no CR or LF that would end the line and
 * start another (header injection). The one such check; the HTTP layer runs it on every
 * name and value it sends. */
bool hdrs_value_ok(const char *s);
#endif
