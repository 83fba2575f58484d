/* SPDX-License-Identifier: MIT */
/* The usage store's queue, writer thread and SQLite back end (the only includer of sqlite3.h).
 * The request path's store_put() copies a record into a ring under a mutex and returns; the
 * writer thread takes up to `batch` rows at a time and writes them in one transaction with a
 * statement prepared at open. PostgreSQL rows go through store_pg.c instead. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
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
/* Rows per INSERT statement: one VDBE run per 16 rows instead of per row cut the writer's CPU per
 * row from ~2.6 us to ~1.8 us on the dev box; 16 x 24 = 384 parameters, far below the
 * 32766 SQLite allows. */
#define SQ_MULTI 16

/* Invariants, all under mu:
 *   - ring[(head + i) % cap] for i < count are queued rows, oldest first;
 *   - count <= cap; put_seq counts rows ever accepted, done_seq rows whose write finished
 *     (written or failed), so done_seq + count + inflight == put_seq;
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

    char *url;               /* postgresql:// URL, or NULL for SQLite; owned */
    char *path;              /* SQLite file, or NULL for PostgreSQL; owned */
    sqlite3 *db;             /* SQLite connection, used by the writer thread only */
    sqlite3_stmt *ins;       /* one-row INSERT prepared at open */
    sqlite3_stmt *ins_multi; /* SQ_MULTI-row INSERT prepared at open */
    sqlite3_stmt *begin;     /* BEGIN prepared at open */
    sqlite3_stmt *commit;    /* COMMIT prepared at open */
    sqlite3_stmt *rollback;  /* ROLLBACK prepared at open */
    struct store_pg *pg;     /* PostgreSQL connection, writer thread only */
    bool off;                /* `store: off`: no database, no thread, puts are dropped silently */
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

/* ---------------------------------------------------------------- SQLite */

