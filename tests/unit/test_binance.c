/* test_binance: the request layer against a scripted loopback exchange (tests/harness/testhttp).
 *
 * The server recomputes every signature over query+body minus the signature with the known
 * secret, checks it is the last parameter, checks timestamp against its own clock (set one hour
 * ahead of ours, so only a synced client passes) and recvWindow <= 5000, counts
 * GET /fapi/v1/time calls, and answers each error path the classifier must recognise. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binance.h"
#include "core/log.h"
#include "tests/harness/harness.h"
#include "tests/harness/testloop.h"
#include "tests/harness/testhttp.h"

#define SECRET "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
#define APIKEY "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
#define SERVER_AHEAD_MS 3600000LL

/* ---- the exchange's side (server thread, under the server's lock) ---- */

struct exch {
    int time_calls, order_calls, fail_1021, time_delay_ms;
    int time_slow_left; /* this many more time answers go 400 ms late */
    int sig_ok;             /* last signed request verified */
    char sig_where;         /* 'q' or 'b': where the signature was */
    long long recv_window;  /* of the last signed request, -1 when absent */
    char apikey[128];       /* X-MBX-APIKEY of the last request, "" when absent */
    char query[4096], body[4096];
};
static struct exch ex;

/* Value of param key in a&b&c form text, or -1. */
static long long param_ll(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') return strtoll(p + kl + 1, NULL, 10);
    }
    return -1;
}

/* Strips "&signature=HEX" (or "signature=HEX") from the end of text into sig; 0 when it is
 * there, last and fits sig (a longer one is no valid signature, never a truncated match). */
static int take_signature(char *text, char *sig, size_t cap)
{
    char *s = strstr(text, "signature=");
    if (!s || (s != text && s[-1] != '&') || strchr(s, '&')) return -1;
    size_t n = strlen(s + 10);
    if (n >= cap) return -1;
    memcpy(sig, s + 10, n + 1);
    if (s != text) s--;
    *s = '\0';
    return 0;
}

static void verify_signed(const struct thttp_req *req)
{
    char q[4096] = "", b[4096] = "", sig[128] = "", want[65], total[8192];
    const char *qm = strchr(req->target, '?');
    snprintf(q, sizeof q, "%s", qm ? qm + 1 : "");
    snprintf(b, sizeof b, "%.*s", (int)req->body_len, req->body);
    snprintf(ex.query, sizeof ex.query, "%s", q);
    snprintf(ex.body, sizeof ex.body, "%s", b);
    ex.sig_ok = 0;
    ex.sig_where = 0;
    if (take_signature(b, sig, sizeof sig) == 0)
        ex.sig_where = 'b';
    else if (!strstr(b, "signature=") && take_signature(q, sig, sizeof sig) == 0)
        ex.sig_where = 'q';
    snprintf(total, sizeof total, "%s%s", q, b);
    if (ex.sig_where && binance_sign(SECRET, total, strlen(total), want) == 0)
        ex.sig_ok = strcmp(want, sig) == 0;
    long long ts = param_ll(q, "timestamp");
    if (ts < 0) ts = param_ll(b, "timestamp");
    ex.recv_window = param_ll(q, "recvWindow");
    if (ex.recv_window < 0) ex.recv_window = param_ll(b, "recvWindow");
    long long server_now = th_now_ms() + SERVER_AHEAD_MS;
    if (ts < 0 || ts > server_now + 1000 || server_now - ts > 5000) ex.sig_ok = 0;
}

static void reply_order(const struct thttp_req *req, struct thttp_resp *resp)
{
    ex.order_calls++;
    verify_signed(req);
    if (ex.fail_1021 > 0) {
        ex.fail_1021--;
        thttp_reply(resp, 400, NULL,
                    "{\"code\":-1021,\"msg\":\"Timestamp for this request is outside of the "
                    "recvWindow.\"}");
    } else if (!ex.sig_ok) {
        thttp_reply(resp, 400, NULL,
                    "{\"code\":-1022,\"msg\":\"Signature for this request is not valid.\"}");
    } else {
        thttp_reply(resp, 200, "X-MBX-USED-WEIGHT-1M: 11\r\nX-MBX-ORDER-COUNT-10S: 2\r\n",
                    "{\"orderId\":8389765739703625592,\"status\":\"NEW\"}");
    }
}

