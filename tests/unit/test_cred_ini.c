/* credentials plugins: the INI dialect of ~/.aws/config and ~/.aws/credentials, and how the two
 * files combine into profiles (plugins/credentials/common/ini.h, awsconfig.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../plugins/credentials/common/awsconfig.h"
#include "../../plugins/credentials/common/ini.h"
#include "../../plugins/credentials/common/util.h"

static ini_doc parse(const char *text)
{
    ini_doc d;
    ini_parse(text, strlen(text), &d);
    return d;
}

static void test_basic_sections_and_keys(void **state)
{
    (void)state;
    ini_doc d = parse("[default]\n"
                      "aws_access_key_id = AKIA1\n"
                      "aws_secret_access_key=secret/with+chars==\n"
                      "\n"
                      "[other]\n"
                      "region: eu-west-1\n");
    assert_int_equal(d.n, 2);
    assert_string_equal(d.sections[0].name, "default");
    assert_string_equal(ini_get(&d.sections[0], "aws_access_key_id"), "AKIA1");
    /* only the first '=' separates: base64 padding stays in the value */
    assert_string_equal(ini_get(&d.sections[0], "aws_secret_access_key"), "secret/with+chars==");
    /* ':' is a delimiter too (configparser) */
    assert_string_equal(ini_get(ini_section_find(&d, "other"), "region"), "eu-west-1");
    assert_null(ini_get(&d.sections[0], "region"));
    assert_int_equal(d.nwarn, 0);
    ini_free(&d);
}

static void test_comments(void **state)
{
    (void)state;
    ini_doc d = parse("# a comment\n"
                      "; another\n"
                      "[p] # after the header\n"
                      "  # an indented comment\n"
                      "a = 1 # inline\n"
                      "b = 2 ; inline\n"
                      "c = 3#not-a-comment\n"
                      "d = x;y\n"
                      "e = #starts-with-hash\n"
                      "f = v\t# after a tab\n"
                      "g = https://host/path#frag\n");
    const ini_section *s = ini_section_find(&d, "p");
    assert_non_null(s);
    assert_string_equal(ini_get(s, "a"), "1");
    assert_string_equal(ini_get(s, "b"), "2");
    /* only a # or ; preceded by whitespace starts a comment */
    assert_string_equal(ini_get(s, "c"), "3#not-a-comment");
    assert_string_equal(ini_get(s, "d"), "x;y");
    assert_string_equal(ini_get(s, "e"), "#starts-with-hash");
    assert_string_equal(ini_get(s, "f"), "v");
    assert_string_equal(ini_get(s, "g"), "https://host/path#frag");
    assert_int_equal(d.nwarn, 0);
    ini_free(&d);
}

static void test_case_and_whitespace(void **state)
{
    (void)state;
    ini_doc d = parse("\xEF\xBB\xBF[  Profile Mixed  ]\r\n"
                      "   AWS_Access_Key_ID   =   AKIAUPPER   \r\n"
                      "Region=US-West-2\r\n"
                      "spaced key = value with  inner  spaces \r\n");
    const ini_section *s = ini_section_find(&d, "Profile Mixed");
    assert_non_null(s); /* section names keep their case, whitespace inside brackets is trimmed */
    assert_null(ini_section_find(&d, "profile mixed"));
    /* keys are case-insensitive (stored lower-case), values keep their case */
    assert_string_equal(ini_get(s, "aws_access_key_id"), "AKIAUPPER");
    assert_string_equal(ini_get(s, "AWS_ACCESS_KEY_ID"), "AKIAUPPER");
    assert_string_equal(s->pairs[0].key, "aws_access_key_id");
    assert_string_equal(ini_get(s, "region"), "US-West-2");
    assert_string_equal(ini_get(s, "spaced key"), "value with  inner  spaces");
    ini_free(&d);
}

