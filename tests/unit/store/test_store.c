/* SPDX-License-Identifier: MIT */
/* Tests of src/store/store.c: round trip through SQLite, batching knobs, config errors, and a load
 * test asserting that no row is dropped at normal load. The store_pg suite runs the same round
 * trip against PostgreSQL when HG_TEST_PG_URL is set (tests/e2e/62_store_postgres.py sets it). */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"
#include "core/cfgtree.h"

static void
tmp_path(char *out, size_t n, const char *tag)
{
    snprintf(out, n, "/tmp/hg_test_store_%s_%d.db", tag, (int)getpid());
    unlink(out);
    char wal[600];
    snprintf(wal, sizeof(wal), "%s-wal", out);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", out);
    unlink(wal);
}

static void
make_record(struct req_record *r, int i)
{
    memset(r, 0, sizeof(*r));
    r->ts_us = 1700000000000000LL + (int64_t)i * 1000;
    snprintf(r->request_id, sizeof(r->request_id), "req-%d", i);
    snprintf(r->team, sizeof(r->team), "team\t%d", i % 3); /* a tab must survive COPY */
    snprintf(r->rule, sizeof(r->rule), "rule-%d", i % 2);
    snprintf(r->backend, sizeof(r->backend), "local");
    snprintf(r->backend_kind, sizeof(r->backend_kind), "self_hosted");
    snprintf(r->model, sizeof(r->model), "m\\odel");
    r->classes = RECORD_CLASS_PII;
    r->stream = i % 2;
    r->status = 200;
    r->attempts = 1;
    r->input_tokens = 100 + i;
    r->output_tokens = 7;
    r->cost_micro_usd = 1234567890123LL;
}

/* Puts the records make_record() gives numbers from..to-1. */
static void
put_range(struct store *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        struct req_record r;
        make_record(&r, i);
        store_put(s, &r);
    }
}

struct sum {
    int rows;
    int64_t in;
    int64_t last_ts;
    int ordered;
    int first_ok;
};

static int
sum_cb(void *ctx, const struct req_record *r)
{
    struct sum *s = ctx;
    if (s->rows == 0)
        s->first_ok = !strcmp(r->request_id, "req-0") && !strcmp(r->team, "team\t0") &&
                      !strcmp(r->model, "m\\odel") && r->classes == RECORD_CLASS_PII &&
                      r->cost_micro_usd == 1234567890123LL && r->status == 200 && !r->stream;
    if (r->ts_us < s->last_ts)
        s->ordered = 0;
    s->last_ts = r->ts_us;
    s->rows++;
    s->in += r->input_tokens;
    return 0;
}

static int
open_from_yaml(const char *yaml, struct store **out, struct hg_err *e)
{
    struct cfg_doc d;
    if (cfg_doc_load_str(&d, "t.yaml", yaml, strlen(yaml), e) < 0)
        return -1;
    *out = store_open(cfg_get(d.root, "store"), e);
    cfg_doc_cleanup(&d);
    return *out ? 0 : -1;
}

/* A store file under /tmp named by tag, and the YAML that opens it with extra options. */
struct tmp_store {
    char path[256];
    char yaml[512];
};

static int
tmp_store_open(struct tmp_store *t, const char *tag, const char *opts, struct store **out,
               struct hg_err *e)
{
    tmp_path(t->path, sizeof(t->path), tag);
    snprintf(t->yaml, sizeof(t->yaml), "store: {path: %s%s%s}\n", t->path, *opts ? ", " : "", opts);
    return open_from_yaml(t->yaml, out, e);
}

