# SPDX-License-Identifier: MIT
"""SIGTERM drains: the listener closes at once (new connections are refused), in-flight requests and
streams finish, the process exits 0; past drain_timeout the rest is cut and it still exits."""

import json
import signal
import socket
import threading
import time

from fake_upstream import FakeUpstream
from harness import (SLOW, Gateway, backend, chat_body, for_client, http_request_bytes, main, raw_connect, test,
                     wait_until)

TAGS = []


def refused(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    s.close()
    return False


@test
def sigterm_idle_exits_zero():
    with FakeUpstream("a", models=["m"]) as up:
        gw = Gateway({"backends": [backend("a", up, ["m"], health_interval=0)]}).start()
        try:
            gw.chat(chat_body("m"))
            t0 = time.monotonic()
            gw.signal(signal.SIGTERM)
            rc = gw.wait(10 * SLOW)
            assert rc == 0, "exit %r after SIGTERM (idle)" % rc
            assert time.monotonic() - t0 < 5 * SLOW
        except BaseException:
            print("--- gateway stderr (tail) ---\n%s\n--- end ---" % gw.stderr_tail())
            raise
        finally:
            gw.stop()
            gw.cleanup()


@test
def sigterm_with_several_workers():
    with FakeUpstream("a", models=["m"]) as up:
        gw = Gateway({"backends": [backend("a", up, ["m"], health_interval=0)], "drain_timeout": "20s"},
                     workers=3).start()
        try:
            up.set_default({"mode": "stream", "events": 8, "delay": 0.2})
            results = [None] * 6

            def one(i):
                results[i] = gw.stream(chat_body("m", "d%d" % i, stream=True), timeout=20)

            ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(6)]
            for t in ts:
                t.start()
            assert up.wait_for(lambda rs: len([r for r in rs if r.events_sent >= 1]) >= 6, 5 * SLOW), \
                "streams did not start"
            gw.signal(signal.SIGTERM)
            assert wait_until(lambda: refused(gw.port), 3 * SLOW), "a worker still accepts after SIGTERM"
            for t in ts:
                t.join(30)
            for i, s in enumerate(results):
                assert s is not None and s.done and s.ended == "eof", "stream %d cut by the drain: %r" % (i, s)
            assert gw.wait(10 * SLOW) == 0
        except BaseException:
            print("--- gateway stderr (tail) ---\n%s\n--- end ---" % gw.stderr_tail())
            raise
        finally:
            gw.stop()
            gw.cleanup()


@test
def sigterm_lets_a_slow_stream_finish():
    with FakeUpstream("a", models=["m"]) as up:
        gw = Gateway({"backends": [backend("a", up, ["m"], health_interval=0)], "drain_timeout": "20s"}).start()
        try:
            up.push({"mode": "stream", "events": 12, "delay": 0.25})  # about 3.5 s
            result = {}
            t = threading.Thread(target=lambda: result.update(s=gw.stream(chat_body("m", stream=True), timeout=15)),
                                 daemon=True)
            t.start()
            assert up.wait_for(lambda rs: [r for r in rs if r.events_sent >= 2], 5), "stream did not start"
            gw.signal(signal.SIGTERM)
            assert wait_until(lambda: refused(gw.port), 3 * SLOW), "new connections still accepted after SIGTERM"
            assert gw.proc.poll() is None, "gateway exited with a stream in flight"
            t.join(30)
            s = result.get("s")
            assert s is not None and s.status == 200, s
            assert s.done and s.ended == "eof", "stream cut by the drain: %r" % s
            assert s.raw == for_client(up.api_requests()[0], {}), "stream bytes changed during the drain"
            rc = gw.wait(10 * SLOW)
            assert rc == 0, "exit %r after draining" % rc
        except BaseException:
            print("--- gateway stderr (tail) ---\n%s\n--- end ---" % gw.stderr_tail())
            raise
        finally:
            gw.stop()
            gw.cleanup()


