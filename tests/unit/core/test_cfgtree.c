/* SPDX-License-Identifier: MIT */
#include "core/cfgtree.h"

#include "../test.h"

TEST(cfgtree, loads_nested_and_lines)
{
    const char *y = "listen: 127.0.0.1:8080\nbackends:\n  - name: a\n    models: [x, y]\n";
    struct cfg_doc d;
    struct hg_err e = {0};
    ASSERT_EQ(cfg_doc_load_str(&d, "t.yaml", y, strlen(y), &e), 0);
    const struct cfg_node *b = cfg_get(d.root, "backends");
    ASSERT_TRUE(b && b->type == CFG_SEQ);
    const struct cfg_node *m = cfg_get(b->child, "models");
    ASSERT_TRUE(m && m->type == CFG_SEQ);
    ASSERT_STR(m->child->next->value, "y");
    ASSERT_EQ(m->line, 4);
    cfg_doc_cleanup(&d);
}

TEST(cfgtree, rejects_duplicate_key_with_line)
{
    const char *y = "a: 1\nb: 2\na: 3\n";
    struct cfg_doc d;
    struct hg_err e = {0};
    ASSERT_EQ(cfg_doc_load_str(&d, "t.yaml", y, strlen(y), &e), -1);
    ASSERT_TRUE(strstr(e.msg, "t.yaml:3:") != NULL);
    ASSERT_TRUE(strstr(e.msg, "duplicate") != NULL);
}

TEST(cfgtree, syntax_error_has_line)
{
    const char *y = "a: 1\nb: [1, 2\n";
    struct cfg_doc d;
    struct hg_err e = {0};
    ASSERT_EQ(cfg_doc_load_str(&d, "t.yaml", y, strlen(y), &e), -1);
    ASSERT_TRUE(strstr(e.msg, "t.yaml:") != NULL);
}

TEST(cfgtree, durations_and_sizes)
{
    long ms;
    size_t sz;
    ASSERT_EQ(cfg_parse_duration_ms("250ms", &ms), 0);
    ASSERT_EQ(ms, 250);
    ASSERT_EQ(cfg_parse_duration_ms("2m", &ms), 0);
    ASSERT_EQ(ms, 120000);
    ASSERT_EQ(cfg_parse_duration_ms("abc", &ms), -1);
    ASSERT_EQ(cfg_parse_size("16MiB", &sz), 0);
    ASSERT_EQ(sz, 16u << 20);
    ASSERT_EQ(cfg_parse_size("-1", &sz), -1);
}

#include "core/json.h"

TEST(json, duplicate_member_names_are_invalid)
{
    const char *a = "{\"model\":\"m\",\"messages\":[],\"messages\":[1]}";
    const char *b = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"content\":\"y\"}]}";
    const char *ok = "{\"a\":{\"x\":1},\"b\":{\"x\":2},\"c\":[{\"x\":1},{\"x\":1}]}";
    ASSERT_TRUE(json_parse(a, strlen(a)) == NULL);
    ASSERT_TRUE(json_parse(b, strlen(b)) == NULL);
    cJSON *j = json_parse(ok, strlen(ok));
    ASSERT_TRUE(j != NULL);
    cJSON_Delete(j);
}
