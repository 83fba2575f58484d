/* SPDX-License-Identifier: MIT */
/* Backend health, load and drift state behind per-backend mutexes (see health.h for the calling
 * protocol). The circuit breaker is a three-state machine:
 *   closed    --(failure_threshold consecutive failures, or error-rate EWMA >= error_rate_open
 *                after min_samples)--> open
 *   open      --(cooldown_ms elapsed, seen by acquire/snapshot/check)--> half_open
 *   half_open --(probe succeeds, or an active check succeeds)--> closed
 *   half_open --(probe fails, or an active check fails)--> open (cool-down restarts)
 * Time only comes in as arguments, so tests drive it with a fake clock. */
#include "route/health.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* A latency average with no new sample for this long is reported as unknown (0). Without it, a
 * backend that was once slower than its SLO would keep losing public traffic to burst_to, get no
 * new samples, and stay "slow" forever. */
#define HEALTH_STALE_US (10 * 1000000LL)

struct hb {
    pthread_mutex_t mu;          /* guards every field below */
    int max_concurrency;         /* from config; 0 = unlimited */
    int max_queue;               /* from config */
    int inflight;                /* slots held (probes included) */
    int queued;                  /* requests waiting for a slot */
    bool down;                   /* last active check failed */
    enum route_circuit circuit;  /* stored state; open past open_until reads half-open */
    int64_t open_until_us;       /* open: when the cool-down ends */
    int probes_inflight;         /* half-open probes in flight */
    int consecutive_failures;    /* reset by any success */
    uint64_t samples;            /* outcomes seen since the circuit last closed */
    double ttft_ms;              /* EWMA, 0 = none yet */
    double queue_wait_ms;        /* EWMA, 0 = none yet */
    double tokens_per_s;         /* EWMA, 0 = none yet */
    double error_rate;           /* EWMA of failure (1) / success (0) */
    int64_t ttft_at_us;          /* time of the last TTFT sample */
    int64_t qwait_at_us;         /* time of the last queue-wait sample */
    char model[ROUTE_MODEL_LEN]; /* last returned model */
    char fp[ROUTE_FP_LEN];       /* last system_fingerprint */
    struct health_counters ctr;  /* monotonic counters */
};

struct health {
    const struct config *cfg;     /* not owned */
    struct route_health_params p; /* breaker / EWMA settings */
    size_t n;                     /* backends */
    struct hb b[];                /* one per backend */
};

const char *
health_acquire_name(enum health_acquire a)
{
    switch (a) {
    case HEALTH_ACQ_OK:
        return "ok";
    case HEALTH_ACQ_PROBE:
        return "probe";
    case HEALTH_ACQ_FULL:
        return "full";
    case HEALTH_ACQ_OPEN:
        return "open";
    }
    return "unknown";
}

struct health *
health_new(const struct config *cfg, const struct route_health_params *p)
{
    struct health *h = xcalloc(1, sizeof(*h) + cfg->nbackends * sizeof(struct hb));
    h->cfg = cfg;
    h->n = cfg->nbackends;
    if (p) {
        h->p = *p;
    } else {
        h->p.failure_threshold = 5;
        h->p.error_rate_open = 0.5;
        h->p.min_samples = 20;
        h->p.cooldown_ms = 5000;
        h->p.half_open_probes = 1;
        h->p.ewma_alpha = 0.2;
    }
    for (size_t i = 0; i < h->n; i++) {
        pthread_mutex_init(&h->b[i].mu, NULL);
        h->b[i].max_concurrency = cfg->backends[i].max_concurrency;
        h->b[i].max_queue = cfg->backends[i].max_queue;
    }
    return h;
}

void
health_free(struct health *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++)
        pthread_mutex_destroy(&h->b[i].mu);
    free(h);
}

static struct hb *
lock(struct health *h, int b)
{
    if (b < 0 || (size_t)b >= h->n)
        return NULL;
    pthread_mutex_lock(&h->b[b].mu);
    return &h->b[b];
}

static void
unlock(struct hb *x)
{
    pthread_mutex_unlock(&x->mu);
}

static double
ewma(double old, double sample, double alpha, bool first)
{
    return first ? sample : old + alpha * (sample - old);
}

/* Applies the cool-down: an open circuit whose time is up becomes half-open. */
static void
advance(struct hb *x, int64_t now_us)
{
    if (x->circuit == ROUTE_CIRCUIT_OPEN && now_us >= x->open_until_us) {
        x->circuit = ROUTE_CIRCUIT_HALF_OPEN;
        x->probes_inflight = 0;
    }
}

