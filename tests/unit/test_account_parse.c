/* test_account_parse: the account parsers on real and documented payloads, malformed inputs
 * refused whole, the WebSocket URL parser and the watchdog's disagreement rule. */
#include <stdlib.h>
#include <string.h>

#include "collectors/acctrec.h"
#include "core/wsclient.h"
#include "core/jsonval.h"
#include "reconciler/watchdog.h"
#include "tests/harness/harness.h"

static json_t *fixture(const char *name)
{
    size_t len = 0;
    char *buf = th_read_fixture(name, &len);
    CHECK(buf != NULL);
    json_t *j = buf ? jv_parse(buf, len, NULL, 0) : NULL;
    free(buf);
    return j;
}

static const struct acctrec_pos *find_pos(const struct acctrec_batch *b, const char *field)
{
    for (size_t i = 0; i < b->npos; i++)
        if (!strcmp(b->pos[i].field, field)) return &b->pos[i];
    return NULL;
}

static void test_rest(void)
{
    struct acctrec_batch b;
    acctrec_batch_init(&b);
    char err[160] = "";
    json_t *j = fixture("doc_examples/account_v2_single_asset.json");
    CHECK(acctrec_parse_account(j, 2, &b, err, sizeof err) == 0);
    CHECK(b.nbal == 2 && b.npos == 1 && !b.complete);
    CHECK_EQ_STR(b.bal[0].asset, "USDT");
    CHECK_EQ_STR(b.bal[0].wallet, "23.72469206");
    CHECK(b.bal[0].t == 1625474304765);
    CHECK_EQ_STR(b.pos[0].field, "BTCUSDT:BOTH");
    CHECK_EQ_STR(b.pos[0].amt, "0");
    CHECK(b.pos[0].t == 0);
    json_decref(j);

    acctrec_batch_clear(&b);
    j = fixture("doc_examples/positionRisk_v3_hedge.json");
    CHECK(acctrec_parse_positionrisk(j, 3, &b, err, sizeof err) == 0);
    const struct acctrec_pos *p = find_pos(&b, "COMPUSDT:SHORT");
    CHECK(p && !strcmp(p->amt, "-1") && !strcmp(p->entry, "70.92841") && b.complete);
    json_decref(j);

    /* one bad element refuses the whole answer */
    acctrec_batch_clear(&b);
    j = json_loads("[{\"symbol\":\"BTCUSDT\",\"positionSide\":\"BOTH\",\"positionAmt\":1.5,"
                   "\"updateTime\":1}]", 0, NULL);
    CHECK(acctrec_parse_positionrisk(j, 2, &b, err, sizeof err) < 0);
    CHECK(strstr(err, "positionAmt") != NULL);
    json_decref(j);
    acctrec_batch_clear(&b);
    j = json_loads("{\"assets\":[],\"positions\":{}}", 0, NULL);
    CHECK(acctrec_parse_account(j, 2, &b, err, sizeof err) < 0);
    json_decref(j);
    acctrec_batch_free(&b);
}

