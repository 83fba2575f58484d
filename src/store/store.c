/* SPDX-License-Identifier: MIT */
/* The usage store's queue and writer thread. The request path's store_put() copies a record into
 * a ring under a mutex and returns; the writer thread takes up to `batch` rows at a time, straight
 * from the ring, and writes them in one transaction through store_sqlite.c or store_pg.c. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store_int.h"

#define DEFAULT_PATH "./hybridgate.db"
/* 16384 rows of ~750 bytes = 12 MiB: at 5k req/s that is 3 s of writer stall before a drop. */
#define DEFAULT_QUEUE 16384
/* Rows per transaction, and how long a row may wait for its batch to fill. In the gateway at
 * ~15k req/s (one core shared by worker and writer), 2048-4096-row batches cost the writer
 * ~1.4 us of CPU per row against ~1.9 us with 512: each commit (WAL frames, locks, wal-index)
 * is a fixed cost. Half a second is still "live" for the report and the dashboard. */
#define DEFAULT_BATCH 2048
#define DEFAULT_FLUSH_MS 500

/* Invariants, all under mu:
 *   - ring[(head + i) % cap] for i < count are queued rows, oldest first, including the ones
 *     the writer is writing (it moves head past them when their transaction has ended);
 *   - count <= cap; put_seq counts rows ever accepted, done_seq rows whose write finished
 *     (written or failed), so done_seq + count == put_seq;
 *   - stop is set once by store_close; the writer exits only when stop && count == 0. */
struct store {
    pthread_mutex_t mu;      /* guards everything down to `stop` */
    pthread_cond_t wake;     /* writer waits here for rows or stop */
    pthread_cond_t drained;  /* store_flush waits here for done_seq */
    struct req_record *ring; /* cap slots; owned */
    size_t cap;              /* ring slots (store: queue) */
    size_t head;             /* index of the oldest queued row */
    size_t count;            /* queued rows */
    uint64_t put_seq;        /* rows accepted by store_put */
    uint64_t done_seq;       /* rows written or failed by the writer */
    bool stop;               /* store_close asked the writer to finish */
    unsigned flushers;       /* store_flush callers waiting: the writer skips its linger */

    size_t batch;        /* rows per transaction */
    long flush_ms;       /* writer wakes at least this often when rows are queued */
    pthread_t thread;    /* the writer */
    bool thread_started; /* thread must be joined */

    _Atomic uint64_t written; /* rows committed */
    _Atomic uint64_t dropped; /* rows refused because the ring was full */
    _Atomic uint64_t failed;  /* rows whose transaction failed */

    char *url;           /* postgresql:// URL, or NULL for SQLite; owned */
    char *path;          /* SQLite file, or NULL for PostgreSQL; owned */
    struct store_sq *sq; /* SQLite connection, writer thread only */
    struct store_pg *pg; /* PostgreSQL connection, writer thread only */
    bool off;            /* `store: off`: no database, no thread, puts are dropped silently */
};

void
store_field_set(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

const char *
store_kind_name(const struct store *s)
{
    return s == NULL || s->off ? "off" : s->url ? "postgresql" : "sqlite";
}

static bool
is_pg_url(const char *v)
{
    return !strncmp(v, "postgresql://", 13) || !strncmp(v, "postgres://", 11);
}

/* ---------------------------------------------------------------- writer thread */

static int
db_write(struct store *s, const struct store_rows *rows, struct hg_err *err)
{
    if (s->pg)
        return store_pg_write(s->pg, rows, err);
    return store_sq_write(s->sq, rows, err);
}

/* Drains the ring in batches until store_close sets stop and the ring is empty. A failed batch
 * is logged (at most once per second) and counted, and the rows are lost: retrying would let a
 * dead database grow the backlog without bound, and the request was already answered. */
static void *
writer_main(void *arg)
{
    struct store *s = arg;
    pthread_setname_np(pthread_self(), "hg-store");
    time_t last_log = 0;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->count == 0 && !s->stop)
            pthread_cond_wait(&s->wake, &s->mu);
        if (s->count == 0 && s->stop)
            break;
        /* Let a small batch grow for up to flush_ms unless it is full or we are closing:
         * fewer, larger transactions are what keeps the writer cheap. */
        if (s->count < s->batch && !s->stop && s->flushers == 0) {
            struct timespec until = clock_deadline_ms(s->flush_ms);
            while (s->count < s->batch && !s->stop && s->flushers == 0 &&
                   pthread_cond_timedwait(&s->wake, &s->mu, &until) != ETIMEDOUT)
                ;
        }
        size_t n = s->count < s->batch ? s->count : s->batch;
        size_t head = s->head;
        pthread_mutex_unlock(&s->mu);
        /* Written straight from the ring, outside the lock: producers only write slots past
         * head + count, and these n slots stay counted (so cannot be reused) until head moves
         * after the write. */
        size_t first = n < s->cap - head ? n : s->cap - head;
        struct store_rows rows = {{&s->ring[head], s->ring}, {first, n - first}};
        struct hg_err err = {0};
        if (db_write(s, &rows, &err) == 0) {
            atomic_fetch_add(&s->written, n);
        } else {
            atomic_fetch_add(&s->failed, n);
            time_t now = time(NULL);
            if (now != last_log) {
                log_warn("store", "write of %zu rows failed, dropped: %s", n,
                         strncmp(err.msg, "store: ", 7) ? err.msg : err.msg + 7);
                last_log = now;
            }
        }

        pthread_mutex_lock(&s->mu);
        s->head = (s->head + n) % s->cap;
        s->count -= n;
        s->done_seq += n;
        pthread_cond_broadcast(&s->drained);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---------------------------------------------------------------- public API */

static void
store_free(struct store *s)
{
    if (s == NULL)
        return;
    store_sq_close(s->sq);
    store_pg_close(s->pg);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->drained);
    free(s->ring);
    free(s->url);
    free(s->path);
    free(s);
}

