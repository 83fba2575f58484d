#!/bin/sh
# SPDX-License-Identifier: MIT
# Throughput cost of metrics + access log at c=64 (issue 7: "under 2% of throughput"): BASE runs with
# `metrics: {enabled: false}` + `access_log: off`, FULL with metrics on + an access-log file; the usage
# store is on in both. Prints one line (or --json); method and knobs in bench/overhead_lib.sh.
NAME=metrics_overhead
. "$(dirname "$0")/overhead_lib.sh"
config_for() {
    if [ "$1" = base ]; then
        printf 'metrics:\n  enabled: false\naccess_log: "off"\nstore: {path: %s/usage-base.db}\n' "$TMP"
    else
        rm -f "$TMP/access.log"
        printf 'access_log: %s/access.log\nstore: {path: %s/usage-full.db}\n' "$TMP" "$TMP"
    fi
}
after_run() {
    [ "$1" = full ] || return 0
    lines=$(wc -l < "$TMP/access.log")
    metrics=$(curl -s "http://127.0.0.1:$GP/metrics" | awk '/^hybridgate_requests_total/ {s+=$2} END {print s+0}')
}
after_stop() { :; }
measure
report "metrics+access log" base full "last full run: $lines log lines, $metrics counted" \
    ",\"lines\":$lines,\"counted\":$metrics"
