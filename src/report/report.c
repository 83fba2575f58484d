/* SPDX-License-Identifier: MIT */
/* The report's data side: reads the `economics:` section, aggregates store rows into groups and
 * hourly series, scales the observed window to a month, turns rules (or a plan's workloads) into
 * tco_workloads, and runs tco_eval on each. render.c prints the result. Lifecycle of a report:
 *   1. econ_load() reads options and thresholds from the config (or plan_load() from a plan);
 *   2. report_scan() folds every row of the window into the groups;
 *   3. report_evaluate() scales to a month and evaluates each rule and the whole;
 *   4. a renderer prints it; report_cleanup() frees it. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/cfgtree.h"
#include "report/report_int.h"

#define US_PER_HOUR 3600000000LL
#define US_PER_DAY (24 * US_PER_HOUR)

/* ---------------------------------------------------------------- groups */

static uint64_t
group_hash(const char *period, const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = period; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static struct rep_group *
table_find(const struct rep_table *t, const char *period, const char *key)
{
    if (t->nslots == 0)
        return NULL;
    for (size_t i = group_hash(period, key) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        int v = t->slots[i];
        if (v == 0)
            return NULL;
        struct rep_group *g = &t->v[v - 1];
        if (!strcmp(g->key, key) && !strcmp(g->period, period))
            return g;
    }
}

static void
table_index(struct rep_table *t, int idx)
{
    const struct rep_group *g = &t->v[idx];
    size_t i = group_hash(g->period, g->key) & (t->nslots - 1);
    while (t->slots[i] != 0)
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = idx + 1;
}

/* The group (period, key) of t, created when new; never NULL. Truncates long keys. */
static struct rep_group *
table_get2(struct rep_table *t, const char *period, const char *key)
{
    char k[128];
    snprintf(k, sizeof(k), "%s", key);
    struct rep_group *g = table_find(t, period, k);
    if (g)
        return g;
    if (t->n >= REP_MAX_GROUPS) {
        g = table_find(t, period, "(other)");
        if (g)
            return g;
        snprintf(k, sizeof(k), "(other)");
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = xrealloc(t->v, (size_t)t->cap * sizeof(*t->v));
        free(t->slots);
        t->nslots = 2 * (size_t)t->cap;
        t->slots = xcalloc(t->nslots, sizeof(*t->slots));
        for (int i = 0; i < t->n; i++)
            table_index(t, i);
    }
    g = &t->v[t->n];
    memset(g, 0, sizeof(*g));
    snprintf(g->period, sizeof(g->period), "%s", period);
    snprintf(g->key, sizeof(g->key), "%s", k);
    table_index(t, t->n++);
    return g;
}

static int
group_cmp(const void *a, const void *b)
{
    const struct rep_group *x = a;
    const struct rep_group *y = b;
    int c = strcmp(x->period, y->period);
    return c ? c : strcmp(x->key, y->key);
}

/* Orders t by period, then key, and re-indexes it: rows arrive in about time order only, and the
 * report must not depend on which came first. */
static void
table_sort(struct rep_table *t)
{
    if (t->n < 2)
        return;
    qsort(t->v, (size_t)t->n, sizeof(*t->v), group_cmp);
    memset(t->slots, 0, t->nslots * sizeof(*t->slots));
    for (int i = 0; i < t->n; i++)
        table_index(t, i);
}

static struct rep_group *
table_get(struct rep_table *t, const char *key)
{
    return table_get2(t, "", key);
}

static void
group_free(struct rep_group *g)
{
    free(g->hour_tokens);
    g->hour_tokens = NULL;
    g->nhours = 0;
}

static void
table_free(struct rep_table *t)
{
    for (int i = 0; i < t->n; i++)
        group_free(&t->v[i]);
    free(t->v);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static void
group_add(struct rep_group *g, const struct req_record *rec, int64_t hour, bool series)
{
    g->requests++;
    g->input_tokens += rec->input_tokens;
    g->output_tokens += rec->output_tokens;
    g->cost += rec->cost_micro_usd;
    if (rec->status >= 400)
        g->errors++;
    if (rec->sensitive)
        g->sensitive++;
    if (!strcmp(rec->backend_kind, "hosted"))
        g->hosted_cost += rec->cost_micro_usd;
    if (!series || hour < 0)
        return;
    if ((size_t)hour >= g->nhours) {
        size_t n = g->nhours ? g->nhours : 24;
        while (n <= (size_t)hour)
            n *= 2;
        g->hour_tokens = xrealloc(g->hour_tokens, n * sizeof(*g->hour_tokens));
        memset(g->hour_tokens + g->nhours, 0, (n - g->nhours) * sizeof(*g->hour_tokens));
        g->nhours = n;
    }
    g->hour_tokens[hour] += rec->input_tokens + rec->output_tokens;
}

void
report_cleanup(struct report *r)
{
    group_free(&r->total);
    table_free(&r->by_backend);
    table_free(&r->by_model);
    table_free(&r->by_rule);
    table_free(&r->by_team);
    table_free(&r->by_day);
    table_free(&r->by_month);
    for (int d = 0; d < REP_NDIMS; d++)
        for (int p = 0; p < REP_NPERIODS; p++)
            table_free(&r->cross[d][p]);
    free(r->items);
    r->items = NULL;
    r->nitems = 0;
}

/* ---------------------------------------------------------------- dates */

int
report_parse_date(const char *s, int64_t *out_us)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2)
            return -1;
        p += 1 + m;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &m) != 1)
                return -1;
            p += 1 + m;
        }
        if (*p == 'Z')
            p++;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out_us = (int64_t)timegm(&tm) * 1000000;
    return 0;
}

