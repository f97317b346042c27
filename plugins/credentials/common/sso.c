#define _GNU_SOURCE 1 /* mkostemp */
#include "sso.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostjson.h"
#include "sha1.h"
#include "util.h"

#define REFRESH_WINDOW_MS (15 * 60 * 1000) /* botocore's SSOTokenProvider._REFRESH_WINDOW */
#define MAX_CACHE_FILE (1024u * 1024u)

void sso_conf_free(sso_conf *c)
{
    if (!c)
        return;
    free(c->profile);
    free(c->session);
    free(c->start_url);
    free(c->region);
    free(c->account_id);
    free(c->role_name);
    memset(c, 0, sizeof *c);
}

int sso_conf_from_profile(const aws_files *f, const char *profile, sso_conf *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    aws_profile p;
    if (!aws_profile_find(f, profile, &p)) {
        snprintf(err, errlen, "no profile \"%s\"", profile);
        return LMCP_NOT_FOUND;
    }
    const char *role = aws_profile_get(&p, "sso_role_name");
    const char *account = aws_profile_get(&p, "sso_account_id");
    if (!role && !account) {
        snprintf(err, errlen, "profile \"%s\" has no sso_account_id / sso_role_name", profile);
        return LMCP_NOT_FOUND;
    }
    const char *session = aws_profile_get(&p, "sso_session");
    const char *start = aws_profile_get(&p, "sso_start_url");
    const char *region = aws_profile_get(&p, "sso_region");
    if (session) {
        const ini_section *s = aws_sso_session_find(f, session);
        if (!s) {
            snprintf(err, errlen, "profile \"%s\" names sso_session \"%s\", but %s has no [sso-session %s]", profile,
                     session, f->config_path, session);
            return LMCP_ERR;
        }
        static const char *const keys[] = {"sso_start_url", "sso_region"};
        for (size_t i = 0; i < 2; i++) {
            const char *sv = aws_section_value(s, keys[i]);
            const char *pv = aws_profile_get(&p, keys[i]);
            if (sv && pv && strcmp(sv, pv) != 0) {
                snprintf(err, errlen, "profile \"%s\": %s is \"%s\" but [sso-session %s] says \"%s\"", profile,
                         keys[i], pv, session, sv);
                return LMCP_ERR;
            }
        }
        if (aws_section_value(s, "sso_start_url"))
            start = aws_section_value(s, "sso_start_url");
        if (aws_section_value(s, "sso_region"))
            region = aws_section_value(s, "sso_region");
    }
    char missing[160] = "";
    const struct {
        const char *v, *name;
    } req[] = {{role, "sso_role_name"}, {account, "sso_account_id"}, {start, "sso_start_url"}, {region, "sso_region"}};
    for (size_t i = 0; i < 4; i++)
        if (!req[i].v)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
                     req[i].name);
    if (missing[0]) {
        snprintf(err, errlen, "profile \"%s\" is configured for SSO but lacks %s", profile, missing);
        return LMCP_ERR;
    }
    c->profile = cc_strdup(profile);
    c->session = cc_strdup(session);
    c->start_url = cc_strdup(start);
    c->region = cc_strdup(region);
    c->account_id = cc_strdup(account);
    c->role_name = cc_strdup(role);
    return LMCP_OK;
}

void sso_cache_key(const sso_conf *c, char out[41])
{
    const char *in = c->session ? c->session : c->start_url;
    cc_sha1_hex(in, strlen(in), out);
}

void sso_login_hint(const sso_conf *c, char *buf, size_t len)
{
    if (c->session)
        snprintf(buf, len, "`aws sso login --sso-session %s`", c->session);
    else
        snprintf(buf, len, "`aws sso login --profile %s`", c->profile);
}

static void expired_msg(const sso_conf *c, char *err, size_t errlen)
{
    char hint[300];
    sso_login_hint(c, hint, sizeof hint);
    snprintf(err, errlen, "the SSO session has expired: run %s", hint);
}

