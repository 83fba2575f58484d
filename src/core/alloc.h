/* SPDX-License-Identifier: MIT */
/* Allocation helpers for every room: out of memory aborts (input can never cause it, since every
 * buffer fed by clients or upstreams has a cap), secure_zero() wipes prompt bytes and keys, and a
 * tiny bump arena gives a request one-call cleanup. */
#ifndef HG_CORE_ALLOC_H
#define HG_CORE_ALLOC_H

#include <stddef.h>

/* Never return NULL: print the size and abort() on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Overwrite n bytes with zeros in a way the compiler cannot elide. */
void secure_zero(void *p, size_t n);

/* A request arena: allocations are freed together by arena_free(). Blocks are chained. */
struct arena_block;
struct arena {
    struct arena_block *head; /* newest block first */
    size_t block_size;        /* size of ordinary blocks */
};

void arena_init(struct arena *a, size_t block_size);
/* Aligned to 16 bytes; never NULL. Memory is not zeroed. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Wipes (secure_zero) and frees every block; the arena can be reused after. */
void arena_cleanup(struct arena *a);

#endif
