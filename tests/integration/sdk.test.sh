#!/bin/sh
# The vendor SDK end to end: `make install` puts <lambda-mcp/plugin.h> and lambda-mcp-plugin.pc
# in place; the out-of-tree example plugin (examples/catalog-plugin) is built with nothing but
# `pkg-config --cflags --libs lambda-mcp-plugin`; the installed server loads it and serves its
# tools, and a call through one of them reaches the (emulated) Lambda function.
set -eu
: "${LMCP_BUILDDIR:?}" "${LMCP_SRCDIR:?}" "${LMCP_PYTHON:?}"

tmp=$(mktemp -d /tmp/lmcp-sdk.XXXXXX)
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; for f in "$tmp"/*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }

echo "# make install DESTDIR=$tmp/root"
make -s -C "$LMCP_BUILDDIR" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install"; }
pc=$(find "$tmp/root" -name lambda-mcp-plugin.pc | head -n 1)
[ -n "$pc" ] || fail "lambda-mcp-plugin.pc was not installed"
hdr=$(find "$tmp/root" -path '*/include/lambda-mcp/plugin.h' | head -n 1)
[ -n "$hdr" ] || fail "lambda-mcp/plugin.h was not installed"
bin=$(find "$tmp/root" -type f -path '*/bin/lambda-mcp' | head -n 1)
[ -x "$bin" ] || fail "the lambda-mcp binary was not installed"
plugdir=$(dirname "$(find "$tmp/root" -name env.so | head -n 1)")
[ -f "$plugdir/prefix.so" ] || fail "plugins were not installed next to env.so ($plugdir)"

export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_LIBDIR="$(dirname "$pc")"
cflags=$(pkg-config --cflags lambda-mcp-plugin)
echo "# pkg-config --cflags lambda-mcp-plugin: $cflags"
case "$cflags" in *"$tmp/root"*) ;; *) fail "the SDK cflags do not point into the installed tree: $cflags" ;; esac

echo "# building the example plugin out of tree"
mkdir -p "$tmp/build"
cp "$LMCP_SRCDIR/examples/catalog-plugin/catalog.c" "$LMCP_SRCDIR/examples/catalog-plugin/Makefile" "$tmp/build/"
make -s -C "$tmp/build" >"$tmp/build.err" 2>&1 || { cat "$tmp/build.err"; fail "the example plugin does not build against the installed SDK"; }
[ -f "$tmp/build/catalog.so" ] || fail "catalog.so not built"

echo "# starting the emulator"
PYTHONDONTWRITEBYTECODE=1 "$LMCP_PYTHON" "$LMCP_SRCDIR/tests/emulator/emulator.py" \
  --account "$LMCP_SRCDIR/tests/emulator/accounts/demo.json" --port 0 --port-file "$tmp/emu.url" \
  >"$tmp/emu.out" 2>"$tmp/emu.err" &
emu_pid=$!
i=0
while [ ! -s "$tmp/emu.url" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || fail "the emulator did not start"; sleep 0.1
done
url=$(cat "$tmp/emu.url")

cp "$LMCP_SRCDIR/examples/catalog-plugin/catalog.example.json" "$tmp/catalog.json"
cat >"$tmp/lambda-mcp.conf" <<CONF
aws = { region = "us-east-1"; endpoint_url = "$url"; };
credentials = ( { plugin = "env"; } );
discovery = { plugins = ( { path = "$tmp/build/catalog.so"; catalog = "$tmp/catalog.json"; } ); };
CONF

# a clean environment: no AWS variable of the machine, nothing but loopback
run() {
  env -i PATH="$PATH" HOME="$tmp" AWS_EC2_METADATA_DISABLED=true ${TSAN_OPTIONS:+TSAN_OPTIONS="$TSAN_OPTIONS"} \
    AWS_ACCESS_KEY_ID=AKIAEMULATORDEMO0001 AWS_SECRET_ACCESS_KEY=emulatorDemoSecretKey/0000000000000000001 \
    "$bin" --config "$tmp/lambda-mcp.conf" --plugin-dir "$plugdir" "$@"
}

echo "# --list-plugins sees the installed plugins"
run --list-plugins >"$tmp/plugins.out" 2>"$tmp/plugins.err" || fail "--list-plugins"
grep -q "^prefix (discovery plugin" "$tmp/plugins.out" || fail "--list-plugins does not list prefix"

echo "# --list-tools through the vendor plugin"
run --list-tools >"$tmp/tools.out" 2>"$tmp/tools.err" || fail "--list-tools failed"
cat "$tmp/tools.out"
grep -q "^say_hello  *greet  *Greets someone by name." "$tmp/tools.out" || fail "say_hello missing"
grep -q "^echo  *echo  *Returns its input." "$tmp/tools.out" || fail "echo missing"
[ "$(wc -l <"$tmp/tools.out")" -eq 2 ] || fail "expected exactly the 2 catalog tools"

echo "# tools/list and tools/call over MCP"
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"say_hello","arguments":{"name":"Ada"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}' \
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"say_hello","arguments":{"nom":"Ada"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}' \
  | run >"$tmp/mcp.out" 2>"$tmp/mcp.err" || fail "the server failed"
grep '"id":1' "$tmp/mcp.out" | grep -q '"title":"Say hello"' || fail "the tool title from the catalog is missing"
grep '"id":1' "$tmp/mcp.out" | grep -q '"readOnlyHint":true' || fail "the annotations from the catalog are missing"
grep '"id":1' "$tmp/mcp.out" | grep -q '"required":\["name"\]' || fail "the input schema from the catalog is missing"
grep '"id":2' "$tmp/mcp.out" | grep -q 'Hello, Ada!' || fail "the call did not reach the greet function"
grep '"id":3' "$tmp/mcp.out" | grep -q '"isError":true' || fail "arguments violating the catalog schema were not refused"
grep '"id":3' "$tmp/mcp.out" | grep -q "missing required property 'name'" || fail "the schema violation is not explained"
echo "PASS: the example plugin builds against the installed SDK alone, loads, lists and calls"
