/* testws: blocking WebSocket test client (see testws.h). */
#include "tests/harness/testws.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TESTWS_MSG_MAX (4u << 20)

struct msg {
    struct msg *next;
    char *text;
};

struct testws {
    struct lws_context *ctx;
    struct lws *wsi;
    int established, failed, closed, want_close;
    struct msg *head, *tail;
    char *partial;
    size_t partial_len;
    lws_sorted_usec_list_t sul;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void push(struct testws *w, const void *in, size_t len, int final)
{
    if (w->partial_len + len > TESTWS_MSG_MAX) return;
    char *p = realloc(w->partial, w->partial_len + len + 1);
    if (!p) return;
    memcpy(p + w->partial_len, in, len);
    w->partial = p;
    w->partial_len += len;
    p[w->partial_len] = '\0';
    if (!final) return;
    struct msg *m = calloc(1, sizeof(*m));
    if (!m) return;
    m->text = w->partial;
    w->partial = NULL;
    w->partial_len = 0;
    if (w->tail) w->tail->next = m;
    else w->head = m;
    w->tail = m;
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct testws *w = lws_context_user(lws_get_context(wsi));
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        w->established = 1;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        w->failed = 1;
        w->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        push(w, in, len, lws_is_final_fragment(wsi));
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (w->want_close) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        w->closed = 1;
        w->wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"testws", cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Keeps poll() waking every 20 ms so the blocking helpers can watch their deadline. */
static void wake(lws_sorted_usec_list_t *sul)
{
    struct testws *w = lws_container_of(sul, struct testws, sul);
    lws_sul_schedule(w->ctx, 0, &w->sul, wake, 20 * LWS_US_PER_MS);
}

static void service_until(struct testws *w, int (*done)(struct testws *), int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (!done(w) && now_ms() < end) lws_service(w->ctx, 0);
}

static int connect_done(struct testws *w)
{
    return w->established || w->failed || w->closed;
}

struct testws *testws_connect(const char *url, int timeout_ms)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", url);
    const char *proto = NULL, *addr = NULL, *path = NULL;
    int port = 0;
    if (lws_parse_uri(buf, &proto, &addr, &port, &path)) return NULL;
    struct testws *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = w;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        free(w);
        return NULL;
    }
    lws_sul_schedule(w->ctx, 0, &w->sul, wake, 20 * LWS_US_PER_MS);
    char fullpath[1024];
    snprintf(fullpath, sizeof(fullpath), "/%s", path);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = w->ctx;
    ci.address = addr;
    ci.port = port;
    ci.path = fullpath;
    ci.host = addr;
    ci.origin = addr;
    ci.protocol = NULL;
    if (!strcmp(proto, "wss"))
        ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
                            LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
    ci.pwsi = &w->wsi;
    if (!lws_client_connect_via_info(&ci)) w->failed = 1;
    if (!w->failed) service_until(w, connect_done, timeout_ms);
    if (!w->established || w->failed) {
        testws_close(w);
        return NULL;
    }
    return w;
}

static int has_msg(struct testws *w)
{
    return w->head != NULL || w->closed;
}

char *testws_next(struct testws *w, int timeout_ms)
{
    service_until(w, has_msg, timeout_ms);
    struct msg *m = w->head;
    if (!m) return NULL;
    w->head = m->next;
    if (!w->head) w->tail = NULL;
    char *t = m->text;
    free(m);
    return t;
}

static int is_closed(struct testws *w)
{
    return w->closed;
}

int testws_wait_closed(struct testws *w, int timeout_ms)
{
    service_until(w, is_closed, timeout_ms);
    return w->closed;
}

void testws_close(struct testws *w)
{
    if (!w) return;
    if (w->wsi && !w->closed) {
        w->want_close = 1;
        lws_callback_on_writable(w->wsi);
        service_until(w, is_closed, 500);
    }
    lws_sul_cancel(&w->sul);
    lws_context_destroy(w->ctx);
    while (w->head) {
        struct msg *m = w->head;
        w->head = m->next;
        free(m->text);
        free(m);
    }
    free(w->partial);
    free(w);
}
