/* SPDX-License-Identifier: MIT */
/* curl multi on libevent, after curl's multi-event.c / hiperfifo.c, with two measured tunings from
 * docs/design.md: easy handles come from a free list, and the socket callback leaves an event
 * alone when curl asks for the interest it already has (fewer epoll_ctl calls). */
#include "http/client.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

const char HTTP_CALL_ERR_CONNECT[] = "upstream connect failed";
const char HTTP_CALL_ERR_TIMEOUT[] = "upstream timed out";
const char HTTP_CALL_ERR_BROKEN[] = "upstream connection broke";
const char HTTP_CALL_ERR_TLS[] = "upstream TLS verification failed";
const char HTTP_CALL_ERR_ABORTED[] = "aborted";
const char HTTP_CALL_ERR_OTHER[] = "upstream request failed";

#define FREE_EASY_MAX 256 /* idle easy handles kept per worker */

struct http_client {
    struct event_base *base;  /* worker loop, not owned */
    CURLM *multi;             /* owned; its connection cache is the keep-alive pool */
    struct event *timer;      /* curl's timeout */
    struct event *deferred;   /* runs start failures and deferred cancels */
    CURL *free_easy[FREE_EASY_MAX]; /* reusable easy handles */
    size_t nfree;             /* entries in free_easy */
    struct http_call *calls;  /* running calls, doubly linked */
    struct http_call *failed; /* calls that failed to start, reported from the loop */
    size_t active;            /* calls in `calls` */
    int in_curl;              /* >0 while inside curl_multi_socket_action */
    size_t ncancelled;        /* calls cancelled inside curl and not yet freed */
};

struct sock_ctx {
    struct event *ev; /* persistent event for the socket */
    int what;         /* current CURL_POLL_* interest */
};

struct http_call {
    struct http_client *cl;     /* owner */
    CURL *easy;                 /* handle, NULL when failed to start */
    struct curl_slist *hdrs;    /* request headers, owned */
    http_head_cb *on_head;      /* callbacks */
    http_data_cb *on_data;
    http_done_cb *on_done;
    void *arg;                  /* for callbacks */
    struct http_call *prev, *next; /* in cl->calls or cl->failed */
    const char *start_err;      /* why it could not start */
    int status;                 /* final status once the head is complete */
    char ctype[128];            /* content-type of the final response */
    bool head_done;             /* on_head ran */
    bool cancelled;             /* owner cancelled; no more callbacks */
    bool aborted;               /* a callback returned -1 */
    bool paused;                /* paused by a callback */
};

static void check_done(struct http_client *cl);

