/* SPDX-License-Identifier: MIT */
/* The routing engine: where does a request go, and why. route_config_load() turns the `routing:`
 * section into an ordered rule list (first match wins, a default rule ends it) with keywords
 * precompiled; route_decide() is a pure function of (request facts, live backend view) that
 * returns a reason and an ordered candidate list. It does no I/O, allocates nothing and reads no
 * clock. The privacy invariant ("sensitive => self-hosted, or a trusted hosted backend in the
 * rule's region") is enforced in route_decide() whatever the rules say, and again by
 * route_backend_allowed(), which the send path calls as a fail-closed assertion. */
#ifndef HG_ROUTE_ROUTE_H
#define HG_ROUTE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cfgtree.h"
#include "core/config.h"
#include "core/error.h"
#include "core/str.h"

#define ROUTE_MAX_RULES 64                     /* rule masks are uint64_t */
#define ROUTE_MAX_BACKENDS CONFIG_MAX_BACKENDS /* one candidate slot per backend */
#define ROUTE_MSG_LEN 256                      /* reject / 503 message, bounded */

/* Why the decision came out the way it did. route_reason_name() gives the header/metric label. */
enum route_reason {
    ROUTE_REASON_RULE,          /* a (non-default) rule matched; its pool serves */
    ROUTE_REASON_DEFAULT,       /* the default rule serves */
    ROUTE_REASON_SENSITIVE,     /* sensitive request kept on self-hosted / trusted-in-region */
    ROUTE_REASON_MASK,          /* mask-then-route rule; hosted candidates get masked text */
    ROUTE_REASON_BURST,         /* public request, primary pool saturated: overflow to burst_to */
    ROUTE_REASON_QUEUE,         /* every eligible backend saturated: wait in cand[0]'s queue */
    ROUTE_REASON_REJECT,        /* the rule's action is reject (status/message set) */
    ROUTE_REASON_UNAVAILABLE,   /* nothing eligible (503, message says why) */
    ROUTE_REASON_UNKNOWN_MODEL, /* no backend serves the requested model or alias (404) */
};
const char *route_reason_name(enum route_reason r);

enum route_action {
    ROUTE_ACTION_ROUTE,  /* send to the pool (burst_to on saturation) */
    ROUTE_ACTION_MASK,   /* same, but hosted candidates receive the masked body */
    ROUTE_ACTION_REJECT, /* answer status + message, call no backend */
};
const char *route_action_name(enum route_action a);

/* Why a backend is not a candidate: a bitmask per backend in route_decision.why[] (0 = it is a
 * candidate). route_why_name() names one bit; explain lists them all. */
#define ROUTE_WHY_NOT_IN_POOL 0x001u      /* not in the rule's pool or burst_to */
#define ROUTE_WHY_NO_MODEL 0x002u         /* does not serve the requested model/alias */
#define ROUTE_WHY_SENSITIVE_HOSTED 0x004u /* hosted (not trusted in region), request sensitive */
#define ROUTE_WHY_REGION 0x008u           /* region differs from the rule's require_region */
#define ROUTE_WHY_CIRCUIT_OPEN 0x010u     /* circuit breaker open (cooling down) */
#define ROUTE_WHY_DOWN 0x020u             /* active health check failing */
#define ROUTE_WHY_QUEUE_FULL 0x040u       /* saturated and its wait queue is full */
#define ROUTE_WHY_MODEL_VERSION 0x080u    /* returned model/fingerprint != require_model_version */
#define ROUTE_WHY_AIRGAP 0x100u           /* hosted while airgap is on (config forbids it too) */
#define ROUTE_WHY_HALF_OPEN_BUSY 0x200u   /* half-open and its probe slots are taken */
#define ROUTE_WHY_COUNT 10
const char *route_why_name(unsigned bit);

/* Failover conditions (nginx NGX_HTTP_UPSTREAM_FT_*): when an attempt fails with one of the
 * decision's `failover` bits, the caller may try the next candidate (before the first byte). */
#define ROUTE_FT_ERROR 0x01u    /* connect/transport error */
#define ROUTE_FT_TIMEOUT 0x02u  /* connect or first-byte timeout */
#define ROUTE_FT_HTTP_429 0x04u /* upstream rate-limited */
#define ROUTE_FT_HTTP_500 0x08u
#define ROUTE_FT_HTTP_502 0x10u
#define ROUTE_FT_HTTP_503 0x20u
#define ROUTE_FT_HTTP_504 0x40u
#define ROUTE_FT_CIRCUIT 0x80u /* health_acquire() refused (circuit open / probes busy) */
/* Issue 3: connect errors, 429 and every 5xx before the first byte move on to the next backend. */
#define ROUTE_FT_DEFAULT                                                                           \
    (ROUTE_FT_ERROR | ROUTE_FT_TIMEOUT | ROUTE_FT_HTTP_429 | ROUTE_FT_HTTP_500 |                   \
     ROUTE_FT_HTTP_502 | ROUTE_FT_HTTP_503 | ROUTE_FT_HTTP_504 | ROUTE_FT_CIRCUIT)
