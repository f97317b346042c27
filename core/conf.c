#include "config.h"
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* ------------------------------------------------------------------ the core's own settings */

const lmcp_setting_def server_settings[] = {
    {"log_level", LMCP_SETTING_STRING, "info", "LAMBDA_MCP_LOG_LEVEL", NULL, 0, 0,
     "stderr log level: error, warn, info, debug or trace"},
    {"plugin_dir", LMCP_SETTING_STRING, NULL, "LAMBDA_MCP_PLUGIN_DIR", NULL, 0, 0,
     "directory of plugin .so files (--plugin-dir wins; default: the installed plugins)"},
    {"max_inflight", LMCP_SETTING_INT, "64", NULL, NULL, 1, 4096, "tools/call running at once"},
    {"max_queued", LMCP_SETTING_INT, "1024", NULL, NULL, 1, 1000000,
     "tools/call waiting for a free slot before new ones are refused"},
    {"shutdown_grace", LMCP_SETTING_DURATION, "5s", NULL, NULL, 0, 3600000,
     "at end of input, how long running calls may still finish and answer"},
    {"tools_ttl", LMCP_SETTING_DURATION, "5m", NULL, NULL, 0, 86400000,
     "ttlMs of tools/list results (2026-07-28 clients); refresh_interval when that is shorter"},
    {"page_size", LMCP_SETTING_INT, "100", NULL, NULL, 1, 10000, "tools per tools/list page"},
    {"progress_interval", LMCP_SETTING_DURATION, "10s", NULL, NULL, 0, 3600000,
     "heartbeat notifications/progress period for calls that sent a progressToken (0: off)"},
    {"max_message_size", LMCP_SETTING_INT, "8388608", NULL, NULL, 4096, 268435456,
     "longest JSON-RPC line accepted on stdin, in bytes"},
    {"instructions", LMCP_SETTING_STRING,
     "Use AWS Lambda functions to improve your answers. These Lambda functions give you additional capabilities "
     "and access to AWS services and resources in an AWS account.",
     NULL, NULL, 0, 0, "instructions sent to clients"},
    LMCP_SETTINGS_END,
};

const lmcp_setting_def aws_settings[] = {
    {"region", LMCP_SETTING_STRING, NULL, NULL, NULL, 0, 0,
     "AWS region; else AWS_REGION, AWS_DEFAULT_REGION, a credentials plugin's region (profile, IMDS), us-east-1"},
    {"endpoint_url", LMCP_SETTING_STRING, NULL, NULL, NULL, 0, 0,
     "endpoint for every service (wins over AWS_ENDPOINT_URL)"},
    {"endpoints", LMCP_SETTING_STRING_MAP, NULL, NULL, NULL, 0, 0,
     "per-service endpoints: lambda, tagging, schemas, sts, portal.sso, oidc (win over AWS_ENDPOINT_URL_<ID>)"},
    {"ca_bundle", LMCP_SETTING_STRING, NULL, "AWS_CA_BUNDLE", NULL, 0, 0, "PEM file of trusted CAs"},
    {"connect_timeout", LMCP_SETTING_DURATION, "3s", NULL, NULL, 1, 600000, "TCP/TLS connect timeout"},
    {"timeout", LMCP_SETTING_DURATION, "30s", NULL, NULL, 1, 3600000,
     "total timeout of one AWS API request other than Invoke"},
    {"max_attempts", LMCP_SETTING_INT, "3", "AWS_MAX_ATTEMPTS", NULL, 1, 20,
     "attempts per request, first included (retries: throttling, 5xx on reads, network)"},
    {"retry_base", LMCP_SETTING_DURATION, "100ms", NULL, NULL, 1, 60000, "backoff base (full jitter)"},
    {"retry_max_backoff", LMCP_SETTING_DURATION, "20s", NULL, NULL, 1, 600000, "longest backoff"},
    LMCP_SETTINGS_END,
};

