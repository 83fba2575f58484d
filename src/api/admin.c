/* SPDX-License-Identifier: MIT */
/* /metrics, /admin/... and /ui, independent of the HTTP library (see admin.h). The dashboard's
 * files come from web/, embedded by scripts/embed.sh into build/gen/web_assets.c. */
#include "api/admin.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/server.h"
#include "metrics/accesslog.h"
#include "metrics/metrics.h"
#include "report/report.h"
#include "route/health.h"
#include "route/route.h"
#include "store/store.h"

struct web_asset {
    const char *path;          /* "/index.html" */
    const unsigned char *data; /* bytes */
    size_t len;                /* length */
};
extern const struct web_asset web_assets[]; /* terminated by {NULL} */

/* Bodies are generated from config-sized data, never from client bytes; the cap only guards
 * against a runaway config (thousands of backends x rules). */
#define ADMIN_BODY_MAX ((size_t)64 << 20)

int
admin_conf_load(const struct config *cfg, struct admin_conf *out, struct hg_err *err)
{
    static const char *const metrics_keys[] = {"enabled", "require_admin_key", NULL};
    static const char *const dashboard_keys[] = {"enabled", NULL};
    out->metrics_enabled = true;
    out->metrics_need_key = false;
    out->dashboard_enabled = true;
    const struct cfg_node *root = cfg->doc.root;
    const struct cfg_node *m = cfg_get(root, "metrics");
    if (m) {
        if (m->type != CFG_MAP)
            return cfg_fail(m, err, "'metrics' must be a mapping (enabled, require_admin_key)");
        if (cfg_check_keys(m, metrics_keys, err) < 0)
            return -1;
        const struct cfg_node *v = cfg_get(m, "enabled");
        if (v && cfg_bool(v, &out->metrics_enabled, err) < 0)
            return -1;
        v = cfg_get(m, "require_admin_key");
        if (v && cfg_bool(v, &out->metrics_need_key, err) < 0)
            return -1;
    }
    const struct cfg_node *d = cfg_get(root, "dashboard");
    if (d) {
        if (d->type != CFG_MAP)
            return cfg_fail(d, err, "'dashboard' must be a mapping (enabled)");
        if (cfg_check_keys(d, dashboard_keys, err) < 0)
            return -1;
        const struct cfg_node *v = cfg_get(d, "enabled");
        if (v && cfg_bool(v, &out->dashboard_enabled, err) < 0)
            return -1;
    }
    return 0;
}

void
admin_init(struct admin *a, const struct config *cfg, const struct admin_conf *conf,
           struct metrics_registry *reg)
{
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->conf = *conf;
    a->metrics = reg;
}

void
admin_set_headline(struct admin *a, admin_headline_cb *cb, void *ctx)
{
    a->headline = cb;
    a->headline_ctx = ctx;
}

static bool
is_path_or_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

bool
admin_owns_path(const char *path)
{
    return !strcmp(path, "/metrics") || is_path_or_under(path, "/admin") ||
           is_path_or_under(path, "/ui");
}

bool
admin_key_is_valid(const char *configured, const char *presented)
{
    if (configured == NULL || configured[0] == '\0' || presented == NULL)
        return false;
    size_t n = strlen(configured);
    size_t m = strlen(presented);
    /* Walk the configured key's length whatever was presented; reading past the end of
     * `presented` is avoided by comparing against 0 there, and the length difference is folded
     * into the result. */
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++) {
        unsigned char p = i < m ? (unsigned char)presented[i] : 0;
        diff |= (unsigned char)configured[i] ^ p;
    }
    return diff == 0;
}

/* The key from `Authorization: Bearer <key>` or else `X-Admin-Key`, or NULL. */
static const char *
presented_key(const char *authorization, const char *x_admin_key)
{
    if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
        const char *k = authorization + 7;
        while (*k == ' ')
            k++;
        return k;
    }
    return x_admin_key;
}

static void
add_header(struct admin_reply *rep, const char *name, const char *value)
{
    if (rep->nheaders < ADMIN_MAX_HEADERS) {
        rep->headers[rep->nheaders].name = name;
        rep->headers[rep->nheaders].value = value;
        rep->nheaders++;
    }
}

static void
reply_owned(struct admin_reply *rep, int status, const char *ctype)
{
    rep->status = status;
    rep->ctype = ctype;
    rep->body = rep->owned.p ? rep->owned.p : "";
    rep->len = rep->owned.len;
}

static void
reply_error(struct admin_reply *rep, int status, const char *type, const char *code,
            const char *msg)
{
    struct hg_err e = {0};
    hg_err_set(&e, status, type, code, "%s", msg);
    buf_reset(&rep->owned);
    hg_err_json(&e, &rep->owned);
    reply_owned(rep, status, "application/json");
}

