/* SPDX-License-Identifier: MIT */
/* The SQLite back end of the usage store (the only includer of sqlite3.h).
 *
 * Layout (schema version 2). Users and the report see one view with the 24 columns of a request:
 *
 *   requests       VIEW: hg_requests JOIN hg_dims; insertable (INSTEAD OF trigger)
 *   hg_requests    one row per request: id, ts_us, request_id, dim_id and the six numbers
 *   hg_dims        one row per distinct combination of the low-cardinality columns (key, team,
 *                  rule, reason, backend, kind, models, endpoint, classes, flags, status,
 *                  attempts, error), UNIQUE over all of them
 *   hg_spans       one row per written batch: its rowid range in hg_requests and the smallest and
 *                  largest ts_us in it (a block-range index, indexed on max_ts)
 *
 * Why a star instead of one flat table: the writer thread shares the gateway's cores, and SQLite's
 * cost per inserted row is mostly per column (bind, VDBE register, record encoding) plus one
 * b-tree insert per index. The flat 24-column table with a ts_us index cost ~11k instructions a
 * row; 9 columns, no per-row index (hg_spans instead) and no bind calls (the rows are read by an
 * eponymous virtual table over the writer's batch, `INSERT INTO hg_requests SELECT * FROM
 * hg_batch`) cost ~3k. Dimension ids come from an in-memory cache in the writer; a miss costs an
 * INSERT OR IGNORE and a SELECT on the UNIQUE index, once per new combination.
 *
 * Reads go through hg_spans: the spans whose [min_ts, max_ts] meets the window, then the rowid
 * range of each, so a windowed report touches only the batches of its window. Rows come back in
 * write order, which is close to but not exactly time order (a request is written when it ends).
 *
 * A version-1 file (flat `requests` table) is migrated in place at open, in one transaction. */
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "store/store_int.h"

#define SQ_SCHEMA_VERSION "2"

/* The low-cardinality columns, in hg_dims order. */
#define DIM_COLUMNS                                                                                \
    "key_id, team, rule, reason, backend, backend_kind, model, requested_model, endpoint, "        \
    "classes, sensitive, stream, masked, status, attempts, error"
#define DIM_NCOLUMNS 16
#define DIM_MATCH                                                                                  \
    "key_id = ?1 AND team = ?2 AND rule = ?3 AND reason = ?4 AND backend = ?5 AND "                \
    "backend_kind = ?6 AND model = ?7 AND requested_model = ?8 AND endpoint = ?9 AND "             \
    "classes = ?10 AND sensitive = ?11 AND stream = ?12 AND masked = ?13 AND status = ?14 AND "    \
    "attempts = ?15 AND error = ?16"
#define NEW_MATCH                                                                                  \
    "key_id = NEW.key_id AND team = NEW.team AND rule = NEW.rule AND reason = NEW.reason AND "     \
    "backend = NEW.backend AND backend_kind = NEW.backend_kind AND model = NEW.model AND "         \
    "requested_model = NEW.requested_model AND endpoint = NEW.endpoint AND "                       \
    "classes = NEW.classes AND sensitive = NEW.sensitive AND stream = NEW.stream AND "             \
    "masked = NEW.masked AND status = NEW.status AND attempts = NEW.attempts AND "                 \
    "error = NEW.error"
/* The numbers kept per request, in hg_requests order after ts_us, request_id and dim_id. */
#define FACT_COLUMNS "input_tokens, output_tokens, ttft_us, total_us, scan_us, cost_micro_usd"
/* A span that rows inserted through the view may extend: at most this many rows, so an import
 * of a year of history in time order still leaves windows that can be found. */
#define SPAN_MAX_ROWS "4096"

