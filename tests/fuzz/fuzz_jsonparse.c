/* libFuzzer target: core/util/jsonparse.c (json_parse_strict, json_check_strict,
 * json_append_compact) and core/json.c (json_canonical), with round trips.
 * Properties checked (abort() on violation):
 *  - json_check_strict and json_parse_strict agree on what is JSON;
 *  - json_append_compact of accepted text is accepted again and parses to the same canonical form;
 *  - json-c's serialisation and json_canonical of the tree are accepted again, and canonical
 *    form is a fixed point (canonical(parse(canonical(x))) == canonical(x)). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util/buf.h"
#include "util/jsonparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_jsonparse: property violated: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    /* the first byte picks the depth limit so the limit path is exercised too */
    int depth = JSON_MAX_DEPTH;
    if (size && data[0] == '#') {
        depth = 4;
        text++, size--;
    }
    const char *err = NULL;
    bool ok = json_check_strict(text, size, depth, &err);
    must(ok == (err == NULL), "check: err set iff rejected");
    json_object *o = NULL;
    bool pok = json_parse_strict(text, size, depth, &o, &err);
    must(ok == pok, "check and parse disagree");
    if (!pok) {
        must(o == NULL, "rejected text left a tree");
        return 0;
    }
    char *canon = json_canonical(o);
    must(json_check_strict(canon, strlen(canon), JSON_MAX_DEPTH + 1, NULL), "canonical form is not JSON");

    /* the compact form parses to the same tree */
    buf compact = BUF_INIT;
    json_append_compact(&compact, text, size);
    json_object *o2 = NULL;
    must(json_parse_strict(compact.data ? compact.data : "", compact.len, depth, &o2, NULL), "compact form is not JSON");
    char *canon2 = json_canonical(o2);
    must(strcmp(canon, canon2) == 0, "compact form changed the value");
    for (size_t i = 0; i < compact.len; i++) {
        must(compact.data[i] != '\n' && compact.data[i] != '\r', "compact form has a line break");
    }
    free(canon2);
    json_object_put(o2);
    buf_free(&compact);

    /* canonical is a fixed point */
    json_object *o3 = NULL;
    must(json_parse_strict(canon, strlen(canon), JSON_MAX_DEPTH + 1, &o3, NULL), "canonical does not parse");
    char *canon3 = json_canonical(o3);
    must(strcmp(canon, canon3) == 0, "canonical is not a fixed point");
    free(canon3);
    json_object_put(o3);

    /* json-c's own serialisation (what the server writes) parses back */
    const char *ser = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object *o4 = NULL;
    must(json_parse_strict(ser, strlen(ser), JSON_MAX_DEPTH + 1, &o4, NULL), "json-c serialisation does not parse");
    json_object_put(o4);

    free(canon);
    json_object_put(o);
    return 0;
}
