/* SPDX-License-Identifier: MIT */
/* Candidate validation and scoring: turns the scanner's raw triggers (Vectorscan literal hits)
 * and its own C passes (digit runs, colon groups, capitalised words) into scored entities.
 * Scores follow Presidio's model: a base score per shape, 1.0 when a checksum passes, a boost
 * when a context word is near; scan.c then applies per-type thresholds. */
#include <ctype.h>
#include <emmintrin.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "scan/scan_int.h"
#include "scan/validate.h"

#define CTX_BEFORE 48 /* bytes before an entity searched for context words (~5 words) */
#define CTX_AFTER 16  /* and after it ("… is my phone") */

static inline bool
is_dig(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline bool
is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static inline bool
is_alnum(unsigned char c)
{
    return is_dig(c) || is_alpha(c);
}

/* A word character for boundaries: ASCII alnum, '_' or any non-ASCII byte (UTF-8 letters). */
static inline bool
is_wordc(unsigned char c)
{
    return is_alnum(c) || c == '_' || c >= 0x80;
}

static inline bool
in_set(const unsigned char set[32], unsigned char c)
{
    return (set[c >> 3] >> (c & 7)) & 1;
}

unsigned
scan_ctx_near(const struct scan_scratch *ss, size_t start, size_t end, size_t before, size_t after)
{
    size_t lo = start > before ? start - before : 0, hi = end + after;
    /* ctx is sorted by end offset: binary search the first that ends at or after lo */
    size_t a = 0, b = ss->nctx;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (ss->ctx[m].end < lo)
            a = m + 1;
        else
            b = m;
    }
    unsigned g = 0;
    for (size_t i = a; i < ss->nctx && ss->ctx[i].start < hi + 32; i++)
        if (ss->ctx[i].start < hi && ss->ctx[i].end > lo)
            g |= ss->ctx[i].groups;
    return g;
}

static unsigned
ctx_before(const struct scan_scratch *ss, size_t start, size_t end)
{
    return scan_ctx_near(ss, start, end, CTX_BEFORE, CTX_AFTER);
}

/* Values that documentation uses instead of a real secret. */
static bool
is_placeholder(const char *v, size_t n)
{
    static const char *const marks[] = {
        "example",     "xxxx",        "XXXX",     "your",     "YOUR",     "<",
        ">",           "${",          "{{",       "}}",       "****",     "....",
        "placeholder", "PLACEHOLDER", "redacted", "REDACTED", "changeme", "dummy",
        "DUMMY",       "sample",      "SAMPLE",   "EXAMPLE",  "Example",  "0000000000",
        "abcdefgh",    "ABCDEFGH",    "insert",   "INSERT",   "replace",  "REPLACE",
        "fake",        "FAKE",        "_here",    "_HERE",    "%s",       "$(",
        "process.env", "os.environ",  "getenv",   "Here",     "HERE"};
    /* secrets printed in vendors' documentation (jwt.io's sample, Stripe's and GitHub's docs) */
    static const char *const documented[] = {
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "4eC39HqLyjWDarjtT1zdp7dc",
        "BQokikJOvBiI2HlWgH4olfQ2", "16C7e42F292c6912E7710c838347Ae178B4a",
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"};
    if (n == 0)
        return true;
    for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
        if (memmem(v, n, documented[i], strlen(documented[i])))
            return true;
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        size_t m = strlen(marks[i]);
        for (size_t k = 0; k + m <= n; k++)
            if (!memcmp(v + k, marks[i], m))
                return true;
    }
    /* one repeated character, or a run of one character over half the value */
    size_t run = 1, best = 1;
    for (size_t i = 1; i < n; i++) {
        run = v[i] == v[i - 1] ? run + 1 : 1;
        if (run > best)
            best = run;
    }
    return best * 2 > n && n > 3;
}

/* ================================================================ digit runs */

struct run {
    size_t start, end; /* bytes incl. a leading '+' or '(' */
    size_t dstart;     /* first digit */
    char d[48];        /* digits (first 47) */
    int nd;            /* digit count (may exceed 47) */
    int ng;            /* groups */
    int glen[24];      /* digits per group (first 24 groups) */
    char sep[24];      /* separator after group k */
    bool plus, paren;  /* international prefix, "(area)" */
};

/* Index of the first byte at or after i in [first, last] (ASCII), or n: 16 bytes per step (SSE2).
 * Both bounds are below 0x80, so the signed byte compares are right for UTF-8 input too. */
static inline size_t
next_in_range(const char *p, size_t n, size_t i, char first, char last)
{
    const __m128i lo = _mm_set1_epi8((char)(first - 1)), hi = _mm_set1_epi8((char)(last + 1));
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
        int bits = _mm_movemask_epi8(m);
        if (bits)
            return i + (size_t)__builtin_ctz((unsigned)bits);
        i += 16;
    }
    while (i < n && !(p[i] >= first && p[i] <= last))
        i++;
    return i;
}

static size_t
next_digit(const char *p, size_t n, size_t i)
{
    return next_in_range(p, n, i, '0', '9');
}

static size_t
parse_run(const char *p, size_t n, size_t i, struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->start = r->dstart = i;
    if (i > 0 && p[i - 1] == '+') {
        r->plus = true;
        r->start = i - 1;
    } else if (i > 0 && p[i - 1] == '(') {
        r->paren = true;
        r->start = i - 1;
        if (i > 1 && p[i - 2] == '+') {
            r->plus = true;
            r->start = i - 2;
        }
    }
    size_t j = i;
    for (;;) {
        int g = 0;
        while (j < n && is_dig((unsigned char)p[j])) {
            if (r->nd < 47)
                r->d[r->nd] = p[j];
            r->nd++;
            g++;
            j++;
        }
        if (r->ng < 24)
            r->glen[r->ng] = g;
        r->ng++;
        if (j >= n || r->ng >= 24)
            break;
        char c = p[j];
        if ((c == ' ' || c == '-' || c == '.' || c == '/') && j + 1 < n &&
            is_dig((unsigned char)p[j + 1])) {
            /* "2020-01-04 14:56": a space never joins a clock time to the run */
            size_t t = j + 1;
            while (t < n && is_dig((unsigned char)p[t]))
                t++;
            if (c == ' ' && t < n && p[t] == ':')
                break;
            r->sep[r->ng - 1] = c;
            j++;
            continue;
        }
        if (c == ')' && r->paren && r->ng == 1) {
            size_t k = j + 1;
            if (k < n && (p[k] == ' ' || p[k] == '-'))
                k++;
            if (k < n && is_dig((unsigned char)p[k])) {
                r->sep[0] = ')';
                j = k;
                continue;
            }
        }
        if (c == ' ' && j + 2 < n && p[j + 1] == '-' && p[j + 2] == ' ' && j + 3 < n &&
            is_dig((unsigned char)p[j + 3])) {
            r->sep[r->ng - 1] = '-';
            j += 3;
            continue;
        }
        break;
    }
    r->d[r->nd < 47 ? r->nd : 47] = 0;
    r->end = j;
    return j;
}

static bool
uniform_sep(const struct run *r, const char *allowed)
{
    if (r->ng < 2)
        return true;
    char c = r->sep[0];
    if (strchr(allowed, c) == NULL)
        return false;
    for (int k = 1; k < r->ng - 1 && k < 24; k++)
        if (r->sep[k] != c)
            return false;
    return true;
}

static bool
seps_in(const struct run *r, const char *allowed)
{
    for (int k = 0; k < r->ng - 1 && k < 24; k++)
        if (strchr(allowed, r->sep[k]) == NULL)
            return false;
    return true;
}

static int
num_of(const char *d, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

/* Extends a date with a following time "hh:mm[:ss]" or "Thh:mm". */
static size_t
extend_time(const char *p, size_t n, size_t j)
{
    size_t k = j;
    if (k < n && (p[k] == ' ' || p[k] == 'T'))
        k++;
    size_t t = k;
    while (t < n && is_dig((unsigned char)p[t]) && t - k < 2)
        t++;
    if (t == k || t + 2 >= n || p[t] != ':' || !is_dig((unsigned char)p[t + 1]) ||
        !is_dig((unsigned char)p[t + 2]))
        return j;
    t += 3;
    if (t + 2 < n && p[t] == ':' && is_dig((unsigned char)p[t + 1]) &&
        is_dig((unsigned char)p[t + 2]))
        t += 3;
    return t;
}

static bool
try_date(struct scan_scratch *ss, const char *p, size_t n, const struct run *r)
{
    if (r->ng != 3 || !uniform_sep(r, "/-.") || r->nd > 8)
        return false;
    int a = r->glen[0], b = r->glen[1], c = r->glen[2];
    const char *d = r->d;
    int y, m, dd;
    double score = 0.6;
    if (a == 4 && b <= 2 && c <= 2) {
        y = num_of(d, 4);
        m = num_of(d + 4, b);
        dd = num_of(d + 4 + b, c);
        score = 0.85;
    } else if (a <= 2 && b <= 2 && (c == 4 || (c == 2 && r->sep[0] == '/'))) {
        int x1 = num_of(d, a), x2 = num_of(d + a, b);
        y = num_of(d + a + b, c);
        if (c == 2)
            y += 1900;
        if (scan_date_is_valid(y, x1, x2)) {
            m = x1;
            dd = x2;
        } else {
            m = x2;
            dd = x1;
        }
    } else {
        return false;
    }
    if (!scan_date_is_valid(y, m, dd))
        return false;
    scan_emit(ss, SCAN_DATE_TIME, NULL, r->start, extend_time(p, n, r->end), score);
    return true;
}

/* IBAN starting at two letters at i. Returns its end or 0. */
static size_t
try_iban(struct scan_scratch *ss, const char *p, size_t n, size_t i)
{
    int want = scan_iban_country_len(p + i);
    if (want == 0)
        return 0;
    char buf[40];
    int k = 0;
    size_t j = i, last = i;
    while (j < n && k < want) {
        unsigned char c = (unsigned char)p[j];
        if (is_alnum(c)) {
            buf[k++] = (char)c;
            j++;
            last = j;
        } else if ((c == ' ' || c == '-') && k >= 4 && j + 1 < n &&
                   is_alnum((unsigned char)p[j + 1])) {
            j++;
        } else {
            break;
        }
    }
    if (k != want || (last < n && is_alnum((unsigned char)p[last])))
        return 0;
    if (!scan_iban_is_valid(buf, (size_t)k))
        return 0;
    scan_emit(ss, SCAN_IBAN_CODE, NULL, i, last, 1.0);
    return last;
}

/* Base58 address starting at i ('1' or '3'). Returns its end or 0. */
static size_t
try_base58(struct scan_scratch *ss, const char *p, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && j - i <= 35 && is_alnum((unsigned char)p[j]) && !strchr("0OIl", p[j]))
        j++;
    if (j - i < 26 || j - i > 35 || (j < n && is_wordc((unsigned char)p[j])))
        return 0;
    if (!scan_base58check_is_valid(p + i, j - i))
        return 0;
    scan_emit(ss, SCAN_CRYPTO, NULL, i, j, 1.0);
    return j;
}

/* DEA registration number: two letters directly before seven digits. */
static void
try_dea(struct scan_scratch *ss, const char *p, size_t ls, const struct run *r)
{
    if (r->ng != 1 || r->nd != 7 || !scan_dea_is_valid(p + ls, 9))
        return;
    unsigned g = ctx_before(ss, ls, r->end);
    scan_emit(ss, SCAN_MEDICAL_LICENSE, NULL, ls, r->end,
              (g & (CTX_DEA | CTX_DL | CTX_HEALTH)) ? 1.0 : 0.5);
}

