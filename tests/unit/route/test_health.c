/* SPDX-License-Identifier: MIT */
/* health.c: slots and queues, the circuit breaker over (fake) time as a table of steps, active
 * checks, EWMAs, drift detection, snapshots and a multi-thread smoke test. */
#include "route/health.h"

#include <pthread.h>

#include "../test.h"
#include "route_fixture.h"

static const char hyaml[] =
    "backends:\n"
    "  - {name: a, kind: self_hosted, base_url: 'http://a/v1', models: [m], max_concurrency: 2, "
    "max_queue: 1}\n"
    "  - {name: b, kind: self_hosted, base_url: 'http://b/v1', models: [m]}\n"
    "routing:\n"
    "  circuit_breaker: {failures: 3, cooldown: 5s, probes: 1, error_rate: 0.5, min_samples: 10}\n"
    "  rules:\n"
    "    - name: default\n"
    "      route: {pool: [a, b]}\n";

enum step_kind { ACQ, REL_OK, REL_FAIL, CHECK_OK, CHECK_FAIL, SNAP };

struct step {
    enum step_kind kind; /* what happens */
    int64_t t_ms;        /* at this fake time */
    int want;            /* ACQ: enum health_acquire; others: enum route_circuit after */
};

/* Each row is one scenario on backend b (unlimited slots, breaker: 3 failures, 5 s cool-down,
 * 1 probe). A release uses probe=true when the matching acquire returned PROBE. */
static const struct {
    const char *name;
    struct step steps[12];
    int n;
} scenarios[] = {
    {"3 consecutive failures open it; acquire refused while cooling",
     {{ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 1, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 2, HEALTH_ACQ_OK},
      {REL_FAIL, 3, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 4, HEALTH_ACQ_OK},
      {REL_FAIL, 5, ROUTE_CIRCUIT_OPEN},
      {ACQ, 4000, HEALTH_ACQ_OPEN},
      {SNAP, 4999, ROUTE_CIRCUIT_OPEN},
      {SNAP, 5005, ROUTE_CIRCUIT_HALF_OPEN}},
     9},
    {"a success resets the consecutive count",
     {{ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 1, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 2, HEALTH_ACQ_OK},
      {REL_FAIL, 3, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 4, HEALTH_ACQ_OK},
      {REL_OK, 5, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 6, HEALTH_ACQ_OK},
      {REL_FAIL, 7, ROUTE_CIRCUIT_CLOSED}},
     8},
    {"half-open: one probe at a time, success closes",
     {{ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 0, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 0, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 0, ROUTE_CIRCUIT_OPEN},
      {ACQ, 5000, HEALTH_ACQ_PROBE},
      {ACQ, 5001, HEALTH_ACQ_OPEN},
      {REL_OK, 5100, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 5101, HEALTH_ACQ_OK}},
     10},
    {"half-open probe failure re-opens for a new cool-down",
     {{ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 0, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 0, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 0, ROUTE_CIRCUIT_OPEN},
      {ACQ, 6000, HEALTH_ACQ_PROBE},
      {REL_FAIL, 6100, ROUTE_CIRCUIT_OPEN},
      {ACQ, 11000, HEALTH_ACQ_OPEN},
      {ACQ, 11100, HEALTH_ACQ_PROBE}},
     10},
    {"passing health checks do not forgive failing requests",
     {{ACQ, 0, HEALTH_ACQ_OK},
      {REL_FAIL, 1, ROUTE_CIRCUIT_CLOSED},
      {CHECK_OK, 200, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 300, HEALTH_ACQ_OK},
      {REL_FAIL, 301, ROUTE_CIRCUIT_CLOSED},
      {CHECK_OK, 400, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 500, HEALTH_ACQ_OK},
      {REL_FAIL, 501, ROUTE_CIRCUIT_OPEN}},
     8},
        {"active checks: failures open, success after cool-down closes",
     {{CHECK_FAIL, 0, ROUTE_CIRCUIT_CLOSED},
      {CHECK_FAIL, 2000, ROUTE_CIRCUIT_CLOSED},
      {CHECK_FAIL, 4000, ROUTE_CIRCUIT_OPEN},
      {CHECK_OK, 6000, ROUTE_CIRCUIT_OPEN},
      {CHECK_OK, 9000, ROUTE_CIRCUIT_CLOSED},
      {ACQ, 9001, HEALTH_ACQ_OK}},
     6},
};

