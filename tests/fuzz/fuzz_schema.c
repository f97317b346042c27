/* libFuzzer target: the JSON Schema compiler and validator (core/tools/schema.c), including the
 * ECMA-262 to POSIX ERE translation of "pattern".
 * Input, either:
 *  - SCHEMA NUL INSTANCE: two JSON texts; the schema is compiled and, when it compiles, the
 *    instance (or, when there is none, the schema itself) is validated against it;
 *  - 'R' PATTERN NUL SUBJECT: {"type":"string","pattern":PATTERN} against the string SUBJECT
 *    (both taken as bytes: they need not be valid UTF-8, as a \u escape cannot give that
 *    but a schema file might).
 * Properties: no crash, leak or hang; a report is given iff there are violations, and it is
 * NUL-terminated UTF-8-clean text. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/schema.h"
#include "util/jsonparse.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_schema: property violated: %s\n", what);
        abort();
    }
}

static void check(json_object *schema, json_object *inst)
{
    char err[256];
    schema_validator *v = schema_validator_new(schema, err, sizeof err);
    if (!v)
        return;
    const char *w = schema_validator_warnings(v);
    if (w)
        (void)strlen(w);
    char *report = NULL;
    size_t n = schema_validate(v, inst, &report);
    must((n > 0) == (report != NULL && report[0] != '\0') || (n == 0 && (!report || !report[0])),
         "report given iff violations");
    free(report);
    schema_validator_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t n1 = nul ? (size_t)(nul - text) : size;
    const char *t2 = nul ? nul + 1 : NULL;
    size_t n2 = nul ? size - n1 - 1 : 0;
    if (size && data[0] == 'R') {
        json_object *schema = json_object_new_object();
        json_object_object_add(schema, "type", json_object_new_string("string"));
        json_object_object_add(schema, "pattern", json_object_new_string_len(text + 1, (int)(n1 - 1)));
        json_object *inst = json_object_new_string_len(t2 ? t2 : "", (int)n2);
        check(schema, inst);
        json_object_put(inst);
        json_object_put(schema);
        return 0;
    }
    json_object *schema = NULL, *inst = NULL;
    if (!json_parse_strict(text, n1, JSON_MAX_DEPTH, &schema, NULL))
        return 0;
    if (t2 && !json_parse_strict(t2, n2, JSON_MAX_DEPTH, &inst, NULL)) {
        json_object_put(schema);
        return 0;
    }
    check(schema, t2 ? inst : schema);
    json_object_put(inst);
    json_object_put(schema);
    return 0;
}
