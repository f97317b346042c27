#include "profcreds.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsconfig.h"
#include "hostjson.h"
#include "plan.h"
#include "proc.h"
#include "shellsplit.h"
#include "sso.h"
#include "sts.h"
#include "util.h"

#define MAX_PROCESS_OUTPUT (1024u * 1024u)

const char *cred_profile_name(const lmcp_host *h, const lmcp_settings *s, bool *explicit_)
{
    const char *p = h->setting_string(s, "profile");
    if (p && *p) {
        *explicit_ = true;
        return p;
    }
    p = cc_env("AWS_DEFAULT_PROFILE");
    if (p) {
        *explicit_ = true;
        return p;
    }
    *explicit_ = false;
    return "default";
}

static int load_files(cred_ctx *c, aws_files *f, char *err, size_t errlen)
{
    char lerr[600];
    if (aws_files_load(f, c->config_file, c->credentials_file, lerr, sizeof lerr) < 0) {
        snprintf(err, errlen, "%s", lerr);
        aws_files_free(f);
        return LMCP_ERR;
    }
    for (size_t i = 0; i < f->config.nwarn; i++)
        c->host->log(c->inst, LMCP_LOG_DEBUG, "%s: %s", f->config_path, f->config.warnings[i]);
    for (size_t i = 0; i < f->credentials.nwarn; i++)
        c->host->log(c->inst, LMCP_LOG_DEBUG, "%s: %s", f->credentials_path, f->credentials.warnings[i]);
    return LMCP_OK;
}

static int missing_profile(const aws_files *f, const char *profile, bool explicit_, char *err, size_t errlen)
{
    char *files = aws_files_describe(f);
    if (explicit_)
        snprintf(err, errlen, "profile \"%s\" not found (read %s)", profile, files);
    else
        snprintf(err, errlen, "no profile \"%s\" in %s", profile, files);
    free(files);
    return explicit_ ? LMCP_ERR : LMCP_NOT_FOUND;
}

/* ------------------------------------------------------------------ credential_process */

typedef struct stderr_ctx {
    const lmcp_host *h;
    const lmcp_instance *inst;
    const char *who;
} stderr_ctx;

static void log_stderr(void *arg, const char *line)
{
    stderr_ctx *s = arg;
    s->h->log(s->inst, LMCP_LOG_INFO, "credential_process of %s: %s", s->who, line);
}

int cred_process_run(const lmcp_host *h, const lmcp_instance *inst, const char *who, const char *cmdline,
                     int64_t timeout_ms, lmcp_credentials *out, char *err, size_t errlen)
{
    char **argv;
    size_t argc;
    char serr[200];
    if (cc_shell_split(cmdline, &argv, &argc, serr, sizeof serr) < 0) {
        snprintf(err, errlen, "credential_process of %s: %s", who, serr);
        return LMCP_ERR;
    }
    if (argc == 0) {
        snprintf(err, errlen, "credential_process of %s is empty", who);
        cc_strv_free(argv);
        return LMCP_ERR;
    }
    h->log(inst, LMCP_LOG_DEBUG, "credential_process of %s: running %s (%zu argument%s, no shell, timeout %lld ms)",
           who, argv[0], argc - 1, argc == 2 ? "" : "s", (long long)timeout_ms);
    cc_buf outb = CC_BUF_INIT;
    cc_proc_result res;
    stderr_ctx sc = {h, inst, who};
    char perr[300];
    int rc = cc_proc_run(argv, timeout_ms, MAX_PROCESS_OUTPUT, &outb, log_stderr, &sc, &res, perr, sizeof perr);
    char *prog = cc_strdup(argv[0]);
    cc_strv_free(argv);
    if (rc < 0) {
        snprintf(err, errlen, "credential_process of %s: %s", who, perr);
        goto fail;
    }
    if (res.timed_out) {
        snprintf(err, errlen, "credential_process of %s (%s) did not finish within %lld ms and was killed", who, prog,
                 (long long)timeout_ms);
        goto fail;
    }
    if (!res.exited) {
        snprintf(err, errlen, "credential_process of %s (%s) was killed by signal %d", who, prog, res.signal);
        goto fail;
    }
    if (res.exit_code != 0) {
        snprintf(err, errlen, "credential_process of %s (%s) failed with exit status %d%s (its stderr is logged "
                 "above at info level)", who, prog, res.exit_code, res.exit_code == 127 ? ", command not found?" : "");
        goto fail;
    }
    lmcp_json *j = h->json_parse(outb.data ? outb.data : "", outb.len, NULL, 0);
    cc_buf_wipe_free(&outb);
    if (!j || h->json_type(j) != LMCP_JSON_OBJECT) {
        snprintf(err, errlen, "credential_process of %s (%s) did not print a JSON object", who, prog);
        if (j)
            h->json_put(j);
        goto fail;
    }
    const lmcp_json *ver = h->json_get(j, "Version");
    if (!ver || h->json_type(ver) != LMCP_JSON_INT || h->json_int(ver) != 1) {
        if (ver && h->json_type(ver) == LMCP_JSON_INT)
            snprintf(err, errlen, "credential_process of %s (%s) printed Version %lld; only Version 1 is supported",
                     who, prog, (long long)h->json_int(ver));
        else
            snprintf(err, errlen, "credential_process of %s (%s) printed no \"Version\": 1", who, prog);
        h->json_put(j);
        goto fail;
    }
    cc_json_creds c;
    const char *bad = cc_json_creds_read(h, j, "SessionToken", &c);
    if (bad) {
        snprintf(err, errlen, "credential_process of %s (%s) printed %s", who, prog, bad);
        h->json_put(j);
        goto fail;
    }
    if (c.expiration && c.expires_ms <= h->now_ms()) {
        snprintf(err, errlen, "credential_process of %s (%s) returned credentials that expired at %.40s", who, prog,
                 c.expiration);
        h->json_put(j);
        goto fail;
    }
    cc_json_creds_set(h, out, &c);
    h->json_put(j);
    free(prog);
    return LMCP_OK;
fail:
    cc_buf_wipe_free(&outb);
    free(prog);
    return LMCP_ERR;
}

