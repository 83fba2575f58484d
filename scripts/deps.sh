#!/bin/sh
# Idempotent install of everything hybridgate needs to build, run and test on Debian bookworm.
# Called by `make deps` (and so by `make run` and `make test`). Skips apt when all packages are present.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev libevent-dev libcurl4-openssl-dev libcjson-dev
libyaml-dev libvectorscan-dev libssl-dev libsqlite3-dev libpq-dev sqlite3 curl ca-certificates
python3 nginx wrk postgresql prometheus chromium openssl"
[ "${1:-}" = "--print" ] && { echo $PKGS; exit 0; }
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
