/* SPDX-License-Identifier: MIT */
/* argv → subcommand. Only this file knows the list of subcommands. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "api/gateway.h"
#include "core/config.h"
#include "core/log.h"
#include "report/report.h"
#include "route/route.h"
#include "route/route_cli.h"
#include "scan/scan.h"

#ifndef HG_VERSION
#define HG_VERSION "0.1.0"
#endif

static int
usage(FILE *f)
{
    fprintf(f, "usage: hybridgate [serve] [-c FILE]     run the gateway (built-in config without -c)\n"
               "       hybridgate check-config -c FILE validate a config and exit\n"
               "       hybridgate scan [-c FILE]       scan JSON lines from stdin for sensitive data\n"
               "       hybridgate report [-c FILE] [--plan FILE] [--from DATE] [--to DATE]\n"
               "                         [--format text|json|html]\n"
               "       hybridgate route [-c FILE] [--model M] [--classes pii,...] [--tags a,b]\n"
               "                        [--text TEXT|-] [--full|--open B]  explain one decision\n"
               "       hybridgate version\n");
    return f == stderr ? 2 : 0;
}

static const char *
find_config_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

/* Loads the config named by -c (NULL = the built-in default); prints the error on failure. */
static int
load_or_report(const char *path, struct config *cfg)
{
    struct hg_err err = {0};
    if (config_load(cfg, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int
check_config_main(int argc, char **argv)
{
    const char *path = find_config_arg(argc, argv);
    if (path == NULL) {
        fprintf(stderr, "check-config: -c FILE is required\n");
        return 2;
    }
    struct config cfg;
    struct hg_err err = {0};
    size_t nrules = 0;
    if (load_or_report(path, &cfg) < 0)
        return 1;
    if (gateway_check(&cfg, &nrules, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        config_cleanup(&cfg);
        return 1;
    }
    printf("%s: ok (%zu backends, %zu aliases, %zu routing rules)\n", path, cfg.nbackends,
           cfg.naliases, nrules);
    config_cleanup(&cfg);
    return 0;
}

static int
serve_main(int argc, char **argv)
{
    const char *path = find_config_arg(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            i++;
            continue;
        }
        fprintf(stderr, "serve: unknown argument '%s'\n", argv[i]);
        return 2;
    }
    struct config cfg;
    if (load_or_report(path, &cfg) < 0)
        return 1;
    if (!strcmp(cfg.log_level, "debug"))
        log_min_level = LOG_DEBUG;
    else if (!strcmp(cfg.log_level, "warn"))
        log_min_level = LOG_WARN;
    else if (!strcmp(cfg.log_level, "error"))
        log_min_level = LOG_ERROR;
    int rc = gateway_run(&cfg);
    config_cleanup(&cfg);
    return rc;
}

/* `hybridgate config-reference [--markdown]`: the generated option reference (scripts/gen.sh). */
static int
config_reference_main(int argc, char **argv)
{
    bool md = argc > 1 && !strcmp(argv[1], "--markdown");
    struct buf b;
    buf_init(&b, 1u << 20);
    int rc = config_reference(&b, md);
    if (rc == 0)
        fwrite(b.p, 1, b.len, stdout);
    buf_cleanup(&b);
    return rc == 0 ? 0 : 1;
}

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
    {"serve", serve_main},
    {"check-config", check_config_main},
    {"config-reference", config_reference_main},
    {"scan", scan_cli_main},
    {"report", report_cli_main},
    {"route", route_cli_main},
};

int
cli_main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
        printf("hybridgate %s\n", HG_VERSION);
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
                      !strcmp(argv[1], "-h")))
        return usage(stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (argc >= 2 && !strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    if (argc == 1 || argv[1][0] == '-')
        return serve_main(argc, argv); /* bare `hybridgate [-c FILE]` serves */
    return usage(stderr);
}
