#include "config.h"
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/http.h"
#include "credentials/credentials.h"
#include "discovery/pipeline.h"
#include "host.h"
#include "invoke/executor.h"
#include "invoke/invoker.h"
#include "lmcp-dirs.h"
#include "mcp/framing.h"
#include "mcp/server.h"
#include "tools/registry.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define COMP "lambda-mcp"

struct app {
    app_options opts;
    char *config_path;
    plugin_loader *loader;
    pthread_mutex_t gen_mu;         /* guards cur */
    generation *cur;
    pthread_mutex_t discovery_mu;   /* one discovery at a time */
    registry *reg;
    executor *exec;
    out_writer *out;
    int proto_fd; /* where protocol messages go: the original stdout (see keep_stdout_for_protocol) */
    bool proto_fd_busy; /* a writer thread the client left blocked still writes to it: not closed */
    mcp_server *mcp;
    /* refresh */
    pthread_t refresh_thread;
    bool refresh_started;
    bool refresh_busy;              /* discovering (not waiting on refresh_cv); under refresh_mu */
    pthread_mutex_t refresh_mu;
    pthread_cond_t refresh_cv;
    bool stopping;
    bool reload_requested;          /* SIGHUP: the refresh thread re-reads the conf */
    generation *pending;            /* a reloaded conf whose discovery failed: retried like a
                                       failed discovery, installed when one succeeds (refresh
                                       thread only) */
    bool last_discovery_failed;
};

static app *g_app;

/* The generation new discovery runs and calls use (NULL before the first one is built). Not
 * referenced: only compared, or used by the thread that installs generations. */
static generation *current_generation(app *a)
{
    pthread_mutex_lock(&a->gen_mu);
    generation *g = a->cur;
    pthread_mutex_unlock(&a->gen_mu);
    return g;
}

static generation *current_ref(app *a)
{
    pthread_mutex_lock(&a->gen_mu);
    generation *g = a->cur ? generation_ref(a->cur) : NULL;
    pthread_mutex_unlock(&a->gen_mu);
    return g;
}

/* ------------------------------------------------------------------ generations */

generation *generation_ref(generation *g)
{
    atomic_fetch_add(&g->refs, 1);
    return g;
}

static void free_instances(plugin_instance **v, size_t n)
{
    for (size_t i = n; i-- > 0;)
        plugin_instance_free(v[i]);
    free(v);
}

void generation_release(generation *g)
{
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    /* first: a refresh still running on the chain's thread uses the plugins and the AWS client */
    creds_chain_free(g->creds);
    chain_free(g->chain);
    aws_client_free(g->aws);
    free_instances(g->wrappers, g->n_wrappers);
    free_instances(g->discovery, g->n_discovery);
    free_instances(g->credentials, g->n_credentials);
    aws_endpoints_free(&g->awscfg.endpoints);
    app_config_free(&g->cfg);
    free(g->region);
    free(g->region_origin);
    getfunction_refusals_free(&g->gf_refusals);
    free(g);
}

static int instantiate(generation *g, const plugin_entry *entries, size_t n, lmcp_plugin_kind kind,
                       plugin_instance ***out, size_t *n_out, char *err, size_t errlen)
{
    *out = xcalloc(n ? n : 1, sizeof **out);
    for (size_t i = 0; i < n; i++) {
        const plugin_entry *e = &entries[i];
        char lerr[1024];
        plugin_module *m = plugin_loader_load(g->app->loader, e->plugin, e->path, kind, lerr, sizeof lerr);
        if (!m) {
            snprintf(err, errlen, "%s: %s", e->origin, lerr);
            return -1;
        }
        plugin_instance *inst = plugin_instance_new(m, e, host_table(), g, err, errlen);
        if (!inst)
            return -1;
        (*out)[(*n_out)++] = inst;
    }
    return 0;
}

int generation_resolve_with(generation *g, const char *plugin, lmcp_credentials **out, char *err, size_t errlen)
{
    char lerr[1024];
    plugin_module *m = plugin_loader_load(g->app->loader, plugin, NULL, LMCP_PLUGIN_CREDENTIALS, lerr, sizeof lerr);
    if (!m) {
        snprintf(err, errlen, "%s", lerr);
        return LMCP_ERR;
    }
    plugin_instance *inst = plugin_instance_new(m, NULL, host_table(), g, err, errlen);
    if (!inst)
        return LMCP_ERR;
    int rc = creds_resolve_one(inst, out, err, errlen);
    plugin_instance_free(inst);
    return rc;
}

/* --plugin-dir, else server.plugin_dir (conf or LAMBDA_MCP_PLUGIN_DIR), else the installed ones;
 * an empty value counts as unset. */
static const char *plugin_dir_for(const app *a, const lmcp_settings *server)
{
    if (a->opts.plugin_dir && *a->opts.plugin_dir)
        return a->opts.plugin_dir;
    const char *dir = server ? settings_get_string(server, "plugin_dir") : NULL;
    return dir && *dir ? dir : LMCP_PLUGIN_DIR;
}

