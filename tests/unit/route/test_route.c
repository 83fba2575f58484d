/* SPDX-License-Identifier: MIT */
/* route_decide() as tables of cases: first-match order, every match kind and action, burst vs
 * queue, and the privacy invariant under saturation, open circuits, regions and trusted hosted
 * backends. Backend indices in the fixture: 0 gpu-a, 1 gpu-b, 2 legal-ft, 3 openai, 4 azure-eu,
 * 5 together. */
#include "route/route.h"

#include <stdlib.h>

#include "../test.h"
#include "core/record.h"
#include "core/json.h"
#include "route_fixture.h"

enum { GPU_A, GPU_B, LEGAL, OPENAI, AZURE, TOGETHER };

#define PII RECORD_CLASS_PII
#define PHI RECORD_CLASS_PHI
#define FIN RECORD_CLASS_FINANCIAL
#define SEC RECORD_CLASS_SECRET

typedef void view_fn(struct route_view *v);

static void
sat_a_queueable(struct route_view *v)
{
    v->b[GPU_A].inflight = 2;
}
static void
sat_ab_queue_a(struct route_view *v)
{
    v->b[GPU_A].inflight = 2;
    v->b[GPU_B].inflight = 2; /* gpu-b has max_queue 0: queue full */
}
static void
sat_ab_full(struct route_view *v)
{
    sat_ab_queue_a(v);
    v->b[GPU_A].queued = 2;
}
static void
full_a_slow_b(struct route_view *v)
{
    v->b[GPU_A].inflight = 2;
    v->b[GPU_B].queue_wait_ms = 5000; /* gpu-b has no SLO: not slow */
    v->b[GPU_A].ttft_ms = 3000;
}
static void
slow_a_full_b(struct route_view *v)
{
    v->b[GPU_A].ttft_ms = 3000; /* over SLO, slots free */
    v->b[GPU_B].inflight = 2;
    v->b[GPU_A].inflight = 0;
}
static void
slow_a(struct route_view *v)
{
    v->b[GPU_A].ttft_ms = 3000; /* slo is 2s */
}
static void
open_a(struct route_view *v)
{
    v->b[GPU_A].circuit = ROUTE_CIRCUIT_OPEN;
}
static void
open_ab(struct route_view *v)
{
    open_a(v);
    v->b[GPU_B].circuit = ROUTE_CIRCUIT_OPEN;
}
static void
open_a_down_b(struct route_view *v)
{
    open_a(v);
    v->b[GPU_B].down = true;
}
static void
half_open_busy_a(struct route_view *v)
{
    v->b[GPU_A].circuit = ROUTE_CIRCUIT_HALF_OPEN;
    v->b[GPU_A].probes_free = 0;
}
static void
half_open_free_a(struct route_view *v)
{
    v->b[GPU_A].circuit = ROUTE_CIRCUIT_HALF_OPEN;
    v->b[GPU_A].probes_free = 1;
}
static void
load_a(struct route_view *v)
{
    v->b[GPU_A].inflight = 1;
}
static void
load_b(struct route_view *v)
{
    v->b[GPU_B].inflight = 1;
}
static void
drift_a(struct route_view *v)
{
    strcpy(v->b[GPU_A].model, "llama-70b-v1");
    strcpy(v->b[GPU_B].model, "llama-70b-v2");
}

struct dcase {
    const char *name;     /* what the case shows */
    unsigned classes;     /* scanner classes */
    const char *entities; /* comma-separated, or NULL */
    const char *model;    /* requested model/alias */
    const char *key;      /* key id or NULL */
    const char *team;     /* team or NULL */
    const char *tags;     /* comma-separated, or NULL */
    size_t prompt_bytes;  /* prompt size */
    const char *text;     /* user text or NULL */
    view_fn *view;        /* live state, or NULL = idle */
    int reason;           /* expected reason */
    const char *rule;     /* expected rule name */
    int first;            /* expected cand[0] backend, -1 = none */
    int status;           /* expected status */
    int ncand;            /* expected candidate count, -1 = any */
};