static void
round_trip(int *failed_, const char *yaml, int n)
{
    struct store *s = NULL;
    struct hg_err e = {0};
    if (open_from_yaml(yaml, &s, &e) < 0)
        TEST_FAIL_("open: %s", e.msg);
    put_range(s, 0, n);
    store_flush(s);
    uint64_t w, d, f;
    store_stats(s, &w, &d, &f);
    ASSERT_EQ(d, 0);
    ASSERT_EQ(f, 0);
    ASSERT_EQ(w, n);
    struct sum sum = {.ordered = 1};
    int64_t from = 1700000000000000LL;
    ASSERT_EQ(store_scan(s, from, from + (int64_t)n * 1000, sum_cb, &sum, &e), 0);
    ASSERT_EQ(sum.rows, n);
    ASSERT_TRUE(sum.ordered);
    ASSERT_TRUE(sum.first_ok);
    ASSERT_EQ(sum.in, (int64_t)n * 100 + (int64_t)n * (n - 1) / 2);
    /* a half-open window */
    memset(&sum, 0, sizeof(sum));
    ASSERT_EQ(store_scan(s, from + 1000, from + 3000, sum_cb, &sum, &e), 0);
    ASSERT_EQ(sum.rows, 2);
    store_close(s);
}

TEST(store, sqlite_round_trip)
{
    char path[256];
    char yaml[512];
    tmp_path(path, sizeof(path), "rt");
    snprintf(yaml, sizeof(yaml), "store: {path: %s, batch: 37, flush_interval: 5ms}\n", path);
    round_trip(failed_, yaml, 100);
    unlink(path);
}

TEST(store, close_flushes_queue)
{
    struct tmp_store t;
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(tmp_store_open(&t, "close", "", &s, &e), 0);
    put_range(s, 0, 1000);
    store_close(s);
    ASSERT_EQ(open_from_yaml(t.yaml, &s, &e), 0);
    struct sum sum = {.ordered = 1};
    ASSERT_EQ(store_scan(s, 0, INT64_MAX, sum_cb, &sum, &e), 0);
    ASSERT_EQ(sum.rows, 1000);
    store_close(s);
    unlink(t.path);
}

TEST(store, config_errors_have_lines)
{
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(open_from_yaml("a: 1\nstore:\n  path: x.db\n  bogus: 1\n", &s, &e), -1);
    ASSERT_TRUE(strstr(e.msg, "t.yaml:4:") != NULL);
    ASSERT_EQ(open_from_yaml("store:\n  url: mysql://x\n", &s, &e), -1);
    ASSERT_TRUE(strstr(e.msg, "t.yaml:2:") != NULL);
    ASSERT_EQ(open_from_yaml("store:\n  queue: 1\n", &s, &e), -1);
    ASSERT_TRUE(strstr(e.msg, "queue") != NULL);
    ASSERT_EQ(open_from_yaml("store: {path: /nonexistent-dir/x.db}\n", &s, &e), -1);
    ASSERT_TRUE(strstr(e.msg, "store") != NULL);
}

TEST(store, full_queue_drops_and_counts)
{
    char path[256];
    char yaml[512];
    tmp_path(path, sizeof(path), "full");
    /* a writer that lingers 10 s on a 16-row queue: the 17th row has nowhere to go */
    snprintf(yaml, sizeof(yaml), "store: {path: %s, queue: 16, batch: 1000, flush_interval: 10s}\n",
             path);
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(open_from_yaml(yaml, &s, &e), 0);
    put_range(s, 0, 40);
    uint64_t w, d, f;
    store_stats(s, &w, &d, &f);
    ASSERT_TRUE(d >= 24);
    store_close(s);
    unlink(path);
}

/* Load: 8 threads put 5000 rows each in bursts of 10 every 2 ms, about 40k rows/s, which is
 * far above what one gateway proxies to LLMs (thousands of requests a second); the default queue
 * and batch must absorb it with zero drops. (Flat-out puts from 8 threads outrun any disk; that is
 * what `queue` and the dropped counter are for, see full_queue_drops_and_counts.) */
struct load_arg {
    struct store *s;
    int base;
};

static void *
load_thread(void *p)
{
    struct load_arg *a = p;
    for (int i = 0; i < 5000; i++) {
        struct req_record r;
        make_record(&r, a->base + i);
        store_put(a->s, &r);
        if (i % 10 == 9)
            usleep(2000);
    }
    return NULL;
}

