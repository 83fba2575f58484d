/* SPDX-License-Identifier: MIT */
/* Tests src/metrics/accesslog.c: one valid JSON line per record with the record's fields, the
 * queue/writer path to a file, reopen after rotation, drop counting, and no canary text. */
#include "metrics/accesslog.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/json.h"
#include "core/log.h"

#include "../test.h"

static struct req_record
mkrec(int i)
{
    struct req_record r;
    memset(&r, 0, sizeof(r));
    r.ts_us = 1796400000123456LL + i;
    snprintf(r.request_id, sizeof(r.request_id), "req-%d", i);
    snprintf(r.key_id, sizeof(r.key_id), "k_1a2b");
    snprintf(r.team, sizeof(r.team), "data \"science\"");
    snprintf(r.rule, sizeof(r.rule), "sensitive-local");
    snprintf(r.reason, sizeof(r.reason), "sensitive");
    snprintf(r.backend, sizeof(r.backend), "local");
    snprintf(r.backend_kind, sizeof(r.backend_kind), "self_hosted");
    snprintf(r.model, sizeof(r.model), "llama-3");
    snprintf(r.requested_model, sizeof(r.requested_model), "fast");
    snprintf(r.endpoint, sizeof(r.endpoint), "chat");
    r.classes = RECORD_CLASS_PII | RECORD_CLASS_FINANCIAL;
    r.sensitive = true;
    r.stream = true;
    r.status = 200;
    r.attempts = 2;
    r.input_tokens = 42;
    r.output_tokens = 7;
    r.ttft_us = 1500;
    r.total_us = 9000;
    r.scan_us = 33;
    r.cost_micro_usd = 1234;
    return r;
}

TEST(accesslog, format_is_one_json_line_with_the_fields)
{
    struct req_record r = mkrec(1);
    struct buf b;
    buf_init(&b, 1 << 16);
    ASSERT_EQ(accesslog_format(&r, &b), 0);
    ASSERT_TRUE(b.len > 0 && b.p[b.len - 1] == '\n');
    ASSERT_TRUE(memchr(b.p, '\n', b.len - 1) == NULL);
    cJSON *j = json_parse(b.p, b.len - 1);
    ASSERT_TRUE(j != NULL);
    ASSERT_STR(json_get_str(j, "time"), "2026-12-04T16:00:00.123Z");
    ASSERT_STR(json_get_str(j, "request_id"), "req-1");
    ASSERT_STR(json_get_str(j, "team"), "data \"science\"");
    ASSERT_STR(json_get_str(j, "backend"), "local");
    ASSERT_STR(json_get_str(j, "backend_kind"), "self_hosted");
    ASSERT_STR(json_get_str(j, "rule"), "sensitive-local");
    ASSERT_STR(json_get_str(j, "reason"), "sensitive");
    ASSERT_EQ(json_get_num(j, "status", 0), 200);
    ASSERT_EQ(json_get_num(j, "attempts", 0), 2);
    ASSERT_EQ(json_get_num(j, "input_tokens", 0), 42);
    ASSERT_EQ(json_get_num(j, "cost_micro_usd", 0), 1234);
    ASSERT_EQ(json_get_num(j, "ttft_us", 0), 1500);
    ASSERT_TRUE(json_get_bool(j, "sensitive", false));
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "classes");
    ASSERT_EQ(cJSON_GetArraySize(c), 2);
    ASSERT_STR(cJSON_GetArrayItem(c, 1)->valuestring, "financial");
    cJSON_Delete(j);
    buf_cleanup(&b);
}

TEST(accesslog, control_bytes_are_escaped)
{
    struct req_record r = mkrec(3);
    snprintf(r.team, sizeof(r.team), "a\nb\\c\x01d\te\"");
    r.ts_us = -1; /* nonsense time still gives a line */
    struct buf b;
    buf_init(&b, 1 << 16);
    ASSERT_EQ(accesslog_format(&r, &b), 0);
    ASSERT_TRUE(memchr(b.p, '\n', b.len - 1) == NULL);
    cJSON *j = json_parse(b.p, b.len - 1);
    ASSERT_TRUE(j != NULL);
    ASSERT_STR(json_get_str(j, "team"), "a\nb\\c\x01d\te\"");
    cJSON_Delete(j);
    buf_cleanup(&b);
    buf_init(&b, 100); /* too small for a line: refused whole, nothing half-written */
    ASSERT_EQ(accesslog_format(&r, &b), -1);
    ASSERT_EQ(b.len, 0);
    buf_cleanup(&b);
}

