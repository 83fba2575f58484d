# SPDX-License-Identifier: MIT
"""Basic proxying through the real binary: non-stream and stream pass-through byte for byte, the other
endpoints, model aliases (one model, and a logical model whose upstream gets its own name), /v1/models,
/healthz and /readyz, the backend's key injected and the client's never forwarded, the
x-hybridgate-backend and x-request-id headers, keep-alive, and check-config."""

import http.client
import json
import time

from fake_upstream import FakeUpstream
from harness import (SLOW, Gateway, backend, chat_body, check_config, closed_port, for_client, free_port,
                     http_request_bytes, main, raw_connect, request, stream, test,
                     wait_until)

TAGS = []

CLIENT_KEY = "sk-client-canary-7f3a9"
BACKEND_KEY = "sk-backend-a-51c0"


def one_backend(up, **kw):
    cfg = {"backends": [backend("a", up, ["model-a"], api_key_env="HG_E2E_KEY_A")]}
    cfg.update(kw)
    return Gateway(cfg, env={"HG_E2E_KEY_A": BACKEND_KEY})


def assert_no_client_key(rec):
    for k, v in rec.header_list:
        assert CLIENT_KEY not in v, "client key forwarded upstream in header %s: %s" % (k, v)
    assert CLIENT_KEY.encode() not in rec.body, "client key in the upstream body"


@test
def nonstream_passthrough_and_headers():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        body = chat_body("model-a", "Say hi.", temperature=0.2, max_tokens=7, user="u-1", seed=5)
        r = gw.chat(body, headers={"Authorization": "Bearer " + CLIENT_KEY})
        assert r.status == 200, r
        [rec] = up.api_requests()
        assert r.body == rec.sent, "body differs from upstream's:\n%r\n%r" % (r.body, rec.sent)
        assert r.header("content-type").startswith("application/json"), r.headers
        assert r.header("x-hybridgate-backend") == "a", r.headers
        assert r.header("x-request-id"), r.headers
        # what the upstream saw
        assert rec.method == "POST" and rec.path == "/v1/chat/completions", rec.path
        assert rec.headers.get("authorization") == "Bearer " + BACKEND_KEY, rec.headers
        assert_no_client_key(rec)
        assert rec.json == body, "upstream body changed: %r vs %r" % (rec.json, body)


@test
def keys_never_logged():
    with FakeUpstream("a", models=["model-a"]) as up, \
            Gateway({"backends": [backend("a", up, ["model-a"], api_key_env="HG_E2E_KEY_A")],
                     "log_level": "debug"}, env={"HG_E2E_KEY_A": BACKEND_KEY}, access_log=True) as gw:
        h = {"Authorization": "Bearer " + CLIENT_KEY}
        assert gw.chat(chat_body("model-a", "hello"), headers=h).status == 200
        assert gw.stream(chat_body("model-a", "hello", stream=True), headers=h).done
        gw.chat(chat_body("no-such-model"), headers=h)
        up.push({"mode": "status", "status": 401, "message": "bad key " + BACKEND_KEY})
        gw.chat(chat_body("model-a"), headers=h)
        assert gw.access_records(wait_for=4), "no access log lines"
        gw.stop()
        logs = {"stderr": gw.stderr_text(), "stdout": gw.stdout_text(), "access log": open(gw.access_log_path).read()}
        for name, text in logs.items():
            assert CLIENT_KEY not in text, "client key in the gateway's %s" % name
            # (the 401 body relayed to the client may carry it; the logs must not)
            assert BACKEND_KEY not in text, "backend key in the gateway's %s" % name


@test
def expect_100_continue():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        body = json.dumps(chat_body("model-a", "e" * 3000)).encode()
        s = raw_connect(gw.port)
        try:
            s.sendall(http_request_bytes("POST", "/v1/chat/completions", b"", {
                "Content-Length": str(len(body)), "Content-Type": "application/json", "Expect": "100-continue"}))
            first = s.recv(4096)
            assert first.startswith(b"HTTP/1.1 100"), "no 100 Continue: %r" % first[:200]
            s.sendall(body)
            data = first.split(b"\r\n\r\n", 1)[1] if first.count(b"\r\n\r\n") > 1 else b""
            while b"Hello from a." not in data:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            assert b"HTTP/1.1 200" in data and b"Hello from a." in data, data[:300]
        finally:
            s.close()


