#include "config.h"
#include "settings.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

static const char *const type_names[] = {
    [LMCP_SETTING_STRING] = "string",        [LMCP_SETTING_INT] = "integer",
    [LMCP_SETTING_BOOL] = "boolean",         [LMCP_SETTING_DOUBLE] = "number",
    [LMCP_SETTING_STRING_LIST] = "string list", [LMCP_SETTING_STRING_MAP] = "string map",
    [LMCP_SETTING_DURATION] = "duration",
};

const char *setting_type_name(lmcp_setting_type t)
{
    return (unsigned)t < sizeof type_names / sizeof *type_names && type_names[t] ? type_names[t] : "?";
}

static void value_clear(setting_value *v)
{
    free(v->origin);
    free(v->s);
    if (v->items)
        str_list_free(v->items);
    if (v->values)
        str_list_free(v->values);
    memset(v, 0, sizeof *v);
}

static char **list_dup(char *const *items, size_t n)
{
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(items[i]);
    return out;
}

static void value_copy(setting_value *dst, const setting_value *src)
{
    *dst = *src;
    dst->origin = xstrdup(src->origin);
    dst->s = xstrdup(src->s);
    dst->items = src->items ? list_dup(src->items, src->n) : NULL;
    dst->values = src->values ? list_dup(src->values, src->n) : NULL;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool check_bounds(const lmcp_setting_def *d, int64_t v, char *why, size_t whylen)
{
    if (d->min == 0 && d->max == 0)
        return true;
    if (v < d->min || v > d->max) {
        snprintf(why, whylen, "must be between %" PRId64 " and %" PRId64, d->min, d->max);
        return false;
    }
    return true;
}

/* Parse text (env / default / tag form) into v per the def. */
static bool parse_text(const lmcp_setting_def *d, const char *text, setting_value *v, char *why, size_t whylen)
{
    switch (d->type) {
    case LMCP_SETTING_STRING:
        v->s = xstrdup(text);
        return true;
    case LMCP_SETTING_INT: {
        errno = 0;
        char *end;
        long long x = strtoll(text, &end, 10);
        if (errno || end == text || *str_trim(end) != '\0') {
            snprintf(why, whylen, "'%s' is not an integer", text);
            return false;
        }
        if (!check_bounds(d, x, why, whylen))
            return false;
        v->i = x;
        return true;
    }
    case LMCP_SETTING_DURATION: {
        int64_t ms;
        if (!parse_duration_ms(text, &ms)) {
            snprintf(why, whylen, "'%s' is not a duration (say 1500, \"1.5s\", \"200ms\", \"2m\" or \"1h\")", text);
            return false;
        }
        if (!check_bounds(d, ms, why, whylen))
            return false;
        v->i = ms;
        return true;
    }
    case LMCP_SETTING_BOOL:
        /* the words the tags plugin accepts for annotation tags, in any case */
        if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcasecmp(text, "yes") == 0 ||
            strcasecmp(text, "on") == 0)
            v->i = 1;
        else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcasecmp(text, "no") == 0 ||
                 strcasecmp(text, "off") == 0 || text[0] == '\0')
            v->i = 0;
        else {
            snprintf(why, whylen, "'%s' is not a boolean (true or false)", text);
            return false;
        }
        return true;
    case LMCP_SETTING_DOUBLE: {
        errno = 0;
        char *end;
        double x = strtod(text, &end);
        if (errno || end == text || *str_trim(end) != '\0' || !isfinite(x)) {
            snprintf(why, whylen, "'%s' is not a number", text);
            return false;
        }
        v->d = x;
        return true;
    }
    case LMCP_SETTING_STRING_LIST:
        v->n = str_split(text, ',', &v->items);
        return true;
    case LMCP_SETTING_STRING_MAP: {
        char **pairs;
        size_t n = str_split(text, ',', &pairs);
        v->items = xcalloc(n + 1, sizeof *v->items);
        v->values = xcalloc(n + 1, sizeof *v->values);
        for (size_t i = 0; i < n; i++) {
            char *eq = strchr(pairs[i], '=');
            if (!eq || eq == pairs[i]) {
                snprintf(why, whylen, "'%s' is not a key=value pair", pairs[i]);
                str_list_free(pairs);
                return false;
            }
            *eq = '\0';
            v->items[v->n] = xstrdup(str_trim(pairs[i]));
            v->values[v->n] = xstrdup(str_trim(eq + 1));
            v->n++;
        }
        str_list_free(pairs);
        return true;
    }
    }
    snprintf(why, whylen, "unknown setting type");
    return false;
}

