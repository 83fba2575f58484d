/* SPDX-License-Identifier: MIT */
/* Prints a computed report (report_int.h) as text for a terminal, JSON for scripts and the
 * dashboard, or one self-contained HTML page whose charts are inline SVG (no script, no network).
 * Money arrives as int64 micro-dollars and is printed with integer arithmetic. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_int.h"

void
report_json_usd(struct buf *out, int64_t micro)
{
    int64_t cents = (micro >= 0 ? micro + 5000 : micro - 5000) / 10000;
    int64_t a = cents < 0 ? -cents : cents;
    buf_printf(out, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "", a / 100, a % 100);
}

static void
fmt_time(int64_t us, char *buf, size_t n)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
}

/* 1234567 -> "1.23M" */
static const char *
human(double v, char *buf, size_t n)
{
    const char *unit = "";
    double a = fabs(v);
    if (a >= 1e12) {
        v /= 1e12;
        unit = "T";
    } else if (a >= 1e9) {
        v /= 1e9;
        unit = "G";
    } else if (a >= 1e6) {
        v /= 1e6;
        unit = "M";
    } else if (a >= 1e4) {
        v /= 1e3;
        unit = "k";
    }
    if (*unit)
        snprintf(buf, n, "%.3g%s", v, unit);
    else
        snprintf(buf, n, "%.0f", v);
    return buf;
}

static const char *
usd(int64_t micro, char *buf, size_t n)
{
    return tco_usd(micro, buf, n);
}

/* Spend of a group with cents when small (recorded test traffic costs fractions of a dollar). */
static const char *
spend(int64_t micro, char *buf, size_t n)
{
    if (micro < 100 * METER_MICRO && micro > -100 * METER_MICRO) {
        int64_t a = micro < 0 ? -micro : micro;
        snprintf(buf, n, "%sUSD %" PRId64 ".%06" PRId64, micro < 0 ? "-" : "",
                 (int64_t)(a / METER_MICRO), (int64_t)(a % METER_MICRO));
        return buf;
    }
    return tco_usd(micro, buf, n);
}

/* the first REP_NDIMS are also the cross-tab dimensions, in enum rep_dim order */
static const char *const section_names[] = {"backend", "model", "rule", "team", "day", "month"};
static const char *const period_names[] = {"day", "month"};

static const struct rep_table *
section_table(const struct report *r, int i)
{
    const struct rep_table *t[] = {&r->by_backend, &r->by_model, &r->by_rule,
                                   &r->by_team,    &r->by_day,   &r->by_month};
    return t[i];
}

/* ---------------------------------------------------------------- text */

/* Spaces after a label so the figures line up; at least 1. */
static int
pad(size_t width, const char *label)
{
    size_t n = strlen(label);
    return n < width ? (int)(width - n) : 1;
}

