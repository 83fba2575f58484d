/* SPDX-License-Identifier: MIT */
/* Gateway config loader: the option table for top-level scalars, then backends and aliases.
 * Rooms parse their own sections from cfg->doc (see config.h). */
#include "core/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"

const char *
backend_kind_name(enum backend_kind k)
{
    return k == BACKEND_HOSTED ? "hosted" : "self_hosted";
}

/* The built-in default: the local model started by scripts/local-llm.sh on 127.0.0.1:8081. */
static const char default_config[] = "listen: 127.0.0.1:8080\n"
                                     "backends:\n"
                                     "  - name: local-llm\n"
                                     "    kind: self_hosted\n"
                                     "    base_url: http://127.0.0.1:8081/v1\n"
                                     "    models: [TinyStories-656K-Q8_0]\n"
                                     "    max_concurrency: 8\n"
                                     "aliases:\n"
                                     "  local: TinyStories-656K-Q8_0\n";

enum opt_type { OPT_INT, OPT_BOOL, OPT_DURATION, OPT_SIZE, OPT_STRING };

struct option {
    const char *name;  /* YAML key; env var is HYBRIDGATE_<NAME upper-cased> */
    enum opt_type type; /* how the text is parsed */
    const char *def;   /* default, as text through the same setter */
    long min, max;     /* bounds for ints, durations (ms) and sizes (bytes) */
    size_t off;        /* offsetof(struct config, field) */
    const char *help;  /* one line for docs and the example config */
};

#define OFF(f) offsetof(struct config, f)
static const struct option options[] = {
    {"workers", OPT_INT, "0", 0, 256, OFF(workers), "worker threads; 0 = number of cores"},
    {"body_limit", OPT_SIZE, "16MiB", 1024, 1L << 30, OFF(body_limit), "largest request body"},
    {"connect_timeout", OPT_DURATION, "5s", 1, 600000, OFF(connect_timeout_ms),
     "upstream connect (TCP and TLS)"},
    {"first_byte_timeout", OPT_DURATION, "60s", 1, 3600000, OFF(first_byte_timeout_ms),
     "request sent to upstream response head"},
    {"idle_timeout", OPT_DURATION, "60s", 1, 3600000, OFF(idle_timeout_ms),
     "longest gap between two chunks of a stream"},
    {"total_timeout", OPT_DURATION, "600s", 1, 86400000, OFF(total_timeout_ms),
     "whole non-streaming request"},
    {"drain_timeout", OPT_DURATION, "30s", 0, 3600000, OFF(drain_timeout_ms),
     "on SIGTERM, how long in-flight requests may finish"},
    {"client_timeout", OPT_DURATION, "120s", 1, 3600000, OFF(client_timeout_ms),
     "idle client connection"},
    {"queue_timeout", OPT_DURATION, "30s", 0, 3600000, OFF(queue_timeout_ms),
     "how long a request may wait for a slot on a saturated backend"},
    {"max_retries", OPT_INT, "2", 0, 10, OFF(max_retries),
     "extra upstream attempts before the first byte"},
    {"airgap", OPT_BOOL, "false", 0, 0, OFF(airgap), "refuse any hosted backend"},
    {"admin_key_env", OPT_STRING, NULL, 0, 0, OFF(admin_key_env),
     "env var holding the admin key for /admin/ and /ui data"},
    {"admin_key", OPT_STRING, NULL, 0, 0, OFF(admin_key),
     "admin key (prefer admin_key_env)"},
    {"log_level", OPT_STRING, "info", 0, 0, OFF(log_level), "debug, info, warn or error"},
    {"access_log", OPT_STRING, "stdout", 0, 0, OFF(access_log),
     "JSON access log: stdout, a file path, or off"},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* The one setter for files, env and defaults. n may be NULL (text from env/default). */
static int
option_set(struct config *cfg, const struct option *o, const char *text,
           const struct cfg_node *n, struct hg_err *err)
{
    void *field = (char *)cfg + o->off;
    char *end = NULL;
    switch (o->type) {
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (end == text || *end || v < o->min || v > o->max)
            goto bad;
        *(int *)field = (int)v;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
            *(bool *)field = true;
        else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off"))
            *(bool *)field = false;
        else
            goto bad;
        return 0;
    case OPT_DURATION: {
        long ms;
        if (cfg_parse_duration_ms(text, &ms) < 0 || ms < o->min || ms > o->max)
            goto bad;
        *(long *)field = ms;
        return 0;
    }
    case OPT_SIZE: {
        size_t sz;
        if (cfg_parse_size(text, &sz) < 0 || sz < (size_t)o->min || sz > (size_t)o->max)
            goto bad;
        *(size_t *)field = sz;
        return 0;
    }
    case OPT_STRING:
        free(*(char **)field);
        *(char **)field = xstrdup(text);
        return 0;
    }
bad:
    if (n)
        return cfg_fail(n, err, "bad value '%s' for '%s' (%s)", text, o->name, o->help);
    return hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "bad value '%s' for '%s' (%s)", text,
                      o->name, o->help);
}

