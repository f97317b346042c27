#include "config.h"
#include "plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "util/log.h"
#include "util/str.h"

/* The keys a plugin entry of the conf file uses itself: no plugin setting may have these names.
 * In a wrapper's override blocks "tools" is taken too. */
static const char *const entry_keys[] = {"plugin", "name", "path", "overrides", NULL};

struct plugin_loader {
    pthread_mutex_t mu;       /* loads can come from a worker (credential_source) during a reload */
    char *dir;
    plugin_module *modules;
};

const char *plugin_kind_name(lmcp_plugin_kind k)
{
    switch (k) {
    case LMCP_PLUGIN_DISCOVERY: return "discovery";
    case LMCP_PLUGIN_CREDENTIALS: return "credentials";
    case LMCP_PLUGIN_WRAPPER: return "wrapper";
    }
    return "unknown";
}

plugin_loader *plugin_loader_new(const char *plugin_dir)
{
    plugin_loader *l = xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    l->dir = xstrdup(plugin_dir);
    return l;
}

const char *plugin_loader_dir(const plugin_loader *l) { return l->dir; }

#define PLUGIN_RISK "a plugin runs with the server's AWS credentials"

/* path: a realpath (no symlink in it), st: its stat. See path_check_trusted. */
static int check_trusted(const char *path, const struct stat *st, const char *risk, char *err, size_t errlen)
{
    uid_t me = geteuid();
    if (st->st_uid != 0 && st->st_uid != me) {
        snprintf(err, errlen,
                 "%s: refused: owned by uid %ld, neither root nor the user lambda-mcp runs as (uid %ld); %s "
                 "(chown it)",
                 path, (long)st->st_uid, (long)me, risk);
        return -1;
    }
    if (st->st_mode & S_IWOTH) {
        snprintf(err, errlen, "%s: refused: writable by every user; %s (chmod o-w it)", path, risk);
        return -1;
    }
    /* the file's own directory; the ones above are not looked at (sudo looks at none) */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    slash[slash == dir ? 1 : 0] = '\0'; /* "/" for a file in the root */
    struct stat ds;
    if (stat(dir, &ds) == 0 && (ds.st_mode & S_IWOTH) && !(ds.st_mode & S_ISVTX)) {
        snprintf(err, errlen, "%s: refused: its directory %s is writable by every user, who could replace it; %s "
                 "(chmod o-w the directory)", path, dir, risk);
        return -1;
    }
    return 0;
}

