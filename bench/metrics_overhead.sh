#!/bin/sh
# Throughput cost of metrics + access log at c=64: the same gateway binary and upstream, run with
# `metrics: {enabled: false}` + `access_log: off` (baseline) and with metrics on + an access-log file
# (full), alternating BASE/FULL for ROUNDS rounds, wrk on CPU 1, upstream and gateway on CPU 0.
# Prints one line: medians of requests/s and of the gateway's CPU time per request (all threads,
# the access-log writer included), and the cost of each in percent; --json for a JSON object. Runs on 127.0.0.1 only,
# with its own nginx upstream on an ephemeral port; stops everything it started by PID.
# Knobs: DURATION (8s), ROUNDS (3), CONNS (64), BIN (build/hybridgate).
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-build/hybridgate}
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
JSON=0
[ "${1:-}" = "--json" ] && JSON=1
for t in nginx wrk taskset; do
    command -v $t >/dev/null 2>&1 || { echo "metrics_overhead: $t not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "metrics_overhead: no $BIN (make first)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/hg-mbench-XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    [ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
    sleep 0.2
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

UP=$(port)
cat > "$TMP/nginx.conf" <<NGX
worker_processes 1;
daemon on;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP; proxy_temp_path $TMP; fastcgi_temp_path $TMP;
    uwsgi_temp_path $TMP; scgi_temp_path $TMP;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$UP;
        location / {
            default_type application/json;
            return 200 '{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}';
        }
    }
}
NGX
taskset -c 0 nginx -c "$TMP/nginx.conf" -p "$TMP" 2>/dev/null

cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"Say hello."}]}'
LUA

start_gw() { # $1 = base|full
    GP=$(port)
    if [ "$1" = base ]; then
        extra="metrics:
  enabled: false
access_log: \"off\"
store: {path: $TMP/usage-base.db}"
    else
        rm -f "$TMP/access.log"
        extra="access_log: $TMP/access.log
store: {path: $TMP/usage-full.db}"
    fi
    cat > "$TMP/gw-$1.yaml" <<YAML
listen: 127.0.0.1:$GP
workers: 1
$extra
backends:
  - name: local
    kind: self_hosted
    base_url: http://127.0.0.1:$UP/v1
    models: [m]
    health_interval: 0
YAML
    taskset -c 0 "$BIN" serve -c "$TMP/gw-$1.yaml" >"$TMP/gw-$1.out" 2>"$TMP/gw-$1.err" &
    GWPID=$!
    PIDS="$PIDS $GWPID"
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$GP/healthz"; do
        i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMP/gw-$1.err" >&2; exit 1; }; sleep 0.05
    done
    # check one answer before measuring: a fast error page is not a result
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"model":"m","messages":[{"role":"user","content":"x"}]}' "http://127.0.0.1:$GP/v1/chat/completions")
    [ "$code" = 200 ] || { echo "metrics_overhead: gateway answered $code" >&2; exit 1; }
}
stop_gw() { kill "$GWPID"; wait "$GWPID" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$GWPID/stat"; }
run_wrk() { # appends requests/s to $1.txt and gateway CPU µs per request to $1.cpu
    t0=$(cpu_ticks)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -s "$TMP/post.lua" "http://127.0.0.1:$GP/v1/chat/completions" \
        > "$TMP/wrk.out"
    t1=$(cpu_ticks)
    if grep -q Non-2xx "$TMP/wrk.out"; then cat "$TMP/wrk.out" >&2; exit 1; fi
    awk '/^Requests\/sec/ {print $2}' "$TMP/wrk.out" >> "$TMP/$1.txt"
    # the gateway's user+system CPU (all its threads, the access-log writer included) per request:
    # less sensitive than requests/s to other load on a shared machine
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '/ requests in / {printf "%.2f\n", t / hz * 1e6 / $1}' \
        "$TMP/wrk.out" >> "$TMP/$1.cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: > "$TMP/base.txt"; : > "$TMP/full.txt"; : > "$TMP/base.cpu"; : > "$TMP/full.cpu"
r=0
while [ $r -lt "$ROUNDS" ]; do
    for mode in base full; do
        start_gw $mode
        run_wrk $mode
        if [ $mode = full ]; then
            lines=$(wc -l < "$TMP/access.log")
            metrics=$(curl -s "http://127.0.0.1:$GP/metrics" | awk '/^hybridgate_requests_total/ {s+=$2} END {print s+0}')
        fi
        stop_gw
    done
    r=$((r + 1))
done
B=$(median < "$TMP/base.txt")
F=$(median < "$TMP/full.txt")
COST=$(awk -v b="$B" -v f="$F" 'BEGIN {printf "%.2f", 100 * (b - f) / b}')
BC=$(median < "$TMP/base.cpu")
FC=$(median < "$TMP/full.cpu")
CCOST=$(awk -v b="$BC" -v f="$FC" 'BEGIN {printf "%.2f", 100 * (f - b) / b}')
if [ $JSON = 1 ]; then
    printf '{"conns":%s,"base_rps":%s,"full_rps":%s,"cost_pct":%s,"base_cpu_us":%s,"full_cpu_us":%s,"cpu_cost_pct":%s,"base_runs":[%s],"full_runs":[%s]}\n' \
        "$CONNS" "$B" "$F" "$COST" "$BC" "$FC" "$CCOST" "$(paste -sd, "$TMP/base.txt")" "$(paste -sd, "$TMP/full.txt")"
else
    echo "metrics+access log at c=$CONNS: base $B req/s, full $F req/s, cost $COST%; gateway CPU/request base $BC µs, full $FC µs, cost $CCOST% (runs: base $(paste -sd' ' "$TMP/base.txt"); full $(paste -sd' ' "$TMP/full.txt")); last full run: $lines log lines, $metrics counted"
fi
