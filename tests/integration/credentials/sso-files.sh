#!/bin/bash
# credentials: the sso plugin's file settings have an effect. config_file (AWS_CONFIG_FILE),
# credentials_file (AWS_SHARED_CREDENTIALS_FILE) and sso_cache_dir, each set in the conf and (when
# it has one) through its environment variable; the conf wins over the variable; `~` and $VAR are
# expanded; a file or directory that is not there gives an error naming it. Every profile used here
# exists only in the file the setting names (or differs there), so a setting that were ignored fails.
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
# sso_check NAME SETTINGS [VAR=VALUE ...]: --check with a conf ($T/NAME.conf) whose only
# credentials source is the sso plugin with SETTINGS ('profile = "x"; ...'), in that environment
sso_check() {
  local name=$1 settings=$2
  shift 2
  printf 'credentials = ( { plugin = "sso"; %s } );\ndiscovery = { plugins = ( { plugin = "prefix"; } ); };\n' \
    "$settings" >"$T/$name.conf"
  run_lmcp "$name" "$@" -- --check -c "$T/$name.conf"
}
# what a run fails with when it used the file that gives the profile a role the portal refuses
NOT_GRANTED='sso: SSO GetRoleCredentials for role NotGranted in account 123456789012 failed: HTTP 403 ForbiddenException'

# path_setting NAME PROFILE SETTING GOOD TILDE VAR [ENVVAR BAD]: profile PROFILE has credentials
# with SETTING = GOOD in the conf, and with the same path written as TILDE (~/...) and as VAR
# ($SSO_TEST_FILES/...). With ENVVAR: ENVVAR=GOOD works without the setting, ENVVAR=BAD alone
# gives the refused role, and the conf's GOOD wins over ENVVAR=BAD.
path_setting() {
  local name=$1 profile=$2 setting=$3 good=$4 tilde=$5 var=$6 envvar=${7:-} bad=${8:-}
  sso_check "$name-conf" "profile = \"$profile\"; $setting = \"$good\";"
  expect_source "$name-conf" sso "$(issued_key $SSO_ARN | tail -c 5)"
  sso_check "$name-tilde" "profile = \"$profile\"; $setting = \"$tilde\";"
  expect_source "$name-tilde" sso
  sso_check "$name-var" "profile = \"$profile\"; $setting = \"$var\";" SSO_TEST_FILES="$F"
  expect_source "$name-var" sso
  [ -n "$envvar" ] || return 0
  sso_check "$name-env" "profile = \"$profile\";" "$envvar=$good"
  expect_source "$name-env" sso "$(issued_key $SSO_ARN | tail -c 5)"
  sso_check "$name-env-only" "profile = \"$profile\";" "$envvar=$bad"
  expect_check_error "$name-env-only" "$NOT_GRANTED"
  sso_check "$name-conf-wins" "profile = \"$profile\"; $setting = \"$good\";" "$envvar=$bad"
  expect_source "$name-conf-wins" sso
}

# The default files: ~/.aws/config knows the sso-sessions, has no profile "files" and gives
# profile "over" a role the portal refuses; no ~/.aws/credentials; the default cache has a token
# for the session "corp" only.
{ sso_session corp; sso_session elsewhere; sso_profile over corp NotGranted; sso_profile cached-elsewhere elsewhere CredTestReadOnly; } |
  write_file "$HOME_DIR/.aws/config"
cache_token "$HOME_DIR/.aws/sso/cache" corp
mkdir -p "$HOME_DIR/moved"

# ------------------------------------------------------------------ config_file / AWS_CONFIG_FILE
{ sso_profile files corp CredTestReadOnly 'region = eu-west-2'; sso_session corp; } | write_file "$F/config"
{ sso_profile files corp NotGranted; sso_session corp; } | write_file "$F/env-config"
cp -p "$F/config" "$HOME_DIR/moved/config"
path_setting config files config_file "$F/config" '~/moved/config' '$SSO_TEST_FILES/config' \
  AWS_CONFIG_FILE "$F/env-config"
# the profile's region (the region() hook) comes from the same file
run_lmcp config-region AWS_REGION= -- --check -c "$T/config-conf.conf"
check "config-region: the region of the profile in config_file is used" \
  grep -q '^region: *eu-west-2 (from credentials plugin sso)' "$T/config-region.out"
# not there: the error names the file that was read
sso_check config-missing "profile = \"files\"; config_file = \"$F/no-such-config\";"
expect_check_error config-missing "sso: profile \"files\" not found (read $F/no-such-config (missing) and $HOME_DIR/.aws/credentials (missing))"
# a directory is not a config file
sso_check config-dir "profile = \"files\"; config_file = \"$F\";"
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
path_setting creds creds-only credentials_file "$F/credentials" '~/moved/credentials' '$SSO_TEST_FILES/credentials' \
  AWS_SHARED_CREDENTIALS_FILE "$F/env-credentials"
# the credentials file's sso_role_name wins over the config file's (NotGranted)
sso_check creds-over-default 'profile = "over";'
expect_check_error creds-over-default "$NOT_GRANTED"
sso_check creds-over "profile = \"over\"; credentials_file = \"$F/credentials\";"
expect_source creds-over sso
sso_check creds-missing "profile = \"creds-only\"; credentials_file = \"$F/no-such-credentials\";"
expect_check_error creds-missing "sso: profile \"creds-only\" not found (read $HOME_DIR/.aws/config and $F/no-such-credentials (missing))"

# ------------------------------------------------------------------ sso_cache_dir (no environment variable)
# the token of the session "elsewhere" is only in other directories
cache_token "$F/cache" elsewhere
cache_token "$HOME_DIR/moved/cache" elsewhere
ELSEWHERE_KEY=$(sha1 elsewhere)
path_setting cache cached-elsewhere sso_cache_dir "$F/cache" '~/moved/cache' '${SSO_TEST_FILES}/cache'
# without the setting: the default directory, which has no login for it
sso_check cache-default 'profile = "cached-elsewhere";'
expect_check_error cache-default "sso: no SSO login for sso-session elsewhere ($HOME_DIR/.aws/sso/cache/$ELSEWHERE_KEY.json does not exist)"
# the profile plugin has the same setting
cat >"$T/cache-profile.conf" <<CONF
credentials = ( { plugin = "profile"; profile = "cached-elsewhere"; sso_cache_dir = "$F/cache"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
run_lmcp cache-profile -- --check -c "$T/cache-profile.conf"
expect_source cache-profile profile
# not there: the error names the path looked for
sso_check cache-missing "profile = \"cached-elsewhere\"; sso_cache_dir = \"$F/no-such-cache\";"
expect_check_error cache-missing "sso: no SSO login for sso-session elsewhere: the token cache directory $F/no-such-cache (sso_cache_dir) does not exist"
# there, but without a login for the session: `aws sso login` writes elsewhere, so the message says so
mkdir -p "$F/empty-cache"
sso_check cache-empty "profile = \"cached-elsewhere\"; sso_cache_dir = \"$F/empty-cache\";"
expect_check_error cache-empty "sso: no SSO login for sso-session elsewhere ($F/empty-cache/$ELSEWHERE_KEY.json does not exist): run \`aws sso login --sso-session elsewhere\`, which writes its token to ~/.aws/sso/cache, and copy it to sso_cache_dir $F/empty-cache"

finish
