/* test_sim_order_faults: the fault kinds of the order paths, through a real `bfq sim`.
 *
 * code: an order answers a given Binance error with Binance's HTTP status and places nothing;
 * count limits a fault to that many hits. -1008: an overloaded server refuses a new order but
 * lets a reduce-only one and a cancel through. executed503: the order is executed, the answer
 * is 503 -1007 "execution status unknown", and a query by clientOrderId finds it. algo_lag:
 * for M ms after an algo order is placed, GET answers -2013, DELETE -2011 and openAlgoOrders
 * leaves it out; afterwards all three see it. Also the IP weights of the account-mode
 * endpoints (X-MBX-USED-WEIGHT-1M). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/jsonval.h"
#include "tests/harness/harness.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"

static struct th_sim sim;

static long sreq(const char *method, const char *path, const char *params, struct simresp *r)
{
    if (!strcmp(method, "GET") || !strcmp(method, "DELETE"))
        return simq_signed(&sim, method, path, params, NULL, KEY, SECRET, 0, r);
    return simq_signed(&sim, method, path, "", params, KEY, SECRET, 0, r);
}

static json_t *sreq_json(const char *method, const char *path, const char *params, long *status)
{
    struct simresp r;
    char err[JV_ERR_MAX];
    *status = sreq(method, path, params, &r);
    json_t *j = jv_parse(r.body, r.len, err, sizeof err);
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "%s %s?%s -> %ld %s\n", method, path, params, *status, r.body);
    simresp_free(&r);
    return j;
}

static int code_of(const json_t *j)
{
    return (int)json_integer_value(json_object_get(j, "code"));
}

static long admin(const char *method, const char *path_query)
{
    char url[1024], *body = NULL;
    snprintf(url, sizeof url, "%s%s", sim.url, path_query);
    long st = th_http(method, url, NULL, NULL, &body);
    if (st != 200) fprintf(stderr, "admin %s -> %ld %s\n", path_query, st, body ? body : "");
    free(body);
    return st;
}

#define BUY "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.002"

static void test_code(void)
{
    long st;
    json_t *j;
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=code&code=-2027&count=1") == 200);
    j = sreq_json("POST", "/fapi/v1/order", BUY "&newClientOrderId=code-1", &st);
    CHECK(st == 400 && code_of(j) == -2027);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "msg")),
                 "Exceeded the maximum allowable position at current leverage.");
    json_decref(j);
    j = sreq_json("GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=code-1", &st);
    CHECK(st == 400 && code_of(j) == -2013); /* not executed */
    json_decref(j);
    j = sreq_json("POST", "/fapi/v1/order", BUY "&newClientOrderId=code-2", &st); /* count=1 used */
    CHECK(st == 200);
    json_decref(j);
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=code&code=-4131&status=400"
                        "&msg=custom%20text") == 200);
    j = sreq_json("POST", "/fapi/v1/order", BUY, &st);
    CHECK(st == 400 && code_of(j) == -4131);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "msg")), "custom text");
    json_decref(j);
    CHECK(admin("DELETE", "/_sim/fault") == 200);
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=code") == 400); /* code missing */
}

static void test_overload(void)
{
    long st;
    json_t *j;
    /* long 0.002 from test_code: -1008 refuses opening, passes reducing and cancels */
    CHECK(admin("POST", "/_sim/fault?path=*&kind=code&code=-1008") == 200);
    j = sreq_json("POST", "/fapi/v1/order", BUY, &st);
    CHECK(st == 503 && code_of(j) == -1008);
    json_decref(j);
    j = sreq_json("POST", "/fapi/v1/order",
                  "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001&reduceOnly=true"
                  "&newOrderRespType=RESULT", &st);
    CHECK(st == 200);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "status")), "FILLED");
    json_decref(j);
    j = sreq_json("DELETE", "/fapi/v1/order", "symbol=BTCUSDT&orderId=1", &st);
    CHECK(st == 400 && code_of(j) == -2011); /* the cancel reached the engine */
    json_decref(j);
    /* a batch passes when every order in it reduces */
    char *ro = curl_easy_escape(NULL, "[{\"symbol\":\"BTCUSDT\",\"side\":\"SELL\",\"type\":"
                                      "\"MARKET\",\"quantity\":\"0.001\",\"reduceOnly\":\"true\"}]", 0);
    char *mixed = curl_easy_escape(NULL, "[{\"symbol\":\"BTCUSDT\",\"side\":\"SELL\",\"type\":"
                                         "\"MARKET\",\"quantity\":\"0.001\",\"reduceOnly\":\"true\"},"
                                         "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                                         "\"MARKET\",\"quantity\":\"0.001\"}]", 0);
    char body[1024];
    snprintf(body, sizeof body, "batchOrders=%s", ro);
    j = sreq_json("POST", "/fapi/v1/batchOrders", body, &st);
    CHECK(st == 200 && json_is_array(j) && json_object_get(json_array_get(j, 0), "orderId"));
    json_decref(j);
    snprintf(body, sizeof body, "batchOrders=%s", mixed);
    j = sreq_json("POST", "/fapi/v1/batchOrders", body, &st);
    CHECK(st == 503 && code_of(j) == -1008);
    json_decref(j);
    curl_free(ro);
    curl_free(mixed);
    CHECK(admin("DELETE", "/_sim/fault") == 200);
    /* for_ms: the fault ends by itself */
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=code&code=-1008&for_ms=300") == 200);
    j = sreq_json("POST", "/fapi/v1/order", BUY, &st);
    CHECK(st == 503);
    json_decref(j);
    th_sleep_ms(400);
    j = sreq_json("POST", "/fapi/v1/order", BUY, &st);
    CHECK(st == 200);
    json_decref(j);
    CHECK(admin("DELETE", "/_sim/fault") == 200);
}

