/* SPDX-License-Identifier: MIT */
/* Tests src/api/admin.c: the admin key gate (401 without/with a wrong key), routes, the embedded
 * dashboard, and that no backend API key ever appears in a reply. */
#include "api/admin.h"

#include <stdlib.h>

#include "metrics/metrics.h"

#include "../test.h"

#define BACKEND_KEY "sk-live-canary-9d8c7b6a"
#define ADMIN_KEY "adm-0123456789abcdef"

static const char yaml[] = "admin_key_env: HG_TEST_ADMIN_KEY\n"
                           "backends:\n"
                           "  - name: local\n"
                           "    kind: self_hosted\n"
                           "    base_url: http://127.0.0.1:9001/v1\n"
                           "    models: [m]\n"
                           "  - name: cloud\n"
                           "    kind: hosted\n"
                           "    base_url: https://api.example.invalid/v1\n"
                           "    api_key_env: HG_TEST_ADMIN_BACKEND_KEY\n"
                           "    models: [m]\n"
                           "metrics:\n"
                           "  require_admin_key: false\n"
                           "dashboard:\n"
                           "  enabled: true\n";

struct fixture {
    struct config cfg;
    struct admin_conf conf;
    struct metrics_registry *reg;
    struct admin a;
};

static int
setup(struct fixture *f)
{
    struct hg_err err = {0};
    setenv("HG_TEST_ADMIN_KEY", ADMIN_KEY, 1);
    setenv("HG_TEST_ADMIN_BACKEND_KEY", BACKEND_KEY, 1);
    if (config_load_str(&f->cfg, "t.yaml", yaml, sizeof(yaml) - 1, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    if (admin_conf_load(&f->cfg, &f->conf, &err) < 0)
        return -1;
    f->reg = metrics_registry_new(&f->cfg, NULL, 0);
    admin_init(&f->a, &f->cfg, &f->conf, f->reg);
    return 0;
}

static void
teardown(struct fixture *f)
{
    metrics_registry_free(f->reg);
    config_cleanup(&f->cfg);
}

static int
get(struct fixture *f, const char *path, const char *auth, const char *xkey, char **body)
{
    struct admin_reply rep;
    admin_handle(&f->a, "GET", path, auth, xkey, 1796400000000000LL, &rep);
    int st = rep.status;
    if (body) {
        *body = malloc(rep.len + 1);
        memcpy(*body, rep.body, rep.len);
        (*body)[rep.len] = '\0';
    }
    admin_reply_cleanup(&rep);
    return st;
}

TEST(admin, key_required_and_checked)
{
    struct fixture f;
    ASSERT_EQ(setup(&f), 0);
    char *b = NULL;
    ASSERT_EQ(get(&f, "/admin/stats", NULL, NULL, &b), 401);
    ASSERT_TRUE(strstr(b, "invalid_admin_key") != NULL);
    free(b);
    ASSERT_EQ(get(&f, "/admin/stats", "Bearer wrong", NULL, NULL), 401);
    ASSERT_EQ(get(&f, "/admin/stats", "Bearer " ADMIN_KEY "x", NULL, NULL), 401);
    ASSERT_EQ(get(&f, "/admin/stats", "Bearer adm-0123456789abcde", NULL, NULL), 401);
    ASSERT_EQ(get(&f, "/admin/stats", NULL, "", NULL), 401);
    ASSERT_EQ(get(&f, "/admin/economics", NULL, NULL, NULL), 401);
    ASSERT_EQ(get(&f, "/admin/nope", NULL, NULL, NULL), 401);
    ASSERT_EQ(get(&f, "/admin/stats", "Bearer " ADMIN_KEY, NULL, &b), 200);
    ASSERT_TRUE(strstr(b, "\"backends\"") != NULL);
    free(b);
    ASSERT_EQ(get(&f, "/admin/stats", NULL, ADMIN_KEY, NULL), 200);
    ASSERT_EQ(get(&f, "/admin/economics", "Bearer " ADMIN_KEY, NULL, &b), 200);
    ASSERT_TRUE(strstr(b, "\"available\":false") != NULL);
    free(b);
    ASSERT_EQ(get(&f, "/admin/nope", "Bearer " ADMIN_KEY, NULL, NULL), 404);
    struct admin_reply rep;
    admin_handle(&f.a, "POST", "/admin/stats", "Bearer " ADMIN_KEY, NULL, 0, &rep);
    ASSERT_EQ(rep.status, 405);
    admin_reply_cleanup(&rep);
    teardown(&f);
}

TEST(admin, never_exposes_backend_keys)
{
    struct fixture f;
    ASSERT_EQ(setup(&f), 0);
    const char *paths[] = {"/metrics", "/admin/stats", "/admin/economics", "/ui", "/ui/app.js"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *b = NULL;
        get(&f, paths[i], "Bearer " ADMIN_KEY, NULL, &b);
        ASSERT_TRUE(strstr(b, BACKEND_KEY) == NULL);
        ASSERT_TRUE(strstr(b, ADMIN_KEY) == NULL);
        ASSERT_TRUE(strstr(b, "example.invalid") == NULL);
        free(b);
    }
    teardown(&f);
}

TEST(admin, metrics_and_ui_routes)
{
    struct fixture f;
    ASSERT_EQ(setup(&f), 0);
    char *b = NULL;
    ASSERT_EQ(get(&f, "/metrics", NULL, NULL, &b), 200);
    ASSERT_TRUE(strstr(b, "# TYPE hybridgate_requests_total counter") != NULL);
    free(b);
    struct admin_reply rep;
    admin_handle(&f.a, "GET", "/ui", NULL, NULL, 0, &rep);
    ASSERT_EQ(rep.status, 200);
    ASSERT_STR(rep.ctype, "text/html; charset=utf-8");
    ASSERT_TRUE(rep.len > 0);
    admin_reply_cleanup(&rep);
    ASSERT_EQ(get(&f, "/ui/", NULL, NULL, NULL), 200);
    ASSERT_EQ(get(&f, "/ui/app.js", NULL, NULL, NULL), 200);
    ASSERT_EQ(get(&f, "/ui/style.css", NULL, NULL, NULL), 200);
    ASSERT_EQ(get(&f, "/ui/../../etc/passwd", NULL, NULL, NULL), 404);
    ASSERT_EQ(get(&f, "/ui/nope.js", NULL, NULL, NULL), 404);
    ASSERT_TRUE(admin_owns_path("/metrics"));
    ASSERT_TRUE(admin_owns_path("/ui"));
    ASSERT_TRUE(admin_owns_path("/admin/stats"));
    ASSERT_FALSE(admin_owns_path("/uix"));
    ASSERT_FALSE(admin_owns_path("/v1/chat/completions"));
    /* require_admin_key protects /metrics too */
    f.a.conf.metrics_need_key = true;
    ASSERT_EQ(get(&f, "/metrics", NULL, NULL, NULL), 401);
    ASSERT_EQ(get(&f, "/metrics", "Bearer " ADMIN_KEY, NULL, NULL), 200);
    teardown(&f);
}

TEST(admin, key_compare)
{
    ASSERT_TRUE(admin_key_is_valid("abc", "abc"));
    ASSERT_FALSE(admin_key_is_valid("abc", "abcd"));
    ASSERT_FALSE(admin_key_is_valid("abc", "ab"));
    ASSERT_FALSE(admin_key_is_valid("abc", ""));
    ASSERT_FALSE(admin_key_is_valid("abc", NULL));
    ASSERT_FALSE(admin_key_is_valid(NULL, "abc"));
    ASSERT_FALSE(admin_key_is_valid("", ""));
}