static void
text_item(const struct report *r, const struct rep_item *it, struct buf *o)
{
    char a[48];
    char b[48];
    char c[48];
    char d[48];
    const struct tco_workload *w = &it->w;
    const struct tco_result *x = &it->r;
    buf_printf(o, "\n== %s ==\n", w->name);
    buf_printf(o, "  volume: %s requests, %s input + %s output tokens a month; peak %.2fx mean%s\n",
               human(w->requests, a, sizeof(a)), human(w->input_tokens, b, sizeof(b)),
               human(w->output_tokens, c, sizeof(c)), w->peak_to_mean,
               w->regulated ? "; regulated" : "");
    if (!r->plan)
        buf_printf(o,
                   "  burstiness: peak hour %.2fx the mean hour, busiest day %.2fx the mean day\n",
                   it->peak_hour_over_mean, it->busiest_day_over_mean);
    buf_appends(o, "  what-if, per month:\n");
    if (w->frontier_monthly >= 0)
        buf_printf(o, "    frontier (%s)%*s %s\n", r->frontier.label, pad(28, r->frontier.label),
                   "", usd(w->frontier_monthly, a, sizeof(a)));
    if (w->open_monthly >= 0)
        buf_printf(o, "    hosted-open (%s)%*s %s\n", r->open.label, pad(25, r->open.label), "",
                   usd(w->open_monthly, a, sizeof(a)));
    if (r->have_pool) {
        buf_printf(o, "    self-hosted, all-in                     %s\n",
                   usd(x->self_total, a, sizeof(a)));
        buf_printf(o,
                   "      GPUs %s (%d replicas x %s, sized for a peak of %.0f tokens/s at "
                   "%.0f%% utilization, min %d)\n",
                   usd(x->self_gpu, a, sizeof(a)), x->replicas,
                   usd(r->pool.replica_monthly_micro, b, sizeof(b)), x->peak_tps,
                   100 * r->pool.target_utilization, r->pool.min_replicas);
        buf_printf(o, "      engineers %s (%d x %s a year), upgrades %s; build %s once\n",
                   usd(x->self_people, a, sizeof(a)), r->pool.engineers,
                   usd(r->pool.engineer_yearly_micro, b, sizeof(b)),
                   usd(x->self_upgrade, c, sizeof(c)), usd(x->self_build_once, d, sizeof(d)));
    }
    buf_appends(o, "  break-even:\n");
    buf_printf(o, "    vs frontier:    %s\n", x->be_frontier.why);
    buf_printf(o, "    vs hosted-open: %s\n", x->be_open.why);
    buf_printf(o, "  recommendation: %s\n    because %s\n", tco_choice_name(x->choice), x->reason);
}

int
report_render_text(const struct report *r, struct buf *o)
{
    char a[48];
    char b[48];
    char c[48];
    char d[48];
    buf_printf(o, "hybridgate report: %s\n", r->source);
    if (!r->plan) {
        char f[32];
        char t[32];
        fmt_time(r->from_us, f, sizeof(f));
        fmt_time(r->to_us, t, sizeof(t));
        if (r->total.requests == 0 && r->from_us == 0)
            return buf_appends(o, "no requests recorded yet\n");
        buf_printf(o, "window: %s to %s UTC (%.0f hours; monthly figures scale it to %.0f hours)\n",
                   f, t, r->window_hours, METER_HOURS_PER_MONTH);
        buf_printf(o,
                   "totals: %" PRId64 " requests (%" PRId64 " errors), %" PRId64
                   " input tokens, %" PRId64 " output tokens, spend %s\n",
                   r->total.requests, r->total.errors, r->total.input_tokens,
                   r->total.output_tokens, spend(r->total.cost, a, sizeof(a)));
        for (int s = 0; s < 6; s++) {
            const struct rep_table *tb = section_table(r, s);
            if (tb->n == 0)
                continue;
            buf_printf(o, "\nby %s:\n  %-32s %10s %14s %14s %18s\n", section_names[s],
                       section_names[s], "requests", "input", "output", "spend");
            for (int i = 0; i < tb->n; i++) {
                const struct rep_group *g = &tb->v[i];
                buf_printf(o, "  %-32s %10" PRId64 " %14" PRId64 " %14" PRId64 " %18s\n",
                           g->key[0] ? g->key : "(none)", g->requests, g->input_tokens,
                           g->output_tokens, spend(g->cost, b, sizeof(b)));
            }
        }
        /* cross-tabs: every dimension per month, and backends per day */
        for (int dim = 0; dim < REP_NDIMS; dim++) {
            for (int p = REP_NPERIODS - 1; p >= 0; p--) {
                const struct rep_table *tb = &r->cross[dim][p];
                if (tb->n == 0 || (p == REP_PER_DAY && dim != REP_DIM_BACKEND))
                    continue;
                buf_printf(o, "\nby %s per %s:\n  %-10s %-32s %10s %14s %14s %18s\n",
                           section_names[dim], period_names[p], period_names[p], section_names[dim],
                           "requests", "input", "output", "spend");
                for (int i = 0; i < tb->n; i++) {
                    const struct rep_group *g = &tb->v[i];
                    buf_printf(o, "  %-10s %-32s %10" PRId64 " %14" PRId64 " %14" PRId64 " %18s\n",
                               g->period, g->key[0] ? g->key : "(none)", g->requests,
                               g->input_tokens, g->output_tokens, spend(g->cost, b, sizeof(b)));
                }
            }
        }
        buf_printf(o,
                   "\nburstiness: peak hour %.2fx the mean hour, busiest day %.2fx the mean "
                   "day\n",
                   r->all.peak_hour_over_mean, r->all.busiest_day_over_mean);
        buf_printf(o, "\nwhat-if for the same traffic, per month:\n");
        buf_printf(o,
                   "  hybrid as configured                  %s (hosted bills as recorded + "
                   "self-hosted pools as deployed %s)\n",
                   usd(r->hybrid_monthly, a, sizeof(a)), usd(r->pools_monthly, b, sizeof(b)));
    }
    if (r->plan || r->nitems != 1) {
        for (int i = 0; i < r->nitems; i++)
            text_item(r, &r->items[i], o);
    }
    if (!r->plan || r->nitems > 1)
        text_item(r, &r->all, o);
    if (r->nitems > 0) {
        buf_appends(o, "\nrecommendation per ");
        buf_appends(o, r->plan ? "workload:\n" : "rule:\n");
        for (int i = 0; i < r->nitems; i++)
            buf_printf(o, "  %-28s %-12s %s\n", r->items[i].w.name,
                       tco_choice_name(r->items[i].r.choice), r->items[i].r.reason);
    }
    (void)c;
    (void)d;
    return 0;
}

