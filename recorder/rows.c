/* rows: exchange JSON into recorder rows (see rows.h). */
#include "recorder/rows.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/timebase.h"

#define FRESH "(VALUES(update_ms) > update_ms OR (VALUES(update_ms) = update_ms AND " \
              "VALUES(executed_qty) > executed_qty))"
#define TAKE(col) col " = IF(" FRESH ", VALUES(" col "), " col ")"
#define AFRESH "(VALUES(update_ms) > update_ms OR (VALUES(update_ms) = update_ms AND " \
               "VALUES(status_rank) > status_rank))"
#define ATAKE(col) col " = IF(" AFRESH ", VALUES(" col "), " col ")"

const struct db_stmt_spec rows_stmts[ROWS_NSTMTS] = {
    [ROW_ORDER] = {"order",
                   "INSERT INTO orders (account, symbol, order_id, client_order_id, client_class,"
                   " side, type, time_in_force, status, price, stop_price, orig_qty,"
                   " executed_qty, avg_price, reduce_only, position_side, time_ms, update_ms, src)"
                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE"
                   " time_ms = LEAST(time_ms, VALUES(time_ms)), " TAKE("client_order_id") ", "
                   TAKE("client_class") ", " TAKE("side") ", " TAKE("type") ", "
                   TAKE("time_in_force") ", " TAKE("status") ", " TAKE("price") ", "
                   TAKE("stop_price") ", " TAKE("orig_qty") ", " TAKE("avg_price") ", "
                   TAKE("reduce_only") ", " TAKE("position_side") ", " TAKE("src") ", "
                   TAKE("executed_qty") ", " TAKE("update_ms"),
                   19},
    [ROW_ORDER_EVENT] = {"order_event",
                         "INSERT INTO order_events (account, symbol, order_id, exec_type, status,"
                         " trade_id, event_ms, trans_ms, filled_qty, last_qty, last_price)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                         " ON DUPLICATE KEY UPDATE event_ms = event_ms",
                         11},
    [ROW_TRADE] = {"trade",
                   "INSERT INTO trades (account, symbol, trade_id, order_id, side, price, qty,"
                   " quote_qty, commission, commission_asset, realized_pnl, maker, client_class,"
                   " time_ms, src) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE"
                   " client_class = COALESCE(client_class, VALUES(client_class))",
                   15},
    [ROW_INCOME] = {"income",
                    "INSERT INTO income (account, income_type, tran_id, symbol, income, asset,"
                    " info, trade_id, time_ms) VALUES (?,?,?,?,?,?,?,?,?)"
                    " ON DUPLICATE KEY UPDATE time_ms = time_ms",
                    9},
    [ROW_TRADE_CLASS] = {"trade_class",
                         "UPDATE trades t JOIN orders o ON o.account = t.account AND"
                         " o.symbol = t.symbol AND o.order_id = t.order_id"
                         " SET t.client_class = o.client_class"
                         " WHERE t.account = ? AND t.client_class IS NULL",
                         1},
    [ROW_BAL_SNAP] = {"account_snapshot",
                      "INSERT INTO account_snapshots (account, minute_ms, asset, wallet,"
                      " margin_balance, upnl, available) VALUES (?,?,?,?,?,?,?)"
                      " ON DUPLICATE KEY UPDATE minute_ms = minute_ms",
                      7},
    [ROW_POS_SNAP] = {"position_snapshot",
                      "INSERT INTO position_snapshots (account, minute_ms, symbol, position_side,"
                      " amt, entry, upnl, notional) VALUES (?,?,?,?,?,?,?,?)"
                      " ON DUPLICATE KEY UPDATE minute_ms = minute_ms",
                      8},
    [ROW_CURSOR] = {"cursor",
                    "INSERT INTO cursors (account, name, value) VALUES (?,?,?)"
                    " ON DUPLICATE KEY UPDATE value = VALUES(value)",
                    3},
    [ROW_ALGO] = {"algo_order",
                  "INSERT INTO algo_orders (account, algo_id, symbol, client_algo_id, client_class,"
                  " algo_type, type, side, position_side, time_in_force, status, status_rank, qty,"
                  " trigger_price, price, actual_price, actual_qty, order_id, working_type,"
                  " price_match, close_position, price_protect, reduce_only, trigger_ms,"
                  " good_till_ms, reject_reason, update_ms, event_ms)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                  " ON DUPLICATE KEY UPDATE " ATAKE("symbol") ", " ATAKE("client_algo_id") ", "
                  ATAKE("client_class") ", " ATAKE("algo_type") ", " ATAKE("type") ", "
                  ATAKE("side") ", " ATAKE("position_side") ", " ATAKE("time_in_force") ", "
                  ATAKE("status") ", " ATAKE("qty") ", " ATAKE("trigger_price") ", "
                  ATAKE("price") ", " ATAKE("actual_price") ", " ATAKE("actual_qty") ", "
                  ATAKE("order_id") ", " ATAKE("working_type") ", " ATAKE("price_match") ", "
                  ATAKE("close_position") ", " ATAKE("price_protect") ", " ATAKE("reduce_only")
                  ", " ATAKE("trigger_ms") ", " ATAKE("good_till_ms") ", "
                  ATAKE("reject_reason") ", " ATAKE("event_ms") ", " ATAKE("status_rank") ", "
                  ATAKE("update_ms"),
                  28},
    [ROW_DEAD] = {"dead_letter",
                  "INSERT INTO dead_letters (account, stream_id, event_type, err_no, error, data,"
                  " t_ms) VALUES (?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE t_ms = t_ms",
                  7},
    [Q_CURSORS] = {"cursors", "SELECT name, value FROM cursors WHERE account = ?", 1},
    [Q_SYMBOLS] = {"symbols",
                   "SELECT symbol FROM income WHERE account = ? AND symbol <> ''"
                   " UNION SELECT symbol FROM orders WHERE account = ?"
                   " UNION SELECT symbol FROM trades WHERE account = ? ORDER BY 1",
                   3},
};

