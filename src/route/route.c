/* SPDX-License-Identifier: MIT */
/* Routing rules: the loader for the `routing:` section (with its load-time privacy check), the
 * pure decision function, the send-path assertion, and the explain/header renderers. The rule
 * list is immutable after load, so any number of worker threads may decide concurrently. */
#include "route/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/record.h"
#include "route/route_int.h"

#define CLASS_ALL                                                                                  \
    (RECORD_CLASS_PII | RECORD_CLASS_PHI | RECORD_CLASS_FINANCIAL | RECORD_CLASS_SECRET)
#define MODEL_NAME_MAX 256 /* longer requested models cannot exist in a config */

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */

const char *
route_reason_name(enum route_reason r)
{
    switch (r) {
    case ROUTE_REASON_RULE:
        return "rule";
    case ROUTE_REASON_DEFAULT:
        return "default";
    case ROUTE_REASON_SENSITIVE:
        return "sensitive";
    case ROUTE_REASON_MASK:
        return "mask";
    case ROUTE_REASON_BURST:
        return "burst";
    case ROUTE_REASON_QUEUE:
        return "queue";
    case ROUTE_REASON_REJECT:
        return "reject";
    case ROUTE_REASON_UNAVAILABLE:
        return "unavailable";
    case ROUTE_REASON_UNKNOWN_MODEL:
        return "unknown_model";
    }
    return "unknown";
}

const char *
route_action_name(enum route_action a)
{
    switch (a) {
    case ROUTE_ACTION_ROUTE:
        return "route";
    case ROUTE_ACTION_MASK:
        return "mask";
    case ROUTE_ACTION_REJECT:
        return "reject";
    }
    return "unknown";
}

