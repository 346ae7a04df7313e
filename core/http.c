/* http: libcurl's multi interface on a libev loop (see http.h for the contract).
 *
 * Shape (curl docs/examples/evhiperfifo.c, done right):
 * - One "pool" per source address, each with its own CURLM, hence its own connection cache.
 *   curl reuses a connection bound to an address for a request that asked for no address
 *   (url.c, ConnectionExists), which would charge one IP's weight to another; separate caches
 *   make that impossible. A client has at most HTTP_POOLS_MAX pools, made on first use.
 * - CURLMOPT_SOCKETFUNCTION: one ev_io per socket, allocated on first sight, kept with
 *   curl_multi_assign, stopped and freed on CURL_POLL_REMOVE.
 * - CURLMOPT_TIMERFUNCTION: replaces the pool's single ev_timer; -1 stops it, 0 fires on the
 *   next loop turn, otherwise timeout_ms / 1000.0 seconds (never integer division).
 * - After every curl_multi_socket_action the pool drains curl_multi_info_read, removes the
 *   finished handles (we are outside every curl callback there) and only then runs the user
 *   callbacks, one by one, each popped from a queue first, so a callback may send new requests
 *   or cancel everything without invalidating what we iterate.
 * Completion callbacks therefore never run inside http_send: a request completes only from an
 * ev_io or ev_timer callback. Single-threaded: everything runs on the loop's thread. */
#include "core/http.h"

#include <curl/curl.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_POOLS_MAX 16
#define HTTP_IP_MAX 64
#define HTTP_DEFAULT_TIMEOUT_MS 10000
#define HTTP_MAX_HOST_CONNECTIONS 32 /* per pool; more concurrent requests wait for a slot */
#define HTTP_BODY_INITIAL 4096

struct http_pool;

/* One request. Owned by the client from http_send until its callback returned. */
struct http_xfer {
    struct http_pool *pool;
    CURL *easy;
    struct curl_slist *headers;
    http_done_fn *done;
    void *privdata;
    char *body;                 /* answer body, NUL-terminated, grows to HTTP_BODY_MAX */
    size_t body_len, body_cap;
    int too_big;
    int64_t used_weight_1m, order_count_10s, order_count_1m, retry_after_s;
    wall_ms_t sent_ms;
    CURLcode result;
    struct http_xfer *prev, *next; /* in the client's live list or done queue */
    char errbuf[CURL_ERROR_SIZE];
};

/* One source address ("" = unbound) with its own connection cache. */
struct http_pool {
    struct http_client *hc;
    CURLM *multi;
    ev_timer timer;
    struct http_sock *socks; /* every watched socket, freed at the latest with the pool */
    char ip[HTTP_IP_MAX];
};

struct http_xlist {
    struct http_xfer *head, *tail;
};

struct http_client {
    struct ev_loop *loop;
    struct http_pool *pools[HTTP_POOLS_MAX];
    int npools;
    struct http_xlist live; /* added to a multi handle, not finished */
    struct http_xlist done; /* finished and removed, callback not yet run */
    int in_flight;          /* live + done */
    int closing;
};

/* One watched socket. */
struct http_sock {
    ev_io io;
    struct http_pool *pool;
    curl_socket_t fd;
    struct http_sock *prev, *next;
};

static void sock_free(struct http_sock *s)
{
    struct http_pool *p = s->pool;
    ev_io_stop(p->hc->loop, &s->io);
    if (s->prev)
        s->prev->next = s->next;
    else
        p->socks = s->next;
    if (s->next) s->next->prev = s->prev;
    free(s);
}

static void xlist_push(struct http_xlist *l, struct http_xfer *x)
{
    x->next = NULL;
    x->prev = l->tail;
    if (l->tail)
        l->tail->next = x;
    else
        l->head = x;
    l->tail = x;
}

static void xlist_unlink(struct http_xlist *l, struct http_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        l->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        l->tail = x->prev;
    x->prev = x->next = NULL;
}

