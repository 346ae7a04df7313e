/* tickparse: an all-symbol book-ticker answer turned into one reconciler batch.
 *
 * GET /fapi/v1/ticker/bookTicker (no symbol) answers an array of
 *   {"symbol","bidPrice","bidQty","askPrice","askQty" (decimal strings), "time" (ms)
 *    [, "lastUpdateId"]}.
 * Entries are matched BY SYMBOL, never by position (Binance once sent the array unsorted), and
 * only symbols of the universe are kept. Every entry of a universe symbol is validated
 * (decimal strings that parse exactly and are not negative, a positive time, an integer
 * lastUpdateId when present, a symbol at most once); a bad entry is left out alone and counted
 * in `dropped` (a second entry of a symbol is the one left out), so one malformed entry never
 * silences the other symbols. The whole answer is refused only for a bad shape: not an array,
 * more than TICKPARSE_ENTRIES_MAX entries, or not one usable entry. A well-formed entry whose
 * time is later than the universe's time_limit (binance_time_limit: the exchange clock plus a
 * tolerance) is left out too and counted in `future` (it would otherwise win its record until
 * real time caught up). For each kept symbol the batch gets the record
 *   field SYM -> {"b":bid,"B":bidQty,"a":ask,"A":askQty,"T":time}, t = time,
 *   uid = lastUpdateId or 0, published as [bid,ask,T]
 * with the exchange's strings kept verbatim. A symbol whose (time, lastUpdateId) is not newer
 * than what this process last put in a batch is left out (Redis would keep the stored record
 * anyway): on Binance most symbols do not change between two requests 125 ms apart, so batches
 * stay small. tick_universe_forget drops that memory (after a failed write, a reconnect, and
 * periodically, so a record lost in Redis is written again). The batch goes to bfq_merge
 * (replace mode) on <prefix>ticks with its companion <prefix>ticks:ts, channel <prefix>ch:tick,
 * message key "ticks": Redis keeps the freshest record per symbol and publishes only the changed
 * ones.
 *
 * `bfq tick` and bench/bench_pipeline.c both call this, so the benchmark measures exactly the
 * collector's work. Single-threaded; no I/O. */
#ifndef BFQ_TICKPARSE_H
#define BFQ_TICKPARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct recon_batch;

#define TICKPARSE_SYMBOLS_MAX 4096 /* universe size cap */
#define TICKPARSE_ENTRIES_MAX 8192 /* entries in one answer; more is malformed */
#define TICKPARSE_SYMBOL_MAX 32    /* bytes of a symbol name */
#define TICKPARSE_ERR_MAX 160

/* The set of symbols to keep: a sorted copy, searched by bisection, with the (time, update id)
 * last batched for each (0 = none). */
struct tick_universe {
    char **syms;       /* owned */
    int64_t *last_t;   /* owned, n entries */
    int64_t *last_uid; /* owned, n entries */
    size_t n;
    int64_t time_limit; /* entries with a later time are refused; 0 = no limit. Set by the
                         * caller before each fill (bfq tick: binance_time_limit). */
};

/* Replaces u's symbols with syms[0..n) (copied; names over TICKPARSE_SYMBOL_MAX or duplicates
 * are dropped). Returns 0, or -1 on allocation failure or n over TICKPARSE_SYMBOLS_MAX (u is
 * then unchanged). */
int tick_universe_set(struct tick_universe *u, const char *const *syms, size_t n)
    __attribute__((warn_unused_result));
/* The index of sym in the sorted set, or -1 when absent. */
long tick_universe_index(const struct tick_universe *u, const char *sym);
/* Forgets what was batched, so every symbol is sent again. */
void tick_universe_forget(struct tick_universe *u);
void tick_universe_free(struct tick_universe *u);

struct tickparse_stats {
    size_t entries;              /* array entries seen */
    size_t kept;                 /* universe symbols added to the batch */
    size_t same;                 /* universe symbols left out: not newer than already batched */
    size_t foreign;              /* entries of symbols outside the universe (ignored) */
    size_t future;               /* universe entries refused: time after u->time_limit */
    size_t dropped;              /* malformed entries left out (the others kept) */
    int64_t max_t;               /* greatest time among kept entries */
    char err[TICKPARSE_ERR_MAX]; /* why the answer was refused, or (return 0 with future or
                                  * dropped > 0) why the first entry was left out */
};

/* The batch bfq tick sends: keys and channel built from prefix ("bfq:"). NULL on allocation
 * failure or a too-long prefix. The caller owns it (recon_batch_send consumes it). */
struct recon_batch *tickparse_batch_new(const char *prefix);

/* Validates the parsed answer arr and adds one record per good universe entry to b. Returns
 * 0 (bad entries left out and counted in st), or -1 with st->err set when the answer must be
 * refused whole: the caller then frees b unsent. */
int tickparse_fill(const json_t *arr, struct tick_universe *u, struct recon_batch *b,
                   struct tickparse_stats *st) __attribute__((warn_unused_result));

/* The same from the raw body (parsed with jv_parse first). */
int tickparse_fill_body(const char *body, size_t len, struct tick_universe *u,
                        struct recon_batch *b, struct tickparse_stats *st)
    __attribute__((warn_unused_result));

#endif
