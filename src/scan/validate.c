/* SPDX-License-Identifier: MIT */
/* Checksum and format validators used by scan.c after a candidate is found. Each is a pure
 * function over a byte range; the algorithms are the public definitions of each identifier
 * (ISO 7064, ABA, CMS, NHS, Base58Check, BIP-173/350). */
#include "scan/validate.h"

#include <ctype.h>
#include <math.h>
#include <openssl/sha.h>
#include <string.h>

static bool
all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool
one_repeated(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (s[i] != s[0])
            return false;
    return true;
}

bool
scan_luhn_is_valid(const char *d, size_t n)
{
    if (n < 2 || !all_digits(d, n))
        return false;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';
        if (i & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static int
prefix_num(const char *d, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

bool
scan_card_is_valid(const char *d, size_t n)
{
    if (n < 12 || n > 19 || !all_digits(d, n) || one_repeated(d, n))
        return false;
    if (!scan_luhn_is_valid(d, n))
        return false;
    int p1 = d[0] - '0', p2 = prefix_num(d, 2), p3 = prefix_num(d, 3), p4 = prefix_num(d, 4);
    int p6 = prefix_num(d, 6);
    bool ok = false;
    if (p1 == 4) /* Visa */
        ok = n == 13 || n == 16 || n == 19;
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) /* Mastercard */
        ok = ok || n == 16;
    if (p2 == 34 || p2 == 37) /* American Express */
        ok = ok || n == 15;
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        ok = ok || (n >= 16 && n <= 19); /* Discover */
    if (p4 >= 3528 && p4 <= 3589)        /* JCB */
        ok = ok || (n >= 16 && n <= 19);
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39 || p3 == 309)
        ok = ok || (n >= 14 && n <= 19); /* Diners */
    if (p2 == 62 || p2 == 81)            /* UnionPay */
        ok = ok || (n >= 16 && n <= 19);
    if (p2 == 50 || (p2 >= 56 && p2 <= 69) || p4 == 6759 || p4 == 6304) /* Maestro */
        ok = ok || (n >= 12 && n <= 19);
    if (p4 >= 2200 && p4 <= 2204) /* Mir */
        ok = ok || (n >= 16 && n <= 19);
    if (p2 == 60 || p2 == 65 || p2 == 81 || p2 == 82 || p3 == 508 || p3 == 353 || p3 == 356)
        ok = ok || (n >= 16 && n <= 19); /* RuPay */
    return ok;
}

/* IBAN lengths per ISO 13616 registry, as "CCnn" pairs. */
static const char iban_lens[] =
    "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28EE20EG29"
    "ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28"
    "LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24PL28PS29PT25"
    "QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26UA29VA22VG24XK20YE30";

int
scan_iban_country_len(const char *cc)
{
    char a = (char)toupper((unsigned char)cc[0]), b = (char)toupper((unsigned char)cc[1]);
    for (size_t i = 0; i + 4 <= sizeof(iban_lens) - 1; i += 4)
        if (iban_lens[i] == a && iban_lens[i + 1] == b)
            return (iban_lens[i + 2] - '0') * 10 + (iban_lens[i + 3] - '0');
    return 0;
}

bool
scan_iban_is_valid(const char *s, size_t n)
{
    if (n < 15 || n > 34)
        return false;
    if (!isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
        return false;
    if ((size_t)scan_iban_country_len(s) != n)
        return false;
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[(k + 4) % n];
        if (isdigit(c)) {
            rem = (rem * 10 + (c - '0')) % 97;
        } else if (isalpha(c)) {
            unsigned v = (unsigned)(toupper(c) - 'A' + 10);
            rem = (rem * 100 + v) % 97;
        } else {
            return false;
        }
    }
    return rem == 1;
}

bool
scan_ssn_is_valid(const char *d)
{
    if (!all_digits(d, 9) || one_repeated(d, 9))
        return false;
    int area = prefix_num(d, 3), group = prefix_num(d + 3, 2), serial = prefix_num(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    if (!memcmp(d, "078051120", 9) || !memcmp(d, "123456789", 9) || !memcmp(d, "219099999", 9))
        return false;
    return true;
}

bool
scan_itin_is_valid(const char *d)
{
    if (!all_digits(d, 9) || d[0] != '9')
        return false;
    int g = prefix_num(d + 3, 2);
    return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
           (g >= 94 && g <= 99);
}

bool
scan_aba_is_valid(const char *d)
{
    static const int w[9] = {3, 7, 1, 3, 7, 1, 3, 7, 1};
    if (!all_digits(d, 9) || one_repeated(d, 9))
        return false;
    int p = prefix_num(d, 2);
    if (!(p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p == 80))
        return false;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += w[i] * (d[i] - '0');
    return sum % 10 == 0;
}

bool
scan_npi_is_valid(const char *d)
{
    if (!all_digits(d, 10) || one_repeated(d, 10) || (d[0] != '1' && d[0] != '2'))
        return false;
    char buf[15];
    memcpy(buf, "80840", 5);
    memcpy(buf + 5, d, 10);
    return scan_luhn_is_valid(buf, 15);
}

bool
scan_dea_is_valid(const char *s, size_t n)
{
    if (n != 9 || !isalpha((unsigned char)s[0]) || !(isalpha((unsigned char)s[1]) || s[1] == '9'))
        return false;
    if (!all_digits(s + 2, 7))
        return false;
    const char *d = s + 2;
    int sum = (d[0] - '0') + (d[2] - '0') + (d[4] - '0') +
              2 * ((d[1] - '0') + (d[3] - '0') + (d[5] - '0'));
    return sum % 10 == d[6] - '0';
}

bool
scan_nhs_is_valid(const char *d)
{
    if (!all_digits(d, 10) || one_repeated(d, 10))
        return false;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (10 - i) * (d[i] - '0');
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    if (check == 10)
        return false;
    return check == d[9] - '0';
}

/* MBI letters exclude S, L, O, I, B, Z so they cannot be read as digits. */
static bool
mbi_alpha(char c)
{
    c = (char)toupper((unsigned char)c);
    return c >= 'A' && c <= 'Z' && !strchr("SLOIBZ", c);
}

bool
scan_mbi_is_valid(const char *s, size_t n)
{
    /* C = digit 1-9, A = letter, M = letter or digit, N = digit (CMS MBI format). */
    static const char pos[] = "CAMNAMNAANN";
    if (n != 11)
        return false;
    for (size_t i = 0; i < 11; i++) {
        char c = s[i];
        switch (pos[i]) {
        case 'C':
            if (c < '1' || c > '9')
                return false;
            break;
        case 'A':
            if (!mbi_alpha(c))
                return false;
            break;
        case 'M':
            if (!mbi_alpha(c) && !isdigit((unsigned char)c))
                return false;
            break;
        default:
            if (!isdigit((unsigned char)c))
                return false;
        }
    }
    return true;
}

bool
scan_ipv4_parse(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t st = i;
        int v = 0;
        while (i < n && isdigit((unsigned char)s[i]) && i - st < 3) {
            v = v * 10 + (s[i] - '0');
            i++;
        }
        if (i == st || v > 255 || (i - st > 1 && s[st] == '0'))
            return false;
        out[part] = (unsigned char)v;
    }
    return i == n;
}

bool
scan_ipv4_is_private(const unsigned char a[4])
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && a[1] >= 16 && a[1] <= 31) || (a[0] == 192 && a[1] == 168) ||
           (a[0] == 100 && a[1] >= 64 && a[1] <= 127) || (a[0] == 192 && a[1] == 0 && a[2] == 2) ||
           (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
           (a[0] == 203 && a[1] == 0 && a[2] == 113) || a[0] >= 224;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool
scan_ipv6_parse(const char *s, size_t n, unsigned char out[16])
{
    unsigned char buf[16] = {0};
    int nw = 0, gap = -1;
    size_t i = 0;
    if (n < 2 || n > 45)
        return false;
    if (s[0] == ':') {
        if (s[1] != ':')
            return false;
        gap = 0;
        i = 2;
        if (i == n)
            goto done;
    }
    while (i < n) {
        size_t st = i;
        unsigned v = 0;
        while (i < n && hexval(s[i]) >= 0 && i - st < 4) {
            v = v * 16 + (unsigned)hexval(s[i]);
            i++;
        }
        if (i < n && s[i] == '.' && nw <= 6) { /* embedded IPv4 tail */
            unsigned char q[4];
            if (!scan_ipv4_parse(s + st, n - st, q))
                return false;
            memcpy(buf + nw * 2, q, 4);
            nw += 2;
            i = n;
            break;
        }
        if (i == st || nw >= 8)
            return false;
        buf[nw * 2] = (unsigned char)(v >> 8);
        buf[nw * 2 + 1] = (unsigned char)v;
        nw++;
        if (i == n)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return false;
            gap = nw;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return false;
        }
    }
done:
    if (gap < 0 && nw != 8)
        return false;
    if (gap >= 0) {
        if (nw > 7)
            return false;
        int tail = nw - gap;
        memmove(buf + 16 - tail * 2, buf + gap * 2, (size_t)tail * 2);
        memset(buf + gap * 2, 0, (size_t)(16 - nw * 2));
    }
    memcpy(out, buf, 16);
    return true;
}

