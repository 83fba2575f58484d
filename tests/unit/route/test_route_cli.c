/* SPDX-License-Identifier: MIT */
/* `hybridgate route`: exit statuses for routed, rejected, unavailable and bad input (output is
 * sent to /dev/null; the JSON itself is covered by route.header_and_explain). */
#include "route/route_cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "../test.h"

static int
run(int argc, const char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2), nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(nul, 2);
    int rc = route_cli_main(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    close(nul);
    return rc;
}

TEST(route_cli, exit_statuses)
{
    const char *routed[] = {"route",   "-c",         "tests/route/logistics.yaml",
                            "--model", "llama-8b",   "--full",
                            "dc1-a",   "--full",     "dc1-b",
                            "--text",  "where is it"};
    ASSERT_EQ(run(11, routed), 0);
    const char *rejected[] = {
        "route", "-c", "tests/route/clinic.yaml", "--model", "clinical", "--classes", "secret"};
    ASSERT_EQ(run(7, rejected), 1);
    const char *down[] = {"route",   "-c",        "tests/route/clinic.yaml",
                          "--model", "clinical",  "--classes",
                          "phi,pii", "--open",    "ward-gpu-1",
                          "--down",  "ward-gpu-2"};
    ASSERT_EQ(run(11, down), 1);
    const char *bad_class[] = {"route", "-c", "tests/route/clinic.yaml", "--classes", "health"};
    ASSERT_EQ(run(5, bad_class), 2);
    const char *bad_backend[] = {"route", "-c", "tests/route/clinic.yaml", "--open", "nope"};
    ASSERT_EQ(run(5, bad_backend), 2);
    const char *bad_arg[] = {"route", "--what", "x"};
    ASSERT_EQ(run(3, bad_arg), 2);
    const char *builtin[] = {"route", "--model", "local"};
    ASSERT_EQ(run(3, builtin), 0); /* the built-in default config and synthesized rules */
}