int path_check_trusted(const char *path, const char *risk, char *err, size_t errlen)
{
    char real[PATH_MAX];
    struct stat st;
    if (!path || !realpath(path, real) || stat(real, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    return check_trusted(real, &st, risk, err, errlen);
}

/* Load and check one file. Returns a module not yet in the cache, or NULL with err. */
static plugin_module *open_module(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (check_trusted(path, &st, PLUGIN_RISK, err, errlen) < 0)
        return NULL;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(err, errlen, "%s: cannot load: %s", path, e ? e : "unknown dlopen error");
        return NULL;
    }
    void *sym = dlsym(dl, LMCP_PLUGIN_ENTRY_NAME);
    if (!sym) {
        snprintf(err, errlen, "%s: not a lambda-mcp plugin: it has no %s symbol (build it with LMCP_PLUGIN_DEFINE)",
                 path, LMCP_PLUGIN_ENTRY_NAME);
        dlclose(dl);
        return NULL;
    }
    lmcp_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object pointer to function pointer, as POSIX allows */
    const lmcp_plugin_def *def = entry();
    if (!def) {
        snprintf(err, errlen, "%s: %s() returned no plugin definition", path, LMCP_PLUGIN_ENTRY_NAME);
        dlclose(dl);
        return NULL;
    }
    /* the ABI version is the first field: read nothing else before it matches */
    if (def->abi_version != LMCP_PLUGIN_ABI_VERSION) {
        snprintf(err, errlen,
                 "%s: plugin ABI version %u, but lambda-mcp %s speaks plugin ABI version %u; rebuild the plugin "
                 "against this lambda-mcp's <lambda-mcp/plugin.h>",
                 path, def->abi_version, PACKAGE_VERSION, LMCP_PLUGIN_ABI_VERSION);
        dlclose(dl);
        return NULL;
    }
    if (def->struct_size < offsetof(lmcp_plugin_def, instance_settings)) {
        snprintf(err, errlen, "%s: plugin definition is %u bytes, expected at least %zu: rebuild the plugin", path,
                 def->struct_size, offsetof(lmcp_plugin_def, instance_settings));
        dlclose(dl);
        return NULL;
    }
    const char *problem = NULL;
    if (!def->name || !*def->name)
        problem = "has no name";
    else if (!def->init)
        problem = "has no init function";
    else if (def->kind == LMCP_PLUGIN_DISCOVERY &&
             (!def->discovery || (!def->discovery->match && !def->discovery->select && !def->discovery->filter &&
                                  !def->discovery->enrich)))
        problem = "is a discovery plugin without match, select, filter or enrich hooks";
    else if (def->kind == LMCP_PLUGIN_CREDENTIALS && (!def->credentials || !def->credentials->resolve))
        problem = "is a credentials plugin without a resolve function";
    else if (def->kind == LMCP_PLUGIN_WRAPPER && (!def->wrapper || !def->wrapper->invoke))
        problem = "is a wrapper plugin without an invoke function";
    else if (def->kind != LMCP_PLUGIN_DISCOVERY && def->kind != LMCP_PLUGIN_CREDENTIALS &&
             def->kind != LMCP_PLUGIN_WRAPPER)
        problem = "declares an unknown plugin kind";
    /* the conf entry's own keys: a setting of the same name would never reach the plugin */
    for (const lmcp_setting_def *d = def->settings; !problem && d && d->name; d++) {
        for (const char *const *r = entry_keys; *r; r++)
            if (strcmp(d->name, *r) == 0)
                problem = "declares a setting named plugin, name, path or overrides, which the conf file reserves";
        if (def->kind == LMCP_PLUGIN_WRAPPER && strcmp(d->name, "tools") == 0)
            problem = "declares a setting named tools, which a wrapper's override blocks reserve";
    }
    if (problem) {
        snprintf(err, errlen, "%s: plugin %s", path, problem);
        dlclose(dl);
        return NULL;
    }
    plugin_module *m = xcalloc(1, sizeof *m);
    m->path = xstrdup(path);
    m->dl = dl;
    m->def = def;
    return m;
}

static plugin_module *load_locked(plugin_loader *l, const char *name, const char *path, lmcp_plugin_kind expected,
                                  char *err, size_t errlen);

plugin_module *plugin_loader_load(plugin_loader *l, const char *name, const char *path, lmcp_plugin_kind expected,
                                  char *err, size_t errlen)
{
    pthread_mutex_lock(&l->mu);
    plugin_module *m = load_locked(l, name, path, expected, err, errlen);
    pthread_mutex_unlock(&l->mu);
    return m;
}

static plugin_module *load_locked(plugin_loader *l, const char *name, const char *path, lmcp_plugin_kind expected,
                                  char *err, size_t errlen)
{
    char *file = path ? xstrdup(path) : xasprintf("%s/%s.so", l->dir, name);
    char real[PATH_MAX];
    if (!realpath(file, real)) {
        if (path)
            snprintf(err, errlen, "plugin '%s': %s: %s", name, file, strerror(errno));
        else
            snprintf(err, errlen,
                     "no plugin named '%s': %s does not exist (plugin directory %s; `lambda-mcp --list-plugins` "
                     "shows what is there)",
                     name, file, l->dir);
        free(file);
        return NULL;
    }
    free(file);
    plugin_module *m = NULL;
    for (plugin_module *p = l->modules; p; p = p->next)
        if (strcmp(p->path, real) == 0)
            m = p;
    if (!m) {
        m = open_module(real, err, errlen);
        if (!m)
            return NULL;
        m->next = l->modules;
        l->modules = m;
    }
    if (!path && strcmp(m->def->name, name) != 0) {
        /* <dir>/foo.so holding env (a copy or a rename) would run as 'foo' in logs and --check
           while being env; an explicit path may be named anything */
        snprintf(err, errlen, "%s: this file holds plugin '%s', not '%s' (a plugin file in the plugin directory is "
                 "named after its plugin)", m->path, m->def->name, name);
        return NULL;
    }
    if (m->def->kind != expected) {
        snprintf(err, errlen, "%s: plugin '%s' is a %s plugin, but it is listed as a %s plugin", m->path, m->def->name,
                 plugin_kind_name(m->def->kind), plugin_kind_name(expected));
        return NULL;
    }
    return m;
}

void plugin_loader_scan(plugin_loader *l, void (*fn)(void *ctx, plugin_module *m),
                        void (*err_fn)(void *ctx, const char *msg), void *ctx)
{
    /* a CLI mode: runs alone, before any thread could load a plugin */
    DIR *d = opendir(l->dir);
    if (!d) {
        char msg[PATH_MAX + 64];
        snprintf(msg, sizeof msg, "%s: %s", l->dir, strerror(errno));
        err_fn(ctx, msg);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0) {
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    /* stable output */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", l->dir, names[i]);
        char err[1024];
        char real[PATH_MAX];
        plugin_module *m = NULL;
        if (realpath(path, real)) {
            for (plugin_module *p = l->modules; p; p = p->next)
                if (strcmp(p->path, real) == 0)
                    m = p;
            if (!m && (m = open_module(real, err, sizeof err))) {
                m->next = l->modules;
                l->modules = m;
            }
        } else {
            snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        }
        if (m)
            fn(ctx, m);
        else
            err_fn(ctx, err);
        free(path);
        free(names[i]);
    }
    free(names);
}

void plugin_loader_free(plugin_loader *l)
{
    if (!l)
        return;
    plugin_module *m = l->modules;
    while (m) {
        plugin_module *next = m->next;
        /* under ASan/valgrind, keep the code mapped so leak reports can symbolise plugin frames */
        if (!getenv("LAMBDA_MCP_NO_DLCLOSE"))
            dlclose(m->dl);
        free(m->path);
        free(m);
        m = next;
    }
    free(l->dir);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ------------------------------------------------------------------ instances */

/* The definition's instance_settings, NULL for a plugin built before the field existed. */
static const char *const *plugin_def_instance_settings(const lmcp_plugin_def *def)
{
    if (def->struct_size < offsetof(lmcp_plugin_def, instance_settings) + sizeof def->instance_settings)
        return NULL;
    return def->instance_settings;
}

static int parse_overrides(plugin_instance *inst, const config_setting_t *list, char *err, size_t errlen)
{
    if (config_setting_type(list) != CONFIG_TYPE_LIST) {
        snprintf(err, errlen, "%s:%u: 'overrides' must be a list: ( { tools = [\"name_*\"]; key = value; } )",
                 config_setting_source_file(list) ? config_setting_source_file(list) : "?",
                 config_setting_source_line(list));
        return -1;
    }
    int n = config_setting_length(list);
    inst->overrides = xcalloc((size_t)n + 1, sizeof *inst->overrides);
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        const char *file = config_setting_source_file(g) ? config_setting_source_file(g) : "?";
        unsigned line = config_setting_source_line(g);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            snprintf(err, errlen, "%s:%u: each override must be a group: { tools = [...]; key = value; }", file, line);
            return -1;
        }
        settings_rule *o = &inst->overrides[inst->n_overrides++];
        const config_setting_t *t = config_setting_get_member(g, "tools");
        if (!t) {
            snprintf(err, errlen, "%s:%u: override without 'tools' (a tool name pattern or a list of them)", file,
                     line);
            return -1;
        }
        if (settings_parse_globs(t, &o->globs, err, errlen) < 0)
            return -1;
        o->partial = settings_copy(inst->settings);
        for (size_t k = 0; k < o->partial->n; k++)
            o->partial->v[k].explicit_ = false;
        static const char *const skip[] = {"tools", NULL};
        if (settings_apply_conf(o->partial, g, skip, err, errlen) < 0)
            return -1;
        const char *const *wide = plugin_def_instance_settings(inst->def);
        for (size_t k = 0; wide && wide[k]; k++) {
            const config_setting_t *v = config_setting_get_member(g, wide[k]);
            if (v) {
                snprintf(err, errlen,
                         "%s:%u: '%s' cannot be set per tool: plugin %s reads it once for all tools (set it in the "
                         "plugin's block, outside 'overrides')",
                         config_setting_source_file(v) ? config_setting_source_file(v) : file,
                         config_setting_source_line(v), wide[k], inst->def->name);
                return -1;
            }
        }
    }
    return 0;
}