static void xfer_free(struct http_xfer *x)
{
    if (x->easy) curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

static enum http_status xfer_status(const struct http_xfer *x)
{
    if (x->too_big) return HTTP_ETOOBIG;
    switch (x->result) {
    case CURLE_OK:
        return HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_ETIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_ETOOBIG;
    default:
        return HTTP_ETRANSPORT;
    }
}

/* When the request actually went out: curl's pre-transfer time (after DNS, TCP and TLS), counted
 * back from the completion, since curl's clock starts at an unknown point after http_send.
 * Falls back to the time of http_send when curl did not get that far. */
static wall_ms_t xfer_sent_ms(struct http_xfer *x, wall_ms_t done_ms)
{
    curl_off_t pre = 0, total = 0;
    if (curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK ||
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total) != CURLE_OK || pre <= 0 ||
        total < pre)
        return x->sent_ms;
    wall_ms_t sent = done_ms - (wall_ms_t)((total - pre) / 1000);
    return sent > x->sent_ms ? sent : x->sent_ms;
}

/* Runs the callback of a finished transfer (already removed from its multi) and frees it. */
static void xfer_complete(struct http_xfer *x, enum http_status st)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    res.status = st;
    if (st != HTTP_ECANCELED) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.code);
    res.body = (st == HTTP_OK && x->body) ? x->body : "";
    res.body_len = (st == HTTP_OK) ? x->body_len : 0;
    res.used_weight_1m = x->used_weight_1m;
    res.order_count_10s = x->order_count_10s;
    res.order_count_1m = x->order_count_1m;
    res.retry_after_s = x->retry_after_s;
    res.done_ms = timebase_wall_ms();
    res.sent_ms = st == HTTP_ECANCELED ? x->sent_ms : xfer_sent_ms(x, res.done_ms);
    if (st == HTTP_OK)
        res.errstr = "";
    else if (st == HTTP_ECANCELED)
        res.errstr = "canceled";
    else if (st == HTTP_ETOOBIG)
        res.errstr = "answer body over the size cap";
    else
        res.errstr = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
    x->done(&res, x->privdata);
    xfer_free(x);
}

/* Runs queued completions; each is unlinked before its callback, which may send or cancel. */
static void client_run_done(struct http_client *hc)
{
    struct http_xfer *x;
    while ((x = hc->done.head) != NULL) {
        xlist_unlink(&hc->done, x);
        hc->in_flight--;
        xfer_complete(x, xfer_status(x));
    }
}

/* Moves every finished transfer of pool from the live list to the done queue. Called only
 * after curl_multi_socket_action returned, never from a curl callback. */
static void pool_collect(struct http_pool *p)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
        struct http_xfer *x = NULL;
        if (msg->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        x->result = msg->data.result;
        curl_multi_remove_handle(p->multi, x->easy);
        xlist_unlink(&p->hc->live, x);
        xlist_push(&p->hc->done, x);
    }
}

static void pool_action(struct http_pool *p, curl_socket_t fd, int ev_bitmask)
{
    int running = 0;
    curl_multi_socket_action(p->multi, fd, ev_bitmask, &running);
    pool_collect(p);
    client_run_done(p->hc);
}

static void sock_cb_ev(struct ev_loop *loop, ev_io *w, int revents)
{
    struct http_sock *s = (struct http_sock *)w;
    int mask = 0;
    (void)loop;
    if (revents & EV_READ) mask |= CURL_CSELECT_IN;
    if (revents & EV_WRITE) mask |= CURL_CSELECT_OUT;
    pool_action(s->pool, s->fd, mask);
}

static void timer_cb_ev(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    pool_action((struct http_pool *)w->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: keep one ev_io per socket in step with what curl wants. */
static int curl_sock_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct http_pool *p = userp;
    struct http_sock *s = socketp;
    int events = 0;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(p->multi, fd, NULL);
            sock_free(s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        s->pool = p;
        s->fd = fd;
        s->next = p->socks;
        if (p->socks) p->socks->prev = s;
        p->socks = s;
        ev_init(&s->io, sock_cb_ev);
        curl_multi_assign(p->multi, fd, s);
    }
    if (what & CURL_POLL_IN) events |= EV_READ;
    if (what & CURL_POLL_OUT) events |= EV_WRITE;
    ev_io_stop(p->hc->loop, &s->io);
    ev_io_set(&s->io, fd, events);
    ev_io_start(p->hc->loop, &s->io);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer, replaced on each call. */
static int curl_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_pool *p = userp;
    (void)multi;
    ev_timer_stop(p->hc->loop, &p->timer);
    if (timeout_ms < 0) return 0;
    ev_timer_set(&p->timer, (double)timeout_ms / 1000.0, 0.0);
    ev_timer_start(p->hc->loop, &p->timer);
    return 0;
}

static struct http_pool *pool_new(struct http_client *hc, const char *ip)
{
    struct http_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->multi = curl_multi_init();
    if (!p->multi) {
        free(p);
        return NULL;
    }
    p->hc = hc;
    memcpy(p->ip, ip, strlen(ip) + 1);
    ev_timer_init(&p->timer, timer_cb_ev, 0.0, 0.0);
    p->timer.data = p;
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_fn);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, curl_timer_fn);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HTTP_MAX_HOST_CONNECTIONS);
    return p;
}

