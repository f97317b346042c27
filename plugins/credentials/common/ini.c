#include "ini.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }

/* [b, e) trimmed of blanks */
static void trim_range(const char **b, const char **e)
{
    while (*b < *e && (is_blank(**b) || **b == '\r'))
        (*b)++;
    while (*e > *b && (is_blank((*e)[-1]) || (*e)[-1] == '\r'))
        (*e)--;
}

/* cut an inline comment: the first '#' or ';' preceded by a blank */
static void cut_comment(const char *b, const char **e)
{
    for (const char *p = b + 1; p < *e; p++) {
        if ((*p == '#' || *p == ';') && is_blank(p[-1])) {
            *e = p;
            break;
        }
    }
    while (*e > b && is_blank((*e)[-1]))
        (*e)--;
}

static char *lower_dup(const char *b, const char *e)
{
    char *s = cc_strndup(b, (size_t)(e - b));
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

static void warn(ini_doc *doc, int line, const char *what)
{
    doc->warnings = cc_xrealloc(doc->warnings, (doc->nwarn + 1) * sizeof *doc->warnings);
    doc->warnings[doc->nwarn++] = cc_asprintf("line %d: %s", line, what);
}

static ini_section *section_get(ini_doc *doc, const char *b, const char *e, int line)
{
    size_t n = (size_t)(e - b);
    for (size_t i = 0; i < doc->n; i++)
        if (strlen(doc->sections[i].name) == n && memcmp(doc->sections[i].name, b, n) == 0)
            return &doc->sections[i];
    doc->sections = cc_xrealloc(doc->sections, (doc->n + 1) * sizeof *doc->sections);
    ini_section *s = &doc->sections[doc->n++];
    memset(s, 0, sizeof *s);
    s->name = cc_strndup(b, n);
    s->line = line;
    return s;
}

static void pair_clear(ini_pair *p)
{
    free(p->key);
    cc_free_secret(p->value);
    for (size_t i = 0; i < p->nsub; i++)
        pair_clear(&p->sub[i]);
    free(p->sub);
    memset(p, 0, sizeof *p);
}

/* set key=value in an array of pairs (overwriting a repeated key); returns the pair */
static ini_pair *pairs_set(ini_pair **arr, size_t *n, char *key, char *value, int line)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*arr)[i].key, key) == 0) {
            ini_pair *p = &(*arr)[i];
            free(key);
            cc_free_secret(p->value);
            for (size_t k = 0; k < p->nsub; k++)
                pair_clear(&p->sub[k]);
            free(p->sub);
            p->sub = NULL;
            p->nsub = 0;
            p->value = value;
            p->line = line;
            return p;
        }
    }
    *arr = cc_xrealloc(*arr, (*n + 1) * sizeof **arr);
    ini_pair *p = &(*arr)[(*n)++];
    memset(p, 0, sizeof *p);
    p->key = key;
    p->value = value;
    p->line = line;
    return p;
}

/* split "key = value" / "key: value" at the first delimiter; false if there is none or no key */
static bool split_kv(const char *b, const char *e, bool colon_too, const char **kb, const char **ke,
                     const char **vb, const char **ve)
{
    const char *d = b;
    while (d < e && *d != '=' && !(colon_too && *d == ':'))
        d++;
    if (d == e)
        return false;
    *kb = b;
    *ke = d;
    trim_range(kb, ke);
    if (*kb == *ke)
        return false;
    *vb = d + 1;
    *ve = e;
    trim_range(vb, ve);
    if (*vb < *ve)
        cut_comment(*vb, ve);
    return true;
}

/* The next line of [p, end): Python reads the files with universal newlines, so "\n", "\r\n"
 * and a lone "\r" all end a line. Returns the start of the following line. */
static const char *next_line(const char *p, const char *end, const char **le)
{
    const char *q = p;
    while (q < end && *q != '\n' && *q != '\r')
        q++;
    *le = q;
    if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
        return q + 2;
    return q < end ? q + 1 : end;
}

/* The line structure is configparser's (Python's RawConfigParser, which botocore uses):
 *  - a line is a continuation of the current key only when it is indented MORE than the line
 *    that started that key (configparser's indent_level); a [section] header or a
 *    'key = value' line indented like (or less than) that line starts a new section or key,
 *    so a file written from an indented heredoc reads as if it were not indented;
 *  - the indentation counts characters (a tab is one, like configparser);
 *  - blank lines and comment lines change nothing: a blank line inside a continued value
 *    stays in it (as an empty line), trailing ones are dropped;
 *  - no line continues a section header.
 * What botocore then does with a value whose first line is empty ("s3 =" followed by indented
 * 'k = v' lines) is its nested values: here the sub-section of that key. */
