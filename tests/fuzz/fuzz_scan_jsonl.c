/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the `hybridgate scan` JSON-lines reader: the input is split into lines
 * exactly as the CLI does and each goes through scan_cli_line(). Invariants: exactly one
 * newline-terminated output line per input line, and every output line is valid JSON with an
 * "id" member and either "error" or "sensitive". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "scan/scan.h"
#include "scan/scan_cli.h"

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
    const char *p = (const char *)data;
    size_t i = 0;
    while (i < size) {
        const char *nl = memchr(p + i, '\n', size - i);
        size_t e = nl ? (size_t)(nl - p) : size;
        size_t n = e - i;
        if (n > 0 && p[i + n - 1] == '\r')
            n--;
        struct buf out;
        buf_init(&out, (size_t)1 << 28);
        scan_cli_line(scanner, scratch, p + i, n, &out);
        if (out.len == 0 || out.p[out.len - 1] != '\n' || memchr(out.p, '\n', out.len - 1))
            abort();
        cJSON *j = json_parse(out.p, out.len - 1);
        if (j == NULL || !cJSON_HasObjectItem(j, "id") ||
            !(cJSON_HasObjectItem(j, "error") || cJSON_HasObjectItem(j, "sensitive")))
            abort();
        cJSON_Delete(j);
        buf_cleanup(&out);
        i = e + 1;
    }
    return 0;
}
