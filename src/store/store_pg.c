/* SPDX-License-Identifier: MIT */
/* The usage store's PostgreSQL back end (the only includer of libpq-fe.h), selected by
 * `store: {url: postgresql://...}`. Same schema as SQLite (store_int.h). A batch is one
 * COPY ... FROM STDIN inside one transaction: one round trip per batch instead of one per row,
 * which is what keeps a remote database from becoming the writer's bottleneck. */
#include "store/store_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"

struct store_pg {
    char *url;    /* connection URL; owned */
    PGconn *conn; /* connected with the schema in place, or NULL; writer thread only */
};

static int
pg_fail(PGconn *c, const char *what, struct hg_err *err)
{
    char msg[256];
    store_field_set(msg, sizeof(msg), c ? PQerrorMessage(c) : "out of memory");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (msg[i] == '\n' || msg[i] == '\t')
            msg[i] = ' '; /* libpq's multi-line messages, on one log line */
    return hg_err_set(err, 500, HG_ERR_SERVER, NULL, "store: postgresql %s: %s", what, msg);
}

static int
pg_exec(PGconn *c, const char *sql, struct hg_err *err)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int ret = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        ret = pg_fail(c, "exec", err);
    PQclear(res);
    return ret;
}

static PGconn *
pg_connect(const char *url, struct hg_err *err)
{
    PGconn *c = PQconnectdb(url);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        pg_fail(c, "connect", err);
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Connects and creates the schema (tables hg_meta, requests). The connection or NULL with err. */
static PGconn *
pg_connect_schema(const char *url, struct hg_err *err)
{
    PGconn *c = pg_connect(url, err);
    if (c == NULL)
        return NULL;
    /* Concurrent gateways may race on CREATE ... IF NOT EXISTS; the schema is tiny, so a
     * session-level advisory lock serializes it rather than retrying. */
    if (pg_exec(c, "SET client_min_messages = warning; SELECT pg_advisory_lock(72616);", err) < 0 ||
        pg_exec(c, STORE_PG_SCHEMA, err) < 0 ||
        pg_exec(c,
                "INSERT INTO hg_meta (k, v) VALUES ('schema_version', '" STORE_PG_SCHEMA_VERSION
                "') ON CONFLICT (k) DO NOTHING; SELECT pg_advisory_unlock(72616);",
                err) < 0) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* A malformed URL is a config error; a database that is down is not: the gateway must serve
 * without it, so the writer connects when it can and counts the rows it could not write. */
struct store_pg *
store_pg_open(const char *url, struct hg_err *err)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (opts == NULL) {
        hg_err_set(err, 0, HG_ERR_INVALID, NULL, "store: bad postgresql URL: %s",
                   perr ? perr : "out of memory");
        PQfreemem(perr);
        return NULL;
    }
    PQconninfoFree(opts);
    struct store_pg *p = xcalloc(1, sizeof(*p));
    p->url = xstrdup(url);
    struct hg_err cerr = {0};
    p->conn = pg_connect_schema(url, &cerr);
    if (p->conn == NULL)
        log_warn("store", "%s; rows count as failed until it is reachable", cerr.msg + 7);
    return p;
}

void
store_pg_close(struct store_pg *p)
{
    if (p == NULL)
        return;
    PQfinish(p->conn);
    free(p->url);
    free(p);
}

/* Appends a text field in COPY text format: backslash, tab, newline and CR escaped. */
static void
copy_text(struct buf *b, const char *f, size_t cap)
{
    size_t n = strnlen(f, cap);
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        if (c == '\\')
            buf_append(b, "\\\\", 2);
        else if (c == '\t')
            buf_append(b, "\\t", 2);
        else if (c == '\n')
            buf_append(b, "\\n", 2);
        else if (c == '\r')
            buf_append(b, "\\r", 2);
        else
            buf_appendc(b, c);
    }
    buf_appendc(b, '\t');
}

#define COPY_TEXT(b, r, f) copy_text((b), (r)->f, sizeof((r)->f))

static void
copy_row(struct buf *b, const struct req_record *r)
{
    buf_printf(b, "%lld\t", (long long)r->ts_us);
    COPY_TEXT(b, r, request_id);
    COPY_TEXT(b, r, key_id);
    COPY_TEXT(b, r, team);
    COPY_TEXT(b, r, rule);
    COPY_TEXT(b, r, reason);
    COPY_TEXT(b, r, backend);
    COPY_TEXT(b, r, backend_kind);
    COPY_TEXT(b, r, model);
    COPY_TEXT(b, r, requested_model);
    COPY_TEXT(b, r, endpoint);
    buf_printf(b, "%u\t%d\t%d\t%d\t%d\t%d\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t", r->classes,
               r->sensitive, r->stream, r->masked, r->status, r->attempts,
               (long long)r->input_tokens, (long long)r->output_tokens, (long long)r->ttft_us,
               (long long)r->total_us, (long long)r->scan_us, (long long)r->cost_micro_usd);
    COPY_TEXT(b, r, error);
    b->p[b->len - 1] = '\n'; /* the last field ends the line, not a tab */
}

