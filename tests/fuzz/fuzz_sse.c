/* SPDX-License-Identifier: MIT */
/* libFuzzer driver for the SSE splitter that relays upstream streams. The input is fed in pieces
 * whose sizes come from the input itself. Invariants: every event's raw bytes are a contiguous
 * part of the input, in order, and events plus what is still pending add up to the bytes fed
 * (nothing lost or duplicated); data is never longer than its event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    const uint8_t *in; /* the whole input */
    size_t size;       /* its length */
    size_t off;        /* input bytes accounted for by events so far */
};

static int
on_event(const char *raw, size_t rawlen, const char *d, size_t dlen, void *arg)
{
    struct seen *s = arg;
    if (rawlen == 0 || s->off + rawlen > s->size || memcmp(raw, s->in + s->off, rawlen) != 0)
        abort();
    if (dlen > rawlen || (dlen && d == NULL))
        abort();
    s->off += rawlen;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sse_parser sp;
    struct seen s = {data, size, 0};
    sse_parser_init(&sp, 1u << 16);
    size_t pos = 0;
    unsigned step = size ? data[0] : 1;
    while (pos < size) {
        size_t n = (size_t)(step % 97) + 1;
        if (n > size - pos)
            n = size - pos;
        if (sse_feed(&sp, (const char *)data + pos, n, on_event, &s) < 0)
            break; /* an event over the cap: the relay treats the stream as malformed */
        pos += n;
        step = step * 33 + (unsigned)n;
        if (s.off + sse_pending(&sp) != pos)
            abort();
    }
    sse_parser_cleanup(&sp);
    return 0;
}