void rows_client_class(const char *cid, char *out, size_t cap)
{
    size_t n = 0;
    if (!cap) return;
    if (!cid || !*cid) {
        snprintf(out, cap, "none");
        return;
    }
    while (cid[n] && isalpha((unsigned char)cid[n]) && n + 1 < cap && n < ROWS_CLASS_MAX - 1) {
        out[n] = (char)tolower((unsigned char)cid[n]);
        n++;
    }
    out[n] = 0;
    if (!n) snprintf(out, cap, "other");
}

/* ---- typed field readers into text ------------------------------------------------------- */

struct rtext {
    char v[DB_COLS_MAX][64];
    const char *p[DB_COLS_MAX];
    int n;
};

static const char *rt_put(struct rtext *t, const char *s)
{
    int i = t->n++;
    snprintf(t->v[i], sizeof t->v[i], "%s", s);
    t->p[i] = t->v[i];
    return t->p[i];
}

static int rt_null(struct rtext *t)
{
    t->p[t->n++] = NULL;
    return 0;
}

static int rt_str(struct rtext *t, const json_t *o, const char *k, char *err, size_t cap)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || json_string_length(v) >= sizeof t->v[0]) {
        snprintf(err, cap, "field %s: not a string (or too long)", k);
        return -1;
    }
    rt_put(t, json_string_value(v));
    return 0;
}

static int rt_int(struct rtext *t, const json_t *o, const char *k, char *err, size_t cap)
{
    const json_t *v = json_object_get(o, k);
    char buf[32];
    if (!json_is_integer(v)) {
        snprintf(err, cap, "field %s: not an integer", k);
        return -1;
    }
    snprintf(buf, sizeof buf, "%" PRId64, (int64_t)json_integer_value(v));
    rt_put(t, buf);
    return 0;
}

/* A decimal string, checked to be one (exactly as sent: the column keeps every digit). */
static int rt_dec(struct rtext *t, const json_t *o, const char *k, char *err, size_t cap)
{
    const json_t *v = json_object_get(o, k);
    struct dec d;
    if (!json_is_string(v) || dec_parse(json_string_value(v), (size_t)-1, &d) != DEC_OK) {
        snprintf(err, cap, "field %s: not a decimal string", k);
        return -1;
    }
    rt_put(t, json_string_value(v));
    return 0;
}

static int rt_bool(struct rtext *t, const json_t *o, const char *k, char *err, size_t cap)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_boolean(v)) {
        snprintf(err, cap, "field %s: not a boolean", k);
        return -1;
    }
    rt_put(t, json_is_true(v) ? "1" : "0");
    return 0;
}

