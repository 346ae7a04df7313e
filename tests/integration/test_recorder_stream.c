/* test_recorder_stream: `bfq userstream` -> bfq:events:main -> `bfq recorder` -> MariaDB,
 * against `bfq sim`, a real redis-server (ACL users) and a private MariaDB (real users).
 *
 * - fills over four symbols and injected income rows: the trades table equals the simulator's
 *   userTrades row for row and the income table its income history, nothing twice;
 * - the recorder's MariaDB user can write its rows and nothing else, the reader only read, and
 *   its Redis user can read the feed and add alerts but neither trim nor forge them;
 * - its MariaDB connection killed by the server: it reconnects, nothing lost;
 * - MariaDB paused (SIGSTOP) for seconds while fills go on, then resumed: the same holds, and
 *   exactly one error alert (and one recovery notice) reached bfq:alerts;
 * - MariaDB killed (SIGKILL) and restarted while fills go on: the same holds;
 * - the recorder killed -9 with a batch in flight (MariaDB paused under it) and restarted: its
 *   pending entries are read again, the same holds, and the order events are not doubled;
 * - `bfq report --json` over today equals the sum of the simulator's income rows, exactly;
 * - account snapshots are taken from the reconciled balances. */
#include <signal.h>

#include <sys/wait.h>

#include "tests/integration/test_recorder_util.h"

static struct rt t;

static long long alerts(const char *level)
{
    return rt_alerts(&t, "recorder:mysql:main", level);
}

/* A recovery notice more than *before (none when arg is NULL). */
static int recovered(void *arg)
{
    long long before = arg ? *(long long *)arg : 0;
    return alerts("info") > before;
}

static void phase_permissions(void)
{
    char *out = NULL;
    CHECK(th_mariadb_sql_as(&t.db, "recorder", "SELECT COUNT(*) FROM trades", &out) == 0);
    free(out);
    CHECK(th_mariadb_sql_as(&t.db, "recorder", "DELETE FROM trades", NULL) != 0);
    CHECK(th_mariadb_sql_as(&t.db, "recorder", "DROP TABLE income", NULL) != 0);
    CHECK(th_mariadb_sql_as(&t.db, "recorder", "CREATE TABLE x (a INT)", NULL) != 0);
    CHECK(th_mariadb_sql_as(&t.db, "recorder", "UPDATE schema_version SET version = 9", NULL) != 0);
    CHECK(th_mariadb_sql_as(&t.db, "reader", "SELECT COUNT(*) FROM daily_trades", NULL) == 0);
    CHECK(th_mariadb_sql_as(&t.db, "reader",
                            "UPDATE trades SET qty = 0 WHERE account = 'main'", NULL) != 0);
    CHECK(rt_sql_num(&t, "SELECT MAX(version) FROM bfq.schema_version") == 3);
    /* and in Redis: the recorder reads the feed and adds alerts, nothing more */
    redisContext *c = redisConnect("127.0.0.1", t.redis.port);
    redisReply *r = c ? redisCommand(c, "AUTH recorder test-recorder") : NULL;
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    if (r) freeReplyObject(r);
    const char *denied[] = {"DEL bfq:alerts", "XADD bfq:events:main * data {}",
                            "XTRIM bfq:events:main MAXLEN 0", "DEL bfq:events:main"};
    for (size_t i = 0; c && i < sizeof denied / sizeof denied[0]; i++) {
        r = redisCommand(c, denied[i]);
        CHECK(r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOPERM", 6));
        if (r) freeReplyObject(r);
    }
    if (c) redisFree(c);
}

/* The server kills the recorder's connections (KILL CONNECTION): it reconnects, loses nothing. */
static void phase_killed_connection(void)
{
    int killed = rt_kill_conns(&t, "1");
    CHECK(killed >= 1);
    rt_trade(&t, 3);
    rt_check_equal(&t, 20000, "after its connection was killed");
    /* one failed batch, one alert and one recovery notice */
    CHECK(th_wait_until(recovered, NULL, 10000));
    CHECK(alerts("error") == 1);
}

static void phase_pause(void)
{
    long long errors = alerts("error"), infos = alerts("info");
    kill(t.db.pid, SIGSTOP);
    rt_trade(&t, 6);
    rt_income(&t, "FUNDING_FEE", "-0.37", "ETHUSDT");
    th_sleep_ms(7000); /* longer than the recorder's 5 s read timeout: its writes fail */
    kill(t.db.pid, SIGCONT);
    rt_check_equal(&t, 30000, "after the pause");
    CHECK(th_wait_until(recovered, &infos, 10000));
    CHECK(alerts("error") == errors + 1); /* once for the whole outage, not once a retry */
    CHECK(alerts("info") == infos + 1);
}

static void phase_kill_db(void)
{
    long long errors = alerts("error");
    kill(t.db.pid, SIGKILL);
    th_stop(t.db.pid, 5000); /* reap it */
    t.db.pid = 0;
    rt_trade(&t, 4);
    th_sleep_ms(1500);
    CHECK(th_mariadb_restart(&t.db) == 0);
    rt_check_equal(&t, 30000, "after MariaDB was killed and restarted");
    CHECK(alerts("error") == errors + 1);
}

static long long pending(void)
{
    return rt_pending(&t);
}

static int has_pending(void *arg)
{
    (void)arg;
    return pending() > 0;
}

/* Killed -9 with a batch read and sent but not acknowledged (MariaDB paused under it, so the
 * batch is in flight; whether its COMMIT lands is up to the server): the entries stay pending,
 * the restarted recorder reads them again, nothing is lost or doubled. */
static void phase_kill_recorder(pid_t *rec)
{
    kill(t.db.pid, SIGSTOP);
    rt_trade(&t, 8); /* 16 fills, several events each */
    CHECK(th_wait_until(has_pending, NULL, 5000));
    th_sleep_ms(300);
    kill(*rec, SIGKILL);
    th_stop(*rec, 5000);
    kill(t.db.pid, SIGCONT);
    CHECK(pending() > 0);
    rt_trade(&t, 3);
    *rec = rt_spawn(t.rec_conf, "recorder", "r2");
    rt_check_equal(&t, 30000, "after the recorder was killed -9");
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.order_events") ==
          rt_sql_num(&t, "SELECT COUNT(*) FROM (SELECT DISTINCT account, symbol, order_id,"
                         " exec_type, status, trade_id, trans_ms FROM bfq.order_events) x"));
    /* every fill's order reached its final state */
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.orders WHERE status <> 'FILLED'") == 0);
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades WHERE client_class IS NULL") == 0);
}

