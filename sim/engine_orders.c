/* engine_orders: order placement with Binance's validation, matching against the price path,
 * cancels and order queries, single and batched.
 *
 * Validation order: parameters (-1102 missing, -1100 malformed, -1117/-1116/-1115 enums,
 * -4120 conditional types unless classic stops, -4061 positionSide, -1111 precision, -4015
 * client id), then the symbol's status (-4140), filters (-4003/-4004/-4005/-4013/-4014/-4016/
 * -4023/-4164 via dec_check_order, -4016/-4024 PERCENT_PRICE), reduceOnly (-2022), max open
 * orders (-2025), duplicate client id among open orders (-4116), time in force (GTX -5022 when
 * it would take, FOK -5021 when it cannot fill at once: both reject with an error and leave no
 * order, as Binance does today), classic stop already reached (-2021) and margin (-2019).
 *
 * Matching against the market's book (market.h, book.c): MARKET and marketable LIMIT orders
 * walk the levels as taker, one trade per level, consuming the liquidity (the book shows less
 * and refills over a few seconds); what a LIMIT cannot take at its price rests (IOC expires,
 * FOK is refused with -5021 unless the depth holds all of it; a MARKET beyond PERCENT_PRICE of
 * the mark is refused with -4131). A resting LIMIT joins the back of its level's queue and is
 * checked by eng_orders_tick over every book step since its last look: the market's takers at
 * its price consume the queue ahead first, then fill it, partially when the flow is smaller
 * (PARTIALLY_FILLED lasts until more flow comes); the market trading through its price (BUY:
 * ask <= price) fills the rest. Maker fills are at the order's price. A reduce-only fill is
 * cut to the position; the rest expires. Liquidation (eng_liquidate_tick): below maintenance
 * margin the exchange cancels the account's orders and closes each position at the mark with
 * an "autoclose-" order.
 * newOrderRespType ACK (the default) answers the order as accepted (status NEW, nothing
 * executed, even for a MARKET order that filled at once); RESULT answers its final state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"
#include "sim/engine_internal.h"

#define ENG_BATCH_MAX 5
#define ENG_BATCH_CANCEL_MAX 10
#define ENG_BATCH_BODY_MAX 16384

int eng_order_is_open(const struct eng_order *o)
{
    return o->status == ENG_NEW || o->status == ENG_PARTIALLY_FILLED;
}

int eng_open_orders(const struct sim_account *a, int sym)
{
    int n = 0;
    for (size_t i = 0; i < a->orders.n; i++)
        if ((sym < 0 || a->orders.v[i].sym == sym) && eng_order_is_open(&a->orders.v[i])) n++;
    return n;
}

struct eng_order *eng_order_find(struct sim_account *a, int sym, int64_t id, const char *cid)
{
    struct eng_order *found = NULL;
    for (size_t i = a->orders.n; i-- > 0;) {
        struct eng_order *o = &a->orders.v[i];
        if (o->sym != sym) continue;
        if (id > 0 && o->id == id) return o;
        if (id <= 0 && cid && !strcmp(o->client_id, cid)) {
            if (eng_order_is_open(o)) return o;
            if (!found) found = o;
        }
    }
    return found;
}

static int client_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 36) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == ':' || c == '/' || c == '_' || c == '-';
        if (!ok) return 0;
    }
    return 1;
}

/* The price a conditional order watches. */
static struct dec watch_price(struct sim_engine *e, int sym, int working, int64_t now_ms)
{
    return working == ENG_MARK_PRICE ? sim_market_mark(e->m, sym, now_ms)
                                     : sim_market_last(e->m, sym, now_ms);
}

int eng_price_protected(struct sim_engine *e, int sym, int64_t now_ms)
{
    struct dec mark = sim_market_mark(e->m, sym, now_ms), last = sim_market_last(e->m, sym, now_ms);
    struct dec gap = dec_abs(eng_sub(last, mark)), bound = eng_mul(mark, (struct dec){500, 4}, 12);
    return dec_cmp(gap, bound) > 0; /* triggerProtect 0.05 of exchangeInfo */
}

/* STOP*: BUY when price >= stop, SELL when <=; TAKE_PROFIT*: the reverse. */
static int stop_reached(int type, int side, struct dec price, struct dec stop)
{
    int c = dec_cmp(price, stop);
    int stop_like = type == ENG_STOP || type == ENG_STOP_MARKET;
    if (stop_like) return side == ENG_BUY ? c >= 0 : c <= 0;
    return side == ENG_BUY ? c <= 0 : c >= 0;
}

/* ---- parsing ---- */

struct eng_req {
    struct eng_order o;
    int resp_result;
    int has_qty;
};

