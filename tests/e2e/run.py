#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the e2e test files: all tests/e2e/[0-9][0-9]_*.py, or those named in argv (a name may omit the
directory and the .py, e.g. `run.py 10_basic 30`). Each file runs as its own subprocess (own process
group) with a timeout; one line per file, then "e2e: N passed, N failed, N skipped" (tests, not files).
Exit status 1 if any test failed or any file crashed or timed out.

A file may declare TAGS = ["slow", "needs-node", ...] at top level. E2E_SKIP_TAGS="slow,needs-node"
skips the files carrying any of those tags; E2E_ONLY_TAGS keeps only files carrying one of them.
E2E_SKIP_TESTS="name,name" skips single tests by exact name (harness.main reads it).
E2E_TIMEOUT (seconds, default 300) bounds each file; E2E_VERBOSE=1 shows each file's full output even
when it passes (failures always show it).
"""

import ast
import glob
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def tags_of(path):
    try:
        with open(path) as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "TAGS" for t in node.targets):
            try:
                return list(ast.literal_eval(node.value))
            except ValueError:
                return []
    return []


def select(args):
    files = sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py")))
    if not args:
        return files
    out = []
    for a in args:
        base = os.path.basename(a)
        base = base[:-3] if base.endswith(".py") else base
        hit = [f for f in files if os.path.basename(f)[:-3] == base or os.path.basename(f).startswith(base)]
        if not hit:
            sys.exit("run.py: no e2e file matches %r" % a)
        out.extend(h for h in hit if h not in out)
    return out


def csv_env(name):
    return {t.strip() for t in os.environ.get(name, "").split(",") if t.strip()}


def main():
    files = select(sys.argv[1:])
    skip_tags, only_tags = csv_env("E2E_SKIP_TAGS"), csv_env("E2E_ONLY_TAGS")
    timeout = float(os.environ.get("E2E_TIMEOUT", "300"))
    verbose = os.environ.get("E2E_VERBOSE") == "1"
    tp = tf = ts = 0
    bad_files = []
    t_all = time.monotonic()
    for f in files:
        name = os.path.basename(f)[:-3]
        tags = tags_of(f)
        if (skip_tags & set(tags)) or (only_tags and not (only_tags & set(tags))):
            print("e2e %-22s skip (tags: %s)" % (name, ",".join(tags)), flush=True)
            continue
        t0 = time.monotonic()
        p = subprocess.Popen([sys.executable, "-u", f], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=HERE, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
            rc = p.returncode
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the file's own process group: its gateway and upstreams too
            out, _ = p.communicate()
            rc = -9
            timed_out = True
        text = out.decode("utf-8", "replace")
        m = re.search(r"^\S+: (\d+) passed, (\d+) failed, (\d+) skipped$", text, re.M)
        p_, f_, s_ = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)
        ok = rc == 0 and not timed_out and m is not None
        if not ok and f_ == 0:
            f_ = 1  # a crash or timeout counts as a failed test
        tp, tf, ts = tp + p_, tf + f_, ts + s_
        dt = time.monotonic() - t0
        status = "ok" if ok else ("TIMEOUT after %.0fs" % timeout if timed_out else "FAIL (exit %s)" % rc)
        print("e2e %-22s %-7s %3d passed %3d failed %3d skipped  %6.1fs" % (name, status, p_, f_, s_, dt), flush=True)
        if not ok or verbose:
            sys.stdout.write("".join("    | " + ln + "\n" for ln in text.splitlines()))
            sys.stdout.flush()
        if not ok:
            bad_files.append(name)
    print("e2e files failing: %s" % (", ".join(bad_files) if bad_files else "none") +
          "  (%.0fs total)" % (time.monotonic() - t_all))
    print("e2e: %d passed, %d failed, %d skipped" % (tp, tf, ts), flush=True)
    sys.exit(1 if tf or bad_files else 0)


if __name__ == "__main__":
    main()