static void
trip(struct health *h, struct hb *x, int64_t now_us)
{
    x->circuit = ROUTE_CIRCUIT_OPEN;
    x->open_until_us = now_us + h->p.cooldown_ms * 1000;
    x->probes_inflight = 0;
    x->ctr.circuit_opened++;
}

static void
close_circuit(struct hb *x)
{
    x->circuit = ROUTE_CIRCUIT_CLOSED;
    x->consecutive_failures = 0;
    x->samples = 0;
    x->error_rate = 0;
    x->probes_inflight = 0;
}

enum health_acquire
health_acquire(struct health *h, int b, int64_t now_us)
{
    struct hb *x = lock(h, b);
    if (x == NULL)
        return HEALTH_ACQ_OPEN;
    enum health_acquire r;
    advance(x, now_us);
    if (x->circuit == ROUTE_CIRCUIT_OPEN) {
        r = HEALTH_ACQ_OPEN;
    } else if (x->circuit == ROUTE_CIRCUIT_HALF_OPEN) {
        if (x->probes_inflight >= h->p.half_open_probes) {
            r = HEALTH_ACQ_OPEN;
        } else {
            x->probes_inflight++;
            x->inflight++;
            r = HEALTH_ACQ_PROBE;
        }
    } else if (x->max_concurrency > 0 && x->inflight >= x->max_concurrency) {
        r = HEALTH_ACQ_FULL;
    } else {
        x->inflight++;
        r = HEALTH_ACQ_OK;
    }
    unlock(x);
    return r;
}

bool
health_queue_enter(struct health *h, int b)
{
    struct hb *x = lock(h, b);
    if (x == NULL)
        return false;
    bool ok = x->queued < x->max_queue;
    if (ok)
        x->queued++;
    unlock(x);
    return ok;
}

void
health_queue_leave(struct health *h, int b, int64_t waited_us, int64_t now_us)
{
    struct hb *x = lock(h, b);
    if (x == NULL)
        return;
    if (x->queued > 0)
        x->queued--;
    double ms = (double)waited_us / 1000.0;
    bool fresh = x->queue_wait_ms == 0 || now_us - x->qwait_at_us > HEALTH_STALE_US;
    x->queue_wait_ms = ewma(x->queue_wait_ms, ms, h->p.ewma_alpha, fresh);
    x->qwait_at_us = now_us;
    unlock(x);
}

/* Counts one outcome (request or active check) toward the breaker. */
static void
count_outcome(struct health *h, struct hb *x, bool ok, bool probe, int64_t now_us)
{
    x->samples++;
    x->error_rate = ewma(x->error_rate, ok ? 0.0 : 1.0, h->p.ewma_alpha, x->samples == 1);
    if (ok) {
        x->consecutive_failures = 0;
        if (x->circuit == ROUTE_CIRCUIT_HALF_OPEN && probe)
            close_circuit(x);
        return;
    }
    x->ctr.failures++;
    x->consecutive_failures++;
    if (x->circuit == ROUTE_CIRCUIT_HALF_OPEN) {
        trip(h, x, now_us);
        return;
    }
    if (x->circuit == ROUTE_CIRCUIT_CLOSED &&
        (x->consecutive_failures >= h->p.failure_threshold ||
         (x->samples >= (uint64_t)h->p.min_samples && x->error_rate >= h->p.error_rate_open)))
        trip(h, x, now_us);
}

enum route_circuit
health_release(struct health *h, int b, const struct health_outcome *o, int64_t now_us,
               bool *changed)
{
    struct hb *x = lock(h, b);
    if (x == NULL)
        return ROUTE_CIRCUIT_OPEN;
    enum route_circuit before = x->circuit;
    advance(x, now_us);
    if (x->inflight > 0)
        x->inflight--;
    x->ctr.requests++;
    if (o->probe && x->probes_inflight > 0)
        x->probes_inflight--;
    if (o->ok && o->ttft_us > 0) {
        double ms = (double)o->ttft_us / 1000.0;
        bool fresh = x->ttft_ms == 0 || now_us - x->ttft_at_us > HEALTH_STALE_US;
        x->ttft_ms = ewma(x->ttft_ms, ms, h->p.ewma_alpha, fresh);
        x->ttft_at_us = now_us;
    }
    if (o->ok && o->output_tokens > 0 && o->duration_us > o->ttft_us) {
        double tps = (double)o->output_tokens * 1e6 / (double)(o->duration_us - o->ttft_us);
        x->tokens_per_s = ewma(x->tokens_per_s, tps, h->p.ewma_alpha, x->tokens_per_s == 0);
    }
    /* a late non-probe result while open (sent before the trip) does not move the breaker */
    if (x->circuit != ROUTE_CIRCUIT_OPEN)
        count_outcome(h, x, o->ok, o->probe, now_us);
    enum route_circuit after = x->circuit;
    unlock(x);
    if (changed)
        *changed = before != after;
    return after;
}

