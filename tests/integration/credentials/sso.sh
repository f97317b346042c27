#!/bin/bash
# credentials: IAM Identity Center (SSO) from the AWS CLI's login cache, both configuration forms
# (sso_session + [sso-session], and the legacy sso_start_url keys), through the profile plugin and
# the sso plugin; an expired token refreshed with SSO-OIDC CreateToken (the cache file rewritten
# atomically, 0600); an expired login without a usable refresh (the exact message); SSO as the
# source of an assumed role.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

LEGACY_URL=https://legacy-cred-test.awsapps.com/start
write_file "$HOME_DIR/.aws/config" <<INI
[profile sso-new]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly
region = us-east-1

[sso-session corp]
sso_start_url = https://d-cred-test.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile sso-legacy]
sso_start_url = $LEGACY_URL
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[profile sso-refresh]
sso_session = refreshing
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[sso-session refreshing]
sso_start_url = https://d-cred-test.awsapps.com/start
sso_region = us-east-1

[profile sso-expired]
sso_session = expired-session
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[sso-session expired-session]
sso_start_url = https://d-cred-test.awsapps.com/start
sso_region = us-east-1

[profile sso-expired-legacy]
sso_start_url = https://expired-legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[profile sso-not-logged-in]
sso_session = never
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[sso-session never]
sso_start_url = https://never.awsapps.com/start
sso_region = us-east-1

[profile sso-wrong-role]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = NotGranted

[profile role-from-sso]
role_arn = arn:aws:iam::123456789012:role/cred-test-from-sso
source_profile = sso-new

[profile plain]
region = us-east-1
INI
C="$HOME_DIR/.aws/sso/cache"
write_file "$C/$(sha1 corp).json" <<'JSON'
{"startUrl": "https://d-cred-test.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoAccessTokenSession", "expiresAt": "2099-01-01T00:00:00Z"}
JSON
# an old AWS CLI wrote "UTC" instead of "Z"
write_file "$C/$(sha1 "$LEGACY_URL").json" <<JSON
{"startUrl": "$LEGACY_URL", "region": "us-east-1", "accessToken": "credTestSsoAccessTokenLegacy", "expiresAt": "2099-01-01T00:00:00UTC"}
JSON
REFRESH_FILE="$C/$(sha1 refreshing).json"
write_file "$REFRESH_FILE" <<'JSON'
{"startUrl": "https://d-cred-test.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoStaleAccessToken", "expiresAt": "2020-01-01T00:00:00Z", "refreshToken": "credTestSsoRefreshToken", "clientId": "credTestClientId", "clientSecret": "credTestClientSecret/xyz", "registrationExpiresAt": "2099-01-01T00:00:00Z"}
JSON
write_file "$C/$(sha1 expired-session).json" <<'JSON'
{"startUrl": "https://d-cred-test.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoStaleAccessToken2", "expiresAt": "2020-01-01T00:00:00Z", "refreshToken": "credTestSsoRefreshToken", "clientId": "credTestClientId", "clientSecret": "credTestClientSecret/xyz", "registrationExpiresAt": "2020-01-01T00:00:00Z"}
JSON
write_file "$C/$(sha1 https://expired-legacy.awsapps.com/start).json" <<'JSON'
{"startUrl": "https://expired-legacy.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoStaleAccessToken3", "expiresAt": "2020-01-01T00:00:00Z"}
JSON
secret credTestSsoStaleAccessToken credTestSsoStaleAccessToken2 credTestSsoStaleAccessToken3
SSO_ARN=AWSReservedSSO_CredTestReadOnly

# the sso_session form, through the profile plugin of the default chain
run_lmcp new-check AWS_PROFILE=sso-new -- --check --log-level trace
expect_source new-check profile "$(issued_key $SSO_ARN | tail -c 5)"
seq=$(emu_seq)
run_lmcp new-list AWS_PROFILE=sso-new -- --list-tools --log-level trace
expect_signed new-list "$seq" ListFunctions "$(issued_key $SSO_ARN)"
check "new-list: GetRoleCredentials went unsigned" \
  test "$(emu_ops "$seq" | awk '$1 == "GetRoleCredentials" {print $3, $4}')" = "None 200"

