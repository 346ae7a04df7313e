/* test_recorder_ledger: what the ledger holds besides fills, against `bfq sim`, a real
 * redis-server and a private MariaDB:
 *
 * - the report's reconciliation explained: fills recorded from the stream ahead of the income
 *   history (read every income_every, here once an hour) make the commission differ; the
 *   report names those fills and their sum exactly (residual 0), and once the income is read
 *   the difference is 0;
 * - a stream entry the server refuses for good (a symbol longer than the column: MariaDB error
 *   1406) and one that is no event (not JSON) go to dead_letters with the reason, one alert
 *   each naming the stream id, are acknowledged, and the fills after them are recorded;
 * - a stop ladder of the Algo Order API (three STOP_MARKET reduce-only orders, one canceled,
 *   the others triggered by a price drop) lands in algo_orders, one row per algo id in its
 *   final state, and an older ALGO_UPDATE replayed later changes nothing (freshest wins). */
#include <signal.h>

#include <sys/wait.h>

#include "tests/integration/test_recorder_util.h"

static struct rt t;

static int tables_have_trades(void *arg)
{
    long long want = *(long long *)arg;
    int ok = rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades") == want;
    if (!ok) th_sleep_ms(200);
    return ok;
}

static int first_cycle(void *arg)
{
    (void)arg;
    int ok = tb_hb_num(t.rc, "recorder", "r1", "backfill_cycles") >= 1;
    if (!ok) th_sleep_ms(100);
    return ok;
}

static json_t *report_json(void)
{
    char *out = NULL;
    const char *argv[] = {th_bfq_bin(), "report", "--mysql", t.db.reader_url, "--days", "1",
                          "--json", NULL};
    CHECK(th_run(argv, &out, 20000) == 0);
    json_t *r = json_loads(out ? out : "", 0, NULL);
    if (!r) fprintf(stderr, "report: %s\n", out ? out : "(none)");
    free(out);
    return r;
}

static const char *jpath(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(json_object_get(json_object_get(o, a), b), c);
    return json_string_value(v);
}

/* Fills ahead of the income history: the report explains the difference by those fills. */
static void phase_report_ahead(pid_t *rec)
{
    long long sim_trades = 0;
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades") == 0);
    rt_trade(&t, 3);                                           /* 6 fills, 3 closing */
    int n = 0;
    free(rt_sim_trades(&t, &n));
    sim_trades = n;
    CHECK(th_wait_until(tables_have_trades, &sim_trades, 15000));
    json_t *r = report_json();
    const json_t *rc = json_object_get(json_object_get(r, "income"), "reconcile");
    const json_t *why = json_object_get(json_object_get(rc, "commission"), "why");
    char want[64], got[64];
    char *sum = NULL;
    CHECK(th_mariadb_sql(&t.db, "SELECT SUM(commission) FROM bfq.trades", &sum) == 0);
    if (sum) sum[strcspn(sum, "\n")] = 0;
    rt_norm(sum ? sum : "", want, sizeof want);
    free(sum);
    rt_norm(json_string_value(json_object_get(why, "pending")), got, sizeof got);
    CHECK_EQ_STR(got, want);
    CHECK(json_integer_value(json_object_get(why, "pending_trades")) == n);
    CHECK_EQ_STR(json_string_value(json_object_get(why, "residual")), "0");
    CHECK(json_integer_value(json_object_get(why, "unmatched_income_rows")) == 0);
    CHECK(json_is_integer(json_object_get(why, "pending_from")));
    /* realized PnL: the three closing fills are ahead too */
    rt_norm(jpath(rc, "realized_pnl", "why", "residual"), got, sizeof got);
    CHECK_EQ_STR(got, "0");
    CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(rc, "realized_pnl"),
                                                             "why"),
                                             "pending_trades")) == 3);
    CHECK(json_is_false(json_object_get(rc, "ok")));
    CHECK(json_is_true(json_object_get(rc, "explained")));
    json_decref(r);
    /* the text output says it too */
    char *out = NULL;
    const char *argv[] = {th_bfq_bin(), "report", "--mysql", t.db.reader_url, "--days", "1",
                          NULL};
    CHECK(th_run(argv, &out, 20000) == 0);
    CHECK(out && strstr(out, "fills without their COMMISSION income row yet: 6 ("));
    free(out);
    /* a recorder that reads the income history: no difference left */
    kill(*rec, SIGTERM);
    th_stop(*rec, 10000);
    unsetenv("BFQ_RECORDER_INCOME_EVERY");
    *rec = rt_spawn(t.rec_conf, "recorder", "r2");
    rt_check_equal(&t, 20000, "after the income was read");
    r = report_json();
    rc = json_object_get(json_object_get(r, "income"), "reconcile");
    CHECK(json_is_true(json_object_get(rc, "ok")));
    CHECK(json_is_true(json_object_get(rc, "explained")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(rc, "commission"), "diff")),
                 "0");
    json_decref(r);
}

