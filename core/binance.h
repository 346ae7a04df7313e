/* binance: the exchange's request rules on top of http.
 *
 * Three kinds of request: public, API-key (X-MBX-APIKEY header) and SIGNED (HMAC-SHA256 over
 * the query string concatenated with the body, `signature` appended last, recvWindow <= 5000,
 * timestamp from the synced server clock). Before the first signed request, and after any
 * answer with -1021, the client syncs with GET /fapi/v1/time and retries that request once.
 *
 * Each answer is classified into a struct binance_result the caller can act on without
 * reading text: success with the parsed JSON, an exchange error {code,msg}, rate limited (429)
 * or banned (418) with the wait, a server error, a transport failure, or a malformed body.
 * The secret lives only in this struct and is never logged (it is registered for redaction).
 *
 * If a weight budget is attached (binance_set_budget), every request first takes its weight
 * from the shared per-IP budget in Redis and waits when the budget says so; the budget's minute
 * keys follow this client's exchange clock, so then every request (public ones too) waits for
 * the clock to be synced first, and each answer's weight header is fed back with the request's
 * send and answer times. A take that fails (Redis did not answer within its deadline) fails the
 * request with BINANCE_ELOCAL: it was not sent. */
#ifndef BFQ_BINANCE_H
#define BFQ_BINANCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/http.h"
#include "core/timebase.h"

struct binance_client;
struct weight_budget;

#define BINANCE_MSG_MAX 256
#define BINANCE_RECV_WINDOW_MS 5000
/* GET /fapi/v1/time requests per clock sync, one after the other; the one with the shortest
 * round trip sets the clock. */
#define BINANCE_SYNC_SAMPLES 3

enum binance_auth { BINANCE_PUBLIC, BINANCE_APIKEY, BINANCE_SIGNED };

enum binance_outcome {
    BINANCE_OK = 0,        /* 2xx with a JSON body: res->json */
    BINANCE_EAPI,          /* exchange error {code,msg}: res->code, res->msg */
    BINANCE_ERATE,         /* 429: res->retry_after_ms */
    BINANCE_EBANNED,       /* 418: res->retry_after_ms */
    BINANCE_ESERVER,       /* 5xx (503 "unknown" included: execution status unknown) */
    BINANCE_EHTTP,         /* another non-2xx status without an error body */
    BINANCE_ETRANSPORT,    /* connect/read failure */
    BINANCE_ETIMEOUT,
    BINANCE_EMALFORMED,    /* 2xx whose body is not valid JSON, truncated, or too big */
    BINANCE_ELOCAL,        /* the request could not be built or was canceled */
};

struct binance_result {
    enum binance_outcome outcome;
    long http_code;
    int code;                     /* exchange error code, 0 when none */
    char msg[BINANCE_MSG_MAX];    /* exchange message or our reason; never holds a secret */
    json_t *json;                 /* borrowed: valid during the callback only */
    const char *body;             /* raw body, valid during the callback only */
    size_t body_len;
    int64_t retry_after_ms;       /* 429/418: how long this IP must wait, else 0 */
    int64_t used_weight_1m;       /* from the answer header, -1 when absent */
    int64_t order_count_10s, order_count_1m;
    wall_ms_t sent_ms, done_ms;
};

typedef void binance_done_fn(const struct binance_result *res, void *privdata);

struct binance_config {
    const char *rest_url;   /* "https://fapi.binance.com" or "http://127.0.0.1:PORT"; copied */
    const char *api_key;    /* may be NULL for public use; copied */
    const char *api_secret; /* may be NULL; copied, registered for log redaction */
    const char *source_ip;  /* may be NULL; copied */
    const char *ca_file;    /* PEM CAs for https (http_request.ca_file); may be NULL; copied */
    int64_t recv_window_ms; /* 0 means BINANCE_RECV_WINDOW_MS; values above 5000 are refused */
    int64_t timeout_ms;     /* per request; 0 means 5000 */
};

/* A client sharing hc (not owned). Returns NULL with a reason in err on bad config. */
struct binance_client *binance_client_new(struct http_client *hc, const struct binance_config *cfg,
                                          char *err, size_t errcap);
/* Cancels this client's requests (callbacks run with BINANCE_ELOCAL) and frees it. */
void binance_client_free(struct binance_client *bc);

/* Attaches a weight budget (not owned); NULL detaches. */
void binance_set_budget(struct binance_client *bc, struct weight_budget *wb);

/* Sends method path?query (query without '?', may be NULL or ""; params already URL-encoded)
 * with an optional form body. `weight` is the request's IP weight for the budget. The callback
 * runs exactly once, later, from the loop. Returns 0 or -1 if it could not be queued. */
int binance_request(struct binance_client *bc, const char *method, const char *path,
                    const char *query, const char *body, enum binance_auth auth, int weight,
                    binance_done_fn *done, void *privdata) __attribute__((warn_unused_result));

/* The synced exchange clock of this client. */
const struct servertime *binance_servertime(const struct binance_client *bc);

/* How far ahead of this client's exchange clock an exchange time may be (10 minutes). */
#define BINANCE_FUTURE_TOLERANCE_MS (10 * 60 * 1000LL)

/* The one rule for exchange times that become a record's freshness ("freshest wins"): nonzero
 * when t_ms <= servertime_now(binance_servertime(bc)) + BINANCE_FUTURE_TOLERANCE_MS. A time
 * further ahead (a bad exchange node, a corrupted field, an id passed as a time) would win
 * over every honest update of its record until real time caught up, so collectors refuse that
 * record (or the answer) and count it malformed. The tolerance is wide because public-only
 * clients never sync, so the local clock stands in for the exchange's and may be off a little;
 * it still refuses garbage such as year 2100. binance_time_limit is the greatest plausible
 * time, for pure parsers that are handed a limit instead of a client. */
int binance_time_plausible(const struct binance_client *bc, int64_t t_ms);
int64_t binance_time_limit(const struct binance_client *bc);

/* hex(HMAC-SHA256(secret, msg)) into out (65 bytes). Returns 0 or -1. */
int binance_sign(const char *secret, const char *msg, size_t msg_len, char out[65]);

/* Short name of an outcome for logs and heartbeat counters ("ok", "api", "429", ...). */
const char *binance_outcome_name(enum binance_outcome o);

/* 1 when, after this answer to an order request, the order may or may not have executed: a 5xx
 * (503 "execution status unknown" included), a timeout, a transport failure, a malformed body,
 * another non-2xx status without an error body, or one of the exchange codes that say so
 * (-1000 unknown, -1001 disconnected, -1006 unexpected response, -1007 timeout). The caller
 * queries the order by its client id; it never sends it again blindly. */
int binance_outcome_unknown(const struct binance_result *res);

#endif
