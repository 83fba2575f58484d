/* SPDX-License-Identifier: MIT */
/* Shared by the route unit suites: a gateway config with self-hosted, hosted, trusted-hosted and
 * hosted-open backends and a rule list that exercises every match kind and action. */
#ifndef HG_TEST_ROUTE_FIXTURE_H
#define HG_TEST_ROUTE_FIXTURE_H

#include <string.h>

#include "core/config.h"
#include "route/route.h"

static const char route_fixture_yaml[] =
    "backends:\n"
    "  - {name: gpu-a, kind: self_hosted, base_url: 'http://10.0.0.1:8000/v1', models: "
    "[llama-70b], max_concurrency: 2, max_queue: 2, region: eu, ttft_slo: 2s}\n"
    "  - {name: gpu-b, kind: self_hosted, base_url: 'http://10.0.0.2:8000/v1', models: "
    "[llama-70b], max_concurrency: 2, region: eu}\n"
    "  - {name: legal-ft, kind: self_hosted, base_url: 'http://10.0.0.3:8000/v1', models: "
    "[legal-llama]}\n"
    "  - {name: openai, kind: hosted, base_url: 'https://api.openai.com/v1', models: "
    "[gpt-4o, gpt-4o-mini], region: us}\n"
    "  - {name: azure-eu, kind: hosted, trusted: true, region: eu, base_url: "
    "'https://x.openai.azure.com/v1', models: [gpt-4o, llama-70b]}\n"
    "  - {name: together, kind: hosted, base_url: 'https://api.together.xyz/v1', models: "
    "[llama-70b]}\n"
    "aliases:\n"
    "  smart: llama-70b\n"
    "routing:\n"
    "  - name: block-secrets\n"
    "    match: {classes: [secret]}\n"
    "    reject: {message: 'secrets must not be sent to a model', status: 422}\n"
    "  - name: ssn-never\n"
    "    match: {entities: [us_ssn, 'SECRET_*']}\n"
    "    reject: 'US social security numbers are not accepted'\n"
    "  - name: eu-regulated\n"
    "    match: {classes: [phi, pii, financial], tags: [eu]}\n"
    "    route: {pool: [azure-eu, gpu-a]}\n"
    "    require_region: eu\n"
    "  - name: summaries-masked\n"
    "    match: {tags: [summarize]}\n"
    "    mask: {pool: [openai, gpu-b], model: gpt-4o-mini}\n"
    "  - name: pinned\n"
    "    match: {classes: [any], tags: [pinned]}\n"
    "    route: {pool: [gpu-a, gpu-b]}\n"
    "    require_model_version: llama-70b-v2\n"
    "  - name: regulated-stays-local\n"
    "    match: {classes: [phi, pii, financial]}\n"
    "    route: {pool: [gpu-a, gpu-b]}\n"
    "    failover: [error, timeout]\n"
    "  - name: contracts-to-finetune\n"
    "    match: {keywords: [indemnification, force majeure]}\n"
    "    route: {pool: [legal-ft], model: legal-llama}\n"
    "  - name: internal-hosts\n"
    "    match: {domains: [corp.example.com]}\n"
    "    route: {pool: [gpu-b]}\n"
    "  - name: research-gpt\n"
    "    match: {teams: [research], models: ['gpt-4*']}\n"
    "    route: {pool: [openai]}\n"
    "  - name: batch-key\n"
    "    match: {keys: [key-batch]}\n"
    "    route: {pool: [{backend: gpu-b, weight: 5}, {backend: together, model: llama-70b}]}\n"
    "  - name: huge-prompts\n"
    "    match: {prompt_size: {min: 64KiB}}\n"
    "    route: {pool: [together]}\n"
    "  - name: default\n"
    "    route: {pool: [gpu-a, gpu-b, openai], burst_to: [together]}\n";

struct route_fixture {
    struct config cfg;
    struct route_config *rc;
    struct route_view view;
};

/* Loads yaml (a full gateway config) and its routing section. 0 or -1 with err. */
static inline int
route_fixture_load(struct route_fixture *f, const char *yaml, struct hg_err *err)
{
    memset(f, 0, sizeof(*f));
    if (config_load_str(&f->cfg, "t.yaml", yaml, strlen(yaml), err) < 0)
        return -1;
    if (route_config_load(cfg_get(f->cfg.doc.root, "routing"), &f->cfg, &f->rc, err) < 0) {
        config_cleanup(&f->cfg);
        return -1;
    }
    f->view.cfg = &f->cfg;
    f->view.rc = f->rc;
    f->view.nbackends = f->cfg.nbackends;
    return 0;
}

static inline void
route_fixture_cleanup(struct route_fixture *f)
{
    route_config_free(f->rc);
    config_cleanup(&f->cfg);
}

#endif
