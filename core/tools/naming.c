#include "config.h"
#include "tools/naming.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"

char *tool_name_sanitize(const char *name)
{
    const char *src = name;
    size_t n = strlen(src);
    char *out = xmalloc(n + 2), *o = out;
    if (src[0] >= '0' && src[0] <= '9')
        *o++ = '_';
    for (const char *p = src; *p; p++) {
        char c = *p; /* ASCII classes, whatever the locale */
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        *o++ = ok ? c : '_';
    }
    *o = '\0';
    if (out[0] == '\0') {
        free(out);
        out = xstrdup("_");
    }
    size_t len = (size_t)(o - out);
    if (len > TOOL_NAME_MAX) {
        /* the start, and a hash of the whole name: the same name always gives the same tool name,
           and two long names that share their start still differ */
        uint32_t h = 2166136261u; /* FNV-1a */
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            h = (h ^ *p) * 16777619u;
        snprintf(out + TOOL_NAME_MAX - 9, 10, "_%08x", (unsigned)h);
    }
    return out;
}

typedef struct entry {
    size_t idx;
    const char *name;
    const char *key;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->key ? x->key : "", y->key ? y->key : "");
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool taken(char **sorted, size_t n, const char *name)
{
    return bsearch(&name, sorted, n, sizeof *sorted, cmp_str) != NULL;
}

size_t tool_names_make_unique(char **names, const char *const *keys, size_t n)
{
    if (n < 2)
        return 0;
    entry *e = xmalloc(n * sizeof *e);
    for (size_t i = 0; i < n; i++)
        e[i] = (entry){i, names[i], keys ? keys[i] : NULL};
    qsort(e, n, sizeof *e, cmp_entry);

    /* every original name is reserved, so a suffixed name never steals another tool's name */
    char **reserved = xmalloc(n * sizeof *reserved);
    for (size_t i = 0; i < n; i++)
        reserved[i] = (char *)e[i].name;
    size_t n_res = n;
    char **extra = NULL;
    size_t n_extra = 0;

    size_t renamed = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(e[i].name, e[i - 1].name) != 0)
            continue;
        /* find the first member of this collision group */
        size_t first = i - 1;
        while (first > 0 && strcmp(e[first - 1].name, e[i].name) == 0)
            first--;
        for (unsigned k = 2;; k++) {
            char suffix[16];
            int sl = snprintf(suffix, sizeof suffix, "_%u", k);
            size_t base = strlen(e[i].name); /* the suffix fits within TOOL_NAME_MAX */
            if (base + (size_t)sl > TOOL_NAME_MAX)
                base = TOOL_NAME_MAX - (size_t)sl;
            char *cand = xasprintf("%.*s%s", (int)base, e[i].name, suffix);
            bool used = taken(reserved, n_res, cand);
            for (size_t j = 0; !used && j < n_extra; j++)
                used = strcmp(extra[j], cand) == 0;
            if (!used) {
                LOG_WARN("tools", "tool name '%s' is taken by function %s; function %s becomes tool '%s'",
                         e[i].name, e[first].key ? e[first].key : "?", e[i].key ? e[i].key : "?", cand);
                extra = xrealloc(extra, (n_extra + 1) * sizeof *extra);
                extra[n_extra++] = cand;
                renamed++;
                break;
            }
            free(cand);
        }
    }
    /* the new names were generated in sorted order over the duplicates; assign them the same way */
    size_t next = 0;
    const char *prev_name = NULL; /* the first of its group: only the others are freed below */
    for (size_t i = 0; i < n; i++) {
        if (!prev_name || strcmp(e[i].name, prev_name) != 0) {
            prev_name = e[i].name;
            continue;
        }
        free(names[e[i].idx]);
        names[e[i].idx] = extra[next++];
    }
    free(extra);
    free(reserved);
    free(e);
    return renamed;
}
