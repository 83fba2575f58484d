/* SPDX-License-Identifier: MIT */
/* The usage store: one row per finished request (struct req_record: ids, names, counts, durations,
 * cost; never prompt or completion text). The request path only copies a record into a bounded
 * queue; a writer thread drains it in batched transactions into SQLite (WAL) or, when the section
 * names a postgresql:// URL, PostgreSQL with the same schema. The report reads rows back. */
#ifndef HG_STORE_STORE_H
#define HG_STORE_STORE_H

#include <stdint.h>

#include "core/cfgtree.h"
#include "core/error.h"
#include "core/record.h"

struct store;

/* Opens the store described by `section` (the `store:` YAML node) and starts its writer thread.
 *   store: ./usage.db                      scalar: a SQLite path, or a postgresql:// URL
 *   store: {path: FILE}                    SQLite (default ./hybridgate.db when section is NULL)
 *   store: {url: postgresql://...}         PostgreSQL through libpq
 *   store: off                             no store: store_put does nothing, store_scan fails
 *   extra keys: queue (rows, default 16384), batch (rows per transaction, default 2048),
 *               flush_interval (duration, default 500ms)
 * Creates the schema when missing. Returns the store (owned by the caller, release with
 * store_close) or NULL with err->msg ("file:line: reason" for config errors). Blocks on I/O. */
struct store *store_open(const struct cfg_node *section, struct hg_err *err);

/* Queues a copy of *r for writing. Never blocks on I/O and never fails the caller: when the queue
 * is full the row is dropped and counted. Callable from any thread. s == NULL is a no-op.
 * Touches no table itself; the writer thread inserts into `requests`. */
void store_put(struct store *s, const struct req_record *r);

/* Waits until every row queued before the call has been written (or has failed). For tests and
 * the report; blocks. */
void store_flush(struct store *s);

/* Counters since open: rows written, rows dropped because the queue was full, rows whose write
 * failed (logged). Any OUT pointer may be NULL. Callable from any thread. */
void store_stats(const struct store *s, uint64_t *written, uint64_t *dropped, uint64_t *failed);

/* Writes what is queued, stops the writer thread and closes the database. NULL is a no-op. */
void store_close(struct store *s);

/* Called once per row by store_scan, in no promised order: SQLite gives write order (a request is
 * written when it ends, so this is close to time order), PostgreSQL time order. Return 0 to go on,
 * non-zero to stop (the value is returned by store_scan). The record is only valid during the call.
 */
typedef int store_row_cb(void *ctx, const struct req_record *r);

/* Reads the rows of `requests` with from_us <= ts_us < to_us through its own read connection, so
 * it may run while the writer is active (it does not see rows still queued: store_flush first).
 * Returns 0, the callback's non-zero value, or -1 with err->msg. Blocks on I/O. */
int store_scan(struct store *s, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
               struct hg_err *err);

/* The smallest and largest ts_us of the stored rows: 1 with *min_us and *max_us set, 0 when the
 * store holds no row, -1 with err->msg. Its own read connection; blocks on I/O. */
int store_time_range(struct store *s, int64_t *min_us, int64_t *max_us, struct hg_err *err);

/* "sqlite", "postgresql" or "off", for logs and the report header. */
const char *store_kind_name(const struct store *s);

#endif
