/* test_dash_api: `bfq dash` against a real stack: redis-server with the ACL users, `bfq sim`,
 * `bfq userstream` and `bfq recorder` writing real fills and income into a private MariaDB.
 * The dash reads as the `dash` Redis user and the `reader` MariaDB user, and every figure of
 * its API is compared exactly with the source rows: per symbol, the PnL, commission, trades
 * and funding equal the sums of that symbol's trades and income rows; the daily bar equals
 * the day's sums; the largest loss is the smallest realized PnL; the curve has every snapshot
 * row (downsampled to 2000 points, the newest last and exact); positions, their stop coverage
 * and the open orders equal Redis; the trading state and bans with their reasons. Without the
 * token (or with a wrong one) every path is 401, with it as a Bearer header or ?token= it
 * answers; listening off loopback without a token is refused at start. MariaDB stopped: the
 * history routes answer 503 with {"error","part":"mysql"}, the Redis routes still answer, the
 * process lives, and after MariaDB is back the history answers again; Redis stopped: 503 with
 * part "redis". */
#include <sys/wait.h>

#include "tests/integration/test_recorder_util.h"
#include "tests/integration/test_dash_util.h"

static struct rt t;

/* One SQL answer as tab-separated lines (root), malloc'd. */
static char *sql(const char *q)
{
    char *out = NULL;
    CHECK(th_mariadb_sql(&t.db, q, &out) == 0);
    return out ? out : strdup("");
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Compares the API's decimal with a column of the database, both trimmed. */
static void check_dec(const char *api, const char *db, const char *what)
{
    char a[96], d[96];
    dec_trim_text(api ? api : "(null)", a, sizeof a);
    dec_trim_text(db ? db : "0", d, sizeof d);
    if (strcmp(a, d)) fprintf(stderr, "%s: api %s, rows %s\n", what, a, d);
    CHECK(!strcmp(a, d));
}

/* Off loopback without a token: refused at start, before it listens. */
static void test_open_listen_refused(void)
{
    char listen[64];
    snprintf(listen, sizeof listen, "0.0.0.0:%d", th_free_port());
    const char *argv[] = {th_bfq_bin(), "dash", "--redis", "redis://127.0.0.1:1", "--listen",
                          listen, NULL};
    CHECK(th_run(argv, NULL, 5000) == 1);
}

static void test_auth(void)
{
    static const char *const paths[] = {"/", "/app.js", "/chart.js/chart.min.js", "/api/health",
                                        "/api/symbols", "/metrics", "/nowhere"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        CHECK(get(paths[i], 0, NULL) == 401);
        CHECK(get(paths[i], 3, NULL) == 401);
    }
    CHECK(get("/", 1, NULL) == 200);
    CHECK(get("/chart.js/chart.min.js", 1, NULL) == 200);
    CHECK(get("/api/health", 2, NULL) == 200);
    CHECK(get("/nowhere", 2, NULL) == 404);
    /* it only reads: any other method is refused before auth or routing */
    char url[256];
    snprintf(url, sizeof url, "%s/api/positions?token=" TOKEN, dash_url);
    CHECK(th_http("POST", url, "sym=BTCUSDT", NULL, NULL) == 405);
    CHECK(th_http("DELETE", url, NULL, NULL, NULL) == 405);
}

/* Per symbol: the API's row equals the sums of that symbol's rows. */
static void test_symbols(void)
{
    json_t *v = NULL, *row;
    size_t i;
    CHECK(rt_sql_num(&t, "SELECT COUNT(DISTINCT symbol) FROM bfq.trades") == RT_NSYM);
    CHECK(get("/api/symbols?range=all", 1, &v) == 200);
    json_t *rows = json_object_get(v, "rows");
    CHECK(json_array_size(rows) == RT_NSYM);
    json_array_foreach(rows, i, row) {
        char q[512], *out, *save = NULL;
        const char *sym = jstr(row, "symbol");
        snprintf(q, sizeof q, "SELECT COUNT(*), SUM(realized_pnl), SUM(commission), SUM(realized_pnl"
                 " > 0), (SELECT COALESCE(SUM(income), 0) FROM bfq.income WHERE account = 'main'"
                 " AND symbol = '%s' AND income_type = 'FUNDING_FEE'), (SELECT SUM(income) FROM"
                 " bfq.income WHERE account = 'main' AND symbol = '%s' AND income_type ="
                 " 'REALIZED_PNL') FROM bfq.trades WHERE account = 'main' AND symbol = '%s'",
                 sym, sym, sym);
        out = sql(q);
        const char *n = strtok_r(out, "\t\n", &save), *rp = strtok_r(NULL, "\t\n", &save);
        const char *comm = strtok_r(NULL, "\t\n", &save), *wins = strtok_r(NULL, "\t\n", &save);
        const char *fund = strtok_r(NULL, "\t\n", &save), *inc = strtok_r(NULL, "\t\n", &save);
        CHECK(n && json_integer_value(json_object_get(row, "trades")) == strtoll(n, NULL, 10));
        CHECK(wins && json_integer_value(json_object_get(row, "wins")) == strtoll(wins, NULL, 10));
        check_dec(jstr(row, "realized_pnl"), rp, "realized pnl");
        check_dec(jstr(row, "commission"), comm, "commission");
        check_dec(jstr(row, "funding"), fund, "funding");
        /* the exchange's income history says the same (the sim books REALIZED_PNL rows) */
        if (inc && strcmp(inc, "NULL")) check_dec(jstr(row, "realized_pnl"), inc, "pnl income");
        free(out);
    }
    const json_t *btc = json_array_get(rows, 0);
    CHECK_EQ_STR(jstr(btc, "symbol"), "BNBUSDT"); /* ordered by symbol */
    json_decref(v);
}

static void test_daily_losers(void)
{
    json_t *v = NULL;
    char *out = sql("SELECT SUM(realized_pnl), DATE_FORMAT(DATE('1970-01-01') + INTERVAL"
                    " (MAX(time_ms) DIV 86400000) DAY, '%Y-%m-%d') FROM bfq.trades");
    char *save = NULL, *rp = strtok_r(out, "\t\n", &save), *day = strtok_r(NULL, "\t\n", &save);
    CHECK(get("/api/daily?range=30d", 1, &v) == 200);
    json_t *rows = json_object_get(v, "rows"), *last = json_array_get(rows, json_array_size(rows) - 1);
    CHECK(json_array_size(rows) >= 1);
    CHECK_EQ_STR(jstr(last, "day"), day);
    if (json_array_size(rows) == 1) check_dec(jstr(last, "realized_pnl"), rp, "daily pnl");
    json_decref(v);
    free(out);
    out = sql("SELECT realized_pnl, trade_id, COUNT(*) OVER () FROM bfq.trades WHERE"
              " realized_pnl < 0 ORDER BY realized_pnl, time_ms DESC LIMIT 1");
    save = NULL;
    char *worst = strtok_r(out, "\t\n", &save), *id = strtok_r(NULL, "\t\n", &save);
    CHECK(get("/api/losers?range=all&limit=3", 1, &v) == 200);
    json_t *tr = json_object_get(v, "trades");
    if (worst) {
        CHECK(json_array_size(tr) >= 1 && json_array_size(tr) <= 3);
        check_dec(jstr(json_array_get(tr, 0), "realized_pnl"), worst, "largest loss");
        CHECK(json_integer_value(json_object_get(json_array_get(tr, 0), "trade_id")) ==
              strtoll(id, NULL, 10));
    } else {
        CHECK(json_array_size(tr) == 0);
    }
    json_decref(v);
    free(out);
}

/* 5000 minutes of snapshots before the recorder's own: every row counted, at most 2000 shown
 * (bucketed by MariaDB: the range is longer than 4000), the newest exact; a day of them comes
 * whole and is downsampled by index. */
static void test_curve(void)
{
    json_t *v = NULL;
    char q[1024];
    snprintf(q, sizeof q, "INSERT INTO bfq.account_snapshots (account, minute_ms, asset, wallet,"
             " margin_balance, upnl, available) SELECT 'main', m.first - seq * 60000, 'USDT',"
             " 100000 + seq / 1000, 100000.000000000000000001 + seq / 100, seq / 100 - seq / 1000,"
             " 1 FROM bfq.seq_1_to_5000, (SELECT MIN(minute_ms) AS first FROM bfq.account_snapshots"
             " WHERE account = 'main' AND asset = 'USDT') m");
    free(sql(q));
    char *out = sql("SELECT COUNT(*), MAX(minute_ms), (SELECT margin_balance FROM"
                    " bfq.account_snapshots WHERE asset = 'USDT' ORDER BY minute_ms DESC LIMIT 1)"
                    " FROM bfq.account_snapshots WHERE asset = 'USDT'");
    char *save = NULL, *n = strtok_r(out, "\t\n", &save), *max = strtok_r(NULL, "\t\n", &save);
    char *eq = strtok_r(NULL, "\t\n", &save);
    CHECK(n && strtoll(n, NULL, 10) > 5000);
    CHECK(get("/api/curve?range=all", 1, &v) == 200);
    CHECK(json_integer_value(json_object_get(v, "points")) == strtoll(n, NULL, 10));
    json_t *ts = json_object_get(v, "t"), *eqs = json_object_get(v, "equity");
    CHECK(json_array_size(ts) >= 1990 && json_array_size(ts) <= 2000);
    CHECK(json_array_size(eqs) == json_array_size(ts));
    size_t last = json_array_size(ts) - 1;
    CHECK(max && json_integer_value(json_array_get(ts, last)) == strtoll(max, NULL, 10));
    check_dec(json_string_value(json_array_get(eqs, last)), eq, "newest equity");
    CHECK(json_integer_value(json_array_get(ts, 0)) < json_integer_value(json_array_get(ts, 1)));
    json_decref(v);
    CHECK(get("/api/curve?range=1d", 1, &v) == 200);
    long long day = json_integer_value(json_object_get(v, "points"));
    CHECK(day >= 1439 && day <= 1441); /* one day of minutes, give or take the edge minute */
    json_decref(v);
    CHECK(get("/api/curve?range=2d", 1, &v) == 400);
    json_decref(v);
    free(out);
}

static void test_positions_orders_state(void)
{
    json_t *v = NULL;
    char *amt = tb_hget_member(t.rc, "bfq:acct:main:pos", "BTCUSDT:BOTH", "amt");
    char *entry = tb_hget_member(t.rc, "bfq:acct:main:pos", "BTCUSDT:BOTH", "entry");
    redisReply *r = redisCommand(t.rc, "HSET bfq:acct:main:orders BTCUSDT:algo:sl_dash1 %s"
                                 " BTCUSDT:algo:sl_dash2 %s BTCUSDT:mo_dash3 %s",
                                 "{\"side\":\"SELL\",\"origQty\":\"0.004\",\"type\":\"STOP\"}",
                                 "{\"side\":\"SELL\",\"origQty\":\"0.001\",\"type\":\"STOP\"}",
                                 "{\"side\":\"BUY\",\"origQty\":\"0.010\",\"price\":\"1\"}");
    freeReplyObject(r);
    r = redisCommand(t.rc, "HSET bfq:ticks BTCUSDT %s",
                     "{\"b\":\"50000.1\",\"B\":\"1\",\"a\":\"50000.2\",\"A\":\"1\",\"T\":1}");
    freeReplyObject(r);
    CHECK(get("/api/positions", 1, &v) == 200);
    json_t *p = json_array_get(json_object_get(v, "positions"), 0);
    CHECK(json_array_size(json_object_get(v, "positions")) == 1);
    CHECK_EQ_STR(jstr(p, "symbol"), "BTCUSDT");
    check_dec(jstr(p, "amt"), amt, "position amt");
    check_dec(jstr(p, "entry"), entry, "position entry");
    CHECK_EQ_STR(jstr(p, "stop_qty"), "0.005");
    CHECK_EQ_STR(jstr(p, "coverage"), "0.5");
    CHECK_EQ_STR(jstr(p, "mark"), "50000.15"); /* the mid of bfq:ticks */
    json_decref(v);
    CHECK(get("/api/orders", 1, &v) == 200);
    json_t *by = json_object_get(v, "by_class");
    CHECK(json_integer_value(json_object_get(by, "sl")) == 2);
    CHECK(json_integer_value(json_object_get(by, "mo")) == 1);
    json_decref(v);
    r = redisCommand(t.rc, "HSET bfq:risk:state:main state HALTED reason %s t 1 src test",
                     "drawdown 5%");
    freeReplyObject(r);
    r = redisCommand(t.rc, "HSET bfq:risk:ban symbols %s reasons %s t 1 src lossguard",
                     "[\"XRPUSDT\"]", "{\"XRPUSDT\":{\"why\":\"3 losses\",\"until\":99}}");
    freeReplyObject(r);
    CHECK(get("/api/state", 1, &v) == 200);
    CHECK_EQ_STR(jstr(json_object_get(v, "state"), "state"), "HALTED");
    CHECK_EQ_STR(jstr(json_object_get(v, "state"), "reason"), "drawdown 5%");
    json_t *ban = json_object_get(v, "ban");
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(ban, "symbols"), 0)), "XRPUSDT");
    CHECK_EQ_STR(jstr(json_object_get(json_object_get(ban, "reasons"), "XRPUSDT"), "why"),
                 "3 losses");
    json_decref(v);
    free(amt);
    free(entry);
}

