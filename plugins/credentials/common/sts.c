#include "sts.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostjson.h"
#include "util.h"

#define MAX_TOKEN_FILE (1024u * 1024u)

/* ------------------------------------------------------------------ XML (just enough for STS) */

static bool name_end(char c) { return c == '>' || c == '/' || isspace((unsigned char)c); }

/* find "<tag" followed by '>', '/' or a blank */
static const char *find_open(const char *p, const char *end, const char *tag, size_t tl)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            return NULL;
        if ((size_t)(end - lt) > tl + 1 && memcmp(lt + 1, tag, tl) == 0 && name_end(lt[1 + tl]))
            return lt;
        p = lt + 1;
    }
    return NULL;
}

int sts_xml_element(const char *xml, const char *end, const char *tag, const char **inner, const char **inner_end)
{
    size_t tl = strlen(tag);
    const char *open = find_open(xml, end, tag, tl);
    if (!open)
        return -1;
    const char *gt = memchr(open, '>', (size_t)(end - open));
    if (!gt)
        return -1;
    if (gt[-1] == '/') { /* <tag/> */
        *inner = *inner_end = gt + 1;
        return 0;
    }
    const char *p = gt + 1;
    /* the matching close tag, counting nested elements of the same name */
    int depth = 1;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            return -1;
        if (lt + 1 < end && lt[1] == '/' && (size_t)(end - lt) > tl + 2 && memcmp(lt + 2, tag, tl) == 0 &&
            (lt[2 + tl] == '>' || isspace((unsigned char)lt[2 + tl]))) {
            if (--depth == 0) {
                *inner = gt + 1;
                *inner_end = lt;
                return 0;
            }
        } else if ((size_t)(end - lt) > tl + 1 && memcmp(lt + 1, tag, tl) == 0 && name_end(lt[1 + tl])) {
            const char *g2 = memchr(lt, '>', (size_t)(end - lt));
            if (g2 && g2[-1] != '/')
                depth++;
        }
        p = lt + 1;
    }
    return -1;
}

static void put_utf8(cc_buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    cc_buf_append(b, u, n);
}

static char *decode_text(const char *p, const char *end)
{
    cc_buf b = CC_BUF_INIT;
    /* CDATA sections are taken literally */
    while (p < end) {
        if (*p == '<' && (size_t)(end - p) >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
            const char *s = p + 9, *q = s;
            while (q + 2 < end && memcmp(q, "]]>", 3) != 0)
                q++;
            cc_buf_append(&b, s, (size_t)(q - s));
            p = q + 3 <= end ? q + 3 : end;
            continue;
        }
        if (*p == '&') {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            if (semi && semi - p <= 10) {
                size_t n = (size_t)(semi - p - 1);
                const char *e = p + 1;
                if (n == 3 && memcmp(e, "amp", 3) == 0)
                    cc_buf_append(&b, "&", 1);
                else if (n == 2 && memcmp(e, "lt", 2) == 0)
                    cc_buf_append(&b, "<", 1);
                else if (n == 2 && memcmp(e, "gt", 2) == 0)
                    cc_buf_append(&b, ">", 1);
                else if (n == 4 && memcmp(e, "quot", 4) == 0)
                    cc_buf_append(&b, "\"", 1);
                else if (n == 4 && memcmp(e, "apos", 4) == 0)
                    cc_buf_append(&b, "'", 1);
                else if (n >= 2 && e[0] == '#') {
                    char num[12];
                    memcpy(num, e + 1, n - 1);
                    num[n - 1] = '\0';
                    char *stop;
                    unsigned long cp = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, &stop, 16)
                                                                         : strtoul(num, &stop, 10);
                    if (*stop || cp == 0 || cp > 0x10FFFF)
                        cc_buf_append(&b, p, (size_t)(semi - p + 1));
                    else
                        put_utf8(&b, cp);
                } else {
                    cc_buf_append(&b, p, (size_t)(semi - p + 1));
                }
                p = semi + 1;
                continue;
            }
        }
        cc_buf_append(&b, p, 1);
        p++;
    }
    if (!b.data)
        cc_buf_append(&b, "", 0);
    return b.data;
}

