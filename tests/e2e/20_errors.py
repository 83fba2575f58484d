# SPDX-License-Identifier: MIT
"""Every error status, in the OpenAI error shape: 400 malformed JSON / missing fields, 404 unknown model,
413 body over body_limit, 502 upstream connection failure or bad answer, 503 no backend available,
504 first-byte and idle-stream timeouts. Bad input never crashes or hangs: a batch of garbage requests,
then the gateway still answers."""

import http.client
import json
import socket
import struct
import threading
import time

from fake_upstream import FakeUpstream
from harness import (SLOW, Gateway, assert_openai_error, backend, chat_body, closed_port, http_request_bytes, main, parse_sse,
                     raw_connect, raw_request, request, test)

TAGS = []


def gw_for(up, **kw):
    cfg = {"backends": [backend("a", up, ["model-a"])], "max_retries": 0}
    cfg.update(kw)
    return Gateway(cfg)


@test
def bad_request_400():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        cases = [
            ("malformed json", b'{"model": "model-a", "messages": [', None),
            ("not json", b"hello there", None),
            ("empty body", b"", None),
            ("json array", b"[1, 2, 3]", None),
            ("missing model", json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), None),
            ("missing messages", json.dumps({"model": "model-a"}).encode(), None),
            ("model not a string", json.dumps({"model": 42, "messages": [{"role": "user", "content": "x"}]}).encode(),
             None),
            ("messages not a list", json.dumps({"model": "model-a", "messages": "hi"}).encode(), None),
            ("deep nesting", b'{"model": "model-a", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}", None),
            ("invalid utf-8", b'{"model": "model-a", "messages": [{"role": "user", "content": "\xff\xfe"}]}', None),
        ]
        passed_through = 0
        for what, body, flag in cases:
            r = request(gw.port, "POST", "/v1/chat/completions", body)
            if flag == "maybe" and r.status == 200:
                passed_through += 1
                continue  # passing undecodable bytes through is a choice; a crash or hang is not
            e = assert_openai_error(r, 400, what)
            assert r.header("x-request-id"), "%s: no x-request-id" % what
            assert e["type"], e
        r = request(gw.port, "POST", "/v1/completions", {"prompt": "x"})
        assert_openai_error(r, 400, "completions without model")
        r = request(gw.port, "POST", "/v1/embeddings", {"model": "model-a"})
        assert r.status in (400, 200), r  # "input" checking may be left to the upstream
        assert len([x for x in up.api_requests() if x.path.endswith("/chat/completions")]) == passed_through, \
            "a bad request reached the upstream: %r" % up.api_requests()


@test
def unknown_model_404():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        r = gw.chat(chat_body("gpt-nonexistent"))
        assert_openai_error(r, 404, "unknown model")
        assert not r.header("x-hybridgate-backend"), "404 names a backend: %r" % r.headers
        s = gw.stream(chat_body("gpt-nonexistent", stream=True))
        assert s.status == 404, s
        assert up.api_requests() == []


@test
def body_too_large_413():
    problems = []  # all three ways of sending too much are checked, then reported together
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up, body_limit="4KiB") as gw:
        big = chat_body("model-a", "x" * 8000)
        r = gw.chat(big)
        try:
            assert_openai_error(r, 413, "Content-Length body over limit")
        except AssertionError as e:
            problems.append(str(e))
        small = chat_body("model-a", "x" * 1000)
        assert gw.chat(small).status == 200
        # Expect: 100-continue with a big length: 413 without having to send the body
        s = raw_connect(gw.port, timeout=5)
        try:
            s.sendall(http_request_bytes("POST", "/v1/chat/completions", b"", {
                "Content-Length": "10000000", "Content-Type": "application/json", "Expect": "100-continue"}))
            data = b""
            while b"\r\n\r\n" not in data:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            if not data.startswith(b"HTTP/1.1 413"):
                problems.append("Expect: 100-continue with 10 MB got %r" % data[:200])
        finally:
            s.close()
        # a chunked body over the limit
        payload = json.dumps(chat_body("model-a", "y" * 9000)).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 1000]), payload[i:i + 1000])
                          for i in range(0, len(payload), 1000)) + b"0\r\n\r\n"
        head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        out = raw_request(gw.port, head + chunks, timeout=5)
        if not out.startswith(b"HTTP/1.1 413"):
            problems.append("chunked body over limit got %r" % out[:200])
        elif b'"error"' not in out:
            problems.append("chunked body over limit: 413 without an OpenAI error body: %r" % out[-200:])
        if len(up.api_requests()) != 1:
            problems.append("an oversize request reached the upstream")
        assert gw.request("GET", "/healthz").status == 200
    assert not problems, "\n".join(problems)


