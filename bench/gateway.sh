#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/gateway.sh [--json] — the gateway benchmark of `make bench` (issue 3's table), in one run:
#   1. wrk through ../shared/harness/compare.sh: direct to the stand-in upstream (nginx :18001), the nginx
#      floor (:18002), haproxy (:18003, if installed), Portkey (:8787) and hybridgate with `workers: 1`;
#      chat and stream; c=1 and c=64. Servers are pinned to CPU 0 and wrk to CPU 1 (harness/up.sh).
#      Printed: each figure, the added p50 at c=1 against direct, and rps as a ratio of nginx's.
#   2. hybridgate's idle RSS.
#   3. STREAMS (10000) concurrent open streams against a slow upstream (bench/streams10k.py), with the
#      gateway's RSS while they are held.
# Targets (issue 3): +p50 <= 0.150 ms at c=1; rps/nginx >= 0.5 at c=64 (chat and stream); idle RSS < 20 MB;
# 10k streams held with RSS < 300 MB. Not a test: it reports, it does not fail on a missed target.
#
# Environment: BENCH_ONLY=wrk|streams (one part only), BENCH_QUICK=1 (smoke run: 2 s runs, one round, 1000 streams), BENCH_PORTKEY=0 (skip Portkey,
# which npm-installs on first use), STREAMS, HARNESS_DIR (default ../shared/harness beside the clone),
# HYBRIDGATE_BIN (default build/hybridgate), BENCH_PORT (18080), plus compare.sh/bench.sh's knobs
# (DURATION, ROUNDS, WARMUP, CONNS, ...). Output also goes to build/bench/ (gateway.txt, gateway.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
json=0
[ "${1:-}" = "--json" ] && json=1
HARNESS_DIR=${HARNESS_DIR:-$repo/../shared/harness}
BIN=${HYBRIDGATE_BIN:-$repo/build/hybridgate}
PORT=${BENCH_PORT:-18080}
OUTDIR=$repo/build/bench
mkdir -p "$OUTDIR"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    export DURATION=${DURATION:-2s} ROUNDS=${ROUNDS:-1} WARMUP=${WARMUP:-1s} QUIET_WAIT=${QUIET_WAIT:-3}
    STREAMS=${STREAMS:-1000}
