#!/bin/bash
# credentials: role_arn profiles through STS AssumeRole: a source_profile chain of two hops (each
# hop signed with the previous hop's credentials), external_id, role_session_name,
# duration_seconds, credential_source (Environment, EcsContainer, Ec2InstanceMetadata), a
# source_profile loop and mfa_serial (clear errors).
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

write_file "$HOME_DIR/.aws/credentials" <<'INI'
[base]
aws_access_key_id = AKIACREDTESTBASE0002
aws_secret_access_key = credTestBaseSecret/0000000000000000000002
INI
write_file "$HOME_DIR/.aws/config" <<'INI'
[profile hop1]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop1
source_profile = base
role_session_name = first-hop

[profile hop2]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop2
source_profile = hop1

[profile external]
role_arn = arn:aws:iam::123456789012:role/cred-test-external
source_profile = base
external_id = cred-test-external-id
duration_seconds = 7200

[profile external-wrong]
role_arn = arn:aws:iam::123456789012:role/cred-test-external
source_profile = base
external_id = not-the-right-one

[profile loop-a]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop1
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop1
source_profile = loop-a

[profile from-env]
role_arn = arn:aws:iam::123456789012:role/cred-test-env-source
credential_source = Environment

[profile from-container]
role_arn = arn:aws:iam::123456789012:role/cred-test-from-container
credential_source = EcsContainer

[profile from-instance]
role_arn = arn:aws:iam::123456789012:role/cred-test-from-instance
credential_source = Ec2InstanceMetadata

[profile with-mfa]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop1
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/someone
INI

# two hops: base's keys -> hop1 -> hop2
seq=$(emu_seq)
run_lmcp hop2-check AWS_PROFILE=hop2 -- --check --log-level trace
key2=$(issued_key "assumed-role/cred-test-hop2/")
key1=$(issued_key "assumed-role/cred-test-hop1/first-hop")
expect_source hop2-check profile "${key2: -4}"
check "hop2: the first AssumeRole was signed with the source profile's key, the second with hop1's" \
  test "$(emu_ops "$seq" | awk '$1 == "AssumeRole" {print $3}' | tr '\n' ' ')" = "AKIACREDTESTBASE0002 $key1 "
check "hop2: role_session_name of hop1 was used, hop2 got botocore-session-<epoch>" bash -c \
  "'$LMCP_PYTHON' '$HELPER' ctl '$URL' GET /__emu/credentials | grep -q 'assumed-role/cred-test-hop1/first-hop' &&
   '$LMCP_PYTHON' '$HELPER' ctl '$URL' GET /__emu/credentials | grep -Eq 'assumed-role/cred-test-hop2/botocore-session-[0-9]{10}\"'"
expect_log hop2-check 'credentials from static keys (credentials file) of profile "base" -> AssumeRole of profile "hop1" -> AssumeRole of profile "hop2"'
seq=$(emu_seq)
run_lmcp hop2-list AWS_PROFILE=hop2 -- --list-tools --log-level trace
key2=$(issued_key "assumed-role/cred-test-hop2/")
expect_signed hop2-list "$seq" ListFunctions "$key2"
check "hop2-list: the issued key is not the source profile's" test "$key2" != AKIACREDTESTBASE0002

# external_id and duration_seconds are passed on
run_lmcp external AWS_PROFILE=external -- --check
expect_source external profile "$(issued_key cred-test-external | tail -c 5)"
check "external: duration_seconds = 7200 gave credentials for about two hours" \
  grep -Eq 'expire in 71[0-9]{2} s' "$T/external.out"
run_lmcp external-wrong AWS_PROFILE=external-wrong -- --check
expect_check_error external-wrong 'STS AssumeRole for arn:aws:iam::123456789012:role/cred-test-external failed: HTTP 403 AccessDenied'

# a source_profile loop
run_lmcp loop AWS_PROFILE=loop-a -- --check
expect_check_error loop 'profile "loop-a": source_profile loop: loop-a -> loop-b -> loop-a'

# MFA cannot be typed into a stdio server
run_lmcp mfa AWS_PROFILE=with-mfa -- --check
expect_check_error mfa 'profile "with-mfa" sets mfa_serial: MFA is not supported in a non-interactive server'

# credential_source: the source credentials come from another plugin; the chain is just the
# profile plugin so that the env plugin cannot answer first
cat >"$T/profile-only.conf" <<CONF
credentials = ( { plugin = "profile"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
seq=$(emu_seq)
run_lmcp from-env AWS_PROFILE=from-env AWS_ACCESS_KEY_ID=AKIACREDTESTENV00001 \
  AWS_SECRET_ACCESS_KEY=credTestEnvSecret/00000000000000000000001 -- --list-tools -c "$T/profile-only.conf" --log-level trace
expect_signed from-env "$seq" AssumeRole AKIACREDTESTENV00001
expect_signed from-env "$seq" ListFunctions "$(issued_key cred-test-env-source)"
run_lmcp from-env-missing AWS_PROFILE=from-env -- --check -c "$T/profile-only.conf"
expect_check_error from-env-missing 'profile "from-env": credential_source Environment gave no credentials: env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set'

seq=$(emu_seq)
run_lmcp from-container AWS_PROFILE=from-container AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/t1 \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestContainerAuthToken -- --list-tools -c "$T/profile-only.conf" --log-level trace
expect_signed from-container "$seq" AssumeRole "$(issued_key cred-test-task-role)"
expect_signed from-container "$seq" ListFunctions "$(issued_key cred-test-from-container)"

seq=$(emu_seq)
run_lmcp from-instance AWS_PROFILE=from-instance AWS_EC2_METADATA_DISABLED= -- --list-tools -c "$T/profile-only.conf" \
  --log-level trace
expect_signed from-instance "$seq" AssumeRole "$(issued_key cred-test-instance-role)"
expect_signed from-instance "$seq" ListFunctions "$(issued_key cred-test-from-instance)"

finish