@test
def connect_failure_502():
    # health_interval 0: no active probe, so the first request is what meets the refused connection
    cfg = {"backends": [backend("dead", "http://127.0.0.1:%d/v1" % closed_port(), ["model-a"], health_interval=0)],
           "max_retries": 0}
    with Gateway(cfg) as gw:
        t0 = time.monotonic()
        r = gw.chat(chat_body("model-a"), timeout=15)
        assert_openai_error(r, 502, "connection refused")
        assert r.header("x-request-id")
        assert time.monotonic() - t0 < 10 * SLOW
        s = gw.stream(chat_body("model-a", stream=True))
        assert s.status in (502, 503), s  # after one failure the backend may be marked down


@test
def known_down_backend_503():
    # with active health checks the refused port is seen at start: the backend is down, and a request for
    # its model gets 503 naming it, without an upstream attempt
    cfg = {"backends": [backend("dead", "http://127.0.0.1:%d/v1" % closed_port(), ["model-a"],
                                health_interval="200ms")], "max_retries": 0}
    with Gateway(cfg) as gw:
        # until the first probe has run, a request may still meet the refused port itself (502)
        end = time.monotonic() + 5 * SLOW
        while True:
            r = gw.chat(chat_body("model-a"), timeout=15)
            if r.status != 502 or time.monotonic() > end:
                break
            time.sleep(0.1)
        e = assert_openai_error(r, 503, "backend known to be down")
        assert "dead" in e["message"], "503 does not name the backend: %r" % e
        assert r.header("x-request-id")


@test
def bad_upstream_answer_502():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        # set_default, not push: libcurl silently re-sends a request once on a fresh connection when a
        # reused keep-alive connection closes before any answer, so a one-shot die_head could be masked.
        for mode in ("garbage", "die_head"):
            up.set_default({"mode": mode})
            r = gw.chat(chat_body("model-a"), timeout=15)
            assert_openai_error(r, 502, mode)
        s = gw.stream(chat_body("model-a", stream=True), timeout=15)
        assert s.status == 502, s
        up.set_default({"mode": "ok"})
        assert gw.chat(chat_body("model-a")).status == 200


@test
def no_backend_available_503():
    # max_concurrency 1 and no queue: while one request holds the only slot, the next cannot be served
    with FakeUpstream("a", models=["model-a"]) as up, \
            Gateway({"backends": [backend("a", up, ["model-a"], max_concurrency=1)], "max_retries": 0}) as gw:
        up.push({"mode": "stall_head", "stall": 3})
        holder = threading.Thread(target=lambda: gw.chat(chat_body("model-a"), timeout=20), daemon=True)
        holder.start()
        assert up.wait_requests(1, timeout=5), "first request never reached the upstream"
        r = gw.chat(chat_body("model-a"), timeout=15)
        assert_openai_error(r, 503, "backend at max_concurrency")
        assert len(up.api_requests()) == 1, "the second request went upstream anyway"
        holder.join(20)


@test
def first_byte_timeout_504():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up, first_byte_timeout="500ms") as gw:
        up.set_default({"mode": "stall_head", "stall": 30})
        t0 = time.monotonic()
        r = gw.chat(chat_body("model-a"), timeout=20)
        dt = time.monotonic() - t0
        assert_openai_error(r, 504, "first byte timeout")
        assert dt < 8 * SLOW, "504 after %.1fs with first_byte_timeout 500ms" % dt
        assert up.wait_closed(5), "upstream request not cancelled after the timeout"
        s = gw.stream(chat_body("model-a", stream=True), timeout=20)
        assert s.status == 504, s


@test
def idle_stream_timeout():
    # The head and two events arrive, then the upstream goes quiet: the client must get an error event and
    # an end of stream without [DONE], not a hang.
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up, idle_timeout="700ms") as gw:
        up.push({"mode": "stall_mid", "after": 2, "stall": 30})
        s = gw.stream(chat_body("model-a", stream=True), timeout=15)
        assert s.status == 200, s
        assert s.ended in ("eof", "reset"), "stream hung: %r" % s
        assert not s.done, "a cut stream ended with [DONE]: %r" % s
        assert len(s.events) >= 3 and s.datas[:2] == parse_sse(up.api_requests()[0].sent)[:2], s
        errs = s.error_events()
        assert errs, "no error event at the end of a timed-out stream: %r" % s.raw[-300:]
        assert isinstance(errs[-1]["error"].get("message"), str)
        assert s.elapsed < 10 * SLOW
        assert up.wait_closed(5), "upstream request not cancelled after the idle timeout"


