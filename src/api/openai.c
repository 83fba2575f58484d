/* SPDX-License-Identifier: MIT */
/* Request orchestration for the OpenAI-compatible endpoints.
 *
 * Lifecycle of a struct proxy (one client request):
 *   1. api_handle() validates the body, resolves the model to candidate backends and starts
 *      attempt 1;
 *   2. an attempt takes an in-flight slot, rewrites `model` to the backend's own name and starts an
 *      upstream call with a first-byte timer;
 *   3. on the upstream head: a 429/5xx or a connect error before any byte was relayed moves on to
 *      the next candidate (bounded by max_retries); a stream that succeeds is relayed chunk by chunk
 *      with an idle timer; anything else is buffered and sent whole;
 *   4. the proxy ends exactly once, in finish(): the upstream call is cancelled if still running,
 *      the slot released, the client side finished, the proxy freed.
 * The client leaving at any point cancels the upstream call (on_client_close → finish). */
#include "api/openai.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/gateway.h"
#include "backend/backend.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/record.h"
#include "http/client.h"
#include "http/server.h"
#include "http/sse.h"
#include "meter/meter.h"
#include "route/health.h"
#include "route/route.h"
#include "scan/mask.h"
#include "scan/scan.h"
#include "store/store.h"
#include "metrics/metrics.h"

#define RESP_MAX (64u << 20)       /* largest non-streamed upstream answer we buffer */
#define STREAM_HIGH_WATER (256u << 10) /* client output bytes that pause the upstream */
#define UPSTREAM_BODY_MAX (64u << 20)
#define MASK_CHOICES 8 /* choices (n) whose streamed text gets placeholders restored */
#define QUEUE_POLL_US 2000
#define DRIFT_SAMPLE 16 /* streams per worker whose first event is checked for model drift */ /* how often a queued request looks for a free slot */

enum endpoint { EP_CHAT, EP_COMPLETIONS, EP_EMBEDDINGS };

static const char *
endpoint_suffix(enum endpoint e)
{
    switch (e) {
    case EP_CHAT:
        return "/chat/completions";
    case EP_COMPLETIONS:
        return "/completions";
    default:
        return "/embeddings";
    }
}

static const char *
endpoint_name(enum endpoint e)
{
    switch (e) {
    case EP_CHAT:
        return "chat";
    case EP_COMPLETIONS:
        return "completions";
    default:
        return "embeddings";
    }
}

struct proxy {
    struct worker *w;            /* owning worker */
    struct http_req *req;        /* client request; NULL once finished */
    cJSON *body;                 /* parsed request body, owned */
    enum endpoint ep;            /* which endpoint */
    bool stream;                 /* client asked for a stream */
    struct route_decision dec;   /* where it may go, in order, and why */
    size_t pos;                  /* next index into dec.cand for route_next_candidate() */
    int attempts;                /* upstream attempts started */
    int cur;                     /* backend index of the running attempt, -1 none */
    int cur_cand;                /* index into dec.cand of the running attempt */
    bool holding_slot;           /* cur's in-flight slot is taken (health_acquire) */
    bool probe;                  /* the slot is a half-open circuit probe */
    unsigned fail_cond;          /* ROUTE_FT_* condition of the last failed attempt */
    bool queued;                 /* waiting for a slot on dec.cand[cur_cand] */
    bool queue_tried;            /* a queue was entered once (no second wait after a timeout) */
    int full_cand;               /* first candidate found saturated, -1 none */
    int64_t queue_start;         /* monotonic start of the wait */
    struct event *qtimer;        /* polls for a free slot while queued */
    int64_t t_sent;              /* monotonic time the current attempt was sent */
    bool model_seen;             /* the response's model/fingerprint were observed */
    bool version_mismatch;       /* the stream's model is not the rule's required version */
    cJSON *masked;               /* mask mode: the body with placeholders, owned, or NULL */
    struct scan_mask *mask;      /* mask mode: placeholder <-> value map, owned, or NULL */
    unsigned masked_classes;     /* classes a re-scan of `masked` found (what hosted would see) */
    bool attempt_masked;         /* the current attempt sends `masked` */
    struct scan_restore *restore[MASK_CHOICES]; /* per choice index: streaming restorers */
    struct http_call *call;      /* running upstream call or NULL */
    char *up_body;               /* serialized body for the current attempt, owned, or NULL */
    const char *send_body;       /* what the attempt sends: up_body or the client's bytes */
    size_t send_len;             /* bytes in send_body */
    char url[1024];              /* upstream URL of the current attempt */
    const char *hdrs[6];         /* upstream headers, NULL-terminated */
    char reqid_hdr[64];          /* "x-request-id: ..." */
    int up_status;               /* upstream status of the current attempt */
    char up_ctype[128];          /* upstream content type */
    bool retry_pending;          /* current attempt was aborted to retry */
    bool relaying;               /* the upstream answer is a stream being relayed */
    bool client_started;         /* the client's stream reply has started (status sent) */
    bool first_event_seen;       /* a JSON event of the current attempt was inspected */
    bool too_large;              /* the buffered answer went over RESP_MAX */
    bool paused;                 /* upstream paused for client backpressure */
    struct buf resp;             /* buffered non-stream answer */
    struct sse_parser sse;       /* splits a relayed stream into events */
    struct buf out;              /* events to write to the client from one upstream read */
    bool strip_usage;            /* we added stream_options.include_usage: drop the usage chunk */
    bool saw_done;               /* the stream's data: [DONE] arrived */
    struct event *timer;         /* first-byte or idle timer */
    int64_t t_start;             /* monotonic start */
    int64_t t_first;             /* first upstream body byte, 0 before */
    struct hg_err last_err;      /* error to send if no attempt succeeds */
    char reqid[40];              /* request id */
    struct req_record rec;       /* what gets recorded when the request ends */
};

static void start_attempt(struct proxy *p);
static int restore_event(struct proxy *p, cJSON *j);
static void finish(struct proxy *p, int status);
static bool can_retry(struct proxy *p, unsigned cond);

/* ---- small helpers ------------------------------------------------------------------------ */

static void
send_error(struct http_req *req, const struct hg_err *e, const char *reqid)
{
    struct buf b;
    buf_init(&b, 4096);
    hg_err_json(e, &b);
    (void)reqid; /* x-request-id was set on the response when the request arrived */
    http_req_send(req, e->status ? e->status : 500, "application/json", b.p, b.len);
    buf_cleanup(&b);
}

static void
reply_error(struct http_req *req, int status, const char *type, const char *code, const char *msg)
{
    struct hg_err e;
    hg_err_set(&e, status, type, code, "%s", msg);
    send_error(req, &e, NULL);
}

static void
make_reqid(struct worker *w, struct http_req *req, char *out, size_t outlen)
{
    const char *in = http_req_header(req, "x-request-id");
    if (in) {
        size_t n = strlen(in);
        bool ok = n > 0 && n < outlen && n <= 64;
        for (size_t i = 0; ok && i < n; i++) {
            char c = in[i];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(out, in, n + 1);
            return;
        }
    }
    /* xorshift64*: ids need to be unique, not secret */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    uint64_t y = x * 0x2545F4914F6CDD1DULL;
    snprintf(out, outlen, "hg-%016llx%04x", (unsigned long long)y, (unsigned)(x >> 48));
}