TEST(health, circuit_breaker_over_time)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, hyaml, &e) < 0)
        TEST_FAIL_("%s", e.msg);
    for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
        struct health *h = health_new(&f.cfg, route_config_health(f.rc));
        bool probe = false;
        for (int i = 0; i < scenarios[s].n; i++) {
            const struct step *st = &scenarios[s].steps[i];
            int64_t now = st->t_ms * 1000;
            int got = -1;
            struct health_outcome o = {0};
            struct route_view v;
            switch (st->kind) {
            case ACQ:
                got = health_acquire(h, 1, now);
                if (got == HEALTH_ACQ_OK || got == HEALTH_ACQ_PROBE)
                    probe = got == HEALTH_ACQ_PROBE;
                break;
            case REL_OK:
            case REL_FAIL:
                o.ok = st->kind == REL_OK;
                o.probe = probe;
                got = health_release(h, 1, &o, now, NULL);
                break;
            case CHECK_OK:
            case CHECK_FAIL:
                got = health_report_check(h, 1, st->kind == CHECK_OK, now, NULL);
                break;
            case SNAP:
                health_snapshot(h, f.rc, now, &v);
                got = v.b[1].circuit;
                break;
            }
            if (got != st->want) {
                fprintf(stderr, "  scenario '%s' step %d: got %d want %d\n", scenarios[s].name, i,
                        got, st->want);
                *failed_ = 1;
                break;
            }
        }
        health_free(h);
    }
    route_fixture_cleanup(&f);
}

TEST(health, error_rate_opens_and_view_feeds_route)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, hyaml, &e) < 0)
        TEST_FAIL_("%s", e.msg);
    struct health *h = health_new(&f.cfg, route_config_health(f.rc));
    /* alternate ok/fail: never 3 in a row, but the error-rate EWMA passes 0.5 after 10 samples */
    bool changed = false;
    enum route_circuit c = ROUTE_CIRCUIT_CLOSED;
    int i = 0;
    for (; i < 40 && c == ROUTE_CIRCUIT_CLOSED; i++) {
        struct health_outcome o = {.ok = (i % 3) == 0};
        health_acquire(h, 1, i * 1000);
        c = health_release(h, 1, &o, i * 1000, &changed);
    }
    ASSERT_EQ(c, ROUTE_CIRCUIT_OPEN);
    ASSERT_TRUE(changed);
    ASSERT_TRUE(i >= 10);
    struct health_counters hc;
    health_get_counters(h, 1, &hc);
    ASSERT_EQ(hc.circuit_opened, 1);
    /* the open circuit takes b out of route_decide's candidates */
    struct route_view v;
    health_snapshot(h, f.rc, 100000, &v);
    struct route_input in = {0};
    struct route_decision d;
    in.model = STR_LIT("m");
    route_decide(&in, &v, &d);
    ASSERT_EQ(d.ncand, 1);
    ASSERT_EQ(d.cand[0].backend, 0);
    ASSERT_EQ(d.why[1], ROUTE_WHY_CIRCUIT_OPEN);
    /* after the cool-down it is a (half-open) candidate again */
    health_snapshot(h, f.rc, 100000 + 6000000, &v);
    route_decide(&in, &v, &d);
    ASSERT_EQ(d.ncand, 2);
    health_free(h);
    route_fixture_cleanup(&f);
}

