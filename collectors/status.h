/* status: the sections of `bfq status`, so other parts can add theirs.
 *
 * `bfq status` connects to Redis once (synchronous hiredis: it is a one-shot command), builds
 * one JSON object with a member per section, then prints either that object (--json) or each
 * section's text. A section is a pair of functions; to add one (e.g. "accounts"), write them
 * in your own file, declare them here, and add one line to the table in status.c. */
#ifndef BFQ_STATUS_H
#define BFQ_STATUS_H

#include <jansson.h>
#include <stdio.h>

#include "core/timebase.h"

struct redisContext;

struct status_ctx {
    struct redisContext *c; /* connected, authenticated, db selected */
    const char *prefix;     /* "bfq:" */
    wall_ms_t now;          /* one wall time for the whole report */
};

struct status_section {
    const char *name; /* member of the JSON report */
    /* Reads what the section shows; returns a new reference (object or array), or NULL with
     * the reason in err (the report then holds {"error": reason} for the section). */
    json_t *(*collect)(const struct status_ctx *ctx, char *err, size_t errcap);
    /* Prints the collected value as text (one or more lines). */
    void (*print)(const json_t *value, const struct status_ctx *ctx, FILE *out);
};

/* Helpers for sections: a reply's string as int64 (-1 when absent or not a number), and an
 * age in ms formatted as "0.4s", "12m", "3h" or "-" for unknown (< 0). */
int64_t status_reply_int(const void *reply);
void status_format_age(int64_t ms, char *buf, size_t cap);

/* The whole report (every section, as `bfq status --json` prints it): a new object, with
 * {"error": reason} in place of a section that failed. The dashboard's health reads it too. */
json_t *status_report(const struct status_ctx *ctx);

/* HGETALL key as a new object field -> parsed JSON (or the raw string when not JSON); empty
 * when the key is absent or the command failed (ctx->c->err tells). */
json_t *status_hash(const struct status_ctx *ctx, const char *key);

/* Scans keys matching pattern (e.g. "bfq:hb:*"), calling fn for each key. Returns 0 or -1. */
int status_scan(const struct status_ctx *ctx, const char *pattern,
                void (*fn)(const char *key, void *privdata), void *privdata);

/* Two sections' collect functions, for other readers of the same figures (dash/metrics):
 * every heartbeat (an array of objects sorted by role and instance, each with age_ms,
 * last_success_age_ms and, when it names a source_ip, ip_weight_minute), and the data's
 * freshness ({"universe","ticks","kline":{interval:ages},"hot"}, ages as
 * {"count","oldest_ms","median_ms"}). */
json_t *status_instances(const struct status_ctx *ctx, char *err, size_t cap);
json_t *status_data(const struct status_ctx *ctx, char *err, size_t cap);

#endif