static void
classify_run(struct scan_scratch *ss, const char *p, size_t n, struct run *r)
{
    unsigned char before = r->start > 0 ? (unsigned char)p[r->start - 1] : ' ';
    unsigned char after = r->end < n ? (unsigned char)p[r->end] : ' ';
    bool glued_before = is_wordc(before) || before == '@';
    /* a trailing '.' or '-' followed by a word character glues too ("1.2.3a") */
    bool glued_after = is_wordc(after) || after == '@' ||
                       (after == '.' && r->end + 1 < n && is_alnum((unsigned char)p[r->end + 1]));
    if (glued_before || glued_after) {
        /* extension "555-1234x12" is still a phone number */
        if (!(after == 'x' && r->end + 1 < n && is_dig((unsigned char)p[r->end + 1]) &&
              !glued_before))
            return;
    }
    int nd = r->nd, ng = r->ng;
    const char *d = r->d;

    /* IPv4 */
    if (ng == 4 && uniform_sep(r, ".") && nd <= 12) {
        unsigned char a[4];
        if (scan_ipv4_parse(p + r->dstart, r->end - r->dstart, a)) {
            unsigned g = ctx_before(ss, r->start, r->end);
            /* private ranges and the well-known public resolvers identify nobody */
            bool resolver = (a[0] == 8 && a[1] == 8 && (a[2] == 8 || a[2] == 4)) ||
                            (a[0] == 1 && (a[1] == 1 || a[1] == 0) && a[2] <= 1) ||
                            (a[0] == 9 && a[1] == 9 && a[2] == 9) ||
                            (a[0] == 208 && a[1] == 67 && (a[2] == 222 || a[2] == 220));
            double sc = scan_ipv4_is_private(a) || resolver ? 0.6 : 0.95;
            if (g & CTX_IP)
                sc += 0.05;
            else if (g & CTX_NOTPHONE)
                sc = 0.5; /* "version 1.2.3.4", "build 10.0.19041.1" */
            scan_emit(ss, SCAN_IP_ADDRESS, NULL, r->dstart, r->end, sc);
        }
        return;
    }
    if (try_date(ss, p, n, r))
        return;
    /* NDC drug code: health context, not an entity of its own */
    if (ng == 3 && uniform_sep(r, "-") &&
        ((r->glen[0] == 4 && r->glen[1] == 4 && r->glen[2] == 2) ||
         (r->glen[0] == 5 && r->glen[1] == 3 && r->glen[2] == 2) ||
         (r->glen[0] == 5 && r->glen[1] == 4 && r->glen[2] == 1)))
        ss->health_code = true;
    unsigned g = ctx_before(ss, r->start, r->end);
    /* house and suite numbers right after "Apt." / "Suite" / a street word are addresses */
    if (scan_ctx_near(ss, r->start, r->start, 8, 0) & CTX_STREET) {
        g &= ~(CTX_PHONE | CTX_SSN);
        if (!(nd >= 12 && nd <= 19))
            return;
    }
    /* payment cards: 12-19 digits, no separators or one kind of space/dash */
    if (nd >= 12 && nd <= 19 && !r->plus && !r->paren && uniform_sep(r, " -") &&
        (ng == 1 || r->glen[0] == 4) && scan_card_is_valid(d, (size_t)nd)) {
        /* Luhn + network prefix is strong (Presidio: 1.0); long order and tracking numbers
         * pass it ~4% of the time, so their words veto, and 12-digit Maestro needs context */
        double sc = 0.85;
        if (g & CTX_CARD)
            sc = 1.0;
        else if (g & CTX_NOTPHONE)
            sc = 0.3;
        else if (nd == 15 || nd == 16)
            sc = 1.0;
        else if (nd == 12)
            sc = 0.45;
        scan_emit(ss, SCAN_CREDIT_CARD, NULL, r->dstart, r->end, sc);
        return;
    }
    /* SSN / ITIN: 3-2-4 with one separator */
    if (nd == 9 && ng == 3 && r->glen[0] == 3 && r->glen[1] == 2 && uniform_sep(r, "- .")) {
        if (scan_itin_is_valid(d)) {
            scan_emit(ss, SCAN_US_ITIN, NULL, r->dstart, r->end,
                      (g & (CTX_ITIN | CTX_SSN)) ? 1.0 : 0.7);
            return;
        }
        if (scan_ssn_is_valid(d)) {
            double sc = r->sep[0] == '-' ? 0.7 : 0.45;
            if (g & CTX_SSN)
                sc = 1.0;
            else if (g & CTX_PHONE)
                sc = 0.3;
            scan_emit(ss, SCAN_US_SSN, NULL, r->dstart, r->end, sc);
            if (sc >= 0.45)
                return;
        }
    }
    /* NHS 3-3-4 with context */
    if (nd == 10 && (g & CTX_NHS) && scan_nhs_is_valid(d)) {
        scan_emit(ss, SCAN_UK_NHS, NULL, r->dstart, r->end, 1.0);
        return;
    }
    /* phone numbers */
    if (nd >= 6 && nd <= 15 && seps_in(r, " -.)") && (nd >= 7 || (g & CTX_PHONE))) {
        double sc = 0;
        bool thousands = ng >= 2 && uniform_sep(r, " .,") && r->glen[0] <= 3;
        for (int k = 1; k < ng && k < 24 && thousands; k++)
            thousands = r->glen[k] == 3;
        if (r->plus && nd >= 8)
            sc = 0.75;
        else if (r->paren && r->sep[0] == ')' && nd <= 12)
            sc = 0.7;
        else if (ng >= 2 &&
                 (nd <= 12 || (ng >= 4 && nd <= 14) || (d[0] == '0' && d[1] == '0' && nd <= 15)) &&
                 !(ng == 2 && r->sep[0] == '.') && !thousands &&
                 !(ng == 3 && r->glen[0] == 4 && r->glen[2] <= 2)) {
            int maxg = 0;
            for (int k = 0; k < ng && k < 24; k++)
                maxg = r->glen[k] > maxg ? r->glen[k] : maxg;
            sc = maxg <= 8 ? 0.6 : 0;
        } else if (ng == 1 && nd >= 10 && nd <= 11 && (g & CTX_PHONE)) {
            sc = 0.5;
        } else if (thousands && (g & CTX_PHONE)) {
            sc = 0.5;
        }
        /* "03 2657 Koontz Lane": short runs followed by a street word are house numbers */
        if (sc > 0 && !r->plus && !r->paren && ng <= 2 && nd <= 8) {
            size_t lim = r->end + 40 < n ? r->end + 40 : n;
            const char *nl = memchr(p + r->end, '\n', lim - r->end);
            size_t stop = nl ? (size_t)(nl - p) : lim;
            if (stop > r->end + 1 &&
                (scan_ctx_near(ss, r->end + 1, r->end + 1, 0, stop - r->end - 1) & CTX_STREET))
                sc = 0;
        }
        /* order, tracking, invoice and ISBN numbers look like phone numbers */
        if (sc > 0 && (g & CTX_NOTPHONE) && !(g & CTX_PHONE))
            sc = 0;
        if (sc > 0) {
            if (g & CTX_PHONE)
                sc += 0.35;
            size_t end = r->end;
            /* extension: "x818", " ext. 12" */
            size_t k = end;
            if (k < n && p[k] == 'x')
                k++;
            else if (k + 5 < n && !strncasecmp(p + k, " ext", 4))
                k += 4 + (p[k + 4] == '.');
            if (k != end) {
                while (k < n && p[k] == ' ')
                    k++;
                size_t e = k;
                while (e < n && is_dig((unsigned char)p[e]) && e - k < 6)
                    e++;
                if (e > k)
                    end = e;
            }
            /* North American toll-free numbers (1-800, 888, 877, …) belong to businesses */
            const char *q = d;
            if (nd == 11 && d[0] == '1')
                q = d + 1;
            if ((nd == 10 || nd == 11) && q[0] == '8' && q[1] == q[2] && strchr("0876543", q[1]) &&
                !(r->plus && d[0] != '1'))
                sc = 0.45;
            scan_emit(ss, SCAN_PHONE_NUMBER, NULL, r->start, end, sc);
            return;
        }
    }
}

static void
digit_pass(struct scan_scratch *ss, const char *p, size_t n)
{
    struct run r;
    size_t i = 0;
    while ((i = next_digit(p, n, i)) < n) {
        /* letters glued before the digits: IBAN "GB82WEST…", DEA "AB1234563", BTC "1A1z…" */
        size_t ls = i;
        while (ls > 0 && is_alpha((unsigned char)p[ls - 1]) && i - ls < 3)
            ls--;
        if (i - ls == 2 && (ls == 0 || !is_wordc((unsigned char)p[ls - 1]))) {
            size_t e = try_iban(ss, p, n, ls);
            if (e) {
                i = e;
                continue;
            }
        }
        if ((p[i] == '1' || p[i] == '3') && (i == 0 || !is_wordc((unsigned char)p[i - 1]))) {
            size_t e = try_base58(ss, p, n, i);
            if (e) {
                i = e;
                continue;
            }
        }
        size_t end = parse_run(p, n, i, &r);
        /* ICD-10-CM code "E11.9", "J45.909": health context for PHI, not an entity */
        if (i - ls == 1 && p[ls] >= 'A' && p[ls] <= 'Z' && p[ls] != 'U' &&
            (ls == 0 || !is_wordc((unsigned char)p[ls - 1])) && r.ng == 2 && r.glen[0] == 2 &&
            r.sep[0] == '.' && r.glen[1] <= 4 && !(end < n && is_wordc((unsigned char)p[end])))
            ss->health_code = true;
        if (i - ls == 2 && (ls == 0 || !is_wordc((unsigned char)p[ls - 1])))
            try_dea(ss, p, ls, &r);
        else if (r.nd >= 6 || (r.ng == 4 && r.sep[0] == '.'))
            classify_run(ss, p, n, &r);
        /* skip the rest of an alphanumeric token so "v2024" is not re-read mid-way */
        i = end > i ? end : i + 1;
        while (i < n && is_dig((unsigned char)p[i]))
            i++;
    }
}

/* ================================================================ colon groups: IPv6, MAC */

