# SPDX-License-Identifier: MIT
"""Model pinning (issue 5): a rule's require_model_version is checked against what each backend
answers; a backend serving another version is failed over and then excluded; a changed model on a
backend is a drift event (log + metric)."""

from fake_upstream import FakeUpstream
from harness import Gateway, backend, chat_body, main, request, test, wait_until


def config(a, b):
    return {
        "backends": [backend("gpu-a", a, ["llama-v2"], health_interval=0),
                     backend("gpu-b", b, ["llama-v1"], health_interval=0)],
        "aliases": {"llama": {"gpu-a": "llama-v2", "gpu-b": "llama-v1"}},
        "routing": [{"name": "pinned", "route": {"pool": ["gpu-a", "gpu-b"]},
                     "require_model_version": "llama-v1"}],
    }


def route_of(r):
    return r.header("x-hybridgate-route") or ""


@test
def wrong_version_fails_over_then_is_excluded():
    with FakeUpstream("gpu-a", models=["llama-v2"]) as a, FakeUpstream("gpu-b", models=["llama-v1"]) as b, \
            Gateway(config(a, b)) as gw:
        for _ in range(6):
            r = gw.chat(chat_body("llama"))
            assert r.status == 200 and r.json()["model"] == "llama-v1", r
            assert "backend=gpu-b" in route_of(r), route_of(r)
        # gpu-a may be tried once (its version is unknown until it answers), then never again
        assert len(a.api_requests()) <= 1, "a backend with the wrong version kept getting traffic"
        s = gw.stream(chat_body("llama", stream=True), timeout=10)
        assert s.status == 200 and s.done, s


@test
def only_wrong_versions_is_an_error_not_a_silent_answer():
    with FakeUpstream("gpu-a", models=["llama-v2"]) as a, FakeUpstream("gpu-b", models=["llama-v1"]) as b:
        cfg = config(a, b)
        cfg["aliases"] = {"llama": {"gpu-a": "llama-v2"}}
        with Gateway(cfg) as gw:
            r = gw.chat(chat_body("llama"))
            assert r.status in (502, 503), r
            assert "version" in r.json()["error"]["message"] or "model_version" in r.body.decode(), r


@test
def a_stable_model_is_not_drift():
    with FakeUpstream("gpu-a", models=["m1"]) as a:
        cfg = {"backends": [backend("gpu-a", a, ["m1"], health_interval=0)]}
        with Gateway(cfg) as gw:
            assert gw.chat(chat_body("m1")).status == 200
            assert gw.chat(chat_body("m1")).status == 200

            def drift_metric():
                m = request(gw.port, "GET", "/metrics").body.decode()
                for line in m.splitlines():
                    if line.startswith("hybridgate_model_drift_events_total{") and 'backend="gpu-a"' in line:
                        return float(line.rsplit(" ", 1)[1])
                return None

            assert drift_metric() == 0.0, drift_metric()


@test
def a_changed_model_is_a_drift_event():
    with FakeUpstream("gpu-a", models=["m1"]) as a:
        cfg = {"backends": [backend("gpu-a", a, ["m1"], health_interval=0)]}
        with Gateway(cfg) as gw:
            assert gw.chat(chat_body("m1")).status == 200
            a.push({"mode": "ok", "reply_model": "m1-2026-12-rebuild"})  # the server was upgraded
            assert gw.chat(chat_body("m1")).status == 200
            m = request(gw.port, "GET", "/metrics").body.decode()
            lines = [x for x in m.splitlines()
                     if x.startswith("hybridgate_model_drift_events_total{") and 'backend="gpu-a"' in x]
            assert lines and float(lines[0].rsplit(" ", 1)[1]) == 1.0, lines
            assert wait_until(lambda: "drift" in gw.stderr_text(), 3), gw.stderr_tail()


if __name__ == "__main__":
    main()