static int
sq_fail(sqlite3 *db, const char *what, struct hg_err *err)
{
    return hg_err_set(err, 500, HG_ERR_SERVER, NULL, "store: %s: %s", what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

/* Opens path read-write (creating it), switches to WAL, creates the schema and prepares the
 * statements. Tables: hg_meta, requests. 0 or -1 with err. */
static int
sq_open(struct store *s, struct hg_err *err)
{
    /* NOMUTEX: the connection is used by one thread at a time (this one, then the writer), so
     * SQLite's per-call connection mutex is pure cost: 13% of the writer's instructions under
     * callgrind, two lock/unlock pairs per bound column. */
    if (sqlite3_open_v2(s->path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return sq_fail(s->db, s->path, err);
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL lets the report read while the writer appends; NORMAL syncs at checkpoints only,
     * which loses at most the last transactions on power loss, never corrupts. */
    const char *setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" STORE_SCHEMA
                        "INSERT OR IGNORE INTO hg_meta (k, v) VALUES ('schema_version', "
                        "'" STORE_SCHEMA_VERSION "');";
    if (sqlite3_exec(s->db, setup, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(s->db, "create schema", err);
    /* "INSERT ... VALUES (24 x ?)" for one row and for SQ_MULTI rows */
    static const char row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    char sql[128 + sizeof(STORE_COLUMNS) + SQ_MULTI * sizeof(row)];
    size_t n = (size_t)snprintf(sql, sizeof(sql),
                                "INSERT INTO requests (" STORE_COLUMNS ") VALUES %s", row);
    if (sqlite3_prepare_v2(s->db, sql, (int)n, &s->ins, NULL) != SQLITE_OK)
        return sq_fail(s->db, "prepare", err);
    for (int i = 1; i < SQ_MULTI; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ",%s", row);
    if (sqlite3_prepare_v2(s->db, sql, (int)n, &s->ins_multi, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "BEGIN", -1, &s->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "COMMIT", -1, &s->commit, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "ROLLBACK", -1, &s->rollback, NULL) != SQLITE_OK)
        return sq_fail(s->db, "prepare", err);
    return 0;
}

static void
sq_close(struct store *s)
{
    sqlite3_finalize(s->ins);
    sqlite3_finalize(s->ins_multi);
    s->ins_multi = NULL;
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    s->ins = s->begin = s->commit = s->rollback = NULL;
    sqlite3_close(s->db);
    s->db = NULL;
}

static int
sq_step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *field, size_t cap)
{
    sqlite3_bind_text(st, i, field, (int)strnlen(field, cap), SQLITE_STATIC);
}

#define BIND_TEXT(st, i, r, f) bind_text((st), (i), (r)->f, sizeof((r)->f))

/* Binds row r to the 24 parameters starting at index i (1-based). */
static void
bind_row(sqlite3_stmt *st, int i, const struct req_record *r)
{
    sqlite3_bind_int64(st, i++, r->ts_us);
    BIND_TEXT(st, i++, r, request_id);
    BIND_TEXT(st, i++, r, key_id);
    BIND_TEXT(st, i++, r, team);
    BIND_TEXT(st, i++, r, rule);
    BIND_TEXT(st, i++, r, reason);
    BIND_TEXT(st, i++, r, backend);
    BIND_TEXT(st, i++, r, backend_kind);
    BIND_TEXT(st, i++, r, model);
    BIND_TEXT(st, i++, r, requested_model);
    BIND_TEXT(st, i++, r, endpoint);
    sqlite3_bind_int64(st, i++, r->classes);
    sqlite3_bind_int(st, i++, r->sensitive);
    sqlite3_bind_int(st, i++, r->stream);
    sqlite3_bind_int(st, i++, r->masked);
    sqlite3_bind_int(st, i++, r->status);
    sqlite3_bind_int(st, i++, r->attempts);
    sqlite3_bind_int64(st, i++, r->input_tokens);
    sqlite3_bind_int64(st, i++, r->output_tokens);
    sqlite3_bind_int64(st, i++, r->ttft_us);
    sqlite3_bind_int64(st, i++, r->total_us);
    sqlite3_bind_int64(st, i++, r->scan_us);
    sqlite3_bind_int64(st, i++, r->cost_micro_usd);
    BIND_TEXT(st, i, r, error);
}

/* Inserts n rows into `requests` in one transaction, SQ_MULTI rows per statement while it can.
 * 0, or -1 with err (rolled back). */
static int
sq_write(struct store *s, const struct req_record *rows, size_t n, struct hg_err *err)
{
    if (sq_step_reset(s->begin) < 0)
        return sq_fail(s->db, "begin", err);
    size_t k = 0;
    while (k < n) {
        sqlite3_stmt *st = n - k >= SQ_MULTI ? s->ins_multi : s->ins;
        size_t m = st == s->ins ? 1 : SQ_MULTI;
        for (size_t j = 0; j < m; j++)
            bind_row(st, 1 + (int)j * STORE_NCOLUMNS, &rows[k + j]);
        if (sq_step_reset(st) < 0) {
            sq_fail(s->db, "insert", err);
            sq_step_reset(s->rollback);
            return -1;
        }
        k += m;
    }
    if (sq_step_reset(s->commit) < 0) {
        sq_fail(s->db, "commit", err);
        sq_step_reset(s->rollback);
        return -1;
    }
    return 0;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

#define SET_TEXT(r, f, v) store_field_set((r)->f, sizeof((r)->f), (v))

/* Reads `requests` rows in [from,to) on a private read-only connection. */
static int
sq_scan(const char *path, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
        struct hg_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sq_fail(db, path, err);
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db,
                           "SELECT " STORE_COLUMNS " FROM requests WHERE ts_us >= ? AND ts_us < ? "
                           "ORDER BY ts_us",
                           -1, &st, NULL) != SQLITE_OK) {
        sq_fail(db, "select", err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            sq_fail(db, "select", err);
            goto out;
        }
        struct req_record r;
        memset(&r, 0, sizeof(r));
        int i = 0;
        r.ts_us = sqlite3_column_int64(st, i++);
        SET_TEXT(&r, request_id, col_text(st, i++));
        SET_TEXT(&r, key_id, col_text(st, i++));
        SET_TEXT(&r, team, col_text(st, i++));
        SET_TEXT(&r, rule, col_text(st, i++));
        SET_TEXT(&r, reason, col_text(st, i++));
        SET_TEXT(&r, backend, col_text(st, i++));
        SET_TEXT(&r, backend_kind, col_text(st, i++));
        SET_TEXT(&r, model, col_text(st, i++));
        SET_TEXT(&r, requested_model, col_text(st, i++));
        SET_TEXT(&r, endpoint, col_text(st, i++));
        r.classes = (unsigned)sqlite3_column_int64(st, i++);
        r.sensitive = sqlite3_column_int(st, i++) != 0;
        r.stream = sqlite3_column_int(st, i++) != 0;
        r.masked = sqlite3_column_int(st, i++) != 0;
        r.status = sqlite3_column_int(st, i++);
        r.attempts = sqlite3_column_int(st, i++);
        r.input_tokens = sqlite3_column_int64(st, i++);
        r.output_tokens = sqlite3_column_int64(st, i++);
        r.ttft_us = sqlite3_column_int64(st, i++);
        r.total_us = sqlite3_column_int64(st, i++);
        r.scan_us = sqlite3_column_int64(st, i++);
        r.cost_micro_usd = sqlite3_column_int64(st, i++);
        SET_TEXT(&r, error, col_text(st, i++));
        int stop = cb(ctx, &r);
        if (stop) {
            ret = stop;
            goto out;
        }
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ret;
}

/* ---------------------------------------------------------------- writer thread */

static int
db_write(struct store *s, const struct req_record *rows, size_t n, struct hg_err *err)
{
    if (s->pg)
        return store_pg_write(s->pg, rows, n, err);
    return sq_write(s, rows, n, err);
}

/* Drains the ring in batches until store_close sets stop and the ring is empty. A failed batch
 * is logged (at most once per second) and counted, and the rows are lost: retrying would let a
 * dead database grow the backlog without bound, and the request was already answered. */
static void *
writer_main(void *arg)
{
    struct store *s = arg;
    struct req_record *batch = xmalloc(s->batch * sizeof(*batch));
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
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (s->flush_ms % 1000) * 1000000L;
            until.tv_sec += s->flush_ms / 1000 + until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            while (s->count < s->batch && !s->stop && s->flushers == 0 &&
                   pthread_cond_timedwait(&s->wake, &s->mu, &until) != ETIMEDOUT)
                ;
        }
        size_t n = s->count < s->batch ? s->count : s->batch;
        size_t head = s->head;
        pthread_mutex_unlock(&s->mu);
        /* Copy outside the lock: producers only write slots past head + count, and these n
         * slots stay counted (so cannot be reused) until head moves below. A 512-row copy
         * under the lock would stall every store_put for tens of microseconds. */
        size_t first = n < s->cap - head ? n : s->cap - head;
        memcpy(batch, &s->ring[head], first * sizeof(*batch));
        memcpy(batch + first, s->ring, (n - first) * sizeof(*batch));
        pthread_mutex_lock(&s->mu);
        s->head = (s->head + n) % s->cap;
        s->count -= n;
        pthread_mutex_unlock(&s->mu);

        struct hg_err err = {0};
        if (db_write(s, batch, n, &err) == 0) {
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
        s->done_seq += n;
        pthread_cond_broadcast(&s->drained);
    }
    pthread_mutex_unlock(&s->mu);
    free(batch);
    return NULL;
}

/* ---------------------------------------------------------------- public API */

static void
store_free(struct store *s)
{
    if (s == NULL)
        return;
    if (s->db)
        sq_close(s);
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
    } else if (sq_open(s, err) < 0) {
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
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 10 * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
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
    return sq_scan(s->path, from_us, to_us, cb, ctx, err);
}
