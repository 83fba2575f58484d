# SPDX-License-Identifier: MIT
"""A scripted OpenAI-compatible upstream for e2e tests (python stdlib only).

It serves /chat/completions, /completions, /embeddings and /models under any base path (so a backend's
base_url may be http://127.0.0.1:PORT/v1 or /anything/v1), records every request it gets (path, headers,
body, what it sent back, whether the client went away early) and answers each request according to a
"spec": a dict such as {"mode": "stream", "events": 5, "delay": 0.05}. The test picks the spec:

  1. a queue:      up.push({"mode": "status", "status": 429})   (consumed one per request, FIFO)
  2. the prompt:   a message whose content starts with "fake: mode=die_mid after=3 delay=0.05"
  3. the body:     "x_fake": {"mode": ...} at the top level of the request JSON
  4. the model:    up.set_model("slow-model", {"mode": "stall_head", "stall": 30})
  5. the default:  up.set_default({...}); initially {"mode": "ok"}

Modes (keys in brackets, with defaults):
  ok          200; JSON, or an SSE stream when the request has "stream": true
              [content "Hello from NAME.", events 5, delay 0 (between events), usage {3,5,8},
               split False (each event written in two HTTP chunks), tokens (list of deltas)]
  stream      like ok but always streams
  status      an OpenAI error JSON with [status 500, retry_after None, message]
  stall_head  sleeps [stall 30] before the response head (watching for the client to go away)
  stall_mid   stream: [after 2] events then sleeps [stall 30]; non-stream: head + half the body, sleeps
  die_mid     stream: [after 2] events then closes the socket ([rst False]: RST instead of FIN, after
              [pause 0.2] so that the events sent are read before the reset discards them);
              non-stream: head + half the body, then closes
  die_head    closes the connection without answering
  garbage     answers bytes that are not HTTP, then closes
  bad_json    200 application/json whose body is not JSON
  malformed   200 text/event-stream with broken events (truncated JSON, a line without data:), then [DONE]
  drip        a stream written one byte at a time with [delay 0.002] between bytes
  Any mode takes [reply_model] (the `model` to answer with instead of the requested one),
  [head_delay 0] (sleep before the head) and [headers {}] (extra response headers).

Use as a module:      with FakeUpstream(name="a") as up: ... up.base_url ... up.requests()
Or as a process:      python3 fake_upstream.py --port 0 --port-file F [--name a] [--models m1,m2]
                      control API: POST /__fake/default|push|model/NAME (spec JSON), POST /__fake/reset,
                      GET /__fake/requests (records as JSON), GET /__fake/closed (ids closed early)
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Record:
    """One request as the upstream saw it, and what it did with it."""

    def __init__(self, rid, method, path, headers, body):
        self.id = rid
        self.method = method
        self.path = path
        self.headers = headers  # dict, lower-case names (last value wins)
        self.header_list = []  # [(name, value)] in arrival order, original case
        self.peer = None  # the client's (host, port)
        self.body = body  # bytes
        self.t_start = time.monotonic()
        self.spec = None
        self.status = None  # status sent, None if none
        self.sent = bytearray()  # response body bytes sent (de-chunked); compares equal to bytes
        self.events_sent = 0
        self.event_times = []  # monotonic time of each SSE event written
        self.finished = False  # the whole response was written
        self.closed_early = False  # the client closed before the response was finished
        self.t_closed = None
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def model(self):
        return self.json.get("model") if isinstance(self.json, dict) else None

    def to_dict(self):
        return {
            "id": self.id, "method": self.method, "path": self.path, "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"), "spec": self.spec, "status": self.status,
            "sent": bytes(self.sent).decode("utf-8", "replace"), "events_sent": self.events_sent,
            "finished": self.finished, "closed_early": self.closed_early,
        }

    def __repr__(self):
        return "<Record %d %s %s model=%s status=%s closed_early=%s>" % (
            self.id, self.method, self.path, self.model, self.status, self.closed_early)


class ClientGone(Exception):
    pass


def parse_directive(text):
    """'fake: mode=die_mid after=3 delay=0.05' -> spec dict, or None."""
    if not isinstance(text, str) or not text.startswith("fake:"):
        return None
    spec = {}
    for word in text[5:].split():
        if "=" not in word:
            continue
        k, v = word.split("=", 1)
        for conv in (int, float):
            try:
                v = conv(v)
                break
            except ValueError:
                pass
        if v in ("true", "false"):
            v = v == "true"
        spec[k] = v
    return spec


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1"

    def log_message(self, fmt, *args):  # quiet
        if os.environ.get("FAKE_UPSTREAM_VERBOSE"):
            sys.stderr.write("fake[%s]: %s\n" % (self.server.fake.name, fmt % args))

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    # -- I/O helpers ------------------------------------------------------------------------------

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _gone(self):
        rec = self.rec
        if rec is not None and not rec.closed_early and not rec.finished:
            rec.closed_early = True
            rec.t_closed = time.monotonic()
            self.server.fake._notify()
        self.close_connection = True
        raise ClientGone()

    def _write(self, data):
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._gone()

    def _sleep(self, secs):
        """Sleeps secs, but notices (and raises ClientGone) when the client closes meanwhile."""
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.connection], [], [], min(left, 0.05))
            if r:
                try:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    self._gone()
                time.sleep(min(left, 0.05))  # a pipelined request is waiting: not our business

    def _head(self, status, ctype, length=None, extra=None, chunked=False):
        rec = self.rec
        rec.status = status
        lines = ["HTTP/1.1 %d %s" % (status, self.responses.get(status, ("X",))[0])]
        lines.append("Content-Type: " + ctype)
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is not None:
            lines.append("Content-Length: %d" % length)
        lines.append("X-Fake-Upstream: " + self.server.fake.name)
        lines.append("X-Fake-Request-Id: %d" % rec.id)
        for k, v in (extra or {}).items():
            lines.append("%s: %s" % (k, v))
        self._write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _chunk(self, data):
        self.rec.sent += data
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_chunks(self):
        self._write(b"0\r\n\r\n")

    def _close_now(self, rst=False):
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------------------------------

    def _handle(self):
        self.rec = None
        fake = self.server.fake
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        if path.startswith("/__fake/"):
            return self._control(path, body)
        rec = Record(fake._next_id(), self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        rec.header_list = list(self.headers.items())
        rec.peer = self.client_address  # (host, port) of the connection: same port = a reused connection
        self.rec = rec
        spec = fake._choose(rec)
        rec.spec = spec
        fake._add(rec)
        try:
            if spec.get("head_delay"):
                self._sleep(float(spec["head_delay"]))
            self._serve(rec, spec)
        except ClientGone:
            pass
        finally:
            fake._notify()

    def _serve(self, rec, spec):
        fake = self.server.fake
        path = rec.path.split("?", 1)[0].rstrip("/")
        mode = spec.get("mode", "ok")
        extra = spec.get("headers") or {}
        if path.endswith("/models") and rec.method == "GET":
            if not fake.healthy:
                return self._json(503, {"error": {"message": "unhealthy", "type": "server_error", "code": None}})
            return self._json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": fake.name} for m in fake.models]})
        kind = ("chat" if path.endswith("/chat/completions") else "completion" if path.endswith("/completions")
                else "embedding" if path.endswith("/embeddings") else None)
        if kind is None or rec.method != "POST":
            return self._json(404, {"error": {"message": "no route for %s %s" % (rec.method, path),
                                              "type": "invalid_request_error", "code": "not_found"}})
        req = rec.json if isinstance(rec.json, dict) else {}
        want_stream = req.get("stream") is True and kind != "embedding"
        if mode == "stream":
            want_stream = True
        if mode == "status":
            status = int(spec.get("status", 500))
            if spec.get("retry_after") is not None:
                extra = dict(extra, **{"Retry-After": str(spec["retry_after"])})
            return self._json(status, {"error": {"message": spec.get("message", "fake upstream error %d" % status),
                                                 "type": "server_error" if status >= 500 else "invalid_request_error",
                                                 "code": spec.get("code", status)}}, extra)
        if mode == "stall_head":
            self._sleep(float(spec.get("stall", 30)))
            mode = spec.get("then", "ok")
        if mode == "die_head":
            return self._close_now(spec.get("rst", False))
        if mode == "garbage":
            self._write(b"SPAM 42 not http at all\r\n\xff\xfe\r\n\r\n")
            return self._close_now()
        if mode == "bad_json":
            data = b'{"id": "chatcmpl-broken", "choices": [{"message": '
            self._head(200, "application/json", len(data), extra)
            rec.sent += data
            rec.finished = True
            self._write(data)
            return
        if mode == "malformed":
            self._head(200, "text/event-stream", extra=extra, chunked=True)
            for ev in (b'data: {"id":"x","object":"chat.completion.chunk","choices":[{"delta":{"content":"ok',
                       b"\n\n", b"event: nonsense\nthis line has no field separator\n\n",
                       b"data: not json at all\n\n", b"data: [DONE]\n\n"):
                self._chunk(ev)
            rec.finished = True
            self._end_chunks()
            return
        if not want_stream:
            return self._nonstream(rec, spec, kind, req, mode, extra)
        return self._stream(rec, spec, kind, req, mode, extra)

    def _json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self._head(status, "application/json", len(data), extra)
        self.rec.sent += data
        self.rec.finished = True
        self._write(data)

    def _usage(self, spec):
        u = spec.get("usage") or {"prompt_tokens": 3, "completion_tokens": 5}
        u = dict(u)
        u.setdefault("total_tokens", u.get("prompt_tokens", 0) + u.get("completion_tokens", 0))
        return u

    def _nonstream(self, rec, spec, kind, req, mode, extra):
        fake = self.server.fake
        model = spec.get("reply_model") or req.get("model", "unknown")
        content = spec.get("content", "Hello from %s." % fake.name)
        created = 1700000000
        if kind == "chat":
            obj = {"id": "chatcmpl-fake-%d" % rec.id, "object": "chat.completion", "created": created,
                   "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                                "logprobs": None, "finish_reason": "stop"}],
                   "usage": self._usage(spec)}
        elif kind == "completion":
            obj = {"id": "cmpl-fake-%d" % rec.id, "object": "text_completion", "created": created, "model": model,
                   "choices": [{"index": 0, "text": content, "logprobs": None, "finish_reason": "stop"}],
                   "usage": self._usage(spec)}
        else:
            inputs = req.get("input", "")
            n = len(inputs) if isinstance(inputs, list) else 1
            obj = {"object": "list", "model": model,
                   "data": [{"object": "embedding", "index": i, "embedding": [0.125, -0.25, 0.5]} for i in range(n)],
                   "usage": {"prompt_tokens": 3, "total_tokens": 3}}
        data = json.dumps(obj).encode()
        if mode in ("stall_mid", "die_mid"):
            half = len(data) // 2
            self._head(200, "application/json", len(data), extra)
            rec.sent += data[:half]
            self._write(data[:half])
            if mode == "stall_mid":
                self._sleep(float(spec.get("stall", 30)))
                rec.sent += data[half:]
                rec.finished = True
                self._write(data[half:])
                return
            return self._close_now(spec.get("rst", False))
        self._head(200, "application/json", len(data), extra)
        rec.sent += data
        rec.finished = True
        self._write(data)

    def stream_events(self, rec, spec, kind, req):
        """The SSE events (bytes, each ending in a blank line) of a normal stream."""
        fake = self.server.fake
        model = spec.get("reply_model") or req.get("model", "unknown")
        n = int(spec.get("events", 5))
        tokens = spec.get("tokens") or ["tok%d " % i for i in range(n)]
        base = {"id": "chatcmpl-fake-%d" % rec.id, "created": 1700000000, "model": model}
        evs = []
        if kind == "chat":
            base["object"] = "chat.completion.chunk"
            evs.append(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                            "logprobs": None, "finish_reason": None}]))
            for t in tokens:
                evs.append(dict(base, choices=[{"index": 0, "delta": {"content": t}, "logprobs": None,
                                                "finish_reason": None}]))
            evs.append(dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
        else:
            base["object"] = "text_completion"
            for t in tokens:
                evs.append(dict(base, choices=[{"index": 0, "text": t, "logprobs": None, "finish_reason": None}]))
            evs.append(dict(base, choices=[{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}]))
        if (req.get("stream_options") or {}).get("include_usage") or spec.get("usage_chunk"):
            evs.append(dict(base, choices=[], usage=self._usage(spec)))
        out = [b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in evs]
        out.append(b"data: [DONE]\n\n")
        del fake
        return out

    def _stream(self, rec, spec, kind, req, mode, extra):
        events = self.stream_events(rec, spec, kind, req)
        delay = float(spec.get("delay", 0))
        self._head(200, "text/event-stream", extra=dict({"Cache-Control": "no-cache"}, **extra), chunked=True)
        after = int(spec.get("after", 2))
        for i, ev in enumerate(events):
            if mode in ("stall_mid", "die_mid") and i == after:
                if mode == "die_mid":
                    # An RST makes the peer's kernel drop data it has not read yet: pause first, so the
                    # events already sent reach the gateway and only the end of the stream is lost.
                    rst = spec.get("rst", False)
                    self._sleep(float(spec.get("pause", 0.2 if rst else 0)))
                    return self._close_now(rst)
                self._sleep(float(spec.get("stall", 30)))
            if mode == "drip":
                for b in range(len(ev)):
                    self._chunk(ev[b:b + 1])
                    self._sleep(float(spec.get("delay", 0.002)))
            elif spec.get("split") and len(ev) > 4:
                self._chunk(ev[:len(ev) // 2])
                self._sleep(0.01)
                self._chunk(ev[len(ev) // 2:])
            else:
                self._chunk(ev)
            rec.events_sent += 1
            rec.event_times.append(time.monotonic())
            if delay and i + 1 < len(events) and mode != "drip":
                self._sleep(delay)
        rec.finished = True
        self._end_chunks()
        self.server.fake._notify()

    # -- control API (standalone process use) -------------------------------------------------------

    def _control(self, path, body):
        fake = self.server.fake
        self.rec = Record(0, self.command, path, {}, b"")
        try:
            spec = json.loads(body) if body else {}
        except ValueError:
            return self._json(400, {"error": "bad json"})
        if path == "/__fake/default":
            fake.set_default(spec)
        elif path == "/__fake/push":
            fake.push(spec)
        elif path.startswith("/__fake/model/"):
            fake.set_model(path[len("/__fake/model/"):], spec)
        elif path == "/__fake/reset":
            fake.reset()
        elif path == "/__fake/healthy":
            fake.healthy = bool(spec.get("healthy", True))
        elif path == "/__fake/requests":
            return self._json(200, [r.to_dict() for r in fake.requests()])
        elif path == "/__fake/closed":
            return self._json(200, [r.id for r in fake.requests() if r.closed_early])
        else:
            return self._json(404, {"error": "unknown control path"})
        return self._json(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # a client that vanished is not an error here
        if os.environ.get("FAKE_UPSTREAM_VERBOSE"):
            super().handle_error(request, client_address)


class FakeUpstream:
    """A fake OpenAI upstream running on a thread of this process (use as a context manager)."""

    def __init__(self, name="fake", port=0, models=("fake-model",), host="127.0.0.1"):
        self.name = name
        self.models = list(models)
        self.healthy = True
        self._lock = threading.Condition()
        self._records = []
        self._queue = []
        self._by_model = {}
        self._default = {"mode": "ok"}
        self._ids = 0
        self._server = _Server((host, port), Handler)
        self._server.fake = self
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = None

    # lifecycle
    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-" + self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops accepting; open handler threads are daemons and die with the process."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return "http://%s:%d/v1" % (self.host, self.port)

    # scripting
    def set_default(self, spec):
        with self._lock:
            self._default = dict(spec)

    def push(self, *specs):
        with self._lock:
            self._queue.extend(dict(s) for s in specs)

    def set_model(self, model, spec):
        with self._lock:
            self._by_model[model] = dict(spec)

    def reset(self):
        with self._lock:
            self._records.clear()
            self._queue.clear()
            self._by_model.clear()
            self._default = {"mode": "ok"}

    def _choose(self, rec):
        p = rec.path.split("?", 1)[0].rstrip("/")
        if rec.method == "GET" and p.endswith("/models"):
            return {"mode": "ok"}  # health checks never consume scripted behaviour
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            req = rec.json if isinstance(rec.json, dict) else {}
            for m in req.get("messages") or []:
                c = m.get("content") if isinstance(m, dict) else None
                d = parse_directive(c)
                if d is not None:
                    return d
            d = parse_directive(req.get("prompt"))
            if d is not None:
                return d
            if isinstance(req.get("x_fake"), dict):
                return dict(req["x_fake"])
            if rec.model in self._by_model:
                return dict(self._by_model[rec.model])
            return dict(self._default)

    # records
    def _next_id(self):
        with self._lock:
            self._ids += 1
            return self._ids

    def _add(self, rec):
        with self._lock:
            self._records.append(rec)
            self._lock.notify_all()

    def _notify(self):
        with self._lock:
            self._lock.notify_all()

    def requests(self, suffix=None, method=None):
        """Records so far, optionally those whose path ends with suffix / with this method."""
        with self._lock:
            out = list(self._records)
        if suffix:
            out = [r for r in out if r.path.split("?", 1)[0].rstrip("/").endswith(suffix)]
        if method:
            out = [r for r in out if r.method == method]
        return out

    def api_requests(self):
        """Records of API calls (POST), i.e. without the gateway's health checks."""
        return self.requests(method="POST")

    def wait_for(self, pred, timeout=5.0):
        """Waits until pred(records) is truthy; returns its value, or None after timeout."""
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                v = pred(list(self._records))
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(min(left, 0.1))

    def wait_requests(self, n, timeout=5.0, method="POST"):
        got = self.wait_for(lambda rs: len([r for r in rs if r.method == method]) >= n, timeout)
        return self.requests(method=method) if got else None

    def wait_closed(self, timeout=5.0):
        """Waits for an API request whose client closed early; returns the record or None."""
        v = self.wait_for(lambda rs: [r for r in rs if r.closed_early], timeout)
        return v[0] if v else None


def main():
    ap = argparse.ArgumentParser(description="scripted fake OpenAI upstream")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="fake")
    ap.add_argument("--models", default="fake-model")
    ap.add_argument("--mode", default=None, help="default spec as JSON")
    ap.add_argument("--port-file", default=None, help="write the bound port here once listening")
    a = ap.parse_args()
    up = FakeUpstream(a.name, a.port, a.models.split(","), a.host)
    if a.mode:
        up.set_default(json.loads(a.mode))
    up.start()
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % up.port)
        os.rename(tmp, a.port_file)
    print("fake upstream %s listening on %s" % (a.name, up.base_url), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    up.stop()


if __name__ == "__main__":
    main()
