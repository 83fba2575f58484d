/* SPDX-License-Identifier: MIT */
/* Incremental server-sent-events splitter for streams relayed from an upstream. Bytes go in as
 * they arrive; each complete event (up to and including its blank line) comes out with its raw
 * bytes, so the caller can pass it through byte for byte, drop it or rewrite it. */
#ifndef HG_HTTP_SSE_H
#define HG_HTTP_SSE_H

#include <stddef.h>

#include "core/buf.h"

/* raw/rawlen: the event's bytes including the terminating blank line. data/datalen: the payload of
 * its data: lines joined by '\n' ("" when none). Return 0 to go on, -1 to stop feeding. */
typedef int sse_event_cb(const char *raw, size_t rawlen, const char *data, size_t datalen,
                         void *arg);

struct sse_parser {
    struct buf pending; /* bytes of an incomplete event, capped */
    struct buf data;    /* scratch for multi-line data */
};

/* max_event: the largest event accepted (a longer one is an error: the stream is malformed). */
void sse_parser_init(struct sse_parser *sp, size_t max_event);
void sse_parser_cleanup(struct sse_parser *sp);
/* Feeds bytes. Returns 0, -1 when an event exceeds max_event, or -2 when the callback stopped. */
int sse_feed(struct sse_parser *sp, const char *p, size_t n, sse_event_cb *cb, void *arg);
/* Bytes held back in an incomplete event. */
size_t sse_pending(const struct sse_parser *sp);

#endif