static int
parse_listen(struct config *cfg, const char *text, const struct cfg_node *n, struct hg_err *err)
{
    const char *colon = strrchr(text, ':');
    const char *port = colon ? colon + 1 : text;
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (end == port || *end || p < 0 || p > 65535) {
        if (n)
            return cfg_fail(n, err, "'listen' must be HOST:PORT, got '%s'", text);
        return hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "'listen' must be HOST:PORT");
    }
    free(cfg->listen_host);
    cfg->listen_host = colon ? xstrndup(text, (size_t)(colon - text)) : xstrdup("127.0.0.1");
    cfg->listen_port = (int)p;
    return 0;
}

static bool
valid_name(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static int
parse_string_list(const struct cfg_node *n, char ***out, size_t *count, struct hg_err *err)
{
    if (n->type == CFG_SCALAR) {
        *out = xcalloc(1, sizeof(char *));
        (*out)[0] = xstrdup(n->value);
        *count = 1;
        return 0;
    }
    if (n->type != CFG_SEQ)
        return cfg_fail(n, err, "'%s' must be a list", n->key ? n->key : "item");
    size_t k = 0;
    for (const struct cfg_node *c = n->child; c; c = c->next)
        k++;
    *out = xcalloc(k ? k : 1, sizeof(char *));
    *count = 0;
    for (const struct cfg_node *c = n->child; c; c = c->next) {
        if (c->type != CFG_SCALAR || c->value[0] == '\0')
            return cfg_fail(c, err, "'%s' entries must be non-empty names",
                            n->key ? n->key : "list");
        (*out)[(*count)++] = xstrdup(c->value);
    }
    return 0;
}

/* Every key of a `backends:` entry, with an example value and help, for the loader's unknown-key
 * check and the generated reference (hybridgate.example.yaml, docs/config.md). */
struct backend_key {
    const char *name;    /* YAML key */
    const char *example; /* value shown in the example config */
    const char *help;    /* one line */
};
static const struct backend_key backend_key_table[] = {
    {"name", "gpu-pool-a", "unique name, used in headers, rules and metrics ([A-Za-z0-9._-])"},
    {"kind", "self_hosted", "self_hosted (your servers) or hosted (an API); required"},
    {"base_url", "http://127.0.0.1:8081/v1", "OpenAI-compatible base URL, http or https; required"},
    {"api_key_env", "GPU_POOL_KEY", "env var holding this backend's key (a client's key is never sent)"},
    {"models", "[TinyStories-656K-Q8_0]", "models it serves, by its own names; required"},
    {"max_concurrency", "64", "in-flight requests; 0 = unlimited"},
    {"max_queue", "128", "requests that may wait for a slot when it is saturated"},
    {"region", "eu", "residency tag; rules may require one"},
    {"trusted", "false", "a hosted backend allowed to see sensitive data in its region"},
    {"weight", "1", "relative share within a pool"},
    {"health_path", "/models", "active health check path under base_url"},
    {"health_interval", "2s", "active check period; 0 turns active checks off"},
    {"ca_file", NULL, "extra CA bundle (PEM) for a private TLS backend"},
    {"provider", "openai", "wire protocol; every OpenAI-compatible server uses openai"},
    {"ttft_slo", "2s", "burst to hosted when its moving time-to-first-token exceeds this"},
};
#define NBACKEND_KEYS (sizeof(backend_key_table) / sizeof(backend_key_table[0]))
static const char *backend_keys[NBACKEND_KEYS + 1]; /* names of the table, NULL-terminated */

static int
parse_backend(struct config *cfg, const struct cfg_node *n, struct backend_conf *b,
              struct hg_err *err)
{
    const struct cfg_node *v;
    if (n->type != CFG_MAP)
        return cfg_fail(n, err, "each backend must be a mapping with name, kind, base_url");
    for (size_t i = 0; i < NBACKEND_KEYS; i++)
        backend_keys[i] = backend_key_table[i].name; /* idempotent: same values every time */
    if (cfg_check_keys(n, backend_keys, err) < 0)
        return -1;
    b->weight = 1;
    b->health_interval_ms = 2000;
    b->health_path = xstrdup("/models");
    b->provider = xstrdup("openai");

    v = cfg_get(n, "name");
    if (v == NULL)
        return cfg_fail(n, err, "backend is missing 'name'");
    if (cfg_want_scalar(v, err) < 0)
        return -1;
    if (!valid_name(v->value))
        return cfg_fail(v, err, "backend name '%s' must be 1-64 of [A-Za-z0-9._-]", v->value);
    for (size_t i = 0; i + 1 < cfg->nbackends; i++) /* the last one is b itself */
        if (!strcmp(cfg->backends[i].name, v->value))
            return cfg_fail(v, err, "duplicate backend name '%s'", v->value);
    b->name = xstrdup(v->value);

    v = cfg_get(n, "kind");
    if (v == NULL)
        return cfg_fail(n, err, "backend '%s' is missing 'kind' (self_hosted or hosted)", b->name);
    if (cfg_want_scalar(v, err) < 0)
        return -1;
    if (!strcmp(v->value, "self_hosted"))
        b->kind = BACKEND_SELF_HOSTED;
    else if (!strcmp(v->value, "hosted"))
        b->kind = BACKEND_HOSTED;
    else
        return cfg_fail(v, err, "'kind' must be self_hosted or hosted, got '%s'", v->value);
    if (b->kind == BACKEND_HOSTED && cfg->airgap)
        return cfg_fail(v, err, "airgap is on: hosted backend '%s' is not allowed", b->name);

    v = cfg_get(n, "base_url");
    if (v == NULL)
        return cfg_fail(n, err, "backend '%s' is missing 'base_url'", b->name);
    if (cfg_want_scalar(v, err) < 0)
        return -1;
    if (strncmp(v->value, "http://", 7) != 0 && strncmp(v->value, "https://", 8) != 0)
        return cfg_fail(v, err, "'base_url' must start with http:// or https://, got '%s'",
                        v->value);
    size_t ul = strlen(v->value);
    while (ul > 0 && v->value[ul - 1] == '/')
        ul--;
    b->base_url = xstrndup(v->value, ul);

    v = cfg_get(n, "api_key_env");
    if (v) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        b->api_key_env = xstrdup(v->value);
        const char *k = getenv(v->value);
        if (k && *k)
            b->api_key = xstrdup(k);
    }
    v = cfg_get(n, "models");
    if (v == NULL)
        return cfg_fail(n, err, "backend '%s' is missing 'models'", b->name);
    if (parse_string_list(v, &b->models, &b->nmodels, err) < 0)
        return -1;
    if (b->nmodels == 0)
        return cfg_fail(v, err, "backend '%s' must serve at least one model", b->name);

    long l;
    if ((v = cfg_get(n, "max_concurrency"))) {
        if (cfg_long(v, 0, 1000000, &l, err) < 0)
            return -1;
        b->max_concurrency = (int)l;
    }
    if ((v = cfg_get(n, "max_queue"))) {
        if (cfg_long(v, 0, 1000000, &l, err) < 0)
            return -1;
        b->max_queue = (int)l;
    }
    if ((v = cfg_get(n, "weight"))) {
        if (cfg_long(v, 1, 1000, &l, err) < 0)
            return -1;
        b->weight = (int)l;
    }
    if ((v = cfg_get(n, "region"))) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        b->region = xstrdup(v->value);
    }
    if ((v = cfg_get(n, "trusted")) && cfg_bool(v, &b->trusted, err) < 0)
        return -1;
    if ((v = cfg_get(n, "health_path"))) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        if (v->value[0] != '/')
            return cfg_fail(v, err, "'health_path' must start with '/'");
        free(b->health_path);
        b->health_path = xstrdup(v->value);
    }
    if ((v = cfg_get(n, "health_interval")) && cfg_duration_ms(v, &b->health_interval_ms, err) < 0)
        return -1;
    if ((v = cfg_get(n, "ca_file"))) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        if (access(v->value, R_OK) != 0)
            return cfg_fail(v, err, "'ca_file' %s is not readable", v->value);
        b->ca_file = xstrdup(v->value);
    }
    if ((v = cfg_get(n, "provider"))) {
        if (cfg_want_scalar(v, err) < 0)
            return -1;
        if (strcmp(v->value, "openai") != 0)
            return cfg_fail(v, err,
                            "provider '%s' is not supported; OpenAI-compatible servers "
                            "(vLLM, llama.cpp, TGI, SGLang, Ollama /v1, Together, Fireworks, Groq) "
                            "use 'openai'",
                            v->value);
    }
    if ((v = cfg_get(n, "ttft_slo"))) {
        long ms;
        if (cfg_duration_ms(v, &ms, err) < 0)
            return -1;
        b->ttft_slo_ms = (double)ms;
    }
    return 0;
}

