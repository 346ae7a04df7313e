/* wsclient: WebSocket client connections on libwebsockets 4.1 with a foreign libev loop (see
 * wsclient.h).
 *
 * Ownership: a struct wsc_conn belongs to this module from wsc_connect until it is finished
 * (its wsi is gone) or wsc_close is called. The link from an lws wsi to its conn is the wsi's
 * opaque user data; it is cleared the moment the conn stops caring (finish or wsc_close), so a
 * late lws callback for that wsi finds NULL and does nothing. A conn is never freed while one
 * of its callbacks runs (in_cb): wsc_close inside a callback only marks it, and the free
 * happens when the callback returns. */
#include "core/wsclient.h"

#include <ev.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define WSC_HOST_MAX 256

struct wsc_conn {
    struct wsc_ctx *ctx;
    struct lws *wsi;
    struct wsc_callbacks cbs;
    lws_retry_bo_t retry;
    size_t msg_max;
    char *buf;
    size_t len, cap;
    int oversized_now;   /* the message being assembled passed msg_max: drop it */
    int open;
    int in_connect;      /* inside lws_client_connect_via_info */
    int in_cb;           /* inside one of the user's callbacks */
    int closed_by_user;  /* wsc_close was called */
    int finished;        /* the wsi is gone (or being destroyed) */
    char fail[WSC_ERR_MAX];
    struct wsc_stats st;
    struct wsc_conn *prev, *next;
};

struct wsc_ctx {
    struct lws_context *lws;
    struct wsc_conn *conns;
};

void wsc_log_emit(int level, const char *line)
{
    char buf[512];
    size_t n = strlen(line);
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, line, n);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
    buf[n] = '\0';
    log_write(level == LLL_ERR ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "lws", "text=\"%s\"", buf);
}

static void conn_unlink(struct wsc_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (c->ctx->conns == c)
        c->ctx->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_free(struct wsc_conn *c)
{
    conn_unlink(c);
    free(c->buf);
    free(c);
}

/* The wsi of c is gone or going: report once (unless the user closed it) and free. */
static void conn_finish(struct wsc_conn *c, const char *reason)
{
    if (c->finished) return;
    c->finished = 1;
    if (c->wsi) lws_set_opaque_user_data(c->wsi, NULL);
    c->wsi = NULL;
    snprintf(c->fail, sizeof c->fail, "%s", reason);
    if (c->in_connect) return; /* wsc_connect reports the failure and frees */
    if (!c->closed_by_user && c->cbs.closed) {
        c->in_cb = 1;
        c->cbs.closed(c, c->fail, c->cbs.privdata);
        c->in_cb = 0;
    }
    conn_free(c);
}

/* Calls a user callback; afterwards frees c when the user closed it meanwhile. Returns -1
 * when c is gone. */
static int conn_after_cb(struct wsc_conn *c)
{
    c->in_cb = 0;
    if (!c->closed_by_user) return 0;
    conn_free(c);
    return -1;
}

static int conn_append(struct wsc_conn *c, const char *in, size_t len)
{
    if (c->oversized_now || c->len + len > c->msg_max) {
        c->oversized_now = 1;
        return 0;
    }
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + len + 1) cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) return -1;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, in, len);
    c->len += len;
    c->buf[c->len] = '\0';
    return 0;
}

static int conn_receive(struct wsc_conn *c, struct lws *wsi, const char *in, size_t len)
{
    if (conn_append(c, in, len) < 0) return -1;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
    if (c->oversized_now) {
        c->st.oversized++;
        c->oversized_now = 0;
        c->len = 0;
        return 0;
    }
    size_t n = c->len;
    c->len = 0;
    c->st.messages++;
    if (!c->cbs.message || !c->buf) return 0;
    c->in_cb = 1;
    c->cbs.message(c, c->buf, n, c->cbs.privdata);
    (void)conn_after_cb(c);
    return 0;
}

static int conn_opened(struct wsc_conn *c)
{
    c->open = 1;
    if (!c->cbs.open) return 0;
    c->in_cb = 1;
    c->cbs.open(c, c->cbs.privdata);
    (void)conn_after_cb(c);
    return 0;
}