static const char schema_v2[] =
    "CREATE TABLE IF NOT EXISTS hg_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS hg_dims (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  key_id TEXT NOT NULL, team TEXT NOT NULL, rule TEXT NOT NULL, reason TEXT NOT NULL,\n"
    "  backend TEXT NOT NULL, backend_kind TEXT NOT NULL, model TEXT NOT NULL,\n"
    "  requested_model TEXT NOT NULL, endpoint TEXT NOT NULL, classes INTEGER NOT NULL,\n"
    "  sensitive INTEGER NOT NULL, stream INTEGER NOT NULL, masked INTEGER NOT NULL,\n"
    "  status INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL,\n"
    "  UNIQUE (" DIM_COLUMNS "));\n"
    /* No declared types and no NOT NULL on the per-request table: the writer binds integers and
     * one text, and skipping per-column affinity and null checks is ~10% of its cost a row.
     * AUTOINCREMENT (~3%): ids are never reused after rows are deleted, so a new batch's span
     * can never cover the ids of an older span. */
    "CREATE TABLE IF NOT EXISTS hg_requests (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  ts_us /* integer */, request_id /* text */, dim_id /* integer, hg_dims.id */,\n"
    "  input_tokens, output_tokens, ttft_us, total_us, scan_us, cost_micro_usd /* integers */);\n"
    "CREATE TABLE IF NOT EXISTS hg_spans (\n"
    "  first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL,\n"
    "  min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS hg_spans_max_ts ON hg_spans (max_ts);\n"
    "CREATE VIEW IF NOT EXISTS requests AS SELECT r.ts_us AS ts_us, r.request_id AS request_id,\n"
    "  d.key_id AS key_id, d.team AS team, d.rule AS rule, d.reason AS reason,\n"
    "  d.backend AS backend, d.backend_kind AS backend_kind, d.model AS model,\n"
    "  d.requested_model AS requested_model, d.endpoint AS endpoint, d.classes AS classes,\n"
    "  d.sensitive AS sensitive, d.stream AS stream, d.masked AS masked, d.status AS status,\n"
    "  d.attempts AS attempts, r.input_tokens AS input_tokens, r.output_tokens AS output_tokens,\n"
    "  r.ttft_us AS ttft_us, r.total_us AS total_us, r.scan_us AS scan_us,\n"
    "  r.cost_micro_usd AS cost_micro_usd, d.error AS error\n"
    "  FROM hg_requests r JOIN hg_dims d ON d.id = r.dim_id;\n"
    /* Rows inserted by other tools (imports, the demo data) land in the same tables and spans.
     * last_insert_rowid() is the new hg_requests row's id from the second statement on: the
     * INSERT OR IGNORE does not change it when it ignores, and UPDATE never does. */
    "CREATE TRIGGER IF NOT EXISTS requests_insert INSTEAD OF INSERT ON requests BEGIN\n"
    "  INSERT OR IGNORE INTO hg_dims (" DIM_COLUMNS ") VALUES (NEW.key_id, NEW.team, NEW.rule,\n"
    "    NEW.reason, NEW.backend, NEW.backend_kind, NEW.model, NEW.requested_model,\n"
    "    NEW.endpoint, NEW.classes, NEW.sensitive, NEW.stream, NEW.masked, NEW.status,\n"
    "    NEW.attempts, NEW.error);\n"
    "  INSERT INTO hg_requests (ts_us, request_id, dim_id, " FACT_COLUMNS ") VALUES (NEW.ts_us,\n"
    "    NEW.request_id, (SELECT id FROM hg_dims WHERE " NEW_MATCH "), NEW.input_tokens,\n"
    "    NEW.output_tokens, NEW.ttft_us, NEW.total_us, NEW.scan_us, NEW.cost_micro_usd);\n"
    "  UPDATE hg_spans SET last_id = last_insert_rowid(), min_ts = min(min_ts, NEW.ts_us),\n"
    "    max_ts = max(max_ts, NEW.ts_us)\n"
    "    WHERE first_id = (SELECT max(first_id) FROM hg_spans)\n"
    "      AND last_id = last_insert_rowid() - 1 AND last_id - first_id < " SPAN_MAX_ROWS ";\n"
    "  INSERT INTO hg_spans (first_id, last_id, min_ts, max_ts)\n"
    "    SELECT last_insert_rowid(), last_insert_rowid(), NEW.ts_us, NEW.ts_us\n"
    "    WHERE NOT EXISTS (SELECT 1 FROM hg_spans WHERE first_id = (SELECT max(first_id)\n"
    "      FROM hg_spans) AND last_id = last_insert_rowid());\n"
    "END;\n"
    "INSERT OR IGNORE INTO hg_meta (k, v) VALUES ('schema_version', '" SQ_SCHEMA_VERSION "');\n";

