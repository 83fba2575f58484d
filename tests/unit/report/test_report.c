/* SPDX-License-Identifier: MIT */
/* Tests of src/report/report.c through its public API: dates, and the headline over rows written
 * to a real SQLite store (monthly scaling of the window, burstiness, what-if prices). */
#include "report/report.h"

#include <unistd.h>

#include "../test.h"
#include "core/json.h"

TEST(report, parse_date)
{
    int64_t us;
    ASSERT_EQ(report_parse_date("2026-12-04", &us), 0);
    ASSERT_EQ(us, 1796342400LL * 1000000);
    ASSERT_EQ(report_parse_date("2026-12-04T01:02:03Z", &us), 0);
    ASSERT_EQ(us, (1796342400LL + 3723) * 1000000);
    ASSERT_EQ(report_parse_date("2026-12-04T01:02", &us), 0);
    ASSERT_EQ(us, (1796342400LL + 3720) * 1000000);
    ASSERT_EQ(report_parse_date("2026-13-01", &us), -1);
    ASSERT_EQ(report_parse_date("yesterday", &us), -1);
    ASSERT_EQ(report_parse_date("2026-12-04x", &us), -1);
}

static void
put_rows(struct store *s, int64_t ts, int n, int64_t in)
{
    for (int i = 0; i < n; i++) {
        struct req_record r;
        memset(&r, 0, sizeof(r));
        r.ts_us = ts + i;
        snprintf(r.backend, sizeof(r.backend), "cloud");
        snprintf(r.backend_kind, sizeof(r.backend_kind), "hosted");
        snprintf(r.model, sizeof(r.model), "gpt-4.1");
        snprintf(r.rule, sizeof(r.rule), "default");
        r.status = 200;
        r.input_tokens = in;
        r.cost_micro_usd = in * 2; /* 2 USD per million */
        store_put(s, &r);
    }
}

TEST(report, headline_scales_window_and_measures_bursts)
{
    char path[128];
    char yaml[1024];
    snprintf(path, sizeof(path), "/tmp/hg_test_report_%d.db", (int)getpid());
    unlink(path);
    snprintf(yaml, sizeof(yaml),
             "backends:\n"
             "  - {name: cloud, kind: hosted, base_url: 'https://x/v1', models: [gpt-4.1]}\n"
             "store: {path: %s}\n"
             "prices:\n"
             "  models:\n"
             "    gpt-4.1: {input: 2, output: 8}\n"
             "economics:\n"
             "  frontier: {model: gpt-4.1}\n",
             path);
    struct config cfg;
    struct hg_err e = {0};
    if (config_load_str(&cfg, "t.yaml", yaml, strlen(yaml), &e) < 0)
        TEST_FAIL_("%s", e.msg);
    struct store *s = store_open(cfg_get(cfg.doc.root, "store"), &e);
    ASSERT_TRUE(s != NULL);
    int64_t d0;
    ASSERT_EQ(report_parse_date("2026-11-01", &d0), 0);
    const int64_t hour = 3600LL * 1000000;
    put_rows(s, d0, 10, 1000);             /* hour 0 of day 1: 10k tokens */
    put_rows(s, d0 + 30 * hour, 30, 1000); /* hour 30 (day 2): 30k tokens */
    put_rows(s, d0 + 60 * hour, 5, 1000);  /* outside the window */
    store_flush(s);
    struct buf out;
    buf_init(&out, 1 << 20);
    ASSERT_EQ(report_headline_json(&cfg, s, d0, d0 + 48 * hour, &out, &e), 0);
    cJSON *j = json_parse(out.p, out.len);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ(json_get_num(j, "window_hours", 0), 48);
    ASSERT_EQ(json_get_num(j, "requests", 0), 40);
    ASSERT_EQ(json_get_num(j, "input_tokens", 0), 40000);
    /* peak hour 30k over a mean hour of 40k/48; busiest day 30k over a mean day of 20k */
    ASSERT_NEAR(json_get_num(j, "peak_hour_over_mean", 0), 36.0, 1e-3);
    ASSERT_NEAR(json_get_num(j, "busiest_day_over_mean", 0), 1.5, 1e-3);
    ASSERT_NEAR(json_get_num(j, "spend_usd", 0), 0.08, 1e-9);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "monthly");
    /* 0.08 USD in 48 hours is 0.08 x 730 / 48 = 1.2167 USD in a 730-hour month */
    ASSERT_NEAR(json_get_num(m, "frontier_usd", 0), 1.22, 1e-9);
    ASSERT_NEAR(json_get_num(m, "hybrid_usd", 0), 1.22, 1e-9);
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "hosted_open_usd")));
    ASSERT_STR(json_get_str(j, "recommendation"), "frontier");
    cJSON_Delete(j);
    buf_cleanup(&out);
    store_close(s);
    config_cleanup(&cfg);
    unlink(path);
}

struct econ_case {
    const char *economics; /* appended after the base config (8 lines) */
    int line;              /* expected line in the message */
    const char *words;     /* expected substring */
};

TEST(report, economics_errors_name_file_and_line)
{
    static const struct econ_case cases[] = {
        {"economics:\n  frontier: {model: gpt-4.1, monthly_usd: 5}\n", 10, "--plan"},
        {"economics:\n  frontier: {model: nope}\n", 10, "has no price"},
        {"economics:\n  hosted_open: {model: x, input: 1}\n", 10, "both input and output"},
        {"economics:\n  self_hosted: {backend: cloud}\n", 10, "prices.pools"},
        {"economics:\n  bursty_peak_to_mean: 0.5\n", 10, "bursty_peak_to_mean"},
        {"economics:\n  regulated_rules: phi\n", 10, "list"},
        {"economics:\n  frontier: {model: gpt-4.1}\n  colour: red\n", 11, "colour"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 "backends:\n"
                 "  - {name: cloud, kind: hosted, base_url: 'https://x/v1', models: [gpt-4.1]}\n"
                 "store: off\n"
                 "prices:\n"
                 "  models:\n"
                 "    gpt-4.1: {input: 2, output: 8}\n"
                 "log_level: warn\n"
                 "workers: 1\n"
                 "%s",
                 cases[i].economics);
        struct config cfg;
        struct hg_err e = {0};
        if (config_load_str(&cfg, "t.yaml", yaml, strlen(yaml), &e) < 0)
            TEST_FAIL_("case %zu: config: %s", i, e.msg);
        struct buf out;
        buf_init(&out, 1 << 16);
        int rc = report_headline_json(&cfg, NULL, 0, 1, &out, &e);
        buf_cleanup(&out);
        config_cleanup(&cfg);
        char want[32];
        snprintf(want, sizeof(want), "t.yaml:%d:", cases[i].line);
        if (rc != -1 || strstr(e.msg, want) == NULL || strstr(e.msg, cases[i].words) == NULL)
            TEST_FAIL_("case %zu: want '%s' and '%s' in: %s", i, want, cases[i].words, e.msg);
    }
}
