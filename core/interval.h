/* interval: Binance's kline intervals ("1m", "15m", "4h", "1d", "1w", "1M", ...) and their
 * lengths, for everything that names bars by interval: the kline collectors
 * (bfq:kline:<interval>:<SYM>), the hot-set's bars and the trader's book. One parser, so every
 * part agrees on which intervals exist. */
#ifndef BFQ_INTERVAL_H
#define BFQ_INTERVAL_H

#include <stdint.h>

/* The length of interval in ms into *ms; "1M" (a calendar month, of no fixed length) gives 0.
 * Returns 0, or -1 for NULL or an interval Binance does not have (exact, case-sensitive:
 * "1m" is a minute, "1M" a month). */
int interval_ms(const char *interval, int64_t *ms);

#endif
