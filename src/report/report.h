/* SPDX-License-Identifier: MIT */
/* `hybridgate report`: spend and tokens by backend, model, rule and team, per day and month,
 * burstiness, what-if costs (frontier, hosted-open, self-hosted all-in, hybrid as configured),
 * break-even volumes and a recommendation per rule, from the usage store or from a planned
 * workload (--plan FILE). Renders text, JSON or a self-contained HTML page with inline SVG.
 * The arithmetic lives in report/tco.h; this module aggregates and renders. */
#ifndef HG_REPORT_REPORT_H
#define HG_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"
#include "store/store.h"

/* hybridgate report [-c FILE] [--plan FILE] [--from DATE] [--to DATE] [--format text|json|html]
 * argv[0] is "report". DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] (UTC); --to is exclusive.
 * Returns the exit status: 0, 1 on a data or config error, 2 on a usage error. Blocks. */
int report_cli_main(int argc, char **argv);

/* The headline of the report over [from_us, to_us) of store s priced with cfg's `prices:` and
 * `economics:` sections, as one JSON object appended to out (the shape web/app.js renders):
 *   {"available": true, "headline": "one sentence", "window_hours", "requests", "input_tokens",
 *    "output_tokens", "peak_hour_over_mean", "busiest_day_over_mean", "spend_usd",
 *    "monthly": {"hybrid_usd", "frontier_usd", "hosted_open_usd", "self_hosted_usd"},
 *    "recommendation": "hosted_open", "reason": "...",
 *    "rules": [{"rule", "what_if": "frontier USD … a month", "choice", "recommendation"}]}
 * (USD figures are numbers with cents; a missing option is null). Reads the whole window through
 * store_scan, so it blocks for as long as that takes: api/admin.c calls it from its own
 * background thread and serves the cached copy. Returns 0, or -1 with err->msg. */
int report_headline_json(const struct config *cfg, struct store *s, int64_t from_us, int64_t to_us,
                         struct buf *out, struct hg_err *err);

/* The --plan report from text (the plan YAML, `name` used in messages) rendered as format
 * ("text", "json" or "html") and appended to out. 0, or -1 with err->msg as "name:line: reason".
 * Pure: no I/O. */
int report_plan_str(const char *name, const char *text, size_t len, const char *format,
                    struct buf *out, struct hg_err *err);

/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z]" as UTC into microseconds since the epoch.
 * 0 or -1. */
int report_parse_date(const char *s, int64_t *out_us);

#endif