/* The region from the conf or the environment; NULL when only a credentials plugin can say. */
static char *configured_region(const generation *g, char **origin)
{
    const lmcp_settings *aws = g->cfg.aws;
    const char *r = settings_get_string(aws, "region");
    if (r && *r) {
        *origin = xasprintf("aws.region (%s)", settings_origin(aws, "region"));
        return xstrdup(r);
    }
    static const char *const envs[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(envs[i]);
        if (v && *v) {
            *origin = xstrdup(envs[i]);
            return xstrdup(v);
        }
    }
    return NULL;
}

/* A credentials plugin's region (a profile's, the instance's), else us-east-1. IMDS needs plain
 * HTTP for it, so g->aws must exist. */
static char *plugin_region(generation *g, char **origin)
{
    char found[64];
    const char *src = NULL;
    if (creds_chain_region(g->creds, found, sizeof found, &src) == LMCP_OK) {
        *origin = xasprintf("credentials plugin %s", src);
        return xstrdup(found);
    }
    *origin = xstrdup("default");
    return xstrdup("us-east-1");
}

/* "env, profile, ...": the instance names of conf entries, for a log line */
static char *entry_names(const plugin_entry *e, size_t n)
{
    buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        buf_appendf(&b, "%s%s", i ? ", " : "", e[i].name);
    return buf_steal(&b);
}

generation *generation_new(app *a, const char *config_path, char *err, size_t errlen)
{
    generation *g = xcalloc(1, sizeof *g);
    atomic_init(&g->refs, 1);
    g->app = a;
    getfunction_refusals_init(&g->gf_refusals);
    if (app_config_load(&g->cfg, config_path, err, errlen) < 0)
        goto fail;
    if (g->cfg.defaulted & CONF_DEFAULT_CREDENTIALS) {
        char *names = entry_names(g->cfg.credentials, g->cfg.n_credentials);
        LOG_INFO("lambda-mcp", "%s has no credentials section: the default chain (%s)", config_path, names);
        free(names);
    }
    if (g->cfg.defaulted & CONF_DEFAULT_DISCOVERY) {
        char *names = entry_names(g->cfg.discovery_plugins, g->cfg.n_discovery);
        LOG_INFO("lambda-mcp", "%s has no discovery plugins list: the default (%s, driven by the upstream "
                               "environment variables)",
                 config_path, names);
        free(names);
    }
    lmcp_log_level lvl;
    const char *ls = settings_get_string(g->cfg.server, "log_level");
    if (!log_parse_level(ls, &lvl)) {
        snprintf(err, errlen, "%s: log_level must be error, warn, info, debug or trace, not '%s'",
                 settings_origin(g->cfg.server, "log_level"), ls);
        goto fail;
    }
    g->log_level = lvl;
    /* the first conf's level applies at once, so its plugins log at it; a reload's only when it
       is installed (a reload that fails changes nothing) */
    if (!a->cur && !a->opts.log_level_set)
        log_set_level(lvl);
    if (!a->loader)
        a->loader = plugin_loader_new(plugin_dir_for(a, g->cfg.server));

    if (instantiate(g, g->cfg.credentials, g->cfg.n_credentials, LMCP_PLUGIN_CREDENTIALS, &g->credentials,
                    &g->n_credentials, err, errlen) < 0)
        goto fail;
    g->creds = creds_chain_new(g->credentials, g->n_credentials);

    const lmcp_settings *aws = g->cfg.aws;
    aws_endpoints_from_env(&g->awscfg.endpoints);
    const char *eu = settings_get_string(aws, "endpoint_url");
    if (eu && *eu)
        aws_endpoints_set(&g->awscfg.endpoints, NULL, eu);
    const char *const *keys, *const *vals;
    size_t ne = settings_get_map(aws, "endpoints", &keys, &vals);
    for (size_t i = 0; i < ne; i++) {
        if (!aws_endpoint_env_id(keys[i])) {
            snprintf(err, errlen, "%s: aws.endpoints: unknown service '%s' (known: lambda, tagging, schemas, sts, "
                     "portal.sso, oidc)", settings_origin(aws, "endpoints"), keys[i]);
            goto fail;
        }
        aws_endpoints_set(&g->awscfg.endpoints, keys[i], vals[i]);
    }
    g->awscfg.ca_bundle = settings_get_string(aws, "ca_bundle");
    g->awscfg.connect_timeout_ms = settings_get_duration_ms(aws, "connect_timeout");
    g->awscfg.timeout_ms = settings_get_duration_ms(aws, "timeout");
    g->awscfg.max_attempts = (int)settings_get_int(aws, "max_attempts");
    g->awscfg.retry_base_ms = settings_get_duration_ms(aws, "retry_base");
    g->awscfg.retry_max_backoff_ms = settings_get_duration_ms(aws, "retry_max_backoff");
    g->awscfg.creds = creds_chain_get_until;
    g->awscfg.creds_ctx = g->creds;

    g->region = configured_region(g, &g->region_origin);
    if (!g->region) {
        /* only a credentials plugin can tell (a profile's region, the instance metadata): IMDS needs
           plain HTTP for it, so a client serves that lookup, then the real one is built */
        g->awscfg.region = "us-east-1";
        g->aws = aws_client_new(&g->awscfg);
        if (!g->aws) {
            snprintf(err, errlen, "cannot set up the AWS client");
            goto fail;
        }
        g->region = plugin_region(g, &g->region_origin);
        aws_client_free(g->aws);
        g->aws = NULL;
    }
    g->awscfg.region = g->region;
    g->aws = aws_client_new(&g->awscfg);
    if (!g->aws) {
        snprintf(err, errlen, "cannot set up the AWS client");
        goto fail;
    }
    g->discovery_concurrency = (size_t)settings_get_int(g->cfg.discovery, "concurrency");
    if (!a->cur)
        discovery_set_default_concurrency(g->discovery_concurrency);

    if (instantiate(g, g->cfg.discovery_plugins, g->cfg.n_discovery, LMCP_PLUGIN_DISCOVERY, &g->discovery,
                    &g->n_discovery, err, errlen) < 0)
        goto fail;
    if (instantiate(g, g->cfg.wrappers, g->cfg.n_wrappers, LMCP_PLUGIN_WRAPPER, &g->wrappers, &g->n_wrappers, err,
                    errlen) < 0)
        goto fail;
    g->chain = chain_new(invoker_invoke, g);
    for (size_t i = 0; i < g->n_wrappers; i++)
        chain_append(g->chain, g->wrappers[i]);

    /* settings can come from function tags only when discovery reads the tags: say so, once */
    bool tag_settings = false, reads_tags = false;
    for (size_t i = 0; i < g->n_wrappers && !tag_settings; i++)
        for (const lmcp_setting_def *d = g->wrappers[i]->def->settings; d && d->name && !tag_settings; d++)
            tag_settings = d->tag != NULL;
    for (size_t i = 0; i < g->n_discovery; i++) {
        const lmcp_discovery_ops *ops = g->discovery[i]->def->discovery;
        if (ops->needs_tags && ops->needs_tags(g->discovery[i]->state))
            reads_tags = true;
    }
    if (tag_settings && !reads_tags)
        LOG_INFO(COMP, "wrapper settings from function tags (like lambda-mcp:cacheable) apply only when discovery "
                       "reads tags: a tag filter, a schema tag, or { plugin = \"tags\"; metadata = \"always\"; } "
                       "(or to the functions a list selector fetches, which come with their tags)");
    return g;
fail:
    generation_release(g);
    return NULL;
}

