/* SPDX-License-Identifier: MIT */
/* Routing decision cost for a 4 KB prompt that reaches the default rule after three keyword /
 * domain rules (the worst case: the whole text is scanned and nothing matches), plus the cost of
 * health_snapshot() that precedes each decision. Prints p50 / p99 / mean per decision and checks
 * every decision's result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "route/health.h"
#include "route/route.h"

static const char yaml[] =
    "backends:\n"
    "  - {name: gpu-a, kind: self_hosted, base_url: 'http://a/v1', models: [llama], "
    "max_concurrency: 8, max_queue: 8}\n"
    "  - {name: gpu-b, kind: self_hosted, base_url: 'http://b/v1', models: [llama], "
    "max_concurrency: 8, max_queue: 8}\n"
    "  - {name: legal, kind: self_hosted, base_url: 'http://c/v1', models: [legal]}\n"
    "  - {name: together, kind: hosted, base_url: 'https://t/v1', models: [llama]}\n"
    "routing:\n"
    "  - name: regulated\n"
    "    match: {classes: [any]}\n"
    "    route: {pool: [gpu-a, gpu-b]}\n"
    "  - name: legal\n"
    "    match: {keywords: [indemnification, force majeure, governing law, arbitration clause,\n"
    "            limitation of liability, non-compete, severability, liquidated damages,\n"
    "            warranty disclaimer, intellectual property assignment, termination for cause,\n"
    "            confidentiality agreement, subpoena, deposition, plaintiff, defendant]}\n"
    "    route: {pool: [legal], model: legal}\n"
    "  - name: medical-words\n"
    "    match: {keywords: [diagnosis, prescription, discharge summary, lab results, oncology,\n"
    "            radiology report, biopsy, chemotherapy, dosage, contraindication, MRN,\n"
    "            ICD-10, triage, anamnesis, comorbidity, hypertension]}\n"
    "    route: {pool: [gpu-a, gpu-b]}\n"
    "  - name: internal\n"
    "    match: {domains: [corp.example.com, intranet.example.org, git.internal, vault.internal,\n"
    "            jira.example.net]}\n"
    "    route: {pool: [gpu-a]}\n"
    "  - name: default\n"
    "    route: {pool: [gpu-a, gpu-b], burst_to: [together]}\n";

static const char *const words[] = {
    "the",       "shipment", "arrives", "on",      "tuesday", "please",  "confirm",   "that",
    "our",       "customer", "support", "team",    "can",     "answer",  "questions", "about",
    "invoice",   "delivery", "window",  "and",     "return",  "policy",  "for",       "orders",
    "placed",    "online",   "in",      "europe",  "while",   "keeping", "latency",   "low,",
    "summarise", "this",     "thread.", "Thanks!", "regards", "update",  "planning",  "meeting",
};

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int
main(void)
{
    struct config cfg;
    struct hg_err err = {0};
    struct route_config *rc = NULL;
    if (config_load_str(&cfg, "bench.yaml", yaml, sizeof(yaml) - 1, &err) < 0 ||
        route_config_load(cfg_get(cfg.doc.root, "routing"), &cfg, &rc, &err) < 0) {
        fprintf(stderr, "bench_route: %s\n", err.msg);
        return 1;
    }
    struct health *h = health_new(&cfg, route_config_health(rc));

    /* a 4 KB prompt of ordinary words, no keyword in it */
    char text[4096];
    size_t n = 0;
    unsigned s = 1;
    while (n < sizeof(text) - 16) {
        s = s * 1103515245u + 12345u;
        const char *w = words[(s >> 8) % (sizeof(words) / sizeof(words[0]))];
        size_t l = strlen(w);
        memcpy(text + n, w, l);
        n += l;
        text[n++] = (s >> 20) % 9 == 0 ? '\n' : ' ';
    }
    struct str part = {text, n};
    struct route_input in = {0};
    in.model = STR_LIT("llama");
    in.text = &part;
    in.ntext = 1;
    in.prompt_bytes = n;

    enum { ITERS = 200000, WARM = 2000 };
    int64_t *t = malloc(sizeof(int64_t) * ITERS);
    static struct route_view view;
    static struct route_decision d;
    uint64_t checksum = 0;
    int64_t total0 = clock_mono_us();
    for (int i = 0; i < ITERS + WARM; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        in.seed = (uint64_t)i;
        health_snapshot(h, rc, i, &view);
        int r = route_decide(&in, &view, &d);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (r != ROUTE_REASON_DEFAULT || d.rule != 4 || d.ncand != 3 || d.cand[2].backend != 3) {
            fprintf(stderr, "bench_route: wrong decision at %d: %s rule %d\n", i,
                    route_reason_name(d.reason), d.rule);
            return 1;
        }
        checksum += (uint64_t)d.cand[0].backend;
        if (i >= WARM)
            t[i - WARM] = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    }
    int64_t total_us = clock_mono_us() - total0;
    qsort(t, ITERS, sizeof(*t), cmp_i64);

    /* the same input with a keyword at the end: the scan stops only at the hit */
    memcpy(text + n - 12, " biopsy     ", 12);
    route_decide(&in, &view, &d);
    if (strcmp(d.rule_name, "medical-words") != 0) {
        fprintf(stderr, "bench_route: keyword at the end not found\n");
        return 1;
    }
    /* and with the decide alone (no snapshot), sensitive: no scan at all */
    in.classes = 1;
    int64_t a0 = clock_mono_us();
    for (int i = 0; i < ITERS; i++)
        route_decide(&in, &view, &d);
    double sens_ns = (double)(clock_mono_us() - a0) * 1000.0 / ITERS;

    printf("route: %.2f µs p50, %.2f µs p99, %.2f µs mean per decision (4 KB prompt, %d keyword "
           "rules, snapshot incl.; %.0f MB/s scan); sensitive short-circuit %.0f ns "
           "[check %llu]\n",
           t[ITERS / 2] / 1000.0, t[ITERS * 99 / 100] / 1000.0, (double)total_us / (ITERS + WARM),
           3, (double)n / (t[ITERS / 2] / 1000.0), sens_ns, (unsigned long long)checksum);
    free(t);
    health_free(h);
    route_config_free(rc);
    config_cleanup(&cfg);
    return 0;
}