#define N NULL
static const struct dcase cases[] = {
    /* default rule, least loaded, burst and queue */
    {"public idle -> default pool", 0, N, "llama-70b", N, N, N, 100, "hello", N,
     ROUTE_REASON_DEFAULT, "default", GPU_A, 0, 3},
    {"public, gpu-a loaded -> gpu-b", 0, N, "llama-70b", N, N, N, 100, N, load_a,
     ROUTE_REASON_DEFAULT, "default", GPU_B, 0, 3},
    {"public, gpu-a full -> gpu-b", 0, N, "llama-70b", N, N, N, 100, N, sat_a_queueable,
     ROUTE_REASON_DEFAULT, "default", GPU_B, 0, 3},
    {"public, gpu-a over TTFT SLO -> gpu-b", 0, N, "llama-70b", N, N, N, 100, N, slow_a,
     ROUTE_REASON_DEFAULT, "default", GPU_B, 0, 3},
    {"public, local saturated -> burst to together", 0, N, "llama-70b", N, N, N, 100, N,
     sat_ab_queue_a, ROUTE_REASON_BURST, "default", TOGETHER, 0, 2},
    {"public, local saturated, no queue room -> burst only", 0, N, "llama-70b", N, N, N, 100, N,
     sat_ab_full, ROUTE_REASON_BURST, "default", TOGETHER, 0, 1},
    {"public gpt-4o -> openai only", 0, N, "gpt-4o", N, N, N, 100, N, N, ROUTE_REASON_DEFAULT,
     "default", OPENAI, 0, 1},
    {"unknown model -> 404", 0, N, "nope", N, N, N, 100, N, N, ROUTE_REASON_UNKNOWN_MODEL,
     "default", -1, 404, 0},
    {"empty model -> 404", 0, N, "", N, N, N, 100, N, N, ROUTE_REASON_UNKNOWN_MODEL, "default", -1,
     404, 0},
    /* sensitive: queue, never burst to hosted, 503 */
    {"PHI idle -> local", PHI, N, "llama-70b", N, N, N, 100, N, N, ROUTE_REASON_SENSITIVE,
     "regulated-stays-local", GPU_A, 0, 2},
    {"PHI via alias", PHI, N, "smart", N, N, N, 100, N, N, ROUTE_REASON_SENSITIVE,
     "regulated-stays-local", GPU_A, 0, 2},
    {"PHI, local saturated -> queue on gpu-a", PHI, N, "llama-70b", N, N, N, 100, N, sat_ab_queue_a,
     ROUTE_REASON_QUEUE, "regulated-stays-local", GPU_A, 0, 1},
    {"PHI, local saturated, queues full -> 503", PHI, N, "llama-70b", N, N, N, 100, N, sat_ab_full,
     ROUTE_REASON_UNAVAILABLE, "regulated-stays-local", -1, 503, 0},
    {"PHI, a slow with a free slot, b full -> a, no queue", PHI, N, "llama-70b", N, N, N, 100, N,
     slow_a_full_b, ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_A, 0, 1},
    {"PHI, a full (queue room) and slow, b has room -> b", PHI, N, "llama-70b", N, N, N, 100, N,
     full_a_slow_b, ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_B, 0, 2},
    {"public, a slow, b full -> burst before slow a", 0, N, "llama-70b", N, N, N, 100, N,
     slow_a_full_b, ROUTE_REASON_BURST, "default", TOGETHER, 0, 2},
    {"PHI, gpu-a open -> gpu-b", PHI, N, "llama-70b", N, N, N, 100, N, open_a,
     ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_B, 0, 1},
    {"PHI, both open -> 503", PHI, N, "llama-70b", N, N, N, 100, N, open_ab,
     ROUTE_REASON_UNAVAILABLE, "regulated-stays-local", -1, 503, 0},
    {"PHI, a open, b down -> 503", FIN, N, "llama-70b", N, N, N, 100, N, open_a_down_b,
     ROUTE_REASON_UNAVAILABLE, "regulated-stays-local", -1, 503, 0},
    {"PHI, a half-open busy -> gpu-b", PHI, N, "llama-70b", N, N, N, 100, N, half_open_busy_a,
     ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_B, 0, 1},
    {"PHI, a half-open with a probe slot -> eligible", PHI, N, "llama-70b", N, N, N, 100, N,
     half_open_free_a, ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_A, 0, 2},
    {"PII asking for gpt-4o -> nothing local serves it -> 503", PII, N, "gpt-4o", N, N, N, 100, N,
     N, ROUTE_REASON_UNAVAILABLE, "regulated-stays-local", -1, 503, 0},
    /* reject actions, entity match (case-insensitive) */
    {"secret -> reject 422", SEC, N, "llama-70b", N, N, N, 100, N, N, ROUTE_REASON_REJECT,
     "block-secrets", -1, 422, 0},
    {"secret plus PHI -> first match is the reject", SEC | PHI, N, "llama-70b", N, N, N, 100, N, N,
     ROUTE_REASON_REJECT, "block-secrets", -1, 422, 0},
    {"US_SSN entity -> reject 403", PII, "EMAIL_ADDRESS,US_SSN", "llama-70b", N, N, N, 100, N, N,
     ROUTE_REASON_REJECT, "ssn-never", -1, 403, 0},
    {"entity prefix SECRET_* (no class reported) -> reject", 0, "SECRET_GITHUB_PAT", "llama-70b", N,
     N, N, 100, N, N, ROUTE_REASON_REJECT, "ssn-never", -1, 403, 0},
    {"other entity -> regulated", PII, "EMAIL_ADDRESS", "llama-70b", N, N, N, 100, N, N,
     ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_A, 0, 2},
    /* residency + trusted hosted */
    {"PII tagged eu -> trusted azure-eu allowed", PII, N, "gpt-4o", N, N, "x,eu", 100, N, N,
     ROUTE_REASON_SENSITIVE, "eu-regulated", AZURE, 0, 1},
    {"PII tagged eu, llama, gpu-a loaded -> azure-eu first", PII, N, "llama-70b", N, N, "eu", 100,
     N, load_a, ROUTE_REASON_SENSITIVE, "eu-regulated", AZURE, 0, 2},
    {"public tagged eu -> not matched (classes needed)", 0, N, "llama-70b", N, N, "eu", 100, N, N,
     ROUTE_REASON_DEFAULT, "default", GPU_A, 0, 3},
    /* mask */
    {"PII + summarize, idle -> self-hosted member first", PII, N, "llama-70b", N, N, "summarize",
     100, N, N, ROUTE_REASON_SENSITIVE, "summaries-masked", GPU_B, 0, 2},
    {"PII + summarize, gpu-b loaded -> masked to openai", PII, N, "llama-70b", N, N, "summarize",
     100, N, load_b, ROUTE_REASON_MASK, "summaries-masked", OPENAI, 0, 2},
    {"public + summarize -> mask rule", 0, N, "llama-70b", N, N, "summarize", 100, N, N,
     ROUTE_REASON_RULE, "summaries-masked", GPU_B, 0, 2},
    /* model pinning */
    {"pinned, gpu-a drifted -> gpu-b only", PHI, N, "llama-70b", N, N, "pinned", 100, N, drift_a,
     ROUTE_REASON_SENSITIVE, "pinned", GPU_B, 0, 1},
    {"pinned, nothing observed yet -> both", PHI, N, "llama-70b", N, N, "pinned", 100, N, N,
     ROUTE_REASON_SENSITIVE, "pinned", GPU_A, 0, 2},
    /* keywords and domains */
    {"keyword with whitespace run and case", 0, N, "llama-70b", N, N, N, 100,
     "Please review the FORCE \n majeure clause.", N, ROUTE_REASON_RULE, "contracts-to-finetune",
     LEGAL, 0, 1},
    {"keyword inside a longer word -> no match", 0, N, "llama-70b", N, N, N, 100,
     "indemnifications are plural", N, ROUTE_REASON_DEFAULT, "default", GPU_A, 0, 3},
    {"keyword at the very end", 0, N, "llama-70b", N, N, N, 100, "about indemnification", N,
     ROUTE_REASON_RULE, "contracts-to-finetune", LEGAL, 0, 1},
    {"sensitive + keyword -> regulated wins (order)", PII, N, "llama-70b", N, N, N, 100,
     "force majeure", N, ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_A, 0, 2},
    {"domain as subdomain in a URL", 0, N, "llama-70b", N, N, N, 100,
     "see https://wiki.corp.example.com/page", N, ROUTE_REASON_RULE, "internal-hosts", GPU_B, 0, 1},
    {"domain in an email address", 0, N, "llama-70b", N, N, N, 100, "mail bob@CORP.example.com", N,
     ROUTE_REASON_RULE, "internal-hosts", GPU_B, 0, 1},
    {"look-alike domain -> no match", 0, N, "llama-70b", N, N, N, 100,
     "corp.example.com.evil.io and notcorp.example.com", N, ROUTE_REASON_DEFAULT, "default", GPU_A,
     0, 3},
    /* team + model glob, key, prompt size */
    {"team research + gpt-4o-mini glob", 0, N, "gpt-4o-mini", N, "research", N, 100, N, N,
     ROUTE_REASON_RULE, "research-gpt", OPENAI, 0, 1},
    {"team research + llama -> default", 0, N, "llama-70b", N, "research", N, 100, N, N,
     ROUTE_REASON_DEFAULT, "default", GPU_A, 0, 3},
    {"batch key -> weighted gpu-b", 0, N, "llama-70b", "key-batch", N, N, 100, N, N,
     ROUTE_REASON_RULE, "batch-key", GPU_B, 0, 2},
    {"huge prompt -> together", 0, N, "llama-70b", N, N, N, 100000, N, N, ROUTE_REASON_RULE,
     "huge-prompts", TOGETHER, 0, 1},
    {"huge sensitive prompt -> regulated", FIN, N, "llama-70b", N, N, N, 100000, N, N,
     ROUTE_REASON_SENSITIVE, "regulated-stays-local", GPU_A, 0, 2},
};
#undef N

