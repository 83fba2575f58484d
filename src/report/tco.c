/* SPDX-License-Identifier: MIT */
/* The economics behind tco.h: all-in self-hosted cost sized from the peak, break-even volume by
 * walking the replica steps, and the decision rules. Volumes are scaled by a factor k of the
 * workload's current month: hosted cost grows as k, self-hosted cost is fixed (engineers and
 * upgrades) plus a step per whole replica. */
#include "report/tco.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
tco_rules_init(struct tco_rules *r)
{
    r->min_hosted_spend = 40000 * METER_MICRO;
    r->self_host_max_share = 0.30;
    r->bursty_peak_to_mean = 3.0;
}

int
tco_rules_parse(const struct cfg_node *map, struct tco_rules *r, struct hg_err *err)
{
    const struct cfg_node *n = cfg_get(map, "min_hosted_spend_usd");
    if (n && meter_usd_parse(n, &r->min_hosted_spend, err) < 0)
        return -1;
    n = cfg_get(map, "self_host_max_share");
    if (n && cfg_double(n, 0.0, 1.0, &r->self_host_max_share, err) < 0)
        return -1;
    n = cfg_get(map, "bursty_peak_to_mean");
    if (n && cfg_double(n, 1.0, 1e6, &r->bursty_peak_to_mean, err) < 0)
        return -1;
    return 0;
}

const char *
tco_choice_name(enum tco_choice c)
{
    switch (c) {
    case TCO_SELF_HOSTED:
        return "self_hosted";
    case TCO_HOSTED_OPEN:
        return "hosted_open";
    case TCO_FRONTIER:
        return "frontier";
    }
    return "?";
}

char *
tco_usd(int64_t micro, char *buf, size_t n)
{
    int64_t d = (micro >= 0 ? micro + METER_MICRO / 2 : micro - METER_MICRO / 2) / METER_MICRO;
    char digits[32];
    char grouped[48];
    snprintf(digits, sizeof(digits), "%lld", (long long)(d < 0 ? -d : d));
    size_t len = strlen(digits);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    snprintf(buf, n, "%sUSD %s", d < 0 ? "-" : "", grouped);
    return buf;
}

