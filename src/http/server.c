/* SPDX-License-Identifier: MIT */
/* evhttp behind the http_req contract of server.h. The two things evhttp does not do for us:
 * it does not notice a client that leaves before the reply starts (libevent #78/#608), so a
 * one-shot read watcher peeks at the socket until then; and it reports a server-side reject
 * (bad request line, body over the limit) by calling the handler with no URI, which we turn
 * into a request with an error status. */
#include "http/server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "core/alloc.h"
#include "core/log.h"

struct http_server {
    struct event_base *base;          /* the worker's loop; not owned */
    struct evhttp *http;              /* owned */
    struct evconnlistener *listener;  /* owned by the bound socket */
    struct evhttp_bound_socket *bound; /* NULL once accepting stopped */
    http_handler_cb *cb;              /* api entry point */
    void *arg;                        /* for cb */
    size_t open;                      /* requests handed out and not finished */
    long client_timeout_ms;           /* write timeout kept on streaming replies */
    bool draining;                    /* stopped accepting: finished replies are tracked */
    size_t flushing;                  /* draining: finished replies whose bytes are not out yet */
};

struct http_req {
    struct http_server *srv;       /* owning server */
    struct evhttp_request *ev;     /* evhttp's request; NULL once evhttp freed it */
    struct evhttp_connection *con; /* its connection while attached */
    struct event *watch;           /* pre-reply disconnect watcher, or NULL */
    http_close_cb *on_close;       /* owner's notice of a client that left */
    http_flush_cb *on_flush;       /* owner's notice that output drained */
    void *arg;                     /* for the callbacks */
    char *path;                    /* decoded path, owned */
    int error_status;              /* server-side reject status, 0 if none */
    bool started;                  /* chunked reply started */
    bool gone;                     /* client disconnected */
    bool close_notified;           /* on_close already ran */
};

static void
req_free(struct http_req *r)
{
    if (r->watch) {
        event_free(r->watch);
        r->watch = NULL;
    }
    if (r->con)
        evhttp_connection_set_closecb(r->con, NULL, NULL);
    r->srv->open--;
    free(r->path);
    free(r);
}

static void
notify_close(struct http_req *r)
{
    r->gone = true;
    if (r->watch) {
        event_free(r->watch);
        r->watch = NULL;
    }
    if (!r->close_notified) {
        r->close_notified = true;
        if (r->on_close)
            r->on_close(r, r->arg);
    }
}

/* evhttp frees a connection: the client left (or the server is shutting down). */
static void
on_conn_close(struct evhttp_connection *con, void *arg)
{
    struct http_req *r = arg;
    (void)con;
    r->con = NULL;
    /* A request evhttp detached (client EOF/error while we held it) is ours to free through
     * evhttp_send_reply_end(); one still queued on the connection is freed by evhttp right after
     * this callback, so forget it. */
    if (r->ev && evhttp_request_get_connection(r->ev) != NULL)
        r->ev = NULL;
    notify_close(r);
}

/* The pre-reply watcher: readable means EOF/RST (client left) or a pipelined request. */
static void
on_watch(evutil_socket_t fd, short what, void *arg)
{
    struct http_req *r = arg;
    char c;
    (void)what;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return; /* pipelined bytes: the one-shot watcher stays off from now on */
    notify_close(r);
}

static void
handle(struct evhttp_request *ev, void *arg)
{
    struct http_server *s = arg;
    struct http_req *r = xcalloc(1, sizeof(*r));
    r->srv = s;
    r->ev = ev;
    r->con = evhttp_request_get_connection(ev);
    s->open++;
    if (evhttp_request_get_uri(ev) == NULL) {
        int code = evhttp_request_get_response_code(ev);
        r->error_status = code >= 400 ? code : 400;
        r->path = xstrdup("");
    } else {
        const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(ev);
        const char *p = u ? evhttp_uri_get_path(u) : NULL;
        r->path = xstrdup(p && *p ? p : "/");
    }
    if (r->con)
        evhttp_connection_set_closecb(r->con, on_conn_close, r);
    s->cb(r, s->arg);
}

/* After the handler returned without a reply: watch the client socket (one shot). */
static void
arm_watch(struct http_req *r)
{
    if (r->watch || r->started || r->gone || r->con == NULL)
        return;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(r->con);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return;
    r->watch = event_new(r->srv->base, fd, EV_READ, on_watch, r);
    event_add(r->watch, NULL);
}

static const char *
reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

/* evhttp 2.1 answers some rejects itself (body over the limit, unknown method, broken request
 * line) with a fixed HTML page and has no error callback (libevent 2.2 adds evhttp_set_errorcb).
 * Every connection's output buffer therefore carries this callback: when a buffer holding exactly
 * one response ends with that page's last line, the response is replaced by the same status with
 * an OpenAI error JSON body. Normal responses cost one 15-byte tail compare per buffer append. */
static const char html_tail[] = "</BODY></HTML>\n";
#define HTML_TAIL_LEN (sizeof(html_tail) - 1)

