/* test_sim_conformance: the simulator's answers have Binance's shapes.
 *
 * For every endpoint with a recorded payload or a documentation example in the fixtures,
 * the simulator's JSON must carry the same keys with the same JSON types (test_sim_shape.h).
 * Market data, listen keys and errors are checked directly; account and order endpoints
 * after a small round trip (a resting LIMIT order, a MARKET fill), and the user-data events
 * on the WebSocket. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/testws.h"
#include "tests/integration/test_sim_shape.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"

static struct th_sim sim;

static json_t *fixture(const char *name)
{
    size_t len = 0;
    char *t = th_read_fixture(name, &len);
    if (!t) {
        fprintf(stderr, "fixture %s unreadable\n", name);
        return NULL;
    }
    json_t *j = json_loadb(t, len, 0, NULL);
    free(t);
    return j;
}

static void check_shape(const char *fixture_name, const char *what, const char *body)
{
    json_t *want = fixture(fixture_name);
    json_t *got = json_loads(body ? body : "", 0, NULL);
    CHECK(want != NULL);
    CHECK(got != NULL);
    if (want && got) {
        int bad = shape_compare(want, got, what);
        if (bad) fprintf(stderr, "  (%s vs %s)\n", what, fixture_name);
        CHECK(bad == 0);
    }
    json_decref(want);
    json_decref(got);
}

static void get_public_status(const char *pathq, const char *fixture_name, long status)
{
    char url[512];
    struct simresp r;
    snprintf(url, sizeof(url), "%s%s", sim.url, pathq);
    CHECK(simq("GET", url, NULL, NULL, NULL, 0, &r) == status);
    check_shape(fixture_name, pathq, r.body);
    simresp_free(&r);
}

static void get_public(const char *pathq, const char *fixture_name)
{
    get_public_status(pathq, fixture_name, 200);
}

static void signed_shape(const char *method, const char *path, const char *query,
                         const char *fixture_name)
{
    struct simresp r;
    long st = simq_signed(&sim, method, path, query, NULL, KEY, SECRET, 0, &r);
    if (st != 200) fprintf(stderr, "%s %s -> %ld %s\n", method, path, st, r.body);
    CHECK(st == 200);
    check_shape(fixture_name, path, r.body);
    simresp_free(&r);
}

static void market_data(void)
{
    get_public("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5", "doc_examples/klines.json");
    get_public("/fapi/v1/ticker/bookTicker", "doc_examples/bookTicker_all.json");
    get_public("/fapi/v1/ticker/bookTicker?symbol=ETHUSDT", "doc_examples/bookTicker_single.json");
    get_public("/fapi/v1/depth?symbol=BTCUSDT&limit=10", "doc_examples/depth.json");
    get_public("/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
               "depth_limit1000.KEEPUSDT.real.cryptofeed-2021-07-22.json");
    get_public("/fapi/v2/ticker/price?symbol=BTCUSDT", "doc_examples/ticker_price_v2_single.json");
    get_public("/fapi/v1/exchangeInfo", "doc_examples/exchangeInfo.json");
    get_public("/fapi/v1/exchangeInfo", "exchangeInfo.real.cryptofeed-2021-07-22.json");
    get_public("/fapi/v1/exchangeInfo", "exchangeInfo.3symbols_incl_quarterly.real.nautilus-2022-02.json");
    get_public_status("/fapi/v1/klines?symbol=NOPEUSDT&interval=1m", "doc_examples/error_payload.json", 400);
}

static void listen_keys(char *key, size_t cap)
{
    char url[256];
    struct simresp r;
    snprintf(url, sizeof(url), "%s/fapi/v1/listenKey", sim.url);
    CHECK(simq("POST", url, NULL, KEY, NULL, 0, &r) == 200);
    check_shape("doc_examples/listenKey_POST.json", "POST listenKey", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(key, cap, "%s", j ? json_string_value(json_object_get(j, "listenKey")) : "");
    json_decref(j);
    simresp_free(&r);
    CHECK(simq("PUT", url, NULL, KEY, NULL, 0, &r) == 200);
    check_shape("doc_examples/listenKey_PUT.json", "PUT listenKey", r.body);
    simresp_free(&r);
}

/* Waits for a user-data event of type e on w; returns it (malloc'd) or NULL. */
static char *wait_event(struct testws *w, const char *e, int timeout_ms)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"e\":\"%s\"", e);
    int64_t end = th_now_ms() + timeout_ms;
    while (th_now_ms() < end) {
        char *m = testws_next(w, (int)(end - th_now_ms()));
        if (!m) return NULL;
        if (strstr(m, pat)) return m;
        free(m);
    }
    return NULL;
}