lmcp_settings *settings_new(const lmcp_setting_def *defs, const char *owner, char *err, size_t errlen)
{
    lmcp_settings *s = xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->defs = defs;
    s->owner = owner;
    while (defs && defs[s->n].name)
        s->n++;
    s->v = xcalloc(s->n ? s->n : 1, sizeof *s->v);
    for (size_t i = 0; i < s->n; i++) {
        const lmcp_setting_def *d = &defs[i];
        setting_value *v = &s->v[i];
        char why[256];
        const char *env = d->env ? getenv(d->env) : NULL;
        if (env) {
            if (!parse_text(d, env, v, why, sizeof why)) {
                seterr(err, errlen, "environment variable %s (setting '%s' of %s): %s", d->env, d->name, owner, why);
                settings_release(s);
                return NULL;
            }
            v->present = v->explicit_ = true;
            v->origin = xasprintf("env %s", d->env);
        } else if (d->default_value) {
            if (!parse_text(d, d->default_value, v, why, sizeof why)) {
                seterr(err, errlen, "%s: default of setting '%s' is invalid: %s", owner, d->name, why);
                settings_release(s);
                return NULL;
            }
            v->present = true;
            v->origin = xstrdup("default");
        } else {
            v->origin = xstrdup("unset");
        }
    }
    return s;
}

lmcp_settings *settings_ref(lmcp_settings *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void settings_release(lmcp_settings *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        value_clear(&s->v[i]);
    free(s->v);
    free(s);
}

lmcp_settings *settings_copy(const lmcp_settings *src)
{
    lmcp_settings *s = xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->defs = src->defs;
    s->n = src->n;
    s->owner = src->owner;
    s->v = xcalloc(s->n ? s->n : 1, sizeof *s->v);
    for (size_t i = 0; i < s->n; i++)
        value_copy(&s->v[i], &src->v[i]);
    return s;
}

void settings_override(lmcp_settings *dst, const lmcp_settings *src)
{
    for (size_t k = 0; k < src->n && k < dst->n; k++) {
        if (!src->v[k].explicit_)
            continue;
        value_clear(&dst->v[k]);
        value_copy(&dst->v[k], &src->v[k]);
    }
}

lmcp_settings *settings_for_tool(lmcp_settings *base, const char *tool_name, settings_tag_fn tag, void *tag_ctx,
                                 const settings_rule *rules, size_t n_rules)
{
    lmcp_settings *out = NULL;
    for (size_t k = 0; tag && k < base->n; k++) {
        const lmcp_setting_def *d = &base->defs[k];
        const char *val;
        if (!d->tag || !tag(tag_ctx, d->tag, &val))
            continue;
        if (!out)
            out = settings_copy(base);
        char origin[300], err[512];
        snprintf(origin, sizeof origin, "tag %s", d->tag);
        if (settings_apply_text(out, d->name, val, origin, err, sizeof err) < 0)
            LOG_WARN("settings", "tool %s: ignoring tag %s=%s: %s", tool_name, d->tag, val, err);
    }
    for (size_t i = 0; i < n_rules; i++) {
        bool match = false;
        for (char **g = rules[i].globs; g && *g && !match; g++)
            match = fnmatch(*g, tool_name, 0) == 0;
        if (!match)
            continue;
        if (!out)
            out = settings_copy(base);
        settings_override(out, rules[i].partial);
    }
    return out ? out : settings_ref(base);
}

bool settings_same_value(const lmcp_settings *a, const lmcp_settings *b, size_t k)
{
    const setting_value *x = &a->v[k], *y = &b->v[k];
    if (x->present != y->present)
        return false;
    switch (a->defs[k].type) {
    case LMCP_SETTING_STRING: return (!x->s && !y->s) || (x->s && y->s && strcmp(x->s, y->s) == 0);
    case LMCP_SETTING_DOUBLE: return x->d == y->d;
    case LMCP_SETTING_STRING_LIST:
    case LMCP_SETTING_STRING_MAP:
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->items[i], y->items[i]) != 0 || (x->values && strcmp(x->values[i], y->values[i]) != 0))
                return false;
        return true;
    default: return x->i == y->i;
    }
}

/* A tool name is [A-Za-z0-9_]+ (see tools/naming.h): a pattern with any other literal character
 * (a function name's "-", say) or an empty one matches no tool, ever. Returns that character
 * ('\0' for the empty pattern), or -1 when the pattern can match. Bracket expressions are not
 * judged. */
