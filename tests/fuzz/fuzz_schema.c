/* libFuzzer target: the JSON Schema compiler and validator (core/tools/schema.c), including the
 * ECMA-262 to POSIX ERE translation of "pattern".
 * Input, either:
 *  - SCHEMA NUL INSTANCE: two JSON texts; the schema is compiled and, when it compiles, the
 *    instance (or, when there is none, the schema itself) is validated against it;
 *  - 'R' PATTERN NUL SUBJECT: {"type":"string","pattern":PATTERN} against the string SUBJECT
 *    (both taken as bytes: they need not be valid UTF-8, as a \u escape cannot give that
 *    but a schema file might);
 *  - 'O' DOCUMENT NUL INSTANCE: a Schema Registry OpenApi3 document, converted to a JSON Schema
 *    the way the schema-registry discovery plugin does (plugins/discovery/schema-registry.c,
 *    included, with a host table of core/json.c's functions), then compiled and used.
 * Properties: no crash, leak or hang; a report is given iff there are violations, and it is
 * NUL-terminated UTF-8-clean text. */
#include "config.h"

/* first: it names a local variable buf, which core's util/buf.h makes a type */
#include "../../plugins/discovery/schema-registry.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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

static void host_free(void *p) { free(p); }

/* the JSON part of the host table (core/host.c), which is all from_openapi uses */
static const lmcp_host *json_host(void)
{
    static lmcp_host h;
    if (!h.json_parse) {
        h.free = host_free;
        h.json_parse = hj_parse;
        h.json_to_string = hj_to_string;
        h.json_put = hj_put;
        h.json_ref = hj_ref;
        h.json_type = hj_type;
        h.json_get = hj_get;
        h.json_length = hj_length;
        h.json_index = hj_index;
        h.json_object_key = hj_object_key;
        h.json_string = hj_string;
        h.json_int = hj_int;
        h.json_double = hj_double;
        h.json_bool = hj_bool;
        h.json_new_object = hj_new_object;
        h.json_new_array = hj_new_array;
        h.json_new_string = hj_new_string;
        h.json_new_int = hj_new_int;
        h.json_new_double = hj_new_double;
        h.json_new_bool = hj_new_bool;
        h.json_set = hj_set;
        h.json_append = hj_append;
    }
    return &h;
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
    bool openapi = size && data[0] == 'O';
    if (openapi)
        text++, n1--;
    json_object *schema = NULL, *inst = NULL;
    if (!json_parse_strict(text, n1, JSON_MAX_DEPTH, &schema, NULL))
        return 0;
    if (openapi) {
        char why[256];
        json_object *conv = JO(from_openapi(json_host(), LJ(schema), why, sizeof why));
        json_object_put(schema);
        if (!conv)
            return 0;
        /* what discovery keeps is the text; the registry parses it back */
        char *t = json_canonical(conv);
        json_object_put(conv);
        schema = NULL;
        bool ok = json_parse_strict(t, strlen(t), JSON_MAX_DEPTH, &schema, NULL);
        free(t);
        if (!ok)
            return 0;
    }
    if (t2 && !json_parse_strict(t2, n2, JSON_MAX_DEPTH, &inst, NULL)) {
        json_object_put(schema);
        return 0;
    }
    check(schema, t2 ? inst : schema);
    json_object_put(inst);
    json_object_put(schema);
    return 0;
}