const lmcp_setting_def discovery_settings[] = {
    {"refresh_interval", LMCP_SETTING_DURATION, "0", "LAMBDA_MCP_REFRESH_INTERVAL", NULL, 0, 604800000,
     "re-discover every interval (0: only at start and on SIGHUP, like upstream)"},
    {"concurrency", LMCP_SETTING_INT, "16", NULL, NULL, 1, 256,
     "per-function AWS calls (tags, configurations, schemas) in parallel"},
    {"tags_from", LMCP_SETTING_STRING, "auto", NULL, NULL, 0, 0,
     "how tags are read: auto, tagging-api (one GetResources chain), list-tags (ListTags per function)"},
    {"list_tags_threshold", LMCP_SETTING_INT, "40", NULL, NULL, 0, 1000000,
     "auto: at most this many candidates use ListTags, more use the tagging API"},
    LMCP_SETTINGS_END,
};

const lmcp_setting_def tool_settings[] = {
    {"timeout", LMCP_SETTING_DURATION, "0", "LAMBDA_MCP_CALL_TIMEOUT", "lambda-mcp:timeout", 0, 3600000,
     "per-call timeout (0: the function's own Timeout plus 10 s)"},
    {"parameters_wrapper", LMCP_SETTING_BOOL, "false", "LAMBDA_MCP_PARAMETERS_WRAPPER", NULL, 0, 0,
     "upstream compatibility: tools take {\"parameters\": {...}} and the event is that object"},
    LMCP_SETTINGS_END,
};

/* No conf file: the upstream server's behaviour, driven by its environment variables. The
 * credentials chain finds what the AWS CLI finds: environment, profile (static keys, assume role,
 * credential_process, SSO, web identity of ~/.aws/config and ~/.aws/credentials), web identity
 * from the environment, the container endpoint, EC2 instance metadata. */
#define BUILTIN_CREDENTIALS(first, second)                                                                \
    "credentials = ( { plugin = \"" first "\"; }, { plugin = \"" second "\"; }, { plugin = \"web-identity\"; },\n" \
    "                { plugin = \"container\"; }, { plugin = \"imds\"; } );\n"
#define BUILTIN_DISCOVERY                                                                          \
    "discovery = { plugins = ( { plugin = \"prefix\"; }, { plugin = \"list\"; }, { plugin = \"tags\"; },\n"    \
    "                          { plugin = \"schema-registry\"; } ); };\n"

static const char builtin_default_conf[] = BUILTIN_CREDENTIALS("env", "profile") BUILTIN_DISCOVERY;

/* The same with AWS_PROFILE set: the upstream server opens boto3.Session(profile_name=AWS_PROFILE),
 * and botocore leaves the environment's keys out of the chain of an explicitly named profile, so
 * the profile wins over AWS_ACCESS_KEY_ID. A profile that does not exist falls back to the other
 * sources, the environment included (upstream: ProfileNotFound, then a session without it). */
static const char builtin_default_conf_profile_first[] = BUILTIN_CREDENTIALS("profile", "env") BUILTIN_DISCOVERY;

const char *builtin_default_conf_text(void)
{
    const char *p = getenv("AWS_PROFILE");
    return p && *p ? builtin_default_conf_profile_first : builtin_default_conf;
}

/* ------------------------------------------------------------------ what libconfig lets through */

/* why a conf file anyone could edit is refused (path_check_trusted) */
#define CONF_RISK "the conf file decides which plugins run and where calls and their arguments go"

/* libconfig 1.5 (Debian 12's) reads an integer literal without the L suffix as a 32-bit int and
 * silently wraps a larger one: `max_bytes = 4294968320;` becomes 1024 and `ttl = 3000000000;`
 * a negative number. The text is scanned for such literals before it is parsed, so they are
 * refused at their line (libconfig 1.7 promotes them to 64 bits by itself). The scanner follows
 * libconfig's lexer: comments (#, //, slash-star), strings, names (which may hold digits),
 * floats, decimal and hex integers, @include lines (read like libconfig does, relative to the
 * working directory; each is refused like the conf file when someone else could have edited
 * it). Returns -1 with "file:line: ..." (or the refusal) in err. */