TEST(accesslog, unterminated_fields_stay_bounded)
{
    struct req_record r = mkrec(2);
    memset(r.model, 'x', sizeof(r.model)); /* no NUL: must not read past the field */
    struct buf b;
    buf_init(&b, 1 << 16);
    ASSERT_EQ(accesslog_format(&r, &b), 0);
    cJSON *j = json_parse(b.p, b.len - 1);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ(strlen(json_get_str(j, "model")), sizeof(r.model));
    cJSON_Delete(j);
    buf_cleanup(&b);
}

static size_t
count_lines(const char *path, const char *needle, size_t *matches)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[4096];
    size_t n = 0;
    *matches = 0;
    while (fgets(line, sizeof(line), f)) {
        n++;
        if (needle && strstr(line, needle))
            (*matches)++;
    }
    fclose(f);
    return n;
}

TEST(accesslog, queue_writer_reopen_and_canary)
{
    char dir[] = "/tmp/hg-accesslog-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char path[256], rotated[256];
    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/access.log.1", dir);
    struct hg_err err = {0};
    struct accesslog *al = accesslog_open(path, &err);
    ASSERT_TRUE(al != NULL);
    struct accesslog_queue *q1 = accesslog_queue_new(al);
    struct accesslog_queue *q2 = accesslog_queue_new(al);
    /* The canary stands for a prompt the request carried: the log API has no place for it, so
     * it can only leak if someone copies text into a record field. */
    const char *canary = "CANARY-4111111111111111";
    for (int i = 0; i < 300; i++) {
        struct req_record r = mkrec(i);
        accesslog_push(i % 2 ? q1 : q2, &r);
    }
    accesslog_flush(al);
    size_t m = 0;
    ASSERT_EQ(count_lines(path, canary, &m), 300);
    ASSERT_EQ(m, 0);
    ASSERT_EQ(rename(path, rotated), 0);
    enum log_level saved = log_min_level;
    log_min_level = LOG_WARN; /* the "reopened" info line is expected; keep the output clean */
    accesslog_reopen();
    struct req_record r = mkrec(999);
    accesslog_push(q1, &r);
    accesslog_flush(al);
    log_min_level = saved;
    ASSERT_EQ(count_lines(path, "req-999", &m), 1);
    ASSERT_EQ(m, 1);
    ASSERT_EQ(count_lines(rotated, NULL, &m), 300);
    uint64_t lines = 0, dropped = 0;
    accesslog_stats(al, &lines, &dropped);
    ASSERT_EQ(lines, 301);
    ASSERT_EQ(dropped, 0);
    accesslog_close(al);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
}

TEST(accesslog, full_ring_drops_and_counts)
{
    char path[] = "/tmp/hg-accesslog-drop-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    struct hg_err err = {0};
    struct accesslog *al = accesslog_open(path, &err);
    ASSERT_TRUE(al != NULL);
    struct accesslog_queue *q = accesslog_queue_new(al);
    /* Push far more than the ring holds in a tight loop; whatever the writer missed is counted. */
    int n = ACCESSLOG_RING * 20;
    struct req_record r = mkrec(0);
    for (int i = 0; i < n; i++)
        accesslog_push(q, &r);
    accesslog_flush(al);
    uint64_t lines = 0, dropped = 0;
    accesslog_stats(al, &lines, &dropped);
    ASSERT_EQ(lines + dropped, (uint64_t)n);
    ASSERT_TRUE(lines >= ACCESSLOG_RING);
    accesslog_close(al);
    size_t m = 0;
    ASSERT_EQ(count_lines(path, NULL, &m), lines);
    unlink(path);
}

TEST(accesslog, off_is_null)
{
    struct hg_err err = {0};
    ASSERT_TRUE(accesslog_open(NULL, &err) == NULL);
    ASSERT_EQ(err.status, 0);
    ASSERT_TRUE(accesslog_open("off", &err) == NULL);
    ASSERT_TRUE(accesslog_queue_new(NULL) == NULL);
    struct req_record r = mkrec(0);
    accesslog_push(NULL, &r);
    ASSERT_TRUE(accesslog_open("/nonexistent-dir/x.log", &err) == NULL);
    ASSERT_TRUE(err.status != 0);
}
