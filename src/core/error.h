/* SPDX-License-Identifier: MIT */
/* struct hg_err carries an error from wherever it happens to the one place that renders it as the
 * OpenAI error JSON ({"error":{"message","type","code"}}) with its HTTP status. */
#ifndef HG_CORE_ERROR_H
#define HG_CORE_ERROR_H

#include "core/buf.h"

#define HG_ERR_MSG_LEN 512

struct hg_err {
    int status;                    /* HTTP status to send, 0 when no error */
    const char *type;              /* OpenAI error type, static string */
    const char *code;              /* OpenAI error code, static string or NULL */
    char msg[HG_ERR_MSG_LEN];      /* human message, bounded, never holds prompt bytes */
};

/* Fills e and returns -1, so callers can `return hg_err_set(...)`. */
int hg_err_set(struct hg_err *e, int status, const char *type, const char *code, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
/* Appends the OpenAI error JSON for e to out. Returns 0 or -1 (cap). */
int hg_err_json(const struct hg_err *e, struct buf *out);

/* The OpenAI error types used by the gateway. */
#define HG_ERR_INVALID "invalid_request_error"
#define HG_ERR_NOT_FOUND "not_found_error"
#define HG_ERR_UPSTREAM "upstream_error"
#define HG_ERR_TIMEOUT "timeout_error"
#define HG_ERR_UNAVAILABLE "service_unavailable"
#define HG_ERR_AUTH "authentication_error"
#define HG_ERR_SERVER "server_error"
#define HG_ERR_POLICY "policy_violation"

#endif
