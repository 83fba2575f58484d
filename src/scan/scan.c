/* SPDX-License-Identifier: MIT */
/* The scanner's lifecycle and the one Vectorscan wrapper (the only file that includes hs.h):
 * reads the `scanner:` config section, compiles every literal trigger (secret prefixes, context
 * words, '@', "://", custom regexes) into one block-mode database, and runs scan_text() and
 * scan_request(). Candidate validation and scoring live in detect.c. */
#include "scan/scan.h"

#include <ctype.h>
#include <hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "scan/scan_int.h"

static const char *const type_names[SCAN_NTYPES] = {
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "US_ITIN",
    "US_BANK_NUMBER",
    "ABA_ROUTING_NUMBER",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "URL",
    "DATE_TIME",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "UK_NHS",
    "US_NPI",
    "MEDICAL_LICENSE",
    "US_MBI",
    "MEDICAL_RECORD_NUMBER",
    "CRYPTO",
    "PERSON",
    "LOCATION",
    "IMAGE",
    "SECRET",
};

/* Default score a type needs to make the text sensitive. 1.01 = reported, never sensitive:
 * the labelling policy says a URL, a date or a MAC alone does not make text sensitive. */
static const double default_threshold[SCAN_NTYPES] = {
    [SCAN_CREDIT_CARD] = 0.6,
    [SCAN_IBAN_CODE] = 0.6,
    [SCAN_US_SSN] = 0.5,
    [SCAN_US_ITIN] = 0.5,
    [SCAN_US_BANK_NUMBER] = 0.6,
    [SCAN_ABA_ROUTING_NUMBER] = 0.6,
    [SCAN_EMAIL_ADDRESS] = 0.6,
    [SCAN_PHONE_NUMBER] = 0.5,
    [SCAN_IP_ADDRESS] = 0.9,
    [SCAN_MAC_ADDRESS] = 1.01,
    [SCAN_URL] = 1.01,
    [SCAN_DATE_TIME] = 1.01,
    [SCAN_US_DRIVER_LICENSE] = 0.6,
    [SCAN_US_PASSPORT] = 0.6,
    [SCAN_UK_NHS] = 0.6,
    [SCAN_US_NPI] = 0.6,
    [SCAN_MEDICAL_LICENSE] = 0.7,
    [SCAN_US_MBI] = 0.6,
    [SCAN_MEDICAL_RECORD_NUMBER] = 0.6,
    [SCAN_CRYPTO] = 0.6,
    [SCAN_PERSON] = 1.01,
    [SCAN_LOCATION] = 0.8,
    [SCAN_IMAGE] = 0.5,
    [SCAN_SECRET] = 0.7,
};

static const unsigned type_class[SCAN_NTYPES] = {
    [SCAN_CREDIT_CARD] = SCAN_CLASS_FINANCIAL,
    [SCAN_IBAN_CODE] = SCAN_CLASS_FINANCIAL,
    [SCAN_US_SSN] = SCAN_CLASS_PII,
    [SCAN_US_ITIN] = SCAN_CLASS_PII,
    [SCAN_US_BANK_NUMBER] = SCAN_CLASS_FINANCIAL,
    [SCAN_ABA_ROUTING_NUMBER] = SCAN_CLASS_FINANCIAL,
    [SCAN_EMAIL_ADDRESS] = SCAN_CLASS_PII,
    [SCAN_PHONE_NUMBER] = SCAN_CLASS_PII,
    [SCAN_IP_ADDRESS] = SCAN_CLASS_PII,
    [SCAN_MAC_ADDRESS] = SCAN_CLASS_PII,
    [SCAN_URL] = SCAN_CLASS_PII,
    [SCAN_DATE_TIME] = SCAN_CLASS_PII,
    [SCAN_US_DRIVER_LICENSE] = SCAN_CLASS_PII,
    [SCAN_US_PASSPORT] = SCAN_CLASS_PII,
    [SCAN_UK_NHS] = SCAN_CLASS_PHI,
    [SCAN_US_NPI] = SCAN_CLASS_PII,
    [SCAN_MEDICAL_LICENSE] = SCAN_CLASS_PII,
    [SCAN_US_MBI] = SCAN_CLASS_PHI,
    [SCAN_MEDICAL_RECORD_NUMBER] = SCAN_CLASS_PHI,
    [SCAN_CRYPTO] = SCAN_CLASS_FINANCIAL,
    [SCAN_PERSON] = SCAN_CLASS_PII,
    [SCAN_LOCATION] = SCAN_CLASS_PII,
    [SCAN_IMAGE] = SCAN_CLASS_PHI,
    [SCAN_SECRET] = SCAN_CLASS_SECRET,
};

const char *
scan_type_name(int type)
{
    if (type >= 0 && type < SCAN_NTYPES)
        return type_names[type];
    return NULL;
}

