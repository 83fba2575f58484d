/* SPDX-License-Identifier: MIT */
/* The HTTP server room's contract: request in, reply (whole or chunk by chunk) out, and a notice
 * when the client goes away. libevent's evhttp sits behind it (only http/ includes it), so a
 * faster server can replace it without touching api/.
 *
 * Lifecycle of a struct http_req:
 *   1. the server calls the handler with a complete request (body read, within body_limit);
 *   2. the handler answers now or later, from the same worker thread;
 *   3. exactly one of http_req_send(), http_req_end() or http_req_abort() finishes it; after that
 *      the pointer is invalid;
 *   4. if the client disconnects first, the close callback runs once; the req stays valid and the
 *      owner still finishes it (usually with http_req_abort()).
 * A request the server itself rejects (malformed HTTP, body over the limit) reaches the handler
 * with http_req_error_status() != 0 so the api can answer in the OpenAI error shape. */
#ifndef HG_HTTP_SERVER_H
#define HG_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct event_base;
struct http_server;
struct http_req;

typedef void http_handler_cb(struct http_req *req, void *arg);
typedef void http_close_cb(struct http_req *req, void *arg);
typedef void http_flush_cb(struct http_req *req, void *arg);

struct http_server_opts {
    const char *host;       /* bind address */
    int port;               /* bind port; SO_REUSEPORT so every worker binds the same one */
    size_t body_limit;      /* larger bodies get status 413 */
    long client_timeout_ms; /* idle keep-alive / slow client */
};

/* Creates a listening server on base. NULL with err on failure (bind errors name the call). */
struct http_server *http_server_new(struct event_base *base, const struct http_server_opts *o,
                                    http_handler_cb *cb, void *arg, struct hg_err *err);
/* Stops accepting new connections; open connections keep being served. */
void http_server_stop_accepting(struct http_server *s);
/* Closes everything. Requests still open are dropped. */
void http_server_free(struct http_server *s);
/* Number of requests handed to the handler and not yet finished, plus (once accepting stopped)
 * finished replies whose bytes are still being written. */
size_t http_server_open_requests(const struct http_server *s);

/* 0 for a normal request, else the status the server decided (400, 413, ...). */
int http_req_error_status(const struct http_req *r);
const char *http_req_method(const struct http_req *r); /* "GET", "POST", ... */
/* Path without the query string, NUL-terminated, valid until the req finishes. */
const char *http_req_path(const struct http_req *r);
/* Header value or NULL (case-insensitive name). */
const char *http_req_header(const struct http_req *r, const char *name);
/* The whole body, contiguous; *len set. Valid until the req finishes. Never NULL. */
const char *http_req_body(struct http_req *r, size_t *len);

/* Adds a response header; call before send/start. */
void http_req_set_header(struct http_req *r, const char *name, const char *value);
/* Whole reply with a content-length; finishes the req. */
void http_req_send(struct http_req *r, int status, const char *ctype, const char *body, size_t len);
/* Starts a chunked reply. */
void http_req_start(struct http_req *r, int status, const char *ctype);
/* Queues bytes of a started reply. Returns the bytes waiting in the client's output buffer, so the
 * caller can apply backpressure; the flush callback runs when that buffer has drained. */
size_t http_req_write(struct http_req *r, const char *p, size_t n);
/* Bytes queued for the client and not yet written to its socket. */
size_t http_req_pending(const struct http_req *r);
/* Clean end of a started reply; finishes the req. */
void http_req_end(struct http_req *r);
/* Finishes the req without a clean end: the connection is closed (queued bytes are flushed first
 * where the library allows). Use for a client that left or a broken stream. */
void http_req_abort(struct http_req *r);
/* Callbacks for this req (any may be NULL). */
void http_req_set_callbacks(struct http_req *r, http_close_cb *on_close, http_flush_cb *on_flush,
                            void *arg);
bool http_req_started(const struct http_req *r);
bool http_req_client_gone(const struct http_req *r);

#endif
