/* SPDX-License-Identifier: MIT */
/* The operator surface: GET /metrics (Prometheus), GET /admin/... (JSON read by the dashboard,
 * admin key required) and GET /ui (the dashboard's static files, embedded in the binary from
 * web/). admin_handle() is independent of the HTTP library: it takes the method, path and the
 * two auth headers and fills a struct admin_reply; the server glue sends it. Nothing here can
 * reach a backend's API key: the metrics registry holds names and kinds only.
 *
 * Routes:
 *   GET /metrics               Prometheus text; open unless metrics.require_admin_key is true
 *   GET /admin/stats           live stats JSON (metrics_stats_json)               [admin key]
 *   GET /admin/economics       economics headline JSON from the report hook        [admin key]
 *   GET /ui, /ui/, /ui/<file>  dashboard files (no data in them; the page asks for the key)
 * The admin key is sent as `Authorization: Bearer <key>` or `X-Admin-Key: <key>` and compared in
 * constant time. Without admin_key in the config, /admin/ answers 404. */
#ifndef HG_API_ADMIN_H
#define HG_API_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cfgtree.h"
#include "core/config.h"
#include "core/error.h"

struct metrics_registry;
struct metrics_shard;
struct accesslog;
struct accesslog_queue;
struct backend_set;
struct http_req;
struct req_record;
struct store;
struct admin_econ;
struct health;
struct route_config;

/* Appends the economics headline JSON (what-if and recommendation per rule) to out; returns 0 or
 * -1. Meant for report_headline_json() from src/report/ (store branch) through a small adapter.
 * May block briefly (it reads the usage store); runs on the worker thread that got the request. */
typedef int admin_headline_cb(void *ctx, int64_t now_us, struct buf *out);

/* Options from the config's `metrics:` and `dashboard:` sections. */
struct admin_conf {
    bool metrics_enabled;   /* metrics.enabled, default true: count and serve /metrics */
    bool metrics_need_key;  /* metrics.require_admin_key, default false */
    bool dashboard_enabled; /* dashboard.enabled, default true: serve /ui */
};

/* Reads `metrics:` and `dashboard:` from cfg->doc (both optional). 0, or -1 with err->msg as
 * "file:line: reason". */
int admin_conf_load(const struct config *cfg, struct admin_conf *out, struct hg_err *err);

struct admin {
    const struct config *cfg;           /* admin_key; never copied */
    struct admin_conf conf;             /* loaded options */
    struct metrics_registry *metrics;   /* the registry to render; owned after admin_open() */
    struct accesslog *alog;             /* access log, or NULL (off); owned after admin_open() */
    const struct backend_set *backends; /* health/load pulled at scrape time, or NULL */
    bool owned;                         /* admin_open() created metrics and alog */
    admin_headline_cb *headline;        /* economics hook, or NULL (answers {"available":false}) */
    void *headline_ctx;                 /* its argument */
    struct admin_econ *econ;            /* background economics refresher, or NULL */
    struct health *health;              /* circuit, queue and in-flight per backend, or NULL */
    const struct route_config *routes;  /* for health_snapshot() */
};

/* What a worker thread holds: its metrics shard and access-log queue (both owned by the admin). */
struct admin_worker {
    struct metrics_shard *shard;  /* this thread's counters */
    struct accesslog_queue *alog; /* this thread's access-log ring, or NULL when the log is off */
};

/* Gateway lifecycle, in order:
 *   1. admin_open(&gw->admin, cfg, &gw->backends, rules, nrules, &err) in gateway_run, before the
 *      workers start: loads metrics:/dashboard:, creates the registry (rule names copied; pass
 *      NULL/0 until routing exists), opens cfg->access_log and hooks backend health and in-flight
 *      counts into every scrape. Returns 0, or -1 with err->msg (config error, log open failure).
 *   2. admin_worker_init(&gw->admin, &w->admin) in worker_init (any thread, before its loop).
 *   3. admin_request_done(&w->admin, &p->rec) once per finished request, on the worker thread:
 *      metrics_record() + accesslog_push(); no lock, no allocation, no syscall (~85 ns).
 *   4. admin_serve(&gw->admin, req) from api_handle when admin_owns_path(path).
 *   5. accesslog_reopen() on SIGHUP (async-signal-safe).
 *   6. admin_close(&gw->admin) after the workers joined: writes the queued log lines, frees. */
int admin_open(struct admin *a, const struct config *cfg, const struct backend_set *backends,
               const char *const *rules, size_t nrules, struct hg_err *err);
/* Optional, after admin_open() and before the workers start, when a usage store is open:
 *   - exports the store's written/dropped rows on /metrics;
 *   - starts a background thread (report_headline_json reads the whole window, so never on a
 *     loop) that seeds today's and this month's cost from the rows written before this start, and
 *     recomputes the economics headline over the last ADMIN_ECON_WINDOW_DAYS every
 *     ADMIN_ECON_REFRESH_MS, or 20 times as long as the last computation took when that is
 *     longer (at most ~5% of a core), at nice 10; /admin/economics serves the cached copy.
 * s must outlive admin_close(). */
#define ADMIN_ECON_WINDOW_DAYS 30
#define ADMIN_ECON_REFRESH_MS 60000
void admin_attach_store(struct admin *a, struct store *s);
/* Optional, after admin_open(): scrapes read circuit state, queued and in-flight per backend from
 * health_snapshot() (else in-flight and up/down come from the backend set). Both must outlive
 * admin_close(). */
void admin_attach_health(struct admin *a, struct health *h, const struct route_config *rc);
void admin_worker_init(struct admin *a, struct admin_worker *aw);
void admin_request_done(struct admin_worker *aw, const struct req_record *rec);
void admin_serve(struct admin *a, struct http_req *req);
void admin_close(struct admin *a);

/* Embeds: fills a, which borrows cfg and reg (both must outlive it). Cannot fail. */
void admin_init(struct admin *a, const struct config *cfg, const struct admin_conf *conf,
                struct metrics_registry *reg);
void admin_set_headline(struct admin *a, admin_headline_cb *cb, void *ctx);

/* True when path belongs to this module (/metrics, /admin, /admin/..., /ui, /ui/...). */
bool admin_owns_path(const char *path);

#define ADMIN_MAX_HEADERS 4

struct admin_reply {
    int status;        /* HTTP status */
    const char *ctype; /* content type, static */
    const char *body;  /* body bytes: points into `owned` or at an embedded asset */
    size_t len;        /* body length */
    struct buf owned;  /* generated body; release with admin_reply_cleanup() */
    size_t nheaders;   /* extra response headers */
    struct {
        const char *name;  /* static */
        const char *value; /* static */
    } headers[ADMIN_MAX_HEADERS];
};

/* Answers one request. authorization and x_admin_key are the raw header values or NULL. Always
 * fills *rep (errors become an OpenAI-shaped JSON error with 401/404/405/500). Reads shards
 * without locking them; allocates the body. Call admin_reply_cleanup() after sending. */
void admin_handle(struct admin *a, const char *method, const char *path, const char *authorization,
                  const char *x_admin_key, int64_t now_us, struct admin_reply *rep);
void admin_reply_cleanup(struct admin_reply *rep);

/* Constant-time comparison of a presented key against the configured one (curl
 * Curl_timestrcmp): the time depends on the configured key's length only. */
bool admin_key_is_valid(const char *configured, const char *presented);

#endif
