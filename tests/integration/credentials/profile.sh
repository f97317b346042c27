#!/bin/bash
# credentials: the profile plugin with static keys: the default profile, the credentials file's
# precedence over the config file, AWS_PROFILE and the conf's `profile`, [default] vs
# [profile default], a profile's region, and what a missing profile does.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

write_file "$HOME_DIR/.aws/credentials" <<'INI'
# the AWS CLI's credentials file
[default]
aws_access_key_id = AKIACREDTESTDFLT0005
aws_secret_access_key = credTestDefaultSecret/0000000000000000005   ; an inline comment

[dev]
aws_access_key_id=AKIACREDTESTBASE0002
AWS_Secret_Access_Key = credTestBaseSecret/0000000000000000000002
INI
write_file "$HOME_DIR/.aws/config" <<'INI'
[default]
region = us-east-1

[profile dev]
# the credentials file wins for keys
aws_access_key_id = AKIACREDTESTCONF0003
aws_secret_access_key = credTestConfigSecret/00000000000000000003
region = eu-west-1
s3 =
  max_concurrency = 10

[profile config-keys]
aws_access_key_id = AKIACREDTESTCONF0003
aws_secret_access_key = credTestConfigSecret/00000000000000000003

[profile "quoted name"]
aws_access_key_id = AKIACREDTESTPROF0006
aws_secret_access_key = credTestProfileSecret/0000000000000000006

[profile region-only]
region = ap-south-1
INI

# the default profile
run_lmcp default-check -- --check --log-level trace
expect_source default-check profile 0005
list_and_expect default-list AKIACREDTESTDFLT0005

# AWS_PROFILE selects; the credentials file's keys win over the config file's
run_lmcp dev-check AWS_PROFILE=dev -- --check --log-level trace
expect_source dev-check profile 0002
list_and_expect dev-list AKIACREDTESTBASE0002 AWS_PROFILE=dev
# only the config file has keys: they are used
run_lmcp config-keys AWS_PROFILE=config-keys -- --check
expect_source config-keys profile 0003
run_lmcp quoted AWS_PROFILE="quoted name" -- --check
expect_source quoted profile 0006

# the profile's region is the server's when nothing else says (no AWS_REGION here)
run_lmcp region AWS_PROFILE=dev AWS_REGION= -- --check
check "region: the profile's region is used" grep -q '^region: *eu-west-1 (from credentials plugin profile)' "$T/region.out"
run_lmcp region-env AWS_PROFILE=dev AWS_REGION=us-east-1 -- --check
check "region-env: AWS_REGION wins over the profile's region" grep -q '^region: *us-east-1 (from AWS_REGION)' "$T/region-env.out"