/* The pool of source address ip (NULL or "" = unbound), made on first use. */
static struct http_pool *client_pool(struct http_client *hc, const char *ip)
{
    if (!ip) ip = "";
    if (strlen(ip) >= HTTP_IP_MAX) return NULL;
    for (int i = 0; i < hc->npools; i++)
        if (strcmp(hc->pools[i]->ip, ip) == 0) return hc->pools[i];
    if (hc->npools == HTTP_POOLS_MAX) return NULL;
    struct http_pool *p = pool_new(hc, ip);
    if (p) hc->pools[hc->npools++] = p;
    return p;
}

static void pool_free(struct http_pool *p)
{
    ev_timer_stop(p->hc->loop, &p->timer);
    /* Cleanup closes the cached connections; curl calls CURL_POLL_REMOVE for their sockets. */
    curl_multi_cleanup(p->multi);
    while (p->socks) sock_free(p->socks); /* any curl did not report removed */
    free(p);
}

struct http_client *http_client_new(struct ev_loop *loop)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        global_done = 1;
    }
    struct http_client *hc = calloc(1, sizeof *hc);
    if (!hc) return NULL;
    hc->loop = loop;
    return hc;
}

void http_cancel_all(struct http_client *hc)
{
    struct http_xlist victims = {NULL, NULL};
    struct http_xfer *x;
    /* Detach everything first: callbacks may send new requests, which are not canceled. */
    while ((x = hc->live.head) != NULL) {
        xlist_unlink(&hc->live, x);
        curl_multi_remove_handle(x->pool->multi, x->easy);
        xlist_push(&victims, x);
    }
    while ((x = hc->done.head) != NULL) {
        xlist_unlink(&hc->done, x);
        xlist_push(&victims, x);
    }
    while ((x = victims.head) != NULL) {
        xlist_unlink(&victims, x);
        hc->in_flight--;
        xfer_complete(x, HTTP_ECANCELED);
    }
}

void http_client_free(struct http_client *hc)
{
    if (!hc) return;
    hc->closing = 1; /* http_send refuses from now on, so this terminates */
    http_cancel_all(hc);
    for (int i = 0; i < hc->npools; i++) pool_free(hc->pools[i]);
    free(hc);
}

int http_in_flight(const struct http_client *hc)
{
    return hc->in_flight;
}

/* Parses a decimal header value; -1 when it is not a plain non-negative integer. */
static int64_t header_int(const char *v, size_t len)
{
    int64_t n = 0;
    size_t i = 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t')) i++;
    if (i == len) return -1;
    for (; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') break;
        if (n > (INT64_MAX - 9) / 10) return -1;
        n = n * 10 + (v[i] - '0');
    }
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) i++;
    return i == len ? n : -1;
}

static int header_is(const char *line, size_t len, const char *name, const char **val,
                     size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0) return 0;
    *val = line + n + 1;
    *vlen = len - n - 1;
    return 1;
}

