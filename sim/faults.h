/* faults: failures injected on request paths through POST /_sim/fault.
 *
 * A fault names a path ("/fapi/v1/klines", or "*" for every /fapi path), a kind and a rate (the
 * probability that a request is hit, drawn from a PRNG seeded by --seed, so a run is
 * repeatable). Kinds: latency (answer ms later), 5xx (503, not executed), disconnect (503 with
 * -1001, not executed), malformed (a 200 whose body is not JSON), truncated (the JSON body cut
 * in half, sent as a complete answer of that length), hang (never answer), unsorted (the
 * all-symbol bookTicker array in another order), frozen (timestamps and prices stop at the
 * time the fault was set), 429 and 418 (Binance's rate-limit and ban answers with -1003 and a
 * Retry-After of ms rounded up to whole seconds, not executed and not counted as a ban: the
 * IP's real weight and ban state are untouched); for order paths: code (any Binance code and
 * message with its HTTP status, not executed; a -1008 fault passes reduce-only and
 * close-position orders and cancels, as Binance's overload protection does), executed503
 * (executed, then answered 503 -1007 "execution status unknown") and algo_lag (a fresh algo
 * order stays invisible for ms). A fault may be limited to `count` hits and to `for_ms` of
 * life; it removes itself after either. At most FAULTS_MAX faults at once. */
#ifndef BFQ_SIM_FAULTS_H
#define BFQ_SIM_FAULTS_H

#include <stdint.h>

#include "core/sbuf.h"

#define FAULTS_MAX 64
#define FAULTS_MSG_MAX 200

enum fault_kind {
    FAULT_LATENCY, FAULT_5XX, FAULT_DISCONNECT, FAULT_MALFORMED, FAULT_TRUNCATED, FAULT_HANG,
    FAULT_UNSORTED, FAULT_FROZEN, FAULT_429, FAULT_418, FAULT_CODE, FAULT_EXECUTED503,
    FAULT_ALGO_LAG,
};

/* One fault to add. path and msg are copied. */
struct fault_spec {
    const char *path;
    enum fault_kind kind;
    int rate_ppm;        /* probability in parts per million */
    int64_t ms;          /* latency, Retry-After, algo_lag time */
    int64_t count;       /* hits before the fault removes itself; 0: unlimited */
    int64_t for_ms;      /* life from now; 0: until DELETE /_sim/fault */
    int code, status;    /* kind code: Binance code, HTTP status (0: Binance's for the code) */
    const char *msg;     /* kind code: message (NULL: Binance's for the code) */
};

/* What the faults decided for one request. */
struct fault_effects {
    int64_t latency_ms;
    int fail_5xx, disconnect, malformed, truncated, hang, unsorted;
    int64_t frozen_at_ms; /* 0 when not frozen */
    int limited;          /* 429 or 418 when a rate-limit fault hit, else 0 */
    int64_t limited_ms;   /* its wait (Retry-After before rounding up to seconds) */
    int code, code_status; /* kind code: answer {code, code_msg} with code_status */
    char code_msg[FAULTS_MSG_MAX];
    int executed503;
    int64_t algo_lag_ms;
};

struct faults;

struct faults *faults_new(uint64_t seed);
void faults_free(struct faults *f);
/* Parses kind; returns 0 or -1. */
int faults_kind_parse(const char *name, enum fault_kind *out);
/* Adds (or replaces the same path and kind). Returns 0, or -1 when full. */
int faults_add(struct faults *f, const struct fault_spec *spec, int64_t now_ms);
/* Binance's HTTP status and message for an error code (400 and a generic text for codes it
 * does not know). */
int faults_code_status(int code);
const char *faults_code_msg(int code);
void faults_clear(struct faults *f);
int faults_count(const struct faults *f);
/* Rolls every live fault on path at now_ms. exempt_1008: the request is a reduce-only or
 * close-position order or a cancel, which a -1008 code fault lets through (uncounted). */
void faults_apply(struct faults *f, const char *path, int64_t now_ms, int exempt_1008,
                  struct fault_effects *out);
void faults_json(const struct faults *f, struct sbuf *out);

#endif
