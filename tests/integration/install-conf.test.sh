#!/bin/sh
# `make install` puts the documented example conf in $(sysconfdir); a later `make install` (an
# upgrade) keeps a conf file the operator edited and puts the new example next to it as .new;
# `make uninstall` removes the conf only when it is still the example as shipped.
set -eu
: "${LMCP_BUILDDIR:?}" "${LMCP_SRCDIR:?}"

tmp=$(mktemp -d /tmp/lmcp-instconf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; [ -f "$tmp/install.log" ] && cat "$tmp/install.log"; exit 1; }
inst() { make -s -C "$LMCP_BUILDDIR" "$1" DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 || fail "make $1"; }

inst install
conf=$(find "$tmp/root" -type f -name lambda-mcp.conf | head -n 1)
[ -n "$conf" ] || fail "lambda-mcp.conf was not installed"
cmp -s "$conf" "$LMCP_SRCDIR/conf/lambda-mcp.conf" || fail "the installed conf is not the example"
echo "ok - a fresh install puts the example in place ($conf)"

inst install
[ ! -e "$conf.new" ] || fail "an unedited conf got a .new next to it"
echo "ok - reinstalling over the unedited example leaves no .new"

echo '# edited by the operator' >>"$conf"
inst install
grep -q '^# edited by the operator$' "$conf" || fail "make install overwrote the edited conf"
cmp -s "$conf.new" "$LMCP_SRCDIR/conf/lambda-mcp.conf" || fail "the new example is not in $conf.new"
grep -q "keeping" "$tmp/install.log" || fail "make install did not say it kept the conf"
echo "ok - reinstalling keeps the edited conf and puts the new example in lambda-mcp.conf.new"

inst uninstall
grep -q '^# edited by the operator$' "$conf" || fail "make uninstall removed the edited conf"
[ ! -e "$conf.new" ] || fail "make uninstall left lambda-mcp.conf.new"
echo "ok - uninstall keeps the edited conf"

cp "$LMCP_SRCDIR/conf/lambda-mcp.conf" "$conf"
inst uninstall
[ ! -e "$conf" ] || fail "make uninstall left the unedited example"
echo "ok - uninstall removes the unedited example"
