# SPDX-License-Identifier: MIT
"""Self-test of the e2e harness: the fake upstream's modes, the SSE reader and the YAML writer, with no
gateway involved (the client talks to the fake upstream directly). If this file fails, the other e2e
results mean nothing."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from fake_upstream import FakeUpstream
from harness import chat_body, main, parse_sse, request, stream, test, to_yaml, wait_until

TAGS = []


@test
def nonstream_json_and_recording():
    with FakeUpstream("a", models=["m1"]) as up:
        r = request(up.port, "POST", "/v1/chat/completions", chat_body("m1", "hi"),
                    headers={"Authorization": "Bearer k1"})
        assert r.status == 200, r
        j = r.json()
        assert j["object"] == "chat.completion" and j["model"] == "m1"
        assert j["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
        [rec] = up.api_requests()
        assert rec.headers["authorization"] == "Bearer k1" and rec.model == "m1" and rec.finished
        assert rec.sent == r.body
        r = request(up.port, "GET", "/v1/models")
        assert [m["id"] for m in r.json()["data"]] == ["m1"]
        r = request(up.port, "POST", "/v1/embeddings", {"model": "m1", "input": ["a", "b"]})
        assert len(r.json()["data"]) == 2
        r = request(up.port, "POST", "/v1/completions", {"model": "m1", "prompt": "x"})
        assert r.json()["object"] == "text_completion"


@test
def stream_is_sse_with_done():
    with FakeUpstream("a") as up:
        s = stream(up.port, "/v1/chat/completions", chat_body("m", stream=True, stream_options={"include_usage": True}),
                   timeout=5)
        assert s.status == 200 and s.headers["content-type"] == "text/event-stream", s
        assert s.done and s.ended == "eof", s
        assert s.content() == "tok0 tok1 tok2 tok3 tok4 ", s.content()
        assert s.json_events()[-1]["usage"]["total_tokens"] == 8
        [rec] = up.api_requests()
        assert rec.sent == s.raw and rec.events_sent == len(s.events)
        # split events and byte drip reassemble to the same events
        s2 = stream(up.port, "/v1/chat/completions", chat_body("m", "fake: mode=drip delay=0", stream=True))
        s3 = stream(up.port, "/v1/chat/completions", chat_body("m", "fake: mode=ok split=true", stream=True))
        assert s2.done and s3.done and s2.content() == s3.content() == s.content()
        assert len(s2.chunks) > 1


@test
def error_modes():
    with FakeUpstream("a") as up:
        up.push({"mode": "status", "status": 429, "retry_after": 1}, {"mode": "status", "status": 500})
        r = request(up.port, "POST", "/v1/chat/completions", chat_body("m"))
        assert r.status == 429 and r.header("retry-after") == "1" and "error" in r.json()
        r = request(up.port, "POST", "/v1/chat/completions", chat_body("m"))
        assert r.status == 500
        r = request(up.port, "POST", "/v1/chat/completions", chat_body("m"))
        assert r.status == 200  # queue consumed
        r = request(up.port, "POST", "/v1/chat/completions", chat_body("m", x_fake={"mode": "bad_json"}))
        assert r.status == 200
        try:
            json.loads(r.body)
            raise AssertionError("bad_json is JSON")
        except ValueError:
            pass
        s = stream(up.port, "/v1/chat/completions", chat_body("m", "fake: mode=die_mid after=2", stream=True),
                   timeout=5)
        assert s.ended == "reset" and len(s.events) == 2 and not s.done, s
        s = stream(up.port, "/v1/chat/completions", chat_body("m", "fake: mode=malformed", stream=True), timeout=5)
        assert s.done and None in s.json_events(), s


@test
def stall_and_client_close_is_seen():
    with FakeUpstream("a") as up:
        up.set_model("slow", {"mode": "stall_head", "stall": 30})
        try:
            request(up.port, "POST", "/v1/chat/completions", chat_body("slow"), timeout=0.5)
            raise AssertionError("stall_head answered")
        except OSError:
            pass
        rec = up.wait_closed(5)
        assert rec is not None, up.requests()
        s = stream(up.port, "/v1/chat/completions", chat_body("m", "fake: mode=stream events=50 delay=0.05",
                                                                 stream=True), stop_after=3)
        assert s.ended == "client-closed"
        assert wait_until(lambda: len([r for r in up.api_requests() if r.closed_early]) == 2, 3)


@test
def standalone_process_and_control_api():
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "port")
    p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "fake_upstream.py"),
                          "--port-file", pf, "--name", "proc", "--models", "x,y"], stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: os.path.exists(pf), 5), "no port file"
        port = int(open(pf).read())
        r = request(port, "POST", "/__fake/push", {"mode": "status", "status": 503})
        assert r.status == 200
        assert request(port, "POST", "/v1/chat/completions", chat_body("x")).status == 503
        assert request(port, "POST", "/v1/chat/completions", chat_body("x")).status == 200
        recs = request(port, "GET", "/__fake/requests").json()
        assert [x["status"] for x in recs] == [503, 200], recs
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(5)


@test
def yaml_writer_and_sse_parser():
    y = to_yaml({"listen": "127.0.0.1:1", "backends": [{"name": "a", "models": ["m-1", "a: b"]}],
                 "aliases": {"chat": {"a": "m-1"}}, "flag": True, "t": "500ms"})
    assert y == ('listen: 127.0.0.1:1\nbackends:\n  - name: a\n    models:\n      - m-1\n      - "a: b"\n'
                 'aliases:\n  chat:\n    a: m-1\nflag: true\nt: 500ms'), y
    assert parse_sse(b"data: a\n\n: comment\n\ndata: b\ndata: c\n\nevent: x\ndata:d\n\n") == ["a", "b\nc", "d"]


if __name__ == "__main__":
    main()