static void
colon_pass(struct scan_scratch *ss, const char *p, size_t n)
{
    const char *q = p, *endp = p + n;
    while ((q = memchr(q, ':', (size_t)(endp - q))) != NULL) {
        size_t c = (size_t)(q - p);
        bool hex_before = c > 0 && isxdigit((unsigned char)p[c - 1]);
        bool hex_after = c + 1 < n && (isxdigit((unsigned char)p[c + 1]) || p[c + 1] == ':');
        if (!hex_before && !(c + 1 < n && p[c + 1] == ':')) {
            q++;
            continue;
        }
        if (!hex_after) {
            q++;
            continue;
        }
        size_t s = c;
        while (s > 0 && (isxdigit((unsigned char)p[s - 1]) || p[s - 1] == ':') && c - s < 45)
            s--;
        size_t e = c;
        while (e < n && (isxdigit((unsigned char)p[e]) || p[e] == ':' || p[e] == '.') && e - s < 45)
            e++;
        while (e > c && (p[e - 1] == '.' || p[e - 1] == ':'))
            e--;
        if ((s > 0 && is_wordc((unsigned char)p[s - 1])) ||
            (e < n && is_wordc((unsigned char)p[e]))) {
            q = p + (e > c ? e : c + 1);
            continue;
        }
        int colons = 0, hexd = 0;
        for (size_t k = s; k < e; k++) {
            colons += p[k] == ':';
            hexd += isxdigit((unsigned char)p[k]) != 0;
        }
        unsigned char a[16];
        if (e - s == 17 && scan_mac_is_valid(p + s, 17)) {
            scan_emit(ss, SCAN_MAC_ADDRESS, NULL, s, e, 0.8);
        } else if (colons >= 2 && hexd >= 6 && scan_ipv6_parse(p + s, e - s, a)) {
            /* "12:30:45" parses as nothing (too few groups); require a hex letter or "::" or
             * eight groups so clock times and ratios stay out */
            bool letter = false;
            for (size_t k = s; k < e; k++)
                letter = letter || is_alpha((unsigned char)p[k]);
            if (letter || colons >= 7 || memmem(p + s, e - s, "::", 2))
                scan_emit(ss, SCAN_IP_ADDRESS, NULL, s, e, 0.95);
        }
        q = p + (e > c ? e : c + 1);
    }
}

/* ================================================================ triggers */

static size_t
word_start(const char *p, size_t i)
{
    while (i > 0 && is_wordc((unsigned char)p[i - 1]))
        i--;
    return i;
}

static void
do_email(struct scan_scratch *ss, const char *p, size_t n, size_t at)
{
    size_t s = at;
    while (s > 0 && (is_alnum((unsigned char)p[s - 1]) || strchr("._%+-", p[s - 1])) && at - s < 64)
        s--;
    while (s < at && (p[s] == '.' || p[s] == '-'))
        s++;
    if (s == at || (s > 0 && p[s - 1] == ':'))
        return; /* user:password@host belongs to the URL rule */
    size_t e = at + 1, last_dot = 0;
    while (e < n && (is_alnum((unsigned char)p[e]) || p[e] == '-' || p[e] == '.') && e - at < 255) {
        if (p[e] == '.') {
            if (e + 1 >= n || !is_alnum((unsigned char)p[e + 1]))
                break;
            last_dot = e;
        }
        e++;
    }
    if (last_dot == 0 || last_dot == at + 1)
        return;
    bool tld_alpha = true;
    for (size_t k = last_dot + 1; k < e; k++)
        tld_alpha = tld_alpha && is_alpha((unsigned char)p[k]);
    if (!tld_alpha || !scan_tld_is_known(p + last_dot + 1, e - last_dot - 1))
        return;
    double sc = 1.0;
    size_t ll = at - s;
    static const char *const roles[] = {
        "noreply",  "no-reply", "support", "info",          "admin",      "sales", "help",
        "contact",  "team",     "hello",   "webmaster",     "postmaster", "git",   "abuse",
        "security", "privacy",  "billing", "notifications", "donotreply"};
    for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
        if (strlen(roles[k]) == ll && !strncasecmp(roles[k], p + s, ll))
            sc = 0.5;
    static const char *const docs[] = {"example.com", "example.org", "example.net", "test.com",
                                       "localhost",   "domain.com",  "email.com",   "company.com"};
    for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++)
        if (strlen(docs[k]) == e - at - 1 && !strncasecmp(docs[k], p + at + 1, e - at - 1))
            sc = 0.45;
    scan_emit(ss, SCAN_EMAIL_ADDRESS, NULL, s, e, sc);
}

static bool
url_char(unsigned char c)
{
    return c > ' ' && c != '"' && c != '\'' && c != '<' && c != '>' && c != '`' && c != '\\' &&
           c != '{' && c != '}' && c != '|' && c != '^' && c != 0x7f;
}

static size_t
url_end(const char *p, size_t n, size_t e)
{
    int parens = 0;
    size_t st = e;
    while (e < n && url_char((unsigned char)p[e]) && e - st < 4096) {
        if (p[e] == '(')
            parens++;
        if (p[e] == ')' && --parens < 0)
            break;
        e++;
    }
    while (e > st && strchr(".,;:!?]*", p[e - 1]))
        e--;
    return e;
}

static void
do_url(struct scan_scratch *ss, const char *p, size_t n, size_t colon)
{
    size_t s = colon;
    while (s > 0 && (is_alnum((unsigned char)p[s - 1]) || strchr("+.-", p[s - 1])) &&
           colon - s < 16)
        s--;
    if (s == colon || !is_alpha((unsigned char)p[s]))
        return;
    size_t e = url_end(p, n, colon + 3);
    if (e <= colon + 3)
        return;
    scan_emit(ss, SCAN_URL, NULL, s, e, 0.6);
}

static void
do_www(struct scan_scratch *ss, const char *p, size_t n, size_t s)
{
    if (s > 0 && (is_wordc((unsigned char)p[s - 1]) || p[s - 1] == '/' || p[s - 1] == '.' ||
                  p[s - 1] == '@'))
        return;
    size_t e = url_end(p, n, s + 4);
    const char *dot = memchr(p + s + 4, '.', e > s + 4 ? e - s - 4 : 0);
    if (dot == NULL)
        return;
    scan_emit(ss, SCAN_URL, NULL, s, e, 0.6);
}

static void
do_domain(struct scan_scratch *ss, const char *p, size_t n, size_t tld_start, size_t tld_end)
{
    if (tld_end < n &&
        (is_wordc((unsigned char)p[tld_end]) || p[tld_end] == '@' ||
         (p[tld_end] == '.' && tld_end + 1 < n && is_alpha((unsigned char)p[tld_end + 1]))))
        return;
    size_t s = tld_start;
    while (s > 0 && (is_alnum((unsigned char)p[s - 1]) || p[s - 1] == '-' || p[s - 1] == '.'))
        s--;
    while (s < tld_start && !is_alnum((unsigned char)p[s]))
        s++;
    if (s == tld_start || (s > 0 && strchr("@/:\\", p[s - 1])) || (s > 0 && p[s - 1] >= 0x7f))
        return;
    size_t e = tld_end;
    if (e < n && p[e] == '/')
        e = url_end(p, n, e);
    scan_emit(ss, SCAN_URL, NULL, s, e, 0.5);
}

static void
do_data_image(struct scan_scratch *ss, const char *p, size_t n, size_t s)
{
    size_t e = s;
    while (e < n && (is_alnum((unsigned char)p[e]) || strchr("+/=;,:-._", p[e])))
        e++;
    scan_emit(ss, SCAN_IMAGE, "IMAGE", s, e, 1.0);
}

static void
do_bech32(struct scan_scratch *ss, const char *p, size_t n, size_t s)
{
    if (s > 0 && is_wordc((unsigned char)p[s - 1]))
        return;
    size_t e = s;
    while (e < n && is_alnum((unsigned char)p[e]) && e - s < 91)
        e++;
    if (e < n && is_wordc((unsigned char)p[e]))
        return;
    if (scan_bech32_is_valid(p + s, e - s))
        scan_emit(ss, SCAN_CRYPTO, NULL, s, e, 1.0);
}

/* ---------------------------------------------------------------- secrets */

static void
emit_secret(struct scan_scratch *ss, const char *name, size_t s, size_t e, double score)
{
    scan_emit(ss, SCAN_SECRET, name, s, e, score);
}

static size_t
find_in(const char *p, size_t from, size_t to, const char *needle)
{
    const char *r = memmem(p + from, to - from, needle, strlen(needle));
    return r ? (size_t)(r - p) : (size_t)-1;
}

static void
do_pem(struct scan_scratch *ss, const char *p, size_t n, size_t s, size_t e, const char *name)
{
    size_t lim = e + 100 < n ? e + 100 : n;
    size_t close = find_in(p, e, lim, "-----");
    if (close == (size_t)-1 || find_in(p, e, close, "PRIVATE KEY") == (size_t)-1)
        return;
    size_t body = close + 5;
    size_t bl = body + 65536 < n ? body + 65536 : n;
    size_t end = find_in(p, body, bl, "-----END");
    size_t stop = end == (size_t)-1 ? bl : end;
    size_t b64 = 0;
    for (size_t k = body; k < stop; k++)
        b64 += is_alnum((unsigned char)p[k]) || p[k] == '+' || p[k] == '/';
    if (b64 < 32 || is_placeholder(p + body, stop - body < 200 ? stop - body : 200))
        return;
    if (end != (size_t)-1) {
        size_t f = find_in(p, end + 8, end + 100 < n ? end + 100 : n, "-----");
        stop = f == (size_t)-1 ? end + 8 : f + 5;
    }
    emit_secret(ss, name, s, stop, 1.0);
}

static void
do_putty(struct scan_scratch *ss, const char *p, size_t n, size_t s, const char *name)
{
    size_t lim = s + 16384 < n ? s + 16384 : n;
    size_t pl = find_in(p, s, lim, "Private-Lines:");
    if (pl == (size_t)-1)
        return;
    size_t mac = find_in(p, pl, lim, "Private-MAC:");
    size_t e = mac == (size_t)-1 ? lim : mac;
    if (mac != (size_t)-1) {
        e = mac + 12;
        while (e < n && p[e] != '\n')
            e++;
    }
    emit_secret(ss, name, s, e, 1.0);
}

/* The words documentation writes where a password goes. */
static bool
is_fake_password(const char *v, size_t n)
{
    static const char *const fake[] = {
        "password", "pass",       "passwd",       "secret",   "pwd",      "user",     "username",
        "pw",       "mypassword", "yourpassword", "pa55word", "p@ssw0rd", "passw0rd", "test",
        "admin",    "root",       "foo",          "bar",      "foobar",   "letmein"};
    for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
        if (strlen(fake[i]) == n && !strncasecmp(fake[i], v, n))
            return true;
    return false;
}

static void
do_urlpass(struct scan_scratch *ss, const char *p, size_t n, size_t colon, const char *name)
{
    size_t u = colon + 3, k = u, at = 0, pc = 0;
    while (k < n && k - u < 256 && p[k] > ' ' && !strchr("/?#\"'<>`", p[k])) {
        if (p[k] == '@')
            at = k; /* the last '@' ends the userinfo */
        if (p[k] == ':' && pc == 0 && at == 0)
            pc = k;
        k++;
    }
    if (at == 0 || pc == 0 || pc > at || at + 1 >= n || !is_alnum((unsigned char)p[at + 1]))
        return;
    size_t ps = pc + 1, pe = at;
    if (pe - ps < 3 || is_placeholder(p + ps, pe - ps) || p[ps] == '$' || p[ps] == '%')
        return;
    if (is_fake_password(p + ps, pe - ps))
        return;
    emit_secret(ss, name, ps, pe, 0.9);
}

static bool
tok_char(unsigned char c)
{
    return is_alnum(c) || strchr("._~+/=-:@!#$%^&*", c) != NULL;
}