static int
parse_aliases(struct config *cfg, const struct cfg_node *n, struct hg_err *err)
{
    if (n->type != CFG_MAP)
        return cfg_fail(n, err, "'aliases' must be a mapping of alias: model");
    size_t k = 0;
    for (const struct cfg_node *c = n->child; c; c = c->next)
        k++;
    cfg->aliases = xcalloc(k ? k : 1, sizeof(*cfg->aliases));
    for (const struct cfg_node *c = n->child; c; c = c->next) {
        struct alias_conf *a = &cfg->aliases[cfg->naliases++];
        a->name = xstrdup(c->key);
        if (c->type == CFG_SCALAR) {
            a->targets = xcalloc(1, sizeof(*a->targets));
            a->ntargets = 1;
            a->targets[0].backend = -1;
            a->targets[0].model = xstrdup(c->value);
            bool served = false;
            for (size_t i = 0; i < cfg->nbackends; i++)
                served |= config_backend_serves(&cfg->backends[i], c->value);
            if (!served)
                return cfg_fail(c, err, "alias '%s' points at model '%s' that no backend serves",
                                c->key, c->value);
        } else if (c->type == CFG_MAP) {
            size_t m = 0;
            for (const struct cfg_node *t = c->child; t; t = t->next)
                m++;
            a->targets = xcalloc(m ? m : 1, sizeof(*a->targets));
            for (const struct cfg_node *t = c->child; t; t = t->next) {
                int bi = config_backend_index(cfg, t->key);
                if (bi < 0)
                    return cfg_fail(t, err, "alias '%s' names unknown backend '%s'", c->key,
                                    t->key);
                if (t->type != CFG_SCALAR)
                    return cfg_fail(t, err, "alias '%s': the model for '%s' must be a name",
                                    c->key, t->key);
                a->targets[a->ntargets].backend = bi;
                a->targets[a->ntargets].model = xstrdup(t->value);
                a->ntargets++;
            }
            if (a->ntargets == 0)
                return cfg_fail(c, err, "alias '%s' has no targets", c->key);
        } else {
            return cfg_fail(c, err, "alias '%s' must be a model name or a backend: model mapping",
                            c->key);
        }
        for (size_t i = 0; i + 1 < cfg->naliases; i++)
            if (!strcmp(cfg->aliases[i].name, a->name))
                return cfg_fail(c, err, "duplicate alias '%s'", a->name);
    }
    return 0;
}