const char *
scan_class_name(unsigned one_class)
{
    switch (one_class) {
    case SCAN_CLASS_PII:
        return "pii";
    case SCAN_CLASS_PHI:
        return "phi";
    case SCAN_CLASS_FINANCIAL:
        return "financial";
    case SCAN_CLASS_SECRET:
        return "secret";
    default:
        return "unknown";
    }
}

static int
type_by_name(const char *name)
{
    for (int i = 0; i < SCAN_NTYPES; i++)
        if (!strcmp(type_names[i], name))
            return i;
    return -1;
}

static int
class_by_name(const char *name, unsigned *out)
{
    static const unsigned cls[] = {SCAN_CLASS_PII, SCAN_CLASS_PHI, SCAN_CLASS_FINANCIAL,
                                   SCAN_CLASS_SECRET};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(scan_class_name(cls[i]), name)) {
            *out = cls[i];
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- config */

static void
config_defaults(struct scan_config *c)
{
    memset(c, 0, sizeof(*c));
    memcpy(c->threshold, default_threshold, sizeof(c->threshold));
    c->min_score = 0.4;
    c->person_phi_score = 0.5;
}

static void
config_cleanup(struct scan_config *c)
{
    for (size_t i = 0; i < c->ndisabled_secrets; i++)
        free(c->disabled_secrets[i]);
    free(c->disabled_secrets);
    for (size_t i = 0; i < c->ncustoms; i++) {
        free(c->customs[i].name);
        free(c->customs[i].regex);
        for (size_t k = 0; k < c->customs[i].nwords; k++)
            free(c->customs[i].words[k]);
        free(c->customs[i].words);
    }
    free(c->customs);
    for (size_t i = 0; i < c->nallow; i++)
        free(c->allow[i]);
    free(c->allow);
    free(c->cache_dir);
    memset(c, 0, sizeof(*c));
}

static void
config_copy(struct scan_config *dst, const struct scan_config *src)
{
    *dst = *src;
    dst->disabled_secrets = xcalloc(src->ndisabled_secrets + 1, sizeof(char *));
    for (size_t i = 0; i < src->ndisabled_secrets; i++)
        dst->disabled_secrets[i] = xstrdup(src->disabled_secrets[i]);
    dst->customs = xcalloc(src->ncustoms + 1, sizeof(*dst->customs));
    for (size_t i = 0; i < src->ncustoms; i++) {
        const struct scan_custom *a = &src->customs[i];
        struct scan_custom *b = &dst->customs[i];
        *b = *a;
        b->name = xstrdup(a->name);
        b->regex = a->regex ? xstrdup(a->regex) : NULL;
        b->words = xcalloc(a->nwords + 1, sizeof(char *));
        for (size_t k = 0; k < a->nwords; k++)
            b->words[k] = xstrdup(a->words[k]);
    }
    dst->allow = xcalloc(src->nallow + 1, sizeof(char *));
    for (size_t i = 0; i < src->nallow; i++)
        dst->allow[i] = xstrdup(src->allow[i]);
    dst->cache_dir = src->cache_dir ? xstrdup(src->cache_dir) : NULL;
}

/* Reads a sequence of scalars into a NULL-terminated owned array. */
static int
read_strings(const struct cfg_node *seq, char ***out, size_t *n, struct hg_err *err)
{
    if (seq->type != CFG_SEQ)
        return cfg_fail(seq, err, "expected a list of strings");
    for (const struct cfg_node *e = seq->child; e; e = e->next) {
        if (cfg_want_scalar(e, err) < 0)
            return -1;
        *out = xrealloc(*out, (*n + 2) * sizeof(char *));
        (*out)[(*n)++] = xstrdup(e->value);
        (*out)[*n] = NULL;
    }
    return 0;
}

static int
read_custom(const struct cfg_node *e, bool deny, struct scan_config *c, struct hg_err *err)
{
    static const char *const keys_custom[] = {"type", "class", "regex", "score", "threshold", NULL};
    static const char *const keys_deny[] = {"type", "class", "words", "threshold", NULL};
    if (e->type != CFG_MAP)
        return cfg_fail(e, err, "expected a mapping with type, class and %s",
                        deny ? "words" : "regex");
    if (cfg_check_keys(e, deny ? keys_deny : keys_custom, err) < 0)
        return -1;
    const struct cfg_node *t = cfg_get(e, "type"), *k = cfg_get(e, "class");
    if (t == NULL || cfg_want_scalar(t, err) < 0)
        return t ? -1 : cfg_fail(e, err, "missing 'type'");
    struct scan_custom cu = {0};
    cu.cls = SCAN_CLASS_PII;
    cu.score = 1.0;
    cu.threshold = 0.5;
    if (k != NULL) {
        if (cfg_want_scalar(k, err) < 0)
            return -1;
        if (class_by_name(k->value, &cu.cls) < 0)
            return cfg_fail(k, err, "class must be pii, phi, financial or secret");
    }
    const struct cfg_node *sc = cfg_get(e, "score"), *th = cfg_get(e, "threshold");
    if (sc && cfg_double(sc, 0, 1, &cu.score, err) < 0)
        return -1;
    if (th && cfg_double(th, 0, 1.01, &cu.threshold, err) < 0)
        return -1;
    if (deny) {
        const struct cfg_node *w = cfg_get(e, "words");
        if (w == NULL)
            return cfg_fail(e, err, "missing 'words'");
        if (read_strings(w, &cu.words, &cu.nwords, err) < 0)
            goto fail;
    } else {
        const struct cfg_node *r = cfg_get(e, "regex");
        if (r == NULL || cfg_want_scalar(r, err) < 0)
            return r ? -1 : cfg_fail(e, err, "missing 'regex'");
        hs_database_t *db = NULL;
        hs_compile_error_t *ce = NULL;
        if (hs_compile(r->value, HS_FLAG_SOM_LEFTMOST | HS_FLAG_UTF8, HS_MODE_BLOCK, NULL, &db,
                       &ce) != HS_SUCCESS) {
            int rc = cfg_fail(r, err, "regex does not compile: %s", ce ? ce->message : "?");
            hs_free_compile_error(ce);
            return rc;
        }
        hs_free_database(db);
        cu.regex = xstrdup(r->value);
    }
    cu.name = xstrdup(t->value);
    c->customs = xrealloc(c->customs, (c->ncustoms + 1) * sizeof(*c->customs));
    c->customs[c->ncustoms++] = cu;
    return 0;
fail:
    for (size_t i = 0; i < cu.nwords; i++)
        free(cu.words[i]);
    free(cu.words);
    return -1;
}

int
scan_config_load(const struct cfg_node *sec, struct scan_config **out, struct hg_err *err)
{
    static const char *const keys[] = {"disable", "thresholds", "min_score", "deny",
                                       "custom",  "allow",      "cache",     NULL};
    struct scan_config *c = xcalloc(1, sizeof(*c));
    config_defaults(c);
    *out = NULL;
    if (sec == NULL)
        goto ok;
    if (sec->type != CFG_MAP) {
        cfg_fail(sec, err, "scanner: expected a mapping");
        goto fail;
    }
    if (cfg_check_keys(sec, keys, err) < 0)
        goto fail;
    const struct cfg_node *n = cfg_get(sec, "disable");
    if (n != NULL) {
        if (n->type != CFG_SEQ) {
            cfg_fail(n, err, "disable: expected a list of entity types");
            goto fail;
        }
        for (const struct cfg_node *e = n->child; e; e = e->next) {
            if (cfg_want_scalar(e, err) < 0)
                goto fail;
            int t = type_by_name(e->value);
            if (t >= 0 && t != SCAN_SECRET) {
                c->disabled[t] = true;
            } else if (!strncmp(e->value, "SECRET", 6)) {
                c->disabled_secrets =
                    xrealloc(c->disabled_secrets, (c->ndisabled_secrets + 1) * sizeof(char *));
                c->disabled_secrets[c->ndisabled_secrets++] = xstrdup(e->value);
            } else {
                cfg_fail(e, err, "unknown entity type '%s'", e->value);
                goto fail;
            }
        }
    }
    n = cfg_get(sec, "thresholds");
    if (n != NULL) {
        if (n->type != CFG_MAP) {
            cfg_fail(n, err, "thresholds: expected TYPE: score pairs");
            goto fail;
        }
        for (const struct cfg_node *e = n->child; e; e = e->next) {
            int t = type_by_name(e->key);
            if (t < 0) {
                cfg_fail(e, err, "unknown entity type '%s'", e->key);
                goto fail;
            }
            if (cfg_double(e, 0, 1.01, &c->threshold[t], err) < 0)
                goto fail;
        }
    }
    n = cfg_get(sec, "min_score");
    if (n != NULL && cfg_double(n, 0, 1, &c->min_score, err) < 0)
        goto fail;
    n = cfg_get(sec, "deny");
    if (n != NULL) {
        if (n->type != CFG_SEQ) {
            cfg_fail(n, err, "deny: expected a list");
            goto fail;
        }
        for (const struct cfg_node *e = n->child; e; e = e->next)
            if (read_custom(e, true, c, err) < 0)
                goto fail;
    }
    n = cfg_get(sec, "custom");
    if (n != NULL) {
        if (n->type != CFG_SEQ) {
            cfg_fail(n, err, "custom: expected a list");
            goto fail;
        }
        for (const struct cfg_node *e = n->child; e; e = e->next)
            if (read_custom(e, false, c, err) < 0)
                goto fail;
    }
    n = cfg_get(sec, "allow");
    if (n != NULL && read_strings(n, &c->allow, &c->nallow, err) < 0)
        goto fail;
    n = cfg_get(sec, "cache"); /* a directory, or off */
    if (n != NULL) {
        if (cfg_want_scalar(n, err) < 0)
            goto fail;
        bool off = !strcmp(n->value, "off") || !strcmp(n->value, "false") || !*n->value;
        c->cache_dir = xstrdup(off ? "" : n->value);
    }
ok:
    *out = c;
    return 0;
fail:
    config_cleanup(c);
    free(c);
    return -1;
}

void
scan_config_free(struct scan_config *c)
{
    if (c == NULL)
        return;
    config_cleanup(c);
    free(c);
}

/* ---------------------------------------------------------------- dictionaries */

uint32_t
scan_word_hash(const char *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static void
bloom_add(unsigned char *bloom, const char *blob, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = strlen(blob + i);
        uint32_t h = scan_word_hash(blob + i, n);
        bloom[(h >> 3) & (SCAN_BLOOM_BYTES - 1)] |= (unsigned char)(1u << (h & 7));
        bloom[((h >> 19) ^ (h << 5)) & (SCAN_BLOOM_BYTES - 1)] |=
            (unsigned char)(1u << ((h >> 16) & 7));
        i += n + 1;
    }
}

static void
dict_init(struct scan_dict *d, const char *blob, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += blob[i] == 0;
    size_t cap = 16;
    while (cap < count * 2 + 2)
        cap <<= 1;
    d->blob = blob;
    d->mask = cap - 1;
    d->slots = xcalloc(cap, sizeof(uint32_t));
    d->lens = xcalloc(cap, 1);
    for (size_t i = 0; i < len;) {
        size_t n = strlen(blob + i);
        size_t h = scan_word_hash(blob + i, n) & d->mask;
        while (d->slots[h])
            h = (h + 1) & d->mask;
        d->slots[h] = (uint32_t)(i + 1);
        d->lens[h] = (unsigned char)(n < 255 ? n : 255);
        i += n + 1;
    }
}

bool
scan_dict_has(const struct scan_dict *d, const char *w, size_t n)
{
    if (d->slots == NULL || n == 0)
        return false;
    size_t h = scan_word_hash(w, n) & d->mask;
    while (d->slots[h]) {
        const char *e = d->blob + d->slots[h] - 1;
        if (d->lens[h] == n && !memcmp(e, w, n))
            return true;
        h = (h + 1) & d->mask;
    }
    return false;
}

/* ---------------------------------------------------------------- compile */

struct pat_list {
    char **exprs;
    unsigned *flags;
    unsigned *ids;
    size_t n, cap;
};

static void
pat_add(struct pat_list *pl, char *expr, unsigned flags)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 256;
        pl->exprs = xrealloc(pl->exprs, pl->cap * sizeof(char *));
        pl->flags = xrealloc(pl->flags, pl->cap * sizeof(unsigned));
        pl->ids = xrealloc(pl->ids, pl->cap * sizeof(unsigned));
    }
    pl->exprs[pl->n] = expr;
    pl->flags[pl->n] = flags;
    pl->ids[pl->n] = (unsigned)pl->n;
    pl->n++;
}

