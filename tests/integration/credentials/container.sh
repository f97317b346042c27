#!/bin/bash
# credentials: the container endpoint (ECS task role / EKS Pod Identity): FULL_URI with an
# authorization token file (read again at every refresh, preferred over the variable),
# RELATIVE_URI, hosts the AWS SDKs refuse (plain http outside loopback and the ECS/EKS
# addresses), a token with a line break, a wrong token; the plugin's attempts, timeout and
# connect_timeout (a loopback port where connect() hangs).
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

# attempts, timeout, connect_timeout (the plugin's settings, in a conf file)
cconf() { # cconf NAME SETTINGS: a conf whose chain is the container plugin with SETTINGS
  printf 'credentials = ( { plugin = "container"; %s } );\ndiscovery = { plugins = ( { plugin = "prefix"; } ); };\n' "$2" >"$T/$1.conf"
}
container_requests() { emu_ops "$1" | awk '$1 == "ContainerCredentials"' | wc -l; }
# attempts: an endpoint answering 500 every time is asked `attempts` times (3 by default)
emu POST /__emu/faults '{"operation": "ContainerCredentials", "status": 500, "message": "agent unwell"}' >/dev/null
for n in default 2 1; do
  if [ $n = default ]; then cconf attempts-$n ""; want=3; else cconf attempts-$n "attempts = $n;"; want=$n; fi
  seq=$(emu_seq)
  run_lmcp attempts-$n "${FULL[@]}" -- --check -c "$T/attempts-$n.conf"
  expect_check_error attempts-$n "container: the container credentials endpoint $URL/v1/credentials answered HTTP 500"
  check "attempts-$n: $want requests to the endpoint ($(container_requests "$seq"))" test "$(container_requests "$seq")" = $want
done
emu DELETE /__emu/faults >/dev/null
# timeout: an answer after 2.5 s is too late for the default (2 s), in time for timeout = 8s
emu POST /__emu/faults '{"operation": "ContainerCredentials", "latency_ms": 2500}' >/dev/null
cconf timeout-default "attempts = 1;"
run_lmcp timeout-default "${FULL[@]}" -- --check -c "$T/timeout-default.conf"
expect_check_error timeout-default "container: the container credentials endpoint $URL/v1/credentials did not answer"
expect_log timeout-default "timed out"
cconf timeout-8s 'attempts = 1; timeout = "8s";'
run_lmcp timeout-8s "${FULL[@]}" -- --check -c "$T/timeout-8s.conf"
expect_source timeout-8s container
check "timeout-8s: waited for the slow answer ($(ms_of timeout-8s) ms)" test "$(ms_of timeout-8s)" -ge 2400
emu DELETE /__emu/faults >/dev/null
# connect_timeout: a loopback port where connect() hangs (full accept queue); the total timeout
# (30 s) never comes into play: the connect gives up after connect_timeout
if start_blackhole; then
  HOLE=(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$BLACKHOLE_PORT/v1/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestContainerAuthToken)
  cconf connect-300ms 'attempts = 1; connect_timeout = "300ms"; timeout = "30s";'
  run_lmcp connect-300ms "${HOLE[@]}" -- --check -c "$T/connect-300ms.conf"
  expect_check_error connect-300ms "did not answer: GET http://127.0.0.1:$BLACKHOLE_PORT/v1/credentials: connect timeout"
  check "connect-300ms: gave up after $(ms_of connect-300ms) ms, long before the 3 s below" \
    test "$(ms_of connect-300ms)" -lt $((2900 * ${LMCP_TIMEOUT_SCALE:-1}))
  cconf connect-3s 'attempts = 1; connect_timeout = "3s"; timeout = "30s";'
  run_lmcp connect-3s "${HOLE[@]}" -- --check -c "$T/connect-3s.conf"
  expect_check_error connect-3s "did not answer: GET http://127.0.0.1:$BLACKHOLE_PORT/v1/credentials: connect timeout"
  check "connect-3s: waited the connect timeout ($(ms_of connect-3s) ms)" test "$(ms_of connect-3s)" -ge 2900
  cconf connect-attempts 'attempts = 2; connect_timeout = "1s"; timeout = "30s";'
  run_lmcp connect-attempts "${HOLE[@]}" -- --check -c "$T/connect-attempts.conf"
  expect_check_error connect-attempts "connect timeout"
  check "connect-attempts: two attempts of 1 s ($(ms_of connect-attempts) ms)" test "$(ms_of connect-attempts)" -ge 2100
else
  not_ok "this kernel completes connects to a port with a full accept queue: connect_timeout cannot be tested"
fi

finish
