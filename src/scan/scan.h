/* SPDX-License-Identifier: MIT */
/* The sensitive-data scanner: is this text PII, PHI, financial data or a secret? One compiled
 * Vectorscan database of literal-anchored triggers (secret prefixes, keywords, context words)
 * plus a digit-run pass in C feeding checksum validators. A struct scanner is immutable after
 * scan_new() and shared by all workers; each worker owns one struct scan_scratch. The API room
 * calls scan_request() on every request body before routing; `hybridgate scan` is the CLI. */
#ifndef HG_SCAN_SCAN_H
#define HG_SCAN_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cfgtree.h"
#include "core/error.h"
#include "core/json.h"
#include "core/record.h"

/* Classes use the record bitmask values. */
#define SCAN_CLASS_PII RECORD_CLASS_PII
#define SCAN_CLASS_PHI RECORD_CLASS_PHI
#define SCAN_CLASS_FINANCIAL RECORD_CLASS_FINANCIAL
#define SCAN_CLASS_SECRET RECORD_CLASS_SECRET

/* Built-in entity types. Secrets share SCAN_SECRET and carry their own type_name
 * ("SECRET_AWS_ACCESS_KEY", ...); custom config entities have type >= SCAN_CUSTOM. */
enum scan_type {
    SCAN_CREDIT_CARD,
    SCAN_IBAN_CODE,
    SCAN_US_SSN,
    SCAN_US_ITIN,
    SCAN_US_BANK_NUMBER,
    SCAN_ABA_ROUTING_NUMBER,
    SCAN_EMAIL_ADDRESS,
    SCAN_PHONE_NUMBER,
    SCAN_IP_ADDRESS,
    SCAN_MAC_ADDRESS,
    SCAN_URL,
    SCAN_DATE_TIME,
    SCAN_US_DRIVER_LICENSE,
    SCAN_US_PASSPORT,
    SCAN_UK_NHS,
    SCAN_US_NPI,
    SCAN_MEDICAL_LICENSE,
    SCAN_US_MBI,
    SCAN_MEDICAL_RECORD_NUMBER,
    SCAN_CRYPTO,
    SCAN_PERSON,
    SCAN_LOCATION,
    SCAN_IMAGE,
    SCAN_SECRET,
    SCAN_CUSTOM, /* first custom entity; custom entity i has type SCAN_CUSTOM + i */
};
#define SCAN_NTYPES SCAN_CUSTOM

/* "CREDIT_CARD", ... for built-in types; "SECRET" for SCAN_SECRET; NULL for other values. */
const char *scan_type_name(int type);
/* "pii", "phi", "financial", "secret" for one SCAN_CLASS_* bit, else "unknown". */
const char *scan_class_name(unsigned one_class);

/* Scanner settings (opaque): enabled types, thresholds, deny-lists, custom regex entities with
 * their class, allow-lists. */
struct scan_config;

/* Reads the `scanner:` section (NULL = built-in defaults). Accepted keys:
 *   disable: [TYPE, ...]            types to turn off (built-in names or SECRET_* names)
 *   thresholds: {TYPE: 0..1.01}     per-type score needed for `sensitive` (1.01 = never)
 *   min_score: 0..1                 entities below this score are not reported
 *   deny: [{type: NAME, class: pii|phi|financial|secret, words: [..]}]  exact words, score 1
 *   custom: [{type: NAME, class: .., regex: "..", score: 0..1}]        Vectorscan regexes
 *   allow: [string, ...]            values never reported (exact match of the entity text)
 * Returns 0 with *out owned by the caller, or -1 with err->msg "file:line: reason". */
int scan_config_load(const struct cfg_node *section, struct scan_config **out, struct hg_err *err);
void scan_config_free(struct scan_config *c);

/* Compiled database and tables; immutable, shared by all worker threads. */
struct scanner;

/* Compiles the database (about 0.1 s). c may be NULL for defaults; the scanner copies what it
 * needs, so c may be freed after. NULL with err set when a custom regex does not compile. */
struct scanner *scan_new(const struct scan_config *c, struct hg_err *err);
/* The scanner's compiled pattern database was read from the cache directory (`scanner: cache`)
 * rather than compiled by this process. */
bool scan_db_cached(const struct scanner *s);
void scan_free(struct scanner *s);

/* Per-thread state: Vectorscan scratch and result buffers. Never NULL (aborts on OOM). */
struct scan_scratch;
struct scan_scratch *scan_scratch_new(const struct scanner *s);
void scan_scratch_free(struct scan_scratch *ss);

struct scan_entity {
    int type; /* enum scan_type, or SCAN_CUSTOM + i */
    const char
        *type_name;    /* "CREDIT_CARD", "SECRET_GITHUB_PAT", custom name; static/scanner-owned */
    size_t start, end; /* byte offsets into the scanned string, end exclusive */
    double score;      /* 0..1 from the evidence (checksum, format, context) */
    unsigned cls;      /* SCAN_CLASS_* bits of this entity */
    bool over;         /* score cleared the type's threshold (counts for `sensitive`) */
    const cJSON *node; /* scan_request: the string the offsets refer to (an IMAGE of a malformed
                          part: that part's object); NULL from scan_text */
};

struct scan_result {
    struct scan_entity *entities; /* sorted by (node order, start); owned by the scratch */
    size_t nentities;             /* entries in entities */
    unsigned classes;             /* SCAN_CLASS_* of entities clearing their thresholds */
    bool sensitive;               /* any entity cleared its threshold */
};

/* Scans n bytes of UTF-8 (invalid UTF-8 is tolerated). Returns 0; the result memory lives in
 * the scratch until its next use. Does not block and does not allocate after warm-up except to
 * grow the scratch's result arrays. */
int scan_text(const struct scanner *s, struct scan_scratch *ss, const char *p, size_t n,
              struct scan_result *out);

/* Scans every piece of user-controlled text in an OpenAI request body: messages[].content as a
 * string or an array of parts (text parts; image_url parts and data:image URLs are SCAN_IMAGE
 * entities of class PHI), tool_calls[].function.arguments, tool messages, `prompt` (string or
 * array), embeddings `input` (string or array of strings). Entities carry offsets relative to
 * their own string and `node` pointing at it (valid while body lives). Returns 0. */
int scan_request(const struct scanner *s, struct scan_scratch *ss, const cJSON *body,
                 struct scan_result *out);

/* `hybridgate scan [-c FILE]`: JSON lines on stdin → one result line each on stdout. Returns the
 * process exit status (0 unless stdin/config cannot be read). */
int scan_cli_main(int argc, char **argv);

#endif
