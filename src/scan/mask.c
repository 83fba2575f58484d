/* SPDX-License-Identifier: MIT */
/* Mask and restore for routing's mask mode (see mask.h for the lifecycle). The map is a small
 * array searched linearly: requests carry tens of values, not thousands, and the cap keeps a
 * hostile body from growing it. */
#include "scan/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

struct mask_entry {
    char *type;   /* entity type name; owned */
    char *value;  /* original bytes; owned, wiped on free */
    size_t vlen;  /* bytes in value */
    char ph[96];  /* "<TYPE_N>" */
    size_t phlen; /* bytes in ph */
};

struct scan_mask {
    struct mask_entry *e; /* entries in first-seen order */
    size_t n, cap;        /* used, allocated */
    size_t maxph;         /* longest placeholder, for the restorer's hold-back */
};

struct scan_mask *
scan_mask_new(void)
{
    struct scan_mask *m = xcalloc(1, sizeof(*m));
    m->maxph = 16;
    return m;
}

void
scan_mask_free(struct scan_mask *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        secure_zero(m->e[i].value, m->e[i].vlen);
        free(m->e[i].value);
        free(m->e[i].type);
    }
    free(m->e);
    free(m);
}

size_t
scan_mask_count(const struct scan_mask *m)
{
    return m->n;
}

/* Placeholder for (type, value): an existing one or a new "<TYPE_k>". */
static const struct mask_entry *
intern(struct scan_mask *m, const char *type, const char *v, size_t vlen)
{
    static const struct mask_entry overflow = {.ph = "<MASKED>", .phlen = 8};
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->e[i].type, type) != 0)
            continue;
        k++;
        if (m->e[i].vlen == vlen && !memcmp(m->e[i].value, v, vlen))
            return &m->e[i];
    }
    if (m->n >= SCAN_MASK_MAX_ENTRIES)
        return &overflow;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
    }
    struct mask_entry *e = &m->e[m->n++];
    e->type = xstrdup(type);
    e->value = xstrndup(v, vlen);
    e->vlen = vlen;
    int w = snprintf(e->ph, sizeof(e->ph), "<%.80s_%zu>", type, k + 1);
    e->phlen = w > 0 && (size_t)w < sizeof(e->ph) ? (size_t)w : sizeof(e->ph) - 1;
    if (e->phlen > m->maxph)
        m->maxph = e->phlen;
    return e;
}

const char *
scan_mask_lookup(const struct scan_mask *m, const char *ph, size_t n, size_t *len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].phlen == n && !memcmp(m->e[i].ph, ph, n)) {
            *len = m->e[i].vlen;
            return m->e[i].value;
        }
    return NULL;
}

/* Rewrites one string node from entities [a, b) of r (all on this node, sorted by start). */
static int
mask_node(struct scan_mask *m, cJSON *node, const struct scan_entity *ents, size_t a, size_t b,
          bool all)
{
    const char *s = node->valuestring;
    size_t len = strlen(s), at = 0, done = 0;
    struct buf out;
    buf_init(&out, len * 4 + 4096);
    for (size_t i = a; i < b; i++) {
        const struct scan_entity *e = &ents[i];
        if ((!all && !e->over) || e->end > len || e->start < at)
            continue;
        size_t st = e->start, en = e->end;
        const char *type = e->type_name;
        /* merge later overlapping entities into this one */
        for (size_t j = i + 1; j < b && ents[j].start < en; j++)
            if ((all || ents[j].over) && ents[j].end > en && ents[j].end <= len)
                en = ents[j].end;
        buf_append(&out, s + at, st - at);
        const struct mask_entry *me = intern(m, type, s + st, en - st);
        buf_append(&out, me->ph, me->phlen);
        at = en;
        done++;
    }
    if (done > 0) {
        buf_append(&out, s + at, len - at);
        /* the old value holds the prompt's sensitive bytes: wipe it first. cJSON then sees an
         * empty string, so it allocates the new value and frees the (zeroed) old buffer. */
        secure_zero(node->valuestring, len);
        if (cJSON_SetValuestring(node, out.p ? out.p : "") == NULL) {
            buf_cleanup(&out);
            return -1;
        }
    }
    buf_cleanup(&out);
    return (int)done;
}

int
scan_mask_apply(struct scan_mask *m, cJSON *body, const struct scan_result *r, bool all)
{
    (void)body; /* the nodes in r point into body; taking it marks who owns the rewrite */
    int total = 0;
    size_t i = 0;
    while (i < r->nentities) {
        const cJSON *node = r->entities[i].node;
        size_t j = i;
        while (j < r->nentities && r->entities[j].node == node)
            j++;
        if (node != NULL && cJSON_IsString(node) && r->entities[i].type != SCAN_IMAGE) {
            int k = mask_node(m, (cJSON *)node, r->entities, i, j, all);
            if (k > 0)
                total += k;
        }
        i = j;
    }
    return total;
}

