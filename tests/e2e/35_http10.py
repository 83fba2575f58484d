# SPDX-License-Identifier: MIT
"""HTTP/1.0 clients (nginx proxies with HTTP/1.0 by default): a streamed reply is sent unchunked and
ends with the connection; the gateway must survive the reply finishing inside libevent's own call
(a double free found in review), for streams and whole answers, and keep serving afterwards."""

import json
import socket

from fake_upstream import FakeUpstream
from harness import Gateway, backend, chat_body, main, test


def http10(port, body, timeout=10):
    data = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(data) + data)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


@test
def http10_stream_and_whole_answers():
    with FakeUpstream("a", models=["m"]) as up, Gateway({"backends": [backend("a", up, ["m"])]}) as gw:
        for i in range(3):
            up.push({"mode": "ok", "events": 3, "delay": 0.05})
            head, body = http10(gw.port, chat_body("m", stream=True))
            assert head.startswith("HTTP/1.") and " 200 " in head.split("\r\n")[0], head
            assert "chunked" not in head.lower(), head
            assert body.rstrip().endswith(b"data: [DONE]"), body[-200:]
            head, body = http10(gw.port, chat_body("m"))
            assert " 200 " in head.split("\r\n")[0], head
            assert json.loads(body)["choices"][0]["message"]["content"], body
        assert gw.chat(chat_body("m")).status == 200
        assert gw.proc.poll() is None, "gateway died"


if __name__ == "__main__":
    main()
