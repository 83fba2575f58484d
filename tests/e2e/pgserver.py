# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL server for e2e tests: initdb in a temp dir, postgres on 127.0.0.1 at an
# ephemeral port, stopped by PID. As root it runs as the `postgres` user (initdb refuses root);
# otherwise as the current user. Needs the Debian `postgresql` package (scripts/deps.sh).
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def _bindir():
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if cands:
        return os.path.dirname(cands[0])
    w = shutil.which("initdb")
    if w:
        return os.path.dirname(os.path.realpath(w))
    return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    """with PgServer() as pg: pg.url -> postgresql://hg@127.0.0.1:PORT/hg"""

    def __init__(self):
        self.bindir = _bindir()
        if self.bindir is None:
            raise RuntimeError("postgresql server binaries not found (apt-get install postgresql)")
        self.tmp = tempfile.mkdtemp(prefix="hg_pg_")
        self.data = os.path.join(self.tmp, "data")
        self.port = _free_port()
        self.proc = None
        self.kw = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            # Popen(user=...) switches user in the child before exec, so proc.pid is postgres.
            self.kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.url = "postgresql://hg@127.0.0.1:%d/hg" % self.port

    def __enter__(self):
        env = dict(os.environ, LC_ALL="C")
        subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "hg",
                        "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                       cwd=self.tmp, **self.kw)
        self.log = open(os.path.join(self.tmp, "pg.log"), "ab")
        self.start()
        # createdb hg, as the server's superuser `hg`
        cdb = os.path.join(self.bindir, "createdb")
        for _ in range(50):
            r = subprocess.run([cdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "hg", "hg"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("createdb failed: " + r.stderr.decode())
        return self

    def start(self):
        """(Re)starts the server on the same data directory and port; waits until it accepts."""
        env = dict(os.environ, LC_ALL="C")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "postgres"), "-D", self.data,
                                      "-p", str(self.port), "-h", "127.0.0.1", "-k", self.tmp,
                                      "-c", "fsync=off"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.tmp, **self.kw)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + open(self.log.name).read()[-2000:])
            r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-h", "127.0.0.1",
                                "-p", str(self.port), "-U", "hg", "-d", "postgres"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not start")

    def stop(self):
        """Fast shutdown (SIGINT) of the server started by this object, by PID."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __exit__(self, *exc):
        self.stop()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False