/* A literal as a Vectorscan regex: every non-alphanumeric byte escaped as \xHH. */
static char *
lit_regex(const char *lit)
{
    size_t n = strlen(lit);
    char *r = xmalloc(n * 4 + 1), *o = r;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)lit[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            *o++ = (char)c;
        } else {
            snprintf(o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    *o = 0;
    return r;
}

static void
charset_build(unsigned char set[32], const char *spec)
{
    memset(set, 0, 32);
    size_t n = strlen(spec);
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)spec[i], b = a;
        /* "a-z" is a range only between two alphanumerics; "_-+" lists '_', '-' and '+' */
        if (i + 2 < n && spec[i + 1] == '-' && isalnum(a) && isalnum((unsigned char)spec[i + 2])) {
            b = (unsigned char)spec[i + 2];
            i += 2;
        }
        for (unsigned c = a; c <= b; c++)
            set[c >> 3] |= (unsigned char)(1u << (c & 7));
    }
}

static bool
secret_disabled(const struct scan_config *c, const char *name)
{
    for (size_t i = 0; i < c->ndisabled_secrets; i++)
        if (!strcmp(c->disabled_secrets[i], "SECRET") || !strcmp(c->disabled_secrets[i], name))
            return true;
    return false;
}

static const char *const domain_tlds[] = {".com",   ".org",  ".net", ".io",  ".gov", ".edu",
                                          ".co.uk", ".info", ".biz", ".dev", ".app"};

