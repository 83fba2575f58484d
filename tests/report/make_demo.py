# SPDX-License-Identifier: MIT
"""Writes a week of synthetic usage rows (2026-11-02 .. 2026-11-09 UTC) into a hybridgate SQLite
usage store whose schema already exists (run `hybridgate report -c CONFIG` once on the empty file):

  phi-records     2,000 rows, all sensitive, on the self-hosted pool (regulated -> self_hosted)
  support-chat   10,000 rows in weekday business hours on gpt-4.1 (bursty, small spend)
  batch-classify  8,000 rows evenly spread, each a batch of 10M input tokens on gpt-4.1
                  (flat and large: self-hosting is under 30% of the frontier spend)

Costs follow tests/report/demo.yaml: gpt-4.1 at USD 2/8 per million, the pool amortized.
Usage: python3 make_demo.py DB"""

import sqlite3
import sys

START = 1793577600 * 1000000  # 2026-11-02T00:00:00Z, a Monday, in microseconds
HOUR = 3600 * 1000000
COLS = ("ts_us, request_id, key_id, team, rule, reason, backend, backend_kind, model, requested_model, "
        "endpoint, classes, sensitive, stream, masked, status, attempts, input_tokens, output_tokens, "
        "ttft_us, total_us, scan_us, cost_micro_usd, error")


def hosted_cost(inp, out):
    """Micro-dollars at USD 2 / 8 per million input / output tokens, i.e. 2 / 8 micro-dollars a token."""
    return inp * 2 + out * 8


def rows():
    n = 0
    # phi-records: 2000 rows evenly over the week
    for i in range(2000):
        n += 1
        yield (START + i * 168 * HOUR // 2000, "demo-%d" % n, "k1", "clinical", "phi-records", "sensitive",
               "local", "self_hosted", "llama-3-70b", "clinical", "chat", 2, 1, 0, 0, 200, 1, 1000, 100,
               80000, 900000, 40, 2166, "")  # 1100 tokens x the pool's USD 1.96865 per million
    # support-chat: weekdays 08:00-18:00, 200 rows an hour
    for day in range(5):
        for hour in range(8, 18):
            for k in range(200):
                n += 1
                ts = START + (day * 24 + hour) * HOUR + k * HOUR // 200
                yield (ts, "demo-%d" % n, "k2", "support", "support-chat", "default", "cloud", "hosted",
                       "gpt-4.1", "gpt-4.1", "chat", 0, 0, 1, 0, 200 if k % 50 else 502, 1, 20000, 2000,
                       300000, 4000000, 50, hosted_cost(20000, 2000), "" if k % 50 else "upstream_5xx")
    # batch-classify: 8000 rows evenly spread, 10M input + 20k output tokens each
    for i in range(8000):
        n += 1
        yield (START + i * 168 * HOUR // 8000, "demo-%d" % n, "k3", "docs", "batch-classify", "default",
               "cloud", "hosted", "gpt-4.1", "gpt-4.1", "completions", 0, 0, 0, 0, 200, 1, 10000000, 20000,
               2000000, 9000000, 900, hosted_cost(10000000, 20000), "")


def main():
    db = sqlite3.connect(sys.argv[1])
    db.executemany("INSERT INTO requests (%s) VALUES (%s)" % (COLS, ",".join("?" * 24)), rows())
    db.commit()
    db.close()


if __name__ == "__main__":
    main()
