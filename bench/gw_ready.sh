# SPDX-License-Identifier: MIT
# Sourced by the bench scripts (POSIX sh): gw_ready PORT LOG TRIES PAUSE waits until the gateway
# on 127.0.0.1:PORT answers /healthz (TRIES x PAUSE seconds; prints LOG and exits 1 if it never
# does), then checks one chat completion answers 200 (a fast error page is not a result) and
# exits 1 with WHO's name otherwise. WHO is $NAME, or "bench".
gw_ready() {
    _i=0
    until curl -s -o /dev/null "http://127.0.0.1:$1/healthz"; do
        _i=$((_i + 1)); [ $_i -gt "$3" ] && { cat "$2" >&2; exit 1; }; sleep "$4"
    done
    _code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"model":"m","messages":[{"role":"user","content":"x"}]}' "http://127.0.0.1:$1/v1/chat/completions")
    [ "$_code" = 200 ] || { echo "${NAME:-bench}: gateway answered $_code" >&2; exit 1; }
}
