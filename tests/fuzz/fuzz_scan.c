/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the scanner: arbitrary bytes into scan_text(), and the same bytes as an
 * OpenAI request body into scan_request(). Invariants: no crash, every entity inside the input
 * with start < end, scores in [0, 1], entities sorted by start, `sensitive` iff some entity is
 * over its threshold (or the input is too large). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "scan/scan.h"

static struct scanner *scanner;
static struct scan_scratch *scratch;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (scanner == NULL) {
        struct hg_err err = {0};
        scanner = scan_new(NULL, &err);
        if (scanner == NULL)
            abort();
        scratch = scan_scratch_new(scanner);
    }
    struct scan_result r;
    scan_text(scanner, scratch, (const char *)data, size, &r);
    bool any_over = false;
    for (size_t i = 0; i < r.nentities; i++) {
        const struct scan_entity *e = &r.entities[i];
        if (e->start >= e->end || e->end > size || !(e->score >= 0 && e->score <= 1) ||
            e->type_name == NULL)
            abort();
        if (i > 0 && r.entities[i - 1].start > e->start)
            abort();
        any_over = any_over || e->over;
    }
    if (any_over != r.sensitive)
        abort();
    cJSON *body = json_parse((const char *)data, size);
    if (body != NULL) {
        scan_request(scanner, scratch, body, &r);
        for (size_t i = 0; i < r.nentities; i++) {
            const struct scan_entity *e = &r.entities[i];
            if (e->node == NULL || (!cJSON_IsString(e->node) && e->type != SCAN_IMAGE))
                abort();
            size_t len =
                cJSON_IsString(e->node) && e->node->valuestring ? strlen(e->node->valuestring) : 0;
            if (e->end > len || (e->start >= e->end && e->type != SCAN_IMAGE))
                abort();
        }
        cJSON_Delete(body);
    }
    return 0;
}
