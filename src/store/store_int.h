/* SPDX-License-Identifier: MIT */
/* Private to the store room: the column list of `requests` shared by the SQLite (store_sqlite.c)
 * and PostgreSQL (store_pg.c) back ends, the PostgreSQL DDL, and both back ends' entry points.
 * Only store_sqlite.c includes sqlite3.h and only store_pg.c includes libpq-fe.h. */
#ifndef HG_STORE_STORE_INT_H
#define HG_STORE_STORE_INT_H

#include <stddef.h>

#include "store/store.h"

/* PostgreSQL's DDL: `requests` as one table with these 24 columns and an index on ts_us; the
 * server does the indexing work, off the gateway's cores. SQLite presents the same 24 columns as
 * a view over a star layout that is cheaper to append to (store_sqlite.c). IF NOT EXISTS makes
 * open idempotent; booleans are 0/1 integers. Bump STORE_PG_SCHEMA_VERSION on any change. */
#define STORE_PG_SCHEMA_VERSION "1"
#define STORE_PG_SCHEMA                                                                            \
    "CREATE TABLE IF NOT EXISTS hg_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);\n"                  \
    "CREATE TABLE IF NOT EXISTS requests (\n"                                                      \
    "  ts_us BIGINT NOT NULL,\n"                                                                   \
    "  request_id TEXT NOT NULL,\n"                                                                \
    "  key_id TEXT NOT NULL,\n"                                                                    \
    "  team TEXT NOT NULL,\n"                                                                      \
    "  rule TEXT NOT NULL,\n"                                                                      \
    "  reason TEXT NOT NULL,\n"                                                                    \
    "  backend TEXT NOT NULL,\n"                                                                   \
    "  backend_kind TEXT NOT NULL,\n"                                                              \
    "  model TEXT NOT NULL,\n"                                                                     \
    "  requested_model TEXT NOT NULL,\n"                                                           \
    "  endpoint TEXT NOT NULL,\n"                                                                  \
    "  classes INTEGER NOT NULL,\n"                                                                \
    "  sensitive INTEGER NOT NULL,\n"                                                              \
    "  stream INTEGER NOT NULL,\n"                                                                 \
    "  masked INTEGER NOT NULL,\n"                                                                 \
    "  status INTEGER NOT NULL,\n"                                                                 \
    "  attempts INTEGER NOT NULL,\n"                                                               \
    "  input_tokens BIGINT NOT NULL,\n"                                                            \
    "  output_tokens BIGINT NOT NULL,\n"                                                           \
    "  ttft_us BIGINT NOT NULL,\n"                                                                 \
    "  total_us BIGINT NOT NULL,\n"                                                                \
    "  scan_us BIGINT NOT NULL,\n"                                                                 \
    "  cost_micro_usd BIGINT NOT NULL,\n"                                                          \
    "  error TEXT NOT NULL\n"                                                                      \
    ");\n"                                                                                         \
    "CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts_us);\n"

/* Column order of `requests` in both engines, used by every INSERT, COPY and SELECT. */
#define STORE_COLUMNS                                                                              \
    "ts_us, request_id, key_id, team, rule, reason, backend, backend_kind, model, "                \
    "requested_model, endpoint, classes, sensitive, stream, masked, status, attempts, "            \
    "input_tokens, output_tokens, ttft_us, total_us, scan_us, cost_micro_usd, error"
#define STORE_NCOLUMNS 24

/* Copies a column's text into a fixed record field, truncating and NUL-terminating. */
void store_field_set(char *dst, size_t cap, const char *src);

/* A batch of queued rows: the ring's slots from head to its end, then from its start. */
struct store_rows {
    const struct req_record *seg[2]; /* seg[1] may be NULL when n[1] == 0 */
    size_t n[2];
};

static inline size_t
store_rows_count(const struct store_rows *b)
{
    return b->n[0] + b->n[1];
}

static inline const struct req_record *
store_rows_at(const struct store_rows *b, size_t i)
{
    return i < b->n[0] ? &b->seg[0][i] : &b->seg[1][i - b->n[0]];
}

/* The SQLite back end (store_sqlite.c). A connection used by one thread at a time. */
struct store_sq;
/* Opens or creates path (WAL), creates or migrates the schema, prepares the statements. NULL
 * with err->msg on failure. Blocks. */
struct store_sq *store_sq_open(const char *path, struct hg_err *err);
/* Inserts rows in one transaction. 0, or -1 with err->msg (rolled back, nothing written). */
int store_sq_write(struct store_sq *q, const struct store_rows *rows, struct hg_err *err);
/* As store_scan, on a private read-only connection to path. */
int store_sq_scan(const char *path, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
                  struct hg_err *err);
/* As store_time_range. */
int store_sq_time_range(const char *path, int64_t *min_us, int64_t *max_us, struct hg_err *err);
void store_sq_close(struct store_sq *q);

/* The PostgreSQL back end (store_pg.c). A connection used by one thread at a time. */
struct store_pg;
/* Checks the URL, connects and creates the schema. NULL with err->msg for a malformed URL only:
 * an unreachable database is logged and retried by each store_pg_write. Blocks. */
struct store_pg *store_pg_open(const char *url, struct hg_err *err);
/* Inserts rows in one transaction (COPY), connecting first when needed. 0, or -1 with err->msg
 * (nothing written). Blocks. */
int store_pg_write(struct store_pg *p, const struct store_rows *rows, struct hg_err *err);
/* As store_scan, on a fresh connection to url. */
int store_pg_scan(const char *url, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
                  struct hg_err *err);
/* As store_time_range, on a fresh connection to url. */
int store_pg_time_range(const char *url, int64_t *min_us, int64_t *max_us, struct hg_err *err);
void store_pg_close(struct store_pg *p);

#endif
