#!/bin/bash
# credentials: expiry and refresh in MCP mode. AssumeRole credentials capped at a short lifetime by
# the emulator; tools/call every half second:
#   - calls keep succeeding across the expiry of the first credentials,
#   - the refresh happens before expiry (the new key signs calls before the old one expires),
#   - once STS refuses (an injected AccessDenied), the server keeps using the current credentials
#     until they really expire, logs why, then reports a clear error.
# (credhelper.py refresh does the timing and the checks.)
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator
LIFETIME=${LMCP_REFRESH_LIFETIME:-12}

write_file "$HOME_DIR/.aws/credentials" <<'INI'
[base]
aws_access_key_id = AKIACREDTESTBASE0002
aws_secret_access_key = credTestBaseSecret/0000000000000000000002
INI
write_file "$HOME_DIR/.aws/config" <<'INI'
[profile short]
role_arn = arn:aws:iam::123456789012:role/cred-test-hop1
source_profile = base
INI

build_env AWS_PROFILE=short
env -i "${CLEAN[@]}" "$LMCP_PYTHON" "$HELPER" refresh "$URL" "$LIFETIME" "$T" -- \
  "$LMCP_BIN" -p "$LMCP_PLUGIN_DIR" --log-level trace >"$T/refresh.report" 2>&1
rc=$?
while IFS= read -r line; do
  case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "# $line" ;;
  esac
done <"$T/refresh.report"
[ $rc = 0 ] || not_ok "the refresh scenario failed (status $rc)"
grep -E 'credentials: refresh|refreshed credentials' "$T/refresh.err" | sed 's/^/# /' | head -n 5

finish