static void set_current(app *a, generation *g)
{
    if (g) {
        if (!a->opts.log_level_set)
            log_set_level(g->log_level);
        discovery_set_default_concurrency(g->discovery_concurrency);
    }
    pthread_mutex_lock(&a->gen_mu);
    generation *old = a->cur;
    a->cur = g;
    pthread_mutex_unlock(&a->gen_mu);
    generation_release(old);
}

/* ------------------------------------------------------------------ discovery */

/* Run discovery on g and publish the result. Returns 0, or -1 (the previous tools stay).
 * install: g becomes the current generation when its discovery succeeds (reload). Otherwise a
 * result computed with a generation that a reload replaced meanwhile is dropped, so a refresh
 * that started before a SIGHUP cannot put the old tool set back. */
static int discover_and_publish(app *a, generation *g, const char *why, bool install, bool notify)
{
    pthread_mutex_lock(&a->discovery_mu);
    discovery_stats st;
    char err[2048];
    tool_snapshot *s = discovery_run(g, &st, err, sizeof err);
    if (!s) {
        LOG_ERROR("discovery", "%s discovery failed, keeping the previous %s: %s", why,
                  registry_has_published(a->reg) ? "tool set" : "(empty) tool set", err);
        a->last_discovery_failed = true;
        pthread_mutex_unlock(&a->discovery_mu);
        return -1;
    }
    if (install) {
        set_current(a, generation_ref(g));
    } else if (current_generation(a) != g) {
        LOG_DEBUG("discovery", "%s discovery finished with a replaced configuration: result dropped", why);
        snapshot_release(s);
        pthread_mutex_unlock(&a->discovery_mu);
        return 0;
    }
    a->last_discovery_failed = false;
    bool changed = registry_publish(a->reg, s);
    LOG_INFO("discovery", "%s discovery: %zu tool%s from %zu listed function%s (%zu page%s), %lld ms%s", why, st.tools,
             st.tools == 1 ? "" : "s", st.listed, st.listed == 1 ? "" : "s", st.pages, st.pages == 1 ? "" : "s",
             (long long)st.duration_ms, changed ? "" : "; no change");
    pthread_mutex_unlock(&a->discovery_mu);
    if (changed && notify && a->mcp)
        mcp_server_notify_tools_changed(a->mcp);
    return 0;
}

/* The first discovery, while the server already answers initialize, server/discover and ping:
 * the tools/list and tools/call that came meanwhile waited for it and are handled with its
 * result, so it sends no list_changed. A failed one leaves the (empty) tool set and is retried
 * by the refresh loop within 30 s, whose success does notify. */
static void initial_discovery(app *a)
{
    generation *g = current_ref(a);
    discover_and_publish(a, g, "initial", false, false);
    generation_release(g);
    mcp_server_tools_ready(a->mcp);
}

