/* SPDX-License-Identifier: MIT */
/* Worker threads, signals and drain, and the active health checks.
 *
 * Threads: the main thread only waits for signals (sigwait); N workers each run their own
 * event_base with an evhttp server on a SO_REUSEPORT listener and a curl multi client, so a
 * request never changes thread. SIGTERM/SIGINT: every worker stops accepting, waits until its
 * open requests are done or drain_timeout passes, and leaves its loop; the process exits 0. */
#include "api/gateway.h"

#include <curl/curl.h>
#include <malloc.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "api/openai.h"
#include "metrics/accesslog.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/client.h"
#include "http/server.h"
#include "meter/meter.h"
#include "route/health.h"
#include "route/route.h"
#include "scan/scan.h"
#include "store/store.h"

#define DRAIN_POLL_MS 20
#define DRAIN_FLUSH_US 100000 /* after the last request ends, time for its bytes to leave */
#define HEALTH_TICK_MS 250

/* ---- active health checks (worker 0) ------------------------------------------------------ */

struct probe {
    struct worker *w;       /* worker running it */
    size_t backend;         /* index */
    char url[1024];         /* check URL */
    int status;             /* response status */
    struct http_call *call; /* running call */
};

static int
probe_head(struct http_call *c, int status, const char *ctype, void *arg)
{
    struct probe *pr = arg;
    (void)c;
    (void)ctype;
    pr->status = status;
    return 0;
}

static int
probe_data(struct http_call *c, const char *p, size_t n, void *arg)
{
    (void)c;
    (void)p;
    (void)n;
    (void)arg;
    return 0;
}

static void
probe_done(struct http_call *c, const char *errstr, void *arg)
{
    struct probe *pr = arg;
    (void)c;
    struct backend_rt *b = &pr->w->gw->backends.b[pr->backend];
    /* any answer below 500 means the server is up and serving HTTP */
    bool up = errstr == NULL && pr->status > 0 && pr->status < 500;
    pr->w->probes[pr->backend] = NULL;
    enum backend_health before = (enum backend_health)atomic_load(&b->health);
    int64_t now = clock_mono_us();
    backend_report_check(b, up, now);
    health_report_check(pr->w->gw->health, (int)pr->backend, up, now, NULL);
    if ((before == BACKEND_HEALTH_UP) != up)
        log_info("health", "backend=%s state=%s check=%s", b->conf->name, up ? "up" : "down",
                 errstr ? errstr : "http");
    free(pr);
}

static void
on_health_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    int64_t now = clock_mono_us();
    struct backend_set *bs = &w->gw->backends;
    for (size_t i = 0; i < bs->n; i++) {
        struct backend_rt *b = &bs->b[i];
        long iv = b->conf->health_interval_ms;
        if (iv <= 0 || atomic_load(&w->gw->draining))
            continue;
        int64_t last = atomic_load(&b->last_check_us);
        if ((last && now - last < iv * 1000) || w->probes[i])
            continue;
        atomic_store(&b->last_check_us, now);
        struct probe *pr = xcalloc(1, sizeof(*pr));
        pr->w = w;
        pr->backend = i;
        backend_url(b, b->conf->health_path, pr->url, sizeof(pr->url));
        const char *hdrs[2] = {b->auth_header[0] ? b->auth_header : NULL, NULL};
        long to = iv < 2000 ? iv : 2000;
        struct http_call_opts o = {.method = "GET",
                                   .url = pr->url,
                                   .headers = hdrs,
                                   .connect_timeout_ms = to,
                                   .total_timeout_ms = to,
                                   .ca_file = b->conf->ca_file};
        w->probes[i] = pr;
        pr->call = http_call_start(w->cl, &o, probe_head, probe_data, probe_done, pr);
    }
}

/* ---- drain -------------------------------------------------------------------------------- */

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    size_t open = http_server_open_requests(w->srv);
    int64_t now = clock_mono_us();
    if (open && now >= w->drain_deadline_us) {
        log_warn("drain", "worker=%d drain_timeout passed with %zu requests open", w->id, open);
        event_base_loopexit(w->base, NULL);
        return;
    }
    if (open)
        w->drain_idle_since = 0; /* a keep-alive request came in: the grace starts again */
    if (open == 0) {
        /* A finished reply may still sit in its connection's output buffer: give the loop a
         * moment to write it before the connections are closed. */
        if (w->drain_idle_since == 0)
            w->drain_idle_since = now;
        if (now - w->drain_idle_since >= DRAIN_FLUSH_US) {
            event_base_loopexit(w->base, NULL);
            return;
        }
    }
    struct timeval tv = {0, DRAIN_POLL_MS * 1000};
    evtimer_add(w->drain_timer, &tv);
}

