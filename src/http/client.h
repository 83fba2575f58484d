/* SPDX-License-Identifier: MIT */
/* Upstream HTTP client: libcurl's multi interface driven by the worker's libevent loop (only
 * http/client.c includes curl). One struct http_client per worker thread holds the CURLM, whose
 * connection cache gives keep-alive pools per upstream host, and a free list of easy handles
 * (reusing them measured about +25% at c=64). TLS verification is curl's default (peer and host
 * name); a backend may add a private CA file.
 *
 * Lifecycle of a struct http_call:
 *   1. http_call_start() queues it; callbacks then run from the loop, never from inside start;
 *   2. on_head once (status of the final response, after any 1xx);
 *   3. on_data zero or more times, each with the next body bytes;
 *   4. on_done exactly once (errstr NULL on success), unless the owner cancelled first;
 *   after on_done or http_call_cancel() the pointer is invalid. */
#ifndef HG_HTTP_CLIENT_H
#define HG_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct http_client;
struct http_call;

/* Return 0 to go on, 1 to pause the transfer (resume with http_call_resume()), -1 to abort it
 * (on_done then reports an error). */
typedef int http_head_cb(struct http_call *c, int status, const char *content_type, void *arg);
typedef int http_data_cb(struct http_call *c, const char *p, size_t n, void *arg);
/* errstr: NULL on success, else one of the HTTP_CALL_ERR_* strings (compare by address). The call
 * is already freed when this runs, so c is NULL. */
typedef void http_done_cb(struct http_call *c, const char *errstr, void *arg);

extern const char HTTP_CALL_ERR_CONNECT[];  /* could not connect (refused, DNS, TLS handshake) */
extern const char HTTP_CALL_ERR_TIMEOUT[];  /* curl's connect or total timeout */
extern const char HTTP_CALL_ERR_BROKEN[];   /* connection broke while receiving */
extern const char HTTP_CALL_ERR_TLS[];      /* certificate or name verification failed */
extern const char HTTP_CALL_ERR_ABORTED[];  /* a callback returned -1 */
extern const char HTTP_CALL_ERR_OTHER[];    /* anything else */

struct http_call_opts {
    const char *method;        /* "POST" or "GET" */
    const char *url;           /* absolute URL */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;          /* request body (not copied: must live until on_done/cancel) */
    size_t body_len;           /* bytes */
    long connect_timeout_ms;   /* 0 = curl default */
    long total_timeout_ms;     /* 0 = none (streams) */
    const char *ca_file;       /* extra CA bundle, or NULL */
};

struct http_client *http_client_new(struct event_base *base);
/* Cancels every call still running (no callbacks) and frees. */
void http_client_free(struct http_client *cl);
/* Number of calls running. */
size_t http_client_active(const struct http_client *cl);

/* Starts a call. Never NULL: a call that cannot start reports through on_done from the loop. */
struct http_call *http_call_start(struct http_client *cl, const struct http_call_opts *o,
                                  http_head_cb *on_head, http_data_cb *on_data,
                                  http_done_cb *on_done, void *arg);
/* Stops a call; no callback runs after this. Safe from inside the call's own callbacks. */
void http_call_cancel(struct http_call *c);
/* Resumes a call paused by a callback returning 1. */
void http_call_resume(struct http_call *c);

#endif
