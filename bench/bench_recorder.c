/* bench_recorder: how fast `bfq recorder` commits, and how long a fill takes to become a row.
 *
 * Starts redis-server, `bfq sim`, a private MariaDB, `bfq userstream` and `bfq recorder` (as
 * tests/integration/test_recorder_util.h sets them up), then:
 * - fill -> row: BENCH_FILLS MARKET orders one at a time; for each, the time from sending the
 *   order to its trade row being visible in MariaDB (polled every millisecond through
 *   libmariadb); prints p50, p99 and max;
 * - throughput: the user stream stopped, BENCH_EVENTS synthetic fill events appended to
 *   bfq:events:main at once; the time until every trade row is committed; prints events and
 *   rows (order, order event and trade per event) committed per second. */
#include <mysql.h>

/* the tests' set-up, of which the bench uses only a part */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/integration/test_recorder_util.h"

#define BENCH_FILLS 60
#define BENCH_EVENTS 20000

static struct rt t;
static MYSQL *m;

static long long count_trades(void)
{
    long long n = -1;
    if (mysql_query(m, "SELECT COUNT(*) FROM trades")) return -1;
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0]) n = strtoll(row[0], NULL, 10);
    if (res) mysql_free_result(res);
    return n;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void fill_to_row(void)
{
    long long d[BENCH_FILLS];
    long long base = count_trades();
    for (int i = 0; i < BENCH_FILLS; i++) {
        int64_t t0 = th_now_ms();
        rt_fill(&t, 0, i % 2 ? "SELL" : "BUY");
        while (count_trades() < base + i + 1 && th_now_ms() - t0 < 10000) th_sleep_ms(1);
        d[i] = th_now_ms() - t0;
    }
    qsort(d, BENCH_FILLS, sizeof d[0], cmp_ll);
    printf("fill -> trade row (%d fills, XREADGROUP BLOCK): p50 %lld ms  p99 %lld ms  max %lld ms\n",
           BENCH_FILLS, d[BENCH_FILLS / 2], d[BENCH_FILLS * 99 / 100], d[BENCH_FILLS - 1]);
}

static void throughput(pid_t us)
{
    th_stop(us, 5000);
    long long base = count_trades();
    int64_t now = th_now_ms();
    for (int i = 0; i < BENCH_EVENTS; i++) {
        char ev[700];
        long long id = 900000000000LL + i;
        snprintf(ev, sizeof ev,
                 "{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":%lld,\"T\":%lld,\"o\":{\"s\":\"BTCUSDT\","
                 "\"c\":\"bench_%d\",\"S\":\"BUY\",\"o\":\"MARKET\",\"f\":\"GTC\",\"q\":\"0.010\","
                 "\"p\":\"0\",\"ap\":\"60000.1\",\"sp\":\"0\",\"x\":\"TRADE\",\"X\":\"FILLED\","
                 "\"i\":%lld,\"l\":\"0.010\",\"z\":\"0.010\",\"L\":\"60000.1\",\"N\":\"USDT\","
                 "\"n\":\"0.30000050\",\"T\":%lld,\"t\":%lld,\"m\":false,\"R\":false,"
                 "\"ps\":\"BOTH\",\"rp\":\"0\"}}",
                 (long long)now, (long long)now, i, id, (long long)now, id);
        redisAppendCommand(t.rc, "XADD bfq:events:main * data %s", ev);
    }
    int64_t t0 = th_now_ms();
    for (int i = 0; i < BENCH_EVENTS; i++) {
        redisReply *r = NULL;
        if (redisGetReply(t.rc, (void **)&r) == REDIS_OK && r) freeReplyObject(r);
    }
    while (count_trades() < base + BENCH_EVENTS && th_now_ms() - t0 < 120000) th_sleep_ms(5);
    double s = (double)(th_now_ms() - t0) / 1000.0;
    printf("throughput: %d fill events in %.2f s: %.0f events/s, %.0f rows/s committed "
           "(3 rows per event, batches of 500)\n",
           BENCH_EVENTS, s, BENCH_EVENTS / s, 3 * BENCH_EVENTS / s);
}

int main(void)
{
    if (rt_start(&t, "24h") < 0) return 1;
    m = mysql_init(NULL);
    if (!mysql_real_connect(m, NULL, "root", NULL, "bfq", 0, t.db.socket, 0)) {
        fprintf(stderr, "bench: %s\n", mysql_error(m));
        return 1;
    }
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    pid_t rec = rt_spawn(t.rec_conf, "recorder", "r1");
    th_sleep_ms(1500);
    fill_to_row();
    throughput(us);
    th_stop(rec, 5000);
    mysql_close(m);
    th_mariadb_stop(&t.db);
    redisFree(t.rc);
    th_sim_stop(&t.sim);
    th_redis_stop(&t.redis);
    return th_failures ? 1 : 0;
}
