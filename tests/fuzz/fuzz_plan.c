/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the --plan parser and the whole economics pipeline behind it (tco.c
 * arithmetic, break-even search, text/JSON/HTML rendering). Invariants: a plan is either rendered
 * in all three formats or rejected with a "plan.yaml:line: reason" or "plan.yaml: ..." message;
 * no crash, no UB (UBSan), nothing leaks (ASan) either way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const formats[] = {"json", "text", "html"};
    for (int f = 0; f < 3; f++) {
        struct buf out;
        struct hg_err err = {0};
        buf_init(&out, (size_t)64 << 20);
        int rc = report_plan_str("plan.yaml", (const char *)data, size, formats[f], &out, &err);
        if (rc < 0 && strncmp(err.msg, "plan.yaml", 9) != 0)
            abort();
        if (rc == 0 && out.len == 0)
            abort();
        buf_cleanup(&out);
        if (rc < 0)
            break;
    }
    return 0;
}