static int scan_int_literals(const char *file, int depth, char *err, size_t errlen)
{
    if (depth > 0 && path_check_trusted(file, CONF_RISK, err, errlen) < 0)
        return -1; /* an @include: refused like the file that includes it */
    FILE *f = depth > 10 ? NULL : fopen(file, "r");
    if (!f)
        return 0; /* libconfig reports what it cannot read */
    buf text = BUF_INIT;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&text, chunk, got);
    fclose(f);
    const char *p = text.data ? text.data : "";
    const char *end = p + text.len;
    int line = 1, rc = 0;
    bool line_start = true;
    while (p < end && rc == 0) {
        char c = *p;
        if (c == '\n') {
            line++;
            line_start = true;
            p++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            p++;
            continue;
        }
        bool at_start = line_start;
        line_start = false;
        if (c == '#' || (c == '/' && p + 1 < end && p[1] == '/')) {
            while (p < end && *p != '\n')
                p++;
        } else if (c == '/' && p + 1 < end && p[1] == '*') {
            for (p += 2; p < end && !(*p == '*' && p + 1 < end && p[1] == '/'); p++)
                if (*p == '\n')
                    line++;
            p = p < end ? p + 2 : end;
        } else if (c == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                if (*p == '\n')
                    line++;
            }
            p = p < end ? p + 1 : end;
        } else if (c == '@' && at_start && (size_t)(end - p) > 8 && strncmp(p, "@include", 8) == 0) {
            const char *q = p + 8;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            const char *close = q < le && *q == '"' ? memchr(q + 1, '"', (size_t)(le - q - 1)) : NULL;
            if (close) {
                char *inc = xstrndup(q + 1, (size_t)(close - q - 1));
                rc = scan_int_literals(inc, depth + 1, err, errlen);
                free(inc);
            }
            p = le;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*') {
            while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                               *p == '-' || *p == '_' || *p == '*'))
                p++;
        } else if ((c >= '0' && c <= '9') || ((c == '-' || c == '+') && p + 1 < end && p[1] >= '0' && p[1] <= '9')) {
            const char *start = p;
            bool neg = c == '-';
            if (c == '-' || c == '+')
                p++;
            bool hex = p + 1 < end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
            unsigned long long v = 0;
            bool big = false;
            if (hex) {
                for (p += 2; p < end && hex_digit((unsigned char)*p) >= 0; p++) {
                    big = big || v > 0x7FFFFFFFULL;
                    v = v * 16 + (unsigned)hex_digit((unsigned char)*p);
                }
                big = big || v > 0x7FFFFFFFULL;
            } else {
                for (; p < end && *p >= '0' && *p <= '9'; p++) {
                    big = big || v > 2147483648ULL;
                    v = v * 10 + (unsigned)(*p - '0');
                }
                big = big || v > (neg ? 2147483648ULL : 2147483647ULL);
            }
            if (!hex && p < end && (*p == '.' || *p == 'e' || *p == 'E')) { /* a float */
                while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
                                   ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E'))))
                    p++;
            } else if (p < end && *p == 'L') { /* a 64-bit integer */
                p++;
            } else if (big) {
                snprintf(err, errlen,
                         "%s:%d: the integer %.*s does not fit in 32 bits, and libconfig would read it as another "
                         "number: write it with an L suffix (%.*sL), or as a string like \"720h\" where a duration "
                         "is expected",
                         file, line, (int)(p - start), start, (int)(p - start), start);
                rc = -1;
            }
        } else {
            p++;
        }
    }
    buf_free(&text);
    return rc;
}

/* Strings reach MCP clients (instructions, descriptions from plugins) and AWS: the conf must be
 * UTF-8. Returns -1 with "file:line: ..." in err for the first string that is not. */
static int check_utf8(const config_setting_t *s, const char *parent, const char *path, char *err, size_t errlen)
{
    const char *name = config_setting_name(s) ? config_setting_name(s) : parent;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_STRING) {
        const char *v = config_setting_get_string(s);
        if (v && !utf8_valid(v, strlen(v))) {
            const char *f = config_setting_source_file(s);
            snprintf(err, errlen, "%s:%u: the value of '%s' is not valid UTF-8 (save the conf file as UTF-8)",
                     f ? f : (path ? path : "?"), config_setting_source_line(s), name ? name : "?");
            return -1;
        }
        return 0;
    }
    if (t == CONFIG_TYPE_GROUP || t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST)
        for (int i = 0; i < config_setting_length(s); i++)
            if (check_utf8(config_setting_get_elem(s, (unsigned)i), name, path, err, errlen) < 0)
                return -1;
    return 0;
}

/* ------------------------------------------------------------------ parsing */

