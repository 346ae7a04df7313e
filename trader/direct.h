/* direct: a trader's own order path in direct mode ([trader] send = direct).
 *
 * N replicated traders each send their 1/N share of every signal themselves, with the
 * account's key, instead of asking the gateway for 100 %: a lost replica loses 1/N of the
 * volume, never doubles it. Replica k of N (rank among the live trader heartbeats) sends
 * floor(qty / N) to the step, client order id "<class>_<id>.<k>", after the same decision the
 * gateway makes (gate.h, over the trader's own book: trading state, ban list, filters). A
 * share below the filters is skipped and counted. An unknown outcome (5xx, timeout, -1001,
 * -1007: binance_outcome_unknown) is queried by client id until it is found, known not placed,
 * or left unresolved after a bounded number of queries; it is never re-sent (never twice
 * blindly; the share may be lost, not doubled). Only a trader in direct mode holds the secret.
 * Heartbeat counters: direct_sent (found ones included), direct_rejected, direct_unknown (still
 * being queried), direct_found, direct_not_placed, direct_unresolved, direct_queries,
 * direct_denied, direct_skipped. */
#ifndef BFQ_DIRECT_H
#define BFQ_DIRECT_H

#include <jansson.h>
#include <stddef.h>

#include "trader/gate.h"
#include "trader/intent.h"

struct ev_loop;
struct config;
struct direct;

/* Builds the exchange client for [account.<account>] (key and secret) and [exchange] rest_url.
 * Returns NULL with a reason in err. */
struct direct *direct_new(struct ev_loop *loop, struct config *cfg, const char *account, char *err,
                          size_t cap);
/* Cancels what is in flight and what is being queried (counted unresolved) and frees. */
void direct_free(struct direct *d);

/* Sends replica rank's share (0 <= rank < n) of intent in, decided over view v.
 * Returns 0 when sent, -1 when denied or skipped (reason counted). */
int direct_send(struct direct *d, const struct intent *in, const struct gate_view *v, int rank,
                int n);

/* Adds the counters to a heartbeat object. */
void direct_fill(const struct direct *d, json_t *o);

#endif
