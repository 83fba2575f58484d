/* SPDX-License-Identifier: MIT */
/* Multi-keyword matcher for routing rules (`keywords:` and `domains:`), compiled once at config
 * load and run over the prompt by route_decide(). Two stages:
 *   1. A SIMD prefilter (the "Teddy" idea from Hyperscan, reduced to 8 buckets and 4 bytes):
 *      for 32 (AVX2) or 16 (SSSE3) positions at once, the low and high nibbles of the bytes at
 *      offsets 0..3 index per-offset bucket tables (pshufb); a position survives only if some
 *      pattern may start there AND it is a word start. Chosen by CPU at kw_build(); a portable
 *      scalar loop is the fallback.
 *   2. The probe: the folded prefix (ASCII lower case, whitespace runs as one space) of a
 *      survivor is hashed into a 64 Kbit filter, and only filter hits walk their bucket's
 *      patterns with an exact, boundary-checked comparison.
 * bench/bench_route.c, 4 KB of prose and 37 patterns: every-position hashing 4.8 µs, word starts
 * 3.2 µs, SSSE3 prefilter 2.2 µs, AVX2 + 4-byte prefix probe: see docs/internals/ROUTE.md. */
#include "route/route_int.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static unsigned char fold_tab[256]; /* A-Z -> a-z, whitespace -> ' ', others unchanged */
static int fold_ready;

static inline bool
is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c >= 0x80;
}

static inline bool
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void
fold_init(void)
{
    if (__atomic_load_n(&fold_ready, __ATOMIC_ACQUIRE))
        return;
    for (int c = 0; c < 256; c++) {
        unsigned char f = (unsigned char)c;
        if (c >= 'A' && c <= 'Z')
            f = (unsigned char)(c | 0x20);
        else if (is_space((unsigned char)c))
            f = ' ';
        fold_tab[c] = f;
    }
    __atomic_store_n(&fold_ready, 1, __ATOMIC_RELEASE);
}

