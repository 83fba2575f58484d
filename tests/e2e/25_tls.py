# SPDX-License-Identifier: MIT
"""TLS to upstreams: certificates are verified (chain and host name). A private CA given as the
backend's ca_file is trusted; the same server without it, or reached under a name its certificate does
not carry, is refused before any request byte is sent (502, nothing recorded upstream)."""

import os
import ssl
import subprocess
import tempfile

from fake_upstream import FakeUpstream
from harness import Gateway, Skip, assert_openai_error, backend, chat_body, main, test


def make_pki(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hybridgate test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "leaf.key", "-out",
        "leaf.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext.cnf", "-out", "leaf.pem")
    return os.path.join(d, "ca.pem"), os.path.join(d, "leaf.pem"), os.path.join(d, "leaf.key")


class TLSUpstream(FakeUpstream):
    def __init__(self, cert, key, **kw):
        super().__init__(**kw)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)


def pki():
    d = tempfile.mkdtemp(prefix="hg-tls-")
    try:
        return make_pki(d)
    except (OSError, subprocess.CalledProcessError) as e:
        raise Skip("openssl CLI not usable: %s" % e)


@test
def private_ca_is_trusted_and_verified():
    ca, cert, key = pki()
    with TLSUpstream(cert, key, name="tls", models=["m"]) as up:
        url = "https://localhost:%d/v1" % up.port
        cfg = {"backends": [backend("tls", url, ["m"], ca_file=ca, health_interval=0)]}
        with Gateway(cfg) as gw:
            r = gw.chat(chat_body("m"))
            assert r.status == 200, r
            assert len(up.api_requests()) == 1
            s = gw.stream(chat_body("m", stream=True), timeout=10)
            assert s.status == 200 and s.done, s


@test
def unknown_ca_is_refused():
    ca, cert, key = pki()
    with TLSUpstream(cert, key, name="tls", models=["m"]) as up:
        url = "https://localhost:%d/v1" % up.port
        with Gateway({"backends": [backend("tls", url, ["m"], health_interval=0)], "max_retries": 0}) as gw:
            r = gw.chat(chat_body("m"))
            assert_openai_error(r, 502, "untrusted certificate")
            assert not up.api_requests(), "a request was sent to a server whose certificate failed"


@test
def name_mismatch_is_refused():
    ca, cert, key = pki()
    with TLSUpstream(cert, key, name="tls", models=["m"]) as up:
        url = "https://127.0.0.1:%d/v1" % up.port  # the certificate names localhost only
        cfg = {"backends": [backend("tls", url, ["m"], ca_file=ca, health_interval=0)], "max_retries": 0}
        with Gateway(cfg) as gw:
            r = gw.chat(chat_body("m"))
            assert_openai_error(r, 502, "certificate for another name")
            assert not up.api_requests()


if __name__ == "__main__":
    main()
