/* server: libwebsockets HTTP + WebSocket server on a libev loop (see server.h).
 *
 * HTTP: LWS_CALLBACK_HTTP gives the decoded path; the query arrives as decoded "k=v"
 * fragments, from which the plausible raw encodings are rebuilt for the signature check
 * (ctx.h). Bodies (POST/PUT/DELETE with Content-Length) are collected up to HTTP_BODY_MAX.
 * Answers up to ANSWER_CHUNK are written from the callback that produced them, larger ones in
 * chunks from LWS_CALLBACK_HTTP_WRITEABLE; a latency fault arms a per-request ev_timer that
 * asks for the writable callback later. After the final chunk the transaction completes and
 * the connection stays open for the next request (keep-alive).
 *
 * WebSocket: /ws/<listenKey>, /private/ws/<listenKey> and /private/ws?listenKey=<key>; an
 * unknown or expired key is refused at the handshake. Each connection has a bounded queue of
 * outgoing text frames; a connection that falls WS_QUEUE_MAX bytes behind is closed. */
#include "sim/server.h"

#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timebase.h"
#include "sim/admin.h"
#include "sim/router.h"
#include "sim/ustream.h"

#define HTTP_BODY_MAX (1u << 20)
#define FRAG_MAX 8192
#define ANSWER_CHUNK (256u << 10)
#define WS_QUEUE_MAX (16u << 20)
#define TICK_S 0.05

struct wsmsg {
    struct wsmsg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the text */
};

struct wsconn {
    struct wsconn *prev, *next;
    struct lws *wsi;
    char key[USTREAM_KEY_LEN + 1];
    char account[64];
    mono_ms_t opened, last_ping;
    int awaiting_pong, ping_due, closing;
    struct wsmsg *head, *tail;
    size_t queued;
};

struct pss {
    /* HTTP */
    char method[8];
    char path[256];
    char ip[64];
    char apikey[128];
    struct sbuf qv[SIM_QUERY_VARIANTS];
    int nqv;
    struct sbuf body;
    int body_too_big;
    struct sim_response resp;
    int processed;          /* this request went to the router: never twice */
    int have_resp, headers_sent;
    size_t sent;
    ev_timer delay;
    int delay_armed;
    struct lws *wsi;
    /* WebSocket */
    struct wsconn *conn;
};

static struct {
    struct sim_ctx *c;
    struct lws_context *lws;
    struct ev_loop *loop;
    ev_timer tick;
    ev_signal sigint, sigterm;
    struct wsconn *conns;
    int nconns;
} srv;

/* ---- WebSocket connections --------------------------------------------------------- */

/* Copies src into dst[cap], cutting it if needed. */
static void str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void ws_enqueue(struct wsconn *w, const char *text, size_t len)
{
    if (w->closing) return;
    if (w->queued + len > WS_QUEUE_MAX) {
        log_warn("ws queue full, closing", "account=%s", w->account);
        w->closing = 1;
        lws_callback_on_writable(w->wsi);
        return;
    }
    struct wsmsg *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m) return;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, text, len);
    if (w->tail) w->tail->next = m;
    else w->head = m;
    w->tail = m;
    w->queued += len;
    lws_callback_on_writable(w->wsi);
}

static void ws_free(struct wsconn *w)
{
    while (w->head) {
        struct wsmsg *m = w->head;
        w->head = m->next;
        free(m);
    }
    if (w->prev) w->prev->next = w->next;
    else srv.conns = w->next;
    if (w->next) w->next->prev = w->prev;
    srv.nconns--;
    free(w);
}

void sim_server_on_event(const char *account, const char *json, void *privdata)
{
    (void)privdata;
    int64_t now = sim_now(srv.c);
    size_t len = strlen(json);
    for (struct wsconn *w = srv.conns; w; w = w->next) {
        if (strcmp(w->account, account)) continue;
        const char *owner = ustream_account(srv.c->us, w->key, now);
        if (owner && !strcmp(owner, account)) ws_enqueue(w, json, len);
    }
}

int sim_server_ws_count(void)
{
    return srv.nconns;
}

int sim_server_ws_drop(void)
{
    int n = 0;
    for (struct wsconn *w = srv.conns; w; w = w->next) {
        if (w->closing) continue;
        w->closing = 1;
        lws_callback_on_writable(w->wsi);
        n++;
    }
    return n;
}

int sim_server_ws_inject(const char *account, const char *text, size_t len)
{
    int n = 0;
    for (struct wsconn *w = srv.conns; w; w = w->next) {
        if (w->closing || strcmp(w->account, account)) continue;
        ws_enqueue(w, text, len);
        n++;
    }
    return n;
}