static size_t
split(const char *csv, struct str *out, size_t max)
{
    size_t n = 0;
    if (csv == NULL)
        return 0;
    const char *p = csv;
    while (*p && n < max) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        out[n].p = p;
        out[n].len = len;
        n++;
        p += len + (c ? 1 : 0);
    }
    return n;
}

static void
fill_input(const struct dcase *c, struct route_input *in, struct str *ents, struct str *tags,
           struct str *text)
{
    memset(in, 0, sizeof(*in));
    in->classes = c->classes;
    in->nentities = split(c->entities, ents, 8);
    in->entities = ents;
    in->model = str_from(c->model);
    in->key_id = str_from(c->key);
    in->team = str_from(c->team);
    in->ntags = split(c->tags, tags, 8);
    in->tags = tags;
    in->prompt_bytes = c->prompt_bytes;
    if (c->text) {
        *text = str_from(c->text);
        in->text = text;
        in->ntext = 1;
    }
}

/* The invariant, checked on every decision any test makes. */
static int
invariant_ok(const struct route_decision *d, const struct config *cfg)
{
    for (size_t i = 0; i < d->ncand; i++) {
        const struct route_candidate *c = &d->cand[i];
        if (c->mask && cfg->backends[c->backend].kind == BACKEND_HOSTED)
            continue; /* the send path re-checks the masked body */
        if (!route_backend_allowed(cfg, c->backend, d->classes, d->region))
            return 0;
    }
    return 1;
}

