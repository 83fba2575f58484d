/* SPDX-License-Identifier: MIT */
/* Tests of src/report/tco.c: the worked example's arithmetic, each decision rule, and break-even
 * volumes (found, already below today, none and which cost dominates). */
#include "report/tco.h"

#include "../test.h"

/* The self-hosted plan. */
static void
example_pool(struct meter_pool *p)
{
    memset(p, 0, sizeof(*p));
    p->replica_monthly_micro = 6000 * METER_MICRO;
    p->replica_tokens_per_second = 12000;
    p->replicas = 2;
    p->min_replicas = 2;
    p->target_utilization = 0.6;
    p->engineers = 2;
    p->engineer_yearly_micro = 300000 * METER_MICRO;
    p->upgrade_eq_per_half_year = 1;
    p->build_months = 6;
}

/* 30M requests of 900 in + 20 out, peak 1.3x; frontier 80k, hosted-open 9k a month. */
static void
example_workload(struct tco_workload *w)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->name, sizeof(w->name), "document-classification");
    w->requests = 30e6;
    w->input_tokens = 30e6 * 900;
    w->output_tokens = 30e6 * 20;
    w->peak_to_mean = 1.3;
    w->frontier_monthly = 80000 * METER_MICRO;
    w->open_monthly = 9000 * METER_MICRO;
}

TEST(tco, worked_example)
{
    struct meter_pool p;
    struct tco_workload w;
    struct tco_rules rules;
    struct tco_result r;
    example_pool(&p);
    example_workload(&w);
    tco_rules_init(&rules);
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.replicas, 2);
    ASSERT_EQ(r.self_gpu, 12000 * METER_MICRO);
    ASSERT_EQ(r.self_people, 50000 * METER_MICRO);
    ASSERT_EQ(r.self_upgrade, 12500 * METER_MICRO);
    ASSERT_EQ(r.self_total, 74500 * METER_MICRO); /* "about USD 70k", within 10% */
    ASSERT_EQ(r.self_build_once, 300000 * METER_MICRO);
    ASSERT_STR(r.self_dominant, "engineers");
    ASSERT_EQ(r.choice, TCO_HOSTED_OPEN);
    ASSERT_TRUE(strstr(r.reason, "try hosted-open") != NULL);
    /* vs frontier: 74.5k / (80k / 30M) = 27.94M requests, inside the 2-replica range */
    ASSERT_EQ(r.be_frontier.kind, TCO_BE_AT);
    ASSERT_NEAR(r.be_frontier.requests, 27937500, 1);
    ASSERT_EQ(r.be_frontier.replicas, 2);
    /* vs hosted-open: a replica (6k) serves volume worth 4,746 USD there: never */
    ASSERT_EQ(r.be_open.kind, TCO_BE_NONE);
    ASSERT_TRUE(strstr(r.be_open.why, "GPUs alone outprice") != NULL);
    ASSERT_TRUE(strstr(r.be_open.why, "engineers dominate") != NULL);
}

TEST(tco, regulated_stays_self_hosted)
{
    struct meter_pool p;
    struct tco_workload w;
    struct tco_rules rules;
    struct tco_result r;
    example_pool(&p);
    example_workload(&w);
    w.regulated = true;
    w.frontier_monthly = 100 * METER_MICRO; /* cost does not matter */
    tco_rules_init(&rules);
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.choice, TCO_SELF_HOSTED);
    ASSERT_TRUE(strstr(r.reason, "regardless of cost") != NULL);
}

TEST(tco, small_spend_does_not_pay)
{
    struct meter_pool p;
    struct tco_workload w;
    struct tco_rules rules;
    struct tco_result r;
    example_pool(&p);
    example_workload(&w);
    w.frontier_monthly = 20000 * METER_MICRO;
    w.open_monthly = -1; /* no hosted-open option: stay on the frontier model */
    tco_rules_init(&rules);
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.choice, TCO_FRONTIER);
    ASSERT_TRUE(strstr(r.reason, "below USD 40,000") != NULL);
    ASSERT_EQ(r.be_open.kind, TCO_BE_NO_OPTION);
}

