# SPDX-License-Identifier: MIT
# Shared by bench/metrics_overhead.sh and bench/store_overhead.sh (sourced, POSIX sh): the same gateway
# binary and upstream, run as BASE and FULL alternately (ABBA) for ROUNDS rounds at CONNS connections, wrk on
# CPU 1, upstream and gateway on CPU 0; medians of requests/s and of the gateway's CPU time per request
# (all its threads). The caller sets NAME and defines config_for MODE (prints the YAML that differs),
# after_run MODE (gateway still up) and after_stop MODE, then calls measure and report.
# THREAD, when set by the caller, names a gateway thread (/proc/PID/task/TID/comm) whose own CPU
# time per request is also measured in FULL runs: the work of that thread alone, which a shared
# machine's noise affects far less than requests/s.
# Knobs: DURATION (8s), ROUNDS (3), CONNS (64), BIN (build/hybridgate); --json as $1.
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-build/hybridgate}
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
JSON=0
[ "${1:-}" = "--json" ] && JSON=1
for t in nginx wrk taskset; do
    command -v $t >/dev/null 2>&1 || { echo "$NAME: $t not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "$NAME: no $BIN (make first)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/hg-bench-XXXXXX)
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
. bench/json_upstream.sh
. bench/gw_ready.sh
json_upstream_conf "$TMP" "$UP" > "$TMP/nginx.conf"
taskset -c 0 nginx -c "$TMP/nginx.conf" -p "$TMP" 2>/dev/null

cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"Say hello."}]}'
LUA

start_gw() { # $1 = base|full
    GP=$(port)
    {
        printf 'listen: 127.0.0.1:%s\nworkers: 1\n' "$GP"
        config_for "$1"
        printf 'backends:\n  - name: local\n    kind: self_hosted\n    base_url: http://127.0.0.1:%s/v1\n' "$UP"
        printf '    models: [m]\n    health_interval: 0\n'
    } > "$TMP/gw-$1.yaml"
    taskset -c 0 "$BIN" serve -c "$TMP/gw-$1.yaml" >"$TMP/gw-$1.out" 2>"$TMP/gw-$1.err" &
    GWPID=$!
    PIDS="$PIDS $GWPID"
    gw_ready "$GP" "$TMP/gw-$1.err" 100 0.05
}
stop_gw() { kill "$GWPID"; wait "$GWPID" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$GWPID/stat"; }
thread_ticks() { # user+system ticks of the gateway's threads named $THREAD (0 when none)
    n=0
    for t in /proc/"$GWPID"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "${THREAD:-}" ] || continue
        n=$((n + $(awk '{print $14 + $15}' "$t/stat")))
    done
    echo $n
}
run_wrk() { # appends requests/s to $1.txt and gateway CPU µs per request to $1.cpu
    t0=$(cpu_ticks)
    h0=$(thread_ticks)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -s "$TMP/post.lua" "http://127.0.0.1:$GP/v1/chat/completions" \
        > "$TMP/wrk.out"
    # a thread that batches (the store writer lingers up to 500 ms) finishes its last batch
    [ -n "${THREAD:-}" ] && sleep 0.7
    t1=$(cpu_ticks)
    h1=$(thread_ticks)
    if grep -q Non-2xx "$TMP/wrk.out"; then cat "$TMP/wrk.out" >&2; exit 1; fi
    awk '/^Requests\/sec/ {print $2}' "$TMP/wrk.out" >> "$TMP/$1.txt"
    # the gateway's user+system CPU (all its threads) per request: less sensitive than requests/s
    # to other load on a shared machine
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '/ requests in / {printf "%.2f\n", t / hz * 1e6 / $1}' \
        "$TMP/wrk.out" >> "$TMP/$1.cpu"
    awk -v t="$((h1 - h0))" -v hz="$(getconf CLK_TCK)" '/ requests in / {printf "%.3f\n", t / hz * 1e6 / $1}' \
        "$TMP/wrk.out" >> "$TMP/$1.thr"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

measure() {
    : > "$TMP/base.txt"; : > "$TMP/full.txt"; : > "$TMP/base.cpu"; : > "$TMP/full.cpu"
    : > "$TMP/base.thr"; : > "$TMP/full.thr"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        # ABBA order: a machine that drifts (other tenants, clocks) over the minutes of a run
        # weighs on both modes alike instead of always on the one measured second
        order="base full"
        [ $((r % 2)) = 1 ] && order="full base"
        for mode in $order; do
            start_gw $mode
            run_wrk $mode
            after_run $mode
            stop_gw
            after_stop $mode
        done
        r=$((r + 1))
    done
    B=$(median < "$TMP/base.txt")
    F=$(median < "$TMP/full.txt")
    COST=$(awk -v b="$B" -v f="$F" 'BEGIN {printf "%.2f", 100 * (b - f) / b}')
    BC=$(median < "$TMP/base.cpu")
    FC=$(median < "$TMP/full.cpu")
    CCOST=$(awk -v b="$BC" -v f="$FC" 'BEGIN {printf "%.2f", 100 * (f - b) / b}')
    # the named thread's CPU per request, and its share of the whole gateway's in the same runs
    FT=$(median < "$TMP/full.thr")
    TSHARE=$(paste "$TMP/full.thr" "$TMP/full.cpu" | awk '{printf "%.2f\n", 100 * $1 / $2}' | median)
}

report() { # $1 what, $2 base label, $3 full label, $4 text tail, $5 extra JSON members (",\"k\":v")
    if [ $JSON = 1 ]; then
        printf '{"conns":%s,"base_rps":%s,"full_rps":%s,"cost_pct":%s,"base_cpu_us":%s,"full_cpu_us":%s,"cpu_cost_pct":%s,"base_runs":[%s],"full_runs":[%s]%s}\n' \
            "$CONNS" "$B" "$F" "$COST" "$BC" "$FC" "$CCOST" "$(paste -sd, "$TMP/base.txt")" \
            "$(paste -sd, "$TMP/full.txt")" "$5"
    else
        echo "$1 at c=$CONNS: $2 $B req/s, $3 $F req/s, cost $COST%; gateway CPU/request $2 $BC µs, $3 $FC µs, cost $CCOST% (runs: $2 $(paste -sd' ' "$TMP/base.txt"); $3 $(paste -sd' ' "$TMP/full.txt")); $4"
    fi
}
