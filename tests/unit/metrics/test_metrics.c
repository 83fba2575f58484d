/* SPDX-License-Identifier: MIT */
/* Tests src/metrics/metrics.c: every declared metric appears on /metrics, values match known
 * records, shards sum, no key leaks, the dashboard JSON, docs/metrics.md in sync, promtool. */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/alloc.h"
#include "core/json.h"

#include "../test.h"

#define CANARY_KEY "sk-canary-7f3b9c1d2e"

static const char test_yaml[] = "listen: 127.0.0.1:8080\n"
                                "backends:\n"
                                "  - name: local\n"
                                "    kind: self_hosted\n"
                                "    base_url: http://127.0.0.1:9001/v1\n"
                                "    models: [m]\n"
                                "  - name: cloud\n"
                                "    kind: hosted\n"
                                "    base_url: https://api.example.invalid/v1\n"
                                "    api_key_env: HG_TEST_METRICS_KEY\n"
                                "    models: [m]\n";

static int
load_cfg(struct config *cfg)
{
    struct hg_err err = {0};
    setenv("HG_TEST_METRICS_KEY", CANARY_KEY, 1);
    return config_load_str(cfg, "t.yaml", test_yaml, sizeof(test_yaml) - 1, &err);
}

static struct req_record
mkrec(const char *backend, const char *kind, const char *rule, int status, int64_t total_us)
{
    struct req_record r;
    memset(&r, 0, sizeof(r));
    r.ts_us = clock_wall_us() - total_us;
    snprintf(r.backend, sizeof(r.backend), "%s", backend);
    snprintf(r.backend_kind, sizeof(r.backend_kind), "%s", kind);
    snprintf(r.rule, sizeof(r.rule), "%s", rule);
    r.status = status;
    r.attempts = 1;
    r.total_us = total_us;
    return r;
}

/* Value of the sample line "name{labels} value" (exact match of the part before the value). */
static double
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, series, n) && p[n] == ' ')
            return atof(p + n + 1);
    }
    return -12345;
}

static const char *const rules[] = {"sensitive-local", "default"};

TEST(metrics, every_declared_metric_appears)
{
    struct config cfg;
    ASSERT_EQ(load_cfg(&cfg), 0);
    struct metrics_registry *reg = metrics_registry_new(&cfg, rules, 2);
    struct metrics_shard *sh = metrics_shard_new(reg);
    struct req_record r = mkrec("local", "self_hosted", "default", 200, 1000);
    metrics_record(sh, &r);
    struct buf out;
    buf_init(&out, 1 << 20);
    ASSERT_EQ(metrics_render_prometheus(reg, &out), 0);
    for (int i = 0; i < METRIC__COUNT; i++) {
        char want[256];
        snprintf(want, sizeof(want), "# TYPE %s %s\n", metric_descs[i].name,
                 metric_type_name(metric_descs[i].type));
        if (strstr(out.p, want) == NULL)
            TEST_FAIL_("missing %s", want);
        snprintf(want, sizeof(want), "\n%s%s", metric_descs[i].name,
                 metric_descs[i].type == METRIC_HISTOGRAM ? "_bucket{" : "");
        if (strstr(out.p, want) == NULL)
            TEST_FAIL_("no sample for %s", metric_descs[i].name);
        ASSERT_TRUE(!strncmp(metric_descs[i].name, "hybridgate_", 11));
    }
    buf_cleanup(&out);
    metrics_registry_free(reg);
    config_cleanup(&cfg);
}

