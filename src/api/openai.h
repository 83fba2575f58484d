/* SPDX-License-Identifier: MIT */
/* The HTTP entry point of a worker: the OpenAI-compatible endpoints (/v1/chat/completions,
 * /v1/completions, /v1/embeddings, /v1/models), health and readiness, and the proxying of a
 * request to its backend with retries, timeouts, streaming and cancellation. */
#ifndef HG_API_OPENAI_H
#define HG_API_OPENAI_H

struct http_req;

/* http_handler_cb for a worker's server; arg is the struct worker. */
void api_handle(struct http_req *req, void *arg);

#endif