TEST(store, load_drops_nothing)
{
    struct tmp_store t;
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(tmp_store_open(&t, "load", "", &s, &e), 0);
    pthread_t th[8];
    struct load_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i].s = s;
        a[i].base = i * 5000;
        pthread_create(&th[i], NULL, load_thread, &a[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    store_flush(s);
    uint64_t w, d, f;
    store_stats(s, &w, &d, &f);
    ASSERT_EQ(d, 0);
    ASSERT_EQ(f, 0);
    ASSERT_EQ(w, 40000);
    store_close(s);
    unlink(t.path);
}

TEST(store_pg, round_trip)
{
    const char *url = getenv("HG_TEST_PG_URL");
    if (url == NULL) {
        fprintf(stderr, "  store_pg.round_trip: HG_TEST_PG_URL unset, skipped\n");
        return;
    }
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "store: {url: '%s', batch: 64, flush_interval: 5ms}\n", url);
    round_trip(failed_, yaml, 1000);
}

TEST(store, off_accepts_and_ignores)
{
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(open_from_yaml("store: off\n", &s, &e), 0);
    ASSERT_STR(store_kind_name(s), "off");
    struct req_record r;
    make_record(&r, 1);
    store_put(s, &r);
    store_flush(s);
    uint64_t w, d, f;
    store_stats(s, &w, &d, &f);
    ASSERT_EQ(w + d + f, 0);
    struct sum sum = {0};
    ASSERT_EQ(store_scan(s, 0, INT64_MAX, sum_cb, &sum, &e), -1);
    store_close(s);
}

TEST(store_pg, unreachable_database_never_blocks)
{
    /* nothing listens on port 1: open succeeds (the gateway must serve), writes fail and count */
    struct store *s = NULL;
    struct hg_err e = {0};
    /* the short form: `store: postgresql://...` */
    ASSERT_EQ(open_from_yaml("store: 'postgresql://hg@127.0.0.1:1/hg?connect_timeout=2'\n", &s, &e),
              0);
    ASSERT_STR(store_kind_name(s), "postgresql");
    put_range(s, 0, 100);
    store_flush(s);
    uint64_t w, d, f;
    store_stats(s, &w, &d, &f);
    ASSERT_EQ(w, 0);
    ASSERT_EQ(f + d, 100);
    store_close(s);
    ASSERT_EQ(open_from_yaml("store: {url: 'postgresql://hg@127.0.0.1:1/hg?bogus=1'}\n", &s, &e),
              -1);
    ASSERT_TRUE(strstr(e.msg, "bad postgresql URL") != NULL);
}

/* ------------------------------------------------------------------ SQLite layout (schema 2) */

#include <sqlite3.h>

static int
sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t
sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

struct by_id {
    int rows;
    int bad;
};

/* Each row must carry the dimensions make_varied() gave its number. */
static int
check_varied(void *ctx, const struct req_record *r)
{
    struct by_id *b = ctx;
    int i = atoi(r->request_id + 4);
    char want[32];
    snprintf(want, sizeof(want), "model-%d", i % 5000);
    if (strcmp(r->requested_model, want) || r->status != 200 + i % 7 || r->input_tokens != i ||
        strcmp(r->team, i % 2 ? "team\t1" : "team\t0") || r->attempts != 1)
        b->bad++;
    b->rows++;
    return 0;
}

static void
make_varied(struct req_record *r, int i)
{
    make_record(r, i);
    snprintf(r->team, sizeof(r->team), "team\t%d", i % 2);
    snprintf(r->requested_model, sizeof(r->requested_model), "model-%d", i % 5000);
    /* bytes after the NUL must not matter: leave garbage there */
    memset(r->requested_model + strlen(r->requested_model) + 1, 'x', 8);
    r->status = 200 + i % 7;
    r->input_tokens = i;
}

/* More distinct dimension combinations than the writer caches (3072), out of time order: every
 * row comes back with its own dimensions, the time range spans them all. */