static void reply_time(struct thttp_resp *resp)
{
    char body[64];
    ex.time_calls++;
    snprintf(body, sizeof body, "{\"serverTime\":%lld}", (long long)th_now_ms() + SERVER_AHEAD_MS);
    thttp_reply(resp, 200, NULL, body);
    resp->delay_ms = ex.time_delay_ms;
    if (ex.time_slow_left > 0) {
        ex.time_slow_left--;
        resp->delay_ms = 400;
    }
}

/* Error answers, by path. Returns 0 when path is not one. */
static int reply_error(const char *t, struct thttp_resp *resp)
{
    static const struct {
        const char *path;
        int code;
        const char *headers, *body;
    } tab[] = {
        {"/e/429", 429, "Retry-After: 5\r\n", "{\"code\":-1003,\"msg\":\"Too many requests.\"}"},
        {"/e/429bare", 429, NULL, "{\"code\":-1003,\"msg\":\"Too many requests.\"}"},
        {"/e/429huge", 429, "Retry-After: 900000000000000000\r\n",
         "{\"code\":-1003,\"msg\":\"Too many requests.\"}"},
        {"/e/418", 418, "retry-after: 120\r\n", "{\"code\":-1003,\"msg\":\"IP banned\"}"},
        {"/e/503", 503, NULL, "Service Unavailable."},
        {"/e/500json", 500, NULL, "{\"code\":-1000,\"msg\":\"unknown error\"}"},
        {"/e/400", 400, NULL, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}"},
        {"/e/404", 404, NULL, "<html>not found</html>"},
        {"/e/malformed", 200, NULL, "{not json"},
        {"/e/cutjson", 200, NULL, "{\"a\":[1,2"},
        {"/e/empty", 200, NULL, ""},
        {"/e/code200", 200, NULL,
         "{\"code\":200,\"msg\":\"The operation of cancel all open order is done.\"}"},
        {"/e/neg2xx", 200, NULL, "{\"code\":-2011,\"msg\":\"Unknown order sent.\"}"},
        {"/e/leak", 401, NULL,
         "{\"code\":-2015,\"msg\":\"Invalid API-key " APIKEY " or " SECRET "\"}"},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(t, tab[i].path) != 0) continue;
        thttp_reply(resp, tab[i].code, tab[i].headers, tab[i].body);
        return 1;
    }
    if (strcmp(t, "/e/trunc") == 0) {
        static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"a\":1";
        thttp_raw(resp, raw, sizeof raw - 1);
        resp->close_after = 1;
        return 1;
    }
    if (strcmp(t, "/e/hang") == 0) {
        resp->hang = 1;
        return 1;
    }
    return 0;
}

static void script(const struct thttp_req *req, struct thttp_resp *resp, void *arg)
{
    char path[sizeof req->target];
    (void)arg;
    snprintf(path, sizeof path, "%s", req->target);
    char *qm = strchr(path, '?');
    if (qm) *qm = '\0';
    ex.apikey[0] = '\0';
    thttp_header(req, "X-MBX-APIKEY", ex.apikey, sizeof ex.apikey);
    if (strcmp(path, "/fapi/v1/time") == 0)
        reply_time(resp);
    else if (strcmp(path, "/fapi/v1/order") == 0)
        reply_order(req, resp);
    else if (strcmp(path, "/e/slow") == 0) {
        thttp_reply(resp, 200, NULL, "{}");
        resp->delay_ms = 200;
    } else if (!reply_error(path, resp))
        thttp_reply(resp, 200, NULL, "{\"listenKey\":\"abc\"}");
}

/* ---- client side ---- */

static struct ev_loop *loop;
static struct thttp *srv;
static struct http_client *hc;
static int pending;

struct got {
    int calls;
    struct binance_result res;
    char body[512];
    long long order_id;
};

static void on_done(const struct binance_result *res, void *privdata)
{
    struct got *g = privdata;
    g->calls++;
    g->res = *res;
    g->res.json = NULL;
    g->res.body = NULL;
    snprintf(g->body, sizeof g->body, "%.*s", (int)res->body_len, res->body);
    json_t *id = res->json ? json_object_get(res->json, "orderId") : NULL;
    g->order_id = id ? json_integer_value(id) : -1;
    if (--pending <= 0) ev_break(loop, EVBREAK_ALL);
}

static void run(int limit_ms)
{
    CHECK(th_loop_drain(loop, &pending, limit_ms));
    pending = 0;
}

static struct binance_client *client(const char *url, int64_t recv_window, int64_t timeout_ms)
{
    char err[128] = "";
    struct binance_config cfg = {.rest_url = url ? url : thttp_url(srv), .api_key = APIKEY,
                                 .api_secret = SECRET, .recv_window_ms = recv_window,
                                 .timeout_ms = timeout_ms};
    struct binance_client *bc = binance_client_new(hc, &cfg, err, sizeof err);
    if (!bc) fprintf(stderr, "  client: %s\n", err);
    return bc;
}

