/* SPDX-License-Identifier: MIT */
/* `hybridgate route`: one offline routing decision from command-line facts, printed as the
 * /v1/route/explain JSON. For checking a rule set before deploying it. */
#ifndef HG_ROUTE_ROUTE_CLI_H
#define HG_ROUTE_ROUTE_CLI_H

/* argv[0] is "route". Returns the exit status: 0 routed, 1 rejected/unavailable, 2 usage or
 * config error. */
int route_cli_main(int argc, char **argv);

#endif
