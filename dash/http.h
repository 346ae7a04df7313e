/* http: the dashboard's HTTP server, libwebsockets 4.1 on the process's libev loop (Debian's
 * libwebsockets-evlib-ev), GET only, HTTP/1.1 with keep-alive.
 *
 * Each request becomes a struct dash_req handed to the handler on the loop thread; the handler
 * answers at once or later (after a worker job) with dash_req_reply, exactly once. A client that
 * leaves first only detaches its request: the late reply frees it, so no pointer dangles.
 * Answers are written in chunks from the writable callback. Threads: loop thread only. */
#ifndef BFQ_DASH_HTTP_H
#define BFQ_DASH_HTTP_H

#include <stddef.h>

struct ev_loop;
struct dash_http;
struct dash_req;

#define DASH_PATH_MAX 256
#define DASH_ARG_MAX 128

/* Called once per request; owns req until it calls dash_req_reply. */
typedef void dash_handler_fn(struct dash_req *req, void *privdata);

/* Listens on host:port. NULL with a reason in err. */
struct dash_http *dash_http_new(struct ev_loop *loop, const char *host, int port,
                                dash_handler_fn *fn, void *privdata, char *err, size_t cap);
/* Closes every connection and frees, with every request not answered yet: no reply may come
 * after this (the worker must not hand any back; worker_free discards without done). */
void dash_http_free(struct dash_http *h);

/* The decoded path ("/api/curve"). */
const char *dash_req_path(const struct dash_req *req);
/* The value of query argument name into buf ("" when absent). Returns buf. */
const char *dash_req_arg(const struct dash_req *req, const char *name, char *buf, size_t cap);
/* The bearer token of the Authorization header, else the token query argument, else NULL. */
const char *dash_req_token(const struct dash_req *req);

/* Answers req and gives it up: status, content type, body (len bytes). With own nonzero the
 * body is malloc'd and taken over, else borrowed (static data that outlives the answer). */
void dash_req_reply(struct dash_req *req, int status, const char *type, const char *body,
                    size_t len, int own);

#endif
