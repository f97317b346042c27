/* AWS credentials: a small owned record whose secrets are wiped before they are freed. */
#include "config.h"
#include "credentials/credentials.h"

#include <stdlib.h>
#include <string.h>

#include "util/str.h"

/* Wipe a heap string in place and free it. */
static void free_secret(char **s)
{
    if (*s) {
        secure_zero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static void replace(char **dst, const char *src)
{
    char *copy = (src && *src) ? xstrdup(src) : NULL;
    free_secret(dst);
    *dst = copy;
}

lmcp_credentials *credentials_new(void)
{
    return xcalloc(1, sizeof(lmcp_credentials));
}

void credentials_set(lmcp_credentials *c, const char *akid, const char *secret, const char *token,
                     int64_t expiration_ms)
{
    if (!c)
        return;
    replace(&c->access_key_id, akid);
    replace(&c->secret_access_key, secret);
    replace(&c->session_token, token);
    c->expiration_ms = expiration_ms;
}

void credentials_set_account(lmcp_credentials *c, const char *account_id)
{
    if (c)
        replace(&c->account_id, account_id);
}

void credentials_set_source(lmcp_credentials *c, const char *source)
{
    if (c)
        replace(&c->source, source);
}

lmcp_credentials *credentials_dup(const lmcp_credentials *c)
{
    if (!c)
        return NULL;
    lmcp_credentials *d = credentials_new();
    d->access_key_id = xstrdup(c->access_key_id);
    d->secret_access_key = xstrdup(c->secret_access_key);
    d->session_token = xstrdup(c->session_token);
    d->account_id = xstrdup(c->account_id);
    d->expiration_ms = c->expiration_ms;
    d->source = xstrdup(c->source);
    return d;
}

void credentials_clear(lmcp_credentials *c)
{
    if (!c)
        return;
    free_secret(&c->access_key_id);
    free_secret(&c->secret_access_key);
    free_secret(&c->session_token);
    free_secret(&c->account_id);
    free_secret(&c->source);
    c->expiration_ms = 0;
}

void credentials_free(lmcp_credentials *c)
{
    if (!c)
        return;
    credentials_clear(c);
    secure_zero(c, sizeof *c);
    free(c);
}

bool credentials_valid(const lmcp_credentials *c)
{
    return c && c->access_key_id && *c->access_key_id && c->secret_access_key && *c->secret_access_key;
}