static void test_subsections(void **state)
{
    (void)state;
    ini_doc d = parse("[profile dev]\n"
                      "s3 =\n"
                      "  max_concurrency = 20\n"
                      "\n"
                      "  # comment inside\n"
                      "  Addressing_Style = path\n"
                      "region = us-east-2\n"
                      "api_versions =\n"
                      "    ec2 = 2015-03-01\n"
                      "note = first\n"
                      "  second line\n"
                      "  third line\n");
    const ini_section *s = ini_section_find(&d, "profile dev");
    assert_non_null(s);
    const ini_pair *p = ini_pair_find(s, "s3");
    assert_non_null(p);
    assert_string_equal(p->value, "");
    assert_int_equal(p->nsub, 2);
    assert_string_equal(ini_sub_get(s, "s3", "max_concurrency"), "20");
    assert_string_equal(ini_sub_get(s, "s3", "addressing_style"), "path");
    /* a non-indented line ends the sub-section */
    assert_string_equal(ini_get(s, "region"), "us-east-2");
    assert_string_equal(ini_sub_get(s, "api_versions", "ec2"), "2015-03-01");
    assert_null(ini_sub_get(s, "s3", "region"));
    /* indented lines after a non-empty value continue it */
    assert_string_equal(ini_get(s, "note"), "first\nsecond line\nthird line");
    ini_free(&d);
}

static void test_duplicates_and_bad_lines(void **state)
{
    (void)state;
    ini_doc d = parse("orphan = before any section\n"
                      "[a]\n"
                      "k = 1\n"
                      "this line is nonsense\n"
                      "[broken\n"
                      "x = 9\n"
                      "[b]\n"
                      "k = 2\n"
                      "[a]\n"
                      "k = 3\n"
                      "j = 4\n"
                      "= novalue\n");
    /* a repeated section merges, a repeated key takes the later value */
    const ini_section *a = ini_section_find(&d, "a");
    assert_string_equal(ini_get(a, "k"), "3");
    assert_string_equal(ini_get(a, "j"), "4");
    assert_int_equal(d.n, 2);
    assert_string_equal(ini_get(ini_section_find(&d, "b"), "k"), "2");
    /* ignored lines are reported with their line numbers */
    assert_int_equal(d.nwarn, 5);
    assert_true(strncmp(d.warnings[0], "line 1:", 7) == 0);
    assert_true(strncmp(d.warnings[1], "line 4:", 7) == 0);
    assert_true(strncmp(d.warnings[2], "line 5:", 7) == 0);
    /* the key after an unterminated header has no section */
    assert_true(strncmp(d.warnings[3], "line 6:", 7) == 0);
    assert_true(strncmp(d.warnings[4], "line 12:", 8) == 0);
    ini_free(&d);
}

static void test_empty_and_edge(void **state)
{
    (void)state;
    ini_doc d = parse("");
    assert_int_equal(d.n, 0);
    ini_free(&d);
    d = parse("[x]");
    assert_int_equal(d.n, 1);
    assert_int_equal(d.sections[0].n, 0);
    ini_free(&d);
    d = parse("[x]\nk = v"); /* no final newline */
    assert_string_equal(ini_get(&d.sections[0], "k"), "v");
    ini_free(&d);
    d = parse("[]\nk = v\n[ ]\n");
    assert_int_equal(d.n, 0);
    ini_free(&d);
}

/* Indentation, as configparser (botocore, the AWS CLI) reads it: a line continues the current key
 * only when it is indented more than the line that started the key. Found in review: any
 * indented line after a key was joined to it, so a file written from an indented heredoc lost
 * every key after the first ("has aws_access_key_id but no aws_secret_access_key"). */
