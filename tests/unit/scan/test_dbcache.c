/* SPDX-License-Identifier: MIT */
/* Unit tests for src/scan/dbcache.c: the second scanner with the same patterns reads the
 * compiled database from the cache and finds the same entities; a corrupt, foreign-looking or
 * switched-off cache means compiling, never a failure; other patterns get their own file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "core/cfgtree.h"
#include "scan/scan.h"

static struct scanner *
scanner_with(const char *dir, const char *extra)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "scanner:\n  cache: '%s'\n%s", dir, extra);
    struct cfg_doc doc = {0};
    struct hg_err err = {0};
    if (cfg_doc_load_str(&doc, "t.yaml", yaml, strlen(yaml), &err) < 0)
        return NULL;
    struct scan_config *c = NULL;
    struct scanner *s = NULL;
    if (scan_config_load(cfg_get(doc.root, "scanner"), &c, &err) == 0)
        s = scan_new(c, &err);
    scan_config_free(c);
    cfg_doc_cleanup(&doc);
    return s;
}

/* The names of the database files in dir, joined; how many there are. */
static int
db_files(const char *dir, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".hsdb") && !strstr(e->d_name, ".tmp")) {
            if (n++ == 0)
                snprintf(first, cap, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

static void
rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    char p[600];
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

static const char sample[] = "Patient Jane Roe, SSN 536-22-8741, jane.roe@example-clinic.org, "
                             "key AKIAZ3MRQ7LV4XYSPQ2N, lives at 12 Oak Street, Springfield";

static size_t
entities_of(const struct scanner *s, char *out, size_t cap)
{
    struct scan_scratch *ss = scan_scratch_new(s);
    struct scan_result r;
    scan_text(s, ss, sample, strlen(sample), &r);
    size_t k = 0;
    for (size_t i = 0; i < r.nentities && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s:%zu-%zu;", r.entities[i].type_name,
                              r.entities[i].start, r.entities[i].end);
    size_t n = r.nentities;
    scan_scratch_free(ss);
    return n;
}

TEST(dbcache, second_scanner_reads_the_cache)
{
    char dir[256], file[600], a[2048], b[2048];
    snprintf(dir, sizeof(dir), "/tmp/hg_test_dbcache_%d/sub", (int)getpid());
    struct scanner *s1 = scanner_with(dir, "");
    ASSERT_TRUE(s1 != NULL);
    ASSERT_FALSE(scan_db_cached(s1));
    ASSERT_EQ(db_files(dir, file, sizeof(file)), 1); /* the directory was created */
    struct stat st;
    ASSERT_EQ(stat(file, &st), 0);
    ASSERT_EQ(st.st_mode & 077, 0); /* private */
    struct scanner *s2 = scanner_with(dir, "");
    ASSERT_TRUE(s2 != NULL);
    ASSERT_TRUE(scan_db_cached(s2));
    ASSERT_TRUE(entities_of(s1, a, sizeof(a)) >= 4);
    entities_of(s2, b, sizeof(b));
    ASSERT_STR(a, b);
    scan_free(s1);
    scan_free(s2);
    /* other patterns (a custom deny word) are another file */
    struct scanner *s3 = scanner_with(dir, "  deny:\n    - {type: PROJECT, words: [Bluebird]}\n");
    ASSERT_TRUE(s3 != NULL);
    ASSERT_FALSE(scan_db_cached(s3));
    ASSERT_EQ(db_files(dir, file, sizeof(file)), 2);
    scan_free(s3);
    rm_dir(dir);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
}

TEST(dbcache, bad_files_mean_compiling)
{
    char dir[256], file[600], a[2048], b[2048];
    snprintf(dir, sizeof(dir), "/tmp/hg_test_dbcache_bad_%d", (int)getpid());
    struct scanner *s1 = scanner_with(dir, "");
    ASSERT_TRUE(s1 != NULL);
    ASSERT_EQ(db_files(dir, file, sizeof(file)), 1);
    entities_of(s1, a, sizeof(a));
    scan_free(s1);
    /* truncated: compiled again, and the file rewritten whole */
    ASSERT_EQ(truncate(file, 100), 0);
    struct scanner *s2 = scanner_with(dir, "");
    ASSERT_TRUE(s2 != NULL);
    ASSERT_FALSE(scan_db_cached(s2));
    entities_of(s2, b, sizeof(b));
    ASSERT_STR(a, b);
    scan_free(s2);
    struct stat st;
    ASSERT_EQ(stat(file, &st), 0);
    ASSERT_TRUE(st.st_size > 1000);
    /* writable by others: not trusted */
    ASSERT_EQ(chmod(file, 0666), 0);
    struct scanner *s3 = scanner_with(dir, "");
    ASSERT_TRUE(s3 != NULL);
    ASSERT_FALSE(scan_db_cached(s3));
    scan_free(s3);
    rm_dir(dir);
}

TEST(dbcache, off_writes_nothing)
{
    char dir[256], file[600];
    snprintf(dir, sizeof(dir), "/tmp/hg_test_dbcache_off_%d", (int)getpid());
    struct scanner *s = scanner_with("off", "");
    ASSERT_TRUE(s != NULL);
    ASSERT_FALSE(scan_db_cached(s));
    scan_free(s);
    ASSERT_EQ(db_files(dir, file, sizeof(file)), 0);
    ASSERT_EQ(access("off", F_OK), -1); /* "off" is no directory name */
}
