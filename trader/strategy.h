/* strategy: the interface between `bfq trader` and a strategy written in C.
 *
 * A strategy is a small struct of callbacks registered by name in strategy_table
 * (strategy.c) and chosen with `bfq trader --strategy NAME`. It reads the trader's book
 * through the read-only calls below and returns intents with strategy_emit; the trader sends
 * them to the gateway (or, in direct mode, its own share to the exchange). Its configuration
 * is the section [strategy.NAME]. All callbacks run on the trader's loop, one at a time.
 *
 * Ids: an intent's id must be derived from the signal (intent_derive_id over strategy,
 * symbol, action, bar open time and part), never from a counter or a clock, so that N
 * replicated traders on the same data ask for the same order and the gateway sends it once.
 *
 * A strategy in another language does the same through Redis: read the keys and channels the
 * trader reads (docs/trading.md) and XADD intents to <prefix>intents:<acct>. */
#ifndef BFQ_STRATEGY_H
#define BFQ_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "trader/book.h"
#include "trader/intent.h"

struct strategy_ctx;

struct strategy {
    const char *name;
    const char *summary;
    /* The keys of its section [strategy.<name>], NULL-terminated: the configuration check
     * reports any other key of the section as unknown. */
    const char *const *keys;
    /* Reads [strategy.<name>] from cfg and builds the state (*state, freed by stop).
     * Returns 0, or -1 with a reason naming the key in err. */
    int (*start)(struct strategy_ctx *c, struct config *cfg, void **state, char *err, size_t cap);
    /* The bars or the book of symbol s changed (never called for a stale symbol). */
    void (*on_symbol)(struct strategy_ctx *c, void *state, const struct book_sym *s);
    /* Positions, balances or open orders changed. May be NULL. */
    void (*on_account)(struct strategy_ctx *c, void *state);
    /* Every second. May be NULL. */
    void (*on_timer)(struct strategy_ctx *c, void *state);
    /* Frees the state. May be NULL. */
    void (*stop)(void *state);
};

extern const struct strategy *const strategy_table[];

/* The strategy of that name, or NULL. */
const struct strategy *strategy_find(const char *name);

/* cli_command.section_keys of the trader (core/cli.h): [strategy.<name>] is owned for every
 * strategy of the table, and holds the keys that strategy declares. */
int strategy_section_keys(const char *section, const char *key);

/* ---- what a strategy may call ----------------------------------------------------------- */

const struct book *strategy_book(const struct strategy_ctx *c);
/* Exchange-clock ms now. */
int64_t strategy_now(const struct strategy_ctx *c);
/* Nonzero when s is stale (no data younger than the trader's max age). */
int strategy_stale(const struct strategy_ctx *c, const struct book_sym *s);
/* Hands an intent over (id, op, sym and the order fields set; t and src are filled in).
 * Returns 0 when queued, -1 when it could not be (Redis down: counted). */
int strategy_emit(struct strategy_ctx *c, struct intent *in);
/* Counts a skipped signal under a short reason ("below_min_notional"), shown in the
 * trader's heartbeat. */
void strategy_skip(struct strategy_ctx *c, const char *reason);

#endif
