/* credentials plugin "env": AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or the
 * legacy AWS_SECURITY_TOKEN), AWS_CREDENTIAL_EXPIRATION and AWS_ACCOUNT_ID, read when the chain
 * asks, the way the AWS CLI reads them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lambda-mcp/plugin.h>

typedef struct env_state {
    const lmcp_host *host;
    const lmcp_instance *inst;
} env_state;

static int env_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    env_state *s = calloc(1, sizeof *s);
    if (!s)
        return LMCP_ERR;
    s->host = ctx->host;
    s->inst = ctx->instance;
    *state = s;
    return LMCP_OK;
}

static void env_destroy(void *state) { free(state); }

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* days since 1970-01-01 of a civil date (no time zone involved) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* RFC 3339 / ISO 8601 UTC timestamp ("2026-11-21T10:00:00Z", fractions and offsets accepted). */
static int parse_time_ms(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    const char *p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        off = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    long long secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + h * 3600LL + mi * 60LL + sec - off;
    *out = (int64_t)secs * 1000;
    return 0;
}

static int env_resolve(void *state, lmcp_credentials *out, char *err, size_t errlen)
{
    env_state *s = state;
    const char *akid = env("AWS_ACCESS_KEY_ID");
    const char *secret = env("AWS_SECRET_ACCESS_KEY");
    if (!akid && !secret) {
        snprintf(err, errlen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
        return LMCP_NOT_FOUND;
    }
    if (!akid || !secret) {
        snprintf(err, errlen, "%s is set but %s is not", akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                 akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return LMCP_ERR;
    }
    const char *token = env("AWS_SESSION_TOKEN");
    if (!token)
        token = env("AWS_SECURITY_TOKEN");
    int64_t expiration = 0;
    const char *exp = env("AWS_CREDENTIAL_EXPIRATION");
    if (exp) {
        if (parse_time_ms(exp, &expiration) < 0) {
            snprintf(err, errlen, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 UTC time (like 2026-11-21T10:00:00Z)");
            return LMCP_ERR;
        }
        if (expiration <= s->host->now_ms()) {
            snprintf(err, errlen, "the credentials in the environment expired at %s (AWS_CREDENTIAL_EXPIRATION)", exp);
            return LMCP_ERR;
        }
    }
    s->host->credentials_set(out, akid, secret, token, expiration);
    const char *account = env("AWS_ACCOUNT_ID");
    if (account)
        s->host->credentials_set_account(out, account);
    return LMCP_OK;
}

static const lmcp_credentials_ops env_ops = {.resolve = env_resolve};

static const lmcp_plugin_def env_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_CREDENTIALS,
    .name = "env",
    .version = "1.0",
    .description = "credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
                   "AWS_CREDENTIAL_EXPIRATION",
    .settings = NULL,
    .init = env_init,
    .destroy = env_destroy,
    .credentials = &env_ops,
};

LMCP_PLUGIN_DEFINE(env_plugin)