const char *
route_circuit_name(enum route_circuit c)
{
    switch (c) {
    case ROUTE_CIRCUIT_CLOSED:
        return "closed";
    case ROUTE_CIRCUIT_OPEN:
        return "open";
    case ROUTE_CIRCUIT_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

static const char *const why_names[ROUTE_WHY_COUNT] = {
    "not_in_pool", "no_model",   "sensitive_hosted", "region", "circuit_open",
    "down",        "queue_full", "model_version",    "airgap", "half_open_busy",
};

const char *
route_why_name(unsigned bit)
{
    for (int i = 0; i < ROUTE_WHY_COUNT; i++)
        if (bit == (1u << i))
            return why_names[i];
    return "unknown";
}

static const struct {
    const char *name;
    unsigned bit;
} class_names[] = {
    {"pii", RECORD_CLASS_PII},
    {"phi", RECORD_CLASS_PHI},
    {"financial", RECORD_CLASS_FINANCIAL},
    {"secret", RECORD_CLASS_SECRET},
};
#define NCLASSES (sizeof(class_names) / sizeof(class_names[0]))

const char *
route_class_name(unsigned bit)
{
    for (size_t i = 0; i < NCLASSES; i++)
        if (class_names[i].bit == bit)
            return class_names[i].name;
    return "unknown";
}

static const struct {
    const char *name;
    unsigned bits;
} ft_names[] = {
    {"error", ROUTE_FT_ERROR},
    {"timeout", ROUTE_FT_TIMEOUT},
    {"http_429", ROUTE_FT_HTTP_429},
    {"http_500", ROUTE_FT_HTTP_500},
    {"http_502", ROUTE_FT_HTTP_502},
    {"http_503", ROUTE_FT_HTTP_503},
    {"http_504", ROUTE_FT_HTTP_504},
    {"circuit", ROUTE_FT_CIRCUIT},
    {"http_5xx", ROUTE_FT_HTTP_500 | ROUTE_FT_HTTP_502 | ROUTE_FT_HTTP_503 | ROUTE_FT_HTTP_504},
    {"off", 0},
};

unsigned
route_ft_classify(int http_status, bool transport_error, bool timeout)
{
    if (timeout)
        return ROUTE_FT_TIMEOUT;
    if (transport_error)
        return ROUTE_FT_ERROR;
    switch (http_status) {
    case 429:
        return ROUTE_FT_HTTP_429;
    case 500:
        return ROUTE_FT_HTTP_500;
    case 502:
        return ROUTE_FT_HTTP_502;
    case 503:
        return ROUTE_FT_HTTP_503;
    case 504:
        return ROUTE_FT_HTTP_504;
    }
    return http_status >= 500 && http_status < 600 ? ROUTE_FT_HTTP_500 : 0; /* other 5xx */
}

bool
route_should_failover(const struct route_decision *d, unsigned cond)
{
    return cond != 0 && (d->failover & cond) == cond;
}

/* ---------------------------------------------------------------------------------------------
 * The compiled configuration
 * ------------------------------------------------------------------------------------------- */

struct pool_entry {
    int backend; /* index into cfg->backends */
    int weight;  /* relative weight (entry, else the backend's) */
    char *model; /* upstream model override, owned, or NULL (resolve the request's) */
    bool burst;  /* listed in burst_to */
};

struct strlist {
    char **v; /* owned strings */
    size_t n; /* entries */
};

struct rule {
    char *name;      /* unique, header-safe */
    int line;        /* line of the rule in the file, 0 when synthesized */
    bool is_default; /* no match: catches everything */
    /* match: every present condition must hold; inside a list any entry may match */
    bool has_classes;          /* classes: present */
    unsigned classes;          /* RECORD_CLASS_* any of which matches */
    int sensitive;             /* -1 not given, 0 public only, 1 sensitive only */
    struct strlist entities;   /* entity type names (case-insensitive) */
    struct strlist models;     /* requested model or alias; trailing '*' = prefix */
    struct strlist keys;       /* caller key ids */
    struct strlist teams;      /* caller teams */
    struct strlist tags;       /* request tags */
    bool has_size;             /* prompt_size: present */
    size_t size_min, size_max; /* inclusive bounds in bytes */
    bool has_kw, has_dom;      /* keywords:/domains: present (patterns live in rc->kw) */
    /* action */
    enum route_action action; /* route, mask or reject */
    struct pool_entry *pool;  /* pool entries then burst_to entries; owned */
    size_t npool;             /* entries in pool, burst included */
    char *model;              /* route.model override for the whole pool, or NULL */
    char *region;             /* require_region, or NULL */
    char *model_version;      /* require_model_version, or NULL */
    unsigned failover;        /* ROUTE_FT_* */
    int reject_status;        /* reject: HTTP status */
    char *reject_msg;         /* reject: message */
};

struct route_config {
    struct rule *rules;                /* in order; the last one is a default rule */
    size_t nrules;                     /* entries in rules */
    struct kw_set kw;                  /* every rule's keywords and domains */
    struct route_health_params health; /* circuit breaker / EWMA settings */
    bool synthesized;                  /* no routing: section; built from the backends */
};

static void
strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void
route_config_free(struct route_config *rc)
{
    if (rc == NULL)
        return;
    for (size_t i = 0; i < rc->nrules; i++) {
        struct rule *r = &rc->rules[i];
        free(r->name);
        strlist_free(&r->entities);
        strlist_free(&r->models);
        strlist_free(&r->keys);
        strlist_free(&r->teams);
        strlist_free(&r->tags);
        for (size_t j = 0; j < r->npool; j++)
            free(r->pool[j].model);
        free(r->pool);
        free(r->model);
        free(r->region);
        free(r->model_version);
        free(r->reject_msg);
    }
    free(rc->rules);
    kw_cleanup(&rc->kw);
    free(rc);
}

size_t
route_config_nrules(const struct route_config *rc)
{
    return rc->nrules;
}

const char *
route_config_rule_name(const struct route_config *rc, size_t i)
{
    return i < rc->nrules ? rc->rules[i].name : NULL;
}

const struct route_health_params *
route_config_health(const struct route_config *rc)
{
    return &rc->health;
}

static void
health_defaults(struct route_health_params *p)
{
    p->failure_threshold = 5;
    p->error_rate_open = 0.5;
    p->min_samples = 20;
    p->cooldown_ms = 5000;
    p->half_open_probes = 1;
    p->ewma_alpha = 0.2;
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

static bool
valid_rule_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static size_t
count_children(const struct cfg_node *n)
{
    size_t k = 0;
    for (const struct cfg_node *c = n ? n->child : NULL; c; c = c->next)
        k++;
    return k;
}

/* A scalar or a list of non-empty scalars. */
static int
parse_strlist(const struct cfg_node *n, struct strlist *out, struct hg_err *err)
{
    if (n->type == CFG_SCALAR) {
        if (n->value[0] == '\0')
            return cfg_fail(n, err, "'%s' must not be empty", n->key);
        out->v = xcalloc(1, sizeof(char *));
        out->v[0] = xstrdup(n->value);
        out->n = 1;
        return 0;
    }
    if (n->type != CFG_SEQ)
        return cfg_fail(n, err, "'%s' must be a list", n->key ? n->key : "item");
    if (n->child == NULL)
        return cfg_fail(n, err, "'%s' is an empty list (drop the key to match anything)", n->key);
    out->v = xcalloc(count_children(n), sizeof(char *));
    for (const struct cfg_node *c = n->child; c; c = c->next) {
        if (c->type != CFG_SCALAR || c->value[0] == '\0')
            return cfg_fail(c, err, "'%s' entries must be non-empty scalars", n->key);
        out->v[out->n++] = xstrdup(c->value);
    }
    return 0;
}

static const char *const match_keys[] = {"classes",  "sensitive", "entities", "models",
                                         "keys",     "teams",     "tags",     "prompt_size",
                                         "keywords", "domains",   NULL};

static int
parse_match(struct route_config *rc, struct rule *r, int ri, const struct cfg_node *m,
            struct hg_err *err)
{
    const struct cfg_node *v;
    if (m->type != CFG_MAP)
        return cfg_fail(m, err, "'match' must be a mapping of conditions");
    if (m->child == NULL)
        return cfg_fail(m, err, "'match' is empty; omit it to make rule '%s' the default", r->name);
    if (cfg_check_keys(m, match_keys, err) < 0)
        return -1;
    r->sensitive = -1;
    if ((v = cfg_get(m, "classes"))) {
        struct strlist l = {0};
        if (parse_strlist(v, &l, err) < 0) {
            strlist_free(&l);
            return -1;
        }
        r->has_classes = true;
        for (size_t i = 0; i < l.n; i++) {
            unsigned bit = 0;
            if (!strcmp(l.v[i], "any"))
                bit = CLASS_ALL;
            for (size_t c = 0; c < NCLASSES; c++)
                if (!strcmp(l.v[i], class_names[c].name))
                    bit = class_names[c].bit;
            if (bit == 0) {
                strlist_free(&l);
                return cfg_fail(v, err,
                                "unknown class in 'classes' (use pii, phi, financial, "
                                "secret or any)");
            }
            r->classes |= bit;
        }
        strlist_free(&l);
    }
    if ((v = cfg_get(m, "sensitive"))) {
        bool b;
        if (cfg_bool(v, &b, err) < 0)
            return -1;
        r->sensitive = b ? 1 : 0;
    }
    if ((v = cfg_get(m, "entities")) && parse_strlist(v, &r->entities, err) < 0)
        return -1;
    if ((v = cfg_get(m, "models")) && parse_strlist(v, &r->models, err) < 0)
        return -1;
    if ((v = cfg_get(m, "keys")) && parse_strlist(v, &r->keys, err) < 0)
        return -1;
    if ((v = cfg_get(m, "teams")) && parse_strlist(v, &r->teams, err) < 0)
        return -1;
    if ((v = cfg_get(m, "tags")) && parse_strlist(v, &r->tags, err) < 0)
        return -1;
    if ((v = cfg_get(m, "prompt_size"))) {
        static const char *const size_keys[] = {"min", "max", NULL};
        if (v->type != CFG_MAP || v->child == NULL)
            return cfg_fail(v, err, "'prompt_size' must be a mapping {min: SIZE, max: SIZE}");
        if (cfg_check_keys(v, size_keys, err) < 0)
            return -1;
        r->has_size = true;
        r->size_min = 0;
        r->size_max = (size_t)-1;
        const struct cfg_node *s;
        if ((s = cfg_get(v, "min")) && cfg_size(s, &r->size_min, err) < 0)
            return -1;
        if ((s = cfg_get(v, "max")) && cfg_size(s, &r->size_max, err) < 0)
            return -1;
        if (r->size_min > r->size_max)
            return cfg_fail(v, err, "'prompt_size' min is larger than max");
    }
    static const char *const kw_keys[2] = {"keywords", "domains"};
    for (int kind = 0; kind < 2; kind++) {
        if ((v = cfg_get(m, kw_keys[kind])) == NULL)
            continue;
        struct strlist l = {0};
        if (parse_strlist(v, &l, err) < 0) {
            strlist_free(&l);
            return -1;
        }
        for (size_t i = 0; i < l.n; i++) {
            if (kw_add(&rc->kw, l.v[i], strlen(l.v[i]), kind, ri) < 0) {
                int rcode = cfg_fail(v, err, "%s entry '%s' is shorter than %d characters",
                                     kw_keys[kind], l.v[i], KW_MIN_LEN);
                strlist_free(&l);
                return rcode;
            }
        }
        strlist_free(&l);
        if (kind == KW_KIND_KEYWORD)
            r->has_kw = true;
        else
            r->has_dom = true;
    }
    return 0;
}

static int
add_pool_entry(struct rule *r, const struct config *cfg, const struct cfg_node *at,
               const char *name, long weight, const char *model, bool burst, struct hg_err *err)
{
    int b = config_backend_index(cfg, name);
    if (b < 0)
        return cfg_fail(at, err, "rule '%s' names unknown backend '%s'", r->name, name);
    for (size_t i = 0; i < r->npool; i++)
        if (r->pool[i].backend == b)
            return cfg_fail(at, err, "rule '%s' lists backend '%s' twice", r->name, name);
    struct pool_entry *e = &r->pool[r->npool++];
    e->backend = b;
    e->weight = weight > 0 ? (int)weight : cfg->backends[b].weight;
    e->model = model ? xstrdup(model) : NULL;
    e->burst = burst;
    return 0;
}

static const char *const entry_keys[] = {"backend", "weight", "model", NULL};

/* pool / burst_to: [name, {backend: name, weight: N, model: M}] or {name: weight}. */
static int
parse_pool(struct rule *r, const struct config *cfg, const struct cfg_node *n, bool burst,
           struct hg_err *err)
{
    if (n->type == CFG_SCALAR)
        return add_pool_entry(r, cfg, n, n->value, 0, NULL, burst, err);
    if (n->type == CFG_MAP) {
        for (const struct cfg_node *c = n->child; c; c = c->next) {
            long w;
            if (cfg_long(c, 1, 1000, &w, err) < 0)
                return -1;
            if (add_pool_entry(r, cfg, c, c->key, w, NULL, burst, err) < 0)
                return -1;
        }
        return 0;
    }
    if (n->child == NULL && !burst)
        return cfg_fail(n, err, "rule '%s' has an empty pool", r->name);
    for (const struct cfg_node *c = n->child; c; c = c->next) {
        if (c->type == CFG_SCALAR) {
            if (add_pool_entry(r, cfg, c, c->value, 0, NULL, burst, err) < 0)
                return -1;
            continue;
        }
        if (c->type != CFG_MAP)
            return cfg_fail(c, err, "a pool entry is a backend name or {backend, weight, model}");
        if (cfg_check_keys(c, entry_keys, err) < 0)
            return -1;
        const struct cfg_node *bn = cfg_get(c, "backend");
        const struct cfg_node *wn = cfg_get(c, "weight");
        const struct cfg_node *mn = cfg_get(c, "model");
        long w = 0;
        if (bn == NULL)
            return cfg_fail(c, err, "pool entry is missing 'backend'");
        if (cfg_want_scalar(bn, err) < 0)
            return -1;
        if (wn && cfg_long(wn, 1, 1000, &w, err) < 0)
            return -1;
        if (mn && cfg_want_scalar(mn, err) < 0)
            return -1;
        if (add_pool_entry(r, cfg, bn, bn->value, w, mn ? mn->value : NULL, burst, err) < 0)
            return -1;
    }
    return 0;
}

static const char *const route_keys[] = {"pool", "burst_to", "model", NULL};
static const char *const reject_keys[] = {"message", "status", NULL};

static int
parse_action(struct rule *r, const struct config *cfg, const struct cfg_node *rn,
             struct hg_err *err)
{
    const struct cfg_node *route = cfg_get(rn, "route");
    const struct cfg_node *mask = cfg_get(rn, "mask");
    const struct cfg_node *reject = cfg_get(rn, "reject");
    int nact = (route != NULL) + (mask != NULL) + (reject != NULL);
    if (nact != 1)
        return cfg_fail(rn, err, "rule '%s' needs exactly one action: route, mask or reject",
                        r->name);
    if (reject) {
        r->action = ROUTE_ACTION_REJECT;
        r->reject_status = 403;
        if (reject->type == CFG_SCALAR) {
            r->reject_msg = xstrdup(reject->value);
        } else {
            if (cfg_check_keys(reject, reject_keys, err) < 0)
                return -1;
            const struct cfg_node *v = cfg_get(reject, "message");
            if (v == NULL || cfg_want_scalar(v, err) < 0)
                return v ? -1 : cfg_fail(reject, err, "'reject' needs a 'message'");
            r->reject_msg = xstrdup(v->value);
            long st;
            if ((v = cfg_get(reject, "status"))) {
                if (cfg_long(v, 400, 599, &st, err) < 0)
                    return -1;
                r->reject_status = (int)st;
            }
        }
        if (strlen(r->reject_msg) >= ROUTE_MSG_LEN)
            return cfg_fail(reject, err, "reject message is longer than %d bytes",
                            ROUTE_MSG_LEN - 1);
        return 0;
    }
    const struct cfg_node *a = route ? route : mask;
    r->action = route ? ROUTE_ACTION_ROUTE : ROUTE_ACTION_MASK;
    if (a->type != CFG_MAP)
        return cfg_fail(a, err, "'%s' must be a mapping {pool: [...], burst_to: [...]}", a->key);
    if (cfg_check_keys(a, route_keys, err) < 0)
        return -1;
    const struct cfg_node *pool = cfg_get(a, "pool");
    const struct cfg_node *burst = cfg_get(a, "burst_to");
    const struct cfg_node *model = cfg_get(a, "model");
    if (pool == NULL)
        return cfg_fail(a, err, "rule '%s' has no 'pool'", r->name);
    r->pool = xcalloc(count_children(pool) + count_children(burst) + 2, sizeof(*r->pool));
    if (parse_pool(r, cfg, pool, false, err) < 0)
        return -1;
    if (burst && parse_pool(r, cfg, burst, true, err) < 0)
        return -1;
    if (model) {
        if (cfg_want_scalar(model, err) < 0)
            return -1;
        r->model = xstrdup(model->value);
    }
    return 0;
}

static const char *const rule_keys[] = {
    "name",           "description",           "match",    "route", "mask", "reject",
    "require_region", "require_model_version", "failover", NULL};

static int
parse_rule(struct route_config *rc, const struct config *cfg, int ri, const struct cfg_node *rn,
           struct hg_err *err)
{
    struct rule *r = &rc->rules[ri];
    const struct cfg_node *v;
    if (rn->type != CFG_MAP)
        return cfg_fail(rn, err, "each routing rule must be a mapping with name, match, action");
    if (cfg_check_keys(rn, rule_keys, err) < 0)
        return -1;
    r->line = rn->line;
    r->sensitive = -1;
    r->failover = ROUTE_FT_DEFAULT;
    v = cfg_get(rn, "name");
    if (v == NULL)
        return cfg_fail(rn, err, "routing rule %d has no 'name'", ri + 1);
    if (cfg_want_scalar(v, err) < 0)
        return -1;
    if (!valid_rule_name(v->value))
        return cfg_fail(v, err, "rule name '%s' must be 1-63 of [A-Za-z0-9._-]", v->value);
    for (int i = 0; i < ri; i++)
        if (!strcmp(rc->rules[i].name, v->value))
            return cfg_fail(v, err, "duplicate rule name '%s'", v->value);
    r->name = xstrdup(v->value);

    v = cfg_get(rn, "match");
    if (v == NULL)
        r->is_default = true;
    else if (parse_match(rc, r, ri, v, err) < 0)
        return -1;
    if (parse_action(r, cfg, rn, err) < 0)
        return -1;
    if ((v = cfg_get(rn, "require_region"))) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        r->region = xstrdup(v->value);
    }
    if ((v = cfg_get(rn, "require_model_version"))) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        if (strlen(v->value) >= ROUTE_MODEL_LEN)
            return cfg_fail(v, err, "'require_model_version' is too long");
        r->model_version = xstrdup(v->value);
    }
    if ((v = cfg_get(rn, "failover"))) {
        struct strlist l = {0};
        if (parse_strlist(v, &l, err) < 0) {
            strlist_free(&l);
            return -1;
        }
        r->failover = 0;
        for (size_t i = 0; i < l.n; i++) {
            bool found = false;
            for (size_t f = 0; f < sizeof(ft_names) / sizeof(ft_names[0]); f++) {
                if (!strcmp(l.v[i], ft_names[f].name)) {
                    r->failover |= ft_names[f].bits;
                    found = true;
                }
            }
            if (!found) {
                strlist_free(&l);
                return cfg_fail(v, err,
                                "unknown failover condition (use error, timeout, "
                                "http_429, http_500..http_504, http_5xx, circuit, off)");
            }
        }
        strlist_free(&l);
    }
    return 0;
}

/* The invariant as data: may a request with sensitive classes go to backend b under rule r? */
static bool
sensitive_ok(const struct config *cfg, int b, const char *region)
{
    const struct backend_conf *bc = &cfg->backends[b];
    if (bc->kind == BACKEND_SELF_HOSTED)
        return true;
    return bc->trusted && bc->region && region && !strcmp(bc->region, region) && !cfg->airgap;
}

static const struct cfg_node *
pool_entry_node(const struct cfg_node *rn, const struct config *cfg, int backend)
{
    /* find the line that names the backend, for the error message */
    static const char *const acts[] = {"route", "mask"};
    static const char *const lists[] = {"pool", "burst_to"};
    for (int a = 0; a < 2; a++) {
        const struct cfg_node *an = cfg_get(rn, acts[a]);
        for (int l = 0; an && l < 2; l++) {
            const struct cfg_node *ln = cfg_get(an, lists[l]);
            if (ln && ln->type == CFG_SCALAR && !strcmp(ln->value, cfg->backends[backend].name))
                return ln;
            for (const struct cfg_node *c = ln ? ln->child : NULL; c; c = c->next) {
                const struct cfg_node *bn = c->type == CFG_MAP ? cfg_get(c, "backend") : c;
                const char *nm = c->key && ln->type == CFG_MAP ? c->key : bn ? bn->value : NULL;
                if (nm && !strcmp(nm, cfg->backends[backend].name))
                    return c;
            }
        }
    }
    return rn;
}

static void
class_list(unsigned classes, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NCLASSES; i++) {
        if (!(classes & class_names[i].bit))
            continue;
        int w = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", class_names[i].name);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

/* check-config's privacy check. Walks the rules in order, tracking which sensitive classes are
 * certainly caught by an earlier rule that matches on classes alone; a later rule that can still
 * receive some sensitive class must not list a hosted backend outside the invariant. Mask rules
 * are exempt: their hosted candidates only ever receive a re-scanned masked body. */
static int
check_privacy(const struct route_config *rc, const struct config *cfg,
              const struct cfg_node *rules_node, struct hg_err *err)
{
    unsigned caught = 0;
    const struct cfg_node *rn = rules_node->child;
    for (size_t i = 0; i < rc->nrules; i++, rn = rn->next) {
        const struct rule *r = &rc->rules[i];
        unsigned reach = CLASS_ALL & ~caught; /* sensitive classes that can get here */
        unsigned sees = 0;
        if (r->sensitive == 0)
            sees = 0;
        else if (r->has_classes)
            sees = r->classes & reach;
        else
            sees = reach;
        if (sees && r->action == ROUTE_ACTION_ROUTE) {
            for (size_t p = 0; p < r->npool; p++) {
                int b = r->pool[p].backend;
                if (sensitive_ok(cfg, b, r->region))
                    continue;
                char cl[64];
                class_list(sees, cl, sizeof(cl));
                const struct backend_conf *bc = &cfg->backends[b];
                const char *why = !bc->trusted  ? "not trusted"
                                  : !bc->region ? "trusted but has no region"
                                  : !r->region  ? "trusted, but the rule has no require_region"
                                                : "trusted, but in another region";
                return cfg_fail(pool_entry_node(rn, cfg, b), err,
                                "rule '%s' can receive sensitive data (%s) and would send it to "
                                "hosted backend '%s' (%s); catch those classes in an earlier "
                                "rule, add 'sensitive: false' to match, or use 'mask'",
                                r->name, cl, bc->name, why);
            }
        }
        /* a rule that matches on classes (or sensitive: true) alone catches those classes */
        bool only_classes = r->entities.n == 0 && r->models.n == 0 && r->keys.n == 0 &&
                            r->teams.n == 0 && r->tags.n == 0 && !r->has_size && !r->has_kw &&
                            !r->has_dom;
        if (only_classes && r->sensitive == 1 && !r->has_classes)
            caught = CLASS_ALL;
        else if (only_classes && r->has_classes && r->sensitive != 0)
            caught |= r->classes;
    }
    return 0;
}

static const char *const routing_map_keys[] = {"rules", "circuit_breaker", "ewma_alpha", NULL};
static const char *const cb_keys[] = {"failures", "error_rate", "min_samples",
                                      "cooldown", "probes",     NULL};

static int
parse_health(struct route_config *rc, const struct cfg_node *routing, struct hg_err *err)
{
    const struct cfg_node *v = cfg_get(routing, "ewma_alpha");
    if (v && cfg_double(v, 0.01, 1.0, &rc->health.ewma_alpha, err) < 0)
        return -1;
    const struct cfg_node *cb = cfg_get(routing, "circuit_breaker");
    if (cb == NULL)
        return 0;
    if (cfg_check_keys(cb, cb_keys, err) < 0)
        return -1;
    long l;
    if ((v = cfg_get(cb, "failures"))) {
        if (cfg_long(v, 1, 1000, &l, err) < 0)
            return -1;
        rc->health.failure_threshold = (int)l;
    }
    if ((v = cfg_get(cb, "error_rate")) &&
        cfg_double(v, 0.01, 1.0, &rc->health.error_rate_open, err) < 0)
        return -1;
    if ((v = cfg_get(cb, "min_samples"))) {
        if (cfg_long(v, 1, 1000000, &l, err) < 0)
            return -1;
        rc->health.min_samples = (int)l;
    }
    if ((v = cfg_get(cb, "cooldown"))) {
        if (cfg_duration_ms(v, &rc->health.cooldown_ms, err) < 0)
            return -1;
        if (rc->health.cooldown_ms < 1)
            return cfg_fail(v, err, "'cooldown' must be at least 1ms");
    }
    if ((v = cfg_get(cb, "probes"))) {
        if (cfg_long(v, 1, 1000, &l, err) < 0)
            return -1;
        rc->health.half_open_probes = (int)l;
    }
    return 0;
}

/* No routing: section. Rule 0 keeps sensitive requests on self-hosted backends; the default rule
 * uses self-hosted backends with hosted ones as burst_to (hosted only when there is nothing
 * else). The model is resolved per request, so a backend that does not serve it is skipped. */
static void
synthesize(struct route_config *rc, const struct config *cfg)
{
    size_t nb = cfg->nbackends;
    size_t nself = 0;
    for (size_t b = 0; b < nb; b++)
        nself += cfg->backends[b].kind == BACKEND_SELF_HOSTED;
    rc->synthesized = true;
    rc->nrules = 2;
    rc->rules = xcalloc(2, sizeof(*rc->rules));
    struct rule *s = &rc->rules[0];
    struct rule *d = &rc->rules[1];
    s->name = xstrdup("sensitive-local");
    s->sensitive = 1;
    s->failover = ROUTE_FT_DEFAULT;
    s->pool = xcalloc(nb + 1, sizeof(*s->pool));
    d->name = xstrdup("default");
    d->is_default = true;
    d->sensitive = -1;
    d->failover = ROUTE_FT_DEFAULT;
    d->pool = xcalloc(nb + 1, sizeof(*d->pool));
    for (size_t b = 0; b < nb; b++) {
        const struct backend_conf *bc = &cfg->backends[b];
        struct pool_entry e = {(int)b, bc->weight, NULL, false};
        if (bc->kind == BACKEND_SELF_HOSTED)
            s->pool[s->npool++] = e;
        if (bc->kind == BACKEND_HOSTED && nself > 0)
            e.burst = true;
        d->pool[d->npool++] = e;
    }
}

int
route_config_load(const struct cfg_node *routing, const struct config *cfg,
                  struct route_config **out, struct hg_err *err)
{
    struct route_config *rc = xcalloc(1, sizeof(*rc));
    int ret = -1;
    *out = NULL;
    kw_init(&rc->kw);
    health_defaults(&rc->health);

    if (routing == NULL) {
        synthesize(rc, cfg);
        goto done;
    }
    const struct cfg_node *rules = routing;
    if (routing->type == CFG_MAP) {
        if (cfg_check_keys(routing, routing_map_keys, err) < 0)
            goto out;
        if (parse_health(rc, routing, err) < 0)
            goto out;
        rules = cfg_get(routing, "rules");
        if (rules == NULL) {
            synthesize(rc, cfg);
            goto done;
        }
    }
    if (rules->type != CFG_SEQ) {
        cfg_fail(rules, err, "'routing' must be a list of rules (name, match, route|mask|reject)");
        goto out;
    }
    size_t n = count_children(rules);
    if (n == 0) {
        cfg_fail(rules, err, "'routing' has no rules; a default rule (no match) must end it");
        goto out;
    }
    if (n > ROUTE_MAX_RULES) {
        cfg_fail(rules, err, "at most %d routing rules are supported", ROUTE_MAX_RULES);
        goto out;
    }
    rc->rules = xcalloc(n, sizeof(*rc->rules));
    int ri = 0;
    for (const struct cfg_node *c = rules->child; c; c = c->next, ri++) {
        rc->nrules++;
        if (parse_rule(rc, cfg, ri, c, err) < 0)
            goto out;
        if (rc->rules[ri].is_default && c->next) {
            cfg_fail(c, err,
                     "rule '%s' has no 'match', so it catches everything and the rules after it "
                     "can never match; only the last rule may be the default",
                     rc->rules[ri].name);
            goto out;
        }
    }
    if (!rc->rules[n - 1].is_default) {
        const struct cfg_node *last = rules->child;
        while (last->next)
            last = last->next;
        cfg_fail(last, err,
                 "the last routing rule '%s' has a 'match'; end the list with a default rule "
                 "(no match) so every request has a route",
                 rc->rules[n - 1].name);
        goto out;
    }
    if (check_privacy(rc, cfg, rules, err) < 0)
        goto out;
done:
    kw_build(&rc->kw);
    *out = rc;
    rc = NULL;
    ret = 0;
out:
    route_config_free(rc);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * The decision
 * ------------------------------------------------------------------------------------------- */

/* Case-insensitive equality; a trailing '*' in b makes it a prefix ("SECRET_*"). */
static bool
str_ieq(struct str a, const char *b)
{
    size_t n = strlen(b);
    if (n > 0 && b[n - 1] == '*')
        return a.len >= n - 1 && (n == 1 || strncasecmp(a.p, b, n - 1) == 0);
    return a.len == n && (n == 0 || strncasecmp(a.p, b, n) == 0);
}

static bool
str_matches_pattern(struct str a, const char *pat)
{
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '*')
        return a.len >= n - 1 && memcmp(a.p, pat, n - 1) == 0;
    return str_eq_cstr(a, pat);
}

static bool
any_in(const struct strlist *l, const struct str *v, size_t nv, bool ci)
{
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < l->n; j++)
            if (ci ? str_ieq(v[i], l->v[j]) : str_eq_cstr(v[i], l->v[j]))
                return true;
    return false;
}

struct kw_state {
    bool scanned;        /* text scanned already (once per decision, lazily) */
    struct kw_hits hits; /* result */
};

static bool
rule_matches(const struct route_config *rc, const struct rule *r, int ri,
             const struct route_input *in, bool sensitive, struct kw_state *ks)
{
    if (r->is_default)
        return true;
    if (r->sensitive >= 0 && (int)sensitive != r->sensitive)
        return false;
    if (r->has_classes && !(in->classes & r->classes))
        return false;
    if (r->entities.n && !any_in(&r->entities, in->entities, in->nentities, true))
        return false;
    if (r->models.n) {
        bool ok = false;
        for (size_t j = 0; j < r->models.n && !ok; j++)
            ok = str_matches_pattern(in->model, r->models.v[j]);
        if (!ok)
            return false;
    }
    if (r->keys.n && !any_in(&r->keys, &in->key_id, 1, false))
        return false;
    if (r->teams.n && !any_in(&r->teams, &in->team, 1, false))
        return false;
    if (r->tags.n && !any_in(&r->tags, in->tags, in->ntags, false))
        return false;
    if (r->has_size && (in->prompt_bytes < r->size_min || in->prompt_bytes > r->size_max))
        return false;
    if (r->has_kw || r->has_dom) {
        if (!ks->scanned) {
            for (size_t i = 0; i < in->ntext; i++)
                kw_scan(&rc->kw, in->text[i].p, in->text[i].len, &ks->hits);
            ks->scanned = true;
        }
        uint64_t bit = 1ull << ri;
        if (r->has_kw && !(ks->hits.rules[KW_KIND_KEYWORD] & bit))
            return false;
        if (r->has_dom && !(ks->hits.rules[KW_KIND_DOMAIN] & bit))
            return false;
    }
    return true;
}

struct scored {
    int group; /* 0/1 room, 2/3 over SLO but a slot free, 4/5 all slots taken (queue); +1 burst */
    double score; /* weighted load: lower is better */
    unsigned tie; /* seed-rotated index for ties */
    bool full;    /* all slots taken: using it means waiting in its queue */
    struct route_candidate c;
};

static bool
scored_less(const struct scored *a, const struct scored *b)
{
    if (a->group != b->group)
        return a->group < b->group;
    if (a->score != b->score)
        return a->score < b->score;
    return a->tie < b->tie;
}

static void
unavailable_message(struct route_decision *d, const struct config *cfg, const char *req_model)
{
    size_t used;
    char cl[64];
    class_list(d->classes, cl, sizeof(cl));
    int w;
    if (d->sensitive)
        w = snprintf(d->message, sizeof(d->message),
                     "no backend may take this request now: it contains sensitive data (%s), "
                     "which only goes to self-hosted backends (rule '%s', model '%.80s'):",
                     cl, d->rule_name, req_model);
    else
        w = snprintf(d->message, sizeof(d->message),
                     "no backend can take this request now (rule '%s', model '%.80s'):",
                     d->rule_name, req_model);
    used = w > 0 && (size_t)w < sizeof(d->message) ? (size_t)w : sizeof(d->message) - 1;
    for (size_t b = 0; b < d->nbackends; b++) {
        unsigned why = d->why[b];
        if (why & ROUTE_WHY_NOT_IN_POOL)
            continue;
        unsigned first = why & (~why + 1u);
        w = snprintf(d->message + used, sizeof(d->message) - used, " %s=%s", cfg->backends[b].name,
                     route_why_name(first));
        if (w < 0 || (size_t)w >= sizeof(d->message) - used)
            break;
        used += (size_t)w;
    }
}

int
route_decide(const struct route_input *in, const struct route_view *now, struct route_decision *out)
{
    const struct config *cfg = now->cfg;
    const struct route_config *rc = now->rc;
    struct kw_state ks = {0};
    char req_model[MODEL_NAME_MAX];

    out->rule = -1;
    out->rule_name = "";
    out->action = ROUTE_ACTION_ROUTE;
    out->classes = in->classes;
    out->sensitive = (in->classes & CLASS_ALL) != 0;
    out->mask = out->queue = out->burst = false;
    out->region = out->model_version = NULL;
    out->failover = ROUTE_FT_DEFAULT;
    out->status = 0;
    out->err_type = NULL;
    out->message[0] = '\0';
    out->ncand = 0;
    out->nbackends = cfg->nbackends;

    size_t ml = in->model.len < sizeof(req_model) ? in->model.len : 0;
    if (ml)
        memcpy(req_model, in->model.p, ml);
    req_model[ml] = '\0';

    /* 1. first matching rule (the last one always matches) */
    size_t ri = 0;
    for (; ri + 1 < rc->nrules; ri++)
        if (rule_matches(rc, &rc->rules[ri], (int)ri, in, out->sensitive, &ks))
            break;
    const struct rule *r = &rc->rules[ri];
    out->rule = (int)ri;
    out->rule_name = r->name;
    out->action = r->action;
    out->region = r->region;
    out->model_version = r->model_version;
    out->failover = r->failover;
    out->mask = r->action == ROUTE_ACTION_MASK;

    if (r->action == ROUTE_ACTION_REJECT) {
        for (size_t b = 0; b < cfg->nbackends; b++)
            out->why[b] = ROUTE_WHY_NOT_IN_POOL;
        out->status = r->reject_status;
        out->err_type = HG_ERR_POLICY;
        snprintf(out->message, sizeof(out->message), "%s", r->reject_msg);
        out->reason = ROUTE_REASON_REJECT;
        return out->reason;
    }

    /* 2. which upstream model each backend would get for the requested name */
    const char *resolved[ROUTE_MAX_BACKENDS] = {0};
    struct model_target targets[ROUTE_MAX_BACKENDS];
    size_t nt = ml ? config_resolve_model(cfg, req_model, targets, ROUTE_MAX_BACKENDS) : 0;
    for (size_t t = nt; t-- > 0;)
        resolved[targets[t].backend] = targets[t].model;

    /* 3. eligibility of every backend, scored */
    struct scored sc[ROUTE_MAX_BACKENDS];
    size_t nsc = 0;
    bool any_model = false;
    for (size_t b = 0; b < cfg->nbackends; b++) {
        const struct backend_conf *bc = &cfg->backends[b];
        const struct route_backend_view *v = &now->b[b];
        const struct pool_entry *e = NULL;
        unsigned why = 0;
        for (size_t p = 0; p < r->npool; p++)
            if (r->pool[p].backend == (int)b)
                e = &r->pool[p];
        const char *model = e && e->model ? e->model : r->model ? r->model : resolved[b];
        if (e == NULL)
            why |= ROUTE_WHY_NOT_IN_POOL;
        if (model == NULL)
            why |= ROUTE_WHY_NO_MODEL;
        else if (e)
            any_model = true;
        bool hosted = bc->kind == BACKEND_HOSTED;
        bool cand_mask = false;
        if (hosted && cfg->airgap)
            why |= ROUTE_WHY_AIRGAP;
        if (out->sensitive && !sensitive_ok(cfg, (int)b, r->region)) {
            if (r->action == ROUTE_ACTION_MASK)
                cand_mask = true; /* the send path re-checks the masked body's classes */
            else
                why |= ROUTE_WHY_SENSITIVE_HOSTED;
        }
        if (!out->sensitive && hosted && r->action == ROUTE_ACTION_MASK)
            cand_mask = true; /* nothing found to mask, but keep the contract uniform */
        if (r->region && (bc->region == NULL || strcmp(bc->region, r->region) != 0))
            why |= ROUTE_WHY_REGION;
        if (v->circuit == ROUTE_CIRCUIT_OPEN)
            why |= ROUTE_WHY_CIRCUIT_OPEN;
        else if (v->circuit == ROUTE_CIRCUIT_HALF_OPEN && v->probes_free <= 0)
            why |= ROUTE_WHY_HALF_OPEN_BUSY;
        if (v->down)
            why |= ROUTE_WHY_DOWN;
        if (r->model_version && v->model[0] && strcmp(v->model, r->model_version) != 0 &&
            strcmp(v->fingerprint, r->model_version) != 0)
            why |= ROUTE_WHY_MODEL_VERSION;
        bool full = bc->max_concurrency > 0 && v->inflight >= bc->max_concurrency;
        bool slow = bc->ttft_slo_ms > 0 &&
                    (v->ttft_ms > bc->ttft_slo_ms || v->queue_wait_ms > bc->ttft_slo_ms);
        if (full && v->queued >= bc->max_queue)
            why |= ROUTE_WHY_QUEUE_FULL;
        out->why[b] = why;
        if (why)
            continue;
        struct scored *s = &sc[nsc++];
        bool sat = full || slow;
        s->group = (e->burst ? 1 : 0) + (full ? 4 : slow ? 2 : 0);
        double load = (double)(v->inflight + v->queued + 1) / (double)e->weight;
        load *= 1.0 + 4.0 * v->error_rate;
        if (v->ttft_ms > 0)
            load *= 1.0 + v->ttft_ms / 1000.0;
        s->score = load;
        s->tie = (unsigned)((b + in->seed) % cfg->nbackends);
        s->full = full;
        s->c.backend = (int)b;
        s->c.model = model;
        s->c.mask = cand_mask;
        s->c.burst = e->burst;
        s->c.saturated = sat;
    }

    if (nsc == 0 && !any_model && nt == 0 && r->model == NULL) {
        out->status = 404;
        out->err_type = HG_ERR_NOT_FOUND;
        snprintf(out->message, sizeof(out->message),
                 "model '%.120s' is not served by any backend and is not an alias", req_model);
        out->reason = ROUTE_REASON_UNKNOWN_MODEL;
        return out->reason;
    }
    if (nsc == 0) {
        out->status = 503;
        out->err_type = HG_ERR_UNAVAILABLE;
        unavailable_message(out, cfg, req_model);
        out->reason = ROUTE_REASON_UNAVAILABLE;
        return out->reason;
    }

    /* 4. order: room first, burst before waiting, then weighted least load */
    for (size_t i = 1; i < nsc; i++) {
        struct scored tmp = sc[i];
        size_t j = i;
        for (; j > 0 && scored_less(&tmp, &sc[j - 1]); j--)
            sc[j] = sc[j - 1];
        sc[j] = tmp;
    }
    for (size_t i = 0; i < nsc; i++)
        out->cand[i] = sc[i].c;
    out->ncand = nsc;
    out->burst = sc[0].c.burst;
    out->queue = sc[0].full;

    if (out->burst)
        out->reason = ROUTE_REASON_BURST;
    else if (out->queue)
        out->reason = ROUTE_REASON_QUEUE;
    else if (sc[0].c.mask && out->sensitive)
        out->reason = ROUTE_REASON_MASK;
    else if (out->sensitive)
        out->reason = ROUTE_REASON_SENSITIVE;
    else if (r->is_default)
        out->reason = ROUTE_REASON_DEFAULT;
    else
        out->reason = ROUTE_REASON_RULE;
    return out->reason;
}

bool
route_backend_allowed(const struct config *cfg, int backend, unsigned classes_sent,
                      const char *region)
{
    if (cfg == NULL || backend < 0 || (size_t)backend >= cfg->nbackends)
        return false;
    const struct backend_conf *bc = &cfg->backends[backend];
    if (bc->kind == BACKEND_SELF_HOSTED)
        return true;
    if (cfg->airgap)
        return false;
    if ((classes_sent & CLASS_ALL) == 0)
        return true;
    return bc->trusted && bc->region && region && strcmp(bc->region, region) == 0;
}

int
route_next_candidate(const struct route_decision *d, const struct config *cfg, size_t *pos,
                     unsigned masked_classes)
{
    while (*pos < d->ncand) {
        size_t i = (*pos)++;
        const struct route_candidate *c = &d->cand[i];
        bool hosted = c->backend >= 0 && (size_t)c->backend < cfg->nbackends &&
                      cfg->backends[c->backend].kind == BACKEND_HOSTED;
        unsigned sent = c->mask && hosted ? masked_classes : d->classes;
        if (route_backend_allowed(cfg, c->backend, sent, d->region))
            return (int)i;
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Explain and header
 * ------------------------------------------------------------------------------------------- */

size_t
route_header_value(const struct route_decision *d, const struct config *cfg, int backend, char *out,
                   size_t outlen)
{
    const char *bn =
        backend >= 0 && (size_t)backend < cfg->nbackends ? cfg->backends[backend].name : "none";
    int w = snprintf(out, outlen, "%s; backend=%s; reason=%s",
                     d->rule_name[0] ? d->rule_name : "none", bn, route_reason_name(d->reason));
    return w > 0 ? (size_t)w : 0;
}

static int
json_str(struct buf *o, const char *s)
{
    return buf_append_json_str(o, s, strlen(s));
}

int
route_explain_json(const struct route_decision *d, const struct route_view *now, const char *extra,
                   struct buf *o)
{
    const struct config *cfg = now->cfg;
    int rc = 0;
    rc |= buf_appends(o, "{\"rule\":");
    rc |= d->rule >= 0 ? json_str(o, d->rule_name) : buf_appends(o, "null");
    rc |= buf_printf(o, ",\"rule_index\":%d,\"action\":\"%s\",\"reason\":\"%s\",\"classes\":[",
                     d->rule, route_action_name(d->action), route_reason_name(d->reason));
    bool first = true;
    for (size_t i = 0; i < NCLASSES; i++) {
        if (d->classes & class_names[i].bit) {
            rc |= buf_printf(o, "%s\"%s\"", first ? "" : ",", class_names[i].name);
            first = false;
        }
    }
    rc |= buf_printf(o, "],\"sensitive\":%s,\"mask\":%s,\"queue\":%s,\"burst\":%s,\"status\":%d",
                     d->sensitive ? "true" : "false", d->mask ? "true" : "false",
                     d->queue ? "true" : "false", d->burst ? "true" : "false", d->status);
    if (d->message[0]) {
        rc |= buf_appends(o, ",\"message\":");
        rc |= json_str(o, d->message);
    }
    if (d->region) {
        rc |= buf_appends(o, ",\"require_region\":");
        rc |= json_str(o, d->region);
    }
    if (d->model_version) {
        rc |= buf_appends(o, ",\"require_model_version\":");
        rc |= json_str(o, d->model_version);
    }
    rc |= buf_appends(o, ",\"candidates\":[");
    for (size_t i = 0; i < d->ncand; i++) {
        const struct route_candidate *c = &d->cand[i];
        const struct backend_conf *bc = &cfg->backends[c->backend];
        rc |= buf_printf(o, "%s{\"backend\":", i ? "," : "");
        rc |= json_str(o, bc->name);
        rc |= buf_printf(o, ",\"kind\":\"%s\",\"model\":", backend_kind_name(bc->kind));
        rc |= json_str(o, c->model);
        rc |=
            buf_printf(o, ",\"mask\":%s,\"burst\":%s,\"saturated\":%s}", c->mask ? "true" : "false",
                       c->burst ? "true" : "false", c->saturated ? "true" : "false");
    }
    rc |= buf_appends(o, "],\"backends\":[");
    for (size_t b = 0; b < d->nbackends && b < cfg->nbackends; b++) {
        const struct backend_conf *bc = &cfg->backends[b];
        const struct route_backend_view *v = &now->b[b];
        rc |= buf_printf(o, "%s{\"backend\":", b ? "," : "");
        rc |= json_str(o, bc->name);
        rc |= buf_printf(o, ",\"kind\":\"%s\",\"region\":", backend_kind_name(bc->kind));
        rc |= bc->region ? json_str(o, bc->region) : buf_appends(o, "null");
        rc |= buf_printf(o, ",\"trusted\":%s,\"eligible\":%s,\"why\":[",
                         bc->trusted ? "true" : "false", d->why[b] ? "false" : "true");
        first = true;
        for (int i = 0; i < ROUTE_WHY_COUNT; i++) {
            if (d->why[b] & (1u << i)) {
                rc |= buf_printf(o, "%s\"%s\"", first ? "" : ",", why_names[i]);
                first = false;
            }
        }
        rc |=
            buf_printf(o,
                       "],\"inflight\":%d,\"queued\":%d,\"max_concurrency\":%d,\"circuit\":\"%s\","
                       "\"ttft_ms\":%.1f,\"error_rate\":%.3f}",
                       v->inflight, v->queued, bc->max_concurrency, route_circuit_name(v->circuit),
                       v->ttft_ms, v->error_rate);
    }
    rc |= buf_appends(o, "]");
    if (extra && *extra) {
        rc |= buf_appendc(o, ',');
        rc |= buf_appends(o, extra);
    }
    rc |= buf_appendc(o, '}');
    return rc ? -1 : 0;
}
