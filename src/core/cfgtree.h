/* SPDX-License-Identifier: MIT */
/* A YAML document loaded into a small tree with line numbers (libyaml is included only by
 * cfgtree.c). Every room reads its own config section from this tree, so the core does not
 * know the rooms, and every error can say "file:line: reason" and quote the line. */
#ifndef HG_CORE_CFGTREE_H
#define HG_CORE_CFGTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

enum cfg_type { CFG_SCALAR, CFG_SEQ, CFG_MAP };

struct cfg_node {
    enum cfg_type type;     /* scalar, sequence or mapping */
    int line;               /* 1-based line of the node in the file */
    const char *key;        /* key when this node is a mapping value, else NULL */
    const char *value;      /* scalar text (NUL-terminated), NULL for seq/map */
    bool quoted;            /* scalar was quoted (so "yes" stays a string) */
    struct cfg_node *child; /* first entry of a seq/map */
    struct cfg_node *next;  /* next sibling in the parent seq/map */
    struct cfg_doc *doc;    /* owning document, for error messages */
};

struct cfg_doc {
    char *name;            /* file name for messages; owned */
    char *text;            /* the source text, kept to quote lines; owned */
    size_t text_len;       /* bytes in text */
    struct cfg_node *root; /* NULL for an empty document */
    struct cfg_node *all;  /* every node, for freeing (linked through an internal field) */
};

/* Loaders: 0, or -1 with err->msg = "file:line: reason". On failure *doc is left empty. */
int cfg_doc_load_file(struct cfg_doc *doc, const char *path, struct hg_err *err);
int cfg_doc_load_str(struct cfg_doc *doc, const char *name, const char *text, size_t len,
                     struct hg_err *err);
void cfg_doc_cleanup(struct cfg_doc *doc);

/* Lookup in a mapping: the value node or NULL (also NULL when map is NULL or not a map). */
const struct cfg_node *cfg_get(const struct cfg_node *map, const char *key);

/* Formats "file:line: <message>\n    >>> <the line>" into err (status 0) and returns -1. */
int cfg_fail(const struct cfg_node *n, struct hg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed readers. Each returns 0, or -1 with a cfg_fail() message naming the key and the rule. */
int cfg_str(const struct cfg_node *n, const char **out);
int cfg_want_scalar(const struct cfg_node *n, struct hg_err *err);
int cfg_long(const struct cfg_node *n, long min, long max, long *out, struct hg_err *err);
int cfg_double(const struct cfg_node *n, double min, double max, double *out, struct hg_err *err);
int cfg_bool(const struct cfg_node *n, bool *out, struct hg_err *err);
/* Durations: "250ms", "30s", "5m", "1h" or a bare number of seconds; result in milliseconds. */
int cfg_duration_ms(const struct cfg_node *n, long *out, struct hg_err *err);
/* Sizes: "16MiB", "512KiB", "1GiB", "100kb" or a bare number of bytes. */
int cfg_size(const struct cfg_node *n, size_t *out, struct hg_err *err);
/* Checks that every key of map is in the NULL-terminated list `known`; an unknown key fails
 * (a typo must not be silently ignored). */
int cfg_check_keys(const struct cfg_node *map, const char *const *known, struct hg_err *err);

/* Parse helpers shared with flags and environment variables (no node, plain text). */
int cfg_parse_duration_ms(const char *s, long *out);
int cfg_parse_size(const char *s, size_t *out);

#endif
