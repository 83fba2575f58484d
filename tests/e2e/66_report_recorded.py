# SPDX-License-Identifier: MIT
"""The report's analyses on a week of recorded traffic (tests/report/make_demo.py into a SQLite
store, priced by tests/report/demo.yaml): spend by day and rule, burstiness, the monthly scaling of
the window, the hybrid as configured, and a recommendation per rule following the decision rules:
a regulated rule stays self-hosted, a small bursty one stays hosted, a large flat one self-hosts."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import REPO, gateway_bin, main, test

TAGS = []

DEMO = os.path.join(REPO, "tests", "report")


def report(tmp, *args):
    r = subprocess.run([gateway_bin(), "report", "-c", os.path.join(tmp, "demo.yaml"), *args],
                       capture_output=True, text=True, timeout=60, cwd=tmp)
    assert r.returncode == 0, r.stderr
    return r.stdout


def with_demo(fn):
    tmp = tempfile.mkdtemp(prefix="hg-e2e-demo-")
    try:
        shutil.copy(os.path.join(DEMO, "demo.yaml"), tmp)
        out = report(tmp, "--format", "json")  # creates the empty store and its schema
        assert json.loads(out)["totals"]["requests"] == 0, out
        assert "no requests recorded yet" in report(tmp)
        subprocess.run([sys.executable, os.path.join(DEMO, "make_demo.py"),
                        os.path.join(tmp, "hybridgate-demo.db")], check=True)
        fn(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1)


@test
def week_of_traffic():
    def check(tmp):
        rep = json.loads(report(tmp, "--format", "json"))
        assert rep["window"]["hours"] == 168, rep["window"]
        tot = rep["totals"]
        assert tot["requests"] == 20000 and tot["errors"] == 200, tot
        assert len(rep["by_day"]) == 7 and len(rep["by_month"]) == 1, rep["by_day"]
        assert sum(d["requests"] for d in rep["by_day"]) == 20000
        # spend and tokens by backend, model, rule and team, per day and per month
        per_day = rep["by_backend_per_day"]
        assert len(per_day) == 14 and {g["key"] for g in per_day} == {"cloud", "local"}, per_day
        for dim in ("backend", "model", "rule", "team"):
            for per in ("day", "month"):
                rows = rep["by_%s_per_%s" % (dim, per)]
                assert sum(g["spend_micro_usd"] for g in rows) == tot["spend_micro_usd"], (dim, per)
                assert sum(g["input_tokens"] for g in rows) == tot["input_tokens"], (dim, per)
        chat_days = [g for g in rep["by_rule_per_day"] if g["key"] == "support-chat"]
        assert len(chat_days) == 5 and chat_days[0]["period"] == "2026-11-02", chat_days
        rules = {x["name"]: x for x in rep["rules"]}
        # regulated (all requests sensitive): self-hosted regardless of cost
        phi = rules["phi-records"]
        assert phi["regulated"] and phi["recommendation"] == "self_hosted", phi
        # business hours only: 50 busy hours of 168 -> peak 3.36x; spend far below 40k
        chat = rules["support-chat"]
        assert close(chat["peak_hour_over_mean"], 168 / 50, 1e-3), chat["peak_hour_over_mean"]
        assert chat["recommendation"] == "hosted_open" and "below" in chat["reason"], chat
        # 10,000 x (20k x 2 + 2k x 8) micro-dollars in a week, scaled by 730/168
        assert close(chat["frontier_usd"], round(10000 * 56000 / 1e6 * 730 / 168, 2), 1e-4), chat
        # flat and large: all-in self-hosting under 30% of the frontier spend and under hosted-open
        batch = rules["batch-classify"]
        sh = batch["self_hosted"]
        assert batch["recommendation"] == "self_hosted", batch
        assert sh["total_usd"] < 0.3 * batch["frontier_usd"] and sh["total_usd"] < batch["hosted_open_usd"]
        assert sh["replicas"] >= 2 and sh["gpu_usd"] == sh["replicas"] * 6000, sh
        # hybrid as configured = hosted bills as recorded (scaled) + the pool as deployed (2 x 6k + 62.5k)
        hosted_week = sum(g["spend_micro_usd"] for g in rep["by_backend"] if g["key"] == "cloud")
        want = hosted_week * 730 / 168 / 1e6 + 74500
        assert close(rep["hybrid_monthly_usd"], want, 1e-6), (rep["hybrid_monthly_usd"], want)
        # a one-day window sees one day
        day = json.loads(report(tmp, "--from", "2026-11-03", "--to", "2026-11-04", "--format", "json"))
        assert day["window"]["hours"] == 24 and len(day["by_day"]) == 1, day["window"]
        assert day["by_day"][0]["key"] == "2026-11-03"
        text = report(tmp)
        assert "recommendation per rule" in text and "batch-classify" in text
        html = report(tmp, "--format", "html")
        assert html.count("<svg") >= 4 and "<script" not in html
    with_demo(check)


@test
def bad_economics_names_file_and_line():
    tmp = tempfile.mkdtemp(prefix="hg-e2e-demo-")
    try:
        text = open(os.path.join(DEMO, "demo.yaml")).read()
        text = text.replace("self_hosted: {backend: local}", "self_hosted: {backend: cloud}")
        with open(os.path.join(tmp, "demo.yaml"), "w") as f:
            f.write(text)
        r = subprocess.run([gateway_bin(), "report", "-c", os.path.join(tmp, "demo.yaml")],
                           capture_output=True, text=True, timeout=60, cwd=tmp)
        line = [i + 1 for i, l in enumerate(text.splitlines()) if "backend: cloud" in l][0]
        assert r.returncode == 1 and (":%d:" % line) in r.stderr and "prices.pools" in r.stderr, r.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


V1_DDL = """
CREATE TABLE hg_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT INTO hg_meta VALUES ('schema_version', '1');
CREATE TABLE requests (ts_us BIGINT NOT NULL, request_id TEXT NOT NULL, key_id TEXT NOT NULL,
  team TEXT NOT NULL, rule TEXT NOT NULL, reason TEXT NOT NULL, backend TEXT NOT NULL,
  backend_kind TEXT NOT NULL, model TEXT NOT NULL, requested_model TEXT NOT NULL,
  endpoint TEXT NOT NULL, classes INTEGER NOT NULL, sensitive INTEGER NOT NULL,
  stream INTEGER NOT NULL, masked INTEGER NOT NULL, status INTEGER NOT NULL,
  attempts INTEGER NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
  ttft_us BIGINT NOT NULL, total_us BIGINT NOT NULL, scan_us BIGINT NOT NULL,
  cost_micro_usd BIGINT NOT NULL, error TEXT NOT NULL);