static void test_ws(void)
{
    struct acctrec_batch b;
    acctrec_batch_init(&b);
    char err[160] = "";
    json_t *j = fixture("ws_ACCOUNT_UPDATE.CHZUSDT.real.unicornfy-2021-04.json");
    CHECK(acctrec_parse_account_update(j, &b, err, sizeof err) == 0);
    const struct acctrec_pos *p = find_pos(&b, "CHZUSDT:LONG");
    CHECK(p && !strcmp(p->amt, "2684") && p->t == 1617859763511); /* t = E */
    CHECK(b.nbal == 1 && b.bal[0].available[0] == '\0');          /* kept from REST */
    json_decref(j);

    acctrec_batch_clear(&b);
    j = fixture("ws_ACCOUNT_UPDATE.BNFCR_no_positions.nautilus.json");
    CHECK(acctrec_parse_account_update(j, &b, err, sizeof err) == 0);
    CHECK(b.npos == 0 && b.nbal == 1 && !strcmp(b.bal[0].asset, "BNFCR"));
    json_decref(j);

    acctrec_batch_clear(&b);
    j = fixture("doc_examples/ws_ACCOUNT_UPDATE.json");
    CHECK(acctrec_parse_account_update(j, &b, err, sizeof err) == 0);
    CHECK(b.npos == 3 && find_pos(&b, "BTCUSDT:SHORT") != NULL);
    json_decref(j);

    static const char *const bad[] = {
        "{\"e\":\"ACCOUNT_UPDATE\",\"a\":{\"B\":[],\"P\":[]}}",                 /* no E */
        "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":{\"P\":[{\"s\":\"X\",\"pa\":1}]}}",
        "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":{\"P\":[{\"s\":\"X\",\"pa\":\"1e5\"}]}}",
        "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":{\"B\":[{\"a\":\"USDT\"}]}}",
        "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":{\"P\":[{\"s\":\"X\",\"pa\":\"1\",\"ps\":\"UP\"}]}}",
        "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        acctrec_batch_clear(&b);
        j = json_loads(bad[i], 0, NULL);
        CHECK(j != NULL);
        CHECK(acctrec_parse_account_update(j, &b, err, sizeof err) < 0);
        json_decref(j);
    }
    acctrec_batch_free(&b);
}

/* Far-future exchange times: the parsers accept the shape, acctrec_batch_check_time refuses
 * the batch whole with its reason; honest times (and an empty batch) pass. */
#define FUTURE_LIMIT 1700000600000LL /* "now" 1700000000000 plus ten minutes */
static void test_future(void)
{
    struct acctrec_batch b;
    acctrec_batch_init(&b);
    char err[160] = "";
    CHECK(acctrec_batch_check_time(&b, FUTURE_LIMIT, err, sizeof err) == 0);
    json_t *j = fixture("doc_examples/account_v2_single_asset.json");
    CHECK(acctrec_parse_account(j, 2, &b, err, sizeof err) == 0);
    CHECK(acctrec_batch_check_time(&b, FUTURE_LIMIT, err, sizeof err) == 0);
    /* the fixture's own balance time is 1625474304765: a limit just below it refuses it */
    CHECK(acctrec_batch_check_time(&b, 1625474304764LL, err, sizeof err) < 0);
    CHECK(strstr(err, "USDT") && strstr(err, "ahead of the exchange clock"));
    json_decref(j);

    /* positionRisk: one position's updateTime in the year 2100 */
    acctrec_batch_clear(&b);
    j = json_loads("[{\"symbol\":\"BTCUSDT\",\"positionSide\":\"BOTH\",\"positionAmt\":\"1.5\","
                   "\"entryPrice\":\"100\",\"unRealizedProfit\":\"0\","
                   "\"updateTime\":1700000000000},"
                   "{\"symbol\":\"ETHUSDT\",\"positionSide\":\"BOTH\",\"positionAmt\":\"2\","
                   "\"entryPrice\":\"10\",\"unRealizedProfit\":\"0\","
                   "\"updateTime\":4102444800000}]",
                   0, NULL);
    CHECK(j != NULL);
    CHECK(acctrec_parse_positionrisk(j, 2, &b, err, sizeof err) == 0);
    err[0] = '\0';
    CHECK(acctrec_batch_check_time(&b, FUTURE_LIMIT, err, sizeof err) < 0);
    CHECK(strstr(err, "ETHUSDT:BOTH") && strstr(err, "4102444800000") &&
          strstr(err, "ahead of the exchange clock"));
    json_decref(j);

    /* an ACCOUNT_UPDATE event whose E is far ahead */
    acctrec_batch_clear(&b);
    j = json_loads("{\"e\":\"ACCOUNT_UPDATE\",\"E\":4102444800000,\"T\":4102444800000,"
                   "\"a\":{\"m\":\"ORDER\",\"B\":[{\"a\":\"USDT\",\"wb\":\"10\",\"cw\":\"10\","
                   "\"bc\":\"0\"}],\"P\":[]}}", 0, NULL);
    CHECK(j != NULL);
    CHECK(acctrec_parse_account_update(j, &b, err, sizeof err) == 0);
    CHECK(acctrec_batch_check_time(&b, FUTURE_LIMIT, err, sizeof err) < 0);
    CHECK(strstr(err, "ahead of the exchange clock") != NULL);
    CHECK(acctrec_batch_check_time(&b, 4102444800000LL, err, sizeof err) == 0); /* at the limit */
    json_decref(j);
    acctrec_batch_free(&b);
}

static void test_url(void)
{
    int tls = 0, port = 0;
    char host[64], path[256];
    CHECK(wsc_parse_url("ws://127.0.0.1:8080/private/ws/abc", &tls, host, sizeof host, &port,
                        path, sizeof path) == 0);
    CHECK(!tls && port == 8080 && !strcmp(host, "127.0.0.1") && !strcmp(path, "/private/ws/abc"));
    CHECK(wsc_parse_url("wss://fstream.binance.com/ws/k", &tls, host, sizeof host, &port, path,
                        sizeof path) == 0);
    CHECK(tls && port == 443);
    CHECK(wsc_parse_url("http://x/y", &tls, host, sizeof host, &port, path, sizeof path) < 0);
    CHECK(wsc_parse_url("ws://x:99999/", &tls, host, sizeof host, &port, path, sizeof path) < 0);
}

static void test_disagree(void)
{
    struct wd_limits lim = {10000, 5000, 5000, 1000};
    struct wd_source s[2] = {{"account", 100000, 100000, NULL}, {"userstream", 100000, 100000, NULL}};
    s[0].view = json_loads("{\"A:BOTH\":{\"amt\":\"1\",\"t\":50000},"
                           "\"B:BOTH\":{\"amt\":\"1\",\"t\":90000},"
                           "\"C:BOTH\":{\"amt\":\"0.10\",\"t\":90000}}", 0, NULL);
    s[1].view = json_loads("{\"A:BOTH\":{\"amt\":\"2\",\"t\":50000},"
                           "\"B:BOTH\":{\"amt\":\"0\",\"t\":99500},"
                           "\"C:BOTH\":{\"amt\":\"0.1\",\"t\":95000}}", 0, NULL);
    json_t *d = wd_disagreements(s, 2, 100000, &lim);
    CHECK(json_object_get(d, "A:BOTH") != NULL);  /* same t, different amt */
    CHECK(json_object_get(d, "B:BOTH") == NULL);  /* account has not polled since 99500+1000 */
    CHECK(json_object_get(d, "C:BOTH") == NULL);  /* 0.10 == 0.1 */
    json_decref(d);
    s[0].t = 101000;                              /* now it has: disagreement */
    d = wd_disagreements(s, 2, 100000, &lim);
    CHECK(json_object_get(d, "B:BOTH") != NULL);
    json_decref(d);
    json_decref(s[0].view);
    json_decref(s[1].view);
}

int main(void)
{
    test_rest();
    test_ws();
    test_future();
    test_url();
    test_disagree();
    return th_done();
}