static char *where(const config_setting_t *s, const char *path)
{
    const char *f = config_setting_source_file(s);
    return xasprintf("%s:%u", f ? f : (path ? path : "built-in default"), config_setting_source_line(s));
}

static int load_group(lmcp_settings **out, const lmcp_setting_def *defs, const char *owner,
                      const config_setting_t *group, const char *const *skip, char *err, size_t errlen)
{
    *out = settings_new(defs, owner, err, errlen);
    if (!*out)
        return -1;
    if (group && settings_apply_conf(*out, group, skip, err, errlen) < 0)
        return -1;
    return 0;
}

static int parse_plugin_list(const config_setting_t *list, const char *section, const char *path, plugin_entry **out,
                             size_t *n_out, char *err, size_t errlen)
{
    if (!list)
        return 0;
    if (config_setting_type(list) != CONFIG_TYPE_LIST) {
        char *w = where(list, path);
        snprintf(err, errlen, "%s: '%s' must be a list of plugin entries: ( { plugin = \"name\"; ... }, ... )", w,
                 section);
        free(w);
        return -1;
    }
    int n = config_setting_length(list);
    *out = xcalloc((size_t)n + 1, sizeof **out);
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        plugin_entry *e = &(*out)[(*n_out)++];
        e->origin = where(g, path);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            snprintf(err, errlen, "%s: each entry of '%s' must be a group: { plugin = \"name\"; ... }", e->origin,
                     section);
            return -1;
        }
        e->group = g;
        /* the entry's own keys: a value of another type must not be skipped as if absent */
        static const char *const keys[] = {"plugin", "path", "name"};
        char **dst[] = {&e->plugin, &e->path, &e->name};
        for (size_t k = 0; k < 3; k++) {
            const config_setting_t *m = config_setting_get_member(g, keys[k]);
            if (!m)
                continue;
            char *mw = where(m, path);
            const char *v = config_setting_type(m) == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
            if (!v || !*v)
                snprintf(err, errlen, "%s: '%s' must be a non-empty string", mw, keys[k]);
            else if (k == 0 && strchr(v, '/'))
                snprintf(err, errlen, "%s: '%s' is a name, not a file: write path = \"%s\"; for a plugin file", mw,
                         keys[k], v);
            else
                *dst[k] = xstrdup(v);
            free(mw);
            if (!*dst[k])
                return -1;
        }
        if (!e->plugin && !e->path) {
            snprintf(err, errlen, "%s: entry of '%s' names no plugin (add plugin = \"name\";)", e->origin, section);
            return -1;
        }
        if (e->path && e->path[0] != '/') {
            /* relative to the conf file that says it, not to wherever the MCP client started us */
            const char *f = config_setting_source_file(g);
            f = f ? f : path;
            const char *slash = f ? strrchr(f, '/') : NULL;
            if (slash) {
                char *abs = xasprintf("%.*s/%s", (int)(slash - f), f, e->path);
                free(e->path);
                e->path = abs;
            }
        }
        if (!e->plugin) {
            const char *base = strrchr(e->path, '/');
            base = base ? base + 1 : e->path;
            e->plugin = xstrndup(base, strcspn(base, "."));
        }
        if (!e->name)
            e->name = xstrdup(e->plugin);
        /* instances are told apart by name in logs and --check: one name, one entry */
        for (size_t j = 0; j + 1 < *n_out; j++)
            if (strcmp((*out)[j].name, e->name) == 0) {
                snprintf(err, errlen,
                         "%s: '%s' already has an entry named '%s' (at %s): remove one, or give this one its own "
                         "name = \"...\";",
                         e->origin, section, e->name, (*out)[j].origin);
                return -1;
            }
    }
    return 0;
}