TEST(route, decision_table)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, route_fixture_yaml, &e) < 0)
        TEST_FAIL_("fixture: %s", e.msg);
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dcase *c = &cases[i];
        struct str ents[8], tags[8], text;
        struct route_input in;
        struct route_decision d;
        memset(f.view.b, 0, sizeof(f.view.b));
        if (c->view)
            c->view(&f.view);
        fill_input(c, &in, ents, tags, &text);
        int r = route_decide(&in, &f.view, &d);
        int first = d.ncand ? d.cand[0].backend : -1;
        if (r != c->reason || strcmp(d.rule_name, c->rule) || first != c->first ||
            d.status != c->status || (c->ncand >= 0 && (int)d.ncand != c->ncand) ||
            !invariant_ok(&d, &f.cfg) || (int)d.reason != r) {
            fprintf(stderr,
                    "  case %zu '%s': got reason=%s rule=%s first=%d status=%d ncand=%zu (%s); "
                    "want reason=%s rule=%s first=%d status=%d ncand=%d\n",
                    i, c->name, route_reason_name(d.reason), d.rule_name, first, d.status, d.ncand,
                    d.message, route_reason_name(c->reason), c->rule, c->first, c->status,
                    c->ncand);
            bad++;
        }
    }
    route_fixture_cleanup(&f);
    ASSERT_EQ(bad, 0);
}