static void
fmt_day(int64_t us, char *buf, size_t n, bool month)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, month ? "%Y-%m" : "%Y-%m-%d", &tm);
}

/* ---------------------------------------------------------------- economics: */

/* Reads a hosted option: {model, provider?, input, output} (USD per million tokens), or
 * {model} priced from prices.models, or in a plan also {monthly_usd}. */
static int
option_parse(const struct cfg_node *n, const struct meter *m, bool plan, struct rep_option *o,
             struct hg_err *err)
{
    static const char *const keys[] = {"model", "provider", "input", "output", "monthly_usd", NULL};
    memset(o, 0, sizeof(*o));
    if (n == NULL)
        return 0;
    if (n->type != CFG_MAP)
        return cfg_fail(n, err,
                        "'%s': expected a mapping like {model: NAME, input: USD/Mtok, "
                        "output: USD/Mtok}",
                        n->key ? n->key : "option");
    if (cfg_check_keys(n, keys, err) < 0)
        return -1;
    const struct cfg_node *model = cfg_get(n, "model");
    const struct cfg_node *prov = cfg_get(n, "provider");
    const struct cfg_node *in = cfg_get(n, "input");
    const struct cfg_node *out = cfg_get(n, "output");
    const struct cfg_node *mon = cfg_get(n, "monthly_usd");
    if ((model && cfg_want_scalar(model, err) < 0) || (prov && cfg_want_scalar(prov, err) < 0))
        return -1;
    snprintf(o->label, sizeof(o->label), "%s%s%s", prov ? prov->value : "",
             prov && model ? " " : "", model ? model->value : (prov ? "" : n->key));
    o->present = true;
    if (mon) {
        if (!plan)
            return cfg_fail(mon, err,
                            "monthly_usd is for --plan files; price recorded traffic "
                            "per token (input, output)");
        if (in || out)
            return cfg_fail(mon, err, "give either monthly_usd or input/output, not both");
        return meter_usd_parse(mon, &o->monthly, err);
    }
    o->per_token = true;
    if (in || out) {
        if (!in || !out)
            return cfg_fail(in ? in : out, err,
                            "give both input and output (USD per million "
                            "tokens)");
        if (meter_usd_parse(in, &o->price.in_per_mtok, err) < 0 ||
            meter_usd_parse(out, &o->price.out_per_mtok, err) < 0)
            return -1;
        return 0;
    }
    const struct meter_price *p = model ? meter_model_price(m, NULL, model->value) : NULL;
    if (p == NULL)
        return cfg_fail(n, err,
                        "'%s' has no price: give input and output (USD per million "
                        "tokens)%s",
                        n->key, plan ? " or monthly_usd" : ", or price the model in prices.models");
    o->price = *p;
    return 0;
}