/* Hash of a folded prefix of plen (3 or 4) bytes packed little-end first. */
static inline uint32_t
prefix_hash(uint32_t packed, size_t plen)
{
    uint32_t x = plen == 4 ? packed : (packed & 0xFFFFFFu) ^ 0x5bd1e995u;
    return (x * 0x9E3779B1u) >> 16;
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
    fold_init();
    char *low = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = fold_tab[(unsigned char)s[i]];
        /* a run of whitespace in the pattern is one "any whitespace run" */
        if (c == ' ' && (n == 0 || low[n - 1] == ' '))
            continue;
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

static void
teddy_add(struct kw_set *k, const struct kw_pat *p, uint8_t bit)
{
    static const unsigned char ws[] = {' ', '\t', '\n', '\v', '\f', '\r'};
    bool after_space = false; /* a whitespace run may stretch over the following offsets */
    for (int j = 0; j < KW_TEDDY_BYTES; j++) {
        if ((size_t)j >= p->len) {
            /* a short pattern accepts any byte here */
            for (int v = 0; v < 16; v++) {
                k->nib_lo[j][v] |= bit;
                k->nib_hi[j][v] |= bit;
            }
            continue;
        }
        unsigned char c = (unsigned char)p->s[j];
        unsigned char alts[16];
        int na = 0;
        alts[na++] = c;
        if (c >= 'a' && c <= 'z')
            alts[na++] = (unsigned char)(c - 32);
        if (c == ' ' || after_space)
            for (size_t w = 0; w < sizeof(ws); w++)
                alts[na++] = ws[w];
        after_space |= c == ' ';
        for (int a = 0; a < na; a++) {
            k->nib_lo[j][alts[a] & 15] |= bit;
            k->nib_hi[j][alts[a] >> 4] |= bit;
        }
    }
}

void
kw_build(struct kw_set *k)
{
    fold_init();
    memset(k->bloom, 0, sizeof(k->bloom));
    memset(k->nib_lo, 0, sizeof(k->nib_lo));
    memset(k->nib_hi, 0, sizeof(k->nib_hi));
    memset(k->head, 0xff, sizeof(k->head));
    k->any_nonword_start = false;
    k->has_short = false;
    k->simd = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2"))
        k->simd = 2;
    else if (__builtin_cpu_supports("ssse3"))
        k->simd = 1;
#endif
    for (size_t i = k->npats; i-- > 0;) {
        struct kw_pat *p = &k->pats[i];
        size_t plen = p->len >= 4 ? 4 : 3;
        uint32_t x = 0;
        for (size_t j = 0; j < plen; j++)
            x |= (uint32_t)(unsigned char)p->s[j] << (8 * j);
        p->h = prefix_hash(x, plen);
        k->has_short |= plen == 3;
        k->bloom[p->h >> 3] |= (uint8_t)(1u << (p->h & 7));
        p->next = k->head[p->h % KW_BUCKETS];
        k->head[p->h % KW_BUCKETS] = (int16_t)i;
        if (!is_word((unsigned char)p->s[0]))
            k->any_nonword_start = true;
        /* bucket by first byte: each bucket's offset-0 nibble sets stay small */
        teddy_add(k, p, (uint8_t)(1u << ((unsigned char)p->s[0] % 8)));
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
        if (j >= n || fold_tab[t[j]] != pc)
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
     * "notacme.com", "my-acme.com" or "acme.com.evil.net" */
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

static inline bool
filter_has(const struct kw_set *k, uint32_t h)
{
    return (k->bloom[h >> 3] >> (h & 7)) & 1;
}

/* Checks the filter for a folded prefix and verifies a hit. */
static inline bool
check_prefix(const struct kw_set *k, uint32_t x, size_t q, const unsigned char *t, size_t i,
             size_t n, struct kw_hits *hits)
{
    bool hit = false;
    if (q == 4) {
        uint32_t h = prefix_hash(x, 4);
        if (__builtin_expect(filter_has(k, h), 0)) {
            verify(k, h, t, i, n, hits);
            hit = true;
        }
    }
    if (k->has_short) {
        uint32_t h = prefix_hash(x, 3);
        if (__builtin_expect(filter_has(k, h), 0)) {
            verify(k, h, t, i, n, hits);
            hit = true;
        }
    }
    return hit && hits->rules[0] == k->any_rules[0] && hits->rules[1] == k->any_rules[1];
}

/* Rare path of probe(): near the end of the text, or a whitespace run inside the prefix. */
static bool
probe_slow(const struct kw_set *k, const unsigned char *t, size_t i, size_t n, struct kw_hits *hits)
{
    uint32_t x = 0;
    size_t q = 0;
    unsigned char prev = 0;
    for (size_t j = i; q < 4 && j < n; j++) {
        unsigned char c = fold_tab[t[j]];
        if (c == ' ' && prev == ' ')
            continue;
        x |= (uint32_t)c << (8 * q++);
        prev = c;
    }
    if (q < 3)
        return false;
    return check_prefix(k, x, q, t, i, n, hits);
}

/* Probes position i: the folded prefix (whitespace runs collapsed, as in patterns) goes through
 * the filter; hits are verified. Returns true once every rule with patterns was found. */
static inline bool
probe(const struct kw_set *k, const unsigned char *t, size_t i, size_t n, struct kw_hits *hits)
{
    if (__builtin_expect(i + 4 > n, 0))
        return probe_slow(k, t, i, n, hits);
    unsigned char b0 = fold_tab[t[i]], b1 = fold_tab[t[i + 1]], b2 = fold_tab[t[i + 2]],
                  b3 = fold_tab[t[i + 3]];
    if (__builtin_expect((b1 == ' ' && (b0 == ' ' || b2 == ' ')) || (b2 == ' ' && b3 == ' '), 0))
        return probe_slow(k, t, i, n, hits);
    uint32_t x = (uint32_t)b0 | (uint32_t)b1 << 8 | (uint32_t)b2 << 16 | (uint32_t)b3 << 24;
    return check_prefix(k, x, 4, t, i, n, hits);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("ssse3"))) static void
scan_ssse3(const struct kw_set *k, const unsigned char *t, size_t n, struct kw_hits *hits)
{
    const __m128i m0f = _mm_set1_epi8(0x0f);
    const __m128i ca = _mm_set1_epi8('a'), c25 = _mm_set1_epi8(25);
    const __m128i c0 = _mm_set1_epi8('0'), c9 = _mm_set1_epi8(9);
    const __m128i cu = _mm_set1_epi8('_'), c20 = _mm_set1_epi8(0x20);
    __m128i lo[KW_TEDDY_BYTES], hi[KW_TEDDY_BYTES];
    for (int j = 0; j < KW_TEDDY_BYTES; j++) {
        lo[j] = _mm_loadu_si128((const __m128i *)(const void *)k->nib_lo[j]);
        hi[j] = _mm_loadu_si128((const __m128i *)(const void *)k->nib_hi[j]);
    }
    uint32_t carry = 0; /* the byte before the block is a word byte */
    unsigned char pad[16 + KW_TEDDY_BYTES + 16];
    for (size_t base = 0; base + 3 <= n; base += 16) {
        const unsigned char *p = t + base;
        if (base + 16 + KW_TEDDY_BYTES > n) {
            /* last block: zero padding never passes the probe's bounds */
            memset(pad, 0, sizeof(pad));
            memcpy(pad, p, n - base);
            p = pad;
        }
        __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i acc = _mm_set1_epi8((char)0xff);
        for (int j = 0; j < KW_TEDDY_BYTES; j++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
            __m128i l = _mm_shuffle_epi8(lo[j], _mm_and_si128(v, m0f));
            __m128i h = _mm_shuffle_epi8(hi[j], _mm_and_si128(_mm_srli_epi16(v, 4), m0f));
            acc = _mm_and_si128(acc, _mm_and_si128(l, h));
        }
        uint32_t cand =
            (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128())) ^ 0xFFFFu;
        __m128i da = _mm_sub_epi8(_mm_or_si128(v0, c20), ca);
        __m128i dd = _mm_sub_epi8(v0, c0);
        __m128i w8 = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(da, c25), da),
                                               _mm_cmpeq_epi8(_mm_min_epu8(dd, c9), dd)),
                                  _mm_cmpeq_epi8(v0, cu));
        uint32_t w = (uint32_t)_mm_movemask_epi8(w8) | (uint32_t)_mm_movemask_epi8(v0);
        if (!k->any_nonword_start)
            cand &= w & ~((w << 1) | carry);
        carry = (w >> 15) & 1;
        while (__builtin_expect(cand != 0, 0)) {
            size_t i = base + (size_t)__builtin_ctz(cand);
            cand &= cand - 1;
            if (i + 3 > n)
                break;
            if (probe(k, t, i, n, hits))
                return;
        }
    }
}

