# SPDX-License-Identifier: MIT
"""Streams that go wrong, and clients that leave. An upstream that dies mid-stream (FIN, RST, or the
whole upstream process killed) gives the client an SSE error event and an end without [DONE], never a
hang. A client that disconnects cancels its upstream request (the fake upstream sees its connection
close), for a stream and for a non-stream request. Odd but legal upstream framing (byte drip, big
events, malformed SSE) and many concurrent streams."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from fake_upstream import FakeUpstream
from harness import (ASAN, SLOW, Gateway, backend, chat_body, for_client, http_request_bytes, main, parse_sse, raw_connect, request,
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


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def dechunk(data):
    """HTTP/1.1 chunked body -> payload (index-based: no quadratic copying on big bodies)."""
    out = bytearray()
    i = 0
    while i < len(data):
        j = data.index(b"\r\n", i)
        k = int(bytes(data[i:j]).split(b";")[0], 16)
        if k == 0:
            break
        out += data[j + 2:j + 2 + k]
        i = j + 2 + k + 2
    return bytes(out)


@test
def slow_reader_backpressure():
    # The upstream writes 16 MiB of events as fast as it can; the client reads slowly. The bytes must all
    # arrive intact, and the gateway must not hold the stream in memory (it should pause the upstream):
    # its RSS may not grow by more than half the stream's size.
    n, size = 2048, 8192
    tokens = ["%05d" % i + "x" * (size - 5) for i in range(n)]
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        up.push({"mode": "stream", "tokens": tokens})
        base = rss_kib(gw.pid)
        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(gw.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        s = raw_connect(gw.port, timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        body = json.dumps(chat_body("model-a", stream=True, stream_options={"include_usage": True})).encode()
        s.sendall(http_request_bytes("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"}))
        raw = bytearray()
        try:
            time.sleep(1.0)  # let the upstream run ahead while nobody reads
            while True:
                d = s.recv(256 * 1024)
                if not d:
                    break
                raw += d
                if raw.endswith(b"\r\n0\r\n\r\n") and b"[DONE]" in raw[-300:]:
                    break
                time.sleep(0.002)
        finally:
            s.close()
            stop.set()
            sampler.join()
        sent = up.api_requests()[-1].sent
        assert b"[DONE]" in raw[-300:], "stream incomplete: %d of ~%d bytes" % (len(raw), len(sent))
        head_end = raw.index(b"\r\n\r\n") + 4
        assert b"chunked" in raw[:head_end].lower(), raw[:head_end]
        out = dechunk(raw[head_end:])
        assert out == sent, "bytes differ under backpressure (%d vs %d)" % (len(out), len(sent))
        grew = (peak[0] - base) / 1024.0
        # (not under ASan: its quarantine keeps freed buffers resident, so RSS tracks bytes relayed)
        assert ASAN or grew < len(sent) / 2 / 1048576, \
            "gateway RSS grew %.1f MiB while relaying a %.1f MiB stream to a slow reader: not paused?" % (
                grew, len(sent) / 1048576)
        print("    (RSS grew %.1f MiB relaying %.1f MiB)" % (grew, len(sent) / 1048576))


@test
def several_workers():
    # 3 workers on SO_REUSEPORT listeners: concurrent streams, non-streams, cancels and cuts all land on
    # some worker, and each client still gets exactly its own answer
    with FakeUpstream("a", models=["model-a"]) as up, \
            Gateway({"backends": [backend("a", up, ["model-a"])], "max_retries": 0}, workers=3) as gw:
        up.set_default({"mode": "ok", "events": 6, "delay": 0.02})
        out = {}

        def one(i):
            kind = i % 4
            if kind == 0:
                out[i] = ("stream", gw.stream(chat_body("model-a", "w%d" % i, stream=True), timeout=20))
            elif kind == 1:
                out[i] = ("chat", gw.chat(chat_body("model-a", "w%d" % i), timeout=20))
            elif kind == 2:
                out[i] = ("cut", gw.stream(chat_body("model-a", "fake: mode=die_mid after=2 w%d" % i, stream=True),
                                           timeout=20))
            else:
                out[i] = ("left", gw.stream(chat_body("model-a", "fake: mode=stream events=200 delay=0.05 w%d" % i,
                                                      stream=True), stop_after=2, timeout=20))

        ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(32)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60 * SLOW)
        by_prompt = {r.json["messages"][0]["content"].split()[-1]: r for r in up.api_requests()}
        for i in range(32):
            assert i in out, "request %d never finished" % i
            kind, r = out[i]
            rec = by_prompt.get("w%d" % i)
            assert rec is not None, "request %d never reached the upstream" % i
            if kind == "stream":
                assert r.done and r.raw == for_client(rec, {}), "stream %d: %r" % (i, r)
            elif kind == "chat":
                assert r.status == 200 and r.body == rec.sent, "chat %d: %r" % (i, r)
            elif kind == "cut":
                assert not r.done and r.error_events(), "cut %d: %r" % (i, r)
        assert up.wait_for(lambda rs: len([x for x in rs if x.closed_early]) >= 8, 5 * SLOW), \
            "not every client that left had its upstream request cancelled"
        assert gw.chat(chat_body("model-a")).status == 200


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
