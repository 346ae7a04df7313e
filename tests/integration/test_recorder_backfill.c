/* test_recorder_backfill: the REST backfill alone, and the schema guard.
 *
 * - trading with no user stream running (nothing in bfq:events), then `bfq recorder` started
 *   on an empty database, its history reaching 10 days back (two allOrders windows of Binance's
 *   7-day rule): every order, trade and income row arrives, exactly the simulator's, and the
 *   simulator answered the recorder's source IP no 429 or 418;
 * - an order still open at the first pass and canceled later reaches CANCELED through the next
 *   passes (the allOrders cursor stays at the oldest open order);
 * - then the user stream too: both sources bring the same fills, each kept once;
 * - a database whose schema is newer than the binary: `bfq recorder --migrate` refuses it and
 *   `bfq recorder` exits 1 at start; an older one: the recorder exits 1 until --migrate ran. */
#include <sys/wait.h>

#include "tests/integration/test_recorder_util.h"

static struct rt t;

/* symbol|orderId|clientOrderId|status|executedQty lines of the simulator's allOrders */
static char *sim_orders(void)
{
    static const char *const f[] = {"symbol", "orderId", "clientOrderId", "status",
                                    "executedQty"};
    int n = 0;
    return rt_sim_list(&t, "/fapi/v1/allOrders", "symbol=%s&limit=1000", f, 5, &n);
}

static char *db_orders(void)
{
    char *rows = NULL, *out = NULL, *save = NULL;
    size_t len = 0;
    if (th_mariadb_sql(&t.db, "SELECT symbol, order_id, client_order_id, status, executed_qty"
                              " FROM bfq.orders WHERE account = 'main'", &rows) != 0) {
        free(rows);
        return NULL;
    }
    for (char *line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *f[5];
        int n = 0;
        char *fs = NULL;
        for (char *x = strtok_r(line, "\t", &fs); x && n < 5; x = strtok_r(NULL, "\t", &fs))
            f[n++] = x;
        if (n == 5) rt_line(&out, &len, f, 5);
    }
    free(rows);
    return rt_sorted(out ? out : strdup(""));
}

static int orders_equal(void *arg)
{
    const char *want = arg;
    char *got = db_orders();
    int ok = got && want && !strcmp(got, want);
    free(got);
    if (!ok) th_sleep_ms(200);
    return ok;
}

static void check_orders(const char *when)
{
    char *want = sim_orders();
    CHECK(want && *want);
    int ok = th_wait_until(orders_equal, want, 30000);
    if (!ok) {
        char *got = db_orders();
        fprintf(stderr, "orders differ %s\n--- sim\n%s--- table\n%s", when, want, got);
        free(got);
    }
    CHECK(ok);
    free(want);
}

/* A GTC limit BUY of 0.010 far below the price (it rests); its orderId. */
static long long place_limit(const char *sym, const char *price, const char *cid)
{
    char q[256], *body = NULL;
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010"
             "&price=%s&newClientOrderId=%s", sym, price, cid);
    CHECK(tb_signed(&t.acct, "POST", "/fapi/v1/order", q, &body) == 200);
    json_t *j = json_loads(body ? body : "", 0, NULL);
    long long id = json_integer_value(json_object_get(j, "orderId"));
    json_decref(j);
    free(body);
    return id;
}

/* No 429 or 418 was answered to the recorder's source address. */
static void check_no_429(void)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/requests?since=0&limit=200000", t.sim.url);
    CHECK(th_http("GET", url, NULL, NULL, &body) == 200);
    json_t *arr = json_loads(body ? body : "[]", 0, NULL), *e;
    size_t i;
    int mine = 0, banned = 0;
    json_array_foreach(arr, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ip")) ?: "", "127.0.0.2")) continue;
        mine++;
        long long st = json_integer_value(json_object_get(e, "status"));
        banned += st == 429 || st == 418;
    }
    CHECK(mine > 0);
    CHECK(banned == 0);
    json_decref(arr);
    free(body);
}

static void check_schema_guard(void)
{
    char *out = NULL;
    CHECK(th_mariadb_sql(&t.db, "INSERT INTO bfq.schema_version VALUES (99, 'future', 0)",
                         NULL) == 0);
    const char *mig[] = {th_bfq_bin(), "recorder", "--migrate", "--mysql", t.db.root_url, NULL};
    CHECK(th_run(mig, &out, 20000) == 1);
    free(out);
    const char *run[] = {th_bfq_bin(), "recorder", "--config", t.rec_conf, "--instance", "r9",
                         NULL};
    CHECK(th_run(run, NULL, 20000) == 1);
    /* a schema older than the binary: the recorder waits for --migrate, which (idempotent)
     * applies every migration again over the existing tables, keeping their rows */
    long long trades = rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades");
    CHECK(th_mariadb_sql(&t.db, "DELETE FROM bfq.schema_version", NULL) == 0);
    CHECK(th_run(run, NULL, 20000) == 1);
    CHECK(th_run(mig, NULL, 20000) == 0);
    CHECK(rt_sql_num(&t, "SELECT MAX(version) FROM bfq.schema_version") == 3);
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades") == trades && trades > 0);
}

int main(void)
{
    if (rt_start(&t, "3s") < 0) return 1;
    FILE *f = fopen(t.rec_conf, "a");
    if (f) {
        fprintf(f, "backfill_days = 10\n");
        fclose(f);
    }
    /* trading with nothing recording it */
    rt_trade(&t, 12);
    rt_income(&t, "FUNDING_FEE", "-0.42", "BNBUSDT");
    rt_income(&t, "COMMISSION_REBATE", "0.05", "BTCUSDT");
    long long open_id = place_limit("BTCUSDT", "30000", "web_open1");
    long long gone_id = place_limit("ETHUSDT", "1500", "web_gone1");
    char *body = NULL;
    char q[128];
    snprintf(q, sizeof q, "symbol=ETHUSDT&orderId=%lld", gone_id);
    body = NULL;
    CHECK(tb_signed(&t.acct, "DELETE", "/fapi/v1/order", q, &body) == 200);
    free(body);

    pid_t rec = rt_spawn(t.rec_conf, "recorder", "r1");
    rt_check_equal(&t, 30000, "after the backfill");
    check_orders("after the backfill");
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.order_events") == 0); /* no stream */

    snprintf(q, sizeof q, "symbol=BTCUSDT&orderId=%lld", open_id);
    body = NULL;
    CHECK(tb_signed(&t.acct, "DELETE", "/fapi/v1/order", q, &body) == 200);
    free(body);
    rt_trade(&t, 2);
    rt_check_equal(&t, 30000, "after more trading");
    check_orders("after the open order was canceled");
    /* both sources at once: the stream and the 3 s backfill bring the same rows, kept once */
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    th_sleep_ms(1000);
    rt_trade(&t, 6);
    rt_check_equal(&t, 30000, "with the stream and the backfill together");
    check_orders("with the stream and the backfill together");
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades WHERE src = 'stream'") > 0);
    th_stop(us, 5000);
    check_no_429();
    CHECK(th_alive(rec));
    int st = th_stop(rec, 10000); /* a clean exit (and, under ASan, no leak) */
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    check_schema_guard();

    th_mariadb_stop(&t.db);
    redisFree(t.rc);
    th_sim_stop(&t.sim);
    th_redis_stop(&t.redis);
    return th_done();
}
