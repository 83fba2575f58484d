/* SPDX-License-Identifier: MIT */
/* Private to the report room: the computed report that report.c fills (from the store or a plan)
 * and render.c prints as text, JSON or HTML. */
#ifndef HG_REPORT_REPORT_INT_H
#define HG_REPORT_REPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "meter/meter.h"
#include "report/report.h"
#include "report/tco.h"

/* One group of rows (a backend, model, rule, team, day or month). */
struct rep_group {
    char period[12];       /* "2026-11-02" or "2026-11" in a cross-tab, else "" */
    char key[128];         /* the group's name ("" shows as "(none)") */
    int64_t requests;      /* rows */
    int64_t input_tokens;  /* sum */
    int64_t output_tokens; /* sum */
    int64_t cost;          /* sum of recorded cost, micro-dollars */
    int64_t errors;        /* rows with status >= 400 */
    int64_t sensitive;     /* rows the scanner classified sensitive */
    int64_t hosted_cost;   /* cost of rows answered by hosted backends */
    int64_t *hour_tokens;  /* tokens per hour since the window's first hour; owned */
    size_t nhours;         /* entries in hour_tokens */
};

/* Groups in first-seen order (rows arrive in time order, so periods are sorted), found through
 * an open-addressing hash of (period, key); at most REP_MAX_GROUPS, the rest of a period fold
 * into "(other)". */
#define REP_MAX_GROUPS 100000
struct rep_table {
    struct rep_group *v; /* owned */
    int n;               /* used */
    int cap;             /* allocated */
    int *slots;          /* hash slots: index into v plus 1, 0 = empty; owned */
    size_t nslots;       /* a power of two, at least 2 * cap */
};

/* The dimensions of the cross-tabs: spend and tokens by each, per day and per month. */
enum rep_dim { REP_DIM_BACKEND, REP_DIM_MODEL, REP_DIM_RULE, REP_DIM_TEAM, REP_NDIMS };
enum rep_period { REP_PER_DAY, REP_PER_MONTH, REP_NPERIODS };

/* A workload evaluated by tco_eval, with its observed burstiness when it comes from traffic. */
struct rep_item {
    struct tco_workload w;        /* monthly volume and hosted costs */
    struct tco_result r;          /* what-if, break-even, recommendation */
    double peak_hour_over_mean;   /* recorded traffic only, else 0 */
    double busiest_day_over_mean; /* recorded traffic only, else 0 */
};

/* A hosted option of the what-if. */
struct rep_option {
    bool present;             /* configured */
    char label[160];          /* "gpt-4.1", "together llama-3-70b" */
    bool per_token;           /* priced per token (else a monthly figure, plans only) */
    struct meter_price price; /* per_token: the price */
    int64_t monthly;          /* !per_token: USD a month for the whole plan */
};

struct report {
    /* inputs */
    bool plan;                  /* from --plan (no traffic) */
    char source[256];           /* store kind and path, or the plan file */
    struct rep_option frontier; /* what-if: all traffic on a frontier hosted model */
    struct rep_option open;     /* what-if: all traffic on a hosted open-weights provider */
    bool have_pool;             /* a self-hosted cost model exists */
    struct meter_pool pool;     /* the cost model for the self-hosted what-if */
    struct tco_rules rules;     /* decision thresholds */
    char regulated[32][64];     /* rules declared regulated (economics.regulated_rules) */
    int nregulated;             /* entries in regulated */

    /* recorded traffic */
    int64_t from_us, to_us; /* window; to_us exclusive */
    int64_t h0_us;          /* start of the window's first hour: hour 0 of the series */
    bool h0_set;            /* h0_us is fixed (by --from or the first row) */
    int64_t last_ts;        /* newest row seen */
    int64_t fmt_hour;       /* hour whose day and month are in day[] and month[] */
    char day[16];           /* "2026-11-02" of fmt_hour */
    char month[16];         /* "2026-11" of fmt_hour */
    double window_hours;    /* hours observed, for the monthly scaling */
    struct rep_group total; /* every row */
    struct rep_table by_backend, by_model, by_rule, by_team, by_day, by_month;
    struct rep_table cross[REP_NDIMS][REP_NPERIODS]; /* by dimension per day and per month */
    int64_t hybrid_monthly; /* hosted spend + self-hosted pools as configured, -1 = n/a */
    int64_t pools_monthly;  /* the configured pools' all-in part of hybrid_monthly */

    /* evaluations */
    struct rep_item *items; /* per rule (traffic) or per workload (plan); owned */
    int nitems;             /* entries in items */
    struct rep_item all;    /* everything together */
};

void report_cleanup(struct report *r);

/* Renderers: append the report to out. 0 or -1 (cap). */
int report_render_text(const struct report *r, struct buf *out);
int report_render_json(const struct report *r, struct buf *out);
int report_render_html(const struct report *r, struct buf *out);

/* Appends micro-dollars as a JSON number with cents ("74500.00"). */
void report_json_usd(struct buf *out, int64_t micro);

#endif
