#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Accuracy scorer for `hybridgate scan` on the pii-dev development data.

Runs the CLI over generated_large.json (Presidio synthetic sentences) and secrets_dev.jsonl
(gitleaks examples) and prints per-type precision/recall (overlap match, presidio-research
name mapping), document-level sensitive recall and false-alarm rate, secrets recall and
placeholder hits. Exits 1 when a target from issue 4 is missed, so it runs as a test.

Environment: PII_DEV_DIR (default <repo>/../shared/data/pii-dev), HYBRIDGATE_BIN (default
<repo>/build/hybridgate). `--verbose` lists misses and false positives.
"""
import json
import os
import subprocess
import sys
from collections import defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("PII_DEV_DIR", os.path.join(os.path.dirname(REPO), "shared", "data", "pii-dev"))
BIN = os.environ.get("HYBRIDGATE_BIN", os.path.join(REPO, "build", "hybridgate"))
VERBOSE = "--verbose" in sys.argv or "-v" in sys.argv

GOLD_MAP = {"DOMAIN_NAME": "URL", "ADDRESS": "LOCATION", "STREET_ADDRESS": "LOCATION",
            "GPE": "LOCATION", "PREFIX": "TITLE"}
STRUCTURED = ["CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "IP_ADDRESS",
              "PHONE_NUMBER", "URL"]
P_TARGET, R_TARGET = 0.98, 0.97
# Labelling policy: identifiers and contact details of a person make a record sensitive; a
# name with a street address does too (a name with a city or country does not). Dates, URLs, organisations and titles alone do not.
STRONG = {"CREDIT_CARD", "US_SSN", "EMAIL_ADDRESS", "IBAN_CODE", "PHONE_NUMBER",
          "US_DRIVER_LICENSE"}
# Documented placeholders: never a secret.
PLACEHOLDERS = [
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "Authorization: Bearer <YOUR_API_KEY>",
    "OPENAI_API_KEY=<your-key>",
    "password: ${DB_PASSWORD}",
    "DATABASE_URL=postgres://user:${DB_PASSWORD}@db:5432/app",
    "api_key: \"{{ api_key }}\"",
    "token = xxxxxxxxxxxxxxxxxxxx",
    "SECRET_KEY=changeme",
    "Set `api_key = \"YOUR_API_KEY_HERE\"` in the config.",
    "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "password = \"********\"",
    "client_secret: <redacted>",
    "Server=myServerAddress;Database=myDataBase;User Id=myUsername;Password=myPassword;",
    "API_KEY=your_api_key",
    "token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
]


def run_scan(records):
    """records: list of (id, text). Returns {id: result}."""
    inp = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in records)
    p = subprocess.run([BIN, "scan"], input=inp.encode(), capture_output=True, timeout=120)
    if p.returncode != 0:
        sys.exit("scan exited %d: %s" % (p.returncode, p.stderr.decode()[:500]))
    lines = p.stdout.decode().splitlines()
    if len(lines) != len(records):
        sys.exit("line count %d != %d" % (len(lines), len(records)))
    out = {}
    for (i, t), line in zip(records, lines):
        r = json.loads(line)
        if r.get("id") != i:
            sys.exit("id changed: %r -> %r" % (i, r.get("id")))
        for e in r.get("entities", []):
            if not (0 <= e["start"] < e["end"] <= len(t)) or "score" not in e:
                sys.exit("bad entity %r for id %r" % (e, i))
        out[i] = r
    return out


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def score_presidio(failures):
    recs = json.load(open(os.path.join(DATA, "generated_large.json")))
    res = run_scan([(k, r["full_text"]) for k, r in enumerate(recs)])
    tp_p, n_p, tp_r, n_g = (defaultdict(int) for _ in range(4))
    misses = defaultdict(list)
    fps = defaultdict(list)
    doc = {"pos": 0, "pos_hit": 0, "neg": 0, "neg_hit": 0, "any": 0, "any_hit": 0}
    for k, r in enumerate(recs):
        gold = [(GOLD_MAP.get(s["entity_type"], s["entity_type"]), s["start_position"],
                 s["end_position"]) for s in r["spans"]]
        pred = [(e["type"], e["start"], e["end"]) for e in res[k]["entities"]]
        for t, s, e in gold:
            n_g[t] += 1
            if any(pt == t and overlaps((s, e), (ps, pe)) for pt, ps, pe in pred):
                tp_r[t] += 1
            else:
                misses[t].append((r["full_text"][s:e], r["full_text"][:120]))
        for t, s, e in pred:
            n_p[t] += 1
            if any(gt == t and overlaps((s, e), (gs, ge)) for gt, gs, ge in gold):
                tp_p[t] += 1
            else:
                fps[t].append((r["full_text"][s:e], r["full_text"][:120]))
        types = {g[0] for g in gold}
        raw = {s["entity_type"] for s in r["spans"]}
        sens = res[k]["sensitive"]
        policy = bool(types & STRONG) or ("PERSON" in raw and bool(raw & {"ADDRESS", "STREET_ADDRESS"}))
        if not gold:
            doc["neg"] += 1
            doc["neg_hit"] += sens
            if sens and VERBOSE:
                print("  FALSE ALARM:", r["full_text"][:150].replace("\n", " "), res[k]["entities"])
        if policy:
            doc["pos"] += 1
            doc["pos_hit"] += sens
            if not sens and VERBOSE:
                print("  DOC MISS:", r["full_text"][:150].replace("\n", " "))
        if types & (STRONG | {"PERSON", "LOCATION", "IP_ADDRESS"}):
            doc["any"] += 1
            doc["any_hit"] += sens
    print("%-20s %6s %6s %6s %6s" % ("type", "gold", "pred", "P", "R"))
    for t in sorted(set(n_g) | set(n_p)):
        p = tp_p[t] / n_p[t] if n_p[t] else float("nan")
        rcl = tp_r[t] / n_g[t] if n_g[t] else float("nan")
        mark = ""
        if t in STRUCTURED and n_g[t]:
            if not (p >= P_TARGET and rcl >= R_TARGET):
                mark = "  << target P>=%.2f R>=%.2f" % (P_TARGET, R_TARGET)
                failures.append("%s P=%.3f R=%.3f" % (t, p, rcl))
        print("%-20s %6d %6d %6.3f %6.3f%s" % (t, n_g[t], n_p[t], p, rcl, mark))
        if VERBOSE and t in STRUCTURED + ["US_DRIVER_LICENSE", "PERSON", "LOCATION"]:
            for m in misses[t][:12]:
                print("    miss %r in %r" % m)
            for m in fps[t][:12]:
                print("    fp   %r in %r" % m)
    rec = doc["pos_hit"] / max(doc["pos"], 1)
    fa = doc["neg_hit"] / max(doc["neg"], 1)
    print("doc sensitive recall (policy: id/contact, or name+address): %.3f (%d/%d)" %
          (rec, doc["pos_hit"], doc["pos"]))
    print("doc sensitive recall (any PII span incl. names/places, info): %.3f (%d/%d)" %
          (doc["any_hit"] / max(doc["any"], 1), doc["any_hit"], doc["any"]))
    print("doc false alarms on no-span records: %.3f (%d/%d)" % (fa, doc["neg_hit"], doc["neg"]))
    if rec < 0.99:
        failures.append("doc recall %.3f < 0.99" % rec)
    if fa > 0.03:
        failures.append("doc false alarms %.3f > 0.03" % fa)


def score_secrets(failures):
    recs = [json.loads(l) for l in open(os.path.join(DATA, "secrets_dev.jsonl"))]
    res = run_scan([(r["id"], r["text"]) for r in recs])
    tp = hit = 0
    fp_kind = defaultdict(lambda: [0, 0])
    missed_rules = defaultdict(int)
    for r in recs:
        out = res[r["id"]]
        secrets = [(e["start"], e["end"]) for e in out["entities"] if e["type"].startswith("SECRET")]
        if r["kind"] == "gitleaks_tp":
            tp += 1
            ok = any(overlaps((s["start"], s["end"]), x) for s in r["spans"] for x in secrets)
            hit += ok
            if not ok:
                missed_rules[r["rule"]] += 1
                if VERBOSE:
                    print("  SECRET MISS [%s]: %r" % (r["rule"], r["text"][:160]))
        else:
            k = "gitleaks_fp" if r["kind"] == "gitleaks_fp" else "clean"
            fp_kind[k][0] += 1
            fp_kind[k][1] += bool(secrets)
            if secrets and VERBOSE:
                print("  SECRET FP [%s]: %r %r" % (r["kind"], r["text"][:160], out["entities"]))
    rec = hit / max(tp, 1)
    print("secrets recall: %.3f (%d/%d)" % (rec, hit, tp))
    for k, (n, h) in sorted(fp_kind.items()):
        print("secret hits on %s examples: %.3f (%d/%d)" % (k, h / max(n, 1), h, n))
    if missed_rules and VERBOSE:
        print("  missed rules:", dict(missed_rules))
    ph = run_scan([(i, t) for i, t in enumerate(PLACEHOLDERS)])
    bad = [PLACEHOLDERS[i] for i in range(len(PLACEHOLDERS))
           if any(e["type"].startswith("SECRET") for e in ph[i]["entities"])]
    print("placeholder hits: %d/%d" % (len(bad), len(PLACEHOLDERS)))
    for b in bad:
        print("    placeholder hit: %r" % b)
    if rec < 0.95:
        failures.append("secrets recall %.3f < 0.95" % rec)
    if bad:
        failures.append("%d placeholder hits" % len(bad))


def main():
    if not os.path.isdir(DATA):
        sys.exit("no data at %s (set PII_DEV_DIR)" % DATA)
    failures = []
    score_presidio(failures)
    score_secrets(failures)
    if failures:
        print("score: FAILED: " + "; ".join(failures))
        return 1
    print("score: all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