CREATE INDEX requests_ts ON requests (ts_us);
"""


@test
def schema_1_file_is_migrated_by_the_report():
    """A usage file written by a schema-1 build (one flat table) is migrated when the binary opens
    it: the report over it equals the report over the same rows written through schema 2."""
    import sqlite3
    sys.path.insert(0, DEMO)
    import make_demo

    def check(tmp):
        want = json.loads(report(tmp, "--format", "json"))
        v1 = os.path.join(tmp, "hybridgate-demo.db")
        for f in os.listdir(tmp):
            if f.startswith("hybridgate-demo.db"):
                os.remove(os.path.join(tmp, f))
        db = sqlite3.connect(v1)
        db.executescript(V1_DDL)
        db.executemany("INSERT INTO requests (%s) VALUES (%s)" % (make_demo.COLS, ",".join("?" * 24)),
                       make_demo.rows())
        db.commit()
        db.close()
        got = json.loads(report(tmp, "--format", "json"))
        assert got["totals"] == want["totals"] and got["window"] == want["window"], (got["totals"], want["totals"])
        assert got["by_rule"] == want["by_rule"] and got["by_day"] == want["by_day"]
        db = sqlite3.connect(v1)
        assert db.execute("SELECT v FROM hg_meta WHERE k = 'schema_version'").fetchone()[0] == "2"
        assert db.execute("SELECT type FROM sqlite_master WHERE name = 'requests'").fetchone()[0] == "view"
        assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 20000
        db.close()
    with_demo(check)


if __name__ == "__main__":
    main()
