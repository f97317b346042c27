/* The conf file (libconfig syntax) and the built-in default that reproduces the upstream
 * server from environment variables when no conf file is given.
 *
 *   server      = { log_level, max_inflight, call_timeout, ... }   core settings (core_settings.c)
 *   aws         = { region, endpoint_url, endpoints = { lambda = "..." }, ca_bundle, ... }
 *   discovery   = { refresh_interval, concurrency, tags_from, plugins = ( {plugin = "prefix"; ...}, ... ) }
 *   credentials = ( { plugin = "env"; }, { plugin = "profile"; profile = "prod"; } )   in chain order
 *   wrappers    = ( { plugin = "cache"; ttl = "30s"; overrides = ( { tools = ["x_*"]; ttl = "5s"; } ); } )
 *   tools       = ( { match = ["slow_*"]; timeout = "5m"; parameters_wrapper = true; } )
 *
 * Every error names file:line. */
#ifndef LMCP_CONF_H
#define LMCP_CONF_H
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "settings.h"

typedef struct plugin_entry {
    char *plugin;                    /* module name */
    char *path;                      /* explicit .so path, or NULL */
    char *name;                      /* instance display name */
    const config_setting_t *group;   /* its conf group (borrowed from the document) */
    char *origin;                    /* "file:line" */
} plugin_entry;

enum { CONF_DEFAULT_CREDENTIALS = 1, CONF_DEFAULT_DISCOVERY = 2 };

typedef struct app_config {
    config_t doc;                    /* the parsed document; entries point into it */
    bool doc_loaded;
    config_t defaults;               /* the built-in default, when entries come from it (a conf
                                        file without credentials or discovery.plugins) */
    bool defaults_loaded;
    unsigned defaulted;              /* CONF_DEFAULT_*: the lists taken from the built-in default */
    char *path;                      /* NULL: built-in default */
    lmcp_settings *server;           /* server_settings */
    lmcp_settings *aws;              /* aws_settings */
    lmcp_settings *discovery;        /* discovery_settings */
    lmcp_settings *tool_defaults;    /* tool_settings from server-level values */
    plugin_entry *credentials, *discovery_plugins, *wrappers;
    size_t n_credentials, n_discovery, n_wrappers;
    settings_rule *tool_rules;       /* the `tools` section: tool_settings keys per pattern */
    size_t n_tool_rules;
} app_config;

extern const lmcp_setting_def server_settings[];
extern const lmcp_setting_def aws_settings[];
extern const lmcp_setting_def discovery_settings[];
extern const lmcp_setting_def tool_settings[];
/* The built-in default conf to use now (no conf file, or a section it leaves out): the AWS CLI's
 * credentials order, or, when AWS_PROFILE is set and not empty, the same with the profile before
 * the environment (as upstream). */
const char *builtin_default_conf_text(void);

/* Load path (NULL: the built-in default). On error: -1 with "file:line: message" in err. */
int app_config_load(app_config *c, const char *path, char *err, size_t errlen);
void app_config_free(app_config *c);
/* The settings of a tool: tool_defaults, then the function's tags for settings that declare a
 * tag key (tag may be NULL), then the conf rules matching the name, later rules winning.
 * Returns a new reference. */
lmcp_settings *app_config_tool_settings(const app_config *c, const char *tool_name,
                                        bool (*tag)(void *ctx, const char *key, const char **value), void *tag_ctx);
#endif
