/* SPDX-License-Identifier: MIT */
/* Private tables shared inside the scan room: the secret-token rules and the context/trigger word
 * lists (rules.c), and the name dictionaries (names.c), read by scan.c when it builds the
 * Vectorscan database. Other rooms include scan/scan.h only. */
#ifndef HG_SCAN_SCAN_INT_H
#define HG_SCAN_SCAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

/* Special parsers for secret rules whose shape a prefix + charset cannot express. */
enum scan_special {
    SP_NONE,
    SP_JWT,      /* eyJ…: three base64url parts, header must decode to JSON */
    SP_PEM,      /* -----BEGIN … PRIVATE KEY----- block */
    SP_PUTTY,    /* PuTTY-User-Key-File-N: … Private-Lines */
    SP_URLPASS,  /* scheme://user:password@host */
    SP_AUTHZ,    /* Authorization: Bearer|Basic|Token value */
    SP_BEARER,   /* "Bearer <token>" anywhere */
    SP_CURLUSER, /* curl -u / --user user:password */
    SP_AZUREAD,  /* Azure AD client secret: 3 chars, a digit, "Q~", 31-34 chars */
};

#define SR_CASELESS 0x1u   /* prefix matches in any case */
#define SR_ANYSTART 0x2u   /* no word boundary needed before the prefix */
#define SR_OPENEND 0x4u    /* body may continue past max (take max, keep going to the end) */
#define SR_NOSPAN_PFX 0x8u /* span starts after the prefix (prefix is only a trigger) */

struct scan_secret_rule {
    const char *name;          /* entity type name, "SECRET_…" */
    const char *prefix;        /* literal trigger (matched as a literal, not a regex) */
    unsigned flags;            /* SR_* */
    const char *charset;       /* body characters as ranges, e.g. "A-Za-z0-9_-" */
    short min, max;            /* body length after the prefix */
    double entropy;            /* minimum Shannon entropy of the body, bits/char */
    enum scan_special special; /* parser for non-prefix shapes */
};

extern const struct scan_secret_rule scan_secret_rules[];
extern const size_t scan_nsecret_rules;

/* Context groups: bit masks tying context words to the entity types they support. */
enum {
    CTX_CARD = 1u << 0,
    CTX_SSN = 1u << 1,
    CTX_ITIN = 1u << 2,
    CTX_PHONE = 1u << 3,
    CTX_BANK = 1u << 4,
    CTX_ABA = 1u << 5,
    CTX_DL = 1u << 6,
    CTX_PASSPORT = 1u << 7,
    CTX_NHS = 1u << 8,
    CTX_NPI = 1u << 9,
    CTX_DEA = 1u << 10,
    CTX_MRN = 1u << 11,
    CTX_MBI = 1u << 12,
    CTX_HEALTH = 1u << 13,
    CTX_NAME = 1u << 14,
    CTX_ADDR = 1u << 15,
    CTX_CRYPTO = 1u << 16,
    CTX_DOB = 1u << 17,
    CTX_IP = 1u << 18,
    CTX_KEYWORD = 1u << 19,  /* secret keyword (password, token, …) for keyword = value */
    CTX_TITLE = 1u << 20,    /* Mr., Dr., … immediately before a name */
    CTX_STREET = 1u << 21,   /* street suffix word (Street, Ave, strasse, …) */
    CTX_PASSWORD = 1u << 22, /* password-like keyword: lower entropy floor, "is" accepted */
    CTX_NOTPHONE = 1u << 23, /* order/tracking/invoice/ISBN: a number here is not a phone */
    CTX_MONTH = 1u << 24,    /* month name: "May 5, 2021", "5th of March" */
    CTX_WEEKDAY = 1u << 25,  /* weekday name: a DATE_TIME on its own */
    CTX_DOBFORM = 1u << 26,  /* "DOB", "date of birth": a form's birth-date field, not prose */
    CTX_PUBLIC = 1u << 27,   /* "museum", "located at": an address is a public place's */
};

struct scan_word {
    const char *word; /* literal, matched caseless at a word start */
    unsigned groups;  /* CTX_* */
    unsigned flags;   /* SW_* */
};
#define SW_CASE 0x1u    /* match case-sensitively */
#define SW_MIDWORD 0x2u /* may start inside a word (e.g. "Hochstrasse") */

extern const struct scan_word scan_words[];
extern const size_t scan_nwords;

/* Name dictionaries: NUL-separated, sorted, capitalised words (generated, see names.c). */
extern const char scan_first_names[];
extern const size_t scan_first_names_len;
extern const char scan_last_names[];
extern const size_t scan_last_names_len;
extern const char scan_places[];
extern const size_t scan_places_len;
extern const char scan_stop_words[];
extern const size_t scan_stop_words_len;

/* ---- compiled scanner and per-thread scratch (scan.c builds them, detect.c fills results) ---- */

/* What a Vectorscan pattern id stands for. */
enum scan_trig_kind {
    TK_SECRET,  /* idx = secret rule */
    TK_WORD,    /* idx = scan_words entry */
    TK_EMAIL,   /* '@' */
    TK_URL,     /* "://" */
    TK_WWW,     /* "www." */
    TK_DOMAIN,  /* ".com" and friends: schemeless host */
    TK_DATAIMG, /* "data:image/" */
    TK_BECH32,  /* "bc1" */
    TK_CUSTOM,  /* idx = custom entity (regex, start of match reported) */
    TK_DENY,    /* idx = custom entity (deny word) */
};

