/* SPDX-License-Identifier: MIT */
/* Unit tests for src/scan/validate.c: every validator with valid and invalid numbers. */
#include "scan/validate.h"

#include <string.h>

#include "../test.h"

#define S(x) (x), strlen(x)

TEST(validate, luhn)
{
    ASSERT_TRUE(scan_luhn_is_valid(S("79927398713")));
    ASSERT_FALSE(scan_luhn_is_valid(S("79927398710")));
    ASSERT_FALSE(scan_luhn_is_valid(S("7992739871a")));
}

TEST(validate, cards)
{
    ASSERT_TRUE(scan_card_is_valid(S("4556601938071755")));       /* Visa 16 */
    ASSERT_TRUE(scan_card_is_valid(S("4111111111111111")));       /* Visa test */
    ASSERT_TRUE(scan_card_is_valid(S("4222222222222")));          /* Visa 13 */
    ASSERT_TRUE(scan_card_is_valid(S("4000000000000000006")));    /* Visa 19 */
    ASSERT_TRUE(scan_card_is_valid(S("5555555555554444")));       /* Mastercard 5x */
    ASSERT_TRUE(scan_card_is_valid(S("2223003122003222")));       /* Mastercard 2-series */
    ASSERT_TRUE(scan_card_is_valid(S("378282246310005")));        /* Amex */
    ASSERT_TRUE(scan_card_is_valid(S("6011111111111117")));       /* Discover */
    ASSERT_TRUE(scan_card_is_valid(S("3530111333300000")));       /* JCB */
    ASSERT_TRUE(scan_card_is_valid(S("30569309025904")));         /* Diners 14 */
    ASSERT_TRUE(scan_card_is_valid(S("6759649826438453")));       /* Maestro 16 */
    ASSERT_TRUE(scan_card_is_valid(S("675964982648")));           /* Maestro 12 */
    ASSERT_TRUE(scan_card_is_valid(S("6304000000000000")));       /* Maestro 6304 */
    ASSERT_TRUE(scan_card_is_valid(S("6200000000000005")));       /* UnionPay */
    ASSERT_FALSE(scan_card_is_valid(S("4556601938071756")));      /* Luhn fails */
    ASSERT_FALSE(scan_card_is_valid(S("1234567812345670")));      /* no network */
    ASSERT_FALSE(scan_card_is_valid(S("0000000000000000")));      /* repeated */
    ASSERT_FALSE(scan_card_is_valid(S("411111111111111111111"))); /* too long */
    ASSERT_FALSE(scan_card_is_valid(S("37828224631000")));        /* Amex wrong length */
}

TEST(validate, iban)
{
    ASSERT_TRUE(scan_iban_is_valid(S("GB82WEST12345698765432")));
    ASSERT_TRUE(scan_iban_is_valid(S("gb82west12345698765432")));
    ASSERT_TRUE(scan_iban_is_valid(S("DE89370400440532013000")));
    ASSERT_TRUE(scan_iban_is_valid(S("FR1420041010050500013M02606")));
    ASSERT_TRUE(scan_iban_is_valid(S("NO9386011117947")));
    ASSERT_FALSE(scan_iban_is_valid(S("GB82WEST12345698765433"))); /* mod 97 */
    ASSERT_FALSE(scan_iban_is_valid(S("DE8937040044053201300")));  /* length for DE */
    ASSERT_FALSE(scan_iban_is_valid(S("XX82WEST12345698765432"))); /* unknown country */
    ASSERT_EQ(scan_iban_country_len("DE"), 22);
    ASSERT_EQ(scan_iban_country_len("us"), 0);
}

TEST(validate, ssn_itin)
{
    ASSERT_TRUE(scan_ssn_is_valid("308630237"));
    ASSERT_TRUE(scan_ssn_is_valid("081805372"));
    ASSERT_FALSE(scan_ssn_is_valid("000123456")); /* area 000 */
    ASSERT_FALSE(scan_ssn_is_valid("666123456")); /* area 666 */
    ASSERT_FALSE(scan_ssn_is_valid("900123456")); /* 9xx is ITIN space */
    ASSERT_FALSE(scan_ssn_is_valid("999123456"));
    ASSERT_FALSE(scan_ssn_is_valid("123004567")); /* group 00 */
    ASSERT_FALSE(scan_ssn_is_valid("123450000")); /* serial 0000 */
    ASSERT_FALSE(scan_ssn_is_valid("078051120")); /* advertised sample */
    ASSERT_FALSE(scan_ssn_is_valid("111111111"));
    ASSERT_TRUE(scan_itin_is_valid("912701234"));
    ASSERT_TRUE(scan_itin_is_valid("999941234"));
    ASSERT_FALSE(scan_itin_is_valid("912931234")); /* group 93 */
    ASSERT_FALSE(scan_itin_is_valid("812701234"));
}