static void xadd(const char *data, char *id, size_t cap)
{
    redisReply *r = redisCommand(t.rc, "XADD bfq:events:main * data %s", data);
    CHECK(r && r->type == REDIS_REPLY_STRING);
    snprintf(id, cap, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    if (r) freeReplyObject(r);
}

static int dead_rows(void *arg)
{
    int ok = rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.dead_letters") == *(long long *)arg;
    if (!ok) th_sleep_ms(200);
    return ok;
}

static int alert_has(const char *key, const char *needle)
{
    redisReply *r = redisCommand(t.rc, "XRANGE bfq:alerts - +");
    int found = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *kv = r->element[i]->element[1];
        int k = 0, n = 0;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            if (!strcmp(kv->element[j]->str, "key") && !strcmp(kv->element[j + 1]->str, key))
                k = 1;
            if (!strcmp(kv->element[j]->str, "text") && strstr(kv->element[j + 1]->str, needle))
                n = 1;
        }
        found += k && n;
    }
    if (r) freeReplyObject(r);
    return found;
}

static void phase_dead_letters(void)
{
    char bad[48], junk[48], sql[256], *out = NULL;
    /* a well-formed ORDER_TRADE_UPDATE whose symbol no column can hold (VARCHAR(32)) */
    xadd("{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":1700000000001,\"T\":1700000000001,\"o\":{"
         "\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN\",\"c\":\"web_x1\",\"S\":\"BUY\","
         "\"o\":\"MARKET\",\"f\":\"GTC\",\"q\":\"1\",\"p\":\"0\",\"ap\":\"0\",\"sp\":\"0\","
         "\"x\":\"NEW\",\"X\":\"NEW\",\"i\":424242,\"l\":\"0\",\"z\":\"0\",\"L\":\"0\","
         "\"T\":1700000000001,\"t\":0,\"R\":false,\"ps\":\"BOTH\"}}",
         bad, sizeof bad);
    xadd("this is not an event", junk, sizeof junk);
    rt_trade(&t, 2); /* after them in the stream */
    long long two = 2;
    CHECK(th_wait_until(dead_rows, &two, 20000));
    snprintf(sql, sizeof sql, "SELECT err_no FROM bfq.dead_letters WHERE stream_id = '%s'", bad);
    CHECK(rt_sql_num(&t, sql) == 1406); /* ER_DATA_TOO_LONG: a data error, for good */
    snprintf(sql, sizeof sql, "SELECT err_no FROM bfq.dead_letters WHERE stream_id = '%s'", junk);
    CHECK(rt_sql_num(&t, sql) == 0);
    snprintf(sql, sizeof sql, "SELECT data FROM bfq.dead_letters WHERE stream_id = '%s'", junk);
    CHECK(th_mariadb_sql(&t.db, sql, &out) == 0);
    CHECK(out && !strncmp(out, "this is not an event", 20));
    free(out);
    /* nothing of the refused event reached the tables, the fills after it did */
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.orders WHERE order_id = 424242") == 0);
    rt_check_equal(&t, 20000, "after the dead letters");
    CHECK(rt_pending(&t) == 0);
    /* one alert each, naming the stream id; never an outage */
    CHECK(alert_has("recorder:dead:main", bad) == 1);
    CHECK(alert_has("recorder:dead:main", junk) == 1);
    CHECK(rt_alerts(&t, "recorder:dead:main", NULL) == 2);
    CHECK(rt_alerts(&t, "recorder:mysql:main", "error") == 0);
}

static long algo_post(const char *cid, const char *trigger)
{
    char q[256], *body = NULL;
    snprintf(q, sizeof q,
             "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.002"
             "&triggerPrice=%s&reduceOnly=true&clientAlgoId=%s",
             trigger, cid);
    long code = tb_signed(&t.acct, "POST", "/fapi/v1/algoOrder", q, &body);
    if (code != 200) fprintf(stderr, "algoOrder %s: %ld %s\n", cid, code, body ? body : "");
    free(body);
    return code;
}

static int algo_final(void *arg)
{
    (void)arg;
    int ok = rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.algo_orders WHERE status = 'FINISHED'") ==
                 2 &&
             rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.algo_orders WHERE status = 'CANCELED'") == 1;
    if (!ok) th_sleep_ms(200);
    return ok;
}

