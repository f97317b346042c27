/* Plugin modules (loaded .so files) and instances (a module configured by one conf entry). */
#ifndef LMCP_PLUGIN_H
#define LMCP_PLUGIN_H
#include <stdbool.h>
#include <stddef.h>
#include <lambda-mcp/plugin.h>
#include "settings.h"

typedef struct plugin_module {
    char *path;                       /* the file it was loaded from */
    void *dl;                         /* dlopen handle */
    const lmcp_plugin_def *def;
    struct plugin_module *next;       /* module cache list */
} plugin_module;

struct lmcp_instance {
    char *name;                       /* display name: plugin name, or its conf "name" */
    char *label;                      /* "plugin NAME", for messages */
    plugin_module *module;
    const lmcp_plugin_def *def;
    lmcp_settings *settings;
    void *state;                      /* from def->init */
    bool initialised;
    char *origin;                     /* "file:line" of its conf entry, or "built-in default" */
    settings_rule *overrides;         /* wrappers: conf overrides = ( { tools = ...; key = value; } ) */
    size_t n_overrides;
    void *owner;                      /* the generation (app.h) that created it */
};
typedef struct lmcp_instance plugin_instance;

typedef struct plugin_loader plugin_loader;
plugin_loader *plugin_loader_new(const char *plugin_dir);
const char *plugin_loader_dir(const plugin_loader *l);
/* Load (once) the module named `name` (<dir>/<name>.so) or the file `path` if given.
 * Checks the entry symbol, ABI version, struct size, kind and name. Errors name the file. */
plugin_module *plugin_loader_load(plugin_loader *l, const char *name, const char *path,
                                  lmcp_plugin_kind expected, char *err, size_t errlen);
/* Every module file in the directory, for --list-plugins: calls fn for each loadable one and
 * reports broken ones through err_fn. */
void plugin_loader_scan(plugin_loader *l, void (*fn)(void *ctx, plugin_module *m),
                        void (*err_fn)(void *ctx, const char *msg), void *ctx);
void plugin_loader_free(plugin_loader *l);   /* dlclose all modules */
/* Refuse a file that someone other than root or this user could have written or replaced
 * (owned by another user, writable by every user, or in a directory writable by every user
 * without the sticky bit; group write is allowed), after sudo's check of its plugins (which
 * wants root as the owner and no group write, and looks at no directory). The message
 * names the file, the reason, `risk` (why it matters) and the mend. What cannot be stat()ed
 * or is not a regular file passes: its reader reports that. 0, or -1 with err. */
int path_check_trusted(const char *path, const char *risk, char *err, size_t errlen);

const char *plugin_kind_name(lmcp_plugin_kind k);
/* The settings an instance uses for a tool: overrides matching the tool name, then the
 * function's tags for settings that declare a tag key, over the instance settings. Returns a
 * new reference (the instance's own settings when nothing applies). */
lmcp_settings *plugin_instance_settings_for(plugin_instance *inst, const char *tool_name,
                                            bool (*tag)(void *ctx, const char *key, const char **value),
                                            void *tag_ctx);
struct plugin_entry; /* conf.h */
/* Create and init an instance from a conf entry: validates its settings (file:line errors),
 * parses wrapper override blocks, calls def->init. */
plugin_instance *plugin_instance_new(plugin_module *m, const struct plugin_entry *e, const lmcp_host *host,
                                     void *owner, char *err, size_t errlen);
void plugin_instance_free(plugin_instance *inst); /* calls destroy if initialised */
#endif