/* quote qty = price * qty, exact */
static int rt_mul(struct rtext *t, const char *a, const char *b, char *err, size_t cap)
{
    struct dec x, y, z;
    char buf[DEC_STR_MAX];
    if (dec_parse(a, (size_t)-1, &x) != DEC_OK || dec_parse(b, (size_t)-1, &y) != DEC_OK ||
        dec_mul(x, y, &z) != DEC_OK || dec_format(z, buf, sizeof buf) < 0) {
        snprintf(err, cap, "price * qty does not fit");
        return -1;
    }
    rt_put(t, buf);
    return 0;
}

/* ---- the parsers ------------------------------------------------------------------------- */

static int order_of_event(struct db_batch *b, const char *acct, const json_t *o, char *err,
                          size_t cap)
{
    struct rtext t = {.n = 0};
    char cls[ROWS_CLASS_MAX];
    const json_t *cid = json_object_get(o, "c");
    rows_client_class(json_is_string(cid) ? json_string_value(cid) : "", cls, sizeof cls);
    rt_put(&t, acct);
    if (rt_str(&t, o, "s", err, cap) || rt_int(&t, o, "i", err, cap) ||
        rt_str(&t, o, "c", err, cap) || !rt_put(&t, cls) || rt_str(&t, o, "S", err, cap) ||
        rt_str(&t, o, "o", err, cap) || rt_str(&t, o, "f", err, cap) ||
        rt_str(&t, o, "X", err, cap) || rt_dec(&t, o, "p", err, cap) ||
        rt_dec(&t, o, "sp", err, cap) || rt_dec(&t, o, "q", err, cap) ||
        rt_dec(&t, o, "z", err, cap) || rt_dec(&t, o, "ap", err, cap) ||
        rt_bool(&t, o, "R", err, cap) || rt_str(&t, o, "ps", err, cap) ||
        rt_int(&t, o, "T", err, cap) || rt_int(&t, o, "T", err, cap) || !rt_put(&t, "stream"))
        return -1;
    db_batch_add(b, ROW_ORDER, t.n, t.p);
    return 0;
}

static int event_row(struct db_batch *b, const char *acct, const json_t *ev, const json_t *o,
                     char *err, size_t cap)
{
    struct rtext t = {.n = 0};
    rt_put(&t, acct);
    if (rt_str(&t, o, "s", err, cap) || rt_int(&t, o, "i", err, cap) ||
        rt_str(&t, o, "x", err, cap) || rt_str(&t, o, "X", err, cap) ||
        rt_int(&t, o, "t", err, cap) || rt_int(&t, ev, "E", err, cap) ||
        rt_int(&t, o, "T", err, cap) || rt_dec(&t, o, "z", err, cap) ||
        rt_dec(&t, o, "l", err, cap) || rt_dec(&t, o, "L", err, cap))
        return -1;
    db_batch_add(b, ROW_ORDER_EVENT, t.n, t.p);
    return 0;
}

static int trade_of_event(struct db_batch *b, const char *acct, const json_t *o, char *err,
                          size_t cap)
{
    struct rtext t = {.n = 0};
    char cls[ROWS_CLASS_MAX];
    const json_t *cid = json_object_get(o, "c"), *asset = json_object_get(o, "N");
    rows_client_class(json_is_string(cid) ? json_string_value(cid) : "", cls, sizeof cls);
    rt_put(&t, acct);
    if (rt_str(&t, o, "s", err, cap) || rt_int(&t, o, "t", err, cap) ||
        rt_int(&t, o, "i", err, cap) || rt_str(&t, o, "S", err, cap) ||
        rt_dec(&t, o, "L", err, cap) || rt_dec(&t, o, "l", err, cap) ||
        rt_mul(&t, t.p[5], t.p[6], err, cap) || rt_dec(&t, o, "n", err, cap))
        return -1;
    if (json_is_string(asset)) rt_put(&t, json_string_value(asset));
    else rt_put(&t, "");
    if (rt_dec(&t, o, "rp", err, cap) || rt_bool(&t, o, "m", err, cap) || !rt_put(&t, cls) ||
        rt_int(&t, o, "T", err, cap) || !rt_put(&t, "stream"))
        return -1;
    db_batch_add(b, ROW_TRADE, t.n, t.p);
    return 0;
}