static void
on_output_added(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    (void)arg;
    size_t len = evbuffer_get_length(b);
    if (info->n_added < HTML_TAIL_LEN || len < 16 + HTML_TAIL_LEN)
        return;
    char tail[HTML_TAIL_LEN];
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(b, &pos, len - HTML_TAIL_LEN, EVBUFFER_PTR_SET) < 0 ||
        evbuffer_copyout_from(b, &pos, tail, HTML_TAIL_LEN) != (ev_ssize_t)HTML_TAIL_LEN ||
        memcmp(tail, html_tail, HTML_TAIL_LEN) != 0)
        return;
    char head[13];
    if (evbuffer_copyout(b, head, 12) != 12)
        return;
    head[12] = '\0';
    /* "HTTP/1.1 413": only a buffer that starts with the response being rewritten */
    if (strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' || (head[9] != '4' && head[9] != '5'))
        return;
    int status = atoi(head + 9);
    const char *msg = status == 413   ? "the request body is larger than body_limit"
                      : status == 501 ? "this HTTP method is not implemented"
                      : status == 505 ? "this HTTP version is not supported"
                                      : "malformed HTTP request";
    const char *code = status == 413 ? "request_too_large" : "bad_request";
    char body[300];
    int bl = snprintf(body, sizeof(body),
                      "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\","
                      "\"param\":null,\"code\":\"%s\"}}",
                      msg, code);
    evbuffer_drain(b, len);
    evbuffer_add_printf(b,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        "Content-Length: %d\r\n\r\n%s",
                        status, reason(status), bl, body);
}

static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
    (void)arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev)
        evbuffer_add_cb(bufferevent_get_output(bev), on_output_added, NULL);
    return bev;
}

static void
gen_cb(struct evhttp_request *ev, void *arg)
{
    handle(ev, arg);
}

struct http_server *
http_server_new(struct event_base *base, const struct http_server_opts *o, http_handler_cb *cb,
                void *arg, struct hg_err *err)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    char addr[300];

    s->base = base;
    s->client_timeout_ms = o->client_timeout_ms;
    s->cb = cb;
    s->arg = arg;
    snprintf(addr, sizeof(addr), strchr(o->host, ':') ? "[%s]:%d" : "%s:%d", o->host, o->port);
    memset(&ss, 0, sizeof(ss));
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) < 0) {
        hg_err_set(err, 0, HG_ERR_SERVER, NULL, "listen address '%s' is not a numeric IP:port",
                   addr);
        goto fail;
    }
    s->listener = evconnlistener_new_bind(
        base, NULL, NULL,
        LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, sslen);
    if (s->listener == NULL) {
        hg_err_set(err, 0, HG_ERR_SERVER, NULL, "bind(%s) failed: %s", addr, strerror(errno));
        goto fail;
    }
    s->http = evhttp_new(base);
    evhttp_set_max_body_size(s->http, (ev_ssize_t)o->body_limit);
    evhttp_set_max_headers_size(s->http, 64 * 1024);
    evhttp_set_timeout(s->http, (int)((o->client_timeout_ms + 999) / 1000));
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(s->http, "application/json");
    evhttp_set_gencb(s->http, gen_cb, s);
    evhttp_set_bevcb(s->http, make_bev, NULL);
    s->bound = evhttp_bind_listener(s->http, s->listener);
    if (s->bound == NULL) {
        hg_err_set(err, 0, HG_ERR_SERVER, NULL, "evhttp_bind_listener failed");
        goto fail;
    }
    return s;
fail:
    if (s->http)
        evhttp_free(s->http);
    else if (s->listener)
        evconnlistener_free(s->listener);
    free(s);
    return NULL;
}

void
http_server_stop_accepting(struct http_server *s)
{
    if (s->bound) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
    s->draining = true;
}

void
http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    evhttp_free(s->http);
    free(s);
}

size_t
http_server_open_requests(const struct http_server *s)
{
    return s->open + s->flushing;
}

int
http_req_error_status(const struct http_req *r)
{
    return r->error_status;
}

