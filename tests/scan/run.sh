#!/bin/sh
# SPDX-License-Identifier: MIT
# Scanner acceptance tests, called by `make test`: golden outputs of `hybridgate scan` (exact
# diff; golden/NAME.yaml, when present, is passed with -c), contract checks on every golden line (one line per input, ids kept, offsets in range),
# then the accuracy scorer on ../shared/data/pii-dev (skipped with a note when the data is
# missing). Exits non-zero on the first failure. Runs in a few seconds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${HYBRIDGATE_BIN:-$repo/build/hybridgate}
fail=0
for in in "$here"/golden/*.jsonl; do
    exp=${in%.jsonl}.expected
    out=$(mktemp)
    cfg=${in%.jsonl}.yaml
    if [ -f "$cfg" ]; then
        "$bin" scan -c "$cfg" < "$in" > "$out"
    else
        "$bin" scan < "$in" > "$out"
    fi
    if ! diff -u "$exp" "$out"; then
        echo "golden: FAIL $(basename "$in")"
        fail=1
    else
        echo "golden: ok $(basename "$in")"
    fi
    python3 "$here/check_contract.py" "$in" "$out" || fail=1
    rm -f "$out"
done
data=${PII_DEV_DIR:-$(dirname "$repo")/shared/data/pii-dev}
if [ -d "$data" ]; then
    HYBRIDGATE_BIN=$bin PII_DEV_DIR=$data python3 "$here/score.py" || fail=1
else
    echo "score: skipped, no data at $data"
fi
exit $fail