static void on_key_expired(const char *key, const char *account, void *privdata)
{
    (void)account;
    (void)privdata;
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "{\"e\":\"listenKeyExpired\",\"E\":%lld,\"listenKey\":\"%s\"}",
                     (long long)sim_now(srv.c), key);
    for (struct wsconn *w = srv.conns; w; w = w->next)
        if (!strcmp(w->key, key)) ws_enqueue(w, buf, (size_t)n);
}

/* Extracts the listen key from /ws/<k>, /private/ws/<k> or /private/ws?listenKey=<k>. */
static int ws_key_of(struct lws *wsi, char *key, size_t cap)
{
    char uri[512];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) return -1;
    const char *k = NULL;
    if (!strncmp(uri, "/ws/", 4)) k = uri + 4;
    else if (!strncmp(uri, "/private/ws/", 12)) k = uri + 12;
    if (k && *k) {
        str_copy(key, cap, k);
        return 0;
    }
    if (strcmp(uri, "/private/ws")) return -1;
    char frag[256];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++)
        if (!strncmp(frag, "listenKey=", 10)) {
            str_copy(key, cap, frag + 10);
            return 0;
        }
    return -1;
}

static int ws_established(struct lws *wsi, struct pss *ps)
{
    char key[USTREAM_KEY_LEN + 8];
    const char *acct;
    if (ws_key_of(wsi, key, sizeof(key)) || !(acct = ustream_account(srv.c->us, key, sim_now(srv.c))))
        return -1;
    struct wsconn *w = calloc(1, sizeof(*w));
    if (!w) return -1;
    w->wsi = wsi;
    str_copy(w->key, sizeof(w->key), key);
    str_copy(w->account, sizeof(w->account), acct);
    w->opened = w->last_ping = timebase_mono_ms();
    w->next = srv.conns;
    if (srv.conns) srv.conns->prev = w;
    srv.conns = w;
    srv.nconns++;
    ps->conn = w;
    return 0;
}

static int ws_writable(struct lws *wsi, struct wsconn *w)
{
    if (w->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"bye", 3);
        return -1;
    }
    if (w->ping_due) {
        /* a payload: lws 4.1 does not report empty pongs to the server callback */
        unsigned char buf[LWS_PRE + 16];
        int n = snprintf((char *)buf + LWS_PRE, 16, "%lld", (long long)(w->last_ping % 1000000000));
        w->ping_due = 0;
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < 0) return -1;
    } else if (w->head) {
        struct wsmsg *m = w->head;
        w->head = m->next;
        if (!w->head) w->tail = NULL;
        w->queued -= m->len;
        int rc = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (rc < 0) return -1;
    }
    if (w->head || w->ping_due) lws_callback_on_writable(wsi);
    return 0;
}

static void ws_chores(mono_ms_t now)
{
    const struct sim_config *cfg = &srv.c->cfg;
    for (struct wsconn *w = srv.conns; w; w = w->next) {
        if (w->closing) continue;
        if (cfg->ws_max_age_ms > 0 && now - w->opened >= cfg->ws_max_age_ms) {
            w->closing = 1;
        } else if (cfg->ws_ping_ms > 0 && now - w->last_ping >= cfg->ws_ping_ms) {
            if (w->awaiting_pong) {
                log_info("ws pong timeout, closing", "account=%s", w->account);
                w->closing = 1;
            } else {
                w->ping_due = 1;
                w->awaiting_pong = 1;
                w->last_ping = now;
            }
        } else {
            continue;
        }
        lws_callback_on_writable(w->wsi);
    }
}

/* ---- HTTP -------------------------------------------------------------------------- */

static void pss_reset(struct pss *ps)
{
    for (int i = 0; i < SIM_QUERY_VARIANTS; i++) sbuf_reset(&ps->qv[i]);
    sbuf_reset(&ps->body);
    sim_response_free(&ps->resp);
    sim_response_init(&ps->resp);
    ps->nqv = 0;
    ps->body_too_big = 0;
    ps->processed = ps->have_resp = ps->headers_sent = 0;
    ps->sent = 0;
    ps->apikey[0] = '\0';
}

static void pss_free(struct pss *ps)
{
    for (int i = 0; i < SIM_QUERY_VARIANTS; i++) sbuf_free(&ps->qv[i]);
    sbuf_free(&ps->body);
    sim_response_free(&ps->resp);
    if (ps->delay_armed) {
        ev_timer_stop(srv.loop, &ps->delay);
        ps->delay_armed = 0;
    }
}

static int unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

static int needs_minimal(unsigned char ch)
{
    return ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '&' || ch == '+' || ch == '#';
}

