# SPDX-License-Identifier: MIT
"""Ways a sensitive value could slip past the scanner to a hosted backend, each closed: a duplicate
JSON key (parsers disagree on which one wins), an escaped NUL (cJSON would end the string early), and
fields the gateway has no special handling for (everything that is forwarded is scanned)."""

import json

from fake_upstream import FakeUpstream
from harness import Gateway, assert_openai_error, backend, main, request, test

SSN = "536-22-8741"


def config(local, cloud):
    return {
        "backends": [backend("local", local, ["m"], health_interval=0),
                     backend("cloud", cloud, ["m"], kind="hosted", health_interval=0)],
        "routing": [
            {"name": "sensitive-local", "match": {"sensitive": True}, "route": {"pool": ["local"]}},
            {"name": "public-cloud", "route": {"pool": ["cloud"]}},
        ],
    }


def assert_cloud_clean(cloud):
    for r in cloud.api_requests():
        assert SSN.encode() not in r.body and b"536228741" not in r.body, r.body


@test
def duplicate_keys_are_rejected():
    with FakeUpstream("local", models=["m"]) as local, FakeUpstream("cloud", models=["m"]) as cloud, \
            Gateway(config(local, cloud)) as gw:
        raw = ('{"model":"m","messages":[{"role":"user","content":"hello"}],'
               '"messages":[{"role":"user","content":"my ssn is %s"}]}' % SSN).encode()
        assert_openai_error(request(gw.port, "POST", "/v1/chat/completions", raw), 400, "duplicate key")
        raw = ('{"model":"m","messages":[{"role":"user","content":"hi","content":"ssn %s"}]}' % SSN).encode()
        assert_openai_error(request(gw.port, "POST", "/v1/chat/completions", raw), 400, "duplicate key")
        assert not cloud.api_requests() and not local.api_requests()


@test
def escaped_nul_is_rejected():
    with FakeUpstream("local", models=["m"]) as local, FakeUpstream("cloud", models=["m"]) as cloud, \
            Gateway(config(local, cloud)) as gw:
        raw = ('{"model":"m","messages":[{"role":"user","content":"hello\\u0000 my ssn is %s"}]}'
               % SSN).encode()
        assert_openai_error(request(gw.port, "POST", "/v1/chat/completions", raw), 400, "escaped NUL")
        assert not cloud.api_requests()


@test
def every_forwarded_field_is_scanned():
    bodies = [
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "user": "patient ssn %s" % SSN},
        {"model": "m", "messages": [{"role": "user", "content": "hi"}],
         "tools": [{"type": "function", "function": {"name": "f", "description": "ssn %s" % SSN,
                                                      "parameters": {"type": "object"}}}]},
        {"model": "m", "messages": [{"role": "assistant", "content": None, "refusal": "ssn %s" % SSN},
                                    {"role": "user", "content": "ok"}]},
        {"model": "m", "messages": [{"role": "user", "content": {"text": "my ssn is %s" % SSN}}]},
        {"model": "m", "messages": [{"role": "user", "content": "hi"}],
         "prediction": {"type": "content", "content": "ssn %s" % SSN}},
    ]
    with FakeUpstream("local", models=["m"]) as local, FakeUpstream("cloud", models=["m"]) as cloud, \
            Gateway(config(local, cloud)) as gw:
        for b in bodies:
            r = request(gw.port, "POST", "/v1/chat/completions", b)
            assert r.status == 200, (r, b)
            assert "backend=local" in (r.header("x-hybridgate-route") or ""), (r.header("x-hybridgate-route"), b)
        r = request(gw.port, "POST", "/v1/embeddings", {"model": "m", "input": [["nested", "ssn %s" % SSN]]})
        assert "backend=cloud" not in (r.header("x-hybridgate-route") or ""), r.header("x-hybridgate-route")
        assert_cloud_clean(cloud)
        # and a public request still goes to the cloud, byte for byte
        body = {"model": "m", "messages": [{"role": "user", "content": "What is the capital of France?"}]}
        r = request(gw.port, "POST", "/v1/chat/completions", body)
        assert "backend=cloud" in r.header("x-hybridgate-route"), r.header("x-hybridgate-route")
        assert json.loads(cloud.api_requests()[-1].body) == body


if __name__ == "__main__":
    main()