static void reload(app *a);
static void install_reloaded(app *a, generation *g, const char *why);

static void *refresh_main(void *arg)
{
    app *a = arg;
    initial_discovery(a);
    pthread_mutex_lock(&a->refresh_mu);
    while (!a->stopping) {
        if (a->reload_requested) {
            a->reload_requested = false;
            pthread_mutex_unlock(&a->refresh_mu);
            reload(a);
            pthread_mutex_lock(&a->refresh_mu);
            continue;
        }
        generation *g = a->pending ? generation_ref(a->pending) : current_ref(a);
        int64_t interval = settings_get_duration_ms(g->cfg.discovery, "refresh_interval");
        /* after a failed discovery, try again within 30 s even when refresh is off */
        if (a->last_discovery_failed && (interval == 0 || interval > 30000))
            interval = 30000;
        generation_release(g);
        a->refresh_busy = false;
        if (interval == 0) {
            pthread_cond_wait(&a->refresh_cv, &a->refresh_mu);
            a->refresh_busy = true;
            continue;
        }
        struct timespec until = clock_mono_deadline(interval);
        int rc = 0;
        while (!a->stopping && !a->reload_requested && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&a->refresh_cv, &a->refresh_mu, &until);
        a->refresh_busy = true;
        if (a->stopping)
            break;
        if (a->reload_requested)
            continue;
        pthread_mutex_unlock(&a->refresh_mu);
        if (a->pending) {
            install_reloaded(a, a->pending, "reload (retry)");
        } else {
            g = current_ref(a);
            discover_and_publish(a, g, "scheduled", false, true);
            generation_release(g);
        }
        pthread_mutex_lock(&a->refresh_mu);
    }
    a->refresh_busy = false;
    pthread_mutex_unlock(&a->refresh_mu);
    return NULL;
}

static void reload(app *a)
{
    LOG_INFO(COMP, "SIGHUP: re-reading %s", a->config_path ? a->config_path : "the built-in default configuration");
    char err[2048];
    generation *g = generation_new(a, a->config_path, err, sizeof err);
    if (!g) {
        LOG_ERROR(COMP, "reload failed, keeping the current configuration: %s", err);
        return;
    }
    generation_release(a->pending); /* an earlier reload still waiting: this one replaces it */
    a->pending = NULL;
    install_reloaded(a, g, "reload");
    generation_release(g);
}

/* Discover with a reloaded generation and install it when that works. When it does not (AWS
 * unreachable for a moment), the previous configuration and tools stay, and the new one is kept
 * as pending: the refresh loop retries it like any failed discovery (within 30 s, or at its own
 * refresh_interval when shorter), so the edited conf still takes effect without another SIGHUP. */
static void install_reloaded(app *a, generation *g, const char *why)
{
    generation *old = current_ref(a);
    int rc = discover_and_publish(a, g, why, true, true);
    if (rc == 0) {
        if (old) {
            /* these are read once, when the server starts serving */
            const lmcp_settings *o = old->cfg.server, *n = g->cfg.server;
            for (size_t k = 0; k < n->n; k++)
                if (strcmp(n->defs[k].name, "log_level") != 0 && !settings_same_value(o, n, k))
                    LOG_WARN(COMP, "reload: server.%s changed (%s); it takes effect at the next start",
                             n->defs[k].name, settings_origin(n, n->defs[k].name));
        }
        if (a->pending == g) {
            a->pending = NULL;
            generation_release(g);
        }
    } else if (a->pending != g) {
        a->pending = generation_ref(g);
        LOG_WARN(COMP, "reload: the new configuration loaded, but its discovery failed: the previous configuration "
                       "and tools stay until a retry of the new one succeeds");
    }
    generation_release(old);
}

/* ------------------------------------------------------------------ CLI modes */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: lambda-mcp [OPTIONS]\n"
            "Serve AWS Lambda functions as MCP tools over stdio (MCP 2026-07-28 and 2024-11-05 .. 2025-11-25).\n"
            "\n"
            "  -c, --config FILE      conf file (default: $LAMBDA_MCP_CONFIG, else the built-in default that\n"
            "                         reads FUNCTION_PREFIX, FUNCTION_LIST, AWS_REGION, ... like upstream)\n"
            "  -p, --plugin-dir DIR   where plugin .so files are (default: %s)\n"
            "      --check            validate the conf, load the plugins, resolve credentials, and exit\n"
            "      --list-tools       run discovery once, print the tools, and exit\n"
            "      --list-plugins     list the plugins in the plugin directory, and those the conf file\n"
            "                         names by path, with their settings\n"
            "      --log-level LEVEL  error, warn, info, debug or trace (overrides the conf)\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             this help\n"
            "\n"
            "Signals: SIGHUP re-reads the conf file and re-discovers; SIGTERM, SIGINT or the end of stdin stop.\n"
            "Logs go to stderr; stdout carries MCP messages only.\n",
            LMCP_PLUGIN_DIR);
}