static void test_health(void)
{
    json_t *v = NULL, *row;
    size_t i;
    int us = 0;
    CHECK(get("/api/health", 1, &v) == 200);
    json_array_foreach(json_object_get(v, "instances"), i, row)
        if (!strcmp(jstr(row, "role"), "userstream")) us++;
    CHECK(us == 1);
    int src = 0;
    json_array_foreach(json_object_get(v, "data"), i, row)
        if (!strcmp(jstr(row, "kind"), "account main userstream")) {
            src++;
            CHECK(json_is_false(json_object_get(row, "stale")));
        }
    CHECK(src == 1);
    json_decref(v);
}

static int history_back(void *arg)
{
    (void)arg;
    return get("/api/symbols", 1, NULL) == 200;
}

static void test_outages(pid_t dash)
{
    json_t *v = NULL;
    th_mariadb_stop(&t.db);
    CHECK(get("/api/symbols", 1, &v) == 503);
    CHECK_EQ_STR(jstr(v, "part"), "mysql");
    CHECK(jstr(v, "error") != NULL);
    json_decref(v);
    CHECK(get("/api/curve", 1, NULL) == 503);
    CHECK(get("/api/positions", 1, NULL) == 200); /* Redis is still there */
    CHECK(th_alive(dash));
    CHECK(th_mariadb_restart(&t.db) == 0);
    CHECK(th_wait_until(history_back, NULL, 15000)); /* back-off at most 5 s */
    th_redis_stop(&t.redis);
    CHECK(get("/api/health", 1, &v) == 503);
    CHECK_EQ_STR(jstr(v, "part"), "redis");
    json_decref(v);
    CHECK(get("/api/symbols", 1, NULL) == 200); /* MariaDB is still there */
    CHECK(th_alive(dash));
}

