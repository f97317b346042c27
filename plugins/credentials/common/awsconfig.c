#include "awsconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_FILE_SIZE (16u * 1024 * 1024)

static int load_one(const char *path, bool *exists, ini_doc *doc, const char *what, char *err, size_t errlen)
{
    char *text;
    size_t len;
    int rc = cc_read_file(path, MAX_FILE_SIZE, &text, &len);
    if (rc == -ENOENT || rc == -ENOTDIR) {
        *exists = false;
        ini_parse("", 0, doc);
        return 0;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the %s %s: %s", what, path, strerror(-rc));
        ini_parse("", 0, doc);
        return -1;
    }
    *exists = true;
    ini_parse(text, len, doc);
    cc_free_secret_n(text, len);
    return 0;
}

int aws_files_load(aws_files *f, const char *config_path, const char *credentials_path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->config_path = cc_expand_path(config_path ? config_path : "~/.aws/config");
    f->credentials_path = cc_expand_path(credentials_path ? credentials_path : "~/.aws/credentials");
    if (load_one(f->config_path, &f->config_exists, &f->config, "config file", err, errlen) < 0)
        return -1;
    if (load_one(f->credentials_path, &f->credentials_exists, &f->credentials, "credentials file", err, errlen) < 0)
        return -1;
    return 0;
}

void aws_files_from_text(aws_files *f, const char *config_text, const char *credentials_text)
{
    memset(f, 0, sizeof *f);
    f->config_path = cc_strdup("config");
    f->credentials_path = cc_strdup("credentials");
    f->config_exists = config_text != NULL;
    f->credentials_exists = credentials_text != NULL;
    ini_parse(config_text ? config_text : "", config_text ? strlen(config_text) : 0, &f->config);
    ini_parse(credentials_text ? credentials_text : "", credentials_text ? strlen(credentials_text) : 0,
              &f->credentials);
}

void aws_files_free(aws_files *f)
{
    if (!f)
        return;
    ini_free(&f->config);
    ini_free(&f->credentials);
    free(f->config_path);
    free(f->credentials_path);
    memset(f, 0, sizeof *f);
}

/* "profile NAME" -> NAME (like botocore's shlex.split into exactly two words): the word
 * `kind`, at least one blank, then one word that may be quoted. Writes into out. */
static bool prefixed_name(const char *section, const char *kind, char *out, size_t outlen)
{
    size_t k = strlen(kind);
    if (strncmp(section, kind, k) != 0 || !(section[k] == ' ' || section[k] == '\t'))
        return false;
    const char *p = section + k;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        const char *close = strchr(p, q);
        if (!close)
            return false;
        n = (size_t)(close - p);
        const char *rest = close + 1;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest)
            return false;
    } else {
        while (p[n] && p[n] != ' ' && p[n] != '\t')
            n++;
        const char *rest = p + n;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest)
            return false; /* more than one word: botocore ignores the section */
    }
    if (n == 0 || n >= outlen)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static const ini_section *config_profile(const ini_doc *doc, const char *name)
{
    const ini_section *found = NULL;
    char buf[512];
    for (size_t i = 0; i < doc->n; i++) {
        const ini_section *s = &doc->sections[i];
        if (strcmp(name, "default") == 0 && strcmp(s->name, "default") == 0)
            found = s;
        else if (prefixed_name(s->name, "profile", buf, sizeof buf) && strcmp(buf, name) == 0)
            found = s; /* the later of [default] / [profile default] wins */
    }
    return found;
}

bool aws_profile_find(const aws_files *f, const char *name, aws_profile *out)
{
    memset(out, 0, sizeof *out);
    if (!name || !*name)
        return false;
    out->config = config_profile(&f->config, name);
    out->credentials = ini_section_find(&f->credentials, name);
    return out->config || out->credentials;
}

const char *aws_section_value(const ini_section *s, const char *key)
{
    const char *v = ini_get(s, key);
    return v && *v ? v : NULL;
}

const char *aws_profile_get(const aws_profile *p, const char *key)
{
    const char *v = aws_section_value(p->credentials, key);
    return v ? v : aws_section_value(p->config, key);
}

const ini_section *aws_sso_session_find(const aws_files *f, const char *name)
{
    char buf[512];
    const ini_section *found = NULL;
    for (size_t i = 0; name && i < f->config.n; i++)
        if (prefixed_name(f->config.sections[i].name, "sso-session", buf, sizeof buf) && strcmp(buf, name) == 0)
            found = &f->config.sections[i];
    return found;
}

char *aws_files_describe(const aws_files *f)
{
    return cc_asprintf("%s%s and %s%s", f->config_path, f->config_exists ? "" : " (missing)", f->credentials_path,
                       f->credentials_exists ? "" : " (missing)");
}
