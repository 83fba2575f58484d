#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/local-llm.sh start|stop|status|install [PORT] — a real self-hosted model server for the demo and
# the e2e tests: llama.cpp through node-llama-cpp (prebuilt, CPU only, from the npm registry) behind a small
# OpenAI-compatible wrapper (scripts/local-llm/openai-server.mjs), on 127.0.0.1:PORT (default 8081, where the
# built-in config's self-hosted backend points).
#
# Environment:
#   HYBRIDGATE_MODEL   GGUF file to serve (default: ../shared/models/TinyStories-656K-Q8_0.gguf beside the
#                      clone; that one is checked against its sha256)
#   HYBRIDGATE_CACHE   install dir root (default ${XDG_CACHE_HOME:-~/.cache}/hybridgate); npm packages go to
#                      $HYBRIDGATE_CACHE/localmodel, never into the clone
#   LOCAL_LLM_RUN_DIR  where the pid file and log go (default $HYBRIDGATE_CACHE/run)
#   THREADS            llama.cpp threads (default 1: more spin-wait on 2 cores, see local-model.md)
#   LOCAL_LLM_WAIT     seconds to wait for /health (default 60)
# `stop` kills only the PID in this port's pid file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cmd=${1:-}
PORT=${2:-${LOCAL_LLM_PORT:-8081}}
VERSION=3.22.1
CACHE=${HYBRIDGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybridgate}
DIR=$CACHE/localmodel
RUN=${LOCAL_LLM_RUN_DIR:-$CACHE/run}
PIDF=$RUN/local-llm-$PORT.pid
LOG=$RUN/local-llm-$PORT.log
DEFAULT_MODEL=$repo/../shared/models/TinyStories-656K-Q8_0.gguf
DEFAULT_SHA256=c773a9eb8883751131f30e0c1965c56b1102a4972fdac6a6f71fe156ba6d8cb7
MODEL=${HYBRIDGATE_MODEL:-$DEFAULT_MODEL}
WAIT=${LOCAL_LLM_WAIT:-60}

say() { echo "local-llm: $*" >&2; }
die() { say "$*"; exit 1; }

health() { curl -sf -m 2 -o /dev/null "http://127.0.0.1:$PORT/health"; }

running_pid() {
    [ -f "$PIDF" ] || return 1
    pid=$(cat "$PIDF" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

install() {
    command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm, node >= 20)"
    command -v npm >/dev/null || die "npm is not installed"
    mkdir -p "$DIR"
    # One installer at a time (two test runs may start together).
    exec 9>"$DIR/.install.lock"
    command -v flock >/dev/null && flock 9
    have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
        "$DIR/node_modules/node-llama-cpp/package.json" 2>/dev/null || true)
    pre=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
        "$DIR/node_modules/@node-llama-cpp/linux-x64/package.json" 2>/dev/null || true)
    if [ "$have" != "$VERSION" ] || [ "$pre" != "$VERSION" ]; then
        say "installing node-llama-cpp@$VERSION into $DIR (npm, about 85 MB)"
        [ -f "$DIR/package.json" ] || (cd "$DIR" && npm init -y >/dev/null)
        # --omit=optional: without it npm also pulls the CUDA/Vulkan/arm prebuilts (640 MB more).
        (cd "$DIR" && npm install --omit=optional --no-audit --no-fund --loglevel=error \
            "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >"$DIR/npm-install.log" 2>&1) ||
            { tail -20 "$DIR/npm-install.log" >&2; die "npm install failed (log: $DIR/npm-install.log)"; }
    fi
    cmp -s "$here/local-llm/openai-server.mjs" "$DIR/openai-server.mjs" 2>/dev/null ||
        cp "$here/local-llm/openai-server.mjs" "$DIR/openai-server.mjs"
    exec 9>&-
}

check_model() {
    [ -r "$MODEL" ] || die "model file $MODEL not found (set HYBRIDGATE_MODEL to a GGUF file)"
    if [ "$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")" = "$(cd "$(dirname "$DEFAULT_MODEL")" 2>/dev/null &&
        pwd)/$(basename "$DEFAULT_MODEL")" ]; then
        sum=$(sha256sum "$MODEL" | cut -d' ' -f1)
        [ "$sum" = "$DEFAULT_SHA256" ] || die "$MODEL: sha256 $sum, expected $DEFAULT_SHA256"
    fi
}

start() {
    if pid=$(running_pid) && health; then
        say "already running on 127.0.0.1:$PORT (pid $pid)"
        return 0
    fi
    health && die "something else answers on 127.0.0.1:$PORT (not started by this script)"
    check_model
    install
    mkdir -p "$RUN"
    model_abs=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
    MODEL=$model_abs PORT=$PORT HOST=127.0.0.1 THREADS=${THREADS:-1} \
        node "$DIR/openai-server.mjs" </dev/null >"$LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDF"
    i=0
    while ! health; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDF"
            tail -20 "$LOG" >&2
            die "server exited during start-up (log: $LOG)"
        fi
        i=$((i + 1))
        if [ "$i" -gt $((WAIT * 10)) ]; then
            kill "$pid" 2>/dev/null || true
            rm -f "$PIDF"
            tail -20 "$LOG" >&2
            die "no /health after ${WAIT}s (log: $LOG)"
        fi
        sleep 0.1
    done
    say "up on http://127.0.0.1:$PORT/v1 (pid $pid, model $(basename "$MODEL" .gguf), log $LOG)"
}

stop() {
    if ! pid=$(running_pid); then
        rm -f "$PIDF"
        say "not running on port $PORT"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$PIDF"
    say "stopped (pid $pid)"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    install) check_model; install ;;
    status)
        if pid=$(running_pid) && health; then echo "running on 127.0.0.1:$PORT (pid $pid)"; else
            echo "not running on 127.0.0.1:$PORT"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status|install [PORT]" >&2; exit 2 ;;
esac