TEST(health, slots_queue_and_averages)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, hyaml, &e) < 0)
        TEST_FAIL_("%s", e.msg);
    struct health *h = health_new(&f.cfg, NULL);
    ASSERT_EQ(health_acquire(h, 0, 0), HEALTH_ACQ_OK);
    ASSERT_EQ(health_acquire(h, 0, 0), HEALTH_ACQ_OK);
    ASSERT_EQ(health_acquire(h, 0, 0), HEALTH_ACQ_FULL);
    ASSERT_TRUE(health_queue_enter(h, 0));
    ASSERT_FALSE(health_queue_enter(h, 0)); /* max_queue 1 */
    struct route_view v;
    health_snapshot(h, f.rc, 0, &v);
    ASSERT_EQ(v.b[0].inflight, 2);
    ASSERT_EQ(v.b[0].queued, 1);
    /* a queued sensitive request would queue; a second one finds the queue full */
    struct health_outcome o = {
        .ok = true, .ttft_us = 200000, .duration_us = 1200000, .output_tokens = 100};
    health_release(h, 0, &o, 1000, NULL);
    health_queue_leave(h, 0, 50000, 1000);
    ASSERT_EQ(health_acquire(h, 0, 1000), HEALTH_ACQ_OK);
    o.ttft_us = 400000;
    health_release(h, 0, &o, 2000, NULL);
    health_snapshot(h, f.rc, 2000, &v);
    ASSERT_EQ(v.b[0].inflight, 1);
    ASSERT_EQ(v.b[0].queued, 0);
    ASSERT_NEAR(v.b[0].ttft_ms, 200 + 0.2 * 200, 1e-6); /* first sample, then alpha 0.2 */
    ASSERT_NEAR(v.b[0].queue_wait_ms, 50, 1e-6);
    ASSERT_TRUE(v.b[0].tokens_per_s > 100 && v.b[0].tokens_per_s < 200);
    ASSERT_NEAR(v.b[0].error_rate, 0, 1e-9);
    /* a stale average is forgotten, so a once-slow backend gets public traffic again */
    health_snapshot(h, f.rc, 2000 + 11000000, &v);
    ASSERT_NEAR(v.b[0].ttft_ms, 0, 1e-9);
    ASSERT_NEAR(v.b[0].queue_wait_ms, 0, 1e-9);
    ASSERT_EQ(health_acquire(h, 7, 0), HEALTH_ACQ_OPEN); /* unknown backend fails closed */
    ASSERT_STR(health_acquire_name(HEALTH_ACQ_PROBE), "probe");
    health_free(h);
    route_fixture_cleanup(&f);
}

TEST(health, drift_detection)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, hyaml, &e) < 0)
        TEST_FAIL_("%s", e.msg);
    struct health *h = health_new(&f.cfg, NULL);
    struct health_drift d;
    static const struct {
        const char *model, *fp;
        bool drift;
    } seq[] = {
        {"llama-70b-v1", "fp_aaa", false}, /* first sight */
        {"llama-70b-v1", "fp_aaa", false}, /* same */
        {"llama-70b-v1", NULL, false},     /* fingerprint absent: keep */
        {"llama-70b-v1", "fp_bbb", true},  /* fingerprint changed */
        {"llama-70b-v2", "fp_bbb", true},  /* model changed */
        {"", "", false},                   /* nothing reported */
        {"llama-70b-v2", "fp_bbb", false},
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        bool got = health_observe_model(h, 0, seq[i].model, strlen(seq[i].model), seq[i].fp,
                                        seq[i].fp ? strlen(seq[i].fp) : 0, &d);
        if (got != seq[i].drift)
            TEST_FAIL_("step %zu: drift %d, want %d", i, got, seq[i].drift);
        if (i == 4) {
            ASSERT_STR(d.old_model, "llama-70b-v1");
            ASSERT_STR(d.new_model, "llama-70b-v2");
        }
    }
    struct health_counters hc;
    health_get_counters(h, 0, &hc);
    ASSERT_EQ(hc.drift_events, 2);
    /* a rule pinned to v1 now skips backend 0 */
    struct route_view v;
    health_snapshot(h, f.rc, 0, &v);
    ASSERT_STR(v.b[0].model, "llama-70b-v2");
    ASSERT_STR(v.b[0].fingerprint, "fp_bbb");
    health_free(h);
    route_fixture_cleanup(&f);
}

struct worker_arg {
    struct health *h;
    int iters;
};

static void *
hammer(void *p)
{
    struct worker_arg *a = p;
    for (int i = 0; i < a->iters; i++) {
        int b = i & 1;
        enum health_acquire r = health_acquire(a->h, b, i);
        if (r == HEALTH_ACQ_OK || r == HEALTH_ACQ_PROBE) {
            struct health_outcome o = {.ok = true, .probe = r == HEALTH_ACQ_PROBE, .ttft_us = 10};
            health_release(a->h, b, &o, i, NULL);
        }
    }
    return NULL;
}

TEST(health, threads_leave_counts_balanced)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, hyaml, &e) < 0)
        TEST_FAIL_("%s", e.msg);
    struct health *h = health_new(&f.cfg, NULL);
    pthread_t th[4];
    struct worker_arg a = {h, 20000};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct route_view v;
    health_snapshot(h, f.rc, 0, &v);
    ASSERT_EQ(v.b[0].inflight, 0);
    ASSERT_EQ(v.b[1].inflight, 0);
    struct health_counters hc;
    health_get_counters(h, 1, &hc);
    ASSERT_EQ(hc.requests, 40000);
    health_free(h);
    route_fixture_cleanup(&f);
}