/* ---- finishing ---------------------------------------------------------------------------- */

static void
stop_timer(struct proxy *p)
{
    if (p->timer)
        evtimer_del(p->timer);
}

/* Gives the attempt's slot back and feeds the backend's averages and circuit breaker. ok: the
 * backend answered properly (a client that left or a 4xx the client caused count as ok). */
static void
release_slot(struct proxy *p, bool ok)
{
    if (!p->holding_slot)
        return;
    int64_t now = clock_mono_us();
    struct health_outcome o = {
        .ok = ok,
        .probe = p->probe,
        .ttft_us = p->t_first > p->t_sent ? p->t_first - p->t_sent : 0,
        .duration_us = now - p->t_sent,
        .output_tokens = p->rec.output_tokens,
    };
    bool changed = false;
    enum route_circuit c = health_release(p->w->gw->health, p->cur, &o, now, &changed);
    if (changed)
        log_warn("route", "backend=%s circuit=%s", p->w->gw->cfg->backends[p->cur].name,
                 route_circuit_name(c));
    atomic_fetch_sub(&p->w->gw->backends.b[p->cur].inflight, 1);
    backend_report(&p->w->gw->backends.b[p->cur], ok);
    p->holding_slot = false;
}

static void
leave_queue(struct proxy *p)
{
    if (!p->queued)
        return;
    int64_t now = clock_mono_us();
    health_queue_leave(p->w->gw->health, p->dec.cand[p->cur_cand].backend, now - p->queue_start,
                       now);
    p->queued = false;
    if (p->qtimer)
        evtimer_del(p->qtimer);
}

static void
proxy_free(struct proxy *p)
{
    if (p->timer)
        event_free(p->timer);
    if (p->qtimer)
        event_free(p->qtimer);
    cJSON_Delete(p->body);
    cJSON_Delete(p->masked);
    for (int i = 0; i < MASK_CHOICES; i++)
        scan_restore_free(p->restore[i]);
    scan_mask_free(p->mask);
    if (p->up_body) {
        secure_zero(p->up_body, strlen(p->up_body));
        free(p->up_body);
    }
    buf_cleanup(&p->resp);
    buf_cleanup(&p->out);
    sse_parser_cleanup(&p->sse);
    free(p);
}

/* Ends the request: cancel upstream, release, record, free. The client side must already be
 * finished (p->req == NULL) or is aborted here. */
static void
finish(struct proxy *p, int status)
{
    stop_timer(p);
    if (p->call) {
        http_call_cancel(p->call);
        p->call = NULL;
    }
    leave_queue(p);
    /* still holding a slot here means the client left (or the gateway gave up) mid-attempt: that
     * says nothing good about the backend, so a half-open probe does not count as a success */
    release_slot(p, p->up_status ? p->up_status < 500 && p->up_status != 429 : !p->probe);
    if (p->req) {
        http_req_abort(p->req);
        p->req = NULL;
    }
    p->rec.status = status;
    p->rec.attempts = p->attempts;
    p->rec.total_us = clock_mono_us() - p->t_start;
    if (p->t_first)
        p->rec.ttft_us = p->t_first - p->t_start;
    p->rec.cost_micro_usd = meter_cost_micro_usd(p->w->gw->meter, p->rec.backend, p->rec.model,
                                                 p->rec.input_tokens, p->rec.output_tokens);
    store_put(p->w->gw->store, &p->rec); /* a copy into the writer's queue; never blocks */
    admin_request_done(&p->w->admin, &p->rec);
    proxy_free(p);
}

/* x-hybridgate-backend and x-hybridgate-route for the backend used (or none). */
static void
set_route_headers(struct proxy *p)
{
    char v[512];
    if (p->cur >= 0)
        http_req_set_header(p->req, "x-hybridgate-backend", p->w->gw->cfg->backends[p->cur].name);
    route_header_value(&p->dec, p->w->gw->cfg, p->cur, v, sizeof(v));
    http_req_set_header(p->req, "x-hybridgate-route", v);
}

/* Sends the error in p->last_err (no attempt produced an answer) and ends. */
static void
fail_with(struct proxy *p, const struct hg_err *e)
{
    if (p->req) {
        set_route_headers(p);
        send_error(p->req, e, p->reqid);
        p->req = NULL;
    }
    finish(p, e->status);
}

/* A stream that already started cannot change status: tell the client in-band with an SSE error
 * event and end it without [DONE], so no client mistakes it for a complete answer. */
static void
fail_stream(struct proxy *p, const char *msg, const char *code)
{
    if (!p->client_started) {
        /* nothing was sent yet (the start waits for the pinned version check): a real status */
        hg_err_set(&p->last_err, 502, HG_ERR_UPSTREAM, code, "%s", msg);
        snprintf(p->rec.error, sizeof(p->rec.error), "%s", code);
        fail_with(p, &p->last_err);
        return;
    }
    if (p->req) {
        struct hg_err e;
        struct buf b;
        hg_err_set(&e, 502, HG_ERR_UPSTREAM, code, "%s", msg);
        buf_init(&b, 4096);
        buf_appends(&b, "data: ");
        hg_err_json(&e, &b);
        buf_appends(&b, "\n\n");
        http_req_write(p->req, b.p, b.len);
        buf_cleanup(&b);
        http_req_end(p->req);
        p->req = NULL;
    }
    snprintf(p->rec.error, sizeof(p->rec.error), "%s", code);
    finish(p, 502);
}

/* ---- timers ------------------------------------------------------------------------------- */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *p = arg;
    (void)fd;
    (void)what;
    if (p->call) {
        http_call_cancel(p->call);
        p->call = NULL;
    }
    release_slot(p, false);
    if (p->relaying) {
        fail_stream(p, "upstream stream idle timeout: no data within idle_timeout", "idle_timeout");
        return;
    }
    if (p->up_status != 0) {
        struct hg_err e;
        hg_err_set(&e, 504, HG_ERR_TIMEOUT, "upstream_timeout",
                   "upstream '%s' stopped sending its answer for idle_timeout (%ld ms)",
                   p->w->gw->cfg->backends[p->cur].name, p->w->gw->cfg->idle_timeout_ms);
        snprintf(p->rec.error, sizeof(p->rec.error), "idle_timeout");
        fail_with(p, &e);
        return;
    }
    hg_err_set(&p->last_err, 504, HG_ERR_TIMEOUT, "upstream_timeout",
               "upstream '%s' did not answer within first_byte_timeout (%ld ms)",
               p->w->gw->cfg->backends[p->cur].name, p->w->gw->cfg->first_byte_timeout_ms);
    snprintf(p->rec.error, sizeof(p->rec.error), "first_byte_timeout");
    if (p->up_status == 0 && can_retry(p, ROUTE_FT_TIMEOUT)) {
        start_attempt(p);
        return;
    }
    fail_with(p, &p->last_err);
}

