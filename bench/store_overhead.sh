#!/bin/sh
# SPDX-License-Identifier: MIT
# Throughput cost of recording usage at c=64 (issue 6: "under 2% of throughput"): BASE runs with
# `store: off`, FULL with the SQLite usage store on and every request priced by the meter; metrics and
# the access log are off in both, so the difference is the store alone (its writer thread shares the
# pinned core). Also measured in FULL runs: the CPU time of the writer thread (hg-store) per request
# and its share of the gateway's CPU, the store's cost with little of the VM's noise (the request
# path's part, a priced copy into the queue, is counted by bench/ir_share.sh). Prints one line (or
# --json); method and knobs in bench/overhead_lib.sh.
NAME=store_overhead
THREAD=hg-store
ROUNDS=${ROUNDS:-6} # a 1-2 % effect under +-5 % run-to-run noise: medians of 6 pairs, ABBA
. "$(dirname "$0")/overhead_lib.sh"
config_for() {
    printf 'metrics:\n  enabled: false\naccess_log: "off"\n'
    if [ "$1" = base ]; then
        printf 'store: off\n'
    else
        rm -f "$TMP"/usage.db*
        printf 'store: {path: %s/usage.db}\nprices:\n  pools:\n' "$TMP"
        printf '    local: {replica_monthly_usd: 6000, replica_tokens_per_second: 12000, min_replicas: 2}\n'
    fi
}
after_run() { :; }
after_stop() { # the gateway has stopped, so store_close wrote every queued row
    [ "$1" = full ] || return 0
    rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from requests').fetchone()[0])" "$TMP/usage.db")
}
measure
report "usage store" off on \
    "store writer thread $FT µs/request = $TSHARE% of the gateway's CPU (median); last run wrote $rows rows" \
    ",\"rows\":$rows,\"writer_us\":$FT,\"writer_share_pct\":$TSHARE"
