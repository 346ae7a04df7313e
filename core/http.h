/* http: asynchronous HTTP(S) requests with libcurl's multi interface on a libev loop.
 *
 * One struct http_client per process owns a CURLM and the ev watchers curl asks for: one ev_io
 * per socket (kept with curl_multi_assign, freed on CURL_POLL_REMOVE) and one ev_timer that
 * curl's timer callback replaces (-1 stops it, 0 fires on the next loop turn; the timeout is
 * divided by 1000.0, never as integers). Connections are kept alive and reused per host and
 * source address. Each request may bind its own source address (CURLOPT_INTERFACE "host!ADDR"),
 * so one host acts as several IPs. Completion is read with curl_multi_info_read after every
 * socket action; handles are never removed inside curl callbacks.
 *
 * The answer body is capped at HTTP_BODY_MAX; a larger body fails the request cleanly. */
#ifndef BFQ_HTTP_H
#define BFQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/timebase.h"

struct ev_loop;
struct http_client;

#define HTTP_BODY_MAX (32u << 20)
#define HTTP_ERR_MAX 256
#define HTTP_HEADERS_MAX 8

enum http_status {
    HTTP_OK = 0,          /* an answer arrived (any HTTP status, see response.status) */
    HTTP_ETRANSPORT = -1, /* connect, DNS, TLS or read failure */
    HTTP_ETIMEOUT = -2,   /* no complete answer within the request's timeout */
    HTTP_ETOOBIG = -3,    /* body over HTTP_BODY_MAX */
    HTTP_ECANCELED = -4,  /* http_client_free or http_cancel_all while in flight */
};

struct http_request {
    const char *method;   /* "GET", "POST", "PUT", "DELETE" */
    const char *url;      /* full URL with query string */
    const char *body;     /* may be NULL; sent as application/x-www-form-urlencoded */
    const char *headers[HTTP_HEADERS_MAX]; /* "Name: value", NULL-terminated; copied */
    int64_t timeout_ms;   /* whole request; 0 means 10000 */
    const char *source_ip; /* bind outgoing connections to this address, or NULL */
    const char *ca_file;   /* PEM file of the CAs that verify https servers (CURLOPT_CAINFO),
                              or NULL: libcurl's default store; copied by libcurl */
};

struct http_response {
    enum http_status status;
    long code;                   /* HTTP status code, 0 when none arrived */
    const char *body;            /* NUL-terminated; valid only during the callback */
    size_t body_len;
    int64_t used_weight_1m;      /* X-MBX-USED-WEIGHT-1M, -1 when absent */
    int64_t order_count_10s;     /* X-MBX-ORDER-COUNT-10S, -1 when absent */
    int64_t order_count_1m;      /* X-MBX-ORDER-COUNT-1M, -1 when absent */
    int64_t retry_after_s;       /* Retry-After in seconds, -1 when absent */
    wall_ms_t sent_ms;           /* wall time the request went out: after DNS, connect and
                                    TLS (curl's pre-transfer time), else of http_send */
    wall_ms_t done_ms;           /* wall time of completion */
    const char *errstr;          /* transport error text, "" when none */
};

/* Called once per request when it completes, fails or is canceled. The response and its
 * strings are owned by the client and valid only until the callback returns. It may start new
 * requests; it must not free the client. */
typedef void http_done_fn(const struct http_response *res, void *privdata);

/* A client on loop. Returns NULL if curl cannot be initialised. */
struct http_client *http_client_new(struct ev_loop *loop);

/* Cancels every request in flight (their callbacks run with HTTP_ECANCELED) and frees. */
void http_client_free(struct http_client *hc);

/* Starts a request; the callback runs later from the loop, never from inside this call.
 * Returns 0, or -1 when the request could not be started (bad arguments, out of memory). */
int http_send(struct http_client *hc, const struct http_request *req, http_done_fn *done,
              void *privdata) __attribute__((warn_unused_result));

/* Requests in flight. */
int http_in_flight(const struct http_client *hc);

/* Cancels all requests in flight; their callbacks run with HTTP_ECANCELED before it returns. */
void http_cancel_all(struct http_client *hc);

#endif