static void
arm_timer(struct proxy *p, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (p->timer == NULL)
        p->timer = evtimer_new(p->w->base, on_timer, p);
    evtimer_add(p->timer, &tv);
}

/* ---- usage -------------------------------------------------------------------------------- */

/* A token count from an upstream: a number in [0, 1e12], else 0 (a double outside int64's range
 * would make the conversion undefined). */
static int64_t
tokens_of(const cJSON *u, const char *key)
{
    double v = json_get_num(u, key, 0);
    return v >= 0 && v <= 1e12 ? (int64_t)v : 0;
}

/* Reads usage.prompt_tokens / completion_tokens from a response object into the record.
 * Returns true when a usage object was present. */
static bool
take_usage(struct proxy *p, const cJSON *j)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    if (!cJSON_IsObject(u))
        return false;
    p->rec.input_tokens = tokens_of(u, "prompt_tokens");
    p->rec.output_tokens = tokens_of(u, "completion_tokens");
    return true;
}

static void observe_model(struct proxy *p, const cJSON *j);
static bool version_ok(const struct proxy *p, const cJSON *j);

/* A successful non-streamed answer: usage for the record, model/fingerprint for pinning. */
static bool
usage_from_body(struct proxy *p, const char *b, size_t n)
{
    bool ok = true;
    if (n == 0)
        return ok;
    cJSON *j = json_parse(b, n);
    if (j) {
        take_usage(p, j);
        observe_model(p, j);
        ok = version_ok(p, j);
        cJSON_Delete(j);
    }
    return ok;
}

/* One relayed SSE event: note usage and [DONE]; drop the usage-only chunk the client did not ask
 * for; pass everything else through byte for byte. */
/* Does this stream's first event need a look? Always under a pinned model version (it decides the
 * start of the reply) and in mask mode; otherwise for drift detection on one stream in
 * DRIFT_SAMPLE per worker, since parsing every first event cost ~6% of a stream's CPU and a
 * changed model shows up in any sample. */
static bool
wants_first_event(struct proxy *p)
{
    if (p->dec.model_version != NULL)
        return true;
    if (p->cur < 0 || p->w->gw->cfg->backends[p->cur].nmodels != 1)
        return false;
    return (p->w->drift_tick++ % DRIFT_SAMPLE) == 0;
}

static int
on_sse_event(const char *raw, size_t rawlen, const char *data, size_t dlen, void *arg)
{
    struct proxy *p = arg;
    if (dlen == 6 && memcmp(data, "[DONE]", 6) == 0) {
        p->saw_done = true;
    } else if (!p->first_event_seen && dlen > 2 && data[0] == '{') {
        p->first_event_seen = true;
        cJSON *j = wants_first_event(p) ? json_parse(data, dlen) : NULL;
        if (j) {
            observe_model(p, j);
            bool ok = version_ok(p, j);
            cJSON_Delete(j);
            if (!ok) {
                p->version_mismatch = true;
                return -1; /* stop before the first event reaches the client */
            }
        }
    }
    if (dlen > 8 && memmem(data, dlen, "\"usage\"", 7) != NULL) {
        cJSON *j = json_parse(data, dlen);
        if (j) {
            bool has = take_usage(p, j);
            const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");
            bool usage_only = has && cJSON_IsArray(ch) && cJSON_GetArraySize(ch) == 0;
            cJSON_Delete(j);
            if (usage_only && p->strip_usage)
                return 0;
        }
    }
    if (p->attempt_masked && dlen > 2 && data[0] == '{') {
        cJSON *j = json_parse(data, dlen);
        if (j == NULL || restore_event(p, j) < 0) {
            cJSON_Delete(j);
            return -1;
        }
        int r = buf_appends(&p->out, "data: ");
        r |= json_append(&p->out, j);
        r |= buf_appends(&p->out, "\n\n");
        cJSON_Delete(j);
        return r ? -1 : 0;
    }
    if (buf_append(&p->out, raw, rawlen) < 0)
        return -1;
    return 0;
}

/* Asks a streaming upstream for a final usage chunk, remembering whether the client wanted it. */
static void
request_stream_usage_in(struct proxy *p, cJSON *body)
{
    cJSON *so = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
    if (cJSON_IsObject(so)) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage")))
            return;
        cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
        cJSON_AddTrueToObject(so, "include_usage");
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "stream_options");
        so = cJSON_AddObjectToObject(body, "stream_options");
        cJSON_AddTrueToObject(so, "include_usage");
    }
    p->strip_usage = true;
}

static void
request_stream_usage(struct proxy *p)
{
    if (!p->stream || p->ep == EP_EMBEDDINGS)
        return;
    request_stream_usage_in(p, p->body);
    if (p->masked)
        request_stream_usage_in(p, p->masked);
}

/* ---- mask mode: restoring placeholders in answers ---------------------------------------- */

/* The text field of one streamed choice: delta.content (chat) or text (completions). */
static cJSON *
choice_text(cJSON *choice, bool create)
{
    cJSON *holder = choice;
    const char *key = "text";
    cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
    if (cJSON_IsObject(delta)) {
        holder = delta;
        key = "content";
    }
    cJSON *t = cJSON_GetObjectItemCaseSensitive(holder, key);
    if (!cJSON_IsString(t) && create) {
        cJSON_DeleteItemFromObjectCaseSensitive(holder, key);
        t = cJSON_AddStringToObject(holder, key, "");
    }
    return cJSON_IsString(t) ? t : NULL;
}

/* Restores placeholders in one streamed event's JSON; a placeholder split across events is held
 * back by the per-choice restorer and released with a later event. Returns 0 or -1. */
static int
restore_event(struct proxy *p, cJSON *j)
{
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    cJSON *ch;
    struct buf out;
    buf_init(&out, RESP_MAX);
    cJSON_ArrayForEach(ch, choices)
    {
        double dix = json_get_num(ch, "index", 0);
        if (!(dix >= 0 && dix < MASK_CHOICES))
            continue;
        int idx = (int)dix;
        if (p->restore[idx] == NULL)
            p->restore[idx] = scan_restore_new(p->mask);
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
        bool last = fr && !cJSON_IsNull(fr);
        cJSON *t = choice_text(ch, last);
        buf_reset(&out);
        if (t && scan_restore_feed(p->restore[idx], t->valuestring, strlen(t->valuestring), &out) < 0)
            goto fail;
        if (last && scan_restore_finish(p->restore[idx], &out) < 0)
            goto fail;
        if (t)
            cJSON_SetValuestring(t, out.p ? out.p : "");
    }
    buf_cleanup(&out);
    return 0;
fail:
    buf_cleanup(&out);
    return -1;
}

/* ---- upstream callbacks ------------------------------------------------------------------- */

/* May the request move on to another candidate after a failure of kind cond (ROUTE_FT_*)? Only
 * before anything reached the client, within max_retries, when the decision allows that kind
 * and a candidate is left. */
static bool
can_retry(struct proxy *p, unsigned cond)
{
    p->fail_cond = cond;
    return cond && !p->client_started && p->attempts <= p->w->gw->cfg->max_retries &&
           p->pos < p->dec.ncand && route_should_failover(&p->dec, cond);
}