/* Appends s percent-encoded in one of the variants (see ctx.h). */
static void encode(struct sbuf *b, const char *s, size_t n, int variant)
{
    static const char up[] = "0123456789ABCDEF", lo[] = "0123456789abcdef";
    const char *hex = variant == 2 ? lo : up;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int keep = variant == 3 ? !needs_minimal(ch) : unreserved(ch);
        if (keep) {
            sbuf_addc(b, (char)ch);
        } else if (ch == ' ' && variant == 1) {
            sbuf_addc(b, '+');
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            sbuf_add(b, e, 3);
        }
    }
}

static void collect_query(struct lws *wsi, struct pss *ps)
{
    char frag[FRAG_MAX];
    ps->nqv = SIM_QUERY_VARIANTS;
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++) {
        size_t n = strlen(frag);
        const char *eq = memchr(frag, '=', n);
        size_t kn = eq ? (size_t)(eq - frag) : n;
        for (int v = 0; v < SIM_QUERY_VARIANTS; v++) {
            if (i) sbuf_addc(&ps->qv[v], '&');
            encode(&ps->qv[v], frag, kn, v);
            if (eq) {
                sbuf_addc(&ps->qv[v], '=');
                encode(&ps->qv[v], eq + 1, n - kn - 1, v);
            }
        }
    }
}

static const char *method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)) return "GET";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) return "POST";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI)) return "PUT";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI)) return "DELETE";
    return NULL;
}

static int add_header_i(struct lws *wsi, const char *name, int64_t v, unsigned char **p,
                        unsigned char *end)
{
    char val[32];
    int n = snprintf(val, sizeof(val), "%lld", (long long)v);
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)val,
                                       n, p, end);
}

