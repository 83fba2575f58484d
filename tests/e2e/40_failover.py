# SPDX-License-Identifier: MIT
"""Retry to a second backend serving the same model: on a connect error, a 429 and a 5xx before the
first byte; bounded by max_retries; never after the first byte of the answer; upstream 4xx (other than
429) relayed as they are, without a retry."""

import threading

from fake_upstream import FakeUpstream
from harness import Gateway, backend, chat_body, closed_port, main, test

TAGS = []


def pair(a, b, **kw):
    """Backends a and b both serving model m (a may be a URL string)."""
    cfg = {"backends": [backend("a", a, ["m", "only-a"]), backend("b", b, ["m", "only-b"])], "max_retries": 2}
    cfg.update(kw)
    return cfg


@test
def connect_error_retries_on_second_backend():
    dead = "http://127.0.0.1:%d/v1" % closed_port()
    with FakeUpstream("b", models=["m"]) as b:
        cfg = pair(dead, b)
        cfg["backends"][0]["health_interval"] = 0  # no probe: the requests themselves meet the refused port
        with Gateway(cfg, access_log=True) as gw:
            for i in range(6):
                r = gw.chat(chat_body("m", "r%d" % i), timeout=15)
                assert r.status == 200, "request %d: %r" % (i, r)
                assert r.header("x-hybridgate-backend") == "b", r.headers
            s = gw.stream(chat_body("m", stream=True), timeout=15)
            assert s.status == 200 and s.done and s.headers.get("x-hybridgate-backend") == "b", s
            assert len(b.api_requests()) == 7
            recs = gw.access_records(wait_for=7)
            assert any(x.get("attempts", 0) >= 2 for x in recs), \
                "no request was tried on the dead backend first, so no retry was exercised: %r" % [
                    (x.get("backend"), x.get("attempts")) for x in recs]


def retry_on_status(status):
    with FakeUpstream("a", models=["m"]) as a, FakeUpstream("b", models=["m"]) as b, Gateway(pair(a, b)) as gw:
        a.set_default({"mode": "status", "status": status})
        for i in range(6):
            r = gw.chat(chat_body("m", "r%d" % i), timeout=15)
            assert r.status == 200, "request %d after upstream %d: %r" % (i, status, r)
            assert r.header("x-hybridgate-backend") == "b", r.headers
        for i in range(2):
            s = gw.stream(chat_body("m", "s%d" % i, stream=True), timeout=15)
            assert s.status == 200 and s.done and s.headers.get("x-hybridgate-backend") == "b", s
        assert len(b.api_requests()) == 8, len(b.api_requests())
        assert a.api_requests(), "a never got a request, so no retry after %d was exercised" % status
        # every request that a answered with the error was answered by b afterwards
        a_prompts = [r.json["messages"][0]["content"] for r in a.api_requests()]
        b_prompts = [r.json["messages"][0]["content"] for r in b.api_requests()]
        assert set(a_prompts) <= set(b_prompts), (a_prompts, b_prompts)
        return a_prompts


@test
def retry_on_429():
    retry_on_status(429)


@test
def retry_on_500():
    retry_on_status(500)


@test
def retry_on_503():
    retry_on_status(503)


@test
def retries_are_bounded():
    with FakeUpstream("a", models=["m"]) as a, FakeUpstream("b", models=["m"]) as b, \
            FakeUpstream("c", models=["m"]) as c:
        cfg = {"backends": [backend(n, u, ["m"]) for n, u in (("a", a), ("b", b), ("c", c))], "max_retries": 1}
        for u in (a, b, c):
            u.set_default({"mode": "status", "status": 500})
        with Gateway(cfg) as gw:
            r = gw.chat(chat_body("m"), timeout=15)
            assert r.status >= 500, r
            n = sum(len(u.api_requests()) for u in (a, b, c))
            assert n == 2, "max_retries 1 but %d upstream attempts" % n
            # a stream request that fails before its first byte gets an error status with a JSON body
            s = gw.stream(chat_body("m", stream=True), timeout=15)
            assert s.status >= 500 and s.ended == "eof", s
            assert "error" in s.json(), s.raw[:300]
        cfg["max_retries"] = 0
        for u in (a, b, c):
            u.reset()
            u.set_default({"mode": "status", "status": 500})
        with Gateway(cfg) as gw:
            r = gw.chat(chat_body("m"), timeout=15)
            assert r.status >= 500, r
            n = sum(len(u.api_requests()) for u in (a, b, c))
            assert n == 1, "max_retries 0 but %d upstream attempts" % n