/* Model pinning: the backend's returned model and system_fingerprint, once per response. */
/* A rule's require_model_version holds when the answer's model or system_fingerprint equals it
 * (an answer that names neither is let through: many servers omit the fingerprint). */
static bool
version_ok(const struct proxy *p, const cJSON *j)
{
    const char *want = p->dec.model_version;
    if (want == NULL)
        return true;
    const char *m = json_get_str(j, "model");
    const char *fp = json_get_str(j, "system_fingerprint");
    if (m == NULL && fp == NULL)
        return true;
    return (m && !strcmp(m, want)) || (fp && !strcmp(fp, want));
}

static void
observe_model(struct proxy *p, const cJSON *j)
{
    /* One pinned model per backend: a backend that serves several models answers with several
     * names by design, which is not drift (see docs/routing.md, "Model pinning"). */
    if (p->model_seen || p->cur < 0 || p->w->gw->cfg->backends[p->cur].nmodels != 1)
        return;
    const char *m = json_get_str(j, "model");
    const char *fp = json_get_str(j, "system_fingerprint");
    if (m == NULL && fp == NULL)
        return;
    p->model_seen = true;
    struct health_drift d;
    if (health_observe_model(p->w->gw->health, p->cur, m, m ? strlen(m) : 0, fp,
                             fp ? strlen(fp) : 0, &d))
    {
        log_warn("route", "model drift backend=%s model=%s->%s fingerprint=%s->%s",
                 p->w->gw->cfg->backends[p->cur].name, d.old_model, d.new_model,
                 d.old_fingerprint, d.new_fingerprint);
        metrics_model_drift(p->w->admin.shard, p->cur);
    }
}

static bool
is_openai_error(const char *b, size_t n)
{
    if (b == NULL || n == 0 || memmem(b, n, "\"error\"", 7) == NULL)
        return false;
    cJSON *j = json_parse(b, n);
    bool ok = cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "error") != NULL;
    cJSON_Delete(j);
    return ok;
}

static void
start_client_stream(struct proxy *p)
{
    set_route_headers(p);
    http_req_set_header(p->req, "Cache-Control", "no-cache");
    http_req_start(p->req, 200, p->up_ctype);
    p->client_started = true;
}

static int
on_up_head(struct http_call *c, int status, const char *ctype, void *arg)
{
    struct proxy *p = arg;
    (void)c;
    p->up_status = status;
    snprintf(p->up_ctype, sizeof(p->up_ctype), "%s", ctype && *ctype ? ctype : "application/json");
    stop_timer(p);
    unsigned cond = route_ft_classify(status, false, false);
    if (cond && can_retry(p, cond)) {
        p->retry_pending = true;
        return -1; /* on_up_done starts the next attempt, outside curl's callbacks */
    }
    if (p->stream && status == 200 && strncmp(p->up_ctype, "text/event-stream", 17) == 0) {
        p->relaying = true;
        /* with a pinned model version the client's reply starts only after the first event has
         * shown the version, so a wrong one can still fail over */
        if (p->dec.model_version == NULL)
            start_client_stream(p);
    }
    /* a body that stops arriving ends the request: the idle timer runs in both modes */
    arm_timer(p, p->w->gw->cfg->idle_timeout_ms);
    return 0;
}

static int
on_up_data(struct http_call *c, const char *d, size_t n, void *arg)
{
    struct proxy *p = arg;
    (void)c;
    if (p->t_first == 0)
        p->t_first = clock_mono_us();
    if (p->relaying) {
        /* Backpressure: a slow client stops the upstream. Pausing hands the bytes back to curl,
         * which delivers them again on resume, so decide before consuming anything. */
        if (p->client_started && http_req_pending(p->req) > STREAM_HIGH_WATER) {
            p->paused = true;
            stop_timer(p); /* the idle timeout measures the upstream, not our client */
            return 1;
        }
        arm_timer(p, p->w->gw->cfg->idle_timeout_ms);
        if (p->client_started)
            buf_reset(&p->out); /* else events are held until the start (version check) */
        if (sse_feed(&p->sse, d, n, on_sse_event, p) < 0)
            return -1; /* malformed (an event over the cap) or the wrong pinned version */
        if (!p->client_started && p->first_event_seen)
            start_client_stream(p);
        if (p->client_started && p->out.len) {
            http_req_write(p->req, p->out.p, p->out.len);
            buf_reset(&p->out);
        }
        return 0;
    }
    arm_timer(p, p->w->gw->cfg->idle_timeout_ms);
    if (buf_append(&p->resp, d, n) < 0) {
        p->too_large = true;
        return -1;
    }
    return 0;
}

static void
on_client_flush(struct http_req *req, void *arg)
{
    struct proxy *p = arg;
    (void)req;
    if (p->paused && p->call) {
        p->paused = false;
        arm_timer(p, p->w->gw->cfg->idle_timeout_ms);
        http_call_resume(p->call);
    }
}

