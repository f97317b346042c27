#include "config.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jsonparse.h"
#include "util/str.h"

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void canon(buf *b, const json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null: buf_append_str(b, "null"); break;
    case json_type_boolean: buf_append_str(b, json_object_get_boolean(o) ? "true" : "false"); break;
    case json_type_int: {
        /* json-c keeps an integer above INT64_MAX as uint64; get_int64 would clamp it */
        int64_t v = json_object_get_int64(o);
        if (v == INT64_MAX)
            buf_appendf(b, "%llu", (unsigned long long)json_object_get_uint64(o));
        else
            buf_appendf(b, "%lld", (long long)v);
        break;
    }
    case json_type_double: buf_append_str(b, json_object_to_json_string_ext((json_object *)o, JSON_C_TO_STRING_PLAIN)); break;
    case json_type_string: buf_append_json_string(b, json_object_get_string((json_object *)o), (size_t)json_object_get_string_len(o)); break;
    case json_type_array: {
        buf_append_char(b, '[');
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_append_char(b, ',');
            canon(b, json_object_array_get_idx(o, i));
        }
        buf_append_char(b, ']');
        break;
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(o), k = 0;
        const char **keys = xmalloc((n ? n : 1) * sizeof *keys);
        json_object_object_foreach((json_object *)o, key, val)
        {
            (void)val;
            keys[k++] = key;
        }
        qsort(keys, k, sizeof *keys, cmp_key);
        buf_append_char(b, '{');
        for (size_t i = 0; i < k; i++) {
            if (i)
                buf_append_char(b, ',');
            buf_append_json_string(b, keys[i], strlen(keys[i]));
            buf_append_char(b, ':');
            canon(b, json_object_object_get((json_object *)o, keys[i]));
        }
        buf_append_char(b, '}');
        free(keys);
        break;
    }
    }
}

char *json_canonical(const json_object *o)
{
    buf b = BUF_INIT;
    canon(&b, o);
    return buf_steal(&b);
}

json_object *json_parse_text(const char *text, size_t len, char *err, size_t errlen)
{
    json_object *o = NULL;
    const char *e = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!json_parse_strict(text, len, JSON_MAX_DEPTH, &o, &e)) {
        if (err && errlen)
            snprintf(err, errlen, "%s", e ? e : "not JSON");
        return NULL;
    }
    return o;
}

lmcp_json *hj_parse(const char *text, size_t len, char *err, size_t errlen)
{
    return LJ(json_parse_text(text, len, err, errlen));
}

char *hj_to_string(const lmcp_json *j, unsigned flags)
{
    if (flags & LMCP_JSON_CANONICAL)
        return json_canonical(JO(j));
    int f = JSON_C_TO_STRING_NOSLASHESCAPE | ((flags & LMCP_JSON_PRETTY) ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);
    return xstrdup(json_object_to_json_string_ext(JO(j), f));
}

void hj_put(lmcp_json *j) { json_object_put(JO(j)); }
lmcp_json *hj_ref(lmcp_json *j) { return LJ(json_object_get(JO(j))); }

lmcp_json_type hj_type(const lmcp_json *j)
{
    switch (json_object_get_type(JO(j))) {
    case json_type_boolean: return LMCP_JSON_BOOL;
    case json_type_int: return LMCP_JSON_INT;
    case json_type_double: return LMCP_JSON_DOUBLE;
    case json_type_string: return LMCP_JSON_STRING;
    case json_type_array: return LMCP_JSON_ARRAY;
    case json_type_object: return LMCP_JSON_OBJECT;
    default: return LMCP_JSON_NULL;
    }
}

lmcp_json *hj_get(const lmcp_json *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(JO(obj), json_type_object) || !json_object_object_get_ex(JO(obj), key, &v))
        return NULL;
    return LJ(v);
}

size_t hj_length(const lmcp_json *j)
{
    if (json_object_is_type(JO(j), json_type_array))
        return json_object_array_length(JO(j));
    if (json_object_is_type(JO(j), json_type_object))
        return (size_t)json_object_object_length(JO(j));
    return 0;
}

lmcp_json *hj_index(const lmcp_json *arr, size_t i)
{
    if (!arr || !json_object_is_type(JO(arr), json_type_array) || i >= json_object_array_length(JO(arr)))
        return NULL;
    return LJ(json_object_array_get_idx(JO(arr), i));
}

const char *hj_object_key(const lmcp_json *obj, size_t i)
{
    if (!obj || !json_object_is_type(JO(obj), json_type_object))
        return NULL;
    size_t k = 0;
    json_object_object_foreach(JO(obj), key, val)
    {
        (void)val;
        if (k++ == i)
            return key;
    }
    return NULL;
}

const char *hj_string(const lmcp_json *j)
{
    return j && json_object_is_type(JO(j), json_type_string) ? json_object_get_string(JO(j)) : NULL;
}
int64_t hj_int(const lmcp_json *j) { return j ? json_object_get_int64(JO(j)) : 0; }
double hj_double(const lmcp_json *j) { return j ? json_object_get_double(JO(j)) : 0; }
bool hj_bool(const lmcp_json *j) { return j && json_object_get_boolean(JO(j)); }
lmcp_json *hj_new_object(void) { return LJ(json_object_new_object()); }
lmcp_json *hj_new_array(void) { return LJ(json_object_new_array()); }
lmcp_json *hj_new_string(const char *s) { return LJ(json_object_new_string(s ? s : "")); }
lmcp_json *hj_new_int(int64_t v) { return LJ(json_object_new_int64(v)); }
lmcp_json *hj_new_double(double v) { return LJ(json_object_new_double(v)); }
lmcp_json *hj_new_bool(bool v) { return LJ(json_object_new_boolean(v)); }

int hj_set(lmcp_json *obj, const char *key, lmcp_json *val)
{
    if (!obj || !json_object_is_type(JO(obj), json_type_object)) {
        json_object_put(JO(val));
        return LMCP_ERR;
    }
    return json_object_object_add(JO(obj), key, JO(val)) == 0 ? LMCP_OK : LMCP_ERR;
}

int hj_append(lmcp_json *arr, lmcp_json *val)
{
    if (!arr || !json_object_is_type(JO(arr), json_type_array)) {
        json_object_put(JO(val));
        return LMCP_ERR;
    }
    return json_object_array_add(JO(arr), JO(val)) == 0 ? LMCP_OK : LMCP_ERR;
}