/* ---------------------------------------------------------------- JSON */

static void
json_key_usd(struct buf *o, const char *key, int64_t micro, bool present)
{
    buf_printf(o, "\"%s\":", key);
    if (present)
        report_json_usd(o, micro);
    else
        buf_appends(o, "null");
}

static void
json_breakeven(struct buf *o, const struct tco_breakeven *be)
{
    buf_printf(o, "{\"kind\":\"%s\"",
               be->kind == TCO_BE_AT     ? "at"
               : be->kind == TCO_BE_NONE ? "none"
                                         : "no_option");
    if (be->kind == TCO_BE_AT) {
        buf_printf(o, ",\"requests_per_month\":%.0f,\"volume_factor\":%.4f,\"replicas\":%d,",
                   be->requests, be->factor, be->replicas);
        json_key_usd(o, "monthly_usd", be->monthly, true);
    }
    buf_appends(o, ",\"why\":");
    buf_append_json_str(o, be->why, strlen(be->why));
    buf_appendc(o, '}');
}

static void
json_item(const struct report *r, const struct rep_item *it, struct buf *o)
{
    const struct tco_workload *w = &it->w;
    const struct tco_result *x = &it->r;
    buf_appends(o, "{\"name\":");
    buf_append_json_str(o, w->name, strlen(w->name));
    buf_printf(o,
               ",\"requests_per_month\":%.0f,\"input_tokens_per_month\":%.0f,"
               "\"output_tokens_per_month\":%.0f,\"peak_to_mean\":%.4f,\"regulated\":%s,",
               w->requests, w->input_tokens, w->output_tokens, w->peak_to_mean,
               w->regulated ? "true" : "false");
    if (!r->plan)
        buf_printf(o, "\"peak_hour_over_mean\":%.4f,\"busiest_day_over_mean\":%.4f,",
                   it->peak_hour_over_mean, it->busiest_day_over_mean);
    json_key_usd(o, "frontier_usd", w->frontier_monthly, w->frontier_monthly >= 0);
    buf_appendc(o, ',');
    json_key_usd(o, "hosted_open_usd", w->open_monthly, w->open_monthly >= 0);
    buf_appends(o, ",\"self_hosted\":");
    if (r->have_pool) {
        buf_printf(o, "{\"replicas\":%d,\"peak_tokens_per_second\":%.1f,", x->replicas,
                   x->peak_tps);
        json_key_usd(o, "gpu_usd", x->self_gpu, true);
        buf_appendc(o, ',');
        json_key_usd(o, "engineers_usd", x->self_people, true);
        buf_appendc(o, ',');
        json_key_usd(o, "upgrades_usd", x->self_upgrade, true);
        buf_appendc(o, ',');
        json_key_usd(o, "total_usd", x->self_total, true);
        buf_appendc(o, ',');
        json_key_usd(o, "build_once_usd", x->self_build_once, true);
        buf_printf(o, ",\"dominant\":\"%s\"}", x->self_dominant);
    } else {
        buf_appends(o, "null");
    }
    buf_appends(o, ",\"break_even\":{\"frontier\":");
    json_breakeven(o, &x->be_frontier);
    buf_appends(o, ",\"hosted_open\":");
    json_breakeven(o, &x->be_open);
    buf_printf(o, "},\"recommendation\":\"%s\",\"reason\":", tco_choice_name(x->choice));
    buf_append_json_str(o, x->reason, strlen(x->reason));
    buf_appendc(o, '}');
}