static void test_indentation_levels(void **state)
{
    (void)state;
    /* the keys indented under an unindented header (an indented heredoc) */
    ini_doc d = parse("[default]\n"
                      "    aws_access_key_id = AKIAINDENTED0001\n"
                      "    aws_secret_access_key = indentedSecret\n"
                      "    aws_session_token = indentedToken\n");
    const ini_section *s = ini_section_find(&d, "default");
    assert_non_null(s);
    assert_int_equal(s->n, 3);
    assert_string_equal(ini_get(s, "aws_access_key_id"), "AKIAINDENTED0001");
    assert_string_equal(ini_get(s, "aws_secret_access_key"), "indentedSecret");
    assert_string_equal(ini_get(s, "aws_session_token"), "indentedToken");
    ini_free(&d);

    /* the whole file indented, headers too, with a nested value and continuations */
    d = parse("  [profile dev]\n"
              "  region = eu-west-1\n"
              "  s3 =\n"
              "      max_concurrency = 10\n"
              "\n"
              "    addressing_style = path\n"
              "  note = a\n"
              "    b\n"
              "\n"
              "\n"
              "        c\n"
              "   d\n"
              "  output = json\n"
              "  [profile other]\n"
              "  region = us-west-2\n");
    s = ini_section_find(&d, "profile dev");
    assert_non_null(s);
    assert_int_equal(s->n, 4);
    assert_string_equal(ini_get(s, "region"), "eu-west-1");
    assert_int_equal(ini_pair_find(s, "s3")->nsub, 2);
    assert_string_equal(ini_sub_get(s, "s3", "max_concurrency"), "10");
    assert_string_equal(ini_sub_get(s, "s3", "addressing_style"), "path");
    /* deeper or shallower, a continuation is one line of the value; blank lines inside stay */
    assert_string_equal(ini_get(s, "note"), "a\nb\n\n\nc\nd");
    assert_string_equal(ini_get(s, "output"), "json");
    assert_string_equal(ini_get(ini_section_find(&d, "profile other"), "region"), "us-west-2");
    assert_int_equal(d.nwarn, 0);
    ini_free(&d);

    /* only MORE indented lines continue: the level is the key line's, not the section's */
    d = parse("[p]\n"
              "    a = 1\n"
              "  b = 2\n"
              "    c = 3\n"        /* deeper than b: part of b's value (configparser) */
              "\tt = tab\n"        /* a tab is one character: less than b's two spaces */
              "k = v\n"
              "  [not a header]\n" /* deeper than k: a continuation, not a section */
              "# a comment changes nothing\n"
              "  more\n"
              "[q]\n"
              "  x = 1\n"
              "   y = 2\n");
    s = ini_section_find(&d, "p");
    assert_string_equal(ini_get(s, "a"), "1");
    assert_string_equal(ini_get(s, "b"), "2\nc = 3");
    assert_null(ini_get(s, "c"));
    assert_string_equal(ini_get(s, "t"), "tab");
    assert_string_equal(ini_get(s, "k"), "v\n[not a header]\nmore");
    assert_null(ini_section_find(&d, "not a header"));
    assert_string_equal(ini_get(ini_section_find(&d, "q"), "x"), "1\ny = 2");
    assert_int_equal(d.n, 2);
    ini_free(&d);

    /* Python's universal newlines: a lone CR ends a line too */
    d = parse("[cr]\rk = v\r  more\rj = w\r\n[next]\r\nz = 1");
    s = ini_section_find(&d, "cr");
    assert_non_null(s);
    assert_string_equal(ini_get(s, "k"), "v\nmore");
    assert_string_equal(ini_get(s, "j"), "w");
    assert_string_equal(ini_get(ini_section_find(&d, "next"), "z"), "1");
    ini_free(&d);
    d = parse("[cr]\r\rbad line\r");
    assert_int_equal(d.nwarn, 1);
    assert_true(strncmp(d.warnings[0], "line 3:", 7) == 0);
    ini_free(&d);
}

/* The same files read by botocore itself (raw_config_parse, the AWS CLI's reader) and by ini.c:
 * the same sections, keys, values and nested values. Only files within the shared dialect (no
 * inline comments, repeated sections or keys, or lines configparser refuses: the departures
 * ini.h lists). Nested keys are compared lower-case (ini.c lower-cases them, botocore not).
 * Skipped when Debian's python3 with botocore is not there. */
static const char *BOTOCORE_PY =
    "import sys\n"
    "try:\n"
    "    from botocore.configloader import raw_config_parse\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "def esc(s):\n"
    "    return s.replace('\\\\', '\\\\\\\\').replace('\\n', '\\\\n')\n"
    "cfg = raw_config_parse(sys.argv[1])\n"
    "for sec, kv in cfg.items():\n"
    "    print('[%s]' % esc(sec))\n"
    "    for k, v in kv.items():\n"
    "        if isinstance(v, dict):\n"
    "            print('%s =' % esc(k))\n"
    "            for sk, sv in v.items():\n"
    "                print('  %s = %s' % (esc(sk.lower()), esc(sv)))\n"
    "        else:\n"
    "            print('%s = %s' % (esc(k), esc(v)))\n";

