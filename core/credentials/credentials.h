/* The concrete struct behind lmcp_credentials. Secrets are wiped on free. */
#ifndef LMCP_CREDENTIALS_CREDENTIALS_H
#define LMCP_CREDENTIALS_CREDENTIALS_H
#include <stdint.h>
#include <lambda-mcp/plugin.h>

struct lmcp_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;     /* NULL when none */
    char *account_id;        /* NULL when unknown */
    int64_t expiration_ms;   /* Unix epoch ms; 0: does not expire */
    char *source;            /* the plugin instance that produced them, for --check and logs */
};

lmcp_credentials *credentials_new(void);
void credentials_set(lmcp_credentials *c, const char *akid, const char *secret, const char *token,
                     int64_t expiration_ms);
void credentials_set_account(lmcp_credentials *c, const char *account_id);
void credentials_set_source(lmcp_credentials *c, const char *source);
lmcp_credentials *credentials_dup(const lmcp_credentials *c);
void credentials_clear(lmcp_credentials *c);  /* wipe and free the fields, keep the struct */
void credentials_free(lmcp_credentials *c);   /* wipe and free everything */
bool credentials_valid(const lmcp_credentials *c); /* has a key id and a secret */
#endif
