/* SPDX-License-Identifier: MIT */
/* The price table and the cost arithmetic behind meter.h. Prices are read once from `prices:`
 * into int64 micro-dollars; after that only integer arithmetic touches money. Ratios
 * (utilization, throughput) stay double because they are not money. */
#include "meter/meter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

struct model_entry {
    char *key;                /* "model" or "backend/model"; owned */
    struct meter_price price; /* per million tokens */
};

struct meter {
    struct model_entry *models; /* owned */
    int nmodels;                /* entries in models */
    struct meter_pool *pools;   /* owned */
    int64_t *pool_per_mtok;     /* meter_pool_per_mtok of each pool, computed once; owned */
    int npools;                 /* entries in pools */
};

/* 1e12 USD: far above any real figure, far below int64 overflow in micro-dollars (9.2e12 USD). */
#define USD_MAX 1e12

static int64_t
clamp128(__int128 v)
{
    if (v > METER_MONEY_MAX)
        return METER_MONEY_MAX;
    if (v < -METER_MONEY_MAX)
        return -METER_MONEY_MAX;
    return (int64_t)v;
}

int64_t
meter_sat(double v)
{
    if (!(v == v))
        return 0;
    if (v >= (double)METER_MONEY_MAX)
        return METER_MONEY_MAX;
    if (v <= -(double)METER_MONEY_MAX)
        return -METER_MONEY_MAX;
    return llround(v);
}

int64_t
meter_add(int64_t a, int64_t b)
{
    return clamp128((__int128)a + b);
}

int64_t
meter_mul(int64_t a, int64_t n)
{
    return clamp128((__int128)a * n);
}

int
meter_usd_parse(const struct cfg_node *n, int64_t *out, struct hg_err *err)
{
    double v;
    if (cfg_double(n, 0, USD_MAX, &v, err) < 0)
        return -1;
    *out = meter_sat(v * (double)METER_MICRO);
    return 0;
}

/* Rounded a*b/c for non-negative int64 operands whose product may exceed int64. */
static int64_t
muldiv(int64_t a, int64_t b, int64_t c)
{
    __int128 p = (__int128)a * b;
    return clamp128((p + c / 2) / c);
}

int64_t
meter_price_cost(const struct meter_price *pr, int64_t in_tokens, int64_t out_tokens)
{
    if (pr == NULL)
        return 0;
    /* the common case fits 64 bits (tokens and prices under 2^31 each: products under 2^62),
     * and skips a 128-bit division on the request path */
    if ((uint64_t)in_tokens < (1ULL << 31) && (uint64_t)out_tokens < (1ULL << 31) &&
        (uint64_t)pr->in_per_mtok < (1ULL << 31) && (uint64_t)pr->out_per_mtok < (1ULL << 31))
        return (in_tokens * pr->in_per_mtok + out_tokens * pr->out_per_mtok + 500000) / 1000000;
    __int128 t = (__int128)in_tokens * pr->in_per_mtok + (__int128)out_tokens * pr->out_per_mtok;
    return clamp128((t + 500000) / 1000000);
}

/* ---------------------------------------------------------------- pools */

int64_t
meter_pool_gpu_monthly(const struct meter_pool *p, int replicas)
{
    return meter_mul(p->replica_monthly_micro, replicas);
}

int64_t
meter_pool_people_monthly(const struct meter_pool *p)
{
    return muldiv(p->engineer_yearly_micro, p->engineers, 12);
}

int64_t
meter_pool_upgrade_monthly(const struct meter_pool *p)
{
    /* one engineer-quarter = yearly / 4; spread over the 6 months of the half year */
    return meter_sat((double)p->engineer_yearly_micro / 4.0 * p->upgrade_eq_per_half_year / 6.0);
}

int64_t
meter_pool_build_once(const struct meter_pool *p)
{
    return meter_sat((double)meter_pool_people_monthly(p) * p->build_months);
}

int
meter_pool_replicas_for(const struct meter_pool *p, double peak_tps)
{
    double per = p->replica_tokens_per_second * p->target_utilization;
    double need = per > 0 ? ceil(peak_tps / per - 1e-9) : 0;
    if (need > 1e6)
        need = 1e6;
    int r = (int)need;
    return r < p->min_replicas ? p->min_replicas : r;
}

int64_t
meter_pool_monthly(const struct meter_pool *p, int replicas)
{
    return meter_add(meter_add(meter_pool_gpu_monthly(p, replicas), meter_pool_people_monthly(p)),
                     meter_pool_upgrade_monthly(p));
}

int64_t
meter_pool_per_mtok(const struct meter_pool *p)
{
    double tokens = p->replicas * p->replica_tokens_per_second * p->target_utilization *
                    METER_SECONDS_PER_MONTH;
    if (tokens <= 0)
        return 0;
    return meter_sat((double)meter_pool_monthly(p, p->replicas) * 1e6 / tokens);
}

