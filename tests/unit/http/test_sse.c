/* SPDX-License-Identifier: MIT */
#include "http/sse.h"

#include "../test.h"

struct got {
    int n;
    char data[8][64];
    size_t raw_total;
};

static int
collect(const char *raw, size_t rawlen, const char *data, size_t dlen, void *arg)
{
    struct got *g = arg;
    (void)raw;
    if (g->n < 8)
        snprintf(g->data[g->n], sizeof(g->data[0]), "%.*s", (int)dlen, data);
    g->n++;
    g->raw_total += rawlen;
    return 0;
}

TEST(sse, whole_events_in_one_read)
{
    struct sse_parser sp;
    struct got g = {0};
    sse_parser_init(&sp, 1024);
    const char *s = "data: {\"a\":1}\n\ndata: [DONE]\n\n";
    ASSERT_EQ(sse_feed(&sp, s, strlen(s), collect, &g), 0);
    ASSERT_EQ(g.n, 2);
    ASSERT_STR(g.data[0], "{\"a\":1}");
    ASSERT_STR(g.data[1], "[DONE]");
    ASSERT_EQ(g.raw_total, strlen(s));
    ASSERT_EQ(sse_pending(&sp), 0);
    sse_parser_cleanup(&sp);
}

TEST(sse, split_byte_by_byte_and_crlf)
{
    struct sse_parser sp;
    struct got g = {0};
    sse_parser_init(&sp, 1024);
    const char *s = "event: x\r\ndata: one\r\ndata: two\r\n\r\n: comment\n\ndata:three\n\n";
    for (size_t i = 0; s[i]; i++)
        ASSERT_EQ(sse_feed(&sp, s + i, 1, collect, &g), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_STR(g.data[0], "one\ntwo");
    ASSERT_STR(g.data[1], "");
    ASSERT_STR(g.data[2], "three");
    ASSERT_EQ(g.raw_total, strlen(s));
    sse_parser_cleanup(&sp);
}

TEST(sse, oversized_event_is_an_error)
{
    struct sse_parser sp;
    struct got g = {0};
    sse_parser_init(&sp, 16);
    const char *s = "data: 0123456789012345678901234567890";
    ASSERT_EQ(sse_feed(&sp, s, strlen(s), collect, &g), -1);
    sse_parser_cleanup(&sp);
}