/* Reads the section into s (path/url and knobs). 0 or -1 with a file:line message. */
static int
parse_section(struct store *s, const struct cfg_node *section, struct hg_err *err)
{
    static const char *const keys[] = {"path", "url", "queue", "batch", "flush_interval", NULL};
    const char *where = NULL;
    long v;

    s->cap = DEFAULT_QUEUE;
    s->batch = DEFAULT_BATCH;
    s->flush_ms = DEFAULT_FLUSH_MS;
    if (section == NULL) {
        where = DEFAULT_PATH;
    } else if (section->type == CFG_SCALAR &&
               (!strcmp(section->value, "off") || !strcmp(section->value, "false"))) {
        /* quoted or not: a SQLite file literally named "off" is spelled ./off */
        s->off = true;
        return 0;
    } else if (section->type == CFG_SCALAR) {
        where = section->value;
    } else if (section->type == CFG_MAP) {
        if (cfg_check_keys(section, keys, err) < 0)
            return -1;
        const struct cfg_node *p = cfg_get(section, "path");
        const struct cfg_node *u = cfg_get(section, "url");
        if (p && u)
            return cfg_fail(u, err, "store: give either 'path' (SQLite) or 'url' (PostgreSQL)");
        if (u) {
            if (cfg_want_scalar(u, err) < 0)
                return -1;
            if (!is_pg_url(u->value))
                return cfg_fail(u, err, "store: 'url' must start with postgresql://");
            where = u->value;
        } else if (p) {
            if (cfg_want_scalar(p, err) < 0)
                return -1;
            where = p->value;
        } else {
            where = DEFAULT_PATH;
        }
        const struct cfg_node *n = cfg_get(section, "queue");
        if (n) {
            if (cfg_long(n, 16, 1L << 24, &v, err) < 0)
                return -1;
            s->cap = (size_t)v;
        }
        n = cfg_get(section, "batch");
        if (n) {
            if (cfg_long(n, 1, 100000, &v, err) < 0)
                return -1;
            s->batch = (size_t)v;
        }
        n = cfg_get(section, "flush_interval");
        if (n && cfg_duration_ms(n, &s->flush_ms, err) < 0)
            return -1;
    } else {
        return cfg_fail(section, err, "store: expected a path, a postgresql:// URL or a mapping");
    }
    if (where[0] == '\0')
        return cfg_fail(section, err, "store: empty path");
    if (is_pg_url(where))
        s->url = xstrdup(where);
    else
        s->path = xstrdup(where);
    return 0;
}

struct store *
store_open(const struct cfg_node *section, struct hg_err *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    struct store *ret = NULL;

    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->drained, NULL);
    if (parse_section(s, section, err) < 0)
        goto out;
    if (s->off) {
        ret = s;
        s = NULL;
        goto out;
    }
    s->ring = xmalloc(s->cap * sizeof(*s->ring));
    if (s->url) {
        s->pg = store_pg_open(s->url, err);
        if (s->pg == NULL)
            goto out;
    } else {
        s->sq = store_sq_open(s->path, err);
        if (s->sq == NULL)
            goto out;
    }
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        hg_err_set(err, 500, HG_ERR_SERVER, NULL, "store: pthread_create failed");
        goto out;
    }
    s->thread_started = true;
    ret = s;
    s = NULL;
out:
    store_free(s);
    return ret;
}

void
store_put(struct store *s, const struct req_record *r)
{
    if (s == NULL || s->off)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->count == s->cap || s->stop) {
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
        return;
    }
    s->ring[(s->head + s->count) % s->cap] = *r;
    s->count++;
    s->put_seq++;
    /* Wake the writer only on the first row and when a batch is full: a signal per row would
     * cost a futex call on the request path for nothing, since the writer batches anyway. */
    bool signal = s->count == 1 || s->count == s->batch;
    pthread_mutex_unlock(&s->mu);
    if (signal)
        pthread_cond_signal(&s->wake);
}

void
store_flush(struct store *s)
{
    if (s == NULL || s->off)
        return;
    pthread_mutex_lock(&s->mu);
    uint64_t target = s->put_seq;
    s->flushers++;
    while (s->done_seq < target) {
        pthread_cond_signal(&s->wake);
        struct timespec until = clock_deadline_ms(10);
        pthread_cond_timedwait(&s->drained, &s->mu, &until);
    }
    s->flushers--;
    pthread_mutex_unlock(&s->mu);
}

void
store_stats(const struct store *s, uint64_t *written, uint64_t *dropped, uint64_t *failed)
{
    if (written)
        *written = s ? atomic_load(&s->written) : 0;
    if (dropped)
        *dropped = s ? atomic_load(&s->dropped) : 0;
    if (failed)
        *failed = s ? atomic_load(&s->failed) : 0;
}

void
store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    store_free(s);
}

int
store_scan(struct store *s, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
           struct hg_err *err)
{
    if (s == NULL || s->off)
        return hg_err_set(err, 0, HG_ERR_INVALID, NULL, "store: the usage store is off");
    if (s->url)
        return store_pg_scan(s->url, from_us, to_us, cb, ctx, err);
    return store_sq_scan(s->path, from_us, to_us, cb, ctx, err);
}

int
store_time_range(struct store *s, int64_t *min_us, int64_t *max_us, struct hg_err *err)
{
    if (s == NULL || s->off)
        return hg_err_set(err, 0, HG_ERR_INVALID, NULL, "store: the usage store is off");
    if (s->url)
        return store_pg_time_range(s->url, min_us, max_us, err);
    return store_sq_time_range(s->path, min_us, max_us, err);
}