static const char *
content_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    if (!strcmp(dot, ".png"))
        return "image/png";
    return "application/octet-stream";
}

static void
serve_ui(struct admin *a, const char *path, struct admin_reply *rep)
{
    if (!a->conf.dashboard_enabled) {
        reply_error(rep, 404, HG_ERR_NOT_FOUND, "not_found", "the dashboard is disabled");
        return;
    }
    const char *name = path + 3; /* after "/ui" */
    if (name[0] == '\0' || !strcmp(name, "/"))
        name = "/index.html";
    for (const struct web_asset *w = web_assets; w->path; w++) {
        if (!strcmp(w->path, name)) {
            rep->status = 200;
            rep->ctype = content_type_of(name);
            rep->body = (const char *)w->data;
            rep->len = w->len;
            /* Everything the page needs is served from here: no CDN, no inline script. */
            add_header(rep, "Content-Security-Policy",
                       "default-src 'self'; style-src 'self'; img-src 'self' data:; "
                       "frame-ancestors 'none'");
            add_header(rep, "X-Content-Type-Options", "nosniff");
            add_header(rep, "Cache-Control", "no-cache");
            return;
        }
    }
    reply_error(rep, 404, HG_ERR_NOT_FOUND, "not_found", "no such dashboard file");
}

static void econ_copy(struct admin_econ *e, struct buf *out);

void
admin_handle(struct admin *a, const char *method, const char *path, const char *authorization,
             const char *x_admin_key, int64_t now_us, struct admin_reply *rep)
{
    memset(rep, 0, sizeof(*rep));
    buf_init(&rep->owned, ADMIN_BODY_MAX);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        add_header(rep, "Allow", "GET, HEAD");
        reply_error(rep, 405, HG_ERR_INVALID, "method_not_allowed", "only GET is supported here");
        return;
    }
    if (is_path_or_under(path, "/ui")) {
        serve_ui(a, path, rep);
        return;
    }
    bool is_metrics = !strcmp(path, "/metrics");
    if (is_metrics && !a->conf.metrics_enabled) {
        reply_error(rep, 404, HG_ERR_NOT_FOUND, "not_found", "metrics are disabled");
        return;
    }
    if (!is_metrics || a->conf.metrics_need_key) {
        if (a->cfg->admin_key == NULL) {
            reply_error(rep, 404, HG_ERR_NOT_FOUND, "admin_disabled",
                        "the admin API is off: set admin_key_env in the config");
            return;
        }
        if (!admin_key_is_valid(a->cfg->admin_key, presented_key(authorization, x_admin_key))) {
            add_header(rep, "WWW-Authenticate", "Bearer realm=\"hybridgate-admin\"");
            reply_error(rep, 401, HG_ERR_AUTH, "invalid_admin_key",
                        "a valid admin key is required (Authorization: Bearer <admin key>)");
            return;
        }
    }
    add_header(rep, "Cache-Control", "no-store");
    if (is_metrics) {
        if (metrics_render_prometheus(a->metrics, &rep->owned) < 0) {
            reply_error(rep, 500, HG_ERR_SERVER, "metrics_too_large", "metrics output too large");
            return;
        }
        reply_owned(rep, 200, "text/plain; version=0.0.4; charset=utf-8");
        return;
    }
    if (!strcmp(path, "/admin/stats")) {
        if (metrics_stats_json(a->metrics, now_us, &rep->owned) < 0) {
            reply_error(rep, 500, HG_ERR_SERVER, "stats_too_large", "stats output too large");
            return;
        }
        reply_owned(rep, 200, "application/json");
        return;
    }
    if (!strcmp(path, "/admin/economics")) {
        if (a->econ != NULL) {
            econ_copy(a->econ, &rep->owned);
        } else if (a->headline == NULL) {
            buf_appends(&rep->owned, "{\"available\":false,\"reason\":\"no usage store or "
                                     "economics report configured\",\"rules\":[]}");
        } else if (a->headline(a->headline_ctx, now_us, &rep->owned) < 0) {
            reply_error(rep, 500, HG_ERR_SERVER, "report_failed",
                        "the economics report could not be computed");
            return;
        }
        reply_owned(rep, 200, "application/json");
        return;
    }
    reply_error(rep, 404, HG_ERR_NOT_FOUND, "not_found", "no such admin endpoint");
}

