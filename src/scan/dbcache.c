/* SPDX-License-Identifier: MIT */
/* The compiled-database cache: a Vectorscan database for exactly one pattern set, one library
 * version and one CPU, kept as a file so that later starts deserialize it instead of compiling.
 *
 * Why: compiling ~600 patterns takes ~0.1 s and, more to the point, runs Vectorscan's compiler,
 * whose code and heap stay resident: the gateway's idle RSS was 21.7 MiB after a compile and
 * 16.6 MiB after a deserialize (libhs.so 4.1 MiB of touched pages → almost none, heap −1.4 MiB).
 *
 * The file name is a 64-bit FNV-1a hash over hs_version(), the host platform (tune and CPU
 * features) and every (expression, flags, id): any change to the rules, the scanner config, the
 * library or the machine makes a new name, so a stale file is never read. A file is read only if
 * it is a regular file owned by this user and not writable by group or others; anything wrong
 * with it (short, corrupt, other platform) means compile as if it were not there. Writes go to a
 * temporary file renamed into place, so concurrent starts never see half a database. */
#include <errno.h>
#include <fcntl.h>
#include <hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "scan/scan_int.h"

#define DB_MAX_BYTES (64u << 20) /* a database file larger than this is not ours */

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t
pattern_hash(const char *const *exprs, const unsigned *flags, const unsigned *ids, unsigned n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *v = hs_version();
    h = fnv(h, v, strlen(v) + 1);
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof(plat));
    if (hs_populate_platform(&plat) == HS_SUCCESS) {
        h = fnv(h, &plat.tune, sizeof(plat.tune));
        h = fnv(h, &plat.cpu_features, sizeof(plat.cpu_features));
    }
    h = fnv(h, &n, sizeof(n));
    for (unsigned i = 0; i < n; i++) {
        h = fnv(h, exprs[i], strlen(exprs[i]) + 1);
        h = fnv(h, &flags[i], sizeof(flags[i]));
        h = fnv(h, &ids[i], sizeof(ids[i]));
    }
    return h;
}

/* The default cache directory: $HYBRIDGATE_CACHE, $XDG_CACHE_HOME/hybridgate or
 * $HOME/.cache/hybridgate; NULL when none can be named. Owned by the caller. */
static char *
default_dir(void)
{
    const char *e = getenv("HYBRIDGATE_CACHE");
    char buf[4096];
    if (e && *e)
        return xstrdup(e);
    e = getenv("XDG_CACHE_HOME");
    if (e && *e && snprintf(buf, sizeof(buf), "%s/hybridgate", e) < (int)sizeof(buf))
        return xstrdup(buf);
    e = getenv("HOME");
    if (e && *e && snprintf(buf, sizeof(buf), "%s/.cache/hybridgate", e) < (int)sizeof(buf))
        return xstrdup(buf);
    return NULL;
}

/* mkdir -p with mode 0700 for the components it creates. */
static int
make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        path[i] = c;
    }
    return 0;
}

static hs_database_t *
load(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    hs_database_t *db = NULL;
    char *bytes = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022) || st.st_size <= 0 || (unsigned long long)st.st_size > DB_MAX_BYTES) {
        log_warn("scan", "%s: not a database file of this user, ignored", path);
        goto out;
    }
    bytes = xmalloc((size_t)st.st_size);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, bytes + got, (size_t)st.st_size - got);
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    if (hs_deserialize_database(bytes, got, &db) != HS_SUCCESS) {
        db = NULL;
        log_warn("scan", "%s: unreadable compiled database, compiling instead", path);
    }
out:
    free(bytes);
    close(fd);
    return db;
}

static void
store(const char *dir, const char *path, const hs_database_t *db)
{
    char *bytes = NULL;
    size_t len = 0;
    char tmp[4200];
    if (make_dirs(dir) != 0 || hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
        log_debug("scan", "%s: compiled database not cached", dir);
        return;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
        free(bytes);
        return;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(fd, bytes + off, len - off);
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        log_debug("scan", "%s: compiled database not cached", path);
    }
    free(bytes);
}

int
scan_db_build(const char *const *exprs, const unsigned *flags, const unsigned *ids, unsigned n,
              const char *cache_dir, void **out, enum scan_db_origin *origin, struct hg_err *err)
{
    char *dir = NULL;
    char path[4200];
    hs_database_t *db = NULL;
    if (cache_dir == NULL)
        dir = default_dir();
    else if (*cache_dir)
        dir = xstrdup(cache_dir);
    *origin = SCAN_DB_COMPILED;
    if (dir &&
        snprintf(path, sizeof(path), "%s/scan-%016llx.hsdb", dir,
                 (unsigned long long)pattern_hash(exprs, flags, ids, n)) >= (int)sizeof(path)) {
        free(dir);
        dir = NULL; /* a path too long to cache in */
    }
    if (dir) {
        db = load(path);
        if (db)
            *origin = SCAN_DB_CACHED;
    }
    if (db == NULL) {
        hs_compile_error_t *ce = NULL;
        if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
            hg_err_set(err, 500, HG_ERR_SERVER, NULL, "scanner: pattern %d does not compile: %s",
                       ce ? ce->expression : -1, ce ? ce->message : "?");
            hs_free_compile_error(ce);
            free(dir);
            return -1;
        }
        if (dir)
            store(dir, path, db);
    }
    free(dir);
    *out = db;
    return 0;
}
