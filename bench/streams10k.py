#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Many concurrent open streams through the gateway, for its memory figure (bench/gateway.sh runs it).

  streams10k.py upstream --port-file F [--interval 5]
      a slow OpenAI-ish SSE upstream on 127.0.0.1 (asyncio): every POST gets a 200 text/event-stream head and
      a first event at once, then one event every --interval seconds, for as long as the client stays
  streams10k.py client --port P --n 10000 [--rss-pid PID] [--hold 3] [--connect-batch 200]
      opens N streams to the gateway, waits until each has its first event, holds them all open for --hold
      seconds while sampling PID's VmRSS, then closes them; prints one JSON line:
      {"target": N, "established": k, "failed": f, "establish_s": t, "rss_kib_idle": a, "rss_kib_peak": b, ...}

Python stdlib only; both ends raise RLIMIT_NOFILE to the hard limit. Not a test: nothing is asserted
except that the figures are printed.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time

EVENT = (b'data: {"id":"chatcmpl-slow","object":"chat.completion.chunk","created":1700000000,"model":"slow",'
         b'"choices":[{"index":0,"delta":{"content":"tick "},"logprobs":null,"finish_reason":null}]}\n\n')


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# -- upstream ----------------------------------------------------------------------------------------

async def serve_conn(reader, writer, interval):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET "):
                body = b'{"object":"list","data":[{"id":"slow","object":"model","owned_by":"bench"}]}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
                continue
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            while True:  # until the peer goes away
                writer.write(b"%x\r\n%s\r\n" % (len(EVENT), EVENT))
                await writer.drain()
                try:
                    d = await asyncio.wait_for(reader.read(1), timeout=interval)
                    if not d:
                        return
                except asyncio.TimeoutError:
                    pass
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def upstream_main(a):
    raise_nofile()
    server = await asyncio.start_server(lambda r, w: serve_conn(r, w, a.interval), "127.0.0.1", a.port,
                                        backlog=4096)
    port = server.sockets[0].getsockname()[1]
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.port_file)
    async with server:
        await server.serve_forever()


# -- client ------------------------------------------------------------------------------------------

async def one_stream(port, body, established, release, stats, sem):
    writer = None
    try:
        async with sem:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            if not head.startswith(b"HTTP/1.1 200"):
                stats["bad_status"] = head.split(b"\r\n", 1)[0].decode(errors="replace")
                raise ConnectionError("status")
            buf = b""
            while b"data:" not in buf:
                d = await asyncio.wait_for(reader.read(4096), 60)
                if not d:
                    raise ConnectionError("eof")
                buf += d
        stats["established"] += 1
        if stats["established"] == stats["target"]:
            established.set()
        await release.wait()
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        stats["failed"] += 1
        stats["last_error"] = repr(e)[:200]
        if stats["established"] + stats["failed"] == stats["target"]:
            established.set()
    finally:
        if writer is not None:
            writer.close()


async def client_main(a):
    nofile = raise_nofile()
    n = a.n
    stats = {"target": n, "established": 0, "failed": 0, "nofile": nofile}
    idle = rss_kib(a.rss_pid) if a.rss_pid else 0
    body = json.dumps({"model": a.model, "stream": True, "messages": [{"role": "user", "content": "hold"}]}).encode()
    established, release = asyncio.Event(), asyncio.Event()
    sem = asyncio.Semaphore(a.connect_batch)
    t0 = time.monotonic()
    peak = [idle]

    async def sampler():
        while not release.is_set():
            if a.rss_pid:
                peak[0] = max(peak[0], rss_kib(a.rss_pid))
            await asyncio.sleep(0.25)

    samp = asyncio.ensure_future(sampler())
    tasks = [asyncio.ensure_future(one_stream(a.port, body, established, release, stats, sem)) for _ in range(n)]
    try:
        await asyncio.wait_for(established.wait(), a.timeout)
    except asyncio.TimeoutError:
        stats["timeout"] = True
    stats["establish_s"] = round(time.monotonic() - t0, 2)
    await asyncio.sleep(a.hold)
    held_rss = rss_kib(a.rss_pid) if a.rss_pid else 0
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    samp.cancel()
    await asyncio.sleep(1.0)
    stats.update(rss_kib_idle=idle, rss_kib_held=held_rss, rss_kib_peak=max(peak[0], held_rss),
                 rss_kib_after=rss_kib(a.rss_pid) if a.rss_pid else 0)
    print(json.dumps(stats), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("upstream")
    u.add_argument("--port", type=int, default=0)
    u.add_argument("--port-file", required=True)
    u.add_argument("--interval", type=float, default=5.0)
    c = sub.add_parser("client")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--n", type=int, default=10000)
    c.add_argument("--model", default="slow")
    c.add_argument("--rss-pid", type=int, default=0)
    c.add_argument("--hold", type=float, default=3.0)
    c.add_argument("--timeout", type=float, default=180.0)
    c.add_argument("--connect-batch", type=int, default=200)
    a = ap.parse_args()
    try:
        asyncio.run(upstream_main(a) if a.cmd == "upstream" else client_main(a))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
