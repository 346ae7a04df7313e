/* test_sim_liquidation: the demo account (bfq-demo-key, 10000 USDT) sees a liquidation.
 *
 * A 20x long of about 150000 USDT of XRPUSDT, then POST /_sim/price drops it 8 %: once the
 * mark follows (a few seconds), the margin balance is below the bracket maintenance margin and
 * the exchange closes the position with an "autoclose-" order. The user-data stream carries
 * its ORDER_TRADE_UPDATE; allOrders lists it; the position is flat. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/testws.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"

static struct th_sim sim;

static json_t *signed_json(const char *method, const char *path, const char *query, long *st)
{
    struct simresp r;
    *st = simq_signed(&sim, method, path, query, NULL, KEY, SECRET, 0, &r);
    json_t *j = json_loads(r.body, 0, NULL);
    simresp_free(&r);
    return j;
}

static struct testws *stream(void)
{
    char url[256];
    struct simresp r;
    snprintf(url, sizeof(url), "%s/fapi/v1/listenKey", sim.url);
    CHECK(simq("POST", url, NULL, KEY, NULL, 0, &r) == 200);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/%s", sim.port,
             j ? json_string_value(json_object_get(j, "listenKey")) : "");
    json_decref(j);
    simresp_free(&r);
    return testws_connect(url, 3000);
}

/* Buys XRPUSDT worth about usdt at the last price. */
static void buy(double usdt)
{
    char url[256], q[256];
    struct simresp r;
    long st;
    snprintf(url, sizeof(url), "%s/fapi/v1/ticker/price?symbol=XRPUSDT", sim.url);
    CHECK(simq("GET", url, NULL, NULL, NULL, 0, &r) == 200);
    json_t *j = json_loads(r.body, 0, NULL);
    double px = j ? strtod(json_string_value(json_object_get(j, "price")), NULL) : 1;
    json_decref(j);
    simresp_free(&r);
    snprintf(q, sizeof(q), "symbol=XRPUSDT&side=BUY&type=MARKET&quantity=%lld",
             (long long)(usdt / px));
    j = signed_json("POST", "/fapi/v1/order", q, &st);
    CHECK(st == 200);
    json_decref(j);
}

int main(void)
{
    const char *args[] = {"--symbols", "20", NULL};
    CHECK(th_sim_start(&sim, args) == 0);
    struct testws *ws = stream();
    CHECK(ws != NULL);
    buy(75000); /* MARKET_LOT_SIZE allows about 100000 USDT at once */
    buy(75000);
    char url[256];
    struct simresp r;
    snprintf(url, sizeof(url), "%s/_sim/price?symbol=XRPUSDT&pct=-8", sim.url);
    CHECK(simq("POST", url, NULL, NULL, NULL, 0, &r) == 200);
    simresp_free(&r);
    /* the autoclose order's fill on the stream, within the mark's lag (bounded wait) */
    int seen = 0;
    int64_t until = th_now_ms() + 20000;
    while (!seen && ws && th_now_ms() < until) {
        char *m = testws_next(ws, 1000);
        json_t *j = m ? json_loads(m, 0, NULL) : NULL;
        json_t *o = json_object_get(j, "o");
        const char *e = json_string_value(json_object_get(j, "e"));
        const char *c = json_string_value(json_object_get(o, "c"));
        const char *x = json_string_value(json_object_get(o, "X"));
        if (e && !strcmp(e, "ORDER_TRADE_UPDATE") && c && !strncmp(c, "autoclose-", 10) && x &&
            !strcmp(x, "FILLED"))
            seen = 1;
        json_decref(j);
        free(m);
    }
    CHECK(seen);
    long st;
    json_t *orders = signed_json("GET", "/fapi/v1/allOrders", "symbol=XRPUSDT", &st);
    CHECK(st == 200 && json_array_size(orders) == 3);
    const char *cid = json_string_value(json_object_get(json_array_get(orders, 2), "clientOrderId"));
    CHECK(cid && !strncmp(cid, "autoclose-", 10));
    json_decref(orders);
    json_t *pos = signed_json("GET", "/fapi/v2/positionRisk", "symbol=XRPUSDT", &st);
    const char *amt = json_string_value(json_object_get(json_array_get(pos, 0), "positionAmt"));
    CHECK(st == 200 && amt && strtod(amt, NULL) == 0.0);
    json_decref(pos);
    testws_close(ws);
    th_sim_stop(&sim);
    return th_done();
}
