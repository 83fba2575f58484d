/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the routing rules and decisions. Input: a `routing:` section (YAML text),
 * a NUL byte, then request bytes (classes, tag choice, prompt text). Fixed backends cover every
 * kind (self-hosted, hosted, trusted hosted in eu, hosted-open). Invariants checked:
 *   - route_config_load either succeeds or fails with a "name:line:" message;
 *   - no decision offers an unmasked candidate that route_backend_allowed() refuses;
 *   - route_next_candidate() never yields a hosted backend for sensitive data outside the
 *     trusted-in-region rule, whatever the masked re-scan reports as unknown;
 *   - status == 0 iff ncand > 0; explain JSON parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/json.h"
#include "route/route.h"

static const char backends[] =
    "backends:\n"
    "  - {name: gpu-a, kind: self_hosted, base_url: 'http://a/v1', models: [m, n], "
    "max_concurrency: 2, max_queue: 1, region: eu, ttft_slo: 1s}\n"
    "  - {name: gpu-b, kind: self_hosted, base_url: 'http://b/v1', models: [m]}\n"
    "  - {name: openai, kind: hosted, base_url: 'https://o/v1', models: [m, g]}\n"
    "  - {name: azure, kind: hosted, trusted: true, region: eu, base_url: 'https://z/v1', "
    "models: [m, g]}\n"
    "  - {name: together, kind: hosted, base_url: 'https://t/v1', models: [m, n]}\n"
    "aliases:\n"
    "  smart: m\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ylen = nul ? (size_t)(nul - data) : size;
    if (ylen > 16384)
        return 0;
    size_t blen = sizeof(backends) - 1;
    char *y = malloc(blen + 10 + ylen + 1);
    memcpy(y, backends, blen);
    memcpy(y + blen, "routing:\n", 9);
    memcpy(y + blen + 9, data, ylen);
    y[blen + 9 + ylen] = '\0';

    struct config cfg;
    struct hg_err e = {0};
    struct route_config *rc = NULL;
    if (config_load_str(&cfg, "f.yaml", y, blen + 9 + ylen, &e) < 0) {
        free(y);
        return 0;
    }
    free(y);
    if (route_config_load(cfg_get(cfg.doc.root, "routing"), &cfg, &rc, &e) < 0) {
        if (strncmp(e.msg, "f.yaml:", 7) != 0)
            abort();
        config_cleanup(&cfg);
        return 0;
    }
    const uint8_t *req = nul ? nul + 1 : data + size;
    size_t rlen = nul ? size - ylen - 1 : 0;
    static struct route_view v;
    static struct route_decision d;
    memset(&v, 0, sizeof(v));
    v.cfg = &cfg;
    v.rc = rc;
    v.nbackends = cfg.nbackends;
    static const char *const models[] = {"m", "n", "g", "smart", "x"};
    static const char *const tags[] = {"eu", "faq", "batch", "t"};
    for (unsigned round = 0; round < 8; round++) {
        uint8_t c = rlen ? req[round % rlen] : (uint8_t)round;
        struct route_input in = {0};
        in.classes = (c + round) & 0x1f;
        in.model = str_from(models[(c >> 4) % 5]);
        struct str tag = str_from(tags[(c >> 2) % 4]);
        in.tags = &tag;
        in.ntags = c & 1;
        struct str text = {(const char *)req, rlen};
        in.text = &text;
        in.ntext = 1;
        in.prompt_bytes = rlen * (round + 1) * 1000;
        for (size_t b = 0; b < cfg.nbackends; b++) {
            uint8_t s = rlen ? req[(round * 7 + b) % rlen] : 0;
            v.b[b].inflight = s & 3;
            v.b[b].queued = (s >> 2) & 1;
            v.b[b].circuit = (enum route_circuit)((s >> 3) % 3);
            v.b[b].probes_free = (s >> 5) & 1;
            v.b[b].down = (s >> 6) & 1;
            v.b[b].ttft_ms = (s >> 7) ? 2000 : 10;
        }
        route_decide(&in, &v, &d);
        if ((d.status == 0) != (d.ncand > 0))
            abort();
        for (size_t i = 0; i < d.ncand; i++) {
            const struct route_candidate *cd = &d.cand[i];
            bool hosted = cfg.backends[cd->backend].kind == BACKEND_HOSTED;
            if (!(cd->mask && hosted) &&
                !route_backend_allowed(&cfg, cd->backend, d.classes, d.region))
                abort();
        }
        size_t pos = 0;
        int ci;
        while ((ci = route_next_candidate(&d, &cfg, &pos, ROUTE_CLASSES_UNKNOWN)) >= 0) {
            const struct backend_conf *bc = &cfg.backends[d.cand[ci].backend];
            if (d.sensitive && bc->kind == BACKEND_HOSTED &&
                !(bc->trusted && d.region && bc->region && !strcmp(bc->region, d.region)))
                abort();
        }
        struct buf out;
        buf_init(&out, 1 << 20);
        if (route_explain_json(&d, &v, NULL, &out) < 0)
            abort();
        cJSON *j = json_parse(out.p, out.len);
        if (j == NULL)
            abort();
        cJSON_Delete(j);
        buf_cleanup(&out);
        char hv[256];
        route_header_value(&d, &cfg, d.ncand ? d.cand[0].backend : -1, hv, sizeof(hv));
    }
    route_config_free(rc);
    config_cleanup(&cfg);
    return 0;
}
