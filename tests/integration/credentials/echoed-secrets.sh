#!/bin/bash
# credentials: no secret reaches a log, --check or the client when an endpoint's error answer
# quotes what it was sent (a proxy, a mock, a credentials endpoint that echoes the token it
# refused): every source at trace level, with the emulator's faults echoing the web identity
# token, the signing secret and session token, the SSO access and refresh tokens and client
# secret, the container authorization token. lib.sh's finish() greps every output for them. Also:
# in server mode stdout carries JSON-RPC messages only, even when a plugin writes to stdout.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

fault() { emu POST /__emu/faults "$1" >/dev/null; }
clear_faults() { emu DELETE /__emu/faults >/dev/null; }

# every line the server wrote to stdout in server mode is a JSON-RPC 2.0 message
expect_jsonrpc_only() { # NAME
  if "$LMCP_PYTHON" - "$T/$1.out" <<'PY'; then
import json, sys
bad = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if not line.strip():
        continue
    try:
        ok = json.loads(line).get("jsonrpc") == "2.0"
    except Exception:
        ok = False
    if not ok:
        bad += 1
        print("# not a JSON-RPC message on stdout: %r" % line[:120])
sys.exit(1 if bad else 0)
PY
    ok "$1: stdout carries JSON-RPC messages only"
  else
    not_ok "$1: stdout should carry JSON-RPC messages only"
  fi
}

# ---- web identity: STS quotes the token (in its error message, and in a proxy's plain-text page)
TOKEN=credTestWebIdentityToken.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl
printf '%s' "$TOKEN" >"$T/token"
WEB=(AWS_WEB_IDENTITY_TOKEN_FILE="$T/token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cred-test-web)
fault "{\"operation\": \"AssumeRoleWithWebIdentity\", \"status\": 400, \"code\": \"InvalidIdentityToken\",
        \"message\": \"Token $TOKEN is not valid\"}"
run_lmcp web-message "${WEB[@]}" -- --check --log-level trace
expect_check_error web-message 'HTTP 400 InvalidIdentityToken: Token **** is not valid'
clear_faults
fault "{\"operation\": \"AssumeRoleWithWebIdentity\", \"status\": 502,
        \"body\": \"Bad gateway: upstream refused Action=AssumeRoleWithWebIdentity&WebIdentityToken=$TOKEN\"}"
run_lmcp web-body "${WEB[@]}" -- --check --log-level trace
expect_check_error web-body 'WebIdentityToken=****'
clear_faults

# ---- AssumeRole: STS quotes the source's secret key
write_file "$HOME_DIR/.aws/config" <<'INI'
[profile hop]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop1
source_profile = base

[profile base]
aws_access_key_id = AKIACREDTESTBASE0002
aws_secret_access_key = credTestBaseSecret/0000000000000000000002

[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[sso-session corp]
sso_start_url = https://d-echo-test.awsapps.com/start
sso_region = us-east-1

[profile sso-refresh]
sso_session = refreshing
sso_account_id = 123456789012
sso_role_name = CredTestReadOnly

[sso-session refreshing]
sso_start_url = https://d-echo-test.awsapps.com/start
sso_region = us-east-1

[profile process]
credential_process = "$LMCP_PYTHON" -c "print('credTestProcessOutputSecret not JSON')"
INI
sed -i "s|\"\$LMCP_PYTHON\"|$LMCP_PYTHON|" "$HOME_DIR/.aws/config"
fault '{"operation": "AssumeRole", "status": 403, "code": "AccessDenied",
        "message": "credTestBaseSecret/0000000000000000000002 may not assume the role"}'
run_lmcp hop AWS_PROFILE=hop -- --check --log-level trace
expect_check_error hop 'HTTP 403 AccessDenied: **** may not assume the role'
clear_faults

# ---- SSO: the portal quotes the bearer token; SSO-OIDC quotes the refresh token and client secret
C="$HOME_DIR/.aws/sso/cache"
write_file "$C/$(sha1 corp).json" <<'JSON'
{"startUrl": "https://d-echo-test.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoAccessTokenSession", "expiresAt": "2099-01-01T00:00:00Z"}
JSON
write_file "$C/$(sha1 refreshing).json" <<'JSON'
{"startUrl": "https://d-echo-test.awsapps.com/start", "region": "us-east-1", "accessToken": "credTestSsoStaleAccessTokenEcho", "expiresAt": "2020-01-01T00:00:00Z", "refreshToken": "credTestSsoRefreshToken", "clientId": "credTestClientId", "clientSecret": "credTestClientSecret/xyz", "registrationExpiresAt": "2099-01-01T00:00:00Z"}
JSON
secret credTestSsoStaleAccessTokenEcho
fault '{"operation": "GetRoleCredentials", "status": 403, "code": "ForbiddenException",
        "message": "the bearer token credTestSsoAccessTokenSession has no access"}'
run_lmcp sso AWS_PROFILE=sso -- --check --log-level trace
expect_check_error sso 'HTTP 403 ForbiddenException: the bearer token **** has no access'
clear_faults
fault '{"operation": "CreateToken", "status": 500,
        "body": "internal error for refreshToken=credTestSsoRefreshToken clientSecret=credTestClientSecret/xyz accessToken=credTestSsoStaleAccessTokenEcho"}'
