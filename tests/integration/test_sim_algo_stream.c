/* test_sim_algo_stream: an algo stop's events on the real user-data WebSocket.
 *
 * Opens a long position through signed REST, places a reduce-only STOP_MARKET through
 * /fapi/v1/algoOrder, moves the price through the trigger with /_sim/price and reads the
 * frames the account's WebSocket receives. They must come in Binance's order (ALGO_UPDATE
 * TRIGGERING, TRIGGERED naming the new order with fill fields "0", that order's
 * ORDER_TRADE_UPDATE NEW and TRADE, ALGO_UPDATE FINISHED with the fill) and TRIGGERED and
 * FINISHED must have exactly the key sets and JSON types of the recorded events
 * (tests/fixtures/ws_futures_algo_update_{triggered,finished}.nautilus.json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/jsonval.h"
#include "tests/harness/harness.h"
#include "tests/harness/testws.h"
#include "tests/integration/test_sim_shape.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"
#define MAX_FRAMES 64

static struct th_sim sim;

static json_t *post(const char *path, const char *body, long *st)
{
    struct simresp r;
    *st = simq_signed(&sim, "POST", path, "", body, KEY, SECRET, 0, &r);
    json_t *j = json_loads(r.body, 0, NULL);
    simresp_free(&r);
    return j;
}

/* Same keys and JSON types as the recording, no more and no fewer (object "o" too). */
static int exact_shape(const char *fixture, const json_t *got)
{
    char *text = th_read_fixture(fixture, NULL);
    json_t *rec = text ? json_loads(text, 0, NULL) : NULL, *want = json_object_get(rec, "data");
    int ok = want && shape_compare(want, got, fixture) == 0 &&
             json_object_size(want) == json_object_size(got) &&
             json_object_size(json_object_get(want, "o")) ==
                 json_object_size(json_object_get(got, "o"));
    if (!ok) fprintf(stderr, "%s: key sets differ\n", fixture);
    json_decref(rec);
    free(text);
    return ok;
}

/* "ALGO_UPDATE:TRIGGERED", "ORDER_TRADE_UPDATE:TRADE", ... of one frame. */
static void label(const json_t *ev, char *out, size_t cap)
{
    const json_t *o = json_object_get(ev, "o");
    const char *e = json_string_value(json_object_get(ev, "e"));
    const char *x = json_string_value(json_object_get(o, "x"));
    const char *X = json_string_value(json_object_get(o, "X"));
    snprintf(out, cap, "%s:%s", e ? e : "?", x ? x : X ? X : "");
}

