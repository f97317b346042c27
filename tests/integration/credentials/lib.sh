# Shared by the credentials end-to-end tests (bash; sourced). Each test:
#   . "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
#   start_emulator                      # the emulator on a free port, $URL
#   write_file "$HOME_DIR/.aws/config" <<EOF ... EOF
#   run_lmcp NAME [VAR=VALUE ...] -- --check      # in a clean environment; $T/NAME.{out,err,rc}
#   expect_source NAME env; expect_signed SINCE ListFunctions KEY; ...
#   finish                              # secrets check, summary, exit status
#
# The server always runs with `env -i`: no inherited AWS_* variable, a temporary HOME with
# real ~/.aws files, every AWS endpoint at the emulator (AWS_ENDPOINT_URL), the instance metadata
# endpoint and the container base URL at the emulator too, and AWS_EC2_METADATA_DISABLED=true unless
# a test says otherwise: nothing can reach a real AWS host or a 169.254.x.x address.
# Every byte the server writes (stdout and stderr) is kept, and finish() fails the test if any
# secret the test configured or the emulator issued appears in it.

[ -n "${BASH_VERSION:-}" ] || { echo "lib.sh needs bash" >&2; exit 99; }
set -u
: "${LMCP_BIN:?}" "${LMCP_PLUGIN_DIR:?}" "${LMCP_SRCDIR:?}"
LMCP_PYTHON=${LMCP_PYTHON:-/usr/bin/python3}
[ "$LMCP_PYTHON" = no ] && LMCP_PYTHON=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1

CRED_DIR="$LMCP_SRCDIR/tests/integration/credentials"
HELPER="$CRED_DIR/credhelper.py"
T=$(mktemp -d /tmp/lmcp-cred.XXXXXX)
HOME_DIR="$T/home"
mkdir -p "$HOME_DIR/.aws/sso/cache"
: >"$T/secrets"
: >"$T/akids"
EMU_PID=""
BLACKHOLE_PID=""
BLACKHOLE_PORT=""
URL=""
FAILED=0
PASSED=0
TEST_NAME=$(basename "$0" .sh)

