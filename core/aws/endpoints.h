/* Endpoint resolution, in order: the conf file's per-service endpoint, AWS_ENDPOINT_URL_<ID>,
 * the conf file's endpoint_url, AWS_ENDPOINT_URL, then https://<prefix>.<region>.<domain>
 * where the domain follows the region's partition (cn-* -> amazonaws.com.cn, us-gov-* ->
 * amazonaws.com, us-iso-* -> c2s.ic.gov, us-isob-* -> sc2s.sgov.gov, ...). */
#ifndef LMCP_AWS_ENDPOINTS_H
#define LMCP_AWS_ENDPOINTS_H
#include <stddef.h>

typedef struct aws_endpoint_override {
    char *service;  /* our service key: "lambda", "tagging", "schemas", "sts", "portal.sso", "oidc" */
    char *url;
} aws_endpoint_override;

typedef struct aws_endpoints {
    char *endpoint_url;                 /* global override, NULL if none */
    aws_endpoint_override *overrides;   /* per service */
    size_t n_overrides;
} aws_endpoints;

/* Fill from the environment: AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<ID> for the services
 * we know (LAMBDA, RESOURCE_GROUPS_TAGGING_API, SCHEMAS, STS, SSO, SSO_OIDC).
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true disables them, as in the AWS SDKs. */
void aws_endpoints_from_env(aws_endpoints *e);
/* Conf values win over the environment. */
void aws_endpoints_set(aws_endpoints *e, const char *service, const char *url); /* service NULL: global */
/* Returns a malloc'd base URL without trailing slash, e.g. "https://lambda.us-east-1.amazonaws.com" */
char *aws_endpoint_resolve(const aws_endpoints *e, const char *service, const char *region);
const char *aws_partition_domain(const char *region);
/* The AWS_ENDPOINT_URL_<ID> suffix for a service key, or NULL. */
const char *aws_endpoint_env_id(const char *service);
void aws_endpoints_free(aws_endpoints *e);
#endif
