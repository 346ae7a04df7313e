/* schema: the migrations (see schema.h). */
#include "recorder/schema.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timebase.h"

#define MONEY "DECIMAL(40,18)"

struct migration {
    int version;
    const char *name;
    const char *const *sql; /* NULL-terminated */
};

static const char *const m1_tables[] = {
    "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY,"
    " name VARCHAR(64) NOT NULL, applied_ms BIGINT NOT NULL) ENGINE=InnoDB",
    /* one row per order, its latest state (freshest update_ms wins, ties: more filled) */
    "CREATE TABLE IF NOT EXISTS orders (account VARCHAR(32) NOT NULL, symbol VARCHAR(32) NOT NULL,"
    " order_id BIGINT NOT NULL, client_order_id VARCHAR(64) NOT NULL,"
    " client_class VARCHAR(32) NOT NULL, side VARCHAR(8) NOT NULL, type VARCHAR(32) NOT NULL,"
    " time_in_force VARCHAR(8) NOT NULL, status VARCHAR(24) NOT NULL, price " MONEY " NOT NULL,"
    " stop_price " MONEY " NOT NULL, orig_qty " MONEY " NOT NULL, executed_qty " MONEY " NOT NULL,"
    " avg_price " MONEY " NOT NULL, reduce_only TINYINT NOT NULL, position_side VARCHAR(8) NOT NULL,"
    " time_ms BIGINT NOT NULL, update_ms BIGINT NOT NULL, src VARCHAR(8) NOT NULL,"
    " PRIMARY KEY (account, symbol, order_id), KEY by_update (account, update_ms)) ENGINE=InnoDB",
    /* every state change the user stream reported */
    "CREATE TABLE IF NOT EXISTS order_events (account VARCHAR(32) NOT NULL,"
    " symbol VARCHAR(32) NOT NULL, order_id BIGINT NOT NULL, exec_type VARCHAR(24) NOT NULL,"
    " status VARCHAR(24) NOT NULL, trade_id BIGINT NOT NULL, event_ms BIGINT NOT NULL,"
    " trans_ms BIGINT NOT NULL, filled_qty " MONEY " NOT NULL, last_qty " MONEY " NOT NULL,"
    " last_price " MONEY " NOT NULL,"
    " PRIMARY KEY (account, symbol, order_id, trans_ms, exec_type, status, trade_id))"
    " ENGINE=InnoDB",
    /* one row per fill */
    "CREATE TABLE IF NOT EXISTS trades (account VARCHAR(32) NOT NULL, symbol VARCHAR(32) NOT NULL,"
    " trade_id BIGINT NOT NULL, order_id BIGINT NOT NULL, side VARCHAR(8) NOT NULL,"
    " price " MONEY " NOT NULL, qty " MONEY " NOT NULL, quote_qty " MONEY " NOT NULL,"
    " commission " MONEY " NOT NULL, commission_asset VARCHAR(16) NOT NULL,"
    " realized_pnl " MONEY " NOT NULL, maker TINYINT NOT NULL, client_class VARCHAR(32) NULL,"
    " time_ms BIGINT NOT NULL, src VARCHAR(8) NOT NULL,"
    " PRIMARY KEY (account, symbol, trade_id), KEY by_time (account, time_ms)) ENGINE=InnoDB",
    /* one row per tranId and type */
    "CREATE TABLE IF NOT EXISTS income (account VARCHAR(32) NOT NULL,"
    " income_type VARCHAR(40) NOT NULL, tran_id BIGINT NOT NULL, symbol VARCHAR(32) NOT NULL,"
    " income " MONEY " NOT NULL, asset VARCHAR(16) NOT NULL, info VARCHAR(64) NOT NULL,"
    " trade_id BIGINT NULL, time_ms BIGINT NOT NULL,"
    " PRIMARY KEY (account, income_type, tran_id), KEY by_time (account, time_ms)) ENGINE=InnoDB",
    /* per minute: the balances and the positions (reconciled state from Redis) */
    "CREATE TABLE IF NOT EXISTS account_snapshots (account VARCHAR(32) NOT NULL,"
    " minute_ms BIGINT NOT NULL, asset VARCHAR(16) NOT NULL, wallet " MONEY " NOT NULL,"
    " margin_balance " MONEY " NOT NULL, upnl " MONEY " NOT NULL, available " MONEY " NOT NULL,"
    " PRIMARY KEY (account, minute_ms, asset)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS position_snapshots (account VARCHAR(32) NOT NULL,"
    " minute_ms BIGINT NOT NULL, symbol VARCHAR(32) NOT NULL, position_side VARCHAR(8) NOT NULL,"
    " amt " MONEY " NOT NULL, entry " MONEY " NOT NULL, upnl " MONEY " NOT NULL,"
    " notional " MONEY " NOT NULL, PRIMARY KEY (account, minute_ms, symbol, position_side))"
    " ENGINE=InnoDB",
    /* where the REST backfill of each source goes on (written with the rows it covers) */
    "CREATE TABLE IF NOT EXISTS cursors (account VARCHAR(32) NOT NULL, name VARCHAR(64) NOT NULL,"
    " value BIGINT NOT NULL, PRIMARY KEY (account, name)) ENGINE=InnoDB",
    NULL,
};