struct scanner *
scan_new(const struct scan_config *c, struct hg_err *err)
{
    struct scanner *s = xcalloc(1, sizeof(*s));
    struct pat_list pl = {0};
    struct scan_config def;
    if (c == NULL) {
        config_defaults(&def);
        c = &def;
    }
    config_copy(&s->cfg, c);
    s->charsets = xcalloc(scan_nsecret_rules, 32);
    s->rule_on = xcalloc(scan_nsecret_rules, sizeof(bool));
    size_t maxpat = scan_nsecret_rules + scan_nwords + 32 + sizeof(domain_tlds) / sizeof(char *);
    for (size_t i = 0; i < s->cfg.ncustoms; i++)
        maxpat += s->cfg.customs[i].regex ? 1 : s->cfg.customs[i].nwords;
    s->trigs = xcalloc(maxpat, sizeof(*s->trigs));

#define ADD(expr, fl, kind_, idx_, len_, wflags)                                                   \
    do {                                                                                           \
        s->trigs[pl.n] =                                                                           \
            (struct scan_trig){(kind_), (unsigned)(idx_), (unsigned)(len_), (wflags)};             \
        pat_add(&pl, (expr), (fl));                                                                \
    } while (0)

    for (size_t i = 0; i < scan_nsecret_rules; i++) {
        const struct scan_secret_rule *r = &scan_secret_rules[i];
        charset_build(s->charsets[i], r->charset);
        s->rule_on[i] = !s->cfg.disabled[SCAN_SECRET] && !secret_disabled(&s->cfg, r->name);
        if (!s->rule_on[i])
            continue;
        ADD(lit_regex(r->prefix), (r->flags & SR_CASELESS) ? HS_FLAG_CASELESS : 0u, TK_SECRET, i,
            strlen(r->prefix), 0u);
    }
    for (size_t i = 0; i < scan_nwords; i++) {
        const struct scan_word *w = &scan_words[i];
        char *lit = lit_regex(w->word);
        if (!(w->flags & SW_MIDWORD) && isalnum((unsigned char)w->word[0])) {
            /* a word-start anchor inside the database: "aba" in "database" and "dea" in
             * "ideas" otherwise cost a callback each (measured: 4 hits/KB on prose → 0.3) */
            char *b = xmalloc(strlen(lit) + 3);
            snprintf(b, strlen(lit) + 3, "\\b%s", lit);
            free(lit);
            lit = b;
        }
        ADD(lit, (w->flags & SW_CASE) ? 0u : HS_FLAG_CASELESS, TK_WORD, i, strlen(w->word),
            w->flags);
    }
    ADD(lit_regex("@"), 0u, TK_EMAIL, 0, 1, 0u);
    ADD(lit_regex("://"), 0u, TK_URL, 0, 3, 0u);
    ADD(lit_regex("www."), HS_FLAG_CASELESS, TK_WWW, 0, 4, 0u);
    ADD(lit_regex("data:image/"), HS_FLAG_CASELESS, TK_DATAIMG, 0, 11, 0u);
    ADD(lit_regex("bc1"), HS_FLAG_CASELESS, TK_BECH32, 0, 3, 0u);
    for (size_t i = 0; i < sizeof(domain_tlds) / sizeof(domain_tlds[0]); i++)
        ADD(lit_regex(domain_tlds[i]), HS_FLAG_CASELESS, TK_DOMAIN, i, strlen(domain_tlds[i]), 0u);
    for (size_t i = 0; i < s->cfg.ncustoms; i++) {
        const struct scan_custom *cu = &s->cfg.customs[i];
        if (cu->regex != NULL) {
            ADD(xstrdup(cu->regex), HS_FLAG_SOM_LEFTMOST | HS_FLAG_UTF8, TK_CUSTOM, i, 0, 0u);
        } else {
            for (size_t k = 0; k < cu->nwords; k++)
                ADD(lit_regex(cu->words[k]), HS_FLAG_CASELESS, TK_DENY, i, strlen(cu->words[k]),
                    0u);
        }
    }
#undef ADD
    s->ntrigs = pl.n;

    if (scan_db_build((const char *const *)pl.exprs, pl.flags, pl.ids, (unsigned)pl.n,
                      s->cfg.cache_dir, &s->db, &s->origin, err) < 0)
        goto fail;
    dict_init(&s->first, scan_first_names, scan_first_names_len);
    dict_init(&s->last, scan_last_names, scan_last_names_len);
    dict_init(&s->places, scan_places, scan_places_len);
    dict_init(&s->stop, scan_stop_words, scan_stop_words_len);
    s->bloom = xcalloc(SCAN_BLOOM_BYTES, 1);
    bloom_add(s->bloom, scan_first_names, scan_first_names_len);
    bloom_add(s->bloom, scan_last_names, scan_last_names_len);
    bloom_add(s->bloom, scan_places, scan_places_len);
    for (size_t i = 0; i < pl.n; i++)
        free(pl.exprs[i]);
    free(pl.exprs);
    free(pl.flags);
    free(pl.ids);
    return s;
fail:
    for (size_t i = 0; i < pl.n; i++)
        free(pl.exprs[i]);
    free(pl.exprs);
    free(pl.flags);
    free(pl.ids);
    scan_free(s);
    return NULL;
}