TEST(store, many_dimensions_round_trip)
{
    struct tmp_store t;
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(tmp_store_open(&t, "dims", "batch: 1000, queue: 20000", &s, &e), 0);
    const int n = 12000;
    for (int k = 0; k < n; k++) {
        struct req_record r;
        int i = (k * 7919) % n; /* a permutation: ts_us out of order */
        make_varied(&r, i);
        store_put(s, &r);
    }
    store_flush(s);
    uint64_t w, d, f;
    store_stats(s, &w, &d, &f);
    ASSERT_EQ(w, (uint64_t)n);
    ASSERT_EQ(d + f, 0);
    struct by_id b = {0};
    ASSERT_EQ(store_scan(s, 0, INT64_MAX, check_varied, &b, &e), 0);
    ASSERT_EQ(b.rows, n);
    ASSERT_EQ(b.bad, 0);
    /* a window in the middle sees exactly its rows, whatever span they were written in */
    memset(&b, 0, sizeof(b));
    int64_t t0 = 1700000000000000LL;
    ASSERT_EQ(store_scan(s, t0 + 3000 * 1000, t0 + 3100 * 1000, check_varied, &b, &e), 0);
    ASSERT_EQ(b.rows, 100);
    ASSERT_EQ(b.bad, 0);
    int64_t lo = 0, hi = 0;
    ASSERT_EQ(store_time_range(s, &lo, &hi, &e), 1);
    ASSERT_EQ(lo, t0);
    ASSERT_EQ(hi, t0 + (int64_t)(n - 1) * 1000);
    store_close(s);
    /* 5000 models x 7 statuses x 2 teams meet in 12000 rows as at most 12000 combinations */
    int64_t dims = sql_int(t.path, "SELECT count(*) FROM hg_dims");
    ASSERT_TRUE(dims > 3072 && dims <= n);
    ASSERT_EQ(sql_int(t.path, "SELECT count(*) FROM requests"), n);
    ASSERT_EQ(sql_int(t.path, "SELECT sum(last_id - first_id + 1) FROM hg_spans"), n);
    unlink(t.path);
}

/* An empty store has no time range. */
TEST(store, empty_time_range)
{
    struct tmp_store t;
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(tmp_store_open(&t, "empty", "", &s, &e), 0);
    int64_t lo = 7, hi = 7;
    ASSERT_EQ(store_time_range(s, &lo, &hi, &e), 0);
    ASSERT_EQ(lo, 7);
    store_close(s);
    unlink(t.path);
}

/* A version-1 file (one flat table with a ts_us index) is migrated at open: same rows, same
 * values, `requests` becomes the view, and the version says 2. */