/* ------------------------------------------------------------------ carrying out a plan */

static int base_credentials(cred_ctx *c, const aws_files *f, const cred_plan *plan, lmcp_credentials *target,
                            lmcp_credentials **owned, char *err, size_t errlen)
{
    const lmcp_host *h = c->host;
    aws_profile p;
    aws_profile_find(f, plan->base_profile, &p);
    char who[300];
    snprintf(who, sizeof who, "profile \"%s\"", plan->base_profile);
    switch (plan->base) {
    case PLAN_STATIC_CREDENTIALS_FILE:
    case PLAN_STATIC_CONFIG_FILE: {
        const ini_section *s = plan->base == PLAN_STATIC_CREDENTIALS_FILE ? p.credentials : p.config;
        const char *token = aws_section_value(s, "aws_session_token");
        if (!token)
            token = aws_section_value(s, "aws_security_token");
        h->credentials_set(target, aws_section_value(s, "aws_access_key_id"),
                           aws_section_value(s, "aws_secret_access_key"), token, 0);
        return LMCP_OK;
    }
    case PLAN_SOURCE: {
        char serr[1024];
        int rc = h->credentials_resolve(c->inst, plan->source, owned, serr, sizeof serr);
        if (rc != LMCP_OK) {
            snprintf(err, errlen, "profile \"%s\": credential_source %s gave no credentials: %s", plan->base_profile,
                     aws_profile_get(&p, "credential_source"), serr);
            return LMCP_ERR;
        }
        return LMCP_OK;
    }
    case PLAN_WEB_IDENTITY: {
        char werr[1024];
        int rc = sts_assume_role_with_web_identity(h, c->inst, aws_profile_get(&p, "role_arn"),
                                                   aws_profile_get(&p, "role_session_name"),
                                                   aws_profile_get(&p, "web_identity_token_file"), NULL, target,
                                                   werr, sizeof werr);
        if (rc != LMCP_OK)
            snprintf(err, errlen, "%s: %s", who, werr);
        return rc;
    }
    case PLAN_SSO:
        return sso_fetch(h, c->inst, &plan->sso, c->sso_cache_dir, target, err, errlen);
    case PLAN_PROCESS:
        return cred_process_run(h, c->inst, who, aws_profile_get(&p, "credential_process"), c->process_timeout_ms,
                                target, err, errlen);
    case PLAN_NONE: break;
    }
    snprintf(err, errlen, "%s: nothing to do", who);
    return LMCP_ERR;
}

static int parse_duration(const char *s)
{
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *cc_trim(end) || v <= 0 || v > INT_MAX)
        return 0; /* botocore ignores a value that is not an integer */
    return (int)v;
}

static int execute(cred_ctx *c, const aws_files *f, const cred_plan *plan, lmcp_credentials *out, char *err,
                   size_t errlen)
{
    const lmcp_host *h = c->host;
    /* credential_source: the other plugin hands over a record of its own (owned), and an
     * AssumeRole always follows; otherwise a record for the base credentials when hops follow */
    lmcp_credentials *target = plan->nhops && plan->base != PLAN_SOURCE ? h->credentials_new() : out;
    lmcp_credentials *owned = NULL;
    int rc = base_credentials(c, f, plan, target, &owned, err, errlen);
    if (rc != LMCP_OK) {
        if (target != out)
            h->credentials_free(target);
        return rc;
    }
    lmcp_credentials *cur = owned ? owned : target;
    for (size_t i = 0; i < plan->nhops; i++) {
        aws_profile p;
        aws_profile_find(f, plan->hops[i], &p);
        sts_assume_role_params ap = {0};
        ap.role_arn = aws_profile_get(&p, "role_arn");
        ap.session_name = aws_profile_get(&p, "role_session_name");
        ap.external_id = aws_profile_get(&p, "external_id");
        ap.duration_seconds = parse_duration(aws_profile_get(&p, "duration_seconds"));
        lmcp_credentials *next = i + 1 == plan->nhops ? out : h->credentials_new();
        char serr[1024];
        rc = sts_assume_role(h, c->inst, cur, &ap, next, serr, sizeof serr);
        if (cur != out)
            h->credentials_free(cur);
        cur = next;
        if (rc != LMCP_OK) {
            snprintf(err, errlen, "profile \"%s\": %s", plan->hops[i], serr);
            if (cur != out)
                h->credentials_free(cur);
            return LMCP_ERR;
        }
    }
    return LMCP_OK;
}

