# SPDX-License-Identifier: MIT
"""Streams that go wrong, and clients that leave. An upstream that dies mid-stream (FIN, RST, or the
whole upstream process killed) gives the client an SSE error event and an end without [DONE], never a
hang. A client that disconnects cancels its upstream request (the fake upstream sees its connection
close), for a stream and for a non-stream request. Odd but legal upstream framing (byte drip, big
events, malformed SSE) and many concurrent streams."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from fake_upstream import FakeUpstream
from harness import (SLOW, Gateway, backend, chat_body, for_client, http_request_bytes, main, parse_sse, raw_connect, request,
                     test, wait_until)

TAGS = []

# A cancel must reach the upstream "within about a second"; this bound only guards against never.
CANCEL_BOUND = 3.0 * SLOW


def gw_for(up, **kw):
    cfg = {"backends": [backend("a", up, ["model-a"])], "max_retries": 0}
    cfg.update(kw)
    return Gateway(cfg)


def assert_cut_stream(s, upstream_sent, what):
    assert s.status == 200, "%s: %r" % (what, s)
    assert s.ended in ("eof", "reset"), "%s: the client hung: %r" % (what, s)
    assert not s.done, "%s: a cut stream ended with [DONE] (looks complete): %r" % (what, s.raw[-200:])
    want = parse_sse(upstream_sent)
    assert s.datas[:len(want)] == want, "%s: events before the cut differ:\n%r\n%r" % (what, s.datas, want)
    errs = s.error_events()
    assert errs, "%s: no SSE error event after the cut: %r" % (what, s.raw[-300:])
    e = errs[-1]["error"]
    assert isinstance(e, dict) and isinstance(e.get("message"), str) and e["message"], e


@test
def upstream_dies_mid_stream_fin():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "die_mid", "after": 3, "events": 8, "delay": 0.05})
        s = gw.stream(chat_body("model-a", stream=True), timeout=10)
        assert_cut_stream(s, up.api_requests()[0].sent, "FIN after 3 events")
        assert gw.chat(chat_body("model-a")).status == 200


@test
def upstream_dies_mid_stream_rst():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "die_mid", "after": 2, "rst": True, "events": 8})
        s = gw.stream(chat_body("model-a", stream=True), timeout=10)
        assert_cut_stream(s, up.api_requests()[0].sent, "RST after 2 events")


@test
def upstream_process_killed_mid_stream():
    d = tempfile.mkdtemp(prefix="hg-up-")
    pf = os.path.join(d, "port")
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.Popen([sys.executable, os.path.join(here, "fake_upstream.py"), "--port-file", pf, "--name",
                          "proc", "--models", "model-a", "--mode",
                          json.dumps({"mode": "stream", "events": 200, "delay": 0.1})],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: os.path.exists(pf), 5), "fake upstream process did not start"
        port = int(open(pf).read())
        with Gateway({"backends": [backend("a", "http://127.0.0.1:%d/v1" % port, ["model-a"])],
                      "max_retries": 0}) as gw:
            result = {}

            def client():
                result["s"] = gw.stream(chat_body("model-a", stream=True), timeout=10)

            t = threading.Thread(target=client, daemon=True)
            t.start()
            # let a few events through, then kill the upstream process outright
            time.sleep(0.6)
            p.send_signal(signal.SIGKILL)
            p.wait(5)
            t.join(30 * SLOW)
            assert not t.is_alive(), "client still reading 30 s after the upstream was killed"
            s = result["s"]
            assert s.status == 200 and s.ended in ("eof", "reset"), s
            assert len(s.events) >= 2, s
            assert not s.done, "[DONE] after the upstream was killed"
            assert s.error_events(), "no error event after the upstream was killed: %r" % s.raw[-300:]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@test
def client_disconnect_cancels_stream():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "stream", "events": 400, "delay": 0.05})
        s = gw.stream(chat_body("model-a", stream=True), stop_after=3, timeout=10)
        assert s.ended == "client-closed" and s.status == 200, s
        t0 = time.monotonic()
        rec = up.wait_closed(CANCEL_BOUND + 1)
        assert rec is not None, "upstream still streaming %.0fs after the client left" % CANCEL_BOUND
        assert time.monotonic() - t0 < CANCEL_BOUND, "cancel took %.1fs" % (time.monotonic() - t0)
        assert rec.events_sent < 400
        assert gw.chat(chat_body("model-a")).status == 200


@test
def client_disconnect_cancels_nonstream():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "stall_head", "stall": 30})
        s = raw_connect(gw.port)
        s.sendall(http_request_bytes("POST", "/v1/chat/completions", json.dumps(chat_body("model-a")).encode(),
                                     {"Content-Type": "application/json"}))
        assert up.wait_requests(1, 5), "request never reached the upstream"
        s.close()
        t0 = time.monotonic()
        rec = up.wait_closed(CANCEL_BOUND + 1)
        assert rec is not None, "upstream request not cancelled after the client left"
        assert time.monotonic() - t0 < CANCEL_BOUND
        assert gw.chat(chat_body("model-a")).status == 200


@test
def client_disconnect_before_first_event():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "stall_head", "stall": 30})
        s = raw_connect(gw.port)
        s.sendall(http_request_bytes("POST", "/v1/chat/completions",
                                     json.dumps(chat_body("model-a", stream=True)).encode(),
                                     {"Content-Type": "application/json"}))
        assert up.wait_requests(1, 5)
        s.close()
        assert up.wait_closed(CANCEL_BOUND + 1), "stream request not cancelled before its first event"


@test
def odd_but_legal_framing_passes_through():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        # one byte per TCP write
        body = chat_body("model-a", stream=True)
        up.push({"mode": "drip", "events": 3, "delay": 0.001})
        s = gw.stream(body, timeout=15)
        assert s.done and s.raw == for_client(up.api_requests()[-1], body), s
        # a 256 KiB event
        big = "z" * (256 * 1024)
        up.push({"mode": "stream", "tokens": [big, "end"]})
        s = gw.stream(body, timeout=15)
        assert s.done and s.raw == for_client(up.api_requests()[-1], body) and big in s.content(), "big event mangled"
        # non-ASCII and escapes in content
        up.push({"mode": "stream", "tokens": ["h\u00e9llo ", "\u4e16\u754c ", "\\n\"q\" ", "\U0001F600"]})
        s = gw.stream(body, timeout=15)
        assert s.done and s.raw == for_client(up.api_requests()[-1], body), s


@test
def malformed_sse_does_not_break_the_gateway():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "malformed"})
        s = gw.stream(chat_body("model-a", stream=True), timeout=10)
        assert s.ended in ("eof", "reset"), "hang on malformed SSE: %r" % s
        assert s.status in (200, 502), s
        up.push({"mode": "bad_json"})
        r = gw.chat(chat_body("model-a"), timeout=10)
        assert r.status in (200, 502), r
        assert gw.chat(chat_body("model-a")).status == 200
        assert gw.proc.poll() is None


@test
def concurrent_streams():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.set_default({"mode": "ok", "events": 10, "delay": 0.02})
        results = [None] * 24

        def one(i):
            results[i] = gw.stream(chat_body("model-a", "c%d" % i, stream=True), timeout=20)

        ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(results))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60 * SLOW)
        sent = {r.json["messages"][0]["content"]: for_client(r, {}) for r in up.api_requests()}
        for i, s in enumerate(results):
            assert s is not None, "stream %d never finished" % i
            assert s.status == 200 and s.done, "stream %d: %r" % (i, s)
            assert s.raw == sent["c%d" % i], "stream %d got another stream's bytes" % i


@test
def mixed_keepalive_after_cut_stream():
    # an upstream connection that died must not be reused for the next request
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        for _ in range(3):
            up.push({"mode": "die_mid", "after": 1})
            s = gw.stream(chat_body("model-a", stream=True), timeout=10)
            assert not s.done and s.ended in ("eof", "reset"), s
            r = gw.chat(chat_body("model-a"), timeout=10)
            assert r.status == 200, r
        r = request(gw.port, "GET", "/healthz")
        assert r.status == 200


if __name__ == "__main__":
    main()
