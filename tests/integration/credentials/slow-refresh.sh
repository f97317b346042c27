#!/bin/bash
# credentials: a slow refresh never holds up a call (found in review). A credential_process whose
# credentials live 20 s and whose every run after the first takes 20 s; tool calls time out
# after 3 s:
#   - a call in the refresh window (the credentials still valid) answers at once with them; the
#     refresh goes on in the background (before: the call ran the 20 s process itself and failed
#     after 20 s, past its timeout);
#   - a call once they are no longer valid, the refresh still running, fails by its own timeout
#     with a clear message (before: it waited for the refresh, without limit);
#   - once the refresh is done, calls use its credentials; the process ran twice in all.
# Timeline from the mark (after the first call, a few ms after the first run): refresh due at
# +10 s, the credentials no longer handed out from +19 s, the refresh done at about +32 s.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

PROC_SECRET=credTestProcessSecret/0000000000000000004
PROC_TOKEN=credTestProcessSessionToken/0000000000000000000000004
mkdir -p "$HOME_DIR/bin"
write_file "$HOME_DIR/bin/slow-creds" <<SH
#!/bin/sh
if [ -e "$T/ran" ]; then sleep 20; else : >"$T/ran"; fi
echo run >>"$T/runs"
exp=\$(date -u -d "@\$((\$(date +%s) + 20))" +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "ASIACREDTESTPROC0004", "SecretAccessKey": "$PROC_SECRET", "SessionToken": "$PROC_TOKEN", "Expiration": "%s"}\n' "\$exp"
SH
chmod 700 "$HOME_DIR/bin/slow-creds"
write_file "$HOME_DIR/.aws/config" <<INI
[profile slow]
credential_process = $HOME_DIR/bin/slow-creds
INI
cat >"$T/lambda-mcp.conf" <<CONF
credentials = ( { plugin = "profile"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
tools = ( { match = "*"; timeout = "3s"; } );
CONF

steps='[{"call": "echo", "args": {"n": 1}}, {"mark": true},
        {"until": 12}, {"call": "echo", "args": {"n": 2}},
        {"until": 21.5}, {"call": "echo", "args": {"n": 3}},
        {"until": 35}, {"call": "echo", "args": {"n": 4}}]'
mcp_script slow "$steps" AWS_PROFILE=slow -- -c "$T/lambda-mcp.conf" --log-level debug
sed 's/^/# /' "$T/slow.report"
took() { awk -v n="$1" '$1 == "took" && $2 == n { print $3 }' "$T/slow.report"; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 < b + 0) }'; }

check "the session ran and the server exited cleanly" test "$(rc_of slow)" = 0
check "call 1 succeeded" grep -q '^call 1 ok' "$T/slow.report"
check "call 2, in the refresh window, succeeded with the still-valid credentials" grep -q '^call 2 ok' "$T/slow.report"
check "call 2 did not wait for the 20 s refresh (took $(took 2) s)" below "$(took 2)" 3
check "call 3, the credentials no longer valid and the refresh still running, failed by its deadline" \
  grep -q '^call 3 error .*ran out of time.*AWS credentials: timed out after waiting [0-9]* ms: the credentials plugins have not answered yet' "$T/slow.report"
check "call 3 ended with its 3 s timeout, not with the refresh (took $(took 3) s)" below "$(took 3)" 8
check "call 4 succeeded with the refreshed credentials" grep -q '^call 4 ok' "$T/slow.report"
check "the process ran twice: the first fetch and one refresh ($(wc -l <"$T/runs" 2>/dev/null) runs)" \
  test "$(wc -l <"$T/runs")" = 2
expect_log slow 'refreshed credentials from profile'

# The end of input while the refresh runs (its process sleeps 20 s): the server exits at once
# instead of waiting for the credentials thread.
rm -f "$T/ran" "$T/runs"
mcp_script slow-eof '[{"call": "echo", "args": {"n": 1}}, {"mark": true}, {"until": 11}, {"call": "echo", "args": {"n": 2}}, {"sleep": 0.5}]' \
  AWS_PROFILE=slow -- -c "$T/lambda-mcp.conf" --log-level debug
sed 's/^/# /' "$T/slow-eof.report"
closed=$(awk '$1 == "closed" { print $2 }' "$T/slow-eof.report")
check "end of input during a credentials refresh: the session ended cleanly" test "$(rc_of slow-eof)" = 0
check "and the server exited without waiting for the refresh (${closed} s)" below "$closed" 3
expect_log slow-eof 'a credentials refresh is under way: not waiting for it'

finish