static void
on_up_done(struct http_call *c, const char *errstr, void *arg)
{
    struct proxy *p = arg;
    (void)c;
    p->call = NULL;
    stop_timer(p);
    const char *name = p->w->gw->cfg->backends[p->cur].name;
    if (p->retry_pending) {
        p->retry_pending = false;
        release_slot(p, false);
        hg_err_set(&p->last_err, p->up_status == 429 ? 429 : 502, HG_ERR_UPSTREAM,
                   "upstream_error", "upstream '%s' answered %d", name, p->up_status);
        start_attempt(p);
        return;
    }
    if (p->relaying) {
        if (p->version_mismatch) {
            release_slot(p, true);
            hg_err_set(&p->last_err, 502, HG_ERR_UPSTREAM, "model_version_mismatch",
                       "backend '%s' answered with a model other than the required version '%s'",
                       name, p->dec.model_version);
            if (can_retry(p, ROUTE_FT_ERROR)) {
                start_attempt(p);
                return;
            }
            fail_stream(p, p->last_err.msg, "model_version_mismatch");
            return;
        }
        if (!p->client_started && errstr == NULL && p->saw_done) {
            /* a whole stream arrived before any JSON event decided the start */
            start_client_stream(p);
            http_req_write(p->req, p->out.p ? p->out.p : "", p->out.len);
        }
        if (errstr || !p->saw_done) {
            release_slot(p, false);
            fail_stream(p,
                        errstr ? "upstream stream broke before it was complete"
                               : "upstream stream ended without data: [DONE]",
                        "upstream_stream_broken");
            return;
        }
        release_slot(p, true);
        http_req_end(p->req);
        p->req = NULL;
        finish(p, 200);
        return;
    }
    if (errstr == NULL) {
        if (p->up_status == 200 && !usage_from_body(p, p->resp.p, p->resp.len)) {
            /* pinned model version: this backend now serves another one */
            release_slot(p, true);
            hg_err_set(&p->last_err, 502, HG_ERR_UPSTREAM, "model_version_mismatch",
                       "backend '%s' answered with a model other than the required version '%s'",
                       name, p->dec.model_version);
            snprintf(p->rec.error, sizeof(p->rec.error), "model_version_mismatch");
            if (can_retry(p, ROUTE_FT_ERROR)) {
                start_attempt(p);
                return;
            }
            fail_with(p, &p->last_err);
            return;
        }
        if (p->attempt_masked && p->resp.len) {
            /* the hosted model answered with placeholders: give the client its own values back */
            cJSON *j = json_parse(p->resp.p, p->resp.len);
            if (j) {
                scan_mask_restore_json(p->mask, j);
                buf_reset(&p->resp);
                json_append(&p->resp, j);
                cJSON_Delete(j);
            }
        }
        release_slot(p, p->up_status < 500 && p->up_status != 429);
        if (p->up_status >= 400 && !is_openai_error(p->resp.p, p->resp.len)) {
            /* an HTML page from a proxy in front of the model server, or any other shape:
             * clients get the OpenAI error shape with the upstream's status */
            struct hg_err e;
            hg_err_set(&e, p->up_status, HG_ERR_UPSTREAM, "upstream_error",
                       "upstream '%s' answered %d without an OpenAI error body", name,
                       p->up_status);
            fail_with(p, &e);
            return;
        }
        set_route_headers(p);
        http_req_send(p->req, p->up_status, p->up_ctype, p->resp.p ? p->resp.p : "",
                      p->resp.len);
        p->req = NULL;
        finish(p, p->up_status);
        return;
    }
    /* failed before anything reached the client */
    release_slot(p, false);
    bool before_head = p->up_status == 0;
    if (p->too_large) {
        struct hg_err e;
        hg_err_set(&e, 502, HG_ERR_UPSTREAM, "upstream_too_large",
                   "upstream '%s' answer is larger than %u bytes", name, RESP_MAX);
        fail_with(p, &e);
        return;
    }
    if (errstr == HTTP_CALL_ERR_TIMEOUT && !before_head) {
        struct hg_err e;
        hg_err_set(&e, 504, HG_ERR_TIMEOUT, "upstream_timeout",
                   "upstream '%s' did not finish within total_timeout (%ld ms)", name,
                   p->w->gw->cfg->total_timeout_ms);
        fail_with(p, &e);
        return;
    }
    if (errstr == HTTP_CALL_ERR_TIMEOUT)
        hg_err_set(&p->last_err, 504, HG_ERR_TIMEOUT, "upstream_timeout",
                   "upstream '%s' timed out: %s", name, errstr);
    else
        hg_err_set(&p->last_err, 502, HG_ERR_UPSTREAM, "upstream_unreachable", "upstream '%s': %s",
                   name, errstr);
    unsigned cond = route_ft_classify(0, errstr != HTTP_CALL_ERR_TIMEOUT,
                                      errstr == HTTP_CALL_ERR_TIMEOUT);
    /* a TLS verification failure is a configuration problem: another try will not fix it */
    if (before_head && errstr != HTTP_CALL_ERR_TLS && can_retry(p, cond)) {
        start_attempt(p);
        return;
    }
    fail_with(p, &p->last_err);
}

/* ---- attempts ----------------------------------------------------------------------------- */

static void
on_queue_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_attempt(arg);
}

static void
start_attempt(struct proxy *p)
{
    struct gateway *gw = p->w->gw;
    const struct config *cfg = gw->cfg;
    int prev = p->attempts ? p->cur : -1; /* the backend of the attempt that just failed */

    p->cur = -1;
    for (;;) {
        int64_t now = clock_mono_us();
        int i;
        if (p->queued) {
            i = p->cur_cand; /* woken from the queue: try the same candidate again */
        } else {
            /* the send path's own check of the privacy invariant is inside route_next_candidate():
             * a candidate whose backend may not see these bytes is never returned. Masked bodies
             * are not produced yet, so a mask candidate only ever gets a body with no finding. */
            i = route_next_candidate(&p->dec, cfg, &p->pos,
                                     p->mask ? p->masked_classes : p->dec.classes);
        }
        bool may_queue = p->queued || (p->dec.queue && i == 0);
        if (i < 0 && p->full_cand >= 0 && !p->queue_tried && p->dec.sensitive) {
            /* every candidate was tried and the full ones had no slot: a sensitive request may
             * not burst, so it waits in the queue of the first full candidate */
            i = p->full_cand;
            may_queue = true;
        }
        if (i < 0)
            break;
        const struct route_candidate *c = &p->dec.cand[i];
        bool send_masked = c->mask && p->mask && cfg->backends[c->backend].kind == BACKEND_HOSTED;
        if (!route_backend_allowed(cfg, c->backend,
                                   send_masked ? p->masked_classes : p->dec.classes,
                                   p->dec.region)) {
            /* fail closed: never reached unless route_next_candidate() is wrong */
            log_error("route", "invariant: refusing to send request %s to backend %s",
                      p->reqid, cfg->backends[c->backend].name);
            metrics_invariant_rejected(p->w->admin.shard);
            continue;
        }
        enum health_acquire a = health_acquire(gw->health, c->backend, now);
        if (a == HEALTH_ACQ_OK || a == HEALTH_ACQ_PROBE) {
            leave_queue(p);
            p->cur = c->backend;
            p->cur_cand = i;
            p->probe = a == HEALTH_ACQ_PROBE;
            p->holding_slot = true;
            atomic_fetch_add(&gw->backends.b[c->backend].inflight, 1);
            p->attempt_masked = send_masked;
            cJSON_ReplaceItemInObjectCaseSensitive(send_masked ? p->masked : p->body, "model",
                                                   cJSON_CreateString(c->model));
            snprintf(p->rec.model, sizeof(p->rec.model), "%s", c->model);
            break;
        }
        if (a == HEALTH_ACQ_FULL && !may_queue && p->full_cand < 0)
            p->full_cand = i;
        if (a == HEALTH_ACQ_FULL && may_queue) {
            /* saturated and the decision says wait (sensitive, or nowhere to burst) */
            if (!p->queued) {
                p->queue_tried = true;
                if (!health_queue_enter(gw->health, c->backend)) {
                    hg_err_set(&p->last_err, 503, HG_ERR_UNAVAILABLE, "queue_full",
                               "backend '%s' is saturated and its queue is full",
                               cfg->backends[c->backend].name);
                    continue;
                }
                p->queued = true;
                p->cur_cand = i;
                p->queue_start = now;
            }
            if (now - p->queue_start >= cfg->queue_timeout_ms * 1000) {
                leave_queue(p);
                hg_err_set(&p->last_err, 503, HG_ERR_UNAVAILABLE, "queue_timeout",
                           "backend '%s' stayed saturated for queue_timeout (%ld ms)",
                           cfg->backends[c->backend].name, cfg->queue_timeout_ms);
                continue;
            }
            /* poll for a free slot; slots are freed by any worker, so there is no wakeup */
            struct timeval tv = {0, QUEUE_POLL_US};
            if (p->qtimer == NULL)
                p->qtimer = evtimer_new(p->w->base, on_queue_poll, p);
            evtimer_add(p->qtimer, &tv);
            return;
        }
        leave_queue(p);
        if (p->last_err.status == 0 || a == HEALTH_ACQ_FULL)
            hg_err_set(&p->last_err, 503, HG_ERR_UNAVAILABLE,
                       a == HEALTH_ACQ_FULL ? "backend_saturated" : "circuit_open",
                       a == HEALTH_ACQ_FULL ? "backend '%s' is at max_concurrency"
                                            : "backend '%s' is failing (circuit open)",
                       cfg->backends[c->backend].name);
    }
    if (p->cur < 0) {
        if (p->last_err.status == 0)
            hg_err_set(&p->last_err, 503, HG_ERR_UNAVAILABLE, "no_backend",
                       "no eligible backend is available for model '%s'%s",
                       p->rec.requested_model,
                       p->dec.sensitive ? " (the request holds sensitive data, so only "
                                          "self-hosted or trusted backends may serve it)"
                                        : "");
        fail_with(p, &p->last_err);
        return;
    }
    if (prev >= 0 && prev == p->cur)
        metrics_retry(p->w->admin.shard, prev);
    else if (prev >= 0)
        metrics_failover(p->w->admin.shard, prev);
    struct backend_rt *b = &gw->backends.b[p->cur];
    snprintf(p->rec.backend, sizeof(p->rec.backend), "%s", b->conf->name);
    snprintf(p->rec.backend_kind, sizeof(p->rec.backend_kind), "%s",
             backend_kind_name(b->conf->kind));
    if (p->up_body) {
        secure_zero(p->up_body, strlen(p->up_body));
        free(p->up_body);
        p->up_body = NULL;
    }
    if (!p->attempt_masked && !p->strip_usage && !strcmp(p->rec.model, p->rec.requested_model)) {
        /* nothing to change (same model name, no option added, not masked): the client's own
         * bytes go upstream, which spares a serialization per request */
        p->send_body = http_req_body(p->req, &p->send_len);
    } else {
        p->up_body = cJSON_PrintUnformatted(p->attempt_masked ? p->masked : p->body);
        if (p->up_body == NULL) {
            struct hg_err e;
            hg_err_set(&e, 500, HG_ERR_SERVER, NULL, "could not serialize the request");
            fail_with(p, &e);
            return;
        }
        p->send_body = p->up_body;
        p->send_len = strlen(p->up_body);
    }
    backend_url(b, endpoint_suffix(p->ep), p->url, sizeof(p->url));
    size_t h = 0;
    p->hdrs[h++] = "Content-Type: application/json";
    if (b->auth_header[0])
        p->hdrs[h++] = b->auth_header;
    p->hdrs[h++] = p->reqid_hdr;
    if (p->stream)
        p->hdrs[h++] = "Accept: text/event-stream";
    p->hdrs[h] = NULL;
    struct http_call_opts o = {
        .method = "POST",
        .url = p->url,
        .headers = p->hdrs,
        .body = p->send_body,
        .body_len = p->send_len,
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .total_timeout_ms = p->stream ? 0 : cfg->total_timeout_ms,
        .ca_file = b->conf->ca_file,
    };
    p->up_status = 0;
    buf_reset(&p->resp);
    buf_reset(&p->out);
    sse_parser_cleanup(&p->sse);
    sse_parser_init(&p->sse, 4u << 20);
    p->relaying = p->saw_done = p->first_event_seen = p->model_seen = false;
    p->version_mismatch = p->too_large = false;
    p->t_first = 0;
    p->attempts++;
    p->t_sent = clock_mono_us();
    p->call = http_call_start(p->w->cl, &o, on_up_head, on_up_data, on_up_done, p);
    arm_timer(p, cfg->first_byte_timeout_ms);
}