def hold_b(gw, b):
    """Makes b the busier backend: one request to only-b stalls there for a few seconds."""
    b.set_model("only-b", {"mode": "stall_head", "stall": 4})
    t = threading.Thread(target=lambda: gw.chat(chat_body("only-b"), timeout=20), daemon=True)
    t.start()
    assert b.wait_requests(1, 5), "holder request never reached b"
    return t


@test
def no_retry_after_first_byte_stream():
    with FakeUpstream("a", models=["m"]) as a, FakeUpstream("b", models=["m"]) as b, Gateway(pair(a, b)) as gw:
        a.set_default({"mode": "die_mid", "after": 2})
        hold_b(gw, b)  # least in-flight now picks a
        hits = 0
        for i in range(4):
            before = len(b.api_requests())
            s = gw.stream(chat_body("m", "s%d" % i, stream=True), timeout=15)
            if s.headers.get("x-hybridgate-backend") == "a":
                hits += 1
                assert s.status == 200 and not s.done and s.ended in ("eof", "reset"), s
                assert s.error_events(), "no error event: %r" % s.raw[-200:]
                assert len(b.api_requests()) == before, "retried on b after a had sent events"
        assert hits, "selection never picked a (least in-flight with b busy): cannot check"


@test
def no_retry_after_first_byte_nonstream():
    with FakeUpstream("a", models=["m"]) as a, FakeUpstream("b", models=["m"]) as b, Gateway(pair(a, b)) as gw:
        a.set_default({"mode": "die_mid"})
        hold_b(gw, b)
        before = len(b.api_requests())
        try:
            r = gw.chat(chat_body("m"), timeout=15)
        except OSError:
            r = None
        if r is not None and r.header("x-hybridgate-backend") == "b":
            raise AssertionError("a cut answer from a was retried on b: %r" % r)
        assert len(a.api_requests()) == 1, "request did not go to the idle backend a"
        assert len(b.api_requests()) == before, "retried on b after a had answered"
        if r is not None:
            assert r.status == 502, r


@test
def upstream_4xx_relayed_without_retry():
    with FakeUpstream("a", models=["m"]) as a, FakeUpstream("b", models=["m"]) as b, Gateway(pair(a, b)) as gw:
        for u in (a, b):
            u.set_default({"mode": "status", "status": 400, "message": "bad max_tokens from " + u.name,
                           "code": "invalid_value"})
        r = gw.chat(chat_body("m"), timeout=15)
        assert r.status == 400, r
        n = len(a.api_requests()) + len(b.api_requests())
        assert n == 1, "a 400 was retried (%d attempts)" % n
        up = a if a.api_requests() else b
        assert r.body == up.api_requests()[0].sent, "400 body not relayed as-is: %r" % r.body
        assert r.header("x-hybridgate-backend") == up.name
        for status in (401, 404, 422):
            for u in (a, b):
                u.set_default({"mode": "status", "status": status})
            r = gw.chat(chat_body("m"), timeout=15)
            assert r.status == status, "upstream %d became %d" % (status, r.status)


@test
def only_the_serving_backend_is_tried():
    with FakeUpstream("a", models=["m"]) as a, FakeUpstream("b", models=["m"]) as b, Gateway(pair(a, b)) as gw:
        a.set_default({"mode": "status", "status": 500})
        r = gw.chat(chat_body("only-a"), timeout=15)
        assert r.status >= 500, "only-a is served by a alone: %r" % r
        assert not b.api_requests(), "only-a was sent to b"


if __name__ == "__main__":
    main()