static int glob_dead_char(const char *g)
{
    if (!*g)
        return '\0';
    for (const char *p = g; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '*' || c == '?')
            continue;
        if (c == '[') {
            const char *q = p + 1;
            if (*q == '!' || *q == '^')
                q++;
            if (*q == ']')
                q++;
            q = strchr(q, ']');
            if (q) {
                p = q;
                continue;
            }
            return '[';
        }
        if (c == '\\' && p[1])
            c = (unsigned char)*++p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return c;
    }
    return -1;
}

int settings_parse_globs(const config_setting_t *cs, char ***out, char *err, size_t errlen)
{
    const char *key = config_setting_name(cs);
    const char *file = config_setting_source_file(cs) ? config_setting_source_file(cs) : "?";
    unsigned line = config_setting_source_line(cs);
    int t = config_setting_type(cs);
    int n = t == CONFIG_TYPE_STRING ? 1 : t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST ? config_setting_length(cs) : -1;
    if (n < 0) {
        seterr(err, errlen, "%s:%u: '%s' must be a tool name pattern or a list of them", file, line, key);
        return -1;
    }
    if (n == 0) {
        seterr(err, errlen, "%s:%u: '%s' is an empty list: it matches no tool", file, line, key);
        return -1;
    }
    *out = xcalloc((size_t)n + 1, sizeof **out);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = t == CONFIG_TYPE_STRING ? cs : config_setting_get_elem(cs, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            seterr(err, errlen, "%s:%u: '%s': tool name patterns must be strings", file,
                   config_setting_source_line(e), key);
            return -1;
        }
        const char *g = config_setting_get_string(e);
        int bad = glob_dead_char(g);
        if (bad == '\0') {
            seterr(err, errlen, "%s:%u: '%s': an empty pattern matches no tool", file, config_setting_source_line(e),
                   key);
            return -1;
        }
        if (bad > 0) {
            char what[32];
            snprintf(what, sizeof what, bad < 0x80 ? "'%c'" : "the byte 0x%02X", bad);
            seterr(err, errlen,
                   "%s:%u: '%s': the pattern \"%s\" matches no tool: tool names hold only A-Z, a-z, 0-9 and _ "
                   "(a function my-fn is the tool my_fn), not %s",
                   file, config_setting_source_line(e), key, g, what);
            return -1;
        }
        (*out)[i] = xstrdup(g);
    }
    return 0;
}

void settings_rules_free(settings_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        str_list_free(rules[i].globs);
        settings_release(rules[i].partial);
    }
    free(rules);
}

const lmcp_setting_def *settings_def(const lmcp_settings *s, const char *name, size_t *index)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->defs[i].name, name) == 0) {
            if (index)
                *index = i;
            return &s->defs[i];
        }
    }
    return NULL;
}

static const char *conf_type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    case CONFIG_TYPE_GROUP: return "a group";
    default: return "a value";
    }
}