char *sts_xml_text(const char *xml, const char *end, const char *tag)
{
    const char *in, *ie;
    if (sts_xml_element(xml, end, tag, &in, &ie) < 0)
        return NULL;
    /* trimmed: STS pretty-prints, values never start or end with blanks */
    return cc_trim(decode_text(in, ie));
}

char *sts_arn_account(const char *arn)
{
    /* arn:partition:service:region:account:resource */
    if (!arn || strncmp(arn, "arn:", 4) != 0)
        return NULL;
    const char *p = arn;
    for (int i = 0; i < 4; i++) {
        p = strchr(p, ':');
        if (!p)
            return NULL;
        p++;
    }
    const char *e = strchr(p, ':');
    if (!e || e == p)
        return NULL;
    for (const char *q = p; q < e; q++)
        if (!isdigit((unsigned char)*q))
            return NULL;
    return cc_strndup(p, (size_t)(e - p));
}

void sts_creds_free(sts_creds *c)
{
    if (!c)
        return;
    cc_free_secret(c->access_key_id);
    cc_free_secret(c->secret_access_key);
    cc_free_secret(c->session_token);
    free(c->expiration);
    free(c->arn);
    free(c->account_id);
    memset(c, 0, sizeof *c);
}

int sts_parse_credentials(const char *xml, size_t len, const char *action, sts_creds *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const char *end = xml + len;
    char tag[96];
    snprintf(tag, sizeof tag, "%sResult", action);
    const char *rb, *re, *cb, *ce;
    if (sts_xml_element(xml, end, tag, &rb, &re) < 0) {
        snprintf(err, errlen, "the %s answer has no %s element", action, tag);
        return -1;
    }
    if (sts_xml_element(rb, re, "Credentials", &cb, &ce) < 0) {
        snprintf(err, errlen, "the %s answer has no Credentials", action);
        return -1;
    }
    c->access_key_id = sts_xml_text(cb, ce, "AccessKeyId");
    c->secret_access_key = sts_xml_text(cb, ce, "SecretAccessKey");
    c->session_token = sts_xml_text(cb, ce, "SessionToken");
    c->expiration = sts_xml_text(cb, ce, "Expiration");
    const char *missing = !c->access_key_id || !*c->access_key_id             ? "AccessKeyId"
                          : !c->secret_access_key || !*c->secret_access_key ? "SecretAccessKey"
                          : !c->session_token || !*c->session_token         ? "SessionToken"
                          : !c->expiration || !*c->expiration               ? "Expiration"
                                                                            : NULL;
    if (missing) {
        snprintf(err, errlen, "the %s answer has no %s", action, missing);
        sts_creds_free(c);
        return -1;
    }
    if (cc_parse_time(c->expiration, &c->expiration_ms) < 0) {
        snprintf(err, errlen, "the %s answer has an Expiration that is not a time: '%.40s'", action, c->expiration);
        sts_creds_free(c);
        return -1;
    }
    const char *ub, *ue;
    if (sts_xml_element(rb, re, "AssumedRoleUser", &ub, &ue) == 0) {
        c->arn = sts_xml_text(ub, ue, "Arn");
        c->account_id = sts_arn_account(c->arn);
    }
    return 0;
}

char *sts_default_session_name(int64_t now_ms)
{
    return cc_asprintf("botocore-session-%" PRId64, now_ms / 1000);
}

/* ------------------------------------------------------------------ requests */

static void form_add(const lmcp_host *h, cc_buf *b, const char *key, const char *value)
{
    char *v = h->uri_encode(value, true);
    cc_buf_printf(b, "&%s=%s", key, v ? v : "");
    if (v) {
        cc_wipe(v, strlen(v));
        h->free(v);
    }
}

/* token: the web identity token the body carries (NULL for AssumeRole, whose signing secrets the
 * host keeps out of error messages itself), cut out of err should STS's answer quote it */
