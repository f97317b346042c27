/* libFuzzer target: what the credentials plugins read (plugins/credentials/common): the
 * ~/.aws/config and ~/.aws/credentials INI dialect and how profiles combine into a credentials
 * plan (role chains, SSO sessions, credential_process), the STS XML answers (AssumeRole,
 * AssumeRoleWithWebIdentity), and the value parsers used on what files and endpoints send:
 * timestamps (cc_parse_time, also the Expiration of IMDS / container / SSO answers), URLs
 * (cc_url_parse, cc_url_display) and credential_process command lines (cc_shell_split).
 * Input, either:
 *  - 'X' then an STS answer (XML);
 *  - the config file text, optionally NUL and the credentials file text. Every profile found
 *    gets a plan and an SSO configuration; every value goes through the value parsers. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/credentials/common/awsconfig.h"
#include "../../plugins/credentials/common/ini.h"
#include "../../plugins/credentials/common/plan.h"
#include "../../plugins/credentials/common/shellsplit.h"
#include "../../plugins/credentials/common/sso.h"
#include "../../plugins/credentials/common/sts.h"
#include "../../plugins/credentials/common/urlcheck.h"
#include "../../plugins/credentials/common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void values(const char *v)
{
    int64_t ms;
    if (cc_parse_time(v, &ms) == 0) {
        char out[32];
        cc_format_time(ms, out);
    }
    cc_url u;
    if (cc_url_parse(v, &u) == 0)
        cc_url_free(&u);
    free(cc_url_display(v));
    char **argv = NULL;
    size_t argc = 0;
    char err[256];
    if (cc_shell_split(v, &argv, &argc, err, sizeof err) == 0)
        cc_strv_free(argv);
    free(sts_arn_account(v));
}

static void profile(const aws_files *f, const char *name)
{
    char err[512];
    cred_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = cred_plan_build(f, name, &plan, err, sizeof err);
    if (rc == 0) {
        char *d = cred_plan_describe(&plan);
        free(d);
    }
    cred_plan_free(&plan);
    sso_conf c;
    memset(&c, 0, sizeof c);
    if (sso_conf_from_profile(f, name, &c, err, sizeof err) == 0) {
        char key[41], hint[256];
        sso_cache_key(&c, key);
        sso_login_hint(&c, hint, sizeof hint);
    }
    sso_conf_free(&c);
}

static void walk(const aws_files *f, const ini_doc *d, bool config)
{
    for (size_t i = 0; i < d->n; i++) {
        const ini_section *s = &d->sections[i];
        const char *name = s->name;
        if (config && strncmp(name, "profile ", 8) == 0)
            name += 8;
        profile(f, name);
        for (size_t k = 0; k < s->n; k++) {
            values(s->pairs[k].value);
            for (size_t j = 0; j < s->pairs[k].nsub; j++)
                values(s->pairs[k].sub[j].value);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    if (size && text[0] == 'X') {
        static const char *const actions[] = {"AssumeRole", "AssumeRoleWithWebIdentity"};
        for (int i = 0; i < 2; i++) {
            sts_creds c;
            char err[256];
            if (sts_parse_credentials(text + 1, size - 1, actions[i], &c, err, sizeof err) == 0)
                sts_creds_free(&c);
        }
        free(sts_xml_text(text + 1, text + size, "Message"));
        free(text);
        return 0;
    }
    size_t n1 = strlen(text);
    const char *cred = n1 < size ? text + n1 + 1 : NULL;
    aws_files f;
    aws_files_from_text(&f, text, cred);
    walk(&f, &f.config, true);
    walk(&f, &f.credentials, false);
    profile(&f, "default");
    aws_files_free(&f);
    free(text);
    return 0;
}