/* Like the AWS CLI's `aws configure list`: only the last four characters of the key id. */
static char *mask_key(const char *akid)
{
    size_t n = akid ? strlen(akid) : 0;
    return n <= 4 ? xstrdup("****") : xasprintf("****************%s", akid + n - 4);
}

static void list_kind(FILE *f, const char *title, plugin_instance **v, size_t n)
{
    fprintf(f, "%s:", title);
    if (!n)
        fprintf(f, " (none)");
    fprintf(f, "\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %zu. %-16s %s  (%s, from %s)\n", i + 1, v[i]->name, v[i]->def->version ? v[i]->def->version : "",
                v[i]->module->path, v[i]->origin);
}

static int do_check(app *a, generation *g)
{
    printf("conf:        %s\n", a->config_path ? a->config_path : "(built-in default: upstream-compatible environment)");
    printf("plugin dir:  %s\n", plugin_loader_dir(a->loader));
    printf("region:      %s (from %s)\n", g->region, g->region_origin);
    char *lambda = aws_endpoint_resolve(&g->awscfg.endpoints, "lambda", g->region);
    char *shown = lambda ? url_for_log(lambda) : NULL; /* a configured URL may carry user:password@ */
    printf("lambda:      %s\n", shown ? shown : "?");
    free(shown);
    free(lambda);
    list_kind(stdout, "credentials", g->credentials, g->n_credentials);
    list_kind(stdout, "discovery", g->discovery, g->n_discovery);
    list_kind(stdout, "wrappers", g->wrappers, g->n_wrappers);
    lmcp_credentials *c = NULL;
    char err[2048];
    if (creds_chain_get(g->creds, &c, err, sizeof err) != LMCP_OK) {
        printf("credentials: NONE: %s\n", err);
        return 1;
    }
    char *masked = mask_key(c->access_key_id);
    printf("credentials: from %s (access key %s%s)", c->source ? c->source : "?", masked,
           c->session_token ? ", with a session token" : "");
    if (c->expiration_ms)
        printf(", expire in %lld s", (long long)((c->expiration_ms - clock_wall_ms()) / 1000));
    printf("\nOK\n");
    free(masked);
    credentials_free(c);
    return 0;
}

