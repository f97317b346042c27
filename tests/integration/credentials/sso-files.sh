#!/bin/bash
# credentials: the sso plugin's file settings have an effect. config_file (AWS_CONFIG_FILE),
# credentials_file (AWS_SHARED_CREDENTIALS_FILE) and sso_cache_dir, each set in the conf and (when
# it has one) through its environment variable; the conf wins over the variable; `~` is expanded;
# a file or directory that is not there gives an error naming it. Every profile used here exists
# only in the file the setting names (or differs there), so a setting that were ignored fails.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

SSO_ARN=AWSReservedSSO_CredTestReadOnly
F="$T/files"
# sso_profile NAME SESSION ROLE [LINE]: a [profile NAME] of the sso_session form (account
# 123456789012), with one more line if given
sso_profile() { printf '[profile %s]\nsso_session = %s\nsso_account_id = 123456789012\nsso_role_name = %s\n%s\n' "$1" "$2" "$3" "${4:-}"; }
sso_session() { printf '[sso-session %s]\nsso_start_url = https://d-cred-test.awsapps.com/start\nsso_region = us-east-1\n\n' "$1"; }
# cache_token DIR SESSION: a valid `aws sso login` token for SESSION in DIR
cache_token() {
  write_file "$1/$(sha1 "$2").json" <<'JSON'
{"startUrl": "https://d-cred-test.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoAccessTokenSession", "expiresAt": "2099-01-01T00:00:00Z"}
JSON
}
# sso_conf FILE [SETTING = VALUE; ...]: a conf whose only credentials source is the sso plugin
sso_conf() {
  printf 'credentials = ( { plugin = "sso"; %s } );\ndiscovery = { plugins = ( { plugin = "prefix"; } ); };\n' "$2" >"$1"
}
# for the "conf beats env" checks, a run whose env file is the one used fails like this:
NOT_GRANTED='SSO GetRoleCredentials for role NotGranted in account 123456789012 failed: HTTP 403 ForbiddenException'

# The default files: ~/.aws/config knows the sso-sessions, has no profile "files" and gives
# profile "over" a role the portal refuses; no ~/.aws/credentials; the default cache has a token
# for the session "corp" only.
{ sso_session corp; sso_session elsewhere; sso_profile over corp NotGranted; sso_profile cached-elsewhere elsewhere CredTestReadOnly; } |
  write_file "$HOME_DIR/.aws/config"
cache_token "$HOME_DIR/.aws/sso/cache" corp

# ------------------------------------------------------------------ config_file / AWS_CONFIG_FILE
{ sso_profile files corp CredTestReadOnly 'region = eu-west-2'; sso_session corp; } | write_file "$F/config"
{ sso_profile files corp NotGranted; sso_session corp; } | write_file "$F/env-config"
mkdir -p "$HOME_DIR/moved"
cp -p "$F/config" "$HOME_DIR/moved/config"

sso_conf "$T/config-conf.conf" "profile = \"files\"; config_file = \"$F/config\";"
run_lmcp config-conf -- --check -c "$T/config-conf.conf"
expect_source config-conf sso "$(issued_key $SSO_ARN | tail -c 5)"
sso_conf "$T/files.conf" 'profile = "files";'
run_lmcp config-env AWS_CONFIG_FILE="$F/config" -- --check -c "$T/files.conf"
expect_source config-env sso "$(issued_key $SSO_ARN | tail -c 5)"
# the env file alone is the one with the refused role; with the conf's config_file as well, the conf wins
run_lmcp config-env-only AWS_CONFIG_FILE="$F/env-config" -- --check -c "$T/files.conf"
expect_check_error config-env-only "sso: $NOT_GRANTED"
run_lmcp config-conf-wins AWS_CONFIG_FILE="$F/env-config" -- --check -c "$T/config-conf.conf"
expect_source config-conf-wins sso
# ~ in the conf
sso_conf "$T/config-tilde.conf" 'profile = "files"; config_file = "~/moved/config";'
run_lmcp config-tilde -- --check -c "$T/config-tilde.conf"
expect_source config-tilde sso
# the profile's region (the region() hook) comes from the same file
run_lmcp config-region AWS_REGION= -- --check -c "$T/config-conf.conf"
check "config-region: the region of the profile in config_file is used" \
  grep -q '^region: *eu-west-2 (from credentials plugin sso)' "$T/config-region.out"
# not there: the error names the file that was read
sso_conf "$T/config-missing.conf" "profile = \"files\"; config_file = \"$F/no-such-config\";"
run_lmcp config-missing -- --check -c "$T/config-missing.conf"
expect_check_error config-missing "sso: profile \"files\" not found (read $F/no-such-config (missing) and $HOME_DIR/.aws/credentials (missing))"
# a directory is not a config file
sso_conf "$T/config-dir.conf" "profile = \"files\"; config_file = \"$F\";"
run_lmcp config-dir -- --check -c "$T/config-dir.conf"
expect_check_error config-dir "sso: cannot read the config file $F: Is a directory"

