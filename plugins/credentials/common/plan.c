#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

#include "sso.h"
#include "util.h"

typedef struct visited {
    const char **names;
    size_t n;
} visited;

static void visit(visited *v, const char *name)
{
    v->names = cc_xrealloc(v->names, (v->n + 1) * sizeof *v->names);
    v->names[v->n++] = name;
}

static bool was_visited(const visited *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->names[i], name) == 0)
            return true;
    return false;
}

const char *cred_source_plugin(const char *s)
{
    if (!s)
        return NULL;
    if (strcmp(s, "Environment") == 0)
        return "env";
    if (strcmp(s, "Ec2InstanceMetadata") == 0)
        return "imds";
    if (strcmp(s, "EcsContainer") == 0)
        return "container";
    return NULL;
}

static bool has_static(const aws_profile *p)
{
    return aws_profile_get(p, "aws_access_key_id") || aws_profile_get(p, "aws_secret_access_key");
}

static bool has_assume_role_vars(const aws_profile *p)
{
    return aws_profile_get(p, "role_arn") && !aws_profile_get(p, "web_identity_token_file");
}

static void push_hop(cred_plan *plan, const char *name)
{
    plan->hops = cc_xrealloc(plan->hops, (plan->nhops + 1) * sizeof *plan->hops);
    plan->hops[plan->nhops++] = cc_strdup(name);
}

/* A static key whose value runs over several lines took in the lines after it that were indented
 * more than its own (configparser's continuation lines: in a section indented unevenly, the next
 * key ends up inside this one's value, as in the AWS CLI). Such a value is never usable, and it is
 * never shown, not even masked: its last characters may be those of a swallowed secret. */
static bool static_keys_single_line(const ini_section *s, const char *name, const char *path, char *err,
                                    size_t errlen)
{
    static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                                       "aws_security_token"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const ini_pair *pr = ini_pair_find(s, keys[i]);
        if (pr && strchr(pr->value, '\n')) {
            snprintf(err, errlen, "profile \"%s\" in %s: the value of %s (line %d) goes on over the next line(s): "
                     "a line indented more than the key's line continues its value; indent the keys of the "
                     "section alike", name, path, keys[i], pr->line);
            return false;
        }
    }
    return true;
}

/* steps 2-6 of the provider order for one profile */
static int profile_providers(const aws_files *f, const char *name, cred_plan *plan, char *err, size_t errlen)
{
    aws_profile p;
    if (!aws_profile_find(f, name, &p)) {
        snprintf(err, errlen, "no profile \"%s\"", name);
        plan->missing = true;
        return LMCP_NOT_FOUND;
    }
    plan->base_profile = cc_strdup(name);
    if (aws_profile_get(&p, "web_identity_token_file")) {
        if (!aws_profile_get(&p, "role_arn")) {
            snprintf(err, errlen, "profile \"%s\" has web_identity_token_file but no role_arn", name);
            return LMCP_ERR;
        }
        plan->base = PLAN_WEB_IDENTITY;
        return LMCP_OK;
    }
    char serr[400];
    /* kept in the plan: carrying it out needs it again */
    int src = sso_conf_from_profile(f, name, &plan->sso, serr, sizeof serr);
    if (src == LMCP_ERR) {
        snprintf(err, errlen, "%s", serr);
        return LMCP_ERR;
    }
    if (src == LMCP_OK) {
        plan->base = PLAN_SSO;
        return LMCP_OK;
    }
    if (aws_section_value(p.credentials, "aws_access_key_id")) {
        if (!static_keys_single_line(p.credentials, name, f->credentials_path, err, errlen))
            return LMCP_ERR;
        if (!aws_section_value(p.credentials, "aws_secret_access_key")) {
            snprintf(err, errlen, "profile \"%s\" in %s has aws_access_key_id but no aws_secret_access_key", name,
                     f->credentials_path);
            return LMCP_ERR;
        }
        plan->base = PLAN_STATIC_CREDENTIALS_FILE;
        return LMCP_OK;
    }
    if (aws_profile_get(&p, "credential_process")) {
        plan->base = PLAN_PROCESS;
        return LMCP_OK;
    }
    if (aws_section_value(p.config, "aws_access_key_id")) {
        if (!static_keys_single_line(p.config, name, f->config_path, err, errlen))
            return LMCP_ERR;
        if (!aws_section_value(p.config, "aws_secret_access_key")) {
            snprintf(err, errlen, "profile \"%s\" in %s has aws_access_key_id but no aws_secret_access_key", name,
                     f->config_path);
            return LMCP_ERR;
        }
        plan->base = PLAN_STATIC_CONFIG_FILE;
        return LMCP_OK;
    }
    free(plan->base_profile);
    plan->base_profile = NULL;
    snprintf(err, errlen, "profile \"%s\" has no credentials (no role_arn, sso_*, credential_process, "
             "web_identity_token_file or aws_access_key_id)", name);
    return LMCP_NOT_FOUND;
}

