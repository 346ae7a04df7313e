/* riskio: what every risk process writes to Redis, in one place: alerts on <prefix>alerts,
 * order intents on <prefix>intents:<acct> (the gateway sends them), fresh intent ids, and the
 * trading state <prefix>risk:state:<acct> with its announcement on <prefix>ch:risk.
 *
 * All calls are asynchronous (core/rconn) and fire-and-forget unless a callback is given;
 * they return -1 when the connection is down (nothing was sent). Texts never hold a secret:
 * they are built from symbols, quantities and reasons only. */
#ifndef BFQ_RISKIO_H
#define BFQ_RISKIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/rconn.h"
#include "trader/intent.h"

#define RISK_ALERTS_MAXLEN 100000 /* the alert stream is capped (XADD MAXLEN ~) */

/* XADD <prefix>alerts MAXLEN ~ N * level L key K text ... src S t ms. */
int risk_alert(struct rconn *rc, const char *prefix, const char *level, const char *key,
               const char *src, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* XADD <prefix>intents:<acct> * with the intent's fields (t is set to now when zero). fn (may
 * be NULL) gets the reply. */
int risk_intent(struct rconn *rc, const char *prefix, const char *acct, struct intent *in,
                rconn_reply_fn *fn, void *privdata);

/* A fresh intent id: "<tag><wall ms in hex><per-process counter in hex>", unique across
 * restarts (the clock moves on), at most 32 characters for a tag of at most 4. */
void risk_new_id(const char *tag, char out[INTENT_ID_MAX]);

/* Sets the trading state (ACTIVE, REDUCING, HALTED) with its reason and source: HSET of
 * <prefix>risk:state:<acct> state reason t src, then PUBLISH <prefix>ch:risk
 * {"t","account","state","reason","src"}, with an alert (level warn for anything but
 * ACTIVE) in between. fn (may be NULL) gets the reply of the PUBLISH, the last command. */
int risk_set_state(struct rconn *rc, const char *prefix, const char *acct, const char *state,
                   const char *reason, const char *src, rconn_reply_fn *fn, void *privdata);

/* Splits a field of <prefix>acct:<acct>:orders, "SYM:clientOrderId" or "SYM:algo:clientAlgoId"
 * (docs/redis.md), into its symbol (copied to sym) and its client id (*cid points into field);
 * *algo is set for an algo order. Returns 0, or -1 for a field of neither shape. */
int risk_order_field(const char *field, char sym[INTENT_SYM_MAX], const char **cid, int *algo);

#endif