static void trading(struct testws *w)
{
    struct simresp r;
    /* a LIMIT far below the market rests */
    long st = simq_signed(&sim, "POST", "/fapi/v1/order",
                          "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=1000.00",
                          NULL, KEY, SECRET, 0, &r);
    CHECK(st == 200);
    check_shape("doc_examples/order_POST_response.json", "POST order", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    long long oid = j ? json_integer_value(json_object_get(j, "orderId")) : 0;
    json_decref(j);
    simresp_free(&r);
    signed_shape("GET", "/fapi/v1/openOrders", "symbol=ETHUSDT", "doc_examples/openOrders.json");
    char q[128];
    snprintf(q, sizeof(q), "symbol=ETHUSDT&orderId=%lld", oid);
    signed_shape("DELETE", "/fapi/v1/order", q, "doc_examples/order_DELETE_response.json");
    /* a MARKET fill, then the account views */
    st = simq_signed(&sim, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010",
                     NULL, KEY, SECRET, 0, &r);
    CHECK(st == 200);
    simresp_free(&r);
    char *ev = w ? wait_event(w, "ORDER_TRADE_UPDATE", 3000) : NULL;
    CHECK(ev != NULL);
    if (ev) check_shape("doc_examples/ws_ORDER_TRADE_UPDATE.json", "ORDER_TRADE_UPDATE", ev);
    free(ev);
    ev = w ? wait_event(w, "ACCOUNT_UPDATE", 3000) : NULL;
    CHECK(ev != NULL);
    if (ev) check_shape("doc_examples/ws_ACCOUNT_UPDATE.json", "ACCOUNT_UPDATE", ev);
    free(ev);
    signed_shape("GET", "/fapi/v2/account", "", "doc_examples/account_v2_single_asset.json");
    signed_shape("GET", "/fapi/v2/balance", "", "doc_examples/balance_v2.json");
    signed_shape("GET", "/fapi/v2/positionRisk", "symbol=BTCUSDT", "doc_examples/positionRisk_v2_oneway.json");
    signed_shape("GET", "/fapi/v3/positionRisk", "", "doc_examples/positionRisk_v3_oneway.json");
    signed_shape("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT", "doc_examples/allOrders.json");
    signed_shape("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT", "doc_examples/userTrades.json");
    signed_shape("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT", "userTrades.ETHUSDT.real.nautilus-2022-02.json");
    signed_shape("GET", "/fapi/v1/income", "", "doc_examples/income.json");
    signed_shape("DELETE", "/fapi/v1/allOpenOrders", "symbol=BTCUSDT",
                 "doc_examples/allOpenOrders_DELETE_response.json");
    signed_shape("POST", "/fapi/v1/algoOrder",
                 "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.200&triggerPrice=1000.0",
                 "doc_examples/algoOrder_POST_response.json");
}

int main(void)
{
    const char *args[] = {"--symbols", "20", "--seed", "7", NULL};
    if (th_sim_start(&sim, args)) {
        CHECK(!"sim started");
        return th_done();
    }
    market_data();
    char key[128] = "", url[256];
    listen_keys(key, sizeof(key));
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/private/ws/%s", sim.port, key);
    struct testws *w = testws_connect(url, 3000);
    CHECK(w != NULL);
    trading(w);
    testws_close(w);
    th_sim_stop(&sim);
    return th_done();
}