static void
json_group(struct buf *o, const struct rep_group *g)
{
    buf_appendc(o, '{');
    if (g->period[0])
        buf_printf(o, "\"period\":\"%s\",", g->period);
    buf_appends(o, "\"key\":");
    buf_append_json_str(o, g->key, strlen(g->key));
    buf_printf(o,
               ",\"requests\":%" PRId64 ",\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64
               ",\"errors\":%" PRId64 ",",
               g->requests, g->input_tokens, g->output_tokens, g->errors);
    json_key_usd(o, "spend_usd", g->cost, true);
    buf_printf(o, ",\"spend_micro_usd\":%" PRId64 "}", g->cost);
}

int
report_render_json(const struct report *r, struct buf *o)
{
    buf_appends(o, "{\"source\":");
    buf_append_json_str(o, r->source, strlen(r->source));
    if (r->plan) {
        buf_appends(o, ",\"plan\":true,\"store\":null");
    } else {
        const char *kind = !strncmp(r->source, "postgresql", 10) ? "postgresql" : "sqlite";
        buf_printf(o,
                   ",\"plan\":false,\"store\":\"%s\",\"window\":{\"from_us\":%" PRId64
                   ",\"to_us\":%" PRId64 ",\"hours\":%.0f,\"month_hours\":%.0f}",
                   kind, r->from_us, r->to_us, r->window_hours, METER_HOURS_PER_MONTH);
        buf_appends(o, ",\"totals\":");
        json_group(o, &r->total);
        for (int s = 0; s < 6; s++) {
            const struct rep_table *t = section_table(r, s);
            buf_printf(o, ",\"by_%s\":[", section_names[s]);
            for (int i = 0; i < t->n; i++) {
                if (i)
                    buf_appendc(o, ',');
                json_group(o, &t->v[i]);
            }
            buf_appendc(o, ']');
        }
        for (int d = 0; d < REP_NDIMS; d++) {
            for (int p = 0; p < REP_NPERIODS; p++) {
                const struct rep_table *t = &r->cross[d][p];
                buf_printf(o, ",\"by_%s_per_%s\":[", section_names[d], period_names[p]);
                for (int i = 0; i < t->n; i++) {
                    if (i)
                        buf_appendc(o, ',');
                    json_group(o, &t->v[i]);
                }
                buf_appendc(o, ']');
            }
        }
        buf_printf(o,
                   ",\"burstiness\":{\"peak_hour_over_mean\":%.4f,"
                   "\"busiest_day_over_mean\":%.4f},",
                   r->all.peak_hour_over_mean, r->all.busiest_day_over_mean);
        json_key_usd(o, "hybrid_monthly_usd", r->hybrid_monthly, true);
    }
    buf_appends(o, ",\"options\":{\"frontier\":");
    if (r->frontier.present)
        buf_append_json_str(o, r->frontier.label, strlen(r->frontier.label));
    else
        buf_appends(o, "null");
    buf_appends(o, ",\"hosted_open\":");
    if (r->open.present)
        buf_append_json_str(o, r->open.label, strlen(r->open.label));
    else
        buf_appends(o, "null");
    buf_printf(o, ",\"self_hosted\":%s}", r->have_pool ? "true" : "false");
    buf_appends(o, ",\"all\":");
    json_item(r, &r->all, o);
    buf_appends(o, r->plan ? ",\"workloads\":[" : ",\"rules\":[");
    for (int i = 0; i < r->nitems; i++) {
        if (i)
            buf_appendc(o, ',');
        json_item(r, &r->items[i], o);
    }
    return buf_appends(o, "]}\n");
}