/* ---------------------------------------------------------------- dimension ids */

/* The dimension columns of a record, NUL-terminated copies (what the cache keeps). */
struct dim_key {
    char key_id[sizeof(((struct req_record *)0)->key_id)];
    char team[sizeof(((struct req_record *)0)->team)];
    char rule[sizeof(((struct req_record *)0)->rule)];
    char reason[sizeof(((struct req_record *)0)->reason)];
    char backend[sizeof(((struct req_record *)0)->backend)];
    char backend_kind[sizeof(((struct req_record *)0)->backend_kind)];
    char model[sizeof(((struct req_record *)0)->model)];
    char requested_model[sizeof(((struct req_record *)0)->requested_model)];
    char endpoint[sizeof(((struct req_record *)0)->endpoint)];
    char error[sizeof(((struct req_record *)0)->error)];
    uint32_t classes;
    int32_t status;
    int32_t attempts;
    bool sensitive, stream, masked;
};

/* Open addressing, linear probing; DIM_SLOTS is a power of two. When DIM_MAX keys are cached
 * the cache is emptied (a client can mint requested_model names at will, so it must be bounded):
 * ids stay valid in the database, and the next rows just look them up again. */
#define DIM_SLOTS 4096
#define DIM_MAX 3072

struct dim_slot {
    uint64_t hash;       /* 0 = empty */
    int64_t id;          /* hg_dims.id */
    struct dim_key *key; /* owned */
};

struct store_sq {
    char *path;              /* owned */
    sqlite3 *db;             /* writer connection (NOMUTEX: one thread at a time) */
    sqlite3_stmt *begin;     /* BEGIN IMMEDIATE: the dims lookup reads before the first write */
    sqlite3_stmt *commit;    /* COMMIT */
    sqlite3_stmt *rollback;  /* ROLLBACK */
    sqlite3_stmt *ins_facts; /* INSERT INTO hg_requests SELECT ... FROM hg_batch */
    sqlite3_stmt *ins_span;  /* INSERT INTO hg_spans VALUES (?, ?, ?, ?) */
    sqlite3_stmt *ins_dim;   /* INSERT OR IGNORE INTO hg_dims */
    sqlite3_stmt *sel_dim;   /* SELECT id FROM hg_dims WHERE all 16 columns match */
    struct dim_slot *slots;  /* DIM_SLOTS, allocated on first use */
    struct dim_slot *last;   /* the slot of the previous row, or NULL */
    size_t ndims;            /* keys cached */
    /* the batch being written, read by the hg_batch virtual table */
    const struct store_rows *batch;
    const int64_t *batch_dims; /* dim id of each row */
    int64_t *dims;             /* capacity dims_cap */
    size_t dims_cap;
};

static inline uint64_t
hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 32);
}

/* Mixes p[0..n) into h: whole words, then the tail (< 8 bytes) with n in its free top byte, so
 * that field boundaries count. Reads nothing past p + n. */
static inline uint64_t
hash_text(uint64_t h, const char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = hash_mix(h, w);
    }
    uint64_t w = (uint64_t)(n & 0xff) << 56;
    for (unsigned k = 0; i + k < n; k++)
        w |= (uint64_t)(unsigned char)p[i + k] << (8 * k);
    return hash_mix(h, w);
}

/* The dimension texts of a record, in dim_key order, with their lengths. */
#define DIM_TEXTS(X)                                                                               \
    X(0, key_id)                                                                                   \
    X(1, team)                                                                                     \
    X(2, rule)                                                                                     \
    X(3, reason)                                                                                   \
    X(4, backend)                                                                                  \
    X(5, backend_kind)                                                                             \
    X(6, model)                                                                                    \
    X(7, requested_model)                                                                          \
    X(8, endpoint)                                                                                 \
    X(9, error)
#define DIM_NTEXTS 10

/* Hashes r's dimension columns straight from the record (the bytes after each text's NUL are
 * not looked at: they may be left over from a longer value) and fills len. */
