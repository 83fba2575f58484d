/* SPDX-License-Identifier: MIT */
/* Unit tests for src/scan/mask.c: stable placeholders within a request, rewrite of every
 * string kind, and the streaming restorer with placeholders split across deltas. */
#include "scan/mask.h"

#include <stdlib.h>
#include <string.h>

#include "../test.h"

static struct scanner *
scanner_get(void)
{
    static struct scanner *s;
    if (s == NULL) {
        struct hg_err err = {0};
        s = scan_new(NULL, &err);
    }
    return s;
}

static const char body_json[] =
    "{\"model\":\"m\",\"messages\":["
    "{\"role\":\"user\",\"content\":\"Mail kosara.reisl@fleckens.hu or kosara.reisl@fleckens.hu, "
    "card 4556601938071755\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"again kosara.reisl@fleckens.hu "
    "and bob.jones@example.org.uk\"}]}]}";

TEST(mask, apply_stable_placeholders)
{
    struct scanner *s = scanner_get();
    ASSERT_TRUE(s != NULL);
    struct scan_scratch *ss = scan_scratch_new(s);
    cJSON *body = json_parse(body_json, strlen(body_json));
    ASSERT_TRUE(body != NULL);
    struct scan_result r;
    scan_request(s, ss, body, &r);
    ASSERT_TRUE(r.sensitive);
    struct scan_mask *m = scan_mask_new();
    ASSERT_EQ(scan_mask_apply(m, body, &r, false), 5);
    ASSERT_EQ(scan_mask_count(m), 3);
    const cJSON *msgs = cJSON_GetObjectItem(body, "messages");
    const char *c0 = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content")->valuestring;
    ASSERT_STR(c0, "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_1>, card <CREDIT_CARD_1>");
    const cJSON *parts = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    const char *t1 = cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "text")->valuestring;
    ASSERT_STR(t1, "again <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>");
    size_t len;
    const char *v = scan_mask_lookup(m, "<EMAIL_ADDRESS_2>", 17, &len);
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ(len, strlen("bob.jones@example.org.uk"));
    ASSERT_TRUE(scan_mask_lookup(m, "<EMAIL_ADDRESS_3>", 17, &len) == NULL);
    scan_mask_free(m);
    cJSON_Delete(body);
    scan_scratch_free(ss);
}

/* Restores text fed in the given chunk sizes; returns a malloc'd string. */
static char *
restore_chunked(const struct scan_mask *m, const char *text, size_t chunk)
{
    struct scan_restore *r = scan_restore_new(m);
    struct buf out;
    buf_init(&out, 1 << 20);
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += chunk)
        scan_restore_feed(r, text + i, i + chunk <= n ? chunk : n - i, &out);
    scan_restore_finish(r, &out);
    scan_restore_free(r);
    char *res = strdup(out.p ? out.p : "");
    buf_cleanup(&out);
    return res;
}

TEST(mask, restore_streaming)
{
    struct scanner *s = scanner_get();
    struct scan_scratch *ss = scan_scratch_new(s);
    cJSON *body = json_parse(body_json, strlen(body_json));
    struct scan_result r;
    scan_request(s, ss, body, &r);
    struct scan_mask *m = scan_mask_new();
    scan_mask_apply(m, body, &r, false);
    const char *reply = "Sure, I wrote to <EMAIL_ADDRESS_1> (not <EMAIL_ADDRESS_9>), a < b, "
                        "<CREDIT_CARD_1> ends in 1755 <EMAIL_ADDRESS_2>";
    const char *want = "Sure, I wrote to kosara.reisl@fleckens.hu (not <EMAIL_ADDRESS_9>), a < b, "
                       "4556601938071755 ends in 1755 bob.jones@example.org.uk";
    for (size_t chunk = 1; chunk <= 40; chunk++) {
        char *got = restore_chunked(m, reply, chunk);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "  chunk %zu: %s\n", chunk, got);
        ASSERT_STR(got, want);
        free(got);
    }
    /* an incomplete placeholder at the end of the stream is flushed unchanged */
    char *got = restore_chunked(m, "tail <EMAIL_ADD", 3);
    ASSERT_STR(got, "tail <EMAIL_ADD");
    free(got);
    scan_mask_free(m);
    cJSON_Delete(body);
    scan_scratch_free(ss);
}

