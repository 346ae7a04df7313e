/* mdata: the public market-data endpoints, with bodies built by hand for speed.
 *
 * ping, time, exchangeInfo, klines, depth, ticker/bookTicker, ticker/24hr, ticker/price (v1
 * and v2) and premiumIndex, in Binance's layouts, from the market's price paths. The two
 * endpoints collectors hammer are cheap: the all-symbol bookTicker body is cached per book step
 * (100 ms) and klines are written straight into the answer buffer. */
#ifndef BFQ_SIM_MDATA_H
#define BFQ_SIM_MDATA_H

#include <stdint.h>

#include "sim/ctx.h"
#include "sim/params.h"

struct mdata *mdata_new(struct sim_ctx *c);
void mdata_free(struct mdata *md);

/* The IP weight of a market-data request, or -1 when path is not a market-data endpoint. */
int mdata_weight(const char *method, const char *path, const struct sim_params *p);

/* Answers path at now_ms into r. unsorted: serve the all-symbol bookTicker out of order. */
void mdata_handle(struct mdata *md, const char *path, const struct sim_params *p, int64_t now_ms,
                  int unsorted, struct sim_response *r);

#endif