static uint64_t
dim_hash(const struct req_record *r, uint8_t len[DIM_NTEXTS])
{
    uint64_t h = 0x9E3779B97F4A7C15ULL;
#define HASH_TEXT(i, f)                                                                            \
    len[i] = (uint8_t)strnlen(r->f, sizeof(r->f) - 1);                                             \
    h = hash_text(h, r->f, len[i]);
    DIM_TEXTS(HASH_TEXT)
#undef HASH_TEXT
    h = hash_mix(h, (uint64_t)r->classes << 32 | (uint32_t)r->status);
    h = hash_mix(h, (uint64_t)(uint32_t)r->attempts << 32 | (uint64_t)r->sensitive << 16 |
                        (uint64_t)r->stream << 8 | (uint64_t)r->masked);
    return h ? h : 1;
}

/* r's dimensions equal k's (k's texts are NUL-padded copies, so comparing up to r's field size
 * covers r's length and terminator). */
static bool
dim_same(const struct dim_key *k, const struct req_record *r)
{
#define SAME_TEXT(i, f)                                                                            \
    if (strncmp(k->f, r->f, sizeof(r->f) - 1))                                                     \
        return false;
    DIM_TEXTS(SAME_TEXT)
#undef SAME_TEXT
    return k->classes == r->classes && k->status == r->status && k->attempts == r->attempts &&
           k->sensitive == r->sensitive && k->stream == r->stream && k->masked == r->masked;
}

/* k = r's dimension columns, zero-padded: what the cache keeps and the lookup binds. */
static void
dim_key_of(struct dim_key *k, const struct req_record *r, const uint8_t len[DIM_NTEXTS])
{
    memset(k, 0, sizeof(*k));
#define COPY_TEXT(i, f) memcpy(k->f, r->f, len[i]);
    DIM_TEXTS(COPY_TEXT)
#undef COPY_TEXT
    k->classes = r->classes;
    k->status = r->status;
    k->attempts = r->attempts;
    k->sensitive = r->sensitive;
    k->stream = r->stream;
    k->masked = r->masked;
}

static void
dim_cache_clear(struct store_sq *q)
{
    if (q->slots == NULL)
        return;
    for (size_t i = 0; i < DIM_SLOTS; i++) {
        free(q->slots[i].key);
        q->slots[i] = (struct dim_slot){0};
    }
    q->ndims = 0;
    q->last = NULL;
}

