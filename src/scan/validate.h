/* SPDX-License-Identifier: MIT */
/* Pure checksum and format validators for the sensitive-data scanner: card Luhn and networks,
 * IBAN mod 97 with per-country lengths, SSN/ITIN ranges, ABA, NPI, DEA, NHS, MBI, IP and MAC
 * parsing, Base58Check and Bech32 addresses, e-mail top-level domains, JWT headers and Shannon
 * entropy. No allocation and no state, so scan.c calls them from any thread. */
#ifndef HG_SCAN_VALIDATE_H
#define HG_SCAN_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* Digits only (ASCII '0'..'9'), n >= 2. Luhn sum mod 10 == 0. */
bool scan_luhn_is_valid(const char *digits, size_t n);
/* Digits only, 12..19 long: Luhn passes and the prefix belongs to a card network whose lengths
 * include n (Visa 13/16/19, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover, JCB, Diners,
 * UnionPay 16-19, Maestro 12-19). */
bool scan_card_is_valid(const char *digits, size_t n);
/* IBAN with separators already removed, letters in either case. Country code known, length equal
 * to that country's IBAN length, BBAN alphanumeric, ISO 7064 mod 97 == 1. */
bool scan_iban_is_valid(const char *s, size_t n);
/* IBAN length for a two-letter country code (either case), or 0 when the country has no IBAN. */
int scan_iban_country_len(const char *cc);
/* Nine digits. Rejects area 000, 666, 900-999, group 00, serial 0000, one repeated digit and the
 * well-known advertising/sample numbers (078-05-1120, 123-45-6789, 219-09-9999). */
bool scan_ssn_is_valid(const char *digits9);
/* Nine digits: area 9xx and group 50-65, 70-88, 90-92 or 94-99. */
bool scan_itin_is_valid(const char *digits9);
/* Nine digits, ABA weights 3,7,1 repeated, sum mod 10 == 0, first two digits a Federal Reserve
 * routing symbol (00-12, 21-32, 61-72, 80), not all zero. */
bool scan_aba_is_valid(const char *digits9);
/* Ten digits starting 1 or 2, Luhn over "80840" + number, not one repeated digit. */
bool scan_npi_is_valid(const char *digits10);
/* DEA registration: 2 letters + 7 digits; (d1+d3+d5) + 2(d2+d4+d6) mod 10 == d7. */
bool scan_dea_is_valid(const char *s, size_t n);
/* UK NHS: ten digits, weights 10..2, check = 11 - sum mod 11 (11 -> 0, 10 invalid). */
bool scan_nhs_is_valid(const char *digits10);
/* US Medicare Beneficiary Identifier, 11 characters with dashes removed, CMS position rules. */
bool scan_mbi_is_valid(const char *s, size_t n);
/* Dotted-quad IPv4, each part 0..255 without leading zeros beyond "0". */
bool scan_ipv4_parse(const char *s, size_t n, unsigned char out[4]);
/* IPv6 text form incl. "::" compression and a trailing dotted quad (inet_pton rules). */
bool scan_ipv6_parse(const char *s, size_t n, unsigned char out[16]);
/* True for IPv4 addresses that identify nobody outside a network: 0/8, 10/8, 127/8, 169.254/16,
 * 172.16/12, 192.168/16, 100.64/10, documentation ranges, multicast and reserved. */
bool scan_ipv4_is_private(const unsigned char a[4]);
/* MAC: six hex pairs with one consistent ':' or '-' separator, or Cisco xxxx.xxxx.xxxx; not all
 * 00 and not all FF. */
bool scan_mac_is_valid(const char *s, size_t n);
/* Bitcoin-style Base58Check: decodes to 25 bytes whose last 4 are the double SHA-256 checksum. */
bool scan_base58check_is_valid(const char *s, size_t n);
/* Bech32 / Bech32m with human-readable part "bc" or "tb" (either case, not mixed). */
bool scan_bech32_is_valid(const char *s, size_t n);
/* Top-level domain (without the dot, either case) is a known generic TLD or an assigned-looking
 * two-letter country code. */
bool scan_tld_is_known(const char *s, size_t n);
/* Shannon entropy of the bytes in bits per symbol. */
double scan_entropy(const char *s, size_t n);
/* JWT: three base64url parts separated by '.', the first decodes to a JSON object with "alg" or
 * "typ". */
bool scan_jwt_is_valid(const char *s, size_t n);
/* Date pieces: month 1-12, day valid for the month (leap years counted), year 1..9999. */
bool scan_date_is_valid(int y, int m, int d);

#endif