/* ---------------------------------------------------------------- HTML */

static void
html_esc(struct buf *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            buf_appends(o, "&lt;");
            break;
        case '>':
            buf_appends(o, "&gt;");
            break;
        case '&':
            buf_appends(o, "&amp;");
            break;
        case '"':
            buf_appends(o, "&quot;");
            break;
        default:
            buf_appendc(o, *s);
        }
    }
}

/* Horizontal bars: one per (label, value), scaled to the largest. */
static const char *
option_color(const char *label)
{
    if (!strcmp(label, "frontier"))
        return "#e15759";
    if (!strcmp(label, "hosted-open"))
        return "#59a14f";
    if (!strcmp(label, "self-hosted all-in"))
        return "#4e79a7";
    return "#f28e2b";
}

static void
svg_bars(struct buf *o, const char *const *labels, const int64_t *vals, int n)
{
    int64_t max = 1;
    for (int i = 0; i < n; i++)
        max = vals[i] > max ? vals[i] : max;
    int h = 28 * n + 10;
    buf_printf(o,
               "<svg xmlns='http://www.w3.org/2000/svg' width='760' height='%d' "
               "role='img'>",
               h);
    for (int i = 0; i < n; i++) {
        char a[48];
        double w = 420.0 * (double)vals[i] / (double)max;
        buf_printf(o, "<text x='0' y='%d' font-size='13'>", 28 * i + 22);
        html_esc(o, labels[i]);
        buf_printf(o,
                   "</text><rect x='200' y='%d' width='%.1f' height='20' fill='%s'/>"
                   "<text x='%.1f' y='%d' font-size='13'>%s</text>",
                   28 * i + 8, w, option_color(labels[i]), 206 + w, 28 * i + 22,
                   usd(vals[i], a, sizeof(a)));
    }
    buf_appends(o, "</svg>");
}

/* Monthly cost against volume (0 to kmax times today's): hosted options are lines, self-hosted
 * is a staircase of whole replicas. */
