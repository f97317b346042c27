#!/bin/bash
# credentials: the env plugin (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN /
# AWS_SECURITY_TOKEN, AWS_CREDENTIAL_EXPIRATION), first in the default chain unless AWS_PROFILE names a profile.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

ENV_KEYS=(AWS_ACCESS_KEY_ID=AKIACREDTESTENV00001 AWS_SECRET_ACCESS_KEY=credTestEnvSecret/00000000000000000000001)

run_lmcp env-check "${ENV_KEYS[@]}" -- --check --log-level trace
expect_source env-check env 0001
list_and_expect env-list AKIACREDTESTENV00001 "${ENV_KEYS[@]}"

# the environment wins over the default profile when AWS_PROFILE is not set (as in the AWS CLI)...
write_file "$HOME_DIR/.aws/credentials" <<'INI'
[default]
aws_access_key_id = AKIACREDTESTDFLT0005
aws_secret_access_key = credTestDefaultSecret/0000000000000000005
INI
run_lmcp env-over-profile "${ENV_KEYS[@]}" -- --check
expect_source env-over-profile env 0001
# ...but a profile named in AWS_PROFILE wins over the environment, as in the upstream server
# (boto3.Session(profile_name=AWS_PROFILE): botocore drops the environment's keys from the chain
# of an explicitly named profile); calls are signed with the profile's key
run_lmcp profile-over-env "${ENV_KEYS[@]}" AWS_PROFILE=default -- --check
expect_source profile-over-env profile 0005
list_and_expect profile-over-env-list AKIACREDTESTDFLT0005 "${ENV_KEYS[@]}" AWS_PROFILE=default
# a profile named in AWS_PROFILE that does not exist: a warning, then the environment (upstream
# catches ProfileNotFound and opens a session without the profile)
run_lmcp missing-profile-env "${ENV_KEYS[@]}" AWS_PROFILE=nope -- --check
expect_source missing-profile-env env 0001
expect_log missing-profile-env 'profile "nope" not found'
# an empty AWS_PROFILE is not set
run_lmcp empty-profile-env "${ENV_KEYS[@]}" AWS_PROFILE= -- --check
expect_source empty-profile-env env 0001

# a session token through the legacy name; an expiry in the future is reported
seq=$(emu_seq)
run_lmcp env-token AWS_ACCESS_KEY_ID=ASIACREDTESTPROC0004 AWS_SECRET_ACCESS_KEY=credTestProcessSecret/0000000000000000004 \
  AWS_SECURITY_TOKEN=credTestProcessSessionToken/0000000000000000000000004 AWS_CREDENTIAL_EXPIRATION=2099-01-01T00:00:00Z \
  -- --list-tools --log-level trace
expect_signed env-token "$seq" ListFunctions ASIACREDTESTPROC0004

# half configured: a clear error, and the chain still goes on (here: to the default profile)
run_lmcp env-partial AWS_ACCESS_KEY_ID=AKIACREDTESTENV00001 -- --check
expect_source env-partial profile 0005
expect_log env-partial "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
rm -f "$HOME_DIR/.aws/credentials"
run_lmcp env-expired "${ENV_KEYS[@]}" AWS_CREDENTIAL_EXPIRATION=2001-01-01T00:00:00Z -- --check
expect_check_error env-expired "env: the credentials in the environment expired at 2001-01-01T00:00:00Z"

# AWS_CREDENTIAL_EXPIRATION is read like every other expiry (credential_process, container,
# IMDS): offsets with or without a colon, a space for the T, a " UTC" suffix, no zone at all
i=0
for exp in 2099-01-01T01:00:00+0100 2099-01-01T01:00:00+01 "2099-01-01 00:00:00 UTC" 2099-01-01T00:00:00; do
  i=$((i + 1))
  run_lmcp env-exp-format-$i "${ENV_KEYS[@]}" AWS_CREDENTIAL_EXPIRATION="$exp" -- --check
  expect_source env-exp-format-$i env 0001
done
# a truncated offset is not a time (and is not read past its end: the ASan build checks that)
for exp in 2099-01-01T00:00:00+1:5 2099-01-01T00:00:00+01:5 2099-01-01T00:00:00+ 2099-01-01T00:00:00.; do
  i=$((i + 1))
  run_lmcp env-exp-bad-$i "${ENV_KEYS[@]}" AWS_CREDENTIAL_EXPIRATION="$exp" -- --check
  expect_check_error env-exp-bad-$i "env: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time"
done

finish