static void loop_msg(const visited *v, const char *again, char *err, size_t errlen)
{
    cc_buf b = CC_BUF_INIT;
    for (size_t i = 0; i < v->n; i++)
        cc_buf_printf(&b, "%s -> ", v->names[i]);
    cc_buf_puts(&b, again);
    snprintf(err, errlen, "profile \"%s\": source_profile loop: %s", v->names[0], b.data);
    cc_buf_wipe_free(&b);
}

static int assume_chain(const aws_files *f, const char *name, visited *v, cred_plan *plan, char *err, size_t errlen)
{
    aws_profile p;
    aws_profile_find(f, name, &p);
    const char *src = aws_profile_get(&p, "source_profile");
    const char *cs = aws_profile_get(&p, "credential_source");
    if (aws_profile_get(&p, "mfa_serial")) {
        snprintf(err, errlen, "profile \"%s\" sets mfa_serial: MFA is not supported in a non-interactive server "
                 "(use a role that does not require MFA, or a credential_process that handles it)", name);
        return LMCP_ERR;
    }
    if (src && cs) {
        snprintf(err, errlen, "profile \"%s\" has both source_profile and credential_source: keep one", name);
        return LMCP_ERR;
    }
    if (!src && !cs) {
        snprintf(err, errlen, "profile \"%s\" has role_arn but neither source_profile nor credential_source", name);
        return LMCP_ERR;
    }
    if (cs) {
        const char *plugin = cred_source_plugin(cs);
        if (!plugin) {
            snprintf(err, errlen, "profile \"%s\": credential_source \"%s\" is not Environment, Ec2InstanceMetadata "
                     "or EcsContainer", name, cs);
            return LMCP_ERR;
        }
        plan->base = PLAN_SOURCE;
        plan->base_profile = cc_strdup(name);
        plan->source = cc_strdup(plugin);
        push_hop(plan, name);
        return LMCP_OK;
    }
    aws_profile sp;
    if (!aws_profile_find(f, src, &sp)) {
        snprintf(err, errlen, "profile \"%s\": its source_profile \"%s\" does not exist", name, src);
        return LMCP_ERR;
    }
    if (was_visited(v, src) && (strcmp(src, name) != 0 || !has_static(&sp))) {
        loop_msg(v, src, err, errlen);
        return LMCP_ERR;
    }
    visit(v, src);
    int rc;
    if (has_static(&sp) || !has_assume_role_vars(&sp)) {
        rc = profile_providers(f, src, plan, err, errlen);
        if (rc == LMCP_NOT_FOUND) {
            snprintf(err, errlen, "profile \"%s\": its source_profile \"%s\" has no credentials", name, src);
            rc = LMCP_ERR;
        }
    } else {
        rc = assume_chain(f, src, v, plan, err, errlen);
    }
    if (rc != LMCP_OK)
        return rc;
    push_hop(plan, name);
    return LMCP_OK;
}

int cred_plan_build(const aws_files *f, const char *profile, cred_plan *plan, char *err, size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    aws_profile p;
    if (!aws_profile_find(f, profile, &p)) {
        snprintf(err, errlen, "no profile \"%s\"", profile ? profile : "");
        plan->missing = true;
        return LMCP_NOT_FOUND;
    }
    int rc;
    if (has_assume_role_vars(&p)) {
        visited v = {NULL, 0};
        visit(&v, profile);
        rc = assume_chain(f, profile, &v, plan, err, errlen);
        free(v.names);
    } else {
        rc = profile_providers(f, profile, plan, err, errlen);
    }
    if (rc != LMCP_OK) {
        bool missing = plan->missing && rc == LMCP_NOT_FOUND;
        cred_plan_free(plan);
        plan->missing = missing;
    }
    return rc;
}

void cred_plan_free(cred_plan *plan)
{
    if (!plan)
        return;
    free(plan->base_profile);
    free(plan->source);
    sso_conf_free(&plan->sso);
    for (size_t i = 0; i < plan->nhops; i++)
        free(plan->hops[i]);
    free(plan->hops);
    memset(plan, 0, sizeof *plan);
}

static const char *cred_plan_base_name(plan_base b)
{
    switch (b) {
    case PLAN_STATIC_CREDENTIALS_FILE: return "static keys (credentials file)";
    case PLAN_STATIC_CONFIG_FILE: return "static keys (config file)";
    case PLAN_SOURCE: return "credential_source";
    case PLAN_WEB_IDENTITY: return "web identity";
    case PLAN_SSO: return "SSO";
    case PLAN_PROCESS: return "credential_process";
    case PLAN_NONE: break;
    }
    return "none";
}

char *cred_plan_describe(const cred_plan *plan)
{
    cc_buf b = CC_BUF_INIT;
    if (plan->base == PLAN_SOURCE)
        cc_buf_printf(&b, "credential_source of profile \"%s\" (the %s plugin)", plan->base_profile, plan->source);
    else
        cc_buf_printf(&b, "%s of profile \"%s\"", cred_plan_base_name(plan->base),
                      plan->base_profile ? plan->base_profile : "?");
    for (size_t i = 0; i < plan->nhops; i++)
        cc_buf_printf(&b, " -> AssumeRole of profile \"%s\"", plan->hops[i]);
    return b.data;
}