static int call_sts(const lmcp_host *h, const lmcp_instance *inst, const char *action, cc_buf *body,
                    const lmcp_credentials *signer, const char *region, lmcp_credentials *out, const char *role_arn,
                    const char *token, char *err, size_t errlen)
{
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                                          "Accept: text/xml", NULL};
    lmcp_aws_request rq = {0};
    rq.service = "sts";
    rq.region = region && *region ? region : NULL;
    rq.method = "POST";
    rq.path = "/";
    rq.headers = headers;
    rq.body = body->data;
    rq.body_len = body->len;
    rq.flags = LMCP_AWS_IDEMPOTENT | (signer ? 0u : LMCP_AWS_UNSIGNED);
    rq.credentials = signer;
    lmcp_aws_response *resp = NULL;
    long status;
    char what[512];
    snprintf(what, sizeof what, "STS %s for %s", action, role_arn);
    int rc = cc_aws_call(h, inst, &rq, what, &resp, &status, err, errlen);
    cc_buf_wipe_free(body);
    if (rc != LMCP_OK) {
        if (token) {
            cc_redact(err, token);
            char *enc = h->uri_encode(token, true); /* as the form body carried it */
            if (enc) {
                cc_redact(err, enc);
                cc_wipe(enc, strlen(enc));
                h->free(enc);
            }
        }
        return LMCP_ERR;
    }
    size_t blen;
    const char *xml = h->aws_body(resp, &blen);
    sts_creds c;
    char perr[200];
    if (sts_parse_credentials(xml, blen, action, &c, perr, sizeof perr) < 0) {
        snprintf(err, errlen, "STS %s for %s: %s", action, role_arn, perr);
        h->aws_response_free(resp);
        return LMCP_ERR;
    }
    h->aws_response_free(resp);
    h->credentials_set(out, c.access_key_id, c.secret_access_key, c.session_token, c.expiration_ms);
    if (c.account_id)
        h->credentials_set_account(out, c.account_id);
    if (h->log_enabled(LMCP_LOG_DEBUG)) {
        char masked[24];
        cc_mask_key(c.access_key_id, masked);
        h->log(inst, LMCP_LOG_DEBUG, "STS %s: %s as %s (access key %s, expires %s)", action, role_arn,
               c.arn ? c.arn : "?", masked, c.expiration);
    }
    sts_creds_free(&c);
    return LMCP_OK;
}

int sts_assume_role(const lmcp_host *h, const lmcp_instance *inst, const lmcp_credentials *src,
                    const sts_assume_role_params *p, lmcp_credentials *out, char *err, size_t errlen)
{
    char *session = p->session_name && *p->session_name ? cc_strdup(p->session_name)
                                                         : sts_default_session_name(h->now_ms());
    cc_buf body = CC_BUF_INIT;
    cc_buf_puts(&body, "Action=AssumeRole&Version=2011-06-15");
    form_add(h, &body, "RoleArn", p->role_arn);
    form_add(h, &body, "RoleSessionName", session);
    if (p->external_id && *p->external_id)
        form_add(h, &body, "ExternalId", p->external_id);
    if (p->duration_seconds > 0)
        cc_buf_printf(&body, "&DurationSeconds=%d", p->duration_seconds);
    free(session);
    return call_sts(h, inst, "AssumeRole", &body, src, p->region, out, p->role_arn, NULL, err, errlen);
}

int sts_assume_role_with_web_identity(const lmcp_host *h, const lmcp_instance *inst, const char *role_arn,
                                      const char *session_name, const char *token_file, const char *region,
                                      lmcp_credentials *out, char *err, size_t errlen)
{
    char *token;
    size_t tlen;
    char *path = cc_expand_path(token_file);
    int rc = cc_read_token_file(path, MAX_TOKEN_FILE, &token, &tlen);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the web identity token file %s: %s", path,
                 rc == -EFBIG ? "larger than 1 MB" : strerror(-rc));
        free(path);
        return LMCP_ERR;
    }
    if (!*token) {
        snprintf(err, errlen, "the web identity token file %s is empty", path);
        cc_free_secret_n(token, tlen);
        free(path);
        return LMCP_ERR;
    }
    free(path);
    char *session = session_name && *session_name ? cc_strdup(session_name) : sts_default_session_name(h->now_ms());
    cc_buf body = CC_BUF_INIT;
    cc_buf_puts(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15");
    form_add(h, &body, "RoleArn", role_arn);
    form_add(h, &body, "RoleSessionName", session);
    form_add(h, &body, "WebIdentityToken", token);
    free(session);
    int rc2 = call_sts(h, inst, "AssumeRoleWithWebIdentity", &body, NULL, region, out, role_arn, token, err, errlen);
    cc_free_secret_n(token, tlen);
    return rc2;
}
