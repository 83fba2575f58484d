/* SPDX-License-Identifier: MIT */
/* libyaml event parser → cfg_node tree with line numbers. Anchors and aliases are refused: a
 * gateway config has no use for them and they allow "billion laughs" expansion. */
#include "core/cfgtree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/alloc.h"

#define CFG_MAX_DEPTH 32 /* configs are shallow; a cap keeps recursion bounded */
#define CFG_MAX_FILE (4u << 20)

struct node_priv {
    struct cfg_node n;
    struct node_priv *all_next;
};

static struct cfg_node *
node_new(struct cfg_doc *doc, enum cfg_type t, int line)
{
    struct node_priv *p = xcalloc(1, sizeof(*p));
    p->n.type = t;
    p->n.line = line;
    p->n.doc = doc;
    p->all_next = (struct node_priv *)doc->all;
    doc->all = &p->n;
    return &p->n;
}

static const char *
line_text(const struct cfg_doc *doc, int line, size_t *len)
{
    const char *p = doc->text;
    const char *end = doc->text + doc->text_len;
    for (int l = 1; l < line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return NULL;
        p = nl + 1;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    return p;
}

__attribute__((format(printf, 4, 0))) static int
fail_at(struct hg_err *err, const struct cfg_doc *doc, int line, const char *fmt, va_list ap)
{
    char msg[300];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t ll = 0;
    const char *lt = doc && doc->text ? line_text(doc, line, &ll) : NULL;
    if (ll > 120)
        ll = 120;
    hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "%s:%d: %s%s%.*s", doc ? doc->name : "?", line,
               msg, lt ? "\n    >>> " : "", (int)(lt ? ll : 0), lt ? lt : "");
    return -1;
}

__attribute__((format(printf, 4, 5))) static int
fail_line(struct hg_err *err, const struct cfg_doc *doc, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_at(err, doc, line, fmt, ap);
    va_end(ap);
    return -1;
}

int
cfg_fail(const struct cfg_node *n, struct hg_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_at(err, n ? n->doc : NULL, n ? n->line : 0, fmt, ap);
    va_end(ap);
    return -1;
}

/* Builds the node for the event just read (a scalar or the start of a collection). */
static int parse_node(yaml_parser_t *ps, yaml_event_t *ev, struct cfg_doc *doc, int depth,
                      struct cfg_node **out, struct hg_err *err);

static int
next_event(yaml_parser_t *ps, yaml_event_t *ev, struct cfg_doc *doc, struct hg_err *err)
{
    if (!yaml_parser_parse(ps, ev))
        return fail_line(err, doc, (int)ps->problem_mark.line + 1, "YAML syntax error: %s%s%s",
                         ps->problem ? ps->problem : "unknown", ps->context ? " " : "",
                         ps->context ? ps->context : "");
    return 0;
}

static int
parse_collection(yaml_parser_t *ps, struct cfg_doc *doc, int depth, struct cfg_node *coll,
                 struct hg_err *err)
{
    yaml_event_t ev;
    struct cfg_node **tail = &coll->child;
    for (;;) {
        if (next_event(ps, &ev, doc, err) < 0)
            return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        const char *key = NULL;
        if (coll->type == CFG_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                int line = (int)ev.start_mark.line + 1;
                yaml_event_delete(&ev);
                return fail_line(err, doc, line, "mapping keys must be plain scalars");
            }
            char *k = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            int kline = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            for (struct cfg_node *c = coll->child; c; c = c->next) {
                if (strcmp(c->key, k) == 0) {
                    fail_line(err, doc, kline, "duplicate key '%s'", k);
                    free(k);
                    return -1;
                }
            }
            /* the key string is owned by a scalar node so it is freed with the tree */
            struct cfg_node *kn = node_new(doc, CFG_SCALAR, kline);
            kn->value = k;
            key = k;
            if (next_event(ps, &ev, doc, err) < 0)
                return -1;
        }
        struct cfg_node *child = NULL;
        if (parse_node(ps, &ev, doc, depth + 1, &child, err) < 0)
            return -1;
        child->key = key;
        *tail = child;
        tail = &child->next;
    }
}

