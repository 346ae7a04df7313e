/* strat_demo: the seed README's demo strategy, built in (`bfq trader --strategy demo`).
 *
 * Per symbol, on every change of its bars or book:
 *   - open long when the position is flat and the 1-minute gain (last close against the
 *     previous bar's close) is above [strategy.demo] open_pct (1 %);
 *   - close when the position is long and the 1-minute change is below close_pct (-0.5 %).
 * An open is `notional` (100 USDT) sized exactly (sizing.h) at the ask for MARKET (the
 * default) or at the bid for a maker order (maker = true: LIMIT GTX at the book, re-priced
 * twice on -5022, then taker); it is skipped, with the reason counted, when it would pass
 * max_positions open positions or max_notional in total, or when the size is below the
 * filters. A close is the whole position, reduce-only MARKET, split by MARKET_LOT_SIZE maxQty.
 * At most one open and one close per symbol and bar: the intent id is derived from the bar's
 * open time, so replicated traders agree on it and the gateway sends it once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trader/sizing.h"
#include "trader/strategy.h"

struct demo {
    struct dec open_pct, close_pct, notional, max_notional;
    int64_t max_positions;
    int maker;
};

static int demo_dec(struct config *cfg, const char *key, const char *def, struct dec *out,
                    char *err, size_t cap)
{
    const char *v = NULL;
    if (config_str(cfg, "strategy.demo", key, def, &v) < 0 ||
        dec_parse(v, (size_t)-1, out) != DEC_OK) {
        snprintf(err, cap, "[strategy.demo] %s: not a decimal", key);
        return -1;
    }
    return 0;
}

static int demo_start(struct strategy_ctx *c, struct config *cfg, void **state, char *err,
                      size_t cap)
{
    struct demo *d = calloc(1, sizeof(*d));
    (void)c;
    if (!d) return -1;
    *state = d;
    if (demo_dec(cfg, "open_pct", "1", &d->open_pct, err, cap) < 0 ||
        demo_dec(cfg, "close_pct", "-0.5", &d->close_pct, err, cap) < 0 ||
        demo_dec(cfg, "notional", "100", &d->notional, err, cap) < 0 ||
        demo_dec(cfg, "max_notional", "1000", &d->max_notional, err, cap) < 0)
        return -1;
    if (config_int(cfg, "strategy.demo", "max_positions", 5, 1, 10000, &d->max_positions) < 0 ||
        config_bool(cfg, "strategy.demo", "maker", 0, &d->maker) < 0) {
        snprintf(err, cap, "%s", config_errstr(cfg));
        return -1;
    }
    if (dec_sign(d->notional) <= 0) {
        snprintf(err, cap, "[strategy.demo] notional: must be positive");
        return -1;
    }
    return 0;
}

/* Open positions and their total notional at the last close. */
static void demo_exposure(const struct book *b, int *count, struct dec *total)
{
    *count = 0;
    *total = dec_from_int(0);
    for (int i = 0; i < b->n; i++) {
        const struct book_sym *s = &b->syms[i];
        const struct book_bar *bar = book_last_bar(s);
        struct dec v;
        if (dec_is_zero(s->pos_amt)) continue;
        (*count)++;
        if (bar && dec_mul(dec_abs(s->pos_amt), bar->close, &v) == DEC_OK &&
            dec_add(*total, v, &v) == DEC_OK)
            *total = v;
    }
}

static void demo_emit(struct strategy_ctx *c, const struct book_sym *s, const char *action,
                      int64_t bar_open, const struct size_plan *plan, struct intent *tmpl)
{
    for (int i = 0; i < plan->parts; i++) {
        struct intent in = *tmpl;
        intent_derive_id("demo", s->name, action, bar_open, i, in.id);
        memcpy(in.sym, s->name, strlen(s->name) + 1);
        in.has_qty = 1;
        in.qty = plan->qty[i];
        (void)strategy_emit(c, &in);
    }
}

static void demo_open(struct strategy_ctx *c, struct demo *d, const struct book_sym *s,
                      const struct book_bar *last)
{
    const struct book *b = strategy_book(c);
    int count;
    struct dec total, after;
    struct size_plan plan;
    if (!s->has_filters || !s->has_tick) {
        strategy_skip(c, "no_filters_or_book");
        return;
    }
    if (book_is_banned(b, s)) {
        strategy_skip(c, "banned");
        return;
    }
    if (s->open_orders > 0) {
        strategy_skip(c, "open_orders");
        return;
    }
    demo_exposure(b, &count, &total);
    if (count >= d->max_positions) {
        strategy_skip(c, "max_positions");
        return;
    }
    if (dec_add(total, d->notional, &after) != DEC_OK || dec_cmp(after, d->max_notional) > 0) {
        strategy_skip(c, "max_notional");
        return;
    }
    struct dec price = d->maker ? s->bid : s->ask;
    enum size_result r = size_notional(&s->filters, d->notional, price, !d->maker, 0, &plan);
    if (r != SIZE_OK) {
        strategy_skip(c, size_result_name(r));
        return;
    }
    struct intent in = {.op = INTENT_ORDER, .side = INTENT_BUY};
    if (d->maker) {
        in.type = INTENT_LIMIT;
        in.tif = INTENT_GTX;
        in.book = 1;
        in.reprice = 2;
        in.fallback_taker = 1;
        memcpy(in.cls, "mo", 3);
    } else {
        in.type = INTENT_MARKET;
        memcpy(in.cls, "to", 3);
    }
    demo_emit(c, s, "open", last->open_time, &plan, &in);
}

static void demo_close(struct strategy_ctx *c, const struct book_sym *s,
                       const struct book_bar *last)
{
    struct size_plan plan;
    enum size_result r = size_qty(&s->filters, s->pos_amt, last->close, 1, 1, &plan);
    if (r != SIZE_OK) {
        strategy_skip(c, size_result_name(r));
        return;
    }
    struct intent in = {
        .op = INTENT_ORDER, .side = INTENT_SELL, .type = INTENT_MARKET, .reduce = 1};
    memcpy(in.cls, "tc", 3);
    demo_emit(c, s, "close", last->open_time, &plan, &in);
}

static void demo_on_symbol(struct strategy_ctx *c, void *state, const struct book_sym *s)
{
    struct demo *d = state;
    const struct book *b = strategy_book(c);
    const struct book_bar *last = book_last_bar(s);
    if (!last || !book_prev_bar(b, s)) return;
    int sign = dec_sign(s->pos_amt);
    if (sign == 0 && book_change_beyond(b, s, d->open_pct, 1))
        demo_open(c, d, s, last);
    else if (sign > 0 && book_change_beyond(b, s, d->close_pct, -1))
        demo_close(c, s, last);
}

static void demo_stop(void *state)
{
    free(state);
}

static const char *const demo_keys[] = {"open_pct",      "close_pct", "notional", "max_notional",
                                        "max_positions", "maker",     NULL};

const struct strategy strategy_demo = {
    .name = "demo",
    .keys = demo_keys,
    .summary = "open long on a 1-minute gain above 1 %, close below -0.5 %",
    .start = demo_start,
    .on_symbol = demo_on_symbol,
    .stop = demo_stop,
};
