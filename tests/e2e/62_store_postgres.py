# SPDX-License-Identifier: MIT
# The usage store on a real PostgreSQL server that this test starts: the store_pg unit suite
# writes and reads back 1000 rows through libpq (COPY), then `hybridgate report` reads the same
# database through `store: {url: ...}`. Tags: needs-postgres.
import json
import os
import subprocess
import sys
import tempfile

from harness import Skip, gateway_bin, main, test
from pgserver import PgServer

TAGS = ["needs-postgres"]


@test
def store_and_report_on_postgresql():
    BIN = gateway_bin()
    UNIT = os.path.join(os.path.dirname(BIN), "unit_tests")
    if not os.access(UNIT, os.X_OK):
        raise Skip("no %s (make build/unit_tests)" % UNIT)
    try:
        pg = PgServer()
    except RuntimeError as e:
        raise Skip(str(e))
    with pg:
        env = dict(os.environ, HG_TEST_PG_URL=pg.url)
        r = subprocess.run([UNIT, "store_pg"], env=env, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        if r.returncode != 0 or "skipped" in r.stderr or " 0 failed" not in r.stdout:
            raise AssertionError("store_pg suite against " + pg.url)
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
            raise AssertionError("report on postgresql: " + r.stderr)
        rep = json.loads(r.stdout)
        if rep["store"] != "postgresql" or rep["totals"]["requests"] != 1000:
            raise AssertionError("report saw %r %r" % (rep["store"], rep["totals"]))
        want_in = 1000 * 100 + 1000 * 999 // 2
        if rep["totals"]["input_tokens"] != want_in:
            raise AssertionError("input tokens %r != %r" % (rep["totals"]["input_tokens"], want_in))


if __name__ == "__main__":
    main()
