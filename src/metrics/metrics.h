/* SPDX-License-Identifier: MIT */
/* Gateway metrics: counters, gauges and histograms declared once in metrics_list.h, kept in one
 * shard per worker thread (plain integers written only by that thread, no locks, no allocation on
 * the request path) and summed when /metrics is scraped or the dashboard asks for live stats.
 *
 * Lifecycle:
 *   1. At startup: reg = metrics_registry_new(cfg, rules, nrules) (backend names/kinds and rule
 *      names are copied; backend API keys are never read).
 *   2. Each worker thread, before its loop runs: shard = metrics_shard_new(reg).
 *   3. On that thread only: metrics_record() once per finished request, and the event hooks
 *      (retry, failover, invariant, drift) where the events happen.
 *   4. From any thread: metrics_set_*() for health/circuit state, and the render functions.
 *   5. At exit, after the workers stopped: metrics_registry_free(reg) (frees the shards). */
#ifndef HG_METRICS_METRICS_H
#define HG_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/record.h"
#include "metrics/metrics_list.h"

#define METRICS_PREFIX "hybridgate_"

enum metric_id {
#define X_(id, name, type, shape, buckets, scale, source, help) METRIC_##id,
    METRICS_LIST(X_)
#undef X_
        METRIC__COUNT
};

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };
const char *metric_type_name(enum metric_type t);

/* Circuit-breaker states as exported by hybridgate_circuit_breaker_state. */
enum metrics_circuit {
    METRICS_CIRCUIT_CLOSED = 0,
    METRICS_CIRCUIT_HALF_OPEN,
    METRICS_CIRCUIT_OPEN
};
const char *metrics_circuit_name(enum metrics_circuit c);

/* Static description of one declared metric (from the X-macro), for docs and tests. */
struct metric_desc {
    const char *name;      /* full exported name, with the hybridgate_ prefix */
    enum metric_type type; /* counter, gauge or histogram */
    const char *labels;    /* comma-separated label names, "" for none */
    const char *help;      /* one line */
};
/* The table of every declared metric, METRIC__COUNT entries, indexed by enum metric_id. */
extern const struct metric_desc metric_descs[METRIC__COUNT];

struct metrics_registry;
struct metrics_shard;
struct accesslog;

/* Creates the registry for cfg's backends (names and kinds copied, index = index in
 * cfg->backends) and the routing rule names (copied; may be NULL/0). Never fails (OOM aborts).
 * The caller owns it; free with metrics_registry_free(). */
struct metrics_registry *metrics_registry_new(const struct config *cfg, const char *const *rules,
                                              size_t nrules);
/* Frees the registry and every shard made from it. Call only after all workers stopped.
 * NULL is a no-op. */
void metrics_registry_free(struct metrics_registry *reg);

/* A shard for one worker thread: only that thread may call the shard functions below with it.
 * Takes the registry's mutex once (startup only). Owned by the registry. */
struct metrics_shard *metrics_shard_new(struct metrics_registry *reg);

/* Accounts one finished request: requests, duration, TTFT, tokens, cost, sensitive/class
 * counters, scan time, the live-rate window and today's cost. No locks, no allocation, no
 * syscall. Backend and rule are matched by name (unknown names count under "none"/"other"). */
void metrics_record(struct metrics_shard *sh, const struct req_record *rec);

/* Event hooks, owner thread only. `backend` is an index into cfg->backends; -1 or out of range
 * counts under backend="none". sh == NULL (metrics disabled) is a no-op. */
void metrics_retry(struct metrics_shard *sh, int backend);
void metrics_failover(struct metrics_shard *sh, int from_backend);
void metrics_invariant_rejected(struct metrics_shard *sh);
void metrics_model_drift(struct metrics_shard *sh, int backend);

/* Global state, any thread (relaxed atomic stores). */
void metrics_set_circuit_state(struct metrics_registry *reg, int backend, enum metrics_circuit st);
void metrics_set_backend_up(struct metrics_registry *reg, int backend, bool up);
/* In-flight and queued requests of a backend, all workers together (the backend room keeps these
 * as shared atomics already, so they are pulled rather than counted twice). */
void metrics_set_backend_load(struct metrics_registry *reg, int backend, int64_t in_flight,
                              int64_t queued);

/* Called at the start of every render (/metrics, /admin/stats), under the registry's lock, so
 * state owned elsewhere (backend health, load, circuit) is fresh when read. The callback may
 * call metrics_set_*() and nothing else of this module. cb NULL unsets. */
typedef void metrics_pull_cb(void *ctx, struct metrics_registry *reg);
void metrics_set_pull(struct metrics_registry *reg, metrics_pull_cb *cb, void *ctx);

/* Pulled at scrape time: the usage store's counters (store_stats() fits through a 3-line
 * adapter). cb may be NULL to unset. */
typedef void metrics_store_stats_cb(void *ctx, uint64_t *written, uint64_t *dropped);
void metrics_set_store_stats(struct metrics_registry *reg, metrics_store_stats_cb *cb, void *ctx);
/* The access log whose line/drop counters are exported (NULL to unset). */
void metrics_set_accesslog(struct metrics_registry *reg, struct accesslog *al);
/* Seeds today's and this month's cost (micro-USD, e.g. summed from the usage store at startup)
 * so the dashboard's "cost today" survives a restart. now_us is the wall clock. */
void metrics_set_cost_baseline(struct metrics_registry *reg, int64_t today_micro_usd,
                               int64_t month_micro_usd, int64_t now_us);

/* Index of a backend by name, or -1. */
int metrics_backend_index(const struct metrics_registry *reg, const char *name);

/* Appends the Prometheus text exposition (format 0.0.4) of every declared metric, summed over
 * the shards, to out. Returns 0, or -1 when out's cap was reached (out then holds a prefix).
 * Reads shards concurrently with their owners: values are per-cell exact, not a snapshot across
 * cells. Allocates scratch memory (not on the request path). */
int metrics_render_prometheus(struct metrics_registry *reg, struct buf *out);

/* Appends the live-stats JSON object read by the dashboard (/admin/stats): requests/s over a
 * sliding window and a 60-second series, self-hosted vs hosted split, sensitive kept local,
 * latency and TTFT per backend (mean and p95 from the histograms), backend health, cost today,
 * this month and the month's projection. Contains names, kinds and numbers only: no backend key
 * or URL. now_us is the wall clock. Returns 0 or -1 (cap). */
int metrics_stats_json(struct metrics_registry *reg, int64_t now_us, struct buf *out);

/* Seconds in the sliding window behind "rps" in metrics_stats_json(). */
#define METRICS_RATE_WINDOW_S 10

/* Appends docs/metrics.md (generated from metrics_list.h). Returns 0 or -1 (cap). */
int metrics_doc_markdown(struct buf *out);

#endif
