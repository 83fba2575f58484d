# SPDX-License-Identifier: MIT
"""Start-up state through the real binary: the scanner's compiled-database cache (the first start
compiles and stores a private file, the second reads it and routes exactly as before, `cache: off`
stores nothing) and the named threads, with the economics refresher at a lower priority than the
workers."""

import os
import shutil
import stat
import tempfile

from fake_upstream import FakeUpstream
from harness import Gateway, backend, chat_body, main, test, wait_until

TAGS = []

SSN = "536-22-8741"


def config(local, cloud, **extra):
    c = {
        "backends": [backend("local", local, ["m"], health_interval=0),
                     backend("cloud", cloud, ["m"], kind="hosted", health_interval=0)],
        "routing": [
            {"name": "sensitive-local", "match": {"sensitive": True}, "route": {"pool": ["local"]}},
            {"name": "public-cloud", "route": {"pool": ["cloud"]}},
        ],
    }
    c.update(extra)
    return c


def routes(gw):
    """Backends chosen for a sensitive and a public prompt."""
    s = gw.chat(chat_body("m", "my ssn is %s, update the file" % SSN))
    p = gw.chat(chat_body("m", "write a haiku about autumn"))
    assert s.status == 200 and p.status == 200, (s, p)
    return s.header("x-hybridgate-backend"), p.header("x-hybridgate-backend")


def db_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".hsdb")) if os.path.isdir(d) else []


@test
def second_start_reads_the_compiled_database():
    cache = tempfile.mkdtemp(prefix="hg-e2e-hscache-")
    shutil.rmtree(cache)  # the gateway creates it
    try:
        with FakeUpstream("local", models=["m"]) as local, FakeUpstream("cloud", models=["m"]) as cloud:
            cfg = config(local, cloud, scanner={"cache": cache})
            with Gateway(cfg) as gw:
                first = routes(gw)
                assert "scanner patterns compiled" in gw.stderr_text(), gw.stderr_tail()
            files = db_files(cache)
            assert len(files) == 1, files
            mode = os.stat(os.path.join(cache, files[0])).st_mode
            assert stat.S_IMODE(mode) == 0o600, oct(mode)
            with Gateway(cfg) as gw:
                assert "read from the compiled-database cache" in gw.stderr_text(), gw.stderr_tail()
                assert routes(gw) == first == ("local", "cloud"), first
            assert db_files(cache) == files
            # a corrupt file is compiled over, never a failed start
            with open(os.path.join(cache, files[0]), "r+b") as f:
                f.truncate(64)
            with Gateway(cfg) as gw:
                assert "scanner patterns compiled" in gw.stderr_text(), gw.stderr_tail()
                assert routes(gw) == first
            assert os.path.getsize(os.path.join(cache, files[0])) > 64
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@test
def cache_off_stores_nothing():
    home = tempfile.mkdtemp(prefix="hg-e2e-home-")
    try:
        env = {"HOME": home, "XDG_CACHE_HOME": "", "HYBRIDGATE_CACHE": ""}
        with FakeUpstream("local", models=["m"]) as local, FakeUpstream("cloud", models=["m"]) as cloud:
            with Gateway(config(local, cloud, scanner={"cache": "off"}), env=env) as gw:
                assert routes(gw) == ("local", "cloud")
                assert "scanner patterns compiled" in gw.stderr_text(), gw.stderr_tail()
        found = [os.path.join(r, f) for r, _, fs in os.walk(home) for f in fs if f.endswith(".hsdb")]
        assert found == [], found
    finally:
        shutil.rmtree(home, ignore_errors=True)


def threads(pid):
    """{thread name: nice value} of a process, from /proc."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name] = int(fields[16])  # field 19 of stat, counted after "pid (comm)"
        except FileNotFoundError:
            pass
    return out


@test
def threads_are_named_and_economics_yields():
    tmp = tempfile.mkdtemp(prefix="hg-e2e-threads-")
    try:
        with FakeUpstream("local", models=["m"]) as local, FakeUpstream("cloud", models=["m"]) as cloud:
            cfg = config(local, cloud, store={"path": os.path.join(tmp, "usage.db")})
            with Gateway(cfg, workers=2) as gw:
                assert wait_until(lambda: "hg-economics" in threads(gw.pid), 5), threads(gw.pid)
                t = threads(gw.pid)
                for name in ("hg-worker-0", "hg-worker-1", "hg-store", "hg-economics"):
                    assert name in t, t
                assert t["hg-economics"] == 10 and t["hg-worker-0"] == 0, t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