/* "Authorization: Bearer X", "authorization=Basic X", "bearer X". */
static void
do_authz(struct scan_scratch *ss, const char *p, size_t n, size_t e, bool after_bearer,
         const char *name)
{
    size_t k = e;
    if (!after_bearer) {
        while (k < n && k - e < 4 && (p[k] == '"' || p[k] == '\'' || p[k] == ' '))
            k++;
        if (k >= n || (p[k] != ':' && p[k] != '='))
            return;
        k++;
        while (k < n && k - e < 10 && (p[k] == ' ' || p[k] == '"' || p[k] == '\''))
            k++;
        static const char *const schemes[] = {"Bearer ", "Basic ", "Token ", "Digest ", "token ",
                                              "bearer ", "basic ", "Bot ",   "ApiKey "};
        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
            if (k + strlen(schemes[i]) <= n && !strncmp(p + k, schemes[i], strlen(schemes[i]))) {
                if (!strncasecmp(schemes[i], "bearer", 6))
                    return; /* the "bearer " trigger handles it */
                k += strlen(schemes[i]);
                break;
            }
    } else {
        while (k < n && p[k] == ' ')
            k++;
    }
    size_t s = k;
    while (k < n && tok_char((unsigned char)p[k]) && k - s < 4096)
        k++;
    while (k > s && strchr(".,;:", p[k - 1]))
        k--;
    size_t len = k - s;
    if (len < (after_bearer ? 16u : 8u) || is_placeholder(p + s, len))
        return;
    bool digit = false;
    for (size_t i = s; i < k; i++)
        digit = digit || is_dig((unsigned char)p[i]);
    if (!digit || scan_entropy(p + s, len) < (after_bearer ? 3.0 : 2.5))
        return;
    emit_secret(ss, name, s, k, 0.9);
}

/* curl -u user:password / --user "user:password" */
static void
do_curluser(struct scan_scratch *ss, const char *p, size_t n, size_t s, size_t e, const char *name)
{
    if (s > 0 && p[s - 1] != ' ' && p[s - 1] != '\t')
        return;
    size_t k = e;
    char q = 0;
    if (k < n && (p[k] == '"' || p[k] == '\'')) {
        q = p[k];
        k++;
    }
    size_t vs = k, colon = 0;
    while (k < n && k - vs < 256 && p[k] != '\n' && (q ? p[k] != q : p[k] != ' ')) {
        if (p[k] == ':' && colon == 0)
            colon = k;
        k++;
    }
    if (colon == 0 || k - vs < 6)
        return;
    /* the password may be quoted on its own: kevin:'pRf7…' */
    size_t ps = colon + 1, pe = k;
    if (!q && ps < n && (p[ps] == '\'' || p[ps] == '"')) {
        char q2 = p[ps];
        const char *c = memchr(p + ps + 1, q2, n - ps - 1 < 256 ? n - ps - 1 : 256);
        if (c == NULL)
            return;
        ps++;
        pe = (size_t)(c - p);
    }
    size_t secret_len = pe > ps ? pe - ps : colon - vs;
    const char *sv = pe > ps ? p + ps : p + vs;
    if (secret_len < 6 || is_placeholder(sv, secret_len) || scan_entropy(sv, secret_len) < 2.5 ||
        strchr("$[{<%", sv[0]) || is_fake_password(sv, secret_len))
        return;
    emit_secret(ss, name, vs, pe > ps ? pe : k, 0.85);
}

static void
do_jwt(struct scan_scratch *ss, const char *p, size_t n, size_t s, const char *name)
{
    if (s > 0 && (is_alnum((unsigned char)p[s - 1]) || p[s - 1] == '_'))
        return;
    size_t e = s;
    int dots = 0;
    while (e < n && (is_alnum((unsigned char)p[e]) || p[e] == '_' || p[e] == '-' ||
                     (p[e] == '.' && dots < 2))) {
        dots += p[e] == '.';
        e++;
    }
    while (e < n && p[e] == '=')
        e++;
    if (dots < 2 || e - s < 30 || !scan_jwt_is_valid(p + s, e - s) || is_placeholder(p + s, e - s))
        return;
    emit_secret(ss, name, s, e, 1.0);
}

static void
do_secret(const struct scanner *sc, struct scan_scratch *ss, const char *p, size_t n, unsigned idx,
          size_t s, size_t e)
{
    const struct scan_secret_rule *r = &scan_secret_rules[idx];
    if (!(r->flags & SR_ANYSTART) && s > 0 && is_alnum((unsigned char)p[s - 1]))
        return;
    switch (r->special) {
    case SP_JWT:
        do_jwt(ss, p, n, s, r->name);
        return;
    case SP_PEM:
        do_pem(ss, p, n, s, e, r->name);
        return;
    case SP_PUTTY:
        do_putty(ss, p, n, s, r->name);
        return;
    case SP_URLPASS:
        do_urlpass(ss, p, n, s, r->name);
        return;
    case SP_AUTHZ:
        do_authz(ss, p, n, e, false, r->name);
        return;
    case SP_BEARER:
        do_authz(ss, p, n, e, true, r->name);
        return;
    case SP_CURLUSER:
        do_curluser(ss, p, n, s, e, r->name);
        return;
    case SP_AZUREAD:
        /* xxxdQ~…: the 4 characters before "Q~" belong to the secret, the last a digit */
        if (s < 4 || !is_dig((unsigned char)p[s - 1]) ||
            (s > 4 && (is_alnum((unsigned char)p[s - 5]) || p[s - 5] == '_')))
            return;
        for (size_t k = s - 4; k < s - 1; k++)
            if (!(is_alnum((unsigned char)p[k]) || strchr("_~.", p[k])))
                return;
        break;
    case SP_NONE:
        break;
    }
    const unsigned char *set = sc->charsets[idx];
    size_t k = e;
    while (k < n && in_set(set, (unsigned char)p[k]) && k - e <= (size_t)r->max)
        k++;
    size_t len = k - e;
    if (len < (size_t)r->min)
        return;
    if (len > (size_t)r->max) {
        if (!(r->flags & SR_OPENEND))
            return;
        k = e + (size_t)r->max;
        len = (size_t)r->max;
    }
    if (k < n && is_alnum((unsigned char)p[k]) && !(r->flags & SR_OPENEND))
        return;
    if (scan_entropy(p + e, len) < r->entropy || is_placeholder(p + e, len))
        return;
    if (r->special == SP_AZUREAD && k < n && is_alnum((unsigned char)p[k]))
        return;
    size_t st = (r->flags & SR_NOSPAN_PFX) ? e : s;
    if (r->special == SP_AZUREAD)
        st = s - 4;
    if (r->prefix[0] == ':') { /* Telegram bot token: 8-10 digit bot id before ":AA" */
        size_t b = s;
        while (b > 0 && is_dig((unsigned char)p[b - 1]) && s - b <= 10)
            b--;
        if (s - b < 8 || s - b > 10 || (b > 0 && is_alnum((unsigned char)p[b - 1])))
            return;
        st = b;
    }
    emit_secret(ss, r->name, st, k, 0.95);
}

/* Identifiers like "user_id_12345", "production-db-01" or "cache_key_2024" pass an entropy
 * floor too; a key has at least one long segment mixing letters and digits (or both cases). */
static bool
looks_random(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_alnum((unsigned char)v[i]))
            i++;
        size_t s = i;
        int dig = 0, up = 0, lo = 0;
        while (i < n && is_alnum((unsigned char)v[i])) {
            dig += is_dig((unsigned char)v[i]);
            up += v[i] >= 'A' && v[i] <= 'Z';
            lo += v[i] >= 'a' && v[i] <= 'z';
            i++;
        }
        size_t len = i - s;
        if (len >= 6 && dig > 0 && (up + lo) > 0)
            return true;
        if (len >= 12 && up >= 2 && lo >= 2)
            return true;
    }
    return false;
}

/* Identifiers that contain a keyword but name no secret ("max_tokens", "keyboard", "api_url",
 * "author"); Authorization headers have their own parser. */
static const char *const kv_ident_stop[] = {
    "public",        "tokeniz",     "max_token", "tokens",      "token_type", "token_url",
    "tokenurl",      "keyword",     "keyboard",  "keys",        "keyid",      "key_id",
    "author",        "access_log",  "accesslog", "api_version", "apiversion", "api_url",
    "apiurl",        "api_base",    "apibase",   "endpoint",    "_url",       "_uri",
    "path",          "file",        "_dir",      "version",     "_type",      "format",
    "length",        "size",        "count",     "mode",        "expire",     "timeout",
    "_ttl",          "header",      "prefix",    "field",       "column",     "index",
    "monkey",        "turkey",      "donkey",    "hockey",      "jockey",     "whiskey",
    "passwordless",  "_name",       "username",  "keypress",    "keydown",    "keyup",
    "keycode",       "accessor",    "accessib",  "tokenizer",   "secretary",  "access_control",
    "accesscontrol", "authenticat", "authoriz",  "_len",        "_id_",       "_enabled",
    "_policy",       "_rotation",   "_ref",      "arn",         "_field"};

/* After a password keyword, skips a short phrase naming whose password it is: a preposition or
 * pronoun ("for", "of", "to", "on", "at", "we", "i", "you") and up to five more words ("for the
 * staging server", "of my bank account", "we use"). Returns where "is" or ':' may follow, or k
 * when there is no such phrase. */
static size_t
skip_owner_phrase(const char *p, size_t n, size_t k)
{
    static const char *const lead[] = {"for ", "of ", "to ",  "on ",  "at ",
                                       "we ",  "i ",  "you ", "from "};
    size_t i = 0;
    for (; i < sizeof(lead) / sizeof(lead[0]); i++)
        if (n - k > strlen(lead[i]) && !strncasecmp(p + k, lead[i], strlen(lead[i])))
            break;
    if (i == sizeof(lead) / sizeof(lead[0]))
        return k;
    size_t t = k;
    for (int words = 0; words < 6 && t < n; words++) {
        if (words > 0 && ((n - t >= 3 && !strncasecmp(p + t, "is ", 3)) || p[t] == ':'))
            return t;
        size_t w = t;
        while (t < n && (is_alnum((unsigned char)p[t]) || p[t] == '\'' || p[t] == '-') &&
               t - w < 24)
            t++;
        if (t == w)
            return k;
        if (t < n && p[t] == ':')
            return t;
        if (t >= n || p[t] != ' ')
            return k;
        t++;
    }
    return n - t >= 3 && !strncasecmp(p + t, "is ", 3) ? t : k;
}

/* keyword = value ("api_key: 'x'", "PASSWORD=x", "\"token\": \"x\"", "password is x"): the
 * identifier around the keyword at [ws, we), an assignment operator, then a
 * value that is long, random-looking and no placeholder. password-like keywords accept lower
 * entropy and "password is X". Emits SECRET_PASSWORD or SECRET_GENERIC over the value. */