const char *
http_req_method(const struct http_req *r)
{
    if (r->ev == NULL)
        return "GET";
    switch (evhttp_request_get_command(r->ev)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

const char *
http_req_path(const struct http_req *r)
{
    return r->path;
}

const char *
http_req_header(const struct http_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *
http_req_body(struct http_req *r, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(r->ev);
    *len = evbuffer_get_length(b);
    if (*len == 0)
        return "";
    return (const char *)evbuffer_pullup(b, -1);
}

void
http_req_set_header(struct http_req *r, const char *name, const char *value)
{
    if (r->ev && !r->started)
        evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

/* While draining, a finished reply is counted until evhttp has written it (on-complete) or its
 * connection died (close callback), so the drain does not close connections with bytes still
 * queued for a slow reader. Exactly one of the two callbacks runs; each clears the other. */
struct flush_track {
    struct http_server *srv;       /* counter owner */
    struct evhttp_connection *con; /* connection the reply is on */
};

static void
on_flush_done(struct evhttp_request *ev, void *arg)
{
    struct flush_track *f = arg;
    (void)ev;
    evhttp_connection_set_closecb(f->con, NULL, NULL);
    f->srv->flushing--;
    free(f);
}

static void
on_flush_close(struct evhttp_connection *con, void *arg)
{
    struct flush_track *f = arg;
    (void)con;
    f->srv->flushing--;
    free(f);
}

/* Call after req_free() (which clears the connection's close callback) and before the send. */
static void
track_flush(struct http_server *srv, struct evhttp_request *ev, struct evhttp_connection *con)
{
    if (!srv->draining || ev == NULL || con == NULL)
        return;
    struct flush_track *f = xcalloc(1, sizeof(*f));
    f->srv = srv;
    f->con = con;
    srv->flushing++;
    evhttp_request_set_on_complete_cb(ev, on_flush_done, f);
    evhttp_connection_set_closecb(con, on_flush_close, f);
}

void
http_req_send(struct http_req *r, int status, const char *ctype, const char *body, size_t len)
{
    if (r->gone || r->ev == NULL) {
        http_req_abort(r);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    if (r->error_status)
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, body, len);
    /* Forget r before evhttp may complete (and free the connection, running its close
     * callback) inside the send call: an HTTP/1.0 reply can finish synchronously. */
    struct evhttp_request *ev = r->ev;
    struct evhttp_connection *con = r->con;
    struct http_server *srv = r->srv;
    req_free(r);
    track_flush(srv, ev, con);
    evhttp_send_reply(ev, status, reason(status), out);
    evbuffer_free(out);
}

void
http_req_start(struct http_req *r, int status, const char *ctype)
{
    if (r->watch) {
        event_free(r->watch);
        r->watch = NULL;
    }
    r->started = true;
    if (r->gone || r->ev == NULL)
        return;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    evhttp_send_reply_start(r->ev, status, reason(status));
    /* evhttp re-enables reading with the client read timeout once the reply starts; the client
     * sends nothing during a stream, so only the write timeout (a stuck client) may end it. The
     * upstream side has its own idle_timeout. */
    struct bufferevent *bev = r->con ? evhttp_connection_get_bufferevent(r->con) : NULL;
    if (bev) {
        struct timeval wt = {r->srv->client_timeout_ms / 1000, (r->srv->client_timeout_ms % 1000) * 1000};
        bufferevent_set_timeouts(bev, NULL, &wt);
    }
}

static void
on_flushed(struct evhttp_connection *con, void *arg)
{
    struct http_req *r = arg;
    (void)con;
    if (r->on_flush && !r->gone)
        r->on_flush(r, r->arg);
}

size_t
http_req_write(struct http_req *r, const char *p, size_t n)
{
    if (r->gone || r->con == NULL || r->ev == NULL)
        return 0;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, p, n);
    evhttp_send_reply_chunk_with_cb(r->ev, b, on_flushed, r);
    evbuffer_free(b);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(r->con);
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

size_t
http_req_pending(const struct http_req *r)
{
    if (r->gone || r->con == NULL)
        return 0;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(r->con);
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void
http_req_end(struct http_req *r)
{
    /* the connection may serve another request: give it back its idle read timeout */
    struct bufferevent *bev = r->started && r->con ? evhttp_connection_get_bufferevent(r->con) : NULL;
    if (bev) {
        struct timeval t = {r->srv->client_timeout_ms / 1000, (r->srv->client_timeout_ms % 1000) * 1000};
        bufferevent_set_timeouts(bev, &t, &t);
    }
    /* as in http_req_send: r must be gone before evhttp can complete synchronously */
    struct evhttp_request *ev = r->ev;
    struct evhttp_connection *con = r->con;
    struct http_server *srv = r->srv;
    req_free(r);
    track_flush(srv, ev, con);
    if (ev)
        evhttp_send_reply_end(ev); /* also frees a request evhttp detached */
}

void
http_req_abort(struct http_req *r)
{
    if (r->ev && r->con == NULL) {
        /* evhttp detached the request when the connection failed; this frees it */
        evhttp_send_reply_end(r->ev);
    } else if (r->ev && r->con) {
        struct evhttp_connection *con = r->con;
        evhttp_connection_set_closecb(con, NULL, NULL);
        r->con = NULL;
        evhttp_connection_free(con); /* frees the request too; no clean end is sent */
    }
    r->ev = NULL;
    req_free(r);
}

void
http_req_set_callbacks(struct http_req *r, http_close_cb *on_close, http_flush_cb *on_flush,
                       void *arg)
{
    r->on_close = on_close;
    r->on_flush = on_flush;
    r->arg = arg;
    arm_watch(r);
}

bool
http_req_started(const struct http_req *r)
{
    return r->started;
}

bool
http_req_client_gone(const struct http_req *r)
{
    return r->gone;
}