/* The order of an algo order's states, for ties of the update time. */
static const char *algo_rank(const char *status)
{
    static const char *const ranks[][2] = {
        {"NEW", "0"},      {"TRIGGERING", "1"}, {"TRIGGERED", "2"}, {"FINISHED", "3"},
        {"CANCELED", "3"}, {"EXPIRED", "3"},    {"REJECTED", "3"}};
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++)
        if (!strcmp(status, ranks[i][0])) return ranks[i][1];
    return "0";
}

static int algo_of_event(struct db_batch *b, const char *acct, const json_t *ev, char *err,
                         size_t cap)
{
    const json_t *o = json_object_get(ev, "o"), *ai = json_object_get(o, "ai"),
                 *rm = json_object_get(o, "rm");
    struct rtext t = {.n = 0};
    char cls[ROWS_CLASS_MAX];
    if (!json_is_object(o)) {
        snprintf(err, cap, "ALGO_UPDATE without o");
        return -1;
    }
    const json_t *cid = json_object_get(o, "caid");
    rows_client_class(json_is_string(cid) ? json_string_value(cid) : "", cls, sizeof cls);
    rt_put(&t, acct);
    if (rt_int(&t, o, "aid", err, cap) || rt_str(&t, o, "s", err, cap) ||
        rt_str(&t, o, "caid", err, cap) || !rt_put(&t, cls) || rt_str(&t, o, "at", err, cap) ||
        rt_str(&t, o, "o", err, cap) || rt_str(&t, o, "S", err, cap) ||
        rt_str(&t, o, "ps", err, cap) || rt_str(&t, o, "f", err, cap) ||
        rt_str(&t, o, "X", err, cap) || !rt_put(&t, algo_rank(t.p[10])) ||
        rt_dec(&t, o, "q", err, cap) || rt_dec(&t, o, "tp", err, cap) ||
        rt_dec(&t, o, "p", err, cap) || rt_dec(&t, o, "ap", err, cap) ||
        rt_dec(&t, o, "aq", err, cap))
        return -1;
    /* the triggered order's id: "" until triggered */
    if (json_is_string(ai) && json_string_length(ai) > 0 && json_string_length(ai) < 20 &&
        strspn(json_string_value(ai), "0123456789") == json_string_length(ai))
        rt_put(&t, json_string_value(ai));
    else
        rt_null(&t);
    if (rt_str(&t, o, "wt", err, cap) || rt_str(&t, o, "pm", err, cap) ||
        rt_bool(&t, o, "cp", err, cap) || rt_bool(&t, o, "pP", err, cap) ||
        rt_bool(&t, o, "R", err, cap) || rt_int(&t, o, "tt", err, cap) ||
        rt_int(&t, o, "gtd", err, cap))
        return -1;
    if (json_is_string(rm)) {
        if (rt_str(&t, o, "rm", err, cap)) return -1;
    } else {
        rt_put(&t, "");
    }
    if (rt_int(&t, ev, "T", err, cap) || rt_int(&t, ev, "E", err, cap)) return -1;
    db_batch_add(b, ROW_ALGO, t.n, t.p);
    return 1;
}

void rows_dead_letter(struct db_batch *b, const char *acct, const char *id, const char *etype,
                      const char *data, size_t len, unsigned err_no, const char *why,
                      int group, int on_fail)
{
    char num[16], t[24], *raw = malloc(len + 1);
    if (!raw) abort();
    if (data) memcpy(raw, data, len);
    raw[data ? len : 0] = 0;
    snprintf(num, sizeof num, "%u", err_no);
    snprintf(t, sizeof t, "%lld", (long long)timebase_wall_ms());
    const char *v[] = {acct, id, etype ? etype : "", num, why ? why : "", raw, t};
    struct db_row *r = db_batch_add(b, ROW_DEAD, 7, v);
    r->group = group;
    r->on_fail = on_fail;
    free(raw);
}

