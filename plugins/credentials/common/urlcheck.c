#include "urlcheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util.h"

void cc_url_free(cc_url *u)
{
    if (!u)
        return;
    free(u->scheme);
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof *u);
}

int cc_url_parse(const char *url, cc_url *u)
{
    memset(u, 0, sizeof *u);
    u->port = -1;
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url)
        return -1;
    for (const char *p = url; p < sep; p++)
        if (!isalpha((unsigned char)*p) &&
            !(p > url && (isdigit((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')))
            return -1;
    u->scheme = cc_strndup(url, (size_t)(sep - url));
    for (char *p = u->scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *aend = auth + alen;
    /* drop userinfo */
    const char *at = NULL;
    for (const char *p = auth; p < aend; p++)
        if (*p == '@')
            at = p;
    const char *hb = at ? at + 1 : auth;
    const char *he;
    const char *portp = NULL;
    if (hb < aend && *hb == '[') {
        const char *close = memchr(hb, ']', (size_t)(aend - hb));
        if (!close)
            goto bad;
        u->host = cc_strndup(hb + 1, (size_t)(close - hb - 1));
        he = close + 1;
        if (he < aend) {
            if (*he != ':')
                goto bad;
            portp = he + 1;
        }
    } else {
        const char *colon = memchr(hb, ':', (size_t)(aend - hb));
        he = colon ? colon : aend;
        u->host = cc_strndup(hb, (size_t)(he - hb));
        if (colon)
            portp = colon + 1;
    }
    if (!u->host[0])
        goto bad;
    for (char *p = u->host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (portp) {
        if (portp == aend) {
            u->port = -1;
        } else {
            long v = 0;
            for (const char *p = portp; p < aend; p++) {
                if (!isdigit((unsigned char)*p) || v > 65535)
                    goto bad;
                v = v * 10 + (*p - '0');
            }
            if (v > 65535)
                goto bad;
            u->port = (int)v;
        }
    }
    u->path = cc_strdup(aend);
    return 0;
bad:
    cc_url_free(u);
    return -1;
}

char *cc_url_display(const char *url)
{
    if (!url)
        return cc_strdup("");
    size_t n = strcspn(url, "?#");
    const char *sep = strstr(url, "://");
    const char *auth = sep && (size_t)(sep - url) < n ? sep + 3 : url;
    /* the authority ends at the first '/', '?' or '#'; its userinfo at the last '@' in it */
    const char *aend = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < aend; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return cc_strndup(url, n);
    return cc_asprintf("%.*s%.*s", (int)(auth - url), url, (int)(url + n - (at + 1)), at + 1);
}

int cc_resolve_system(const char *host, char addrs[][64], int max)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    int n = 0;
    for (struct addrinfo *a = res; a && n < max; a = a->ai_next) {
        const void *src = NULL;
        if (a->ai_family == AF_INET)
            src = &((const struct sockaddr_in *)(const void *)a->ai_addr)->sin_addr;
        else if (a->ai_family == AF_INET6)
            src = &((const struct sockaddr_in6 *)(const void *)a->ai_addr)->sin6_addr;
        if (src && inet_ntop(a->ai_family, src, addrs[n], 64))
            n++;
    }
    freeaddrinfo(res);
    return n;
}

/* 1: allowed literal, 0: a literal that is not allowed, -1: not an address literal */
static int literal_allowed(const char *host, bool loopback_only)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, host, b) == 1) {
        if (b[0] == 127)
            return 1;
        if (!loopback_only && b[0] == 169 && b[1] == 254 && b[2] == 170 && (b[3] == 2 || b[3] == 23))
            return 1;
        return 0;
    }
    if (inet_pton(AF_INET6, host, b) == 1) {
        static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23};
        if (memcmp(b, lo, 16) == 0)
            return 1;
        if (!loopback_only && memcmp(b, eks, 16) == 0)
            return 1;
        /* an IPv4-mapped loopback (::ffff:127.x.y.z) */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0 && b[12] == 127)
            return 1;
        return 0;
    }
    return -1;
}

bool cc_container_url_allowed(const char *url, cc_resolve_fn resolve, char *why, size_t whylen)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (sep && !((sep - url == 4 && strncasecmp(url, "http", 4) == 0) ||
                 (sep - url == 5 && strncasecmp(url, "https", 5) == 0))) {
        snprintf(why, whylen, "the scheme must be http or https, not %.*s", (int)(sep - url > 20 ? 20 : sep - url),
                 url);
        return false;
    }
    cc_url u;
    if (cc_url_parse(url, &u) < 0) {
        snprintf(why, whylen, "not an http(s)://host[:port]/path URL");
        return false;
    }
    bool ok = false;
    if (strcmp(u.scheme, "https") == 0) {
        ok = true;
    } else if (strcmp(u.scheme, "http") != 0) {
        snprintf(why, whylen, "the scheme must be http or https, not %s", u.scheme);
    } else {
        int lit = literal_allowed(u.host, false);
        if (lit == 1) {
            ok = true;
        } else if (lit == 0) {
            snprintf(why, whylen, "plain http is allowed only to loopback addresses, 169.254.170.2, 169.254.170.23 "
                     "and fd00:ec2::23, not %s (use https)", u.host);
        } else {
            char addrs[16][64];
            int n = (resolve ? resolve : cc_resolve_system)(u.host, addrs, 16);
            if (n <= 0) {
                snprintf(why, whylen, "cannot resolve %s", u.host);
            } else {
                ok = true;
                for (int i = 0; i < n && ok; i++)
                    if (literal_allowed(addrs[i], true) != 1) {
                        ok = false;
                        snprintf(why, whylen, "plain http is allowed only to loopback hosts, but %s resolves to %s "
                                 "(use https)", u.host, addrs[i]);
                    }
            }
        }
    }
    cc_url_free(&u);
    return ok;
}