fi
export CONNS=${CONNS:-1 64}
STREAMS=${STREAMS:-10000}
[ -x "$BIN" ] || { echo "gateway.sh: $BIN not built" >&2; exit 1; }
[ -x "$HARNESS_DIR/compare.sh" ] || { echo "gateway.sh: no harness at $HARNESS_DIR" >&2; exit 1; }
for t in wrk nginx taskset curl python3; do
    command -v $t >/dev/null || { echo "gateway.sh: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/hg-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "$HARNESS_DIR/down.sh" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

log() { echo "gateway.sh: $*" >&2; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
wait_http() { # URL SECONDS
    local i=0
    until curl -sf -o /dev/null -m 1 "$1"; do
        i=$((i + 1)); [ "$i" -gt $(($2 * 10)) ] && return 1; sleep 0.1
    done
}

ONLY=${BENCH_ONLY:-}
: >"$tmp/compare.txt"
idle_rss=0
if [ "$ONLY" != streams ]; then
# -- 1. stand-ins, Portkey, hybridgate -----------------------------------------------------------------
log "starting the stand-ins (harness/up.sh${BENCH_PORTKEY:+ BENCH_PORTKEY=$BENCH_PORTKEY})"
if [ "${BENCH_PORTKEY:-1}" = 1 ]; then "$HARNESS_DIR/up.sh" portkey >&2; else "$HARNESS_DIR/up.sh" >&2; fi

# One gateway for both passes: the harness picks JSON or SSE by upstream path, so the stream pass asks for a
# model served by a backend whose base_url is the stand-in's /stream/v1 (bench/post-hybridgate.lua).
cat >"$tmp/bench.yaml" <<EOF
listen: 127.0.0.1:$PORT
workers: 1
access_log: off
log_level: warn
backends:
  - name: standin
    kind: self_hosted
    base_url: http://127.0.0.1:18001/v1
    models: [llama-3-70b]
  - name: standin-stream
    kind: self_hosted
    base_url: http://127.0.0.1:18001/stream/v1
    models: [llama-3-70b-stream]
    health_interval: 0
EOF
# every start after the first reads the scanner's compiled-database cache (docs/internals/SCAN.md);
# check-config builds the scanner once, so the idle RSS below is that steady state, not a compile's
"$BIN" check-config -c "$tmp/bench.yaml" >/dev/null 2>&1 || true
taskset -c "${SERVER_CPU:-0}" "$BIN" serve -c "$tmp/bench.yaml" </dev/null >"$tmp/gw.out" 2>"$tmp/gw.err" &
gw=$!
pids+=("$gw")
wait_http "http://127.0.0.1:$PORT/healthz" 10 || { cat "$tmp/gw.err" >&2; log "hybridgate did not start"; exit 1; }
sleep 1
idle_rss=$(rss_kib "$gw")
log "hybridgate pid $gw, idle RSS $idle_rss KiB"

log "compare.sh: DURATION=${DURATION:-10s} ROUNDS=${ROUNDS:-3} CONNS='$CONNS' (this takes a while)"
OUT=$OUTDIR/compare.tsv "$HARNESS_DIR/compare.sh" \
    "hybridgate=http://127.0.0.1:$PORT,$here/post-hybridgate.lua,/v1/chat/completions" >"$tmp/compare.txt"
kill "$gw" 2>/dev/null || true
wait "$gw" 2>/dev/null || true
fi

streams_json='{}'
note=""
gw2_alive=1
if [ "$ONLY" != wrk ]; then

# -- 3. many open streams ------------------------------------------------------------------------------
nofile_hard=$(ulimit -Hn)
[ "$nofile_hard" = unlimited ] && nofile_hard=1048576
ulimit -n "$nofile_hard"
python3 "$here/streams10k.py" upstream --port-file "$tmp/slow.port" --interval 5 2>"$tmp/slow.err" &
pids+=("$!")
for _ in $(seq 50); do [ -s "$tmp/slow.port" ] && break; sleep 0.1; done
slow_port=$(cat "$tmp/slow.port")
sport=$((PORT + 1))
cat >"$tmp/streams.yaml" <<EOF
listen: 127.0.0.1:$sport
workers: 1
access_log: off
log_level: warn
idle_timeout: 60s
first_byte_timeout: 60s
backends:
  - name: slow
    kind: self_hosted
    base_url: http://127.0.0.1:$slow_port/v1
    models: [slow]
EOF
taskset -c "${SERVER_CPU:-0}" "$BIN" serve -c "$tmp/streams.yaml" </dev/null >"$tmp/gw2.out" 2>"$tmp/gw2.err" &
gw2=$!
pids+=("$gw2")
wait_http "http://127.0.0.1:$sport/healthz" 10 || { cat "$tmp/gw2.err" >&2; log "hybridgate (streams) did not start"; exit 1; }
sleep 1
# the gateway holds two sockets per stream (client + upstream), besides what it has open at idle
idle_fds=$(ls "/proc/$gw2/fd" 2>/dev/null | wc -l)
max_streams=$(((nofile_hard - idle_fds - 100) / 2))
n=$STREAMS
if [ "$n" -gt "$max_streams" ]; then
    note="limited to $max_streams by RLIMIT_NOFILE hard limit $nofile_hard (2 fds per stream, $idle_fds open at idle)"
    n=$max_streams
    log "streams: $note"
fi
log "opening $n streams through hybridgate (pid $gw2)"
cpu0=$(cpu_ticks "$gw2")
streams_json=$(python3 "$here/streams10k.py" client --port "$sport" --n "$n" --rss-pid "$gw2" --hold 3 \
    2>"$tmp/client.err" | tail -1) || true
gw_cpu=$(( $(cpu_ticks "$gw2") - cpu0 ))
[ -n "$streams_json" ] && streams_json=$(echo "$streams_json" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); d["gateway_cpu_s"]=int(sys.argv[1])/100; print(json.dumps(d))' "$gw_cpu")
[ -n "$streams_json" ] || { streams_json='{}'; log "streams client failed: $(tail -3 "$tmp/client.err")"; }
kill -0 "$gw2" 2>/dev/null || gw2_alive=0
fi

# -- report --------------------------------------------------------------------------------------------
python3 - "$tmp/compare.txt" "$idle_rss" "$streams_json" "$STREAMS" "$note" "$gw2_alive" "$json" \
    "$OUTDIR" <<'PY'
import json, sys
path, idle, streams, target, note, alive, as_json, outdir = sys.argv[1:]
rows, extra = [], []
cols = None
for line in open(path):
    f = line.split()
    if not f:
        continue
    if f[0] == "target":
        cols = f
        continue
    if cols and len(f) == len(cols) and f[2].isdigit():
        r = dict(zip(cols, f))
        for k in ("conns", "rps", "errors", "other%"):
            r[k] = int(float(r[k]))
        for k in ("p50_ms", "p90_ms", "p99_ms", "rss_MiB"):
            r[k] = float(r[k])
        for k in ("+p50_ms", "rps/nginx"):
            r[k] = None if r[k] == "-" else float(r[k])
        rows.append(r)
    else:
        extra.append(line.rstrip())
s = json.loads(streams) if streams.strip() else {}
hg = {(r["mode"], r["conns"]): r for r in rows if r["target"] == "hybridgate"}
targets = {
    "added_p50_ms_c1_chat": (hg.get(("chat", 1), {}).get("+p50_ms"), "<= 0.150"),
    "added_p50_ms_c1_stream": (hg.get(("stream", 1), {}).get("+p50_ms"), "<= 0.150"),
    "rps_vs_nginx_c64_chat": (hg.get(("chat", 64), {}).get("rps/nginx"), ">= 0.5"),
    "rps_vs_nginx_c64_stream": (hg.get(("stream", 64), {}).get("rps/nginx"), ">= 0.5"),
    "idle_rss_mib": (round(int(idle) / 1024, 1) if int(idle) else None, "< 20"),
    "streams_rss_mib": (round(s.get("rss_kib_peak", 0) / 1024, 1) if s else None, "< 300"),
}
def met(v, t):
    if v is None:
        return None
    op, x = t.split()
    x = float(x)
    return {"<=": v <= x, ">=": v >= x, "<": v < x}[op]
result = {"rows": rows, "idle_rss_kib": int(idle),
          "streams": dict(s, requested=int(target), note=note or None, gateway_alive_after=alive == "1"),
          "targets": {k: {"value": v, "target": t, "met": met(v, t)} for k, (v, t) in targets.items()}}
with open(outdir + "/gateway.json", "w") as f:
    json.dump(result, f, indent=1)
lines = [open(path).read().rstrip(), "",
         "hybridgate idle RSS: %.1f MiB" % (int(idle) / 1024),
         "open streams: %s of %s established (%s failed) in %ss (gateway CPU %ss); gateway RSS idle %.1f MiB, held %.1f MiB, "
         "peak %.1f MiB, after %.1f MiB%s%s" % (
             s.get("established"), s.get("target"), s.get("failed"), s.get("establish_s"), s.get("gateway_cpu_s"),
             s.get("rss_kib_idle", 0) / 1024, s.get("rss_kib_held", 0) / 1024, s.get("rss_kib_peak", 0) / 1024,
             s.get("rss_kib_after", 0) / 1024, "; " + note if note else "",
             "" if alive == "1" else "; THE GATEWAY DIED"),
         "", "targets (issue 3):"]
for k, (v, t) in targets.items():
    m = met(v, t)
    lines.append("  %-26s %10s  target %-8s %s" % (k, "-" if v is None else v, t,
                                                    "-" if m is None else ("met" if m else "MISSED")))
text = "\n".join(lines)
with open(outdir + "/gateway.txt", "w") as f:
    f.write(text + "\n")
print(json.dumps(result, indent=1) if as_json == "1" else text)
PY
