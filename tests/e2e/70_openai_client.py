# SPDX-License-Identifier: MIT
"""The official `openai` npm client, unchanged, against the gateway (with the fake upstream behind it):
chat completions non-stream and stream, models.list, an error status surfacing as the client's typed
error, and the client's key not reaching the upstream. The package is installed on first use into
${XDG_CACHE_HOME:-~/.cache}/hybridgate/npm (outside the clone); OPENAI_NPM_VERSION overrides the pin
(6.x: the last major that runs on node 20)."""

import json
import os
import shutil
import subprocess

from fake_upstream import FakeUpstream
from harness import Gateway, Skip, backend, main, test

TAGS = ["needs-node"]

VERSION = os.environ.get("OPENAI_NPM_VERSION", "6.49.0")
CACHE = os.path.join(os.environ.get("HYBRIDGATE_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hybridgate"), "npm")
CLIENT_KEY = "sk-openai-client-canary-0042"

SCRIPT = r"""
import OpenAI from "openai";
const client = new OpenAI({baseURL: process.env.BASE_URL, apiKey: process.env.CLIENT_KEY, maxRetries: 0,
                           timeout: 20000});
const out = {};
const r = await client.chat.completions.create({model: "model-a", messages: [{role: "user", content: "hi"}],
                                               max_tokens: 5});
out.nonstream = {content: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage,
                 model: r.model};
const s = await client.chat.completions.create({model: "fast", stream: true, stream_options: {include_usage: true},
                                               messages: [{role: "user", content: "count"}]});
let text = "", chunks = 0, usage = null, finish = null;
for await (const c of s) {
  chunks++;
  if (c.choices.length) { text += c.choices[0].delta.content ?? ""; finish = c.choices[0].finish_reason ?? finish; }
  if (c.usage) usage = c.usage;
}
out.stream = {text, chunks, usage, finish};
const {data: raw, response} = await client.chat.completions.create({model: "model-a",
    messages: [{role: "user", content: "h"}]}).withResponse();
out.backend_header = response.headers.get("x-hybridgate-backend");
const models = [];
for await (const m of client.models.list()) models.push(m.id);
out.models = models;
try {
  await client.chat.completions.create({model: "no-such-model", messages: [{role: "user", content: "x"}]});
  out.error = "no error";
} catch (e) {
  out.error = {status: e.status, name: e.constructor.name, type: e.type ?? e.error?.type ?? null};
}
// a stream the upstream cuts: the client must see an error, not a clean end
try {
  const s2 = await client.chat.completions.create({model: "model-a", stream: true,
      messages: [{role: "user", content: "fake: mode=die_mid after=2"}]});
  let n = 0;
  for await (const c of s2) n++;
  out.cut = {error: null, chunks: n};
} catch (e) {
  out.cut = {error: e.constructor.name + ": " + String(e.message).slice(0, 200)};
}
console.log(JSON.stringify(out));
"""


def ensure_openai():
    if not shutil.which("node") or not shutil.which("npm"):
        raise Skip("node/npm not installed")
    pkg = os.path.join(CACHE, "node_modules", "openai", "package.json")
    try:
        with open(pkg) as f:
            if json.load(f).get("version") == VERSION:
                return
    except (OSError, ValueError):
        pass
    os.makedirs(CACHE, exist_ok=True)
    if not os.path.exists(os.path.join(CACHE, "package.json")):
        with open(os.path.join(CACHE, "package.json"), "w") as f:
            f.write('{"name": "hybridgate-e2e-npm", "private": true}\n')
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "openai@" + VERSION],
                       cwd=CACHE, capture_output=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError("npm install openai@%s failed:\n%s" % (VERSION, r.stderr.decode()[-2000:]))


@test
def official_openai_client():
    ensure_openai()
    script = os.path.join(CACHE, "e2e_openai_client.mjs")  # beside node_modules, so "openai" resolves
    with open(script, "w") as f:
        f.write(SCRIPT)
    with FakeUpstream("a", models=["model-a", "model-b"]) as up, \
            Gateway({"backends": [backend("a", up, ["model-a", "model-b"], api_key_env="HG_E2E_KEY")],
                     "aliases": {"fast": "model-b"}, "max_retries": 0}, env={"HG_E2E_KEY": "sk-backend"}) as gw:
        up.set_model("model-b", {"mode": "ok", "events": 4, "delay": 0.01})
        env = dict(os.environ, BASE_URL=gw.url + "/v1", CLIENT_KEY=CLIENT_KEY)
        r = subprocess.run(["node", script], env=env, capture_output=True, timeout=120)
        assert r.returncode == 0, "client script failed:\n%s%s" % (r.stdout.decode(), r.stderr.decode()[-3000:])
        out = json.loads(r.stdout.decode().strip().splitlines()[-1])
        assert out["nonstream"]["content"] == "Hello from a." and out["nonstream"]["finish"] == "stop", out
        assert out["nonstream"]["usage"]["total_tokens"] == 8, out
        assert out["stream"]["text"] == "tok0 tok1 tok2 tok3 ", out
        assert out["stream"]["finish"] == "stop" and out["stream"]["usage"]["total_tokens"] == 8, out
        assert out["backend_header"] == "a", out
        assert {"model-a", "model-b", "fast"} <= set(out["models"]), out
        assert out["error"] != "no error" and out["error"]["status"] == 404, out
        assert out["error"]["name"] == "NotFoundError", out
        assert out["cut"]["error"], "the client saw a cut stream as a clean end: %r" % out["cut"]
        for rec in up.api_requests():
            assert rec.headers.get("authorization") == "Bearer sk-backend", rec.headers
            assert CLIENT_KEY not in json.dumps(rec.headers), rec.headers
        assert [x.model for x in up.api_requests()][:2] == ["model-a", "model-b"]


if __name__ == "__main__":
    main()
