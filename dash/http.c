/* http: the dashboard's HTTP server on libwebsockets (see http.h).
 *
 * The link from a connection (its per-session data) to the request it is serving is cleared
 * when the connection closes; the request then lives on, detached (wsi NULL), until the
 * handler replies, and that reply frees it instead of writing. Headers and each body chunk
 * are written from LWS_CALLBACK_HTTP_WRITEABLE. */
#include "dash/http.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/wsclient.h"

#define DASH_CHUNK 32768
#define DASH_TOKEN_MAX 256

struct dash_req {
    struct dash_http *h;
    struct dash_req *prev, *next; /* every request not freed yet, for dash_http_free */
    struct lws *wsi;       /* NULL once the client left */
    struct pss *ps;
    char path[DASH_PATH_MAX];
    char token[DASH_TOKEN_MAX];
    int has_token;
    /* the answer */
    int replied, status, own;
    const char *type;
    const char *body;
    size_t len, sent;
    int headers_sent;
};

struct pss {
    struct dash_req *req;
};

struct dash_http {
    struct lws_context *lws;
    dash_handler_fn *fn;
    void *privdata;
    struct dash_req *reqs;
};

static void req_free(struct dash_req *r)
{
    if (r->prev) r->prev->next = r->next;
    else r->h->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    if (r->own) free((void *)r->body);
    free(r);
}

/* Detaches the connection's request (client gone): freed now when answered, else by the
 * late reply. */
static void pss_detach(struct pss *ps)
{
    struct dash_req *r = ps ? ps->req : NULL;
    if (!r) return;
    ps->req = NULL;
    r->wsi = NULL;
    r->ps = NULL;
    if (r->replied) req_free(r);
}

const char *dash_req_path(const struct dash_req *req)
{
    return req->path;
}

const char *dash_req_arg(const struct dash_req *req, const char *name, char *buf, size_t cap)
{
    char key[64], tmp[DASH_ARG_MAX + 64];
    const char *v;
    buf[0] = 0;
    if (!req->wsi) return buf;
    snprintf(key, sizeof key, "%s=", name);
    v = lws_get_urlarg_by_name(req->wsi, key, tmp, (int)sizeof tmp);
    if (v) snprintf(buf, cap, "%s", v);
    return buf;
}

const char *dash_req_token(const struct dash_req *req)
{
    return req->has_token ? req->token : NULL;
}

/* Keeps a presented token; one too long to keep is kept as "" (never equal to a configured
 * one), never cut to a prefix that could match. */
static void req_set_token(struct dash_req *r, const char *v)
{
    size_t n = strlen(v);
    if (n >= sizeof r->token) n = 0;
    memcpy(r->token, v, n);
    r->token[n] = 0;
    r->has_token = 1;
}

/* Reads the presented token: "Authorization: Bearer X", else "?token=X". */
static void req_read_token(struct dash_req *r, struct lws *wsi)
{
    char auth[DASH_TOKEN_MAX + 16] = "", tmp[DASH_TOKEN_MAX + 16];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        !strncasecmp(auth, "Bearer ", 7)) {
        req_set_token(r, auth + 7);
        return;
    }
    const char *v = lws_get_urlarg_by_name(wsi, "token=", tmp, (int)sizeof tmp);
    if (v) req_set_token(r, v);
}

void dash_req_reply(struct dash_req *req, int status, const char *type, const char *body,
                    size_t len, int own)
{
    req->replied = 1;
    req->status = status;
    req->type = type;
    req->body = body;
    req->len = len;
    req->own = own;
    if (!req->wsi) {
        req_free(req);
        return;
    }
    lws_callback_on_writable(req->wsi);
}

static int write_headers(struct lws *wsi, struct dash_req *r)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof buf - 1;
    static const char nostore[] = "no-store";
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->type, (lws_filepos_t)r->len, &p,
                                    end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)nostore, (int)strlen(nostore), &p,
                                    end))
        return -1;
    if (r->status == 401 &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                    (const unsigned char *)"Bearer", 6, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Writes the headers, then one chunk of the body. Returns -1 to close the connection. */
static int send_some(struct lws *wsi, struct pss *ps)
{
    static unsigned char buf[LWS_PRE + DASH_CHUNK];
    struct dash_req *r = ps->req;
    if (!r || !r->replied) return 0;
    if (!r->headers_sent) {
        if (write_headers(wsi, r)) return -1;
        r->headers_sent = 1;
        if (r->len) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    size_t left = r->len - r->sent, n = left > DASH_CHUNK ? DASH_CHUNK : left;
    int final = n == left;
    memcpy(buf + LWS_PRE, r->body + r->sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
        return -1;
    r->sent += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    ps->req = NULL;
    req_free(r);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_begin(struct lws *wsi, struct pss *ps, const char *uri)
{
    struct dash_http *h = lws_context_user(lws_get_context(wsi));
    if (!lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)) {
        lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    pss_detach(ps);
    struct dash_req *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->h = h;
    r->next = h->reqs;
    if (h->reqs) h->reqs->prev = r;
    h->reqs = r;
    r->wsi = wsi;
    r->ps = ps;
    snprintf(r->path, sizeof r->path, "%s", uri);
    req_read_token(r, wsi);
    ps->req = r;
    h->fn(r, h->privdata);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct pss *ps = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_begin(wsi, ps, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return ps ? send_some(wsi, ps) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        pss_detach(ps);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"bfq-dash", callback, sizeof(struct pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct dash_http *dash_http_new(struct ev_loop *loop, const char *host, int port,
                                dash_handler_fn *fn, void *privdata, char *err, size_t cap)
{
    struct dash_http *h = calloc(1, sizeof *h);
    struct lws_context_creation_info info;
    void *foreign[1] = {loop};
    if (!h) abort();
    h->fn = fn;
    h->privdata = privdata;
    lws_set_log_level(LLL_ERR | LLL_WARN, wsc_log_emit);
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = foreign;
    info.user = h;
    info.keepalive_timeout = 60;
    info.timeout_secs = 30;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    h->lws = lws_create_context(&info);
    if (!h->lws) {
        snprintf(err, cap, "cannot listen on %s:%d", host, port);
        free(h);
        return NULL;
    }
    return h;
}

void dash_http_free(struct dash_http *h)
{
    if (!h) return;
    lws_context_destroy(h->lws);
    while (h->reqs) req_free(h->reqs); /* answers the worker never gave back */
    free(h);
}
