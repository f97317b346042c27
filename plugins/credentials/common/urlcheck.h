/* Which container credentials endpoints may be called (AWS_CONTAINER_CREDENTIALS_FULL_URI), the
 * rule of the current AWS SDKs: https to any host; plain http only to a loopback address
 * (127.0.0.0/8, ::1, or a name such as localhost whose every address is loopback), the ECS
 * endpoint 169.254.170.2, or the EKS Pod Identity endpoints 169.254.170.23 and fd00:ec2::23. */
#ifndef LMCP_CRED_URLCHECK_H
#define LMCP_CRED_URLCHECK_H
#include <stdbool.h>
#include <stddef.h>

typedef struct cc_url {
    char *scheme;   /* lower-case */
    char *host;     /* without brackets */
    int port;       /* -1: none */
    char *path;     /* from the first '/', or "" */
} cc_url;

int cc_url_parse(const char *url, cc_url *u);  /* 0 or -1 */
void cc_url_free(cc_url *u);
/* The URL for messages and logs: without userinfo (user:password@, which libcurl would send as
 * Basic credentials), query or fragment. Never NULL; free() it. */
char *cc_url_display(const char *url);

/* Resolve a host name: fill up to max textual addresses; returns how many, or -1. Tests
 * substitute their own. */
typedef int (*cc_resolve_fn)(const char *host, char addrs[][64], int max);
int cc_resolve_system(const char *host, char addrs[][64], int max);

/* true if allowed; otherwise false with the reason in why. resolve NULL: cc_resolve_system. */
bool cc_container_url_allowed(const char *url, cc_resolve_fn resolve, char *why, size_t whylen);
#endif
