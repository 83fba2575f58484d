#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The usage store on a real PostgreSQL server that this test starts: the store_pg unit suite
# writes and reads back 1000 rows through libpq (COPY), then `hybridgate report` reads the same
# database through `store: {url: ...}`. Tags: needs-postgres.
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgserver import PgServer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("HYBRIDGATE_BIN", os.path.join(ROOT, "build", "hybridgate"))
UNIT = os.path.join(os.path.dirname(BIN), "unit_tests")


def main():
    with PgServer() as pg:
        env = dict(os.environ, HG_TEST_PG_URL=pg.url)
        r = subprocess.run([UNIT, "store_pg"], env=env, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        if r.returncode != 0 or "skipped" in r.stderr or "1 passed, 0 failed" not in r.stdout:
            print("FAIL: store_pg suite against", pg.url)
            return 1
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("backends:\n  - {name: local, kind: self_hosted, "
                    "base_url: 'http://127.0.0.1:9/v1', models: [m]}\n"
                    "store: {url: '%s'}\n" % pg.url)
            cfg = f.name
        try:
            r = subprocess.run([BIN, "report", "-c", cfg, "--from", "2023-11-01",
                                "--to", "2023-12-01", "--format", "json"],
                               capture_output=True, text=True)
        finally:
            os.unlink(cfg)
        if r.returncode != 0:
            print("FAIL: report on postgresql:", r.stderr)
            return 1
        rep = json.loads(r.stdout)
        if rep["store"] != "postgresql" or rep["totals"]["requests"] != 1000:
            print("FAIL: report saw", rep["store"], rep["totals"])
            return 1
        want_in = 1000 * 100 + 1000 * 999 // 2
        if rep["totals"]["input_tokens"] != want_in:
            print("FAIL: input tokens", rep["totals"]["input_tokens"], "!=", want_in)
            return 1
    print("62_store_postgres: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
