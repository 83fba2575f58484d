/* SPDX-License-Identifier: MIT */
/* struct str: a non-owning {p,len} view, never assumed NUL-terminated (ngx_str_t, h2o_iovec_t). */
#ifndef HG_CORE_STR_H
#define HG_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct str {
    const char *p; /* first byte; may be NULL when len == 0 */
    size_t len;    /* bytes */
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

static inline struct str
str_from(const char *s)
{
    return (struct str){s, s ? strlen(s) : 0};
}

static inline bool
str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool
str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_from(b));
}

static inline bool
str_has_prefix(struct str a, const char *pfx)
{
    size_t n = strlen(pfx);
    return a.len >= n && memcmp(a.p, pfx, n) == 0;
}

#endif