/* Maps an attempt's outcome to one ROUTE_FT_* bit (0 = not a failover condition). */
unsigned route_ft_classify(int http_status, bool transport_error, bool timeout);

/* Circuit-breaker state; lives here (not in health.h) because the view carries it. */
enum route_circuit {
    ROUTE_CIRCUIT_CLOSED,    /* normal */
    ROUTE_CIRCUIT_OPEN,      /* failing: no traffic until the cool-down ends */
    ROUTE_CIRCUIT_HALF_OPEN, /* cool-down over: a few probe requests decide */
};
const char *route_circuit_name(enum route_circuit c);

#define ROUTE_MODEL_LEN 128
#define ROUTE_FP_LEN 64

/* One backend as route_decide() sees it at one instant (filled by health_snapshot()). */
struct route_backend_view {
    int inflight;                /* requests holding a slot */
    int queued;                  /* requests waiting for a slot */
    bool down;                   /* last active checks failed (health_report_check) */
    enum route_circuit circuit;  /* as of view.now_us (open past its cool-down reads half-open) */
    int probes_free;             /* half-open: probe slots still free */
    double ttft_ms;              /* EWMA time to first token, 0 = no sample yet */
    double queue_wait_ms;        /* EWMA time spent queued, 0 = no sample yet */
    double tokens_per_s;         /* EWMA output tokens per second, 0 = no sample */
    double error_rate;           /* EWMA of failures (0..1) */
    char model[ROUTE_MODEL_LEN]; /* last `model` the backend returned, "" = none yet */
    char fingerprint[ROUTE_FP_LEN]; /* last `system_fingerprint`, "" = none */
};

struct route_config;

/* What route_decide() reads besides the request: config, rules and live state at now_us. */
struct route_view {
    const struct config *cfg;                        /* backends, aliases, airgap */
    const struct route_config *rc;                   /* rules from route_config_load() */
    int64_t now_us;                                  /* monotonic time of the snapshot */
    size_t nbackends;                                /* == cfg->nbackends */
    struct route_backend_view b[ROUTE_MAX_BACKENDS]; /* indexed like cfg->backends */
};

/* The request facts, all plain data from the api layer and the scanner. Views are not owned and
 * need not be NUL-terminated. */
struct route_input {
    unsigned classes;           /* RECORD_CLASS_* bitmask from the scanner (0 = public) */
    const struct str *entities; /* type_name of each scan_entity with .over ("US_SSN", ...) */
    size_t nentities;           /* entries in entities */
    struct str model;           /* model or alias the client asked for */
    struct str key_id;          /* caller key id, or empty */
    struct str team;            /* caller team, or empty */
    const struct str *tags;     /* x-hybridgate-tags / metadata tags */
    size_t ntags;               /* entries in tags */
    size_t prompt_bytes;        /* size of the prompt text */
    const struct str *text;     /* user text parts, for keywords/domains */
    size_t ntext;               /* entries in text */
    uint64_t seed;              /* tie-break among equally loaded backends (e.g. request id hash) */
};

struct route_candidate {
    int backend;       /* index into cfg->backends */
    const char *model; /* upstream model name (points into cfg or the route config) */
    bool mask;         /* send the masked body (mask rule, hosted backend) */
    bool burst;        /* came from burst_to */
    bool saturated;    /* all slots taken / over SLO: using it means queueing */
};

/* The outcome of route_decide(). Pointers point into the config / route config, which outlive it.
 * States:
 *   - status == 0: try cand[0..ncand-1] in order (ncand >= 1); queue => wait for cand[0].
 *   - status != 0: answer status with message; ncand == 0. */
struct route_decision {
    enum route_reason reason;    /* also the return value of route_decide() */
    int rule;                    /* index of the matched rule, -1 when none */
    const char *rule_name;       /* its name, "" when none */
    enum route_action action;    /* the rule's action */
    unsigned classes;            /* copy of the input classes */
    bool sensitive;              /* classes != 0 */
    bool mask;                   /* mask rule: hosted candidates need masked text */
    bool queue;                  /* sensitive (or no burst) and saturated: wait for cand[0] */
    bool burst;                  /* cand[0] came from burst_to */
    const char *region;          /* the rule's require_region or NULL (for route_backend_allowed) */
    const char *model_version;   /* the rule's require_model_version or NULL */
    unsigned failover;           /* ROUTE_FT_* conditions allowing the next candidate */
    int status;                  /* 0, or 403 (reject), 404 (model), 503 (nothing eligible) */
    const char *err_type;        /* HG_ERR_* for a non-zero status, else NULL */
    char message[ROUTE_MSG_LEN]; /* why, for the error body; "" when status == 0 */
    size_t ncand;                /* entries in cand */
    struct route_candidate cand[ROUTE_MAX_BACKENDS]; /* in the order to try */
    size_t nbackends;                                /* entries in why */
    unsigned why[ROUTE_MAX_BACKENDS]; /* per backend: ROUTE_WHY_* bits, 0 = candidate */
};