int main(void)
{
    const char *args[] = {"--symbols", "12", "--seed", "9", NULL};
    json_t *frames[MAX_FRAMES] = {0}, *j;
    int nf = 0, done = 0;
    long st;
    char url[512], key[128] = "";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (th_sim_start(&sim, args) != 0) {
        CHECK(!"bfq sim started");
        return th_done();
    }
    struct simresp r;
    snprintf(url, sizeof url, "%s/fapi/v1/listenKey", sim.url);
    CHECK(simq("POST", url, NULL, KEY, NULL, 0, &r) == 200);
    j = json_loads(r.body, 0, NULL);
    snprintf(key, sizeof key, "%s", json_string_value(json_object_get(j, "listenKey")));
    json_decref(j);
    simresp_free(&r);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/%s", sim.port, key);
    struct testws *w = testws_connect(url, 3000);
    CHECK(w != NULL);
    j = post("/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.002", &st);
    CHECK(st == 200);
    json_decref(j);
    snprintf(url, sizeof url, "%s/fapi/v1/ticker/bookTicker?symbol=BTCUSDT", sim.url);
    char *bt = NULL;
    CHECK(th_http("GET", url, NULL, NULL, &bt) == 200);
    j = bt ? json_loads(bt, 0, NULL) : NULL;
    struct dec bid = {0, 0}, trig = {0, 0};
    const char *bs = json_string_value(json_object_get(j, "bidPrice"));
    char tp[DEC_STR_MAX] = "1000";
    /* a trigger 2% under the bid, on BTCUSDT's 0.1 tick */
    if (bs && dec_parse(bs, (size_t)-1, &bid) == DEC_OK &&
        dec_mul(bid, (struct dec){98, 2}, &trig) == DEC_OK &&
        dec_snap_to_tick(trig, (struct dec){1, 1}, (struct dec){0, 0}, DEC_ROUND_DOWN, &trig) ==
            DEC_OK)
        dec_format_trim(trig, tp, sizeof tp);
    json_decref(j);
    free(bt);
    char body[256];
    snprintf(body, sizeof body,
             "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.002"
             "&triggerPrice=%s&reduceOnly=true", tp);
    j = post("/fapi/v1/algoOrder", body, &st);
    CHECK(st == 200);
    json_decref(j);
    snprintf(url, sizeof url, "%s/_sim/price?symbol=BTCUSDT&pct=-5", sim.url);
    CHECK(th_http("POST", url, NULL, NULL, NULL) == 200);
    /* frames until FINISHED, bounded */
    int64_t until = th_now_ms() + 5000;
    while (w && !done && nf < MAX_FRAMES && th_now_ms() < until) {
        char *m = testws_next(w, 500), lb[96];
        if (!m) continue;
        j = json_loads(m, 0, NULL);
        free(m);
        if (!j) continue;
        label(j, lb, sizeof lb);
        frames[nf++] = j;
        done = !strcmp(lb, "ALGO_UPDATE:FINISHED");
    }
    CHECK(done);
    /* the sequence from TRIGGERING on, in Binance's order */
    static const char *const want[] = {"ALGO_UPDATE:TRIGGERING", "ALGO_UPDATE:TRIGGERED",
                                       "ORDER_TRADE_UPDATE:NEW", "ORDER_TRADE_UPDATE:TRADE",
                                       "ALGO_UPDATE:FINISHED"};
    size_t k = 0;
    json_t *trg = NULL, *fin = NULL, *fill = NULL;
    for (int i = 0; i < nf; i++) {
        char lb[96];
        label(frames[i], lb, sizeof lb);
        if (k < 5 && !strcmp(lb, want[k])) k++;
        if (!strcmp(lb, "ALGO_UPDATE:TRIGGERED")) trg = frames[i];
        if (!strcmp(lb, "ALGO_UPDATE:FINISHED")) fin = frames[i];
        if (!strcmp(lb, "ORDER_TRADE_UPDATE:TRADE")) fill = frames[i];
        if (!strcmp(lb, "ALGO_UPDATE:FINISHED") && k < 5)
            fprintf(stderr, "FINISHED came before %s\n", want[k]);
    }
    CHECK(k == 5);
    CHECK(trg && fin && fill);
    if (trg && fin && fill) {
        const json_t *to = json_object_get(trg, "o"), *fo = json_object_get(fin, "o");
        char ai[32];
        snprintf(ai, sizeof ai, "%lld",
                 (long long)json_integer_value(json_object_get(json_object_get(fill, "o"), "i")));
        CHECK_EQ_STR(json_string_value(json_object_get(to, "ai")), ai);
        CHECK_EQ_STR(json_string_value(json_object_get(to, "ap")), "0");
        CHECK_EQ_STR(json_string_value(json_object_get(to, "aq")), "0");
        CHECK_EQ_STR(json_string_value(json_object_get(fo, "aq")), "0.002");
        CHECK(strcmp(json_string_value(json_object_get(fo, "ap")), "0") != 0);
        CHECK(exact_shape("ws_futures_algo_update_triggered.nautilus.json", trg));
        CHECK(exact_shape("ws_futures_algo_update_finished.nautilus.json", fin));
    }
    for (int i = 0; i < nf; i++) json_decref(frames[i]);
    testws_close(w);
    th_sim_stop(&sim);
    curl_global_cleanup();
    return th_done();
}
