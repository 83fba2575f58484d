# SPDX-License-Identifier: MIT
"""A real self-hosted model behind the gateway: scripts/local-llm.sh serves the tiny TinyStories model
(llama.cpp via node-llama-cpp) on an ephemeral port, the gateway points a self_hosted backend at it, and
chat completions go through, streaming and not. Only protocol facts are asserted (status, shapes, SSE
framing, [DONE], finish_reason, usage arithmetic, model id), never wording; prompts are plain ASCII
inside the model's vocabulary. The first run installs node-llama-cpp from npm into the cache (~15 s)."""

import os
import shutil
import subprocess
import tempfile

from harness import REPO, SLOW, Gateway, Skip, backend, chat_body, free_port, main, test

TAGS = ["slow", "needs-node"]

MODEL_ID = "TinyStories-656K-Q8_0"
_server = {}


def local_llm():
    """Starts the model server once for this file; returns its port."""
    if "port" in _server:
        return _server["port"]
    if not shutil.which("node") or not shutil.which("npm"):
        raise Skip("node/npm not installed")
    port = free_port()
    run_dir = tempfile.mkdtemp(prefix="hg-llm-")
    env = dict(os.environ, LOCAL_LLM_RUN_DIR=run_dir)
    r = subprocess.run([os.path.join(REPO, "scripts", "local-llm.sh"), "start", str(port)], env=env,
                       capture_output=True, timeout=600)
    if r.returncode != 0:
        raise AssertionError("local-llm.sh start failed (%d):\n%s%s" % (r.returncode, r.stdout.decode(),
                                                                      r.stderr.decode()))
    _server.update(port=port, env=env, run_dir=run_dir)
    return port


def stop_local_llm():
    if "port" in _server:
        subprocess.run([os.path.join(REPO, "scripts", "local-llm.sh"), "stop", str(_server["port"])],
                       env=_server["env"], capture_output=True, timeout=30)
        shutil.rmtree(_server["run_dir"], ignore_errors=True)


def gw_config(port):
    return {"backends": [backend("local-llm", "http://127.0.0.1:%d/v1" % port, [MODEL_ID], max_concurrency=4)],
            "aliases": {"local": MODEL_ID}, "first_byte_timeout": "60s"}


PROMPT = [{"role": "system", "content": "You are a storyteller."},
          {"role": "user", "content": "Tell me a story about a cat and a dog."}]


@test
def nonstream_through_gateway():
    port = local_llm()
    with Gateway(gw_config(port), wait_ready=True, workers=1) as gw:
        for model in (MODEL_ID, "local"):
            r = gw.chat({"model": model, "messages": PROMPT, "max_tokens": 24, "temperature": 0, "seed": 1},
                        timeout=60)
            assert r.status == 200, r
            assert r.header("x-hybridgate-backend") == "local-llm"
            j = r.json()
            assert j["object"] == "chat.completion", j
            assert j["model"] == MODEL_ID, "upstream got %r for %r" % (j["model"], model)
            [c] = j["choices"]
            assert c["message"]["role"] == "assistant" and isinstance(c["message"]["content"], str)
            assert c["finish_reason"] in ("stop", "length"), c
            u = j["usage"]
            assert u["prompt_tokens"] > 0 and 0 < u["completion_tokens"] <= 24, u
            assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], u
        # temperature 0 and a seed: the same answer twice through the gateway
        body = {"model": "local", "messages": PROMPT, "max_tokens": 16, "temperature": 0, "seed": 7}
        a, b = gw.chat(body, timeout=60).json(), gw.chat(body, timeout=60).json()
        assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]


@test
def stream_through_gateway():
    port = local_llm()
    with Gateway(gw_config(port), wait_ready=True) as gw:
        s = gw.stream({"model": "local", "messages": PROMPT, "max_tokens": 20, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}}, timeout=60)
        assert s.status == 200 and s.ended == "eof", s
        assert s.headers.get("content-type", "").startswith("text/event-stream"), s.headers
        assert s.headers.get("x-hybridgate-backend") == "local-llm"
        assert s.done and s.datas[-1] == "[DONE]", s
        ev = s.json_events()
        assert None not in ev, "an event is not JSON: %r" % s.datas
        assert not s.error_events(), s.error_events()
        assert all(e["object"] == "chat.completion.chunk" and e["model"] == MODEL_ID for e in ev), ev[:2]
        assert ev[0]["choices"][0]["delta"].get("role") == "assistant"
        finals = [e for e in ev if e["choices"] and e["choices"][0].get("finish_reason")]
        assert len(finals) == 1 and finals[0]["choices"][0]["finish_reason"] in ("stop", "length"), finals
        usage = [e for e in ev if e.get("usage")]
        assert len(usage) == 1 and usage[0]["choices"] == [], usage
        u = usage[0]["usage"]
        assert 0 < u["completion_tokens"] <= 20 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
        assert s.content(), "no content in the stream"
        # the same request non-streamed gives the same text (temperature 0)
        r = gw.chat({"model": "local", "messages": PROMPT, "max_tokens": 20, "temperature": 0}, timeout=60 * SLOW)
        assert r.json()["choices"][0]["message"]["content"] == s.content()


@test
def concurrent_requests_and_client_abort():
    port = local_llm()
    with Gateway(gw_config(port), wait_ready=True) as gw:
        import threading
        out = [None] * 4

        def one(i):
            out[i] = gw.chat(chat_body("local", "Once upon a time there was a frog number %d." % i, max_tokens=30,
                                       seed=i), timeout=60)

        ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        assert all(r is not None and r.status == 200 for r in out), out
        # a client that leaves mid-stream does not break the server or the gateway
        s = gw.stream(chat_body("local", "Once upon a time", stream=True, max_tokens=200), stop_after=2, timeout=60)
        assert s.status == 200
        r = gw.chat(chat_body("local", "The sun was hot.", max_tokens=8), timeout=60)
        assert r.status == 200, r
        # an upstream 4xx from the real server is relayed (no messages -> 400 from the wrapper)
        r = gw.chat({"model": "local", "messages": []}, timeout=60)
        assert r.status == 400, r


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_local_llm()