run_lmcp sso-refresh AWS_PROFILE=sso-refresh -- --check --log-level trace
expect_log sso-refresh 'refreshToken=**** clientSecret=**** accessToken=****'
clear_faults

# ---- container: the endpoint quotes the authorization token it refused (variable and file)
fault '{"operation": "ContainerCredentials", "status": 401, "code": "InvalidTokenException",
        "message": "Authorization credTestContainerAuthToken is not valid here"}'
run_lmcp container AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/v1/credentials" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestContainerAuthToken -- --check --log-level trace
expect_check_error container 'HTTP 401 InvalidTokenException: Authorization **** is not valid here'
printf 'credTestContainerAuthToken\n' >"$T/auth-token"
run_lmcp container-file AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v1/credentials \
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/auth-token" -- --check --log-level trace
expect_check_error container-file 'Authorization **** is not valid here'
clear_faults

# ---- credential_process: what it prints is never shown, even when it is not credentials
secret credTestProcessOutputSecret
run_lmcp process AWS_PROFILE=process -- --check --log-level trace
expect_check_error process 'did not print a JSON object'

# ---- the MCP client: Lambda quotes the session token and the secret in an Invoke refusal
SESSION=(AWS_ACCESS_KEY_ID=ASIACREDTESTPROC0004 AWS_SECRET_ACCESS_KEY=credTestProcessSecret/0000000000000000004
         AWS_SESSION_TOKEN=credTestProcessSessionToken/0000000000000000000000004)
steps='[{"ctl": ["POST", "/__emu/faults", {"operation": "Invoke", "status": 403, "code": "UnrecognizedClientException",
  "message": "The security token credTestProcessSessionToken/0000000000000000000000004 signed with credTestProcessSecret/0000000000000000004 is invalid"}]},
  {"call": "echo"}, {"ctl": ["DELETE", "/__emu/faults"]}]'
mcp_script invoke "$steps" "${SESSION[@]}" -- --log-level trace
check "invoke: the client is told why, without the secrets" \
  grep -qF 'call 1 error AWS error (UnrecognizedClientException): AWS refused to invoke echo in us-east-1 (UnrecognizedClientException: The security token **** signed with **** is invalid)' "$T/invoke.report"
expect_jsonrpc_only invoke

# ---- the MCP client: credentials that expired and cannot be refreshed, STS quoting the token
emu POST /__emu/sts '{"max_lifetime_seconds": 4}' >/dev/null
steps="[{\"call\": \"echo\"},
  {\"ctl\": [\"POST\", \"/__emu/faults\", {\"operation\": \"AssumeRoleWithWebIdentity\", \"status\": 400,
     \"code\": \"InvalidIdentityToken\", \"message\": \"Token $TOKEN is not valid\"}]},
  {\"sleep\": 5}, {\"call\": \"echo\"}, {\"ctl\": [\"DELETE\", \"/__emu/faults\"]}]"
mcp_script expired "$steps" "${WEB[@]}" -- --log-level trace
emu POST /__emu/sts '{"max_lifetime_seconds": null}' >/dev/null
check "expired: the first call worked" grep -q '^call 1 ok' "$T/expired.report"
check "expired: the client is told why, without the token" \
  grep -qF 'HTTP 400 InvalidIdentityToken: Token **** is not valid' "$T/expired.out"
expect_jsonrpc_only expired

# ---- stdout is the protocol's alone, even when a plugin writes to it
if [ -f "${LMCP_TEST_PLUGIN_DIR:-/nonexistent}/stdout_writer.so" ]; then
  cat >"$T/noisy.conf" <<CONF
credentials = ( { path = "$LMCP_TEST_PLUGIN_DIR/stdout_writer.so"; }, { plugin = "env"; } );
CONF
  mcp_script noisy '[{"call": "echo", "args": {"x": 1}}]' AWS_ACCESS_KEY_ID=AKIACREDTESTENV00001 \
    AWS_SECRET_ACCESS_KEY=credTestEnvSecret/00000000000000000000001 -- -c "$T/noisy.conf" --log-level trace
  check "noisy: the call worked" grep -q '^call 1 ok' "$T/noisy.report" || cat "$T/noisy.report"
  expect_jsonrpc_only noisy
  check "noisy: what the plugin wrote to stdout went to stderr" bash -c \
    "grep -q 'stdout_writer: printf from init' '$T/noisy.err' && grep -q 'stdout_writer: write(1) from resolve' '$T/noisy.err'"
  # the CLI modes keep their stdout
  run_lmcp noisy-check AWS_ACCESS_KEY_ID=AKIACREDTESTENV00001 \
    AWS_SECRET_ACCESS_KEY=credTestEnvSecret/00000000000000000000001 -- -c "$T/noisy.conf" --check
  expect_source noisy-check env 0001
else
  echo "# skipped the stdout plugin checks: no tests/unit/plugins/stdout_writer.so (configure without cmocka?)"
fi

# ---- an endpoint URL with a password: --check shows it without
run_lmcp userinfo AWS_ENDPOINT_URL="http://lmcp:credTestEndpointPassword@127.0.0.1:9/" \
  AWS_ACCESS_KEY_ID=AKIACREDTESTENV00001 AWS_SECRET_ACCESS_KEY=credTestEnvSecret/00000000000000000000001 -- --check
secret credTestEndpointPassword
check "userinfo: --check shows the endpoint without its password" grep -qx 'lambda:      http://127.0.0.1:9' "$T/userinfo.out"

finish
