/* test_sim_edges: the simulator at the edges of Binance's rules, against a real `bfq sim` over
 * HTTP.
 *
 * - klines with a startTime far in the future answer [] for every interval (1M used to walk
 *   the calendar past time_t and serve 1500 bars with negative open times);
 * - POST /fapi/v1/batchOrders counts 5 on ORDERS-10S and 1 on ORDERS-1M per request, as the
 *   reference's weight table says, and the 10 s limit refuses a batch that would pass it. */
#include <stdio.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"

static void klines_future_start(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "5", NULL};
    CHECK(th_sim_start(&s, args) == 0);
    const char *ivs[] = {"1m", "1d", "1w", "1M"};
    for (int i = 0; i < 4; i++) {
        char url[512];
        struct simresp r;
        snprintf(url, sizeof(url),
                 "%s/fapi/v1/klines?symbol=BTCUSDT&interval=%s&startTime=9223372036854775000",
                 s.url, ivs[i]);
        CHECK(simq("GET", url, NULL, NULL, NULL, 0, &r) == 200);
        CHECK_EQ_STR(r.body, "[]");
        simresp_free(&r);
    }
    th_sim_stop(&s);
}

/* Appends s percent-encoded (form body) to out[cap]. */
static void form_escape(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
}

static void batch_order_counts(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "5", NULL};
    CHECK(th_sim_start(&s, args) == 0);
    char body[2048] = "batchOrders=";
    form_escape(body, sizeof(body),
                "[{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\",\"quantity\":\"0.004\"},"
                "{\"symbol\":\"BTCUSDT\",\"side\":\"SELL\",\"type\":\"MARKET\",\"quantity\":\"0.004\"}]");
    struct simresp r;
    CHECK(simq_signed(&s, "POST", "/fapi/v1/batchOrders", "", body, KEY, SECRET, 0, &r) == 200);
    CHECK(strstr(r.body, "\"orderId\"") != NULL);
    CHECK(r.oc10s == 5 && r.oc1m == 1);
    CHECK(r.used_weight >= 5);
    simresp_free(&r);
    /* a single order still counts 1 and 1 */
    CHECK(simq_signed(&s, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.004",
                      NULL, KEY, SECRET, 0, &r) == 200);
    CHECK(r.oc10s == 6 && r.oc1m == 2);
    simresp_free(&r);
    /* 300 per 10 s: batches fill the 10 s counter five at a time; the batch that would pass
     * 300 is refused with -1015 (unless the window rolled over meanwhile) */
    int refused = 0;
    for (int i = 0; i < 130 && !refused; i++) {
        long st = simq_signed(&s, "POST", "/fapi/v1/batchOrders", "", body, KEY, SECRET, 0, &r);
        if (st == 429) {
            CHECK(strstr(r.body, "-1015") != NULL);
            CHECK(strstr(r.body, "10 SECOND") != NULL);
            refused = 1;
        } else {
            CHECK(st == 200);
            CHECK(r.oc10s <= 300);
        }
        simresp_free(&r);
    }
    CHECK(refused);
    th_sim_stop(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    klines_future_start();
    batch_order_counts();
    curl_global_cleanup();
    return th_done();
}
