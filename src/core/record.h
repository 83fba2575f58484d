/* SPDX-License-Identifier: MIT */
/* struct req_record: what the gateway knows about one finished request, handed to the usage store,
 * the metrics and the access log. It holds ids, names, counts and durations only: no prompt, no
 * completion, no detected value, no key (rule 15 of the house style). Fixed-size fields so a copy
 * can cross threads without allocation. */
#ifndef HG_CORE_RECORD_H
#define HG_CORE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

/* Scanner classes as a bitmask (scan/scan.h uses the same values). */
#define RECORD_CLASS_PII 0x1u
#define RECORD_CLASS_PHI 0x2u
#define RECORD_CLASS_FINANCIAL 0x4u
#define RECORD_CLASS_SECRET 0x8u

struct req_record {
    int64_t ts_us;              /* wall clock at request start, microseconds since the epoch */
    char request_id[40];        /* x-request-id sent to the client */
    char key_id[40];            /* caller key id (a hash prefix, never the key), or "" */
    char team[64];              /* caller team, or "" */
    char rule[64];              /* routing rule that decided, or "" */
    char reason[32];            /* route reason name, e.g. "sensitive", "default", "burst" */
    char backend[65];           /* backend that answered (the last attempted), or "" */
    char backend_kind[16];      /* "self_hosted", "hosted" or "" when none was tried */
    char model[128];            /* model name sent upstream */
    char requested_model[128];  /* model or alias the client asked for */
    char endpoint[24];          /* "chat", "completions", "embeddings" */
    unsigned classes;           /* RECORD_CLASS_* detected in the request */
    bool sensitive;             /* the scanner classified the request sensitive */
    bool stream;                /* client asked for a stream */
    bool masked;                /* mask mode rewrote the request */
    int status;                 /* HTTP status sent to the client */
    int attempts;               /* upstream attempts (1 = no retry) */
    int64_t input_tokens;       /* from the upstream's usage, 0 when unknown */
    int64_t output_tokens;      /* from the upstream's usage, 0 when unknown */
    int64_t ttft_us;            /* request start → first byte of the upstream body */
    int64_t total_us;           /* request start → last byte to the client */
    int64_t scan_us;            /* time spent in the scanner */
    int64_t cost_micro_usd;     /* priced cost in micro-dollars (int64, never double) */
    char error[32];             /* short static error code, or "" */
};

#endif
