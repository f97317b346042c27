/* Growable byte buffer. Owner: whoever declared it; release with buf_free(). Always
 * NUL-terminated after any successful append, so data can be used as a C string. */
#ifndef LMCP_UTIL_BUF_H
#define LMCP_UTIL_BUF_H
#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT {NULL, 0, 0}

int buf_reserve(buf *b, size_t extra);            /* 0 ok, -1 out of memory */
int buf_append(buf *b, const void *data, size_t len);
int buf_append_str(buf *b, const char *s);
int buf_append_char(buf *b, char c);
int buf_appendf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vappendf(buf *b, const char *fmt, va_list ap);
/* A JSON string literal for s (n bytes): quotes around it, '"' '\\' and the control characters
 * below 0x20 escaped (\n, \t, ..., else \u00XX), every other byte as it is. The one JSON string
 * escaper of the core (json-c's own serialiser aside). */
int buf_append_json_string(buf *b, const char *s, size_t n);
void buf_reset(buf *b);                           /* len = 0, keeps memory */
char *buf_steal(buf *b);                          /* returns data (never NULL), b reset to empty */
void buf_free(buf *b);
#endif