static int parse_enums(const struct sim_params *p, struct eng_order *o, int classic,
                       struct eng_err *err)
{
    const char *ps;
    int r;
    if (!sim_param(p, "side")) return eng_err_missing(err, "side");
    if (eng_param_enum(p, "side", eng_side_names, 2, &o->side, -1117, "Invalid side.", err) < 0)
        return -1;
    if (!sim_param(p, "type")) return eng_err_missing(err, "type");
    if (eng_param_enum(p, "type", eng_type_names, ENG_TYPE_COUNT, &o->type, -1116,
                       "Invalid orderType.", err) < 0)
        return -1;
    if (eng_is_conditional(o->type) && !classic)
        return eng_set_err(err, -4120,
                           "Order type not supported for this endpoint. Please use the Algo "
                           "Order API endpoints instead.");
    ps = sim_param(p, "positionSide");
    if (ps && strcmp(ps, "BOTH"))
        return eng_set_err(err, -4061, "Order's position side does not match user's setting.");
    o->tif = ENG_GTC;
    r = eng_param_enum(p, "timeInForce", eng_tif_names, ENG_TIF_COUNT, &o->tif, -1115,
                       "Invalid timeInForce.", err);
    if (r < 0) return -1;
    if (r == 0 && (o->type == ENG_LIMIT || o->type == ENG_STOP || o->type == ENG_TAKE_PROFIT))
        return eng_err_missing(err, "timeInForce");
    if (eng_param_enum(p, "workingType", eng_working_names, 2, &o->working, -1100,
                       "Illegal characters found in parameter 'workingType'.", err) < 0)
        return -1;
    return 0;
}

static int parse_flags(const struct sim_params *p, struct eng_req *q, struct eng_err *err)
{
    const char *rt = sim_param(p, "newOrderRespType");
    if (eng_param_bool(p, "reduceOnly", &q->o.reduce_only, err) < 0) return -1;
    if (eng_param_bool(p, "closePosition", &q->o.close_position, err) < 0) return -1;
    if (eng_param_bool(p, "priceProtect", &q->o.price_protect, err) < 0) return -1;
    if (rt && strcmp(rt, "ACK") && strcmp(rt, "RESULT"))
        return eng_err_illegal(err, "newOrderRespType");
    q->resp_result = rt && !strcmp(rt, "RESULT");
    if (q->o.close_position) {
        if (q->o.type != ENG_STOP_MARKET && q->o.type != ENG_TAKE_PROFIT_MARKET)
            return eng_set_err(err, -1106,
                               "Parameter 'closePosition' sent when not required.");
        if (sim_param(p, "reduceOnly") && q->o.reduce_only)
            return eng_set_err(err, -1106, "Parameter 'reduceOnly' sent when not required.");
    }
    return 0;
}

static int parse_numbers(struct sim_engine *e, const struct sim_params *p, struct eng_req *q,
                         struct eng_err *err)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, q->o.sym);
    int ps = eng_price_scale(s), qs = eng_qty_scale(s), r;
    struct eng_order *o = &q->o;
    int needs_price = o->type == ENG_LIMIT || o->type == ENG_STOP || o->type == ENG_TAKE_PROFIT;
    int needs_stop = o->type != ENG_LIMIT && o->type != ENG_MARKET &&
                     o->type != ENG_TRAILING_STOP_MARKET;

    r = eng_param_dec(p, "quantity", qs, &o->qty, err);
    if (r < 0) return -1;
    q->has_qty = r;
    if (o->close_position && r)
        return eng_set_err(err, -1106, "Parameter 'quantity' sent when not required.");
    if (!o->close_position && !r) return eng_err_missing(err, "quantity");
    r = eng_param_dec(p, "price", ps, &o->price, err);
    if (r < 0) return -1;
    if (needs_price && !r) return eng_err_missing(err, "price");
    r = eng_param_dec(p, "stopPrice", ps, &o->stop_price, err);
    if (r < 0) return -1;
    if (needs_stop && !r) return eng_err_missing(err, "stopPrice");
    if (o->type == ENG_TRAILING_STOP_MARKET) {
        r = eng_param_dec(p, "callbackRate", 2, &o->callback_rate, err);
        if (r < 0) return -1;
        if (!r || dec_cmp(o->callback_rate, (struct dec){1, 1}) < 0 ||
            dec_cmp(o->callback_rate, dec_from_int(10)) > 0)
            return eng_err_missing(err, "callbackRate");
        if (eng_param_dec(p, "activationPrice", ps, &o->activate_price, err) < 0) return -1;
    }
    r = eng_param_int(p, "goodTillDate", &o->good_till_date, err);
    if (r < 0) return -1;
    if (o->tif == ENG_GTD && !r) return eng_err_missing(err, "goodTillDate");
    return 0;
}

static int parse_order(struct sim_engine *e, const struct sim_params *p, struct eng_req *q,
                       struct eng_err *err)
{
    const char *cid = sim_param(p, "newClientOrderId");
    memset(q, 0, sizeof *q);
    q->o.sym = eng_param_symbol(e, p, 1, err);
    if (q->o.sym < 0) return -1;
    if (parse_enums(p, &q->o, e->opts.classic_stops, err) < 0) return -1;
    q->o.orig_type = q->o.type;
    if (parse_flags(p, q, err) < 0) return -1;
    if (parse_numbers(e, p, q, err) < 0) return -1;
    if (cid) {
        if (!client_id_valid(cid)) return eng_set_err(err, -4015, "Client order id is not valid.");
        snprintf(q->o.client_id, sizeof q->o.client_id, "%s", cid);
    }
    return 0;
}

/* ---- rules ---- */

