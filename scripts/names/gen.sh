#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates the scanner's name and place dictionaries (build/gen/names.c) from the locale data of
# the npm package @faker-js/faker (MIT) at build time: first names, last names, cities and countries
# of ~35 locales, minus common English words (gen.py). The package is fetched once from the npm
# registry into a cache outside the clone (HYBRIDGATE_CACHE, default ~/.cache/hybridgate), so the
# repository holds the rules for deriving the lists, not a copy of the third-party data.
# Usage: gen.sh OUT.c
set -eu
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
ver=10.6.0
cache=${HYBRIDGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridgate}/npm-faker
tgz=$cache/faker-js-faker-$ver.tgz
mkdir -p "$cache"
if [ ! -s "$tgz" ]; then
    command -v npm >/dev/null || { echo "names/gen.sh: npm is needed once to fetch @faker-js/faker" >&2; exit 1; }
    (cd "$cache" && npm pack --silent "@faker-js/faker@$ver" >/dev/null)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
tar xzf "$tgz"
cp "$here/dump.mjs" "$here/words.mjs" "$here/gen.py" .
node dump.mjs >/dev/null
node words.mjs >/dev/null
python3 gen.py "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
