/* SPDX-License-Identifier: MIT */
/* Private to the store room: the schema shared by the SQLite (store.c) and PostgreSQL
 * (store_pg.c) back ends, and the libpq side's entry points. Only store.c includes sqlite3.h and
 * only store_pg.c includes libpq-fe.h. */
#ifndef HG_STORE_STORE_INT_H
#define HG_STORE_STORE_INT_H

#include <stddef.h>

#include "store/store.h"

/* One DDL text for both engines: BIGINT/INTEGER/TEXT mean the same thing in SQLite (type
 * affinity) and PostgreSQL, and IF NOT EXISTS makes open idempotent. Booleans are 0/1 integers
 * so both engines read them back the same way. Bump STORE_SCHEMA_VERSION on any change. */
#define STORE_SCHEMA_VERSION "1"
#define STORE_SCHEMA                                                                               \
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

/* Column order used by every INSERT, COPY and SELECT. */
#define STORE_COLUMNS                                                                              \
    "ts_us, request_id, key_id, team, rule, reason, backend, backend_kind, model, "                \
    "requested_model, endpoint, classes, sensitive, stream, masked, status, attempts, "            \
    "input_tokens, output_tokens, ttft_us, total_us, scan_us, cost_micro_usd, error"
#define STORE_NCOLUMNS 24

/* Copies a column's text into a fixed record field, truncating and NUL-terminating. */
void store_field_set(char *dst, size_t cap, const char *src);

/* The PostgreSQL back end (store_pg.c). A connection used by one thread at a time. */
struct store_pg;
/* Checks the URL, connects and creates the schema. NULL with err->msg for a malformed URL only:
 * an unreachable database is logged and retried by each store_pg_write. Blocks. */
struct store_pg *store_pg_open(const char *url, struct hg_err *err);
/* Inserts rows in one transaction (COPY), connecting first when needed. 0, or -1 with err->msg
 * (nothing written). Blocks. */
int store_pg_write(struct store_pg *p, const struct req_record *rows, size_t n, struct hg_err *err);
/* As store_scan, on a fresh connection to url. */
int store_pg_scan(const char *url, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
                  struct hg_err *err);
void store_pg_close(struct store_pg *p);

#endif
