/* SPDX-License-Identifier: MIT */
/* route_config_load(): the errors check-config prints (with file:line), including the privacy
 * check that rejects a rule able to send sensitive data to an untrusted hosted backend, and the
 * configs it must accept (mask, sensitive: false, trusted in region, the docs' examples). */
#include "route/route.h"

#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "core/record.h"
#include "route_fixture.h"

/* Lines 1-5; rules start on line 6. */
static const char base[] =
    "backends:\n"
    "  - {name: gpu, kind: self_hosted, base_url: 'http://x/v1', models: [m]}\n"
    "  - {name: openai, kind: hosted, base_url: 'https://o/v1', models: [m]}\n"
    "  - {name: azure, kind: hosted, trusted: true, region: eu, base_url: 'https://a/v1', models: "
    "[m]}\n"
    "routing:\n";

struct ccase {
    const char *name;  /* what is wrong */
    const char *rules; /* appended to base */
    int line;          /* expected error line, 0 = must load */
    const char *want;  /* substring of the message */
};

static const struct ccase ccases[] = {
    {"hosted in the default, nothing caught before", /* 6 */
     "  - name: default\n"
     "    route: {pool: [gpu, openai]}\n",
     7,
     "rule 'default' can receive sensitive data (pii, phi, financial, secret) and would send "
     "it to hosted backend 'openai' (not trusted)"},
    {"only phi caught before: the rest can still reach the default",
     "  - name: phi\n"
     "    match: {classes: [phi]}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route:\n"
     "      pool: [gpu]\n"
     "      burst_to:\n"
     "        - openai\n",
     13, "(pii, financial, secret)"},
    {"a rule with extra conditions does not catch its classes",
     "  - name: phi-eu\n"
     "    match: {classes: [any], tags: [x]}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route: {pool: [openai]}\n",
     10, "hosted backend 'openai'"},
    {"a rule that matches sensitive classes and routes to hosted",
     "  - name: fin\n"
     "    match: {classes: [financial]}\n"
     "    route: {pool: [openai]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     8, "rule 'fin' can receive sensitive data (financial)"},
    {"trusted but the rule has no require_region",
     "  - name: s\n"
     "    match: {sensitive: true}\n"
     "    route: {pool: [azure]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     8, "trusted, but the rule has no require_region"},
    {"trusted in another region",
     "  - name: s\n"
     "    match: {sensitive: true}\n"
     "    route: {pool: [azure]}\n"
     "    require_region: us\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     8, "trusted, but in another region"},
    {"last rule has a match",
     "  - name: a\n"
     "    match: {sensitive: false}\n"
     "    route: {pool: [gpu]}\n",
     6, "end the list with a default rule"},
    {"default rule in the middle",
     "  - name: a\n"
     "    route: {pool: [gpu]}\n"
     "  - name: b\n"
     "    route: {pool: [gpu]}\n",
     6, "only the last rule may be the default"},
    {"unknown backend",
     "  - name: default\n"
     "    route: {pool: [gpu, nope]}\n",
     7, "unknown backend 'nope'"},
    {"backend twice",
     "  - name: default\n"
     "    route: {pool: [gpu], burst_to: [gpu]}\n",
     7, "lists backend 'gpu' twice"},
    {"typo in a match key",
     "  - name: a\n"
     "    match: {keyword: [x]}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     7, "unknown option 'keyword'"},
    {"unknown class",
     "  - name: a\n"
     "    match: {classes: [health]}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     7, "unknown class"},
    {"keyword too short",
     "  - name: a\n"
     "    match: {keywords: [ai]}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     7, "shorter than 3"},
    {"two actions",
     "  - name: default\n"
     "    route: {pool: [gpu]}\n"
     "    reject: no\n",
     6, "exactly one action"},
    {"no action",
     "  - name: default\n"
     "    require_region: eu\n",
     6, "exactly one action"},
    {"duplicate rule name",
     "  - name: a\n"
     "    match: {sensitive: true}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: a\n"
     "    route: {pool: [gpu]}\n",
     9, "duplicate rule name 'a'"},
    {"bad rule name",
     "  - name: 'a b'\n"
     "    route: {pool: [gpu]}\n",
     6, "rule name 'a b'"},
    {"empty match",
     "  - name: default\n"
     "    match: {}\n"
     "    route: {pool: [gpu]}\n",
     7, "'match' is empty"},
    {"prompt_size min > max",
     "  - name: a\n"
     "    match: {prompt_size: {min: 2KiB, max: 1KiB}}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     7, "min is larger than max"},
    {"bad failover condition",
     "  - name: default\n"
     "    route: {pool: [gpu]}\n"
     "    failover: [sometimes]\n",
     8, "unknown failover condition"},
    {"reject status out of range",
     "  - name: default\n"
     "    reject: {message: no, status: 200}\n",
     7, "status"},
    {"routing is a scalar", "  oops\n", 6, "must be a list of rules"},
    {"empty rule list", "  []\n", 6, "has no rules"},
    {"unknown routing map key", "  rulez: []\n", 6, "unknown option 'rulez'"},
    /* accepted */
    {"mask may list hosted backends",
     "  - name: default\n"
     "    mask: {pool: [gpu, openai]}\n",
     0, NULL},
    {"sensitive: false may list hosted backends",
     "  - name: public\n"
     "    match: {sensitive: false}\n"
     "    route: {pool: [openai]}\n"
     "  - name: default\n"
     "    route: {pool: [gpu]}\n",
     0, NULL},
    {"classes caught by reject and route, then hosted",
     "  - name: no-secrets\n"
     "    match: {classes: [secret]}\n"
     "    reject: no secrets\n"
     "  - name: local\n"
     "    match: {classes: [pii, phi, financial]}\n"
     "    route: {pool: [gpu]}\n"
     "  - name: default\n"
     "    route: {pool: [{backend: gpu, weight: 3}, {backend: openai, model: m}]}\n",
     0, NULL},
    {"trusted hosted in its region",
     "  - name: s\n"
     "    match: {sensitive: true}\n"
     "    route: {pool: [azure, gpu]}\n"
     "    require_region: eu\n"
     "  - name: default\n"
     "    route: {pool: {gpu: 2, openai: 1}}\n",
     0, NULL},
    {"map form with circuit breaker settings",
     "  circuit_breaker: {failures: 3, cooldown: 2s, probes: 2, error_rate: 0.3, min_samples: 5}\n"
     "  ewma_alpha: 0.5\n"
     "  rules:\n"
     "    - name: default\n"
     "      route: {pool: [gpu]}\n",
     0, NULL},
};

static int
load_text(const char *rules, struct route_fixture *f, struct hg_err *e)
{
    char y[4096];
    snprintf(y, sizeof(y), "%s%s", base, rules);
    return route_fixture_load(f, y, e);
}

TEST(route_config, errors_and_accepts)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
        const struct ccase *c = &ccases[i];
        struct route_fixture f;
        struct hg_err e = {0};
        int r = load_text(c->rules, &f, &e);
        char loc[32];
        snprintf(loc, sizeof(loc), "t.yaml:%d: ", c->line);
        if (c->line == 0) {
            if (r != 0) {
                fprintf(stderr, "  case '%s': expected to load, got: %s\n", c->name, e.msg);
                bad++;
            } else {
                route_fixture_cleanup(&f);
            }
            continue;
        }
        if (r == 0) {
            fprintf(stderr, "  case '%s': loaded, expected an error\n", c->name);
            route_fixture_cleanup(&f);
            bad++;
        } else if (strncmp(e.msg, loc, strlen(loc)) != 0 || strstr(e.msg, c->want) == NULL ||
                   strstr(e.msg, ">>> ") == NULL) {
            fprintf(stderr, "  case '%s': want '%s...%s', got: %s\n", c->name, loc, c->want, e.msg);
            bad++;
        }
    }
    ASSERT_EQ(bad, 0);
}

TEST(route_config, map_form_params)
{
    struct route_fixture f;
    struct hg_err e = {0};
    int r = load_text("  circuit_breaker: {failures: 3, cooldown: 2s, probes: 2}\n"
                      "  rules:\n"
                      "    - name: default\n"
                      "      route: {pool: [gpu]}\n",
                      &f, &e);
    if (r < 0)
        TEST_FAIL_("%s", e.msg);
    const struct route_health_params *p = route_config_health(f.rc);
    ASSERT_EQ(p->failure_threshold, 3);
    ASSERT_EQ(p->cooldown_ms, 2000);
    ASSERT_EQ(p->half_open_probes, 2);
    ASSERT_NEAR(p->ewma_alpha, 0.2, 1e-9);
    route_fixture_cleanup(&f);
}

/* The worked examples of docs/routing.md load as written. */
TEST(route_config, doc_examples)
{
    static const char *const files[] = {"tests/route/clinic.yaml", "tests/route/bank.yaml",
                                        "tests/route/logistics.yaml"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct config cfg;
        struct hg_err e = {0};
        struct route_config *rc = NULL;
        if (config_load(&cfg, files[i], &e) < 0)
            TEST_FAIL_("%s: %s", files[i], e.msg);
        int r = route_config_load(cfg_get(cfg.doc.root, "routing"), &cfg, &rc, &e);
        if (r < 0) {
            config_cleanup(&cfg);
            TEST_FAIL_("%s", e.msg);
        }
        ASSERT_TRUE(route_config_nrules(rc) >= 2);
        route_config_free(rc);
        config_cleanup(&cfg);
    }
}

/* The behaviour docs/routing.md promises for each worked example. */
struct scase {
    const char *file;     /* fixture */
    unsigned classes;     /* scanner classes */
    const char *model;    /* requested */
    const char *team;     /* or NULL */
    const char *tag;      /* or NULL */
    const char *text;     /* or NULL */
    int busy;             /* 0 idle, 1 first two backends full (queue room), 2 first slow */
    const char *rule;     /* expected rule */
    const char *reason;   /* expected reason name */
    const char *backend;  /* expected first candidate, NULL = none */
    const char *upstream; /* expected upstream model, NULL = don't check */
};

static const struct scase scases[] = {
    {"clinic", RECORD_CLASS_PHI, "general", NULL, NULL, NULL, 0, "phi-stays-local", "sensitive",
     "ward-gpu-1", "meditron-70b"},
    {"clinic", RECORD_CLASS_PHI, "clinical", NULL, NULL, NULL, 1, "phi-stays-local", "queue",
     "ward-gpu-1", "meditron-70b"},
    {"clinic", 0, "clinical", NULL, NULL, "Draft the Discharge Summary for bed 4", 0,
     "clinical-words-local", "rule", "ward-gpu-1", NULL},
    {"clinic", 0, "clinical", NULL, NULL, "rota for next week", 1, "default", "burst", "openai",
     "gpt-4o-mini"},
    {"clinic", RECORD_CLASS_SECRET, "clinical", NULL, NULL, NULL, 0, "no-credentials", "reject",
     NULL, NULL},
    {"bank", 0, "assistant", NULL, "faq", NULL, 0, "public-faq-cloud", "rule", "openai",
     "gpt-4o-mini"},
    {"bank", RECORD_CLASS_FINANCIAL, "assistant", NULL, "faq", NULL, 0, "customer-data-local",
     "sensitive", "core-gpu-a", "qwen2.5-72b-instruct"},
    {"bank", RECORD_CLASS_PII, "assistant", "kyc", NULL, NULL, 0, "kyc-documents-eu", "sensitive",
     "azure-eu", "gpt-4o"},
    {"bank", RECORD_CLASS_FINANCIAL, "assistant", "kyc", NULL, NULL, 0, "customer-data-local",
     "sensitive", "core-gpu-a", NULL},
    {"bank", 0, "assistant", NULL, NULL, "why does ledger.bank.internal time out?", 0,
     "internal-systems-local", "rule", "core-gpu-a", NULL},
    {"bank", 0, "assistant", NULL, NULL, "hello", 1, "default", "burst", "openai", "gpt-4o-mini"},
    {"logistics", 0, "llama-8b", NULL, NULL, "where is my parcel", 1, "default", "burst",
     "together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"},
    {"logistics", RECORD_CLASS_PII, "llama-8b", NULL, NULL, NULL, 1, "customer-data-local", "queue",
     "dc1-a", "llama-3.1-8b-instruct"},
    {"logistics", 0, "llama-8b", NULL, NULL, "ETA?", 2, "default", "default", "dc1-b", NULL},
    {"logistics", 0, "llama-8b", NULL, NULL, "check the Bill of Lading and HS code", 0,
     "customs-finetune", "rule", "customs-ft", "customs-llama-8b"},
};

TEST(route_config, doc_example_behaviour)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
        const struct scase *c = &scases[i];
        char path[64];
        snprintf(path, sizeof(path), "tests/route/%s.yaml", c->file);
        struct route_fixture f;
        struct hg_err e = {0};
        memset(&f, 0, sizeof(f));
        if (config_load(&f.cfg, path, &e) < 0)
            TEST_FAIL_("%s", e.msg);
        if (route_config_load(cfg_get(f.cfg.doc.root, "routing"), &f.cfg, &f.rc, &e) < 0) {
            config_cleanup(&f.cfg);
            TEST_FAIL_("%s", e.msg);
        }
        f.view.cfg = &f.cfg;
        f.view.rc = f.rc;
        f.view.nbackends = f.cfg.nbackends;
        if (c->busy == 1) {
            f.view.b[0].inflight = f.cfg.backends[0].max_concurrency;
            f.view.b[1].inflight = f.cfg.backends[1].max_concurrency;
        } else if (c->busy == 2) {
            f.view.b[0].ttft_ms = f.cfg.backends[0].ttft_slo_ms + 500;
        }
        struct route_input in = {0};
        struct str tag = str_from(c->tag), text = str_from(c->text);
        in.classes = c->classes;
        in.model = str_from(c->model);
        in.team = str_from(c->team);
        in.tags = &tag;
        in.ntags = c->tag ? 1 : 0;
        in.text = &text;
        in.ntext = c->text ? 1 : 0;
        struct route_decision d;
        route_decide(&in, &f.view, &d);
        const char *got = d.ncand ? f.cfg.backends[d.cand[0].backend].name : NULL;
        bool ok = !strcmp(d.rule_name, c->rule) && !strcmp(route_reason_name(d.reason), c->reason);
        ok = ok && ((got == NULL && c->backend == NULL) ||
                    (got && c->backend && !strcmp(got, c->backend)));
        ok = ok && (c->upstream == NULL || (d.ncand && !strcmp(d.cand[0].model, c->upstream)));
        if (!ok) {
            fprintf(stderr, "  scenario %zu (%s): got %s/%s/%s/%s (%s)\n", i, c->file, d.rule_name,
                    route_reason_name(d.reason), got ? got : "-", d.ncand ? d.cand[0].model : "-",
                    d.message);
            bad++;
        }
        route_fixture_cleanup(&f);
    }
    ASSERT_EQ(bad, 0);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    size_t r;
    while ((r = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap)
            p = realloc(p, cap *= 2);
    }
    fclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

/* docs/routing.md quotes the fixtures verbatim, so the docs' configs are the tested ones. */
TEST(route_config, docs_quote_fixtures)
{
    size_t dl;
    char *doc = slurp("docs/routing.md", &dl);
    if (doc == NULL)
        TEST_FAIL_("docs/routing.md not found (run from the repository root)");
    int seen = 0;
    const char *mark = "<!-- fixture: ";
    for (char *m = strstr(doc, mark); m; m = strstr(m + 1, mark)) {
        char path[128];
        const char *pe = strstr(m, " -->");
        size_t pl = (size_t)(pe - (m + strlen(mark)));
        ASSERT_TRUE(pe != NULL && pl < sizeof(path));
        memcpy(path, m + strlen(mark), pl);
        path[pl] = '\0';
        const char *open = strstr(pe, "```yaml\n");
        ASSERT_TRUE(open != NULL);
        open += strlen("```yaml\n");
        const char *close = strstr(open, "```");
        ASSERT_TRUE(close != NULL);
        size_t fl;
        char *file = slurp(path, &fl);
        if (file == NULL)
            TEST_FAIL_("%s not found", path);
        bool same = fl == (size_t)(close - open) && memcmp(file, open, fl) == 0;
        free(file);
        if (!same) {
            free(doc);
            TEST_FAIL_("docs/routing.md differs from %s", path);
        }
        seen++;
    }
    free(doc);
    ASSERT_EQ(seen, 3);
}