/* The first success at info level, later ones at debug: what the plan (or, for the sso plugin,
 * the SSO configuration) gave, with the masked access key. */
static void log_success(cred_ctx *c, const char *profile, const cred_plan *plan, const sso_conf *sso,
                        const lmcp_credentials *out)
{
    lmcp_log_level lvl = c->logged_once ? LMCP_LOG_DEBUG : LMCP_LOG_INFO;
    c->logged_once = true;
    if (!c->host->log_enabled(lvl))
        return;
    char masked[24];
    cc_mask_key(c->host->credentials_access_key_id(out), masked);
    if (plan) {
        char *d = cred_plan_describe(plan);
        c->host->log(c->inst, lvl, "profile \"%s\": credentials from %s (access key %s)", profile, d, masked);
        free(d);
    } else {
        c->host->log(c->inst, lvl, "profile \"%s\": SSO role %s in account %s (access key %s)", profile,
                     sso->role_name, sso->account_id, masked);
    }
}

int cred_profile_resolve(cred_ctx *c, const char *profile, bool explicit_, lmcp_credentials *out, char *err,
                         size_t errlen)
{
    aws_files f;
    if (load_files(c, &f, err, errlen) != LMCP_OK)
        return LMCP_ERR;
    cred_plan plan;
    char perr[600];
    int rc = cred_plan_build(&f, profile, &plan, perr, sizeof perr);
    if (rc == LMCP_NOT_FOUND && plan.missing) {
        rc = missing_profile(&f, profile, explicit_, err, errlen);
    } else if (rc != LMCP_OK) {
        snprintf(err, errlen, "%s", perr);
    } else {
        rc = execute(c, &f, &plan, out, err, errlen);
        if (rc == LMCP_OK)
            log_success(c, profile, &plan, NULL, out);
    }
    cred_plan_free(&plan);
    aws_files_free(&f);
    return rc;
}

int cred_sso_resolve(cred_ctx *c, const char *profile, bool explicit_, lmcp_credentials *out, char *err,
                     size_t errlen)
{
    aws_files f;
    if (load_files(c, &f, err, errlen) != LMCP_OK)
        return LMCP_ERR;
    aws_profile p;
    int rc;
    if (!aws_profile_find(&f, profile, &p)) {
        rc = missing_profile(&f, profile, explicit_, err, errlen);
    } else {
        sso_conf sc;
        rc = sso_conf_from_profile(&f, profile, &sc, err, errlen);
        if (rc == LMCP_OK) {
            rc = sso_fetch(c->host, c->inst, &sc, c->sso_cache_dir, out, err, errlen);
            if (rc == LMCP_OK)
                log_success(c, profile, NULL, &sc, out);
        }
        sso_conf_free(&sc);
    }
    aws_files_free(&f);
    return rc;
}

int cred_profile_region(cred_ctx *c, const char *profile, char *buf, size_t len)
{
    aws_files f;
    char err[600];
    if (aws_files_load(&f, c->config_file, c->credentials_file, err, sizeof err) < 0) {
        aws_files_free(&f);
        return LMCP_NOT_FOUND;
    }
    aws_profile p;
    int rc = LMCP_NOT_FOUND;
    const char *r = aws_profile_find(&f, profile, &p) ? aws_profile_get(&p, "region") : NULL;
    if (r && strlen(r) < len) {
        snprintf(buf, len, "%s", r);
        rc = LMCP_OK;
    }
    aws_files_free(&f);
    return rc;
}

cred_ctx *cred_ctx_new(const lmcp_plugin_ctx *pctx, bool with_process)
{
    cred_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    const lmcp_host *h = pctx->host;
    c->host = h;
    c->inst = pctx->instance;
    c->settings = pctx->settings;
    c->config_file = h->setting_string(pctx->settings, "config_file");
    c->credentials_file = h->setting_string(pctx->settings, "credentials_file");
    c->sso_cache_dir = h->setting_string(pctx->settings, "sso_cache_dir");
    if (with_process)
        c->process_timeout_ms = h->setting_duration_ms(pctx->settings, "process_timeout");
    return c;
}

int cred_region_hook(void *state, char *buf, size_t len)
{
    cred_ctx *c = state;
    bool explicit_;
    const char *name = cred_profile_name(c->host, c->settings, &explicit_);
    return cred_profile_region(c, name, buf, len);
}