static void
on_drain_start(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    http_server_stop_accepting(w->srv);
    if (w->health_timer)
        evtimer_del(w->health_timer);
    w->drain_deadline_us = clock_mono_us() + w->gw->cfg->drain_timeout_ms * 1000;
    w->drain_timer = evtimer_new(w->base, on_drain_tick, w);
    on_drain_tick(-1, 0, w);
}

/* ---- workers ------------------------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "hg-worker-%d", w->id);
    pthread_setname_np(pthread_self(), name); /* top -H, /proc/PID/task/TID/comm */
    event_base_dispatch(w->base);
    return NULL;
}

static int
worker_init(struct gateway *gw, struct worker *w, int id, struct hg_err *err)
{
    const struct config *cfg = gw->cfg;
    w->gw = gw;
    w->id = id;
    if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng) || w->rng == 0)
        w->rng = (uint64_t)clock_wall_us() ^ ((uint64_t)id << 32) ^ 0x9E3779B97F4A7C15ULL;
    /* The changelist merges the epoll_ctl calls an fd gets within one loop pass: curl removes a
     * connection's interest when a transfer ends and adds it back for the next request on the
     * same keep-alive connection, and without this each of those is a syscall. */
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (w->base == NULL)
        return hg_err_set(err, 0, HG_ERR_SERVER, NULL, "event_base_new failed");
    struct http_server_opts o = {.host = cfg->listen_host,
                                 .port = cfg->listen_port,
                                 .body_limit = cfg->body_limit,
                                 .client_timeout_ms = cfg->client_timeout_ms};
    w->srv = http_server_new(w->base, &o, api_handle, w, err);
    if (w->srv == NULL)
        return -1;
    w->cl = http_client_new(w->base);
    w->scratch = scan_scratch_new(gw->scanner);
    admin_worker_init(&gw->admin, &w->admin);
    if (id == 0) {
        w->health_timer = event_new(w->base, -1, EV_PERSIST, on_health_tick, w);
        struct timeval tv = {0, HEALTH_TICK_MS * 1000};
        event_add(w->health_timer, &tv);
        event_active(w->health_timer, EV_TIMEOUT, 0); /* first checks right away */
    }
    return 0;
}

static void
worker_cleanup(struct worker *w)
{
    if (w->health_timer)
        event_free(w->health_timer);
    if (w->drain_timer)
        event_free(w->drain_timer);
    /* the server first: closing its connections ends their proxies, which cancel their calls */
    if (w->srv)
        http_server_free(w->srv);
    for (size_t i = 0; i < CONFIG_MAX_BACKENDS; i++)
        free(w->probes[i]); /* a probe still running is cancelled by http_client_free */
    if (w->cl)
        http_client_free(w->cl);
    if (w->scratch)
        scan_scratch_free(w->scratch);
    if (w->base)
        event_base_free(w->base);
}

int
gateway_check(const struct config *cfg, size_t *nrules, struct hg_err *err)
{
    struct scan_config *sc = NULL;
    struct scanner *scanner = NULL;
    struct route_config *rc = NULL;
    struct meter *meter = NULL;
    struct admin_conf ac;
    int rc_ = -1;

    if (scan_config_load(cfg_get(cfg->doc.root, "scanner"), &sc, err) < 0)
        goto out;
    scanner = scan_new(sc, err); /* custom patterns must compile */
    if (scanner == NULL)
        goto out;
    /* a rule that could send sensitive data to a hosted backend fails here */
    if (route_config_load(cfg_get(cfg->doc.root, "routing"), cfg, &rc, err) < 0)
        goto out;
    meter = meter_new(cfg, err);
    if (meter == NULL)
        goto out;
    if (admin_conf_load(cfg, &ac, err) < 0)
        goto out;
    if (nrules)
        *nrules = route_config_nrules(rc);
    rc_ = 0;
out:
    meter_free(meter);
    route_config_free(rc);
    scan_free(scanner);
    scan_config_free(sc);
    return rc_;
}

