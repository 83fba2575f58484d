/* SPDX-License-Identifier: MIT */
/* Helpers over cJSON. See json.h. */
#include "core/json.h"

#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when some object in the tree has two members with the same name. cJSON keeps both, and
 * parsers differ on which one wins (cJSON: the first; most upstream servers: the last), so a
 * duplicate could show the scanner one value and the model another. Sorting the names of each
 * object keeps this O(n log n) however many members an attacker sends. */
static bool
has_duplicate_keys(const cJSON *j)
{
    size_t n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && has_duplicate_keys(c))
            return true;
        n++;
    }
    if (!cJSON_IsObject(j) || n < 2)
        return false;
    const char **keys = xmalloc(n * sizeof(*keys));
    size_t k = 0;
    cJSON_ArrayForEach(c, j)
    {
        keys[k++] = c->string ? c->string : "";
    }
    qsort(keys, n, sizeof(*keys), cmp_keys);
    bool dup = false;
    for (size_t i = 1; i < n && !dup; i++)
        dup = strcmp(keys[i - 1], keys[i]) == 0;
    free(keys);
    return dup;
}

cJSON *
json_parse(const char *p, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (j == NULL)
        return NULL;
    /* Only whitespace may follow the value. */
    while (end && end < p + n && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if ((end && end < p + n && *end != '\0') || has_duplicate_keys(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

const char *
json_get_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
json_get_bool(const cJSON *obj, const char *key, bool def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsTrue(v))
        return true;
    if (cJSON_IsFalse(v))
        return false;
    return def;
}

double
json_get_num(const cJSON *obj, const char *key, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int
json_append(struct buf *out, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s == NULL)
        return -1;
    int r = buf_appends(out, s);
    cJSON_free(s);
    return r;
}

static bool
path_walk(const cJSON *j, const cJSON *target, struct buf *b, int depth)
{
    if (j == target)
        return true;
    if (depth > 64 || (!cJSON_IsArray(j) && !cJSON_IsObject(j)))
        return false;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        size_t mark = b->len;
        if (cJSON_IsArray(j)) {
            buf_printf(b, "/%d", i);
        } else {
            buf_appendc(b, '/');
            for (const char *c = it->string ? it->string : ""; *c; c++) {
                if (*c == '~')
                    buf_appends(b, "~0");
                else if (*c == '/')
                    buf_appends(b, "~1");
                else
                    buf_appendc(b, *c);
            }
        }
        if (path_walk(it, target, b, depth + 1))
            return true;
        b->len = mark;
        i++;
    }
    return false;
}

void
json_path_of(const cJSON *root, const cJSON *node, char *out, size_t outlen)
{
    struct buf b;
    buf_init(&b, 4096);
    out[0] = '\0';
    if (node && path_walk(root, node, &b, 0) && b.p)
        snprintf(out, outlen, "%.*s", (int)b.len, b.p);
    buf_cleanup(&b);
}
