#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run`: starts the local model server (scripts/local-llm.sh, 127.0.0.1:8081) and then the gateway on
# config/hybridgate.yaml (HYBRIDGATE_CONFIG overrides) in the foreground. The model server keeps running
# after the gateway stops; `scripts/local-llm.sh stop` ends it. HYBRIDGATE_NO_LOCAL_LLM=1 skips it (for a
# config without the local backend, or your own model server).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
config=${HYBRIDGATE_CONFIG:-$repo/config/hybridgate.yaml}
bin=${HYBRIDGATE_BIN:-$repo/build/hybridgate}
[ -x "$bin" ] || { echo "run.sh: $bin not built (make)" >&2; exit 1; }
if [ "${HYBRIDGATE_NO_LOCAL_LLM:-0}" != 1 ]; then
    "$here/local-llm.sh" start "${LOCAL_LLM_PORT:-8081}"
fi
echo "run.sh: hybridgate on $config (Ctrl-C stops it; scripts/local-llm.sh stop stops the model)" >&2
exec "$bin" serve -c "$config"