TEST(validate, aba_npi_dea_nhs_mbi)
{
    ASSERT_TRUE(scan_aba_is_valid("011000015"));
    ASSERT_TRUE(scan_aba_is_valid("021000021"));
    ASSERT_FALSE(scan_aba_is_valid("021000022"));
    ASSERT_FALSE(scan_aba_is_valid("991000021")); /* not a routing symbol */
    ASSERT_TRUE(scan_npi_is_valid("1234567893"));
    ASSERT_FALSE(scan_npi_is_valid("1234567890"));
    ASSERT_FALSE(scan_npi_is_valid("3234567893"));
    ASSERT_TRUE(scan_dea_is_valid(S("AB1234563")));
    ASSERT_FALSE(scan_dea_is_valid(S("AB1234564")));
    ASSERT_FALSE(scan_dea_is_valid(S("A11234563")));
    ASSERT_TRUE(scan_nhs_is_valid("9434765919"));
    ASSERT_FALSE(scan_nhs_is_valid("9434765918"));
    ASSERT_TRUE(scan_mbi_is_valid(S("1EG4TE5MK73")));
    ASSERT_FALSE(scan_mbi_is_valid(S("1SG4TE5MK73"))); /* S is excluded */
    ASSERT_FALSE(scan_mbi_is_valid(S("0EG4TE5MK73"))); /* first is 1-9 */
}

TEST(validate, ip_mac)
{
    unsigned char a[4], b[16];
    ASSERT_TRUE(scan_ipv4_parse(S("86.231.85.193"), a));
    ASSERT_EQ(a[0], 86);
    ASSERT_FALSE(scan_ipv4_parse(S("256.1.1.1"), a));
    ASSERT_FALSE(scan_ipv4_parse(S("1.2.3"), a));
    ASSERT_FALSE(scan_ipv4_parse(S("01.2.3.4"), a));
    ASSERT_TRUE(scan_ipv4_parse(S("10.0.0.1"), a));
    ASSERT_TRUE(scan_ipv4_is_private(a));
    ASSERT_TRUE(scan_ipv6_parse(S("d80:e4b5:79da:6cf6:71f3:51f7:9161:c319"), b));
    ASSERT_TRUE(scan_ipv6_parse(S("2001:db8::1"), b));
    ASSERT_EQ(b[15], 1);
    ASSERT_TRUE(scan_ipv6_parse(S("::1"), b));
    ASSERT_TRUE(scan_ipv6_parse(S("::ffff:192.0.2.1"), b));
    ASSERT_FALSE(scan_ipv6_parse(S("1:2:3"), b));
    ASSERT_FALSE(scan_ipv6_parse(S("1::2::3"), b));
    ASSERT_FALSE(scan_ipv6_parse(S("12345::1"), b));
    ASSERT_TRUE(scan_mac_is_valid(S("00:1A:2b:3C:4d:5E")));
    ASSERT_TRUE(scan_mac_is_valid(S("00-1A-2B-3C-4D-5E")));
    ASSERT_TRUE(scan_mac_is_valid(S("001a.2b3c.4d5e")));
    ASSERT_FALSE(scan_mac_is_valid(S("00:1A-2B:3C:4D:5E")));
    ASSERT_FALSE(scan_mac_is_valid(S("ff:ff:ff:ff:ff:ff")));
    ASSERT_FALSE(scan_mac_is_valid(S("00:00:00:00:00:00")));
}

TEST(validate, crypto)
{
    ASSERT_TRUE(scan_base58check_is_valid(S("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")));
    ASSERT_TRUE(scan_base58check_is_valid(S("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")));
    ASSERT_FALSE(scan_base58check_is_valid(S("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")));
    ASSERT_FALSE(scan_base58check_is_valid(S("1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a")));
    ASSERT_TRUE(scan_bech32_is_valid(S("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")));
    ASSERT_TRUE(scan_bech32_is_valid(
        S("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"))); /* Bech32m */
    ASSERT_FALSE(scan_bech32_is_valid(S("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")));
    ASSERT_FALSE(scan_bech32_is_valid(S("bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"))); /* mixed */
}

TEST(validate, misc)
{
    ASSERT_TRUE(scan_tld_is_known(S("com")));
    ASSERT_TRUE(scan_tld_is_known(S("hu")));
    ASSERT_FALSE(scan_tld_is_known(S("exe")));
    ASSERT_NEAR(scan_entropy(S("aaaa")), 0.0, 1e-9);
    ASSERT_NEAR(scan_entropy(S("abcd")), 2.0, 1e-9);
    ASSERT_TRUE(
        scan_jwt_is_valid(S("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxLCJiIjoyLCJjIjozfQ."
                            "hxhGCCCmGV9nT1slief1WgEsOsfdnlVizNrODxfh1M8")));
    ASSERT_FALSE(scan_jwt_is_valid(S("eyOqFIzD3dvYXNdOFQCj.ey_Bt0MxoGqFjmYxZ-.pZJdI4Hc94n=")));
    ASSERT_TRUE(scan_date_is_valid(2024, 2, 29));
    ASSERT_FALSE(scan_date_is_valid(2023, 2, 29));
    ASSERT_FALSE(scan_date_is_valid(2023, 13, 1));
}