int eng_filter_err(enum dec_check c, const struct sim_symbol *s, struct eng_err *err)
{
    char n[DEC_STR_MAX];
    switch (c) {
    case DEC_CHECK_OK: return 0;
    case DEC_CHECK_QTY_ZERO: return eng_set_err(err, c, "Quantity less than or equal to zero.");
    case DEC_CHECK_QTY_BELOW_MIN: return eng_set_err(err, c, "Quantity less than min quantity.");
    case DEC_CHECK_QTY_ABOVE_MAX:
        return eng_set_err(err, c, "Quantity greater than max quantity.");
    case DEC_CHECK_PRICE_BELOW_MIN: return eng_set_err(err, c, "Price less than min price.");
    case DEC_CHECK_PRICE_NOT_TICK:
        return eng_set_err(err, c, "Price not increased by tick size.");
    case DEC_CHECK_PRICE_ABOVE_MAX: return eng_set_err(err, c, "Price greater than max price.");
    case DEC_CHECK_QTY_NOT_STEP:
        return eng_set_err(err, c, "Quantity not increased by step size.");
    case DEC_CHECK_NOTIONAL:
        if (dec_format(s->filters.min_notional, n, sizeof n) < 0) snprintf(n, sizeof n, "5");
        return eng_set_err(err, c,
                           "Order's notional must be no smaller than %s (unless you choose "
                           "reduce only).",
                           n);
    }
    return eng_set_err(err, -1000, "An unknown error occured while processing the request.");
}

static int check_percent_price(struct sim_engine *e, const struct eng_order *o,
                               int64_t now_ms, struct eng_err *err)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, o->sym);
    struct dec mark = sim_market_mark(e->m, o->sym, now_ms), lim;
    char buf[DEC_STR_MAX];
    int ps = eng_price_scale(s);
    if (o->type != ENG_LIMIT && o->type != ENG_STOP && o->type != ENG_TAKE_PROFIT) return 0;
    if (o->side == ENG_BUY && !dec_is_zero(s->mult_up)) {
        lim = eng_mul(mark, s->mult_up, ps);
        dec_format_scale(lim, ps, DEC_ROUND_DOWN, buf, sizeof buf);
        if (dec_cmp(o->price, lim) > 0)
            return eng_set_err(err, -4016, "Limit price can't be higher than %s.", buf);
    }
    if (o->side == ENG_SELL && !dec_is_zero(s->mult_down)) {
        lim = eng_mul(mark, s->mult_down, ps);
        dec_format_scale(lim, ps, DEC_ROUND_UP, buf, sizeof buf);
        if (dec_cmp(o->price, lim) < 0)
            return eng_set_err(err, -4024, "Limit price can't be lower than %s.", buf);
    }
    return 0;
}

static int check_filters(struct sim_engine *e, const struct eng_order *o, int64_t now_ms,
                         struct eng_err *err)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, o->sym);
    int market = eng_type_is_market(o->type);
    struct dec ref = o->price;
    if (o->type == ENG_MARKET || o->type == ENG_TRAILING_STOP_MARKET)
        ref = sim_market_mark(e->m, o->sym, now_ms);
    else if (market)
        ref = o->stop_price;
    if (!o->close_position &&
        eng_filter_err(dec_check_order(&s->filters, ref, o->qty, market, o->reduce_only), s, err))
        return -1;
    if (eng_is_conditional(o->type) && o->type != ENG_TRAILING_STOP_MARKET) {
        if (dec_sign(o->stop_price) <= 0)
            return eng_set_err(err, -4013, "Price less than min price.");
        if (!dec_is_multiple(o->stop_price, s->filters.min_price, s->filters.tick))
            return eng_set_err(err, -4014, "Price not increased by tick size.");
    }
    return check_percent_price(e, o, now_ms, err);
}

/* reduceOnly must reduce: a position on the other side must exist. */
static int check_reduce_only(const struct sim_account *a, const struct eng_order *o,
                             struct eng_err *err)
{
    if (o->reduce_only && !o->close_position && !eng_reduces(a, o->sym, o->side))
        return eng_set_err(err, -2022, "ReduceOnly Order is rejected.");
    return 0;
}

/* Whether the book holds o's whole quantity up to limit (zero: any price) now; *worst is the
 * last price it would reach. */
static int book_walk(struct sim_engine *e, const struct eng_order *o, struct dec limit,
                     int64_t now_ms, struct dec *worst)
{
    static struct sim_take lv[SIM_DEPTH_MAX]; /* one loop, one thread */
    struct dec got;
    int n = sim_market_take(e->m, o->sym, now_ms, o->side == ENG_BUY, o->qty, limit, 0, lv,
                            SIM_DEPTH_MAX, &got);
    if (n > 0) *worst = lv[n - 1].price;
    return n > 0 && dec_cmp(got, o->qty) >= 0;
}

static int book_can_fill(struct sim_engine *e, const struct eng_order *o, struct dec limit,
                         int64_t now_ms)
{
    struct dec worst;
    return book_walk(e, o, limit, now_ms, &worst);
}

