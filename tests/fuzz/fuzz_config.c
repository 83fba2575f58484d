/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the config loader (YAML → tree → gateway config). Invariants: a config is
 * either loaded whole or rejected with a "name:line: reason" message; a loaded one has at least one
 * backend and every alias target names a real backend; nothing leaks (ASan) either way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    struct hg_err err = {0};
    if (config_load_str(&cfg, "fuzz.yaml", (const char *)data, size, &err) < 0) {
        if (strncmp(err.msg, "fuzz.yaml", 9) != 0)
            abort();
        return 0;
    }
    if (cfg.nbackends == 0)
        abort();
    for (size_t i = 0; i < cfg.naliases; i++)
        for (size_t t = 0; t < cfg.aliases[i].ntargets; t++)
            if (cfg.aliases[i].targets[t].backend >= (int)cfg.nbackends)
                abort();
    config_cleanup(&cfg);
    return 0;
}