static const char *const BOTOCORE_CORPUS[] = {
    "[default]\n"
    "    aws_access_key_id = AKIAEXAMPLE00001\n"
    "    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n",
    "  [default]\n"
    "  region = us-east-1\n"
    "  s3 =\n"
    "      max_concurrency = 10\n"
    "\n"
    "    Addressing_Style = path\n"
    "  api_versions =\n"
    "  \tec2 = 2015-03-01\n"
    "  output: json\n"
    "\n"
    "  [profile dev]\n"
    "  role_arn = arn:aws:iam::123456789012:role/dev\n"
    "  source_profile = default\n",
    "[p]\n"
    "note = a\n"
    "  b\n"
    "\n"
    "\n"
    "      c\n"
    " d\n"
    "# comment\n"
    "  ; indented comment\n"
    "  e\n"
    "\n"
    "after = x\n",
    "[p]\n"
    "    a = 1\n"
    "  b = 2\n"
    "    c = 3\n"
    "\tt = tab\n"
    "k = v\n"
    "  [not a header]\n"
    "  j = w\n"
    "[q]\n"
    "  x = 1\n"
    "   y = 2\n",
    "[default]\n"
    "aws_access_key_id = AKIAEXAMPLE00002\n"
    "  aws_secret_access_key = swallowedSecret\n"
    "empty =\n"
    "s3 =\n"
    "\n"
    "  a = 1\n"
    "blank_then_key =\n"
    "\n"
    "z = last\n",
    "[crlf]\r\n  k = v\r\n    more\r\n  j = w\r\n[cr]\rk = 1\r  2\rj = 3\r",
};

static char *dump_doc(const ini_doc *d)
{
    size_t cap = 1, len = 0;
    char *out = cc_xmalloc(cap);
    out[0] = '\0';
#define APPEND(...)                                                                                            \
    do {                                                                                                       \
        char *piece = cc_asprintf(__VA_ARGS__);                                                                \
        size_t pl = strlen(piece);                                                                             \
        out = cc_xrealloc(out, cap = len + pl + 1);                                                            \
        memcpy(out + len, piece, pl + 1);                                                                      \
        len += pl;                                                                                             \
        free(piece);                                                                                           \
    } while (0)
    for (size_t i = 0; i < d->n; i++) {
        const ini_section *s = &d->sections[i];
        APPEND("[%s]\n", s->name);
        for (size_t k = 0; k < s->n; k++) {
            const ini_pair *p = &s->pairs[k];
            if (p->nsub) {
                APPEND("%s =\n", p->key);
                for (size_t j = 0; j < p->nsub; j++)
                    APPEND("  %s = %s\n", p->sub[j].key, p->sub[j].value);
            } else {
                APPEND("%s = ", p->key);
                for (const char *c = p->value; *c; c++)
                    APPEND("%s", *c == '\n' ? "\\n" : *c == '\\' ? "\\\\" : (char[]){*c, '\0'});
                APPEND("\n");
            }
        }
    }
#undef APPEND
    return out;
}

static void test_same_as_botocore(void **state)
{
    (void)state;
    const char *py = getenv("LMCP_PYTHON");
    if (!py || !*py || strcmp(py, "no") == 0)
        py = "/usr/bin/python3";
    if (access(py, X_OK) != 0)
        skip();
    char dir[] = "/tmp/lmcp-test-boto.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *script = cc_asprintf("%s/dump.py", dir), *ini = cc_asprintf("%s/config", dir);
    FILE *fp = fopen(script, "w");
    assert_non_null(fp);
    fputs(BOTOCORE_PY, fp);
    fclose(fp);
    bool skipped = false;
    for (size_t i = 0; i < sizeof BOTOCORE_CORPUS / sizeof *BOTOCORE_CORPUS; i++) {
        fp = fopen(ini, "w");
        assert_non_null(fp);
        fputs(BOTOCORE_CORPUS[i], fp);
        fclose(fp);
        char *cmd = cc_asprintf("'%s' -I '%s' '%s'", py, script, ini);
        FILE *pp = popen(cmd, "r");
        free(cmd);
        assert_non_null(pp);
        char theirs[8192];
        size_t n = fread(theirs, 1, sizeof theirs - 1, pp);
        theirs[n] = '\0';
        int st = pclose(pp);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
            skipped = true;
            break;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("file %zu: botocore could not read it (status %d)", i, st);
        ini_doc d = parse(BOTOCORE_CORPUS[i]);
        char *ours = dump_doc(&d);
        if (strcmp(ours, theirs) != 0)
            fail_msg("file %zu read differently:\n--- botocore\n%s--- ini.c\n%s", i, theirs, ours);
        assert_int_equal(d.nwarn, 0);
        free(ours);
        ini_free(&d);
    }
    unlink(ini);
    unlink(script);
    rmdir(dir);
    free(ini);
    free(script);
    if (skipped)
        skip();
}