@test
def stream_passthrough_byte_for_byte():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        for spec in ({"mode": "ok", "events": 6}, {"mode": "ok", "events": 4, "split": True},
                     {"mode": "drip", "events": 2, "delay": 0.001}):
            up.push(spec)
            body = chat_body("model-a", "Count.", stream=True, stream_options={"include_usage": True})
            s = gw.stream(body, headers={"Authorization": "Bearer " + CLIENT_KEY})
            rec = up.api_requests()[-1]
            assert s.status == 200, s
            assert s.ended == "eof", "stream did not end cleanly: %r" % s
            assert s.raw == rec.sent, "%s: stream differs:\nclient %r\nupstr  %r" % (spec, s.raw, rec.sent)
            assert s.done and s.headers.get("content-type", "").startswith("text/event-stream"), s.headers
            assert s.headers.get("x-hybridgate-backend") == "a" and s.headers.get("x-request-id"), s.headers
            assert rec.headers.get("authorization") == "Bearer " + BACKEND_KEY
            assert_no_client_key(rec)
            assert rec.json == body


@test
def stream_is_not_buffered():
    # 6 events 0.4 s apart: a buffering proxy delivers them all at once at the end.
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        up.push({"mode": "ok", "events": 4, "delay": 0.4})
        s = gw.stream(chat_body("model-a", "x", stream=True), timeout=10)
        assert s.done, s
        first, last = s.events[0][0], s.events[-1][0]
        assert last - first > 1.0, "events arrived together (buffered?): first %.3fs last %.3fs" % (first, last)


@test
def completions_and_embeddings():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        r = gw.request("POST", "/v1/completions", {"model": "model-a", "prompt": "Once", "max_tokens": 3})
        assert r.status == 200 and r.body == up.api_requests()[-1].sent, r
        assert up.api_requests()[-1].path == "/v1/completions"
        r = gw.request("POST", "/v1/embeddings", {"model": "model-a", "input": ["a", "b"]})
        assert r.status == 200 and r.body == up.api_requests()[-1].sent, r
        assert up.api_requests()[-1].path == "/v1/embeddings"
        assert len(r.json()["data"]) == 2
        assert r.header("x-hybridgate-backend") == "a"
        s = gw.stream({"model": "model-a", "prompt": "Once", "stream": True, "stream_options": {"include_usage": True}},
                      path="/v1/completions")
        assert s.status == 200 and s.done and s.raw == up.api_requests()[-1].sent, s


@test
def stream_without_include_usage():
    # The gateway may ask the upstream for usage (stream_options.include_usage) to meter a stream; a
    # client that did not ask for it must then get the upstream's stream minus that usage event, and
    # every other byte unchanged.
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        up.push({"mode": "ok", "events": 3, "split": True})
        s = gw.stream(chat_body("model-a", "x", stream=True), timeout=10)
        assert s.status == 200 and s.done and s.ended == "eof", s
        rec = up.api_requests()[-1]
        assert (rec.json.get("stream_options") or {}).get("include_usage") is True, \
            "the gateway did not ask the upstream for usage: %r" % rec.json
        sent = for_client(rec, chat_body("model-a", "x", stream=True))
        assert s.raw == sent, "stream differs:\nclient %r\nupstr  %r" % (s.raw, sent)
        assert not [e for e in s.json_events() if isinstance(e, dict) and e.get("usage")], \
            "usage event sent to a client that did not ask for it"


def two_backends(a, b):
    return {"backends": [backend("a", a, ["model-a"]), backend("b", b, ["model-b", "model-b2"])],
            "aliases": {"fast": "model-b", "chat": {"a": "model-a", "b": "model-b2"}}}


@test
def aliases_and_logical_models():
    with FakeUpstream("a", models=["model-a"]) as a, FakeUpstream("b", models=["model-b", "model-b2"]) as b, \
            Gateway(two_backends(a, b)) as gw:
        r = gw.chat(chat_body("fast"))
        assert r.status == 200, r
        assert r.header("x-hybridgate-backend") == "b"
        assert b.api_requests()[-1].model == "model-b", b.api_requests()[-1].json
        seen = set()
        for i in range(6):
            r = gw.chat(chat_body("chat", "n%d" % i))
            assert r.status == 200, r
            name = r.header("x-hybridgate-backend")
            up = {"a": a, "b": b}.get(name)
            assert up is not None, "x-hybridgate-backend %r" % name
            rec = up.api_requests()[-1]
            assert rec.json["messages"][0]["content"] == "n%d" % i, "request not at the backend the header names"
            assert rec.model == {"a": "model-a", "b": "model-b2"}[name], rec.json
            seen.add(name)
        # the stream path resolves aliases too
        s = gw.stream(chat_body("fast", stream=True))
        assert s.done and b.api_requests()[-1].model == "model-b" and b.api_requests()[-1].json["stream"] is True
        # the client's own model names still work
        r = gw.chat(chat_body("model-b2"))
        assert r.status == 200 and r.header("x-hybridgate-backend") == "b" and b.api_requests()[-1].model == "model-b2"


