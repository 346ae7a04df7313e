/* test_http: core/http against a scripted loopback server (tests/harness/testhttp).
 *
 * Covers what the collectors rely on: headers captured, 429/5xx answers passed through with
 * their codes, timeouts, truncated and oversized bodies, keep-alive reuse, source address
 * binding (one connection cache per address), many concurrent requests, and cancellation. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "tests/harness/harness.h"
#include "tests/harness/testloop.h"
#include "tests/harness/testhttp.h"

/* ---- the server's script, chosen by path ---- */

static void reply_echo(const struct thttp_req *req, struct thttp_resp *resp)
{
    char body[2048], expect[64] = "-", ctype[128] = "-", apikey[128] = "-";
    thttp_header(req, "Expect", expect, sizeof expect);
    thttp_header(req, "Content-Type", ctype, sizeof ctype);
    thttp_header(req, "X-Test", apikey, sizeof apikey);
    snprintf(body, sizeof body, "%s|%.*s|%s|%d|%d|%s|%s|%s", req->method, (int)req->body_len,
             req->body, req->peer, req->conn_id, req->seq, expect, ctype, apikey);
    thttp_reply(resp, 200, NULL, body);
}

static void reply_big_chunked(struct thttp_resp *resp)
{
    size_t n = HTTP_BODY_MAX + 4096;
    char head[128];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
    char *raw = malloc((size_t)hl + n + 16);
    if (!raw) abort();
    memcpy(raw, head, (size_t)hl);
    memset(raw + hl, 'a', n);
    memcpy(raw + hl + n, "\r\n0\r\n\r\n", 7);
    resp->raw = raw;
    resp->raw_len = (size_t)hl + n + 7;
}

static void script(const struct thttp_req *req, struct thttp_resp *resp, void *arg)
{
    const char *t = req->target;
    (void)arg;
    if (strcmp(t, "/ok") == 0) {
        thttp_reply(resp, 200,
                    "X-MBX-USED-WEIGHT-1M: 17\r\nx-mbx-order-count-10s: 3\r\n"
                    "X-Mbx-Order-Count-1m: 9\r\n",
                    "{\"ok\":1}");
    } else if (strcmp(t, "/429") == 0) {
        thttp_reply(resp, 429, "retry-after: 7\r\nX-MBX-USED-WEIGHT-1M: 2400\r\n",
                    "{\"code\":-1003,\"msg\":\"Too many requests\"}");
    } else if (strcmp(t, "/500") == 0) {
        thttp_reply(resp, 500, NULL, "oops");
    } else if (strcmp(t, "/hang") == 0) {
        resp->hang = 1;
    } else if (strcmp(t, "/trunc") == 0) {
        static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":1";
        thttp_raw(resp, raw, sizeof raw - 1);
        resp->close_after = 1;
    } else if (strcmp(t, "/biglen") == 0) {
        char raw[128];
        int n = snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\nxx",
                         HTTP_BODY_MAX + 1);
        thttp_raw(resp, raw, (size_t)n);
        resp->close_after = 1;
    } else if (strcmp(t, "/bigchunked") == 0) {
        reply_big_chunked(resp);
        resp->close_after = 1;
    } else if (strcmp(t, "/slow") == 0) {
        thttp_reply(resp, 200, NULL, "slow");
        resp->delay_ms = 50;
    } else {
        reply_echo(req, resp);
    }
}

/* ---- client side ---- */

struct got {
    int calls;
    enum http_status status;
    long code;
    char body[4096];
    size_t body_len;
    int64_t w1m, c10s, c1m, retry;
    int64_t elapsed;
};

static struct ev_loop *loop;
static int pending;

static void on_done(const struct http_response *res, void *privdata)
{
    struct got *g = privdata;
    g->calls++;
    g->status = res->status;
    g->code = res->code;
    g->body_len = res->body_len;
    snprintf(g->body, sizeof g->body, "%s", res->body ? res->body : "(null)");
    g->w1m = res->used_weight_1m;
    g->c10s = res->order_count_10s;
    g->c1m = res->order_count_1m;
    g->retry = res->retry_after_s;
    g->elapsed = res->done_ms - res->sent_ms;
    CHECK(res->errstr != NULL);
    if (--pending == 0) ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until every pending request completed, at most limit_ms. */
static void run_until_done(int limit_ms)
{
    CHECK(th_loop_drain(loop, &pending, limit_ms));
}

static void get(struct http_client *hc, struct thttp *srv, const char *path, int64_t timeout_ms,
                const char *ip, struct got *g)
{
    char url[256];
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = timeout_ms,
                               .source_ip = ip};
    snprintf(url, sizeof url, "%s%s", thttp_url(srv), path);
    memset(g, 0, sizeof *g);
    pending++;
    CHECK(http_send(hc, &req, on_done, g) == 0);
    CHECK(g->calls == 0); /* never from inside http_send */
}

