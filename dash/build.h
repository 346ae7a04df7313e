/* build: the dashboard's pure logic, apart from any socket, thread or loop, so it is unit-tested
 * on its own (tests/unit/test_dash_build.c).
 *
 * It turns what the fetchers read (rows of the recorder's tables as arrays of strings, Redis
 * hashes parsed into objects field -> JSON, the report of `bfq status`) into the JSON bodies
 * of the API (docs/dash.md): money stays decimal strings end to end (core/decimal for the few
 * sums and ratios made here), times are Unix ms. Every function returns a new reference and
 * never fails on odd input: a record it cannot read is left out or shown as null. */
#ifndef BFQ_DASH_BUILD_H
#define BFQ_DASH_BUILD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DASH_CURVE_MAX 2000 /* points a curve has at most */

/* The window of range "1d", "7d", "30d" (its length in ms) or "all" (0). -1 when unknown. */
int dash_range_ms(const char *range, int64_t *ms);

/* Picks at most max of n items, evenly: the last item of each of max equal buckets, so the
 * first bucket's and the newest item are always among them. Writes the indexes, ascending, to
 * idx (room for max) and returns how many (n when n <= max). */
size_t dash_downsample(size_t n, size_t max, size_t *idx);

/* The width of a time bucket that cuts [lo, hi] into at most max buckets (at least 1 ms). */
int64_t dash_bucket_ms(int64_t lo, int64_t hi, size_t max);

/* The curve body from snapshot rows [minute_ms, wallet, margin_balance, upnl] (oldest first),
 * downsampled to max points: {"range","from","points":n_rows,"t":[..],"balance":[..],
 * "equity":[..],"upnl":[..]} (balance = wallet, equity = margin balance, trimmed decimals). */
json_t *dash_curve(const json_t *rows, const char *range, int64_t from, size_t max);

/* Largest losses from trade rows [symbol, trade_id, side, price, qty, realized_pnl, time_ms]:
 * an array of objects with those members (ids and times as integers). */
json_t *dash_losers(const json_t *rows);

/* Open positions: pos is the account's position hash (field "SYM:SIDE" -> record), orders its
 * open orders (field -> order), ticks the book tickers (SYM -> {"b","a",...}). One object per
 * nonzero position, sorted by field: symbol, side, amt, entry, mark (book mid, null without a
 * tick), upnl, t, and the stop coverage: stop_qty (the quantity of its open stop-ladder algo
 * orders, class sl, on the closing side), hard_stops (open class hs algo orders), coverage
 * (stop_qty / |amt|, 4 decimals). */
json_t *dash_positions(const json_t *pos, const json_t *orders, const json_t *ticks);

/* The class of a client order id ("mo_123" -> "mo", DESIGN.md's classes), else "other". */
const char *dash_order_class(const char *client_id);

/* Open orders: {"by_class":{class:n,...},"orders":[{symbol,client_id,class,algo,side,type,
 * price,qty,status},...]} from the account's open order hash. */
json_t *dash_orders(const json_t *orders);

/* Ages beyond which a health row is stale, ms. */
struct dash_stale {
    int64_t instance; /* a heartbeat's age, and how long an instance may fail */
    int64_t ticks;    /* the oldest book ticker */
    int64_t klines;   /* the oldest kline record of an interval */
    int64_t source;   /* an account source's last message */
};

/* Health from the report of `bfq status` (collectors/status.h): {"instances":[{role,instance,
 * host,source_ip,last_success,last_success_age_ms,errors,requests,weight,ip_weight_minute,
 * version,stale}],"data":[{kind,count,age_ms,stale}],"stale":n}: data rows are the ticks,
 * each kline interval, and each account source ("account main userstream"). An instance is
 * stale when its heartbeat is older than lim->instance or it has been failing (last error
 * after its last success) for longer than that; a data row when its age passes its limit or it
 * was never seen. */
json_t *dash_health(const json_t *report, const struct dash_stale *lim);

/* {"error":why,"part":part}. */
json_t *dash_error(const char *part, const char *why);

/* Constant-time comparison of a presented token with the configured one: 1 when equal. The
 * time depends only on the configured token's length. got may be NULL (no token: 0). */
int dash_token_equal(const char *want, const char *got);

#endif