/* ---------------------------------------------------------------- restore */

struct scan_restore {
    const struct scan_mask *m; /* the request's map */
    size_t restored;           /* placeholders replaced so far */
    char hold[128];            /* incomplete "<..." tail from the previous delta */
    size_t nhold;              /* bytes held */
};

struct scan_restore *
scan_restore_new(const struct scan_mask *m)
{
    struct scan_restore *r = xcalloc(1, sizeof(*r));
    r->m = m;
    return r;
}

void
scan_restore_free(struct scan_restore *r)
{
    if (r == NULL)
        return;
    secure_zero(r->hold, sizeof(r->hold));
    free(r);
}

static bool
ph_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Processes text t[0..n); appends restored output; keeps a trailing partial placeholder. */
static int
restore_run(struct scan_restore *r, const char *t, size_t n, struct buf *out)
{
    size_t i = 0, flushed = 0;
    size_t maxph = r->m->maxph < sizeof(r->hold) ? r->m->maxph : sizeof(r->hold);
    while (i < n) {
        const char *lt = memchr(t + i, '<', n - i);
        if (lt == NULL)
            break;
        size_t s = (size_t)(lt - t), k = s + 1;
        while (k < n && k - s < maxph && ph_char(t[k]))
            k++;
        if (k < n && t[k] == '>') {
            size_t vlen;
            const char *v = scan_mask_lookup(r->m, t + s, k + 1 - s, &vlen);
            if (v != NULL) {
                if (buf_append(out, t + flushed, s - flushed) < 0 || buf_append(out, v, vlen) < 0)
                    return -1;
                r->restored++;
                flushed = i = k + 1;
                continue;
            }
        } else if (k == n && k - s < maxph) {
            /* "<EMAIL_AD" at the end: may complete in the next delta */
            if (buf_append(out, t + flushed, s - flushed) < 0)
                return -1;
            memcpy(r->hold, t + s, n - s);
            r->nhold = n - s;
            return 0;
        }
        i = s + 1;
    }
    return buf_append(out, t + flushed, n - flushed);
}

int
scan_restore_feed(struct scan_restore *r, const char *p, size_t n, struct buf *out)
{
    if (r->nhold == 0)
        return restore_run(r, p, n, out);
    /* join the held tail with just enough of the new delta to finish a placeholder */
    char tmp[256];
    size_t take = n < sizeof(tmp) - r->nhold ? n : sizeof(tmp) - r->nhold;
    size_t scan_take = take;
    for (size_t k = 0; k < take; k++)
        if (!ph_char(p[k])) {
            scan_take = k + 1; /* through the first non-placeholder char ('>' or other) */
            break;
        }
    memcpy(tmp, r->hold, r->nhold);
    memcpy(tmp + r->nhold, p, scan_take);
    size_t tn = r->nhold + scan_take;
    r->nhold = 0;
    if (restore_run(r, tmp, tn, out) < 0)
        return -1;
    if (r->nhold > 0 && scan_take == n)
        return 0; /* still incomplete: everything is held */
    if (r->nhold > 0) {
        /* cannot happen: a non-placeholder char ended the joined text; flush defensively */
        if (buf_append(out, r->hold, r->nhold) < 0)
            return -1;
        r->nhold = 0;
    }
    return restore_run(r, p + scan_take, n - scan_take, out);
}

int
scan_restore_finish(struct scan_restore *r, struct buf *out)
{
    int rc = buf_append(out, r->hold, r->nhold);
    secure_zero(r->hold, sizeof(r->hold));
    r->nhold = 0;
    return rc;
}

int
scan_mask_restore_str(const struct scan_mask *m, const char *p, size_t n, struct buf *out)
{
    struct scan_restore r = {.m = m};
    int rc = scan_restore_feed(&r, p, n, out);
    if (rc == 0)
        rc = scan_restore_finish(&r, out);
    return rc < 0 ? -1 : (int)r.restored;
}

int
scan_mask_restore_json(const struct scan_mask *m, cJSON *json)
{
    int total = 0;
    if (json == NULL || m->n == 0)
        return 0;
    if (cJSON_IsString(json) && json->valuestring != NULL && strchr(json->valuestring, '<')) {
        struct buf out;
        size_t len = strlen(json->valuestring);
        buf_init(&out, len + m->n * 256 + (len * 8) + 4096);
        int k = scan_mask_restore_str(m, json->valuestring, len, &out);
        if (k > 0 && cJSON_SetValuestring(json, out.p) != NULL)
            total += k;
        buf_cleanup(&out);
        return total;
    }
    cJSON *child;
    cJSON_ArrayForEach(child, json)
    {
        total += scan_mask_restore_json(m, child);
    }
    return total;
}