static void
on_client_close(struct http_req *req, void *arg)
{
    struct proxy *p = arg;
    (void)req;
    snprintf(p->rec.error, sizeof(p->rec.error), "client_closed");
    finish(p, 499); /* aborts the req, cancels the upstream call */
}

/* ---- endpoints ---------------------------------------------------------------------------- */

static void
handle_models(struct worker *w, struct http_req *req)
{
    const struct config *cfg = w->gw->cfg;
    struct buf b;
    buf_init(&b, 1u << 20);
    buf_appends(&b, "{\"object\":\"list\",\"data\":[");
    bool first = true;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const struct backend_conf *bc = &cfg->backends[i];
        for (size_t m = 0; m < bc->nmodels; m++) {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = config_backend_serves(&cfg->backends[j], bc->models[m]);
            if (dup)
                continue;
            buf_appends(&b, first ? "{\"id\":" : ",{\"id\":");
            buf_append_json_str(&b, bc->models[m], strlen(bc->models[m]));
            buf_appends(&b, ",\"object\":\"model\",\"created\":0,\"owned_by\":");
            buf_append_json_str(&b, bc->name, strlen(bc->name));
            buf_appends(&b, "}");
            first = false;
        }
    }
    for (size_t i = 0; i < cfg->naliases; i++) {
        const struct alias_conf *a = &cfg->aliases[i];
        buf_appends(&b, first ? "{\"id\":" : ",{\"id\":");
        buf_append_json_str(&b, a->name, strlen(a->name));
        buf_appends(&b, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"hybridgate\"}");
        first = false;
    }
    buf_appends(&b, "]}");
    http_req_send(req, 200, "application/json", b.p, b.len);
    buf_cleanup(&b);
}

static void
handle_ready(struct worker *w, struct http_req *req, bool ready_check)
{
    struct gateway *gw = w->gw;
    if (ready_check && atomic_load(&gw->draining)) {
        http_req_send(req, 503, "application/json", "{\"status\":\"draining\"}", 21);
        return;
    }
    if (ready_check && !backend_set_any_ready(&gw->backends)) {
        const char *m = "{\"status\":\"not ready\",\"reason\":\"no backend is healthy yet\"}";
        http_req_send(req, 503, "application/json", m, strlen(m));
        return;
    }
    http_req_send(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static int
validate(const cJSON *body, enum endpoint ep, bool *stream, struct hg_err *e)
{
    if (!cJSON_IsObject(body))
        return hg_err_set(e, 400, HG_ERR_INVALID, "invalid_body",
                          "the request body must be a JSON object");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(body, "model");
    if (!cJSON_IsString(model) || model->valuestring[0] == '\0')
        return hg_err_set(e, 400, HG_ERR_INVALID, "missing_model",
                          "you must provide a model parameter (a non-empty string)");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(body, "stream");
    if (st && !cJSON_IsBool(st) && !cJSON_IsNull(st))
        return hg_err_set(e, 400, HG_ERR_INVALID, "invalid_stream", "'stream' must be a boolean");
    *stream = cJSON_IsTrue(st);
    switch (ep) {
    case EP_CHAT: {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "messages");
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0)
            return hg_err_set(e, 400, HG_ERR_INVALID, "missing_messages",
                              "'messages' must be a non-empty array");
        const cJSON *it;
        cJSON_ArrayForEach(it, m)
        {
            if (!cJSON_IsObject(it) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "role")))
                return hg_err_set(e, 400, HG_ERR_INVALID, "invalid_messages",
                                  "each message must be an object with a string 'role'");
        }
        break;
    }
    case EP_COMPLETIONS:
        if (cJSON_GetObjectItemCaseSensitive(body, "prompt") == NULL)
            return hg_err_set(e, 400, HG_ERR_INVALID, "missing_prompt",
                              "you must provide a 'prompt'");
        break;
    case EP_EMBEDDINGS:
        if (cJSON_GetObjectItemCaseSensitive(body, "input") == NULL)
            return hg_err_set(e, 400, HG_ERR_INVALID, "missing_input",
                              "you must provide an 'input'");
        if (*stream)
            return hg_err_set(e, 400, HG_ERR_INVALID, "invalid_stream",
                              "embeddings cannot be streamed");
        break;
    }
    return 0;
}

