/* test_sim_trading: trading against a real `bfq sim` through signed REST requests.
 *
 * Starts the simulator, signs requests with binance_sign (HMAC-SHA256 over the query, the
 * API key in X-MBX-APIKEY) and checks the engine end to end: a market round trip with its
 * income rows and trades, a resting limit order filled after POST /_sim/price moves the
 * market, rejections with Binance's codes (GTX -5022, reduce-only -2022, -4120, -1121, -2011,
 * -2013), an algo stop that triggers and closes the position, and an admin transfer. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binance.h"
#include "core/decimal.h"
#include "core/jsonval.h"
#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"
#define SYM "BTCUSDT"

static struct th_sim sim;

/* A signed request (params may be ""); returns the HTTP status and *out the parsed body. */
static long signed_req(const char *method, const char *path, const char *params, json_t **out)
{
    const struct tb_account acct = {.base_url = sim.url, .key = KEY, .secret = SECRET};
    char query[4096], err[JV_ERR_MAX];
    char *body = NULL;
    snprintf(query, sizeof query, "%s%srecvWindow=5000", params, *params ? "&" : "");
    long status = tb_signed(&acct, method, path, query, &body);
    if (out) *out = body ? jv_parse(body, strlen(body), err, sizeof err) : NULL;
    if (status != 200 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "%s %s?%s -> %ld %s\n", method, path, params, status, body ? body : "");
    free(body);
    return status;
}

static int code_of(const char *method, const char *path, const char *params)
{
    json_t *j;
    long st = signed_req(method, path, params, &j);
    int code = st == 200 ? 0 : (int)json_integer_value(json_object_get(j, "code"));
    json_decref(j);
    return code;
}

static long admin(const char *method, const char *path_query)
{
    char url[1024], *body = NULL;
    long st;
    snprintf(url, sizeof url, "%s%s", sim.url, path_query);
    st = th_http(method, url, NULL, NULL, &body);
    free(body);
    return st;
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static struct dec dget(const json_t *o, const char *k)
{
    struct dec d = {-1, 0};
    const char *s = sget(o, k);
    if (s && dec_parse(s, (size_t)-1, &d) != DEC_OK) d = (struct dec){-1, 0};
    return d;
}

static struct dec tick;

static void read_tick(void)
{
    char url[256], *body = NULL, err[JV_ERR_MAX];
    json_t *j, *s, *f;
    size_t i, k;
    tick = (struct dec){1, 1};
    snprintf(url, sizeof url, "%s/fapi/v1/exchangeInfo", sim.url);
    CHECK(th_http("GET", url, NULL, NULL, &body) == 200);
    j = body ? jv_parse(body, strlen(body), err, sizeof err) : NULL;
    free(body);
    json_array_foreach(json_object_get(j, "symbols"), i, s) {
        if (strcmp(sget(s, "symbol"), SYM)) continue;
        json_array_foreach(json_object_get(s, "filters"), k, f)
            if (!strcmp(sget(f, "filterType"), "PRICE_FILTER")) tick = dget(f, "tickSize");
    }
    json_decref(j);
}

/* bid or ask now, and a price p% away snapped down to the tick. */
static struct dec book(int ask)
{
    char url[256], *body = NULL, err[JV_ERR_MAX];
    json_t *j;
    struct dec d;
    snprintf(url, sizeof url, "%s/fapi/v1/ticker/bookTicker?symbol=%s", sim.url, SYM);
    th_http("GET", url, NULL, NULL, &body);
    j = body ? jv_parse(body, strlen(body), err, sizeof err) : NULL;
    free(body);
    d = dget(j, ask ? "askPrice" : "bidPrice");
    json_decref(j);
    return d;
}

static void away(struct dec p, int permille, char *out)
{
    struct dec f = {1000 + permille, 3}, r;
    if (dec_mul(p, f, &r) != DEC_OK ||
        dec_snap_to_tick(r, tick, (struct dec){0, 0}, DEC_ROUND_DOWN, &r) != DEC_OK)
        r = p;
    dec_format_trim(r, out, DEC_STR_MAX);
}

static struct dec position(void)
{
    json_t *j;
    struct dec d = {-1, 0};
    if (signed_req("GET", "/fapi/v2/positionRisk", "symbol=" SYM, &j) == 200)
        d = dget(json_array_get(j, 0), "positionAmt");
    json_decref(j);
    return d;
}

static void test_round_trip(void)
{
    json_t *j;
    CHECK(signed_req("POST", "/fapi/v1/order",
                     "symbol=" SYM "&side=BUY&type=MARKET&quantity=0.005&newOrderRespType=RESULT",
                     &j) == 200);
    CHECK_EQ_STR(sget(j, "status"), "FILLED");
    CHECK(json_integer_value(json_object_get(j, "orderId")) > (1LL << 53));
    json_decref(j);
    CHECK(dec_cmp(position(), (struct dec){5, 3}) == 0);
    CHECK(signed_req("POST", "/fapi/v1/order",
                     "symbol=" SYM "&side=SELL&type=MARKET&quantity=0.005&newOrderRespType=RESULT",
                     &j) == 200);
    CHECK_EQ_STR(sget(j, "status"), "FILLED");
    json_decref(j);
    CHECK(dec_is_zero(position()));
    CHECK(signed_req("GET", "/fapi/v1/income", "", &j) == 200);
    int comm = 0, pnl = 0;
    size_t i;
    json_t *r;
    json_array_foreach(j, i, r) {
        comm += !strcmp(sget(r, "incomeType"), "COMMISSION");
        pnl += !strcmp(sget(r, "incomeType"), "REALIZED_PNL");
    }
    CHECK(comm == 2 && pnl == 1);
    json_decref(j);
    CHECK(signed_req("GET", "/fapi/v1/userTrades", "symbol=" SYM, &j) == 200);
    CHECK(json_array_size(j) == 2);
    json_decref(j);
    CHECK(code_of("POST", "/fapi/v1/order", "symbol=" SYM "&side=SELL&type=MARKET&quantity=0.005&reduceOnly=true") == -2022);
}

static int limit_filled(void *arg)
{
    json_t *j;
    int done = 0;
    char q[256];
    snprintf(q, sizeof q, "symbol=%s&orderId=%s", SYM, (const char *)arg);
    if (signed_req("GET", "/fapi/v1/order", q, &j) == 200) done = !strcmp(sget(j, "status"), "FILLED");
    json_decref(j);
    return done;
}

static void test_limit_and_rejects(void)
{
    char p[DEC_STR_MAX], q[512], id[32];
    json_t *j;
    away(book(0), -10, p);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.005&price=%s", SYM, p);
    CHECK(signed_req("POST", "/fapi/v1/order", q, &j) == 200);
    CHECK_EQ_STR(sget(j, "status"), "NEW");
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(j, "orderId")));
    json_decref(j);
    CHECK(signed_req("GET", "/fapi/v1/openOrders", "symbol=" SYM, &j) == 200);
    CHECK(json_array_size(j) == 1);
    json_decref(j);
    CHECK(admin("POST", "/_sim/price?symbol=" SYM "&pct=-3") == 200);
    CHECK(th_wait_until(limit_filled, id, 3000));
    CHECK(dec_cmp(position(), (struct dec){5, 3}) == 0);

    away(book(1), 0, p);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTX&quantity=0.005&price=%s", SYM, p);
    CHECK(code_of("POST", "/fapi/v1/order", q) == -5022);
    CHECK(code_of("POST", "/fapi/v1/order", "symbol=" SYM "&side=SELL&type=STOP_MARKET&quantity=0.005&stopPrice=1000") == -4120);
    CHECK(code_of("POST", "/fapi/v1/order", "symbol=NOSUCHUSDT&side=SELL&type=MARKET&quantity=1") == -1121);
    CHECK(code_of("DELETE", "/fapi/v1/order", "symbol=" SYM "&orderId=1") == -2011);
    CHECK(code_of("GET", "/fapi/v1/order", "symbol=" SYM "&orderId=1") == -2013);
}

