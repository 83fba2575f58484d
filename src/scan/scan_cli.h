/* SPDX-License-Identifier: MIT */
/* One line of the `hybridgate scan` JSON-lines contract, split out of scan_cli_main() so the
 * golden tests and the JSON-lines fuzzer drive exactly the code the CLI runs. */
#ifndef HG_SCAN_SCAN_CLI_H
#define HG_SCAN_SCAN_CLI_H

#include <stddef.h>

#include "core/buf.h"
#include "scan/scan.h"

/* Scans one input line (without its newline; need not be NUL-terminated) and appends exactly one
 * output line, '\n'-terminated, to out. Returns 0, or -1 when the line was malformed (an
 * {"id","error"} object was written). */
int scan_cli_line(const struct scanner *s, struct scan_scratch *ss, const char *line, size_t n,
                  struct buf *out);

#endif
