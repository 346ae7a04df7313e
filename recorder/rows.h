/* rows: exchange JSON (user-stream events, allOrders, userTrades, income) into db rows, and the
 * prepared statements that write and read them.
 *
 * Each parser validates what it takes (ids integers, decimals exact decimal strings, times
 * integers) and appends rows to a db batch, or appends nothing and returns -1 with the reason:
 * a bad record is refused whole, never half-written. Every statement is idempotent on the
 * table's unique key, so the same fill, order state or income row arriving from the stream and
 * from REST, or twice from either, leaves exactly one row:
 *   orders        upsert, freshest update_ms wins (ties: the more filled), as in Redis
 *   order_events  insert, a duplicate is a no-op
 *   trades        insert, a duplicate only fills a missing client class
 *   income        insert, a duplicate is a no-op
 *   snapshots     insert, the first of a minute stays
 *   cursors       upsert (written in the same transaction as the rows it covers)
 *   algo_orders   upsert, freshest update_ms wins (ties: the later status)
 *   dead_letters  insert, a duplicate is a no-op */
#ifndef BFQ_RECORDER_ROWS_H
#define BFQ_RECORDER_ROWS_H

#include <jansson.h>
#include <stddef.h>

#include "recorder/db.h"

enum rows_kind {
    ROW_ORDER,
    ROW_ORDER_EVENT,
    ROW_TRADE,
    ROW_INCOME,
    ROW_TRADE_CLASS, /* fills the client class of REST trades from their orders (account) */
    ROW_BAL_SNAP,
    ROW_POS_SNAP,
    ROW_CURSOR,      /* (account, name, value): where the REST backfill goes on */
    ROW_ALGO,        /* algo order, its latest state (ALGO_UPDATE) */
    ROW_DEAD,        /* (account, stream_id, event_type, err_no, error, data, t_ms): a dead
                      * letter; err_no and error at DB_DEAD_ERRNO, DB_DEAD_ERROR */
    Q_CURSORS,       /* (account) -> name, value */
    Q_SYMBOLS,       /* (account x3) -> every symbol the account has rows of */
    ROWS_NSTMTS
};

extern const struct db_stmt_spec rows_stmts[ROWS_NSTMTS];

#define ROWS_CLASS_MAX 32

/* The class of a client order id: its leading run of letters (lower-cased) before the first
 * character that is not one ("web_x1" -> "web", "bfq-3-7" -> "bfq", "autoclose-..." ->
 * "autoclose", "x-Fq3" -> "x"); "" -> "none", an id starting with a digit or other -> "other". */
void rows_client_class(const char *cid, char *out, size_t cap);

/* A user-stream event (the parsed `data` of one bfq:events entry): ORDER_TRADE_UPDATE gives an
 * order row, an order event row and, for a fill, a trade row; ALGO_UPDATE an algo order row;
 * other event types give nothing (0). Returns the number of rows appended, or -1 with err. */
int rows_from_event(struct db_batch *b, const char *acct, const json_t *ev, char *err,
                    size_t cap);

/* One element of allOrders / userTrades / income. 0 or -1 with err (nothing appended). */
int rows_from_rest_order(struct db_batch *b, const char *acct, const json_t *o, char *err,
                         size_t cap);
int rows_from_rest_trade(struct db_batch *b, const char *acct, const json_t *t, char *err,
                         size_t cap);
/* A dead-letter row (ROW_DEAD) for stream entry id: its raw data (len bytes; NULL: none), the
 * event type when known (may be NULL), and the reason when already known (err_no, why; else
 * the worker fills them when the entry's rows are refused). on_fail as db_row's. */
void rows_dead_letter(struct db_batch *b, const char *acct, const char *id, const char *etype,
                      const char *data, size_t len, unsigned err_no, const char *why,
                      int group, int on_fail);

int rows_from_income(struct db_batch *b, const char *acct, const json_t *r, char *err,
                     size_t cap);

#endif