/* The same, 32 positions per step; pshufb works per 128-bit lane, so tables are broadcast. */
__attribute__((target("avx2"))) static void
scan_avx2(const struct kw_set *k, const unsigned char *t, size_t n, struct kw_hits *hits)
{
    const __m256i m0f = _mm256_set1_epi8(0x0f);
    const __m256i ca = _mm256_set1_epi8('a'), c25 = _mm256_set1_epi8(25);
    const __m256i c0 = _mm256_set1_epi8('0'), c9 = _mm256_set1_epi8(9);
    const __m256i cu = _mm256_set1_epi8('_'), c20 = _mm256_set1_epi8(0x20);
    __m256i lo[KW_TEDDY_BYTES], hi[KW_TEDDY_BYTES];
    for (int j = 0; j < KW_TEDDY_BYTES; j++) {
        lo[j] = _mm256_broadcastsi128_si256(
            _mm_loadu_si128((const __m128i *)(const void *)k->nib_lo[j]));
        hi[j] = _mm256_broadcastsi128_si256(
            _mm_loadu_si128((const __m128i *)(const void *)k->nib_hi[j]));
    }
    uint32_t carry = 0;
    unsigned char pad[32 + KW_TEDDY_BYTES + 32];
    for (size_t base = 0; base + 3 <= n; base += 32) {
        const unsigned char *p = t + base;
        if (base + 32 + KW_TEDDY_BYTES > n) {
            memset(pad, 0, sizeof(pad));
            memcpy(pad, p, n - base);
            p = pad;
        }
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i acc = _mm256_set1_epi8((char)0xff);
        for (int j = 0; j < KW_TEDDY_BYTES; j++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + j));
            __m256i l = _mm256_shuffle_epi8(lo[j], _mm256_and_si256(v, m0f));
            __m256i h = _mm256_shuffle_epi8(hi[j], _mm256_and_si256(_mm256_srli_epi16(v, 4), m0f));
            acc = _mm256_and_si256(acc, _mm256_and_si256(l, h));
        }
        uint32_t cand =
            ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(acc, _mm256_setzero_si256()));
        __m256i da = _mm256_sub_epi8(_mm256_or_si256(v0, c20), ca);
        __m256i dd = _mm256_sub_epi8(v0, c0);
        __m256i w8 =
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(da, c25), da),
                                            _mm256_cmpeq_epi8(_mm256_min_epu8(dd, c9), dd)),
                            _mm256_cmpeq_epi8(v0, cu));
        uint32_t w = (uint32_t)_mm256_movemask_epi8(w8) | (uint32_t)_mm256_movemask_epi8(v0);
        if (!k->any_nonword_start)
            cand &= w & ~((w << 1) | carry);
        carry = w >> 31;
        while (__builtin_expect(cand != 0, 0)) {
            size_t i = base + (size_t)__builtin_ctz(cand);
            cand &= cand - 1;
            if (i + 3 > n)
                break;
            if (probe(k, t, i, n, hits))
                return;
        }
    }
}
#endif

/* Portable path: probe word starts (or every position when some pattern starts with a
 * non-word byte). */
static void
scan_scalar(const struct kw_set *k, const unsigned char *t, size_t n, struct kw_hits *hits)
{
    bool prev_word = false;
    for (size_t i = 0; i + 3 <= n; i++) {
        bool w = is_word(t[i]);
        bool start = k->any_nonword_start || (w && !prev_word);
        prev_word = w;
        if (start && probe(k, t, i, n, hits))
            return;
    }
}

void
kw_scan(const struct kw_set *k, const char *text, size_t n, struct kw_hits *hits)
{
    const unsigned char *t = (const unsigned char *)text;
    if (k->npats == 0 || n < KW_MIN_LEN)
        return;
#if defined(__x86_64__) || defined(__i386__)
    if (k->simd == 2) {
        scan_avx2(k, t, n, hits);
        return;
    }
    if (k->simd == 1) {
        scan_ssse3(k, t, n, hits);
        return;
    }
#endif
    scan_scalar(k, t, n, hits);
}