/* -4131: a MARKET order that would trade beyond the PERCENT_PRICE bounds around the mark. */
static int check_market_protect(struct sim_engine *e, const struct eng_order *o, int64_t now_ms,
                                struct eng_err *err)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, o->sym);
    struct dec mark = sim_market_mark(e->m, o->sym, now_ms), worst = mark, lim;
    int ps = eng_price_scale(s);
    if (o->close_position || dec_is_zero(o->qty)) return 0;
    book_walk(e, o, dec_from_int(0), now_ms, &worst);
    lim = eng_mul(mark, o->side == ENG_BUY ? s->mult_up : s->mult_down, ps);
    if (o->side == ENG_BUY ? dec_cmp(worst, lim) > 0 : dec_cmp(worst, lim) < 0)
        return eng_set_err(err, -4131,
                           "The counterparty's best price does not meet the PERCENT_PRICE "
                           "filter limit.");
    return 0;
}

static int check_book(struct sim_engine *e, struct sim_account *a, const struct eng_order *o,
                      int64_t now_ms, struct eng_err *err)
{
    struct sim_book b;
    int crosses;
    if (eng_open_orders(a, o->sym) >= sim_market_symbol(e->m, o->sym)->max_orders)
        return eng_set_err(err, -2025, "Reach max open order limit.");
    if (o->client_id[0]) {
        for (size_t i = 0; i < a->orders.n; i++)
            if (eng_order_is_open(&a->orders.v[i]) &&
                !strcmp(a->orders.v[i].client_id, o->client_id))
                return eng_set_err(err, -4116, "ClientOrderId is duplicated.");
    }
    if (o->type == ENG_MARKET) return check_market_protect(e, o, now_ms, err);
    if (o->type != ENG_LIMIT) return 0;
    sim_market_book(e->m, o->sym, now_ms, &b);
    crosses = o->side == ENG_BUY ? dec_cmp(o->price, b.ask) >= 0 : dec_cmp(o->price, b.bid) <= 0;
    if (o->tif == ENG_FOK && crosses && !book_can_fill(e, o, o->price, now_ms)) crosses = 0;
    if (o->tif == ENG_GTX && crosses)
        return eng_set_err(err, -5022,
                           "Due to the order could not be executed as maker, the Post Only "
                           "order will be rejected. The order will not be recorded in the "
                           "order history");
    if (o->tif == ENG_FOK && !crosses)
        return eng_set_err(err, -5021,
                           "Due to the order could not be filled immediately, the FOK order "
                           "has been rejected. The order will not be recorded in the order "
                           "history");
    return 0;
}

static int check_trigger_and_margin(struct sim_engine *e, struct sim_account *a,
                                    const struct eng_order *o, int64_t now_ms,
                                    struct eng_err *err)
{
    struct sim_book b;
    struct dec ref, need;
    if (eng_is_conditional(o->type)) {
        if (o->type != ENG_TRAILING_STOP_MARKET &&
            stop_reached(o->type, o->side, watch_price(e, o->sym, o->working, now_ms),
                         o->stop_price))
            return eng_set_err(err, -2021, "Order would immediately trigger.");
        return 0; /* no margin check before the trigger */
    }
    if (o->reduce_only) return 0;
    sim_market_book(e->m, o->sym, now_ms, &b);
    ref = o->type == ENG_MARKET ? (o->side == ENG_BUY ? b.ask : b.bid) : o->price;
    need = eng_order_margin(e, a, o->sym, o->side, o->qty, ref);
    if (dec_cmp(need, eng_available(e, a, now_ms)) > 0)
        return eng_set_err(err, -2019, "Margin is insufficient.");
    return 0;
}

static int check_order(struct sim_engine *e, struct sim_account *a, const struct eng_order *o,
                       int64_t now_ms, struct eng_err *err)
{
    if (!eng_symbol_tradable(sim_market_symbol(e->m, o->sym)))
        return eng_set_err(err, -4140, "Invalid symbol status for opening position.");
    if (check_filters(e, o, now_ms, err) < 0) return -1;
    if (check_reduce_only(a, o, err) < 0) return -1;
    if (check_book(e, a, o, now_ms, err) < 0) return -1;
    return check_trigger_and_margin(e, a, o, now_ms, err);
}

/* ---- matching ---- */

static void order_final(struct sim_engine *e, struct sim_account *a, size_t idx, int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    if (!eng_order_is_open(o) && o->algo_id) eng_algo_order_done(e, a, o, now_ms);
}

static void expire(struct sim_engine *e, struct sim_account *a, size_t idx, int reason,
                   int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    o->status = ENG_EXPIRED;
    o->expiry_reason = reason;
    o->update_time = now_ms;
    eng_emit_order(e, a, o, "EXPIRED", NULL, now_ms);
    order_final(e, a, idx, now_ms);
}

/* Fills qty of order idx at price (cut to the position for reduce-only, the rest expires).
 * Returns 0, or -1 when the order is no longer open afterwards for a reason other than being
 * filled. */