# the conf's profile setting, and a chain of one explicit plugin
cat >"$T/lambda-mcp.conf" <<CONF
credentials = ( { plugin = "profile"; profile = "dev"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
run_lmcp conf-profile -- --check -c "$T/lambda-mcp.conf"
expect_source conf-profile profile 0002

# [default] and [profile default] both present: the one further down the config file wins
mv "$HOME_DIR/.aws/credentials" "$T/credentials.saved"
write_file "$HOME_DIR/.aws/config" <<'INI'
[default]
aws_access_key_id = AKIACREDTESTDFLT0005
aws_secret_access_key = credTestDefaultSecret/0000000000000000005
[profile default]
aws_access_key_id = AKIACREDTESTPROF0006
aws_secret_access_key = credTestProfileSecret/0000000000000000006
INI
run_lmcp profile-default -- --check
expect_source profile-default profile 0006

# AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE ($VAR and ~ expanded, like the AWS CLI)
mkdir -p "$HOME_DIR/elsewhere"
cp "$T/credentials.saved" "$HOME_DIR/elsewhere/creds"
chmod 600 "$HOME_DIR/elsewhere/creds"
run_lmcp other-files AWS_SHARED_CREDENTIALS_FILE='~/elsewhere/creds' AWS_CONFIG_FILE='$HOME/elsewhere/none' \
  AWS_PROFILE=dev -- --check
expect_source other-files profile 0002

# a profile that does not exist:
#  - asked for explicitly (AWS_PROFILE): an error naming the files, and the chain goes on
run_lmcp missing-explicit AWS_PROFILE=nope -- --check
expect_check_error missing-explicit 'profile: profile "nope" not found (read '"$HOME_DIR/.aws/config"' and '"$HOME_DIR/.aws/credentials"' (missing))'
expect_log missing-explicit 'profile "nope" not found'
#    ... and the fallback to another source still works (upstream's behaviour)
run_lmcp missing-fallback AWS_PROFILE=nope AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=credTestContainerAuthToken -- --check
expect_source missing-fallback container
expect_log missing-fallback 'warn  credentials: profile: profile "nope" not found'
#  - the default one, not there: this source has nothing, quietly (debug level only)
rm -f "$HOME_DIR/.aws/config"
run_lmcp missing-default -- --check
expect_check_error missing-default 'profile: no profile "default" in '"$HOME_DIR/.aws/config"' (missing)'
check "missing-default: no warning for a missing default profile" bash -c "! grep -q 'warn .*profile' '$T/missing-default.err'"
# a profile with no credentials at all moves on too
write_file "$HOME_DIR/.aws/config" <<'INI'
[profile region-only]
region = ap-south-1
INI
run_lmcp no-creds AWS_PROFILE=region-only -- --check
expect_check_error no-creds 'profile: profile "region-only" has no credentials'
# half a key pair is an error
write_file "$HOME_DIR/.aws/credentials" <<'INI'
[half]
aws_access_key_id = AKIACREDTESTDFLT0005
INI
run_lmcp half AWS_PROFILE=half -- --check
expect_check_error half 'profile "half" in '"$HOME_DIR/.aws/credentials"' has aws_access_key_id but no aws_secret_access_key'

# A file written from an indented heredoc: lines indented alike are separate keys (and headers),
# as configparser reads them; only a line indented MORE than its key's continues the value.
# (Found in review: every indented line after a key was joined to it.)
write_file "$HOME_DIR/.aws/credentials" <<'INI'
[indented]
    aws_access_key_id = AKIACREDTESTPROF0006
    aws_secret_access_key = credTestProfileSecret/0000000000000000006
  [indented-header]
  aws_access_key_id = AKIACREDTESTDFLT0005
  aws_secret_access_key = credTestDefaultSecret/0000000000000000005
[swallowed]
aws_secret_access_key = credTestProfileSecret/0000000000000000006
aws_access_key_id = AKIACREDTESTPROF0006
    aws_session_token = credTestSwallowedToken/0000000000000zQ7x
INI
secret credTestSwallowedToken/0000000000000zQ7x
run_lmcp indented AWS_PROFILE=indented -- --check
expect_source indented profile 0006
list_and_expect indented-list AKIACREDTESTPROF0006 AWS_PROFILE=indented
run_lmcp indented-header AWS_PROFILE=indented-header -- --check
expect_source indented-header profile 0005
# botocore (the AWS CLI) reads the same file the same way
check "botocore finds the same keys in the indented file" env -i HOME="$HOME_DIR" AWS_EC2_METADATA_DISABLED=true \
  "$LMCP_PYTHON" -c '
import botocore.session
for p, k, s in (("indented", "AKIACREDTESTPROF0006", "credTestProfileSecret/0000000000000000006"),
                ("indented-header", "AKIACREDTESTDFLT0005", "credTestDefaultSecret/0000000000000000005")):
    c = botocore.session.Session(profile=p).get_credentials()
    assert c is not None and (c.access_key, c.secret_key) == (k, s), p
'
# a key that took in a more indented line: refused, and nothing of that line is shown, not even
# as the last four characters of a "masked" access key
run_lmcp swallowed AWS_PROFILE=swallowed -- --check --log-level trace
expect_check_error swallowed 'profile "swallowed" in '"$HOME_DIR/.aws/credentials"': the value of aws_access_key_id (line 9) goes on over the next line(s)'
check "swallowed: nothing of the swallowed line reached the output" \
  bash -c "! grep -q 'zQ7x' '$T/swallowed.out' '$T/swallowed.err'"

finish
