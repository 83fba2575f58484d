/* SPDX-License-Identifier: MIT */
/* The keyword/domain matcher (src/route/kw.c): every scan path (scalar, SSSE3, AVX2, and the
 * every-position mode) must agree with a naive reference on random texts built to contain
 * near-misses, case and whitespace variants, and matches at the edges. */
#include "route/route_int.h"

#include <stdbool.h>
#include <stdlib.h>

#include "../test.h"

static const char *const pats[] = {
    "force majeure", "indemnification",     "MRN", "icd-10", "hs code", "lab  results", "dosage",
    "conf",          "customs declaration",
};
static const int pat_rule[] = {0, 0, 1, 1, 2, 2, 3, 3, 4};
static const char *const doms[] = {"corp.example.com", "git.internal", "a-b.io"};
static const int dom_rule[] = {5, 6, 5};

static const char *const frags[] = {
    "force",
    "majeure",
    "FORCE",
    "Majeure",
    "indemnification",
    "indemnifications",
    "mrn",
    "MRNs",
    "ICD-10",
    "icd-100",
    "HS",
    "code",
    "hs\tcode",
    "lab",
    "results",
    "dosage",
    "conf",
    "confirm",
    "customs",
    "declaration",
    "corp.example.com",
    "corp.example.com.evil",
    "x.corp.example.com",
    "notcorp.example.com",
    "git.internal",
    "a-b.io",
    "b.io",
    "@",
    ".",
    "-",
    "/",
    "_",
    "\xc3\xa9",
    "12",
    "the",
    "on",
    "lab-results",
};
static const char *const seps[] = {" ", "  ", "\n", "\t", " \n ", "", ", ", "(", ")"};

static bool
ref_is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c >= 0x80;
}

static bool
ref_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static unsigned char
ref_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Naive: pattern p (spaces = any whitespace run, runs in p collapse) at every position. */
static bool
ref_find(const char *p, bool domain, const unsigned char *t, size_t n)
{
    char norm[64];
    size_t pl = 0;
    for (const char *c = p; *c; c++) {
        if (*c == ' ' && (pl == 0 || norm[pl - 1] == ' '))
            continue;
        norm[pl++] = (char)ref_lower((unsigned char)*c);
    }
    for (size_t i = 0; i < n; i++) {
        size_t j = i, q = 0;
        for (; q < pl; q++) {
            if (norm[q] == ' ') {
                if (j >= n || !ref_is_space(t[j]))
                    break;
                while (j < n && ref_is_space(t[j]))
                    j++;
            } else {
                if (j >= n || ref_lower(t[j]) != (unsigned char)norm[q])
                    break;
                j++;
            }
        }
        if (q < pl)
            continue;
        if (!domain) {
            if (ref_is_word((unsigned char)norm[0]) && i > 0 && ref_is_word(t[i - 1]))
                continue;
            if (ref_is_word((unsigned char)norm[pl - 1]) && j < n && ref_is_word(t[j]))
                continue;
        } else {
            if (i > 0 && (ref_is_word(t[i - 1]) || t[i - 1] == '-'))
                continue;
            if (j < n && (ref_is_word(t[j]) || t[j] == '-'))
                continue;
            if (j + 1 < n && t[j] == '.' && ref_is_word(t[j + 1]))
                continue;
        }
        return true;
    }
    return false;
}

TEST(kw, matches_reference_on_all_paths)
{
    struct kw_set k;
    kw_init(&k);
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
        ASSERT_EQ(kw_add(&k, pats[i], strlen(pats[i]), KW_KIND_KEYWORD, pat_rule[i]), 0);
    for (size_t i = 0; i < sizeof(doms) / sizeof(doms[0]); i++)
        ASSERT_EQ(kw_add(&k, doms[i], strlen(doms[i]), KW_KIND_DOMAIN, dom_rule[i]), 0);
    ASSERT_EQ(kw_add(&k, "ab", 2, KW_KIND_KEYWORD, 9), -1);
    ASSERT_EQ(kw_add(&k, "  a  ", 5, KW_KIND_KEYWORD, 9), -1);
    kw_build(&k);
    int best = k.simd;
    unsigned seed = 7;
    int mismatches = 0, found = 0;
    unsigned char text[700];
    for (int it = 0; it < 3000; it++) {
        size_t n = 0;
        int nfrag = 1 + (int)(seed % 40);
        for (int f = 0; f < nfrag; f++) {
            seed = seed * 1103515245u + 12345u;
            const char *fr = frags[(seed >> 8) % (sizeof(frags) / sizeof(frags[0]))];
            const char *sp = seps[(seed >> 20) % (sizeof(seps) / sizeof(seps[0]))];
            size_t fl = strlen(fr), sl = strlen(sp);
            if (n + fl + sl >= sizeof(text))
                break;
            memcpy(text + n, fr, fl);
            n += fl;
            if (f + 1 < nfrag || (seed >> 28) & 1) {
                memcpy(text + n, sp, sl);
                n += sl;
            }
        }
        uint64_t want[2] = {0, 0};
        for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
            if (ref_find(pats[i], false, text, n))
                want[0] |= 1ull << pat_rule[i];
        for (size_t i = 0; i < sizeof(doms) / sizeof(doms[0]); i++)
            if (ref_find(doms[i], true, text, n))
                want[1] |= 1ull << dom_rule[i];
        found += want[0] != 0;
        for (int mode = 0; mode <= best + 1; mode++) {
            /* modes 0..best: the CPU's paths; best+1: every-position probing */
            k.simd = mode <= best ? mode : 0;
            k.any_nonword_start = mode > best;
            struct kw_hits h = {{0, 0}};
            kw_scan(&k, (const char *)text, n, &h);
            if (h.rules[0] != want[0] || h.rules[1] != want[1]) {
                if (mismatches++ < 5)
                    fprintf(stderr, "  mode %d text '%.*s': got %llx/%llx want %llx/%llx\n", mode,
                            (int)n, text, (unsigned long long)h.rules[0],
                            (unsigned long long)h.rules[1], (unsigned long long)want[0],
                            (unsigned long long)want[1]);
            }
        }
        k.simd = best;
        k.any_nonword_start = false;
    }
    kw_cleanup(&k);
    ASSERT_EQ(mismatches, 0);
    ASSERT_TRUE(found > 500); /* the generator does produce matches */
}

TEST(kw, edges_and_lengths)
{
    struct kw_set k;
    kw_init(&k);
    ASSERT_EQ(kw_add(&k, "abc", 3, KW_KIND_KEYWORD, 0), 0);
    ASSERT_EQ(kw_add(&k, "ABC", 3, KW_KIND_KEYWORD, 1), 0); /* same pattern, second rule */
    ASSERT_EQ(k.npats, 1);
    kw_build(&k);
    char buf[80];
    for (size_t len = 0; len < 70; len++) {
        for (size_t at = 0; at + 3 <= len; at++) {
            memset(buf, '.', len);
            memcpy(buf + at, "aBc", 3);
            struct kw_hits h = {{0, 0}};
            kw_scan(&k, buf, len, &h);
            if (h.rules[0] != 3)
                TEST_FAIL_("len %zu at %zu: %llx", len, at, (unsigned long long)h.rules[0]);
        }
        memset(buf, 'a', len);
        struct kw_hits h = {{0, 0}};
        kw_scan(&k, buf, len, &h);
        ASSERT_EQ(h.rules[0], 0);
    }
    kw_cleanup(&k);
}
