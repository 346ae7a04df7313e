/* bars: checking and correcting a kline window as Binance sends it (pure, no I/O).
 *
 * A window is GET /fapi/v1/klines' answer: an array of bars, oldest first, each an array of 12
 * elements [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades,
 * takerBuyBase, takerBuyQuote, ignore] with times and the trade count as JSON integers and
 * every decimal a string. bars_validate refuses anything else, so a malformed or truncated
 * answer never reaches Redis. bars_correct applies the original system's correction of the
 * still-open last bar from the book: high = max(high, ask), low = min(low, bid), close = ask
 * when the bar is rising (close >= open), else bid. */
#ifndef BFQ_BARS_H
#define BFQ_BARS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"
#include "core/interval.h"

#define BARS_ERR_MAX 160
#define BARS_MAX 1500 /* Binance's largest kline limit */

/* Interval lengths come from core/interval.h (interval_ms): "1M" (a month) gives 0, and its
 * bars are checked for increasing, not consecutive, open times. */

/* Checks a window: a non-empty array of at most max_bars bars of the layout above, decimals
 * that parse, low <= open, close <= high, closeTime = openTime + interval - 1, open times
 * strictly increasing and (interval_ms > 0) on the interval's grid: whole intervals apart
 * (and, for intervals up to 1d, on UTC multiples of the interval), but not necessarily
 * consecutive, since an exchange halt leaves bars out (bars_gaps counts them).
 * Returns 0, or -1 with a reason. */
int bars_validate(const json_t *window, int64_t interval_ms, size_t max_bars, char *err,
                  size_t errcap);

/* The number of bars missing between the bars of a validated window (0 for "1M"). */
size_t bars_gaps(const json_t *window, int64_t interval_ms);

/* The open time of a validated window's last bar (0 when empty). */
int64_t bars_last_open(const json_t *window);

/* The best bid and ask of a book snapshot, with its exchange time. The strings point into the
 * JSON they came from (valid while it lives). */
struct bars_book {
    struct dec bid, ask;
    const char *bid_s, *ask_s;
    int64_t t;
};

/* From GET /fapi/v1/depth (t = T, the time of the book itself, or E only when T is absent:
 * E is when an API node answered, which says nothing of how fresh its data is): first bid
 * and first ask, each a [price, qty] pair of decimal strings, bid <= ask. Returns 0 or -1 with
 * a reason. */
int bars_book_from_depth(const json_t *depth, struct bars_book *out, char *err, size_t errcap);

/* From GET /fapi/v1/ticker/bookTicker?symbol= (t = time). Returns 0 or -1 with a reason. */
int bars_book_from_ticker(const json_t *ticker, struct bars_book *out, char *err, size_t errcap);

/* A new window (new reference) equal to a validated window with its last bar corrected from
 * book as described at the top; NULL on allocation failure. */
json_t *bars_correct(const json_t *window, const struct bars_book *book);

/* A new array holding the last n bars of window (fewer if it is shorter). */
json_t *bars_tail(const json_t *window, size_t n);

#endif