/* daily per account and per symbol: views over the rows, so they can never disagree */
static const char *const m2_daily[] = {
    "CREATE OR REPLACE VIEW daily_trades AS SELECT account,"
    " DATE('1970-01-01') + INTERVAL (time_ms DIV 86400000) DAY AS day, symbol,"
    " COUNT(*) AS trades, SUM(quote_qty) AS volume, SUM(realized_pnl) AS realized_pnl,"
    " SUM(commission) AS commission, SUM(realized_pnl > 0) AS wins,"
    " SUM(realized_pnl < 0) AS losses, MIN(LEAST(realized_pnl, 0)) AS largest_loss"
    " FROM trades GROUP BY account, day, symbol",
    "CREATE OR REPLACE VIEW daily_income AS SELECT account,"
    " DATE('1970-01-01') + INTERVAL (time_ms DIV 86400000) DAY AS day, symbol, income_type,"
    " COUNT(*) AS n, SUM(income) AS income FROM income GROUP BY account, day, symbol, income_type",
    NULL,
};

/* algo (conditional) orders from ALGO_UPDATE, one row per algo id, its latest state (freshest
 * update_ms wins, ties: the later status); and the dead letters: stream entries the server
 * refused for good or that were never events, kept whole with the reason */
static const char *const m3_algo_dead[] = {
    "CREATE TABLE IF NOT EXISTS algo_orders (account VARCHAR(32) NOT NULL,"
    " algo_id BIGINT NOT NULL, symbol VARCHAR(32) NOT NULL, client_algo_id VARCHAR(64) NOT NULL,"
    " client_class VARCHAR(32) NOT NULL, algo_type VARCHAR(24) NOT NULL,"
    " type VARCHAR(32) NOT NULL, side VARCHAR(8) NOT NULL, position_side VARCHAR(8) NOT NULL,"
    " time_in_force VARCHAR(8) NOT NULL, status VARCHAR(24) NOT NULL,"
    " status_rank TINYINT NOT NULL, qty " MONEY " NOT NULL, trigger_price " MONEY " NOT NULL,"
    " price " MONEY " NOT NULL, actual_price " MONEY " NOT NULL, actual_qty " MONEY " NOT NULL,"
    " order_id BIGINT NULL, working_type VARCHAR(24) NOT NULL, price_match VARCHAR(24) NOT NULL,"
    " close_position TINYINT NOT NULL, price_protect TINYINT NOT NULL,"
    " reduce_only TINYINT NOT NULL, trigger_ms BIGINT NOT NULL, good_till_ms BIGINT NOT NULL,"
    " reject_reason VARCHAR(64) NOT NULL, update_ms BIGINT NOT NULL, event_ms BIGINT NOT NULL,"
    " PRIMARY KEY (account, algo_id), KEY by_update (account, update_ms)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS dead_letters (account VARCHAR(32) NOT NULL,"
    " stream_id VARCHAR(48) NOT NULL, event_type VARBINARY(48) NOT NULL, err_no INT NOT NULL,"
    " error VARBINARY(255) NOT NULL, data MEDIUMBLOB NOT NULL, t_ms BIGINT NOT NULL,"
    " PRIMARY KEY (account, stream_id)) ENGINE=InnoDB",
    NULL,
};

static const struct migration migrations[] = {
    {1, "tables", m1_tables},
    {2, "daily views", m2_daily},
    {3, "algo orders, dead letters", m3_algo_dead},
};

const char *const schema_tables[] = {"orders",       "order_events",     "trades",
                                     "income",       "account_snapshots", "position_snapshots",
                                     "cursors",      "algo_orders",      "dead_letters",
                                     NULL};
static const char *const schema_views[] = {"daily_trades", "daily_income", NULL};

