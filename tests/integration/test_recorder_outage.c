/* test_recorder_outage: MariaDB going away in the three ways a server does, while the
 * simulator trades and `bfq userstream` keeps appending events, against a real MariaDB whose
 * InnoDB lives in one small fixed data file (no file per table, no autoextend):
 *
 * - its connection killed (KILL CONNECTION from an admin session) in the middle of a batch:
 *   the recorder's INSERT waits for a table an admin session holds locked, so the batch has
 *   written some rows of its transaction when the server kills it;
 * - the disk full: the data file filled up, so every insert fails with ER_RECORD_FILE_FULL
 *   (1114, "The table ... is full"); the recorder keeps its place (the entries stay pending),
 *   retries, alerts once, and once the server restarts with room (a second data file) catches
 *   up with nothing lost;
 * - MariaDB stopped for 60 s in the middle of trading, then started.
 * After each: the trades table equals the simulator's userTrades row for row and the income
 * table its income history, nothing twice, exactly one error alert for the outage and one
 * recovery notice. */
#include <signal.h>

#include <sys/wait.h>

#include "tests/integration/test_recorder_util.h"

#define KEY "recorder:mysql:main"

static struct rt t;

static int recovered(void *arg)
{
    return rt_alerts(&t, KEY, "info") > *(long long *)arg;
}

#define WAITING "state LIKE '%metadata lock%'"

static int recorder_waits(void *arg)
{
    (void)arg;
    char *ids = NULL;
    int n = th_mariadb_sql(&t.db, "SELECT id FROM information_schema.processlist WHERE user ="
                                  " 'recorder' AND " WAITING, &ids) == 0 && ids && *ids;
    free(ids);
    if (!n) th_sleep_ms(50);
    return n;
}

static void phase_killed_mid_batch(void)
{
    long long errors = rt_alerts(&t, KEY, "error"), infos = rt_alerts(&t, KEY, "info");
    char sock[600], log[512];
    snprintf(sock, sizeof sock, "--socket=%s", t.db.socket);
    snprintf(log, sizeof log, "%s/locker.log", th_tmpdir());
    const char *locker[] = {"mariadb", "--no-defaults", sock, "-uroot", "-e",
                            "LOCK TABLES bfq.trades WRITE; SELECT SLEEP(60)", NULL};
    pid_t lk = th_spawn(locker, log);
    th_sleep_ms(500);
    rt_trade(&t, 3);
    /* the batch's order rows are in, its first trade row waits for the lock */
    CHECK(th_wait_until(recorder_waits, NULL, 4000));
    int killed = rt_kill_conns(&t, WAITING); /* its connection, mid-transaction */
    CHECK(killed >= 1);
    th_stop(lk, 5000); /* the admin session ends: its lock goes */
    rt_check_equal(&t, 20000, "after its connection was killed mid-batch");
    CHECK(th_wait_until(recovered, &infos, 10000));
    CHECK(rt_alerts(&t, KEY, "error") == errors + 1);
}

/* Fills the fixed data file: blobs until the server answers "table is full". */
static void fill_disk(void)
{
    static const char *const sizes[] = {"1000000", "100000", "10000", "1000", "100"};
    CHECK(th_mariadb_sql(&t.db, "CREATE TABLE bfq.filler (id INT AUTO_INCREMENT PRIMARY KEY,"
                                " b LONGBLOB) ENGINE=InnoDB", NULL) == 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO bfq.filler (b) VALUES (REPEAT('x', %s))",
                 sizes[i]);
        for (int k = 0; k < 200 && th_mariadb_sql(&t.db, sql, NULL) == 0; k++) {
        }
    }
}

static int hb_says_full(void *arg)
{
    (void)arg;
    char *hb = rt_hb(&t, "r1");
    int full = hb && strstr(hb, "is full") &&
               (strstr(hb, "\"db_up\":false") || strstr(hb, "\"db_up\": false"));
    free(hb);
    if (!full) th_sleep_ms(200);
    return full;
}

static void phase_disk_full(void)
{
    long long errors = rt_alerts(&t, KEY, "error"), infos = rt_alerts(&t, KEY, "info");
    fill_disk();
    /* any insert now fails for want of space, the recorder's too */
    CHECK(th_mariadb_sql(&t.db, "INSERT INTO bfq.cursors VALUES ('x', 'probe', 1)", NULL) != 0);
    rt_trade(&t, 4);
    rt_income(&t, "FUNDING_FEE", "-0.11", "XRPUSDT");
    CHECK(th_wait_until(hb_says_full, NULL, 10000));
    th_sleep_ms(3000); /* several retries (back-off 200 ms .. 2 s) */
    CHECK(rt_pending(&t) > 0); /* its place: the entries wait in the stream, unacknowledged */
    CHECK(rt_alerts(&t, KEY, "error") == errors + 1);
    CHECK(rt_alerts(&t, KEY, "info") == infos);
    /* room again: the server restarted with a second, growing data file */
    th_mariadb_stop(&t.db);
    t.db.opts[1] = "--innodb-data-file-path=ibdata1:12M;ibdata2:12M:autoextend";
    CHECK(th_mariadb_restart(&t.db) == 0);
    rt_check_equal(&t, 30000, "after the disk was full");
    CHECK(th_wait_until(recovered, &infos, 10000));
    CHECK(rt_alerts(&t, KEY, "error") == errors + 1);
    CHECK(rt_alerts(&t, KEY, "info") == infos + 1);
    CHECK(rt_pending(&t) == 0);
}

static void phase_stopped_60s(void)
{
    long long errors = rt_alerts(&t, KEY, "error"), infos = rt_alerts(&t, KEY, "info");
    th_mariadb_stop(&t.db);
    int64_t until = th_now_ms() + 60000;
    for (int i = 0; th_now_ms() < until; i++) {
        rt_trade(&t, 1);
        if (i == 5) rt_income(&t, "FUNDING_FEE", "0.42", "BNBUSDT");
        th_sleep_ms(3000);
    }
    CHECK(rt_pending(&t) > 0);
    CHECK(rt_alerts(&t, KEY, "error") == errors + 1); /* once, not once a retry */
    CHECK(th_mariadb_restart(&t.db) == 0);
    rt_check_equal(&t, 30000, "after MariaDB was stopped for 60 s");
    CHECK(th_wait_until(recovered, &infos, 10000));
    CHECK(rt_alerts(&t, KEY, "error") == errors + 1);
    CHECK(rt_alerts(&t, KEY, "info") == infos + 1);
}

int main(void)
{
    /* InnoDB in one 12 MB file that cannot grow: the disk can be filled */
    t.db.opts[0] = "--innodb-file-per-table=0";
    t.db.opts[1] = "--innodb-data-file-path=ibdata1:12M";
    if (rt_start(&t, "24h") < 0) return 1;
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    pid_t rec = rt_spawn(t.rec_conf, "recorder", "r1");
    th_sleep_ms(1000);
    rt_trade(&t, 4);
    rt_income(&t, "FUNDING_FEE", "-1.25", "BTCUSDT");
    rt_check_equal(&t, 30000, "after the first fills");
    phase_killed_mid_batch();
    phase_disk_full();
    phase_stopped_60s();
    rt_finish(&t, rec, us);
    return th_done();
}
