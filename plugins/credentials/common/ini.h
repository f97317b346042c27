/* The INI dialect of the AWS shared config and credentials files, as the AWS CLI (botocore on
 * Python's configparser) reads them:
 *
 *   [section name]          a section; whitespace inside the brackets is trimmed, anything after
 *                           the closing bracket is ignored (so "[x] # comment" works)
 *   key = value             also "key: value" (the first '=' or ':' separates); keys are
 *                           case-insensitive (stored lower-case), values keep their case; both
 *                           are trimmed
 *   # comment, ; comment    full-line comments, indented or not
 *   key = value  # comment  an inline comment starts at a '#' or ';' preceded by whitespace
 *   s3 =                    a key with an empty value followed by more indented "k = v" lines
 *     max_concurrency = 10  is a sub-section (botocore's nested values); more indented lines
 *                           after a non-empty value are continuation lines (joined with '\n')
 *
 * Indentation is configparser's: a line continues the current key only when it is indented
 * more than the line that started the key. Lines indented alike are separate keys (or
 * sections), so a whole file may be indented, as when written from an indented heredoc.
 * "\n", "\r\n" and a lone "\r" end a line (Python's universal newlines).
 *
 * Departures from configparser, chosen to be lenient where configparser would refuse the
 * whole file (and the AWS CLI with it): a repeated section is merged (later keys win), a
 * repeated key is overwritten, lines before the first section and lines that are none of the
 * above are ignored and reported in `warnings`. A UTF-8 byte order mark is skipped.
 * Values are wiped from memory when the document is freed (they hold secret keys). */
#ifndef LMCP_CRED_INI_H
#define LMCP_CRED_INI_H
#include <stddef.h>

typedef struct ini_pair {
    char *key;              /* lower-case */
    char *value;            /* never NULL; "" for a sub-section header */
    struct ini_pair *sub;   /* sub-section entries (keys lower-case), or NULL */
    size_t nsub;
    int line;
} ini_pair;

typedef struct ini_section {
    char *name;             /* as written between the brackets, trimmed */
    ini_pair *pairs;        /* in file order; a repeated key keeps its first slot */
    size_t n;
    int line;               /* where it first appeared */
} ini_section;

typedef struct ini_doc {
    ini_section *sections;  /* in order of first appearance */
    size_t n;
    char **warnings;        /* "line 7: ..." for ignored lines */
    size_t nwarn;
} ini_doc;

void ini_parse(const char *text, size_t len, ini_doc *doc);
void ini_free(ini_doc *doc);

const ini_section *ini_section_find(const ini_doc *doc, const char *name);
const ini_pair *ini_pair_find(const ini_section *s, const char *key); /* key: any case */
const char *ini_get(const ini_section *s, const char *key);           /* NULL if absent */
/* a sub-section value: ini_sub_get(s, "s3", "max_concurrency") */
const char *ini_sub_get(const ini_section *s, const char *key, const char *subkey);
#endif