/* The sum of the simulator's income rows from `from` on, exactly, per type and in total. */
static void phase_report(void)
{
    char *body = NULL, q[128], *out = NULL, days[8] = "1";
    int64_t from = th_now_ms() / 86400000 * 86400000;
    snprintf(q, sizeof q, "startTime=%lld&limit=1000", (long long)from);
    CHECK(tb_signed(&t.acct, "GET", "/fapi/v1/income", q, &body) == 200);
    json_t *rows = json_loads(body ? body : "[]", 0, NULL), *e;
    free(body);
    struct dec total = {0, 0}, x;
    size_t i;
    json_array_foreach(rows, i, e) {
        CHECK(dec_parse(json_string_value(json_object_get(e, "income")), (size_t)-1, &x) == DEC_OK);
        CHECK(dec_add(total, x, &total) == DEC_OK);
    }
    char want[DEC_STR_MAX], got[64];
    CHECK(dec_format_trim(total, want, sizeof want) > 0);
    const char *argv[] = {th_bfq_bin(), "report", "--mysql", t.db.reader_url, "--days", days,
                          "--json", NULL};
    CHECK(th_run(argv, &out, 20000) == 0);
    json_t *rep = json_loads(out ? out : "", 0, NULL);
    const json_t *inc = json_object_get(rep, "income");
    rt_norm(json_string_value(json_object_get(inc, "total")), got, sizeof got);
    CHECK_EQ_STR(got, want);
    CHECK(json_integer_value(json_object_get(inc, "rows")) == (json_int_t)json_array_size(rows));
    CHECK(json_is_true(json_object_get(json_object_get(inc, "reconcile"), "ok")));
    CHECK(json_integer_value(json_object_get(json_object_get(rep, "total"), "trades")) ==
          rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades"));
    if (!rep) fprintf(stderr, "report output: %s\n", out ? out : "(none)");
    json_decref(rep);
    json_decref(rows);
    free(out);
    /* per symbol, as CSV: a header, one line per symbol traded, the total */
    const char *csv[] = {th_bfq_bin(), "report", "--mysql", t.db.reader_url, "--by", "symbol",
                         "--csv", "--rebate", "0.25", NULL};
    out = NULL;
    CHECK(th_run(csv, &out, 20000) == 0);
    const char *head = "key,trades,volume,realized_pnl,commission,commission_net,funding,net,";
    CHECK(out && !strncmp(out, head, strlen(head)));
    for (int k = 0; k < RT_NSYM; k++) {
        char want_line[32];
        snprintf(want_line, sizeof want_line, "\n%s,", rt_symbols[k]);
        CHECK(out && strstr(out, want_line));
    }
    CHECK(out && strstr(out, "\ntotal,"));
    free(out);
}

int main(void)
{
    /* one full backfill at start only: trades and orders must come through the stream */
    if (rt_start(&t, "24h") < 0) return 1;
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    pid_t rec = rt_spawn(t.rec_conf, "recorder", "r1");
    th_sleep_ms(1000);
    rt_trade(&t, 8);
    rt_income(&t, "FUNDING_FEE", "-1.25", "BTCUSDT");
    rt_income(&t, "TRANSFER", "500", NULL);
    rt_check_equal(&t, 30000, "after the first fills");
    phase_permissions();
    phase_killed_connection();
    phase_pause();
    phase_kill_db();
    phase_kill_recorder(&rec);
    phase_report();
    /* per-minute snapshots (every second here) of the reconciled balances in Redis */
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.account_snapshots WHERE asset = 'USDT'"
                         " AND wallet > 0") > 0);
    rt_finish(&t, rec, us);
    return th_done();
}
