/* SPDX-License-Identifier: MIT */
/* SSE event splitting (WHATWG event-stream framing: lines end in \n, \r\n or \r; a blank line ends
 * an event). Events that arrive whole in one read are handled in place without copying. */
#include "http/sse.h"

#include <string.h>

void
sse_parser_init(struct sse_parser *sp, size_t max_event)
{
    buf_init(&sp->pending, max_event);
    buf_init(&sp->data, max_event);
}

void
sse_parser_cleanup(struct sse_parser *sp)
{
    buf_cleanup(&sp->pending);
    buf_cleanup(&sp->data);
}

size_t
sse_pending(const struct sse_parser *sp)
{
    return sp->pending.len;
}

static size_t event_len_cr(const char *p, size_t n);

/* Returns the length of the event starting at p (through its blank line), or 0 if incomplete.
 * Streams from OpenAI-compatible servers end lines with LF only; for them one memmem finds the
 * blank line (the byte loop below handles CR and CRLF, and measured 3% of a relayed stream). */
static size_t
event_len(const char *p, size_t n)
{
    if (memchr(p, '\r', n) == NULL) {
        const char *e = memmem(p, n, "\n\n", 2);
        return e ? (size_t)(e - p) + 2 : 0;
    }
    return event_len_cr(p, n);
}

static size_t
event_len_cr(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n' && p[i] != '\r')
            continue;
        /* end of a line at i; a blank line follows if the next line break comes right away */
        size_t j = i + 1;
        if (p[i] == '\r' && j < n && p[j] == '\n')
            j++;
        else if (p[i] == '\r' && j == n)
            return 0; /* cannot tell \r from \r\n yet */
        if (j < n && (p[j] == '\n' || p[j] == '\r')) {
            size_t k = j + 1;
            if (p[j] == '\r') {
                if (k == n)
                    return 0;
                if (p[k] == '\n')
                    k++;
            }
            return k;
        }
        i = j - 1;
    }
    return 0;
}

static int
emit(struct sse_parser *sp, const char *ev, size_t len, sse_event_cb *cb, void *arg)
{
    const char *data = NULL;
    size_t dlen = 0;
    int ndata = 0;
    buf_reset(&sp->data);
    const char *line = ev;
    const char *end = ev + len;
    while (line < end) {
        const char *eol = line;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        size_t ll = (size_t)(eol - line);
        if (ll >= 5 && memcmp(line, "data:", 5) == 0) {
            const char *v = line + 5;
            size_t vl = ll - 5;
            if (vl && *v == ' ') {
                v++;
                vl--;
            }
            if (ndata == 0) {
                data = v;
                dlen = vl;
            } else {
                if (ndata == 1)
                    buf_append(&sp->data, data, dlen);
                buf_appendc(&sp->data, '\n');
                buf_append(&sp->data, v, vl);
            }
            ndata++;
        }
        line = eol;
        if (line < end && *line == '\r')
            line++;
        if (line < end && *line == '\n')
            line++;
    }
    if (ndata > 1) {
        data = sp->data.p;
        dlen = sp->data.len;
    }
    return cb(ev, len, data ? data : "", dlen, arg) < 0 ? -2 : 0;
}

int
sse_feed(struct sse_parser *sp, const char *p, size_t n, sse_event_cb *cb, void *arg)
{
    if (sp->pending.len) {
        if (buf_append(&sp->pending, p, n) < 0)
            return -1;
        size_t off = 0;
        for (;;) {
            size_t el = event_len(sp->pending.p + off, sp->pending.len - off);
            if (el == 0)
                break;
            int r = emit(sp, sp->pending.p + off, el, cb, arg);
            off += el;
            if (r < 0)
                return r;
        }
        memmove(sp->pending.p, sp->pending.p + off, sp->pending.len - off);
        sp->pending.len -= off;
        sp->pending.p[sp->pending.len] = '\0';
        return 0;
    }
    size_t off = 0;
    for (;;) {
        size_t el = event_len(p + off, n - off);
        if (el == 0)
            break;
        int r = emit(sp, p + off, el, cb, arg);
        off += el;
        if (r < 0)
            return r;
    }
    if (off < n && buf_append(&sp->pending, p + off, n - off) < 0)
        return -1;
    return 0;
}