static void test_ok_headers(struct http_client *hc, struct thttp *srv)
{
    struct got g;
    get(hc, srv, "/ok", 2000, NULL, &g);
    run_until_done(3000);
    CHECK(g.calls == 1);
    CHECK(g.status == HTTP_OK);
    CHECK(g.code == 200);
    CHECK_EQ_STR(g.body, "{\"ok\":1}");
    CHECK(g.body_len == 8);
    CHECK(g.w1m == 17);
    CHECK(g.c10s == 3);
    CHECK(g.c1m == 9);
    CHECK(g.retry == -1);
}

static void test_status_codes(struct http_client *hc, struct thttp *srv)
{
    struct got a, b;
    get(hc, srv, "/429", 2000, NULL, &a);
    get(hc, srv, "/500", 2000, NULL, &b);
    run_until_done(3000);
    CHECK(a.status == HTTP_OK && a.code == 429);
    CHECK(a.retry == 7);
    CHECK(a.w1m == 2400);
    CHECK(a.c10s == -1);
    CHECK(strstr(a.body, "-1003") != NULL);
    CHECK(b.status == HTTP_OK && b.code == 500);
    CHECK_EQ_STR(b.body, "oops");
    CHECK(b.w1m == -1 && b.retry == -1);
}

static void test_timeout(struct http_client *hc, struct thttp *srv)
{
    struct got g;
    int64_t t0 = th_now_ms();
    get(hc, srv, "/hang", 300, NULL, &g);
    run_until_done(3000);
    int64_t took = th_now_ms() - t0;
    CHECK(g.status == HTTP_ETIMEOUT);
    CHECK(took >= 280 && took < 1500);
    CHECK(g.body_len == 0);
}

static void test_broken_bodies(struct http_client *hc, struct thttp *srv)
{
    struct got t, l, c;
    get(hc, srv, "/trunc", 2000, NULL, &t);
    get(hc, srv, "/biglen", 2000, NULL, &l);
    get(hc, srv, "/bigchunked", 10000, NULL, &c);
    run_until_done(15000);
    CHECK(t.status == HTTP_ETRANSPORT);
    CHECK(l.status == HTTP_ETOOBIG);
    CHECK(c.status == HTTP_ETOOBIG);
    CHECK(c.body_len == 0);
}

static void test_connect_refused(struct http_client *hc)
{
    struct got g;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", th_free_port());
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
    memset(&g, 0, sizeof g);
    pending++;
    CHECK(http_send(hc, &req, on_done, &g) == 0);
    run_until_done(3000);
    CHECK(g.status == HTTP_ETRANSPORT);
    CHECK(g.code == 0);
}

static void test_bad_requests(struct http_client *hc, struct thttp *srv)
{
    char url[128];
    snprintf(url, sizeof url, "%s/x", thttp_url(srv));
    struct http_request bad_method = {.method = "PATCH", .url = url};
    struct http_request get_body = {.method = "GET", .url = url, .body = "a=1"};
    struct http_request no_url = {.method = "GET"};
    struct got g;
    CHECK(http_send(hc, &bad_method, on_done, &g) == -1);
    CHECK(http_send(hc, &get_body, on_done, &g) == -1);
    CHECK(http_send(hc, &no_url, on_done, &g) == -1);
    CHECK(http_in_flight(hc) == 0);
}

/* Methods, bodies and headers as the server sees them. */
static void test_methods(struct http_client *hc, struct thttp *srv)
{
    char url[128];
    struct got p, d, u;
    snprintf(url, sizeof url, "%s/echo", thttp_url(srv));
    struct http_request post = {.method = "POST", .url = url, .body = "a=1&b=2",
                                .headers = {"X-Test: k1", NULL}};
    struct http_request del = {.method = "DELETE", .url = url};
    struct http_request put = {.method = "PUT", .url = url, .body = "listenKey=abc"};
    memset(&p, 0, sizeof p);
    memset(&d, 0, sizeof d);
    memset(&u, 0, sizeof u);
    pending += 3;
    CHECK(http_send(hc, &post, on_done, &p) == 0);
    CHECK(http_send(hc, &del, on_done, &d) == 0);
    CHECK(http_send(hc, &put, on_done, &u) == 0);
    run_until_done(3000);
    /* method|body|peer|conn|seq|Expect|Content-Type|X-Test */
    CHECK(strncmp(p.body, "POST|a=1&b=2|127.0.0.1|", 23) == 0);
    CHECK(strstr(p.body, "|-|application/x-www-form-urlencoded|k1") != NULL); /* no Expect */
    CHECK(strncmp(d.body, "DELETE||127.0.0.1|", 18) == 0);
    CHECK(strncmp(u.body, "PUT|listenKey=abc|", 18) == 0);
    CHECK(strstr(u.body, "|-|") != NULL);
}

