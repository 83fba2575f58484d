/* SPDX-License-Identifier: MIT */
/* Live per-backend state that feeds route_decide(): in-flight slots and queue length, moving
 * averages (TTFT, queue wait, tokens/s, error rate), the circuit breaker, active-check results
 * and the model/fingerprint each backend last returned (drift detection). The api layer does the
 * I/O and calls in here; nothing in this file reads a clock (every function takes now_us, a
 * monotonic time in microseconds) or blocks beyond a short per-backend mutex.
 *
 * Threading: one pthread mutex per backend guards all of that backend's fields; no function
 * holds two of them at once, so there is no lock order. health_snapshot() locks each backend in
 * turn: every backend's view is self-consistent, the set is not one instant (it need not be).
 *
 * Per request, the api layer:
 *   1. health_snapshot() -> route_view; route_decide() -> candidates.
 *   2. For cand[i]: health_acquire(). OK/PROBE: send. FULL: health_queue_enter() and wait, then
 *      health_queue_leave(waited) and health_acquire() again. OPEN: next candidate
 * (ROUTE_FT_CIRCUIT).
 *   3. When the attempt ends (success, error, timeout, client gone): health_release() exactly once
 *      per OK/PROBE acquire, with the outcome; then health_observe_model() with the response's
 *      `model` and `system_fingerprint` when it had them.
 * The prober calls health_report_check() after each active check. */
#ifndef HG_ROUTE_HEALTH_H
#define HG_ROUTE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "route/route.h"

struct health;

/* One per gateway, for cfg's backends (cfg must outlive it). p = route_config_health(rc), or NULL
 * for defaults. Never NULL (allocation failure aborts). */
struct health *health_new(const struct config *cfg, const struct route_health_params *p);
void health_free(struct health *h);

enum health_acquire {
    HEALTH_ACQ_OK,    /* slot taken; call health_release() when done */
    HEALTH_ACQ_PROBE, /* slot taken as a half-open probe; its outcome decides the circuit */
    HEALTH_ACQ_FULL,  /* all max_concurrency slots taken: queue or try the next candidate */
    HEALTH_ACQ_OPEN,  /* circuit open (or half-open with every probe slot busy): next candidate */
};
const char *health_acquire_name(enum health_acquire a);

/* Takes an in-flight slot on backend b at now_us, moving an open circuit past its cool-down to
 * half-open. Non-blocking. */
enum health_acquire health_acquire(struct health *h, int b, int64_t now_us);

/* Queue bookkeeping for a request that waits for a slot on b (the waiting itself is the api
 * layer's). enter: true when the queue had room (max_queue), and it now counts this request.
 * leave: exactly once per successful enter; waited_us feeds the queue-wait average. */
bool health_queue_enter(struct health *h, int b);
void health_queue_leave(struct health *h, int b, int64_t waited_us, int64_t now_us);

/* What happened to one attempt. ok=false for transport errors, timeouts, 5xx and 429 (a 4xx caused
 * by the client's request is ok=true: the backend is fine). */
struct health_outcome {
    bool ok;               /* the backend answered properly */
    bool probe;            /* the acquire returned HEALTH_ACQ_PROBE */
    int64_t ttft_us;       /* request sent -> first body byte, 0 = unknown */
    int64_t duration_us;   /* request sent -> last byte, 0 = unknown */
    int64_t output_tokens; /* from usage, 0 = unknown */
};

/* Releases the slot and feeds the averages and the breaker. Returns the circuit state after;
 * *changed (may be NULL) says whether this call changed it (log it: closed->open etc.). */
enum route_circuit health_release(struct health *h, int b, const struct health_outcome *o,
                                  int64_t now_us, bool *changed);

/* An active health check result. A failure marks b down (no traffic) and counts toward opening
 * the circuit; a success marks it up and closes an open circuit whose cool-down has passed, but
 * does not reset the count of consecutive request failures. */
enum route_circuit health_report_check(struct health *h, int b, bool ok, int64_t now_us,
                                       bool *changed);

/* Model pinning. Records the `model` and `system_fingerprint` b returned (either may be empty or
 * NULL = absent and then keeps the previous value). Returns true on drift: a non-empty value
 * differs from the previous non-empty one; then *drift (may be NULL) holds both for the log line
 * and the drift counter is incremented. */
struct health_drift {
    char old_model[ROUTE_MODEL_LEN];    /* previous model, "" = none */
    char new_model[ROUTE_MODEL_LEN];    /* the one just seen */
    char old_fingerprint[ROUTE_FP_LEN]; /* previous system_fingerprint */
    char new_fingerprint[ROUTE_FP_LEN]; /* the one just seen */
};
bool health_observe_model(struct health *h, int b, const char *model, size_t model_len,
                          const char *fingerprint, size_t fp_len, struct health_drift *drift);

/* Counters for the metrics room (monotonic since start). */
struct health_counters {
    uint64_t drift_events;   /* model/fingerprint changes seen */
    uint64_t circuit_opened; /* closed/half-open -> open transitions */
    uint64_t failures;       /* outcomes with ok=false, failed active checks included */
    uint64_t requests;       /* health_release() calls */
};
void health_get_counters(struct health *h, int b, struct health_counters *out);

/* Fills *out (cfg, rc, now_us and every backend's view as of now_us) for route_decide(). Cost is
 * one lock/unlock and ~250 bytes copied per backend. */
void health_snapshot(struct health *h, const struct route_config *rc, int64_t now_us,
                     struct route_view *out);

#endif
