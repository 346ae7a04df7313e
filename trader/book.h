/* book: a trader's local copy of the market and of its account (pure, no I/O).
 *
 * One struct book holds, per universe symbol: its trading filters, a window of bars of one
 * interval indexed by their absolute open time (never the minute of the hour, which broke the
 * original after any outage longer than an hour), the best bid and ask, the account's position
 * and open-order count, and whether it is banned or hot. The loop glue (trader.c) fills it from
 * the Redis keys at start and after every reconnect, then from the channels; this file only
 * applies what it is given, so it is unit-tested without Redis.
 *
 * Update rules:
 *   - a window (the kline key) replaces the symbol's bars;
 *   - a two-bar update (bfq:ch:kline:<iv>) replaces or appends each bar by open time; a bar
 *     that would leave a gap (open time more than one interval after the last) is refused and
 *     the symbol is marked for resync from its key (book_needs_resync);
 *   - a tick widens the current bar's high and low to the ask and bid and moves its close (ask
 *     while the bar is rising, bid while falling, judged by the mid against the open); a tick
 *     in a later interval opens a bar at the previous close (and a gap marks the resync);
 *   - a symbol whose freshest data (kline freshness or tick time, exchange ms) is older than
 *     the book's max age is stale: strategies are not asked about it.
 * Prices and quantities are exact decimals (core/decimal), never doubles. Single-threaded. */
#ifndef BFQ_BOOK_H
#define BFQ_BOOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"

#define BOOK_SYM_MAX 32    /* symbol name with NUL */
#define BOOK_BARS_MAX 64   /* bars kept per symbol (the kline window is 45 by default) */
#define BOOK_SYMS_MAX 4096 /* symbols a book accepts */

struct book_bar {
    int64_t open_time; /* exchange ms */
    struct dec open, high, low, close;
};

struct book_sym {
    char name[BOOK_SYM_MAX];
    int index;       /* position in the book, stable while the book lives */
    int in_universe; /* listed in the last universe snapshot */
    int has_filters;
    struct dec_filters filters;
    struct book_bar bars[BOOK_BARS_MAX]; /* oldest first */
    int nbars;
    int has_tick;
    struct dec bid, ask;
    int64_t tick_t;                /* exchange ms of the last tick applied */
    int64_t kline_t;               /* freshness of the last window or update applied */
    struct dec pos_amt, pos_entry; /* one-way (BOTH) position; zero when flat or unknown */
    int open_orders;
    int banned, hot;
    int resync; /* a gap was seen: reload this symbol from its key */
};

struct book {
    int64_t interval_ms;
    int64_t max_age_ms;    /* data older than this is stale */
    struct book_sym *syms; /* owned, n used of cap */
    int n, cap;
    int *slots; /* open-addressing index by name: -1 empty, else sym index */
    int nslots;
    int ban_all;                                        /* the ban list holds "ALL" */
    int64_t gaps, refused, ticks_applied, bars_applied; /* counters for the heartbeat */
};

enum book_result {
    BOOK_APPLIED = 0,   /* the book changed */
    BOOK_UNCHANGED = 1, /* nothing new (an older or equal update) */
    BOOK_GAP = 2,       /* refused: a gap; the symbol is marked for resync */
    BOOK_INVALID = -1,  /* refused: malformed input */
};

/* Initialises an empty book. interval: one of Binance's (core/interval.h) of fixed length,
 * "1m", "5m", "1h", "1d" ... Returns 0, or -1 for an interval it cannot use (unknown, or
 * "1M", a calendar month). */
int book_init(struct book *b, const char *interval, int64_t max_age_ms)
    __attribute__((warn_unused_result));
void book_free(struct book *b);

/* The symbol of that name, or NULL. */
struct book_sym *book_find(const struct book *b, const char *name);
/* The symbol, added when missing; NULL when the name is too long or the book is full. Adding
 * a symbol may move them all: a struct book_sym pointer is valid until the next book_get
 * that adds one (or book_set_bans, which may add). */
struct book_sym *book_get(struct book *b, const char *name);

/* Replaces the symbol's bars with a window in Binance's kline layout (array of arrays
 * [openTime, open, high, low, close, ...], oldest first) with freshness t; the newest
 * BOOK_BARS_MAX are kept. Clears the resync mark. BOOK_INVALID leaves the bars as they were. */
enum book_result book_load_bars(struct book *b, struct book_sym *s, const json_t *window,
                                int64_t t);

/* Applies an update of the last bars (same layout) by open time, see the top. */
enum book_result book_update_bars(struct book *b, struct book_sym *s, const json_t *bars,
                                  int64_t t);

/* Applies a best bid and ask at exchange time t_ms, see the top. */
enum book_result book_apply_tick(struct book *b, struct book_sym *s, struct dec bid, struct dec ask,
                                 int64_t t_ms);

/* One tick record of symbol sym as Redis holds it: {"b","a","T"} (the bfq:ticks hash) or
 * [bid, ask, T] (a bfq:ch:tick message's member), applied with book_apply_tick. *sp receives
 * the symbol (NULL when the book has no such symbol). BOOK_INVALID when the record does not
 * parse. */
enum book_result book_apply_tick_json(struct book *b, const char *sym, const json_t *v,
                                      struct book_sym **sp);

/* Filters from the field/value pairs of a bfq:symbol:<SYM> hash (kv[2i] field, kv[2i+1]
 * value). Returns 0, or -1 with a reason naming the field when one does not parse. */
int book_parse_filters(const char *const *kv, size_t n, struct dec_filters *out, char *err,
                       size_t errcap);

/* The exchange time of the symbol's freshest data (0 when none). */
int64_t book_data_t(const struct book_sym *s);
/* Nonzero when the symbol has no data younger than max_age at now_ms (exchange ms). */
int book_is_stale(const struct book *b, const struct book_sym *s, int64_t now_ms);

/* The last bar, or NULL; book_prev_bar: the bar one interval before the last, or NULL when
 * it is missing (strategies never compare across a gap). */
const struct book_bar *book_last_bar(const struct book_sym *s);
const struct book_bar *book_prev_bar(const struct book *b, const struct book_sym *s);

/* Nonzero when (last close - previous close) / previous close * 100 compares to pct as asked:
 * cmp > 0: strictly above pct; cmp < 0: strictly below pct. 0 when either bar is missing. */
int book_change_beyond(const struct book *b, const struct book_sym *s, struct dec pct, int cmp);

/* Sets the ban marks from a list of symbols (ALL bans every symbol). */
void book_set_bans(struct book *b, const char *const *syms, size_t n);
int book_is_banned(const struct book *b, const struct book_sym *s);

#endif
