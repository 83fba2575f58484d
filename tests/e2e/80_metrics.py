# SPDX-License-Identifier: MIT
"""Metrics, access log and admin endpoints through the real binary: /metrics values checked against
known traffic (requests by backend and status class, tokens, histogram counts and sums, failovers,
backend health), `promtool check metrics` on a real scrape, the admin key gate (401) with no backend key
in any reply, the access log's JSON lines (no prompt canary, reopened on SIGHUP)."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

from fake_upstream import FakeUpstream
from harness import Gateway, backend, chat_body, closed_port, main, test, wait_until

TAGS = []

ADMIN_KEY = "adm-e2e-5b1f0c9e"
HOSTED_KEY = "sk-hosted-canary-0e7d2a"
PROMPT_CANARY = "CANARY 4111-1111-1111-1111 zq7"  # a card number: the scanner must flag it
ENV = {"HG_E2E_ADMIN": ADMIN_KEY, "HG_E2E_HOSTED": HOSTED_KEY}
AUTH = {"Authorization": "Bearer " + ADMIN_KEY}

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): float} from the text exposition format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "unparsable sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def val(samples, name, **labels):
    want = frozenset((k, str(v)) for k, v in labels.items())
    return samples.get((name, want))


def total(samples, name, **labels):
    """Sum over every series of name whose labels include the given ones."""
    want = set((k, str(v)) for k, v in labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def scrape(gw):
    r = gw.request("GET", "/metrics")
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4"), r.headers
    return r.body.decode()


def config(local, hosted, **kw):
    cfg = {
        "admin_key_env": "HG_E2E_ADMIN",
        "backends": [
            backend("local", local, ["m", "both"], health_interval="200ms"),
            backend("cloud", hosted, ["h", "both"], kind="hosted", api_key_env="HG_E2E_HOSTED"),
        ],
        "max_retries": 2,
    }
    cfg.update(kw)
    return cfg


@test
def metric_values_match_known_traffic():
    with FakeUpstream("local", models=["m", "both"]) as lo, FakeUpstream("cloud", models=["h", "both"]) as hi, \
            Gateway(config(lo, hi), env=ENV, workers=2) as gw:
        lo.set_default({"mode": "ok", "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
        hi.set_default({"mode": "ok", "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
        for i in range(7):
            assert gw.chat(chat_body("m", "local %d" % i)).status == 200
        for i in range(3):
            s = gw.stream(chat_body("m", "stream %d" % i, stream=True))
            assert s.status == 200 and s.done, s
        for i in range(4):
            assert gw.chat(chat_body("h", "hosted %d" % i)).status == 200
        hi.push({"mode": "status", "status": 400, "message": "bad"})
        assert gw.chat(chat_body("h", "bad one")).status == 400
        for i in range(2):
            assert gw.chat(chat_body("no-such-model")).status == 404
        # a 500 from local on "both" fails over to cloud (counted as a failover away from local)
        lo.push({"mode": "status", "status": 500})
        r = gw.chat(chat_body("both", "failover"))
        assert r.status == 200 and r.header("x-hybridgate-backend") in ("cloud", "local"), r
        # sensitive traffic: a card number stays on the self-hosted backend; to a model only the
        # hosted backend serves it is refused by the privacy invariant (503)
        for i in range(3):
            r2 = gw.chat(chat_body("m", "charge card 4111 1111 1111 1111 please, call %s" % "abc"[i]))
            assert r2.status == 200 and r2.header("x-hybridgate-backend") == "local", r2
        for i in range(2):
            r3 = gw.chat(chat_body("h", "charge card 4111 1111 1111 1111 please, call %s" % "ab"[i]))
            assert r3.status == 503, r3

        t = scrape(gw)
        s = parse_metrics(t)
        L = {"backend": "local", "kind": "self_hosted"}
        C = {"backend": "cloud", "kind": "hosted"}
        served_by_cloud = 1 if r.header("x-hybridgate-backend") == "cloud" else 0
        # without a routing: section the route engine's built-in rules decide: "default" for
        # public traffic, "sensitive-local" for requests with sensitive data
        assert val(s, "hybridgate_requests_total", rule="default", status_class="2xx", **L) == 10 + (1 - served_by_cloud), t
        assert val(s, "hybridgate_requests_total", rule="sensitive-local", status_class="2xx", **L) == 3, t
        assert val(s, "hybridgate_requests_total", rule="default", status_class="2xx", **C) == 4 + served_by_cloud, t
        assert val(s, "hybridgate_requests_total", rule="default", status_class="4xx", **C) == 1, t
        assert total(s, "hybridgate_requests_total", backend="none", status_class="4xx") == 2, t
        assert total(s, "hybridgate_requests_total", status_class="5xx") == 2, t
        assert total(s, "hybridgate_requests_total") == 23
        assert val(s, "hybridgate_sensitive_kept_local_total") == 3, t
        assert val(s, "hybridgate_sensitive_requests_total", **L) == 3, t
        assert total(s, "hybridgate_class_requests_total", backend="local", **{"class": "financial"}) == 3, t
        assert val(s, "hybridgate_invariant_rejections_total") == 2, t
        assert val(s, "hybridgate_input_tokens_total", **L) == 11 * (10 + 3 + 1 - served_by_cloud), t
        assert val(s, "hybridgate_output_tokens_total", **L) == 7 * (10 + 3 + 1 - served_by_cloud), t
        assert val(s, "hybridgate_input_tokens_total", **C) == 5 * (4 + served_by_cloud), t
        assert val(s, "hybridgate_request_duration_seconds_count", **L) == 13 + 1 - served_by_cloud
        assert val(s, "hybridgate_request_duration_seconds_bucket", le="+Inf", **L) == 13 + 1 - served_by_cloud
        dsum = val(s, "hybridgate_request_duration_seconds_sum", **L)
        assert 0 < dsum < 5, dsum
        assert val(s, "hybridgate_time_to_first_token_seconds_count", **L) == 13 + 1 - served_by_cloud, t
        assert val(s, "hybridgate_scan_duration_seconds_count") >= 20, t
        assert val(s, "hybridgate_time_to_first_token_seconds_sum", **L) <= dsum
        # local is listed first and idle, so it takes "both" first, answers 500, and cloud serves it
        assert served_by_cloud == 1, r.headers
        assert val(s, "hybridgate_failovers_total", **L) == 1, t
        assert val(s, "hybridgate_failovers_total", **C) == 0, t
        assert total(s, "hybridgate_requests_total", backend="local", status_class="5xx") == 0, t
        assert val(s, "hybridgate_backend_up", **L) == 1
        assert val(s, "hybridgate_in_flight_requests", **L) == 0
        assert val(s, "hybridgate_build_info", version=re.search(r'version="([^"]+)"', t).group(1)) == 1
        assert HOSTED_KEY not in t and ADMIN_KEY not in t

        # the dashboard JSON shows the same numbers
        j = gw.request("GET", "/admin/stats", headers=AUTH).json()
        assert j["requests_total"] == 23, j
        assert j["self_hosted_total"] == 14 - served_by_cloud and j["hosted_total"] == 5 + served_by_cloud, j
        assert j["no_backend_total"] == 4, j  # 2 unknown models + 2 refused by the invariant
        assert j["sensitive_kept_local_total"] == 3 and j["invariant_rejections_total"] == 2, j
        assert j["sensitive_total"] == 5, j
        b = {x["name"]: x for x in j["backends"]}
        assert b["local"]["requests"] == 14 - served_by_cloud and b["cloud"]["requests"] == 5 + served_by_cloud, b
        avg = b["local"]["latency_avg_ms"]
        assert abs(avg - 1000 * dsum / (14 - served_by_cloud)) < 0.01, (avg, dsum)


@test
def backend_down_shows_in_health_gauge():
    dead = "http://127.0.0.1:%d/v1" % closed_port()
    with FakeUpstream("cloud", models=["h"]) as hi, Gateway(config(dead, hi), env=ENV) as gw:
        def down():
            s = parse_metrics(scrape(gw))
            return val(s, "hybridgate_backend_up", backend="local", kind="self_hosted") == 0
        assert wait_until(down, 5), scrape(gw)
        j = gw.request("GET", "/admin/stats", headers=AUTH).json()
        b = {x["name"]: x for x in j["backends"]}
        assert b["local"]["up"] is False and b["local"]["healthy"] is False, b
        assert b["cloud"]["healthy"] is True, b


@test
def queue_inflight_and_circuit_gauges_follow_the_backend():
    import threading
    with FakeUpstream("local", models=["m"]) as lo, FakeUpstream("cloud", models=["h"]) as hi:
        cfg = config(lo, hi, routing={
            "circuit_breaker": {"failures": 3, "cooldown": "30s"},
            "rules": [{"name": "to-local", "match": {"models": ["m"]}, "route": {"pool": ["local"]}},
                      {"name": "sensitive", "match": {"classes": ["pii", "phi", "financial", "secret"]},
                       "route": {"pool": ["local"]}},
                      {"name": "default", "route": {"pool": ["cloud"]}}]})
        cfg["backends"][0].update({"max_concurrency": 1, "max_queue": 4})
        with Gateway(cfg, env=ENV, workers=2) as gw:
            L = {"backend": "local", "kind": "self_hosted"}
            # one slow request holds local's only slot; two more wait in its queue
            lo.set_default({"mode": "ok", "head_delay": 1.5})
            results = []
            ts = [threading.Thread(target=lambda i=i: results.append(gw.chat(chat_body("m", "slow %s" % "abc"[i]), timeout=20).status))
                  for i in range(3)]
            for t in ts:
                t.start()

            def loaded():
                s = parse_metrics(scrape(gw))
                return val(s, "hybridgate_in_flight_requests", **L) == 1 and \
                    val(s, "hybridgate_queued_requests", **L) == 2 and s
            s = wait_until(loaded, 3, 0.05)
            assert s, scrape(gw)
            j = gw.request("GET", "/admin/stats", headers=AUTH).json()
            b = {x["name"]: x for x in j["backends"]}
            assert b["local"]["in_flight"] == 1 and b["local"]["queued"] == 2, b
            for t in ts:
                t.join()
            assert results == [200, 200, 200], results
            s = parse_metrics(scrape(gw))
            assert val(s, "hybridgate_in_flight_requests", **L) == 0 and val(s, "hybridgate_queued_requests", **L) == 0
            assert val(s, "hybridgate_circuit_breaker_state", **L) == 0
            # three 500s in a row open local's circuit (failures: 3)
            lo.set_default({"mode": "status", "status": 500})
            for i in range(3):
                assert gw.chat(chat_body("m", "fail %s" % "abc"[i])).status >= 500
            s = parse_metrics(scrape(gw))
            assert val(s, "hybridgate_circuit_breaker_state", **L) == 2, scrape(gw)
            j = gw.request("GET", "/admin/stats", headers=AUTH).json()
            b = {x["name"]: x for x in j["backends"]}
            assert b["local"]["circuit"] == "open" and b["local"]["healthy"] is False, b
            assert total(s, "hybridgate_requests_total", backend="local", rule="to-local", status_class="5xx") == 3, scrape(gw)


@test
def promtool_accepts_a_real_scrape():
    promtool = shutil.which("promtool")
    if promtool is None:
        from harness import Skip
        raise Skip("promtool not installed (Debian package prometheus)")
    with FakeUpstream("local", models=["m", "both"]) as lo, FakeUpstream("cloud", models=["h", "both"]) as hi, \
            Gateway(config(lo, hi), env=ENV) as gw:
        for i in range(3):
            gw.chat(chat_body("m"))
            gw.chat(chat_body("h"))
        gw.chat(chat_body("nope"))
        text = scrape(gw)
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
        assert p.returncode == 0, "promtool check metrics failed:\n%s%s" % (p.stdout.decode(), p.stderr.decode())


@test
def admin_requires_key_and_hides_backend_keys():
    with FakeUpstream("local", models=["m", "both"]) as lo, FakeUpstream("cloud", models=["h", "both"]) as hi, \
            Gateway(config(lo, hi), env=ENV) as gw:
        gw.chat(chat_body("h"))
        for path in ("/admin/stats", "/admin/economics", "/admin/anything"):
            for h in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer " + ADMIN_KEY + "x"},
                      {"X-Admin-Key": "nope"}, {"Authorization": "Basic " + ADMIN_KEY}):
                r = gw.request("GET", path, headers=h)
                assert r.status == 401, (path, h, r)
                assert r.header("www-authenticate"), r.headers
        assert gw.request("GET", "/admin/stats", headers=AUTH).status == 200
        assert gw.request("GET", "/admin/stats", headers={"X-Admin-Key": ADMIN_KEY}).status == 200
        assert gw.request("POST", "/admin/stats", body={}, headers=AUTH).status == 405
        for path in ("/metrics", "/admin/stats", "/admin/economics", "/ui", "/ui/app.js", "/ui/style.css"):
            r = gw.request("GET", path, headers=AUTH)
            assert r.status == 200, (path, r)
            assert HOSTED_KEY.encode() not in r.body and ADMIN_KEY.encode() not in r.body, path
            for v in r.headers.values():
                assert HOSTED_KEY not in v and ADMIN_KEY not in v, (path, r.headers)
        r = gw.request("GET", "/ui")
        assert r.header("content-type").startswith("text/html") and b"data-testid" in r.body, r
        assert "default-src 'self'" in r.header("content-security-policy"), r.headers
    # without admin_key in the config the admin API is off
    with FakeUpstream("local", models=["m"]) as lo, \
            Gateway({"backends": [backend("local", lo, ["m"])]}) as gw:
        assert gw.request("GET", "/admin/stats", headers=AUTH).status == 404
        assert gw.request("GET", "/metrics").status == 200


@test
def access_log_lines_canary_and_sighup_reopen():
    with FakeUpstream("local", models=["m", "both"]) as lo, FakeUpstream("cloud", models=["h", "both"]) as hi:
        gw = Gateway(config(lo, hi, access_log="access.log"), env=ENV)
        with gw:
            log = os.path.join(gw.tmp, "access.log")
            for i in range(5):
                r = gw.chat(chat_body("m", "%s req %s" % (PROMPT_CANARY, "abcde"[i])), headers={"Authorization": "Bearer " + HOSTED_KEY})
                assert r.status == 200, r
            # the canary is a card number: to the hosted-only model it is refused (invariant)
            s = gw.stream(chat_body("h", PROMPT_CANARY, stream=True))
            assert s.status == 503, s
            s = gw.stream(chat_body("h", "public question", stream=True))
            assert s.status == 200, s
            assert gw.chat(chat_body("gone", PROMPT_CANARY)).status == 404

            def lines(path):
                try:
                    with open(path) as f:
                        return [l for l in f.read().splitlines() if l]
                except OSError:
                    return []
            assert wait_until(lambda: len(lines(log)) == 8, 5), lines(log)
            recs = [json.loads(l) for l in lines(log)]
            ids = set(r["request_id"] for r in recs)
            assert len(ids) == 8
            assert [r["backend"] for r in recs].count("local") == 5
            assert sorted(r["status"] for r in recs) == [200] * 6 + [404, 503]
            loc = [r for r in recs if r["backend"] == "local"]
            assert all(r["sensitive"] and "financial" in r["classes"] for r in loc), loc
            rej = [r for r in recs if r["status"] == 503][0]
            assert rej["sensitive"] and rej["backend"] == "", rej
            h = [r for r in recs if r["backend"] == "cloud"][0]
            assert h["backend_kind"] == "hosted" and h["stream"] is True and h["total_us"] > 0, h
            for r in recs:
                for k in ("time", "request_id", "endpoint", "model", "rule", "reason", "backend", "status",
                          "input_tokens", "output_tokens", "ttft_us", "total_us", "scan_us", "cost_micro_usd"):
                    assert k in r, (k, r)
            with open(log, "rb") as f:
                raw = f.read()
            assert PROMPT_CANARY.encode() not in raw and HOSTED_KEY.encode() not in raw
            assert b"Hello from" not in raw  # no completion text either

            # rotation: move the file away, SIGHUP, new lines go to a new file
            os.rename(log, log + ".1")
            gw.signal(signal.SIGHUP)
            time.sleep(0.2)
            assert gw.chat(chat_body("m", "after rotation")).status == 200
            assert wait_until(lambda: len(lines(log)) == 1, 5), (lines(log), lines(log + ".1")[-1:])
            assert len(lines(log + ".1")) == 8
            assert "access_log_lines_total 9" in scrape(gw)
        out = gw.stdout_text() + gw.stderr_text()
        assert PROMPT_CANARY not in out


@test
def access_log_to_stdout():
    with FakeUpstream("local", models=["m", "both"]) as lo, FakeUpstream("cloud", models=["h", "both"]) as hi:
        with Gateway(config(lo, hi, access_log="stdout"), env=ENV) as gw:
            for i in range(3):
                assert gw.chat(chat_body("m", "hello %d" % i)).status == 200

            def lines():
                return [json.loads(l) for l in gw.stdout_text().splitlines() if l.startswith("{")]
            assert wait_until(lambda: len(lines()) == 3, 5), gw.stdout_text()
            assert all(r["status"] == 200 and r["backend"] == "local" for r in lines()), lines()


@test
def cost_today_survives_restart_and_economics_headline():
    import tempfile
    tmp = tempfile.mkdtemp(prefix="hg-e2e-econ-")
    db = os.path.join(tmp, "usage.db")
    try:
        with FakeUpstream("local", models=["m", "both"]) as lo, FakeUpstream("cloud", models=["h", "both"]) as hi:
            hi.set_default({"mode": "ok", "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}})
            cfg = config(lo, hi, store={"path": db, "flush_interval": "20ms"},
                         prices={"models": {"h": {"input": 2.00, "output": 8.00}}},
                         economics={"frontier": {"model": "h"}})
            with Gateway(cfg, env=ENV) as gw:
                for i in range(4):
                    assert gw.chat(chat_body("h", "x%d" % i)).status == 200
                first = parse_metrics(scrape(gw))
                cost = val(first, "hybridgate_cost_usd_total", backend="cloud", kind="hosted")
                assert abs(cost - 4 * (1000 * 2.0 + 500 * 8.0) / 1e6) < 1e-9, cost
                j = gw.request("GET", "/admin/stats", headers=AUTH).json()
                assert abs(j["cost_today_usd"] - cost) < 1e-9, j
            # a new process on the same store: counters restart, cost today and this month do not
            with Gateway(cfg, env=ENV) as gw:
                def seeded():
                    j = gw.request("GET", "/admin/stats", headers=AUTH).json()
                    return abs(j["cost_today_usd"] - cost) < 1e-9 and j
                j = wait_until(seeded, 5)
                assert j, gw.request("GET", "/admin/stats", headers=AUTH).json()
                assert j["requests_total"] == 0 and abs(j["cost_month_usd"] - cost) < 1e-9, j
                assert j["cost_month_projection_usd"] >= j["cost_month_usd"], j
                assert gw.chat(chat_body("h", "one more")).status == 200
                j = gw.request("GET", "/admin/stats", headers=AUTH).json()
                assert abs(j["cost_today_usd"] - 5 * cost / 4) < 1e-9, j

                def econ():
                    e = gw.request("GET", "/admin/economics", headers=AUTH).json()
                    return e.get("available") and e
                e = wait_until(econ, 5)
                assert e and e["headline"]["requests"] >= 4, e
                assert abs(e["headline"]["spend_usd"] - cost) < 0.01, e
                assert e["headline"]["recommendation"], e
                assert gw.request("GET", "/admin/economics").status == 401
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