bool
scan_mac_is_valid(const char *s, size_t n)
{
    if (n == 17) {
        char sep = s[2];
        if (sep != ':' && sep != '-')
            return false;
        for (size_t i = 0; i < 17; i++) {
            if (i % 3 == 2) {
                if (s[i] != sep)
                    return false;
            } else if (hexval(s[i]) < 0) {
                return false;
            }
        }
    } else if (n == 14) {
        for (size_t i = 0; i < 14; i++) {
            if (i % 5 == 4) {
                if (s[i] != '.')
                    return false;
            } else if (hexval(s[i]) < 0) {
                return false;
            }
        }
    } else {
        return false;
    }
    bool all0 = true, allf = true;
    for (size_t i = 0; i < n; i++) {
        if (hexval(s[i]) < 0)
            continue;
        if (s[i] != '0')
            all0 = false;
        if (tolower((unsigned char)s[i]) != 'f')
            allf = false;
    }
    return !all0 && !allf;
}

bool
scan_base58check_is_valid(const char *s, size_t n)
{
    static const char alpha[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    unsigned char bin[25] = {0};
    if (n < 25 || n > 35)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(alpha, s[i], sizeof(alpha) - 1);
        if (p == NULL)
            return false;
        unsigned carry = (unsigned)(p - alpha);
        for (int k = 24; k >= 0; k--) {
            carry += 58u * bin[k];
            bin[k] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
        if (carry)
            return false; /* does not fit in 25 bytes */
    }
    unsigned char h1[SHA256_DIGEST_LENGTH], h2[SHA256_DIGEST_LENGTH];
    SHA256(bin, 21, h1);
    SHA256(h1, sizeof(h1), h2);
    return memcmp(h2, bin + 21, 4) == 0;
}

static unsigned
bech32_polymod(const unsigned char *v, size_t n)
{
    static const unsigned gen[5] = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu,
                                    0x2a1462b3u};
    unsigned chk = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned top = chk >> 25;
        chk = ((chk & 0x1ffffffu) << 5) ^ v[i];
        for (int k = 0; k < 5; k++)
            if ((top >> k) & 1)
                chk ^= gen[k];
    }
    return chk;
}

