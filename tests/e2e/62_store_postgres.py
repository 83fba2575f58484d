# SPDX-License-Identifier: MIT
"""The usage store on a real PostgreSQL server that this test starts (initdb in a temp dir, stopped by
PID): the store_pg unit suite writes and reads back 1000 rows through libpq (COPY) and `hybridgate
report` reads them through `store: {url: ...}`; then the gateway records real traffic into
PostgreSQL, keeps answering while the database is down, and writes again once it is back."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from fake_upstream import FakeUpstream
from harness import Gateway, Skip, backend, gateway_bin, main, test, wait_until
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


def pg_server():
    try:
        return PgServer()
    except RuntimeError as e:
        raise Skip(str(e))


def report_json(cfg_text, tmp):
    path = os.path.join(tmp, "report.yaml")
    with open(path, "w") as f:
        f.write(cfg_text)
    r = subprocess.run([gateway_bin(), "report", "-c", path, "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@test
def gateway_records_into_postgresql_across_a_restart():
    pg = pg_server()
    tmp = tempfile.mkdtemp(prefix="hg-e2e-pg-")
    try:
        with pg, FakeUpstream(name="local", models=("m",)) as up:
            up.set_default({"mode": "ok", "usage": {"prompt_tokens": 11, "completion_tokens": 4,
                                                    "total_tokens": 15}})
            cfg = {"backends": [backend("local", up, ["m"])], "max_retries": 0,
                   "store": {"url": pg.url + "?connect_timeout=2", "flush_interval": "20ms"}}
            with Gateway(cfg) as gw:
                def send(n, stream=False):
                    for i in range(n):
                        body = {"model": "m", "stream": stream,
                                "messages": [{"role": "user", "content": "hi %d" % i}]}
                        if stream:
                            s = gw.stream(body)
                            assert s.status == 200 and s.done, s
                        else:
                            r = gw.chat(body)
                            assert r.status == 200, r

                def rows():
                    return report_json(gw.config_text, tmp)["totals"]["requests"]

                send(10)
                send(5, stream=True)
                assert wait_until(lambda: rows() == 15, 10), rows()
                pg.stop()
                send(7)  # the database is down: answers still 200, rows fail and are counted
                assert wait_until(lambda: "rows failed" in gw.stderr_text(), 10), gw.stderr_text()
                pg.start()
                send(6)
                assert wait_until(lambda: rows() == 21, 10), rows()
            rep = report_json(gw.config_text, tmp)
            assert rep["totals"]["requests"] == 21, rep["totals"]
            assert rep["totals"]["input_tokens"] == 21 * 11, rep["totals"]
            assert rep["totals"]["output_tokens"] == 21 * 4, rep["totals"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