static void
list_remove(struct http_call **head, struct http_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void
list_push(struct http_call **head, struct http_call *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

static void
easy_release(struct http_client *cl, CURL *e)
{
    if (cl->nfree < FREE_EASY_MAX) {
        curl_easy_reset(e);
        cl->free_easy[cl->nfree++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

static void
call_free(struct http_call *c)
{
    struct http_client *cl = c->cl;
    if (c->easy) {
        curl_multi_remove_handle(cl->multi, c->easy);
        easy_release(cl, c->easy);
        c->easy = NULL;
    }
    curl_slist_free_all(c->hdrs);
    free(c);
}

static void
on_sock_event(evutil_socket_t fd, short kind, void *arg)
{
    struct http_client *cl = arg;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    cl->in_curl++;
    curl_multi_socket_action(cl->multi, fd, action, &running);
    cl->in_curl--;
    check_done(cl);
}

static void
on_timer(evutil_socket_t fd, short kind, void *arg)
{
    struct http_client *cl = arg;
    int running;
    (void)fd;
    (void)kind;
    cl->in_curl++;
    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    cl->in_curl--;
    check_done(cl);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct http_client *cl = userp;
    struct sock_ctx *sc = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            event_free(sc->ev);
            free(sc);
            curl_multi_assign(cl->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (sc == NULL) {
        sc = xcalloc(1, sizeof(*sc));
        sc->ev = event_new(cl->base, s, kind, on_sock_event, cl);
        sc->what = what;
        event_add(sc->ev, NULL);
        curl_multi_assign(cl->multi, s, sc);
        return 0;
    }
    if (sc->what == what)
        return 0; /* unchanged interest: skip the epoll_ctl churn */
    event_del(sc->ev);
    event_assign(sc->ev, cl->base, s, kind, on_sock_event, cl);
    event_add(sc->ev, NULL);
    sc->what = what;
    return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct http_client *cl = userp;
    (void)m;
    if (timeout_ms < 0) {
        evtimer_del(cl->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(cl->timer, &tv);
    return 0;
}

static const char *
map_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
        return HTTP_CALL_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_CALL_ERR_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return HTTP_CALL_ERR_TLS;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return HTTP_CALL_ERR_BROKEN;
    case CURLE_WRITE_ERROR:
        return HTTP_CALL_ERR_ABORTED;
    default:
        return HTTP_CALL_ERR_OTHER;
    }
}

static void
finish(struct http_call *c, const char *errstr)
{
    struct http_client *cl = c->cl;
    list_remove(&cl->calls, c);
    cl->active--;
    if (c->cancelled)
        cl->ncancelled--; /* cancelled inside curl, then completed before the sweep */
    if (c->aborted)
        errstr = HTTP_CALL_ERR_ABORTED;
    if (errstr == NULL && !c->head_done)
        errstr = HTTP_CALL_ERR_BROKEN;
    http_done_cb *cb = c->on_done;
    void *arg = c->arg;
    bool cancelled = c->cancelled;
    call_free(c);
    if (!cancelled)
        cb(NULL, errstr, arg); /* the call is freed: callbacks get NULL, never a stale pointer */
}

static void
check_done(struct http_client *cl)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct http_call *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        CURLcode rc = msg->data.result;
        finish(c, rc == CURLE_OK ? NULL : map_error(rc));
    }
    /* calls cancelled from inside a curl callback are removed here, outside curl; the walk only
     * happens when there are some (walking every call on every event was quadratic with
     * thousands of open streams) */
    if (cl->ncancelled == 0)
        return;
    struct http_call *c = cl->calls;
    while (c) {
        struct http_call *next = c->next;
        if (c->cancelled) {
            list_remove(&cl->calls, c);
            cl->active--;
            cl->ncancelled--;
            call_free(c);
        }
        c = next;
    }
}

static void
on_deferred(evutil_socket_t fd, short kind, void *arg)
{
    struct http_client *cl = arg;
    (void)fd;
    (void)kind;
    while (cl->failed) {
        struct http_call *c = cl->failed;
        list_remove(&cl->failed, c);
        http_done_cb *cb = c->on_done;
        void *cbarg = c->arg;
        const char *err = c->start_err;
        bool cancelled = c->cancelled;
        call_free(c);
        if (!cancelled)
            cb(NULL, err, cbarg);
    }
    check_done(cl);
}

/* What curl gets back from a header or write callback, after the owner's callback returned r:
 * 0 (abort) when it cancelled or failed, PAUSE when it asked to pause, else the bytes taken. */
static size_t
cb_result(struct http_call *c, int r, size_t len)
{
    if (c->cancelled || r < 0) {
        c->aborted = !c->cancelled;
        return 0;
    }
    if (r > 0) {
        c->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    return len;
}

static size_t
header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct http_call *c = arg;
    size_t len = size * n;
    if (c->cancelled)
        return 0;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        c->ctype[0] = '\0';
        return len;
    }
    if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        const char *v = p + 13;
        size_t vl = len - 13;
        while (vl && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof(c->ctype))
            vl = sizeof(c->ctype) - 1;
        memcpy(c->ctype, v, vl);
        c->ctype[vl] = '\0';
        return len;
    }
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 100 && code < 200)
            return len; /* interim response; the real head follows */
        c->status = (int)code;
        c->head_done = true;
        return cb_result(c, c->on_head(c, c->status, c->ctype, c->arg), len);
    }
    return len;
}

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
    struct http_call *c = arg;
    size_t len = size * n;
    if (c->cancelled)
        return 0;
    if (!c->head_done)
        return len; /* cannot happen with HTTP; be safe */
    return cb_result(c, c->on_data(c, p, len, c->arg), len);
}

