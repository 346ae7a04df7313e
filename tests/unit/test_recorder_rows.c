/* test_recorder_rows: the recorder's pure parts, without a server: which MariaDB error codes
 * are refusals for good (the stream parks the event) and which are outages (it waits and
 * retries), ALGO_UPDATE into one algo order row (the recorded Binance event), and the dead
 * letter row of a stream entry. */
#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>

#include <errmsg.h>
#include <jansson.h>

#include "recorder/db.h"
#include "recorder/rows.h"
#include "tests/harness/harness.h"

static void test_error_classes(void)
{
    static const unsigned permanent[] = {ER_DATA_TOO_LONG, ER_WARN_DATA_OUT_OF_RANGE,
                                         ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, ER_BAD_NULL_ERROR,
                                         ER_CONSTRAINT_FAILED, ER_DATA_OUT_OF_RANGE};
    static const unsigned transient[] = {CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_CONNECTION_ERROR,
                                         CR_CONN_HOST_ERROR, ER_CONNECTION_KILLED,
                                         ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK,
                                         ER_RECORD_FILE_FULL, ER_DISK_FULL, ER_SERVER_SHUTDOWN,
                                         ER_CON_COUNT_ERROR, ER_TABLEACCESS_DENIED_ERROR,
                                         ER_ACCESS_DENIED_ERROR, 0, 99999};
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
        CHECK(db_err_permanent(permanent[i]));
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        CHECK(!db_err_permanent(transient[i]));
}

static json_t *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", BFQ_FIXTURES_DIR, name);
    json_t *j = json_load_file(path, 0, NULL), *d = json_incref(json_object_get(j, "data"));
    CHECK(d != NULL);
    json_decref(j);
    return d;
}

static void test_algo_update(void)
{
    json_t *ev = fixture("ws_futures_algo_update_finished.nautilus.json");
    struct db_batch *b = db_batch_new();
    char err[128] = "";
    CHECK(rows_from_event(b, "main", ev, err, sizeof err) == 1);
    CHECK(b->n == 1);
    const struct db_row *r = &b->rows[0];
    CHECK(r->kind == ROW_ALGO && r->n == rows_stmts[ROW_ALGO].nparams);
    CHECK_EQ_STR(r->v[1], "1000000033225453"); /* algo id */
    CHECK_EQ_STR(r->v[2], "DOGEUSDT");
    CHECK_EQ_STR(r->v[10], "FINISHED");
    CHECK_EQ_STR(r->v[11], "3");               /* the last of the ranks */
    CHECK_EQ_STR(r->v[16], "38");              /* actual qty */
    CHECK_EQ_STR(r->v[17], "88937381063");     /* the triggered order */
    CHECK_EQ_STR(r->v[26], "1765431097031");   /* T: freshness */
    /* not triggered yet: no order id */
    json_object_set_new(json_object_get(ev, "o"), "ai", json_string(""));
    json_object_set_new(json_object_get(ev, "o"), "X", json_string("NEW"));
    CHECK(rows_from_event(b, "main", ev, err, sizeof err) == 1);
    CHECK(b->rows[1].v[17] == NULL);
    CHECK_EQ_STR(b->rows[1].v[11], "0");
    /* a bad field refuses the event whole */
    json_object_set_new(json_object_get(ev, "o"), "q", json_string("1e5"));
    CHECK(rows_from_event(b, "main", ev, err, sizeof err) == -1);
    CHECK(b->n == 2 && strstr(err, "q"));
    db_batch_free(b);
    json_decref(ev);
}

static void test_dead_letter(void)
{
    struct db_batch *b = db_batch_new();
    rows_dead_letter(b, "main", "1700000000000-0", "ORDER_TRADE_UPDATE", "{\"e\":1}", 7, 0, NULL,
                     4, 1);
    CHECK(b->n == 1);
    const struct db_row *r = &b->rows[0];
    CHECK(r->kind == ROW_DEAD && r->n == rows_stmts[ROW_DEAD].nparams);
    CHECK(r->on_fail == 1 && r->group == 4 && !r->fired);
    CHECK_EQ_STR(r->v[1], "1700000000000-0");
    CHECK_EQ_STR(r->v[5], "{\"e\":1}");
    CHECK(DB_DEAD_ERRNO == 3 && DB_DEAD_ERROR == 4);
    db_batch_free(b);
}

int main(void)
{
    test_error_classes();
    test_algo_update();
    test_dead_letter();
    return th_done();
}