enum route_circuit
health_report_check(struct health *h, int b, bool ok, int64_t now_us, bool *changed)
{
    struct hb *x = lock(h, b);
    if (x == NULL)
        return ROUTE_CIRCUIT_OPEN;
    enum route_circuit before = x->circuit;
    advance(x, now_us);
    x->down = !ok;
    if (ok) {
        /* a passing check closes a half-open circuit, but does not forgive request failures: a
         * server whose /models answers while its completions fail must still trip */
        if (x->circuit == ROUTE_CIRCUIT_HALF_OPEN)
            close_circuit(x);
    } else if (x->circuit != ROUTE_CIRCUIT_OPEN) {
        count_outcome(h, x, false, false, now_us);
    }
    enum route_circuit after = x->circuit;
    unlock(x);
    if (changed)
        *changed = before != after;
    return after;
}

static void
copy_field(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool
health_observe_model(struct health *h, int b, const char *model, size_t model_len,
                     const char *fingerprint, size_t fp_len, struct health_drift *drift)
{
    struct hb *x = lock(h, b);
    if (x == NULL)
        return false;
    char nm[ROUTE_MODEL_LEN], nf[ROUTE_FP_LEN];
    copy_field(nm, sizeof(nm), model ? model : "", model ? model_len : 0);
    copy_field(nf, sizeof(nf), fingerprint ? fingerprint : "", fingerprint ? fp_len : 0);
    bool changed = (nm[0] && x->model[0] && strcmp(nm, x->model) != 0) ||
                   (nf[0] && x->fp[0] && strcmp(nf, x->fp) != 0);
    if (changed) {
        x->ctr.drift_events++;
        if (drift) {
            memcpy(drift->old_model, x->model, sizeof(x->model));
            memcpy(drift->old_fingerprint, x->fp, sizeof(x->fp));
            memcpy(drift->new_model, nm[0] ? nm : x->model, sizeof(nm));
            memcpy(drift->new_fingerprint, nf[0] ? nf : x->fp, sizeof(nf));
        }
    }
    if (nm[0])
        memcpy(x->model, nm, sizeof(nm));
    if (nf[0])
        memcpy(x->fp, nf, sizeof(nf));
    unlock(x);
    return changed;
}

void
health_get_counters(struct health *h, int b, struct health_counters *out)
{
    struct hb *x = lock(h, b);
    if (x == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = x->ctr;
    unlock(x);
}

void
health_snapshot(struct health *h, const struct route_config *rc, int64_t now_us,
                struct route_view *out)
{
    out->cfg = h->cfg;
    out->rc = rc;
    out->now_us = now_us;
    out->nbackends = h->n;
    for (size_t i = 0; i < h->n; i++) {
        struct hb *x = &h->b[i];
        struct route_backend_view *v = &out->b[i];
        pthread_mutex_lock(&x->mu);
        v->inflight = x->inflight;
        v->queued = x->queued;
        v->down = x->down;
        v->circuit = x->circuit;
        v->probes_free = 0;
        /* read-only view of the cool-down: the stored state moves on the next acquire */
        if (x->circuit == ROUTE_CIRCUIT_OPEN && now_us >= x->open_until_us) {
            v->circuit = ROUTE_CIRCUIT_HALF_OPEN;
            v->probes_free = h->p.half_open_probes;
        } else if (x->circuit == ROUTE_CIRCUIT_HALF_OPEN) {
            v->probes_free = h->p.half_open_probes - x->probes_inflight;
        }
        v->ttft_ms = now_us - x->ttft_at_us > HEALTH_STALE_US ? 0 : x->ttft_ms;
        v->queue_wait_ms = now_us - x->qwait_at_us > HEALTH_STALE_US ? 0 : x->queue_wait_ms;
        v->tokens_per_s = x->tokens_per_s;
        v->error_rate = x->error_rate;
        memcpy(v->model, x->model, strlen(x->model) + 1);
        memcpy(v->fingerprint, x->fp, strlen(x->fp) + 1);
        pthread_mutex_unlock(&x->mu);
    }
}