TEST(metrics, values_match_known_traffic)
{
    struct config cfg;
    ASSERT_EQ(load_cfg(&cfg), 0);
    struct metrics_registry *reg = metrics_registry_new(&cfg, rules, 2);
    struct metrics_shard *a = metrics_shard_new(reg);
    struct metrics_shard *b = metrics_shard_new(reg);
    for (int i = 0; i < 3; i++) {
        struct req_record r = mkrec("local", "self_hosted", "sensitive-local", 200, 20000);
        r.sensitive = true;
        r.classes = RECORD_CLASS_PII | RECORD_CLASS_SECRET;
        r.input_tokens = 10;
        r.output_tokens = 5;
        r.ttft_us = 7000;
        r.scan_us = 30;
        r.cost_micro_usd = 100;
        metrics_record(i == 1 ? b : a, &r);
    }
    struct req_record h = mkrec("cloud", "hosted", "default", 502, 3000000);
    h.cost_micro_usd = 1234567;
    metrics_record(b, &h);
    struct req_record x = mkrec("", "", "", 400, 100);
    metrics_record(a, &x);
    struct req_record y = mkrec("local", "self_hosted", "no-such-rule", 200, 100);
    metrics_record(a, &y);
    metrics_set_backend_load(reg, 0, 1, 0);
    metrics_set_backend_load(reg, 1, 0, 2);
    metrics_retry(a, 1);
    metrics_failover(b, 1);
    metrics_invariant_rejected(a);
    metrics_model_drift(b, 1);
    metrics_set_circuit_state(reg, 1, METRICS_CIRCUIT_OPEN);
    metrics_set_backend_up(reg, 1, false);

    struct buf out;
    buf_init(&out, 1 << 20);
    ASSERT_EQ(metrics_render_prometheus(reg, &out), 0);
    const char *t = out.p;
#define L "backend=\"local\",kind=\"self_hosted\""
#define C "backend=\"cloud\",kind=\"hosted\""
    ASSERT_EQ(
        sample(t, "hybridgate_requests_total{" L ",rule=\"sensitive-local\",status_class=\"2xx\"}"),
        3);
    ASSERT_EQ(sample(t, "hybridgate_requests_total{" L ",rule=\"other\",status_class=\"2xx\"}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_requests_total{" C ",rule=\"default\",status_class=\"5xx\"}"),
              1);
    ASSERT_EQ(sample(t, "hybridgate_requests_total{backend=\"none\",kind=\"none\",rule=\"none\","
                        "status_class=\"4xx\"}"),
              1);
    ASSERT_EQ(sample(t, "hybridgate_requests_total{" L ",rule=\"default\",status_class=\"2xx\"}"),
              -12345);
    ASSERT_EQ(sample(t, "hybridgate_input_tokens_total{" L "}"), 30);
    ASSERT_EQ(sample(t, "hybridgate_output_tokens_total{" L "}"), 15);
    ASSERT_NEAR(sample(t, "hybridgate_cost_usd_total{" L "}"), 0.0003, 1e-9);
    ASSERT_TRUE(strstr(t, "hybridgate_cost_usd_total{" C "} 1.234567\n") != NULL);
    ASSERT_EQ(sample(t, "hybridgate_request_duration_seconds_count{" L "}"), 4);
    ASSERT_NEAR(sample(t, "hybridgate_request_duration_seconds_sum{" L "}"), 0.0601, 1e-9);
    ASSERT_EQ(sample(t, "hybridgate_request_duration_seconds_bucket{" L ",le=\"0.01\"}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_request_duration_seconds_bucket{" L ",le=\"0.025\"}"), 4);
    ASSERT_EQ(sample(t, "hybridgate_request_duration_seconds_bucket{" L ",le=\"+Inf\"}"), 4);
    ASSERT_EQ(sample(t, "hybridgate_request_duration_seconds_bucket{" C ",le=\"2.5\"}"), 0);
    ASSERT_EQ(sample(t, "hybridgate_request_duration_seconds_bucket{" C ",le=\"5\"}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_time_to_first_token_seconds_count{" L "}"), 3);
    ASSERT_EQ(sample(t, "hybridgate_time_to_first_token_seconds_bucket{" L ",le=\"0.005\"}"), 0);
    ASSERT_EQ(sample(t, "hybridgate_time_to_first_token_seconds_bucket{" L ",le=\"0.01\"}"), 3);
    ASSERT_EQ(sample(t, "hybridgate_scan_duration_seconds_count"), 3);
    ASSERT_EQ(sample(t, "hybridgate_scan_duration_seconds_bucket{le=\"0.00005\"}"), 3);
    ASSERT_EQ(sample(t, "hybridgate_sensitive_requests_total{" L "}"), 3);
    ASSERT_EQ(sample(t, "hybridgate_sensitive_kept_local_total"), 3);
    ASSERT_EQ(sample(t, "hybridgate_class_requests_total{" L ",class=\"pii\"}"), 3);
    ASSERT_EQ(sample(t, "hybridgate_class_requests_total{" L ",class=\"secret\"}"), 3);
    ASSERT_EQ(sample(t, "hybridgate_class_requests_total{" L ",class=\"phi\"}"), 0);
    ASSERT_EQ(sample(t, "hybridgate_in_flight_requests{" L "}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_queued_requests{" C "}"), 2);
    ASSERT_EQ(sample(t, "hybridgate_retries_total{" C "}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_failovers_total{" C "}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_invariant_rejections_total"), 1);
    ASSERT_EQ(sample(t, "hybridgate_model_drift_events_total{" C "}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_circuit_breaker_state{" C "}"), 2);
    ASSERT_EQ(sample(t, "hybridgate_backend_up{" C "}"), 0);
    ASSERT_EQ(sample(t, "hybridgate_backend_up{" L "}"), 1);
    ASSERT_EQ(sample(t, "hybridgate_build_info{version=\""
                        "0.1.0"
                        "\"}"),
              1);
    ASSERT_TRUE(strstr(t, CANARY_KEY) == NULL);
    ASSERT_TRUE(strstr(t, "example.invalid") == NULL);

    /* The dashboard JSON agrees with the same counters. */
    struct buf js;
    buf_init(&js, 1 << 20);
    ASSERT_EQ(metrics_stats_json(reg, clock_wall_us() + 1000000, &js), 0);
    ASSERT_TRUE(strstr(js.p, CANARY_KEY) == NULL);
    ASSERT_TRUE(strstr(js.p, "example.invalid") == NULL);
    cJSON *j = json_parse(js.p, js.len);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ(json_get_num(j, "requests_total", -1), 6);
    ASSERT_EQ(json_get_num(j, "self_hosted_total", -1), 4);
    ASSERT_EQ(json_get_num(j, "hosted_total", -1), 1);
    ASSERT_EQ(json_get_num(j, "no_backend_total", -1), 1);
    ASSERT_EQ(json_get_num(j, "sensitive_kept_local_total", -1), 3);
    ASSERT_EQ(json_get_num(j, "invariant_rejections_total", -1), 1);
    ASSERT_NEAR(json_get_num(j, "cost_today_usd", -1), 1.234867, 1e-9);
    ASSERT_NEAR(json_get_num(j, "rps", -1), 0.6, 1e-9);
    ASSERT_NEAR(json_get_num(j, "self_hosted_share", -1), 0.8, 1e-4);
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(j, "backends");
    ASSERT_EQ(cJSON_GetArraySize(bs), 2);
    const cJSON *b0 = cJSON_GetArrayItem(bs, 0);
    const cJSON *b1 = cJSON_GetArrayItem(bs, 1);
    ASSERT_STR(json_get_str(b0, "name"), "local");
    ASSERT_EQ(json_get_num(b0, "requests", -1), 4);
    ASSERT_NEAR(json_get_num(b0, "latency_avg_ms", -1), 15.025, 1e-6);
    ASSERT_NEAR(json_get_num(b0, "ttft_avg_ms", -1), 7.0, 1e-6);
    ASSERT_TRUE(json_get_bool(b0, "healthy", false));
    ASSERT_STR(json_get_str(b1, "circuit"), "open");
    ASSERT_FALSE(json_get_bool(b1, "healthy", true));
    ASSERT_EQ(json_get_num(b1, "errors", -1), 1);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rules");
    ASSERT_EQ(cJSON_GetArraySize(rs), 4); /* sensitive-local, default, none, other */
    ASSERT_STR(json_get_str(cJSON_GetArrayItem(rs, 0), "name"), "sensitive-local");
    ASSERT_EQ(json_get_num(cJSON_GetArrayItem(rs, 0), "requests", -1), 3);
    ASSERT_EQ(json_get_num(cJSON_GetArrayItem(rs, 1), "hosted", -1), 1);
    ASSERT_EQ(json_get_num(cJSON_GetArrayItem(rs, 1), "errors", -1), 1);
    ASSERT_STR(json_get_str(cJSON_GetArrayItem(rs, 3), "name"), "other");
    cJSON_Delete(j);
    buf_cleanup(&js);

    /* promtool, when installed, must accept the exposition (no lint problems either). */
    if (access("/usr/bin/promtool", X_OK) == 0) {
        char path[] = "/tmp/hg-metrics-XXXXXX";
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, out.p, out.len), (long long)out.len);
        close(fd);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.out 2>&1", path, path);
        int rc = system(cmd);
        if (rc != 0) {
            snprintf(cmd, sizeof(cmd), "cat %s.out >&2", path);
            (void)!system(cmd);
        }
        snprintf(cmd, sizeof(cmd), "%s.out", path);
        unlink(cmd);
        unlink(path);
        ASSERT_EQ(rc, 0);
    }
    buf_cleanup(&out);
    metrics_registry_free(reg);
    config_cleanup(&cfg);
}