/* Write the token cache atomically, owner-only, like `aws sso login` (which writes 0600). */
static int write_cache(const char *path, const char *text, char *err, size_t errlen)
{
    char *tmp = cc_asprintf("%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* never inherited by a credential_process */
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file next to %s: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t len = strlen(text), off = 0;
    int rc = fchmod(fd, 0600);
    while (rc == 0 && off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* SSO-OIDC CreateToken with the refresh token; on success updates tok in place. */
static int refresh_token(const lmcp_host *h, const lmcp_instance *inst, const sso_conf *c, lmcp_json *tok,
                         char *err, size_t errlen)
{
    const char *rt = cc_jstr(h, tok, "refreshToken"), *cid = cc_jstr(h, tok, "clientId"),
               *secret = cc_jstr(h, tok, "clientSecret"), *regexp = cc_jstr(h, tok, "registrationExpiresAt");
    if (!rt || !cid || !secret || !regexp) {
        snprintf(err, errlen, "the cached token has no %s", !rt ? "refresh token" : !cid ? "clientId"
                                                                     : !secret ? "clientSecret"
                                                                               : "registrationExpiresAt");
        return LMCP_NOT_FOUND;
    }
    int64_t reg_ms;
    if (cc_parse_time(regexp, &reg_ms) < 0 || reg_ms <= h->now_ms()) {
        snprintf(err, errlen, "the client registration expired at %s", regexp);
        return LMCP_NOT_FOUND;
    }
    lmcp_json *body = h->json_new_object();
    h->json_set(body, "clientId", h->json_new_string(cid));
    h->json_set(body, "clientSecret", h->json_new_string(secret));
    h->json_set(body, "grantType", h->json_new_string("refresh_token"));
    h->json_set(body, "refreshToken", h->json_new_string(rt));
    char *text = h->json_to_string(body, LMCP_JSON_COMPACT);
    h->json_put(body);
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    lmcp_aws_request rq = {0};
    rq.service = "oidc";
    rq.signing_name = "sso-oauth";
    rq.region = c->region;
    rq.method = "POST";
    rq.path = "/token";
    rq.headers = headers;
    rq.body = text;
    rq.body_len = text ? strlen(text) : 0;
    rq.flags = LMCP_AWS_UNSIGNED;
    lmcp_aws_response *resp = NULL;
    long status;
    int64_t now = h->now_ms();
    int rc = cc_aws_call(h, inst, &rq, "SSO-OIDC CreateToken", &resp, &status, err, errlen);
    if (text) {
        cc_wipe(text, strlen(text));
        h->free(text);
    }
    if (rc != LMCP_OK) {
        /* an answer that quotes the request must not carry its secrets into the log */
        cc_redact(err, rt);
        cc_redact(err, secret);
        cc_redact(err, cc_jstr(h, tok, "accessToken"));
        return LMCP_ERR;
    }
    size_t blen;
    const char *b = h->aws_body(resp, &blen);
    lmcp_json *j = h->json_parse(b, blen, NULL, 0);
    h->aws_response_free(resp);
    const char *access = cc_jstr(h, j, "accessToken");
    int64_t expires_in;
    /* seconds; a year at most keeps now + expires_in * 1000 well inside int64 */
    if (!access || !cc_jint(h, j, "expiresIn", &expires_in) || expires_in < 0 || expires_in > 366LL * 86400) {
        snprintf(err, errlen, "SSO-OIDC CreateToken answered without accessToken/expiresIn (seconds, at most a year)");
        if (j)
            h->json_put(j);
        return LMCP_ERR;
    }
    char when[32];
    cc_format_time(now + expires_in * 1000, when);
    h->json_set(tok, "accessToken", h->json_new_string(access));
    h->json_set(tok, "expiresAt", h->json_new_string(when));
    const char *nrt = cc_jstr(h, j, "refreshToken");
    if (nrt)
        h->json_set(tok, "refreshToken", h->json_new_string(nrt));
    h->json_put(j);
    return LMCP_OK;
}

static int get_role_credentials(const lmcp_host *h, const lmcp_instance *inst, const sso_conf *c, const char *token,
                                lmcp_credentials *out, char *err, size_t errlen)
{
    char *rn = h->uri_encode(c->role_name, true), *acc = h->uri_encode(c->account_id, true);
    char *query = cc_asprintf("role_name=%s&account_id=%s", rn ? rn : "", acc ? acc : "");
    if (rn)
        h->free(rn);
    if (acc)
        h->free(acc);
    char *auth = cc_asprintf("x-amz-sso_bearer_token: %s", token);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    lmcp_aws_request rq = {0};
    rq.service = "portal.sso";
    rq.signing_name = "awsssoportal";
    rq.region = c->region;
    rq.method = "GET";
    rq.path = "/federation/credentials";
    rq.query = query;
    rq.headers = headers;
    rq.flags = LMCP_AWS_UNSIGNED | LMCP_AWS_IDEMPOTENT;
    lmcp_aws_response *resp = NULL;
    long status;
    char what[300];
    snprintf(what, sizeof what, "SSO GetRoleCredentials for role %s in account %s", c->role_name, c->account_id);
    int rc = cc_aws_call(h, inst, &rq, what, &resp, &status, err, errlen);
    cc_free_secret(auth);
    free(query);
    if (rc != LMCP_OK) {
        cc_redact(err, token);
        if (status == 401)
            expired_msg(c, err, errlen);
        return LMCP_ERR;
    }
    size_t blen;
    const char *b = h->aws_body(resp, &blen);
    lmcp_json *j = h->json_parse(b, blen, NULL, 0);
    h->aws_response_free(resp);
    const lmcp_json *rc_ = j ? h->json_get(j, "roleCredentials") : NULL;
    const char *akid = cc_jstr(h, rc_, "accessKeyId");
    const char *sk = cc_jstr(h, rc_, "secretAccessKey");
    const char *st = cc_jstr(h, rc_, "sessionToken");
    int64_t exp_ms;
    if (!akid || !sk || !cc_jint(h, rc_, "expiration", &exp_ms)) {
        snprintf(err, errlen, "SSO GetRoleCredentials answered without roleCredentials");
        if (j)
            h->json_put(j);
        return LMCP_ERR;
    }
    h->credentials_set(out, akid, sk, st, exp_ms);
    h->credentials_set_account(out, c->account_id);
    h->json_put(j);
    return LMCP_OK;
}

int sso_fetch(const lmcp_host *h, const lmcp_instance *inst, const sso_conf *c, const char *cache_dir,
              lmcp_credentials *out, char *err, size_t errlen)
{
    char key[41], hint[300];
    sso_cache_key(c, key);
    sso_login_hint(c, hint, sizeof hint);
    bool own_dir = cache_dir && *cache_dir && strcmp(cache_dir, "~/.aws/sso/cache") != 0;
    char *dir = cc_expand_path(own_dir ? cache_dir : "~/.aws/sso/cache");
    char *path = cc_asprintf("%s/%s.json", dir, key);
    char *text;
    size_t tlen;
    int frc = cc_read_file(path, MAX_CACHE_FILE, &text, &tlen);
    if (frc < 0) {
        struct stat st;
        const char *what = c->session ? "sso-session" : "profile", *who = c->session ? c->session : c->profile;
        if (frc == -ENOENT && own_dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
            /* the setting names no directory: logging in again would not help */
            snprintf(err, errlen, "no SSO login for %s %s: the token cache directory %s (sso_cache_dir) does not exist",
                     what, who, dir);
        else if (frc == -ENOENT && own_dir)
            snprintf(err, errlen, "no SSO login for %s %s (%s does not exist): run %s, which writes its token to "
                     "~/.aws/sso/cache, and copy it to sso_cache_dir %s",
                     what, who, path, hint, dir);
        else if (frc == -ENOENT)
            snprintf(err, errlen, "no SSO login for %s %s (%s does not exist): run %s", what, who, path, hint);
        else
            snprintf(err, errlen, "cannot read the SSO token cache %s: %s", path, strerror(-frc));
        free(dir);
        free(path);
        return LMCP_ERR;
    }
    free(dir);
    lmcp_json *tok = h->json_parse(text, tlen, NULL, 0);
    cc_free_secret_n(text, tlen);
    if (!tok || h->json_type(tok) != LMCP_JSON_OBJECT) {
        snprintf(err, errlen, "the SSO token cache %s is not a JSON object: run %s", path, hint);
        if (tok)
            h->json_put(tok);
        free(path);
        return LMCP_ERR;
    }
    const char *exps = cc_jstr(h, tok, "expiresAt");
    int64_t exp_ms = 0;
    if (!cc_jstr(h, tok, "accessToken") || !exps || cc_parse_time(exps, &exp_ms) < 0) {
        snprintf(err, errlen, "the SSO token cache %s has no accessToken or expiresAt: run %s", path, hint);
        h->json_put(tok);
        free(path);
        return LMCP_ERR;
    }
    int64_t now = h->now_ms();
    if (exp_ms - now < REFRESH_WINDOW_MS) {
        char rerr[600];
        int rrc = refresh_token(h, inst, c, tok, rerr, sizeof rerr);
        if (rrc == LMCP_OK) {
            char *textout = h->json_to_string(tok, LMCP_JSON_COMPACT);
            char werr[600] = "cannot serialise the token";
            if (!textout || write_cache(path, textout, werr, sizeof werr) < 0)
                h->log(inst, LMCP_LOG_WARN, "refreshed the SSO token but could not save it: %s", werr);
            else
                h->log(inst, LMCP_LOG_INFO, "refreshed the SSO access token of %s %s (saved to %s)",
                       c->session ? "sso-session" : "profile", c->session ? c->session : c->profile, path);
            if (textout) {
                cc_wipe(textout, strlen(textout));
                h->free(textout);
            }
            exps = cc_jstr(h, tok, "expiresAt");
            if (!exps || cc_parse_time(exps, &exp_ms) < 0)
                exp_ms = 0;
        } else if (exp_ms > now) {
            h->log(inst, rrc == LMCP_ERR ? LMCP_LOG_WARN : LMCP_LOG_DEBUG,
                   "the SSO access token expires at %s and cannot be refreshed yet: %s", exps, rerr);
        } else {
            h->log(inst, rrc == LMCP_ERR ? LMCP_LOG_WARN : LMCP_LOG_INFO, "cannot refresh the SSO access token: %s",
                   rerr);
        }
    }
    if (exp_ms <= h->now_ms()) {
        expired_msg(c, err, errlen);
        h->json_put(tok);
        free(path);
        return LMCP_ERR;
    }
    free(path);
    char *token = cc_strdup(cc_jstr(h, tok, "accessToken"));
    h->json_put(tok);
    int rc = get_role_credentials(h, inst, c, token, out, err, errlen);
    cc_free_secret(token);
    return rc;
}
