/* SPDX-License-Identifier: MIT */
/* Tests of src/meter/meter.c: the price table, the all-in pool arithmetic on the worked
 * example, amortized self-hosted cost, and file:line errors for bad prices. */
#include "meter/meter.h"

#include "../test.h"

static const char base_cfg[] = "backends:\n"
                               "  - name: local\n"
                               "    kind: self_hosted\n"
                               "    base_url: http://127.0.0.1:1/v1\n"
                               "    models: [llama-3-70b]\n"
                               "  - name: openai\n"
                               "    kind: hosted\n"
                               "    base_url: https://api.openai.com/v1\n"
                               "    models: [gpt-4.1, gpt-4.1-mini]\n";

static struct meter *
load(const char *prices, struct config *cfg, struct hg_err *e)
{
    char y[4096];
    snprintf(y, sizeof(y), "%s%s", base_cfg, prices);
    if (config_load_str(cfg, "t.yaml", y, strlen(y), e) < 0)
        return NULL;
    struct meter *m = meter_new(cfg, e);
    if (m == NULL)
        config_cleanup(cfg);
    return m;
}

TEST(meter, hosted_prices)
{
    struct config cfg;
    struct hg_err e = {0};
    struct meter *m = load("prices:\n"
                           "  models:\n"
                           "    gpt-4.1: {input: 2.00, output: 8.00}\n"
                           "    openai/gpt-4.1-mini: {input: 0.40, output: 1.60}\n",
                           &cfg, &e);
    if (m == NULL)
        TEST_FAIL_("%s", e.msg);
    /* 1000 in x 2 USD/M + 500 out x 8 USD/M = 0.002 + 0.004 = 0.006 USD */
    ASSERT_EQ(meter_cost_micro_usd(m, "openai", "gpt-4.1", 1000, 500), 6000);
    ASSERT_EQ(meter_cost_micro_usd(m, "openai", "gpt-4.1-mini", 1000000, 1000000), 2000000);
    /* backend-qualified key only matches that backend */
    ASSERT_EQ(meter_cost_micro_usd(m, "other", "gpt-4.1-mini", 1000, 1000), 0);
    ASSERT_FALSE(meter_is_priced(m, "other", "gpt-4.1-mini"));
    ASSERT_TRUE(meter_is_priced(m, "x", "gpt-4.1"));
    /* rounding to the nearest micro-dollar: 1 token at 2 USD/M = 2 micro */
    ASSERT_EQ(meter_cost_micro_usd(m, "openai", "gpt-4.1", 1, 0), 2);
    meter_free(m);
    config_cleanup(&cfg);
}

TEST(meter, pool_worked_example)
{
    /* the self-hosted plan: replicas of USD 6k/month, 2 engineers at 300k, one
     * engineer-quarter of upgrades per half year */
    struct config cfg;
    struct hg_err e = {0};
    struct meter *m = load("prices:\n"
                           "  pools:\n"
                           "    local:\n"
                           "      gpu: H100\n"
                           "      replica_monthly_usd: 6000\n"
                           "      replica_tokens_per_second: 12000\n"
                           "      min_replicas: 2\n"
                           "      target_utilization: 0.6\n"
                           "      engineers: 2\n"
                           "      engineer_yearly_usd: 300000\n"
                           "      upgrade_engineer_quarters_per_half_year: 1\n"
                           "      build_months: 6\n",
                           &cfg, &e);
    if (m == NULL)
        TEST_FAIL_("%s", e.msg);
    const struct meter_pool *p = meter_pool_find(m, "local");
    ASSERT_TRUE(p != NULL);
    ASSERT_EQ(p->replicas, 2);
    ASSERT_EQ(p->min_replicas, 2);
    ASSERT_EQ(meter_pool_gpu_monthly(p, 2), 12000 * METER_MICRO);
    ASSERT_EQ(meter_pool_people_monthly(p), 50000 * METER_MICRO);
    ASSERT_EQ(meter_pool_upgrade_monthly(p), 12500 * METER_MICRO);
    ASSERT_EQ(meter_pool_monthly(p, 2), 74500 * METER_MICRO);
    ASSERT_EQ(meter_pool_build_once(p), 300000 * METER_MICRO);
    /* 30M x 920 tokens a month, peak 1.3x: 13,653 tok/s over 7,200 per replica = 2 replicas */
    double peak = 30e6 * 920 / METER_SECONDS_PER_MONTH * 1.3;
    ASSERT_EQ(meter_pool_replicas_for(p, peak), 2);
    ASSERT_EQ(meter_pool_replicas_for(p, 1), 2);            /* never below min_replicas */
    ASSERT_EQ(meter_pool_replicas_for(p, 7200 * 3), 3);     /* exactly full */
    ASSERT_EQ(meter_pool_replicas_for(p, 7200 * 3 + 1), 4); /* whole replicas */
    /* amortized: 74,500 USD over 2 x 12000 x 0.6 x 2,628,000 s = 37.84 G tokens = 1.96865 USD/M */
    ASSERT_EQ(meter_pool_per_mtok(p), 1968650);
    ASSERT_EQ(meter_cost_micro_usd(m, "local", "llama-3-70b", 900, 100), 1969);
    meter_free(m);
    config_cleanup(&cfg);
}