void
admin_reply_cleanup(struct admin_reply *rep)
{
    buf_cleanup(&rep->owned);
    rep->body = NULL;
    rep->len = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Economics headline and cost baseline, off the loops                                          */

/* The refresher thread's state. Lifecycle: admin_attach_store() starts it; it seeds the cost
 * baseline once, then recomputes the headline every ADMIN_ECON_REFRESH_MS until econ_stop()
 * (from admin_close) sets stop and joins it. `json` is swapped under `lock`. */
struct admin_econ {
    struct admin *a;      /* owner */
    struct store *store;  /* read through store_scan (its own read connection) */
    pthread_t th;         /* the refresher */
    pthread_mutex_t lock; /* protects everything below */
    pthread_cond_t wake;  /* signalled by econ_stop */
    bool stop;            /* asked to exit */
    char *json;           /* last body for /admin/economics, or NULL before the first run */
    size_t len;           /* its length */
};

static void
econ_copy(struct admin_econ *e, struct buf *out)
{
    pthread_mutex_lock(&e->lock);
    if (e->json)
        buf_append(out, e->json, e->len);
    else
        buf_appends(out,
                    "{\"available\":false,\"reason\":\"the economics report is being computed\"}");
    pthread_mutex_unlock(&e->lock);
}

struct cost_sum {
    int64_t day_from_us; /* start of today (UTC) */
    int64_t today;       /* micro-USD since day_from_us */
    int64_t month;       /* micro-USD since the scan's from */
};

static int
sum_cost(void *ctx, const struct req_record *r)
{
    struct cost_sum *c = ctx;
    c->month += r->cost_micro_usd;
    if (r->ts_us >= c->day_from_us)
        c->today += r->cost_micro_usd;
    return 0;
}

/* Seeds the dashboard's cost today/this month from rows written before this process started, so
 * a restart does not zero them. Rows of this run are counted by the shards, hence to = start. */
static void
seed_cost(struct admin_econ *e, int64_t start_us)
{
    time_t now = (time_t)(start_us / 1000000);
    struct tm tm;
    gmtime_r(&now, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    int64_t day_from = (int64_t)timegm(&tm) * 1000000;
    tm.tm_mday = 1;
    int64_t month_from = (int64_t)timegm(&tm) * 1000000;
    struct cost_sum c = {day_from, 0, 0};
    struct hg_err err = {0};
    if (store_scan(e->store, month_from, start_us, sum_cost, &c, &err) < 0) {
        log_warn("admin", "cost baseline: %s, ignored", err.msg);
        return;
    }
    metrics_set_cost_baseline(e->a->metrics, c.today, c.month, start_us);
}

static void *
econ_main(void *arg)
{
    struct admin_econ *e = arg;
    pthread_setname_np(pthread_self(), "hg-economics");
    /* background analytics: on a saturated machine the workers come first (per-thread nice) */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
        log_debug("admin", "economics thread keeps its priority: %s", strerror(errno));
    seed_cost(e, clock_wall_us());
    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        pthread_mutex_unlock(&e->lock);
        int64_t now = clock_wall_us();
        int64_t t0 = clock_mono_us();
        struct buf b;
        struct hg_err err = {0};
        buf_init(&b, 1 << 20);
        buf_printf(&b, "{\"available\":true,\"computed_ms\":%lld,\"window_days\":%d,\"headline\":",
                   (long long)(now / 1000), ADMIN_ECON_WINDOW_DAYS);
        int rc = report_headline_json(e->a->cfg, e->store,
                                      now - (int64_t)ADMIN_ECON_WINDOW_DAYS * 86400 * 1000000, now,
                                      &b, &err);
        if (rc < 0 || buf_appendc(&b, '}') < 0) {
            buf_reset(&b);
            buf_appends(&b, "{\"available\":false,\"reason\":");
            buf_append_json_str(&b, err.msg, strlen(err.msg));
            buf_appendc(&b, '}');
        }
        pthread_mutex_lock(&e->lock);
        free(e->json);
        e->len = b.len;
        e->json = buf_steal(&b);
        if (e->stop)
            break;
        /* A large store makes the 30-day report slow: wait at least 20 times as long as it
         * took, so this thread never uses more than ~5% of a core. */
        int64_t wait_ms = (clock_mono_us() - t0) / 1000 * 20;
        if (wait_ms < ADMIN_ECON_REFRESH_MS)
            wait_ms = ADMIN_ECON_REFRESH_MS;
        struct timespec ts = clock_deadline_ms((long)wait_ms);
        pthread_cond_timedwait(&e->wake, &e->lock, &ts);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static void
store_stats_adapter(void *ctx, uint64_t *written, uint64_t *dropped)
{
    uint64_t failed = 0;
    store_stats(ctx, written, dropped, &failed);
    *dropped += failed;
}

void
admin_attach_store(struct admin *a, struct store *s)
{
    if (s == NULL || a->metrics == NULL)
        return;
    metrics_set_store_stats(a->metrics, store_stats_adapter, s);
    struct admin_econ *e = xcalloc(1, sizeof(*e));
    e->a = a;
    e->store = s;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    if (pthread_create(&e->th, NULL, econ_main, e) != 0) {
        log_warn("admin", "pthread_create(economics) failed, ignored: no economics headline");
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->wake);
        free(e);
        return;
    }
    a->econ = e;
}

static void
econ_stop(struct admin *a)
{
    struct admin_econ *e = a->econ;
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->th, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e->json);
    free(e);
    a->econ = NULL;
    metrics_set_store_stats(a->metrics, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Gateway glue                                                                                */

/* Scrape-time pull: backend health and in-flight counts live in the backend room's shared
 * atomics; copying them here keeps one source of truth. */
static enum metrics_circuit
circuit_of(enum route_circuit c)
{
    switch (c) {
    case ROUTE_CIRCUIT_OPEN:
        return METRICS_CIRCUIT_OPEN;
    case ROUTE_CIRCUIT_HALF_OPEN:
        return METRICS_CIRCUIT_HALF_OPEN;
    default:
        return METRICS_CIRCUIT_CLOSED;
    }
}

/* Scrape-time pull: backend state lives in route/health (circuit, queue, in-flight, active-check
 * result) and, without it, in the backend set's mirrors; copying it here at scrape time keeps one
 * source of truth and costs the request path nothing. */
static void
pull_backends(void *ctx, struct metrics_registry *reg)
{
    const struct admin *a = ctx;
    if (a->health) {
        struct route_view *v = xmalloc(sizeof(*v));
        health_snapshot(a->health, a->routes, clock_mono_us(), v);
        for (size_t i = 0; i < a->cfg->nbackends && i < ROUTE_MAX_BACKENDS; i++) {
            metrics_set_backend_up(reg, (int)i, !v->b[i].down);
            metrics_set_backend_load(reg, (int)i, v->b[i].inflight, v->b[i].queued);
            metrics_set_circuit_state(reg, (int)i, circuit_of(v->b[i].circuit));
        }
        free(v);
        return;
    }
    const struct backend_set *bs = a->backends;
    for (size_t i = 0; bs && i < bs->n; i++) {
        const struct backend_rt *b = &bs->b[i];
        int h = atomic_load(&b->health);
        metrics_set_backend_up(reg, (int)i, h != BACKEND_HEALTH_DOWN);
        metrics_set_backend_load(reg, (int)i, atomic_load(&b->inflight), 0);
    }
}

void
admin_attach_health(struct admin *a, struct health *h, const struct route_config *rc)
{
    a->health = h;
    a->routes = rc;
}

int
admin_open(struct admin *a, const struct config *cfg, const struct backend_set *backends,
           const char *const *rules, size_t nrules, struct hg_err *err)
{
    struct admin_conf conf;
    if (admin_conf_load(cfg, &conf, err) < 0)
        return -1;
    struct accesslog *al = accesslog_open(cfg->access_log, err);
    if (al == NULL && err->status != 0)
        return -1;
    struct metrics_registry *reg = metrics_registry_new(cfg, rules, nrules);
    admin_init(a, cfg, &conf, reg);
    a->alog = al;
    a->backends = backends;
    a->owned = true;
    metrics_set_accesslog(reg, al);
    metrics_set_pull(reg, pull_backends, a);
    return 0;
}

void
admin_worker_init(struct admin *a, struct admin_worker *aw)
{
    /* metrics.enabled: false turns off the counting too, not only the endpoint (bench baseline) */
    aw->shard = a->conf.metrics_enabled ? metrics_shard_new(a->metrics) : NULL;
    aw->alog = accesslog_queue_new(a->alog);
}

void
admin_request_done(struct admin_worker *aw, const struct req_record *rec)
{
    if (aw->shard)
        metrics_record(aw->shard, rec);
    accesslog_push(aw->alog, rec);
}

void
admin_serve(struct admin *a, struct http_req *req)
{
    struct admin_reply rep;
    admin_handle(a, http_req_method(req), http_req_path(req), http_req_header(req, "Authorization"),
                 http_req_header(req, "X-Admin-Key"), clock_wall_us(), &rep);
    for (size_t i = 0; i < rep.nheaders; i++)
        http_req_set_header(req, rep.headers[i].name, rep.headers[i].value);
    http_req_send(req, rep.status, rep.ctype, rep.body, rep.len);
    admin_reply_cleanup(&rep);
}

void
admin_close(struct admin *a)
{
    econ_stop(a);
    if (!a->owned)
        return;
    /* The registry's pull hook reads the access log's counters: unhook before closing it. */
    metrics_set_accesslog(a->metrics, NULL);
    accesslog_close(a->alog);
    a->alog = NULL;
    metrics_registry_free(a->metrics);
    a->metrics = NULL;
    a->owned = false;
}