static int
parse_node(yaml_parser_t *ps, yaml_event_t *ev, struct cfg_doc *doc, int depth,
           struct cfg_node **out, struct hg_err *err)
{
    int line = (int)ev->start_mark.line + 1;
    if (depth > CFG_MAX_DEPTH) {
        yaml_event_delete(ev);
        return fail_line(err, doc, line, "nesting deeper than %d levels", CFG_MAX_DEPTH);
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        struct cfg_node *n = node_new(doc, CFG_SCALAR, line);
        n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        yaml_event_delete(ev);
        *out = n;
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        struct cfg_node *n = node_new(
            doc, ev->type == YAML_SEQUENCE_START_EVENT ? CFG_SEQ : CFG_MAP, line);
        yaml_event_delete(ev);
        *out = n;
        return parse_collection(ps, doc, depth, n, err);
    }
    case YAML_ALIAS_EVENT:
        yaml_event_delete(ev);
        return fail_line(err, doc, line, "YAML aliases are not supported in the config");
    default:
        yaml_event_delete(ev);
        return fail_line(err, doc, line, "unexpected YAML event");
    }
}

int
cfg_doc_load_str(struct cfg_doc *doc, const char *name, const char *text, size_t len,
                 struct hg_err *err)
{
    yaml_parser_t ps;
    yaml_event_t ev;
    int rc = -1;

    memset(doc, 0, sizeof(*doc));
    doc->name = xstrdup(name ? name : "<config>");
    doc->text = xstrndup(text, len);
    doc->text_len = len;
    if (!yaml_parser_initialize(&ps)) {
        hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "%s: cannot initialise YAML parser",
                   doc->name);
        cfg_doc_cleanup(doc);
        return -1;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)doc->text, len);
    for (;;) {
        if (next_event(&ps, &ev, doc, err) < 0)
            goto out;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            if (doc->root) {
                fail_line(err, doc, (int)ps.mark.line + 1, "only one YAML document is allowed");
                goto out;
            }
            if (next_event(&ps, &ev, doc, err) < 0)
                goto out;
            if (ev.type == YAML_DOCUMENT_END_EVENT) {
                yaml_event_delete(&ev);
                continue;
            }
            if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0) {
                yaml_event_delete(&ev);
                continue;
            }
            if (parse_node(&ps, &ev, doc, 0, &doc->root, err) < 0)
                goto out;
            continue;
        }
        yaml_event_delete(&ev);
    }
    if (doc->root && doc->root->type != CFG_MAP) {
        fail_line(err, doc, doc->root->line, "the config must be a mapping of options");
        goto out;
    }
    rc = 0;
out:
    yaml_parser_delete(&ps);
    if (rc < 0)
        cfg_doc_cleanup(doc);
    return rc;
}

int
cfg_doc_load_file(struct cfg_doc *doc, const char *path, struct hg_err *err)
{
    memset(doc, 0, sizeof(*doc));
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "%s: cannot open: %s", path,
                          strerror(errno));
    struct buf b;
    buf_init(&b, CFG_MAX_FILE);
    char chunk[8192];
    size_t n;
    int toobig = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            toobig = 1;
            break;
        }
    }
    fclose(f);
    if (toobig) {
        buf_cleanup(&b);
        return hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "%s: larger than %u bytes", path,
                          CFG_MAX_FILE);
    }
    int r = cfg_doc_load_str(doc, path, b.p ? b.p : "", b.len, err);
    buf_cleanup(&b);
    return r;
}

void
cfg_doc_cleanup(struct cfg_doc *doc)
{
    struct node_priv *p = (struct node_priv *)doc->all;
    while (p) {
        struct node_priv *next = p->all_next;
        if (p->n.type == CFG_SCALAR)
            free((char *)p->n.value);
        free(p);
        p = next;
    }
    free(doc->name);
    free(doc->text);
    memset(doc, 0, sizeof(*doc));
}

