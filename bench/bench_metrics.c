/* SPDX-License-Identifier: MIT */
/* Cost of accounting one request: metrics_record(), accesslog_push() (request path) and the
 * writer thread's accesslog_format()+write (off the request path, but CPU on the same machine).
 * Prints ns per request and the share of a ~60 µs proxied request (http-stack.md: evhttp+curl
 * costs 55–70 µs of CPU per request), which must stay under 2%. Verifies the counts it made. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "metrics/accesslog.h"
#include "metrics/metrics.h"

#define N 2000000
#define PROXY_NS_PER_REQ 60000.0

static const char cfg_yaml[] =
    "backends:\n"
    "  - {name: gpu-a, kind: self_hosted, base_url: http://a/v1, models: [m]}\n"
    "  - {name: gpu-b, kind: self_hosted, base_url: http://b/v1, models: [m]}\n"
    "  - {name: openai, kind: hosted, base_url: https://c/v1, models: [m]}\n"
    "  - {name: groq, kind: hosted, base_url: https://d/v1, models: [m]}\n";
static const char *const rules[] = {"pii-local", "secrets-local", "burst", "cheap",
                                    "default",   "batch",         "eval",  "long-context"};

static void
fill(struct req_record *r, int i)
{
    static const char *const backends[] = {"gpu-a", "gpu-b", "openai", "groq"};
    memset(r, 0, sizeof(*r));
    r->ts_us = clock_wall_us();
    snprintf(r->request_id, sizeof(r->request_id), "01JF8Z%020d", i);
    strcpy(r->key_id, "k_3f9a1c");
    strcpy(r->team, "search");
    strcpy(r->rule, rules[i % 8]);
    strcpy(r->reason, "default");
    strcpy(r->backend, backends[i % 4]);
    strcpy(r->backend_kind, i % 4 < 2 ? "self_hosted" : "hosted");
    strcpy(r->model, "llama-3.1-8b-instruct");
    strcpy(r->requested_model, "fast");
    strcpy(r->endpoint, "chat");
    r->classes = i % 5 == 0 ? RECORD_CLASS_PII : 0;
    r->sensitive = i % 5 == 0;
    r->status = i % 50 == 0 ? 502 : 200;
    r->attempts = 1;
    r->input_tokens = 512;
    r->output_tokens = 128;
    r->ttft_us = 20000 + i % 1000;
    r->total_us = 400000 + i % 100000;
    r->scan_us = 40;
    r->cost_micro_usd = 150;
}

int
main(void)
{
    struct config cfg;
    struct hg_err err = {0};
    if (config_load_str(&cfg, "bench", cfg_yaml, sizeof(cfg_yaml) - 1, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct metrics_registry *reg = metrics_registry_new(&cfg, rules, 8);
    struct metrics_shard *sh = metrics_shard_new(reg);
    static struct req_record recs[1024];
    for (int i = 0; i < 1024; i++)
        fill(&recs[i], i);

    int64_t t0 = clock_mono_us();
    for (int i = 0; i < N; i++)
        metrics_record(sh, &recs[i & 1023]);
    int64_t t1 = clock_mono_us();
    double ns_record = (double)(t1 - t0) * 1000.0 / N;

    struct buf out;
    buf_init(&out, 1 << 24);
    if (metrics_stats_json(reg, clock_wall_us() + 1000000, &out) < 0 ||
        strstr(out.p, "\"requests_total\":2000000,") == NULL) {
        fprintf(stderr, "bench_metrics: wrong request count\n");
        return 1;
    }
    buf_reset(&out);
    t0 = clock_mono_us();
    int scrapes = 200;
    for (int i = 0; i < scrapes; i++) {
        buf_reset(&out);
        metrics_render_prometheus(reg, &out);
    }
    double us_scrape = (double)(clock_mono_us() - t0) / scrapes;
    size_t scrape_bytes = out.len;

    /* Writer-side cost: formatting alone. */
    t0 = clock_mono_us();
    int nf = N / 4;
    buf_reset(&out);
    for (int i = 0; i < nf; i++) {
        if (out.len > 60000)
            buf_reset(&out);
        accesslog_format(&recs[i & 1023], &out);
    }
    double ns_format = (double)(clock_mono_us() - t0) * 1000.0 / nf;

    /* Request-path cost of the access log, with the real writer thread writing to /dev/null.
     * Pushes are paced in bursts below the ring size so the ring does not overflow. */
    struct accesslog *al = accesslog_open("/dev/null", &err);
    if (al == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct accesslog_queue *q = accesslog_queue_new(al);
    int64_t push_us = 0;
    int np = 0;
    for (int burst = 0; burst < 400; burst++) {
        t0 = clock_mono_us();
        for (int i = 0; i < 512; i++)
            accesslog_push(q, &recs[(np + i) & 1023]);
        push_us += clock_mono_us() - t0;
        np += 512;
        accesslog_flush(al);
    }
    uint64_t lines = 0, dropped = 0;
    accesslog_stats(al, &lines, &dropped);
    accesslog_close(al);
    if (lines + dropped != (uint64_t)np) {
        fprintf(stderr, "bench_metrics: access log lost lines\n");
        return 1;
    }
    double ns_push = (double)push_us * 1000.0 / np;
    double path_ns = ns_record + ns_push;
    double cpu_ns = path_ns + ns_format;
    printf(
        "metrics: record %.0f ns, accesslog push %.0f ns (request path %.0f ns = %.2f%% of a "
        "%.0f µs request); + format %.0f ns off-path = %.2f%% CPU; scrape %.0f µs for %zu bytes; "
        "%llu dropped\n",
        ns_record, ns_push, path_ns, 100.0 * path_ns / PROXY_NS_PER_REQ, PROXY_NS_PER_REQ / 1000,
        ns_format, 100.0 * cpu_ns / PROXY_NS_PER_REQ, us_scrape, scrape_bytes,
        (unsigned long long)dropped);
    buf_cleanup(&out);
    metrics_registry_free(reg);
    config_cleanup(&cfg);
    return 0;
}