static void
svg_breakeven(struct buf *o, const struct report *r, const struct rep_item *it)
{
    const struct tco_workload *w = &it->w;
    double kmax = 3.0;
    if (it->r.be_frontier.kind == TCO_BE_AT && it->r.be_frontier.factor * 1.5 > kmax)
        kmax = it->r.be_frontier.factor * 1.5;
    if (it->r.be_open.kind == TCO_BE_AT && it->r.be_open.factor * 1.5 > kmax)
        kmax = it->r.be_open.factor * 1.5;
    if (kmax > 1000)
        kmax = 1000;
    const int W = 640;
    const int H = 260;
    const int N = 160;
    double ymax = 1;
    double ys[3][161];
    for (int i = 0; i <= N; i++) {
        double k = kmax * i / N;
        struct tco_workload kw = *w;
        kw.input_tokens *= k;
        kw.output_tokens *= k;
        kw.requests *= k;
        ys[0][i] = w->frontier_monthly >= 0 ? k * (double)w->frontier_monthly : -1;
        ys[1][i] = w->open_monthly >= 0 ? k * (double)w->open_monthly : -1;
        if (r->have_pool) {
            double peak =
                (kw.input_tokens + kw.output_tokens) / METER_SECONDS_PER_MONTH * w->peak_to_mean;
            ys[2][i] =
                (double)meter_pool_monthly(&r->pool, meter_pool_replicas_for(&r->pool, peak));
        } else {
            ys[2][i] = -1;
        }
        for (int s = 0; s < 3; s++)
            ymax = ys[s][i] > ymax ? ys[s][i] : ymax;
    }
    static const char *const names[] = {"frontier", "hosted-open", "self-hosted all-in"};
    static const char *const colors[] = {"#e15759", "#59a14f", "#4e79a7"};
    buf_printf(o,
               "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img'>"
               "<rect x='60' y='10' width='%d' height='%d' fill='none' stroke='#999'/>",
               W + 80, H + 50, W, H);
    for (int s = 0; s < 3; s++) {
        if (ys[s][0] < 0)
            continue;
        buf_printf(o, "<polyline fill='none' stroke-width='2' stroke='%s' points='", colors[s]);
        for (int i = 0; i <= N; i++)
            buf_printf(o, "%.1f,%.1f ", 60.0 + W * (double)i / N, 10.0 + H - H * ys[s][i] / ymax);
        buf_printf(o, "'/><text x='%d' y='%d' font-size='12' fill='%s'>%s</text>", 70, 26 + 15 * s,
                   colors[s], names[s]);
    }
    double x1 = 60.0 + W / kmax;
    char a[48];
    char b[48];
    buf_printf(o,
               "<line x1='%.1f' y1='10' x2='%.1f' y2='%d' stroke='#333' stroke-dasharray='4'/>"
               "<text x='%.1f' y='%d' font-size='12'>today</text>"
               "<text x='60' y='%d' font-size='12'>0</text>"
               "<text x='%d' y='%d' font-size='12' text-anchor='end'>%s requests/month</text>"
               "<text x='2' y='20' font-size='12'>%s</text></svg>",
               x1, x1, H + 10, x1 + 3, H + 4, H + 26, W + 60, H + 26,
               human(w->requests * kmax, a, sizeof(a)), usd(meter_sat(ymax), b, sizeof(b)));
}

static void
html_item(const struct report *r, const struct rep_item *it, struct buf *o)
{
    char a[48];
    char b[48];
    char c[48];
    const struct tco_result *x = &it->r;
    buf_appends(o, "<section><h2>");
    html_esc(o, it->w.name);
    buf_printf(o,
               "</h2><p>%s requests a month, peak %.2f&times; the mean%s. Recommendation: "
               "<b>%s</b> &mdash; ",
               human(it->w.requests, a, sizeof(a)), it->w.peak_to_mean,
               it->w.regulated ? ", regulated" : "", tco_choice_name(x->choice));
    html_esc(o, x->reason);
    buf_appends(o, ".</p>");
    const char *labels[4];
    int64_t vals[4];
    int n = 0;
    if (it->w.frontier_monthly >= 0) {
        labels[n] = "frontier";
        vals[n++] = it->w.frontier_monthly;
    }
    if (it->w.open_monthly >= 0) {
        labels[n] = "hosted-open";
        vals[n++] = it->w.open_monthly;
    }
    if (r->have_pool) {
        labels[n] = "self-hosted all-in";
        vals[n++] = x->self_total;
    }
    if (!r->plan && it == &r->all) {
        labels[n] = "hybrid as configured";
        vals[n++] = r->hybrid_monthly;
    }
    buf_appends(o, "<h3>What-if, per month</h3>");
    svg_bars(o, labels, vals, n);
    if (r->have_pool) {
        buf_printf(o,
                   "<p>Self-hosted: GPUs %s (%d replicas, peak %.0f tokens/s), engineers %s, "
                   "upgrades %s; build ",
                   usd(x->self_gpu, a, sizeof(a)), x->replicas, x->peak_tps,
                   usd(x->self_people, b, sizeof(b)), usd(x->self_upgrade, c, sizeof(c)));
        buf_printf(o, "%s once.</p>", usd(x->self_build_once, a, sizeof(a)));
    }
    buf_appends(o, "<h3>Break-even</h3><ul><li>vs frontier: ");
    html_esc(o, x->be_frontier.why);
    buf_appends(o, "</li><li>vs hosted-open: ");
    html_esc(o, x->be_open.why);
    buf_appends(o, "</li></ul>");
    svg_breakeven(o, r, it);
    buf_appends(o, "</section>");
}

