/* SPDX-License-Identifier: MIT */
/* The running gateway: shared state (config, backend set) and the worker threads, each with its
 * own event loop, HTTP server on a SO_REUSEPORT listener and upstream client. A request never
 * leaves the worker that accepted it. */
#ifndef HG_API_GATEWAY_H
#define HG_API_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "api/admin.h"
#include "backend/backend.h"
#include "core/config.h"

struct event_base;
struct http_server;
struct http_client;
struct meter;
struct store;
struct scanner;
struct scan_scratch;
struct route_config;
struct health;

struct gateway {
    const struct config *cfg;  /* immutable while running */
    struct backend_set backends; /* live backend state shared by workers */
    struct worker *workers;    /* cfg->workers entries */
    int nworkers;              /* entries */
    atomic_bool draining;      /* SIGTERM received */
    int64_t started_us;        /* monotonic start time */
    struct scanner *scanner;   /* compiled sensitive-data scanner (`scanner:`); owned */
    struct route_config *routes; /* routing rules (`routing:`); owned */
    struct health *health;     /* live backend state for routing; owned */
    struct meter *meter;       /* prices (`prices:`), immutable while running; owned */
    struct store *store;       /* usage store (`store:`), written off the loop; owned */
    struct admin admin;        /* metrics registry, access log, /metrics /admin /ui */
};

struct worker {
    pthread_t th;              /* the thread running the loop */
    struct gateway *gw;        /* owner */
    int id;                    /* 0-based; worker 0 also runs the active health checks */
    struct event_base *base;   /* this thread's loop */
    struct http_server *srv;   /* this thread's listener and connections */
    struct http_client *cl;    /* this thread's upstream client */
    struct event *health_timer; /* worker 0: periodic active checks */
    struct scan_scratch *scratch; /* this thread's scanner scratch */
    struct event *drain_timer; /* checks whether in-flight work has finished */
    int64_t drain_deadline_us; /* monotonic deadline of the drain */
    int64_t drain_idle_since;  /* when the worker's last open request ended, 0 = not yet */
    uint64_t rng;              /* request-id generator state */
    uint32_t drift_tick;       /* streams seen, for sampling drift checks */
    struct probe *probes[CONFIG_MAX_BACKENDS]; /* worker 0: running health probe per backend */
    struct admin_worker admin; /* this thread's metrics shard and access-log queue */
};

/* Loads and checks every room's config section without serving (check-config): scanner (custom
 * patterns compiled), routing rules (privacy invariant), prices, metrics/dashboard. 0 or -1 with
 * err holding "file:line: reason". *nrules (may be NULL) gets the number of routing rules. */
int gateway_check(const struct config *cfg, size_t *nrules, struct hg_err *err);

/* Runs the gateway until SIGTERM/SIGINT, then drains. Returns the process exit status. */
int gateway_run(const struct config *cfg);

#endif