void ini_parse(const char *text, size_t len, ini_doc *doc)
{
    memset(doc, 0, sizeof *doc);
    const char *p = text, *end = text + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    ini_section *cur = NULL;
    size_t cur_pair = (size_t)-1; /* index of the current key in cur, for continuations */
    bool cur_is_sub = false;      /* that key opened a sub-section */
    size_t indent_level = 0;      /* indentation of the line that started the current key */
    size_t blanks = 0;            /* blank lines since the last line of the current key's value */
    int line = 0;
    while (p < end) {
        const char *lb = p, *le;
        p = next_line(p, end, &le);
        line++;
        const char *b = lb, *e = le;
        trim_range(&b, &e);
        if (b == e) {
            blanks++;
            continue;
        }
        if (*b == '#' || *b == ';')
            continue;
        size_t indent = (size_t)(b - lb);
        if (cur && cur_pair != (size_t)-1 && indent > indent_level) {
            ini_pair *owner = &cur->pairs[cur_pair];
            size_t nl = blanks + 1;
            blanks = 0;
            if (cur_is_sub) {
                const char *kb, *ke, *vb, *ve;
                if (!split_kv(b, e, false, &kb, &ke, &vb, &ve)) {
                    warn(doc, line, "ignored: a sub-section line must be 'key = value'");
                    continue;
                }
                pairs_set(&owner->sub, &owner->nsub, lower_dup(kb, ke), cc_strndup(vb, (size_t)(ve - vb)), line);
            } else {
                cut_comment(b, &e);
                /* the value, then one '\n' per line ended (the blank ones kept as empty lines) */
                size_t ov = strlen(owner->value), n = (size_t)(e - b);
                char *joined = cc_xmalloc(ov + nl + n + 1);
                memcpy(joined, owner->value, ov);
                memset(joined + ov, '\n', nl);
                memcpy(joined + ov + nl, b, n);
                joined[ov + nl + n] = '\0';
                cc_free_secret(owner->value);
                owner->value = joined;
            }
            continue;
        }
        blanks = 0;
        indent_level = indent;
        if (*b == '[') {
            const char *close = memchr(b, ']', (size_t)(e - b));
            if (!close) {
                warn(doc, line, "ignored: a section header without ']'");
                cur = NULL;
                cur_pair = (size_t)-1;
                continue;
            }
            const char *nb = b + 1, *ne = close;
            trim_range(&nb, &ne);
            if (nb == ne) {
                warn(doc, line, "ignored: an empty section name");
                cur = NULL;
                cur_pair = (size_t)-1;
                continue;
            }
            cur = section_get(doc, nb, ne, line);
            cur_pair = (size_t)-1;
            cur_is_sub = false;
            continue;
        }
        const char *kb, *ke, *vb, *ve;
        if (!split_kv(b, e, true, &kb, &ke, &vb, &ve)) {
            warn(doc, line, "ignored: not a [section], a 'key = value' line or a comment");
            continue;
        }
        if (!cur) {
            warn(doc, line, "ignored: a 'key = value' line before the first [section]");
            continue;
        }
        ini_pair *pr = pairs_set(&cur->pairs, &cur->n, lower_dup(kb, ke), cc_strndup(vb, (size_t)(ve - vb)), line);
        cur_pair = (size_t)(pr - cur->pairs);
        cur_is_sub = vb == ve;
    }
}

void ini_free(ini_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n; i++) {
        ini_section *s = &doc->sections[i];
        for (size_t k = 0; k < s->n; k++)
            pair_clear(&s->pairs[k]);
        free(s->pairs);
        free(s->name);
    }
    free(doc->sections);
    for (size_t i = 0; i < doc->nwarn; i++)
        free(doc->warnings[i]);
    free(doc->warnings);
    memset(doc, 0, sizeof *doc);
}

const ini_section *ini_section_find(const ini_doc *doc, const char *name)
{
    for (size_t i = 0; doc && name && i < doc->n; i++)
        if (strcmp(doc->sections[i].name, name) == 0)
            return &doc->sections[i];
    return NULL;
}

static const ini_pair *find_in(const ini_pair *arr, size_t n, const char *key)
{
    for (size_t i = 0; key && i < n; i++)
        if (cc_streq_ci(arr[i].key, key))
            return &arr[i];
    return NULL;
}

const ini_pair *ini_pair_find(const ini_section *s, const char *key)
{
    return s ? find_in(s->pairs, s->n, key) : NULL;
}

const char *ini_get(const ini_section *s, const char *key)
{
    const ini_pair *p = ini_pair_find(s, key);
    return p ? p->value : NULL;
}

const char *ini_sub_get(const ini_section *s, const char *key, const char *subkey)
{
    const ini_pair *p = ini_pair_find(s, key);
    const ini_pair *q = p ? find_in(p->sub, p->nsub, subkey) : NULL;
    return q ? q->value : NULL;
}