/* Inserts n rows into `requests` with one COPY in one transaction. */
int
store_pg_write(struct store_pg *p, const struct store_rows *rows, struct hg_err *err)
{
    struct buf b;
    int ret = -1;
    PGresult *res = NULL;

    /* Not connected yet, or the connection dropped (database restart): one try per batch. */
    if (p->conn && PQstatus(p->conn) != CONNECTION_OK) {
        PQfinish(p->conn);
        p->conn = NULL;
    }
    if (p->conn == NULL) {
        p->conn = pg_connect_schema(p->url, err);
        if (p->conn == NULL)
            return -1;
    }
    buf_init(&b, (size_t)1 << 30);
    for (size_t i = 0, n = store_rows_count(rows); i < n; i++)
        copy_row(&b, store_rows_at(rows, i));
    if (pg_exec(p->conn, "BEGIN", err) < 0)
        goto out;
    res = PQexec(p->conn, "COPY requests (" STORE_COLUMNS ") FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_fail(p->conn, "copy", err);
        goto rollback;
    }
    PQclear(res);
    res = NULL;
    if (PQputCopyData(p->conn, b.p, (int)b.len) != 1 || PQputCopyEnd(p->conn, NULL) != 1) {
        pg_fail(p->conn, "copy data", err);
        goto rollback;
    }
    res = PQgetResult(p->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_fail(p->conn, "copy end", err);
        goto rollback;
    }
    PQclear(res);
    res = PQgetResult(p->conn); /* NULL ends the COPY command */
    if (pg_exec(p->conn, "COMMIT", err) < 0)
        goto out;
    ret = 0;
    goto out;
rollback:
    PQclear(res);
    res = NULL;
    while ((res = PQgetResult(p->conn)) != NULL)
        PQclear(res);
    {
        struct hg_err ignored = {0};
        pg_exec(p->conn, "ROLLBACK", &ignored);
    }
out:
    PQclear(res);
    buf_cleanup(&b);
    return ret;
}

static void
set_text(char *dst, size_t cap, PGresult *res, int col)
{
    store_field_set(dst, cap, PQgetvalue(res, 0, col));
}

#define PG_TEXT(r, f, res, col) set_text((r)->f, sizeof((r)->f), (res), (col))
#define PG_INT(res, col) strtoll(PQgetvalue((res), 0, (col)), NULL, 10)

/* Reads `requests` rows in [from,to) in time order (the index on ts_us), one row at a time
 * (single-row mode), so a large table is never held in memory. */
int
store_pg_scan(const char *url, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
              struct hg_err *err)
{
    int ret = -1;
    PGresult *res = NULL;
    PGconn *c = pg_connect(url, err);
    if (c == NULL)
        return -1;
    char from[32];
    char to[32];
    snprintf(from, sizeof(from), "%lld", (long long)from_us);
    snprintf(to, sizeof(to), "%lld", (long long)to_us);
    const char *params[2] = {from, to};
    if (!PQsendQueryParams(c,
                           "SELECT " STORE_COLUMNS " FROM requests WHERE ts_us >= $1::bigint AND "
                           "ts_us < $2::bigint ORDER BY ts_us",
                           2, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(c)) {
        pg_fail(c, "select", err);
        goto out;
    }
    int stop = 0;
    for (;;) {
        res = PQgetResult(c);
        if (res == NULL)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && stop == 0) {
            struct req_record r;
            memset(&r, 0, sizeof(r));
            int i = 0;
            r.ts_us = PG_INT(res, i++);
            PG_TEXT(&r, request_id, res, i++);
            PG_TEXT(&r, key_id, res, i++);
            PG_TEXT(&r, team, res, i++);
            PG_TEXT(&r, rule, res, i++);
            PG_TEXT(&r, reason, res, i++);
            PG_TEXT(&r, backend, res, i++);
            PG_TEXT(&r, backend_kind, res, i++);
            PG_TEXT(&r, model, res, i++);
            PG_TEXT(&r, requested_model, res, i++);
            PG_TEXT(&r, endpoint, res, i++);
            r.classes = (unsigned)PG_INT(res, i++);
            r.sensitive = PG_INT(res, i++) != 0;
            r.stream = PG_INT(res, i++) != 0;
            r.masked = PG_INT(res, i++) != 0;
            r.status = (int)PG_INT(res, i++);
            r.attempts = (int)PG_INT(res, i++);
            r.input_tokens = PG_INT(res, i++);
            r.output_tokens = PG_INT(res, i++);
            r.ttft_us = PG_INT(res, i++);
            r.total_us = PG_INT(res, i++);
            r.scan_us = PG_INT(res, i++);
            r.cost_micro_usd = PG_INT(res, i++);
            PG_TEXT(&r, error, res, i++);
            stop = cb(ctx, &r);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
            pg_fail(c, "select", err);
            PQclear(res);
            while ((res = PQgetResult(c)) != NULL)
                PQclear(res);
            goto out;
        }
        PQclear(res);
        res = NULL;
    }
    ret = stop;
out:
    PQclear(res);
    PQfinish(c);
    return ret;
}

int
store_pg_time_range(const char *url, int64_t *min_us, int64_t *max_us, struct hg_err *err)
{
    PGconn *c = pg_connect(url, err);
    if (c == NULL)
        return -1;
    int ret = -1;
    /* both ends of the ts_us index */
    PGresult *res = PQexec(c, "SELECT min(ts_us), max(ts_us) FROM requests");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pg_fail(c, "select", err);
    } else if (PQgetisnull(res, 0, 0)) {
        ret = 0;
    } else {
        *min_us = PG_INT(res, 0);
        *max_us = PG_INT(res, 1);
        ret = 1;
    }
    PQclear(res);
    PQfinish(c);
    return ret;
}
