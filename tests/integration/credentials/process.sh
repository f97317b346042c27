#!/bin/bash
# credentials: credential_process — run without a shell (a command line with "; touch FILE" must not
# create FILE), Version 1 JSON, a failing exit status (its stderr logged at info, its stdout never),
# a timeout that kills it, bad JSON, a wrong Version, expiry, and a process as a source_profile.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

PROC_SECRET=credTestProcessSecret/0000000000000000004
PROC_TOKEN=credTestProcessSessionToken/0000000000000000000000004
mkdir -p "$HOME_DIR/bin"
# a helper that prints what its first argument asks for
write_file "$HOME_DIR/bin/creds" <<SH
#!/bin/sh
case "\$1" in
  ok)      echo "helper: fetching credentials for \$2" >&2
           printf '{"Version": 1, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET", "SessionToken": "$PROC_TOKEN", "Expiration": "2099-01-01T00:00:00Z", "AccountId": "123456789012"}\n' ;;
  fail)    echo "helper: the vault is sealed" >&2
           echo '{"Version": 1, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET"}'
           exit 3 ;;
  slow)    sleep 30 ;;
  badjson) echo "not json at all: $PROC_SECRET" ;;
  v2)      echo '{"Version": 2, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET"}' ;;
  expired) echo '{"Version": 1, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET", "SessionToken": "$PROC_TOKEN", "Expiration": "2001-01-01T00:00:00Z"}' ;;
  noakid)  echo '{"Version": 1, "SecretAccessKey": "$PROC_SECRET"}' ;;
  badexp)  echo '{"Version": 1, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET", "Expiration": "tomorrow"}' ;;
  args)    i=0; for a in "\$@"; do i=\$((i+1)); echo "arg\$i=[\$a]" >&2; done
           printf '{"Version": 1, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET", "SessionToken": "$PROC_TOKEN"}' ;;
esac
SH
chmod 700 "$HOME_DIR/bin/creds"
PWNED="$T/pwned"
write_file "$HOME_DIR/.aws/config" <<INI
[profile ok]
credential_process = "$HOME_DIR/bin/creds" ok "profile ok"

[profile fail]
credential_process = $HOME_DIR/bin/creds fail

[profile slow]
credential_process = $HOME_DIR/bin/creds slow

[profile badjson]
credential_process = $HOME_DIR/bin/creds badjson

[profile v2]
credential_process = $HOME_DIR/bin/creds v2

[profile expired]
credential_process = $HOME_DIR/bin/creds expired

[profile noakid]
credential_process = $HOME_DIR/bin/creds noakid

[profile badexp]
credential_process = $HOME_DIR/bin/creds badexp

[profile injection]
credential_process = $HOME_DIR/bin/creds args \$(touch $PWNED) \`touch $PWNED\` | tee $PWNED && x;touch $PWNED 'a b'

[profile semicolon]
# " ;" starts an inline comment in the AWS config files: the command ends before it
credential_process = $HOME_DIR/bin/creds args ; touch $PWNED

[profile missing]
credential_process = $HOME_DIR/bin/no-such-helper

[profile role-from-process]
role_arn = arn:aws:iam::123456789012:role/cred-test-from-process
source_profile = ok
INI

seq=$(emu_seq)
run_lmcp ok-check AWS_PROFILE=ok -- --check --log-level trace
expect_source ok-check profile 0004
expect_log ok-check 'info  profile: credential_process of profile "ok": helper: fetching credentials for profile ok'
check "ok-check: the expiry of the process's credentials is reported" grep -Eq 'with a session token\), expire in [0-9]+ s' "$T/ok-check.out"
list_and_expect ok-list ASIACREDTESTPROC0004 AWS_PROFILE=ok

# no shell: every word is an argument, nothing is run besides the helper
run_lmcp injection AWS_PROFILE=injection -- --check --log-level trace
expect_source injection profile 0004
check "injection: '; touch FILE', \$(...), backquotes and | did not create the file" test ! -e "$PWNED"
check "injection: the metacharacters reached the helper as literal arguments" bash -c \
  "grep -qF 'arg2=[\$(touch]' '$T/injection.err' && grep -qF 'arg4=[\`touch]' '$T/injection.err' &&
   grep -qF 'arg6=[|]' '$T/injection.err' && grep -qF 'arg9=[&&]' '$T/injection.err' &&
   grep -qF 'arg10=[x;touch]' '$T/injection.err' && grep -qF 'arg12=[a b]' '$T/injection.err'"
run_lmcp semicolon AWS_PROFILE=semicolon -- --check --log-level trace
expect_source semicolon profile 0004
check "semicolon: '; touch FILE' did not create the file" test ! -e "$PWNED"
check "semicolon: the helper got only its own argument" bash -c "grep -qF 'arg1=[args]' '$T/semicolon.err' && ! grep -qF 'arg2=' '$T/semicolon.err'"

run_lmcp fail AWS_PROFILE=fail -- --check --log-level trace
expect_check_error fail "credential_process of profile \"fail\" ($HOME_DIR/bin/creds) failed with exit status 3"
expect_log fail 'credential_process of profile "fail": helper: the vault is sealed'

cat >"$T/short-timeout.conf" <<CONF
credentials = ( { plugin = "profile"; process_timeout = "1s"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
run_lmcp slow AWS_PROFILE=slow -- --check -c "$T/short-timeout.conf"
expect_check_error slow 'did not finish within 1000 ms and was killed'
check "slow: the timeout was enforced (took $(ms_of slow) ms)" test "$(ms_of slow)" -lt 5000

run_lmcp badjson AWS_PROFILE=badjson -- --check --log-level trace
expect_check_error badjson "credential_process of profile \"badjson\" ($HOME_DIR/bin/creds) did not print a JSON object"
run_lmcp v2 AWS_PROFILE=v2 -- --check
expect_check_error v2 'printed Version 2; only Version 1 is supported'
run_lmcp expired AWS_PROFILE=expired -- --check
expect_check_error expired 'returned credentials that expired at 2001-01-01T00:00:00Z'
run_lmcp noakid AWS_PROFILE=noakid -- --check
expect_check_error noakid "credential_process of profile \"noakid\" ($HOME_DIR/bin/creds) printed no AccessKeyId"
run_lmcp badexp AWS_PROFILE=badexp -- --check
expect_check_error badexp 'printed an Expiration that is not an ISO 8601 time'
run_lmcp missing AWS_PROFILE=missing -- --check
expect_check_error missing "credential_process of profile \"missing\": cannot run $HOME_DIR/bin/no-such-helper: No such file or directory"

# a process as the source of an assumed role
seq=$(emu_seq)
run_lmcp role-from-process AWS_PROFILE=role-from-process -- --list-tools --log-level trace
expect_signed role-from-process "$seq" AssumeRole ASIACREDTESTPROC0004
expect_signed role-from-process "$seq" ListFunctions "$(issued_key cred-test-from-process)"

# stdout of a process is never logged, whatever the level
check "the process's stdout never reached the log" bash -c "! grep -qF 'not json at all' '$T'/*.err"
finish