int rows_from_event(struct db_batch *b, const char *acct, const json_t *ev, char *err,
                    size_t cap)
{
    const json_t *e = json_object_get(ev, "e"), *o = json_object_get(ev, "o");
    const json_t *x = json_object_get(o, "x");
    size_t before = b->n;
    int fill;
    if (json_is_string(e) && !strcmp(json_string_value(e), "ALGO_UPDATE"))
        return algo_of_event(b, acct, ev, err, cap);
    if (!json_is_string(e) || strcmp(json_string_value(e), "ORDER_TRADE_UPDATE")) return 0;
    if (!json_is_object(o)) {
        snprintf(err, cap, "ORDER_TRADE_UPDATE without o");
        return -1;
    }
    fill = json_is_string(x) && !strcmp(json_string_value(x), "TRADE");
    if (order_of_event(b, acct, o, err, cap) < 0 || event_row(b, acct, ev, o, err, cap) < 0 ||
        (fill && trade_of_event(b, acct, o, err, cap) < 0)) {
        while (b->n > before) { /* refused whole */
            struct db_row *r = &b->rows[--b->n];
            for (int i = 0; i < r->n; i++) free(r->v[i]);
        }
        return -1;
    }
    return (int)(b->n - before);
}

int rows_from_rest_order(struct db_batch *b, const char *acct, const json_t *o, char *err,
                         size_t cap)
{
    struct rtext t = {.n = 0};
    char cls[ROWS_CLASS_MAX];
    const json_t *cid = json_object_get(o, "clientOrderId");
    rows_client_class(json_is_string(cid) ? json_string_value(cid) : "", cls, sizeof cls);
    rt_put(&t, acct);
    if (rt_str(&t, o, "symbol", err, cap) || rt_int(&t, o, "orderId", err, cap) ||
        rt_str(&t, o, "clientOrderId", err, cap) || !rt_put(&t, cls) ||
        rt_str(&t, o, "side", err, cap) || rt_str(&t, o, "type", err, cap) ||
        rt_str(&t, o, "timeInForce", err, cap) || rt_str(&t, o, "status", err, cap) ||
        rt_dec(&t, o, "price", err, cap) || rt_dec(&t, o, "stopPrice", err, cap) ||
        rt_dec(&t, o, "origQty", err, cap) || rt_dec(&t, o, "executedQty", err, cap) ||
        rt_dec(&t, o, "avgPrice", err, cap) || rt_bool(&t, o, "reduceOnly", err, cap) ||
        rt_str(&t, o, "positionSide", err, cap) || rt_int(&t, o, "time", err, cap) ||
        rt_int(&t, o, "updateTime", err, cap) || !rt_put(&t, "rest"))
        return -1;
    db_batch_add(b, ROW_ORDER, t.n, t.p);
    return 0;
}

int rows_from_rest_trade(struct db_batch *b, const char *acct, const json_t *o, char *err,
                         size_t cap)
{
    struct rtext t = {.n = 0};
    rt_put(&t, acct);
    if (rt_str(&t, o, "symbol", err, cap) || rt_int(&t, o, "id", err, cap) ||
        rt_int(&t, o, "orderId", err, cap) || rt_str(&t, o, "side", err, cap) ||
        rt_dec(&t, o, "price", err, cap) || rt_dec(&t, o, "qty", err, cap) ||
        rt_dec(&t, o, "quoteQty", err, cap) || rt_dec(&t, o, "commission", err, cap) ||
        rt_str(&t, o, "commissionAsset", err, cap) || rt_dec(&t, o, "realizedPnl", err, cap) ||
        rt_bool(&t, o, "maker", err, cap) || rt_null(&t) || rt_int(&t, o, "time", err, cap) ||
        !rt_put(&t, "rest"))
        return -1;
    db_batch_add(b, ROW_TRADE, t.n, t.p);
    return 0;
}

int rows_from_income(struct db_batch *b, const char *acct, const json_t *r, char *err,
                     size_t cap)
{
    struct rtext t = {.n = 0};
    const json_t *tid = json_object_get(r, "tradeId");
    rt_put(&t, acct);
    if (rt_str(&t, r, "incomeType", err, cap) || rt_int(&t, r, "tranId", err, cap) ||
        rt_str(&t, r, "symbol", err, cap) || rt_dec(&t, r, "income", err, cap) ||
        rt_str(&t, r, "asset", err, cap) || rt_str(&t, r, "info", err, cap))
        return -1;
    if (json_is_string(tid) && json_string_length(tid) > 0 &&
        strspn(json_string_value(tid), "0123456789") == json_string_length(tid) &&
        json_string_length(tid) < 20)
        rt_put(&t, json_string_value(tid));
    else if (json_is_integer(tid))
        rt_int(&t, r, "tradeId", err, cap);
    else
        rt_null(&t);
    if (rt_int(&t, r, "time", err, cap)) return -1;
    db_batch_add(b, ROW_INCOME, t.n, t.p);
    return 0;
}