bool
scan_db_cached(const struct scanner *s)
{
    return s != NULL && s->origin == SCAN_DB_CACHED;
}

void
scan_free(struct scanner *s)
{
    if (s == NULL)
        return;
    hs_free_database(s->db);
    config_cleanup(&s->cfg);
    free(s->trigs);
    free(s->charsets);
    free(s->rule_on);
    free(s->first.slots);
    free(s->first.lens);
    free(s->last.slots);
    free(s->last.lens);
    free(s->places.slots);
    free(s->places.lens);
    free(s->stop.slots);
    free(s->stop.lens);
    free(s->bloom);
    free(s);
}

struct scan_scratch *
scan_scratch_new(const struct scanner *s)
{
    struct scan_scratch *ss = xcalloc(1, sizeof(*ss));
    hs_scratch_t *hs = NULL;
    if (hs_alloc_scratch(s->db, &hs) != HS_SUCCESS) {
        fprintf(stderr, "scan: hs_alloc_scratch failed\n");
        abort(); /* only fails on OOM or a corrupt database */
    }
    ss->hs = hs;
    return ss;
}

void
scan_scratch_free(struct scan_scratch *ss)
{
    if (ss == NULL)
        return;
    hs_free_scratch(ss->hs);
    free(ss->hits);
    free(ss->ctx);
    free(ss->ents);
    free(ss->rents);
    free(ss);
}

