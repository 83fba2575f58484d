/* SPDX-License-Identifier: MIT */
/* Mask mode for routing: before a sensitive request goes to a hosted model, every detected
 * value in the body's strings is replaced by a stable placeholder ("<EMAIL_ADDRESS_1>"; the same
 * value gets the same placeholder within a request), and the map stays with the request. On the
 * way back, a streaming restorer turns placeholders in the model's text deltas into the original
 * values, holding back an incomplete "<..." tail across chunks (a placeholder may be split
 * across SSE events). Pure: no I/O, no locking; one struct scan_mask per request.
 *
 * Lifecycle:
 *   1. scan_request() on the parsed body → struct scan_result
 *   2. scan_mask_new(); scan_mask_apply(m, body, &result) rewrites the strings in place
 *   3. send the body; for each text delta: scan_restore_feed(r, delta) → restored text
 *   4. scan_restore_finish() at the end of the stream; scan_restore_free(); scan_mask_free()
 *      (the original values are wiped with secure_zero) */
#ifndef HG_SCAN_MASK_H
#define HG_SCAN_MASK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/json.h"
#include "scan/scan.h"

#define SCAN_MASK_MAX_ENTRIES                                                                      \
    4096 /* distinct values per request; more are masked as "<MASKED>"                             \
          */

struct scan_mask;

/* Never NULL (aborts on OOM). */
struct scan_mask *scan_mask_new(void);
/* Wipes the stored values and frees. NULL is a no-op. */
void scan_mask_free(struct scan_mask *m);

/* Replaces, in the string nodes of body, every entity of r that cleared its threshold (over),
 * or every entity when all is true. r must come from scan_request() on this same body, with no
 * change to the body in between. Overlapping entities in one string are merged into one
 * placeholder. IMAGE entities (image_url parts, audio, files) cannot be masked and are left as
 * they are: a result holding an IMAGE that is over its threshold must stay on a self-hosted
 * backend even in mask mode. Returns the number of replacements made. */
int scan_mask_apply(struct scan_mask *m, cJSON *body, const struct scan_result *r, bool all);

/* Placeholders in the map. */
size_t scan_mask_count(const struct scan_mask *m);
/* Lookup: the original value for a placeholder text such as "<EMAIL_ADDRESS_1>" (with the angle
 * brackets), or NULL. *len gets the value's length. */
const char *scan_mask_lookup(const struct scan_mask *m, const char *ph, size_t n, size_t *len);

/* Restores placeholders in p[0..n) (a whole, non-streamed text) into out. Returns the number of
 * placeholders replaced, or -1 when out's cap is reached. */
int scan_mask_restore_str(const struct scan_mask *m, const char *p, size_t n, struct buf *out);
/* Restores placeholders in every string value of json (e.g. a whole chat.completion response,
 * including tool-call argument strings), in place. Returns the number replaced. */
int scan_mask_restore_json(const struct scan_mask *m, cJSON *json);

/* Streaming restorer over one mask (which must outlive it). */
struct scan_restore;
struct scan_restore *scan_restore_new(const struct scan_mask *m);
void scan_restore_free(struct scan_restore *r);
/* Appends to out the restored text for this delta; an incomplete placeholder tail is held back
 * until the next call. Returns 0, or -1 when out's cap is reached. */
int scan_restore_feed(struct scan_restore *r, const char *p, size_t n, struct buf *out);
/* End of stream: appends whatever is held back, unchanged. Returns 0 or -1 (cap). */
int scan_restore_finish(struct scan_restore *r, struct buf *out);

#endif