/* Keys that belong to other rooms' sections; core only checks that they exist legally. */
static const char *const room_sections[] = {"listen", "backends", "aliases", "scanner", "routing",
                                            "store",  "prices",   "metrics", "dashboard",
                                            "shadow", "economics", NULL};

static bool
is_room_section(const char *k)
{
    for (const char *const *s = room_sections; *s; s++)
        if (!strcmp(*s, k))
            return true;
    return false;
}

static void
env_name(const char *opt, char *out, size_t outlen)
{
    size_t i = 0;
    const char *pfx = "HYBRIDGATE_";
    for (; *pfx && i + 1 < outlen; pfx++)
        out[i++] = *pfx;
    for (; *opt && i + 1 < outlen; opt++)
        out[i++] = (char)toupper((unsigned char)*opt);
    out[i] = '\0';
}

static int
load_doc(struct config *cfg, struct hg_err *err)
{
    const struct cfg_node *root = cfg->doc.root;
    const struct cfg_node *v;

    cfg->listen_host = xstrdup("127.0.0.1");
    cfg->listen_port = 8080;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].def && option_set(cfg, &options[i], options[i].def, NULL, err) < 0)
            return -1;

    /* every top-level key is either an option or a known section */
    for (const struct cfg_node *c = root ? root->child : NULL; c; c = c->next) {
        bool known = is_room_section(c->key);
        for (size_t i = 0; i < NOPTIONS && !known; i++)
            known = !strcmp(options[i].name, c->key);
        if (!known)
            return cfg_fail(c, err, "unknown option '%s'", c->key);
    }
    for (size_t i = 0; i < NOPTIONS; i++) {
        v = cfg_get(root, options[i].name);
        if (v) {
            if (cfg_want_scalar(v, err) < 0)
                return -1;
            if (option_set(cfg, &options[i], v->value, v, err) < 0)
                return -1;
        }
        char en[80];
        env_name(options[i].name, en, sizeof(en));
        const char *ev = getenv(en);
        if (ev && option_set(cfg, &options[i], ev, NULL, err) < 0)
            return -1;
    }
    if ((v = cfg_get(root, "listen"))) {
        if (cfg_want_scalar(v, err) < 0 || parse_listen(cfg, v->value, v, err) < 0)
            return -1;
    }
    const char *el = getenv("HYBRIDGATE_LISTEN");
    if (el && parse_listen(cfg, el, NULL, err) < 0)
        return -1;
    if (cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n > 0 ? (int)n : 1;
    }
    if (cfg->admin_key_env) {
        const char *k = getenv(cfg->admin_key_env);
        if (k && *k) {
            free(cfg->admin_key);
            cfg->admin_key = xstrdup(k);
        }
    }
    if (cfg->access_log && !strcmp(cfg->access_log, "off")) {
        free(cfg->access_log);
        cfg->access_log = NULL;
    }
    if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
        strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error"))
        return cfg_fail(cfg_get(root, "log_level"), err, "'log_level' must be debug, info, warn "
                                                         "or error");

    v = cfg_get(root, "backends");
    if (v == NULL)
        return cfg_fail(root, err, "the config has no 'backends'");
    if (v->type != CFG_SEQ)
        return cfg_fail(v, err, "'backends' must be a list");
    size_t k = 0;
    for (const struct cfg_node *c = v->child; c; c = c->next)
        k++;
    if (k == 0)
        return cfg_fail(v, err, "'backends' is empty");
    if (k > CONFIG_MAX_BACKENDS)
        return cfg_fail(v, err, "at most %d backends are supported", CONFIG_MAX_BACKENDS);
    cfg->backends = xcalloc(k, sizeof(*cfg->backends));
    for (const struct cfg_node *c = v->child; c; c = c->next) {
        struct backend_conf *b = &cfg->backends[cfg->nbackends];
        cfg->nbackends++;
        if (parse_backend(cfg, c, b, err) < 0)
            return -1;
    }
    if ((v = cfg_get(root, "aliases")) && parse_aliases(cfg, v, err) < 0)
        return -1;
    return 0;
}

