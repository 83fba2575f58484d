#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks `hybridgate scan` output against the detector contract for one input file: one line
per input line, the same id, valid JSON, offsets 0 <= start < end <= len(text) in code points,
a score in [0, 1], and an error object only for malformed lines."""
import json
import sys


def main(inp, out):
    ins = open(inp, encoding="utf-8").read().split("\n")
    if ins and ins[-1] == "":
        ins.pop()
    outs = open(out, encoding="utf-8").read().split("\n")
    if outs and outs[-1] == "":
        outs.pop()
    if len(ins) != len(outs):
        print("contract: %s: %d lines in, %d out" % (inp, len(ins), len(outs)))
        return 1
    for n, (a, b) in enumerate(zip(ins, outs), 1):
        r = json.loads(b)
        try:
            src = json.loads(a)
        except ValueError:
            src = None
        ok_in = isinstance(src, dict) and isinstance(src.get("text"), str)
        if not ok_in:
            if "error" not in r:
                print("contract: line %d: malformed input without error object" % n)
                return 1
            continue
        if r.get("id") != src.get("id"):
            print("contract: line %d: id %r != %r" % (n, r.get("id"), src.get("id")))
            return 1
        text = src["text"]
        for e in r["entities"]:
            if not (0 <= e["start"] < e["end"] <= len(text)) or not 0 <= e["score"] <= 1:
                print("contract: line %d: bad entity %r" % (n, e))
                return 1
    print("contract: ok %s" % inp.split("/")[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