int schema_version_of(struct st_mysql *m, char *err, size_t cap)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int v = 0;
    if (mysql_query(m, "SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
        if (mysql_errno(m) == ER_NO_SUCH_TABLE) return 0;
        snprintf(err, cap, "%s", mysql_error(m));
        return -1;
    }
    res = mysql_store_result(m);
    if (!res) {
        snprintf(err, cap, "%s", mysql_error(m));
        return -1;
    }
    row = mysql_fetch_row(res);
    if (row && row[0]) {
        char *end = NULL;
        v = (int)strtol(row[0], &end, 10);
    }
    mysql_free_result(res);
    return v;
}

int schema_check(struct st_mysql *m, int known, char *err, size_t cap)
{
    int v = schema_version_of(m, err, cap);
    if (v < 0) return -1;
    if (v == known) return 0;
    if (v > known)
        snprintf(err, cap, "database schema version %d is newer than this binary's %d: refused",
                 v, known);
    else
        snprintf(err, cap, "database schema version %d, this binary needs %d: run "
                 "`bfq recorder --migrate`", v, known);
    return -2;
}

static int exec_sql(struct st_mysql *m, const char *sql, char *err, size_t cap)
{
    if (!mysql_query(m, sql)) return 0;
    snprintf(err, cap, "%s", mysql_error(m));
    return -1;
}

static int record_version(struct st_mysql *m, const struct migration *mg, char *err, size_t cap)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    MYSQL_BIND b[3];
    long long now = (long long)timebase_wall_ms();
    int version = mg->version;
    unsigned long nlen = (unsigned long)strlen(mg->name);
    const char *sql = "INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)";
    int rc = -1;
    memset(b, 0, sizeof b);
    b[0].buffer_type = MYSQL_TYPE_LONG;
    b[0].buffer = &version;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = (void *)mg->name;
    b[1].buffer_length = nlen;
    b[1].length = &nlen;
    b[2].buffer_type = MYSQL_TYPE_LONGLONG;
    b[2].buffer = &now;
    if (st && !mysql_stmt_prepare(st, sql, strlen(sql)) && !mysql_stmt_bind_param(st, b) &&
        !mysql_stmt_execute(st))
        rc = 0;
    else
        snprintf(err, cap, "%s", st ? mysql_stmt_error(st) : "out of memory");
    if (st) mysql_stmt_close(st);
    return rc;
}

int schema_migrate(struct st_mysql *m, char *err, size_t cap)
{
    int v = schema_version_of(m, err, cap), applied = 0;
    if (v < 0) return -1;
    if (v > SCHEMA_VERSION) {
        snprintf(err, cap, "database schema version %d is newer than this binary's %d: refused",
                 v, SCHEMA_VERSION);
        return -2;
    }
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        const struct migration *mg = &migrations[i];
        if (mg->version <= v) continue;
        for (const char *const *s = mg->sql; *s; s++)
            if (exec_sql(m, *s, err, cap) < 0) return -1;
        if (record_version(m, mg, err, cap) < 0) return -1;
        applied++;
    }
    return applied;
}

static int grant_one(struct st_mysql *m, const char *privs, const char *table, const char *user,
                     char *err, size_t cap)
{
    char sql[512];
    const char *at = strchr(user, '@');
    /* DCL takes no placeholders: the table names are ours, the user is checked to be plain
     * name@host characters, so this is the one formatted statement of the recorder */
    if (!at || at == user || !at[1] || strspn(user, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                    "qrstuvwxyz0123456789_.%-@") != strlen(user) ||
        strchr(at + 1, '@')) {
        snprintf(err, cap, "grant: user must be NAME@HOST (letters, digits, _ . %% -)");
        return -1;
    }
    snprintf(sql, sizeof sql, "GRANT %s ON %s TO '%.*s'@'%s'", privs, table, (int)(at - user),
             user, at + 1);
    return exec_sql(m, sql, err, cap);
}

int schema_grant(struct st_mysql *m, const char *user, int reader, char *err, size_t cap)
{
    for (const char *const *t = schema_tables; *t; t++)
        if (grant_one(m, reader ? "SELECT" : "SELECT, INSERT, UPDATE", *t, user, err, cap) < 0)
            return -1;
    if (grant_one(m, "SELECT", "schema_version", user, err, cap) < 0) return -1;
    if (reader)
        for (const char *const *t = schema_views; *t; t++)
            if (grant_one(m, "SELECT", *t, user, err, cap) < 0) return -1;
    return 0;
}