static void
do_keyword(struct scan_scratch *ss, const char *p, size_t n, size_t ws, size_t we, bool password)
{
    /* the whole identifier around the keyword */
    size_t is = ws, ie = we;
    while (is > 0 && (is_alnum((unsigned char)p[is - 1]) || strchr("_.-", p[is - 1])) &&
           ws - is < 50)
        is--;
    while (ie < n && (is_alnum((unsigned char)p[ie]) || strchr("_.-", p[ie])) && ie - we < 30)
        ie++;
    if (ie - is > 80)
        return;
    /* "${DB_PASSWORD:-x}": a variable reference with a default, not an assignment */
    if (is > 0 && p[is - 1] == '{')
        return;
    char ident[96];
    size_t il = ie - is < sizeof(ident) - 1 ? ie - is : sizeof(ident) - 1;
    for (size_t i = 0; i < il; i++)
        ident[i] = (char)tolower((unsigned char)p[is + i]);
    ident[il] = 0;
    for (size_t i = 0; i < sizeof(kv_ident_stop) / sizeof(kv_ident_stop[0]); i++)
        if (strstr(ident, kv_ident_stop[i]))
            return;
    /* operator: skip closing quotes/brackets, an optional type word ("string", "str"), then
     * one run of operator characters holding '=', ':' or '>' ("=", ":=", ":::=", ".=", "=>") */
    size_t k = ie;
    while (
        k < n && k - ie < 4 &&
        (p[k] == '"' || p[k] == '\'' || p[k] == ' ' || p[k] == '\t' || p[k] == ']' || p[k] == '`'))
        k++;
    bool xml = is > 0 && p[is - 1] == '<';
    if (k < n && is_alpha((unsigned char)p[k]) && k > ie && !xml) {
        size_t t = k;
        while (t < n && is_alpha((unsigned char)p[t]) && t - k < 12)
            t++;
        size_t u = t;
        while (u < n && p[u] == ' ')
            u++;
        if (u > t && u < n && (p[u] == '=' || p[u] == ':'))
            k = u;
    }
    size_t op = k;
    bool found = false;
    if (k < n && p[k] == ',' && k > ie &&
        (p[k - 1] == '"' || p[k - 1] == '\'' || p[k - 2] == '"')) {
        k++;
        found = true;
    } else if (xml && k < n && p[k] == '>') {
        k++;
        found = true;
    } else {
        size_t t = k;
        bool eq = false;
        while (t < n && t - k < 4 && strchr(":=.?|>!", p[t])) {
            eq = eq || p[t] == '=' || p[t] == ':' || p[t] == '>';
            t++;
        }
        if (t > k && eq) {
            if ((t - k == 2 && !memcmp(p + k, "==", 2)) || (t - k >= 2 && !memcmp(p + k, "!=", 2)))
                return; /* comparisons are not assignments */
            if (p[k] == '.' && (t - k < 2 || p[k + 1] != '='))
                return;
            k = t;
            found = true;
        }
    }
    if (!found) {
        /* "password is X", "the password for the staging db is X", "api key is X" */
        size_t t = password && op > ie ? skip_owner_phrase(p, n, k) : k;
        if (op > ie && t + 3 < n && !strncasecmp(p + t, "is ", 3)) {
            k = op = t + 3;
            found = true;
        } else if (t > k && t < n && p[t] == ':') {
            k = op = t + 1; /* "password for the vpn: X" */
            found = true;
        } else if (p[is] == '-' && op > ie && p[op - 1] == ' ') {
            found = true; /* a command-line flag: --password X (the identifier took the dashes) */
        }
        if (!found)
            return;
    }
    char quote = 0;
    while (k < n && k - op < 12 &&
           (p[k] == ' ' || p[k] == '\t' || p[k] == '"' || p[k] == '\'' || p[k] == '`' ||
            p[k] == '=' || (xml && (p[k] == '\n' || p[k] == '\r')))) {
        if (p[k] == '"' || p[k] == '\'' || p[k] == '`')
            quote = p[k];
        k++;
    }
    size_t vs = k;
    if (quote) {
        while (k < n && p[k] != quote && p[k] != '\n' && k - vs < 500)
            k++;
        if (k >= n || p[k] != quote)
            quote = 0, k = vs;
    }
    if (!quote) {
        while (k < n && k - vs < 500 &&
               (is_alnum((unsigned char)p[k]) || strchr("_.=+/~!@#$%^&*-:?", p[k])))
            k++;
        while (k > vs && strchr(".,;:", p[k - 1]))
            k--;
    }
    size_t vl = k - vs;
    if (vl < (password ? 6u : 8u) || vl > 500)
        return;
    const char *v = p + vs;
    if (is_placeholder(v, vl) || v[0] == '$' || v[0] == '%' || v[0] == '#' || v[0] == '@' ||
        is_fake_password(v, vl))
        return;
    /* "myPassword", "your_api_key", "MY_SECRET": documentation stand-ins */
    if (vl < 32) {
        char low[32];
        size_t ll = 0;
        for (size_t i = 0; i < vl; i++)
            if (v[i] != '_' && v[i] != '-')
                low[ll++] = (char)tolower((unsigned char)v[i]);
        low[ll] = 0;
        static const char *const stand_ins[] = {"password", "pass",      "pwd",
                                                "secret",   "key",       "token",
                                                "apikey",   "secretkey", "accesskey"};
        const char *rest = !strncmp(low, "my", 2)     ? low + 2
                           : !strncmp(low, "your", 4) ? low + 4
                                                      : NULL;
        for (size_t i = 0; rest && i < sizeof(stand_ins) / sizeof(stand_ins[0]); i++)
            if (!strcmp(rest, stand_ins[i]))
                return;
    }
    if (k < n && (p[k] == '(' || p[k] == '['))
        return; /* a call or an index: code, not a literal */
    static const char *const lits[] = {"true",     "false",    "null",     "none",   "undefined",
                                       "nil",      "required", "optional", "string", "secret",
                                       "password", "env",      "self"};
    for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++)
        if (strlen(lits[i]) == vl && !strncasecmp(lits[i], v, vl))
            return;
    int digits = 0, upper = 0, lower = 0, other = 0, dots = 0, spaces = 0;
    for (size_t i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)v[i];
        digits += is_dig(c);
        upper += c >= 'A' && c <= 'Z';
        lower += c >= 'a' && c <= 'z';
        dots += c == '.';
        spaces += c == ' ';
        other += !is_alnum(c);
    }
    if (spaces > 0)
        return; /* a sentence, not a credential */
    /* dotted identifiers (settings.SECRET_KEY, config.api.token) are references */
    if (dots > 0 && digits == 0)
        return;
    double h = scan_entropy(v, vl);
    if (password) {
        if (h < 2.5 || (digits == 0 && other == 0 && (upper == 0 || lower == 0) && vl < 12))
            return;
    } else if (digits == (int)vl) {
        /* long numeric ids under a token/secret keyword (client secrets, bot ids) */
        if (vl < 16 || h < 2.5)
            return;
    } else if (digits == 0) {
        /* no digit: camelCase identifiers look random; demand length and entropy */
        if (vl < 20 || h < 3.8 || (upper == 0 || lower == 0) ? (vl < 20 || h < 3.8) : false)
            return;
        if (other == 0 && (upper == 0 || lower == 0))
            return;
    } else {
        if (h < 3.0 || vl < 10 || !looks_random(v, vl))
            return;
    }
    emit_secret(ss, password ? "SECRET_PASSWORD" : "SECRET_GENERIC", vs, k, 0.85);
}

/* ---------------------------------------------------------------- context-led identifiers */

/* Finds the first token containing a digit within 40 bytes after a context word. Digits split
 * by single spaces or dashes join ("943 476 5919"). Returns false when none. */
static bool
next_id_token(const char *p, size_t n, size_t from, size_t *ts, size_t *te)
{
    size_t lim = from + 40 < n ? from + 40 : n;
    size_t k = from;
    while (k < lim) {
        if (p[k] == '\n' && k > from + 1)
            return false;
        if (!is_alnum((unsigned char)p[k])) {
            k++;
            continue;
        }
        size_t s = k;
        bool dig = false;
        /* '-' joins any alphanumerics ("1EG4-TE5-MK73"), a space only digits ("943 476 5919") */
        while (k < n && (is_alnum((unsigned char)p[k]) ||
                         (p[k] == '-' && k + 1 < n && is_alnum((unsigned char)p[k + 1]) &&
                          is_alnum((unsigned char)p[k - 1])) ||
                         (p[k] == ' ' && k + 1 < n && is_dig((unsigned char)p[k + 1]) &&
                          is_dig((unsigned char)p[k - 1])))) {
            dig = dig || is_dig((unsigned char)p[k]);
            k++;
        }
        if (dig) {
            if (s > 0 && (p[s - 1] == '-' || p[s - 1] == '_'))
                return false;
            *ts = s;
            *te = k;
            return true;
        }
    }
    return false;
}

static void
do_context_id(struct scan_scratch *ss, const char *p, size_t n, const struct scan_ctxhit *c)
{
    size_t ts, te;
    if (!next_id_token(p, n, c->end, &ts, &te))
        return;
    char buf[40];
    size_t bl = 0, nd = 0, na = 0;
    for (size_t k = ts; k < te && bl < sizeof(buf) - 1; k++) {
        if (p[k] == '-' || p[k] == ' ')
            continue;
        buf[bl++] = p[k];
        nd += is_dig((unsigned char)p[k]);
        na += is_alpha((unsigned char)p[k]);
    }
    buf[bl] = 0;
    if (te - ts > 39)
        return;
    unsigned g = c->groups;
    bool digits_only = na == 0;
    if ((g & CTX_SSN) && digits_only && bl == 9 && scan_ssn_is_valid(buf))
        scan_emit(ss, SCAN_US_SSN, NULL, ts, te, 0.95);
    if ((g & (CTX_ITIN | CTX_SSN)) && digits_only && bl == 9 && scan_itin_is_valid(buf))
        scan_emit(ss, SCAN_US_ITIN, NULL, ts, te, 0.95);
    if ((g & CTX_ABA) && digits_only && bl == 9 && scan_aba_is_valid(buf))
        scan_emit(ss, SCAN_ABA_ROUTING_NUMBER, NULL, ts, te, 0.95);
    if ((g & CTX_BANK) && digits_only && bl >= 8 && bl <= 17)
        scan_emit(ss, SCAN_US_BANK_NUMBER, NULL, ts, te, 0.75);
    if ((g & CTX_DL) && bl >= 5 && bl <= 16 && nd >= 4 && na <= 3)
        scan_emit(ss, SCAN_US_DRIVER_LICENSE, NULL, ts, te, 0.8);
    if ((g & CTX_PASSPORT) && bl >= 6 && bl <= 9 && nd >= 6 && na <= 2)
        scan_emit(ss, SCAN_US_PASSPORT, NULL, ts, te, 0.8);
    if ((g & CTX_NHS) && digits_only && bl == 10 && scan_nhs_is_valid(buf))
        scan_emit(ss, SCAN_UK_NHS, NULL, ts, te, 1.0);
    if ((g & CTX_NPI) && digits_only && bl == 10 && scan_npi_is_valid(buf))
        scan_emit(ss, SCAN_US_NPI, NULL, ts, te, 1.0);
    if ((g & CTX_DEA) && bl == 9 && scan_dea_is_valid(buf, 9))
        scan_emit(ss, SCAN_MEDICAL_LICENSE, NULL, ts, te, 1.0);
    if ((g & CTX_MRN) && bl >= 5 && bl <= 12 && nd >= 4)
        scan_emit(ss, SCAN_MEDICAL_RECORD_NUMBER, NULL, ts, te, 0.85);
    if ((g & CTX_MBI) && bl == 11 && scan_mbi_is_valid(buf, 11))
        scan_emit(ss, SCAN_US_MBI, NULL, ts, te, 0.95);
}

/* ---------------------------------------------------------------- names and addresses */

static size_t
next_upper(const char *p, size_t n, size_t i)
{
    return next_in_range(p, n, i, 'A', 'Z');
}

static bool
sc_bloom_has(const struct scanner *sc, const char *w, size_t n)
{
    uint32_t h = scan_word_hash(w, n);
    return (sc->bloom[(h >> 3) & (SCAN_BLOOM_BYTES - 1)] >> (h & 7)) & 1 &&
           (sc->bloom[((h >> 19) ^ (h << 5)) & (SCAN_BLOOM_BYTES - 1)] >> ((h >> 16) & 7)) & 1;
}

