/* SPDX-License-Identifier: MIT */
/* Total cost of ownership: for one workload (a routing rule's traffic, or a planned feature),
 * what a month costs on a frontier hosted model, on a hosted open-weights provider, and
 * self-hosted all-in (GPUs sized from the peak in whole replicas, engineers, upgrades); the
 * monthly volume at which self-hosting breaks even with each hosted option; and a recommendation
 * that follows the decision rules of docs/economics.md. Pure: no I/O, no clock, no allocation. */
#ifndef HG_REPORT_TCO_H
#define HG_REPORT_TCO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgtree.h"
#include "core/error.h"
#include "meter/meter.h"

/* One month of one workload. */
struct tco_workload {
    char name[128];           /* rule or planned feature */
    double requests;          /* requests per month */
    double input_tokens;      /* input tokens per month */
    double output_tokens;     /* output tokens per month */
    double peak_to_mean;      /* peak load over mean load, >= 1 */
    bool regulated;           /* regulated or residency-bound: must stay self-hosted */
    int64_t frontier_monthly; /* cost on the frontier option, -1 when there is none */
    int64_t open_monthly;     /* cost on the hosted-open option, -1 when there is none */
};

/* The thresholds of the decision rules (the `economics:` section or a plan's `decision:`). */
struct tco_rules {
    int64_t min_hosted_spend;   /* below this hosted spend a month, self-hosting does not pay */
    double self_host_max_share; /* self-host when all-in < this share of the hosted spend */
    double bursty_peak_to_mean; /* at or above this, per-token pricing wins */
};

/* Defaults: USD 40k (the middle of "30-50k"), 0.30, 3.0. */
void tco_rules_init(struct tco_rules *r);
/* Reads the optional keys min_hosted_spend_usd, self_host_max_share and bursty_peak_to_mean from
 * a mapping (other keys are the caller's business). 0 or -1 with a file:line message. */
int tco_rules_parse(const struct cfg_node *map, struct tco_rules *r, struct hg_err *err);

enum tco_choice { TCO_SELF_HOSTED, TCO_HOSTED_OPEN, TCO_FRONTIER };
const char *tco_choice_name(enum tco_choice c);

enum tco_breakeven_kind {
    TCO_BE_AT,       /* self-hosting is cheaper from `requests` per month on */
    TCO_BE_NONE,     /* never cheaper at these prices; `why` says which cost dominates */
    TCO_BE_NO_OPTION /* the hosted option is not configured */
};

struct tco_breakeven {
    enum tco_breakeven_kind kind; /* see above */
    double requests;              /* TCO_BE_AT: requests per month at break-even */
    double factor;                /* TCO_BE_AT: requests / current volume */
    int replicas;                 /* TCO_BE_AT: replicas at that volume */
    int64_t monthly;              /* TCO_BE_AT: the monthly cost at that volume (both sides) */
    char why[320];                /* one sentence for the report */
};

struct tco_result {
    double peak_tps;                  /* tokens per second at peak (input + output) */
    int replicas;                     /* whole replicas for the peak, >= min_replicas */
    int64_t self_gpu;                 /* GPUs per month */
    int64_t self_people;              /* engineers per month */
    int64_t self_upgrade;             /* upgrade work per month */
    int64_t self_total;               /* all-in per month */
    int64_t self_build_once;          /* build phase, once, before the first request */
    const char *self_dominant;        /* "engineers", "GPUs" or "upgrades": the largest part */
    struct tco_breakeven be_frontier; /* against the frontier option */
    struct tco_breakeven be_open;     /* against the hosted-open option */
    enum tco_choice choice;           /* the recommendation */
    char reason[512];                 /* why, citing the rule and the figures */
};

/* Evaluates w against pool (NULL: no self-hosted option; self_* are then 0 and break-even NONE)
 * under the rules. Fills *out. */
void tco_eval(const struct tco_workload *w, const struct meter_pool *pool,
              const struct tco_rules *rules, struct tco_result *out);

/* Formats micro-dollars as "USD 74,500" (whole dollars, rounded) into buf; returns buf. */
char *tco_usd(int64_t micro, char *buf, size_t n);

#endif