/* Parses `routing` (the node of the top-level `routing:` key, or NULL when the file has none:
 * then a default is synthesized: sensitive -> self-hosted backends; others -> least-loaded
 * self-hosted, hosted as burst_to). Accepts a list of rules, or a mapping {rules: [...],
 * circuit_breaker: {...}, ewma_alpha: x}. Rejects with "file:line: reason" (err->msg) any unknown
 * key, unknown backend, missing final default rule, unreachable rule, and any non-mask rule that
 * could send sensitive data to a hosted backend that is not trusted in the rule's region.
 * Returns 0 and *out (free with route_config_free), or -1 with *out = NULL. */
int route_config_load(const struct cfg_node *routing, const struct config *cfg,
                      struct route_config **out, struct hg_err *err);
void route_config_free(struct route_config *rc);

/* Rule introspection (tests, docs, /admin). */
size_t route_config_nrules(const struct route_config *rc);
const char *route_config_rule_name(const struct route_config *rc, size_t i);

/* Circuit-breaker and EWMA settings parsed from the routing section (health_new reads them). */
struct route_health_params {
    int failure_threshold;  /* consecutive failures that open the circuit (default 5) */
    double error_rate_open; /* EWMA error rate that opens it (default 0.5) */
    int min_samples;        /* samples before error_rate counts (default 20) */
    long cooldown_ms;       /* open -> half-open after this (default 5000) */
    int half_open_probes;   /* concurrent probe requests in half-open (default 1) */
    double ewma_alpha;      /* weight of a new sample (default 0.2) */
};
const struct route_health_params *route_config_health(const struct route_config *rc);

/* THE DECISION. Pure: reads in and now, writes *out, no I/O, no allocation, no clock.
 * Returns out->reason (>= 0). Never returns a hosted backend that route_backend_allowed() would
 * refuse for in->classes. Re-entrant; safe from any thread. */
int route_decide(const struct route_input *in, const struct route_view *now,
                 struct route_decision *out);

/* The send path's fail-closed assertion: may the bytes about to be sent, whose scanner classes
 * are `classes_sent` (for a masked body: the classes of the re-scan of the masked body), go to
 * backend `backend`? region = decision->region. False for an unknown index, for any hosted backend
 * under airgap, and for a hosted backend with sensitive classes unless it is trusted and its
 * region equals `region`. */
bool route_backend_allowed(const struct config *cfg, int backend, unsigned classes_sent,
                           const char *region);

/* The send path's iterator over d->cand with the assertion built in. Starting at *pos, returns
 * the index of the next candidate whose backend route_backend_allowed() accepts for the bytes it
 * would receive: the plain body (d->classes), or for a candidate with .mask the masked body,
 * whose re-scan classes are `masked_classes` (pass ROUTE_CLASSES_UNKNOWN when the body has not
 * been masked and re-scanned). Sets *pos past it. Returns -1 when none is left (answer 503). */
#define ROUTE_CLASSES_UNKNOWN 0xFFFFFFFFu
int route_next_candidate(const struct route_decision *d, const struct config *cfg, size_t *pos,
                         unsigned masked_classes);

/* True when an attempt that failed with ROUTE_FT_* condition `cond` may move on to the next
 * candidate. */
bool route_should_failover(const struct route_decision *d, unsigned cond);

/* `x-hybridgate-route` value: "<rule>; backend=<name>; reason=<why>" for the backend actually
 * used (-1 = none). Writes at most outlen bytes incl. NUL; returns the length it needed. */
size_t route_header_value(const struct route_decision *d, const struct config *cfg, int backend,
                          char *out, size_t outlen);

/* Appends the JSON object for POST /v1/route/explain: rule, reason, classes, candidates and, per
 * backend, eligible + why. `extra` (may be NULL) is a JSON member list inserted before the closing
 * brace, e.g. "\"entities\":[...]". Returns 0 or -1 (buf cap). */
int route_explain_json(const struct route_decision *d, const struct route_view *now,
                       const char *extra, struct buf *out);

/* Class bitmask <-> names ("pii", "phi", "financial", "secret"). */
const char *route_class_name(unsigned bit);

#endif