static int
sq_fail(sqlite3 *db, const char *what, struct hg_err *err)
{
    return hg_err_set(err, 500, HG_ERR_SERVER, NULL, "store: %s: %s", what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

static void
bind_key(sqlite3_stmt *st, const struct dim_key *k)
{
    int i = 1;
#define KEY_BIND(f) sqlite3_bind_text(st, i++, k->f, (int)strlen(k->f), SQLITE_STATIC)
    KEY_BIND(key_id);
    KEY_BIND(team);
    KEY_BIND(rule);
    KEY_BIND(reason);
    KEY_BIND(backend);
    KEY_BIND(backend_kind);
    KEY_BIND(model);
    KEY_BIND(requested_model);
    KEY_BIND(endpoint);
#undef KEY_BIND
    sqlite3_bind_int64(st, i++, k->classes);
    sqlite3_bind_int(st, i++, k->sensitive);
    sqlite3_bind_int(st, i++, k->stream);
    sqlite3_bind_int(st, i++, k->masked);
    sqlite3_bind_int(st, i++, k->status);
    sqlite3_bind_int(st, i++, k->attempts);
    sqlite3_bind_text(st, i, k->error, (int)strlen(k->error), SQLITE_STATIC);
}

/* The id of k in hg_dims, inserting it when new. Inside the writer's transaction. */
static int
dim_lookup_db(struct store_sq *q, const struct dim_key *k, int64_t *id, struct hg_err *err)
{
    bind_key(q->ins_dim, k);
    int rc = sqlite3_step(q->ins_dim);
    sqlite3_reset(q->ins_dim);
    if (rc != SQLITE_DONE)
        return sq_fail(q->db, "insert dimension", err);
    bind_key(q->sel_dim, k);
    rc = sqlite3_step(q->sel_dim);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(q->sel_dim, 0);
    sqlite3_reset(q->sel_dim);
    if (rc != SQLITE_ROW)
        return sq_fail(q->db, "select dimension", err);
    return 0;
}

static int
dim_id(struct store_sq *q, const struct req_record *r, int64_t *id, struct hg_err *err)
{
    /* rows of a batch come in runs (one client, one route): try the previous row's first */
    if (q->last && dim_same(q->last->key, r)) {
        *id = q->last->id;
        return 0;
    }
    uint8_t len[DIM_NTEXTS];
    uint64_t h = dim_hash(r, len);
    if (q->slots == NULL)
        q->slots = xcalloc(DIM_SLOTS, sizeof(*q->slots));
    size_t i = h & (DIM_SLOTS - 1);
    for (; q->slots[i].hash; i = (i + 1) & (DIM_SLOTS - 1)) {
        if (q->slots[i].hash == h && dim_same(q->slots[i].key, r)) {
            *id = q->slots[i].id;
            q->last = &q->slots[i];
            return 0;
        }
    }
    struct dim_key *k = xmalloc(sizeof(*k));
    dim_key_of(k, r, len);
    if (dim_lookup_db(q, k, id, err) < 0) {
        free(k);
        return -1;
    }
    if (q->ndims == DIM_MAX) {
        dim_cache_clear(q);
        for (i = h & (DIM_SLOTS - 1); q->slots[i].hash; i = (i + 1) & (DIM_SLOTS - 1))
            ;
    }
    q->slots[i].hash = h;
    q->slots[i].id = *id;
    q->slots[i].key = k;
    q->last = &q->slots[i];
    q->ndims++;
    return 0;
}

/* ---------------------------------------------------------------- hg_batch virtual table */

/* An eponymous-only virtual table (no CREATE VIRTUAL TABLE, nothing stored in the file) on the
 * writer's connection: its rows are the batch being written, its columns those of hg_requests
 * after id. Reading a column is one sqlite3_result_* call on the record in the ring. */
enum { BC_TS, BC_REQUEST_ID, BC_DIM, BC_IN, BC_OUT, BC_TTFT, BC_TOTAL, BC_SCAN, BC_COST };

struct batch_cursor {
    sqlite3_vtab_cursor base; /* first: SQLite casts */
    size_t i;                 /* current row */
};

struct batch_vtab {
    sqlite3_vtab base;  /* first: SQLite casts */
    struct store_sq *q; /* whose batch it serves (the module's client data) */
};

static int
batch_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
              char **errmsg)
{
    (void)argc;
    (void)argv;
    (void)errmsg;
    int rc =
        sqlite3_declare_vtab(db, "CREATE TABLE x(ts_us, request_id, dim_id, " FACT_COLUMNS ")");
    if (rc != SQLITE_OK)
        return rc;
    struct batch_vtab *vt = sqlite3_malloc(sizeof(*vt));
    if (vt == NULL)
        return SQLITE_NOMEM;
    memset(vt, 0, sizeof(*vt));
    vt->q = aux;
    *out = &vt->base;
    return SQLITE_OK;
}

static int
batch_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

static int
batch_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    (void)vt;
    info->estimatedCost = 1000;
    return SQLITE_OK;
}

static int
batch_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    (void)vt;
    struct batch_cursor *c = sqlite3_malloc(sizeof(*c));
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    *out = &c->base;
    return SQLITE_OK;
}

static int
batch_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int
batch_filter(sqlite3_vtab_cursor *c, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
    (void)idx;
    (void)idxstr;
    (void)argc;
    (void)argv;
    ((struct batch_cursor *)c)->i = 0;
    return SQLITE_OK;
}

static int
batch_next(sqlite3_vtab_cursor *c)
{
    ((struct batch_cursor *)c)->i++;
    return SQLITE_OK;
}

static const struct store_sq *
batch_owner(const sqlite3_vtab_cursor *c)
{
    return ((const struct batch_vtab *)c->pVtab)->q;
}

static int
batch_eof(sqlite3_vtab_cursor *c)
{
    const struct store_sq *q = batch_owner(c);
    return q->batch == NULL || ((struct batch_cursor *)c)->i >= store_rows_count(q->batch);
}