/* A stop ladder under a long BTCUSDT position: three levels, one canceled, two triggered. */
static void phase_algo(void)
{
    char *body = NULL, url[256], *out = NULL;
    CHECK(tb_market(&t.acct, "BTCUSDT", "BUY", "0.006", NULL, &body) == 200);
    free(body);
    body = NULL;
    snprintf(url, sizeof url, "%s/fapi/v1/ticker/bookTicker?symbol=BTCUSDT", t.sim.url);
    CHECK(th_http("GET", url, NULL, NULL, &body) == 200);
    json_t *bt = json_loads(body ? body : "", 0, NULL);
    free(body);
    struct dec bid = {0, 0}, lv;
    CHECK(dec_parse(json_string_value(json_object_get(bt, "bidPrice")), (size_t)-1, &bid) ==
          DEC_OK);
    json_decref(bt);
    static const char *const cids[] = {"sl_rec_1", "sl_rec_2", "sl_rec_3"};
    static const int64_t pct[] = {98, 97, 96};
    for (int i = 0; i < 3; i++) {
        char tp[DEC_STR_MAX];
        CHECK(dec_mul(bid, (struct dec){pct[i], 2}, &lv) == DEC_OK);
        CHECK(dec_snap_to_tick(lv, (struct dec){1, 1}, (struct dec){0, 0}, DEC_ROUND_DOWN, &lv) ==
              DEC_OK);
        dec_format_trim(lv, tp, sizeof tp);
        CHECK(algo_post(cids[i], tp) == 200);
    }
    body = NULL;
    CHECK(tb_signed(&t.acct, "DELETE", "/fapi/v1/algoOrder", "symbol=BTCUSDT&clientAlgoId=sl_rec_3",
                    &body) == 200);
    free(body);
    snprintf(url, sizeof url, "%s/_sim/price?symbol=BTCUSDT&pct=-5", t.sim.url);
    CHECK(th_http("POST", url, NULL, NULL, NULL) == 200);
    CHECK(th_wait_until(algo_final, NULL, 20000));
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.algo_orders") == 3);
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.algo_orders WHERE status = 'FINISHED' AND"
                         " order_id IS NOT NULL AND actual_qty = 0.002 AND client_class = 'sl'"
                         " AND reduce_only = 1 AND type = 'STOP_MARKET'") == 2);
    /* the triggered orders' fills are trades of orders the algo rows name */
    CHECK(rt_sql_num(&t, "SELECT COUNT(DISTINCT a.algo_id) FROM bfq.algo_orders a JOIN"
                         " bfq.trades r ON r.order_id = a.order_id AND r.symbol = a.symbol") == 2);
    /* an old state replayed: the freshest stays */
    CHECK(th_mariadb_sql(&t.db, "SELECT algo_id, update_ms FROM bfq.algo_orders WHERE"
                                " client_algo_id = 'sl_rec_1'", &out) == 0);
    long long aid = out ? strtoll(out, NULL, 10) : 0, upd = 0;
    const char *tab = out ? strchr(out, '\t') : NULL;
    if (tab) upd = strtoll(tab + 1, NULL, 10);
    free(out);
    char ev[1024], id[48];
    snprintf(ev, sizeof ev,
             "{\"e\":\"ALGO_UPDATE\",\"T\":%lld,\"E\":%lld,\"o\":{\"caid\":\"sl_rec_1\","
             "\"aid\":%lld,\"at\":\"CONDITIONAL\",\"o\":\"STOP_MARKET\",\"s\":\"BTCUSDT\","
             "\"S\":\"SELL\",\"ps\":\"BOTH\",\"f\":\"GTC\",\"q\":\"0.002\",\"X\":\"NEW\","
             "\"ai\":\"\",\"ap\":\"0\",\"aq\":\"0\",\"act\":\"0\",\"tp\":\"1\",\"p\":\"0\","
             "\"V\":\"EXPIRE_MAKER\",\"wt\":\"CONTRACT_PRICE\",\"pm\":\"NONE\",\"cp\":false,"
             "\"pP\":false,\"R\":true,\"tt\":0,\"gtd\":0}}",
             upd - 1000, upd - 1000, aid);
    xadd(ev, id, sizeof id);
    rt_trade(&t, 1); /* and wait for what comes after it */
    rt_check_equal(&t, 20000, "after the algo ladder");
    CHECK(rt_pending(&t) == 0);
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.algo_orders WHERE client_algo_id ="
                         " 'sl_rec_1' AND status = 'FINISHED' AND order_id IS NOT NULL") == 1);
}

int main(void)
{
    /* the first income pass at start, then none for an hour (until phase_report_ahead
     * restarts the recorder without it): the stream's fills run ahead of the income history */
    setenv("BFQ_RECORDER_INCOME_EVERY", "1h", 1);
    if (rt_start(&t, "24h") < 0) return 1;
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    pid_t rec = rt_spawn(t.rec_conf, "recorder", "r1");
    CHECK(th_wait_until(first_cycle, NULL, 15000)); /* its one income pass is done */
    phase_report_ahead(&rec);
    phase_dead_letters();
    phase_algo();
    rt_finish(&t, rec, us);
    return th_done();
}
