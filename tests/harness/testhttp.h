/* testhttp: a scripted HTTP/1.1 server on loopback for testing the HTTP client.
 *
 * Tests of core/http and core/binance need answers a real server would rarely give: a body
 * shorter than its Content-Length followed by a close, a hang, a 40 MiB body, a delayed
 * answer, a 429 with Retry-After. This server is deliberately raw: it reads a request (head up
 * to the blank line, then Content-Length bytes of body), asks the test's handler for the exact
 * bytes to write back, and writes them, optionally late, optionally closing afterwards, or
 * never (hang). It is not an HTTP implementation and must never be used outside tests.
 *
 * It runs in one background thread with poll(); the handler runs on that thread, one request
 * at a time (tests guard any state they share with it by the server's lock, thttp_lock). */
#ifndef BFQ_TESTHTTP_H
#define BFQ_TESTHTTP_H

#include <stddef.h>

struct thttp;

#define THTTP_HEAD_MAX 16384
#define THTTP_BODY_MAX (1u << 20)

struct thttp_req {
    char method[16];
    char target[4096];          /* path and query, as sent */
    char head[THTTP_HEAD_MAX];  /* the whole request head, NUL-terminated */
    const char *body;           /* NUL-terminated, body_len bytes */
    size_t body_len;
    char peer[64];              /* client's address, e.g. "127.0.0.2" */
    int conn_id;                /* 1, 2, ... in accept order */
    int seq;                    /* 1 for the first request on this connection, then 2, ... */
};

struct thttp_resp {
    char *raw;       /* bytes to write, malloc'd (thttp_reply and friends fill it); NULL: none */
    size_t raw_len;
    int delay_ms;    /* wait before writing */
    int close_after; /* close the connection once written */
    int hang;        /* write nothing, keep the connection open until the client leaves */
};

/* Fills resp for one request. Called on the server thread with the server's lock held. */
typedef void thttp_handler(const struct thttp_req *req, struct thttp_resp *resp, void *arg);

/* Listens on ip:0 (an ephemeral port). Returns NULL on failure. */
struct thttp *thttp_start(const char *ip, thttp_handler *handler, void *arg);
/* Stops the thread, closes every connection, frees. */
void thttp_stop(struct thttp *s);

int thttp_port(const struct thttp *s);
/* "http://IP:PORT" */
const char *thttp_url(const struct thttp *s);
/* Connections accepted and requests handled so far. */
int thttp_connections(struct thttp *s);
int thttp_requests(struct thttp *s);

void thttp_lock(struct thttp *s);
void thttp_unlock(struct thttp *s);

/* A complete answer: status line, extra_headers (each ending in \r\n, may be NULL),
 * Content-Length and body (may be NULL). */
void thttp_reply(struct thttp_resp *resp, int code, const char *extra_headers, const char *body);
/* Raw bytes as given (for deliberately broken answers). */
void thttp_raw(struct thttp_resp *resp, const char *raw, size_t len);

/* Copies the value of header name (case-insensitive) of req into out; returns 0 or -1. */
int thttp_header(const struct thttp_req *req, const char *name, char *out, size_t cap);

#endif
