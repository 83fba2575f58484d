/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the `prices:` and `economics:` sections (meter/meter.c, report/report.c).
 * Invariants: a config whose prices load gives finite, non-negative costs for any token counts
 * that fit a request; every rejection is a "fuzz.yaml:line: reason" message (or, for a store
 * that is off, the store's own error); nothing leaks (ASan), no UB (UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "meter/meter.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    struct hg_err err = {0};
    if (config_load_str(&cfg, "fuzz.yaml", (const char *)data, size, &err) < 0)
        return 0;
    struct meter *m = meter_new(&cfg, &err);
    if (m == NULL) {
        if (strncmp(err.msg, "fuzz.yaml", 9) != 0)
            abort();
        config_cleanup(&cfg);
        return 0;
    }
    for (size_t i = 0; i < cfg.nbackends; i++) {
        const struct backend_conf *b = &cfg.backends[i];
        for (size_t k = 0; k < b->nmodels; k++)
            if (meter_cost_micro_usd(m, b->name, b->models[k], 1000000, 1000000) < 0)
                abort();
    }
    meter_free(m);
    /* economics: parsed before the store is read; NULL store fails after a valid section */
    struct buf out;
    buf_init(&out, 1 << 20);
    if (report_headline_json(&cfg, NULL, 0, 1, &out, &err) == 0 ||
        (strncmp(err.msg, "fuzz.yaml", 9) != 0 && strncmp(err.msg, "store:", 6) != 0))
        abort();
    buf_cleanup(&out);
    config_cleanup(&cfg);
    return 0;
}
