/* status_trading: the "trading" section of `bfq status` (see status.h).
 *
 * The trading state of every account (<prefix>risk:state:<acct>, and ACTIVE for an account a
 * trader or gateway works for without a state key), then, from the heartbeats, every trader
 * (account, strategy, send mode, symbols watched, stale symbols, signals, intents appended)
 * and every gateway (account, intents read, sent, duplicates dropped, denied by reason,
 * rejected, unknown, entries pending in its consumer group). */
#ifndef BFQ_STATUS_TRADING_H
#define BFQ_STATUS_TRADING_H

#include <jansson.h>
#include <stdio.h>

#include "collectors/status.h"

json_t *status_trading_collect(const struct status_ctx *ctx, char *err, size_t errcap);
void status_trading_print(const json_t *value, const struct status_ctx *ctx, FILE *out);

#endif
