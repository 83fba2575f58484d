/* SPDX-License-Identifier: MIT */
/* Multi-keyword matcher for routing rules (`keywords:` and `domains:`). One pass over the text:
 * a 3-byte folded prefix of every position is hashed into a 64 Kbit filter built at config load;
 * only filter hits are verified against the few patterns of their bucket. The filter step has no
 * loop-carried dependency (unlike a DFA, whose next state waits on the previous load), so the
 * CPU overlaps positions; bench/bench_route.c measures it. */
#include "route/route_int.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* ASCII lower-case; other bytes unchanged (UTF-8 is compared byte for byte). */
static inline unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline bool
is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c >= 0x80;
}

static inline bool
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The prefilter folds with |0x20 (A-Z -> a-z, and harmless collisions elsewhere, which only cost
 * a verification), so pattern and text hash the same way without a table lookup. */
static inline uint32_t
prefix_hash(uint32_t three_bytes)
{
    return ((three_bytes | 0x202020u) * 0x9E3779B1u) >> 16;
}

void
kw_init(struct kw_set *k)
{
    memset(k, 0, sizeof(*k));
    memset(k->head, 0xff, sizeof(k->head));
}

int
kw_add(struct kw_set *k, const char *s, size_t len, int kind, int rule)
{
    if (len < KW_MIN_LEN)
        return -1;
    char *low = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = lower((unsigned char)s[i]);
        if (is_space(c)) {
            /* a run of spaces in the pattern is one "any whitespace run" */
            if (n == 0 || low[n - 1] == ' ')
                continue;
            c = ' ';
        }
        low[n++] = (char)c;
    }
    while (n > 0 && low[n - 1] == ' ')
        n--;
    low[n] = '\0';
    if (n < KW_MIN_LEN) {
        free(low);
        return -1;
    }
    for (size_t i = 0; i < k->npats; i++) {
        struct kw_pat *p = &k->pats[i];
        if (p->kind == kind && p->len == n && memcmp(p->s, low, n) == 0) {
            p->rules |= 1ull << rule;
            k->any_rules[kind] |= 1ull << rule;
            free(low);
            return 0;
        }
    }
    if (k->npats == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 16;
        k->pats = xrealloc(k->pats, k->cap * sizeof(*k->pats));
    }
    struct kw_pat *p = &k->pats[k->npats++];
    p->s = low;
    p->len = n;
    p->kind = kind;
    p->rules = 1ull << rule;
    p->next = -1;
    k->any_rules[kind] |= 1ull << rule;
    return 0;
}

void
kw_build(struct kw_set *k)
{
    memset(k->bloom, 0, sizeof(k->bloom));
    memset(k->head, 0xff, sizeof(k->head));
    for (size_t i = k->npats; i-- > 0;) {
        struct kw_pat *p = &k->pats[i];
        uint32_t x = (uint32_t)(unsigned char)p->s[0] | (uint32_t)(unsigned char)p->s[1] << 8 |
                     (uint32_t)(unsigned char)p->s[2] << 16;
        p->h = prefix_hash(x);
        k->bloom[p->h >> 3] |= (uint8_t)(1u << (p->h & 7));
        p->next = k->head[p->h % KW_BUCKETS];
        k->head[p->h % KW_BUCKETS] = (int16_t)i;
    }
}

void
kw_cleanup(struct kw_set *k)
{
    for (size_t i = 0; i < k->npats; i++)
        free(k->pats[i].s);
    free(k->pats);
    kw_init(k);
}

/* Does pattern p occur at t[i..n)? Returns the end offset, or 0 when it does not. */
static size_t
match_at(const struct kw_pat *p, const unsigned char *t, size_t i, size_t n)
{
    size_t j = i;
    for (size_t q = 0; q < p->len; q++) {
        unsigned char pc = (unsigned char)p->s[q];
        if (pc == ' ') {
            if (j >= n || !is_space(t[j]))
                return 0;
            while (j < n && is_space(t[j]))
                j++;
            continue;
        }
        if (j >= n || lower(t[j]) != pc)
            return 0;
        j++;
    }
    return j;
}

static bool
boundary_ok(const struct kw_pat *p, const unsigned char *t, size_t i, size_t end, size_t n)
{
    unsigned char first = (unsigned char)p->s[0];
    unsigned char last = (unsigned char)p->s[p->len - 1];
    if (p->kind == KW_KIND_KEYWORD) {
        if (is_word(first) && i > 0 && is_word(t[i - 1]))
            return false;
        if (is_word(last) && end < n && is_word(t[end]))
            return false;
        return true;
    }
    /* domain: "acme.com" matches "x.acme.com", "a@acme.com", "//acme.com/" but not
     * "notacme.com" or "acme.com.evil.net" */
    if (i > 0 && (is_word(t[i - 1]) || t[i - 1] == '-'))
        return false;
    if (end < n && (is_word(t[end]) || t[end] == '-'))
        return false;
    if (end + 1 < n && t[end] == '.' && is_word(t[end + 1]))
        return false;
    return true;
}

static void
verify(const struct kw_set *k, uint32_t h, const unsigned char *t, size_t i, size_t n,
       struct kw_hits *hits)
{
    for (int pi = k->head[h % KW_BUCKETS]; pi >= 0; pi = k->pats[pi].next) {
        const struct kw_pat *p = &k->pats[pi];
        if (p->h != h || (p->rules & ~hits->rules[p->kind]) == 0)
            continue;
        size_t end = match_at(p, t, i, n);
        if (end && boundary_ok(p, t, i, end, n))
            hits->rules[p->kind] |= p->rules;
    }
}

void
kw_scan(const struct kw_set *k, const char *text, size_t n, struct kw_hits *hits)
{
    const unsigned char *t = (const unsigned char *)text;
    if (k->npats == 0 || n < KW_MIN_LEN)
        return;
    size_t i = 0;
    /* fast part: 4-byte loads while 4 bytes remain; the check for "all found" runs only on a
     * verified hit, so the common path is load, hash, test */
    for (; i + 4 <= n; i++) {
        uint32_t x;
        memcpy(&x, t + i, 4);
        uint32_t h = prefix_hash(x & 0xFFFFFFu);
        if (__builtin_expect((k->bloom[h >> 3] >> (h & 7)) & 1, 0)) {
            verify(k, h, t, i, n, hits);
            if (hits->rules[0] == k->any_rules[0] && hits->rules[1] == k->any_rules[1])
                return;
        }
    }
    for (; i + 3 <= n; i++) {
        uint32_t x = (uint32_t)t[i] | (uint32_t)t[i + 1] << 8 | (uint32_t)t[i + 2] << 16;
        uint32_t h = prefix_hash(x);
        if ((k->bloom[h >> 3] >> (h & 7)) & 1)
            verify(k, h, t, i, n, hits);
    }
}
