# SPDX-License-Identifier: MIT
"""The dashboard in headless Chromium: tests/ui/dashboard.mjs (playwright-core driving Debian's
/usr/bin/chromium) loads /ui, is refused with a wrong admin key, opens with the right one, generates
traffic through the gateway and checks that every number on the page matches /metrics. A screenshot is
saved to build/ui/dashboard.png. playwright-core is installed by this test with npm into
~/.cache/hybridgate/npm-ui (outside the repo), at the version pinned in tests/ui/package.json."""

import json
import os
import shutil
import subprocess

from fake_upstream import FakeUpstream
from harness import REPO, Gateway, Skip, backend, main, test

TAGS = ["slow", "needs-node", "needs-chromium"]

ADMIN_KEY = "adm-ui-e2e-3c9a"
HOSTED_KEY = "sk-hosted-ui-canary-51ab"
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "hybridgate", "npm-ui")


def ensure_playwright():
    """Installs playwright-core (no browser download: it drives the system chromium) once per version."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Skip("node/npm not installed")
    if not os.access("/usr/bin/chromium", os.X_OK):
        raise Skip("chromium not installed (Debian package chromium)")
    with open(os.path.join(REPO, "tests", "ui", "package.json")) as f:
        want = json.load(f)["dependencies"]["playwright-core"]
    have = None
    try:
        with open(os.path.join(CACHE, "node_modules", "playwright-core", "package.json")) as f:
            have = json.load(f)["version"]
    except (OSError, ValueError):
        pass
    if have != want:
        os.makedirs(CACHE, exist_ok=True)
        shutil.copy(os.path.join(REPO, "tests", "ui", "package.json"), os.path.join(CACHE, "package.json"))
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save"], cwd=CACHE, env=env,
                           capture_output=True, timeout=600)
        assert p.returncode == 0, "npm install failed:\n%s" % (p.stdout + p.stderr).decode()[-3000:]
    return os.path.join(CACHE, "node_modules")


@test
def dashboard_numbers_match_metrics_in_chromium():
    modules = ensure_playwright()
    shot = os.path.join(REPO, "build", "ui", "dashboard.png")
    if os.path.exists(shot):
        os.unlink(shot)
    with FakeUpstream("local", models=["m"]) as lo, FakeUpstream("cloud", models=["h"]) as hi:
        lo.set_default({"mode": "ok", "delay": 0.002,
                        "usage": {"prompt_tokens": 21, "completion_tokens": 8, "total_tokens": 29}})
        hi.set_default({"mode": "ok", "head_delay": 0.02,
                        "usage": {"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39}})
        cfg = {"admin_key_env": "HG_E2E_ADMIN",
               "backends": [backend("gpu-local", lo, ["m"]),
                            backend("cloud", hi, ["h"], kind="hosted", api_key_env="HG_E2E_HOSTED")],
               "prices": {"models": {"h": {"input": 3.00, "output": 15.00}},
                          "pools": {"gpu-local": {"replica_monthly_usd": 2628, "replica_tokens_per_second": 1000,
                                                  "replicas": 1, "target_utilization": 1.0}}}}
        with Gateway(cfg, env={"HG_E2E_ADMIN": ADMIN_KEY, "HG_E2E_HOSTED": HOSTED_KEY}, workers=2) as gw:
            env = dict(os.environ, HG_URL=gw.url, HG_ADMIN_KEY=ADMIN_KEY, HG_NODE_MODULES=modules, HG_SHOT=shot,
                       HG_LOCAL_MODEL="m", HG_HOSTED_MODEL="h", HG_CANARY=HOSTED_KEY)
            p = subprocess.run(["node", os.path.join(REPO, "tests", "ui", "dashboard.mjs")], env=env,
                               capture_output=True, timeout=180)
            out = p.stdout.decode() + p.stderr.decode()
            print(out.rstrip())
            assert p.returncode == 0, "dashboard checks failed"
            assert "ui: " in out and " 0 failed" in out
    assert os.path.getsize(shot) > 10000, "no screenshot at %s" % shot


if __name__ == "__main__":
    main()