static void test_executed503(void)
{
    long st;
    json_t *j;
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=executed503&count=1") == 200);
    j = sreq_json("POST", "/fapi/v1/order", BUY "&newClientOrderId=unknown-1", &st);
    CHECK(st == 503 && code_of(j) == -1007);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "msg")),
                 "Timeout waiting for response from backend server. Send status unknown; "
                 "execution status unknown.");
    json_decref(j);
    j = sreq_json("GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=unknown-1", &st);
    CHECK(st == 200);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "status")), "FILLED");
    json_decref(j);
}

struct lag {
    char id[32];
};

static int algo_visible(void *arg)
{
    struct lag *l = arg;
    char q[64];
    long st;
    snprintf(q, sizeof q, "algoId=%s", l->id);
    json_t *j = sreq_json("GET", "/fapi/v1/algoOrder", q, &st);
    json_decref(j);
    return st == 200;
}

static void test_algo_lag(void)
{
    long st;
    json_t *j;
    struct lag l;
    char q[128];
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/algoOrder&kind=algo_lag&ms=1500&count=1") == 200);
    j = sreq_json("POST", "/fapi/v1/algoOrder",
                  "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET"
                  "&quantity=0.001&triggerPrice=1000&reduceOnly=true", &st);
    CHECK(st == 200);
    snprintf(l.id, sizeof l.id, "%lld", (long long)json_integer_value(json_object_get(j, "algoId")));
    json_decref(j);
    snprintf(q, sizeof q, "algoId=%s", l.id);
    j = sreq_json("GET", "/fapi/v1/algoOrder", q, &st);
    CHECK(st == 400 && code_of(j) == -2013);
    json_decref(j);
    j = sreq_json("DELETE", "/fapi/v1/algoOrder", q, &st);
    CHECK(st == 400 && code_of(j) == -2011);
    json_decref(j);
    j = sreq_json("GET", "/fapi/v1/openAlgoOrders", "symbol=BTCUSDT", &st);
    CHECK(st == 200 && json_array_size(j) == 0);
    json_decref(j);
    CHECK(th_wait_until(algo_visible, &l, 5000));
    j = sreq_json("GET", "/fapi/v1/openAlgoOrders", "symbol=BTCUSDT", &st);
    CHECK(st == 200 && json_array_size(j) == 1);
    json_decref(j);
    j = sreq_json("DELETE", "/fapi/v1/algoOrder", q, &st);
    CHECK(st == 200);
    json_decref(j);
}

static void test_weights(void)
{
    static const struct { const char *method, *path; long weight; } w[] = {
        {"GET", "/fapi/v1/positionSide/dual", 30}, {"GET", "/fapi/v1/multiAssetsMargin", 30},
        {"GET", "/fapi/v1/leverageBracket", 1},    {"GET", "/fapi/v1/symbolConfig", 5},
        {"GET", "/fapi/v1/accountConfig", 5},
    };
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        struct simresp a, b;
        CHECK(sreq(w[i].method, w[i].path, "", &a) == 200);
        CHECK(sreq(w[i].method, w[i].path, "", &b) == 200);
        if (b.used_weight - a.used_weight != w[i].weight)
            fprintf(stderr, "%s: weight %lld\n", w[i].path, b.used_weight - a.used_weight);
        CHECK(b.used_weight - a.used_weight == w[i].weight);
        simresp_free(&a);
        simresp_free(&b);
    }
}

int main(void)
{
    const char *args[] = {"--symbols", "12", "--seed", "3", NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (th_sim_start(&sim, args) != 0) {
        CHECK(!"bfq sim started");
        return th_done();
    }
    test_code();
    test_overload();
    test_executed503();
    test_algo_lag();
    test_weights();
    th_sim_stop(&sim);
    curl_global_cleanup();
    return th_done();
}