static int
batch_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
    const struct store_sq *q = batch_owner(c);
    size_t i = ((struct batch_cursor *)c)->i;
    const struct req_record *r = store_rows_at(q->batch, i);
    switch (col) {
    case BC_TS:
        sqlite3_result_int64(ctx, r->ts_us);
        break;
    case BC_REQUEST_ID:
        sqlite3_result_text(ctx, r->request_id,
                            (int)strnlen(r->request_id, sizeof(r->request_id) - 1), SQLITE_STATIC);
        break;
    case BC_DIM:
        sqlite3_result_int64(ctx, q->batch_dims[i]);
        break;
    case BC_IN:
        sqlite3_result_int64(ctx, r->input_tokens);
        break;
    case BC_OUT:
        sqlite3_result_int64(ctx, r->output_tokens);
        break;
    case BC_TTFT:
        sqlite3_result_int64(ctx, r->ttft_us);
        break;
    case BC_TOTAL:
        sqlite3_result_int64(ctx, r->total_us);
        break;
    case BC_SCAN:
        sqlite3_result_int64(ctx, r->scan_us);
        break;
    default:
        sqlite3_result_int64(ctx, r->cost_micro_usd);
        break;
    }
    return SQLITE_OK;
}

static int
batch_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((struct batch_cursor *)c)->i;
    return SQLITE_OK;
}

static const sqlite3_module batch_module = {
    .iVersion = 1,
    .xCreate = NULL, /* eponymous-only: exists on this connection, never in the file */
    .xConnect = batch_connect,
    .xBestIndex = batch_best_index,
    .xDisconnect = batch_disconnect,
    .xOpen = batch_open,
    .xClose = batch_close,
    .xFilter = batch_filter,
    .xNext = batch_next,
    .xEof = batch_eof,
    .xColumn = batch_column,
    .xRowid = batch_rowid,
};

/* ---------------------------------------------------------------- open, migrate, close */

static int
step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The type of schema object `name` ("table", "view", ...) into out, "" when there is none. */
static int
object_type(sqlite3 *db, const char *name, char *out, size_t cap, struct hg_err *err)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT type FROM sqlite_master WHERE name = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return sq_fail(db, "read schema", err);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store_field_set(out, cap, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(db, "read schema", err);
}

/* Version 1 kept every column in one `requests` table with an index on ts_us. Its rows go
 * through the new view's trigger, in time order, in the same transaction as the new schema. */
