/* SPDX-License-Identifier: MIT */
/* Usage → cost. The `prices:` section gives hosted models a price per million input and output
 * tokens and self-hosted pools an all-in cost model (GPUs, replicas, engineers, upgrades, target
 * utilization); meter_cost_micro_usd() prices one request, self-hosted ones at their amortized
 * share. Money is int64 micro-dollars everywhere (1 USD = 1,000,000). Pure: no I/O, no clock,
 * depends on core only. See docs/economics.md for the YAML shape and the formulas. */
#ifndef HG_METER_METER_H
#define HG_METER_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgtree.h"
#include "core/config.h"
#include "core/error.h"

#define METER_MICRO 1000000LL
/* A month is 365 * 24 / 12 = 730 hours, the convention of cloud price sheets. */
#define METER_HOURS_PER_MONTH 730.0
#define METER_SECONDS_PER_MONTH (METER_HOURS_PER_MONTH * 3600.0)

/* Money saturates at +-1e12 USD instead of overflowing: no real figure comes near it, and a plan
 * or price typed with absurd numbers must give absurd results, not undefined behaviour. */
#define METER_MONEY_MAX 1000000000000000000LL
/* Rounds v to the nearest micro-dollar, saturating; NaN gives 0. */
int64_t meter_sat(double v);
/* a + b and a * n, saturating. */
int64_t meter_add(int64_t a, int64_t b);
int64_t meter_mul(int64_t a, int64_t n);

/* A per-token price: micro-dollars per million tokens (USD 2.50 / Mtok = 2,500,000). */
struct meter_price {
    int64_t in_per_mtok;  /* input (prompt) tokens */
    int64_t out_per_mtok; /* output (completion) tokens */
};

/* The all-in cost model of one self-hosted pool (or of a planned one). Plain data. */
struct meter_pool {
    char name[65];                    /* backend name, or "self_hosted" in a plan */
    char gpu[32];                     /* GPU type, for the report only */
    int64_t replica_monthly_micro;    /* GPUs of one serving replica per month */
    double replica_tokens_per_second; /* measured throughput of one replica (input + output) */
    int replicas;                     /* replicas deployed today, redundancy included */
    int min_replicas;                 /* sizing floor: never fewer, whatever the load */
    double target_utilization;        /* fraction of throughput to plan for, (0,1] */
    int engineers;                    /* people running the platform */
    int64_t engineer_yearly_micro;    /* loaded yearly cost of one engineer */
    double upgrade_eq_per_half_year;  /* engineer-quarters of model upgrade work per 6 months */
    double build_months;              /* months of the team's time before first traffic */
};

/* Parses one pool mapping (the keys are listed in docs/economics.md). Returns 0, or -1 with a
 * "file:line: reason" message. `name` is copied into out->name. */
int meter_pool_parse(const struct cfg_node *map, const char *name, struct meter_pool *out,
                     struct hg_err *err);

/* GPU cost per month of `replicas` replicas. */
int64_t meter_pool_gpu_monthly(const struct meter_pool *p, int replicas);
/* Engineers per month: engineers × yearly / 12. */
int64_t meter_pool_people_monthly(const struct meter_pool *p);
/* Upgrade work per month: engineer-quarters per half year × (yearly / 4) / 6. */
int64_t meter_pool_upgrade_monthly(const struct meter_pool *p);
/* One-off build cost: build_months × engineers × yearly / 12. */
int64_t meter_pool_build_once(const struct meter_pool *p);
/* Whole replicas needed to serve peak_tps at target utilization, never below min_replicas. */
int meter_pool_replicas_for(const struct meter_pool *p, double peak_tps);
/* All-in monthly cost with `replicas` replicas: GPUs + engineers + upgrades. */
int64_t meter_pool_monthly(const struct meter_pool *p, int replicas);
/* Amortized price per million tokens of the deployed pool: its all-in monthly cost over the
 * tokens it serves in a month at target utilization. */
int64_t meter_pool_per_mtok(const struct meter_pool *p);

/* Cost of in/out tokens at a per-token price, rounded to the nearest micro-dollar. */
int64_t meter_price_cost(const struct meter_price *pr, int64_t in_tokens, int64_t out_tokens);

/* The price table built from `prices:`. Immutable after meter_new, so any thread may read it. */
struct meter;

/* Reads cfg->doc.root's `prices:` (absent = an empty table: every request costs 0). Pools must
 * name self_hosted backends of cfg; model prices may be keyed "model" or "backend/model".
 * Returns the table (meter_free it) or NULL with a file:line message. */
struct meter *meter_new(const struct config *cfg, struct hg_err *err);
void meter_free(struct meter *m);

/* Lookups: NULL when not priced. meter_model_price tries "backend/model", then "model". */
const struct meter_price *meter_model_price(const struct meter *m, const char *backend,
                                            const char *model);
const struct meter_pool *meter_pool_find(const struct meter *m, const char *backend);
/* Every pool, for the report: *n receives the count. */
const struct meter_pool *meter_pools(const struct meter *m, int *n);

/* Cost of one request in micro-dollars: a self-hosted backend with a pool is charged its
 * amortized per-token price, anything else its model price; 0 when nothing is priced
 * (meter_is_priced tells which). No allocation, no I/O: safe on the request path. */
int64_t meter_cost_micro_usd(const struct meter *m, const char *backend, const char *model,
                             int64_t in_tokens, int64_t out_tokens);
bool meter_is_priced(const struct meter *m, const char *backend, const char *model);

/* Reads a USD amount node into micro-dollars (0 ≤ v ≤ 1e12 USD). 0 or -1 with a message. */
int meter_usd_parse(const struct cfg_node *n, int64_t *out, struct hg_err *err);

#endif
