/* test_dash_build: the dashboard's pure logic (dash/build.c): downsampling keeps at most the
 * cap, evenly, with the newest point; ranges; curves and losses keep decimals exact; positions
 * take their stop coverage from the ladder's algo orders on the closing side only; orders by
 * class; health rows turn stale past their limits; the token compare; listen parsing. */
#include <stdlib.h>
#include <string.h>

#include "dash/build.h"
#include "dash/dash.h"
#include "tests/harness/harness.h"

static void test_downsample(void)
{
    size_t idx[2000];
    CHECK(dash_downsample(5, 10, idx) == 5);
    CHECK(idx[0] == 0 && idx[4] == 4);
    CHECK(dash_downsample(43200, 2000, idx) == 2000);
    CHECK(idx[1999] == 43199); /* the newest point is always shown */
    int ascending = 1, even = 1;
    for (size_t i = 1; i < 2000; i++) {
        ascending &= idx[i] > idx[i - 1];
        even &= idx[i] - idx[i - 1] >= 21 && idx[i] - idx[i - 1] <= 22; /* 43200 / 2000 = 21.6 */
    }
    CHECK(ascending);
    CHECK(even);
    CHECK(dash_downsample(2001, 2000, idx) == 2000);
    CHECK(idx[1999] == 2000 && idx[0] == 0);
}

static void test_bucket(void)
{
    /* 5000 minutes into at most 2000 buckets: every index (t - lo) / width below 2000 */
    int64_t lo = 1000000, hi = lo + 4999LL * 60000, w = dash_bucket_ms(lo, hi, 2000);
    CHECK((hi - lo) / w == 1999);
    CHECK(dash_bucket_ms(lo, lo + 1999, 2000) == 1);
    CHECK((1999 / dash_bucket_ms(0, 1999, 2000)) == 1999);
    CHECK(dash_bucket_ms(5, 5, 2000) == 1);
    CHECK(dash_bucket_ms(0, 4000, 2000) == 3); /* 4000 / 3 = 1333: never bucket 2000 */
}

static void test_range(void)
{
    int64_t ms = -1;
    CHECK(dash_range_ms("1d", &ms) == 0 && ms == 86400000);
    CHECK(dash_range_ms("30d", &ms) == 0 && ms == 30LL * 86400000);
    CHECK(dash_range_ms("all", &ms) == 0 && ms == 0);
    CHECK(dash_range_ms("2d", &ms) == -1);
    CHECK(dash_range_ms(NULL, &ms) == -1);
}

static void test_curve(void)
{
    json_t *rows = json_array();
    for (int i = 0; i < 5000; i++) {
        char t[32];
        snprintf(t, sizeof t, "%d", 60000 * i);
        json_array_append_new(rows, json_pack("[s,s,s,s]", t, "100000.123400000000000000",
                                              "100001.000000000000000001", "0.876600000000000001"));
    }
    json_t *c = dash_curve(rows, "all", 0, 2000);
    CHECK(json_integer_value(json_object_get(c, "points")) == 5000);
    CHECK(json_array_size(json_object_get(c, "t")) == 2000);
    CHECK(json_array_size(json_object_get(c, "equity")) == 2000);
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(c, "balance"), 0)), "100000.1234");
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(c, "equity"), 0)),
                 "100001.000000000000000001");
    CHECK(json_integer_value(json_array_get(json_object_get(c, "t"), 1999)) == 60000LL * 4999);
    json_decref(c);
    json_decref(rows);
}

static void test_losers(void)
{
    json_t *rows = json_pack("[[s,s,s,s,s,s,s]]", "BTCUSDT", "9007199254740993", "SELL",
                             "50000.100000000000000000", "0.010000000000000000",
                             "-12.345000000000000000", "1764547200000");
    json_t *l = dash_losers(rows), *o = json_array_get(l, 0);
    CHECK(json_integer_value(json_object_get(o, "trade_id")) == 9007199254740993LL);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "realized_pnl")), "-12.345");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "price")), "50000.1");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "symbol")), "BTCUSDT");
    json_decref(l);
    json_decref(rows);
}

static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    CHECK(v != NULL);
    return v;
}

