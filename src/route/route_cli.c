/* SPDX-License-Identifier: MIT */
/* `hybridgate route`: runs one routing decision offline, from command-line facts, and prints the
 * /v1/route/explain JSON (stdout) and the x-hybridgate-route header (stderr). No scanner, no
 * network: the classes and entities are given on the command line, and backend state can be
 * forced (--full/--slow/--open/--down NAME) to see what saturation or an outage would do. */
#include "route/route_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/record.h"
#include "route/route.h"

#define CLI_MAX_LIST 32

static int
cli_usage(void)
{
    fprintf(stderr,
            "usage: hybridgate route [-c FILE] [--model M] [--classes pii,phi,financial,secret]\n"
            "                        [--entities US_SSN,...] [--key ID] [--team T] [--tags a,b]\n"
            "                        [--bytes N] [--text TEXT | --text -]\n"
            "                        [--full B] [--slow B] [--open B] [--down B] ...\n"
            "Prints the routing decision as /v1/route/explain JSON. Exit 0 when routed, 1 when\n"
            "rejected or unavailable, 2 on a usage or config error.\n");
    return 2;
}

/* Splits a comma list into views (at most max); s is not modified. */
static size_t
split_list(const char *s, struct str *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len)
            out[n++] = (struct str){s, len};
        s += len + (c ? 1 : 0);
    }
    return n;
}

static int
set_state(const struct config *cfg, struct route_view *v, const char *what, const char *name)
{
    int b = config_backend_index(cfg, name);
    if (b < 0) {
        fprintf(stderr, "route: unknown backend '%s'\n", name);
        return -1;
    }
    struct route_backend_view *bv = &v->b[b];
    const struct backend_conf *bc = &cfg->backends[b];
    if (!strcmp(what, "--full")) {
        bv->inflight = bc->max_concurrency > 0 ? bc->max_concurrency : 1;
        bv->queued = 0;
    } else if (!strcmp(what, "--slow")) {
        bv->ttft_ms = bc->ttft_slo_ms > 0 ? bc->ttft_slo_ms * 2 : 10000;
    } else if (!strcmp(what, "--open")) {
        bv->circuit = ROUTE_CIRCUIT_OPEN;
    } else {
        bv->down = true;
    }
    return 0;
}

int
route_cli_main(int argc, char **argv)
{
    const char *path = NULL, *model = "", *key = "", *team = "", *text = NULL;
    const char *classes = NULL, *entities = NULL, *tags = NULL;
    long bytes = -1;
    struct config cfg;
    struct hg_err err = {0};
    struct route_config *rc = NULL;
    struct route_view *view = NULL;
    struct route_decision *d = NULL;
    char *stdin_text = NULL;
    int ret = 2;

    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return cli_usage();
        if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            path = v;
        else if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--classes"))
            classes = v;
        else if (!strcmp(a, "--entities"))
            entities = v;
        else if (!strcmp(a, "--key"))
            key = v;
        else if (!strcmp(a, "--team"))
            team = v;
        else if (!strcmp(a, "--tags"))
            tags = v;
        else if (!strcmp(a, "--bytes"))
            bytes = strtol(v, NULL, 10);
        else if (!strcmp(a, "--text"))
            text = v;
        else if (strcmp(a, "--full") && strcmp(a, "--slow") && strcmp(a, "--open") &&
                 strcmp(a, "--down"))
            return cli_usage();
    }
    if (config_load(&cfg, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    if (route_config_load(cfg_get(cfg.doc.root, "routing"), &cfg, &rc, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    view = xcalloc(1, sizeof(*view));
    d = xcalloc(1, sizeof(*d));
    view->cfg = &cfg;
    view->rc = rc;
    view->nbackends = cfg.nbackends;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--full") || !strcmp(argv[i], "--slow") ||
            !strcmp(argv[i], "--open") || !strcmp(argv[i], "--down"))
            if (set_state(&cfg, view, argv[i], argv[i + 1]) < 0)
                goto out;

    struct route_input in = {0};
    struct str ents[CLI_MAX_LIST], tagv[CLI_MAX_LIST], part;
    if (classes) {
        struct str cl[CLI_MAX_LIST];
        size_t n = split_list(classes, cl, CLI_MAX_LIST);
        for (size_t i = 0; i < n; i++) {
            unsigned bit = 0;
            for (unsigned b = 1; b <= RECORD_CLASS_SECRET; b <<= 1)
                if (str_eq_cstr(cl[i], route_class_name(b)))
                    bit = b;
            if (bit == 0) {
                fprintf(stderr, "route: unknown class '%.*s'\n", (int)cl[i].len, cl[i].p);
                goto out;
            }
            in.classes |= bit;
        }
    }
    if (entities)
        in.nentities = split_list(entities, ents, CLI_MAX_LIST);
    in.entities = ents;
    if (tags)
        in.ntags = split_list(tags, tagv, CLI_MAX_LIST);
    in.tags = tagv;
    in.model = str_from(model);
    in.key_id = str_from(key);
    in.team = str_from(team);
    if (text && !strcmp(text, "-")) {
        size_t cap = 1 << 16, n = 0, r;
        stdin_text = xmalloc(cap);
        while ((r = fread(stdin_text + n, 1, cap - n, stdin)) > 0) {
            n += r;
            if (n == cap)
                stdin_text = xrealloc(stdin_text, cap *= 2);
        }
        part = (struct str){stdin_text, n};
    } else {
        part = str_from(text);
    }
    in.text = &part;
    in.ntext = part.len ? 1 : 0;
    in.prompt_bytes = bytes >= 0 ? (size_t)bytes : part.len;

    route_decide(&in, view, d);
    struct buf out;
    buf_init(&out, 1 << 20);
    route_explain_json(d, view, NULL, &out);
    printf("%s\n", out.p);
    buf_cleanup(&out);
    char hv[256];
    route_header_value(d, &cfg, d->ncand ? d->cand[0].backend : -1, hv, sizeof(hv));
    fprintf(stderr, "x-hybridgate-route: %s\n", hv);
    if (d->status)
        fprintf(stderr, "%d: %s\n", d->status, d->message);
    ret = d->status ? 1 : 0;
out:
    free(stdin_text);
    free(d);
    free(view);
    route_config_free(rc);
    config_cleanup(&cfg);
    return ret;
}