static int do_list_tools(app *a, generation *g)
{
    (void)a;
    discovery_stats st;
    char err[2048];
    tool_snapshot *s = discovery_run(g, &st, err, sizeof err);
    if (!s) {
        fprintf(stderr, "lambda-mcp: discovery failed: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < s->n; i++) {
        const tool *t = &s->tools[i];
        printf("%-32s %-40s %s\n", t->name, t->function_name, t->description);
    }
    fprintf(stderr, "%zu tool%s (%zu functions listed in %zu page%s, %lld ms)\n", s->n, s->n == 1 ? "" : "s", st.listed,
            st.pages, st.pages == 1 ? "" : "s", (long long)st.duration_ms);
    snapshot_release(s);
    return 0;
}

typedef struct scan_ctx {
    int errors;
    const plugin_module **shown; /* each module is described once */
    size_t n_shown;
} scan_ctx;

static void scan_ok(void *ctx, plugin_module *m)
{
    scan_ctx *sc = ctx;
    sc->shown = xrealloc(sc->shown, (sc->n_shown + 1) * sizeof *sc->shown);
    sc->shown[sc->n_shown++] = m;
    const lmcp_plugin_def *d = m->def;
    printf("%s (%s plugin, version %s): %s\n    file: %s\n", d->name, plugin_kind_name(d->kind),
           d->version ? d->version : "?", d->description ? d->description : "", m->path);
    settings_describe(d->settings, stdout);
    printf("\n");
}

static void scan_err(void *ctx, const char *msg)
{
    ((scan_ctx *)ctx)->errors++;
    fprintf(stderr, "lambda-mcp: %s\n", msg);
}

/* The plugins a conf file names by `path` (a vendor plugin kept outside the plugin directory):
 * described after the directory's, each once, and a broken one reported like the directory's. */
static void list_conf_path_plugins(app *a, const app_config *cfg, scan_ctx *sc)
{
    const struct {
        const plugin_entry *v;
        size_t n;
        lmcp_plugin_kind kind;
    } lists[] = {{cfg->credentials, cfg->n_credentials, LMCP_PLUGIN_CREDENTIALS},
                 {cfg->discovery_plugins, cfg->n_discovery, LMCP_PLUGIN_DISCOVERY},
                 {cfg->wrappers, cfg->n_wrappers, LMCP_PLUGIN_WRAPPER}};
    bool heading = false;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (size_t i = 0; i < lists[l].n; i++) {
            const plugin_entry *e = &lists[l].v[i];
            if (!e->path)
                continue;
            char err[1024];
            plugin_module *m = plugin_loader_load(a->loader, e->plugin, e->path, lists[l].kind, err, sizeof err);
            bool shown = false;
            for (size_t k = 0; m && k < sc->n_shown; k++)
                shown = shown || sc->shown[k] == m;
            if (shown)
                continue;
            if (!heading) {
                printf("Plugins %s names by path:\n\n", cfg->path);
                heading = true;
            }
            if (m) {
                scan_ok(sc, m);
            } else {
                char msg[1200];
                snprintf(msg, sizeof msg, "%s: %s", e->origin, err);
                scan_err(sc, msg);
            }
        }
}

static int do_list_plugins(app *a, const app_config *cfg)
{
    printf("Plugins in %s:\n\n", plugin_loader_dir(a->loader));
    scan_ctx sc = {0};
    plugin_loader_scan(a->loader, scan_ok, scan_err, &sc);
    if (cfg)
        list_conf_path_plugins(a, cfg, &sc);
    free(sc.shown);
    printf("Core settings (conf sections server, aws, discovery, tools):\n\nserver:\n");
    settings_describe(server_settings, stdout);
    printf("\naws:\n");
    settings_describe(aws_settings, stdout);
    printf("\ndiscovery:\n");
    settings_describe(discovery_settings, stdout);
    printf("\ntools (per-tool rules: tools = ( { match = \"pattern\"; ... } );):\n");
    settings_describe(tool_settings, stdout);
    return sc.errors ? 1 : 0;
}

/* ------------------------------------------------------------------ serving */

/* Input is read by the executor's threads in turn (leader/followers, see executor.h): each call of
 * read_one reads one message and dispatches it; a tools/call then runs on the thread that read it. */
typedef struct reader_ctx {
    app *a;
    frame_reader *r;
    pthread_t main_thread;
} reader_ctx;

static bool read_one(void *arg)
{
    reader_ctx *rc = arg;
    const char *line;
    size_t len;
    frame_rc f = frame_reader_next(rc->r, &line, &len);
    if (f == FRAME_LINE)
        mcp_server_handle_line(rc->a->mcp, line, len);
    else if (f == FRAME_TOO_LARGE)
        mcp_server_handle_oversized(rc->a->mcp);
    return f == FRAME_LINE || f == FRAME_TOO_LARGE;
}

static void end_of_input(void *arg)
{
    reader_ctx *rc = arg;
    LOG_DEBUG(COMP, "end of input");
    pthread_kill(rc->main_thread, SIGUSR1);
}

static void *shutdown_watchdog(void *arg)
{
    (void)arg;
    clock_sleep_ms(2000);
    LOG_WARN(COMP, "shutdown did not finish within 2 s (a client that stopped reading stdout?): exiting");
    _exit(0);
    return NULL;
}

/* The drain at the end of input, on its own thread (see serve). */
typedef struct drain_ctx {
    mcp_server *mcp;
    int64_t grace_ms;
    atomic_int done;
    bool hurried; /* main thread only */
} drain_ctx;

static void *drain_main(void *arg)
{
    drain_ctx *d = arg;
    mcp_server_shutdown(d->mcp, d->grace_ms);
    atomic_store(&d->done, 1);
    return NULL;
}

/* Server mode: stdout carries protocol messages and nothing else. The original stdout moves to a
 * descriptor of its own (close-on-exec) that only the message writer uses, and fd 1 becomes a copy
 * of stderr: whatever else writes to stdout — a plugin's printf, a library's warning — lands in
 * the log instead of corrupting the protocol stream. Returns the protocol descriptor (1 when fd 1
 * cannot be moved: nothing changes then). */
static int keep_stdout_for_protocol(void)
{
    fflush(stdout);
    int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return STDOUT_FILENO;
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        close(fd);
        return STDOUT_FILENO;
    }
    return fd;
}

