#!/bin/sh
# Shares of the gateway's CPU work spent on (1) metrics + access log and (2) recording usage in the
# store, counted in instructions with callgrind (deterministic, unlike requests/s on a shared
# machine): the gateway runs under valgrind with instrumentation switched on only while wrk sends
# chat completions to it through a local nginx upstream, everything on (metrics, access log, SQLite
# store, prices). Inclusive instruction counts, divided by the program total:
#   metrics: admin_request_done (request path: metrics_record + accesslog_push) + the access-log
#            writer thread;
#   store:   meter_cost_micro_usd + store_put (request path: price, copy into the queue) + the
#            store writer thread (SQLite).
# The economics refresher (a report over the store once a minute) is not per-request work and is
# left out of the total. User space only: the kernel's share of a proxied request (~half,
# docs/http-stack) is not counted, so the share of all CPU is lower still. Prints two lines;
# --json for one JSON object. Knobs: DURATION (15s), CONNS (64), BIN (build/hybridgate).
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-build/hybridgate}
DURATION=${DURATION:-15s}
CONNS=${CONNS:-64}
JSON=0
[ "${1:-}" = "--json" ] && JSON=1
for t in nginx wrk valgrind callgrind_control callgrind_annotate curl; do
    command -v $t >/dev/null 2>&1 || { echo "ir_share: $t not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "ir_share: no $BIN (make first)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/hg-irs-XXXXXX)
VG=""
cleanup() {
    [ -n "$VG" ] && kill "$VG" 2>/dev/null || true
    [ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
    sleep 0.2
    [ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
UP=$(port)
GP=$(port)
. bench/json_upstream.sh
. bench/gw_ready.sh
NAME=ir_share
json_upstream_conf "$TMP" "$UP" > "$TMP/nginx.conf"
nginx -c "$TMP/nginx.conf" -p "$TMP" 2>/dev/null
cat > "$TMP/gw.yaml" <<YAML
listen: 127.0.0.1:$GP
workers: 1
access_log: $TMP/access.log
store: {path: $TMP/usage.db}
prices:
  pools:
    local: {replica_monthly_usd: 6000, replica_tokens_per_second: 12000, min_replicas: 2}
backends:
  - name: local
    kind: self_hosted
    base_url: http://127.0.0.1:$UP/v1
    models: [m]
    health_interval: 0
YAML
cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"Say hello."}]}'
LUA
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" \
    "$BIN" serve -c "$TMP/gw.yaml" >"$TMP/gw.log" 2>&1 &
VG=$!
gw_ready "$GP" "$TMP/gw.log" 150 0.2
sleep 1 # the store writer lingers up to 500 ms for a batch: that row is written before we count
callgrind_control -i on "$VG" >/dev/null 2>&1
wrk -t1 -c"$CONNS" -d"$DURATION" -s "$TMP/post.lua" "http://127.0.0.1:$GP/v1/chat/completions" > "$TMP/wrk.out"
sleep 1 # the writers' last batches (the store's lingers up to 500 ms)
callgrind_control -i off "$VG" >/dev/null 2>&1
kill "$VG"
wait "$VG" 2>/dev/null || true
VG=""
if grep -q Non-2xx "$TMP/wrk.out"; then cat "$TMP/wrk.out" >&2; exit 1; fi
REQS=$(awk '/ requests in / {print $1}' "$TMP/wrk.out")
callgrind_annotate --inclusive=yes --threshold=100 "$TMP/cg.out" > "$TMP/ann.txt" 2>/dev/null
ir() { grep -E "$1" "$TMP/ann.txt" | head -1 | awk '{gsub(",", "", $1); print $1 + 0}'; }
# the economics refresher (report over the store, once a minute) is not per-request work
ECON=$(ir '^ *[0-9,]+ \([ 0-9.]+%\) +[^ ]*admin\.c:econ_main ')
TOTAL=$(( $(ir 'PROGRAM TOTALS') - ${ECON:-0} ))
PATHIR=$(ir '^ *[0-9,]+ \([ 0-9.]+%\) +[^ ]*admin\.c:admin_request_done ')
WRITER=$(ir '^ *[0-9,]+ \([ 0-9.]+%\) +[^ ]*metrics/accesslog\.c:writer_main ')
SPRICE=$(ir '^ *[0-9,]+ \([ 0-9.]+%\) +[^ ]*meter\.c:meter_cost_micro_usd ')
SPUT=$(ir '^ *[0-9,]+ \([ 0-9.]+%\) +[^ ]*store/store\.c:store_put ')
SWRITER=$(ir '^ *[0-9,]+ \([ 0-9.]+%\) +[^ ]*store/store\.c:writer_main ')
# every row but the check request's was written while counting
ROWS=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from requests').fetchone()[0])" "$TMP/usage.db")
ROWS=$((ROWS - 1))
awk -v t="$TOTAL" -v p="$PATHIR" -v w="$WRITER" -v sp="$((${SPRICE:-0} + ${SPUT:-0}))" -v sw="${SWRITER:-0}" \
    -v n="$REQS" -v rows="$ROWS" -v j="$JSON" 'BEGIN {
    if (j) printf "{\"requests\":%d,\"ir_per_request\":%.0f,\"metrics\":{\"path_ir_per_request\":%.0f,\"writer_ir_per_request\":%.0f,\"path_pct\":%.3f,\"total_pct\":%.3f},\"store\":{\"rows\":%d,\"path_ir_per_request\":%.0f,\"writer_ir_per_row\":%.0f,\"total_pct\":%.3f}}\n",
        n, t / n, p / n, w / n, 100 * p / t, 100 * (p + w) / t, rows, sp / n, sw / rows, 100 * (sp + sw) / t;
    else {
        printf "metrics+access log (callgrind, %d requests): %.0f instructions/request in the gateway; request path %.0f (%.2f%%), log writer %.0f; total %.2f%% of user-space instructions\n",
            n, t / n, p / n, 100 * p / t, w / n, 100 * (p + w) / t
        printf "usage store (same run, %d rows): request path (price + queue) %.0f instructions/request, SQLite writer %.0f/row; total %.2f%% of user-space instructions\n",
            rows, sp / n, sw / rows, 100 * (sp + sw) / t
    } }'