static int fill_qty(struct sim_engine *e, struct sim_account *a, size_t idx, struct dec qty,
                    struct dec price, int maker, int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    struct dec amt = a->pos[o->sym].amt, left = eng_sub(o->qty, o->executed);
    struct eng_fill f;
    int cut = 0;
    if (dec_cmp(qty, left) > 0) qty = left;
    if (o->reduce_only || o->close_position) {
        int reduces = (o->side == ENG_SELL && dec_sign(amt) > 0) ||
                      (o->side == ENG_BUY && dec_sign(amt) < 0);
        if (!reduces) {
            expire(e, a, idx, 4, now_ms);
            return -1;
        }
        if (dec_cmp(qty, dec_abs(amt)) >= 0 && dec_cmp(left, dec_abs(amt)) > 0) {
            qty = dec_abs(amt);
            cut = 1;
        }
    }
    eng_apply_fill(e, a, o->sym, o->side, qty, price, maker, o->id, now_ms, &f);
    o = &a->orders.v[idx];
    o->executed = eng_add(o->executed, qty);
    o->cum_quote = eng_add(o->cum_quote, eng_mul(qty, price, price.scale + qty.scale));
    o->avg_price = eng_div(o->cum_quote, o->executed, price.scale > 8 ? price.scale : 8);
    o->status = dec_cmp(o->executed, o->qty) >= 0 ? ENG_FILLED : ENG_PARTIALLY_FILLED;
    o->update_time = now_ms;
    eng_emit_trade_lite(e, a, o, &f, now_ms);
    eng_emit_account(e, a, "ORDER", o->sym, dec_from_int(0), now_ms);
    eng_emit_order(e, a, o, "TRADE", &f, now_ms);
    if (cut) {
        expire(e, a, idx, 4, now_ms);
        return -1;
    }
    order_final(e, a, idx, now_ms);
    return 0;
}

/* Walks the book for order idx as a taker (up to its price for a LIMIT) and fills level by
 * level; only what was filled is taken from the book (a reduce-only order may stop early).
 * Returns the quantity filled. */
static struct dec take(struct sim_engine *e, struct sim_account *a, size_t idx, int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    struct sim_take lv[SIM_DEPTH_MAX];
    struct dec got, done = dec_from_int(0), zero = dec_from_int(0);
    struct dec limit = o->type == ENG_LIMIT ? o->price : zero;
    int sym = o->sym, buy = o->side == ENG_BUY;
    int n = sim_market_take(e->m, sym, now_ms, buy, eng_sub(o->qty, o->executed), limit, 0, lv,
                            SIM_DEPTH_MAX, &got);
    for (int k = 0; k < n; k++) {
        struct dec before = a->orders.v[idx].executed;
        int r = fill_qty(e, a, idx, lv[k].qty, lv[k].price, 0, now_ms);
        done = eng_add(done, eng_sub(a->orders.v[idx].executed, before));
        if (r < 0 || !eng_order_is_open(&a->orders.v[idx])) break;
    }
    if (dec_sign(done) > 0)
        sim_market_take(e->m, sym, now_ms, buy, done, limit, 1, lv, SIM_DEPTH_MAX, &got);
    return done;
}

/* Queues a resting LIMIT at its price: behind what rests there now on its side (nothing when
 * it improves on the best), seeing the market's trades from the next book step on. */
static void join_queue(struct sim_engine *e, struct eng_order *o, int front, int64_t now_ms)
{
    o->queue_ahead = front ? dec_from_int(0)
                           : sim_market_qty_at(e->m, o->sym, now_ms, o->side == ENG_SELL, o->price);
    o->flow_step = sim_market_step_of(now_ms);
}

/* What a fresh (or just triggered) order does against the book now. */
static void match_new(struct sim_engine *e, struct sim_account *a, size_t idx, int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    struct sim_book b;
    struct dec best;
    int crosses;
    if (o->type != ENG_MARKET && o->type != ENG_LIMIT) return;
    sim_market_book(e->m, o->sym, now_ms, &b);
    best = o->side == ENG_BUY ? b.ask : b.bid;
    crosses = o->type == ENG_MARKET ||
              (o->side == ENG_BUY ? dec_cmp(o->price, best) >= 0 : dec_cmp(o->price, best) <= 0);
    if (crosses && o->type == ENG_LIMIT && o->tif == ENG_GTX) {
        expire(e, a, idx, 0, now_ms); /* a post-only algo child would take */
        return;
    }
    if (crosses) take(e, a, idx, now_ms);
    o = &a->orders.v[idx];
    if (!eng_order_is_open(o)) return;
    if (o->type == ENG_MARKET || o->tif == ENG_IOC || o->tif == ENG_FOK) {
        expire(e, a, idx, o->tif == ENG_FOK ? 0 : 2, now_ms);
        return;
    }
    join_queue(e, o, crosses, now_ms);
}

/* Keeps the order list bounded: when full, drops the oldest half of the finished orders
 * (open orders always stay). Called only before an append, when no index is held. */
static void compact(struct sim_account *a)
{
    size_t drop, w = 0;
    if (a->orders.n < ENG_HISTORY_MAX) return;
    drop = (a->orders.n - (size_t)eng_open_orders(a, -1)) / 2;
    for (size_t i = 0; i < a->orders.n; i++) {
        if (drop && !eng_order_is_open(&a->orders.v[i])) {
            drop--;
            continue;
        }
        a->orders.v[w++] = a->orders.v[i];
    }
    a->orders.n = w;
}