struct http_client *
http_client_new(struct event_base *base)
{
    struct http_client *cl = xcalloc(1, sizeof(*cl));
    cl->base = base;
    cl->multi = curl_multi_init();
    if (cl->multi == NULL) {
        fprintf(stderr, "curl_multi_init failed\n");
        abort();
    }
    cl->timer = evtimer_new(base, on_timer, cl);
    cl->deferred = event_new(base, -1, 0, on_deferred, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, 1024L);
    return cl;
}

void
http_client_free(struct http_client *cl)
{
    if (cl == NULL)
        return;
    while (cl->calls) {
        struct http_call *c = cl->calls;
        list_remove(&cl->calls, c);
        call_free(c);
    }
    while (cl->failed) {
        struct http_call *c = cl->failed;
        list_remove(&cl->failed, c);
        call_free(c);
    }
    for (size_t i = 0; i < cl->nfree; i++)
        curl_easy_cleanup(cl->free_easy[i]);
    curl_multi_cleanup(cl->multi);
    event_free(cl->timer);
    event_free(cl->deferred);
    free(cl);
}

size_t
http_client_active(const struct http_client *cl)
{
    return cl->active;
}

struct http_call *
http_call_start(struct http_client *cl, const struct http_call_opts *o, http_head_cb *on_head,
                http_data_cb *on_data, http_done_cb *on_done, void *arg)
{
    struct http_call *c = xcalloc(1, sizeof(*c));
    c->cl = cl;
    c->on_head = on_head;
    c->on_data = on_data;
    c->on_done = on_done;
    c->arg = arg;

    CURL *e = cl->nfree ? cl->free_easy[--cl->nfree] : curl_easy_init();
    if (e == NULL) {
        c->start_err = HTTP_CALL_ERR_OTHER;
        goto fail;
    }
    c->easy = e;
    for (const char *const *h = o->headers; h && *h; h++)
        c->hdrs = curl_slist_append(c->hdrs, *h);
    /* curl would send Expect: 100-continue for bodies over 1 MiB: an extra round trip */
    c->hdrs = curl_slist_append(c->hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (o->connect_timeout_ms)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->total_timeout_ms)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->method && strcmp(o->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body ? o->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (curl_multi_add_handle(cl->multi, e) != CURLM_OK) {
        c->start_err = HTTP_CALL_ERR_OTHER;
        goto fail;
    }
    list_push(&cl->calls, c);
    cl->active++;
    return c;
fail:
    if (c->easy) {
        easy_release(cl, c->easy);
        c->easy = NULL;
    }
    list_push(&cl->failed, c);
    event_active(cl->deferred, 0, 0);
    return c;
}

void
http_call_cancel(struct http_call *c)
{
    struct http_client *cl = c->cl;
    if (c->cancelled)
        return;
    c->cancelled = true;
    if (c->easy == NULL)
        return; /* a failed start: freed from on_deferred without callback */
    if (cl->in_curl) {
        /* inside curl: the transfer aborts at its next callback; check_done frees it */
        cl->ncancelled++;
        event_active(cl->deferred, 0, 0);
        return;
    }
    list_remove(&cl->calls, c);
    cl->active--;
    call_free(c);
}

void
http_call_resume(struct http_call *c)
{
    if (c->cancelled || !c->paused || c->easy == NULL)
        return;
    c->paused = false;
    c->cl->in_curl++;
    curl_easy_pause(c->easy, CURLPAUSE_CONT);
    c->cl->in_curl--;
    event_active(c->cl->deferred, 0, 0);
}