static void test_keepalive_and_source_ip(struct http_client *hc)
{
    struct thttp *srv = thttp_start("127.0.0.1", script, NULL);
    struct got a, b, c, d;
    CHECK(srv != NULL);
    if (!srv) return;
    get(hc, srv, "/echo", 2000, NULL, &a);
    run_until_done(3000);
    get(hc, srv, "/echo", 2000, NULL, &b);
    run_until_done(3000);
    CHECK(strstr(a.body, "|127.0.0.1|1|1|") != NULL);
    CHECK(strstr(b.body, "|127.0.0.1|1|2|") != NULL); /* same connection, second request */
    CHECK(thttp_connections(srv) == 1);

    get(hc, srv, "/echo", 2000, "127.0.0.2", &c);
    run_until_done(3000);
    CHECK(strstr(c.body, "|127.0.0.2|2|1|") != NULL);
    get(hc, srv, "/echo", 2000, "127.0.0.2", &c);
    run_until_done(3000);
    CHECK(strstr(c.body, "|127.0.0.2|2|2|") != NULL); /* bound connection reused */
    get(hc, srv, "/echo", 2000, NULL, &d);
    run_until_done(3000);
    /* An unbound request never rides on the bound connection (separate caches). */
    CHECK(strstr(d.body, "|127.0.0.1|1|3|") != NULL);
    CHECK(thttp_connections(srv) == 2);
    thttp_stop(srv);
}

static void test_concurrent(struct http_client *hc, struct thttp *srv)
{
    enum { N = 50 };
    static struct got g[N];
    int ok = 0;
    for (int i = 0; i < N; i++) get(hc, srv, "/slow", 5000, NULL, &g[i]);
    CHECK(http_in_flight(hc) == N);
    run_until_done(10000);
    for (int i = 0; i < N; i++) ok += g[i].calls == 1 && g[i].code == 200;
    CHECK(ok == N);
    CHECK(http_in_flight(hc) == 0);
}

/* A callback that sends the next request (a chain), as the collectors do. */
struct chain {
    struct http_client *hc;
    struct thttp *srv;
    int left, done;
};

static void on_chain(const struct http_response *res, void *privdata)
{
    struct chain *ch = privdata;
    char url[128];
    CHECK(res->status == HTTP_OK && res->code == 200);
    ch->done++;
    if (--ch->left == 0) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    snprintf(url, sizeof url, "%s/ok", thttp_url(ch->srv));
    struct http_request req = {.method = "GET", .url = url};
    CHECK(http_send(ch->hc, &req, on_chain, ch) == 0);
}

static void test_chain(struct http_client *hc, struct thttp *srv)
{
    struct chain ch = {hc, srv, 20, 0};
    char url[128];
    snprintf(url, sizeof url, "%s/ok", thttp_url(srv));
    struct http_request req = {.method = "GET", .url = url};
    CHECK(http_send(hc, &req, on_chain, &ch) == 0);
    th_loop_until(loop, &ch.done, 20, 5000);
    CHECK(ch.done == 20);
}

static void run_for(int ms)
{
    th_loop_for(loop, ms);
}

static void test_cancel(struct thttp *srv)
{
    struct http_client *hc = http_client_new(loop);
    struct got a, b, c;
    get(hc, srv, "/hang", 5000, NULL, &a);
    get(hc, srv, "/hang", 5000, "127.0.0.3", &b);
    run_for(100);
    http_cancel_all(hc);
    CHECK(a.calls == 1 && a.status == HTTP_ECANCELED);
    CHECK(b.calls == 1 && b.status == HTTP_ECANCELED);
    CHECK(http_in_flight(hc) == 0);
    get(hc, srv, "/hang", 5000, NULL, &c);
    run_for(50);
    http_client_free(hc);
    CHECK(c.calls == 1 && c.status == HTTP_ECANCELED);
    pending = 0;
}

int main(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    struct thttp *srv = thttp_start("127.0.0.1", script, NULL);
    struct http_client *hc = http_client_new(loop);
    CHECK(srv != NULL && hc != NULL);
    if (!srv || !hc) return th_done();
    test_ok_headers(hc, srv);
    test_status_codes(hc, srv);
    test_timeout(hc, srv);
    test_broken_bodies(hc, srv);
    test_connect_refused(hc);
    test_bad_requests(hc, srv);
    test_methods(hc, srv);
    test_keepalive_and_source_ip(hc);
    test_concurrent(hc, srv);
    test_chain(hc, srv);
    test_cancel(srv);
    http_client_free(hc);
    thttp_stop(srv);
    ev_loop_destroy(loop);
    return th_done();
}
