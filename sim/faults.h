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
 * IP's real weight and ban state are untouched). At most FAULTS_MAX faults at once. */
#ifndef BFQ_SIM_FAULTS_H
#define BFQ_SIM_FAULTS_H

#include <stdint.h>

#include "sim/sbuf.h"

#define FAULTS_MAX 64

enum fault_kind {
    FAULT_LATENCY, FAULT_5XX, FAULT_DISCONNECT, FAULT_MALFORMED, FAULT_TRUNCATED, FAULT_HANG,
    FAULT_UNSORTED, FAULT_FROZEN, FAULT_429, FAULT_418,
};

/* What the faults decided for one request. */
struct fault_effects {
    int64_t latency_ms;
    int fail_5xx, disconnect, malformed, truncated, hang, unsorted;
    int64_t frozen_at_ms; /* 0 when not frozen */
    int limited;          /* 429 or 418 when a rate-limit fault hit, else 0 */
    int64_t limited_ms;   /* its wait (Retry-After before rounding up to seconds) */
};

struct faults;

struct faults *faults_new(uint64_t seed);
void faults_free(struct faults *f);
/* Parses kind; returns 0 or -1. */
int faults_kind_parse(const char *name, enum fault_kind *out);
/* Adds (or replaces the same path and kind). rate in [0,1] as parts per million. */
int faults_add(struct faults *f, const char *path, enum fault_kind kind, int rate_ppm,
               int64_t ms, int64_t now_ms);
void faults_clear(struct faults *f);
int faults_count(const struct faults *f);
/* Rolls every fault on path. */
void faults_apply(struct faults *f, const char *path, struct fault_effects *out);
void faults_json(const struct faults *f, struct sbuf *out);

#endif