static int parse_tool_rules(app_config *c, const config_setting_t *list, char *err, size_t errlen)
{
    if (!list)
        return 0;
    if (config_setting_type(list) != CONFIG_TYPE_LIST) {
        char *w = where(list, c->path);
        snprintf(err, errlen, "%s: 'tools' must be a list of groups: ( { match = \"name_*\"; timeout = \"5m\"; } )", w);
        free(w);
        return -1;
    }
    int n = config_setting_length(list);
    c->tool_rules = xcalloc((size_t)n + 1, sizeof *c->tool_rules);
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        settings_rule *r = &c->tool_rules[c->n_tool_rules++];
        char *origin = where(g, c->path);
        int rc = -1;
        const config_setting_t *m;
        static const char *const skip[] = {"match", NULL};
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            snprintf(err, errlen, "%s: each entry of 'tools' must be a group", origin);
        else if (!(m = config_setting_get_member(g, "match")))
            snprintf(err, errlen, "%s: tool rule without 'match' (a tool name pattern or a list of them)", origin);
        else if (settings_parse_globs(m, &r->globs, err, errlen) == 0 &&
                 (r->partial = settings_new(tool_settings, "a tools rule", err, errlen))) {
            /* only what the block sets counts: reset the env/default values to non-explicit */
            for (size_t k = 0; k < r->partial->n; k++)
                r->partial->v[k].explicit_ = false;
            rc = settings_apply_conf(r->partial, g, skip, err, errlen);
        }
        free(origin);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int load_entries(app_config *c, const config_setting_t *list, const char *section, const char *path,
                        plugin_entry **out, size_t *n, char *err, size_t errlen);

int app_config_load(app_config *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    config_init(&c->doc);
    c->doc_loaded = true;
    c->path = xstrdup(path);
    int ok;
    if (path && path_check_trusted(path, CONF_RISK, err, errlen) < 0)
        return -1;
    if (path) {
        ok = config_read_file(&c->doc, path);
    } else {
        ok = config_read_string(&c->doc, builtin_default_conf_text());
    }
    if (!ok) {
        if (config_error_type(&c->doc) == CONFIG_ERR_FILE_IO) {
            /* libconfig does not say why: ask again */
            int e = errno;
            FILE *f = path ? fopen(path, "r") : NULL;
            if (f) {
                e = getc(f) == EOF && ferror(f) ? errno : 0;
                fclose(f);
            } else if (path) {
                e = errno;
            }
            snprintf(err, errlen, "%s: cannot read the conf file%s%s", path ? path : "built-in default",
                     e ? ": " : "", e ? strerror(e) : "");
        } else {
            const char *file = config_error_file(&c->doc);
            snprintf(err, errlen, "%s:%d: %s", file ? file : (path ? path : "built-in default"),
                     config_error_line(&c->doc), config_error_text(&c->doc));
        }
        return -1;
    }
    const config_setting_t *root = config_root_setting(&c->doc);
    if (path && (scan_int_literals(path, 0, err, errlen) < 0 || check_utf8(root, NULL, path, err, errlen) < 0))
        return -1;
    static const char *const top[] = {"server", "aws", "discovery", "credentials", "wrappers", "tools", NULL};
    const config_setting_t *sect[6] = {0};
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        int k = 0;
        while (top[k] && strcmp(top[k], config_setting_name(s)) != 0)
            k++;
        if (!top[k]) {
            char *w = where(s, path);
            snprintf(err, errlen,
                     "%s: unknown section '%s' (sections: server, aws, discovery, credentials, wrappers, tools)", w,
                     config_setting_name(s));
            free(w);
            return -1;
        }
        sect[k] = s;
    }
    for (int k = 0; k < 3; k++) {
        if (sect[k] && config_setting_type(sect[k]) != CONFIG_TYPE_GROUP) {
            char *w = where(sect[k], path);
            snprintf(err, errlen, "%s: '%s' must be a group: %s = { ... };", w, top[k], top[k]);
            free(w);
            return -1;
        }
    }
    static const char *const disc_skip[] = {"plugins", NULL};
    if (load_group(&c->server, server_settings, "section server", sect[0], NULL, err, errlen) < 0 ||
        load_group(&c->aws, aws_settings, "section aws", sect[1], NULL, err, errlen) < 0 ||
        load_group(&c->discovery, discovery_settings, "section discovery", sect[2], disc_skip, err, errlen) < 0 ||
        load_group(&c->tool_defaults, tool_settings, "section tools", NULL, NULL, err, errlen) < 0)
        return -1;
    const char *tf = settings_get_string(c->discovery, "tags_from");
    if (strcmp(tf, "auto") != 0 && strcmp(tf, "tagging-api") != 0 && strcmp(tf, "list-tags") != 0) {
        snprintf(err, errlen, "%s: discovery.tags_from must be auto, tagging-api or list-tags, not '%s'",
                 settings_origin(c->discovery, "tags_from"), tf);
        return -1;
    }
    const config_setting_t *dp = sect[2] ? config_setting_get_member(sect[2], "plugins") : NULL;
    if (load_entries(c, dp, "discovery.plugins", path, &c->discovery_plugins, &c->n_discovery, err, errlen) < 0 ||
        load_entries(c, sect[3], "credentials", path, &c->credentials, &c->n_credentials, err, errlen) < 0 ||
        parse_plugin_list(sect[4], "wrappers", path, &c->wrappers, &c->n_wrappers, err, errlen) < 0 ||
        parse_tool_rules(c, sect[5], err, errlen) < 0)
        return -1;
    return 0;
}

