/* SPDX-License-Identifier: MIT */
/* The structured access log: one JSON line per finished request, built from struct req_record
 * only (ids, names, counts, durations, cost), so no prompt, completion, detected value or key can
 * reach it (rule 15). Workers push a copy of the record into their own lock-free ring; one
 * writer thread formats the lines and writes them in batches to stdout or a file, so the request
 * path never formats, locks or does I/O. SIGHUP reopens the file for log rotation.
 *
 * Lifecycle:
 *   1. al = accesslog_open(cfg->access_log, &err)   (NULL target = off: returns NULL, no error)
 *   2. each worker thread: q = accesslog_queue_new(al)   (NULL al gives NULL q; push ignores it)
 *   3. worker, per finished request: accesslog_push(q, &rec)
 *   4. signal handler for SIGHUP: accesslog_reopen()
 *   5. at exit, after workers stopped: accesslog_close(al)   (writes what is queued) */
#ifndef HG_METRICS_ACCESSLOG_H
#define HG_METRICS_ACCESSLOG_H

#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/record.h"

struct accesslog;
struct accesslog_queue;

/* Records per worker ring. At ~15k requests/s per worker and a 10 ms writer period a ring holds
 * ~7x what arrives between two drains; beyond that lines are dropped and counted. */
#define ACCESSLOG_RING 1024

/* Opens target ("stdout", "stderr" or a file path, appended to and created 0640) and starts the
 * writer thread. Returns NULL with err->msg set on failure, or NULL with err->status 0 when target
 * is NULL or "off" (logging disabled). The caller owns the result (accesslog_close). */
struct accesslog *accesslog_open(const char *target, struct hg_err *err);

/* A queue for one worker thread (single producer). NULL al gives NULL. Owned by al. Takes al's
 * mutex (startup only). */
struct accesslog_queue *accesslog_queue_new(struct accesslog *al);

/* Copies *rec into the worker's ring. Never blocks, allocates or makes a syscall: when the ring
 * is full the line is dropped and counted. q == NULL is a no-op. Owner thread only. */
void accesslog_push(struct accesslog_queue *q, const struct req_record *rec);

/* Asks every open access log to reopen its file at the writer's next wake (<= 10 ms).
 * Async-signal-safe: it only bumps a sig_atomic_t generation. */
void accesslog_reopen(void);

/* Blocks until every record pushed before the call is written. For tests and shutdown. */
void accesslog_flush(struct accesslog *al);

/* Lines written and dropped since open. Any OUT may be NULL; al == NULL gives zeros. Any thread. */
void accesslog_stats(const struct accesslog *al, uint64_t *lines, uint64_t *dropped);

/* Writes what is queued, stops the writer thread, closes the file and frees the queues.
 * Call after the workers stopped pushing. NULL is a no-op. */
void accesslog_close(struct accesslog *al);

/* Formats one access-log line (JSON object and '\n') for rec into out. Returns 0 or -1 (cap).
 * Pure; used by the writer thread, tests and the benchmark. */
int accesslog_format(const struct req_record *rec, struct buf *out);

#endif