/* ------------------------------------------------------------------ the two files together */

static void test_profile_sections(void **state)
{
    (void)state;
    aws_files f;
    aws_files_from_text(&f,
                        "[default]\nregion = us-east-1\n"
                        "[profile dev]\nregion = eu-west-1\n"
                        "[profile   \"with space\"]\nregion = ap-south-1\n"
                        "[prod]\nregion = should-not-be-a-profile\n"
                        "[profilex]\nregion = nope\n"
                        "[profile a b]\nregion = nope\n"
                        "[Profile caps]\nregion = nope\n"
                        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                        "[services local]\nlambda =\n  endpoint_url = http://localhost:1\n",
                        NULL);
    aws_profile p;
    assert_true(aws_profile_find(&f, "default", &p));
    assert_string_equal(aws_profile_get(&p, "region"), "us-east-1");
    assert_true(aws_profile_find(&f, "dev", &p));
    assert_string_equal(aws_profile_get(&p, "region"), "eu-west-1");
    assert_true(aws_profile_find(&f, "with space", &p));
    assert_string_equal(aws_profile_get(&p, "region"), "ap-south-1");
    /* in the config file a bare [name] is not a profile, nor are these */
    assert_false(aws_profile_find(&f, "prod", &p));
    assert_false(aws_profile_find(&f, "x", &p));
    assert_false(aws_profile_find(&f, "a", &p));
    assert_false(aws_profile_find(&f, "caps", &p));
    assert_false(aws_profile_find(&f, "corp", &p));
    assert_false(aws_profile_find(&f, "local", &p));
    assert_false(aws_profile_find(&f, "", &p));
    /* sso-session has its own namespace */
    const ini_section *ss = aws_sso_session_find(&f, "corp");
    assert_non_null(ss);
    assert_string_equal(aws_section_value(ss, "sso_start_url"), "https://corp.awsapps.com/start");
    assert_null(aws_sso_session_find(&f, "dev"));
    aws_files_free(&f);
}

static void test_default_vs_profile_default(void **state)
{
    (void)state;
    aws_files f;
    aws_profile p;
    /* both present: the one further down the file wins, entirely (botocore's profile map) */
    aws_files_from_text(&f, "[default]\nregion = from-default\noutput = json\n"
                            "[profile default]\nregion = from-profile-default\n", NULL);
    assert_true(aws_profile_find(&f, "default", &p));
    assert_string_equal(aws_profile_get(&p, "region"), "from-profile-default");
    assert_null(aws_profile_get(&p, "output"));
    aws_files_free(&f);
    aws_files_from_text(&f, "[profile default]\nregion = from-profile-default\n"
                            "[default]\nregion = from-default\n", NULL);
    assert_true(aws_profile_find(&f, "default", &p));
    assert_string_equal(aws_profile_get(&p, "region"), "from-default");
    aws_files_free(&f);
    /* only [profile default] */
    aws_files_from_text(&f, "[profile default]\nregion = r\n", NULL);
    assert_true(aws_profile_find(&f, "default", &p));
    aws_files_free(&f);
}

