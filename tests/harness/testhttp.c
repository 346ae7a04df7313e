/* testhttp: a scripted raw HTTP server for tests (see testhttp.h).
 *
 * One thread, one poll() over the listening socket, a wake-up pipe and every connection.
 * Each connection is READING (collect the head and Content-Length body), WAITING (answer due
 * at a monotonic time), WRITING (nonblocking writes of the scripted bytes) or HUNG. After an
 * answer the connection returns to READING (keep-alive) unless the script closes it. */
#include "tests/harness/testhttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define THTTP_CONNS_MAX 256
#define THTTP_IN_MAX (THTTP_HEAD_MAX + THTTP_BODY_MAX + 1)

enum conn_state { C_READING, C_WAITING, C_WRITING, C_HUNG };

struct conn {
    int fd;
    enum conn_state state;
    char *in;
    size_t in_len;
    int id, seq;
    char peer[64];
    struct thttp_resp resp;
    size_t out_off;
    long long due_ms;
};

struct thttp {
    int lfd, wake[2], port;
    char url[96];
    pthread_t thread;
    pthread_mutex_t lock;
    thttp_handler *handler;
    void *arg;
    struct conn *conns[THTTP_CONNS_MAX];
    int nconns, accepted, requests;
    _Atomic int stop;
};

static long long mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void thttp_lock(struct thttp *s) { pthread_mutex_lock(&s->lock); }
void thttp_unlock(struct thttp *s) { pthread_mutex_unlock(&s->lock); }

int thttp_port(const struct thttp *s) { return s->port; }
const char *thttp_url(const struct thttp *s) { return s->url; }

int thttp_connections(struct thttp *s)
{
    thttp_lock(s);
    int n = s->accepted;
    thttp_unlock(s);
    return n;
}

int thttp_requests(struct thttp *s)
{
    thttp_lock(s);
    int n = s->requests;
    thttp_unlock(s);
    return n;
}

void thttp_raw(struct thttp_resp *resp, const char *raw, size_t len)
{
    free(resp->raw);
    resp->raw = malloc(len ? len : 1);
    if (!resp->raw) abort();
    memcpy(resp->raw, raw, len);
    resp->raw_len = len;
}

void thttp_reply(struct thttp_resp *resp, int code, const char *extra_headers, const char *body)
{
    size_t blen = body ? strlen(body) : 0;
    size_t cap = 256 + (extra_headers ? strlen(extra_headers) : 0) + blen;
    char *buf = malloc(cap);
    if (!buf) abort();
    int n = snprintf(buf, cap, "HTTP/1.1 %d X\r\n%sContent-Type: application/json\r\n"
                               "Content-Length: %zu\r\n\r\n",
                     code, extra_headers ? extra_headers : "", blen);
    if (n < 0 || (size_t)n + blen > cap) abort();
    memcpy(buf + n, body ? body : "", blen);
    free(resp->raw);
    resp->raw = buf;
    resp->raw_len = (size_t)n + blen;
}

int thttp_header(const struct thttp_req *req, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = strstr(req->head, "\r\n");
    while (p) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ') v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= cap) return -1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
        p = strstr(p, "\r\n");
    }
    return -1;
}

static void conn_close(struct thttp *s, int i)
{
    struct conn *c = s->conns[i];
    close(c->fd);
    free(c->in);
    free(c->resp.raw);
    free(c);
    s->conns[i] = s->conns[--s->nconns];
}

static void on_accept(struct thttp *s)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int fd = accept(s->lfd, (struct sockaddr *)&sa, &sl);
    if (fd < 0) return;
    struct conn *c = calloc(1, sizeof *c);
    if (s->nconns == THTTP_CONNS_MAX || !c || !(c->in = malloc(THTTP_IN_MAX + 1))) {
        if (c) free(c);
        close(fd);
        return;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    inet_ntop(AF_INET, &sa.sin_addr, c->peer, sizeof c->peer);
    thttp_lock(s);
    c->id = ++s->accepted;
    thttp_unlock(s);
    s->conns[s->nconns++] = c;
}

/* Length of a complete request at the start of c->in, or 0 when more bytes are needed. */
static size_t request_complete(const struct conn *c, size_t *head_len, size_t *body_len)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return 0;
    *head_len = (size_t)(end - c->in) + 4;
    *body_len = 0;
    char tmp = c->in[*head_len - 2];
    c->in[*head_len - 2] = '\0'; /* temporarily end the head for header lookups */
    struct thttp_req probe;
    size_t n = *head_len - 2 < sizeof probe.head ? *head_len - 2 : sizeof probe.head - 1;
    memcpy(probe.head, c->in, n);
    probe.head[n] = '\0';
    c->in[*head_len - 2] = tmp;
    char cl[32];
    if (thttp_header(&probe, "Content-Length", cl, sizeof cl) == 0)
        *body_len = (size_t)strtoull(cl, NULL, 10);
    if (*body_len > THTTP_BODY_MAX) *body_len = THTTP_BODY_MAX;
    return c->in_len >= *head_len + *body_len ? *head_len + *body_len : 0;
}

