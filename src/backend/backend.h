/* SPDX-License-Identifier: MIT */
/* Backends at run time: the live state every worker thread shares (in-flight count, health from
 * active checks and passive results), how a request for a backend is addressed (URL, headers), and
 * candidate selection. All OpenAI-compatible servers (vLLM, llama.cpp, TGI, SGLang, Ollama's /v1,
 * Together, Fireworks, Groq, OpenAI) speak the same wire format, so they differ only in config. */
#ifndef HG_BACKEND_BACKEND_H
#define HG_BACKEND_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

enum backend_health { BACKEND_HEALTH_UNKNOWN, BACKEND_HEALTH_UP, BACKEND_HEALTH_DOWN };
const char *backend_health_name(enum backend_health h);

/* Shared by all workers; fields are atomics so no lock is needed on the request path. */
struct backend_rt {
    const struct backend_conf *conf; /* immutable config of this backend */
    char auth_header[600];           /* "Authorization: Bearer <key>" or "" (never logged) */
    atomic_int inflight;             /* requests currently sent to it, all workers */
    atomic_int health;               /* enum backend_health from active checks/passive errors */
    atomic_int consecutive_failures; /* passive: connect errors and 5xx in a row */
    atomic_llong last_check_us;      /* monotonic time of the last active check */
};

struct backend_set {
    struct backend_rt *b; /* one per config backend, same index */
    size_t n;             /* entries */
};

/* Builds the run-time set for cfg (keys are read from cfg). Never fails. */
void backend_set_init(struct backend_set *s, const struct config *cfg);
void backend_set_cleanup(struct backend_set *s);

/* Formats base_url + suffix ("/chat/completions") into out; returns 0 or -1 if too long. */
int backend_url(const struct backend_rt *b, const char *suffix, char *out, size_t outlen);

/* Takes an in-flight slot: true when under max_concurrency (or unlimited). */
bool backend_acquire(struct backend_rt *b);
void backend_release(struct backend_rt *b);

/* Passive result of a request: ok = got an answer that is not a 5xx. */
void backend_report(struct backend_rt *b, bool ok);
/* Active health check result. */
void backend_report_check(struct backend_rt *b, bool up, int64_t now_us);
/* True when routing may pick it now (not known to be down). */
bool backend_is_available(const struct backend_rt *b);
/* True when at least one backend is known up (or has active checks disabled). */
bool backend_set_any_ready(const struct backend_set *s);

/* Orders the targets a model resolves to, best first: available before down, then fewest
 * in-flight per unit of weight. Returns the number kept (≤ n). */
size_t backend_order(const struct backend_set *s, struct model_target *t, size_t n);

#endif
