/* SPDX-License-Identifier: MIT */
/* `hybridgate scan [-c FILE]`: the detector contract used by the accuracy scorers. Reads JSON
 * Lines {"id": any, "text": string} on stdin and writes exactly one line per input line, in
 * order: {"id", "sensitive", "classes", "entities": [{"type","start","end","score"}]} with
 * Unicode code-point offsets, or {"id", "error"} for a malformed line. */
#include "scan/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "scan/scan_cli.h"

#define LINE_MAX_BYTES (64u << 20) /* one input line; longer lines get an error object */

/* Code points in p[0..n): every byte that is not a UTF-8 continuation byte starts one. */
static size_t
cp_count(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

static void
put_id(struct buf *out, const cJSON *id)
{
    if (id == NULL) {
        buf_appends(out, "null");
        return;
    }
    json_append(out, id);
}

int
scan_cli_line(const struct scanner *s, struct scan_scratch *ss, const char *line, size_t n,
              struct buf *out)
{
    cJSON *doc = json_parse(line, n);
    const cJSON *id = NULL;
    const char *errmsg = NULL;
    if (doc == NULL) {
        errmsg = "invalid JSON";
    } else if (!cJSON_IsObject(doc)) {
        errmsg = "expected a JSON object";
    } else {
        id = cJSON_GetObjectItemCaseSensitive(doc, "id");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(doc, "text");
        if (!cJSON_IsString(text) || text->valuestring == NULL)
            errmsg = "missing string member \"text\"";
    }
    buf_appends(out, "{\"id\":");
    put_id(out, id);
    if (errmsg != NULL) {
        buf_appends(out, ",\"error\":");
        buf_append_json_str(out, errmsg, strlen(errmsg));
        buf_appends(out, "}\n");
        cJSON_Delete(doc);
        return -1;
    }
    const char *text = cJSON_GetObjectItemCaseSensitive(doc, "text")->valuestring;
    size_t tn = strlen(text);
    struct scan_result r;
    scan_text(s, ss, text, tn, &r);
    buf_printf(out, ",\"sensitive\":%s,\"classes\":[", r.sensitive ? "true" : "false");
    static const unsigned order[] = {SCAN_CLASS_PII, SCAN_CLASS_PHI, SCAN_CLASS_FINANCIAL,
                                     SCAN_CLASS_SECRET};
    bool first = true;
    for (size_t i = 0; i < 4; i++) {
        if (!(r.classes & order[i]))
            continue;
        buf_printf(out, "%s\"%s\"", first ? "" : ",", scan_class_name(order[i]));
        first = false;
    }
    buf_appends(out, "],\"entities\":[");
    /* entities are sorted by start, so code-point offsets are computed incrementally */
    size_t at_b = 0, at_cp = 0;
    for (size_t i = 0; i < r.nentities; i++) {
        const struct scan_entity *e = &r.entities[i];
        if (e->start >= at_b) {
            at_cp += cp_count(text + at_b, e->start - at_b);
            at_b = e->start;
        } else {
            at_b = e->start;
            at_cp = cp_count(text, e->start);
        }
        size_t cs = at_cp, ce = at_cp + cp_count(text + e->start, e->end - e->start);
        if (ce == cs)
            ce = cs + 1; /* a span inside one code point cannot be empty (not reached) */
        buf_appends(out, i ? ",{\"type\":" : "{\"type\":");
        buf_append_json_str(out, e->type_name, strlen(e->type_name));
        buf_printf(out, ",\"start\":%zu,\"end\":%zu,\"score\":%.2f}", cs, ce, e->score);
    }
    buf_appends(out, "]}\n");
    cJSON_Delete(doc);
    return 0;
}

int
scan_cli_main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "usage: hybridgate scan [-c FILE] < in.jsonl > out.jsonl\n");
            return 2;
        }
    }
    struct hg_err err = {0};
    struct cfg_doc doc = {0};
    struct scan_config *cfg = NULL;
    const struct cfg_node *sec = NULL;
    if (path != NULL) {
        if (cfg_doc_load_file(&doc, path, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        sec = cfg_get(doc.root, "scanner");
    }
    if (scan_config_load(sec, &cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        cfg_doc_cleanup(&doc);
        return 1;
    }
    struct scanner *s = scan_new(cfg, &err);
    scan_config_free(cfg);
    cfg_doc_cleanup(&doc);
    if (s == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct scan_scratch *ss = scan_scratch_new(s);
    struct buf out;
    buf_init(&out, (size_t)1 << 30);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        size_t n = (size_t)len;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > LINE_MAX_BYTES) {
            buf_appends(&out, "{\"id\":null,\"error\":\"line too long\"}\n");
        } else {
            scan_cli_line(s, ss, line, n, &out);
        }
        if (out.len > (1u << 16)) {
            fwrite(out.p, 1, out.len, stdout);
            buf_reset(&out);
        }
    }
    fwrite(out.p ? out.p : "", 1, out.len, stdout);
    fflush(stdout);
    buf_cleanup(&out);
    free(line);
    scan_scratch_free(ss);
    scan_free(s);
    return ferror(stdout) ? 1 : 0;
}
