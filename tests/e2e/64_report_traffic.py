# SPDX-License-Identifier: MIT
"""Issue 6 acceptance 2: real traffic through the gateway to stand-in upstreams, then `hybridgate
report` on the usage store. The stand-ins return known `usage`; the report's token counts and costs
must match them exactly, for streaming and non-streaming requests, on a hosted backend (priced per
token) and a self-hosted one (amortized cost of its pool). A canary secret in the prompts must not
reach the database (house style rule 15)."""

import json
import os
import shutil
import subprocess
import tempfile

from fake_upstream import FakeUpstream
from harness import Gateway, backend, gateway_bin, main, test

TAGS = []

CANARY = "CANARY-7f3a9c-sk-test-do-not-store"
ADMIN_KEY = "e2e-admin-key-64"
N_HOSTED, N_HOSTED_STREAM, N_LOCAL, N_LOCAL_STREAM = 5, 4, 3, 6
HOSTED_USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}
LOCAL_USAGE = {"prompt_tokens": 300, "completion_tokens": 50, "total_tokens": 350}


def config(cloud, local, db):
    return {
        "backends": [backend("cloud", cloud, ["gpt-4.1"], kind="hosted"),
                     backend("local", local, ["llama-local"])],
        "max_retries": 0,
        "admin_key_env": "HG_E2E_ADMIN",
        "store": {"path": db, "flush_interval": "20ms"},
        "prices": {
            "models": {"gpt-4.1": {"input": 2.00, "output": 8.00}},
            # 1 replica at USD 2,628 a month serving 1000 tok/s at 100%: 2.628G tokens a month,
            # i.e. exactly USD 1 per million tokens amortized
            "pools": {"local": {"replica_monthly_usd": 2628, "replica_tokens_per_second": 1000,
                                "replicas": 1, "target_utilization": 1.0}},
        },
        "economics": {"frontier": {"model": "gpt-4.1"},
                      "hosted_open": {"provider": "together", "model": "llama-3-70b",
                                      "input": 0.88, "output": 0.88},
                      "self_hosted": {"backend": "local"}},
    }


def body(model, stream, i):
    return {"model": model, "stream": stream,
            "messages": [{"role": "user", "content": "classify doc %d %s" % (i, CANARY)}]}


@test
def report_matches_upstream_usage():
    tmp = tempfile.mkdtemp(prefix="hg-e2e-report-")
    db = os.path.join(tmp, "usage.db")
    try:
        with FakeUpstream(name="cloud", models=("gpt-4.1",)) as cloud, \
                FakeUpstream(name="local", models=("llama-local",)) as local:
            cloud.set_default({"mode": "ok", "usage": HOSTED_USAGE})
            local.set_default({"mode": "ok", "usage": LOCAL_USAGE})
            cfg = config(cloud, local, db)
            gw = Gateway(cfg, env={"HG_E2E_ADMIN": ADMIN_KEY})
            cfg_path = os.path.join(tmp, "hybridgate.yaml")
            shutil.copy(gw.config_path, cfg_path)
            with gw:
                for i in range(N_HOSTED):
                    r = gw.chat(body("gpt-4.1", False, i))
                    assert r.status == 200, r
                for i in range(N_HOSTED_STREAM):
                    s = gw.stream(body("gpt-4.1", True, i))
                    assert s.status == 200 and s.done, s
                for i in range(N_LOCAL):
                    r = gw.chat(body("llama-local", False, i))
                    assert r.status == 200, r
                for i in range(N_LOCAL_STREAM):
                    s = gw.stream(body("llama-local", True, i))
                    assert s.status == 200 and s.done, s
                # the dashboard's economics panel: api/admin.c refreshes report_headline_json
                # in the background (first run at start, before this traffic)
                r = gw.request("GET", "/admin/economics", headers={"X-Admin-Key": ADMIN_KEY})
                assert r.status == 200, r
                e = json.loads(r.body)
                if e.get("available"):
                    h = e["headline"]
                    assert "requests" in h and "monthly" in h and "rules" in h, h
                    assert h["monthly"]["self_hosted_usd"] is not None, h
            # the gateway has stopped: store_close wrote every queued row
        r = subprocess.run([gateway_bin(), "report", "-c", cfg_path, "--format", "json"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout)
        n_hosted = N_HOSTED + N_HOSTED_STREAM
        n_local = N_LOCAL + N_LOCAL_STREAM
        tot = rep["totals"]
        assert tot["requests"] == n_hosted + n_local, tot
        assert tot["errors"] == 0, tot
        want_in = n_hosted * 1000 + n_local * 300
        want_out = n_hosted * 200 + n_local * 50
        assert tot["input_tokens"] == want_in, (tot, want_in)
        assert tot["output_tokens"] == want_out, (tot, want_out)
        by_backend = {g["key"]: g for g in rep["by_backend"]}
        cloud_g, local_g = by_backend["cloud"], by_backend["local"]
        assert cloud_g["requests"] == n_hosted and local_g["requests"] == n_local, by_backend
        assert cloud_g["input_tokens"] == n_hosted * 1000, cloud_g
        assert cloud_g["output_tokens"] == n_hosted * 200, cloud_g
        # hosted: 1000 x 2 USD/M + 200 x 8 USD/M = 3600 micro-dollars a request
        assert cloud_g["spend_micro_usd"] == n_hosted * 3600, cloud_g
        # self-hosted: 350 tokens x 1 USD/M amortized = 350 micro-dollars a request
        assert local_g["spend_micro_usd"] == n_local * 350, local_g
        assert tot["spend_micro_usd"] == n_hosted * 3600 + n_local * 350, tot
        by_model = {g["key"]: g for g in rep["by_model"]}
        assert by_model["gpt-4.1"]["requests"] == n_hosted, by_model
        assert rep["store"] == "sqlite" and rep["options"]["self_hosted"] is True, rep["options"]
        assert rep["all"]["recommendation"] in ("frontier", "hosted_open", "self_hosted"), rep["all"]
        for fmt in ("text", "html"):
            o = subprocess.run([gateway_bin(), "report", "-c", cfg_path, "--format", fmt],
                               capture_output=True, text=True, timeout=60)
            assert o.returncode == 0 and "cloud" in o.stdout, o.stderr
        # no prompt bytes in the store
        for name in os.listdir(tmp):
            if name.startswith("usage.db"):
                with open(os.path.join(tmp, name), "rb") as f:
                    assert CANARY.encode() not in f.read(), "canary found in " + name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