cleanup() {
  if [ -n "$BLACKHOLE_PID" ]; then
    kill "$BLACKHOLE_PID" 2>/dev/null
    wait "$BLACKHOLE_PID" 2>/dev/null
  fi
  if [ -n "$EMU_PID" ]; then
    kill "$EMU_PID" 2>/dev/null
    wait "$EMU_PID" 2>/dev/null
  fi
  if [ -n "${LMCP_KEEP_TMP:-}" ]; then
    echo "# kept $T"
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
show() { # show NAME: print what a run wrote, for a failing check
  local f
  for f in "$T/$1.out" "$T/$1.err"; do
    [ -f "$f" ] && { echo "# --- $(basename "$f")"; sed 's/^/#   /' "$f" | head -n 60; }
  done
}

# the same content and mode everywhere: files with secrets are 0600 like the AWS CLI's
write_file() { # write_file PATH < content
  mkdir -p "$(dirname "$1")"
  cat >"$1"
  chmod 600 "$1"
}

secret() { # register values that must never appear in the server's output
  local s
  for s in "$@"; do printf '%s\n' "$s" >>"$T/secrets"; done
}
akid() { # access key ids: may appear masked (last 4), never whole
  local s
  for s in "$@"; do printf '%s\n' "$s" >>"$T/akids"; done
}

start_emulator() { # start_emulator [ACCOUNT_FILE]
  local account=${1:-$CRED_DIR/account.json}
  "$LMCP_PYTHON" "$LMCP_SRCDIR/tests/emulator/emulator.py" --account "$account" --port 0 \
    --port-file "$T/emu.url" >"$T/emu.stdout" 2>"$T/emu.stderr" &
  EMU_PID=$!
  local i=0
  while [ ! -s "$T/emu.url" ]; do
    i=$((i + 1))
    if [ $i -gt 150 ] || ! kill -0 "$EMU_PID" 2>/dev/null; then
      echo "Bail out! the emulator did not start"
      cat "$T/emu.stderr"
      exit 1
    fi
    sleep 0.1
  done
  URL=$(cat "$T/emu.url")
  # everything the account file holds is a secret
  secret $("$LMCP_PYTHON" -c '
import json, sys
a = json.load(open(sys.argv[1]))
out = [c["secret_access_key"] for c in a.get("credentials", [])] + \
      [c["session_token"] for c in a.get("credentials", []) if c.get("session_token")]
for r in a.get("roles", []):
    out += [t if isinstance(t, str) else t["token"] for t in r.get("web_identity_tokens", [])]
s = a.get("sso", {})
out += [t["token"] for t in s.get("access_tokens", [])] + [t["token"] for t in s.get("refresh_tokens", [])]
out += [c["client_secret"] for c in s.get("clients", [])]
if a.get("container", {}).get("authorization_token"): out.append(a["container"]["authorization_token"])
print("\n".join(out))' "$account")
  akid $("$LMCP_PYTHON" -c '
import json, sys
print("\n".join(c["access_key_id"] for c in json.load(open(sys.argv[1])).get("credentials", [])))' "$account")
}

# start_blackhole: BLACKHOLE_PORT, a loopback port where connect() hangs (credhelper.py
# blackhole); returns 1 when this kernel answers such a connect after all
start_blackhole() {
  "$LMCP_PYTHON" "$HELPER" blackhole "$T/blackhole" &
  BLACKHOLE_PID=$!
  local i=0
  while [ ! -s "$T/blackhole" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$BLACKHOLE_PID" 2>/dev/null; then
      echo "Bail out! the blackhole port did not start"
      exit 1
    fi
    sleep 0.1
  done
  read -r verdict BLACKHOLE_PORT <"$T/blackhole"
  [ "$verdict" = hang ]
}
emu() { "$LMCP_PYTHON" "$HELPER" ctl "$URL" "$@"; }
emu_seq() { "$LMCP_PYTHON" "$HELPER" seq "$URL"; }
emu_keys() { "$LMCP_PYTHON" "$HELPER" keys "$URL" "$1" "$2"; } # SINCE OPERATION
emu_ops() { "$LMCP_PYTHON" "$HELPER" ops "$URL" "$1"; }
sha1() { "$LMCP_PYTHON" "$HELPER" sha1 "$1"; }

# build_env VAR=VALUE ...: the clean environment of a server run in CLEAN (an array): the test
# defaults, then the arguments; a later VAR=VALUE wins, VAR= (nothing after =) removes VAR.
build_env() {
  local -a vars=(
    PATH="$PATH" HOME="$HOME_DIR" AWS_ENDPOINT_URL="$URL" AWS_REGION=us-east-1
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$URL" AWS_EC2_METADATA_DISABLED=true
    LAMBDA_MCP_CONTAINER_BASE_URL="$URL" TSAN_OPTIONS="${TSAN_OPTIONS:-}" "$@"
  )
  CLEAN=()
  local v k w
  for v in "${vars[@]}"; do
    k=${v%%=*}
    local -a keep=()
    for w in "${CLEAN[@]+"${CLEAN[@]}"}"; do [ "${w%%=*}" = "$k" ] || keep+=("$w"); done
    CLEAN=("${keep[@]+"${keep[@]}"}")
    [ -n "${v#*=}" ] && CLEAN+=("$v")
  done
  return 0
}

# env_then_args [VAR=VALUE ...] -- ARGS...: build_env with the VAR=VALUE words; ARGS (a global
# array) gets the words after --
env_then_args() {
  local -a vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    vars+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  build_env "${vars[@]+"${vars[@]}"}"
  ARGS=("$@")
}

# run_lmcp NAME [VAR=VALUE ...] -- ARGS...: $T/NAME.out, .err, .rc, .ms
run_lmcp() {
  local name=$1
  shift
  env_then_args "$@"
  local t0 t1
  t0=$(date +%s%N)
  env -i "${CLEAN[@]}" "$LMCP_BIN" -p "$LMCP_PLUGIN_DIR" "${ARGS[@]+"${ARGS[@]}"}" </dev/null >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000)) >"$T/$name.ms"
}

# mcp_script NAME STEPS_JSON [VAR=VALUE ...] -- ARGS...: an MCP session (credhelper.py script);
# its report (one "call N ok|error TEXT" line per call) in $T/NAME.report, the server's output in
# $T/NAME.out and .err
mcp_script() {
  local name=$1 steps=$2
  shift 2
  env_then_args "$@"
  env -i "${CLEAN[@]}" "$LMCP_PYTHON" "$HELPER" script "$URL" "$steps" "$T" "$name" -- \
    "$LMCP_BIN" -p "$LMCP_PLUGIN_DIR" "${ARGS[@]+"${ARGS[@]}"}" >"$T/$name.report" 2>&1
  echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
ms_of() { cat "$T/$1.ms"; }

# --check printed "credentials: from SOURCE (access key ****XXXX..."
expect_source() { # NAME SOURCE [LAST4]
  local line
  line=$(grep '^credentials: ' "$T/$1.out" | tail -n 1)
  if [ "$(rc_of "$1")" = 0 ] && [[ "$line" == "credentials: from $2 ("* ]] &&
    { [ -z "${3:-}" ] || [[ "$line" == *"access key ****************$3"* ]]; }; then
    ok "$1: --check names the source: ${line#credentials: }"
  else
    not_ok "$1: --check should say the credentials come from $2${3:+ (key ending $3)}, got: ${line:-nothing} (rc $(rc_of "$1"))"
    show "$1"
  fi
}

# --check failed with a message containing TEXT
expect_check_error() { # NAME TEXT
  if [ "$(rc_of "$1")" != 0 ] && grep -qF -- "$2" "$T/$1.out" "$T/$1.err"; then
    ok "$1: fails with: $2"
  else
    not_ok "$1: should fail with '$2' (rc $(rc_of "$1"))"
    show "$1"
  fi
}

expect_log() { # NAME TEXT: stderr contains TEXT
  if grep -qF -- "$2" "$T/$1.err"; then ok "$1: the log says: $2"; else not_ok "$1: the log should say: $2"; show "$1"; fi
}

# --list-tools succeeded and the emulator saw OPERATION signed with KEY (and no other key)
expect_signed() { # NAME SINCE OPERATION KEY
  local keys
  keys=$(emu_keys "$2" "$3" | sort -u)
  if [ "$(rc_of "$1")" = 0 ] && [ -n "$keys" ] && [ "$keys" = "$4" ]; then
    ok "$1: $3 was signed with the expected key (...${4: -4})"
  else
    not_ok "$1: $3 should be signed with ...${4: -4} only; saw: $(echo $keys) (rc $(rc_of "$1"))"
    show "$1"
  fi
}

# the keys that signed OPERATION after SINCE: one line each
signed_keys() { emu_keys "$1" "$2" | sort -u; }

# list-tools in the same environment as a previous --check, and ListFunctions signed with the
# key the source gave (read from the emulator: the newest key issued or the given one)
list_and_expect() { # NAME EXPECTED_KEY [VAR=VALUE ...]
  local name=$1 key=$2
  shift 2
  local seq
  seq=$(emu_seq)
  run_lmcp "$name" "$@" -- --list-tools --log-level trace
  if [ "$(rc_of "$name")" = 0 ] && grep -q '^echo ' "$T/$name.out"; then
    ok "$name: --list-tools lists the functions"
  else
    not_ok "$name: --list-tools should list echo"
    show "$name"
  fi
  expect_signed "$name" "$seq" ListFunctions "$key"
}

# the access key that an AssumeRole/GetRoleCredentials/... issued most recently for ROLE_ARN_PART
issued_key() { # SUBSTRING of the arn
  "$LMCP_PYTHON" - "$URL" "$1" <<'PY'
import json, sys, urllib.request
creds = json.load(urllib.request.urlopen(sys.argv[1] + "/__emu/credentials", timeout=10))["credentials"]
hits = [c for c in creds if sys.argv[2] in (c.get("arn") or "") + " " + (c.get("role_arn") or "")]
print(hits[-1]["access_key_id"] if hits else "")
PY
}

# Secrets: nothing the test configured or the emulator issued may appear in anything the server
# wrote; access key ids only masked.
check_secrets() {
  "$LMCP_PYTHON" "$HELPER" secrets "$URL" >>"$T/secrets" 2>/dev/null
  "$LMCP_PYTHON" "$HELPER" akids "$URL" >>"$T/akids" 2>/dev/null
  local f files=() leaks=0 s
  shopt -s nullglob
  for f in "$T"/*.out "$T"/*.err "$T"/*.report; do
    case $(basename "$f") in emu.*) continue ;; esac
    files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  # the check itself must work: a planted secret is found
  local canary
  canary=$(head -n 1 "$T/secrets")
  printf 'x %s x\n' "$canary" >"$T/canary.txt"
  if [ -z "$canary" ] || ! grep -qF -- "$canary" "$T/canary.txt"; then
    not_ok "the secrets check cannot find a planted secret"
  fi
  rm -f "$T/canary.txt"
  while IFS= read -r s; do
    [ -n "$s" ] || continue
    if grep -lF -- "$s" "${files[@]}" >/dev/null; then
      leaks=$((leaks + 1))
      echo "# a secret ending ...${s: -4} appears in: $(grep -lF -- "$s" "${files[@]}" | xargs -n1 basename | tr '\n' ' ')"
    fi
  done < <(sort -u "$T/secrets")
  while IFS= read -r s; do
    [ -n "$s" ] || continue
    if grep -lF -- "$s" "${files[@]}" >/dev/null; then
      leaks=$((leaks + 1))
      echo "# a whole access key id ...${s: -4} appears in: $(grep -lF -- "$s" "${files[@]}" | xargs -n1 basename | tr '\n' ' ')"
    fi
  done < <(sort -u "$T/akids")
  if [ $leaks = 0 ]; then
    ok "no secret ($(sort -u "$T/secrets" | grep -c .) checked) and no whole access key id in ${#files[@]} output files"
  else
    not_ok "secrets leaked into the server's output ($leaks)"
  fi
}

# Sanitizer builds: any report in the server's output fails the test (the server's exit status is
# not always looked at, e.g. after SIGTERM).
check_sanitizers() {
  local f hits=()
  shopt -s nullglob
  for f in "$T"/*.err "$T"/*.report; do
    if grep -qE '(ERROR|WARNING): (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|:[0-9]+(:[0-9]+)?: runtime error: |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)' "$f"; then
      hits+=("$(basename "$f")")
    fi
  done
  if [ ${#hits[@]} -eq 0 ]; then
    ok "no sanitizer report in the server's output"
  else
    not_ok "sanitizer reports in: ${hits[*]}"
  fi
}

finish() {
  check_sanitizers
  [ -n "$URL" ] && check_secrets
  echo "# $TEST_NAME: $PASSED passed, $FAILED failed"
  [ $FAILED = 0 ] && [ $PASSED -gt 0 ]
  exit $?
}