# the legacy form, through the sso plugin alone
cat >"$T/sso.conf" <<CONF
credentials = ( { plugin = "sso"; profile = "sso-legacy"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
run_lmcp legacy-check -- --check -c "$T/sso.conf" --log-level trace
expect_source legacy-check sso "$(issued_key $SSO_ARN | tail -c 5)"
seq=$(emu_seq)
run_lmcp legacy-list -- --list-tools -c "$T/sso.conf"
expect_signed legacy-list "$seq" ListFunctions "$(issued_key $SSO_ARN)"
# the sso plugin has nothing for a profile that is not an SSO profile
cat >"$T/sso-default.conf" <<CONF
credentials = ( { plugin = "sso"; } );
CONF
run_lmcp sso-plain AWS_PROFILE=plain -- --check -c "$T/sso-default.conf"
expect_check_error sso-plain 'sso: profile "plain" has no sso_account_id / sso_role_name'

# an expired token with a refresh token: CreateToken, then the cache file is rewritten
before=$(stat -c %i "$REFRESH_FILE")
seq=$(emu_seq)
run_lmcp refresh AWS_PROFILE=sso-refresh -- --check --log-level trace
expect_source refresh profile "$(issued_key $SSO_ARN | tail -c 5)"
check "refresh: CreateToken then GetRoleCredentials" \
  test "$(emu_ops "$seq" | awk '{print $1, $4}' | tr '\n' ' ')" = "CreateToken 200 GetRoleCredentials 200 "
expect_log refresh "refreshed the SSO access token of sso-session refreshing (saved to $REFRESH_FILE)"
check "refresh: the cache file was replaced (rename), mode 0600" bash -c \
  "[ \$(stat -c %i '$REFRESH_FILE') != $before ] && [ \$(stat -c %a '$REFRESH_FILE') = 600 ]"
check "refresh: the new token is in the cache, valid, with the registration kept" "$LMCP_PYTHON" - "$REFRESH_FILE" <<'PY'
import datetime, json, sys
t = json.load(open(sys.argv[1]))
exp = datetime.datetime.strptime(t["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
ok = (t["accessToken"].startswith("aoa") and 3500 < left <= 3600 and t["refreshToken"].startswith("aor")
      and t["clientId"] == "credTestClientId" and t["clientSecret"] == "credTestClientSecret/xyz"
      and t["registrationExpiresAt"] == "2099-01-01T00:00:00Z" and t["startUrl"].startswith("https://"))
sys.exit(0 if ok else 1)
PY
# the refreshed token is used from the cache next time, without another CreateToken
seq=$(emu_seq)
run_lmcp refresh-again AWS_PROFILE=sso-refresh -- --check
expect_source refresh-again profile
check "refresh-again: the saved token was used as it is" \
  test "$(emu_ops "$seq" | awk '{print $1}' | tr '\n' ' ')" = "GetRoleCredentials "

# expired, and the refresh is impossible (the client registration expired too)
run_lmcp expired AWS_PROFILE=sso-expired -- --check
expect_check_error expired 'profile: the SSO session has expired: run `aws sso login --sso-session expired-session`'
run_lmcp expired-legacy AWS_PROFILE=sso-expired-legacy -- --check
expect_check_error expired-legacy 'profile: the SSO session has expired: run `aws sso login --profile sso-expired-legacy`'
# a token the portal no longer accepts reads the same
emu POST /__emu/sso '{"expire_access_token": "credTestSsoAccessTokenSession"}' >/dev/null
run_lmcp revoked AWS_PROFILE=sso-new -- --check
expect_check_error revoked 'profile: the SSO session has expired: run `aws sso login --sso-session corp`'
emu POST /__emu/sso '{"add_access_token": {"token": "credTestSsoAccessTokenSession", "roles": [{"account_id": "123456789012", "role_name": "CredTestReadOnly"}]}}' >/dev/null
run_lmcp never AWS_PROFILE=sso-not-logged-in -- --check
expect_check_error never 'no SSO login for sso-session never'
run_lmcp wrong-role AWS_PROFILE=sso-wrong-role -- --check
expect_check_error wrong-role 'SSO GetRoleCredentials for role NotGranted in account 123456789012 failed: HTTP 403 ForbiddenException'

# SSO as the source of an assumed role
seq=$(emu_seq)
run_lmcp role-from-sso AWS_PROFILE=role-from-sso -- --list-tools --log-level trace
expect_signed role-from-sso "$seq" AssumeRole "$(issued_key $SSO_ARN)"
expect_signed role-from-sso "$seq" ListFunctions "$(issued_key cred-test-from-sso)"

# the refreshed tokens are secrets too
secret "$("$LMCP_PYTHON" "$HELPER" json "$REFRESH_FILE" accessToken)" "$("$LMCP_PYTHON" "$HELPER" json "$REFRESH_FILE" refreshToken)"
finish
