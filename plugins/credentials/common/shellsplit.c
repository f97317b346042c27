#include "shellsplit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static void push(char ***v, size_t *n, cc_buf *word)
{
    *v = cc_xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = word->data ? word->data : cc_strdup("");
    (*v)[*n] = NULL;
    word->data = NULL;
    word->len = word->cap = 0;
}

int cc_shell_split(const char *line, char ***argv, size_t *argc, char *err, size_t errlen)
{
    char **v = cc_xcalloc(1, sizeof *v);
    size_t n = 0;
    cc_buf word = CC_BUF_INIT;
    bool in_word = false; /* a word has started (possibly empty, from '') */
    const char *p = line ? line : "";
    while (*p) {
        char c = *p;
        if (blank(c)) {
            if (in_word)
                push(&v, &n, &word);
            in_word = false;
            p++;
        } else if (c == '\\') {
            if (!p[1]) {
                snprintf(err, errlen, "a backslash at the end of the command line escapes nothing");
                goto fail;
            }
            cc_buf_append(&word, p + 1, 1);
            in_word = true;
            p += 2;
        } else if (c == '\'') {
            const char *close = strchr(p + 1, '\'');
            if (!close) {
                snprintf(err, errlen, "the command line has a ' without its closing quote");
                goto fail;
            }
            cc_buf_append(&word, p + 1, (size_t)(close - p - 1));
            in_word = true;
            p = close + 1;
        } else if (c == '"') {
            p++;
            for (;;) {
                if (!*p) {
                    snprintf(err, errlen, "the command line has a \" without its closing quote");
                    goto fail;
                }
                if (*p == '"')
                    break;
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) {
                    cc_buf_append(&word, p + 1, 1);
                    p += 2;
                    continue;
                }
                if (*p == '\\' && !p[1]) {
                    snprintf(err, errlen, "the command line has a \" without its closing quote");
                    goto fail;
                }
                cc_buf_append(&word, p, 1);
                p++;
            }
            in_word = true;
            p++;
        } else {
            cc_buf_append(&word, p, 1);
            in_word = true;
            p++;
        }
    }
    if (in_word)
        push(&v, &n, &word);
    *argv = v;
    if (argc)
        *argc = n;
    return 0;
fail:
    cc_buf_wipe_free(&word);
    cc_strv_free(v);
    *argv = NULL;
    if (argc)
        *argc = 0;
    return -1;
}