TEST(meter, gpu_hours)
{
    struct config cfg;
    struct hg_err e = {0};
    struct meter *m = load("prices:\n"
                           "  pools:\n"
                           "    local: {gpu_hour_usd: 2.5, gpus_per_replica: 4, replicas: 3,\n"
                           "            min_replicas: 2, replica_tokens_per_second: 5000}\n",
                           &cfg, &e);
    if (m == NULL)
        TEST_FAIL_("%s", e.msg);
    const struct meter_pool *p = meter_pool_find(m, "local");
    ASSERT_EQ(meter_pool_gpu_monthly(p, 1), 7300 * METER_MICRO); /* 2.5 x 4 x 730 h */
    ASSERT_EQ(p->replicas, 3);
    ASSERT_EQ(p->min_replicas, 2);
    ASSERT_NEAR(p->target_utilization, 0.6, 1e-12);
    ASSERT_EQ(meter_pool_people_monthly(p), 0);
    meter_free(m);
    config_cleanup(&cfg);
}

struct bad_case {
    const char *prices; /* appended after base_cfg (9 lines) */
    int line;           /* expected line in the message */
    const char *words;  /* expected substring */
};

TEST(meter, errors_name_file_and_line)
{
    static const struct bad_case cases[] = {
        {"prices:\n  models:\n    gpt-4.1: {input: 2}\n", 12, "needs both"},
        {"prices:\n  models:\n    gpt-4.1: {input: -2, output: 1}\n", 12, "between"},
        {"prices:\n  models:\n    gpt-4.1: {input: 2, output: 1, cached: 1}\n", 12, "cached"},
        {"prices:\n  pools:\n    nope: {replica_monthly_usd: 1}\n", 12, "no backend named"},
        {"prices:\n  pools:\n    openai: {replica_monthly_usd: 1}\n", 12, "is hosted"},
        {"prices:\n  pools:\n    local: {replica_monthly_usd: 1}\n", 12,
         "replica_tokens_per_second"},
        {"prices:\n  pools:\n    local:\n      replica_tokens_per_second: 10\n"
         "      gpu_hour_usd: 2\n",
         14, "gpus_per_replica"},
        {"prices:\n  pools:\n    local:\n      replica_tokens_per_second: 10\n"
         "      replica_monthly_usd: 10\n      target_utilization: 1.5\n",
         15, "target_utilization"},
        {"prices:\n  pools:\n    local:\n      replica_tokens_per_second: 10\n"
         "      replica_monthly_usd: 10\n      engineers: 2\n",
         15, "engineer_yearly_usd"},
        {"prices:\n  currency: EUR\n", 11, "currency"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config cfg;
        struct hg_err e = {0};
        struct meter *m = load(cases[i].prices, &cfg, &e);
        if (m != NULL)
            TEST_FAIL_("case %zu accepted", i);
        char want[32];
        snprintf(want, sizeof(want), "t.yaml:%d:", cases[i].line);
        if (strstr(e.msg, want) == NULL || strstr(e.msg, cases[i].words) == NULL)
            TEST_FAIL_("case %zu: want '%s' and '%s' in: %s", i, want, cases[i].words, e.msg);
    }
}

TEST(meter, no_prices_costs_nothing)
{
    struct config cfg;
    struct hg_err e = {0};
    struct meter *m = load("", &cfg, &e);
    ASSERT_TRUE(m != NULL);
    ASSERT_EQ(meter_cost_micro_usd(m, "openai", "gpt-4.1", 1000, 1000), 0);
    meter_free(m);
    config_cleanup(&cfg);
}

TEST(meter, money_saturates_instead_of_overflowing)
{
    ASSERT_EQ(meter_add(METER_MONEY_MAX, 5), METER_MONEY_MAX);
    ASSERT_EQ(meter_mul(METER_MONEY_MAX / 2, 1000000), METER_MONEY_MAX);
    ASSERT_EQ(meter_mul(-3, 4), -12);
    ASSERT_EQ(meter_sat(1e30), METER_MONEY_MAX);
    ASSERT_EQ(meter_sat(-1e30), -METER_MONEY_MAX);
    ASSERT_EQ(meter_sat(0.0 / 0.0), 0);
    ASSERT_EQ(meter_sat(2.5), 3);
    struct meter_price pr = {METER_MONEY_MAX, METER_MONEY_MAX};
    ASSERT_EQ(meter_price_cost(&pr, INT64_MAX, INT64_MAX), METER_MONEY_MAX);
}
