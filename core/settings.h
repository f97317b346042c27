/* Settings: the values of one plugin instance, validated against the plugin's declared table
 * (lmcp_setting_def). Sources in precedence order: per-tool override blocks (wrappers), function
 * tags (wrappers), the plugin's conf block, the environment variable, the declared default.
 * Reference-counted: a tool's resolved wrapper settings may share its instance's object. */
#ifndef LMCP_SETTINGS_H
#define LMCP_SETTINGS_H
#include <libconfig.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lambda-mcp/plugin.h>

typedef struct setting_value {
    bool present;          /* has a value (from any source, default included) */
    bool explicit_;        /* from the conf, a tag, an override or the environment */
    char *origin;          /* "lambda-mcp.conf:12", "env FUNCTION_PREFIX", "tag mcp:ttl", "default" */
    char *s;               /* STRING */
    int64_t i;             /* INT, DURATION (ms), BOOL (0/1) */
    double d;              /* DOUBLE */
    size_t n;              /* STRING_LIST / STRING_MAP */
    char **items;          /* list items, or map keys (NULL-terminated) */
    char **values;         /* map values (NULL-terminated) */
} setting_value;

struct lmcp_settings {
    atomic_int refs;
    const lmcp_setting_def *defs;
    size_t n;
    setting_value *v;      /* one per def */
    const char *owner;     /* plugin name, for messages */
};
typedef struct lmcp_settings lmcp_settings;

/* Defaults and environment applied. Returns NULL with err set if a default or an environment
 * value does not parse (an environment error names the variable). */
lmcp_settings *settings_new(const lmcp_setting_def *defs, const char *owner, char *err, size_t errlen);
lmcp_settings *settings_ref(lmcp_settings *s);
void settings_release(lmcp_settings *s);
lmcp_settings *settings_copy(const lmcp_settings *s);
/* Apply the keys of a conf group. skip: keys the host consumes itself (e.g. "plugin").
 * Unknown keys and type errors are reported as "file:line: ..." */
int settings_apply_conf(lmcp_settings *s, const config_setting_t *group, const char *const *skip,
                        char *err, size_t errlen);
/* Copy every explicitly set value of src (same table) over dst. */
void settings_override(lmcp_settings *dst, const lmcp_settings *src);
/* Apply one textual value (tags, env-style). */
int settings_apply_text(lmcp_settings *s, const char *name, const char *text, const char *origin,
                        char *err, size_t errlen);
const lmcp_setting_def *settings_def(const lmcp_settings *s, const char *name, size_t *index);
/* A block of settings that applies to the tools whose names match one of its patterns (a conf
 * `tools` rule, or a wrapper's `overrides` block). Only the keys the block sets are explicit_. */
typedef struct settings_rule {
    char **globs;               /* fnmatch patterns, NULL-terminated */
    lmcp_settings *partial;
} settings_rule;

typedef bool (*settings_tag_fn)(void *ctx, const char *key, const char **value);

/* The settings for one tool: base, then the function's tags for the settings that declare a tag
 * key (a malformed tag value is logged and ignored), then every rule matching the tool name in
 * order, later ones winning — so an ops team's conf wins over a function owner's tag. Returns a
 * new reference: base itself when nothing applies. */
lmcp_settings *settings_for_tool(lmcp_settings *base, const char *tool_name, settings_tag_fn tag, void *tag_ctx,
                                 const settings_rule *rules, size_t n_rules);
void settings_rules_free(settings_rule *rules, size_t n);
/* The patterns of a rule (`match` of a tools rule, `tools` of an override block): a string or a
 * list of strings, each able to match a tool name (one that cannot, like "get-prices" or "", is
 * a conf error: it would silently do nothing). *out is NULL-terminated, freed by the caller
 * (also on error). Returns -1 with "file:line: ..." in err. */
int settings_parse_globs(const config_setting_t *cs, char ***out, char *err, size_t errlen);
/* Whether two settings objects of the same table hold the same value for setting k. */
bool settings_same_value(const lmcp_settings *a, const lmcp_settings *b, size_t k);

/* Print the table (for --help-plugin): name, type, default, env, tag, description. */
void settings_describe(const lmcp_setting_def *defs, FILE *out);
const char *setting_type_name(lmcp_setting_type t);

/* Host API getters (see plugin.h). A wrong name or type is a plugin bug: logged and aborted. */
const char *settings_get_string(const lmcp_settings *s, const char *name);
int64_t settings_get_int(const lmcp_settings *s, const char *name);
bool settings_get_bool(const lmcp_settings *s, const char *name);
double settings_get_double(const lmcp_settings *s, const char *name);
int64_t settings_get_duration_ms(const lmcp_settings *s, const char *name);
size_t settings_get_list(const lmcp_settings *s, const char *name, const char *const **items);
size_t settings_get_map(const lmcp_settings *s, const char *name, const char *const **keys,
                        const char *const **values);
bool settings_is_set(const lmcp_settings *s, const char *name);
const char *settings_origin(const lmcp_settings *s, const char *name);
#endif
