/* SPDX-License-Identifier: MIT */
/* Shared backend state and the simple selection policy that the routing engine builds on. */
#include "backend/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Passive errors in a row that mark a backend down until a check or request succeeds. */
#define BACKEND_FAILS_DOWN 3

const char *
backend_health_name(enum backend_health h)
{
    switch (h) {
    case BACKEND_HEALTH_UP:
        return "up";
    case BACKEND_HEALTH_DOWN:
        return "down";
    default:
        return "unknown";
    }
}

void
backend_set_init(struct backend_set *s, const struct config *cfg)
{
    s->n = cfg->nbackends;
    s->b = xcalloc(s->n ? s->n : 1, sizeof(*s->b));
    for (size_t i = 0; i < s->n; i++) {
        struct backend_rt *b = &s->b[i];
        b->conf = &cfg->backends[i];
        if (b->conf->api_key)
            snprintf(b->auth_header, sizeof(b->auth_header), "Authorization: Bearer %s",
                     b->conf->api_key);
        atomic_init(&b->inflight, 0);
        atomic_init(&b->health, b->conf->health_interval_ms ? BACKEND_HEALTH_UNKNOWN
                                                            : BACKEND_HEALTH_UP);
        atomic_init(&b->consecutive_failures, 0);
        atomic_init(&b->last_check_us, 0);
    }
}

void
backend_set_cleanup(struct backend_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        secure_zero(s->b[i].auth_header, sizeof(s->b[i].auth_header));
    free(s->b);
    s->b = NULL;
    s->n = 0;
}

int
backend_url(const struct backend_rt *b, const char *suffix, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s%s", b->conf->base_url, suffix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

bool
backend_acquire(struct backend_rt *b)
{
    int max = b->conf->max_concurrency;
    int cur = atomic_fetch_add(&b->inflight, 1);
    if (max > 0 && cur >= max) {
        atomic_fetch_sub(&b->inflight, 1);
        return false;
    }
    return true;
}

void
backend_release(struct backend_rt *b)
{
    atomic_fetch_sub(&b->inflight, 1);
}

void
backend_report(struct backend_rt *b, bool ok)
{
    if (ok) {
        atomic_store(&b->consecutive_failures, 0);
        atomic_store(&b->health, BACKEND_HEALTH_UP);
        return;
    }
    if (atomic_fetch_add(&b->consecutive_failures, 1) + 1 >= BACKEND_FAILS_DOWN)
        atomic_store(&b->health, BACKEND_HEALTH_DOWN);
}

void
backend_report_check(struct backend_rt *b, bool up, int64_t now_us)
{
    atomic_store(&b->last_check_us, now_us);
    if (up)
        atomic_store(&b->consecutive_failures, 0);
    atomic_store(&b->health, up ? BACKEND_HEALTH_UP : BACKEND_HEALTH_DOWN);
}

bool
backend_is_available(const struct backend_rt *b)
{
    return atomic_load(&b->health) != BACKEND_HEALTH_DOWN;
}

bool
backend_set_any_ready(const struct backend_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (atomic_load(&s->b[i].health) == BACKEND_HEALTH_UP)
            return true;
    return false;
}

static double
load_of(const struct backend_set *s, const struct model_target *t)
{
    const struct backend_rt *b = &s->b[t->backend];
    double l = (double)atomic_load(&b->inflight) / (double)(b->conf->weight ? b->conf->weight : 1);
    return backend_is_available(b) ? l : 1e9 + l;
}

size_t
backend_order(const struct backend_set *s, struct model_target *t, size_t n)
{
    /* insertion sort: n is a handful of backends; stable, so config order breaks ties */
    for (size_t i = 1; i < n; i++) {
        struct model_target x = t[i];
        double lx = load_of(s, &x);
        size_t j = i;
        while (j > 0 && load_of(s, &t[j - 1]) > lx) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = x;
    }
    return n;
}