static void req(struct binance_client *bc, const char *method, const char *path,
                const char *query, const char *body, enum binance_auth auth, struct got *g)
{
    memset(g, 0, sizeof *g);
    pending++;
    CHECK(binance_request(bc, method, path, query, body, auth, 1, on_done, g) == 0);
    CHECK(g->calls == 0);
}

static void snapshot(struct exch *out)
{
    thttp_lock(srv);
    *out = ex;
    thttp_unlock(srv);
}

static void test_config(void)
{
    char err[128];
    struct binance_config cfg = {.rest_url = thttp_url(srv), .recv_window_ms = 6000};
    CHECK(binance_client_new(hc, &cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "recv_window") != NULL);
    cfg.recv_window_ms = 0;
    cfg.rest_url = "ftp://x";
    CHECK(binance_client_new(hc, &cfg, err, sizeof err) == NULL);
    cfg.rest_url = NULL;
    CHECK(binance_client_new(hc, &cfg, err, sizeof err) == NULL);
    /* No key: public works, APIKEY/SIGNED are refused at once. */
    cfg.rest_url = thttp_url(srv);
    struct binance_client *bc = binance_client_new(hc, &cfg, err, sizeof err);
    struct got g;
    CHECK(bc != NULL);
    CHECK(binance_request(bc, "GET", "/x", NULL, NULL, BINANCE_SIGNED, 1, on_done, &g) == -1);
    CHECK(binance_request(bc, "GET", "/x", NULL, NULL, BINANCE_APIKEY, 1, on_done, &g) == -1);
    CHECK(binance_request(bc, "PATCH", "/x", NULL, NULL, BINANCE_PUBLIC, 1, on_done, &g) == -1);
    CHECK(binance_request(bc, "GET", "x", NULL, NULL, BINANCE_PUBLIC, 1, on_done, &g) == -1);
    CHECK(binance_request(bc, "GET", "/x", NULL, "a=1", BINANCE_PUBLIC, 1, on_done, &g) == -1);
    binance_client_free(bc);
}

static void test_signed_placement(void)
{
    struct binance_client *bc = client(NULL, 0, 2000);
    struct got g;
    struct exch e;
    /* GET with a query: signature last in the query, the clock synced first. */
    req(bc, "GET", "/fapi/v1/order", "symbol=BTCUSDT&orderId=5", NULL, BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK);
    CHECK(g.order_id == 8389765739703625592LL);
    CHECK(g.res.used_weight_1m == 11 && g.res.order_count_10s == 2 && g.res.order_count_1m == -1);
    CHECK(e.time_calls == BINANCE_SYNC_SAMPLES);
    CHECK(e.sig_ok && e.sig_where == 'q');
    CHECK(e.recv_window == 5000);
    CHECK(strncmp(e.query, "symbol=BTCUSDT&orderId=5&recvWindow=5000&timestamp=", 51) == 0);
    CHECK_EQ_STR(e.apikey, APIKEY);
    int64_t off = binance_servertime(bc)->offset_ms;
    CHECK(off > SERVER_AHEAD_MS - 1000 && off < SERVER_AHEAD_MS + 1000);

    /* POST with a body only: everything signed goes in the body, signature last. */
    req(bc, "POST", "/fapi/v1/order", NULL, "symbol=BTCUSDT&side=BUY", BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK);
    CHECK(e.sig_ok && e.sig_where == 'b');
    CHECK_EQ_STR(e.query, "");
    CHECK(strncmp(e.body, "symbol=BTCUSDT&side=BUY&recvWindow=5000&timestamp=", 50) == 0);
    CHECK(e.time_calls == BINANCE_SYNC_SAMPLES); /* clock still valid: no second sync */

    /* Query and body: HMAC over query||body, signature last in the body. */
    req(bc, "DELETE", "/fapi/v1/order", "symbol=ETHUSDT", "orderId=7", BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK && e.sig_ok && e.sig_where == 'b');
    CHECK_EQ_STR(e.query, "symbol=ETHUSDT");

    /* Neither: the query holds only recvWindow, timestamp and signature. */
    req(bc, "DELETE", "/fapi/v1/order", NULL, NULL, BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK && e.sig_ok && e.sig_where == 'q');
    CHECK(strncmp(e.query, "recvWindow=5000&timestamp=", 26) == 0);
    binance_client_free(bc);

    /* A smaller recvWindow is sent as configured. */
    bc = client(NULL, 3000, 2000);
    req(bc, "GET", "/fapi/v1/order", "symbol=BTCUSDT", NULL, BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK && e.recv_window == 3000);
    binance_client_free(bc);
}