bool
scan_bech32_is_valid(const char *s, size_t n)
{
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    unsigned char v[128];
    if (n < 14 || n > 90)
        return false;
    bool lower = false, upper = false;
    for (size_t i = 0; i < n; i++) {
        if (islower((unsigned char)s[i]))
            lower = true;
        if (isupper((unsigned char)s[i]))
            upper = true;
    }
    if (lower && upper)
        return false;
    if (tolower((unsigned char)s[2]) != '1' ||
        !((tolower((unsigned char)s[0]) == 'b' && tolower((unsigned char)s[1]) == 'c') ||
          (tolower((unsigned char)s[0]) == 't' && tolower((unsigned char)s[1]) == 'b')))
        return false;
    size_t k = 0;
    v[k++] = (unsigned char)(tolower((unsigned char)s[0]) >> 5);
    v[k++] = (unsigned char)(tolower((unsigned char)s[1]) >> 5);
    v[k++] = 0;
    v[k++] = (unsigned char)(tolower((unsigned char)s[0]) & 31);
    v[k++] = (unsigned char)(tolower((unsigned char)s[1]) & 31);
    for (size_t i = 3; i < n; i++) {
        const char *p = memchr(charset, tolower((unsigned char)s[i]), 32);
        if (p == NULL)
            return false;
        v[k++] = (unsigned char)(p - charset);
    }
    unsigned pm = bech32_polymod(v, k);
    return pm == 1 || pm == 0x2bc830a3u; /* Bech32, Bech32m */
}

