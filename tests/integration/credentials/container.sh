#!/bin/bash
# credentials: the container endpoint (ECS task role / EKS Pod Identity): FULL_URI with an
# authorization token file (read again at every refresh, preferred over the variable),
# RELATIVE_URI, hosts the AWS SDKs refuse (plain http outside loopback and the ECS/EKS
# addresses), a token with a line break, a wrong token.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator
TASK=cred-test-task-role

printf 'credTestContainerAuthToken\n' >"$T/auth-token"
FULL=(AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/auth-token"
  AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestNotTheToken)
secret credTestNotTheToken

run_lmcp full-check "${FULL[@]}" -- --check --log-level trace
expect_source full-check container "$(issued_key $TASK | tail -c 5)"
expect_log full-check "credentials from the container endpoint $URL/v1/credentials"
seq=$(emu_seq)
run_lmcp full-list "${FULL[@]}" -- --list-tools --log-level trace
expect_signed full-list "$seq" ListFunctions "$(issued_key $TASK)"
check "full-list: one request to the endpoint" test "$(emu_ops "$seq" | awk '$1 == "ContainerCredentials" {print $4}')" = 200

# userinfo in FULL_URI (libcurl would send it as Basic credentials) is never shown: not in the
# info line on success, not in an error (finish() fails on the password anywhere in the output)
secret credTestUrlPassword
run_lmcp userinfo "${FULL[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="${URL/:\/\//://credtest:credTestUrlPassword@}/v1/credentials?x=1" \
  -- --check --log-level trace
expect_source userinfo container
expect_log userinfo "credentials from the container endpoint $URL/v1/credentials"
run_lmcp userinfo-refused AWS_CONTAINER_CREDENTIALS_FULL_URI=http://credtest:credTestUrlPassword@203.0.113.10:8080/creds -- --check
expect_check_error userinfo-refused "container: AWS_CONTAINER_CREDENTIALS_FULL_URI http://203.0.113.10:8080/creds is not allowed"

# RELATIVE_URI, appended to the ECS agent's address (the emulator here), with the variable token
run_lmcp relative AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/0d9c2a4e \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestContainerAuthToken -- --check --log-level trace
expect_source relative container
expect_log relative "credentials from the container endpoint $URL/v2/credentials/0d9c2a4e"

# refused hosts: no request is made
seq=$(emu_seq)
run_lmcp evil AWS_CONTAINER_CREDENTIALS_FULL_URI=http://203.0.113.10:8080/creds -- --check
expect_check_error evil "container: AWS_CONTAINER_CREDENTIALS_FULL_URI http://203.0.113.10:8080/creds is not allowed: plain http is allowed only to loopback addresses, 169.254.170.2, 169.254.170.23 and fd00:ec2::23, not 203.0.113.10 (use https)"
run_lmcp imds-addr AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.169.254/latest/meta-data/ -- --check
expect_check_error imds-addr "not 169.254.169.254 (use https)"
run_lmcp scheme AWS_CONTAINER_CREDENTIALS_FULL_URI=file:///etc/passwd -- --check
expect_check_error scheme "is not allowed: the scheme must be http or https, not file"
check "refused hosts: --check answered at once ($(ms_of evil) ms)" test "$(ms_of evil)" -lt 1500
check "refused hosts: nothing reached the emulator" test -z "$(emu_ops "$seq")"

# a token with a line break is refused before anything is sent (header injection)
run_lmcp crlf AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/v1/credentials" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=$'credTestContainerAuthToken\r\nX-Injected: 1' -- --check
expect_check_error crlf "the authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line break: refused"
printf 'credTestContainerAuthToken\nX-Injected: 1\n' >"$T/bad-token-file"
run_lmcp crlf-file AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/bad-token-file" -- --check
expect_check_error crlf-file "the authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE contains a line break"
# a wrong token: the endpoint's answer
run_lmcp wrong AWS_CONTAINER_CREDENTIALS_FULL_URI="$URL/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestNotTheToken -- --check
expect_check_error wrong "container: the container credentials endpoint $URL/v1/credentials answered HTTP 401 InvalidTokenException: Authorization token is invalid"

# the token file is read again at every refresh: short-lived credentials, then the platform
# rotates the token (file and endpoint); the refresh after that still works. The second call,
# due for a refresh, may still be signed with the valid first key (the refresh goes on in the
# background); the third comes after the refresh.
emu POST /__emu/container '{"credential_lifetime_seconds": 4, "rotate": true}' >/dev/null
seq=$(emu_seq)
steps=$(printf '[{"call": "echo"}, {"write": ["%s", "credTestContainerAuthTokenRotated"]},
  {"ctl": ["POST", "/__emu/container", {"authorization_token": "credTestContainerAuthTokenRotated", "rotate": true}]},
  {"sleep": 2.5}, {"call": "echo"}, {"sleep": 0.5}, {"call": "echo"}]' "$T/auth-token")
secret credTestContainerAuthTokenRotated
mcp_script rotate "$steps" "${FULL[@]}" -- --log-level trace
check "rotate: the three calls succeeded" bash -c "[ \$(grep -c '^call [0-9] ok' '$T/rotate.report') = 3 ]" || cat "$T/rotate.report"
check "rotate: two fetches, both accepted, and two different keys signed the calls" bash -c \
  "[ \"\$('$LMCP_PYTHON' '$HELPER' ops '$URL' $seq | awk '\$1 == \"ContainerCredentials\" {print \$4}' | tr '\n' ' ')\" = '200 200 ' ] &&
   [ \$('$LMCP_PYTHON' '$HELPER' keys '$URL' $seq Invoke | sort -u | wc -l) = 2 ]"

finish
