/* SPDX-License-Identifier: MIT */
/* Command-line dispatcher: hybridgate [serve] [-c FILE] | check-config -c FILE | scan | report |
 * version. Each subcommand is a function `int <room>_cli_main(int argc, char **argv)` where argv[0]
 * is the subcommand name; it returns the process exit status. */
#ifndef HG_CLI_CLI_H
#define HG_CLI_CLI_H

int cli_main(int argc, char **argv);

#endif