/* ---- scan and route ----------------------------------------------------------------------- */

#define MAX_TEXT 256   /* user text parts handed to keyword rules */
#define MAX_TAGS 32    /* request tags */
#define MAX_ENTITY_TYPES 64

/* Collects every user-controlled string of the request (the same places the scanner reads) for
 * keyword and domain rules, and their total size. */
static void
collect_text(const cJSON *j, struct str *out, size_t *n, size_t *bytes, int depth)
{
    if (j == NULL || depth > 16)
        return;
    if (cJSON_IsString(j)) {
        if (*n < MAX_TEXT)
            out[(*n)++] = (struct str){j->valuestring, strlen(j->valuestring)};
        *bytes += strlen(j->valuestring);
        return;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (cJSON_IsObject(j) && it->string &&
            (!strcmp(it->string, "role") || !strcmp(it->string, "type") ||
             !strcmp(it->string, "name") || !strcmp(it->string, "id") ||
             !strcmp(it->string, "tool_call_id")))
            continue;
        collect_text(it, out, n, bytes, depth + 1);
    }
}

static void
request_text(const cJSON *body, struct str *out, size_t *n, size_t *bytes)
{
    static const char *const fields[] = {"messages", "prompt", "input", "suffix", NULL};
    *n = 0;
    *bytes = 0;
    for (const char *const *f = fields; *f; f++)
        collect_text(cJSON_GetObjectItemCaseSensitive(body, *f), out, n, bytes, 0);
}

/* Splits a comma-separated list into trimmed views. */
static void
split_tags(const char *s, struct str *out, size_t *n)
{
    if (s == NULL)
        return;
    while (*s && *n < MAX_TAGS) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && t[-1] == ' ')
            t--;
        if (t > s)
            out[(*n)++] = (struct str){s, (size_t)(t - s)};
        s = e;
    }
}

/* A stable, non-reversible id for the caller's API key (FNV-1a 64), never the key itself. */
static void
key_id_of(const char *auth, char *out, size_t outlen)
{
    out[0] = '\0';
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0')
        return;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = auth + 7; *c; c++) {
        h ^= (unsigned char)*c;
        h *= 0x100000001b3ULL;
    }
    snprintf(out, outlen, "k-%012llx", (unsigned long long)(h >> 16));
}

/* Scans the body and decides the route into p->dec. On a refusal, answers the client, finishes p
 * and returns -1. With explain != NULL nothing is sent upstream: the decision is written there. */
static int
decide(struct proxy *p, struct http_req *req, struct buf *explain)
{
    struct worker *w = p->w;
    struct gateway *gw = w->gw;
    struct scan_result sr;
    struct str text[MAX_TEXT], tags[MAX_TAGS], ents[MAX_ENTITY_TYPES];
    size_t ntext = 0, ntags = 0, nents = 0, bytes = 0;

    int64_t t0 = clock_mono_us();
    scan_request(gw->scanner, w->scratch, p->body, &sr);
    p->rec.scan_us = clock_mono_us() - t0;
    p->rec.classes = sr.classes;
    p->rec.sensitive = sr.sensitive;
    for (size_t i = 0; i < sr.nentities; i++) {
        const struct scan_entity *e = &sr.entities[i];
        if (!e->over || e->type_name == NULL)
            continue;
        bool dup = false;
        for (size_t k = 0; k < nents && !dup; k++)
            dup = str_eq_cstr(ents[k], e->type_name);
        if (!dup && nents < MAX_ENTITY_TYPES)
            ents[nents++] = str_from(e->type_name);
    }
    request_text(p->body, text, &ntext, &bytes);
    split_tags(http_req_header(req, "x-hybridgate-tags"), tags, &ntags);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(p->body, "metadata");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(md, "tags");
    if (cJSON_IsString(mt))
        split_tags(mt->valuestring, tags, &ntags);
    const cJSON *it;
    const cJSON *tag_list = cJSON_IsArray(mt) ? mt : NULL;
    cJSON_ArrayForEach(it, tag_list)
    {
        if (cJSON_IsString(it) && ntags < MAX_TAGS)
            tags[ntags++] = str_from(it->valuestring);
    }
    const char *team = http_req_header(req, "x-hybridgate-team");
    if (team == NULL)
        team = json_get_str(md, "team");
    key_id_of(http_req_header(req, "authorization"), p->rec.key_id, sizeof(p->rec.key_id));
    snprintf(p->rec.team, sizeof(p->rec.team), "%s", team ? team : "");

    struct route_input in = {
        .classes = sr.sensitive ? sr.classes : 0,
        .entities = ents,
        .nentities = nents,
        .model = str_from(p->rec.requested_model),
        .key_id = str_from(p->rec.key_id),
        .team = str_from(p->rec.team),
        .tags = tags,
        .ntags = ntags,
        .prompt_bytes = bytes,
        .text = text,
        .ntext = ntext,
        .seed = w->rng,
    };
    struct route_view view;
    health_snapshot(gw->health, gw->routes, clock_mono_us(), &view);
    route_decide(&in, &view, &p->dec);
    p->masked_classes = p->dec.classes;
    if (p->dec.mask && in.classes && !explain) {
        /* Mask mode: hosted candidates get a copy with placeholders, and only if a re-scan of
         * that copy finds nothing sensitive (route_next_candidate checks masked_classes). */
        cJSON *orig = cJSON_Duplicate(p->body, 1);
        p->mask = scan_mask_new();
        scan_mask_apply(p->mask, p->body, &sr, true);
        p->masked = p->body;
        p->body = orig;
        struct scan_result again;
        scan_request(gw->scanner, w->scratch, p->masked, &again);
        p->masked_classes = again.sensitive ? again.classes : 0;
        p->rec.masked = true;
    }
    snprintf(p->rec.rule, sizeof(p->rec.rule), "%s", p->dec.rule_name ? p->dec.rule_name : "");
    snprintf(p->rec.reason, sizeof(p->rec.reason), "%s", route_reason_name(p->dec.reason));

    if (explain) {
        struct buf extra;
        buf_init(&extra, 1u << 20);
        buf_printf(&extra, "\"scan_us\":%lld,\"entities\":[", (long long)p->rec.scan_us);
        for (size_t i = 0; i < sr.nentities; i++) {
            const struct scan_entity *e = &sr.entities[i];
            const char *tn = e->type_name ? e->type_name : "UNKNOWN";
            buf_appends(&extra, i ? ",{\"type\":" : "{\"type\":");
            buf_append_json_str(&extra, tn, strlen(tn));
            buf_printf(&extra, ",\"start\":%zu,\"end\":%zu,\"score\":%.2f,\"counts\":%s", e->start,
                       e->end, e->score, e->over ? "true" : "false");
            buf_appends(&extra, ",\"field\":");
            char path[128];
            json_path_of(p->body, e->node, path, sizeof(path));
            buf_append_json_str(&extra, path, strlen(path));
            buf_appends(&extra, "}");
        }
        buf_appends(&extra, "]");
        route_explain_json(&p->dec, &view, extra.p, explain);
        buf_cleanup(&extra);
        return 0;
    }
    if (p->dec.status) {
        struct hg_err e;
        hg_err_set(&e, p->dec.status, p->dec.err_type ? p->dec.err_type : HG_ERR_UNAVAILABLE,
                   route_reason_name(p->dec.reason), "%s", p->dec.message);
        if (p->dec.reason == ROUTE_REASON_UNAVAILABLE && p->dec.sensitive)
            metrics_invariant_rejected(w->admin.shard);
        snprintf(p->rec.error, sizeof(p->rec.error), "%s", route_reason_name(p->dec.reason));
        set_route_headers(p);
        send_error(req, &e, p->reqid);
        p->req = NULL;
        finish(p, e.status);
        return -1;
    }
    return 0;
}

