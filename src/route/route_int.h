/* SPDX-License-Identifier: MIT */
/* Private to src/route/: the keyword/domain matcher that route_config_load() compiles once and
 * route_decide() runs over the prompt text. Not for other rooms. */
#ifndef HG_ROUTE_ROUTE_INT_H
#define HG_ROUTE_ROUTE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_KIND_KEYWORD 0 /* whole word(s), ASCII case-insensitive, a space = any whitespace run   \
                           */
#define KW_KIND_DOMAIN 1  /* host name: also matches as a suffix after '.', '@' or '/' */
#define KW_MIN_LEN 3      /* the prefilter reads 3 bytes; shorter keywords are refused */
#define KW_BUCKETS 4096
#define KW_TEDDY_BYTES 4 /* prefix bytes the SIMD prefilter checks */

struct kw_pat {
    char *s;        /* lower-cased bytes; owned */
    size_t len;     /* bytes in s */
    int kind;       /* KW_KIND_* */
    uint64_t rules; /* rules (bit = rule index) that listed this pattern */
    uint32_t h;     /* 16-bit hash of the folded 4-byte (3 when len == 3) prefix */
    int next;       /* next pattern in the same bucket, -1 = end */
};

/* A compiled set. Lifecycle: 1. kw_init, 2. kw_add per pattern, 3. kw_build, 4. kw_scan any
 * number of times from any thread (read-only), 5. kw_cleanup. */
struct kw_set {
    struct kw_pat *pats;    /* patterns; owned */
    size_t npats;           /* entries used */
    size_t cap;             /* entries allocated */
    uint64_t any_rules[2];  /* per kind: rules that have patterns of that kind */
    bool any_nonword_start; /* a pattern starts with a non-word byte: probe every byte */
    int simd;               /* prefilter: 0 scalar, 1 SSSE3, 2 AVX2 (CPU check at build) */
    bool has_short;         /* some pattern is 3 bytes: probe a 3-byte prefix too */
    uint8_t nib_lo[KW_TEDDY_BYTES][16]; /* Teddy: bucket bits by low nibble of prefix byte j */
    uint8_t nib_hi[KW_TEDDY_BYTES][16]; /* Teddy: bucket bits by high nibble of prefix byte j */
    int16_t head[KW_BUCKETS];           /* bucket -> first pattern, -1 = empty */
    uint8_t bloom[65536 / 8];           /* one bit per 16-bit prefix hash */
};

struct kw_hits {
    uint64_t rules[2]; /* per kind: rules with at least one pattern found */
};

void kw_init(struct kw_set *k);
/* Adds a pattern for rule `rule` (0..63). Returns 0, or -1 when it is shorter than KW_MIN_LEN. */
int kw_add(struct kw_set *k, const char *s, size_t len, int kind, int rule);
void kw_build(struct kw_set *k);
/* ORs into hits the rules whose patterns occur in p[0..n). Stops early once every rule that has
 * patterns is found. Pure; no allocation; safe from many threads on one built set. */
void kw_scan(const struct kw_set *k, const char *p, size_t n, struct kw_hits *hits);
void kw_cleanup(struct kw_set *k);

#endif
