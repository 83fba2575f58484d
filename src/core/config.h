/* SPDX-License-Identifier: MIT */
/* The gateway's own configuration: listener, workers, limits, timeouts, backends and model
 * aliases. Rooms with sections of their own (scanner:, routing:, store:, prices:, metrics:) parse
 * them from cfg->doc with their own loaders, so core knows nothing about them.
 *
 * Scalar options are declared once in a table (config.c, `options[]`) with name, type, default,
 * bounds and help; the YAML file and HYBRIDGATE_<NAME> environment variables go through the same
 * setter. A config that fails anywhere is rejected whole: config_load() either fills *cfg
 * completely or leaves nothing behind. */
#ifndef HG_CORE_CONFIG_H
#define HG_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/cfgtree.h"
#include "core/error.h"

enum backend_kind { BACKEND_SELF_HOSTED, BACKEND_HOSTED };
const char *backend_kind_name(enum backend_kind k);

#define CONFIG_MAX_BACKENDS 64

struct backend_conf {
    char *name;              /* unique name, used in headers, metrics and rules */
    enum backend_kind kind;  /* self_hosted or hosted */
    char *base_url;          /* http(s)://host:port/prefix, no trailing slash */
    char *api_key_env;       /* name of the env var holding the key, or NULL */
    char *api_key;           /* key read from api_key_env at load; NULL when none; wiped on free */
    char **models;           /* models this backend serves (its own names) */
    size_t nmodels;          /* entries in models */
    int max_concurrency;     /* in-flight cap; 0 = unlimited */
    int max_queue;           /* requests that may wait for a slot; 0 = no queue */
    char *region;            /* residency tag, or NULL */
    bool trusted;            /* hosted backend allowed to see sensitive data (with region rules) */
    int weight;              /* relative weight for pools, default 1 */
    char *health_path;       /* active health check path under base_url, default "/models" */
    long health_interval_ms; /* 0 disables active checks */
    char *ca_file;           /* extra CA bundle for private TLS, or NULL */
    char *provider;          /* wire protocol family: "openai" (default) */
    double ttft_slo_ms;      /* burst when the moving TTFT average exceeds this; 0 = off */
};

struct alias_target {
    int backend; /* index into config.backends, or -1 = any backend serving `model` */
    char *model; /* the model name to send upstream */
};

struct alias_conf {
    char *name;                   /* what clients ask for */
    struct alias_target *targets; /* one entry for "fast: gpt-4o-mini", several for a logical model */
    size_t ntargets;              /* entries in targets */
};

struct config {
    char *listen_host;           /* bind address, default 127.0.0.1 */
    int listen_port;             /* default 8080 */
    int workers;                 /* worker threads; 0 in the file means number of cores */
    size_t body_limit;           /* max request body, default 16 MiB */
    long connect_timeout_ms;     /* upstream TCP/TLS connect */
    long first_byte_timeout_ms;  /* request sent → upstream response head */
    long idle_timeout_ms;        /* max gap between stream chunks */
    long total_timeout_ms;       /* whole non-streaming request; streams use idle only */
    long drain_timeout_ms;       /* SIGTERM: how long in-flight requests may finish */
    long client_timeout_ms;      /* idle client connection */
    int max_retries;             /* extra upstream attempts before the first byte */
    long queue_timeout_ms;       /* longest wait for a slot on a saturated backend */
    bool airgap;                 /* no hosted backend may exist */
    char *admin_key;             /* key for /admin/ and the dashboard data; NULL = admin off */
    char *admin_key_env;         /* env var to read admin_key from */
    char *log_level;             /* debug|info|warn|error */
    char *access_log;            /* "stdout", a file path, or NULL (off) */
    struct backend_conf *backends; /* in file order */
    size_t nbackends;            /* entries in backends */
    struct alias_conf *aliases;  /* in file order */
    size_t naliases;             /* entries in aliases */
    struct cfg_doc doc;          /* the parsed file, for rooms' own sections */
};

/* Loads path (NULL = the built-in default config). Returns 0, or -1 with err->msg holding
 * "file:line: reason" and the quoted line; on failure *cfg holds nothing to free. */
int config_load(struct config *cfg, const char *path, struct hg_err *err);
/* Same, from text (tests). */
int config_load_str(struct config *cfg, const char *name, const char *text, size_t len,
                    struct hg_err *err);
void config_cleanup(struct config *cfg);

/* Lookup of a backend by name: its index, or -1. */
int config_backend_index(const struct config *cfg, const char *name);
/* True when backend b lists model m. */
bool config_backend_serves(const struct backend_conf *b, const char *m);

/* Resolves what a client asked for (a model or an alias) into (backend, upstream model) pairs.
 * Fills up to max entries of out, returns how many (0 = unknown model). */
struct model_target {
    int backend;       /* index into cfg->backends */
    const char *model; /* name to send upstream; points into cfg */
};
size_t config_resolve_model(const struct config *cfg, const char *requested,
                            struct model_target *out, size_t max);

/* Appends the reference of every option (from the option table): the example config as YAML, or
 * docs/config.md as Markdown. 0 or -1 (cap). */
int config_reference(struct buf *out, bool markdown);

#endif
