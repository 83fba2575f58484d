#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the files that are derived from code (`make gen`): hybridgate.example.yaml and
# docs/config.md from the option table in src/core/config.c. With --check it writes nothing and
# fails when a committed file differs from what the code generates (tests/e2e/15_generated.py).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${HYBRIDGATE_BIN:-$repo/build/hybridgate}
[ -x "$bin" ] || { echo "gen.sh: $bin not built (make)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" config-reference > "$tmp/hybridgate.example.yaml"
"$bin" config-reference --markdown > "$tmp/config.md"
status=0
for pair in "hybridgate.example.yaml:hybridgate.example.yaml" "config.md:docs/config.md"; do
    src=$tmp/${pair%%:*}
    dst=$repo/${pair#*:}
    if [ "${1:-}" = "--check" ]; then
        if ! cmp -s "$src" "$dst"; then
            echo "gen.sh: ${pair#*:} is out of date; run make gen" >&2
            diff -u "$dst" "$src" | head -20 >&2 || true
            status=1
        fi
    else
        cp "$src" "$dst"
        echo "gen.sh: wrote ${pair#*:}"
    fi
done
exit $status