TEST(route, decision_details)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, route_fixture_yaml, &e) < 0)
        TEST_FAIL_("fixture: %s", e.msg);
    struct route_input in = {0};
    struct route_decision d;
    /* contracts rule overrides the upstream model */
    struct str t = STR_LIT("the force majeure clause");
    in.model = STR_LIT("llama-70b");
    in.text = &t;
    in.ntext = 1;
    route_decide(&in, &f.view, &d);
    ASSERT_STR(d.cand[0].model, "legal-llama");
    ASSERT_EQ(d.why[OPENAI], ROUTE_WHY_NOT_IN_POOL);
    /* mask rule: the hosted candidate is marked for masking, the model override applies */
    struct str tag = STR_LIT("summarize");
    memset(&in, 0, sizeof(in));
    in.classes = PII;
    in.model = STR_LIT("llama-70b");
    in.tags = &tag;
    in.ntags = 1;
    route_decide(&in, &f.view, &d);
    ASSERT_TRUE(d.mask);
    ASSERT_EQ(d.cand[1].backend, OPENAI);
    ASSERT_TRUE(d.cand[1].mask);
    ASSERT_FALSE(d.cand[0].mask);
    ASSERT_STR(d.cand[1].model, "gpt-4o-mini");
    /* the send path refuses openai unless the re-scan of the masked body is clean */
    ASSERT_FALSE(route_backend_allowed(&f.cfg, OPENAI, PII, d.region));
    ASSERT_TRUE(route_backend_allowed(&f.cfg, OPENAI, 0, d.region));
    /* the send-path iterator: masked candidates need a clean re-scan */
    size_t pos = 0;
    load_b(&f.view);
    route_decide(&in, &f.view, &d);
    ASSERT_EQ(d.cand[0].backend, OPENAI);
    ASSERT_EQ(route_next_candidate(&d, &f.cfg, &pos, ROUTE_CLASSES_UNKNOWN), 1); /* gpu-b */
    ASSERT_EQ(route_next_candidate(&d, &f.cfg, &pos, ROUTE_CLASSES_UNKNOWN), -1);
    pos = 0;
    ASSERT_EQ(route_next_candidate(&d, &f.cfg, &pos, PII), 1); /* re-scan still finds PII */
    pos = 0;
    ASSERT_EQ(route_next_candidate(&d, &f.cfg, &pos, 0), 0); /* clean masked body: openai */
    ASSERT_EQ(route_next_candidate(&d, &f.cfg, &pos, 0), 1);
    ASSERT_EQ(route_next_candidate(&d, &f.cfg, &pos, 0), -1);
    memset(f.view.b, 0, sizeof(f.view.b));
    /* sensitive queue: why bits of the saturated replica */
    memset(&in, 0, sizeof(in));
    in.classes = PHI;
    in.model = STR_LIT("llama-70b");
    sat_ab_queue_a(&f.view);
    route_decide(&in, &f.view, &d);
    ASSERT_TRUE(d.queue);
    ASSERT_TRUE(d.cand[0].saturated);
    ASSERT_EQ(d.why[GPU_B], ROUTE_WHY_QUEUE_FULL);
    ASSERT_EQ(d.why[TOGETHER], ROUTE_WHY_NOT_IN_POOL | ROUTE_WHY_SENSITIVE_HOSTED);
    ASSERT_TRUE(d.why[OPENAI] & ROUTE_WHY_NOT_IN_POOL);
    /* failover list of the rule */
    ASSERT_TRUE(route_should_failover(&d, ROUTE_FT_ERROR));
    ASSERT_FALSE(route_should_failover(&d, ROUTE_FT_HTTP_503));
    ASSERT_FALSE(route_should_failover(&d, 0));
    /* 503 message names the rule and each backend's reason */
    sat_ab_full(&f.view);
    route_decide(&in, &f.view, &d);
    ASSERT_EQ(d.status, 503);
    ASSERT_STR(d.err_type, HG_ERR_UNAVAILABLE);
    ASSERT_TRUE(strstr(d.message, "sensitive data (phi)") != NULL);
    ASSERT_TRUE(strstr(d.message, "gpu-a=queue_full") != NULL);
    ASSERT_TRUE(strstr(d.message, "gpu-b=queue_full") != NULL);
    /* default failover set */
    memset(f.view.b, 0, sizeof(f.view.b));
    in.classes = 0;
    route_decide(&in, &f.view, &d);
    ASSERT_TRUE(route_should_failover(&d, route_ft_classify(503, false, false)));
    ASSERT_TRUE(route_should_failover(&d, route_ft_classify(0, true, false)));
    ASSERT_TRUE(route_should_failover(&d, route_ft_classify(500, false, false))); /* issue 3: 5xx */
    ASSERT_EQ(route_ft_classify(200, false, false), 0);
    route_fixture_cleanup(&f);
}