int
gateway_run(const struct config *cfg)
{
    struct gateway gw;
    struct hg_err err = {0};
    sigset_t sigs;
    int rc = 1;
    int started = 0;
    const char **rule_names = NULL;

    memset(&gw, 0, sizeof(gw));
    gw.cfg = cfg;
    gw.started_us = clock_mono_us();
    atomic_init(&gw.draining, false);
    backend_set_init(&gw.backends, cfg);

    if (evthread_use_pthreads() < 0) {
        fprintf(stderr, "hybridgate: evthread_use_pthreads failed\n");
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "hybridgate: curl_global_init failed\n");
        goto out;
    }
    /* Block the signals in every thread; the main thread takes them with sigwait. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct scan_config *sc = NULL;
    if (scan_config_load(cfg_get(cfg->doc.root, "scanner"), &sc, &err) < 0) {
        fprintf(stderr, "hybridgate: %s\n", err.msg);
        goto out;
    }
    gw.scanner = scan_new(sc, &err);
    scan_config_free(sc);
    if (gw.scanner == NULL) {
        fprintf(stderr, "hybridgate: %s\n", err.msg);
        goto out;
    }
    log_info("serve", "scanner patterns %s",
             scan_db_cached(gw.scanner) ? "read from the compiled-database cache" : "compiled");
    if (route_config_load(cfg_get(cfg->doc.root, "routing"), cfg, &gw.routes, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    gw.health = health_new(cfg, route_config_health(gw.routes));
    gw.meter = meter_new(cfg, &err);
    if (gw.meter == NULL) {
        fprintf(stderr, "hybridgate: %s\n", err.msg);
        goto out;
    }
    gw.store = store_open(cfg_get(cfg->doc.root, "store"), &err);
    if (gw.store == NULL) {
        fprintf(stderr, "hybridgate: %s\n", err.msg);
        goto out;
    }

    size_t nrules = route_config_nrules(gw.routes);
    rule_names = xcalloc(nrules ? nrules : 1, sizeof(*rule_names));
    for (size_t i = 0; i < nrules; i++)
        rule_names[i] = route_config_rule_name(gw.routes, i);
    if (admin_open(&gw.admin, cfg, &gw.backends, rule_names, nrules, &err) < 0) {
        fprintf(stderr, "hybridgate: %s\n", err.msg);
        goto out;
    }
    admin_attach_store(&gw.admin, gw.store);
    admin_attach_health(&gw.admin, gw.health, gw.routes);
    gw.nworkers = cfg->workers;
    gw.workers = xcalloc((size_t)gw.nworkers, sizeof(*gw.workers));
    for (int i = 0; i < gw.nworkers; i++) {
        if (worker_init(&gw, &gw.workers[i], i, &err) < 0) {
            fprintf(stderr, "hybridgate: %s\n", err.msg);
            goto out;
        }
    }
    for (int i = 0; i < gw.nworkers; i++) {
        if (pthread_create(&gw.workers[i].th, NULL, worker_main, &gw.workers[i]) != 0) {
            fprintf(stderr, "hybridgate: pthread_create failed\n");
            goto stop;
        }
        started++;
    }
    /* Compiling the scanner's pattern database allocates ~12 MB that is freed again but stays in
     * glibc's heap; hand it back to the kernel (idle RSS 34 -> ~21 MB measured). */
    malloc_trim(0);
    log_info("serve", "listening on %s:%d workers=%d backends=%zu", cfg->listen_host,
             cfg->listen_port, gw.nworkers, cfg->nbackends);
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("serve", "SIGHUP: reopening logs");
            accesslog_reopen();
            continue;
        }
        log_info("serve", "signal %d: draining (drain_timeout=%ld ms)", sig, cfg->drain_timeout_ms);
        break;
    }
    rc = 0;
stop:
    atomic_store(&gw.draining, true);
    for (int i = 0; i < started; i++)
        event_base_once(gw.workers[i].base, -1, EV_TIMEOUT, on_drain_start, &gw.workers[i], NULL);
    for (int i = 0; i < started; i++)
        pthread_join(gw.workers[i].th, NULL);
    log_info("serve", "stopped");
out:
    for (int i = 0; gw.workers && i < gw.nworkers; i++)
        worker_cleanup(&gw.workers[i]);
    free(gw.workers);
    admin_close(&gw.admin); /* before the store: its economics thread reads the store */
    store_close(gw.store);  /* after the workers: writes every row they queued */
    meter_free(gw.meter);
    free(rule_names);
    health_free(gw.health);
    route_config_free(gw.routes);
    scan_free(gw.scanner);
    backend_set_cleanup(&gw.backends);
    curl_global_cleanup();
    return rc;
}
