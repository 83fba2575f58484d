/* SPDX-License-Identifier: MIT */
/* struct buf: an owning, growable byte buffer with a hard cap set at init (curl dynbuf style).
 * Every buffer fed by client or upstream bytes is a buf, so going over the cap is an error the
 * caller turns into a 413/502, never an allocation failure. The content is always NUL-terminated. */
#ifndef HG_CORE_BUF_H
#define HG_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *p;    /* bytes, NUL-terminated when non-NULL; owned */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len */
};

void buf_init(struct buf *b, size_t max);
/* Actions: 0, or -1 when the cap would be exceeded (the buffer is unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appendc(struct buf *b, char c);
int buf_appends(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal with quotes and escapes. */
int buf_append_json_str(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);
/* Frees the memory (wiping it first) and returns to the empty state. */
void buf_cleanup(struct buf *b);
/* Hands the bytes to the caller (free() them); the buf becomes empty. */
char *buf_steal(struct buf *b);

#endif