/* Random views and inputs: no candidate outside the invariant, ever. */
TEST(route, invariant_sweep)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, route_fixture_yaml, &e) < 0)
        TEST_FAIL_("fixture: %s", e.msg);
    static const char *const models[] = {"llama-70b", "gpt-4o", "gpt-4o-mini", "smart",
                                         "legal-llama"};
    static const char *const tagset[] = {"eu", "summarize", "pinned", "x"};
    static const char *const texts[] = {"force majeure", "corp.example.com", "plain"};
    unsigned seed = 12345;
    int violations = 0, sensitive_hosted = 0;
    for (int it = 0; it < 20000; it++) {
        struct route_input in = {0};
        struct route_decision d;
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        in.classes = r & 0xf;
        in.model = str_from(models[(r >> 4) % 5]);
        struct str tag = str_from(tagset[(r >> 7) % 4]);
        in.tags = &tag;
        in.ntags = (r >> 9) & 1;
        struct str text = str_from(texts[(r >> 10) % 3]);
        in.text = &text;
        in.ntext = 1;
        in.prompt_bytes = (r >> 12) & 1 ? 100000 : 10;
        in.seed = r;
        for (size_t b = 0; b < f.cfg.nbackends; b++) {
            seed = seed * 1103515245u + 12345u;
            unsigned s = seed >> 8;
            struct route_backend_view *v = &f.view.b[b];
            memset(v, 0, sizeof(*v));
            v->inflight = (int)(s % 4);
            v->queued = (int)((s >> 2) % 3);
            v->circuit = (enum route_circuit)((s >> 4) % 3);
            v->probes_free = (int)((s >> 6) & 1);
            v->down = ((s >> 7) & 7) == 0;
            v->ttft_ms = ((s >> 10) & 1) ? 5000 : 100;
            v->error_rate = ((s >> 11) & 3) / 4.0;
        }
        route_decide(&in, &f.view, &d);
        if (!invariant_ok(&d, &f.cfg))
            violations++;
        for (size_t i = 0; i < d.ncand; i++)
            if (d.sensitive && !d.cand[i].mask &&
                f.cfg.backends[d.cand[i].backend].kind == BACKEND_HOSTED &&
                d.cand[i].backend != AZURE)
                sensitive_hosted++;
        if (d.status == 0 && d.ncand == 0)
            violations++;
        /* what the send path would actually use, before masking: never a hosted backend for
         * sensitive data except the trusted one in the rule's region */
        size_t pos = 0;
        int ci;
        while ((ci = route_next_candidate(&d, &f.cfg, &pos, ROUTE_CLASSES_UNKNOWN)) >= 0) {
            int b = d.cand[ci].backend;
            if (d.sensitive && f.cfg.backends[b].kind == BACKEND_HOSTED &&
                !(b == AZURE && d.region && !strcmp(d.region, "eu")))
                violations++;
        }
    }
    route_fixture_cleanup(&f);
    ASSERT_EQ(violations, 0);
    ASSERT_EQ(sensitive_hosted, 0);
}