@test
def models_list():
    with FakeUpstream("a", models=["model-a"]) as a, FakeUpstream("b", models=["model-b", "model-b2"]) as b, \
            Gateway(two_backends(a, b)) as gw:
        r = gw.request("GET", "/v1/models")
        assert r.status == 200, r
        j = r.json()
        assert j.get("object") == "list" and isinstance(j.get("data"), list), j
        ids = [m.get("id") for m in j["data"]]
        for want in ("model-a", "model-b", "model-b2", "fast", "chat"):
            assert want in ids, "%s missing from /v1/models: %s" % (want, ids)
        assert len(ids) == len(set(ids)), "duplicates in /v1/models: %s" % ids
        for m in j["data"]:
            assert m.get("object") == "model", m
        assert r.header("x-request-id"), "GET /v1/models has no x-request-id: %r" % r.headers


@test
def healthz_and_readyz():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        r = gw.request("GET", "/healthz")
        assert r.status == 200 and r.header("x-request-id"), r.headers
        assert wait_until(lambda: gw.request("GET", "/readyz").status == 200, 10 * SLOW), \
            "/readyz never 200 with a healthy backend"
    # only a dead backend: alive but never ready
    cfg = {"backends": [backend("dead", "http://127.0.0.1:%d/v1" % closed_port(), ["m"], health_interval="200ms")]}
    with Gateway(cfg) as gw:
        assert gw.request("GET", "/healthz").status == 200
        end = time.monotonic() + 3
        while time.monotonic() < end:
            r = gw.request("GET", "/readyz")
            assert r.status == 503, "/readyz %d with no healthy backend" % r.status
            time.sleep(0.2)


@test
def request_ids_are_unique():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        ids = set()
        for _ in range(5):
            r = gw.chat(chat_body("model-a"))
            ids.add(r.header("x-request-id"))
        assert len(ids) == 5 and None not in ids, ids
        r = gw.chat(chat_body("no-such-model"))
        assert r.header("x-request-id"), "an error answer has no x-request-id: %r" % r.headers


@test
def no_key_configured_forwards_no_client_key():
    with FakeUpstream("a", models=["model-a"]) as up, \
            Gateway({"backends": [backend("a", up, ["model-a"])]}) as gw:
        r = gw.chat(chat_body("model-a"), headers={"Authorization": "Bearer " + CLIENT_KEY,
                                                   "x-api-key": CLIENT_KEY, "api-key": CLIENT_KEY})
        assert r.status == 200
        rec = up.api_requests()[-1]
        assert_no_client_key(rec)


@test
def keep_alive_client_connection():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10 * SLOW)
        try:
            for i in range(5):
                c.request("POST", "/v1/chat/completions", body=json.dumps(chat_body("model-a", "k%d" % i)),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                data = r.read()
                assert r.status == 200, (r.status, data)
                assert json.loads(data)["choices"][0]["message"]["content"] == "Hello from a."
            c.request("GET", "/v1/models")
            r = c.getresponse()
            r.read()
            assert r.status == 200
        finally:
            c.close()
        assert [x.json["messages"][0]["content"] for x in up.api_requests()] == ["k%d" % i for i in range(5)]


@test
def upstream_connections_are_reused():
    with FakeUpstream("a", models=["model-a"]) as up, one_backend(up) as gw:
        for i in range(10):
            assert gw.chat(chat_body("model-a", "p%d" % i)).status == 200
            assert gw.stream(chat_body("model-a", "s%d" % i, stream=True)).done
        peers = {r.peer for r in up.api_requests()}
        assert len(peers) <= 2, "20 sequential requests used %d upstream connections (no keep-alive pool?)" % len(
            peers)


@test
def check_config_reports_file_and_line():
    good = "listen: 127.0.0.1:1\nbackends:\n  - name: a\n    kind: self_hosted\n" \
           "    base_url: http://127.0.0.1:1/v1\n    models: [m]\n"
    rc, err, _ = check_config(good)
    assert rc == 0, "check-config rejected a good config: %s" % err
    bad = good + "    max_concurrency: lots\n"
    rc, err, path = check_config(bad)
    assert rc == 1, "check-config accepted a bad config (rc %d)" % rc
    assert ":7:" in err, "no file:line in %r" % err
    rc, err, _ = check_config(good.replace("kind: self_hosted", "kind: sometimes"))
    assert rc == 1 and ":4:" in err, (rc, err)
    rc, err, _ = check_config("listen: [\n")
    assert rc == 1 and err.strip(), (rc, err)


@test
def serve_refuses_bad_config():
    gw = Gateway("listen: 127.0.0.1:%d\nbackends:\n  - name: a\n    kind: nope\n    base_url: x\n    models: [m]\n"
                 % free_port(), check_exit=False)
    try:
        gw.start(timeout=5)
        raise AssertionError("gateway started on a bad config")
    except AssertionError as e:
        if "started on a bad config" in str(e):
            raise
        assert gw.returncode not in (None, 0), "exit code %r" % gw.returncode
        assert ":4:" in gw.stderr_text(), gw.stderr_text()
    finally:
        gw.kill()
        gw.cleanup()


if __name__ == "__main__":
    main()