TEST(tco, bursty_favours_per_token)
{
    struct meter_pool p;
    struct tco_workload w;
    struct tco_rules rules;
    struct tco_result r;
    example_pool(&p);
    example_workload(&w);
    w.frontier_monthly = 1000000 * METER_MICRO;
    w.peak_to_mean = 8;
    tco_rules_init(&rules);
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.choice, TCO_HOSTED_OPEN);
    ASSERT_TRUE(strstr(r.reason, "bursty") != NULL);
    /* the peak sizes the GPUs: 8x of 10,502 tok/s over 7,200 per replica = 12 replicas */
    ASSERT_EQ(r.replicas, 12);
}

TEST(tco, self_host_under_share)
{
    struct meter_pool p;
    struct tco_workload w;
    struct tco_rules rules;
    struct tco_result r;
    example_pool(&p);
    example_workload(&w);
    w.frontier_monthly = 400000 * METER_MICRO; /* 74.5k is 19% of it */
    w.open_monthly = 120000 * METER_MICRO;
    tco_rules_init(&rules);
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.choice, TCO_SELF_HOSTED);
    ASSERT_TRUE(strstr(r.reason, "19%") != NULL);
    /* hosted-open at 120k: break-even 74.5k/120k = 0.62x today */
    ASSERT_EQ(r.be_open.kind, TCO_BE_AT);
    ASSERT_NEAR(r.be_open.factor, 74500.0 / 120000.0, 1e-9);
    /* over the share but under hosted-open is still hosted-open first */
    w.frontier_monthly = 200000 * METER_MICRO;
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.choice, TCO_HOSTED_OPEN);
}

TEST(tco, breakeven_crosses_replica_steps)
{
    /* no people, 1k per replica, 1 replica per 1M requests (1000 tok/s x 1.0 over 730 h),
     * hosted 2k per 1M requests today: self is cheaper from the first replica on, at 0.5M */
    struct meter_pool p;
    memset(&p, 0, sizeof(p));
    p.replica_monthly_micro = 1000 * METER_MICRO;
    p.replica_tokens_per_second = 1000;
    p.target_utilization = 1.0;
    p.replicas = p.min_replicas = 1;
    struct tco_workload w;
    memset(&w, 0, sizeof(w));
    w.requests = 1e6;
    w.input_tokens = METER_SECONDS_PER_MONTH * 1000; /* exactly one replica at peak 1.0 */
    w.peak_to_mean = 1;
    w.frontier_monthly = 2000 * METER_MICRO;
    w.open_monthly = 500 * METER_MICRO; /* half a replica's price per replica's volume: never */
    struct tco_rules rules;
    struct tco_result r;
    tco_rules_init(&rules);
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.replicas, 1);
    ASSERT_EQ(r.be_frontier.kind, TCO_BE_AT);
    ASSERT_NEAR(r.be_frontier.factor, 0.5, 1e-9);
    ASSERT_EQ(r.be_open.kind, TCO_BE_NONE);
    /* with 10 engineers-worth of fixed cost (10k/month) against 2k per replica-volume:
     * C_r = 10k + r*1k, hosted k*2k: crosses at r = 10, k = 10 */
    p.engineers = 1;
    p.engineer_yearly_micro = 120000 * METER_MICRO;
    tco_eval(&w, &p, &rules, &r);
    ASSERT_EQ(r.be_frontier.kind, TCO_BE_AT);
    ASSERT_EQ(r.be_frontier.replicas, 10);
    ASSERT_NEAR(r.be_frontier.factor, 10.0, 1e-9);
}

TEST(tco, usd_format)
{
    char b[40];
    ASSERT_STR(tco_usd(74500 * METER_MICRO, b, sizeof(b)), "USD 74,500");
    ASSERT_STR(tco_usd(999, b, sizeof(b)), "USD 0");
    ASSERT_STR(tco_usd(1234567890 * METER_MICRO, b, sizeof(b)), "USD 1,234,567,890");
    ASSERT_STR(tco_usd(-1500000, b, sizeof(b)), "-USD 2");
}