static void test_credentials_file_precedence(void **state)
{
    (void)state;
    aws_files f;
    aws_files_from_text(&f,
                        "[profile dev]\n"
                        "aws_access_key_id = AKIACONFIG\n"
                        "aws_secret_access_key = config-secret\n"
                        "region = eu-west-1\n"
                        "[profile config-only]\nregion = us-west-2\n",
                        "[dev]\n"
                        "aws_access_key_id = AKIACREDS\n"
                        "aws_secret_access_key = creds-secret\n"
                        "[profile dev]\n"
                        "aws_access_key_id = AKIANOTTHIS\n"
                        "[creds-only]\n"
                        "aws_access_key_id = AKIAONLY\n"
                        "empty =\n");
    aws_profile p;
    assert_true(aws_profile_find(&f, "dev", &p));
    assert_non_null(p.config);
    assert_non_null(p.credentials);
    /* the credentials file wins key by key; other keys still come from the config file */
    assert_string_equal(aws_profile_get(&p, "aws_access_key_id"), "AKIACREDS");
    assert_string_equal(aws_profile_get(&p, "aws_secret_access_key"), "creds-secret");
    assert_string_equal(aws_profile_get(&p, "region"), "eu-west-1");
    assert_string_equal(aws_section_value(p.config, "aws_access_key_id"), "AKIACONFIG");
    /* in the credentials file, [name] is the profile; [profile x] is a profile named "profile x" */
    assert_true(aws_profile_find(&f, "creds-only", &p));
    assert_null(p.config);
    assert_string_equal(aws_profile_get(&p, "aws_access_key_id"), "AKIAONLY");
    assert_null(aws_profile_get(&p, "empty")); /* empty values count as absent */
    assert_true(aws_profile_find(&f, "profile dev", &p));
    assert_true(aws_profile_find(&f, "config-only", &p));
    assert_null(p.credentials);
    aws_files_free(&f);
}

static void test_load_from_disk(void **state)
{
    (void)state;
    char dir[] = "/tmp/lmcp-test-ini.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *cfg = cc_asprintf("%s/config", dir);
    FILE *fp = fopen(cfg, "w");
    assert_non_null(fp);
    fputs("[profile disk]\nregion = sa-east-1\n", fp);
    fclose(fp);
    /* $VAR expansion and a missing credentials file */
    setenv("LMCP_TEST_INI_DIR", dir, 1);
    aws_files f;
    char err[256];
    assert_int_equal(aws_files_load(&f, "$LMCP_TEST_INI_DIR/config", "${LMCP_TEST_INI_DIR}/nope", err, sizeof err), 0);
    assert_true(f.config_exists);
    assert_false(f.credentials_exists);
    aws_profile p;
    assert_true(aws_profile_find(&f, "disk", &p));
    assert_string_equal(aws_profile_get(&p, "region"), "sa-east-1");
    char *desc = aws_files_describe(&f);
    assert_non_null(strstr(desc, "/nope (missing)"));
    free(desc);
    aws_files_free(&f);
    /* ~ is $HOME */
    char *old_home = getenv("HOME") ? cc_strdup(getenv("HOME")) : NULL;
    setenv("HOME", dir, 1);
    char *e = cc_expand_path("~/config");
    assert_string_equal(e, cfg);
    free(e);
    e = cc_expand_path("$UNSET_LMCP_VAR_X/a");
    assert_string_equal(e, "$UNSET_LMCP_VAR_X/a");
    free(e);
    if (old_home)
        setenv("HOME", old_home, 1);
    free(old_home);
    /* a directory where a file should be is an error, not "missing" */
    assert_int_equal(aws_files_load(&f, dir, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read the config file"));
    aws_files_free(&f);
    unlink(cfg);
    rmdir(dir);
    free(cfg);
    unsetenv("LMCP_TEST_INI_DIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_sections_and_keys),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_case_and_whitespace),
        cmocka_unit_test(test_subsections),
        cmocka_unit_test(test_duplicates_and_bad_lines),
        cmocka_unit_test(test_empty_and_edge),
        cmocka_unit_test(test_indentation_levels),
        cmocka_unit_test(test_same_as_botocore),
        cmocka_unit_test(test_profile_sections),
        cmocka_unit_test(test_default_vs_profile_default),
        cmocka_unit_test(test_credentials_file_precedence),
        cmocka_unit_test(test_load_from_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
