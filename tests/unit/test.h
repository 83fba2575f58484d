/* SPDX-License-Identifier: MIT */
/* Minimal unit-test harness (libuv task.h style). TEST(suite, name) registers itself through a
 * constructor, so a new test file needs no list edit; build/unit_tests [suite] runs all or one.
 * The last line printed is "unit: N passed, N failed". */
#ifndef HG_TEST_H
#define HG_TEST_H

#include <stdio.h>
#include <string.h>

typedef void test_fn(int *failed);
void test_register(const char *suite, const char *name, test_fn *fn);

#define TEST(suite, name)                                                                          \
    static void test_##suite##_##name(int *failed_);                                               \
    __attribute__((constructor)) static void test_reg_##suite##_##name(void)                       \
    {                                                                                              \
        test_register(#suite, #name, test_##suite##_##name);                                       \
    }                                                                                              \
    static void test_##suite##_##name(int *failed_)

#define TEST_FAIL_(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        *failed_ = 1;                                                                              \
        return;                                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            TEST_FAIL_("ASSERT_TRUE(%s)", #c);                                                     \
    } while (0)
#define ASSERT_FALSE(c) ASSERT_TRUE(!(c))
#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            TEST_FAIL_("ASSERT_EQ(%s, %s): %lld != %lld", #a, #b, a_, b_);                         \
    } while (0)
#define ASSERT_NEAR(a, b, eps)                                                                     \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (a_ - b_ > (eps) || b_ - a_ > (eps))                                                    \
            TEST_FAIL_("ASSERT_NEAR(%s, %s): %g != %g", #a, #b, a_, b_);                           \
    } while (0)
#define ASSERT_STR(a, b)                                                                           \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                       \
            TEST_FAIL_("ASSERT_STR(%s, %s): \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",         \
                       b_ ? b_ : "(null)");                                                        \
    } while (0)

#endif