static int
migrate_v1(struct store_sq *q, struct hg_err *err)
{
    const char *sql = "BEGIN IMMEDIATE;"
                      "ALTER TABLE requests RENAME TO hg_requests_v1;"
                      "DROP INDEX IF EXISTS requests_ts;";
    if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(q->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(q->db,
                     "INSERT INTO requests (" STORE_COLUMNS ") SELECT " STORE_COLUMNS
                     " FROM hg_requests_v1 ORDER BY ts_us;"
                     "DROP TABLE hg_requests_v1;"
                     "UPDATE hg_meta SET v = '" SQ_SCHEMA_VERSION "' WHERE k = 'schema_version';",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(q->db, "migrate schema 1 to 2", err);
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(q->db, "migrate schema 1 to 2", err);
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    log_info("store", "%s: migrated the usage table to schema version " SQ_SCHEMA_VERSION, q->path);
    return 0;
}

static int
check_version(sqlite3 *db, const char *path, struct hg_err *err)
{
    sqlite3_stmt *st = NULL;
    char v[16] = "";
    if (sqlite3_prepare_v2(db, "SELECT v FROM hg_meta WHERE k = 'schema_version'", -1, &st, NULL) !=
        SQLITE_OK)
        return sq_fail(db, "read schema version", err);
    if (sqlite3_step(st) == SQLITE_ROW)
        store_field_set(v, sizeof(v), (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (strcmp(v, SQ_SCHEMA_VERSION))
        return hg_err_set(
            err, 500, HG_ERR_SERVER, NULL,
            "store: %s has usage schema version '%s'; this build reads version " SQ_SCHEMA_VERSION,
            path, v);
    return 0;
}

static int
prepare(struct store_sq *q, const char *sql, sqlite3_stmt **st, struct hg_err *err)
{
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return sq_fail(q->db, "prepare", err);
    return 0;
}

struct store_sq *
store_sq_open(const char *path, struct hg_err *err)
{
    struct store_sq *q = xcalloc(1, sizeof(*q));
    char type[16];
    q->path = xstrdup(path);
    /* NOMUTEX: the connection is used by one thread at a time (this one, then the writer), so
     * SQLite's per-call connection mutex would be pure cost. */
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sq_fail(q->db, path, err);
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 5000);
    /* WAL lets the report read while the writer appends; NORMAL syncs at checkpoints only,
     * which loses at most the last transactions on power loss, never corrupts. */
    if (sqlite3_exec(q->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        sq_fail(q->db, path, err);
        goto fail;
    }
    if (object_type(q->db, "requests", type, sizeof(type), err) < 0)
        goto fail;
    if (!strcmp(type, "table")) {
        if (migrate_v1(q, err) < 0)
            goto fail;
    } else if (sqlite3_exec(q->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(q->db, "create schema", err);
        goto fail;
    }
    if (check_version(q->db, path, err) < 0)
        goto fail;
    if (sqlite3_create_module_v2(q->db, "hg_batch", &batch_module, q, NULL) != SQLITE_OK) {
        sq_fail(q->db, "register hg_batch", err);
        goto fail;
    }
    if (prepare(q, "BEGIN IMMEDIATE", &q->begin, err) < 0 ||
        prepare(q, "COMMIT", &q->commit, err) < 0 ||
        prepare(q, "ROLLBACK", &q->rollback, err) < 0 ||
        prepare(q,
                "INSERT INTO hg_requests (ts_us, request_id, dim_id, " FACT_COLUMNS
                ") SELECT ts_us, request_id, dim_id, " FACT_COLUMNS " FROM hg_batch",
                &q->ins_facts, err) < 0 ||
        prepare(q, "INSERT INTO hg_spans (first_id, last_id, min_ts, max_ts) VALUES (?, ?, ?, ?)",
                &q->ins_span, err) < 0 ||
        prepare(q,
                "INSERT OR IGNORE INTO hg_dims (" DIM_COLUMNS
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                &q->ins_dim, err) < 0 ||
        prepare(q, "SELECT id FROM hg_dims WHERE " DIM_MATCH, &q->sel_dim, err) < 0)
        goto fail;
    return q;
fail:
    store_sq_close(q);
    return NULL;
}

void
store_sq_close(struct store_sq *q)
{
    if (q == NULL)
        return;
    sqlite3_finalize(q->begin);
    sqlite3_finalize(q->commit);
    sqlite3_finalize(q->rollback);
    sqlite3_finalize(q->ins_facts);
    sqlite3_finalize(q->ins_span);
    sqlite3_finalize(q->ins_dim);
    sqlite3_finalize(q->sel_dim);
    sqlite3_close(q->db);
    dim_cache_clear(q);
    free(q->slots);
    free(q->dims);
    free(q->path);
    free(q);
}

/* ---------------------------------------------------------------- write */

int
store_sq_write(struct store_sq *q, const struct store_rows *rows, struct hg_err *err)
{
    size_t n = store_rows_count(rows);
    if (n == 0)
        return 0;
    if (n > q->dims_cap) {
        q->dims = xrealloc(q->dims, n * sizeof(*q->dims));
        q->dims_cap = n;
    }
    if (step_reset(q->begin) < 0)
        return sq_fail(q->db, "begin", err);
    int64_t min_ts = INT64_MAX;
    int64_t max_ts = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        const struct req_record *r = store_rows_at(rows, i);
        if (dim_id(q, r, &q->dims[i], err) < 0)
            goto fail;
        min_ts = r->ts_us < min_ts ? r->ts_us : min_ts;
        max_ts = r->ts_us > max_ts ? r->ts_us : max_ts;
    }
    q->batch = rows;
    q->batch_dims = q->dims;
    int rc = step_reset(q->ins_facts);
    q->batch = NULL;
    if (rc < 0 || (size_t)sqlite3_changes64(q->db) != n) {
        sq_fail(q->db, "insert", err);
        goto fail;
    }
    /* One statement holding the write lock: the n rows took the n ids up to the last. */
    int64_t last = sqlite3_last_insert_rowid(q->db);
    sqlite3_bind_int64(q->ins_span, 1, last - (int64_t)n + 1);
    sqlite3_bind_int64(q->ins_span, 2, last);
    sqlite3_bind_int64(q->ins_span, 3, min_ts);
    sqlite3_bind_int64(q->ins_span, 4, max_ts);
    if (step_reset(q->ins_span) < 0) {
        sq_fail(q->db, "insert span", err);
        goto fail;
    }
    if (step_reset(q->commit) < 0) {
        sq_fail(q->db, "commit", err);
        goto fail;
    }
    return 0;
fail:
    step_reset(q->rollback);
    /* dimensions inserted by this transaction are gone with it */
    dim_cache_clear(q);
    return -1;
}

/* ---------------------------------------------------------------- read */

static const char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

#define SET_TEXT(r, f, v) store_field_set((r)->f, sizeof((r)->f), (v))

static int
open_read(const char *path, sqlite3 **db, struct hg_err *err)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        return sq_fail(*db, path, err);
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

int
store_sq_scan(const char *path, int64_t from_us, int64_t to_us, store_row_cb *cb, void *ctx,
              struct hg_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (open_read(path, &db, err) < 0)
        goto out;
    /* CROSS JOIN fixes the loop order: spans by their max_ts index, then each span's rowid
     * range, then the row's dimensions by id. */
    if (sqlite3_prepare_v2(db,
                           "SELECT " STORE_COLUMNS " FROM hg_spans s CROSS JOIN hg_requests r "
                           "CROSS JOIN hg_dims d WHERE s.max_ts >= ?1 AND s.min_ts < ?2 "
                           "AND r.id BETWEEN s.first_id AND s.last_id "
                           "AND r.ts_us >= ?1 AND r.ts_us < ?2 AND d.id = r.dim_id",
                           -1, &st, NULL) != SQLITE_OK) {
        sq_fail(db, "select", err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            sq_fail(db, "select", err);
            goto out;
        }
        struct req_record r;
        memset(&r, 0, sizeof(r));
        int i = 0;
        r.ts_us = sqlite3_column_int64(st, i++);
        SET_TEXT(&r, request_id, col_text(st, i++));
        SET_TEXT(&r, key_id, col_text(st, i++));
        SET_TEXT(&r, team, col_text(st, i++));
        SET_TEXT(&r, rule, col_text(st, i++));
        SET_TEXT(&r, reason, col_text(st, i++));
        SET_TEXT(&r, backend, col_text(st, i++));
        SET_TEXT(&r, backend_kind, col_text(st, i++));
        SET_TEXT(&r, model, col_text(st, i++));
        SET_TEXT(&r, requested_model, col_text(st, i++));
        SET_TEXT(&r, endpoint, col_text(st, i++));
        r.classes = (unsigned)sqlite3_column_int64(st, i++);
        r.sensitive = sqlite3_column_int(st, i++) != 0;
        r.stream = sqlite3_column_int(st, i++) != 0;
        r.masked = sqlite3_column_int(st, i++) != 0;
        r.status = sqlite3_column_int(st, i++);
        r.attempts = sqlite3_column_int(st, i++);
        r.input_tokens = sqlite3_column_int64(st, i++);
        r.output_tokens = sqlite3_column_int64(st, i++);
        r.ttft_us = sqlite3_column_int64(st, i++);
        r.total_us = sqlite3_column_int64(st, i++);
        r.scan_us = sqlite3_column_int64(st, i++);
        r.cost_micro_usd = sqlite3_column_int64(st, i++);
        SET_TEXT(&r, error, col_text(st, i++));
        int stop = cb(ctx, &r);
        if (stop) {
            ret = stop;
            goto out;
        }
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ret;
}

int
store_sq_time_range(const char *path, int64_t *min_us, int64_t *max_us, struct hg_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (open_read(path, &db, err) < 0)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT min(min_ts), max(max_ts) FROM hg_spans", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sq_fail(db, "select", err);
        goto out;
    }
    ret = 0;
    if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *min_us = sqlite3_column_int64(st, 0);
        *max_us = sqlite3_column_int64(st, 1);
        ret = 1;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ret;
}
