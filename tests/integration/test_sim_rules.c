/* test_sim_rules: the rules Binance enforces, as the simulator enforces them.
 *
 * Signing (the documented vector, a fresh signed request accepted, a wrong signature -1022,
 * stale and future timestamps -1021, unknown key -2015, missing timestamp -1102, a signed
 * body), per-IP weight with X-MBX-USED-WEIGHT-1M and independent loopback addresses, the
 * 429 -> 418 sequence with Retry-After, order-count headers. */
#include <stdio.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/integration/test_sim_util.h"

#define VEC_SECRET "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
#define VEC_MSG "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
#define VEC_SIG "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"

static int has(const struct simresp *r, const char *s)
{
    return r->body && strstr(r->body, s) != NULL;
}

static void signing(void)
{
    char sig[65];
    CHECK(binance_sign(VEC_SECRET, VEC_MSG, strlen(VEC_MSG), sig) == 0);
    CHECK_EQ_STR(sig, VEC_SIG);

    struct th_sim s;
    const char *args[] = {"--symbols", "10", "--account", "vec:vector-key:" VEC_SECRET, NULL};
    CHECK(th_sim_start(&s, args) == 0);
    struct simresp r;
    CHECK(simq_signed(&s, "GET", "/fapi/v2/balance", "", NULL, "vector-key", VEC_SECRET, 0, &r) == 200);
    simresp_free(&r);
    /* signature in the body, part of the parameters in the query */
    CHECK(simq_signed(&s, "POST", "/fapi/v1/leverage", "symbol=BTCUSDT", "leverage=5", "vector-key",
                      VEC_SECRET, 0, &r) == 200);
    simresp_free(&r);
    CHECK(simq_signed(&s, "GET", "/fapi/v2/balance", "", NULL, "vector-key", "wrong-secret", 0, &r) == 400);
    CHECK(has(&r, "-1022"));
    simresp_free(&r);
    CHECK(simq_signed(&s, "GET", "/fapi/v2/balance", "", NULL, "vector-key", VEC_SECRET, -10000, &r) == 400);
    CHECK(has(&r, "-1021"));
    simresp_free(&r);
    CHECK(simq_signed(&s, "GET", "/fapi/v2/balance", "recvWindow=20000", NULL, "vector-key",
                      VEC_SECRET, -10000, &r) == 200);
    simresp_free(&r);
    CHECK(simq_signed(&s, "GET", "/fapi/v2/balance", "", NULL, "vector-key", VEC_SECRET, 5000, &r) == 400);
    CHECK(has(&r, "-1021"));
    simresp_free(&r);
    CHECK(simq_signed(&s, "GET", "/fapi/v2/balance", "", NULL, "nobody", VEC_SECRET, 0, &r) == 401);
    CHECK(has(&r, "-2015"));
    simresp_free(&r);
    char url[512];
    snprintf(url, sizeof(url), "%s/fapi/v2/balance?recvWindow=5000", s.url);
    CHECK(simq("GET", url, NULL, "vector-key", NULL, 0, &r) == 400);
    CHECK(has(&r, "-1102"));
    simresp_free(&r);
    /* the vector's own message is refused only for its old timestamp */
    snprintf(url, sizeof(url), "%s/fapi/v1/order?%s&signature=%s", s.url, VEC_MSG, VEC_SIG);
    CHECK(simq("POST", url, NULL, "vector-key", NULL, 0, &r) == 400);
    CHECK(has(&r, "-1021"));
    simresp_free(&r);
    /* order answers carry the order counts */
    CHECK(simq_signed(&s, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.004",
                      NULL, "vector-key", VEC_SECRET, 0, &r) == 200);
    CHECK(r.oc10s == 1 && r.oc1m == 1);
    CHECK(r.used_weight >= 0);
    simresp_free(&r);
    th_sim_stop(&s);
}

static void weights(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "10", "--weight-limit", "12", "--ban-base-ms", "1500", NULL};
    CHECK(th_sim_start(&s, args) == 0);
    /* the harness' start-up ping came from 127.0.0.1; these come from .2 and .3 */
    char url[256];
    struct simresp r;
    snprintf(url, sizeof(url), "%s/fapi/v1/ticker/bookTicker", s.url); /* weight 5 */
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.2", 0, &r) == 200);
    CHECK(r.used_weight == 5);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.3", 0, &r) == 200);
    CHECK(r.used_weight == 5);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.2", 0, &r) == 200);
    CHECK(r.used_weight == 10);
    simresp_free(&r);
    snprintf(url, sizeof(url), "%s/_sim/weights", s.url);
    CHECK(simq("GET", url, NULL, NULL, NULL, 0, &r) == 200);
    CHECK(has(&r, "\"127.0.0.2\":10"));
    CHECK(has(&r, "\"127.0.0.3\":5"));
    simresp_free(&r);
    /* the minute must not roll over between the next requests */
    if (th_now_ms() % 60000 > 50000) th_sleep_ms((int)(61000 - th_now_ms() % 60000));
    snprintf(url, sizeof(url), "%s/fapi/v1/ticker/bookTicker", s.url);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.4", 0, &r) == 200);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.4", 0, &r) == 200);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.4", 0, &r) == 429); /* 15 > 12 */
    CHECK(has(&r, "-1003"));
    CHECK(r.retry_after >= 1 && r.retry_after <= 60);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.4", 0, &r) == 418); /* kept sending: banned */
    CHECK(has(&r, "banned until"));
    CHECK(r.retry_after >= 1 && r.retry_after <= 2);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.4", 0, &r) == 418);
    simresp_free(&r);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.5", 0, &r) == 200); /* another IP is fine */
    simresp_free(&r);
    th_sim_stop(&s);
}

int main(void)
{
    signing();
    weights();
    return th_done();
}