/* Air-gap: even if a hosted backend slipped into the config, nothing goes there. */
TEST(route, airgap_blocks_hosted)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, route_fixture_yaml, &e) < 0)
        TEST_FAIL_("fixture: %s", e.msg);
    f.cfg.airgap = true; /* config_load refuses this combination; force it */
    struct route_input in = {0};
    struct route_decision d;
    in.model = STR_LIT("gpt-4o");
    route_decide(&in, &f.view, &d);
    ASSERT_EQ(d.status, 503);
    ASSERT_TRUE(d.why[OPENAI] & ROUTE_WHY_AIRGAP);
    in.model = STR_LIT("llama-70b");
    sat_ab_full(&f.view);
    route_decide(&in, &f.view, &d);
    ASSERT_EQ(d.status, 503); /* no burst to together */
    ASSERT_TRUE(d.why[TOGETHER] & ROUTE_WHY_AIRGAP);
    for (int b = 0; b < 6; b++)
        ASSERT_EQ(route_backend_allowed(&f.cfg, b, 0, NULL), b <= LEGAL);
    ASSERT_FALSE(route_backend_allowed(&f.cfg, AZURE, PHI, "eu"));
    ASSERT_FALSE(route_backend_allowed(&f.cfg, 99, 0, NULL));
    ASSERT_FALSE(route_backend_allowed(&f.cfg, -1, 0, NULL));
    route_fixture_cleanup(&f);
}

TEST(route, backend_allowed_table)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, route_fixture_yaml, &e) < 0)
        TEST_FAIL_("fixture: %s", e.msg);
    static const struct {
        int backend;
        unsigned classes;
        const char *region;
        bool want;
    } t[] =
        {
            {GPU_A, PHI | SEC, NULL, true}, {OPENAI, 0, NULL, true},
            {OPENAI, PII, NULL, false},     {OPENAI, PII, "us", false}, /* not trusted */
            {AZURE, PII, NULL, false},      {AZURE, PII, "us", false},
            {AZURE, PII, "eu", true},       {TOGETHER, FIN, "eu", false},
            {TOGETHER, 0x10, NULL, true}, /* unknown bits are not a class */
        };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ASSERT_EQ(route_backend_allowed(&f.cfg, t[i].backend, t[i].classes, t[i].region),
                  t[i].want);
    route_fixture_cleanup(&f);
}

TEST(route, synthesized_default)
{
    const char *y = "backends:\n"
                    "  - {name: local, kind: self_hosted, base_url: 'http://a/v1', models: [m], "
                    "max_concurrency: 1}\n"
                    "  - {name: cloud, kind: hosted, base_url: 'https://b/v1', models: [m, big]}\n";
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, y, &e) < 0)
        TEST_FAIL_("load: %s", e.msg);
    ASSERT_EQ(route_config_nrules(f.rc), 2);
    ASSERT_STR(route_config_rule_name(f.rc, 0), "sensitive-local");
    struct route_input in = {0};
    struct route_decision d;
    in.model = STR_LIT("m");
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_DEFAULT);
    ASSERT_EQ(d.cand[0].backend, 0);
    ASSERT_EQ(d.ncand, 2);
    ASSERT_TRUE(d.cand[1].burst);
    in.classes = PHI;
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_SENSITIVE);
    ASSERT_EQ(d.ncand, 1);
    f.view.b[0].inflight = 1; /* saturated, no queue */
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_UNAVAILABLE);
    in.classes = 0;
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_BURST);
    ASSERT_EQ(d.cand[0].backend, 1);
    in.model = STR_LIT("big");
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_BURST);
    in.classes = SEC;
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_UNAVAILABLE);
    ASSERT_TRUE(strstr(d.message, "sensitive data (secret)") != NULL);
    route_fixture_cleanup(&f);

    /* hosted only: public traffic works, sensitive gets 503 */
    const char *h = "backends:\n"
                    "  - {name: cloud, kind: hosted, base_url: 'https://b/v1', models: [m]}\n";
    if (route_fixture_load(&f, h, &e) < 0)
        TEST_FAIL_("load: %s", e.msg);
    in.model = STR_LIT("m");
    in.classes = 0;
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_DEFAULT);
    ASSERT_FALSE(d.cand[0].burst);
    in.classes = PII;
    ASSERT_EQ(route_decide(&in, &f.view, &d), ROUTE_REASON_UNAVAILABLE);
    ASSERT_EQ(d.status, 503);
    route_fixture_cleanup(&f);
}