/* Strict UTF-8 check (no overlongs, no surrogates, ≤ U+10FFFF); the ASCII run is the fast path. */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (v & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

static void
handle_proxy(struct worker *w, struct http_req *req, enum endpoint ep, const char *reqid,
             bool explain)
{
    struct hg_err e = {0};
    size_t len;
    const char *raw = http_req_body(req, &len);
    struct proxy *p = xcalloc(1, sizeof(*p));

    p->w = w;
    p->req = req;
    p->ep = ep;
    p->cur = -1;
    p->full_cand = -1;
    p->t_start = clock_mono_us();
    p->rec.ts_us = clock_wall_us();
    buf_init(&p->resp, RESP_MAX);
    buf_init(&p->out, RESP_MAX);
    sse_parser_init(&p->sse, 4u << 20);
    snprintf(p->reqid, sizeof(p->reqid), "%s", reqid);
    snprintf(p->reqid_hdr, sizeof(p->reqid_hdr), "x-request-id: %s", p->reqid);
    snprintf(p->rec.request_id, sizeof(p->rec.request_id), "%s", p->reqid);
    snprintf(p->rec.endpoint, sizeof(p->rec.endpoint), "%s", endpoint_name(ep));

    if (!utf8_valid((const unsigned char *)raw, len)) {
        hg_err_set(&e, 400, HG_ERR_INVALID, "invalid_utf8", "the request body is not valid UTF-8");
        goto reject;
    }
    if (memmem(raw, len, "\\u0000", 6) != NULL) {
        /* cJSON ends a string at an escaped NUL, so the scanner would see less text than an
         * upstream parser: refuse it rather than forward bytes that were not scanned */
        hg_err_set(&e, 400, HG_ERR_INVALID, "invalid_json",
                   "NUL characters (\\u0000) are not accepted in request strings");
        goto reject;
    }
    p->body = json_parse(raw, len);
    if (p->body == NULL) {
        hg_err_set(&e, 400, HG_ERR_INVALID, "invalid_json",
                   "could not parse the JSON body of your request");
        goto reject;
    }
    if (validate(p->body, ep, &p->stream, &e) < 0)
        goto reject;
    p->rec.stream = p->stream;
    const char *model = json_get_str(p->body, "model");
    snprintf(p->rec.requested_model, sizeof(p->rec.requested_model), "%s", model);
    if (explain) {
        struct buf out;
        buf_init(&out, 4u << 20);
        decide(p, req, &out);
        http_req_send(req, 200, "application/json", out.p ? out.p : "{}", out.len);
        buf_cleanup(&out);
        p->req = NULL;
        proxy_free(p); /* nothing was sent anywhere: no record */
        return;
    }
    if (decide(p, req, NULL) < 0)
        return;
    request_stream_usage(p);
    http_req_set_callbacks(req, on_client_close, on_client_flush, p);
    start_attempt(p);
    return;
reject:
    send_error(req, &e, p->reqid);
    p->req = NULL;
    finish(p, e.status);
}

/* /v1/route/explain takes any of the three request bodies; ?endpoint= is not needed because the
 * body's shape tells: messages → chat, prompt → completions, input → embeddings. */
static enum endpoint
explain_endpoint(struct http_req *req)
{
    size_t len;
    const char *b = http_req_body(req, &len);
    if (memmem(b, len, "\"messages\"", 10))
        return EP_CHAT;
    if (memmem(b, len, "\"prompt\"", 8))
        return EP_COMPLETIONS;
    if (memmem(b, len, "\"input\"", 7))
        return EP_EMBEDDINGS;
    return EP_CHAT;
}

void
api_handle(struct http_req *req, void *arg)
{
    struct worker *w = arg;
    char reqid[40];
    make_reqid(w, req, reqid, sizeof(reqid));
    http_req_set_header(req, "x-request-id", reqid);
    int est = http_req_error_status(req);
    if (est) {
        if (est == 413)
            reply_error(req, 413, HG_ERR_INVALID, "request_too_large",
                        "the request body is larger than body_limit");
        else
            reply_error(req, est, HG_ERR_INVALID, "bad_request", "malformed HTTP request");
        return;
    }
    const char *m = http_req_method(req);
    const char *path = http_req_path(req);
    if (admin_owns_path(path)) {
        admin_serve(&w->gw->admin, req);
        return;
    }
    bool post = strcmp(m, "POST") == 0;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;

    if (post && !strcmp(path, "/v1/chat/completions"))
        handle_proxy(w, req, EP_CHAT, reqid, false);
    else if (post && !strcmp(path, "/v1/completions"))
        handle_proxy(w, req, EP_COMPLETIONS, reqid, false);
    else if (post && !strcmp(path, "/v1/embeddings"))
        handle_proxy(w, req, EP_EMBEDDINGS, reqid, false);
    else if (post && !strcmp(path, "/v1/route/explain"))
        handle_proxy(w, req, explain_endpoint(req), reqid, true);
    else if (get && !strcmp(path, "/v1/models"))
        handle_models(w, req);
    else if (get && !strcmp(path, "/healthz"))
        handle_ready(w, req, false);
    else if (get && !strcmp(path, "/readyz"))
        handle_ready(w, req, true);
    else if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/v1/completions") ||
             !strcmp(path, "/v1/embeddings") || !strcmp(path, "/v1/models"))
        reply_error(req, 405, HG_ERR_INVALID, "method_not_allowed",
                    "this method is not allowed on this path");
    else
        reply_error(req, 404, HG_ERR_NOT_FOUND, "unknown_url", "unknown URL path");
}
