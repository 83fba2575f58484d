/* SPDX-License-Identifier: MIT */
/* Metric storage, the Prometheus writer, the dashboard's live-stats JSON and docs/metrics.md, all
 * driven by the table in metrics_list.h. Each worker owns a shard: one flat int64 array laid out
 * metric by metric (label cells preallocated from the backends and rules known at startup), a
 * per-second ring for the live request rate, and today's/this month's cost. The owner writes with
 * relaxed atomic load+store (a plain mov/add on x86, no lock prefix) so a concurrent scrape reads
 * whole values without a data race. */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "metrics/accesslog.h"

#ifndef HG_VERSION
#define HG_VERSION "0.1.0"
#endif

/* ------------------------------------------------------------------------------------------ */
/* Declaration tables                                                                          */

enum shape { SHAPE_NONE, SHAPE_BACKEND, SHAPE_REQ, SHAPE_CLASS, SHAPE_VERSION };
enum bucket_set { BS_NOBUCKETS, BS_DURATION, BS_TTFT, BS_SCAN };
enum source { SRC_SHARD, SRC_GLOBAL };

static const int64_t buckets_duration[] = {METRICS_BUCKETS_DURATION};
static const int64_t buckets_ttft[] = {METRICS_BUCKETS_TTFT};
static const int64_t buckets_scan[] = {METRICS_BUCKETS_SCAN};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct bucket_def {
    const int64_t *le; /* upper bounds, µs */
    size_t n;          /* bounds, excluding +Inf */
} bucket_defs[] = {
    [BS_NOBUCKETS] = {NULL, 0},
    [BS_DURATION] = {buckets_duration, NELEM(buckets_duration)},
    [BS_TTFT] = {buckets_ttft, NELEM(buckets_ttft)},
    [BS_SCAN] = {buckets_scan, NELEM(buckets_scan)},
};

