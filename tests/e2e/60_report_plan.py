# SPDX-License-Identifier: MIT
# Issue 6 acceptance 1: the worked example through `hybridgate report --plan`. 30M document
# classifications a month: all-in self-hosted about USD 70k a month (within 10%), recommend
# hosted-open, and a break-even volume against each hosted option or "none" with the dominant
# cost. Also: text and self-contained HTML render, and a bad plan fails with file:line.
import json
import os
import subprocess
import tempfile

from harness import REPO, gateway_bin, main, test

TAGS = []

PLAN = os.path.join(REPO, "tests", "report", "plan_example.yaml")


def run(*args):
    return subprocess.run([gateway_bin(), "report", *args], capture_output=True, text=True,
                          timeout=60)


def fail(msg):
    raise AssertionError(msg)


@test
def worked_example():
    r = run("--plan", PLAN, "--format", "json")
    if r.returncode != 0:
        fail("report --plan exited %d: %s" % (r.returncode, r.stderr))
    rep = json.loads(r.stdout)
    w = rep["workloads"][0]
    sh = w["self_hosted"]
    if not 63000 <= sh["total_usd"] <= 77000:
        fail("self-hosted all-in %.0f USD/month is not within 10%% of 70k" % sh["total_usd"])
    if sh["replicas"] < 2 or sh["gpu_usd"] != 12000:
        fail("GPUs must be sized in whole replicas, never below min_replicas: %r" % sh)
    if w["recommendation"] != "hosted_open":
        fail("recommendation %s, want hosted_open (%s)" % (w["recommendation"], w["reason"]))
    if w["frontier_usd"] != 80000 or w["hosted_open_usd"] != 9000:
        fail("hosted options %r %r" % (w["frontier_usd"], w["hosted_open_usd"]))
    for opt in ("frontier", "hosted_open"):
        be = w["break_even"][opt]
        if be["kind"] == "at":
            if not be["requests_per_month"] > 0:
                fail("break-even vs %s without a volume: %r" % (opt, be))
        elif be["kind"] == "none":
            if "dominate" not in be["why"]:
                fail("no break-even vs %s but no dominant cost named: %r" % (opt, be["why"]))
        else:
            fail("break-even vs %s: %r" % (opt, be))
    # hosted-open is cheaper per request than one more replica: there is no break-even
    if w["break_even"]["hosted_open"]["kind"] != "none":
        fail("expected no break-even against hosted-open at these prices")



@test
def text_and_html():
    t = run("--plan", PLAN)
    if t.returncode != 0 or "hosted_open" not in t.stdout or "USD 74,500" not in t.stdout:
        fail("text report: %s %s" % (t.stdout, t.stderr))
    h = run("--plan", PLAN, "--format", "html")
    if h.returncode != 0 or "<svg" not in h.stdout or "<script" in h.stdout or " src=" in h.stdout:
        fail("html report must be self-contained with inline SVG")



@test
def bad_plan_names_file_and_line():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("workloads:\n  - name: x\n    requests_per_month: 10\n    input_tokens: 5\n"
                "options:\n  self_hosted:\n    replica_monthly_usd: 1\n    min_replicas: 0\n"
                "    replica_tokens_per_second: 10\n")
        bad = f.name
    try:
        b = run("--plan", bad)
    finally:
        os.unlink(bad)
    if b.returncode != 1 or ":8:" not in b.stderr or "min_replicas" not in b.stderr:
        fail("bad plan: want exit 1 and file:8 naming min_replicas, got %d %r"
             % (b.returncode, b.stderr))


if __name__ == "__main__":
    main()