/* A capitalised word at i: [A-Z] then letters (ASCII or UTF-8), apostrophes, inner hyphens.
 * Returns its end, or i when none. */
/* The first uppercase ASCII letter at or after i that starts a word, or n. */
static size_t
next_word_upper(const char *p, size_t n, size_t i)
{
    for (;;) {
        i = next_upper(p, n, i);
        if (i >= n || i == 0 || !is_wordc((unsigned char)p[i - 1]))
            return i;
        i++;
    }
}

static size_t
cap_word(const char *p, size_t n, size_t i)
{
    if (i >= n || !(p[i] >= 'A' && p[i] <= 'Z'))
        return i;
    size_t k = i + 1;
    while (k < n &&
           ((p[k] >= 'a' && p[k] <= 'z') || (unsigned char)p[k] >= 0x80 ||
            ((p[k] == '\'' || p[k] == '-') && k + 1 < n && p[k + 1] >= 'a' && p[k + 1] <= 'z')))
        k++;
    if (k < n && (is_alnum((unsigned char)p[k]) || p[k] == '_'))
        return i; /* "McDONALD", "A1": not a plain name word */
    return k - i >= 2 ? k : i;
}

static bool
prev_word_is(const char *p, size_t i, const char *const *words, size_t nw)
{
    if (i < 2 || p[i - 1] != ' ')
        return false;
    size_t e = i - 1, s = e;
    while (s > 0 && is_alpha((unsigned char)p[s - 1]))
        s--;
    for (size_t k = 0; k < nw; k++)
        if (strlen(words[k]) == e - s && !strncmp(words[k], p + s, e - s))
            return true;
    return false;
}

/* True when the len bytes at w spell word, ASCII case-insensitively. */
static bool
word_is(const char *w, size_t len, const char *word)
{
    return strlen(word) == len && !strncasecmp(w, word, len);
}

/* The text right before i introduces a name: "my name is ", "I'm ", "I am ", "named ",
 * "call me ", "name: " (case-insensitive, same line). Only when the text has a CTX_NAME word;
 * it looks at the one word before i first and at a second only for "is"/"am"/"me". */
static bool
name_intro_before(const char *p, size_t i)
{
    if (i < 3 || p[i - 1] != ' ')
        return false;
    size_t e = i - 1, s = e;
    while (s > 0 && p[s - 1] != ' ' && p[s - 1] != '\n' && e - s < 8)
        s--;
    size_t l = e - s;
    const char *w = p + s;
    if (l < 2 || l > 6)
        return false;
    if (word_is(w, l, "i'm") || word_is(w, l, "named") || word_is(w, l, "name:") ||
        word_is(w, l, "name's") || word_is(w, l, "i\u2019m"))
        return true;
    if (l != 2 || s < 3 || p[s - 1] != ' ')
        return false;
    /* the word before "is", "am", "me" */
    size_t e2 = s - 1, s2 = e2;
    while (s2 > 0 && p[s2 - 1] != ' ' && p[s2 - 1] != '\n' && e2 - s2 < 6)
        s2--;
    const char *w2 = p + s2;
    size_t l2 = e2 - s2;
    if (word_is(w, l, "is"))
        return word_is(w2, l2, "name");
    if (word_is(w, l, "am"))
        return word_is(w2, l2, "i");
    if (word_is(w, l, "me"))
        return word_is(w2, l2, "call");
    return false;
}

static void
names_pass(const struct scanner *sc, struct scan_scratch *ss, const char *p, size_t n)
{
    static const char *const preps[] = {"in",    "at",       "from",  "to",    "near", "of",
                                        "visit", "visiting", "moved", "lives", "born"};
    size_t i = 0;
    while (i < n) {
        i = next_word_upper(p, n, i);
        if (i >= n)
            break;
        size_t w1e = cap_word(p, n, i);
        if (w1e == i) {
            i++;
            continue;
        }
        size_t ws[3] = {i}, we[3] = {w1e};
        /* the title must end right before the name ("Dr. Smith", "Mr Smith") */
        bool titled = (ss->ctx_all & CTX_TITLE) && ws[0] >= 2 &&
                      (scan_ctx_near(ss, ws[0] - 1, ws[0] - 1, 1, 1) & CTX_TITLE);
        /* "My name is Nunzia", "I'm Tamerlan": any capitalised word a name is introduced by */
        bool intro = !titled && (ss->ctx_all & CTX_NAME) && name_intro_before(p, ws[0]);
        /* most capitalised words in prose are no name and no place: one hash and a bloom
         * test reject them before any dictionary probe (measured: names pass 3x faster) */
        if (!titled && !intro && !sc_bloom_has(sc, p + ws[0], we[0] - ws[0])) {
            i = we[0];
            continue;
        }
        /* a sequence of up to 3 capitalised words separated by one space */
        int nw = 1;
        while (nw < 3 && we[nw - 1] + 1 < n && p[we[nw - 1]] == ' ') {
            size_t e = cap_word(p, n, we[nw - 1] + 1);
            if (e == we[nw - 1] + 1)
                break;
            ws[nw] = we[nw - 1] + 1;
            we[nw] = e;
            nw++;
        }
        bool s0 = scan_dict_has(&sc->stop, p + ws[0], we[0] - ws[0]);
        if (s0 && nw == 1 && !titled) {
            i = we[0]; /* "The", "Please", "Could": sentence openers, the common case */
            continue;
        }
        unsigned g = ss->nctx ? scan_ctx_near(ss, ws[0], ws[0], 24, 0) : 0;
        bool f0 = scan_dict_has(&sc->first, p + ws[0], we[0] - ws[0]);
        bool l1 = nw > 1 && scan_dict_has(&sc->last, p + ws[1], we[1] - ws[1]);
        bool s1 = nw > 1 && scan_dict_has(&sc->stop, p + ws[1], we[1] - ws[1]);
        bool pl0 = scan_dict_has(&sc->places, p + ws[0], we[0] - ws[0]);
        size_t end = we[0];
        double score = 0;
        if (titled && !s0) {
            end = we[nw > 2 ? 1 : nw - 1];
            score = 0.85;
        } else if (intro && !s0 && !pl0) {
            end = nw > 1 && !s1 && !scan_dict_has(&sc->places, p + ws[1], we[1] - ws[1]) ? we[1]
                                                                                         : we[0];
            score = 0.85;
        } else if (f0 && nw > 1 &&
                   ((l1 && !(s0 && s1)) ||
                    ((!s0 || (g & CTX_NAME)) && !s1 &&
                     !scan_dict_has(&sc->places, p + ws[1], we[1] - ws[1])))) {
            end = we[1];
            if (nw > 2 && scan_dict_has(&sc->last, p + ws[2], we[2] - ws[2]))
                end = we[2];
            score = l1 ? 0.85 : 0.7;
            if (g & (CTX_NAME | CTX_HEALTH))
                score += 0.1;
        } else if (f0 && !s0 && !pl0) {
            score = (g & CTX_NAME) ? 0.85 : 0.5;
        } else if (!s0 && (g & CTX_NAME) && nw >= 1 &&
                   scan_dict_has(&sc->last, p + ws[0], we[0] - ws[0])) {
            score = 0.7;
        }
        if (score > 0) {
            scan_emit(ss, SCAN_PERSON, NULL, ws[0], end, score);
            i = end;
            continue;
        }
        if (nw > 1 && !pl0) {
            i = we[0]; /* "Patient Maria Garcia": retry from the next word */
            continue;
        }
        /* places: a gazetteer word after a preposition, or two place words in a row */
        if (pl0 && !s0) {
            size_t pend = we[0];
            if (nw > 1 && scan_dict_has(&sc->places, p + ws[0], we[1] - ws[0]))
                pend = we[1];
            bool prep = prev_word_is(p, ws[0], preps, sizeof(preps) / sizeof(preps[0]));
            bool comma = ws[0] >= 2 && p[ws[0] - 1] == ' ' && p[ws[0] - 2] == ',';
            scan_emit(ss, SCAN_LOCATION, NULL, ws[0], pend, prep || comma ? 0.6 : 0.45);
        }
        i = we[nw - 1];
    }
}

/* A lower-case word as the dictionaries spell it: the first letter (ASCII) upper-cased into buf.
 * Returns its length, 0 when it does not fit or does not start with a-z. */
static size_t
capitalised(const char *p, size_t s, size_t e, char *buf, size_t cap)
{
    if (e - s < 2 || e - s >= cap || !(p[s] >= 'a' && p[s] <= 'z'))
        return 0;
    memcpy(buf, p + s, e - s);
    buf[0] = (char)(buf[0] - 'a' + 'A');
    return e - s;
}

static size_t
lower_word(const char *p, size_t n, size_t i)
{
    size_t k = i;
    while (k < n && ((p[k] >= 'a' && p[k] <= 'z') || (unsigned char)p[k] >= 0x80))
        k++;
    return k;
}

/* All-lower-case text ("samantha is a very sympathetic person", "they had 6: natalina,
 * thomas, crystal"): names looked up as the dictionaries spell them. A first name that is no
 * English word and no place is a name (0.5, as in mixed case); followed by a last name, or
 * after "my name is", a full one (0.85). Runs only when the text has no upper-case letter. */
static void
lower_names(const struct scanner *sc, struct scan_scratch *ss, const char *p, size_t n)
{
    if (n < 8 || n > 4096)
        return;
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'A' && p[i] <= 'Z')
            return;
    char b1[48], b2[48];
    size_t i = 0;
    while (i < n) {
        if (!(p[i] >= 'a' && p[i] <= 'z') || (i > 0 && is_wordc((unsigned char)p[i - 1]))) {
            i++;
            continue;
        }
        size_t e1 = lower_word(p, n, i);
        size_t l1 = capitalised(p, i, e1, b1, sizeof(b1));
        if (l1 == 0 ||
            (e1 < n && (is_dig((unsigned char)p[e1]) || p[e1] == '_' || p[e1] == '\''))) {
            i = e1 > i ? e1 : i + 1;
            continue;
        }
        bool intro = name_intro_before(p, i);
        bool f = scan_dict_has(&sc->first, b1, l1) && !scan_dict_has(&sc->stop, b1, l1) &&
                 !scan_dict_has(&sc->places, b1, l1);
        if (!f && !(intro && !scan_dict_has(&sc->stop, b1, l1))) {
            i = e1;
            continue;
        }
        size_t end = e1;
        double score = 0;
        if (e1 + 1 < n && p[e1] == ' ') {
            size_t e2 = lower_word(p, n, e1 + 1);
            size_t l2 = capitalised(p, e1 + 1, e2, b2, sizeof(b2));
            if (f && l2 && scan_dict_has(&sc->last, b2, l2) && !scan_dict_has(&sc->stop, b2, l2)) {
                end = e2;
                score = 0.85;
            }
        }
        /* a first name alone in lower case is too often a word ("idea", "virginia"): only
         * after an introduction, a relation ("my son kevin") or in a list of names */
        static const char *const rel[] = {
            "son",       "daughter",   "wife",    "husband", "mom",   "mother",    "dad",
            "father",    "brother",    "sister",  "friend",  "boss",  "colleague", "partner",
            "boyfriend", "girlfriend", "child",   "patient", "named", "him",       "her",
            "dear",      "mr",         "mrs",     "ms",      "dr",    "uncle",     "aunt",
            "cousin",    "grandma",    "grandpa", "nephew",  "niece"};
        if (score == 0 && intro)
            score = 0.85;
        else if (score == 0 && prev_word_is(p, i, rel, sizeof(rel) / sizeof(rel[0])))
            score = 0.7;
        else if (score == 0 && ((i >= 2 && p[i - 2] == ',') || (e1 < n && p[e1] == ',') ||
                                (i >= 4 && !strncmp(p + i - 4, "and ", 4))))
            score = 0.5; /* an item of a list: "natalina, thomas, crystal" */
        if (score == 0) {
            i = e1;
            continue;
        }
        scan_emit(ss, SCAN_PERSON, NULL, i, end, score);
        i = end;
    }
}

