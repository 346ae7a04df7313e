/* orders: the account's open orders in Redis, kept by the user-data stream and reconciled by
 * a REST openOrders poll.
 *
 *   <p>acct:<a>:orders     field SYM:clientOrderId (algo: SYM:algo:clientAlgoId) -> JSON
 *                          {"symbol","status","side","type","origType","price","origQty",
 *                           "executedQty","avgPrice","stopPrice","orderId","positionSide",
 *                           "reduceOnly","timeInForce","time","updateTime","t","src"}
 *   <p>acct:<a>:orders:ts  the reconciler's "t:uid" companion
 *   <p>ch:order:<a>        {"t":..,"orders":{field: record or null}} for every change, and
 *                          {"t":E,"lite":<TRADE_LITE event>} for the fast fill notice
 *
 * Records go through bfq_merge in merge mode (members a later record lacks, such as "time" that
 * only a NEW event or the REST answer carries, are kept). A finished order (FILLED, CANCELED,
 * EXPIRED, EXPIRED_IN_MATCH, REJECTED; algo FINISHED, CANCELED, EXPIRED, REJECTED) is deleted
 * with its event time, so an older event arriving later cannot bring it back.
 *
 * Binance names an order by its symbol and its id and keeps a client id unique only among open
 * orders, so the field carries the symbol: two symbols' orders with one client id are two
 * records.
 *
 * The poll (GET /fapi/v1/openOrders, weight 40) writes each listed order with t = its
 * updateTime and deletes every non-algo field the exchange no longer lists with t = the
 * request's send time on the exchange clock minus ORDERS_ABSENT_MARGIN_MS: the answer has no
 * server time, an order missing from it ended before the answer was made, and any stream event
 * newer than the send time (an order created meanwhile) keeps winning (docs/account.md). It
 * keeps the record it last sent per order and sends only the orders that differ, and the
 * deletions, ORDERS_BATCH_MAX records per FCALL (merge mode costs 45-100 us a record inside
 * Redis, bench_pipeline: 1000 orders re-merged every poll held Redis 50-100 ms). A Redis
 * reconnect, a failed write and every ORDERS_RESEND_MS forget that memory, so everything is
 * sent again once. */
#ifndef BFQ_ORDERS_H
#define BFQ_ORDERS_H

#include <jansson.h>
#include <stdint.h>

struct role;
struct orders;

#define ORDERS_ABSENT_MARGIN_MS 1000
#define ORDERS_WEIGHT 40
#define ORDERS_BATCH_MAX 200     /* records in one FCALL of the poll (bench_pipeline) */
#define ORDERS_RESEND_MS 300000  /* the poll sends every listed order again this often */

struct orders_stats {
    int64_t events, malformed, polls, poll_errors, deleted_by_poll, open;
    int64_t pruned;       /* tombstones removed by orders_prune */
    int64_t poll_records; /* records the poll sent (changes and deletions) */
    int64_t poll_batches; /* FCALLs the poll sent */
};

/* Orders of the role's account, written under source name src. NULL on allocation failure. */
struct orders *orders_new(struct role *r, const char *src);
void orders_free(struct orders *o);

/* Applies an ORDER_TRADE_UPDATE / ALGO_UPDATE event with update id uid. Returns 0 when sent,
 * -1 when the event is malformed (nothing written; reason in err), 1 when Redis is down. */
int orders_apply_order_event(struct orders *o, const json_t *ev, int64_t uid, char *err,
                             size_t errcap);
int orders_apply_algo_event(struct orders *o, const json_t *ev, int64_t uid, char *err,
                            size_t errcap);
/* Publishes a TRADE_LITE event (raw text, already validated) with its event time. */
void orders_publish_lite(struct orders *o, int64_t e, const char *raw, size_t len);

/* Starts one openOrders poll unless one is in flight; the reconciliation happens when the
 * answer arrives. */
void orders_poll(struct orders *o);

/* Prunes the tombstones of finished orders: the orders:ts entries of fields no longer in
 * orders whose time is before before_ms (exchange ms), which bfq_merge would otherwise keep
 * forever (recon_prune). Does nothing while Redis is down or a prune is still running. */
void orders_prune(struct orders *o, int64_t before_ms);

/* Forgets what the poll sent, so the next poll sends every listed order again (after a
 * Redis reconnect: writes may have been lost). */
void orders_forget(struct orders *o);

struct orders_stats orders_stats(const struct orders *o);

#endif
