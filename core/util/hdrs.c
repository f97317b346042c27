#include "config.h"
#include "util/hdrs.h"

#include <stdlib.h>
#include <string.h>

#include "util/str.h"

void hdrs_addn(hdrs *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->names = xrealloc(h->names, h->cap * sizeof *h->names);
        h->values = xrealloc(h->values, h->cap * sizeof *h->values);
    }
    h->names[h->n] = xstrndup(name, nlen);
    h->values[h->n] = xstrndup(value, vlen);
    h->n++;
}

void hdrs_add(hdrs *h, const char *name, const char *value)
{
    hdrs_addn(h, name, strlen(name), value, strlen(value));
}

void hdrs_remove(hdrs *h, const char *name)
{
    size_t o = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (str_ieq(h->names[i], name)) {
            free(h->names[i]);
            secure_zero(h->values[i], strlen(h->values[i]));
            free(h->values[i]);
            continue;
        }
        h->names[o] = h->names[i];
        h->values[o] = h->values[i];
        o++;
    }
    h->n = o;
}

void hdrs_set(hdrs *h, const char *name, const char *value)
{
    hdrs_remove(h, name);
    hdrs_add(h, name, value);
}

const char *hdrs_get(const hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (str_ieq(h->names[i], name))
            return h->values[i];
    return NULL;
}

const char *hdrs_get_exact(const hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

int hdrs_add_lines(hdrs *h, const char *const *lines)
{
    if (!lines)
        return 0;
    for (; *lines; lines++) {
        const char *c = strchr(*lines, ':');
        if (!c || c == *lines)
            return -1;
        const char *v = c + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vlen = strlen(v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        hdrs_addn(h, *lines, (size_t)(c - *lines), v, vlen);
    }
    return 0;
}

void hdrs_free(hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->names[i]);
        /* header values can carry tokens (X-Amz-Security-Token, Authorization) */
        secure_zero(h->values[i], strlen(h->values[i]));
        free(h->values[i]);
    }
    free(h->names);
    free(h->values);
    h->names = h->values = NULL;
    h->n = h->cap = 0;
}

bool hdrs_value_ok(const char *s)
{
    return s && !s[strcspn(s, "\r\n")];
}
