/* fetch: what the dashboard reads, on its worker thread only (core/worker), never on the loop.
 *
 * The worker owns one blocking Redis connection (core/rblock, as the read-only ACL user `dash`,
 * with short timeouts) and one blocking MariaDB connection (recorder/db's db_connect, as the
 * read-only `reader`), each opened on demand and dropped on any error so the next job
 * reconnects: Redis or MariaDB down costs the answer of the parts that need it (503 with a
 * JSON error), never the process. Each job is one API route; its answer (status and JSON body)
 * is built from the sources by build.h's pure functions and by the readers of the other parts
 * (recorder/report.c for the PnL sums, collectors/status.c for the heartbeats and freshness). */
#ifndef BFQ_DASH_FETCH_H
#define BFQ_DASH_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/backoff.h"
#include "dash/build.h"
#include "recorder/db.h"

struct redisContext;
struct st_mysql;
struct dash_req;

enum dash_route {
    DASH_CURVE,
    DASH_DAILY,
    DASH_SYMBOLS,
    DASH_LOSERS,
    DASH_POSITIONS,
    DASH_ORDERS,
    DASH_STATE,
    DASH_HEALTH,
    DASH_METRICS,
};

/* After a failed connect, a source is not tried again before retry_at (core/backoff, 0.5 s
 * growing to 5 s): meanwhile its routes answer 503 at once with the last error, so a source
 * that hangs costs the worker one timeout per back-off, not one per request. */
struct dash_gate {
    struct backoff bo;
    int64_t retry_at;           /* monotonic ms; 0: try */
    char err[200];
};

/* The sources; the configuration part is set by the loop thread before the worker starts,
 * the connections belong to the worker thread. */
struct dash_src {
    const char *redis_url;      /* borrowed from the config */
    struct db_url db;           /* valid when have_db */
    int have_db;
    int timeout_ms;             /* Redis command and MariaDB timeouts */
    char prefix[64];            /* "bfq:" */
    char account[32];           /* "main" */
    char asset[16];             /* the curves' asset, "USDT" */
    struct dash_stale stale;
    /* worker thread only */
    struct redisContext *rc;
    struct st_mysql *m;
    struct dash_gate redis_gate, db_gate;
};

/* One request as a worker job: filled by the loop thread, answered by dash_fetch. */
struct dash_job {
    enum dash_route route;
    char range[8];              /* "1d", "7d", "30d", "all" (longer input is cut, then refused) */
    int limit;                  /* losers: how many */
    struct dash_req *req;       /* the loop thread's; untouched by the worker */
    /* the answer */
    int status;
    const char *type;
    char *body;                 /* malloc'd */
    size_t len;
};

/* Sets up the worker-thread state of s (before the worker starts). */
void dash_src_init(struct dash_src *s);

/* Runs job on the worker thread (see the top). */
void dash_fetch(struct dash_src *s, struct dash_job *job);

/* Closes the worker's connections (on the worker thread, as it ends). */
void dash_src_close(struct dash_src *s);

#endif
