/* SPDX-License-Identifier: MIT */
/* Capped growable buffer. See buf.h. */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

void
buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int
reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
    return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int
buf_appendc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int
buf_appends(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

__attribute__((format(printf, 2, 0))) int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

int
buf_append_json_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (buf_appendc(b, '"') < 0)
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (buf_append(b, s + run, i - run) < 0)
            return -1;
        run = i + 1;
        char esc[7];
        switch (c) {
        case '"':
            memcpy(esc, "\\\"", 3);
            break;
        case '\\':
            memcpy(esc, "\\\\", 3);
            break;
        case '\n':
            memcpy(esc, "\\n", 3);
            break;
        case '\r':
            memcpy(esc, "\\r", 3);
            break;
        case '\t':
            memcpy(esc, "\\t", 3);
            break;
        default:
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc[6] = '\0';
        }
        if (buf_appends(b, esc) < 0)
            return -1;
    }
    if (buf_append(b, s + run, n - run) < 0)
        return -1;
    return buf_appendc(b, '"');
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void
buf_cleanup(struct buf *b)
{
    if (b->p) {
        secure_zero(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

char *
buf_steal(struct buf *b)
{
    char *p = b->p ? b->p : xstrdup("");
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