/* Lists of people: "They had 6: Malon, Mark, Kaylee, Brandi, Miguel and Jennifer", "our 3
 * founders: Kovalev, Lee and Phillips". A list of 3 or more capitalised items (one or two words),
 * the last after "and", in which at least two items are dictionary names and none is a place:
 * every item is a name, the unknown ones included. */
static size_t
name_list_at(const struct scanner *sc, struct scan_scratch *ss, const char *p, size_t n, size_t i)
{
    size_t is[12], ie[12], we1[12];
    int ni = 0;
    bool and_seen = false;
    size_t k = i;
    while (ni < 12) {
        size_t e1 = cap_word(p, n, k);
        if (e1 == k)
            break;
        size_t e = e1;
        if (e + 1 < n && p[e] == ' ') {
            size_t e2 = cap_word(p, n, e + 1);
            if (e2 > e + 1)
                e = e2;
        }
        is[ni] = k;
        ie[ni] = e;
        we1[ni] = e1;
        ni++;
        if (and_seen)
            break;
        if (e + 2 < n && p[e] == ',' && p[e + 1] == ' ') {
            k = e + 2;
            if (k + 4 < n && !strncmp(p + k, "and ", 4)) {
                k += 4;
                and_seen = true;
            }
        } else if (e + 5 < n && !strncmp(p + e, " and ", 5)) {
            k = e + 5;
            and_seen = true;
        } else {
            break;
        }
    }
    if (ni < 3 || !and_seen)
        return i;
    int known = 0, places = 0;
    for (int j = 0; j < ni; j++) {
        size_t l = we1[j] - is[j];
        if (scan_dict_has(&sc->places, p + is[j], l))
            places++;
        else if (!scan_dict_has(&sc->stop, p + is[j], l) &&
                 (scan_dict_has(&sc->first, p + is[j], l) ||
                  scan_dict_has(&sc->last, p + is[j], l)))
            known++;
    }
    if (known < 2 || places > 0)
        return i;
    for (int j = 0; j < ni; j++)
        scan_emit(ss, SCAN_PERSON, NULL, is[j], ie[j], 0.7);
    return ie[ni - 1];
}

static void
name_lists(const struct scanner *sc, struct scan_scratch *ss, const char *p, size_t n)
{
    /* a list shows as "Word, Word": start at each such comma, go back to the first item */
    size_t i = 0;
    const char *c;
    while (i < n && (c = memchr(p + i, ',', n - i)) != NULL) {
        size_t k = (size_t)(c - p);
        i = k + 1;
        if (k + 2 >= n || p[k + 1] != ' ' || !(p[k + 2] >= 'A' && p[k + 2] <= 'Z') || k == 0)
            continue;
        size_t ws = k;
        while (ws > 0 && (is_alpha((unsigned char)p[ws - 1]) || (unsigned char)p[ws - 1] >= 0x80))
            ws--;
        if (ws == k || !(p[ws] >= 'A' && p[ws] <= 'Z'))
            continue;
        for (int back = 0; back < 10 && ws >= 3 && p[ws - 1] == ' ' && p[ws - 2] == ','; back++) {
            size_t w = ws - 2;
            while (w > 0 && (is_alpha((unsigned char)p[w - 1]) || (unsigned char)p[w - 1] >= 0x80))
                w--;
            if (w == ws - 2 || !(p[w] >= 'A' && p[w] <= 'Z'))
                break;
            ws = w;
        }
        size_t end = name_list_at(sc, ss, p, n, ws);
        if (end > i)
            i = end;
    }
}

/* Street lines: "77 Halkoaho Street", "Hochstrasse 63", "Suite 616", "P.O. Box 12". */
static void
do_street(struct scan_scratch *ss, const char *p, size_t n, const struct scan_ctxhit *c,
          bool midword)
{
    size_t ws = midword ? word_start(p, c->start) : c->start;
    size_t we = c->end;
    if (!midword && we < n && is_wordc((unsigned char)p[we]))
        return; /* "Avenues", "Roadmap": the suffix must end the word */
    if (midword) {
        while (we < n && is_alpha((unsigned char)p[we]) && we - c->end < 3)
            we++;
        if (we < n && is_wordc((unsigned char)p[we]))
            return;
    }
    if (we < n && p[we] == '.' && c->end - c->start <= 4) /* "St.", "Ave." keep their dot */
        we++;
    /* military: "USCGC Globelnik FPO AP 15834", "Unit 8505 Box 3866 DPO AA 93558" */
    if (we + 9 <= n && p[we] == ' ' && p[we + 1] == 'A' && strchr("AEP", p[we + 2]) &&
        p[we + 3] == ' ' && is_dig((unsigned char)p[we + 4])) {
        size_t z = we + 4;
        while (z < n && is_dig((unsigned char)p[z]) && z - we - 4 < 5)
            z++;
        size_t b = ws;
        for (int words = 0; words < 2 && b > 1 && p[b - 1] == ' ' && p[b - 2] != ' '; words++) {
            size_t t = b - 1;
            while (t > 0 && is_alnum((unsigned char)p[t - 1]))
                t--;
            b = t;
        }
        scan_emit(ss, SCAN_LOCATION, NULL, b, z, 0.85);
        return;
    }
    /* number after: "Hochstrasse 63", "Suite 616", "Apt. 977" */
    size_t k = we;
    while (k < n && p[k] == ' ' && k - we < 2)
        k++;
    size_t ds = k;
    while (k < n && is_dig((unsigned char)p[k]) && k - ds < 6)
        k++;
    if (k > ds && !(k < n && is_dig((unsigned char)p[k]))) {
        /* "from gate 22", "in unit 5", "at box 3": a lowercase suffix word after a function
         * word is a gate, a unit or a box, not the tail of a street name */
        static const char *const fwords[] = {"from", "at", "to",   "in",  "on", "the",  "a",
                                             "of",   "by", "into", "for", "my", "this", "that"};
        if (p[ws] >= 'a' && p[ws] <= 'z' &&
            prev_word_is(p, ws, fwords, sizeof(fwords) / sizeof(fwords[0])))
            return;
        if (k < n && is_alpha((unsigned char)p[k]) &&
            !(k + 1 < n && is_alpha((unsigned char)p[k + 1])))
            k++;
        scan_emit(ss, SCAN_LOCATION, NULL, ws, k, 0.85);
        return;
    }
    /* number before: up to 4 words back on the same line, "77 Halkoaho Street" */
    size_t b = ws;
    for (int words = 0; words < 5 && b > 0; words++) {
        size_t e = b;
        while (e > 0 && p[e - 1] == ' ')
            e--;
        if (e == b || e == 0)
            break;
        size_t s = e;
        while (s > 0 && (is_wordc((unsigned char)p[s - 1]) || p[s - 1] == '.' || p[s - 1] == '\''))
            s--;
        bool num = s < e && is_dig((unsigned char)p[s]);
        bool cap = s < e && ((p[s] >= 'A' && p[s] <= 'Z') || (unsigned char)p[s] >= 0x80);
        if (num && e - s <= 7) {
            scan_emit(ss, SCAN_LOCATION, NULL, s, we, 0.85);
            return;
        }
        if (!cap)
            break;
        b = s;
    }
    if (b < ws && p[b] >= 'A' && p[b] <= 'Z')
        scan_emit(ss, SCAN_LOCATION, NULL, b, we, 0.55);
}

/* "address: 85 Trg revolucije 12", "lives at 18 Třebčínská 860, Horka": the rest of the line
 * after an address cue, when it holds a number and a word (an IP or e-mail is not a street). */
static void
do_address(struct scan_scratch *ss, const char *p, size_t n, const struct scan_ctxhit *c)
{
    size_t k = c->end;
    while (k < n && k - c->end < 12 &&
           (p[k] == ':' || p[k] == ' ' || p[k] == '\t' || p[k] == '"' || p[k] == '-' ||
            p[k] == '\n' || p[k] == '\r'))
        k++;
    if (k + 2 < n && !strncasecmp(p + k, "is ", 3))
        k += 3;
    size_t s = k, e = k;
    int digits = 0, letters = 0;
    while (e < n && e - s < 120 && p[e] != '\n' && p[e] != '"' && p[e] != '@') {
        if (p[e] == '.' && e + 1 < n && p[e + 1] == ' ' && e >= 1 &&
            is_alpha((unsigned char)p[e - 1]) && e + 2 < n && is_alpha((unsigned char)p[e + 2]) &&
            letters > 6 && digits > 0)
            break;
        digits += is_dig((unsigned char)p[e]);
        letters += is_alpha((unsigned char)p[e]) || (unsigned char)p[e] >= 0x80;
        e++;
    }
    if (e < n && (p[e] == '@' || (e + 2 < n && p[e] == ':' && p[e + 1] == '/')))
        return;
    while (e > s && strchr(" .,;:!?", p[e - 1]))
        e--;
    if (digits == 0 || letters < 3 || e - s < 6 || memmem(p + s, e - s, "://", 3))
        return;
    scan_emit(ss, SCAN_LOCATION, NULL, s, e, 0.85);
}

/* Month-name dates: "May 5, 2021", "March 2020", "5th of March 2020", "12 Dec 2019". A month
 * word alone is not a date ("March on", "may"), so a day or a year must be attached. */
static void
do_month(struct scan_scratch *ss, const char *p, size_t n, const struct scan_ctxhit *c)
{
    size_t s = c->start, e = c->end;
    if (e < n && is_alpha((unsigned char)p[e]))
        return; /* "Marching", "Decent" */
    size_t k = e;
    if (k < n && p[k] == '.')
        k++;
    while (k < n && p[k] == ' ')
        k++;
    size_t d0 = k;
    while (k < n && is_dig((unsigned char)p[k]) && k - d0 < 4)
        k++;
    bool got = false;
    if (k - d0 == 4 && !(k < n && is_wordc((unsigned char)p[k]))) { /* "March 2020" */
        e = k;
        got = true;
    } else if (k - d0 >= 1 && k - d0 <= 2 && !(k < n && is_dig((unsigned char)p[k]))) {
        e = k; /* "May 5" */
        if (k + 1 < n && (!strncmp(p + k, "st", 2) || !strncmp(p + k, "nd", 2) ||
                          !strncmp(p + k, "rd", 2) || !strncmp(p + k, "th", 2)))
            e = k += 2;
        if (k < n && p[k] == ',')
            k++;
        while (k < n && p[k] == ' ')
            k++;
        size_t y0 = k;
        while (k < n && is_dig((unsigned char)p[k]) && k - y0 < 4)
            k++;
        if (k - y0 == 4 && !(k < n && is_dig((unsigned char)p[k])))
            e = k;
        got = true;
    }
    /* day before: "5 May 2021", "5th of March" */
    size_t b = s;
    if (b >= 4 && !strncmp(p + b - 4, " of ", 4))
        b -= 3;
    while (b > 0 && p[b - 1] == ' ')
        b--;
    size_t t = b;
    if (t >= 2 && (!strncmp(p + t - 2, "st", 2) || !strncmp(p + t - 2, "nd", 2) ||
                   !strncmp(p + t - 2, "rd", 2) || !strncmp(p + t - 2, "th", 2)))
        t -= 2;
    size_t dd = t;
    while (dd > 0 && is_dig((unsigned char)p[dd - 1]) && t - dd < 2)
        dd--;
    if (dd < t && b < s && !(dd > 0 && is_wordc((unsigned char)p[dd - 1]))) {
        s = dd;
        got = true;
    }
    if (got)
        scan_emit(ss, SCAN_DATE_TIME, NULL, s, e, 0.6);
}