/* Generic and common sponsored TLDs; two-letter codes are accepted by shape (ccTLDs). */
static const char *const gtlds[] = {
    "academy", "agency", "app",       "art",    "asia",      "biz",        "blog",    "cafe",
    "cloud",   "club",   "co",        "com",    "company",   "consulting", "design",  "dev",
    "digital", "edu",    "email",     "energy", "eu",        "gov",        "group",   "health",
    "info",    "int",    "io",        "jobs",   "law",       "life",       "live",    "ltd",
    "media",   "mil",    "mobi",      "name",   "net",       "network",    "news",    "online",
    "org",     "pro",    "shop",      "site",   "solutions", "space",      "store",   "tech",
    "tel",     "travel", "xyz",       "ai",     "page",      "team",       "systems", "services",
    "studio",  "world",  "global",    "today",  "works",     "zone",       "center",  "capital",
    "finance", "bank",   "insurance", "care",   "clinic",    "dental",     "doctor",  "hospital",
    "museum",  "aero",   "coop",      "top",    "website",   "link",       "click",   "one",
    "inc",     "llc",
};

bool
scan_tld_is_known(const char *s, size_t n)
{
    if (n == 2)
        return isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]);
    for (size_t i = 0; i < sizeof(gtlds) / sizeof(gtlds[0]); i++)
        if (strlen(gtlds[i]) == n && !strncasecmp(gtlds[i], s, n))
            return true;
    return false;
}

double
scan_entropy(const char *s, size_t n)
{
    unsigned cnt[256] = {0};
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        cnt[(unsigned char)s[i]]++;
    double h = 0;
    for (int c = 0; c < 256; c++) {
        if (cnt[c] == 0)
            continue;
        double p = (double)cnt[c] / (double)n;
        h -= p * log2(p);
    }
    return h;
}

static int
b64url_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/* Decodes up to cap bytes of base64url (no padding needed). Returns bytes or -1. */
static int
b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int v = b64url_val(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k < cap)
                out[k++] = (unsigned char)(acc >> bits);
        }
    }
    return (int)k;
}

bool
scan_jwt_is_valid(const char *s, size_t n)
{
    const char *d1 = memchr(s, '.', n);
    if (d1 == NULL)
        return false;
    size_t hl = (size_t)(d1 - s);
    const char *d2 = memchr(d1 + 1, '.', n - hl - 1);
    if (d2 == NULL || hl < 10)
        return false;
    unsigned char hdr[256];
    int k = b64url_decode(s, hl < 340 ? hl : 340, hdr, sizeof(hdr) - 1);
    if (k < 8 || hdr[0] != '{')
        return false;
    hdr[k] = 0;
    return strstr((char *)hdr, "\"alg\"") != NULL || strstr((char *)hdr, "\"typ\"") != NULL ||
           strstr((char *)hdr, "\"kid\"") != NULL;
}

bool
scan_date_is_valid(int y, int m, int d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    return true;
}