plugin_instance *plugin_instance_new(plugin_module *m, const plugin_entry *e, const lmcp_host *host, void *owner,
                                     char *err, size_t errlen)
{
    plugin_instance *inst = xcalloc(1, sizeof *inst);
    inst->module = m;
    inst->def = m->def;
    inst->owner = owner;
    inst->name = xstrdup(e && e->name ? e->name : m->def->name);
    inst->origin = xstrdup(e && e->origin ? e->origin : "built-in default");
    inst->label = xasprintf("plugin %s", inst->name);
    inst->settings = settings_new(m->def->settings, inst->label, err, errlen);
    if (!inst->settings)
        goto fail;
    if (e && e->group) {
        if (settings_apply_conf(inst->settings, e->group, entry_keys, err, errlen) < 0)
            goto fail;
        const config_setting_t *ov = config_setting_get_member(e->group, "overrides");
        if (ov) {
            if (m->def->kind != LMCP_PLUGIN_WRAPPER) {
                snprintf(err, errlen, "%s:%u: 'overrides' blocks are for wrapper plugins; %s is a %s plugin",
                         config_setting_source_file(ov) ? config_setting_source_file(ov) : "?",
                         config_setting_source_line(ov), m->def->name, plugin_kind_name(m->def->kind));
                goto fail;
            }
            if (parse_overrides(inst, ov, err, errlen) < 0)
                goto fail;
        }
    }
    lmcp_plugin_ctx ctx = {host, inst, inst->settings};
    char perr[512] = "";
    if (m->def->init(&ctx, &inst->state, perr, sizeof perr) != LMCP_OK) {
        snprintf(err, errlen, "%s: plugin %s refused to start: %s", inst->origin, inst->name,
                 *perr ? perr : "no reason given");
        goto fail;
    }
    inst->initialised = true;
    return inst;
fail:
    plugin_instance_free(inst);
    return NULL;
}

lmcp_settings *plugin_instance_settings_for(plugin_instance *inst, const char *tool_name,
                                            bool (*tag)(void *ctx, const char *key, const char **value), void *tag_ctx)
{
    return settings_for_tool(inst->settings, tool_name, tag, tag_ctx, inst->overrides, inst->n_overrides);
}

void plugin_instance_free(plugin_instance *inst)
{
    if (!inst)
        return;
    if (inst->initialised && inst->def->destroy)
        inst->def->destroy(inst->state);
    settings_release(inst->settings);
    settings_rules_free(inst->overrides, inst->n_overrides);
    free(inst->name);
    free(inst->label);
    free(inst->origin);
    free(inst);
}