static void
html_table(struct buf *o, const char *title, const char *name, const struct rep_table *t)
{
    char a[48];
    bool period = t->n > 0 && t->v[0].period[0];
    buf_printf(o,
               "<h3>%s</h3><table><tr>%s<th>%s</th><th>requests</th><th>input</th>"
               "<th>output</th><th>spend</th></tr>",
               title, period ? "<th>period</th>" : "", name);
    for (int i = 0; i < t->n; i++) {
        const struct rep_group *g = &t->v[i];
        buf_appends(o, "<tr><td>");
        if (period)
            buf_printf(o, "%s</td><td style='text-align:left'>", g->period);
        html_esc(o, g->key[0] ? g->key : "(none)");
        buf_printf(
            o, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%s</td></tr>",
            g->requests, g->input_tokens, g->output_tokens, spend(g->cost, a, sizeof(a)));
    }
    buf_appends(o, "</table>");
}

/* Spend per day as columns stacked by backend, with a legend. */
static void
svg_daily_spend(struct buf *o, const struct report *r)
{
    static const char *const colors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                         "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
    int nd = r->by_day.n;
    int nb = r->by_backend.n;
    char a[48];
    int64_t max = 1;
    for (int i = 0; i < nd; i++)
        max = r->by_day.v[i].cost > max ? r->by_day.v[i].cost : max;
    int bw = nd > 60 ? 10 : 600 / (nd > 0 ? nd : 1);
    if (bw > 60)
        bw = 60;
    double *base = calloc((size_t)nd + 1, sizeof(*base));
    if (base == NULL)
        return;
    buf_printf(o,
               "<h3>Spend per day, by backend</h3><svg xmlns='http://www.w3.org/2000/svg' "
               "width='%d' height='%d' role='img'>",
               bw * nd + 200, 170 > 20 * nb + 20 ? 170 : 20 * nb + 20);
    const struct rep_table *t = &r->cross[REP_DIM_BACKEND][REP_PER_DAY];
    for (int i = 0; i < t->n; i++) {
        const struct rep_group *g = &t->v[i];
        int di = 0;
        while (di < nd && strcmp(r->by_day.v[di].key, g->period))
            di++;
        int bi = 0;
        while (bi < nb && strcmp(r->by_backend.v[bi].key, g->key))
            bi++;
        if (di == nd)
            continue;
        double h = 130.0 * (double)g->cost / (double)max;
        base[di] += h;
        buf_printf(o, "<rect x='%d' y='%.1f' width='%d' height='%.1f' fill='%s'><title>%s ",
                   10 + bw * di, 140 - base[di], bw > 2 ? bw - 2 : 1, h, colors[bi % 8], g->period);
        html_esc(o, g->key);
        buf_printf(o, ": %s</title></rect>", spend(g->cost, a, sizeof(a)));
    }
    for (int bi = 0; bi < nb; bi++) {
        buf_printf(o,
                   "<rect x='%d' y='%d' width='10' height='10' fill='%s'/><text x='%d' y='%d' "
                   "font-size='12'>",
                   bw * nd + 30, 10 + 20 * bi, colors[bi % 8], bw * nd + 45, 20 + 20 * bi);
        html_esc(o, r->by_backend.v[bi].key[0] ? r->by_backend.v[bi].key : "(none)");
        buf_appends(o, "</text>");
    }
    if (nd > 0)
        buf_printf(o,
                   "<text x='10' y='158' font-size='11'>%s</text><text x='%d' y='158' "
                   "font-size='11' text-anchor='end'>%s</text>",
                   r->by_day.v[0].key, 10 + bw * nd, r->by_day.v[nd - 1].key);
    buf_appends(o, "</svg>");
    free(base);
}