static int algo_finished(void *arg)
{
    json_t *j;
    int done = 0;
    char q[64];
    snprintf(q, sizeof q, "algoId=%s", (const char *)arg);
    if (signed_req("GET", "/fapi/v1/algoOrder", q, &j) == 200)
        done = !strcmp(sget(j, "algoStatus"), "FINISHED");
    json_decref(j);
    return done;
}

static void test_algo_stop(void)
{
    char p[DEC_STR_MAX], q[512], id[32];
    json_t *j;
    /* long 0.005 from the previous test; a SELL stop 2% under the market closes it */
    away(book(0), -20, p);
    snprintf(q, sizeof q,
             "algoType=CONDITIONAL&symbol=%s&side=SELL&type=STOP_MARKET&triggerPrice=%s"
             "&closePosition=true",
             SYM, p);
    CHECK(signed_req("POST", "/fapi/v1/algoOrder", q, &j) == 200);
    CHECK_EQ_STR(sget(j, "algoStatus"), "NEW");
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(j, "algoId")));
    json_decref(j);
    CHECK(admin("POST", "/_sim/price?symbol=" SYM "&pct=-5") == 200);
    CHECK(th_wait_until(algo_finished, id, 3000));
    CHECK(dec_is_zero(position()));
}

static void test_transfer(void)
{
    json_t *j;
    struct dec before, after, diff;
    CHECK(signed_req("GET", "/fapi/v2/balance", "", &j) == 200);
    before = dget(json_array_get(j, 0), "balance");
    json_decref(j);
    CHECK(admin("POST", "/_sim/event?account=main&kind=transfer&asset=USDT&amount=100") == 200);
    CHECK(signed_req("GET", "/fapi/v2/balance", "", &j) == 200);
    after = dget(json_array_get(j, 0), "balance");
    json_decref(j);
    CHECK(dec_sub(after, before, &diff) == DEC_OK && dec_cmp(diff, dec_from_int(100)) == 0);
}

int main(void)
{
    const char *args[] = {"--symbols", "12", "--seed", "7", NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (th_sim_start(&sim, args) != 0) {
        CHECK(!"bfq sim started");
        return th_done();
    }
    read_tick();
    test_round_trip();
    test_limit_and_rejects();
    test_algo_stop();
    test_transfer();
    th_sim_stop(&sim);
    curl_global_cleanup();
    return th_done();
}