TEST(store, migrates_schema_1)
{
    char path[256];
    char yaml[512];
    tmp_path(path, sizeof(path), "v1");
    ASSERT_EQ(
        sql_exec(path,
                 "CREATE TABLE hg_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
                 "INSERT INTO hg_meta VALUES ('schema_version', '1');"
                 "CREATE TABLE requests (ts_us BIGINT NOT NULL, request_id TEXT NOT NULL,"
                 " key_id TEXT NOT NULL, team TEXT NOT NULL, rule TEXT NOT NULL,"
                 " reason TEXT NOT NULL, backend TEXT NOT NULL, backend_kind TEXT NOT NULL,"
                 " model TEXT NOT NULL, requested_model TEXT NOT NULL, endpoint TEXT NOT NULL,"
                 " classes INTEGER NOT NULL, sensitive INTEGER NOT NULL, stream INTEGER NOT NULL,"
                 " masked INTEGER NOT NULL, status INTEGER NOT NULL, attempts INTEGER NOT NULL,"
                 " input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,"
                 " ttft_us BIGINT NOT NULL, total_us BIGINT NOT NULL, scan_us BIGINT NOT NULL,"
                 " cost_micro_usd BIGINT NOT NULL, error TEXT NOT NULL);"
                 "CREATE INDEX requests_ts ON requests (ts_us);"
                 "INSERT INTO requests VALUES (1700000000002000, 'req-2', '', 'team\t0',"
                 " 'rule-0', 'default', 'local', 'self_hosted', 'm\\odel', '', 'chat', 1, 0, 0,"
                 " 0, 200, 1, 102, 7, 0, 0, 0, 1234567890123, '');"
                 "INSERT INTO requests VALUES (1700000000000000, 'req-0', '', 'team\t0',"
                 " 'rule-0', 'default', 'local', 'self_hosted', 'm\\odel', '', 'chat', 1, 0, 0,"
                 " 0, 200, 1, 100, 7, 0, 0, 0, 1234567890123, '');"
                 "INSERT INTO requests VALUES (1700000000001000, 'req-1', '', 'team\t1',"
                 " 'rule-1', 'default', 'local', 'self_hosted', 'm\\odel', '', 'chat', 1, 0, 1,"
                 " 0, 200, 1, 101, 7, 0, 0, 0, 1234567890123, '');"),
        SQLITE_OK);
    snprintf(yaml, sizeof(yaml), "store: %s\n", path);
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(open_from_yaml(yaml, &s, &e), 0);
    struct sum sum = {.ordered = 1};
    ASSERT_EQ(store_scan(s, 0, INT64_MAX, sum_cb, &sum, &e), 0);
    ASSERT_EQ(sum.rows, 3);
    ASSERT_TRUE(sum.first_ok); /* req-0 first: migrated in time order */
    ASSERT_TRUE(sum.ordered);
    ASSERT_EQ(sum.in, 303);
    /* new rows go on after the migrated ones */
    struct req_record r;
    make_record(&r, 3);
    store_put(s, &r);
    store_close(s);
    ASSERT_EQ(
        sql_int(path,
                "SELECT count(*) FROM sqlite_master WHERE name = 'requests' AND type = 'view'"),
        1);
    ASSERT_EQ(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%v1%'"), 0);
    ASSERT_EQ(sql_int(path, "SELECT v FROM hg_meta WHERE k = 'schema_version'"), 2);
    ASSERT_EQ(sql_int(path, "SELECT count(*) FROM requests"), 4);
    ASSERT_EQ(sql_int(path, "SELECT sum(input_tokens) FROM requests WHERE team = 'team\t0'"),
              305); /* req-0, req-2 and the new req-3 */
    unlink(path);
}

/* A file written by a newer build is refused with the reason, never rewritten. */
TEST(store, refuses_newer_schema)
{
    struct tmp_store t;
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(tmp_store_open(&t, "v9", "", &s, &e), 0);
    store_close(s);
    ASSERT_EQ(sql_exec(t.path, "UPDATE hg_meta SET v = '9' WHERE k = 'schema_version'"), SQLITE_OK);
    ASSERT_EQ(open_from_yaml(t.yaml, &s, &e), -1);
    ASSERT_TRUE(strstr(e.msg, "schema version '9'") != NULL);
    unlink(t.path);
}

static int
count_rows(void *ctx, const struct req_record *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* Deleting rows (retention, or the newest by hand) never makes a later batch's span cover ids of
 * an older span: every row is read once. The virtual table the writer inserts from is not part
 * of the file. */
TEST(store, deleted_ids_are_not_reused)
{
    struct tmp_store t;
    struct store *s = NULL;
    struct hg_err e = {0};
    ASSERT_EQ(tmp_store_open(&t, "reuse", "flush_interval: 1ms", &s, &e), 0);
    put_range(s, 0, 10);
    store_flush(s);
    /* the newest five rows go; their span stays */
    ASSERT_EQ(sql_exec(t.path, "DELETE FROM hg_requests WHERE id > 5"), SQLITE_OK);
    put_range(s, 10, 20);
    store_flush(s);
    int n = 0;
    ASSERT_EQ(store_scan(s, 0, INT64_MAX, count_rows, &n, &e), 0);
    ASSERT_EQ(n, 15);
    store_close(s);
    ASSERT_EQ(sql_int(t.path, "SELECT min(id) FROM hg_requests WHERE request_id = 'req-10'"), 11);
    ASSERT_EQ(sql_int(t.path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'hg_batch%'"), 0);
    unlink(t.path);
}
