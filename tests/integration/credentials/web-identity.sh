#!/bin/bash
# credentials: AssumeRoleWithWebIdentity (unsigned) — the web-identity plugin
# (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]) and a profile's
# web_identity_token_file; the token file is read again at every refresh.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

TOKEN=credTestWebIdentityToken.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl
ROTATED=credTestWebIdentityTokenRotated.eyJzdWIiOiJ0ZXN0In0.c2lnMg
printf '%s' "$TOKEN" >"$T/token"
printf '%s\n' credTestProfileWebToken.eyJzdWIiOiJwcm9maWxlIn0.c2ln >"$T/profile-token"
WEB=(AWS_WEB_IDENTITY_TOKEN_FILE="$T/token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cred-test-web)

run_lmcp env-check "${WEB[@]}" AWS_ROLE_SESSION_NAME=ci-job-42 -- --check --log-level trace
key=$(issued_key cred-test-web/ci-job-42)
expect_source env-check web-identity "${key: -4}"
seq=$(emu_seq)
run_lmcp env-list "${WEB[@]}" -- --list-tools --log-level trace
key=$(issued_key "assumed-role/cred-test-web/botocore-session-")
expect_signed env-list "$seq" ListFunctions "$key"
check "env-list: AssumeRoleWithWebIdentity went unsigned" \
  test "$(emu_ops "$seq" | awk '$1 == "AssumeRoleWithWebIdentity" {print $3, $4}')" = "None 200"

run_lmcp no-role AWS_WEB_IDENTITY_TOKEN_FILE="$T/token" -- --check
expect_check_error no-role 'web-identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN (setting role_arn) is not'
run_lmcp no-file AWS_WEB_IDENTITY_TOKEN_FILE="$T/nope" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cred-test-web -- --check
expect_check_error no-file "web-identity: cannot read the web identity token file $T/nope: No such file or directory"
printf 'credTestNotAKnownToken' >"$T/bad-token"
secret credTestNotAKnownToken
run_lmcp bad-token AWS_WEB_IDENTITY_TOKEN_FILE="$T/bad-token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cred-test-web -- --check
expect_check_error bad-token 'STS AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role/cred-test-web failed: HTTP 400 InvalidIdentityToken'

# the profile form
write_file "$HOME_DIR/.aws/config" <<INI
[profile web]
role_arn = arn:aws:iam::123456789012:role/cred-test-web-profile
web_identity_token_file = $T/profile-token
role_session_name = from-profile
INI
run_lmcp profile-check AWS_PROFILE=web -- --check --log-level trace
expect_source profile-check profile "$(issued_key cred-test-web-profile/from-profile | tail -c 5)"
seq=$(emu_seq)
run_lmcp profile-list AWS_PROFILE=web -- --list-tools
expect_signed profile-list "$seq" ListFunctions "$(issued_key cred-test-web-profile/from-profile)"

# the token file is read again when the credentials are refreshed: rotate it, and make STS accept
# only the new token; the refreshed credentials still come (the second call starts the refresh,
# in the background; the third comes after it)
emu POST /__emu/sts '{"max_lifetime_seconds": 4}' >/dev/null
seq=$(emu_seq)
steps=$(printf '[{"call": "echo"}, {"write": ["%s", "%s"]},
  {"ctl": ["POST", "/__emu/sts", {"put_role": {"arn": "arn:aws:iam::123456789012:role/cred-test-web", "web_identity_tokens": ["%s"]}}]},
  {"sleep": 2.5}, {"call": "echo"}, {"sleep": 0.5}, {"call": "echo"}]' "$T/token" "$ROTATED" "$ROTATED")
mcp_script rotate "$steps" "${WEB[@]}" -- --log-level trace
check "rotate: the three calls succeeded" bash -c "[ \$(grep -c '^call [0-9] ok' '$T/rotate.report') = 3 ]" || cat "$T/rotate.report"
check "rotate: the refresh used the rotated token (two AssumeRoleWithWebIdentity, both accepted)" \
  test "$(emu_ops "$seq" | awk '$1 == "AssumeRoleWithWebIdentity" {print $4}' | tr '\n' ' ')" = "200 200 "
emu POST /__emu/sts '{"max_lifetime_seconds": null}' >/dev/null

finish