/* /metrics through the dash (as its read-only `dash` user): the exposition, which Prometheus's
 * own parser accepts with nothing to say (when Debian's promtool is installed). */
static void test_metrics_route(void)
{
    char url[512], *body = NULL, *said = NULL;
    snprintf(url, sizeof url, "%s/metrics?token=" TOKEN, dash_url);
    CHECK(th_http_header("GET", url, NULL, NULL, NULL, &body) == 200);
    CHECK(body && strstr(body, "# TYPE bfq_instances gauge\n"));
    CHECK(body && strstr(body, "bfq_instances{role=\"userstream\"} 1\n"));
    if (body && access("/usr/bin/promtool", X_OK) == 0) {
        char path[512], cmd[1100];
        snprintf(path, sizeof path, "%s/dash-metrics.prom", th_tmpdir());
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs(body, f);
            fclose(f);
        }
        snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < '%s' 2>&1", path);
        const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        CHECK(th_run(argv, &said, 20000) == 0);
        CHECK(said && said[0] == '\0');
    }
    free(said);
    free(body);
}

int main(void)
{
    if (rt_start(&t, "24h") < 0) return 1;
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    pid_t rec = rt_spawn(t.rec_conf, "recorder", "r1");
    th_sleep_ms(1000);
    rt_trade(&t, 8);
    rt_fill(&t, 0, "BUY"); /* BTCUSDT stays open */
    rt_income(&t, "FUNDING_FEE", "-1.25", "BTCUSDT");
    rt_income(&t, "FUNDING_FEE", "0.5", "ETHUSDT");
    rt_check_equal(&t, 30000, "before the dash reads them");
    int st = th_stop(rec, 10000); /* the rows stay as they are from here */
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t dash = start_dash(&t, th_free_port());
    test_open_listen_refused();
    test_auth();
    test_symbols();
    test_daily_losers();
    test_curve();
    test_positions_orders_state();
    test_health();
    test_metrics_route();
    test_outages(dash);
    st = th_stop(dash, 5000); /* a clean exit (and, under ASan, no leak) */
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    th_stop(us, 5000);
    th_mariadb_stop(&t.db);
    redisFree(t.rc);
    th_sim_stop(&t.sim);
    return th_done();
}