static void handle_request(struct thttp *s, struct conn *c, size_t head_len, size_t body_len)
{
    static struct thttp_req req; /* large; only the server thread uses it */
    memset(&req, 0, sizeof req);
    size_t n = head_len < sizeof req.head ? head_len : sizeof req.head - 1;
    memcpy(req.head, c->in, n);
    sscanf(req.head, "%15s %4095s", req.method, req.target);
    char saved = c->in[head_len + body_len];
    c->in[head_len + body_len] = '\0';
    req.body = c->in + head_len;
    req.body_len = body_len;
    memcpy(req.peer, c->peer, sizeof req.peer);
    req.conn_id = c->id;
    req.seq = ++c->seq;
    memset(&c->resp, 0, sizeof c->resp);
    thttp_lock(s);
    s->requests++;
    s->handler(&req, &c->resp, s->arg);
    thttp_unlock(s);
    c->in[head_len + body_len] = saved;
    c->out_off = 0;
    c->due_ms = mono_now() + c->resp.delay_ms;
    c->state = c->resp.hang ? C_HUNG : C_WAITING;
}

/* Handles the next buffered request, if complete and the connection is ready for it. */
static void try_handle(struct thttp *s, struct conn *c)
{
    size_t head_len, body_len, total;
    if (c->state != C_READING) return;
    total = request_complete(c, &head_len, &body_len);
    if (!total) return;
    handle_request(s, c, head_len, body_len);
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
}

/* Returns -1 when the connection must be closed. */
static int on_readable(struct thttp *s, struct conn *c)
{
    if (c->in_len == THTTP_IN_MAX) return -1;
    ssize_t r = read(c->fd, c->in + c->in_len, THTTP_IN_MAX - c->in_len);
    if (r <= 0) return (r < 0 && errno == EAGAIN) ? 0 : -1;
    c->in_len += (size_t)r;
    try_handle(s, c);
    return 0;
}

static int on_writable(struct thttp *s, struct conn *c)
{
    while (c->out_off < c->resp.raw_len) {
        ssize_t w = send(c->fd, c->resp.raw + c->out_off, c->resp.raw_len - c->out_off,
                         MSG_NOSIGNAL);
        if (w < 0) return errno == EAGAIN ? 0 : -1;
        c->out_off += (size_t)w;
    }
    if (c->resp.close_after) return -1;
    free(c->resp.raw);
    memset(&c->resp, 0, sizeof c->resp);
    c->state = C_READING;
    try_handle(s, c); /* a pipelined request may be waiting */
    return 0;
}

static int poll_timeout(struct thttp *s)
{
    long long now = mono_now(), best = -1;
    for (int i = 0; i < s->nconns; i++) {
        if (s->conns[i]->state != C_WAITING) continue;
        long long d = s->conns[i]->due_ms - now;
        if (d < 0) d = 0;
        if (best < 0 || d < best) best = d;
    }
    return (int)best;
}

static void *server_main(void *arg)
{
    struct thttp *s = arg;
    static struct pollfd pf[THTTP_CONNS_MAX + 2];
    while (!s->stop) {
        int n = 0;
        pf[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (int i = 0; i < s->nconns; i++) {
            struct conn *c = s->conns[i];
            pf[n++] = (struct pollfd){.fd = c->fd,
                                      .events = c->state == C_WRITING ? POLLOUT : POLLIN};
        }
        int nc = s->nconns;
        if (poll(pf, (nfds_t)n, poll_timeout(s)) < 0 && errno != EINTR) break;
        if (pf[1].revents & POLLIN) on_accept(s);
        long long now = mono_now();
        for (int i = nc - 1; i >= 0; i--) {
            struct conn *c = s->conns[i];
            int bad = 0;
            if (pf[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) bad = on_readable(s, c) < 0;
            if (!bad && c->state == C_WAITING && c->due_ms <= now) c->state = C_WRITING;
            if (!bad && c->state == C_WRITING) bad = on_writable(s, c) < 0;
            if (bad) conn_close(s, i);
        }
    }
    while (s->nconns) conn_close(s, s->nconns - 1);
    return NULL;
}

struct thttp *thttp_start(const char *ip, thttp_handler *handler, void *arg)
{
    struct thttp *s = calloc(1, sizeof *s);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    int one = 1;
    if (!s) return NULL;
    s->handler = handler;
    s->arg = arg;
    pthread_mutex_init(&s->lock, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->lfd < 0 || pipe(s->wake) != 0) goto fail;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
        bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 128) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0)
        goto fail;
    s->port = ntohs(sa.sin_port);
    snprintf(s->url, sizeof s->url, "http://%s:%d", ip, s->port);
    if (pthread_create(&s->thread, NULL, server_main, s) != 0) goto fail;
    return s;
fail:
    if (s->lfd >= 0) close(s->lfd);
    free(s);
    return NULL;
}

void thttp_stop(struct thttp *s)
{
    if (!s) return;
    s->stop = 1;
    if (write(s->wake[1], "x", 1) != 1) abort();
    pthread_join(s->thread, NULL);
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