/* Reads cfg's economics: section into r (options, pool, thresholds, regulated rules). */
static int
econ_load(struct report *r, const struct config *cfg, const struct meter *m, struct hg_err *err)
{
    static const char *const keys[] = {"frontier",
                                       "hosted_open",
                                       "self_hosted",
                                       "regulated_rules",
                                       "min_hosted_spend_usd",
                                       "self_host_max_share",
                                       "bursty_peak_to_mean",
                                       NULL};
    tco_rules_init(&r->rules);
    const struct cfg_node *sec = cfg_get(cfg->doc.root, "economics");
    int npools;
    const struct meter_pool *pools = meter_pools(m, &npools);
    if (sec == NULL) {
        if (npools) {
            r->have_pool = true;
            r->pool = pools[0];
        }
        return 0;
    }
    if (sec->type != CFG_MAP)
        return cfg_fail(sec, err, "economics: expected a mapping");
    if (cfg_check_keys(sec, keys, err) < 0 || tco_rules_parse(sec, &r->rules, err) < 0)
        return -1;
    if (option_parse(cfg_get(sec, "frontier"), m, false, &r->frontier, err) < 0 ||
        option_parse(cfg_get(sec, "hosted_open"), m, false, &r->open, err) < 0)
        return -1;
    const struct cfg_node *sh = cfg_get(sec, "self_hosted");
    if (sh && sh->type == CFG_MAP && cfg_get(sh, "backend")) {
        const struct cfg_node *b = cfg_get(sh, "backend");
        if (sh->child->next != NULL)
            return cfg_fail(sh, err, "self_hosted: give either {backend: NAME} or a cost model");
        if (cfg_want_scalar(b, err) < 0)
            return -1;
        const struct meter_pool *p = meter_pool_find(m, b->value);
        if (p == NULL)
            return cfg_fail(b, err, "self_hosted: backend '%s' has no cost model in prices.pools",
                            b->value);
        r->have_pool = true;
        r->pool = *p;
    } else if (sh) {
        if (meter_pool_parse(sh, "self_hosted", &r->pool, err) < 0)
            return -1;
        r->have_pool = true;
    } else if (npools) {
        r->have_pool = true;
        r->pool = pools[0];
    }
    const struct cfg_node *reg = cfg_get(sec, "regulated_rules");
    if (reg) {
        if (reg->type != CFG_SEQ)
            return cfg_fail(reg, err, "regulated_rules: expected a list of rule names");
        for (const struct cfg_node *c = reg->child; c; c = c->next) {
            if (cfg_want_scalar(c, err) < 0)
                return -1;
            if (r->nregulated == 32)
                return cfg_fail(c, err, "regulated_rules: at most 32 rules");
            snprintf(r->regulated[r->nregulated++], 64, "%s", c->value);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- recorded traffic */

static int
scan_row(void *ctx, const struct req_record *rec)
{
    struct report *r = ctx;
    if (!r->h0_set) {
        r->h0_us = rec->ts_us - ((rec->ts_us % US_PER_HOUR) + US_PER_HOUR) % US_PER_HOUR;
        r->h0_set = true;
    }
    int64_t hour = rec->ts_us >= r->h0_us ? (rec->ts_us - r->h0_us) / US_PER_HOUR : -1;
    /* rows come in about time order: format the day and month once per hour, not per row */
    int64_t hour_start = rec->ts_us - ((rec->ts_us % US_PER_HOUR) + US_PER_HOUR) % US_PER_HOUR;
    if (hour_start != r->fmt_hour || r->day[0] == '\0') {
        fmt_day(rec->ts_us, r->day, sizeof(r->day), false);
        fmt_day(rec->ts_us, r->month, sizeof(r->month), true);
        r->fmt_hour = hour_start;
    }
    const char *day = r->day;
    const char *month = r->month;
    group_add(&r->total, rec, hour, true);
    group_add(table_get(&r->by_backend, rec->backend), rec, hour, false);
    group_add(table_get(&r->by_model, rec->model), rec, hour, false);
    group_add(table_get(&r->by_rule, rec->rule), rec, hour, true);
    group_add(table_get(&r->by_team, rec->team), rec, hour, false);
    group_add(table_get(&r->by_day, day), rec, hour, false);
    group_add(table_get(&r->by_month, month), rec, hour, false);
    const char *dims[REP_NDIMS] = {rec->backend, rec->model, rec->rule, rec->team};
    for (int d = 0; d < REP_NDIMS; d++) {
        group_add(table_get2(&r->cross[d][REP_PER_DAY], day, dims[d]), rec, hour, false);
        group_add(table_get2(&r->cross[d][REP_PER_MONTH], month, dims[d]), rec, hour, false);
    }
    if (rec->ts_us > r->last_ts)
        r->last_ts = rec->ts_us;
    return 0;
}

/* Peak hour over mean hour and busiest day over mean day of g over `hours` hours. */
static void
burstiness(const struct rep_group *g, size_t hours, double *peak_hour, double *peak_day)
{
    *peak_hour = *peak_day = 0;
    if (hours == 0 || g->requests == 0)
        return;
    int64_t sum = 0;
    int64_t maxh = 0;
    int64_t maxd = 0;
    int64_t day = 0;
    for (size_t h = 0; h < hours; h++) {
        int64_t t = h < g->nhours ? g->hour_tokens[h] : 0;
        sum += t;
        maxh = t > maxh ? t : maxh;
        day += t;
        if (h % 24 == 23 || h + 1 == hours) {
            maxd = day > maxd ? day : maxd;
            day = 0;
        }
    }
    if (sum == 0)
        return;
    double mean_h = (double)sum / (double)hours;
    double days = (double)hours / 24.0;
    *peak_hour = (double)maxh / mean_h;
    /* a window shorter than a day has one (partial) day: busiest = mean */
    *peak_day = days <= 1 ? 1.0 : (double)maxd / ((double)sum / days);
}

static bool
is_regulated(const struct report *r, const struct rep_group *g)
{
    for (int i = 0; i < r->nregulated; i++)
        if (!strcmp(r->regulated[i], g->key))
            return true;
    /* a rule whose traffic is mostly sensitive is the regulated path in practice */
    return g->requests > 0 && 2 * g->sensitive >= g->requests;
}

static int64_t
option_cost(const struct rep_option *o, double in, double out)
{
    if (!o->present)
        return -1;
    return meter_price_cost(&o->price, meter_sat(in), meter_sat(out));
}

static void
item_from_group(const struct report *r, const struct rep_group *g, double scale, size_t hours,
                struct rep_item *it)
{
    memset(it, 0, sizeof(*it));
    snprintf(it->w.name, sizeof(it->w.name), "%s", g->key[0] ? g->key : "(none)");
    it->w.requests = (double)g->requests * scale;
    it->w.input_tokens = (double)g->input_tokens * scale;
    it->w.output_tokens = (double)g->output_tokens * scale;
    burstiness(g, hours, &it->peak_hour_over_mean, &it->busiest_day_over_mean);
    it->w.peak_to_mean = it->peak_hour_over_mean < 1 ? 1 : it->peak_hour_over_mean;
    it->w.regulated = is_regulated(r, g);
    it->w.frontier_monthly = option_cost(&r->frontier, it->w.input_tokens, it->w.output_tokens);
    it->w.open_monthly = option_cost(&r->open, it->w.input_tokens, it->w.output_tokens);
    tco_eval(&it->w, r->have_pool ? &r->pool : NULL, &r->rules, &it->r);
}

/* Scales the window to a month and evaluates each rule and the whole. */
static void
report_evaluate(struct report *r, const struct meter *m)
{
    size_t hours = (size_t)((r->to_us - r->h0_us + US_PER_HOUR - 1) / US_PER_HOUR);
    if (hours == 0)
        hours = 1;
    r->window_hours = (double)hours;
    double scale = METER_HOURS_PER_MONTH / r->window_hours;
    r->nitems = r->by_rule.n;
    r->items = xcalloc((size_t)r->nitems + 1, sizeof(*r->items));
    for (int i = 0; i < r->by_rule.n; i++)
        item_from_group(r, &r->by_rule.v[i], scale, hours, &r->items[i]);
    item_from_group(r, &r->total, scale, hours, &r->all);
    snprintf(r->all.w.name, sizeof(r->all.w.name), "all traffic");
    r->all.w.regulated = false;
    tco_eval(&r->all.w, r->have_pool ? &r->pool : NULL, &r->rules, &r->all.r);
    /* hybrid as configured: the hosted bills as recorded plus the pools as deployed (their
     * cost does not depend on how busy they were) */
    int npools;
    const struct meter_pool *pools = meter_pools(m, &npools);
    r->pools_monthly = 0;
    for (int i = 0; i < npools; i++)
        r->pools_monthly =
            meter_add(r->pools_monthly, meter_pool_monthly(&pools[i], pools[i].replicas));
    int64_t self_recorded = r->total.cost - r->total.hosted_cost;
    r->hybrid_monthly =
        meter_add(meter_sat((double)r->total.hosted_cost * scale),
                  npools ? r->pools_monthly : meter_sat((double)self_recorded * scale));
}

/* ---------------------------------------------------------------- plan */

/* Reads a plan from the loaded doc (named `path` in messages) into r. 0 or -1 with err. */
static int
plan_load(struct report *r, const char *path, const struct cfg_doc *doc, struct hg_err *err)
{
    static const char *const top[] = {"workloads", "options", "decision", NULL};
    static const char *const wkeys[] = {
        "name", "requests_per_month", "input_tokens", "output_tokens", "regulated", "peak_to_mean",
        NULL};
    static const char *const okeys[] = {"frontier", "hosted_open", "self_hosted", NULL};
    static const char *const dkeys[] = {"min_hosted_spend_usd", "self_host_max_share",
                                        "bursty_peak_to_mean", NULL};
    const struct cfg_node *root = doc->root;
    if (root == NULL || root->type != CFG_MAP)
        return hg_err_set(err, 0, HG_ERR_INVALID, NULL,
                          "%s: expected workloads: and options:", path);
    if (cfg_check_keys(root, top, err) < 0)
        return -1;
    r->plan = true;
    snprintf(r->source, sizeof(r->source), "plan %s", path);
    tco_rules_init(&r->rules);
    const struct cfg_node *dec = cfg_get(root, "decision");
    if (dec && (cfg_check_keys(dec, dkeys, err) < 0 || tco_rules_parse(dec, &r->rules, err) < 0))
        return -1;
    const struct cfg_node *opts = cfg_get(root, "options");
    if (opts == NULL || opts->type != CFG_MAP)
        return cfg_fail(opts ? opts : root, err,
                        "the plan needs options: {frontier, "
                        "hosted_open, self_hosted}");
    if (cfg_check_keys(opts, okeys, err) < 0 ||
        option_parse(cfg_get(opts, "frontier"), NULL, true, &r->frontier, err) < 0 ||
        option_parse(cfg_get(opts, "hosted_open"), NULL, true, &r->open, err) < 0)
        return -1;
    const struct cfg_node *sh = cfg_get(opts, "self_hosted");
    if (sh) {
        if (meter_pool_parse(sh, "self_hosted", &r->pool, err) < 0)
            return -1;
        r->have_pool = true;
    }
    const struct cfg_node *wl = cfg_get(root, "workloads");
    if (wl == NULL || wl->type != CFG_SEQ || wl->child == NULL)
        return cfg_fail(wl ? wl : root, err, "the plan needs a non-empty workloads: list");
    int n = 0;
    for (const struct cfg_node *c = wl->child; c; c = c->next)
        n++;
    r->items = xcalloc((size_t)n, sizeof(*r->items));
    double all_tokens = 0;
    double all_peak = 0;
    for (const struct cfg_node *c = wl->child; c; c = c->next) {
        struct rep_item *it = &r->items[r->nitems++];
        struct tco_workload *w = &it->w;
        double in = 0;
        double out = 0;
        if (c->type != CFG_MAP)
            return cfg_fail(c, err,
                            "each workload is a mapping with name, requests_per_month, "
                            "input_tokens, output_tokens");
        if (cfg_check_keys(c, wkeys, err) < 0)
            return -1;
        const struct cfg_node *v = cfg_get(c, "name");
        if (v == NULL || cfg_want_scalar(v, err) < 0)
            return v ? -1 : cfg_fail(c, err, "workload is missing 'name'");
        snprintf(w->name, sizeof(w->name), "%s", v->value);
        v = cfg_get(c, "requests_per_month");
        if (v == NULL)
            return cfg_fail(c, err, "workload '%s' is missing 'requests_per_month'", w->name);
        if (cfg_double(v, 0, 1e15, &w->requests, err) < 0)
            return -1;
        if ((v = cfg_get(c, "input_tokens")) && cfg_double(v, 0, 1e9, &in, err) < 0)
            return -1;
        if ((v = cfg_get(c, "output_tokens")) && cfg_double(v, 0, 1e9, &out, err) < 0)
            return -1;
        if (in + out <= 0)
            return cfg_fail(c, err,
                            "workload '%s' needs input_tokens and/or output_tokens per "
                            "request",
                            w->name);
        w->input_tokens = w->requests * in;
        w->output_tokens = w->requests * out;
        w->peak_to_mean = 1;
        if ((v = cfg_get(c, "peak_to_mean")) && cfg_double(v, 1, 1e6, &w->peak_to_mean, err) < 0)
            return -1;
        if ((v = cfg_get(c, "regulated")) && cfg_bool(v, &w->regulated, err) < 0)
            return -1;
        all_tokens += w->input_tokens + w->output_tokens;
        all_peak += (w->input_tokens + w->output_tokens) * w->peak_to_mean;
    }
    /* A monthly figure covers the whole plan; each workload carries its share of the tokens. */
    memset(&r->all, 0, sizeof(r->all));
    snprintf(r->all.w.name, sizeof(r->all.w.name), "all workloads");
    for (int i = 0; i < r->nitems; i++) {
        struct tco_workload *w = &r->items[i].w;
        double share = all_tokens > 0 ? (w->input_tokens + w->output_tokens) / all_tokens : 0;
        w->frontier_monthly = !r->frontier.present ? -1
                              : r->frontier.per_token
                                  ? option_cost(&r->frontier, w->input_tokens, w->output_tokens)
                                  : meter_sat((double)r->frontier.monthly * share);
        w->open_monthly = !r->open.present ? -1
                          : r->open.per_token
                              ? option_cost(&r->open, w->input_tokens, w->output_tokens)
                              : meter_sat((double)r->open.monthly * share);
        tco_eval(w, r->have_pool ? &r->pool : NULL, &r->rules, &r->items[i].r);
        r->all.w.requests += w->requests;
        r->all.w.input_tokens += w->input_tokens;
        r->all.w.output_tokens += w->output_tokens;
    }
    struct tco_workload *a = &r->all.w;
    a->peak_to_mean = all_tokens > 0 ? all_peak / all_tokens : 1; /* peaks assumed to coincide */
    a->frontier_monthly = !r->frontier.present ? -1
                          : r->frontier.per_token
                              ? option_cost(&r->frontier, a->input_tokens, a->output_tokens)
                              : r->frontier.monthly;
    a->open_monthly = !r->open.present    ? -1
                      : r->open.per_token ? option_cost(&r->open, a->input_tokens, a->output_tokens)
                                          : r->open.monthly;
    tco_eval(a, r->have_pool ? &r->pool : NULL, &r->rules, &r->all.r);
    r->hybrid_monthly = -1;
    return 0;
}

/* ---------------------------------------------------------------- entry points */

/* Loads prices and economics from cfg and scans [from,to) of s into r. */
static int
report_build(struct report *r, const struct config *cfg, struct store *s, int64_t from_us,
             int64_t to_us, bool window_given, struct hg_err *err)
{
    int ret = -1;
    struct meter *m = meter_new(cfg, err);
    if (m == NULL)
        return -1;
    if (econ_load(r, cfg, m, err) < 0)
        goto out;
    if (window_given) {
        r->h0_us = from_us;
        r->h0_set = true;
    } else {
        /* rows are not promised in time order: the hour series starts at the oldest row */
        int64_t lo, hi;
        int rc = store_time_range(s, &lo, &hi, err);
        if (rc < 0)
            goto out;
        if (rc > 0) {
            r->h0_us = lo - ((lo % US_PER_HOUR) + US_PER_HOUR) % US_PER_HOUR;
            r->h0_set = true;
        }
    }
    if (store_scan(s, from_us, to_us, scan_row, r, err) < 0)
        goto out;
    struct rep_table *tables[] = {&r->by_backend, &r->by_model, &r->by_rule,
                                  &r->by_team,    &r->by_day,   &r->by_month};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        table_sort(tables[i]);
    for (int d = 0; d < REP_NDIMS; d++)
        for (int p = 0; p < REP_NPERIODS; p++)
            table_sort(&r->cross[d][p]);
    if (window_given) {
        /* the window asked for, empty hours included */
        r->from_us = from_us;
        r->to_us = to_us;
    } else if (r->total.requests == 0) {
        r->from_us = r->to_us = r->h0_us = 0;
    } else {
        r->from_us = r->h0_us;
        r->to_us = r->last_ts + 1;
    }
    report_evaluate(r, m);
    ret = 0;
out:
    meter_free(m);
    return ret;
}

/* "frontier USD 80,000 · hosted-open USD 9,000 · self-hosted USD 74,500" for a/month */
static void
what_if_line(const struct report *r, const struct rep_item *it, struct buf *out)
{
    char a[48];
    char line[256];
    size_t n = 0;
    line[0] = '\0';
    if (it->w.frontier_monthly >= 0)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "frontier %s",
                              tco_usd(it->w.frontier_monthly, a, sizeof(a)));
    if (it->w.open_monthly >= 0 && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%shosted-open %s", n ? ", " : "",
                              tco_usd(it->w.open_monthly, a, sizeof(a)));
    if (r->have_pool && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%sself-hosted all-in %s", n ? ", " : "",
                              tco_usd(it->r.self_total, a, sizeof(a)));
    if (n < sizeof(line))
        snprintf(line + n, sizeof(line) - n, "%s", n ? " a month" : "no options configured");
    buf_append_json_str(out, line, strlen(line));
}

static void
json_usd_or_null(struct buf *out, const char *key, int64_t v, bool present)
{
    buf_printf(out, ",\"%s\":", key);
    if (present)
        report_json_usd(out, v);
    else
        buf_appends(out, "null");
}

int
report_headline_json(const struct config *cfg, struct store *s, int64_t from_us, int64_t to_us,
                     struct buf *out, struct hg_err *err)
{
    struct report r;
    char a[48];
    char b[48];
    char sentence[768];
    memset(&r, 0, sizeof(r));
    if (report_build(&r, cfg, s, from_us, to_us, true, err) < 0) {
        report_cleanup(&r);
        return -1;
    }
    buf_printf(out,
               "{\"available\":true,\"window_hours\":%.0f,\"requests\":%lld,\"input_tokens\":%lld,"
               "\"output_tokens\":%lld,\"peak_hour_over_mean\":%.4f,"
               "\"busiest_day_over_mean\":%.4f,\"spend_usd\":",
               r.window_hours, (long long)r.total.requests, (long long)r.total.input_tokens,
               (long long)r.total.output_tokens, r.all.peak_hour_over_mean,
               r.all.busiest_day_over_mean);
    report_json_usd(out, r.total.cost);
    buf_appends(out, ",\"monthly\":{\"hybrid_usd\":");
    report_json_usd(out, r.hybrid_monthly);
    json_usd_or_null(out, "frontier_usd", r.all.w.frontier_monthly, r.all.w.frontier_monthly >= 0);
    json_usd_or_null(out, "hosted_open_usd", r.all.w.open_monthly, r.all.w.open_monthly >= 0);
    json_usd_or_null(out, "self_hosted_usd", r.all.r.self_total, r.have_pool);
    buf_printf(out, "},\"recommendation\":\"%s\",\"reason\":", tco_choice_name(r.all.r.choice));
    buf_append_json_str(out, r.all.r.reason, strlen(r.all.r.reason));
    if (r.total.requests == 0)
        snprintf(sentence, sizeof(sentence), "No requests recorded in the last %.0f hours.",
                 r.window_hours);
    else
        snprintf(sentence, sizeof(sentence),
                 "%lld requests in the last %.0f hours; as a month: hybrid as configured %s, "
                 "all self-hosted %s. Recommendation for all traffic: %s.",
                 (long long)r.total.requests, r.window_hours,
                 tco_usd(r.hybrid_monthly, a, sizeof(a)),
                 r.have_pool ? tco_usd(r.all.r.self_total, b, sizeof(b)) : "(no cost model)",
                 tco_choice_name(r.all.r.choice));
    buf_appends(out, ",\"headline\":");
    buf_append_json_str(out, sentence, strlen(sentence));
    buf_appends(out, ",\"rules\":[");
    for (int i = 0; i < r.nitems; i++) {
        const struct rep_item *it = &r.items[i];
        char rec[640];
        snprintf(rec, sizeof(rec), "%s: %s", tco_choice_name(it->r.choice), it->r.reason);
        buf_appends(out, i ? ",{\"rule\":" : "{\"rule\":");
        buf_append_json_str(out, it->w.name, strlen(it->w.name));
        buf_appends(out, ",\"what_if\":");
        what_if_line(&r, it, out);
        buf_printf(out, ",\"choice\":\"%s\",\"recommendation\":", tco_choice_name(it->r.choice));
        buf_append_json_str(out, rec, strlen(rec));
        buf_appendc(out, '}');
    }
    int rc = buf_appends(out, "]}");
    report_cleanup(&r);
    return rc;
}

static void
render(const struct report *r, const char *format, struct buf *out)
{
    if (!strcmp(format, "json"))
        report_render_json(r, out);
    else if (!strcmp(format, "html"))
        report_render_html(r, out);
    else
        report_render_text(r, out);
}

int
report_plan_str(const char *name, const char *text, size_t len, const char *format, struct buf *out,
                struct hg_err *err)
{
    struct report r;
    struct cfg_doc doc;
    int rc = -1;
    memset(&r, 0, sizeof(r));
    memset(&doc, 0, sizeof(doc));
    if (cfg_doc_load_str(&doc, name, text, len, err) < 0 || plan_load(&r, name, &doc, err) < 0)
        goto out;
    render(&r, format, out);
    rc = 0;
out:
    cfg_doc_cleanup(&doc);
    report_cleanup(&r);
    return rc;
}

static int
usage_err(const char *msg)
{
    fprintf(stderr,
            "report: %s\nusage: hybridgate report [-c FILE] [--plan FILE] [--from DATE] "
            "[--to DATE] [--format text|json|html]\n",
            msg);
    return 2;
}

int
report_cli_main(int argc, char **argv)
{
    const char *cfg_path = NULL;
    const char *plan = NULL;
    const char *format = "text";
    const char *from_s = NULL;
    const char *to_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "-c") || !strcmp(a, "--config") ? &cfg_path
                           : !strcmp(a, "--plan")                     ? &plan
                           : !strcmp(a, "--format")                   ? &format
                           : !strcmp(a, "--from")                     ? &from_s
                           : !strcmp(a, "--to")                       ? &to_s
                                                                      : NULL;
        if (dst == NULL) {
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown argument '%s'", a);
            return usage_err(msg);
        }
        if (i + 1 >= argc)
            return usage_err("an option is missing its value");
        *dst = argv[++i];
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "html"))
        return usage_err("--format is text, json or html");
    int64_t from_us = INT64_MIN / 2;
    int64_t to_us = INT64_MAX / 2;
    if (from_s && report_parse_date(from_s, &from_us) < 0)
        return usage_err("--from: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]");
    if (to_s && report_parse_date(to_s, &to_us) < 0)
        return usage_err("--to: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]");
    if ((from_s == NULL) != (to_s == NULL) && from_s == NULL)
        return usage_err("--to needs --from");
    if (from_s && !to_s) {
        /* an open end means "until now" */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        to_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    if (to_us <= from_us)
        return usage_err("--to must be after --from");

    struct report r;
    struct hg_err err = {0};
    struct config cfg;
    struct cfg_doc doc;
    struct store *s = NULL;
    struct buf out;
    bool have_cfg = false;
    int rc = 1;
    memset(&r, 0, sizeof(r));
    memset(&doc, 0, sizeof(doc));
    buf_init(&out, (size_t)1 << 30);
    if (plan) {
        if (cfg_doc_load_file(&doc, plan, &err) < 0 || plan_load(&r, plan, &doc, &err) < 0)
            goto out;
    } else {
        if (config_load(&cfg, cfg_path, &err) < 0)
            goto out;
        have_cfg = true;
        s = store_open(cfg_get(cfg.doc.root, "store"), &err);
        if (s == NULL)
            goto out;
        snprintf(r.source, sizeof(r.source), "%s store", store_kind_name(s));
        if (report_build(&r, &cfg, s, from_us, to_us, from_s != NULL, &err) < 0)
            goto out;
    }
    render(&r, format, &out);
    fwrite(out.p, 1, out.len, stdout);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    store_close(s);
    if (have_cfg)
        config_cleanup(&cfg);
    cfg_doc_cleanup(&doc);
    report_cleanup(&r);
    buf_cleanup(&out);
    return rc;
}