int
config_load_str(struct config *cfg, const char *name, const char *text, size_t len,
                struct hg_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (cfg_doc_load_str(&cfg->doc, name, text, len, err) < 0)
        return -1;
    if (cfg->doc.root == NULL) {
        hg_err_set(err, 0, HG_ERR_INVALID, "bad_config", "%s: the config is empty", name);
        config_cleanup(cfg);
        return -1;
    }
    if (load_doc(cfg, err) < 0) {
        config_cleanup(cfg);
        return -1;
    }
    return 0;
}

int
config_load(struct config *cfg, const char *path, struct hg_err *err)
{
    if (path == NULL)
        return config_load_str(cfg, "<built-in default>", default_config,
                               sizeof(default_config) - 1, err);
    struct cfg_doc d;
    if (cfg_doc_load_file(&d, path, err) < 0) {
        memset(cfg, 0, sizeof(*cfg));
        return -1;
    }
    int r = config_load_str(cfg, path, d.text, d.text_len, err);
    cfg_doc_cleanup(&d);
    return r;
}

static void
free_str(char **p)
{
    if (*p) {
        secure_zero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void
config_cleanup(struct config *cfg)
{
    for (size_t i = 0; i < cfg->nbackends; i++) {
        struct backend_conf *b = &cfg->backends[i];
        free(b->name);
        free(b->base_url);
        free(b->api_key_env);
        free_str(&b->api_key);
        for (size_t j = 0; j < b->nmodels; j++)
            free(b->models[j]);
        free(b->models);
        free(b->region);
        free(b->health_path);
        free(b->ca_file);
        free(b->provider);
    }
    free(cfg->backends);
    for (size_t i = 0; i < cfg->naliases; i++) {
        for (size_t j = 0; j < cfg->aliases[i].ntargets; j++)
            free(cfg->aliases[i].targets[j].model);
        free(cfg->aliases[i].targets);
        free(cfg->aliases[i].name);
    }
    free(cfg->aliases);
    free(cfg->listen_host);
    free_str(&cfg->admin_key);
    free(cfg->admin_key_env);
    free(cfg->log_level);
    free(cfg->access_log);
    cfg_doc_cleanup(&cfg->doc);
    memset(cfg, 0, sizeof(*cfg));
}

int
config_backend_index(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nbackends; i++)
        if (!strcmp(cfg->backends[i].name, name))
            return (int)i;
    return -1;
}

bool
config_backend_serves(const struct backend_conf *b, const char *m)
{
    for (size_t i = 0; i < b->nmodels; i++)
        if (!strcmp(b->models[i], m))
            return true;
    return false;
}

size_t
config_resolve_model(const struct config *cfg, const char *requested, struct model_target *out,
                     size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->naliases; i++) {
        const struct alias_conf *a = &cfg->aliases[i];
        if (strcmp(a->name, requested) != 0)
            continue;
        for (size_t t = 0; t < a->ntargets; t++) {
            if (a->targets[t].backend >= 0) {
                if (n < max) {
                    out[n].backend = a->targets[t].backend;
                    out[n].model = a->targets[t].model;
                    n++;
                }
                continue;
            }
            for (size_t b = 0; b < cfg->nbackends && n < max; b++) {
                if (config_backend_serves(&cfg->backends[b], a->targets[t].model)) {
                    out[n].backend = (int)b;
                    out[n].model = a->targets[t].model;
                    n++;
                }
            }
        }
        return n;
    }
    for (size_t b = 0; b < cfg->nbackends && n < max; b++) {
        const struct backend_conf *bc = &cfg->backends[b];
        for (size_t m = 0; m < bc->nmodels; m++) {
            if (!strcmp(bc->models[m], requested)) {
                out[n].backend = (int)b;
                out[n].model = bc->models[m];
                n++;
                break;
            }
        }
    }
    return n;
}