# ------------------------------------------------------------------ credentials_file / AWS_SHARED_CREDENTIALS_FILE
# a profile only the credentials file has ([NAME], the sso-session from the config file), and a
# key of profile "over" that wins over the config file's
write_file "$F/credentials" <<'INI'
[creds-only]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[over]
sso_role_name = CredTestReadOnly
INI
write_file "$F/env-credentials" <<'INI'
[creds-only]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = NotGranted
INI
cp -p "$F/credentials" "$HOME_DIR/moved/credentials"

sso_conf "$T/creds-conf.conf" "profile = \"creds-only\"; credentials_file = \"$F/credentials\";"
run_lmcp creds-conf -- --check -c "$T/creds-conf.conf"
expect_source creds-conf sso "$(issued_key $SSO_ARN | tail -c 5)"
sso_conf "$T/creds-only.conf" 'profile = "creds-only";'
run_lmcp creds-env AWS_SHARED_CREDENTIALS_FILE="$F/credentials" -- --check -c "$T/creds-only.conf"
expect_source creds-env sso "$(issued_key $SSO_ARN | tail -c 5)"
run_lmcp creds-env-only AWS_SHARED_CREDENTIALS_FILE="$F/env-credentials" -- --check -c "$T/creds-only.conf"
expect_check_error creds-env-only "sso: $NOT_GRANTED"
run_lmcp creds-conf-wins AWS_SHARED_CREDENTIALS_FILE="$F/env-credentials" -- --check -c "$T/creds-conf.conf"
expect_source creds-conf-wins sso
sso_conf "$T/creds-tilde.conf" 'profile = "creds-only"; credentials_file = "~/moved/credentials";'
run_lmcp creds-tilde -- --check -c "$T/creds-tilde.conf"
expect_source creds-tilde sso
# the credentials file's sso_role_name wins over the config file's (NotGranted)
sso_conf "$T/over.conf" 'profile = "over";'
run_lmcp creds-over-default -- --check -c "$T/over.conf"
expect_check_error creds-over-default "sso: $NOT_GRANTED"
sso_conf "$T/creds-over.conf" "profile = \"over\"; credentials_file = \"$F/credentials\";"
run_lmcp creds-over -- --check -c "$T/creds-over.conf"
expect_source creds-over sso
sso_conf "$T/creds-missing.conf" "profile = \"creds-only\"; credentials_file = \"$F/no-such-credentials\";"
run_lmcp creds-missing -- --check -c "$T/creds-missing.conf"
expect_check_error creds-missing "sso: profile \"creds-only\" not found (read $HOME_DIR/.aws/config and $F/no-such-credentials (missing))"

# ------------------------------------------------------------------ sso_cache_dir (no environment variable)
# the token of the session "elsewhere" is only in other directories
cache_token "$F/cache" elsewhere
cache_token "$HOME_DIR/moved/cache" elsewhere
ELSEWHERE_KEY=$(sha1 elsewhere)

sso_conf "$T/cache-conf.conf" "profile = \"cached-elsewhere\"; sso_cache_dir = \"$F/cache\";"
run_lmcp cache-conf -- --check -c "$T/cache-conf.conf"
expect_source cache-conf sso "$(issued_key $SSO_ARN | tail -c 5)"
# without the setting: the default directory, which has no login for it
sso_conf "$T/cache-default.conf" 'profile = "cached-elsewhere";'
run_lmcp cache-default -- --check -c "$T/cache-default.conf"
expect_check_error cache-default "sso: no SSO login for sso-session elsewhere ($HOME_DIR/.aws/sso/cache/$ELSEWHERE_KEY.json does not exist)"
sso_conf "$T/cache-tilde.conf" 'profile = "cached-elsewhere"; sso_cache_dir = "~/moved/cache";'
run_lmcp cache-tilde -- --check -c "$T/cache-tilde.conf"
expect_source cache-tilde sso
# the profile plugin has the same setting
cat >"$T/cache-profile.conf" <<CONF
credentials = ( { plugin = "profile"; profile = "cached-elsewhere"; sso_cache_dir = "$F/cache"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
run_lmcp cache-profile -- --check -c "$T/cache-profile.conf"
expect_source cache-profile profile
# not there: the error names the path looked for
sso_conf "$T/cache-missing.conf" "profile = \"cached-elsewhere\"; sso_cache_dir = \"$F/no-such-cache\";"
run_lmcp cache-missing -- --check -c "$T/cache-missing.conf"
expect_check_error cache-missing "sso: no SSO login for sso-session elsewhere ($F/no-such-cache/$ELSEWHERE_KEY.json does not exist)"

finish