/* The credentials or discovery plugin entries. A conf file that leaves the list out (no
 * credentials section; no discovery.plugins) gets the built-in default's list: the chain the AWS
 * CLI follows, the selectors and filters driven by the upstream environment variables. So a conf
 * written for its wrappers alone behaves like no conf file plus those wrappers. An explicitly
 * empty list is taken as written (credentials = ( ); is the caller's to refuse). */
static int load_entries(app_config *c, const config_setting_t *list, const char *section, const char *path,
                        plugin_entry **out, size_t *n, char *err, size_t errlen)
{
    if (list || !path) {
        if (parse_plugin_list(list, section, path, out, n, err, errlen) < 0)
            return -1;
        if (list && *n == 0 && strcmp(section, "credentials") == 0) {
            /* credentials = ( ); nothing could sign a request: every discovery and call would fail */
            char *w = where(list, path);
            snprintf(err, errlen,
                     "%s: no credentials plugins are configured, so no AWS request could be signed: add e.g. "
                     "credentials = ( { plugin = \"env\"; }, { plugin = \"profile\"; } ); (or leave the section "
                     "out for the default chain)",
                     w);
            free(w);
            return -1;
        }
        return 0;
    }
    if (!c->defaults_loaded) {
        config_init(&c->defaults);
        c->defaults_loaded = true;
        if (!config_read_string(&c->defaults, builtin_default_conf_text())) {
            snprintf(err, errlen, "built-in default: %s", config_error_text(&c->defaults));
            return -1;
        }
    }
    bool creds = strcmp(section, "credentials") == 0;
    c->defaulted |= creds ? CONF_DEFAULT_CREDENTIALS : CONF_DEFAULT_DISCOVERY;
    if (parse_plugin_list(config_lookup(&c->defaults, section), section, NULL, out, n, err, errlen) < 0)
        return -1;
    /* named after the conf that left the list out, not a line of the built-in text nobody wrote:
       "app.conf (no credentials section: the default chain): no plugin named 'env': ..." */
    for (size_t i = 0; i < *n; i++) {
        free((*out)[i].origin);
        (*out)[i].origin = xasprintf("%s (no %s: the default %s)", path, creds ? "credentials section" : "discovery.plugins",
                                     creds ? "chain" : "plugins");
    }
    return 0;
}

static void entries_free(plugin_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].plugin);
        free(e[i].path);
        free(e[i].name);
        free(e[i].origin);
    }
    free(e);
}

void app_config_free(app_config *c)
{
    if (!c)
        return;
    settings_release(c->server);
    settings_release(c->aws);
    settings_release(c->discovery);
    settings_release(c->tool_defaults);
    entries_free(c->credentials, c->n_credentials);
    entries_free(c->discovery_plugins, c->n_discovery);
    entries_free(c->wrappers, c->n_wrappers);
    settings_rules_free(c->tool_rules, c->n_tool_rules);
    if (c->doc_loaded)
        config_destroy(&c->doc);
    if (c->defaults_loaded)
        config_destroy(&c->defaults);
    free(c->path);
    memset(c, 0, sizeof *c);
}

lmcp_settings *app_config_tool_settings(const app_config *c, const char *tool_name,
                                        bool (*tag)(void *ctx, const char *key, const char **value), void *tag_ctx)
{
    return settings_for_tool(c->tool_defaults, tool_name, tag, tag_ctx, c->tool_rules, c->n_tool_rules);
}
