#!/bin/sh
# The manual page (doc/lambda-mcp.1, made from doc/lambda-mcp.1.in) says what the server does:
# it renders without a warning, names every option of --help and every variable of README's
# table of upstream variables, shows the plugin directory the binary has built in, and its exit
# statuses are the ones the server returns. make install puts it in man1.
set -eu
: "${LMCP_BUILDDIR:?}" "${LMCP_SRCDIR:?}" "${LMCP_BIN:?}"
man="$LMCP_BUILDDIR/doc/lambda-mcp.1"
tmp=$(mktemp -d /tmp/lmcp-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); }

[ -f "$man" ] || { echo "not ok - $man was not made"; exit 1; }
if ! command -v groff >/dev/null 2>&1; then
  echo "# groff is not installed (Debian: groff-base): the rendering is not checked"
  exit 77
fi

# renders with no warning of any kind
groff -man -ww -z "$man" 2>"$tmp/groff.err" || true
if [ -s "$tmp/groff.err" ]; then not_ok "groff warns: $(head -n 3 "$tmp/groff.err")"; else ok "renders without warnings"; fi
# the text a reader sees (no hyphenation, so that names are whole)
groff -man -Tutf8 -P-cbou -rHY=0 "$man" 2>/dev/null | sed 's/\xe2\x80\x90/-/g' >"$tmp/man.txt"

# every option of --help, long and short
env -i PATH="$PATH" "$LMCP_BIN" --help >"$tmp/help.txt"
for opt in $(grep -oE -- '--[a-z][a-z-]*|(^|[ ,])-[A-Za-z]\b' "$tmp/help.txt" | tr -d ' ,' | sort -u); do
  if grep -qF -- "$opt" "$tmp/man.txt"; then :; else not_ok "option $opt of --help is not in the manual page"; fi
done
ok "every option of --help checked ($(grep -oE -- '--[a-z][a-z-]*' "$tmp/help.txt" | sort -u | wc -l) long)"

# every variable of README's table of upstream variables
vars=$(sed -n '/^| variable | meaning |$/,/^$/p' "$LMCP_SRCDIR/README.md" | grep -oE '`[A-Z][A-Z0-9_]{2,}`' | tr -d '`' | sort -u)
[ -n "$vars" ] || not_ok "README's table of variables was not found"
for v in $vars; do
  grep -qF -- "$v" "$tmp/man.txt" || not_ok "README's variable $v is not in the manual page"
done
ok "README's variables checked ($(echo "$vars" | wc -w))"

# the plugin directory built into the binary, and no placeholder left
dir=$(sed -n 's/.*where plugin .so files are (default: \(.*\))$/\1/p' "$tmp/help.txt")
[ -n "$dir" ] || not_ok "--help shows no default plugin directory"
if grep -qF -- "$dir" "$tmp/man.txt"; then ok "shows the plugin directory $dir"; else not_ok "does not show the plugin directory $dir"; fi
if grep -q '@[A-Z]*@' "$man"; then not_ok "placeholders left: $(grep -o '@[A-Z]*@' "$man" | sort -u | tr '\n' ' ')"; else ok "no placeholder left"; fi

# the exit statuses it documents are the server's
sed -n '/^EXIT STATUS/,/^FILES/p' "$tmp/man.txt" >"$tmp/exit.txt"
for st in 0 1 2; do
  grep -qE "^ +$st\b" "$tmp/exit.txt" || not_ok "EXIT STATUS does not document $st"
done
st=0; "$LMCP_BIN" --no-such-option >/dev/null 2>&1 || st=$?
[ "$st" = 2 ] && ok "an unknown option exits 2" || not_ok "an unknown option exited $st, the page says 2"
printf 'server = { no_such_key = 1; };\n' >"$tmp/bad.conf"
st=0; "$LMCP_BIN" --config "$tmp/bad.conf" --check >/dev/null 2>&1 || st=$?
[ "$st" = 1 ] && ok "a conf file that does not load exits 1" || not_ok "a conf that does not load exited $st, the page says 1"
st=0; env -i PATH="$PATH" HOME="$tmp" AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$tmp/none" \
  AWS_SHARED_CREDENTIALS_FILE="$tmp/none" LAMBDA_MCP_PLUGIN_DIR="$LMCP_PLUGIN_DIR" \
  "$LMCP_BIN" --check >/dev/null 2>&1 || st=$?
[ "$st" = 1 ] && ok "--check without credentials exits 1" || not_ok "--check without credentials exited $st, the page says 1"
st=0; env -i PATH="$PATH" HOME="$tmp" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
  AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_MAX_ATTEMPTS=1 \
  LAMBDA_MCP_PLUGIN_DIR="$LMCP_PLUGIN_DIR" "$LMCP_BIN" </dev/null >/dev/null 2>&1 || st=$?
[ "$st" = 0 ] && ok "serving with AWS unreachable, then the end of stdin: exit 0" || not_ok "the end of stdin with AWS unreachable exited $st, the page says 0"

# make install puts it in man1, directories filled in
make -s -C "$LMCP_BUILDDIR" install-man DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 || not_ok "make install-man failed: $(tail -n 3 "$tmp/install.log")"
inst=$(find "$tmp/root" -path '*/man1/lambda-mcp.1' | head -n 1)
if [ -n "$inst" ] && cmp -s "$inst" "$man"; then ok "make install puts it in $(dirname "${inst#"$tmp/root"}")"; else not_ok "make install did not install it in man1"; fi

[ "$fails" = 0 ] || { echo "# $fails failure(s)"; exit 1; }