int
report_render_html(const struct report *r, struct buf *o)
{
    buf_appends(o, "<!DOCTYPE html><html><head><meta charset='utf-8'><title>hybridgate report"
                   "</title><style>body{font:14px system-ui,sans-serif;max-width:960px;margin:2em "
                   "auto;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
                   "padding:2px 8px;text-align:right}td:first-child{text-align:left}"
                   "section{border-top:1px solid #ddd;margin-top:1.5em}</style></head><body>"
                   "<h1>hybridgate report</h1><p>");
    html_esc(o, r->source);
    buf_appends(o, "</p>");
    if (!r->plan && r->total.requests == 0 && r->from_us == 0)
        return buf_appends(o, "<p>No requests recorded yet.</p></body></html>\n");
    if (!r->plan) {
        char f[32];
        char t[32];
        char a[48];
        fmt_time(r->from_us, f, sizeof(f));
        fmt_time(r->to_us, t, sizeof(t));
        buf_printf(o,
                   "<p>Window %s to %s UTC (%.0f hours; monthly figures scale it to %.0f "
                   "hours). %" PRId64 " requests, %" PRId64 " input and %" PRId64
                   " output tokens, spend %s. Peak hour %.2f&times; the mean hour; busiest "
                   "day %.2f&times; the mean day.</p>",
                   f, t, r->window_hours, METER_HOURS_PER_MONTH, r->total.requests,
                   r->total.input_tokens, r->total.output_tokens,
                   spend(r->total.cost, a, sizeof(a)), r->all.peak_hour_over_mean,
                   r->all.busiest_day_over_mean);
        if (r->by_day.n > 0)
            svg_daily_spend(o, r);
        char title[64];
        for (int sct = 0; sct < 6; sct++) {
            if (section_table(r, sct)->n == 0)
                continue;
            snprintf(title, sizeof(title), "By %s", section_names[sct]);
            html_table(o, title, section_names[sct], section_table(r, sct));
        }
        for (int d = 0; d < REP_NDIMS; d++) {
            snprintf(title, sizeof(title), "By %s per month", section_names[d]);
            html_table(o, title, section_names[d], &r->cross[d][REP_PER_MONTH]);
        }
    }
    if (r->nitems > 0) {
        buf_printf(o,
                   "<h3>Recommendation per %s</h3><table><tr><th>%s</th><th>choice</th>"
                   "<th style='text-align:left'>reason</th></tr>",
                   r->plan ? "workload" : "rule", r->plan ? "workload" : "rule");
        for (int i = 0; i < r->nitems; i++) {
            buf_appends(o, "<tr><td>");
            html_esc(o, r->items[i].w.name);
            buf_printf(o, "</td><td><b>%s</b></td><td style='text-align:left'>",
                       tco_choice_name(r->items[i].r.choice));
            html_esc(o, r->items[i].r.reason);
            buf_appends(o, "</td></tr>");
        }
        buf_appends(o, "</table>");
    }
    if (!r->plan || r->nitems != 1)
        html_item(r, &r->all, o);
    for (int i = 0; i < r->nitems; i++)
        html_item(r, &r->items[i], o);
    return buf_appends(o, "</body></html>\n");
}