const struct cfg_node *
cfg_get(const struct cfg_node *map, const char *key)
{
    if (map == NULL || map->type != CFG_MAP)
        return NULL;
    for (const struct cfg_node *c = map->child; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

int
cfg_want_scalar(const struct cfg_node *n, struct hg_err *err)
{
    if (n->type != CFG_SCALAR)
        return cfg_fail(n, err, "'%s' must be a single value", n->key ? n->key : "item");
    return 0;
}

int
cfg_str(const struct cfg_node *n, const char **out)
{
    if (n == NULL || n->type != CFG_SCALAR)
        return -1;
    *out = n->value;
    return 0;
}

int
cfg_long(const struct cfg_node *n, long min, long max, long *out, struct hg_err *err)
{
    if (cfg_want_scalar(n, err) < 0)
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(n->value, &end, 10);
    if (errno || end == n->value || *end != '\0')
        return cfg_fail(n, err, "'%s' must be an integer, got '%s'", n->key ? n->key : "item",
                        n->value);
    if (v < min || v > max)
        return cfg_fail(n, err, "'%s' must be between %ld and %ld, got %ld",
                        n->key ? n->key : "item", min, max, v);
    *out = v;
    return 0;
}

int
cfg_double(const struct cfg_node *n, double min, double max, double *out, struct hg_err *err)
{
    if (cfg_want_scalar(n, err) < 0)
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(n->value, &end);
    if (errno || end == n->value || *end != '\0' || !isfinite(v))
        return cfg_fail(n, err, "'%s' must be a number, got '%s'", n->key ? n->key : "item",
                        n->value);
    if (v < min || v > max)
        return cfg_fail(n, err, "'%s' must be between %g and %g, got %g", n->key ? n->key : "item",
                        min, max, v);
    *out = v;
    return 0;
}

int
cfg_bool(const struct cfg_node *n, bool *out, struct hg_err *err)
{
    if (cfg_want_scalar(n, err) < 0)
        return -1;
    const char *v = n->value;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) {
        *out = false;
        return 0;
    }
    return cfg_fail(n, err, "'%s' must be true or false, got '%s'", n->key ? n->key : "item", v);
}

int
cfg_parse_duration_ms(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -1;
    double mult;
    if (*end == '\0' || !strcmp(end, "s"))
        mult = 1000;
    else if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60000;
    else if (!strcmp(end, "h"))
        mult = 3600000;
    else
        return -1;
    double ms = v * mult;
    if (ms > 1e12)
        return -1;
    *out = (long)ms;
    return 0;
}

int
cfg_parse_size(const char *s, size_t *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -1;
    double mult;
    if (*end == '\0' || !strcasecmp(end, "b"))
        mult = 1;
    else if (!strcasecmp(end, "kib") || !strcasecmp(end, "k") || !strcasecmp(end, "kb"))
        mult = 1024;
    else if (!strcasecmp(end, "mib") || !strcasecmp(end, "m") || !strcasecmp(end, "mb"))
        mult = 1024.0 * 1024;
    else if (!strcasecmp(end, "gib") || !strcasecmp(end, "g") || !strcasecmp(end, "gb"))
        mult = 1024.0 * 1024 * 1024;
    else
        return -1;
    double b = v * mult;
    if (b > 1e15)
        return -1;
    *out = (size_t)b;
    return 0;
}

int
cfg_duration_ms(const struct cfg_node *n, long *out, struct hg_err *err)
{
    if (cfg_want_scalar(n, err) < 0)
        return -1;
    if (cfg_parse_duration_ms(n->value, out) < 0)
        return cfg_fail(n, err, "'%s' must be a duration like 500ms, 30s or 5m, got '%s'",
                        n->key ? n->key : "item", n->value);
    return 0;
}

int
cfg_size(const struct cfg_node *n, size_t *out, struct hg_err *err)
{
    if (cfg_want_scalar(n, err) < 0)
        return -1;
    if (cfg_parse_size(n->value, out) < 0)
        return cfg_fail(n, err, "'%s' must be a size like 16MiB or 512KiB, got '%s'",
                        n->key ? n->key : "item", n->value);
    return 0;
}

int
cfg_check_keys(const struct cfg_node *map, const char *const *known, struct hg_err *err)
{
    if (map == NULL)
        return 0;
    if (map->type != CFG_MAP)
        return cfg_fail(map, err, "'%s' must be a mapping", map->key ? map->key : "item");
    for (const struct cfg_node *c = map->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, c->key) == 0)
                ok = 1;
        if (!ok)
            return cfg_fail(c, err, "unknown option '%s'", c->key);
    }
    return 0;
}
