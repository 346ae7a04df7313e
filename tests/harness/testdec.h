/* testdec: decimal helpers the unit tests share: a decimal from a literal, a comparison that
 * prints what it got, and the BTCUSDT filters of the recorded exchangeInfo. */
#ifndef BFQ_TESTS_TESTDEC_H
#define BFQ_TESTS_TESTDEC_H

#include "core/decimal.h"

/* The decimal of literal s; a bad literal prints itself and gives 0. */
struct dec th_dec(const char *s);

/* Nonzero when a equals the decimal b; otherwise prints both. */
int th_dec_eq(struct dec a, const char *b);

/* BTCUSDT's filters (tick 0.10, step 0.001, maxQty 1000, market maxQty 120, minNotional 100). */
struct dec_filters th_btc_filters(void);

#endif