struct scan_trig {
    unsigned char kind; /* enum scan_trig_kind */
    unsigned idx;       /* index into the kind's table */
    unsigned len;       /* literal length (start = end - len) */
    unsigned flags;     /* SW_* for words */
};

struct scan_custom {
    char *name;       /* entity type name; owned */
    unsigned cls;     /* SCAN_CLASS_* */
    double score;     /* score of a match */
    double threshold; /* score needed for `sensitive` */
    char *regex;      /* Vectorscan regex, or NULL for a deny list; owned */
    char **words;     /* deny words; owned */
    size_t nwords;    /* entries in words */
};

struct scan_config {
    bool disabled[SCAN_NTYPES];    /* built-in types turned off */
    double threshold[SCAN_NTYPES]; /* per-type score needed for `sensitive` */
    double min_score;              /* entities below are not reported */
    double person_phi_score;       /* PERSON score that, with health context, is PHI */
    char **disabled_secrets;       /* SECRET_* names turned off ("SECRET" = all); owned */
    size_t ndisabled_secrets;      /* entries */
    struct scan_custom *customs;   /* custom regex and deny-list entities; owned */
    size_t ncustoms;               /* entries */
    char **allow;                  /* exact values never reported; owned */
    size_t nallow;                 /* entries */
    char *cache_dir;               /* compiled-database cache: NULL = default dir, "" = off */
};

/* Where scan_new's Vectorscan database came from (dbcache.c). */
enum scan_db_origin { SCAN_DB_COMPILED, SCAN_DB_CACHED };

/* A database for the n patterns: deserialized from cache_dir (NULL = the default directory,
 * "" = no cache) when a file for exactly these patterns, this library and this CPU is there,
 * else compiled and, best effort, stored there. 0 with *out (an hs_database_t), or -1 with
 * err->msg when a pattern does not compile. */
int scan_db_build(const char *const *exprs, const unsigned *flags, const unsigned *ids, unsigned n,
                  const char *cache_dir, void **out, enum scan_db_origin *origin,
                  struct hg_err *err);

/* Open-addressing hash set over one NUL-separated word blob. */
struct scan_dict {
    const char *blob;    /* words, NUL-separated */
    uint32_t *slots;     /* offset + 1 into blob, 0 = empty; owned */
    unsigned char *lens; /* word length per slot (words are < 255 bytes); owned */
    size_t mask;         /* slots - 1 (power of two) */
};

struct scanner {
    struct scan_config cfg;                     /* deep copy of the settings */
    void *db;                                   /* hs_database_t */
    struct scan_trig *trigs;                    /* by pattern id; owned */
    size_t ntrigs;                              /* entries */
    unsigned char (*charsets)[32];              /* body charset bitmap per secret rule; owned */
    bool *rule_on;                              /* per secret rule: enabled by config; owned */
    struct scan_dict first, last, places, stop; /* name dictionaries */
    unsigned char *bloom;       /* SCAN_BLOOM_BYTES: 2-probe filter over first/last/places */
    enum scan_db_origin origin; /* compiled here or read from the cache */
};
#define SCAN_BLOOM_BYTES (1u << 16)

struct scan_hit {
    unsigned id;     /* pattern id */
    size_t from, to; /* match; from is exact only for custom regexes */
};

struct scan_ctxhit {
    size_t start, end; /* the context word */
    unsigned groups;   /* CTX_* */
    unsigned flags;    /* SW_* of the word */
};

#define SCAN_MAX_HITS (1u << 20) /* a hostile input cannot grow the scratch past this */

struct scan_scratch {
    void *hs;              /* hs_scratch_t */
    struct scan_hit *hits; /* raw matches of one scan */
    size_t nhits, caphits;
    struct scan_ctxhit *ctx; /* context words, in end order */
    size_t nctx, capctx;
    struct scan_entity *ents; /* entities of the last scan_text */
    size_t nents, capents;
    struct scan_entity *rents; /* entities of the last scan_request */
    size_t nrents, caprents;
    bool overflow;    /* hit cap reached: result fails closed */
    unsigned ctx_all; /* union of context groups seen */
    bool health_code; /* an NDC code was seen (health context) */
};

/* detect.c: turns the collected hits into entities (appends to ss->ents). */
void scan_detect(const struct scanner *s, struct scan_scratch *ss, const char *p, size_t n);
/* Appends one entity; type_name NULL = scan_type_name(type). */
void scan_emit(struct scan_scratch *ss, int type, const char *type_name, size_t start, size_t end,
               double score);
/* FNV-1a over n bytes, shared by the dictionaries and the bloom filter. */
uint32_t scan_word_hash(const char *w, size_t n);
/* Dictionary lookup of n bytes. */
bool scan_dict_has(const struct scan_dict *d, const char *w, size_t n);
/* Context groups present within [start - before, end + after). */
unsigned scan_ctx_near(const struct scan_scratch *ss, size_t start, size_t end, size_t before,
                       size_t after);

#endif