TEST(scan, request_parts_and_images)
{
    static const char req[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
        "{\"url\":\"https://x.test/a.png\"}}]},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"ssn\\\":\\\"308-63-0237\\\"}\"}}]},"
        "{\"role\":\"tool\",\"content\":\"phone +44 20 7946 0958\"}],"
        "\"prompt\":[\"AKIA\", \"GB82WEST12345698765432\"],\"input\":\"x\"}";
    struct scanner *s = scanner_get();
    struct scan_scratch *ss = scan_scratch_new(s);
    cJSON *body = json_parse(req, strlen(req));
    ASSERT_TRUE(body != NULL);
    struct scan_result r;
    scan_request(s, ss, body, &r);
    ASSERT_TRUE(r.sensitive);
    ASSERT_TRUE(r.classes & SCAN_CLASS_PHI);
    ASSERT_TRUE(r.classes & SCAN_CLASS_FINANCIAL);
    int seen = 0;
    for (size_t i = 0; i < r.nentities; i++) {
        const char *t = r.entities[i].type_name;
        seen |= !strcmp(t, "IMAGE")          ? 1
                : !strcmp(t, "US_SSN")       ? 2
                : !strcmp(t, "PHONE_NUMBER") ? 4
                : !strcmp(t, "IBAN_CODE")    ? 8
                                             : 0;
        ASSERT_TRUE(r.entities[i].node != NULL);
    }
    ASSERT_EQ(seen, 15);
    cJSON_Delete(body);
    scan_scratch_free(ss);
}

TEST(scan, placeholders_are_not_secrets)
{
    static const char *const texts[] = {
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "Authorization: Bearer <YOUR_API_KEY>",
        "password = ${DB_PASSWORD}",
        "postgres://user:password@localhost/db",
        "Server=myServerAddress;Database=myDataBase;User Id=myUsername;Password=myPassword;",
        "stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'"};
    struct scanner *s = scanner_get();
    struct scan_scratch *ss = scan_scratch_new(s);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct scan_result r;
        scan_text(s, ss, texts[i], strlen(texts[i]), &r);
        if (r.classes & SCAN_CLASS_SECRET)
            fprintf(stderr, "  flagged: %s\n", texts[i]);
        ASSERT_FALSE(r.classes & SCAN_CLASS_SECRET);
    }
    scan_scratch_free(ss);
}

TEST(scan, config_custom_deny_allow_disable)
{
    static const char yaml[] = "scanner:\n"
                               "  disable: [EMAIL_ADDRESS]\n"
                               "  thresholds: {PHONE_NUMBER: 1.01}\n"
                               "  deny:\n"
                               "    - {type: PROJECT, class: secret, words: [Bluebird]}\n"
                               "  custom:\n"
                               "    - {type: CUSTOMER_ID, class: pii, regex: 'CUST-[0-9]{6}'}\n"
                               "  allow: ['4556601938071755']\n";
    struct cfg_doc doc = {0};
    struct hg_err err = {0};
    ASSERT_EQ(cfg_doc_load_str(&doc, "t.yaml", yaml, strlen(yaml), &err), 0);
    struct scan_config *c = NULL;
    ASSERT_EQ(scan_config_load(cfg_get(doc.root, "scanner"), &c, &err), 0);
    struct scanner *s = scan_new(c, &err);
    ASSERT_TRUE(s != NULL);
    scan_config_free(c);
    cfg_doc_cleanup(&doc);
    struct scan_scratch *ss = scan_scratch_new(s);
    const char *t = "Project bluebird for CUST-123456: a@fleckens.hu, 4556601938071755, "
                    "call +44 20 7946 0958";
    struct scan_result r;
    scan_text(s, ss, t, strlen(t), &r);
    ASSERT_EQ(r.nentities, 3);
    ASSERT_STR(r.entities[0].type_name, "PROJECT");
    ASSERT_STR(r.entities[1].type_name, "CUSTOMER_ID");
    ASSERT_STR(r.entities[2].type_name, "PHONE_NUMBER");
    ASSERT_FALSE(r.entities[2].over);
    ASSERT_EQ(r.classes, SCAN_CLASS_SECRET | SCAN_CLASS_PII);
    scan_scratch_free(ss);
    scan_free(s);
}

TEST(scan, config_errors)
{
    static const char *const bad[] = {
        "scanner:\n  disable: [NOPE]\n", "scanner:\n  thresholds: {US_SSN: 2}\n",
        "scanner:\n  custom:\n    - {type: X, regex: '(unclosed'}\n",
        "scanner:\n  custom:\n    - {type: X, class: weird, regex: 'a'}\n",
        "scanner:\n  typo: 1\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cfg_doc doc = {0};
        struct hg_err err = {0};
        ASSERT_EQ(cfg_doc_load_str(&doc, "t.yaml", bad[i], strlen(bad[i]), &err), 0);
        struct scan_config *c = NULL;
        ASSERT_EQ(scan_config_load(cfg_get(doc.root, "scanner"), &c, &err), -1);
        ASSERT_TRUE(strstr(err.msg, "t.yaml:") != NULL);
        cfg_doc_cleanup(&doc);
    }
}

TEST(mask, restore_json_response)
{
    struct scanner *s = scanner_get();
    struct scan_scratch *ss = scan_scratch_new(s);
    cJSON *body = json_parse(body_json, strlen(body_json));
    struct scan_result r;
    scan_request(s, ss, body, &r);
    struct scan_mask *m = scan_mask_new();
    scan_mask_apply(m, body, &r, false);
    static const char resp[] =
        "{\"choices\":[{\"message\":{\"content\":\"Hi <EMAIL_ADDRESS_1>!\",\"tool_calls\":"
        "[{\"function\":{\"arguments\":\"{\\\"to\\\":\\\"<EMAIL_ADDRESS_2>\\\"}\"}}]}}]}";
    cJSON *j = json_parse(resp, strlen(resp));
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ(scan_mask_restore_json(m, j), 2);
    const cJSON *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    ASSERT_STR(cJSON_GetObjectItem(msg, "content")->valuestring, "Hi kosara.reisl@fleckens.hu!");
    const cJSON *fn = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "tool_calls"), 0), "function");
    ASSERT_STR(cJSON_GetObjectItem(fn, "arguments")->valuestring,
               "{\"to\":\"bob.jones@example.org.uk\"}");
    cJSON_Delete(j);
    scan_mask_free(m);
    cJSON_Delete(body);
    scan_scratch_free(ss);
}