static int write_headers(struct lws *wsi, struct pss *ps)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    struct sim_response *r = &ps->resp;
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status, "application/json",
                                    (lws_filepos_t)r->body.len, &p, end))
        return -1;
    if (r->used_weight >= 0 && add_header_i(wsi, "X-MBX-USED-WEIGHT-1M:", r->used_weight, &p, end))
        return -1;
    if (r->order_headers && (add_header_i(wsi, "X-MBX-ORDER-COUNT-10S:", r->oc10, &p, end) ||
                             add_header_i(wsi, "X-MBX-ORDER-COUNT-1M:", r->oc1m, &p, end)))
        return -1;
    if (r->retry_after_s >= 0 && add_header_i(wsi, "Retry-After:", r->retry_after_s, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Writes the answer (headers, then up to ANSWER_CHUNK of body). Returns -1 to close. */
static int send_some(struct lws *wsi, struct pss *ps)
{
    if (!ps->headers_sent) {
        if (write_headers(wsi, ps)) return -1;
        ps->headers_sent = 1;
    }
    struct sbuf *b = &ps->resp.body;
    size_t left = b->len - ps->sent, n = left > ANSWER_CHUNK ? ANSWER_CHUNK : left;
    int final = n == left;
    if (n && lws_write(wsi, (unsigned char *)b->buf + ps->sent, n,
                       final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
        return -1;
    ps->sent += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    ps->have_resp = 0;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void delay_done(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct pss *ps = t->data;
    ps->delay_armed = 0;
    lws_callback_on_writable(ps->wsi);
}

static int process(struct lws *wsi, struct pss *ps)
{
    /* A POST with an empty body is handled from LWS_CALLBACK_HTTP; when its answer is deferred
     * (hang, latency), lws still delivers the body callbacks, on the client's close at the
     * latest: a second pass would run the request again and re-arm the armed delay timer. */
    if (ps->processed) return 0;
    ps->processed = 1;
    struct sim_request q;
    memset(&q, 0, sizeof(q));
    q.method = ps->method;
    q.path = ps->path;
    q.ip = ps->ip;
    q.apikey = ps->apikey[0] ? ps->apikey : NULL;
    for (int i = 0; i < ps->nqv; i++) q.query_variant[i] = ps->qv[i].buf ? ps->qv[i].buf : "";
    q.nvariants = ps->nqv;
    q.body = ps->body.buf ? ps->body.buf : "";
    if (ps->body_too_big) {
        ps->resp.used_weight = -1;
        sim_error(&ps->resp, 413, -1000, "Request body too large.");
    } else {
        sim_router_handle(srv.c, &q, &ps->resp);
    }
    ps->have_resp = 1;
    if (ps->resp.hang) {
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        return 0;
    }
    if (ps->resp.latency_ms > 0) {
        ps->wsi = wsi;
        ev_timer_init(&ps->delay, delay_done, (double)ps->resp.latency_ms / 1000.0, 0.0);
        ps->delay.data = ps;
        ev_timer_start(srv.loop, &ps->delay);
        ps->delay_armed = 1;
        return 0;
    }
    return send_some(wsi, ps);
}

static int http_begin(struct lws *wsi, struct pss *ps, const char *uri)
{
    pss_reset(ps);
    ps->wsi = wsi;
    const char *m = method_of(wsi);
    if (!m || strlen(uri) >= sizeof(ps->path)) {
        lws_return_http_status(wsi, m ? 414 : 405, NULL);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    snprintf(ps->method, sizeof(ps->method), "%s", m);
    snprintf(ps->path, sizeof(ps->path), "%s", uri);
    char ip[64] = "";
    lws_get_peer_simple(wsi, ip, sizeof(ip));
    snprintf(ps->ip, sizeof(ps->ip), "%s", strncmp(ip, "::ffff:", 7) ? ip : ip + 7);
    if (lws_hdr_custom_length(wsi, "x-mbx-apikey:", 13) > 0)
        lws_hdr_custom_copy(wsi, ps->apikey, sizeof(ps->apikey), "x-mbx-apikey:", 13);
    collect_query(wsi, ps);
    if (strcmp(m, "GET") && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char cl[32];
        lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (strtoll(cl, NULL, 10) > 0) return 0; /* wait for the body */
    }
    return process(wsi, ps);
}

static void http_body(struct pss *ps, const void *in, size_t len)
{
    if (ps->processed || !in || !len) return; /* see process() */
    if (ps->body.len + len > HTTP_BODY_MAX) {
        ps->body_too_big = 1;
        return;
    }
    sbuf_add(&ps->body, in, len);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *ps = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_begin(wsi, ps, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        http_body(ps, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return process(wsi, ps);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!ps || !ps->have_resp || ps->resp.hang || ps->delay_armed) return 0;
        return send_some(wsi, ps);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (ps) pss_free(ps);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char key[USTREAM_KEY_LEN + 8];
        if (ws_key_of(wsi, key, sizeof(key)) || !ustream_account(srv.c->us, key, sim_now(srv.c)))
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(wsi, ps);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ps->conn ? ws_writable(wsi, ps->conn) : 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        log_debug("ws pong", "conn=%d", ps->conn != NULL);
        if (ps->conn) ps->conn->awaiting_pong = 0;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return 0; /* Binance ignores what clients send on the user stream */
    case LWS_CALLBACK_CLOSED:
        if (ps->conn) {
            ws_free(ps->conn);
            ps->conn = NULL;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- loop -------------------------------------------------------------------------- */

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    int64_t now = sim_now(srv.c);
    if (srv.c->engine) sim_engine_tick(srv.c->engine, now);
    ustream_expire(srv.c->us, now, on_key_expired, NULL);
    ws_chores(timebase_mono_ms());
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    log_info("stopping", "signal=%d", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

static void lws_emit(int level, const char *line)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", line);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    log_write(level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "lws", "line=\"%s\"", buf);
}

static const struct lws_protocols protocols[] = {
    {"bfq-sim", callback, sizeof(struct pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static struct lws_context *create_context(struct sim_ctx *c, void **foreign)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = c->cfg.port;
    info.iface = c->cfg.listen_host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE * 0;
    info.foreign_loops = foreign;
    info.max_http_header_data = 16384;
    info.max_http_header_pool = 256;
    info.keepalive_timeout = 60;
    info.timeout_secs = 30;
    info.alpn = "http/1.1";
    if (c->cfg.tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = c->cfg.tls_cert;
        info.ssl_private_key_filepath = c->cfg.tls_key;
    }
    return lws_create_context(&info);
}

int sim_server_run(struct sim_ctx *c)
{
    memset(&srv, 0, sizeof(srv));
    srv.c = c;
    srv.loop = ev_default_loop(0);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
    void *foreign[1] = {srv.loop};
    srv.lws = create_context(c, foreign);
    if (!srv.lws) {
        fprintf(stderr, "bfq sim: cannot listen on %s:%d\n", c->cfg.listen_host, c->cfg.port);
        return 1;
    }
    ev_timer_init(&srv.tick, on_tick, TICK_S, TICK_S);
    ev_timer_start(srv.loop, &srv.tick);
    ev_signal_init(&srv.sigint, on_signal, SIGINT);
    ev_signal_init(&srv.sigterm, on_signal, SIGTERM);
    ev_signal_start(srv.loop, &srv.sigint);
    ev_signal_start(srv.loop, &srv.sigterm);
    log_info("listening", "addr=%s:%d tls=%d symbols=%d", c->cfg.listen_host, c->cfg.port,
             c->cfg.tls_cert != NULL, sim_market_count(c->market));
    ev_run(srv.loop, 0);
    ev_timer_stop(srv.loop, &srv.tick);
    ev_signal_stop(srv.loop, &srv.sigint);
    ev_signal_stop(srv.loop, &srv.sigterm);
    lws_context_destroy(srv.lws);
    return 0;
}