/* ---------------------------------------------------------------- scanning */

static int
on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)flags;
    struct scan_scratch *ss = ctx;
    if (ss->nhits == ss->caphits) {
        if (ss->caphits >= SCAN_MAX_HITS) {
            ss->overflow = true;
            return 1; /* stop: the caller fails closed */
        }
        ss->caphits = ss->caphits ? ss->caphits * 2 : 256;
        ss->hits = xrealloc(ss->hits, ss->caphits * sizeof(*ss->hits));
    }
    ss->hits[ss->nhits++] = (struct scan_hit){id, (size_t)from, (size_t)to};
    return 0;
}

void
scan_emit(struct scan_scratch *ss, int type, const char *type_name, size_t start, size_t end,
          double score)
{
    if (ss->nents == ss->capents) {
        ss->capents = ss->capents ? ss->capents * 2 : 64;
        ss->ents = xrealloc(ss->ents, ss->capents * sizeof(*ss->ents));
    }
    ss->ents[ss->nents++] = (struct scan_entity){
        .type = type,
        .type_name = type_name ? type_name : scan_type_name(type),
        .start = start,
        .end = end,
        .score = score > 1.0 ? 1.0 : score,
    };
}

static int
ent_cmp(const void *a, const void *b)
{
    const struct scan_entity *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    return x->type - y->type;
}

static bool
is_secret(const struct scan_entity *e)
{
    return e->type == SCAN_SECRET;
}

/* Same-type (or both-secret, or both name-like) overlaps keep the stronger entity. */
static bool
competes(const struct scan_entity *a, const struct scan_entity *b)
{
    if (a->type == b->type)
        return true;
    if (is_secret(a) && is_secret(b))
        return true;
    bool na = a->type == SCAN_PERSON || a->type == SCAN_LOCATION || a->type == SCAN_DATE_TIME;
    bool nb = b->type == SCAN_PERSON || b->type == SCAN_LOCATION || b->type == SCAN_DATE_TIME;
    if (na && nb)
        return true;
    /* a checksum-validated number beats a context-only number over the same digits */
    bool numa = a->type != SCAN_URL && a->type != SCAN_EMAIL_ADDRESS && !na && !is_secret(a);
    bool numb = b->type != SCAN_URL && b->type != SCAN_EMAIL_ADDRESS && !nb && !is_secret(b);
    return numa && numb;
}

static bool
allowed(const struct scan_config *c, const char *p, const struct scan_entity *e)
{
    size_t n = e->end - e->start;
    for (size_t i = 0; i < c->nallow; i++)
        if (strlen(c->allow[i]) == n && !memcmp(c->allow[i], p + e->start, n))
            return true;
    return false;
}

static double
threshold_of(const struct scanner *s, int type)
{
    if (type >= SCAN_CUSTOM)
        return s->cfg.customs[type - SCAN_CUSTOM].threshold;
    return s->cfg.threshold[type];
}

static unsigned
class_of(const struct scanner *s, int type)
{
    if (type >= SCAN_CUSTOM)
        return s->cfg.customs[type - SCAN_CUSTOM].cls;
    return type_class[type];
}

/* A date in a date-of-birth field: "DOB 2015-06-02", "date of birth: 12 March 1985". */
static bool
is_dob_date(const struct scan_scratch *ss, const struct scan_entity *e)
{
    return e->type == SCAN_DATE_TIME && (ss->ctx_all & CTX_DOBFORM) &&
           (scan_ctx_near(ss, e->start, e->start, 24, 0) & CTX_DOBFORM);
}