static const struct metric_def {
    enum shape shape;
    enum bucket_set buckets;
    int64_t scale;
    enum source source;
} metric_defs[METRIC__COUNT] = {
#define X_(id, name, type, shape, buckets, scale, source, help)                                    \
    [METRIC_##id] = {SHAPE_##shape, BS_##buckets, scale, SRC_##source},
    METRICS_LIST(X_)
#undef X_
};

#define LABELS_NONE ""
#define LABELS_BACKEND "backend,kind"
#define LABELS_REQ "backend,kind,rule,status_class"
#define LABELS_CLASS "backend,kind,class"
#define LABELS_VERSION "version"

const struct metric_desc metric_descs[METRIC__COUNT] = {
#define X_(id, name, type, shape, buckets, scale, source, help)                                    \
    [METRIC_##id] = {METRICS_PREFIX name, METRIC_##type, LABELS_##shape, help},
    METRICS_LIST(X_)
#undef X_
};

const char *
metric_type_name(enum metric_type t)
{
    switch (t) {
    case METRIC_COUNTER:
        return "counter";
    case METRIC_GAUGE:
        return "gauge";
    case METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

const char *
metrics_circuit_name(enum metrics_circuit c)
{
    switch (c) {
    case METRICS_CIRCUIT_CLOSED:
        return "closed";
    case METRICS_CIRCUIT_HALF_OPEN:
        return "half_open";
    case METRICS_CIRCUIT_OPEN:
        return "open";
    }
    return "unknown";
}

/* Status classes exported in the status_class label; index = status/100 - 1, last = other. */
#define NSTATUS 6
static const char *const status_names[NSTATUS] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
/* Classes in RECORD_CLASS_* bit order. */
#define NCLASS 4
static const char *const class_names[NCLASS] = {"pii", "phi", "financial", "secret"};

/* ------------------------------------------------------------------------------------------ */
/* Registry and shards                                                                         */

/* One second of the live-rate window. Written by the shard's owner, read by the stats reader. */
struct rate_slot {
    int64_t sec;         /* wall-clock second this slot holds, or 0 */
    int64_t requests;    /* requests finished in that second */
    int64_t self_hosted; /* ... answered by a self-hosted backend */
    int64_t hosted;      /* ... answered by a hosted backend */
    int64_t sensitive;   /* ... classified sensitive */
    int64_t errors;      /* ... with a 5xx status */
};
#define RATE_SLOTS 64 /* power of two > the 60-second series */

struct metrics_shard {
    struct metrics_registry *reg;      /* owner of this shard */
    int64_t *cells;                    /* reg->ncells cells, layout in reg->off[] */
    struct rate_slot ring[RATE_SLOTS]; /* live rate, indexed by sec % RATE_SLOTS */
    int64_t day;                       /* UTC day (days since epoch) of cost_day, or -1 */
    int64_t cost_day;                  /* micro-USD finished on `day` */
    int64_t month;                     /* year*12+month-1 of cost_month, or -1 */
    int64_t cost_month;                /* micro-USD finished in `month` */
    int last_backend;                  /* last backend index matched by name (lookup cache) */
    int last_rule;                     /* last rule index matched by name (lookup cache) */
    struct metrics_shard *next;        /* registry's list */
};

struct metrics_registry {
    size_t nbackends;             /* configured backends; slot nbackends is "none" */
    char **backend_names;         /* copied names */
    bool *backend_self_hosted;    /* kind per backend */
    char **backend_labels;        /* `backend="x",kind="y"` per slot (nbackends+1), escaped */
    size_t nrules;                /* configured rules; slot nrules is "none", nrules+1 "other" */
    char **rule_names;            /* copied names */
    char **rule_labels;           /* `rule="x"` per slot (nrules+2), escaped */
    size_t off[METRIC__COUNT];    /* first cell of each metric in a cell array */
    size_t width[METRIC__COUNT];  /* cells per label slot (1, or buckets+3 for histograms) */
    size_t nslots[METRIC__COUNT]; /* label slots per metric */
    size_t ncells;                /* total cells per array */
    int64_t *global;              /* ncells cells for SRC_GLOBAL metrics (atomic access) */
    pthread_mutex_t lock;         /* protects the shard list and the pull callbacks */
    struct metrics_shard *shards; /* every shard, newest first */
    metrics_pull_cb *pull_cb;     /* called on render, or NULL */
    void *pull_ctx;               /* its argument */
    metrics_store_stats_cb *store_cb; /* pulled on render, or NULL */
    void *store_ctx;                  /* its argument */
    struct accesslog *accesslog;      /* counters pulled on render, or NULL */
    int64_t base_day;                 /* cost baseline: UTC day, or -1 */
    int64_t base_cost_day;            /* micro-USD */
    int64_t base_month;               /* year*12+month-1, or -1 */
    int64_t base_cost_month;          /* micro-USD */
    int64_t start_us;                 /* wall clock at registry creation */
};

static inline void
cell_add(int64_t *c, int64_t v)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline void
cell_set(int64_t *c, int64_t v)
{
    __atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static inline int64_t
cell_get(const int64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static size_t
shape_slots(const struct metrics_registry *reg, enum shape s)
{
    size_t nb = reg->nbackends + 1;
    switch (s) {
    case SHAPE_NONE:
    case SHAPE_VERSION:
        return 1;
    case SHAPE_BACKEND:
        return nb;
    case SHAPE_REQ:
        return nb * (reg->nrules + 2) * NSTATUS;
    case SHAPE_CLASS:
        return nb * NCLASS;
    }
    return 1;
}

/* Appends `key="value"` with the exposition format's escapes (\\, \", \n). */
static void
label_pair(struct buf *b, const char *key, const char *v)
{
    buf_printf(b, "%s=\"", key);
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            buf_appends(b, "\\n");
        else
            buf_appendc(b, *p);
    }
    buf_appendc(b, '"');
}

struct metrics_registry *
metrics_registry_new(const struct config *cfg, const char *const *rules, size_t nrules)
{
    struct metrics_registry *reg = xcalloc(1, sizeof(*reg));
    size_t nb = cfg ? cfg->nbackends : 0;
    reg->nbackends = nb;
    reg->backend_names = xcalloc(nb + 1, sizeof(char *));
    reg->backend_self_hosted = xcalloc(nb + 1, sizeof(bool));
    reg->backend_labels = xcalloc(nb + 1, sizeof(char *));
    for (size_t i = 0; i <= nb; i++) {
        struct buf b;
        buf_init(&b, 4096);
        if (i < nb) {
            /* Only the name and the kind are copied: the registry never sees a key or URL. */
            reg->backend_names[i] = xstrdup(cfg->backends[i].name);
            reg->backend_self_hosted[i] = cfg->backends[i].kind == BACKEND_SELF_HOSTED;
            label_pair(&b, "backend", cfg->backends[i].name);
            buf_appendc(&b, ',');
            label_pair(&b, "kind", backend_kind_name(cfg->backends[i].kind));
        } else {
            label_pair(&b, "backend", "none");
            buf_appendc(&b, ',');
            label_pair(&b, "kind", "none");
        }
        reg->backend_labels[i] = b.p ? buf_steal(&b) : xstrdup("");
    }
    reg->nrules = nrules;
    reg->rule_names = xcalloc(nrules + 1, sizeof(char *));
    reg->rule_labels = xcalloc(nrules + 2, sizeof(char *));
    for (size_t i = 0; i < nrules + 2; i++) {
        struct buf b;
        buf_init(&b, 4096);
        const char *n = i < nrules ? rules[i] : (i == nrules ? "none" : "other");
        if (i < nrules)
            reg->rule_names[i] = xstrdup(rules[i]);
        label_pair(&b, "rule", n);
        reg->rule_labels[i] = buf_steal(&b);
    }
    size_t off = 0;
    for (int id = 0; id < METRIC__COUNT; id++) {
        const struct metric_def *d = &metric_defs[id];
        reg->off[id] = off;
        reg->nslots[id] = shape_slots(reg, d->shape);
        reg->width[id] = metric_descs[id].type == METRIC_HISTOGRAM
                             ? bucket_defs[d->buckets].n + 3 /* buckets, +Inf, sum, count */
                             : 1;
        off += reg->nslots[id] * reg->width[id];
    }
    reg->ncells = off;
    reg->global = xcalloc(off, sizeof(int64_t));
    pthread_mutex_init(&reg->lock, NULL);
    reg->base_day = -1;
    reg->base_month = -1;
    reg->start_us = clock_wall_us();
    cell_set(&reg->global[reg->off[METRIC_START_TIME]], reg->start_us / 1000000);
    cell_set(&reg->global[reg->off[METRIC_BUILD_INFO]], 1);
    for (size_t i = 0; i < nb; i++)
        cell_set(&reg->global[reg->off[METRIC_BACKEND_UP] + i], 1);
    return reg;
}

void
metrics_registry_free(struct metrics_registry *reg)
{
    if (reg == NULL)
        return;
    struct metrics_shard *sh = reg->shards;
    while (sh) {
        struct metrics_shard *next = sh->next;
        free(sh->cells);
        free(sh);
        sh = next;
    }
    for (size_t i = 0; i <= reg->nbackends; i++) {
        free(reg->backend_names[i]);
        free(reg->backend_labels[i]);
    }
    for (size_t i = 0; i < reg->nrules + 2; i++) {
        if (i < reg->nrules)
            free(reg->rule_names[i]);
        free(reg->rule_labels[i]);
    }
    free(reg->backend_names);
    free(reg->backend_self_hosted);
    free(reg->backend_labels);
    free(reg->rule_names);
    free(reg->rule_labels);
    free(reg->global);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

struct metrics_shard *
metrics_shard_new(struct metrics_registry *reg)
{
    struct metrics_shard *sh = xcalloc(1, sizeof(*sh));
    sh->reg = reg;
    sh->cells = xcalloc(reg->ncells, sizeof(int64_t));
    sh->day = -1;
    sh->month = -1;
    pthread_mutex_lock(&reg->lock);
    sh->next = reg->shards;
    reg->shards = sh;
    pthread_mutex_unlock(&reg->lock);
    return sh;
}

int
metrics_backend_index(const struct metrics_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->nbackends; i++)
        if (!strcmp(reg->backend_names[i], name))
            return (int)i;
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Request path                                                                                */

/* Backend slot for rec->backend: the cached last match first, since a worker sees runs of the
 * same backend; the linear scan is over a handful of names. */
static size_t
backend_slot(struct metrics_shard *sh, const char *name)
{
    const struct metrics_registry *reg = sh->reg;
    if (name[0] == '\0')
        return reg->nbackends;
    if (sh->last_backend < (int)reg->nbackends &&
        !strcmp(reg->backend_names[sh->last_backend], name))
        return (size_t)sh->last_backend;
    for (size_t i = 0; i < reg->nbackends; i++) {
        if (!strcmp(reg->backend_names[i], name)) {
            sh->last_backend = (int)i;
            return i;
        }
    }
    return reg->nbackends;
}

static size_t
rule_slot(struct metrics_shard *sh, const char *name)
{
    const struct metrics_registry *reg = sh->reg;
    if (name[0] == '\0')
        return reg->nrules;
    if (sh->last_rule < (int)reg->nrules && !strcmp(reg->rule_names[sh->last_rule], name))
        return (size_t)sh->last_rule;
    for (size_t i = 0; i < reg->nrules; i++) {
        if (!strcmp(reg->rule_names[i], name)) {
            sh->last_rule = (int)i;
            return i;
        }
    }
    return reg->nrules + 1;
}

static size_t
backend_ix_slot(const struct metrics_registry *reg, int backend)
{
    return backend >= 0 && (size_t)backend < reg->nbackends ? (size_t)backend : reg->nbackends;
}

static inline int64_t *
cell(struct metrics_shard *sh, enum metric_id id, size_t slot)
{
    return &sh->cells[sh->reg->off[id] + slot * sh->reg->width[id]];
}

static void
hist_observe(struct metrics_shard *sh, enum metric_id id, size_t slot, int64_t us)
{
    const struct bucket_def *bd = &bucket_defs[metric_defs[id].buckets];
    int64_t *c = cell(sh, id, slot);
    size_t i = 0;
    while (i < bd->n && us > bd->le[i])
        i++;
    cell_add(&c[i], 1);
    cell_add(&c[bd->n + 1], us);
    cell_add(&c[bd->n + 2], 1);
}

/* Days since 1970-01-01 → year*12 + month-1 (Howard Hinnant's civil_from_days). */
static int64_t
month_of_day(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    return y * 12 + (m - 1);
}

void
metrics_record(struct metrics_shard *sh, const struct req_record *rec)
{
    const struct metrics_registry *reg = sh->reg;
    size_t b = backend_slot(sh, rec->backend);
    size_t r = rule_slot(sh, rec->rule);
    size_t sc = rec->status >= 100 && rec->status < 600 ? (size_t)(rec->status / 100 - 1) : 5;
    bool has_backend = b < reg->nbackends;
    bool self_hosted = has_backend && reg->backend_self_hosted[b];

    cell_add(cell(sh, METRIC_REQUESTS, (b * (reg->nrules + 2) + r) * NSTATUS + sc), 1);
    hist_observe(sh, METRIC_REQUEST_DURATION, b, rec->total_us);
    if (rec->ttft_us > 0)
        hist_observe(sh, METRIC_TTFT, b, rec->ttft_us);
    if (rec->input_tokens)
        cell_add(cell(sh, METRIC_INPUT_TOKENS, b), rec->input_tokens);
    if (rec->output_tokens)
        cell_add(cell(sh, METRIC_OUTPUT_TOKENS, b), rec->output_tokens);
    if (rec->cost_micro_usd)
        cell_add(cell(sh, METRIC_COST, b), rec->cost_micro_usd);
    if (rec->sensitive) {
        cell_add(cell(sh, METRIC_SENSITIVE, b), 1);
        if (self_hosted)
            cell_add(cell(sh, METRIC_SENSITIVE_LOCAL, 0), 1);
    }
    for (unsigned c = 0; c < NCLASS; c++)
        if (rec->classes & (1u << c))
            cell_add(cell(sh, METRIC_CLASS_REQUESTS, b * NCLASS + c), 1);
    if (rec->scan_us > 0)
        hist_observe(sh, METRIC_SCAN_DURATION, 0, rec->scan_us);

    /* Live rate and cost by day: keyed by the finish time, taken from the record so the hot
     * path reads no clock (ts_us 0 only happens in tests and falls back to the clock). */
    int64_t end_us = rec->ts_us ? rec->ts_us + rec->total_us : clock_wall_us();
    int64_t sec = end_us / 1000000;
    struct rate_slot *s = &sh->ring[sec & (RATE_SLOTS - 1)];
    if (cell_get(&s->sec) != sec) {
        cell_set(&s->requests, 0);
        cell_set(&s->self_hosted, 0);
        cell_set(&s->hosted, 0);
        cell_set(&s->sensitive, 0);
        cell_set(&s->errors, 0);
        cell_set(&s->sec, sec);
    }
    cell_add(&s->requests, 1);
    if (has_backend)
        cell_add(self_hosted ? &s->self_hosted : &s->hosted, 1);
    if (rec->sensitive)
        cell_add(&s->sensitive, 1);
    if (rec->status >= 500)
        cell_add(&s->errors, 1);
    if (rec->cost_micro_usd) {
        int64_t day = sec / 86400;
        if (day != sh->day) {
            int64_t month = month_of_day(day);
            if (month != sh->month) {
                cell_set(&sh->cost_month, 0);
                cell_set(&sh->month, month);
            }
            cell_set(&sh->cost_day, 0);
            cell_set(&sh->day, day);
        }
        cell_add(&sh->cost_day, rec->cost_micro_usd);
        cell_add(&sh->cost_month, rec->cost_micro_usd);
    }
}

void
metrics_retry(struct metrics_shard *sh, int backend)
{
    if (sh == NULL)
        return;
    cell_add(cell(sh, METRIC_RETRIES, backend_ix_slot(sh->reg, backend)), 1);
}

void
metrics_failover(struct metrics_shard *sh, int from_backend)
{
    if (sh == NULL)
        return;
    cell_add(cell(sh, METRIC_FAILOVERS, backend_ix_slot(sh->reg, from_backend)), 1);
}

void
metrics_invariant_rejected(struct metrics_shard *sh)
{
    if (sh == NULL)
        return;
    cell_add(cell(sh, METRIC_INVARIANT_REJECTED, 0), 1);
}

void
metrics_model_drift(struct metrics_shard *sh, int backend)
{
    if (sh == NULL)
        return;
    cell_add(cell(sh, METRIC_MODEL_DRIFT, backend_ix_slot(sh->reg, backend)), 1);
}

void
metrics_set_circuit_state(struct metrics_registry *reg, int backend, enum metrics_circuit st)
{
    if (backend < 0 || (size_t)backend >= reg->nbackends)
        return;
    cell_set(&reg->global[reg->off[METRIC_CIRCUIT_STATE] + (size_t)backend], st);
}

void
metrics_set_backend_up(struct metrics_registry *reg, int backend, bool up)
{
    if (backend < 0 || (size_t)backend >= reg->nbackends)
        return;
    cell_set(&reg->global[reg->off[METRIC_BACKEND_UP] + (size_t)backend], up ? 1 : 0);
}

void
metrics_set_backend_load(struct metrics_registry *reg, int backend, int64_t in_flight,
                         int64_t queued)
{
    if (backend < 0 || (size_t)backend >= reg->nbackends)
        return;
    cell_set(&reg->global[reg->off[METRIC_IN_FLIGHT] + (size_t)backend], in_flight);
    cell_set(&reg->global[reg->off[METRIC_QUEUED] + (size_t)backend], queued);
}

void
metrics_set_pull(struct metrics_registry *reg, metrics_pull_cb *cb, void *ctx)
{
    pthread_mutex_lock(&reg->lock);
    reg->pull_cb = cb;
    reg->pull_ctx = ctx;
    pthread_mutex_unlock(&reg->lock);
}

void
metrics_set_store_stats(struct metrics_registry *reg, metrics_store_stats_cb *cb, void *ctx)
{
    pthread_mutex_lock(&reg->lock);
    reg->store_cb = cb;
    reg->store_ctx = ctx;
    pthread_mutex_unlock(&reg->lock);
}

void
metrics_set_accesslog(struct metrics_registry *reg, struct accesslog *al)
{
    pthread_mutex_lock(&reg->lock);
    reg->accesslog = al;
    pthread_mutex_unlock(&reg->lock);
}

void
metrics_set_cost_baseline(struct metrics_registry *reg, int64_t today_micro_usd,
                          int64_t month_micro_usd, int64_t now_us)
{
    pthread_mutex_lock(&reg->lock);
    reg->base_day = now_us / 1000000 / 86400;
    reg->base_month = month_of_day(reg->base_day);
    reg->base_cost_day = today_micro_usd;
    reg->base_cost_month = month_micro_usd;
    pthread_mutex_unlock(&reg->lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading: sums over shards                                                                   */

/* Refreshes pulled globals and sums every cell over the shards into OUT sum (ncells). GLOBAL
 * metrics come from reg->global. Called with reg->lock held. */
static void
sum_cells(struct metrics_registry *reg, int64_t *sum)
{
    if (reg->pull_cb)
        reg->pull_cb(reg->pull_ctx, reg);
    if (reg->store_cb) {
        uint64_t w = 0;
        uint64_t d = 0;
        reg->store_cb(reg->store_ctx, &w, &d);
        cell_set(&reg->global[reg->off[METRIC_STORE_WRITTEN]], (int64_t)w);
        cell_set(&reg->global[reg->off[METRIC_STORE_DROPPED]], (int64_t)d);
    }
    if (reg->accesslog) {
        uint64_t l = 0;
        uint64_t d = 0;
        accesslog_stats(reg->accesslog, &l, &d);
        cell_set(&reg->global[reg->off[METRIC_ACCESS_LOG_LINES]], (int64_t)l);
        cell_set(&reg->global[reg->off[METRIC_ACCESS_LOG_DROPPED]], (int64_t)d);
    }
    memset(sum, 0, reg->ncells * sizeof(int64_t));
    for (int id = 0; id < METRIC__COUNT; id++) {
        size_t o = reg->off[id];
        size_t n = reg->nslots[id] * reg->width[id];
        if (metric_defs[id].source == SRC_GLOBAL) {
            for (size_t i = 0; i < n; i++)
                sum[o + i] = cell_get(&reg->global[o + i]);
            continue;
        }
        for (const struct metrics_shard *sh = reg->shards; sh; sh = sh->next)
            for (size_t i = 0; i < n; i++)
                sum[o + i] += cell_get(&sh->cells[o + i]);
    }
}

/* Appends v/scale; scale 1 prints an integer, 1000000 prints 6 decimals (integer arithmetic:
 * money and durations never pass through double). trim drops trailing zeros (bucket bounds). */
static void
put_scaled(struct buf *b, int64_t v, int64_t scale, bool trim)
{
    if (scale == 1) {
        buf_printf(b, "%lld", (long long)v);
        return;
    }
    const char *sign = v < 0 ? "-" : "";
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char frac[8];
    snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)(a % 1000000));
    if (trim) {
        size_t n = strlen(frac);
        while (n > 0 && frac[n - 1] == '0')
            frac[--n] = '\0';
        if (n == 0) {
            buf_printf(b, "%s%llu", sign, (unsigned long long)(a / 1000000));
            return;
        }
    }
    buf_printf(b, "%s%llu.%s", sign, (unsigned long long)(a / 1000000), frac);
}

/* The label set of slot `slot` of a metric of shape s, without braces ("" for none). */
static void
put_labels(struct buf *b, const struct metrics_registry *reg, enum shape s, size_t slot)
{
    switch (s) {
    case SHAPE_NONE:
        return;
    case SHAPE_VERSION:
        label_pair(b, "version", HG_VERSION);
        return;
    case SHAPE_BACKEND:
        buf_appends(b, reg->backend_labels[slot]);
        return;
    case SHAPE_REQ: {
        size_t sc = slot % NSTATUS;
        size_t r = slot / NSTATUS % (reg->nrules + 2);
        size_t bk = slot / NSTATUS / (reg->nrules + 2);
        buf_printf(b, "%s,%s,status_class=\"%s\"", reg->backend_labels[bk], reg->rule_labels[r],
                   status_names[sc]);
        return;
    }
    case SHAPE_CLASS:
        buf_printf(b, "%s,class=\"%s\"", reg->backend_labels[slot / NCLASS],
                   class_names[slot % NCLASS]);
        return;
    }
}

static void
put_sample(struct buf *b, const char *name, const char *suffix, const char *labels,
           const char *extra, int64_t v, int64_t scale)
{
    buf_printf(b, "%s%s", name, suffix);
    if (labels[0] || extra[0])
        buf_printf(b, "{%s%s%s}", labels, labels[0] && extra[0] ? "," : "", extra);
    buf_appendc(b, ' ');
    put_scaled(b, v, scale, false);
    buf_appendc(b, '\n');
}

/* Scratch output for the writers below: its size is bounded by the config's backends and rules,
 * not by client input, so it has no cap of its own; the caller's cap is applied by one exact
 * buf_append at the end (so a too-small buffer is reported, not silently truncated). */
#define SCRATCH_MAX ((size_t)1 << 30)

static int
finish(struct buf *out, struct buf *scratch)
{
    int rc = buf_append(out, scratch->p ? scratch->p : "", scratch->len);
    buf_cleanup(scratch);
    return rc;
}

int
metrics_render_prometheus(struct metrics_registry *reg, struct buf *dst)
{
    struct buf scratch;
    buf_init(&scratch, SCRATCH_MAX);
    struct buf *out = &scratch;
    int64_t *sum = xmalloc(reg->ncells * sizeof(int64_t));
    struct buf labels;
    buf_init(&labels, 1 << 16);
    pthread_mutex_lock(&reg->lock);
    sum_cells(reg, sum);
    pthread_mutex_unlock(&reg->lock);

    for (int id = 0; id < METRIC__COUNT; id++) {
        const struct metric_desc *md = &metric_descs[id];
        const struct metric_def *d = &metric_defs[id];
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", md->name, md->help, md->name,
                   metric_type_name(md->type));
        for (size_t slot = 0; slot < reg->nslots[id]; slot++) {
            const int64_t *c = &sum[reg->off[id] + slot * reg->width[id]];
            /* The backend x rule x status cross product is sparse: print only what happened. */
            if (d->shape == SHAPE_REQ && c[0] == 0)
                continue;
            /* Gauges describe a configured backend's state; "none" has no state to report. */
            if (d->shape == SHAPE_BACKEND && md->type == METRIC_GAUGE && slot == reg->nbackends)
                continue;
            buf_reset(&labels);
            put_labels(&labels, reg, d->shape, slot);
            const char *ls = labels.p ? labels.p : "";
            if (md->type != METRIC_HISTOGRAM) {
                put_sample(out, md->name, "", ls, "", c[0], d->scale);
                continue;
            }
            const struct bucket_def *bd = &bucket_defs[d->buckets];
            int64_t cum = 0;
            for (size_t i = 0; i <= bd->n; i++) {
                char le[48];
                cum += c[i];
                if (i < bd->n) {
                    struct buf lb;
                    buf_init(&lb, sizeof(le) - 8);
                    put_scaled(&lb, bd->le[i], d->scale, true);
                    snprintf(le, sizeof(le), "le=\"%s\"", lb.p);
                    buf_cleanup(&lb);
                } else {
                    snprintf(le, sizeof(le), "le=\"+Inf\"");
                }
                put_sample(out, md->name, "_bucket", ls, le, cum, 1);
            }
            put_sample(out, md->name, "_sum", ls, "", c[bd->n + 1], d->scale);
            put_sample(out, md->name, "_count", ls, "", c[bd->n + 2], 1);
        }
    }
    buf_cleanup(&labels);
    free(sum);
    return finish(dst, &scratch);
}

/* ------------------------------------------------------------------------------------------ */
/* Live stats for the dashboard                                                                */

/* Quantile q (0..1) of a histogram cell block, linear inside the bucket, in µs; -1 when empty.
 * The +Inf bucket reports its lower bound. */
static double
hist_quantile(const int64_t *c, const struct bucket_def *bd, double q)
{
    int64_t count = c[bd->n + 2];
    if (count <= 0)
        return -1;
    double rank = q * (double)count;
    int64_t cum = 0;
    for (size_t i = 0; i <= bd->n; i++) {
        int64_t prev = cum;
        cum += c[i];
        if ((double)cum >= rank && c[i] > 0) {
            double lo = i == 0 ? 0 : (double)bd->le[i - 1];
            if (i == bd->n)
                return lo;
            double hi = (double)bd->le[i];
            return lo + (hi - lo) * ((rank - (double)prev) / (double)c[i]);
        }
    }
    return (double)bd->le[bd->n - 1];
}

static void
put_ms(struct buf *b, const char *key, double us)
{
    if (us < 0)
        buf_printf(b, "\"%s\":null", key);
    else
        buf_printf(b, "\"%s\":%.3f", key, us / 1000.0);
}

static void
put_usd(struct buf *b, const char *key, int64_t micro)
{
    buf_printf(b, "\"%s\":", key);
    put_scaled(b, micro, 1000000, false);
}

static int64_t
days_in_month(int64_t month)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y = month / 12;
    int m = (int)(month % 12);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m] + (m == 1 && leap ? 1 : 0);
}

/* First day (days since epoch) of `month` (year*12+m): scans back from a day inside it. */
static int64_t
month_first_day(int64_t day)
{
    int64_t m = month_of_day(day);
    while (month_of_day(day - 1) == m)
        day--;
    return day;
}

int
metrics_stats_json(struct metrics_registry *reg, int64_t now_us, struct buf *dst)
{
    struct buf scratch;
    buf_init(&scratch, SCRATCH_MAX);
    struct buf *out = &scratch;
    int64_t *sum = xmalloc(reg->ncells * sizeof(int64_t));
    int64_t series[60][5];
    memset(series, 0, sizeof(series));
    int64_t now_s = now_us / 1000000;
    int64_t today = now_s / 86400;
    int64_t month = month_of_day(today);
    int64_t cost_today = 0;
    int64_t cost_month = 0;

    pthread_mutex_lock(&reg->lock);
    sum_cells(reg, sum);
    for (const struct metrics_shard *sh = reg->shards; sh; sh = sh->next) {
        for (int k = 0; k < 60; k++) {
            int64_t sec = now_s - 60 + k; /* the current second is incomplete: left out */
            const struct rate_slot *s = &sh->ring[sec & (RATE_SLOTS - 1)];
            if (cell_get(&s->sec) != sec)
                continue;
            series[k][0] += cell_get(&s->requests);
            series[k][1] += cell_get(&s->self_hosted);
            series[k][2] += cell_get(&s->hosted);
            series[k][3] += cell_get(&s->sensitive);
            series[k][4] += cell_get(&s->errors);
        }
        if (cell_get(&sh->day) == today)
            cost_today += cell_get(&sh->cost_day);
        if (cell_get(&sh->month) == month)
            cost_month += cell_get(&sh->cost_month);
    }
    if (reg->base_day == today)
        cost_today += reg->base_cost_day;
    if (reg->base_month == month)
        cost_month += reg->base_cost_month;
    pthread_mutex_unlock(&reg->lock);

    size_t nb = reg->nbackends;
    size_t nr = reg->nrules + 2;
    int64_t total = 0, self = 0, hosted = 0, errors = 0, cost_total = 0;
    for (size_t b = 0; b <= nb; b++) {
        for (size_t r = 0; r < nr; r++) {
            for (size_t sc = 0; sc < NSTATUS; sc++) {
                int64_t v = sum[reg->off[METRIC_REQUESTS] + (b * nr + r) * NSTATUS + sc];
                total += v;
                if (b < nb)
                    *(reg->backend_self_hosted[b] ? &self : &hosted) += v;
                if (sc == 4)
                    errors += v;
            }
        }
        cost_total += sum[reg->off[METRIC_COST] + b];
    }
    int64_t win_req = 0;
    for (int k = 60 - METRICS_RATE_WINDOW_S; k < 60; k++)
        win_req += series[k][0];
    int64_t sensitive_total = 0;
    for (size_t b = 0; b <= nb; b++)
        sensitive_total += sum[reg->off[METRIC_SENSITIVE] + b];

    /* Month projection: this month's cost so far, scaled to the whole month by elapsed time
     * (integer micro-USD; __int128 keeps cost x seconds from overflowing). */
    int64_t month_start_s = month_first_day(today) * 86400;
    int64_t month_len_s = days_in_month(month) * 86400;
    int64_t elapsed_s = now_s - month_start_s;
    if (elapsed_s < 3600)
        elapsed_s = 3600; /* the first hour would extrapolate a single request to the month */
    int64_t projection = (int64_t)((__int128)cost_month * month_len_s / elapsed_s);

    buf_printf(out, "{\"now_ms\":%lld,\"uptime_s\":%lld,\"window_s\":%d,\"rps\":%.3f,",
               (long long)(now_us / 1000), (long long)((now_us - reg->start_us) / 1000000),
               METRICS_RATE_WINDOW_S, (double)win_req / METRICS_RATE_WINDOW_S);
    buf_printf(out,
               "\"requests_total\":%lld,\"self_hosted_total\":%lld,\"hosted_total\":%lld,"
               "\"no_backend_total\":%lld,\"errors_total\":%lld,",
               (long long)total, (long long)self, (long long)hosted,
               (long long)(total - self - hosted), (long long)errors);
    buf_printf(out,
               "\"self_hosted_share\":%.4f,\"sensitive_total\":%lld,"
               "\"sensitive_kept_local_total\":%lld,\"invariant_rejections_total\":%lld,",
               self + hosted ? (double)self / (double)(self + hosted) : 0.0,
               (long long)sensitive_total, (long long)sum[reg->off[METRIC_SENSITIVE_LOCAL]],
               (long long)sum[reg->off[METRIC_INVARIANT_REJECTED]]);
    put_usd(out, "cost_today_usd", cost_today);
    buf_appendc(out, ',');
    put_usd(out, "cost_month_usd", cost_month);
    buf_appendc(out, ',');
    put_usd(out, "cost_month_projection_usd", projection);
    buf_appendc(out, ',');
    put_usd(out, "cost_total_usd", cost_total);
    buf_appends(out, ",\"series\":{\"requests\":[");
    for (int k = 0; k < 60; k++)
        buf_printf(out, "%s%lld", k ? "," : "", (long long)series[k][0]);
    buf_appends(out, "],\"self_hosted\":[");
    for (int k = 0; k < 60; k++)
        buf_printf(out, "%s%lld", k ? "," : "", (long long)series[k][1]);
    buf_appends(out, "],\"hosted\":[");
    for (int k = 0; k < 60; k++)
        buf_printf(out, "%s%lld", k ? "," : "", (long long)series[k][2]);
    buf_appends(out, "],\"sensitive\":[");
    for (int k = 0; k < 60; k++)
        buf_printf(out, "%s%lld", k ? "," : "", (long long)series[k][3]);
    buf_appends(out, "]},\"backends\":[");
    for (size_t b = 0; b < nb; b++) {
        int64_t breq = 0, berr = 0;
        for (size_t r = 0; r < nr; r++) {
            for (size_t sc = 0; sc < NSTATUS; sc++) {
                int64_t v = sum[reg->off[METRIC_REQUESTS] + (b * nr + r) * NSTATUS + sc];
                breq += v;
                if (sc == 4)
                    berr += v;
            }
        }
        const int64_t *dur =
            &sum[reg->off[METRIC_REQUEST_DURATION] + b * reg->width[METRIC_REQUEST_DURATION]];
        const int64_t *tt = &sum[reg->off[METRIC_TTFT] + b * reg->width[METRIC_TTFT]];
        const struct bucket_def *bdd = &bucket_defs[BS_DURATION];
        const struct bucket_def *bdt = &bucket_defs[BS_TTFT];
        int circuit = (int)sum[reg->off[METRIC_CIRCUIT_STATE] + b];
        bool up = sum[reg->off[METRIC_BACKEND_UP] + b] != 0;
        if (b)
            buf_appendc(out, ',');
        buf_appends(out, "{\"name\":");
        buf_append_json_str(out, reg->backend_names[b], strlen(reg->backend_names[b]));
        buf_printf(out,
                   ",\"kind\":\"%s\",\"requests\":%lld,\"errors\":%lld,\"in_flight\":%lld,"
                   "\"queued\":%lld,\"up\":%s,\"circuit\":\"%s\",\"healthy\":%s,"
                   "\"retries\":%lld,\"failovers\":%lld,\"input_tokens\":%lld,"
                   "\"output_tokens\":%lld,",
                   reg->backend_self_hosted[b] ? "self_hosted" : "hosted", (long long)breq,
                   (long long)berr, (long long)sum[reg->off[METRIC_IN_FLIGHT] + b],
                   (long long)sum[reg->off[METRIC_QUEUED] + b], up ? "true" : "false",
                   metrics_circuit_name((enum metrics_circuit)circuit),
                   up && circuit == METRICS_CIRCUIT_CLOSED ? "true" : "false",
                   (long long)sum[reg->off[METRIC_RETRIES] + b],
                   (long long)sum[reg->off[METRIC_FAILOVERS] + b],
                   (long long)sum[reg->off[METRIC_INPUT_TOKENS] + b],
                   (long long)sum[reg->off[METRIC_OUTPUT_TOKENS] + b]);
        put_usd(out, "cost_usd", sum[reg->off[METRIC_COST] + b]);
        buf_appendc(out, ',');
        put_ms(out, "latency_avg_ms",
               dur[bdd->n + 2] ? (double)dur[bdd->n + 1] / (double)dur[bdd->n + 2] : -1);
        buf_appendc(out, ',');
        put_ms(out, "latency_p95_ms", hist_quantile(dur, bdd, 0.95));
        buf_appendc(out, ',');
        put_ms(out, "ttft_avg_ms",
               tt[bdt->n + 2] ? (double)tt[bdt->n + 1] / (double)tt[bdt->n + 2] : -1);
        buf_appendc(out, ',');
        put_ms(out, "ttft_p95_ms", hist_quantile(tt, bdt, 0.95));
        buf_appendc(out, '}');
    }
    /* Per routing rule (config order, then "none" and "other" when they saw traffic). */
    buf_appends(out, "],\"rules\":[");
    bool first = true;
    for (size_t r = 0; r < nr; r++) {
        int64_t rreq = 0, rself = 0, rhosted = 0, rerr = 0;
        for (size_t b = 0; b <= nb; b++) {
            for (size_t sc = 0; sc < NSTATUS; sc++) {
                int64_t v = sum[reg->off[METRIC_REQUESTS] + (b * nr + r) * NSTATUS + sc];
                rreq += v;
                if (b < nb)
                    *(reg->backend_self_hosted[b] ? &rself : &rhosted) += v;
                if (sc == 4)
                    rerr += v;
            }
        }
        if (r >= reg->nrules && rreq == 0)
            continue;
        const char *name = r < reg->nrules    ? reg->rule_names[r]
                           : r == reg->nrules ? "none"
                                              : "other";
        buf_appends(out, first ? "{\"name\":" : ",{\"name\":");
        first = false;
        buf_append_json_str(out, name, strlen(name));
        buf_printf(out, ",\"requests\":%lld,\"self_hosted\":%lld,\"hosted\":%lld,\"errors\":%lld}",
                   (long long)rreq, (long long)rself, (long long)rhosted, (long long)rerr);
    }
    buf_appends(out, "]}");
    free(sum);
    return finish(dst, &scratch);
}

/* ------------------------------------------------------------------------------------------ */
/* docs/metrics.md                                                                             */

int
metrics_doc_markdown(struct buf *dst)
{
    struct buf scratch;
    buf_init(&scratch, SCRATCH_MAX);
    struct buf *out = &scratch;
    buf_appends(out, "<!-- DO NOT EDIT — generated from src/metrics/metrics_list.h by "
                     "metrics_doc_markdown(); tests/unit/metrics checks it -->\n"
                     "# Metrics\n\n"
                     "`GET /metrics` serves these in the Prometheus text format (0.0.4). Every "
                     "metric is declared once in `src/metrics/metrics_list.h`; backend and rule "
                     "label values come from the config, so the label sets are fixed at startup. "
                     "`backend=\"none\"` counts requests that never reached a backend (rejected, "
                     "invalid); `rule=\"none\"` means no rule decided, `rule=\"other\"` a rule "
                     "name not known at startup. `kind` is `self_hosted`, `hosted` or `none`.\n\n"
                     "| name | type | labels | help |\n|---|---|---|---|\n");
    for (int id = 0; id < METRIC__COUNT; id++) {
        const struct metric_desc *md = &metric_descs[id];
        buf_printf(out, "| `%s` | %s | %s | %s |\n", md->name, metric_type_name(md->type),
                   md->labels[0] ? md->labels : "—", md->help);
    }
    buf_appends(out, "\nHistogram buckets (seconds):\n\n");
    static const struct {
        const char *what;
        enum bucket_set bs;
    } sets[] = {{"request_duration_seconds", BS_DURATION},
                {"time_to_first_token_seconds", BS_TTFT},
                {"scan_duration_seconds", BS_SCAN}};
    for (size_t i = 0; i < NELEM(sets); i++) {
        buf_printf(out, "- `%s`: ", sets[i].what);
        const struct bucket_def *bd = &bucket_defs[sets[i].bs];
        for (size_t j = 0; j < bd->n; j++) {
            if (j)
                buf_appends(out, ", ");
            put_scaled(out, bd->le[j], 1000000, true);
        }
        buf_appends(out, ", +Inf\n");
    }
    buf_appends(
        out,
        "\n## Configuration and endpoints\n\n"
        "```yaml\n"
        "admin_key_env: HYBRIDGATE_ADMIN_KEY  # /admin/... and the dashboard's data need this key\n"
        "access_log: /var/log/hybridgate/access.log   # or stdout (default), or off\n"
        "metrics:\n"
        "  enabled: true             # false: no counting and no /metrics\n"
        "  require_admin_key: false  # true: /metrics needs the admin key too (bearer token)\n"
        "dashboard:\n"
        "  enabled: true             # /ui\n"
        "```\n\n"
        "| endpoint | key | what |\n|---|---|---|\n"
        "| `GET /metrics` | only with `require_admin_key` | this list, Prometheus text format "
        "0.0.4 |\n"
        "| `GET /admin/stats` | admin | live stats JSON for the dashboard |\n"
        "| `GET /admin/economics` | admin | economics headline (what-if, recommendation), "
        "refreshed every minute (less often when computing it takes over 3 s: at most ~5 % of a "
        "core, at nice 10) |\n"
        "| `GET /ui` | — | the dashboard (static files; it asks for the admin key) |\n\n"
        "The key goes in `Authorization: Bearer <key>` or `X-Admin-Key`; without it the admin "
        "endpoints answer 401. A Prometheus scrape config for `require_admin_key: true`:\n\n"
        "```yaml\n"
        "scrape_configs:\n"
        "  - job_name: hybridgate\n"
        "    authorization: {type: Bearer, credentials_file: /etc/prometheus/hybridgate.key}\n"
        "    static_configs: [{targets: ['gateway:8080']}]\n"
        "```\n\n"
        "## Access log\n\n"
        "One JSON object per line per finished request, with the fields of the usage store's "
        "record (`struct req_record`): `time` (ISO 8601 UTC), `ts_us`, `request_id`, `key_id`, "
        "`team`, `endpoint`, `requested_model`, `model`, `rule`, `reason`, `backend`, "
        "`backend_kind`, `classes` (names of the sensitive-data classes found), `sensitive`, "
        "`stream`, `masked`, `status`, `attempts`, `input_tokens`, `output_tokens`, `ttft_us`, "
        "`total_us`, `scan_us`, `cost_micro_usd`, `error`. It never holds a prompt, a completion, "
        "a detected value or a key. Lines are written by a background thread in batches (at most "
        "~10 ms late); SIGHUP reopens the file for rotation; lines that cannot be queued are "
        "counted in `hybridgate_access_log_dropped_total`.\n");
    return finish(dst, &scratch);
}