static void test_positions(void)
{
    json_t *pos = parse("{\"BTCUSDT:BOTH\":{\"amt\":\"0.030\",\"entry\":\"50000.10\",\"upnl\":"
                        "\"-1.5\",\"t\":5},\"ETHUSDT:BOTH\":{\"amt\":\"0\",\"entry\":\"0\","
                        "\"upnl\":\"0\"},\"XRPUSDT:BOTH\":{\"amt\":\"-20\",\"entry\":\"0.5\","
                        "\"upnl\":\"0.1\"}}");
    json_t *orders = parse(
        "{\"BTCUSDT:algo:sl_1\":{\"side\":\"SELL\",\"origQty\":\"0.010\"},"
        "\"BTCUSDT:algo:sl_2\":{\"side\":\"SELL\",\"origQty\":\"0.010\"},"
        "\"BTCUSDT:algo:sl_3\":{\"side\":\"BUY\",\"origQty\":\"0.5\"},"  /* opening side: no */
        "\"BTCUSDT:sl_4\":{\"side\":\"SELL\",\"origQty\":\"0.5\"},"       /* not algo: no */
        "\"BTCUSDT:algo:hs_1\":{\"side\":\"SELL\",\"origQty\":\"0\"},"
        "\"BTCUSDT:algo:mn_1\":{\"side\":\"SELL\",\"origQty\":\"1\"},"   /* not the ladder */
        "\"XRPUSDT:algo:sl_9\":{\"side\":\"BUY\",\"origQty\":\"20\"}}");
    json_t *ticks = parse("{\"BTCUSDT\":{\"b\":\"50000.1\",\"a\":\"50000.2\",\"T\":1}}");
    json_t *p = dash_positions(pos, orders, ticks);
    CHECK(json_array_size(p) == 2); /* the zero position is left out */
    json_t *btc = json_array_get(p, 0), *xrp = json_array_get(p, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(btc, "symbol")), "BTCUSDT");
    CHECK_EQ_STR(json_string_value(json_object_get(btc, "amt")), "0.03");
    CHECK_EQ_STR(json_string_value(json_object_get(btc, "mark")), "50000.15");
    CHECK_EQ_STR(json_string_value(json_object_get(btc, "stop_qty")), "0.02");
    CHECK_EQ_STR(json_string_value(json_object_get(btc, "coverage")), "0.6666");
    CHECK(json_integer_value(json_object_get(btc, "hard_stops")) == 1);
    CHECK_EQ_STR(json_string_value(json_object_get(xrp, "coverage")), "1");
    CHECK(json_is_null(json_object_get(xrp, "mark")));
    json_t *o = dash_orders(orders), *by = json_object_get(o, "by_class");
    CHECK(json_integer_value(json_object_get(by, "sl")) == 5);
    CHECK(json_integer_value(json_object_get(by, "hs")) == 1);
    CHECK(json_integer_value(json_object_get(by, "mn")) == 1);
    CHECK(json_array_size(json_object_get(o, "orders")) == 7);
    CHECK_EQ_STR(dash_order_class("autoclose-123"), "other");
    CHECK_EQ_STR(dash_order_class("tc_99"), "tc");
    CHECK_EQ_STR(dash_order_class("tcx_99"), "other");
    json_decref(o);
    json_decref(p);
    json_decref(pos);
    json_decref(orders);
    json_decref(ticks);
}

static void test_health(void)
{
    json_t *rep = parse(
        "{\"now\":1000000,\"instances\":[{\"role\":\"kline\",\"instance\":\"a\","
        "\"last_success\":999500,\"age_ms\":100,\"last_error\":999000},{\"role\":\"tick\","
        "\"instance\":\"b\",\"last_success\":910000,\"last_error\":999000,\"age_ms\":100},"
        "{\"role\":\"gateway\",\"instance\":\"c\",\"last_success\":10,\"age_ms\":1000},"
        "{\"role\":\"kline\",\"instance\":\"d\",\"last_success\":0,\"last_error\":999999,"
        "\"started\":990000,\"age_ms\":1000},{\"role\":\"kline\",\"instance\":\"e\","
        "\"last_success\":999999,\"age_ms\":70000}],\"data\":{\"ticks\":{\"count\":3,"
        "\"oldest_ms\":20000},\"kline\":{\"1m\":{\"count\":4,\"oldest_ms\":1000}}},"
        "\"accounts\":{\"main\":{\"sources\":{\"userstream\":{\"age_ms\":-1},\"account\":"
        "{\"age_ms\":500}}}}}");
    struct dash_stale lim = {60000, 10000, 180000, 120000};
    json_t *h = dash_health(rep, &lim), *inst = json_object_get(h, "instances");
    json_t *data = json_object_get(h, "data");
    CHECK(json_is_false(json_object_get(json_array_get(inst, 0), "stale"))); /* ok since */
    CHECK(json_is_true(json_object_get(json_array_get(inst, 1), "stale")));  /* failing 90 s */
    CHECK(json_is_false(json_object_get(json_array_get(inst, 2), "stale"))); /* idle */
    CHECK(json_is_false(json_object_get(json_array_get(inst, 3), "stale"))); /* failing 10 s */
    CHECK(json_is_true(json_object_get(json_array_get(inst, 4), "stale")));  /* old heartbeat */
    CHECK(json_array_size(data) == 4);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(data, 0), "kind")), "ticks");
    CHECK(json_is_true(json_object_get(json_array_get(data, 0), "stale")));
    CHECK(json_is_false(json_object_get(json_array_get(data, 1), "stale")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(data, 2), "kind")),
                 "account main userstream");
    CHECK(json_is_true(json_object_get(json_array_get(data, 2), "stale"))); /* never seen */
    CHECK(json_integer_value(json_object_get(h, "stale")) == 4);
    json_decref(h);
    json_decref(rep);
}

static void test_token_listen(void)
{
    CHECK(dash_token_equal("s3cret", "s3cret"));
    CHECK(!dash_token_equal("s3cret", "s3cre"));
    CHECK(!dash_token_equal("s3cret", "s3cret!"));
    CHECK(!dash_token_equal("s3cret", "S3cret"));
    CHECK(!dash_token_equal("s3cret", NULL));
    CHECK(!dash_token_equal("s3cret", ""));
    char host[64];
    int port = 0;
    CHECK(dash_parse_listen("127.0.0.1:8090", host, sizeof host, &port) == 0 && port == 8090);
    CHECK_EQ_STR(host, "127.0.0.1");
    CHECK(dash_parse_listen("0.0.0.0:0", host, sizeof host, &port) == -1);
    CHECK(dash_parse_listen("8090", host, sizeof host, &port) == -1);
    CHECK(dash_parse_listen(":8090", host, sizeof host, &port) == -1);
    CHECK(dash_is_loopback("127.0.0.2") && dash_is_loopback("::1"));
    CHECK(!dash_is_loopback("0.0.0.0") && !dash_is_loopback("10.0.0.1"));
}

int main(void)
{
    test_downsample();
    test_bucket();
    test_range();
    test_curve();
    test_losers();
    test_positions();
    test_health();
    test_token_listen();
    return th_done();
}