static void test_apikey_header(void)
{
    struct binance_client *bc = client(NULL, 0, 2000);
    struct got g;
    struct exch e;
    req(bc, "GET", "/fapi/v1/ping", NULL, NULL, BINANCE_PUBLIC, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK);
    CHECK_EQ_STR(e.apikey, "");
    req(bc, "POST", "/fapi/v1/listenKey", NULL, NULL, BINANCE_APIKEY, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK);
    CHECK_EQ_STR(e.apikey, APIKEY);
    CHECK(strstr(g.body, "listenKey") != NULL);
    binance_client_free(bc);
}

static void test_resync_1021(void)
{
    struct binance_client *bc = client(NULL, 0, 2000);
    struct got g;
    struct exch e0, e;
    snapshot(&e0);
    thttp_lock(srv);
    ex.fail_1021 = 1;
    thttp_unlock(srv);
    req(bc, "POST", "/fapi/v1/order", NULL, "symbol=BTCUSDT", BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.calls == 1 && g.res.outcome == BINANCE_OK);
    CHECK(e.time_calls - e0.time_calls == 2 * BINANCE_SYNC_SAMPLES); /* sync, re-sync */
    CHECK(e.order_calls - e0.order_calls == 2); /* the request, then its one retry */

    /* Twice in a row: retried once only, then the error reaches the caller. */
    thttp_lock(srv);
    ex.fail_1021 = 2;
    thttp_unlock(srv);
    snapshot(&e0);
    req(bc, "POST", "/fapi/v1/order", NULL, "symbol=BTCUSDT", BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_EAPI && g.res.code == -1021);
    CHECK(e.order_calls - e0.order_calls == 2);
    CHECK(e.time_calls - e0.time_calls == BINANCE_SYNC_SAMPLES);
    thttp_lock(srv);
    ex.fail_1021 = 0;
    thttp_unlock(srv);
    binance_client_free(bc);
}

static void check_outcome(struct binance_client *bc, const char *path, enum binance_outcome o,
                          long http, int code, int64_t retry_ms)
{
    struct got g;
    req(bc, "GET", path, NULL, NULL, BINANCE_PUBLIC, &g);
    run(3000);
    if (g.res.outcome != o)
        fprintf(stderr, "  %s: outcome %s\n", path, binance_outcome_name(g.res.outcome));
    CHECK(g.calls == 1);
    CHECK(g.res.outcome == o);
    CHECK(g.res.http_code == http);
    CHECK(g.res.code == code);
    CHECK(g.res.retry_after_ms == retry_ms);
}

static void test_classification(void)
{
    struct binance_client *bc = client(NULL, 0, 300);
    check_outcome(bc, "/e/429", BINANCE_ERATE, 429, -1003, 5000);
    check_outcome(bc, "/e/429bare", BINANCE_ERATE, 429, -1003, 60000);
    /* A hostile Retry-After is capped (at Binance's longest ban), never overflowed. */
    check_outcome(bc, "/e/429huge", BINANCE_ERATE, 429, -1003, 3LL * 24 * 3600 * 1000);
    check_outcome(bc, "/e/418", BINANCE_EBANNED, 418, -1003, 120000);
    check_outcome(bc, "/e/503", BINANCE_ESERVER, 503, 0, 0);
    check_outcome(bc, "/e/500json", BINANCE_ESERVER, 500, -1000, 0);
    check_outcome(bc, "/e/400", BINANCE_EAPI, 400, -1121, 0);
    check_outcome(bc, "/e/404", BINANCE_EHTTP, 404, 0, 0);
    check_outcome(bc, "/e/malformed", BINANCE_EMALFORMED, 200, 0, 0);
    check_outcome(bc, "/e/cutjson", BINANCE_EMALFORMED, 200, 0, 0);
    check_outcome(bc, "/e/empty", BINANCE_EMALFORMED, 200, 0, 0);
    check_outcome(bc, "/e/code200", BINANCE_OK, 200, 0, 0);
    check_outcome(bc, "/e/neg2xx", BINANCE_EAPI, 200, -2011, 0);
    check_outcome(bc, "/e/trunc", BINANCE_ETRANSPORT, 200, 0, 0);
    check_outcome(bc, "/e/hang", BINANCE_ETIMEOUT, 0, 0, 0);
    binance_client_free(bc);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", th_free_port());
    bc = client(url, 0, 1000);
    check_outcome(bc, "/fapi/v1/ping", BINANCE_ETRANSPORT, 0, 0, 0);
    /* A signed request whose clock sync fails fails the same way, without being sent. */
    struct got g;
    req(bc, "GET", "/fapi/v1/order", NULL, NULL, BINANCE_SIGNED, &g);
    run(3000);
    CHECK(g.res.outcome == BINANCE_ETRANSPORT);
    CHECK(strstr(g.res.msg, "time sync") != NULL);
    binance_client_free(bc);
}