/* Parse one conf setting into v. */
static bool parse_conf(const lmcp_setting_def *d, const config_setting_t *cs, setting_value *v, char *why,
                       size_t whylen)
{
    int t = config_setting_type(cs);
    switch (d->type) {
    case LMCP_SETTING_STRING:
        if (t != CONFIG_TYPE_STRING)
            break;
        v->s = xstrdup(config_setting_get_string(cs));
        return true;
    case LMCP_SETTING_INT:
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            break;
        v->i = config_setting_get_int64(cs);
        return check_bounds(d, v->i, why, whylen);
    case LMCP_SETTING_DURATION:
        if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
            v->i = config_setting_get_int64(cs);
            if (v->i < 0) {
                snprintf(why, whylen, "must not be negative");
                return false;
            }
            return check_bounds(d, v->i, why, whylen);
        }
        if (t == CONFIG_TYPE_STRING)
            return parse_text(d, config_setting_get_string(cs), v, why, whylen);
        break;
    case LMCP_SETTING_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            break;
        v->i = config_setting_get_bool(cs);
        return true;
    case LMCP_SETTING_DOUBLE:
        if (t == CONFIG_TYPE_FLOAT)
            v->d = config_setting_get_float(cs);
        else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
            v->d = (double)config_setting_get_int64(cs);
        else
            break;
        if (!isfinite(v->d)) { /* libconfig reads 1e999 as infinity */
            snprintf(why, whylen, "must be a finite number");
            return false;
        }
        return true;
    case LMCP_SETTING_STRING_LIST:
        if (t == CONFIG_TYPE_STRING)
            return parse_text(d, config_setting_get_string(cs), v, why, whylen);
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            break;
        {
            int n = config_setting_length(cs);
            v->items = xcalloc((size_t)n + 1, sizeof *v->items);
            for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                    snprintf(why, whylen, "item %d is %s, expected a string", i + 1,
                             conf_type_name(config_setting_type(e)));
                    return false;
                }
                v->items[v->n++] = xstrdup(config_setting_get_string(e));
            }
        }
        return true;
    case LMCP_SETTING_STRING_MAP:
        /* a group is the natural form, but libconfig names cannot hold ':' or '/', which tag keys
           often do: "k=v, k2=v2" and ["k=v", "k2=v2"] say the same */
        if (t == CONFIG_TYPE_STRING)
            return parse_text(d, config_setting_get_string(cs), v, why, whylen);
        if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
            int n = config_setting_length(cs);
            v->items = xcalloc((size_t)n + 1, sizeof *v->items);
            v->values = xcalloc((size_t)n + 1, sizeof *v->values);
            for (int i = 0; i < n; i++) {
                const char *e = config_setting_get_string_elem(cs, i);
                const char *eq = e ? strchr(e, '=') : NULL;
                if (!eq || eq == e) {
                    snprintf(why, whylen, "item %d is not a \"key=value\" string", i + 1);
                    return false;
                }
                v->items[v->n] = xstrndup(e, (size_t)(eq - e));
                v->values[v->n] = xstrdup(eq + 1);
                v->n++;
            }
            return true;
        }
        if (t != CONFIG_TYPE_GROUP)
            break;
        {
            int n = config_setting_length(cs);
            v->items = xcalloc((size_t)n + 1, sizeof *v->items);
            v->values = xcalloc((size_t)n + 1, sizeof *v->values);
            for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                    snprintf(why, whylen, "'%s' is %s, expected a string", config_setting_name(e),
                             conf_type_name(config_setting_type(e)));
                    return false;
                }
                v->items[v->n] = xstrdup(config_setting_name(e));
                v->values[v->n] = xstrdup(config_setting_get_string(e));
                v->n++;
            }
        }
        return true;
    }
    static const char *const want[] = {
        [LMCP_SETTING_STRING] = "a string",
        [LMCP_SETTING_INT] = "an integer",
        [LMCP_SETTING_BOOL] = "a boolean (true or false)",
        [LMCP_SETTING_DOUBLE] = "a number",
        [LMCP_SETTING_STRING_LIST] = "a list of strings, e.g. [\"a\", \"b\"]",
        [LMCP_SETTING_STRING_MAP] = "a group of strings, e.g. { key = \"value\"; }, or [\"key=value\", ...]",
        [LMCP_SETTING_DURATION] = "a duration: milliseconds, or a string like \"1.5s\"",
    };
    snprintf(why, whylen, "is %s, expected %s", conf_type_name(t), want[d->type]);
    return false;
}

int settings_apply_conf(lmcp_settings *s, const config_setting_t *group, const char *const *skip, char *err,
                        size_t errlen)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *cs = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(cs);
        const char *file = config_setting_source_file(cs);
        int line = (int)config_setting_source_line(cs);
        bool skipped = false;
        for (const char *const *k = skip; k && *k; k++)
            if (name && strcmp(name, *k) == 0)
                skipped = true;
        if (skipped || !name)
            continue;
        size_t idx;
        const lmcp_setting_def *d = settings_def(s, name, &idx);
        if (!d) {
            buf known = BUF_INIT;
            for (size_t j = 0; j < s->n; j++)
                buf_appendf(&known, "%s%s", j ? ", " : "", s->defs[j].name);
            seterr(err, errlen, "%s:%d: unknown setting '%s' for %s (it accepts: %s)", file ? file : "?", line,
                   name, s->owner, s->n ? known.data : "no settings");
            buf_free(&known);
            return -1;
        }
        setting_value nv;
        memset(&nv, 0, sizeof nv);
        char why[256] = "";
        if (!parse_conf(d, cs, &nv, why, sizeof why)) {
            seterr(err, errlen, "%s:%d: setting '%s' of %s %s%s", file ? file : "?", line, name, s->owner,
                   strncmp(why, "is ", 3) == 0 ? "" : "is invalid: ", why);
            value_clear(&nv);
            return -1;
        }
        nv.present = nv.explicit_ = true;
        nv.origin = xasprintf("%s:%d", file ? file : "?", line);
        value_clear(&s->v[idx]);
        s->v[idx] = nv;
    }
    return 0;
}