TEST(route, header_and_explain)
{
    struct route_fixture f;
    struct hg_err e = {0};
    if (route_fixture_load(&f, route_fixture_yaml, &e) < 0)
        TEST_FAIL_("fixture: %s", e.msg);
    struct route_input in = {0};
    struct route_decision d;
    in.classes = PHI | PII;
    in.model = STR_LIT("llama-70b");
    route_decide(&in, &f.view, &d);
    char hv[128];
    route_header_value(&d, &f.cfg, d.cand[0].backend, hv, sizeof(hv));
    ASSERT_STR(hv, "regulated-stays-local; backend=gpu-a; reason=sensitive");
    route_header_value(&d, &f.cfg, -1, hv, sizeof(hv));
    ASSERT_STR(hv, "regulated-stays-local; backend=none; reason=sensitive");

    struct buf b;
    buf_init(&b, 1 << 20);
    ASSERT_EQ(route_explain_json(&d, &f.view, "\"entities\":[]", &b), 0);
    cJSON *j = json_parse(b.p, b.len);
    ASSERT_TRUE(j != NULL);
    ASSERT_STR(json_get_str(j, "rule"), "regulated-stays-local");
    ASSERT_STR(json_get_str(j, "reason"), "sensitive");
    const cJSON *cl = cJSON_GetObjectItem(j, "classes");
    ASSERT_EQ(cJSON_GetArraySize(cl), 2);
    ASSERT_STR(cJSON_GetArrayItem(cl, 0)->valuestring, "pii");
    const cJSON *cands = cJSON_GetObjectItem(j, "candidates");
    ASSERT_EQ(cJSON_GetArraySize(cands), 2);
    const cJSON *bs = cJSON_GetObjectItem(j, "backends");
    ASSERT_EQ(cJSON_GetArraySize(bs), 6);
    const cJSON *oa = cJSON_GetArrayItem(bs, OPENAI);
    ASSERT_STR(json_get_str(oa, "backend"), "openai");
    ASSERT_FALSE(json_get_bool(oa, "eligible", true));
    const cJSON *why = cJSON_GetObjectItem(oa, "why");
    ASSERT_STR(cJSON_GetArrayItem(why, 0)->valuestring, "not_in_pool");
    ASSERT_TRUE(cJSON_GetObjectItem(j, "entities") != NULL);
    cJSON_Delete(j);

    /* a reject explains itself too */
    in.classes = SEC;
    route_decide(&in, &f.view, &d);
    buf_reset(&b);
    ASSERT_EQ(route_explain_json(&d, &f.view, NULL, &b), 0);
    j = json_parse(b.p, b.len);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ(json_get_num(j, "status", 0), 422);
    ASSERT_STR(json_get_str(j, "message"), "secrets must not be sent to a model");
    cJSON_Delete(j);
    buf_cleanup(&b);
    route_fixture_cleanup(&f);
}

TEST(route, names)
{
    ASSERT_STR(route_reason_name(ROUTE_REASON_BURST), "burst");
    ASSERT_STR(route_reason_name(ROUTE_REASON_UNKNOWN_MODEL), "unknown_model");
    ASSERT_STR(route_action_name(ROUTE_ACTION_MASK), "mask");
    ASSERT_STR(route_circuit_name(ROUTE_CIRCUIT_HALF_OPEN), "half_open");
    ASSERT_STR(route_why_name(ROUTE_WHY_SENSITIVE_HOSTED), "sensitive_hosted");
    ASSERT_STR(route_why_name(ROUTE_WHY_HALF_OPEN_BUSY), "half_open_busy");
    ASSERT_STR(route_class_name(RECORD_CLASS_FINANCIAL), "financial");
    for (int i = 0; i < ROUTE_WHY_COUNT; i++)
        ASSERT_TRUE(strcmp(route_why_name(1u << i), "unknown") != 0);
}
