#!/bin/sh
# Share of the gateway's CPU work spent on metrics + access log, counted in instructions with
# callgrind (deterministic, unlike requests/s on a shared machine): the gateway runs under
# valgrind with instrumentation switched on only while wrk sends chat completions to it through a
# local nginx upstream; the inclusive instruction counts of admin_request_done (request path:
# metrics_record + accesslog_push) and of the access-log writer thread are divided by the program
# total. User space only: the kernel's share of a proxied request (~half, docs/http-stack) is not
# counted, so the share of all CPU is lower still. Prints one line; --json for JSON.
# Knobs: DURATION (15s), CONNS (8), BIN (build/hybridgate).
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-build/hybridgate}
DURATION=${DURATION:-15s}
CONNS=${CONNS:-8}
JSON=0
[ "${1:-}" = "--json" ] && JSON=1
for t in nginx wrk valgrind callgrind_control callgrind_annotate curl; do
    command -v $t >/dev/null 2>&1 || { echo "metrics_ir: $t not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "metrics_ir: no $BIN (make first)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/hg-mir-XXXXXX)
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
json_upstream_conf "$TMP" "$UP" > "$TMP/nginx.conf"
nginx -c "$TMP/nginx.conf" -p "$TMP" 2>/dev/null
cat > "$TMP/gw.yaml" <<YAML
listen: 127.0.0.1:$GP
workers: 1
access_log: $TMP/access.log
store: {path: $TMP/usage.db}
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
i=0
until curl -s -o /dev/null "http://127.0.0.1:$GP/healthz"; do
    i=$((i + 1)); [ $i -gt 150 ] && { cat "$TMP/gw.log" >&2; exit 1; }; sleep 0.2
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"model":"m","messages":[{"role":"user","content":"x"}]}' "http://127.0.0.1:$GP/v1/chat/completions")
[ "$code" = 200 ] || { echo "metrics_ir: gateway answered $code" >&2; exit 1; }
callgrind_control -i on "$VG" >/dev/null 2>&1
wrk -t1 -c"$CONNS" -d"$DURATION" -s "$TMP/post.lua" "http://127.0.0.1:$GP/v1/chat/completions" > "$TMP/wrk.out"
sleep 0.1 # the writer's last pass
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
awk -v t="$TOTAL" -v p="$PATHIR" -v w="$WRITER" -v n="$REQS" -v j="$JSON" 'BEGIN {
    if (j) printf "{\"requests\":%d,\"ir_per_request\":%.0f,\"path_ir_per_request\":%.0f,\"writer_ir_per_request\":%.0f,\"path_pct\":%.3f,\"total_pct\":%.3f}\n",
        n, t / n, p / n, w / n, 100 * p / t, 100 * (p + w) / t;
    else printf "metrics+access log (callgrind, %d requests): %.0f instructions/request in the gateway; request path %.0f (%.2f%%), log writer %.0f; total %.2f%% of user-space instructions\n",
        n, t / n, p / n, 100 * p / t, w / n, 100 * (p + w) / t }'