static int wsc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct wsc_conn *c = lws_get_opaque_user_data(wsi);
    if (!c) return lws_callback_http_dummy(wsi, reason, user, in, len);
    char why[WSC_ERR_MAX];
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        return conn_opened(c);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return conn_receive(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(why, sizeof why, "connect failed: %.*s", in ? (int)(len ? len : strlen(in)) : 0,
                 in ? (const char *)in : "");
        conn_finish(c, why);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        conn_finish(c, "closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        conn_finish(c, c->open ? "connection lost" : "connect failed");
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols wsc_protocols[] = {
    {"bfq-wsc", wsc_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct wsc_ctx *wsc_ctx_new(struct ev_loop *loop, const char *ca_file, char *err, size_t errcap)
{
    struct wsc_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, wsc_log_emit);
    void *foreign[1] = {loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = wsc_protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    if (ca_file && ca_file[0]) info.client_ssl_ca_filepath = ca_file;
    x->lws = lws_create_context(&info);
    if (!x->lws) {
        snprintf(err, errcap, "libwebsockets context with the libev loop failed");
        free(x);
        return NULL;
    }
    return x;
}

void wsc_ctx_free(struct wsc_ctx *x)
{
    if (!x) return;
    while (x->conns) {
        struct wsc_conn *c = x->conns;
        if (c->wsi) lws_set_opaque_user_data(c->wsi, NULL);
        conn_free(c);
    }
    lws_context_destroy(x->lws);
    free(x);
}

int wsc_parse_url(const char *url, int *tls, char *host, size_t hostcap, int *port, char *path,
                  size_t pathcap)
{
    const char *p;
    if (!strncmp(url, "ws://", 5)) {
        *tls = 0;
        p = url + 5;
    } else if (!strncmp(url, "wss://", 6)) {
        *tls = 1;
        p = url + 6;
    } else {
        return -1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= hostcap) return -1;
    memcpy(host, p, hl);
    host[hl] = '\0';
    p += hl;
    *port = *tls ? 443 : 80;
    if (*p == ':') {
        char *end = NULL;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v <= 0 || v > 65535) return -1;
        *port = (int)v;
        p = end;
    }
    if (*p && *p != '/') return -1;
    const char *rest = *p ? p : "/";
    if (strlen(rest) >= pathcap) return -1;
    memcpy(path, rest, strlen(rest) + 1);
    return 0;
}

struct wsc_conn *wsc_connect(struct wsc_ctx *x, const char *url, const struct wsc_options *opt,
                             const struct wsc_callbacks *cbs, char *err, size_t errcap)
{
    int tls = 0, port = 0;
    char host[WSC_HOST_MAX], path[WSC_URL_MAX];
    if (strlen(url) >= WSC_URL_MAX ||
        wsc_parse_url(url, &tls, host, sizeof host, &port, path, sizeof path) < 0) {
        snprintf(err, errcap, "not a ws:// or wss:// URL");
        return NULL;
    }
    struct wsc_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    c->ctx = x;
    c->cbs = *cbs;
    c->msg_max = opt && opt->msg_max ? opt->msg_max : WSC_MSG_MAX_DEFAULT;
    c->retry.secs_since_valid_ping = (uint16_t)(opt && opt->ping_secs ? opt->ping_secs : 60);
    c->retry.secs_since_valid_hangup =
        (uint16_t)(opt && opt->hangup_secs ? opt->hangup_secs : 180);
    c->next = x->conns;
    if (x->conns) x->conns->prev = c;
    x->conns = c;

    struct lws_client_connect_info cc;
    memset(&cc, 0, sizeof cc);
    cc.context = x->lws;
    cc.address = host;
    cc.port = port;
    cc.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    cc.path = path;
    cc.host = host;
    cc.origin = host;
    cc.local_protocol_name = wsc_protocols[0].name;
    cc.iface = opt ? opt->source_ip : NULL;
    cc.opaque_user_data = c;
    cc.retry_and_idle_policy = &c->retry;
    cc.pwsi = &c->wsi;
    c->in_connect = 1;
    struct lws *wsi = lws_client_connect_via_info(&cc);
    c->in_connect = 0;
    if (!wsi || c->finished) {
        snprintf(err, errcap, "%s", c->finished ? c->fail : "connect refused by libwebsockets");
        if (wsi && !c->finished) lws_set_opaque_user_data(wsi, NULL);
        conn_free(c);
        return NULL;
    }
    return c;
}

void wsc_close(struct wsc_conn *c)
{
    if (!c || c->closed_by_user) return;
    c->closed_by_user = 1;
    if (c->wsi) {
        lws_set_opaque_user_data(c->wsi, NULL);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        c->wsi = NULL;
    }
    if (!c->in_cb) conn_free(c);
}

int wsc_is_open(const struct wsc_conn *c)
{
    return c && c->open;
}

struct wsc_stats wsc_conn_stats(const struct wsc_conn *c)
{
    return c->st;
}