/* Drops disabled, allowed, low-score and overlapped entities; sets classes and `sensitive`. */
static void
finalize(const struct scanner *s, struct scan_scratch *ss, const char *p, struct scan_result *out)
{
    size_t k = 0;
    for (size_t i = 0; i < ss->nents; i++) {
        struct scan_entity *e = &ss->ents[i];
        if (e->type < SCAN_CUSTOM && s->cfg.disabled[e->type])
            continue;
        if (e->type == SCAN_SECRET && s->cfg.ndisabled_secrets &&
            secret_disabled(&s->cfg, e->type_name))
            continue;
        if (e->score < s->cfg.min_score || e->end <= e->start || allowed(&s->cfg, p, e))
            continue;
        ss->ents[k++] = *e;
    }
    ss->nents = k;
    if (ss->nents > 1) /* qsort(NULL, 0, ...) is undefined behaviour (UBSan) */
        qsort(ss->ents, ss->nents, sizeof(*ss->ents), ent_cmp);
    /* overlap resolution: O(n * overlap depth), entities are sorted by start */
    for (size_t i = 0; i < ss->nents; i++) {
        struct scan_entity *a = &ss->ents[i];
        if (a->score < 0)
            continue;
        for (size_t j = i + 1; j < ss->nents && ss->ents[j].start < a->end; j++) {
            struct scan_entity *b = &ss->ents[j];
            if (b->score < 0 || !competes(a, b))
                continue;
            bool keep_a = a->score > b->score ||
                          (a->score == b->score && a->end - a->start >= b->end - b->start);
            if (keep_a) {
                b->score = -1;
            } else {
                a->score = -1;
                break;
            }
        }
    }
    bool health = (ss->ctx_all & CTX_HEALTH) || ss->health_code;
    /* A date in a date-of-birth field ("DOB 2015-06-02", "date of birth: 12 March 1985")
     * identifies a person together with their name or their health data (a HIPAA identifier);
     * alone it is a date. "born in 1961" in prose is no field: public figures' biographies. */
    bool dob = false, named = false, person = false;
    for (size_t i = 0; i < ss->nents; i++) {
        const struct scan_entity *e = &ss->ents[i];
        if (e->score < 0)
            continue;
        /* names that survived overlap resolution: not part of an address ("Avenue Anatole
         * France") */
        if (e->type == SCAN_PERSON && e->score >= s->cfg.person_phi_score &&
            !(scan_ctx_near(ss, e->start, e->end, 0, 0) & CTX_PUBLIC)) /* "Hilton Hotel" */
            person = true;
        if (e->type == SCAN_PERSON && e->score >= 0.7)
            named = true;
        if (is_dob_date(ss, e))
            dob = true;
    }
    unsigned classes = 0;
    bool sensitive = ss->overflow;
    k = 0;
    for (size_t i = 0; i < ss->nents; i++) {
        struct scan_entity e = ss->ents[i];
        if (e.score < 0)
            continue;
        e.cls = class_of(s, e.type);
        e.over = e.score >= threshold_of(s, e.type);
        /* An address is sensitive by default (a mailing address is usually someone's: fail
         * closed), but not one the text says is a public place's ("the museum is located at",
         * "our office at", "the hotel on") when no person is named. */
        if (e.type == SCAN_LOCATION && !person && (ss->ctx_all & CTX_PUBLIC) &&
            !(ss->ctx_all & CTX_NAME))
            e.over = false;
        if (dob && (named || health) &&
            ((e.type == SCAN_PERSON && e.score >= 0.7) || is_dob_date(ss, &e)))
            e.over = true;
        /* A name alone is not sensitive (the labelling policy: public figures, colleagues in a
         * draft); a name with health context is PHI. */
        if (health && e.type == SCAN_PERSON && e.score >= s->cfg.person_phi_score)
            e.over = true;
        /* PHI = an identifier of a person together with health context */
        if (health && e.over && (e.cls & SCAN_CLASS_PII))
            e.cls |= SCAN_CLASS_PHI;
        if (e.over) {
            classes |= e.cls;
            sensitive = true;
        }
        e.node = NULL;
        ss->ents[k++] = e;
    }
    ss->nents = k;
    if (ss->overflow)
        classes |= SCAN_CLASS_PII;
    out->entities = ss->ents;
    out->nentities = ss->nents;
    out->classes = classes;
    out->sensitive = sensitive;
}

int
scan_text(const struct scanner *s, struct scan_scratch *ss, const char *p, size_t n,
          struct scan_result *out)
{
    ss->nhits = 0;
    ss->nctx = 0;
    ss->nents = 0;
    ss->overflow = false;
    ss->ctx_all = 0;
    ss->health_code = false;
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return 0;
    /* Vectorscan takes an unsigned length; request bodies are capped far below this, so text
     * over 1 GiB is not scanned at all and fails closed (treated as sensitive). */
    if (n > 0x40000000u) {
        out->sensitive = true;
        out->classes = SCAN_CLASS_PII;
        return 0;
    }
    hs_scan(s->db, p, (unsigned)n, 0, ss->hs, on_match, ss);
    scan_detect(s, ss, p, n);
    finalize(s, ss, p, out);
    return 0;
}

/* ---------------------------------------------------------------- requests */