/* Appends the order (id, client id, times) and emits NEW. Returns its index. */
static size_t place(struct sim_engine *e, struct sim_account *a, const struct eng_order *tmpl,
                    int64_t now_ms)
{
    struct eng_order *o;
    compact(a);
    o = ENG_PUSH(a->orders);
    *o = *tmpl;
    o->id = e->next_order_id++;
    if (!o->client_id[0]) eng_client_id(e, o->client_id);
    o->status = ENG_NEW;
    o->executed = o->cum_quote = o->avg_price = dec_from_int(0);
    o->time = o->update_time = now_ms;
    eng_emit_order(e, a, o, "NEW", NULL, now_ms);
    return a->orders.n - 1;
}

long eng_order_submit(struct sim_engine *e, struct sim_account *a, const struct eng_order *tmpl,
                      int64_t now_ms, struct eng_err *err)
{
    size_t idx;
    if (check_reduce_only(a, tmpl, err) < 0) return -1;
    idx = place(e, a, tmpl, now_ms);
    match_new(e, a, idx, now_ms);
    return (long)idx;
}

/* Validates and places one order from parameters; the answer (order or error) goes to *out
 * (status via *status). Returns 1 when an order was placed. */
static int new_order(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                     int64_t now_ms, json_t **out, int *status)
{
    struct eng_req q;
    struct eng_err err;
    size_t idx;
    json_t *ack;
    if (parse_order(e, p, &q, &err) < 0 || check_order(e, a, &q.o, now_ms, &err) < 0) {
        *out = eng_err_json(&err);
        *status = 400;
        return 0;
    }
    idx = place(e, a, &q.o, now_ms);
    ack = q.resp_result ? NULL : eng_order_json(e, &a->orders.v[idx], ENG_VIEW_RESPONSE);
    match_new(e, a, idx, now_ms);
    *out = ack ? ack : eng_order_json(e, &a->orders.v[idx], ENG_VIEW_RESPONSE);
    *status = 200;
    return 1;
}

/* ---- tick ---- */

static int classic_trigger(struct sim_engine *e, struct eng_order *o, int64_t now_ms)
{
    struct dec px = watch_price(e, o->sym, o->working, now_ms);
    if (o->price_protect && eng_price_protected(e, o->sym, now_ms)) return 0;
    if (o->type == ENG_TRAILING_STOP_MARKET)
        return eng_trailing_step(o->side, px, o->activate_price, o->callback_rate,
                                 &o->trail_active, &o->trail_extreme);
    return stop_reached(o->type, o->side, px, o->stop_price);
}

/* A resting LIMIT over the book steps since it last looked: the market traded through its
 * price (BUY: ask <= price) fills the rest; at its price, the sellers' (buyers') flow first
 * consumes the queue ahead, then fills it, partially when the flow is smaller; a price better
 * than the market's best puts it at the front. One fill per tick at its own price, as maker. */
#define ENG_FLOW_STEPS_MAX 36000 /* an hour of book steps at most per tick */
static void rest_tick(struct sim_engine *e, struct sim_account *a, size_t idx, int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    int64_t last = sim_market_step_of(now_ms), st = o->flow_step + 1;
    struct dec left = eng_sub(o->qty, o->executed), got = dec_from_int(0);
    int buy = o->side == ENG_BUY;
    if (last - st >= ENG_FLOW_STEPS_MAX) st = last - ENG_FLOW_STEPS_MAX + 1;
    for (; st <= last && dec_cmp(got, left) < 0; st++) {
        struct sim_step k;
        sim_market_step(e->m, o->sym, st, &k);
        int through = buy ? dec_cmp(k.ask, o->price) <= 0 : dec_cmp(k.bid, o->price) >= 0;
        if (through) {
            got = left;
            break;
        }
        int c = buy ? dec_cmp(k.bid, o->price) : dec_cmp(o->price, k.ask);
        if (c > 0) continue; /* the market's best is better: behind it */
        if (c < 0) o->queue_ahead = dec_from_int(0);
        struct dec flow = buy ? k.sell_flow : k.buy_flow;
        if (dec_cmp(o->queue_ahead, flow) >= 0) {
            o->queue_ahead = eng_sub(o->queue_ahead, flow);
            continue;
        }
        got = eng_add(got, eng_sub(flow, o->queue_ahead));
        o->queue_ahead = dec_from_int(0);
    }
    o->flow_step = last;
    if (dec_sign(got) > 0) fill_qty(e, a, idx, got, o->price, 1, now_ms);
}

static void tick_order(struct sim_engine *e, struct sim_account *a, size_t idx, int64_t now_ms)
{
    struct eng_order *o = &a->orders.v[idx];
    if (o->tif == ENG_GTD && o->good_till_date > 0 && now_ms >= o->good_till_date) {
        expire(e, a, idx, 6, now_ms);
        return;
    }
    if (eng_is_conditional(o->type)) {
        if (!classic_trigger(e, o, now_ms)) return;
        o->triggered = 1;
        o->type = eng_type_is_market(o->orig_type) ? ENG_MARKET : ENG_LIMIT;
        if (o->close_position) o->qty = dec_abs(a->pos[o->sym].amt);
        o->update_time = now_ms;
        if (o->close_position && dec_is_zero(o->qty)) {
            expire(e, a, idx, 0, now_ms);
            return;
        }
        eng_emit_order(e, a, o, "NEW", NULL, now_ms);
        match_new(e, a, idx, now_ms);
        return;
    }
    if (o->type != ENG_LIMIT) return;
    rest_tick(e, a, idx, now_ms);
}

