/* SPDX-License-Identifier: MIT */
/* Usage store benchmark: what recording a request costs on the request path (store_put) and how
 * many rows per second the writer thread commits to SQLite. Prints one line; checks that every
 * row put was written and none dropped. Usage: build/bench_store [rows] [threads] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfgtree.h"
#include "core/clock.h"
#include "store/store.h"

struct arg {
    struct store *s; /* shared store */
    int teams;       /* rows cycle through this many teams (distinct dimension ids) */
    int rows;        /* rows this thread puts */
    int base;        /* first row number */
    int64_t put_us;  /* OUT: time spent putting */
};

static void *
put_thread(void *p)
{
    struct arg *a = p;
    struct req_record r;
    memset(&r, 0, sizeof(r));
    strcpy(r.team, "bench");
    strcpy(r.rule, "default");
    strcpy(r.backend, "local-vllm");
    strcpy(r.backend_kind, "self_hosted");
    strcpy(r.model, "llama-3-70b");
    r.status = 200;
    r.input_tokens = 900;
    r.output_tokens = 20;
    int64_t t0 = clock_mono_us();
    for (int i = 0; i < a->rows; i++) {
        r.ts_us = t0 + i;
        snprintf(r.request_id, sizeof(r.request_id), "%d", a->base + i);
        if (a->teams > 1)
            snprintf(r.team, sizeof(r.team), "team-%d", i % a->teams);
        store_put(a->s, &r);
    }
    a->put_us = clock_mono_us() - t0;
    return NULL;
}

/* Puts rows from nthreads threads, waits for the writer; OUT: ns per put, rows/s committed. */
static int
run(struct store *s, int rows, int nthreads, int teams, double *ns_per_put, double *rows_per_s)
{
    pthread_t t[64];
    struct arg a[64];
    int64_t t0 = clock_mono_us();
    for (int i = 0; i < nthreads; i++) {
        a[i] = (struct arg){s, teams, rows / nthreads, i * (rows / nthreads), 0};
        pthread_create(&t[i], NULL, put_thread, &a[i]);
    }
    int64_t put_us = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        put_us += a[i].put_us;
    }
    store_flush(s);
    int64_t el = clock_mono_us() - t0;
    *ns_per_put = put_us * 1000.0 / rows;
    *rows_per_s = rows / (el / 1e6);
    return 0;
}

int
main(int argc, char **argv)
{
    int rows = argc > 1 ? atoi(argv[1]) : 131072;
    char path[128];
    char yaml[256];
    snprintf(path, sizeof(path), "/tmp/hg_bench_store_%d.db", (int)getpid());
    /* the queue holds a whole run, so the figures are the costs, not overflow */
    snprintf(yaml, sizeof(yaml), "store: {path: %s, queue: %d}\n", path, rows);
    struct cfg_doc d;
    struct hg_err e = {0};
    if (cfg_doc_load_str(&d, "bench", yaml, strlen(yaml), &e) < 0)
        return 1;
    struct store *s = store_open(cfg_get(d.root, "store"), &e);
    if (s == NULL) {
        fprintf(stderr, "bench_store: %s\n", e.msg);
        return 1;
    }
    double ns1, rps1, ns4, rps4, nsv, rpsv;
    run(s, rows, 1, 1, &ns1, &rps1);
    run(s, rows, 4, 1, &ns4, &rps4);
    /* 64 teams round-robin: no row repeats the previous one's dimensions (the hash-table path) */
    run(s, rows, 1, 64, &nsv, &rpsv);
    uint64_t w, dr, f;
    store_stats(s, &w, &dr, &f);
    store_close(s);
    cfg_doc_cleanup(&d);
    char tmp[160];
    unlink(path);
    snprintf(tmp, sizeof(tmp), "%s-wal", path);
    unlink(tmp);
    snprintf(tmp, sizeof(tmp), "%s-shm", path);
    unlink(tmp);
    printf("store: %.0f rows/s committed (sqlite WAL, 1 thread) %.0f rows/s (4 threads), "
           "%.0f rows/s (64 alternating dimension sets), store_put %.0f ns (1 thread) %.0f ns "
           "(4 threads), %llu dropped\n",
           rps1, rps4, rpsv, ns1, ns4, (unsigned long long)dr);
    if (w != 3 * (uint64_t)rows || f != 0 || dr != 0) {
        fprintf(stderr, "bench_store: wrote %llu of %d rows, %llu failed, %llu dropped\n",
                (unsigned long long)w, 3 * rows, (unsigned long long)f, (unsigned long long)dr);
        return 1;
    }
    return 0;
}
