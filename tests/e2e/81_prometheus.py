# SPDX-License-Identifier: MIT
"""A real Prometheus server (Debian's `prometheus`) scrapes the gateway every second on 127.0.0.1 with
the admin key as a bearer token (metrics.require_admin_key: true); after known traffic, PromQL over the
scraped series must give the exact counts, token sums and histogram counts, and the target must be
healthy. Prometheus gets its own config and data dir and is stopped by PID."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from fake_upstream import FakeUpstream
from harness import Gateway, Skip, backend, chat_body, free_port, main, test, wait_until

TAGS = ["slow", "needs-prometheus"]

ADMIN_KEY = "adm-prom-e2e-77c1"


class Prometheus:
    def __init__(self, target_port, bearer=None):
        self.bin = shutil.which("prometheus")
        if self.bin is None:
            raise Skip("prometheus not installed (Debian package prometheus)")
        self.tmp = tempfile.mkdtemp(prefix="hg-prom-")
        self.port = free_port()
        auth = ""
        if bearer:
            auth = "    authorization:\n      type: Bearer\n      credentials: %s\n" % bearer
        with open(os.path.join(self.tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: hybridgate\n%s"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (auth, target_port))
        self.proc = None

    def __enter__(self):
        self.log = open(os.path.join(self.tmp, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [self.bin, "--config.file=" + os.path.join(self.tmp, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--storage.tsdb.retention.time=1h"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, cwd=self.tmp)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited: %s" % self.log_tail())
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False
        if not wait_until(ready, 30, 0.2):
            self.__exit__(None, None, None)
            raise AssertionError("prometheus not ready: %s" % self.log_tail())
        return self

    def log_tail(self):
        try:
            with open(os.path.join(self.tmp, "prometheus.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=5) as r:
            j = json.loads(r.read())
        assert j["status"] == "success", j
        return j["data"]

    def scalar(self, promql):
        """The single value of an instant query, or None when it has no result."""
        res = self.api("query", query=promql)["result"]
        if not res:
            return None
        assert len(res) == 1, res
        return float(res[0]["value"][1])

    def __exit__(self, et, ev, tb):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        if et is not None:
            print("--- prometheus log (tail) ---\n%s\n--- end ---" % self.log_tail())
        shutil.rmtree(self.tmp, ignore_errors=True)


@test
def prometheus_scrapes_exact_counts():
    with FakeUpstream("local", models=["m"]) as lo, FakeUpstream("cloud", models=["h"]) as hi:
        lo.set_default({"mode": "ok", "usage": {"prompt_tokens": 13, "completion_tokens": 2, "total_tokens": 15}})
        hi.set_default({"mode": "ok", "usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13}})
        cfg = {"admin_key_env": "HG_E2E_ADMIN",
               "metrics": {"require_admin_key": True},
               "backends": [backend("local", lo, ["m"]), backend("cloud", hi, ["h"], kind="hosted")]}
        with Gateway(cfg, env={"HG_E2E_ADMIN": ADMIN_KEY}, workers=2) as gw:
            assert gw.request("GET", "/metrics").status == 401
            with Prometheus(gw.port, bearer=ADMIN_KEY) as prom:
                def target_up():
                    t = prom.api("targets")["activeTargets"]
                    return t and t[0]["health"] == "up"
                assert wait_until(target_up, 15, 0.25), prom.api("targets")
                for i in range(12):
                    assert gw.chat(chat_body("m", "l%d" % i)).status == 200
                for i in range(5):
                    s = gw.stream(chat_body("h", "h%d" % i, stream=True))
                    assert s.status == 200 and s.done, s
                for i in range(3):
                    assert gw.chat(chat_body("unknown")).status == 404

                q_total = 'sum(hybridgate_requests_total{job="hybridgate"})'
                assert wait_until(lambda: prom.scalar(q_total) == 20, 15, 0.25), prom.scalar(q_total)
                assert prom.scalar('sum(hybridgate_requests_total{backend="local",status_class="2xx"})') == 12
                assert prom.scalar('sum(hybridgate_requests_total{kind="hosted"})') == 5
                assert prom.scalar('sum(hybridgate_requests_total{backend="none",status_class="4xx"})') == 3
                assert prom.scalar('hybridgate_input_tokens_total{backend="local"}') == 12 * 13
                assert prom.scalar('hybridgate_output_tokens_total{backend="cloud"}') == 5 * 9
                assert prom.scalar('hybridgate_request_duration_seconds_count{backend="local"}') == 12
                assert prom.scalar('hybridgate_time_to_first_token_seconds_count{backend="cloud"}') == 5
                p50 = prom.scalar('histogram_quantile(0.5, hybridgate_request_duration_seconds_bucket{backend="local"})')
                assert p50 is not None and 0 < p50 < 1, p50
                share = prom.scalar('sum(hybridgate_requests_total{kind="self_hosted"}) / '
                                    'sum(hybridgate_requests_total{kind!="none"})')
                assert abs(share - 12 / 17) < 1e-9, share
                assert prom.scalar('hybridgate_backend_up{backend="local"}') == 1
                assert prom.scalar('up{job="hybridgate"}') == 1
                t = prom.api("targets")["activeTargets"][0]
                assert t["lastError"] == "", t
                # every declared metric family made it into the TSDB
                names = set(prom.api("label/__name__/values"))
                with urllib.request.urlopen(urllib.request.Request(
                        gw.url + "/metrics", headers={"Authorization": "Bearer " + ADMIN_KEY}), timeout=5) as r:
                    declared = set(l.split()[2] for l in r.read().decode().splitlines() if l.startswith("# TYPE "))
                for d in declared:
                    assert d in names or d + "_count" in names, (d, sorted(names))


if __name__ == "__main__":
    main()