/* ---- the generated reference ---------------------------------------------------------------- */

static const char *const section_docs[][2] = {
    {"routing", "ordered routing rules: docs/routing.md"},
    {"scanner", "sensitive-data scanner settings: docs/internals/SCAN.md"},
    {"store", "usage store (SQLite path or postgresql:// URL): docs/economics.md"},
    {"prices", "prices per hosted model and cost model per self-hosted pool: docs/economics.md"},
    {"economics", "report options: docs/economics.md"},
    {"metrics", "Prometheus options: docs/metrics.md"},
    {"dashboard", "dashboard options: docs/metrics.md"},
};

int
config_reference(struct buf *out, bool markdown)
{
    int r = 0;
    if (markdown) {
        r |= buf_appends(out, "<!-- DO NOT EDIT — generated by scripts/gen.sh from src/core/config.c -->\n"
                              "# Configuration reference\n\n"
                              "The config is YAML (`hybridgate serve -c FILE`; without `-c` a built-in "
                              "config serves the local model). Every top-level option below can also be set "
                              "with an environment variable `HYBRIDGATE_<NAME>`, which wins over the file. "
                              "A config with any error is rejected whole, with `file:line: reason`.\n\n"
                              "| option | default | env | description |\n|---|---|---|---|\n"
                              "| `listen` | `127.0.0.1:8080` | `HYBRIDGATE_LISTEN` | address and port |\n");
        for (size_t i = 0; i < NOPTIONS; i++) {
            char en[80];
            env_name(options[i].name, en, sizeof(en));
            r |= buf_printf(out, "| `%s` | %s%s%s | `%s` | %s |\n", options[i].name,
                            options[i].def ? "`" : "", options[i].def ? options[i].def : "none",
                            options[i].def ? "`" : "", en, options[i].help);
        }
        r |= buf_appends(out, "\n## `backends:` entries\n\n| key | example | description |\n"
                              "|---|---|---|\n");
        for (size_t i = 0; i < NBACKEND_KEYS; i++)
            r |= buf_printf(out, "| `%s` | %s%s%s | %s |\n", backend_key_table[i].name,
                            backend_key_table[i].example ? "`" : "",
                            backend_key_table[i].example ? backend_key_table[i].example : "",
                            backend_key_table[i].example ? "`" : "", backend_key_table[i].help);
        r |= buf_appends(out, "\n## `aliases:`\n\n`alias: model` names one model; "
                              "`alias: {backend: model, ...}` is a logical model whose name differs per "
                              "backend (the upstream receives its own name).\n\n"
                              "## Sections of other rooms\n\n");
        for (size_t i = 0; i < sizeof(section_docs) / sizeof(section_docs[0]); i++)
            r |= buf_printf(out, "- `%s:` %s\n", section_docs[i][0], section_docs[i][1]);
        return r ? -1 : 0;
    }
    r |= buf_appends(out, "# DO NOT EDIT — generated by scripts/gen.sh from src/core/config.c\n"
                          "# Every hybridgate option with its default and a one-line help. Top-level "
                          "options can also be\n# set as HYBRIDGATE_<NAME> environment variables. "
                          "`hybridgate check-config -c` accepts this file.\n\n"
                          "listen: 127.0.0.1:8080  # address and port\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].def)
            r |= buf_printf(out, "%s: %s  # %s\n", options[i].name, options[i].def,
                            options[i].help);
        else
            r |= buf_printf(out, "# %s:  # %s\n", options[i].name, options[i].help);
    }
    r |= buf_appends(out, "backends:\n");
    for (size_t i = 0; i < NBACKEND_KEYS; i++) {
        const struct backend_key *k = &backend_key_table[i];
        r |= buf_printf(out, "  %s%s%s: %s  # %s\n", i == 0 ? "- " : "  ", k->example ? "" : "# ",
                        k->name, k->example ? k->example : "", k->help);
    }
    r |= buf_appends(out, "aliases:\n"
                          "  local: TinyStories-656K-Q8_0  # alias: model\n"
                          "  story: {gpu-pool-a: TinyStories-656K-Q8_0}  # a logical model: its name on "
                          "each backend\n");
    for (size_t i = 0; i < sizeof(section_docs) / sizeof(section_docs[0]); i++)
        r |= buf_printf(out, "# %s: ...  # %s\n", section_docs[i][0], section_docs[i][1]);
    return r ? -1 : 0;
}
