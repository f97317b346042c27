#!/bin/sh
# Installs what lambda-mcp needs to build, test and run its demo on Debian 12 (as root, or
# through sudo): the C toolchain and libraries, the emulator's Python parts, Node.js for the
# official MCP clients, and the clients themselves (npm ci, pinned by package-lock.json).
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES="build-essential autoconf automake libtool pkg-config
  libcurl4-openssl-dev libjson-c-dev libconfig-dev libssl-dev libcmocka-dev
  python3 python3-botocore python3-boto3 valgrind ca-certificates openssl groff-base"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "install-deps: apt-get install$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: Node.js $(node --version) is too old: the official MCP clients need Node.js 20 or later" >&2
  echo "install-deps: (Debian 12's own nodejs is 18: install Node.js 20, e.g. from NodeSource, and run this again)" >&2
  exit 1
fi

echo "install-deps: npm ci (tests/mcp-clients: the official MCP clients, pinned)"
npm ci --prefix tests/mcp-clients --no-audit --no-fund --loglevel=error