void eng_orders_tick(struct sim_engine *e, struct sim_account *a, int64_t now_ms)
{
    size_t n = a->orders.n; /* orders placed during the tick wait for the next one */
    for (size_t i = 0; i < n; i++)
        if (eng_order_is_open(&a->orders.v[i])) tick_order(e, a, i, now_ms);
}

/* ---- cancel and queries ---- */

/* Finds the order named by orderId / origClientOrderId of symbol sym; -1 with err when the
 * parameters are missing or malformed, 0 when not found, 1 when found. */
static int lookup(struct sim_account *a, int sym, const struct sim_params *p,
                  struct eng_order **out, struct eng_err *err)
{
    int64_t id = 0;
    const char *cid = sim_param(p, "origClientOrderId");
    int r = eng_param_int(p, "orderId", &id, err);
    if (r < 0) return -1;
    if (!r && (!cid || !*cid))
        return eng_set_err(err, -1102,
                           "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                           "empty/null!");
    *out = eng_order_find(a, sym, r ? id : 0, cid);
    return *out != NULL;
}

static json_t *cancel(struct sim_engine *e, struct sim_account *a, struct eng_order *o,
                      int64_t now_ms)
{
    size_t idx = (size_t)(o - a->orders.v);
    o->status = ENG_CANCELED;
    o->update_time = now_ms;
    eng_emit_order(e, a, o, "CANCELED", NULL, now_ms);
    order_final(e, a, idx, now_ms);
    return eng_order_json(e, &a->orders.v[idx], ENG_VIEW_RESPONSE);
}

void eng_liquidate_tick(struct sim_engine *e, struct sim_account *a, int64_t now_ms)
{
    int n = 0;
    if (!eng_below_maintenance(e, a, now_ms)) return;
    for (size_t i = 0; i < a->orders.n; i++)
        if (eng_order_is_open(&a->orders.v[i])) json_decref(cancel(e, a, &a->orders.v[i], now_ms));
    for (int s = 0; s < e->nsym; s++) {
        struct dec amt = a->pos[s].amt;
        struct eng_order t;
        if (dec_is_zero(amt)) continue;
        memset(&t, 0, sizeof t);
        t.sym = s;
        t.side = dec_sign(amt) > 0 ? ENG_SELL : ENG_BUY;
        t.type = t.orig_type = ENG_LIMIT;
        t.tif = ENG_IOC;
        t.reduce_only = 1;
        t.qty = dec_abs(amt);
        t.price = sim_market_mark(e->m, s, now_ms);
        if (n++)
            snprintf(t.client_id, sizeof t.client_id, "autoclose-%lld-%d", (long long)now_ms, n);
        else
            snprintf(t.client_id, sizeof t.client_id, "autoclose-%lld", (long long)now_ms);
        size_t idx = place(e, a, &t, now_ms);
        fill_qty(e, a, idx, t.qty, t.price, 0, now_ms);
    }
}

/* The order named by symbol plus orderId / origClientOrderId, for a single-order endpoint;
 * NULL with err (code and msg when absent, or not open and open_only) otherwise. */
static struct eng_order *lookup_one(struct sim_engine *e, struct sim_account *a,
                                    const struct sim_params *p, int open_only, int code,
                                    const char *msg, struct eng_err *err)
{
    struct eng_order *o = NULL;
    int sym = eng_param_symbol(e, p, 1, err), r;
    if (sym < 0) return NULL;
    r = lookup(a, sym, p, &o, err);
    if (r < 0) return NULL;
    if (r == 0 || (open_only && !eng_order_is_open(o))) {
        eng_set_err(err, code, "%s", msg);
        return NULL;
    }
    return o;
}

static int cancel_one(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                      int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    struct eng_order *o = lookup_one(e, a, p, 1, -2011, "Unknown order sent.", &err);
    if (o)
        eng_reply_json(out, cancel(e, a, o, now_ms));
    else
        eng_reply_err(out, &err);
    return 1;
}

static int query_one(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                     int open_only, struct sim_reply *out)
{
    struct eng_err err;
    struct eng_order *o = lookup_one(e, a, p, open_only, -2013, "Order does not exist.", &err);
    if (o)
        eng_reply_json(out, eng_order_json(e, o, ENG_VIEW_QUERY));
    else
        eng_reply_err(out, &err);
    return 1;
}

static int open_orders(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                       struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 0, &err);
    json_t *arr;
    if (sym == -1) {
        eng_reply_err(out, &err);
        return 1;
    }
    arr = json_array();
    for (size_t i = 0; i < a->orders.n; i++) {
        const struct eng_order *o = &a->orders.v[i];
        if ((sym < 0 || o->sym == sym) && eng_order_is_open(o))
            json_array_append_new(arr, eng_order_json(e, o, ENG_VIEW_QUERY));
    }
    eng_reply_json(out, arr);
    return 1;
}

static int cancel_all(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                      int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 1, &err);
    if (sym < 0) {
        eng_reply_err(out, &err);
        return 1;
    }
    for (size_t i = 0; i < a->orders.n; i++)
        if (a->orders.v[i].sym == sym && eng_order_is_open(&a->orders.v[i]))
            json_decref(cancel(e, a, &a->orders.v[i], now_ms));
    eng_reply_json(out, json_pack("{s:i,s:s}", "code", 200, "msg",
                                  "The operation of cancel all open order is done."));
    return 1;
}