static void
rents_add(struct scan_scratch *ss, const struct scan_entity *e, const cJSON *node)
{
    if (ss->nrents == ss->caprents) {
        ss->caprents = ss->caprents ? ss->caprents * 2 : 64;
        ss->rents = xrealloc(ss->rents, ss->caprents * sizeof(*ss->rents));
    }
    ss->rents[ss->nrents] = *e;
    ss->rents[ss->nrents].node = node;
    ss->nrents++;
}

static void
req_scan_str(const struct scanner *s, struct scan_scratch *ss, const cJSON *node,
             struct scan_result *acc)
{
    if (!cJSON_IsString(node) || node->valuestring == NULL)
        return;
    struct scan_result r;
    scan_text(s, ss, node->valuestring, strlen(node->valuestring), &r);
    for (size_t i = 0; i < r.nentities; i++)
        rents_add(ss, &r.entities[i], node);
    acc->classes |= r.classes;
    acc->sensitive = acc->sensitive || r.sensitive;
}

static void
req_image(const struct scanner *s, struct scan_scratch *ss, const cJSON *node,
          struct scan_result *acc)
{
    if (s->cfg.disabled[SCAN_IMAGE])
        return;
    struct scan_entity e = {
        .type = SCAN_IMAGE,
        .type_name = "IMAGE",
        .start = 0,
        .end = cJSON_IsString(node) && node->valuestring ? strlen(node->valuestring) : 0,
        .score = 1.0,
        .cls = SCAN_CLASS_PHI,
        .over = 1.0 >= s->cfg.threshold[SCAN_IMAGE],
    };
    rents_add(ss, &e, node);
    if (e.over) {
        acc->classes |= SCAN_CLASS_PHI;
        acc->sensitive = true;
    }
}

/* Keys whose string values are enumerations or identifiers chosen by the client software, never
 * user text; every other string anywhere in the body is scanned (a field the gateway does not know
 * is forwarded as is, so it must be scanned like a message). */
static bool
is_meta_key(const char *k)
{
    static const char *const keys[] = {"model",         "role",
                                       "type",          "id",
                                       "tool_call_id",  "object",
                                       "finish_reason", "detail",
                                       "format",        "encoding_format",
                                       "service_tier",  "reasoning_effort",
                                       "media_type",    NULL};
    for (const char *const *p = keys; *p; p++)
        if (strcmp(*p, k) == 0)
            return true;
    return false;
}

#define REQ_MAX_MEDIA 64 /* media nodes remembered so their base64 is not scanned as text */

struct req_walk {
    const cJSON *media[REQ_MAX_MEDIA]; /* image/audio/file payload nodes already counted */
    size_t nmedia;                     /* entries in media */
};

static void
req_media(const struct scanner *s, struct scan_scratch *ss, const cJSON *member, const char *inner,
          struct scan_result *acc, struct req_walk *w)
{
    const cJSON *d =
        cJSON_IsObject(member) ? cJSON_GetObjectItemCaseSensitive(member, inner) : NULL;
    const cJSON *node = d ? d : member;
    /* a malformed part (no url/data member) still counts: the entity then points at the
     * part's object rather than at a string */
    req_image(s, ss, node, acc);
    if (w->nmedia < REQ_MAX_MEDIA)
        w->media[w->nmedia++] = node;
}

/* Every string of the body, depth first in document order. Images, audio (voice prints are
 * biometric identifiers) and files in content parts count as PHI entities. The depth is bounded
 * by cJSON's own nesting limit, so no string of a parsed body is ever skipped. */
static void
req_walk(const struct scanner *s, struct scan_scratch *ss, const cJSON *v, struct scan_result *acc,
         struct req_walk *w)
{
    if (cJSON_IsString(v)) {
        for (size_t i = 0; i < w->nmedia; i++)
            if (w->media[i] == v)
                return;
        req_scan_str(s, ss, v, acc);
        return;
    }
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return;
    if (cJSON_IsObject(v)) {
        const cJSON *m;
        if ((m = cJSON_GetObjectItemCaseSensitive(v, "image_url")) != NULL)
            req_media(s, ss, m, "url", acc, w);
        if ((m = cJSON_GetObjectItemCaseSensitive(v, "input_audio")) != NULL)
            req_media(s, ss, m, "data", acc, w);
        if ((m = cJSON_GetObjectItemCaseSensitive(v, "file")) != NULL && cJSON_IsObject(m) &&
            cJSON_GetObjectItemCaseSensitive(v, "type") != NULL)
            req_media(s, ss, m, "file_data", acc, w);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        if (cJSON_IsObject(v) && c->string && cJSON_IsString(c) && is_meta_key(c->string))
            continue;
        req_walk(s, ss, c, acc, w);
    }
}

int
scan_request(const struct scanner *s, struct scan_scratch *ss, const cJSON *body,
             struct scan_result *out)
{
    struct req_walk w;
    memset(out, 0, sizeof(*out));
    ss->nrents = 0;
    if (!cJSON_IsObject(body))
        return 0;
    w.nmedia = 0;
    req_walk(s, ss, body, out, &w);
    out->entities = ss->rents;
    out->nentities = ss->nrents;
    return 0;
}