TEST(metrics, cap_is_reported)
{
    struct config cfg;
    ASSERT_EQ(load_cfg(&cfg), 0);
    struct metrics_registry *reg = metrics_registry_new(&cfg, NULL, 0);
    struct buf out;
    buf_init(&out, 100);
    ASSERT_EQ(metrics_render_prometheus(reg, &out), -1);
    ASSERT_EQ(out.len, 0);
    buf_cleanup(&out);
    metrics_registry_free(reg);
    config_cleanup(&cfg);
}

TEST(metrics, cost_baseline_and_projection)
{
    struct config cfg;
    ASSERT_EQ(load_cfg(&cfg), 0);
    struct metrics_registry *reg = metrics_registry_new(&cfg, NULL, 0);
    /* 2026-12-16T00:00:00Z: 15 days of December elapsed, 31 in the month. */
    int64_t now = (int64_t)1797379200 * 1000000;
    metrics_set_cost_baseline(reg, 2000000, 15000000, now);
    struct buf js;
    buf_init(&js, 1 << 20);
    ASSERT_EQ(metrics_stats_json(reg, now, &js), 0);
    cJSON *j = json_parse(js.p, js.len);
    ASSERT_TRUE(j != NULL);
    ASSERT_NEAR(json_get_num(j, "cost_today_usd", -1), 2.0, 1e-9);
    ASSERT_NEAR(json_get_num(j, "cost_month_usd", -1), 15.0, 1e-9);
    ASSERT_NEAR(json_get_num(j, "cost_month_projection_usd", -1), 31.0, 1e-9);
    cJSON_Delete(j);
    buf_cleanup(&js);
    metrics_registry_free(reg);
    config_cleanup(&cfg);
}