/* CURLOPT_HEADERFUNCTION: captures the rate-limit headers of the final answer. */
static size_t curl_header_fn(char *line, size_t size, size_t nitems, void *userp)
{
    struct http_xfer *x = userp;
    size_t len = size * nitems;
    const char *v;
    size_t vlen;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new answer: forget interim ones */
        x->used_weight_1m = x->order_count_10s = x->order_count_1m = x->retry_after_s = -1;
    } else if (header_is(line, len, "X-MBX-USED-WEIGHT-1M", &v, &vlen)) {
        x->used_weight_1m = header_int(v, vlen);
    } else if (header_is(line, len, "X-MBX-ORDER-COUNT-10S", &v, &vlen)) {
        x->order_count_10s = header_int(v, vlen);
    } else if (header_is(line, len, "X-MBX-ORDER-COUNT-1M", &v, &vlen)) {
        x->order_count_1m = header_int(v, vlen);
    } else if (header_is(line, len, "Retry-After", &v, &vlen)) {
        x->retry_after_s = header_int(v, vlen); /* an HTTP-date form gives -1 */
    }
    return len;
}

/* CURLOPT_WRITEFUNCTION: appends to the body, refusing to grow past HTTP_BODY_MAX. */
static size_t curl_write_fn(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_xfer *x = userp;
    size_t len = size * nmemb;
    if (len > HTTP_BODY_MAX - x->body_len) {
        x->too_big = 1;
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    if (x->body_len + len + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : HTTP_BODY_INITIAL;
        while (cap < x->body_len + len + 1) cap *= 2;
        if (cap > HTTP_BODY_MAX + 1) cap = HTTP_BODY_MAX + 1;
        char *nb = realloc(x->body, cap);
        if (!nb) return 0;
        x->body = nb;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, data, len);
    x->body_len += len;
    x->body[x->body_len] = '\0';
    return len;
}

static int xfer_set_method(struct http_xfer *x, const struct http_request *req)
{
    CURL *e = x->easy;
    if (strcmp(req->method, "GET") == 0) {
        if (req->body) return -1; /* GET parameters go in the query string only */
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
    }
    if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "PUT") != 0 &&
        strcmp(req->method, "DELETE") != 0)
        return -1;
    /* Every other method sends a form body, possibly empty (Content-Length: 0). */
    if (curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "") != CURLE_OK)
        return -1;
    if (strcmp(req->method, "POST") != 0 &&
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK)
        return -1;
    /* No "Expect: 100-continue" round trip: Binance bodies are small. */
    struct curl_slist *h = curl_slist_append(x->headers, "Expect:");
    if (!h) return -1;
    x->headers = h;
    return 0;
}

static int xfer_set_headers(struct http_xfer *x, const struct http_request *req)
{
    for (int i = 0; i < HTTP_HEADERS_MAX && req->headers[i]; i++) {
        struct curl_slist *h = curl_slist_append(x->headers, req->headers[i]);
        if (!h) return -1;
        x->headers = h;
    }
    if (x->headers && curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK)
        return -1;
    return 0;
}

static int xfer_setup(struct http_xfer *x, const struct http_request *req)
{
    CURL *e = x->easy;
    int64_t timeout = req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    char iface[HTTP_IP_MAX + 8];
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_write_fn) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, curl_header_fn) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
    if (req->ca_file && req->ca_file[0])
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file) != CURLE_OK;
    if (req->source_ip && req->source_ip[0]) {
        snprintf(iface, sizeof iface, "host!%s", req->source_ip);
        bad |= curl_easy_setopt(e, CURLOPT_INTERFACE, iface) != CURLE_OK;
    }
    if (bad) return -1;
    if (xfer_set_method(x, req) != 0) return -1;
    return xfer_set_headers(x, req);
}

int http_send(struct http_client *hc, const struct http_request *req, http_done_fn *done,
              void *privdata)
{
    if (!hc || hc->closing || !req || !req->method || !req->url || !done) return -1;
    struct http_pool *p = client_pool(hc, req->source_ip);
    if (!p) return -1;
    struct http_xfer *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->pool = p;
    x->done = done;
    x->privdata = privdata;
    x->used_weight_1m = x->order_count_10s = x->order_count_1m = x->retry_after_s = -1;
    x->easy = curl_easy_init();
    if (!x->easy || xfer_setup(x, req) != 0) {
        xfer_free(x);
        return -1;
    }
    x->sent_ms = timebase_wall_ms();
    /* Adding only arms the pool's timer (0 => next loop turn); no completion can run here. */
    if (curl_multi_add_handle(p->multi, x->easy) != CURLM_OK) {
        xfer_free(x);
        return -1;
    }
    xlist_push(&hc->live, x);
    hc->in_flight++;
    return 0;
}