/* ---------------------------------------------------------------- driver */

/* ---------------------------------------------------------------- address blocks */

/* Words that end an address when they follow it ("... 14385 for this card", "... last night"). */
static bool
addr_stop_word(const char *w, size_t n)
{
    static const char *const stop[] = {
        "for", "please", "this",  "that",   "is",    "are",    "was",  "were", "to",
        "at",  "when",   "if",    "thanks", "thank", "last",   "with", "from", "by",
        "on",  "in",     "my",    "your",   "we",    "i",      "he",   "she",  "they",
        "it",  "can",    "could", "would",  "will",  "should", "as",   "so"};
    for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
        if (strlen(stop[i]) == n && !strncasecmp(stop[i], w, n))
            return true;
    return false;
}

/* A token of an address block: letters (any script) or a run of digits. */
static size_t
addr_token(const char *p, size_t n, size_t i, bool *digits)
{
    size_t e = i;
    *digits = is_dig((unsigned char)p[i]);
    if (*digits) {
        while (e < n && is_dig((unsigned char)p[e]))
            e++;
    } else {
        while (e < n && (is_alpha((unsigned char)p[e]) || (unsigned char)p[e] >= 0x80 ||
                         p[e] == '\'' || p[e] == '-'))
            e++;
    }
    return e;
}

/* Padding at the start of an address line: spaces and quoted-mail prefixes ("> ", "??? "). */
static bool
is_line_pad(char c)
{
    return c == ' ' || c == '?' || c == '>';
}

/* Extends a street or unit line ("suite 763", "1420 Maple Avenue") over the rest of its postal
 * address: back to the house number on its line or a street line just above, and forward over
 * city, region and country lines to a postcode, as mail is written:
 *     58 kvaløyvågvegen 140 / suite 763 / kvaløysletta / mexico 52199
 *     21 114 rue sidi apt. 789, valverde de valdelacasa, swaziland 14385
 * The block ends at its postcode (4-6 digits); without one nothing is added forward. Line
 * prefixes of quoted mail ("> ", "??? ") and one blank line inside are skipped. */
static void
address_block(struct scan_scratch *ss, const char *p, size_t n, size_t s, size_t e)
{
    size_t s0 = s;
    /* back, on the same line: words and numbers up to a house number, not past a stop word */
    size_t b = s, best_b = s;
    for (int tok = 0; tok < 6 && b > 0; tok++) {
        size_t t = b;
        while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == ','))
            t--;
        if (t == b || t == 0)
            break;
        size_t ws = t;
        while (ws > 0 && (is_alnum((unsigned char)p[ws - 1]) || (unsigned char)p[ws - 1] >= 0x80 ||
                          p[ws - 1] == '.' || p[ws - 1] == '\''))
            ws--;
        if (ws == t || addr_stop_word(p + ws, t - ws))
            break;
        b = ws;
        if (is_dig((unsigned char)p[ws]))
            best_b = ws;
    }
    s = best_b;
    /* back, the line above: a street line ("16 salontie 6") when s starts its line */
    size_t ls = s;
    while (ls > 0 && is_line_pad(p[ls - 1]))
        ls--;
    if (ls > 0 && p[ls - 1] == '\n') {
        size_t pe = ls - 1, ps = pe;
        while (ps > 0 && p[ps - 1] != '\n' && pe - ps < 80)
            ps--;
        while (ps < pe && is_line_pad(p[ps]))
            ps++;
        if (ps < pe && is_dig((unsigned char)p[ps])) {
            int toks = 0;
            bool ok = true;
            for (size_t i = ps; i < pe && ok;) {
                if (p[i] == ' ' || p[i] == ',' || p[i] == '.') {
                    i++;
                    continue;
                }
                bool dg;
                size_t te = addr_token(p, pe, i, &dg);
                ok = te > i && ++toks <= 6 && !(!dg && addr_stop_word(p + i, te - i));
                i = te;
            }
            if (ok && toks >= 2)
                s = ps;
        }
    }
    /* forward to a postcode */
    size_t i = e, end = e;
    int lines = 0, blank = 0;
    while (i < n && lines <= 4) {
        char c = p[i];
        if (c == ' ' || c == ',' || c == '.' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '\n') {
            lines++;
            blank = i + 1 < n && p[i + 1] == '\n' ? blank + 1 : blank;
            if (blank > 1)
                break;
            i++;
            while (i < n && is_line_pad(p[i]))
                i++;
            continue;
        }
        bool dg;
        size_t te = addr_token(p, n, i, &dg);
        if (te == i)
            break;
        if (dg) {
            size_t len = te - i;
            if (len >= 4 && len <= 6 &&
                !(te < n && (is_alnum((unsigned char)p[te]) || p[te] == '-')))
                end = te; /* the postcode ends the address */
            break;
        }
        if (addr_stop_word(p + i, te - i) || te - i > 40)
            break;
        i = te;
    }
    if (s < s0 || end > e)
        scan_emit(ss, SCAN_LOCATION, NULL, s, end, 0.85);
}

static void
address_blocks(struct scan_scratch *ss, const char *p, size_t n)
{
    size_t k = ss->nents;
    for (size_t i = 0; i < k; i++) {
        const struct scan_entity *e = &ss->ents[i];
        if (e->type == SCAN_LOCATION && e->score >= 0.85)
            address_block(ss, p, n, e->start, e->end);
    }
}

void
scan_detect(const struct scanner *sc, struct scan_scratch *ss, const char *p, size_t n)
{
    /* 1. context words first: every later detector reads them */
    for (size_t i = 0; i < ss->nhits; i++) {
        const struct scan_hit *h = &ss->hits[i];
        const struct scan_trig *t = &sc->trigs[h->id];
        if (t->kind != TK_WORD)
            continue;
        size_t s = h->to - t->len;
        if (!(t->flags & SW_MIDWORD) && s > 0 && is_wordc((unsigned char)p[s - 1]))
            continue;
        const struct scan_word *w = &scan_words[t->idx];
        /* whole-word match for short words ("dl", "cc", "ip", "mg", "tel") */
        size_t wl = strlen(w->word);
        if (wl <= 4 && !(t->flags & SW_MIDWORD) && h->to < n && is_alpha((unsigned char)p[h->to]) &&
            !(w->groups & (CTX_HEALTH | CTX_STREET)))
            continue;
        if ((w->groups & CTX_STREET) && !(t->flags & SW_MIDWORD) && h->to < n &&
            is_alpha((unsigned char)p[h->to]))
            continue;
        if (ss->nctx == ss->capctx) {
            ss->capctx = ss->capctx ? ss->capctx * 2 : 64;
            ss->ctx = xrealloc(ss->ctx, ss->capctx * sizeof(*ss->ctx));
        }
        ss->ctx[ss->nctx++] = (struct scan_ctxhit){s, h->to, w->groups, t->flags};
        ss->ctx_all |= w->groups;
    }
    /* 2. own passes */
    digit_pass(ss, p, n);
    colon_pass(ss, p, n);
    names_pass(sc, ss, p, n);
    name_lists(sc, ss, p, n);
    lower_names(sc, ss, p, n);
    /* 3. literal triggers */
    for (size_t i = 0; i < ss->nhits; i++) {
        const struct scan_hit *h = &ss->hits[i];
        const struct scan_trig *t = &sc->trigs[h->id];
        size_t s = h->to - t->len;
        switch (t->kind) {
        case TK_SECRET:
            do_secret(sc, ss, p, n, t->idx, s, h->to);
            break;
        case TK_EMAIL:
            do_email(ss, p, n, s);
            break;
        case TK_URL:
            do_url(ss, p, n, s);
            break;
        case TK_WWW:
            do_www(ss, p, n, s);
            break;
        case TK_DOMAIN:
            do_domain(ss, p, n, s, h->to);
            break;
        case TK_DATAIMG:
            do_data_image(ss, p, n, s);
            break;
        case TK_BECH32:
            do_bech32(ss, p, n, s);
            break;
        case TK_CUSTOM:
            scan_emit(ss, SCAN_CUSTOM + (int)t->idx, sc->cfg.customs[t->idx].name, h->from, h->to,
                      sc->cfg.customs[t->idx].score);
            break;
        case TK_DENY:
            if ((s == 0 || !is_wordc((unsigned char)p[s - 1])) &&
                (h->to >= n || !is_wordc((unsigned char)p[h->to])))
                scan_emit(ss, SCAN_CUSTOM + (int)t->idx, sc->cfg.customs[t->idx].name, s, h->to,
                          sc->cfg.customs[t->idx].score);
            break;
        case TK_WORD:
            break;
        }
    }
    /* 4. context-led detectors */
    for (size_t i = 0; i < ss->nctx; i++) {
        const struct scan_ctxhit *c = &ss->ctx[i];
        if (c->groups & (CTX_SSN | CTX_ITIN | CTX_BANK | CTX_ABA | CTX_DL | CTX_PASSPORT | CTX_NHS |
                         CTX_NPI | CTX_DEA | CTX_MRN | CTX_MBI))
            do_context_id(ss, p, n, c);
        if (c->groups & CTX_STREET) {
            do_street(ss, p, n, c, (c->flags & SW_MIDWORD) != 0);
        }
        if (c->groups & CTX_ADDR)
            do_address(ss, p, n, c);
        if (c->groups & CTX_MONTH)
            do_month(ss, p, n, c);
        if ((c->groups & CTX_WEEKDAY) && !(c->end < n && is_alpha((unsigned char)p[c->end])))
            scan_emit(ss, SCAN_DATE_TIME, NULL, c->start, c->end, 0.5);
        if ((c->groups & CTX_TITLE) && c->end < n && p[c->end] == ' ' && c->end + 2 < n &&
            p[c->end + 1] >= 'a' && p[c->end + 1] <= 'z') {
            /* lower-cased text: "dr. hurst" */
            size_t e = c->end + 1;
            while (e < n && (is_alpha((unsigned char)p[e]) || (unsigned char)p[e] >= 0x80))
                e++;
            if (e - c->end > 2 && p[c->end - 1] == '.')
                scan_emit(ss, SCAN_PERSON, NULL, c->end + 1, e, 0.8);
        }
        if (c->groups & CTX_KEYWORD)
            do_keyword(ss, p, n, c->start, c->end, (c->groups & CTX_PASSWORD) != 0);
    }
    /* 5. whole postal addresses around the street and unit lines found above */
    address_blocks(ss, p, n);
}
