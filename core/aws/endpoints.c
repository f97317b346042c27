/* Endpoint resolution: per-service and global overrides (conf beats environment), then the
 * default https://<prefix>.<region>.<partition domain>. */
#include "config.h"
#include "aws/endpoints.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"

/* A service key is also the endpoint prefix (https://<key>.<region>.<domain>). */
typedef struct service_def {
    const char *key;    /* our service key */
    const char *env_id; /* AWS_ENDPOINT_URL_<env_id> */
} service_def;

static const service_def services[] = {
    {"lambda", "LAMBDA"},
    {"tagging", "RESOURCE_GROUPS_TAGGING_API"},
    {"schemas", "SCHEMAS"},
    {"sts", "STS"},
    {"portal.sso", "SSO"},
    {"oidc", "SSO_OIDC"},
};

typedef struct partition_def {
    const char *region_prefix;
    const char *domain;
} partition_def;

/* aws (the default) is amazonaws.com; every prefix ends with '-' so "us-iso-" cannot match
 * "us-isob-east-1". */
static const partition_def partitions[] = {
    {"cn-", "amazonaws.com.cn"},       /* aws-cn */
    {"us-gov-", "amazonaws.com"},      /* aws-us-gov */
    {"us-iso-", "c2s.ic.gov"},         /* aws-iso */
    {"us-isob-", "sc2s.sgov.gov"},     /* aws-iso-b */
    {"eu-isoe-", "cloud.adc-e.uk"},    /* aws-iso-e */
    {"us-isof-", "csp.hci.ic.gov"},    /* aws-iso-f */
};

static const service_def *find_service(const char *key)
{
    for (size_t i = 0; key && i < sizeof services / sizeof *services; i++)
        if (strcmp(services[i].key, key) == 0)
            return &services[i];
    return NULL;
}

const char *aws_endpoint_env_id(const char *service)
{
    const service_def *s = find_service(service);
    return s ? s->env_id : NULL;
}

const char *aws_partition_domain(const char *region)
{
    for (size_t i = 0; region && i < sizeof partitions / sizeof *partitions; i++)
        if (str_starts_with(region, partitions[i].region_prefix))
            return partitions[i].domain;
    return "amazonaws.com";
}

/* A region is a DNS label made of [a-z0-9-]: anything else could rewrite the URL. */
static bool region_ok(const char *r)
{
    if (!r || !*r || strlen(r) > 63 || r[0] == '-')
        return false;
    for (const char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* The service key becomes the endpoint prefix, so it must be a DNS name fragment too. */
static bool prefix_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 63)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return false;
    return s[0] != '.' && s[0] != '-';
}

/* A copy without trailing slashes and surrounding blanks; NULL when nothing is left. */
static char *clean_url(const char *url)
{
    if (!url)
        return NULL;
    while (*url == ' ' || *url == '\t')
        url++;
    size_t n = strlen(url);
    while (n && (url[n - 1] == '/' || url[n - 1] == ' ' || url[n - 1] == '\t' || url[n - 1] == '\n' ||
                 url[n - 1] == '\r'))
        n--;
    return n ? xstrndup(url, n) : NULL;
}

void aws_endpoints_set(aws_endpoints *e, const char *service, const char *url)
{
    char *clean = clean_url(url);
    if (!service) {
        free(e->endpoint_url);
        e->endpoint_url = clean;
        return;
    }
    for (size_t i = 0; i < e->n_overrides; i++) {
        if (strcmp(e->overrides[i].service, service) == 0) {
            if (clean) {
                free(e->overrides[i].url);
                e->overrides[i].url = clean;
            } else {
                free(e->overrides[i].service);
                free(e->overrides[i].url);
                e->overrides[i] = e->overrides[--e->n_overrides];
            }
            return;
        }
    }
    if (!clean)
        return;
    e->overrides = xrealloc(e->overrides, (e->n_overrides + 1) * sizeof *e->overrides);
    e->overrides[e->n_overrides].service = xstrdup(service);
    e->overrides[e->n_overrides].url = clean;
    e->n_overrides++;
}

void aws_endpoints_from_env(aws_endpoints *e)
{
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (ignore && str_ieq(ignore, "true")) {
        LOG_DEBUG("aws", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set: endpoint URLs from the environment are ignored");
        return;
    }
    const char *global = getenv("AWS_ENDPOINT_URL");
    if (global && *global)
        aws_endpoints_set(e, NULL, global);
    for (size_t i = 0; i < sizeof services / sizeof *services; i++) {
        char *name = xasprintf("AWS_ENDPOINT_URL_%s", services[i].env_id);
        const char *v = getenv(name);
        if (v && *v)
            aws_endpoints_set(e, services[i].key, v);
        free(name);
    }
}

char *aws_endpoint_resolve(const aws_endpoints *e, const char *service, const char *region)
{
    if (!service || !region_ok(region))
        return NULL;
    if (e) {
        for (size_t i = 0; i < e->n_overrides; i++)
            if (strcmp(e->overrides[i].service, service) == 0 && e->overrides[i].url)
                return xstrdup(e->overrides[i].url);
        if (e->endpoint_url)
            return xstrdup(e->endpoint_url);
    }
    if (!prefix_ok(service))
        return NULL;
    return xasprintf("https://%s.%s.%s", service, region, aws_partition_domain(region));
}

void aws_endpoints_free(aws_endpoints *e)
{
    if (!e)
        return;
    free(e->endpoint_url);
    for (size_t i = 0; i < e->n_overrides; i++) {
        free(e->overrides[i].service);
        free(e->overrides[i].url);
    }
    free(e->overrides);
    e->endpoint_url = NULL;
    e->overrides = NULL;
    e->n_overrides = 0;
}
