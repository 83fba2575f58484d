#!/bin/sh
# SPDX-License-Identifier: MIT
# What recording usage costs the gateway (issue 6: "under 2% of throughput at c=64"): the same
# gateway build twice, `store:` on a SQLite file and `store: off`, in front of an nginx stand-in
# that answers every POST with a fixed chat completion carrying `usage`. wrk at c=64 drives each in
# alternating runs; the script prints throughput and gateway CPU per request (all threads, writer
# included) for both, and the difference. CPU per request is the steadier figure on a shared box.
#   bench/store_overhead.sh [--json]      env: RUNS (3), SECS (8), CONNS (64), HYBRIDGATE_BIN
set -eu
JSON=0
[ "${1:-}" = "--json" ] && JSON=1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${HYBRIDGATE_BIN:-$ROOT/build/hybridgate}
RUNS=${RUNS:-3}
SECS=${SECS:-8}
CONNS=${CONNS:-64}
for t in wrk nginx python3; do
    command -v $t >/dev/null || { echo "store_overhead: $t not found (scripts/deps.sh)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "store_overhead: no $BIN (make)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/hg-store-bench.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port)
ON=$(port)
OFF=$(port)

cat >"$TMP/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$UP;
    location / {
      default_type application/json;
      return 200 '{"id":"b","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":900,"completion_tokens":20,"total_tokens":920}}';
    }
  }
}
NGINX
nginx -c "$TMP/nginx.conf" -p "$TMP" -e "$TMP/nginx.err" &
PIDS="$PIDS $!"

for mode in on off; do
    if [ $mode = on ]; then p=$ON; st="store: {path: $TMP/usage.db}"; else p=$OFF; st="store: off"; fi
    cat >"$TMP/gw_$mode.yaml" <<YAML
listen: 127.0.0.1:$p
access_log: off
log_level: warn
backends:
  - {name: local, kind: self_hosted, base_url: 'http://127.0.0.1:$UP/v1', models: [m], health_interval: 0s}
prices:
  pools:
    local: {replica_monthly_usd: 6000, replica_tokens_per_second: 12000, min_replicas: 2}
$st
YAML
    "$BIN" serve -c "$TMP/gw_$mode.yaml" 2>"$TMP/gw_$mode.log" &
    eval "PID_$mode=$!"
    PIDS="$PIDS $!"
done
cat >"$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"hello"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
for p in $ON $OFF; do
    i=0
    until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$p),0.2)" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "store_overhead: gateway on :$p did not start" >&2; cat "$TMP"/gw_*.log >&2; exit 1; }
        sleep 0.1
    done
done
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
REQ_on=0; REQ_off=0; CPU_on=0; CPU_off=0; ERR=0
wrk -t2 -c"$CONNS" -d2s -s "$TMP/post.lua" "http://127.0.0.1:$ON/v1/chat/completions" >/dev/null  # warm up
wrk -t2 -c"$CONNS" -d2s -s "$TMP/post.lua" "http://127.0.0.1:$OFF/v1/chat/completions" >/dev/null
r=0
while [ $r -lt "$RUNS" ]; do
    for mode in off on; do
        eval "pid=\$PID_$mode"
        if [ $mode = on ]; then p=$ON; else p=$OFF; fi
        c0=$(ticks "$pid")
        out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$TMP/post.lua" "http://127.0.0.1:$p/v1/chat/completions")
        c1=$(ticks "$pid")
        n=$(echo "$out" | awk '/requests in/ {print $1}')
        bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
        ERR=$((ERR + ${bad:-0}))
        eval "REQ_$mode=\$((REQ_$mode + n)); CPU_$mode=\$((CPU_$mode + c1 - c0))"
    done
    r=$((r + 1))
done
kill "$PID_on" "$PID_off"
wait "$PID_on" "$PID_off" 2>/dev/null || true
ROWS=$(python3 -c "import sqlite3; print(sqlite3.connect('$TMP/usage.db').execute('select count(*) from requests').fetchone()[0])")
python3 - "$REQ_on" "$REQ_off" "$CPU_on" "$CPU_off" "$HZ" "$RUNS" "$SECS" "$CONNS" "$ROWS" "$ERR" "$JSON" <<'PY'
import json, sys
req_on, req_off, cpu_on, cpu_off, hz, runs, secs, conns, rows, err, js = map(int, sys.argv[1:])
t = runs * secs
rps_on, rps_off = req_on / t, req_off / t
us_on, us_off = cpu_on / hz * 1e6 / req_on, cpu_off / hz * 1e6 / req_off
d_rps = 100.0 * (rps_off - rps_on) / rps_off
d_cpu = 100.0 * (us_on - us_off) / us_off
warm = rows - req_on  # warm-up requests are recorded too
if js:
    print(json.dumps({"conns": conns, "rps_store_on": round(rps_on), "rps_store_off": round(rps_off),
                      "throughput_cost_pct": round(d_rps, 2), "cpu_us_per_req_on": round(us_on, 2),
                      "cpu_us_per_req_off": round(us_off, 2), "cpu_cost_pct": round(d_cpu, 2),
                      "rows_written": rows, "non_2xx": err}))
else:
    print("store overhead (c=%d): %.0f req/s with the store, %.0f without (%+.1f%% throughput); "
          "%.1f vs %.1f us CPU/req (%+.1f%%); %d rows written, %d non-2xx"
          % (conns, rps_on, rps_off, -d_rps, us_on, us_off, d_cpu, rows, err))
sys.exit(1 if err or warm < 0 else 0)
PY
