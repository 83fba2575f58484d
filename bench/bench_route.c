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
#include "scan/scan.h"

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

static int cmp_i64(const void *a, const void *b);

/* What the api layer does per request: scanner result -> route_input (classes, and the type
 * names of the entities that cleared their threshold). */
static size_t
entity_names(const struct scan_result *r, struct str *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nentities && n < max; i++)
        if (r->entities[i].over)
            out[n++] = str_from(r->entities[i].type_name);
    return n;
}

/* p50 of `iters` runs of scan_text + route_decide (snapshot included) on text. */
static double
scan_route_p50(const struct scanner *sc, struct scan_scratch *ss, struct health *h,
               const struct route_config *rc, const char *text, size_t n, int want_reason,
               int64_t *t, int iters)
{
    static struct route_view view;
    static struct route_decision d;
    struct str part = {text, n};
    struct str ents[64];
    for (int i = 0; i < iters; i++) {
        struct timespec a, b;
        struct scan_result res;
        clock_gettime(CLOCK_MONOTONIC, &a);
        scan_text(sc, ss, text, n, &res);
        struct route_input in = {0};
        in.classes = res.classes;
        in.nentities = entity_names(&res, ents, 64);
        in.entities = ents;
        in.model = STR_LIT("llama");
        in.text = &part;
        in.ntext = 1;
        in.prompt_bytes = n;
        in.seed = (uint64_t)i;
        health_snapshot(h, rc, i, &view);
        int r = route_decide(&in, &view, &d);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (r != want_reason) {
            fprintf(stderr, "bench_route: scan+route gave %s\n", route_reason_name(d.reason));
            exit(1);
        }
        t[i] = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    }
    qsort(t, (size_t)iters, sizeof(*t), cmp_i64);
    return t[iters / 2] / 1000.0;
}

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

    double route_p50 = t[ITERS / 2] / 1000.0, route_p99 = t[ITERS * 99 / 100] / 1000.0;

    /* scan + route, as the request path runs them: the public 4 KB prompt (scanned, then every
     * keyword rule tried) and the same prompt with an e-mail address and a card number */
    struct scanner *sc = scan_new(NULL, &err);
    if (sc == NULL) {
        fprintf(stderr, "bench_route: %s\n", err.msg);
        return 1;
    }
    struct scan_scratch *ss = scan_scratch_new(sc);
    memcpy(text + n - 12, " thanks.    ", 12);
    double pub = scan_route_p50(sc, ss, h, rc, text, n, ROUTE_REASON_DEFAULT, t, ITERS / 4);
    static const char pii[] = " mail jane.doe@example.org card 4111 1111 1111 1111 ";
    memcpy(text + n / 2, pii, sizeof(pii) - 1);
    double sens = scan_route_p50(sc, ss, h, rc, text, n, ROUTE_REASON_SENSITIVE, t, ITERS / 4);
    scan_scratch_free(ss);
    scan_free(sc);

    printf("route: %.2f µs p50, %.2f µs p99, %.2f µs mean per decision (4 KB prompt, 37 "
           "keywords in 3 rules, snapshot incl.; sensitive short-circuit %.0f ns); scan+route "
           "p50: %.2f µs public, %.2f µs sensitive [check %llu]\n",
           route_p50, route_p99, (double)total_us / (ITERS + WARM), sens_ns, pub, sens,
           (unsigned long long)checksum);
    health_free(h);
    route_config_free(rc);
    config_cleanup(&cfg);
    return 0;
}