static const char *const pool_keys[] = {"gpu",
                                        "gpu_hour_usd",
                                        "gpus_per_replica",
                                        "replica_monthly_usd",
                                        "replica_tokens_per_second",
                                        "replicas",
                                        "min_replicas",
                                        "target_utilization",
                                        "engineers",
                                        "engineer_yearly_usd",
                                        "upgrade_engineer_quarters_per_half_year",
                                        "build_months",
                                        NULL};

int
meter_pool_parse(const struct cfg_node *map, const char *name, struct meter_pool *out,
                 struct hg_err *err)
{
    const struct cfg_node *n;
    long v;

    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    if (map == NULL || map->type != CFG_MAP)
        return map ? cfg_fail(map, err, "pool '%s': expected a mapping", name)
                   : hg_err_set(err, 0, HG_ERR_INVALID, NULL, "pool '%s': missing", name);
    if (cfg_check_keys(map, pool_keys, err) < 0)
        return -1;
    n = cfg_get(map, "gpu");
    if (n) {
        const char *s;
        if (cfg_want_scalar(n, err) < 0 || cfg_str(n, &s) < 0)
            return -1;
        snprintf(out->gpu, sizeof(out->gpu), "%s", s);
    }
    const struct cfg_node *ghour = cfg_get(map, "gpu_hour_usd");
    const struct cfg_node *gper = cfg_get(map, "gpus_per_replica");
    const struct cfg_node *rmon = cfg_get(map, "replica_monthly_usd");
    if (rmon && (ghour || gper))
        return cfg_fail(rmon, err,
                        "pool '%s': give either replica_monthly_usd or gpu_hour_usd with "
                        "gpus_per_replica, not both",
                        name);
    if (rmon) {
        if (meter_usd_parse(rmon, &out->replica_monthly_micro, err) < 0)
            return -1;
    } else if (ghour && gper) {
        int64_t hour;
        if (meter_usd_parse(ghour, &hour, err) < 0 || cfg_long(gper, 1, 1024, &v, err) < 0)
            return -1;
        out->replica_monthly_micro = meter_sat((double)hour * v * METER_HOURS_PER_MONTH);
    } else {
        return cfg_fail(ghour  ? ghour
                        : gper ? gper
                               : map,
                        err,
                        "pool '%s': needs replica_monthly_usd, or gpu_hour_usd and "
                        "gpus_per_replica",
                        name);
    }
    n = cfg_get(map, "replica_tokens_per_second");
    if (n == NULL)
        return cfg_fail(map, err, "pool '%s': needs replica_tokens_per_second (measured)", name);
    if (cfg_double(n, 0.001, 1e9, &out->replica_tokens_per_second, err) < 0)
        return -1;
    const struct cfg_node *rep = cfg_get(map, "replicas");
    const struct cfg_node *minr = cfg_get(map, "min_replicas");
    long r = 0;
    long mr = 0;
    if (rep && cfg_long(rep, 1, 100000, &r, err) < 0)
        return -1;
    if (minr && cfg_long(minr, 1, 100000, &mr, err) < 0)
        return -1;
    /* the deployed count includes redundancy, so it is the floor unless a floor is given */
    if (!rep)
        r = mr ? mr : 1;
    if (!minr)
        mr = r;
    if (mr > r)
        return cfg_fail(minr, err, "pool '%s': min_replicas (%ld) above replicas (%ld)", name, mr,
                        r);
    out->replicas = (int)r;
    out->min_replicas = (int)mr;
    out->target_utilization = 0.6;
    n = cfg_get(map, "target_utilization");
    if (n && cfg_double(n, 0.01, 1.0, &out->target_utilization, err) < 0)
        return -1;
    n = cfg_get(map, "engineers");
    if (n) {
        double e;
        if (cfg_double(n, 0, 10000, &e, err) < 0)
            return -1;
        if (e != floor(e))
            return cfg_fail(n, err, "'engineers' must be a whole number, got '%s'", n->value);
        out->engineers = (int)e;
    }
    n = cfg_get(map, "engineer_yearly_usd");
    if (n && meter_usd_parse(n, &out->engineer_yearly_micro, err) < 0)
        return -1;
    if (out->engineers > 0 && n == NULL)
        return cfg_fail(cfg_get(map, "engineers"), err,
                        "pool '%s': engineers given without engineer_yearly_usd", name);
    n = cfg_get(map, "upgrade_engineer_quarters_per_half_year");
    if (n && cfg_double(n, 0, 1000, &out->upgrade_eq_per_half_year, err) < 0)
        return -1;
    n = cfg_get(map, "build_months");
    if (n && cfg_double(n, 0, 120, &out->build_months, err) < 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- price table */

static int
parse_models(struct meter *m, const struct cfg_node *sec, struct hg_err *err)
{
    static const char *const keys[] = {"input", "output", NULL};
    if (sec->type != CFG_MAP)
        return cfg_fail(sec, err, "prices.models: expected a mapping of model: {input, output}");
    int n = 0;
    for (const struct cfg_node *c = sec->child; c; c = c->next)
        n++;
    m->models = xcalloc((size_t)n + 1, sizeof(*m->models));
    for (const struct cfg_node *c = sec->child; c; c = c->next) {
        if (c->type != CFG_MAP)
            return cfg_fail(c, err, "price of '%s': expected {input: USD/Mtok, output: USD/Mtok}",
                            c->key);
        if (cfg_check_keys(c, keys, err) < 0)
            return -1;
        const struct cfg_node *in = cfg_get(c, "input");
        const struct cfg_node *out = cfg_get(c, "output");
        if (in == NULL || out == NULL)
            return cfg_fail(c, err,
                            "price of '%s': needs both input and output (USD per "
                            "million tokens)",
                            c->key);
        struct model_entry *e = &m->models[m->nmodels];
        if (meter_usd_parse(in, &e->price.in_per_mtok, err) < 0 ||
            meter_usd_parse(out, &e->price.out_per_mtok, err) < 0)
            return -1;
        e->key = xstrdup(c->key);
        m->nmodels++;
    }
    return 0;
}

static int
parse_pools(struct meter *m, const struct config *cfg, const struct cfg_node *sec,
            struct hg_err *err)
{
    if (sec->type != CFG_MAP)
        return cfg_fail(sec, err, "prices.pools: expected a mapping of backend: {cost model}");
    int n = 0;
    for (const struct cfg_node *c = sec->child; c; c = c->next)
        n++;
    m->pools = xcalloc((size_t)n + 1, sizeof(*m->pools));
    m->pool_per_mtok = xcalloc((size_t)n + 1, sizeof(*m->pool_per_mtok));
    for (const struct cfg_node *c = sec->child; c; c = c->next) {
        int bi = config_backend_index(cfg, c->key);
        if (bi < 0)
            return cfg_fail(c, err, "prices.pools: no backend named '%s'", c->key);
        if (cfg->backends[bi].kind != BACKEND_SELF_HOSTED)
            return cfg_fail(c, err,
                            "prices.pools: backend '%s' is hosted; price its models under "
                            "prices.models",
                            c->key);
        if (meter_pool_parse(c, c->key, &m->pools[m->npools], err) < 0)
            return -1;
        m->pool_per_mtok[m->npools] = meter_pool_per_mtok(&m->pools[m->npools]);
        m->npools++;
    }
    return 0;
}

struct meter *
meter_new(const struct config *cfg, struct hg_err *err)
{
    static const char *const keys[] = {"models", "pools", NULL};
    struct meter *m = xcalloc(1, sizeof(*m));
    const struct cfg_node *sec = cfg_get(cfg->doc.root, "prices");
    if (sec == NULL)
        return m;
    if (sec->type != CFG_MAP) {
        cfg_fail(sec, err, "prices: expected a mapping with models: and pools:");
        goto fail;
    }
    if (cfg_check_keys(sec, keys, err) < 0)
        goto fail;
    const struct cfg_node *n = cfg_get(sec, "models");
    if (n && parse_models(m, n, err) < 0)
        goto fail;
    n = cfg_get(sec, "pools");
    if (n && parse_pools(m, cfg, n, err) < 0)
        goto fail;
    return m;
fail:
    meter_free(m);
    return NULL;
}

void
meter_free(struct meter *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->nmodels; i++)
        free(m->models[i].key);
    free(m->models);
    free(m->pools);
    free(m->pool_per_mtok);
    free(m);
}

const struct meter_price *
meter_model_price(const struct meter *m, const char *backend, const char *model)
{
    if (m == NULL || model == NULL)
        return NULL;
    size_t bl = backend ? strlen(backend) : 0;
    for (int i = 0; bl && i < m->nmodels; i++) {
        const char *k = m->models[i].key;
        if (!strncmp(k, backend, bl) && k[bl] == '/' && !strcmp(k + bl + 1, model))
            return &m->models[i].price;
    }
    for (int i = 0; i < m->nmodels; i++)
        if (!strcmp(m->models[i].key, model))
            return &m->models[i].price;
    return NULL;
}

const struct meter_pool *
meter_pool_find(const struct meter *m, const char *backend)
{
    if (m == NULL || backend == NULL)
        return NULL;
    for (int i = 0; i < m->npools; i++)
        if (!strcmp(m->pools[i].name, backend))
            return &m->pools[i];
    return NULL;
}

const struct meter_pool *
meter_pools(const struct meter *m, int *n)
{
    *n = m ? m->npools : 0;
    return m ? m->pools : NULL;
}

bool
meter_is_priced(const struct meter *m, const char *backend, const char *model)
{
    return meter_pool_find(m, backend) || meter_model_price(m, backend, model);
}

int64_t
meter_cost_micro_usd(const struct meter *m, const char *backend, const char *model,
                     int64_t in_tokens, int64_t out_tokens)
{
    const struct meter_pool *p = meter_pool_find(m, backend);
    if (p) {
        /* self-hosted: input and output tokens share the replica's throughput alike */
        int64_t per = m->pool_per_mtok[p - m->pools];
        struct meter_price pr = {per, per};
        return meter_price_cost(&pr, in_tokens, out_tokens);
    }
    return meter_price_cost(meter_model_price(m, backend, model), in_tokens, out_tokens);
}