/* docs/metrics.md is generated from the table; HG_UPDATE_DOCS=1 rewrites it (scripts/gen.sh). */
TEST(metrics, docs_in_sync)
{
    struct buf md;
    buf_init(&md, 1 << 20);
    ASSERT_EQ(metrics_doc_markdown(&md), 0);
    for (int i = 0; i < METRIC__COUNT; i++)
        ASSERT_TRUE(strstr(md.p, metric_descs[i].name) != NULL);
    const char *path = "docs/metrics.md";
    if (getenv("HG_UPDATE_DOCS")) {
        FILE *f = fopen(path, "w");
        ASSERT_TRUE(f != NULL);
        fwrite(md.p, 1, md.len, f);
        fclose(f);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        buf_cleanup(&md);
        return; /* not run from the repository root */
    }
    char *file = xcalloc(md.len + 2, 1);
    size_t n = fread(file, 1, md.len + 1, f);
    fclose(f);
    if (n != md.len || memcmp(file, md.p, md.len) != 0)
        fprintf(stderr,
                "  docs/metrics.md is stale: run HG_UPDATE_DOCS=1 build/unit_tests metrics\n");
    ASSERT_EQ(n, md.len);
    ASSERT_TRUE(memcmp(file, md.p, md.len) == 0);
    free(file);
    buf_cleanup(&md);
}

struct recorder {
    struct metrics_shard *sh;
    int n;
};

static void *
record_many(void *arg)
{
    struct recorder *r = arg;
    struct req_record rec = mkrec("local", "self_hosted", "default", 200, 1500);
    rec.input_tokens = 2;
    for (int i = 0; i < r->n; i++)
        metrics_record(r->sh, &rec);
    return NULL;
}

/* Workers record while a scrape reads: totals are exact at the end and each scrape sees a
 * non-decreasing count (run under -fsanitize=thread to check for data races). */
TEST(metrics, concurrent_record_and_scrape)
{
    struct config cfg;
    ASSERT_EQ(load_cfg(&cfg), 0);
    struct metrics_registry *reg = metrics_registry_new(&cfg, rules, 2);
    enum { NTHREADS = 2, PER = 200000 };
    pthread_t th[NTHREADS];
    struct recorder rs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        rs[i].sh = metrics_shard_new(reg);
        rs[i].n = PER;
        ASSERT_EQ(pthread_create(&th[i], NULL, record_many, &rs[i]), 0);
    }
    double last = 0;
    struct buf out;
    buf_init(&out, 1 << 20);
    const char *series = "hybridgate_requests_total{backend=\"local\",kind=\"self_hosted\","
                         "rule=\"default\",status_class=\"2xx\"}";
    for (int k = 0; k < 30; k++) {
        buf_reset(&out);
        ASSERT_EQ(metrics_render_prometheus(reg, &out), 0);
        double v = sample(out.p ? out.p : "", series);
        if (v == -12345)
            v = 0;
        ASSERT_TRUE(v >= last);
        last = v;
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    buf_reset(&out);
    ASSERT_EQ(metrics_render_prometheus(reg, &out), 0);
    ASSERT_EQ(sample(out.p, series), NTHREADS * PER);
    ASSERT_EQ(sample(out.p, "hybridgate_input_tokens_total{" L "}"), 2 * NTHREADS * PER);
    buf_cleanup(&out);
    metrics_registry_free(reg);
    config_cleanup(&cfg);
}