/* 27937500 -> "27.9M" */
static const char *
count(double v, char *buf, size_t n)
{
    if (v >= 1e9)
        snprintf(buf, n, "%.3gG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, n, "%.3gM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, n, "%.3gk", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
    return buf;
}

/* The tokens per second of a month, at peak. */
static double
peak_tps(const struct tco_workload *w, double k)
{
    double pm = w->peak_to_mean < 1 ? 1 : w->peak_to_mean;
    return k * (w->input_tokens + w->output_tokens) / METER_SECONDS_PER_MONTH * pm;
}

/* Self-hosted all-in per month at k times the current volume. */
static int64_t
self_cost(const struct tco_workload *w, const struct meter_pool *p, double k, int *replicas)
{
    int r = meter_pool_replicas_for(p, peak_tps(w, k));
    if (replicas)
        *replicas = r;
    return meter_pool_monthly(p, r);
}

/* Break-even of the pool against a hosted option costing `hosted` a month at k = 1.
 * Within the volume range served by r replicas, (k_{r-1}, k_r], self-hosting costs the constant
 * C_r = fixed + r * gpu and hosting costs k * hosted, so the first k with k * hosted >= C_r is
 * max(k_{r-1}, C_r / hosted) when that is <= k_r. When one more replica costs at least what the
 * volume it serves costs hosted, the gap never closes: there is no break-even. */
static void
breakeven(const struct tco_workload *w, const struct meter_pool *p, int64_t hosted,
          const char *label, struct tco_breakeven *be)
{
    char a[40];
    char b[40];
    char c[40];
    memset(be, 0, sizeof(*be));
    if (hosted < 0) {
        be->kind = TCO_BE_NO_OPTION;
        snprintf(be->why, sizeof(be->why), "no %s option configured", label);
        return;
    }
    be->kind = TCO_BE_NONE;
    if (p == NULL) {
        snprintf(be->why, sizeof(be->why), "no self-hosted cost model configured");
        return;
    }
    double tokens = w->input_tokens + w->output_tokens;
    double per_replica_tps = p->replica_tokens_per_second * p->target_utilization;
    if (tokens <= 0 || hosted == 0) {
        snprintf(be->why, sizeof(be->why),
                 "none at these prices: the workload costs nothing on %s, so the fixed "
                 "self-hosted cost (%s a month) never pays back",
                 label, tco_usd(meter_pool_monthly(p, p->min_replicas), a, sizeof(a)));
        return;
    }
    /* k at which one replica is full */
    double k_step = per_replica_tps / peak_tps(w, 1.0);
    int64_t fixed = meter_add(meter_pool_people_monthly(p), meter_pool_upgrade_monthly(p));
    double hosted_per_replica_volume = (double)hosted * k_step;
    for (int r = p->min_replicas; r <= 1000000; r++) {
        double lo = r == p->min_replicas ? 0 : (r - 1) * k_step;
        double hi = r * k_step;
        double cost_r = (double)meter_add(fixed, meter_pool_gpu_monthly(p, r));
        double k = cost_r / (double)hosted;
        if (k < lo)
            k = lo;
        if (k <= hi * (1 + 1e-12)) {
            be->kind = TCO_BE_AT;
            be->factor = k;
            be->requests = k * w->requests;
            be->replicas = r;
            be->monthly = meter_sat(k * (double)hosted);
            snprintf(be->why, sizeof(be->why),
                     "self-hosting costs less than %s from %s requests a month (%.2fx the "
                     "current volume%s), at %s a month with %d replicas",
                     label, count(be->requests, b, sizeof(b)), k,
                     k <= 1 ? ": already cheaper today" : "", tco_usd(be->monthly, a, sizeof(a)),
                     r);
            return;
        }
        if (r > p->min_replicas && (double)p->replica_monthly_micro >= hosted_per_replica_volume)
            break; /* each step adds more GPU cost than hosted cost: the gap only widens */
    }
    /* Which cost dominates: the marginal one when GPUs alone outprice the hosted option, else
     * the largest part of the self-hosted bill at today's volume. */
    int r_now;
    int64_t now = self_cost(w, p, 1.0, &r_now);
    int64_t gpu = meter_pool_gpu_monthly(p, r_now);
    int64_t people = meter_pool_people_monthly(p);
    int64_t upg = meter_pool_upgrade_monthly(p);
    const char *dom = people >= gpu && people >= upg ? "engineers"
                      : gpu >= upg                   ? "GPUs"
                                                     : "upgrades";
    int64_t domv = people >= gpu && people >= upg ? people : gpu >= upg ? gpu : upg;
    if ((double)p->replica_monthly_micro >= hosted_per_replica_volume)
        snprintf(be->why, sizeof(be->why),
                 "none at these prices: one more replica costs %s a month and serves volume "
                 "that costs %s on %s, so GPUs alone outprice it at any volume; at today's volume "
                 "%s dominate (%.0f%% of %s)",
                 tco_usd(p->replica_monthly_micro, a, sizeof(a)),
                 tco_usd(meter_sat(hosted_per_replica_volume), b, sizeof(b)), label, dom,
                 100.0 * (double)domv / (double)(now ? now : 1), tco_usd(now, c, sizeof(c)));
    else
        snprintf(be->why, sizeof(be->why), "none within 1,000,000 replicas; %s dominate", dom);
}

void
tco_eval(const struct tco_workload *w, const struct meter_pool *pool, const struct tco_rules *rules,
         struct tco_result *out)
{
    char a[40];
    char b[40];
    char c[40];
    char d[40];
    memset(out, 0, sizeof(*out));
    out->peak_tps = peak_tps(w, 1.0);
    if (pool) {
        out->self_total = self_cost(w, pool, 1.0, &out->replicas);
        out->self_gpu = meter_pool_gpu_monthly(pool, out->replicas);
        out->self_people = meter_pool_people_monthly(pool);
        out->self_upgrade = meter_pool_upgrade_monthly(pool);
        out->self_build_once = meter_pool_build_once(pool);
    }
    out->self_dominant = out->self_people >= out->self_gpu && out->self_people >= out->self_upgrade
                             ? "engineers"
                         : out->self_gpu >= out->self_upgrade ? "GPUs"
                                                              : "upgrades";
    breakeven(w, pool, w->frontier_monthly, "the frontier model", &out->be_frontier);
    breakeven(w, pool, w->open_monthly, "the hosted-open provider", &out->be_open);

    /* The hosted spend the rules speak of: what this traffic costs on hosted APIs today,
     * i.e. on the frontier model when there is one. */
    bool have_open = w->open_monthly >= 0;
    bool have_front = w->frontier_monthly >= 0;
    int64_t spend = have_front ? w->frontier_monthly : have_open ? w->open_monthly : 0;
    enum tco_choice hosted_pick =
        have_open && (!have_front || w->open_monthly <= w->frontier_monthly) ? TCO_HOSTED_OPEN
                                                                             : TCO_FRONTIER;
    int64_t hosted_pick_cost = hosted_pick == TCO_HOSTED_OPEN ? w->open_monthly : spend;

    if (w->regulated) {
        out->choice = TCO_SELF_HOSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "regulated or residency-bound traffic stays self-hosted regardless of cost "
                 "(all-in %s a month)",
                 tco_usd(out->self_total, a, sizeof(a)));
        return;
    }
    if (!have_front && !have_open) {
        out->choice = TCO_SELF_HOSTED;
        snprintf(out->reason, sizeof(out->reason), "no hosted option is configured");
        return;
    }
    if (spend < rules->min_hosted_spend) {
        out->choice = hosted_pick;
        snprintf(out->reason, sizeof(out->reason),
                 "hosted spend of %s a month is below %s: self-hosting does not pay at this "
                 "size (its fixed cost alone is %s a month); %s costs %s a month",
                 tco_usd(spend, a, sizeof(a)), tco_usd(rules->min_hosted_spend, b, sizeof(b)),
                 tco_usd(out->self_people + out->self_upgrade, c, sizeof(c)),
                 hosted_pick == TCO_HOSTED_OPEN ? "hosted-open" : "the frontier model",
                 tco_usd(hosted_pick_cost, d, sizeof(d)));
        return;
    }
    if (w->peak_to_mean >= rules->bursty_peak_to_mean) {
        out->choice = hosted_pick;
        snprintf(out->reason, sizeof(out->reason),
                 "bursty traffic (peak %.1fx the mean, threshold %.1fx): per-token pricing "
                 "absorbs peaks that self-hosting must provision for (%d replicas, %s a month)",
                 w->peak_to_mean, rules->bursty_peak_to_mean, out->replicas,
                 tco_usd(out->self_total, a, sizeof(a)));
        return;
    }
    bool under_share = pool && (double)out->self_total < rules->self_host_max_share * (double)spend;
    if (under_share && (!have_open || out->self_total < w->open_monthly)) {
        out->choice = TCO_SELF_HOSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "self-hosted all-in %s a month is %.0f%% of the hosted spend of %s (rule: "
                 "under %.0f%%)%s",
                 tco_usd(out->self_total, a, sizeof(a)),
                 100.0 * (double)out->self_total / (double)spend, tco_usd(spend, b, sizeof(b)),
                 100.0 * rules->self_host_max_share,
                 have_open ? ", and below hosted-open too" : "");
        return;
    }
    out->choice = hosted_pick;
    if (hosted_pick == TCO_HOSTED_OPEN)
        snprintf(out->reason, sizeof(out->reason),
                 "self-hosted all-in %s a month is %.0f%% of the hosted spend of %s (self-host "
                 "only under %.0f%%); hosted-open costs %s a month, %.0f%% less than the "
                 "frontier model: try hosted-open before self-hosting",
                 tco_usd(out->self_total, a, sizeof(a)),
                 spend ? 100.0 * (double)out->self_total / (double)spend : 0.0,
                 tco_usd(spend, b, sizeof(b)), 100.0 * rules->self_host_max_share,
                 tco_usd(w->open_monthly, c, sizeof(c)),
                 have_front && spend ? 100.0 * (1.0 - (double)w->open_monthly / (double)spend)
                                     : 0.0);
    else
        snprintf(out->reason, sizeof(out->reason),
                 "self-hosted all-in %s a month is %.0f%% of the hosted spend of %s (self-host "
                 "only under %.0f%%), and no cheaper hosted-open option is configured",
                 tco_usd(out->self_total, a, sizeof(a)),
                 spend ? 100.0 * (double)out->self_total / (double)spend : 0.0,
                 tco_usd(spend, b, sizeof(b)), 100.0 * rules->self_host_max_share);
}