int settings_apply_text(lmcp_settings *s, const char *name, const char *text, const char *origin, char *err,
                        size_t errlen)
{
    size_t idx;
    const lmcp_setting_def *d = settings_def(s, name, &idx);
    if (!d) {
        seterr(err, errlen, "unknown setting '%s' for %s", name, s->owner);
        return -1;
    }
    setting_value nv;
    memset(&nv, 0, sizeof nv);
    char why[256];
    if (!parse_text(d, text, &nv, why, sizeof why)) {
        seterr(err, errlen, "%s: setting '%s' of %s: %s", origin, name, s->owner, why);
        value_clear(&nv);
        return -1;
    }
    nv.present = nv.explicit_ = true;
    nv.origin = xstrdup(origin);
    value_clear(&s->v[idx]);
    s->v[idx] = nv;
    return 0;
}

void settings_describe(const lmcp_setting_def *defs, FILE *out)
{
    if (!defs || !defs->name) {
        fprintf(out, "    (no settings)\n");
        return;
    }
    for (const lmcp_setting_def *d = defs; d->name; d++) {
        /* a string default as the conf file spells it, so "" or a trailing space shows */
        bool quote = d->default_value && d->type == LMCP_SETTING_STRING;
        fprintf(out, "    %-22s %-12s default: %s%s%s", d->name, setting_type_name(d->type), quote ? "\"" : "",
                d->default_value ? d->default_value : "(none)", quote ? "\"" : "");
        if (d->env)
            fprintf(out, "   env: %s", d->env);
        if (d->tag)
            fprintf(out, "   tag: %s", d->tag);
        if (d->min || d->max)
            fprintf(out, "   range: %" PRId64 "..%" PRId64, d->min, d->max);
        fprintf(out, "\n        %s\n", d->description ? d->description : "");
    }
}

/* ---------------------------------------------------------------- getters */

static const setting_value *get(const lmcp_settings *s, const char *name, lmcp_setting_type t1, lmcp_setting_type t2)
{
    size_t idx;
    const lmcp_setting_def *d = settings_def(s, name, &idx);
    if (!d || (d->type != t1 && d->type != t2)) {
        LOG_ERROR("settings", "%s asked for setting '%s' as %s, but it %s", s->owner, name,
                  setting_type_name(t1), d ? "has another type" : "does not declare it");
        abort();
    }
    return &s->v[idx];
}

const char *settings_get_string(const lmcp_settings *s, const char *name)
{
    return get(s, name, LMCP_SETTING_STRING, LMCP_SETTING_STRING)->s;
}

int64_t settings_get_int(const lmcp_settings *s, const char *name)
{
    return get(s, name, LMCP_SETTING_INT, LMCP_SETTING_DURATION)->i;
}

bool settings_get_bool(const lmcp_settings *s, const char *name)
{
    return get(s, name, LMCP_SETTING_BOOL, LMCP_SETTING_BOOL)->i != 0;
}

double settings_get_double(const lmcp_settings *s, const char *name)
{
    return get(s, name, LMCP_SETTING_DOUBLE, LMCP_SETTING_DOUBLE)->d;
}

int64_t settings_get_duration_ms(const lmcp_settings *s, const char *name)
{
    return get(s, name, LMCP_SETTING_DURATION, LMCP_SETTING_INT)->i;
}

static const char *const empty_list[] = {NULL};

size_t settings_get_list(const lmcp_settings *s, const char *name, const char *const **items)
{
    const setting_value *v = get(s, name, LMCP_SETTING_STRING_LIST, LMCP_SETTING_STRING_LIST);
    if (items)
        *items = v->items ? (const char *const *)v->items : empty_list;
    return v->n;
}

size_t settings_get_map(const lmcp_settings *s, const char *name, const char *const **keys,
                        const char *const **values)
{
    const setting_value *v = get(s, name, LMCP_SETTING_STRING_MAP, LMCP_SETTING_STRING_MAP);
    if (keys)
        *keys = v->items ? (const char *const *)v->items : empty_list;
    if (values)
        *values = v->values ? (const char *const *)v->values : empty_list;
    return v->n;
}

bool settings_is_set(const lmcp_settings *s, const char *name)
{
    size_t idx;
    return settings_def(s, name, &idx) && s->v[idx].explicit_;
}

const char *settings_origin(const lmcp_settings *s, const char *name)
{
    size_t idx;
    return settings_def(s, name, &idx) ? s->v[idx].origin : "unknown";
}
