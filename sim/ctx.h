/* ctx: the simulator's shared state and the request/response records its modules pass.
 *
 * One struct sim_ctx per process, created by sim.c, used from the one event loop only. The
 * HTTP layer (server.c) turns each request into a struct sim_request, the router fills a
 * struct sim_response, and the server writes it; nothing here knows about libwebsockets. */
#ifndef BFQ_SIM_CTX_H
#define BFQ_SIM_CTX_H

#include <stdint.h>

#include "sim/engine.h"
#include "sim/faults.h"
#include "sim/limits.h"
#include "sim/market.h"
#include "sim/reqlog.h"
#include "core/sbuf.h"

struct ustream;
struct mdata;

struct sim_config {
    char listen_host[64];
    int port;
    uint64_t seed;
    int symbols;
    int64_t weight_limit;
    int64_t ban_base_ms;
    int64_t listenkey_ttl_ms;
    int64_t ws_ping_ms, ws_max_age_ms;
    int64_t funding_interval_ms;
    int classic_stops;
    double volatility, correlation; /* price model (market.h) */
    const char *tls_cert, *tls_key; /* owned by the config, may be NULL */
    const char *replay_dir;         /* may be NULL */
};

struct sim_ctx {
    struct sim_config cfg;
    struct sim_market *market;
    struct sim_engine *engine;
    struct limits *limits;
    struct reqlog *log;
    struct faults *faults;
    struct ustream *us;
    struct mdata *md;
    int64_t clock_offset_ms; /* POST /_sim/clock */
};

/* The simulator's clock: wall time plus the admin offset. */
int64_t sim_now(const struct sim_ctx *c);

#define SIM_QUERY_VARIANTS 4

struct sim_request {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *path;    /* decoded path, no query */
    const char *ip;      /* client address as text */
    const char *apikey;  /* X-MBX-APIKEY value, NULL when absent */
    /* The query string as the client may have encoded it: lws hands over decoded
     * parameters, so the signature is checked against each plausible encoding. variant[0]
     * is the canonical one used for parsing. "" when there is no query. */
    const char *query_variant[SIM_QUERY_VARIANTS];
    int nvariants;
    const char *body;    /* raw body, "" when none */
};

struct sim_response {
    int status;
    struct sbuf body;
    int weight;            /* charged */
    int64_t used_weight;   /* X-MBX-USED-WEIGHT-1M, -1 for admin answers */
    int order_headers;     /* nonzero: send X-MBX-ORDER-COUNT-10S/1M */
    int64_t oc10, oc1m;
    int64_t retry_after_s; /* -1: no Retry-After */
    int64_t latency_ms;
    int hang;
    int close_after;       /* close the connection after answering */
};

/* Writes {"code":code,"msg":msg} as the body with HTTP status. */
void sim_error(struct sim_response *r, int status, int code, const char *msg);

#endif