@test
def sigterm_lets_a_nonstream_request_finish():
    with FakeUpstream("a", models=["m"]) as up:
        gw = Gateway({"backends": [backend("a", up, ["m"], health_interval=0)], "drain_timeout": "20s"}).start()
        try:
            up.push({"mode": "ok", "head_delay": 1.5})
            result = {}
            t = threading.Thread(target=lambda: result.update(r=gw.chat(chat_body("m"), timeout=15)), daemon=True)
            t.start()
            assert up.wait_requests(1, 5)
            gw.signal(signal.SIGTERM)
            t.join(20)
            r = result.get("r")
            assert r is not None and r.status == 200, r
            assert gw.wait(10 * SLOW) == 0
        except BaseException:
            print("--- gateway stderr (tail) ---\n%s\n--- end ---" % gw.stderr_tail())
            raise
        finally:
            gw.stop()
            gw.cleanup()


@test
def sigterm_with_a_slow_reading_client():
    # The answer is complete at the gateway but the client reads it slowly: "finish" means the client gets
    # all of it (up to drain_timeout), not that the gateway has it.
    big = "w" * (6 * 1024 * 1024)
    with FakeUpstream("a", models=["m"]) as up:
        gw = Gateway({"backends": [backend("a", up, ["m"], health_interval=0)], "drain_timeout": "20s"}).start()
        try:
            up.push({"mode": "ok", "content": big, "head_delay": 0.5})
            s = raw_connect(gw.port, timeout=20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
            body = json.dumps(chat_body("m")).encode()
            s.sendall(http_request_bytes("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"}))
            assert up.wait_requests(1, 5)
            gw.signal(signal.SIGTERM)
            time.sleep(1.5)  # the answer is at the gateway by now; the client has not read a byte
            data = bytearray()
            try:
                while True:
                    d = s.recv(64 * 1024)
                    if not d:
                        break
                    data += d
                    time.sleep(0.01)  # about 6 MB/s
            except ConnectionResetError:
                pass
            finally:
                s.close()
            head, _, payload = bytes(data).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:200]
            want = bytes(up.api_requests()[0].sent)
            assert payload == want or dechunk_maybe(head, payload) == want, \
                "answer cut at %d of %d bytes by the drain" % (len(payload), len(want))
            assert gw.wait(10 * SLOW) == 0
        except BaseException:
            print("--- gateway stderr (tail) ---\n%s\n--- end ---" % gw.stderr_tail())
            raise
        finally:
            gw.stop()
            gw.cleanup()


def dechunk_maybe(head, payload):
    if b"chunked" not in head.lower():
        return payload
    out, i = bytearray(), 0
    while i < len(payload):
        j = payload.index(b"\r\n", i)
        k = int(payload[i:j].split(b";")[0], 16)
        if k == 0:
            break
        out += payload[j + 2:j + 2 + k]
        i = j + 2 + k + 2
    return bytes(out)


@test
def drain_timeout_bounds_the_wait():
    with FakeUpstream("a", models=["m"]) as up:
        gw = Gateway({"backends": [backend("a", up, ["m"], health_interval=0)], "drain_timeout": "1s"}).start()
        try:
            up.push({"mode": "stream", "events": 200, "delay": 0.2})  # 40 s: longer than any drain
            result = {}
            t = threading.Thread(target=lambda: result.update(s=gw.stream(chat_body("m", stream=True), timeout=20)),
                                 daemon=True)
            t.start()
            assert up.wait_for(lambda rs: [r for r in rs if r.events_sent >= 2], 5)
            t0 = time.monotonic()
            gw.signal(signal.SIGTERM)
            rc = gw.wait(15 * SLOW)
            dt = time.monotonic() - t0
            assert rc is not None, "still running 15 s after SIGTERM with drain_timeout 1s"
            assert rc == 0, "exit %r after the drain timeout" % rc
            assert dt >= 0.5, "exited after %.2fs, before the drain timeout" % dt
            t.join(20)
            s = result.get("s")
            assert s is not None and s.ended in ("eof", "reset"), "client hung: %r" % s
            assert not s.done, "a stream cut by the drain ended with [DONE]"
            assert up.wait_closed(5), "upstream stream not closed after the drain"
        except BaseException:
            print("--- gateway stderr (tail) ---\n%s\n--- end ---" % gw.stderr_tail())
            raise
        finally:
            gw.stop()
            gw.cleanup()


if __name__ == "__main__":
    main()