static int serve(app *a, sigset_t *sigs)
{
    generation *g = current_ref(a);
    const lmcp_settings *srv = g->cfg.server;
    a->reg = registry_new();
    a->out = out_writer_new(a->proto_fd);
    executor_opts eo = {.max_inflight = (size_t)settings_get_int(srv, "max_inflight"),
                        .max_queued = (size_t)settings_get_int(srv, "max_queued")};
    a->exec = executor_new(&eo, NULL);
    int64_t ttl = settings_get_duration_ms(srv, "tools_ttl");
    int64_t refresh = settings_get_duration_ms(g->cfg.discovery, "refresh_interval");
    if (refresh > 0 && refresh < ttl)
        ttl = refresh;
    mcp_server_opts mo = {
        .name = "lambda-mcp",
        .version = PACKAGE_VERSION,
        .instructions = settings_get_string(srv, "instructions"),
        .tools_ttl_ms = ttl,
        .page_size = (size_t)settings_get_int(srv, "page_size"),
        .progress_interval_ms = settings_get_duration_ms(srv, "progress_interval"),
        .max_line = (size_t)settings_get_int(srv, "max_message_size"),
        .out = a->out,
        .reg = a->reg,
        .exec = a->exec,
        .tools_pending = true, /* until initial_discovery() */
    };
    a->mcp = mcp_server_new(&mo);
    int64_t grace = settings_get_duration_ms(srv, "shutdown_grace");
    size_t max_line = (size_t)settings_get_int(srv, "max_message_size");

    LOG_INFO(COMP, "lambda-mcp %s: region %s (%s), %zu credentials, %zu discovery, %zu wrapper plugin%s", PACKAGE_VERSION,
             g->region, g->region_origin, g->n_credentials, g->n_discovery, g->n_wrappers, g->n_wrappers == 1 ? "" : "s");
    generation_release(g);

    pthread_mutex_init(&a->refresh_mu, NULL);
    /* deadlines come from clock_mono_deadline(): the condition must wait on the same clock */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->refresh_cv, &ca);
    pthread_condattr_destroy(&ca);
    /* the refresh thread runs the first discovery while the reader answers the client */
    a->refresh_busy = true;
    a->refresh_started = pthread_create(&a->refresh_thread, NULL, refresh_main, a) == 0;
    if (!a->refresh_started) {
        LOG_WARN(COMP, "cannot start the discovery thread: discovering once before serving, no refresh");
        initial_discovery(a);
    }

    reader_ctx rc = {a, frame_reader_new(STDIN_FILENO, max_line), pthread_self()};
    executor_start_reading(a->exec, read_one, end_of_input, &rc);
    bool eof = false;
    for (;;) {
        int sig = 0;
        if (sigwait(sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) { /* the refresh thread reloads: a SIGTERM must not wait for it */
            pthread_mutex_lock(&a->refresh_mu);
            a->reload_requested = true;
            pthread_cond_broadcast(&a->refresh_cv);
            pthread_mutex_unlock(&a->refresh_mu);
            continue;
        }
        if (sig == SIGUSR1) {
            eof = true;
            /* requests written just before the end of input may wait for the first discovery:
               they are answered when it ends, but a signal still ends the wait */
            while (!mcp_server_wait_parked(a->mcp, 100)) {
                struct timespec now = {0, 0};
                int s2 = sigtimedwait(sigs, NULL, &now);
                if (s2 == SIGTERM || s2 == SIGINT) {
                    LOG_INFO(COMP, "%s: shutting down", s2 == SIGTERM ? "SIGTERM" : "SIGINT");
                    eof = false;
                    break;
                }
            }
            break;
        }
        LOG_INFO(COMP, "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    pthread_mutex_lock(&a->refresh_mu);
    a->stopping = true;
    pthread_cond_broadcast(&a->refresh_cv);
    bool discovering = a->refresh_started && a->refresh_busy;
    pthread_mutex_unlock(&a->refresh_mu);
    if (!eof) {
        /* A signal: end promptly. The reader is blocked in read(2) on a pipe the client still
           holds, a refresh may be mid-discovery, and a client that stopped reading stdout leaves
           writers blocked in write(2): the shutdown gets two seconds, then the process leaves. */
        pthread_t dog;
        if (pthread_create(&dog, NULL, shutdown_watchdog, NULL) == 0)
            pthread_detach(dog);
        mcp_server_shutdown(a->mcp, 0);
        /* a waiting refresh thread leaves at once (its per-thread library state with it); one
           in the middle of a discovery (often the first, right after start) is not waited for,
           and then the process must not run exit()'s library destructors under it */
        if (a->refresh_started && !discovering)
            pthread_join(a->refresh_thread, NULL);
        /* nor is a credentials refresh on the chain's own thread (the calls are done by now) */
        generation *cg = current_ref(a);
        bool resolving = cg && creds_chain_busy(cg->creds);
        generation_release(cg);
        fflush(stderr);
        if (discovering || resolving)
            _exit(0);
        exit(0);
    }
    /* The end of input: calls in flight get up to server.shutdown_grace to finish and answer.
       The drain runs on its own thread so that this one keeps handling signals (a client
       closes stdin, then sends SIGTERM when the server does not exit soon enough, then
       SIGKILL): a SIGTERM or SIGINT ends the grace period at once, and a drain that does not
       end (writers blocked on a client that stopped reading stdout) is abandoned. */
    drain_ctx dc = {.mcp = a->mcp, .grace_ms = grace};
    pthread_t drainer;
    if (pthread_create(&drainer, NULL, drain_main, &dc) != 0) {
        drain_main(&dc);
    } else {
        int64_t limit = clock_mono_us() + (grace > 0 ? grace : 0) * 1000 + 3000000;
        while (!atomic_load(&dc.done)) {
            struct timespec slice = {0, 50 * 1000000L};
            int sig = sigtimedwait(sigs, NULL, &slice);
            if ((sig == SIGTERM || sig == SIGINT) && !dc.hurried) {
                LOG_INFO(COMP, "%s during the shutdown: calls still running are cancelled", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                dc.hurried = true;
                executor_hurry(a->exec);
                int64_t soon = clock_mono_us() + 2000000;
                if (soon < limit)
                    limit = soon;
            }
            if (!atomic_load(&dc.done) && clock_mono_us() > limit) {
                LOG_WARN(COMP, "shutdown did not finish in time (a client that stopped reading stdout?): exiting");
                fflush(stderr);
                _exit(0);
            }
        }
        pthread_join(drainer, NULL);
    }
    /* a refresh thread in the middle of a discovery is not waited for (at the end of input
       during the first discovery, e.g. a client's short-lived probe, it could take as long as
       the account listing): as on a signal, the process leaves without exit()'s destructors */
    pthread_mutex_lock(&a->refresh_mu);
    discovering = a->refresh_started && a->refresh_busy;
    pthread_mutex_unlock(&a->refresh_mu);
    /* nor a credentials refresh on the chain's own thread (a credential_process may take a minute) */
    generation *cg = current_ref(a);
    bool resolving = cg && creds_chain_busy(cg->creds);
    generation_release(cg);
    if (discovering || resolving) {
        LOG_DEBUG(COMP, "a %s is under way: not waiting for it", discovering ? "discovery" : "credentials refresh");
        fflush(stderr);
        _exit(0);
    }
    if (a->refresh_started)
        pthread_join(a->refresh_thread, NULL);
    generation_release(a->pending);
    a->pending = NULL;
    mcp_server_free(a->mcp);
    executor_free(a->exec);
    frame_reader_free(rc.r);
    a->proto_fd_busy = !out_writer_free(a->out);
    registry_free(a->reg);
    pthread_mutex_destroy(&a->refresh_mu);
    pthread_cond_destroy(&a->refresh_cv);
    return 0;
}

int app_main(int argc, char **argv)
{
    enum { OPT_CHECK = 1000, OPT_LIST_TOOLS, OPT_LIST_PLUGINS, OPT_LOG_LEVEL };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"plugin-dir", required_argument, NULL, 'p'},
        {"check", no_argument, NULL, OPT_CHECK},
        {"list-tools", no_argument, NULL, OPT_LIST_TOOLS},
        {"list-plugins", no_argument, NULL, OPT_LIST_PLUGINS},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    app a;
    memset(&a, 0, sizeof a);
    int mode = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:p:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': a.opts.config_path = optarg; break;
        case 'p': a.opts.plugin_dir = optarg; break;
        case OPT_CHECK:
        case OPT_LIST_TOOLS:
        case OPT_LIST_PLUGINS: mode = c; break;
        case OPT_LOG_LEVEL: {
            lmcp_log_level l;
            if (!log_parse_level(optarg, &l)) {
                fprintf(stderr, "lambda-mcp: --log-level must be error, warn, info, debug or trace\n");
                return 2;
            }
            log_set_level(l);
            a.opts.log_level = l;
            a.opts.log_level_set = true;
            break;
        }
        case 'V': printf("lambda-mcp %s (plugin ABI %u)\n", PACKAGE_VERSION, LMCP_PLUGIN_ABI_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lambda-mcp: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    a.config_path = xstrdup(a.opts.config_path ? a.opts.config_path : getenv("LAMBDA_MCP_CONFIG"));
    if (a.config_path && !*a.config_path) {
        free(a.config_path);
        a.config_path = NULL;
    }

    /* glibc gives every thread that allocates its own arena: with dozens of discovery and call
       threads that is several MB of fragmented heap for no gain here (the threads mostly wait on
       the network). Two arenas, unless MALLOC_ARENA_MAX says otherwise. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);

    /* signals: in server mode handled by sigwait in the main thread, every other thread
       inheriting the mask; --check, --list-tools and --list-plugins keep their default action,
       so that Ctrl-C stops a --list-tools waiting on an endpoint that does not answer */
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    if (mode == 0)
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (http_global_init() != 0) {
        fprintf(stderr, "lambda-mcp: cannot initialise libcurl\n");
        return 1;
    }
    pthread_mutex_init(&a.gen_mu, NULL);
    pthread_mutex_init(&a.discovery_mu, NULL);
    g_app = &a;
    int rc = 0;
    /* before any plugin is loaded: a plugin's init may write to stdout too */
    a.proto_fd = mode == 0 ? keep_stdout_for_protocol() : STDOUT_FILENO;
    if (mode == OPT_LIST_PLUGINS) {
        /* the same directory the server would use: the conf's plugin_dir counts, and the plugins it
           names by path are listed too (a conf that does not load is reported by --check, not here) */
        app_config cfg;
        char err[1024];
        bool have_cfg = app_config_load(&cfg, a.config_path, err, sizeof err) == 0;
        a.loader = plugin_loader_new(plugin_dir_for(&a, have_cfg ? cfg.server : NULL));
        rc = do_list_plugins(&a, have_cfg && cfg.path ? &cfg : NULL);
        app_config_free(&cfg);
    } else {
        char err[4096];
        generation *g = generation_new(&a, a.config_path, err, sizeof err);
        if (!g) {
            fprintf(stderr, "lambda-mcp: %s\n", err);
            rc = 1;
        } else {
            set_current(&a, g);
            if (mode == OPT_CHECK)
                rc = do_check(&a, g);
            else if (mode == OPT_LIST_TOOLS)
                rc = do_list_tools(&a, g);
            else
                rc = serve(&a, &sigs);
        }
    }
    g_app = NULL;
    set_current(&a, NULL);
    plugin_loader_free(a.loader);
    pthread_mutex_destroy(&a.gen_mu);
    pthread_mutex_destroy(&a.discovery_mu);
    free(a.config_path);
    http_global_cleanup();
    if (a.proto_fd != STDOUT_FILENO && !a.proto_fd_busy)
        close(a.proto_fd);
    return rc;
}
