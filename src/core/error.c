/* SPDX-License-Identifier: MIT */
/* The only place that renders the OpenAI error JSON shape. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
hg_err_set(struct hg_err *e, int status, const char *type, const char *code, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->type = type;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int
hg_err_json(const struct hg_err *e, struct buf *out)
{
    const char *type = e->type ? e->type : HG_ERR_SERVER;
    int r = 0;
    r |= buf_appends(out, "{\"error\":{\"message\":");
    r |= buf_append_json_str(out, e->msg, strlen(e->msg));
    r |= buf_appends(out, ",\"type\":");
    r |= buf_append_json_str(out, type, strlen(type));
    r |= buf_appends(out, ",\"param\":null,\"code\":");
    if (e->code)
        r |= buf_append_json_str(out, e->code, strlen(e->code));
    else
        r |= buf_appends(out, "null");
    r |= buf_appends(out, "}}");
    return r ? -1 : 0;
}