@test
def idle_timeout_before_first_event_504():
    # head sent but no event: still before the first byte of the body for the client's purposes
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up, idle_timeout="500ms", first_byte_timeout="500ms") \
            as gw:
        up.push({"mode": "stall_mid", "after": 0, "stall": 30})
        s = gw.stream(chat_body("model-a", stream=True), timeout=15)
        assert s.ended in ("eof", "reset"), "hang: %r" % s
        assert not s.done
        if s.status == 200:
            assert s.error_events(), "200 stream cut without an error event: %r" % s.raw
        else:
            assert s.status == 504, s


@test
def nonstream_stall_mid_body_no_hang():
    with FakeUpstream("a", models=["model-a"]) as up, \
            gw_for(up, idle_timeout="500ms", total_timeout="2s") as gw:
        up.push({"mode": "stall_mid", "stall": 30})
        t0 = time.monotonic()
        try:
            r = gw.chat(chat_body("model-a"), timeout=15)
        except (ConnectionError, http.client.HTTPException) as e:
            r = e
        dt = time.monotonic() - t0
        assert dt < 10 * SLOW, "hang: %.1fs" % dt
        if hasattr(r, "status"):
            if r.status == 200:
                try:
                    json.loads(r.body)
                    raise AssertionError("a cut upstream body was delivered as a complete 200")
                except ValueError:
                    pass
            else:
                assert_openai_error(r, 504, "total/idle timeout")


@test
def garbage_never_crashes_or_hangs():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        garbage = [
            b"\x00\x01\x02\x03garbage\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n",
            b"BREW /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
            b"POST /v1/chat/completions HTTP/9.9\r\n\r\n",
            b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /v1/models?" + b"q" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            http_request_bytes("POST", "/v1/chat/completions", b'{"model":"model-a","messages":[{"role":"user",'
                               b'"content":"\\ud800"}]}', {"Content-Type": "application/json"}),
            http_request_bytes("POST", "/v1/chat/completions", b'{"model":"model-a","messages":[null, 1, "x", {}]}'),
            http_request_bytes("POST", "/v1/chat/completions", b'{"model":"model-a\\u0000x","messages":[]}'),
            http_request_bytes("POST", "/v1/chat/completions", b'{"model":"model-a","messages":[],"stream":"yes"}'),
            http_request_bytes("DELETE", "/v1/chat/completions"),
            http_request_bytes("GET", "/nope"),
        ]
        for g in garbage:
            t0 = time.monotonic()
            out = raw_request(gw.port, g, timeout=5)
            assert time.monotonic() - t0 < 15 * SLOW
            if out:
                assert out.startswith(b"HTTP/1."), "non-HTTP answer to %r: %r" % (g[:60], out[:100])
                status = int(out.split(b" ", 2)[1])
                # 501/505: unknown method / HTTP version, rejected by the HTTP layer itself
                assert status < 500 or status in (501, 505), "%d for %r: %r" % (status, g[:60], out[:300])
            assert gw.proc.poll() is None, "gateway died on %r" % g[:80]
        # half-open connections that never send anything must not block others
        idle = [raw_connect(gw.port) for _ in range(20)]
        try:
            r = gw.chat(chat_body("model-a"), timeout=10)
            assert r.status == 200, r
        finally:
            for s in idle:
                s.close()
        assert gw.request("GET", "/healthz").status == 200
        r = gw.request("GET", "/nope")
        assert r.status == 404, r


@test
def abrupt_client_resets():
    with FakeUpstream("a", models=["model-a"]) as up, gw_for(up) as gw:
        for i in range(10):
            s = raw_connect(gw.port)
            s.sendall(http_request_bytes("POST", "/v1/chat/completions",
                                         json.dumps(chat_body("model-a", "fake: mode=ok head_delay=0.2")).encode(),
                                         {"Content-Type": "application/json"})[:40 + i * 20])
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        assert gw.chat(chat_body("model-a")).status == 200
        assert gw.proc.poll() is None


if __name__ == "__main__":
    main()