/* ---- batches ---- */

/* Turns one batchOrders element into parameters (values copied; free with free_item). */
static int item_params(const json_t *item, struct sim_params *p)
{
    const char *k;
    json_t *v;
    memset(p, 0, sizeof *p);
    if (!json_is_object(item)) return -1;
    json_object_foreach((json_t *)item, k, v) {
        char buf[64];
        const char *s = buf;
        if (p->n >= SIM_PARAMS_MAX) return -1;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else if (json_is_boolean(v))
            snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
        else
            return -1;
        p->v[p->n].key = strdup(k);
        p->v[p->n].value = strdup(s);
        p->n++;
    }
    return 0;
}

static void free_item(struct sim_params *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    p->n = 0;
}

static json_t *parse_list(const struct sim_params *p, const char *key, size_t max,
                          struct eng_err *err)
{
    const char *v = sim_param(p, key);
    char why[JV_ERR_MAX];
    json_t *list;
    if (!v || !*v) return NULL;
    if (strlen(v) > ENG_BATCH_BODY_MAX) {
        eng_set_err(err, -1130, "Data sent for parameter '%s' is not valid.", key);
        return NULL;
    }
    list = jv_parse(v, strlen(v), why, sizeof why);
    if (!list || !json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > max) {
        json_decref(list);
        eng_set_err(err, -1130, "Data sent for parameter '%s' is not valid.", key);
        return NULL;
    }
    return list;
}

static int batch_new(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                     int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    json_t *list, *arr, *item;
    size_t i;
    if (!sim_param(p, "batchOrders")) {
        eng_err_missing(&err, "batchOrders");
        eng_reply_err(out, &err);
        return 1;
    }
    list = parse_list(p, "batchOrders", ENG_BATCH_MAX, &err);
    if (!list) {
        eng_reply_err(out, &err);
        return 1;
    }
    arr = json_array();
    json_array_foreach(list, i, item) {
        struct sim_params ip;
        json_t *res;
        int st;
        if (item_params(item, &ip) < 0) {
            eng_set_err(&err, -1130, "Data sent for parameter 'batchOrders' is not valid.");
            res = eng_err_json(&err);
        } else {
            out->order_count += new_order(e, a, &ip, now_ms, &res, &st);
        }
        free_item(&ip);
        json_array_append_new(arr, res);
    }
    json_decref(list);
    eng_reply_json(out, arr);
    return 1;
}

static json_t *batch_cancel_item(struct sim_engine *e, struct sim_account *a, int sym,
                                 const json_t *key, int64_t now_ms)
{
    struct eng_err err;
    struct eng_order *o = NULL;
    if (json_is_integer(key))
        o = eng_order_find(a, sym, (int64_t)json_integer_value(key), NULL);
    else if (json_is_string(key))
        o = eng_order_find(a, sym, 0, json_string_value(key));
    if (!o || !eng_order_is_open(o)) {
        eng_set_err(&err, -2011, "Unknown order sent.");
        return eng_err_json(&err);
    }
    return cancel(e, a, o, now_ms);
}

static int batch_cancel(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                        int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 1, &err);
    json_t *list = NULL, *arr, *key;
    size_t i;
    if (sym < 0) goto fail;
    err.code = 0;
    list = parse_list(p, "orderIdList", ENG_BATCH_CANCEL_MAX, &err);
    if (!list && !err.code) list = parse_list(p, "origClientOrderIdList", ENG_BATCH_CANCEL_MAX, &err);
    if (!list) {
        if (!err.code)
            eng_set_err(&err, -1102,
                        "Param 'origClientOrderIdList' or 'orderIdList' must be sent, but both "
                        "were empty/null!");
        goto fail;
    }
    arr = json_array();
    json_array_foreach(list, i, key) json_array_append_new(arr, batch_cancel_item(e, a, sym, key, now_ms));
    json_decref(list);
    eng_reply_json(out, arr);
    return 1;
fail:
    eng_reply_err(out, &err);
    return 1;
}

int eng_orders_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                      const char *path, const struct sim_params *p, int64_t now_ms,
                      struct sim_reply *out)
{
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    int del = !strcmp(method, "DELETE");
    if (!strcmp(path, "/fapi/v1/order")) {
        if (post) {
            out->order_count = new_order(e, a, p, now_ms, &out->body, &out->status);
            return 1;
        }
        if (get) return query_one(e, a, p, 0, out);
        if (del) return cancel_one(e, a, p, now_ms, out);
        return 0;
    }
    if (get && !strcmp(path, "/fapi/v1/openOrder")) return query_one(e, a, p, 1, out);
    if (get && !strcmp(path, "/fapi/v1/openOrders")) return open_orders(e, a, p, out);
    if (del && !strcmp(path, "/fapi/v1/allOpenOrders")) return cancel_all(e, a, p, now_ms, out);
    if (!strcmp(path, "/fapi/v1/batchOrders")) {
        if (post) return batch_new(e, a, p, now_ms, out);
        if (del) return batch_cancel(e, a, p, now_ms, out);
    }
    return 0;
}