static void test_no_secret_in_msg(void)
{
    struct binance_client *bc = client(NULL, 0, 2000);
    struct got g;
    req(bc, "GET", "/e/leak", NULL, NULL, BINANCE_PUBLIC, &g);
    run(3000);
    CHECK(g.res.outcome == BINANCE_EAPI && g.res.code == -2015);
    CHECK(strstr(g.res.msg, SECRET) == NULL);
    CHECK(strstr(g.res.msg, APIKEY) == NULL);
    CHECK(strstr(g.res.msg, "Invalid API-key") != NULL);
    binance_client_free(bc);
}

/* A sync takes several samples and keeps the fastest: one answer held back 400 ms after the
 * server read its clock (its midpoint 200 ms late) must not set the clock. */
static void test_sync_fastest(void)
{
    struct binance_client *bc = client(NULL, 0, 3000);
    struct got g;
    struct exch e0, e;
    snapshot(&e0);
    thttp_lock(srv);
    ex.time_slow_left = 1;
    thttp_unlock(srv);
    req(bc, "GET", "/fapi/v1/order", "symbol=BTCUSDT&orderId=5", NULL, BINANCE_SIGNED, &g);
    run(3000);
    snapshot(&e);
    CHECK(g.res.outcome == BINANCE_OK);
    CHECK(e.time_calls - e0.time_calls == BINANCE_SYNC_SAMPLES);
    const struct servertime *st = binance_servertime(bc);
    CHECK(st->rtt_ms < 200);
    CHECK(st->offset_ms > SERVER_AHEAD_MS - 100 && st->offset_ms < SERVER_AHEAD_MS + 100);
    binance_client_free(bc);
}

/* Freeing one client cancels its requests (ELOCAL, before free returns), including one
 * waiting for the clock, and leaves another client on the same http_client alone. */
static void test_free_isolation(void)
{
    struct binance_client *a = client(NULL, 0, 3000), *b = client(NULL, 0, 3000);
    struct got ga, gs, gb;
    thttp_lock(srv);
    ex.time_delay_ms = 150;
    thttp_unlock(srv);
    req(a, "GET", "/e/hang", NULL, NULL, BINANCE_PUBLIC, &ga);
    req(a, "GET", "/fapi/v1/order", NULL, NULL, BINANCE_SIGNED, &gs); /* waits for the clock */
    req(b, "GET", "/e/slow", NULL, NULL, BINANCE_PUBLIC, &gb);
    binance_client_free(a); /* runs two callbacks: pending drops to 1 */
    CHECK(ga.calls == 1 && ga.res.outcome == BINANCE_ELOCAL);
    CHECK(gs.calls == 1 && gs.res.outcome == BINANCE_ELOCAL);
    CHECK(http_in_flight(hc) >= 1);
    run(3000);
    CHECK(gb.calls == 1 && gb.res.outcome == BINANCE_OK);
    CHECK(ga.calls == 1 && gs.calls == 1);
    thttp_lock(srv);
    ex.time_delay_ms = 0;
    thttp_unlock(srv);
    binance_client_free(b);
    http_cancel_all(hc); /* the orphaned hang: its late answer only frees it */
    CHECK(http_in_flight(hc) == 0);
}

int main(void)
{
    log_init("test", LOG_LEVEL_WARN);
    loop = ev_loop_new(EVFLAG_AUTO);
    srv = thttp_start("127.0.0.1", script, NULL);
    hc = http_client_new(loop);
    CHECK(srv && hc);
    if (!srv || !hc) return th_done();
    test_config();
    test_signed_placement();
    test_apikey_header();
    test_resync_1021();
    test_classification();
    test_no_secret_in_msg();
    test_free_isolation();
    test_sync_fastest();
    http_client_free(hc);
    thttp_stop(srv);
    ev_loop_destroy(loop);
    return th_done();
}
