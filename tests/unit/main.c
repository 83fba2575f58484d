/* SPDX-License-Identifier: MIT */
/* Unit-test runner: runs every registered test, or those of the suite named in argv[1]. */
#include <stdlib.h>

#include "test.h"

struct test_case {
    const char *suite;
    const char *name;
    test_fn *fn;
};

#define MAX_TESTS 4096
static struct test_case tests[MAX_TESTS];
static int ntests;

void
test_register(const char *suite, const char *name, test_fn *fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    tests[ntests].suite = suite;
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

int
main(int argc, char **argv)
{
    int passed = 0;
    int failed = 0;
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].suite) != 0)
            continue;
        int f = 0;
        tests[i].fn(&f);
        if (f) {
            fprintf(stderr, "FAIL %s.%s\n", tests[i].suite, tests[i].name);
            failed++;
        } else {
            passed++;
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
