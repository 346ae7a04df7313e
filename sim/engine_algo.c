/* engine_algo: conditional orders of the Algo API (POST/DELETE/GET /fapi/v1/algoOrder,
 * openAlgoOrders, allAlgoOrders, algoOpenOrders), as Binance runs them since 2025-12-09.
 *
 * An algo order waits (algoStatus NEW) until its trigger: STOP* BUY when the watched price
 * (last price for CONTRACT_PRICE, mark for MARK_PRICE) >= triggerPrice, SELL when <=;
 * TAKE_PROFIT* the reverse; TRAILING_STOP_MARKET after activatePrice (or at once) when the
 * price comes back callbackRate % from its best. No margin check before the trigger; at most
 * ENG_MAX_ALGO_OPEN open per account (-4045); -2021 when it would trigger at placement.
 * Validation as Binance documents it: timeInForce GTC, IOC, FOK, GTX or GTD (GTD needs
 * goodTillDate); a goodTillDate must lie more than 600 s ahead (-5040); closePosition takes
 * neither quantity nor reduceOnly (-1106) and only the _MARKET types; priceMatch (OPPONENT,
 * QUEUE and their _5/_10/_20) only on STOP/TAKE_PROFIT and never with price.
 * On trigger, in the order Binance sends them (tests/fixtures/binance/ws_futures_algo_update_*.json):
 * ALGO_UPDATE TRIGGERING; ALGO_UPDATE TRIGGERED naming the new matching-engine order ("ai",
 * fill fields "0"); that order's ORDER_TRADE_UPDATE events (a MARKET, or a LIMIT for
 * STOP/TAKE_PROFIT at price or at its priceMatch level); ALGO_UPDATE FINISHED with the executed
 * price and quantity once the order is final. A reduce-only order with nothing to reduce ends
 * CANCELED with rm "Reduce Only reject" (as the documentation's example) and no order.
 * Fault algo_lag (sim_engine_algo_lag): a fresh algo order stays invisible to GET/DELETE
 * algoOrder and the lists for a while, as Binance's algo service has been seen to do.
 * At most ENG_ALGO_HISTORY_MAX algo orders are kept per account; the oldest final ones go. */
#include <stdio.h>
#include <string.h>

#include "sim/engine_internal.h"

#define ENG_ALGO_GTD_MIN_MS 600000LL      /* goodTillDate at least 600 s ahead */
#define ENG_ALGO_GTD_MAX_MS 253402300799000LL

int eng_open_algos(const struct sim_account *a, int sym)
{
    int n = 0;
    for (size_t i = 0; i < a->algos.n; i++)
        if ((sym < 0 || a->algos.v[i].sym == sym) && a->algos.v[i].status == ALGO_NEW) n++;
    return n;
}

int eng_trailing_step(int side, struct dec price, struct dec activate, struct dec rate,
                      int *active, struct dec *extreme)
{
    struct dec frac = eng_div(rate, dec_from_int(100), 6), one = dec_from_int(1), line;
    if (!*active) {
        int reached = dec_is_zero(activate) || (side == ENG_SELL ? dec_cmp(price, activate) >= 0
                                                                 : dec_cmp(price, activate) <= 0);
        if (!reached) return 0;
        *active = 1;
        *extreme = price;
    }
    if (side == ENG_SELL) {
        if (dec_cmp(price, *extreme) > 0) *extreme = price;
        line = eng_mul(*extreme, eng_sub(one, frac), 12);
        return dec_cmp(price, line) <= 0;
    }
    if (dec_cmp(price, *extreme) < 0) *extreme = price;
    line = eng_mul(*extreme, eng_add(one, frac), 12);
    return dec_cmp(price, line) >= 0;
}

static int algo_reached(struct sim_engine *e, struct eng_algo *g, int64_t now_ms)
{
    struct dec px = g->working == ENG_MARK_PRICE ? sim_market_mark(e->m, g->sym, now_ms)
                                                 : sim_market_last(e->m, g->sym, now_ms);
    int c = dec_cmp(px, g->trigger_price);
    if (g->price_protect && eng_price_protected(e, g->sym, now_ms)) return 0;
    if (g->type == ENG_TRAILING_STOP_MARKET)
        return eng_trailing_step(g->side, px, g->activate_price, g->callback_rate,
                                 &g->trail_active, &g->trail_extreme);
    if (g->type == ENG_STOP || g->type == ENG_STOP_MARKET)
        return g->side == ENG_BUY ? c >= 0 : c <= 0;
    return g->side == ENG_BUY ? c <= 0 : c >= 0;
}

/* ---- placement ---- */

static int parse_kind(const struct sim_params *p, struct eng_algo *g, struct eng_err *err)
{
    const char *at = sim_param(p, "algoType"), *ps = sim_param(p, "positionSide");
    if (!at || !*at) return eng_err_missing(err, "algoType");
    if (strcmp(at, "CONDITIONAL")) return eng_err_illegal(err, "algoType");
    if (!sim_param(p, "side")) return eng_err_missing(err, "side");
    if (eng_param_enum(p, "side", eng_side_names, 2, &g->side, -1117, "Invalid side.", err) < 0)
        return -1;
    if (!sim_param(p, "type")) return eng_err_missing(err, "type");
    if (eng_param_enum(p, "type", eng_type_names, ENG_TYPE_COUNT, &g->type, -1116,
                       "Invalid orderType.", err) < 0)
        return -1;
    if (!eng_is_conditional(g->type)) return eng_set_err(err, -1116, "Invalid orderType.");
    if (ps && strcmp(ps, "BOTH"))
        return eng_set_err(err, -4061, "Order's position side does not match user's setting.");
    g->tif = ENG_GTC;
    if (eng_param_enum(p, "timeInForce", eng_tif_names, ENG_TIF_COUNT, &g->tif, -1115,
                       "Invalid timeInForce.", err) < 0)
        return -1;
    if (eng_param_enum(p, "priceMatch", eng_price_match_names, PM_COUNT, &g->price_match, -1100,
                       "Illegal characters found in parameter 'priceMatch'.", err) < 0)
        return -1;
    if (g->price_match != PM_NONE && g->type != ENG_STOP && g->type != ENG_TAKE_PROFIT)
        return eng_set_err(err, -5038,
                           "Price match only supports LIMIT, STOP AND TAKE_PROFIT type");
    if (eng_param_enum(p, "workingType", eng_working_names, 2, &g->working, -1100,
                       "Illegal characters found in parameter 'workingType'.", err) < 0)
        return -1;
    if (eng_param_bool(p, "reduceOnly", &g->reduce_only, err) < 0) return -1;
    if (eng_param_bool(p, "closePosition", &g->close_position, err) < 0) return -1;
    if (eng_param_bool(p, "priceProtect", &g->price_protect, err) < 0) return -1;
    if (g->close_position && g->type != ENG_STOP_MARKET && g->type != ENG_TAKE_PROFIT_MARKET)
        return eng_set_err(err, -1106, "Parameter 'closePosition' sent when not required.");
    if (g->close_position && g->reduce_only)
        return eng_set_err(err, -1106, "Parameter 'reduceOnly' sent when not required.");
    return 0;
}

static int parse_numbers(struct sim_engine *e, const struct sim_params *p, struct eng_algo *g,
                         struct eng_err *err)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, g->sym);
    int ps = eng_price_scale(s), qs = eng_qty_scale(s), r;
    int limit = g->type == ENG_STOP || g->type == ENG_TAKE_PROFIT;
    r = eng_param_dec(p, "quantity", qs, &g->qty, err);
    if (r < 0) return -1;
    if (g->close_position && r)
        return eng_set_err(err, -1106, "Parameter 'quantity' sent when not required.");
    if (!g->close_position && !r) return eng_err_missing(err, "quantity");
    r = eng_param_dec(p, "price", ps, &g->price, err);
    if (r < 0) return -1;
    if (r && g->price_match != PM_NONE)
        return eng_set_err(err, -1106, "Parameter 'price' sent when not required.");
    if (limit && !r && g->price_match == PM_NONE) return eng_err_missing(err, "price");
    r = eng_param_dec(p, "triggerPrice", ps, &g->trigger_price, err);
    if (r < 0) return -1;
    if (g->type != ENG_TRAILING_STOP_MARKET && !r) return eng_err_missing(err, "triggerPrice");
    if (g->type == ENG_TRAILING_STOP_MARKET) {
        r = eng_param_dec(p, "callbackRate", 2, &g->callback_rate, err);
        if (r < 0) return -1;
        if (!r || dec_cmp(g->callback_rate, (struct dec){1, 1}) < 0 ||
            dec_cmp(g->callback_rate, dec_from_int(10)) > 0)
            return eng_err_missing(err, "callbackRate");
        if (eng_param_dec(p, "activatePrice", ps, &g->activate_price, err) < 0) return -1;
    }
    r = eng_param_int(p, "goodTillDate", &g->good_till_date, err);
    if (r < 0) return -1;
    if (g->tif == ENG_GTD && !r) return eng_err_missing(err, "goodTillDate");
    return 0;
}

/* goodTillDate, when sent: more than 600 s ahead and before year 10000 (-5040). */
static int check_gtd(const struct eng_algo *g, int64_t now_ms, struct eng_err *err)
{
    if (g->good_till_date <= 0) return 0;
    if (g->good_till_date <= now_ms + ENG_ALGO_GTD_MIN_MS ||
        g->good_till_date >= ENG_ALGO_GTD_MAX_MS)
        return eng_set_err(err, -5040,
                           "The goodTillDate timestamp must be greater than the current time "
                           "plus 600 seconds and smaller than 253402300799000");
    return 0;
}

static int check_filters(struct sim_engine *e, const struct eng_algo *g, int64_t now_ms,
                         struct eng_err *err)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, g->sym);
    int market = eng_type_is_market(g->type);
    struct dec ref = market || g->price_match != PM_NONE ? g->trigger_price : g->price;
    enum dec_check c;
    if (g->type == ENG_TRAILING_STOP_MARKET) ref = sim_market_mark(e->m, g->sym, now_ms);
    if (g->type != ENG_TRAILING_STOP_MARKET &&
        (dec_sign(g->trigger_price) <= 0 ||
         !dec_is_multiple(g->trigger_price, s->filters.min_price, s->filters.tick)))
        return eng_set_err(err, -4014, "Price not increased by tick size.");
    if (g->close_position) return 0;
    c = dec_check_order(&s->filters, ref, g->qty, market, g->reduce_only);
    return eng_filter_err(c, s, err);
}

static int parse_algo(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                      int64_t now_ms, struct eng_algo *g, struct eng_err *err)
{
    const char *cid = sim_param(p, "clientAlgoId");
    memset(g, 0, sizeof *g);
    g->sym = eng_param_symbol(e, p, 1, err);
    if (g->sym < 0 || parse_kind(p, g, err) < 0 || parse_numbers(e, p, g, err) < 0) return -1;
    if (cid) {
        size_t n = strlen(cid);
        if (n < 1 || n > 36) return eng_set_err(err, -4015, "Client order id is not valid.");
        snprintf(g->client_id, sizeof g->client_id, "%s", cid);
        for (size_t i = 0; i < a->algos.n; i++)
            if (a->algos.v[i].status == ALGO_NEW && !strcmp(a->algos.v[i].client_id, cid))
                return eng_set_err(err, -4116, "ClientOrderId is duplicated.");
    }
    if (!eng_symbol_tradable(sim_market_symbol(e->m, g->sym)))
        return eng_set_err(err, -4140, "Invalid symbol status for opening position.");
    if (check_gtd(g, now_ms, err) < 0 || check_filters(e, g, now_ms, err) < 0) return -1;
    if (eng_open_algos(a, -1) >= ENG_MAX_ALGO_OPEN)
        return eng_set_err(err, -4045, "Reach max stop order limit.");
    if (g->type != ENG_TRAILING_STOP_MARKET && algo_reached(e, g, now_ms))
        return eng_set_err(err, -2021, "Order would immediately trigger.");
    return 0;
}

static int algo_is_final(const struct eng_algo *g)
{
    return g->status == ALGO_CANCELED || g->status == ALGO_FINISHED ||
           g->status == ALGO_REJECTED || g->status == ALGO_EXPIRED;
}

/* Keeps the algo list bounded: when full, drops the oldest half of the final algo orders
 * (NEW, TRIGGERING and TRIGGERED stay). Called only before an append, when no index is held. */
static void algo_compact(struct sim_account *a)
{
    size_t nfinal = 0, drop, w = 0;
    if (a->algos.n < ENG_ALGO_HISTORY_MAX) return;
    for (size_t i = 0; i < a->algos.n; i++) nfinal += algo_is_final(&a->algos.v[i]);
    drop = nfinal / 2;
    for (size_t i = 0; i < a->algos.n; i++) {
        if (drop && algo_is_final(&a->algos.v[i])) {
            drop--;
            continue;
        }
        a->algos.v[w++] = a->algos.v[i];
    }
    a->algos.n = w;
}

static int algo_new(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                    int64_t now_ms, struct sim_reply *out)
{
    struct eng_algo g, *n;
    struct eng_err err;
    if (parse_algo(e, a, p, now_ms, &g, &err) < 0) {
        eng_reply_err(out, &err);
        return 1;
    }
    algo_compact(a);
    n = ENG_PUSH(a->algos);
    *n = g;
    n->id = e->next_algo_id++;
    if (!n->client_id[0]) eng_client_id(e, n->client_id);
    n->status = ALGO_NEW;
    n->create_time = n->update_time = now_ms;
    n->actual_price = n->actual_qty = dec_from_int(0);
    if (e->algo_lag_ms > 0) n->visible_ms = now_ms + e->algo_lag_ms;
    e->algo_lag_ms = 0;
    eng_emit_algo(e, a, n, now_ms);
    out->order_count = 1;
    eng_reply_json(out, eng_algo_json(e, n, 0));
    return 1;
}

/* ---- trigger ---- */

static void algo_set(struct sim_engine *e, struct sim_account *a, size_t gi, int status,
                     const char *why, int64_t now_ms)
{
    struct eng_algo *g = &a->algos.v[gi];
    g->status = status;
    g->update_time = now_ms;
    if (why) snprintf(g->reject_reason, sizeof g->reject_reason, "%.63s", why);
    eng_emit_algo(e, a, g, now_ms);
}

/* The LIMIT price of a triggered STOP/TAKE_PROFIT: its price, or its priceMatch level in the
 * book now (OPPONENT_n: n-th level of the other side, QUEUE_n: of its own side; the book's
 * levels step one tick). */
static struct dec child_price(struct sim_engine *e, const struct eng_algo *g, int64_t now_ms)
{
    static const int level[PM_COUNT] = {0, 1, 5, 10, 20, 1, 5, 10, 20};
    const struct sim_symbol *s = sim_market_symbol(e->m, g->sym);
    struct sim_book b;
    struct dec px, away;
    int opp = g->price_match >= PM_OPPONENT && g->price_match <= PM_OPPONENT_20;
    int up;
    if (g->price_match == PM_NONE) return g->price;
    sim_market_book(e->m, g->sym, now_ms, &b);
    px = (g->side == ENG_BUY) == opp ? b.ask : b.bid;
    up = (g->side == ENG_BUY) == opp; /* deeper levels: asks go up, bids go down */
    away = eng_mul(s->filters.tick, dec_from_int(level[g->price_match] - 1), px.scale);
    return up ? eng_add(px, away) : eng_sub(px, away);
}

static void algo_fire(struct sim_engine *e, struct sim_account *a, size_t gi, int64_t now_ms)
{
    struct eng_algo *g = &a->algos.v[gi];
    struct eng_order o;
    struct eng_err err;
    g->trigger_time = now_ms;
    algo_set(e, a, gi, ALGO_TRIGGERING, NULL, now_ms);
    g = &a->algos.v[gi];
    memset(&o, 0, sizeof o);
    o.sym = g->sym;
    o.side = g->side;
    o.type = eng_type_is_market(g->type) ? ENG_MARKET : ENG_LIMIT;
    o.orig_type = o.type;
    o.tif = g->tif;
    o.working = g->working;
    o.qty = g->qty;
    o.price = o.type == ENG_LIMIT ? child_price(e, g, now_ms) : g->price;
    o.reduce_only = g->reduce_only || g->close_position;
    o.price_protect = g->price_protect;
    o.algo_id = g->id;
    if (g->close_position) o.qty = dec_abs(a->pos[g->sym].amt);
    if (g->close_position && dec_is_zero(o.qty)) {
        algo_set(e, a, gi, ALGO_EXPIRED, NULL, now_ms);
        return;
    }
    if (o.reduce_only && !eng_reduces(a, o.sym, o.side)) {
        algo_set(e, a, gi, ALGO_CANCELED, "Reduce Only reject", now_ms);
        return;
    }
    g->order_id = e->next_order_id; /* the id the order is about to get */
    algo_set(e, a, gi, ALGO_TRIGGERED, NULL, now_ms);
    /* the order's events follow; FINISHED comes from eng_algo_order_done when it is final */
    if (eng_order_submit(e, a, &o, now_ms, &err) < 0) {
        a->algos.v[gi].order_id = 0;
        algo_set(e, a, gi, ALGO_CANCELED, err.msg, now_ms);
    }
}

void eng_algo_order_done(struct sim_engine *e, struct sim_account *a, const struct eng_order *o,
                         int64_t now_ms)
{
    for (size_t i = 0; i < a->algos.n; i++) {
        struct eng_algo *g = &a->algos.v[i];
        if (g->id != o->algo_id) continue;
        g->actual_price = o->avg_price;
        g->actual_qty = o->executed;
        if (g->status == ALGO_TRIGGERED) algo_set(e, a, i, ALGO_FINISHED, NULL, now_ms);
        return;
    }
}

void eng_algo_tick(struct sim_engine *e, struct sim_account *a, int64_t now_ms)
{
    size_t n = a->algos.n;
    for (size_t i = 0; i < n; i++) {
        struct eng_algo *g = &a->algos.v[i];
        if (g->status != ALGO_NEW) continue;
        if (g->good_till_date > 0 && now_ms >= g->good_till_date) {
            algo_set(e, a, i, ALGO_EXPIRED, NULL, now_ms);
            continue;
        }
        if (algo_reached(e, g, now_ms)) algo_fire(e, a, i, now_ms);
    }
}

/* ---- cancel and queries ---- */

/* 1 while an algo_lag fault hides g. */
static int algo_hidden(const struct eng_algo *g, int64_t now_ms)
{
    return g->visible_ms > now_ms;
}

static int algo_lookup(struct sim_account *a, const struct sim_params *p, int64_t now_ms,
                       struct eng_algo **out, struct eng_err *err)
{
    int64_t id = 0;
    const char *cid = sim_param(p, "clientAlgoId");
    int r = eng_param_int(p, "algoId", &id, err);
    if (r == 0) r = eng_param_int(p, "algoid", &id, err);
    if (r < 0) return -1;
    if (!cid) cid = sim_param(p, "clientalgoid");
    if (!r && (!cid || !*cid))
        return eng_set_err(err, -1102,
                           "Param 'clientAlgoId' or 'algoId' must be sent, but both were "
                           "empty/null!");
    *out = NULL;
    for (size_t i = a->algos.n; i-- > 0;) {
        struct eng_algo *g = &a->algos.v[i];
        if (algo_hidden(g, now_ms)) continue;
        if (r ? g->id == id : !strcmp(g->client_id, cid)) {
            if (!*out || g->status == ALGO_NEW) *out = g;
            if (r || g->status == ALGO_NEW) break;
        }
    }
    return *out != NULL;
}

static void algo_cancel(struct sim_engine *e, struct sim_account *a, struct eng_algo *g,
                        int64_t now_ms)
{
    algo_set(e, a, (size_t)(g - a->algos.v), ALGO_CANCELED, NULL, now_ms);
}

static int algo_delete(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                       int64_t now_ms, struct sim_reply *out)
{
    struct eng_algo *g;
    struct eng_err err;
    int r = algo_lookup(a, p, now_ms, &g, &err);
    if (r == 0 || (r > 0 && g->status != ALGO_NEW)) eng_set_err(&err, -2011, "Unknown order sent.");
    if (r <= 0 || g->status != ALGO_NEW) {
        eng_reply_err(out, &err);
        return 1;
    }
    algo_cancel(e, a, g, now_ms);
    eng_reply_json(out, json_pack("{s:I,s:s,s:s,s:s}", "algoId", (json_int_t)g->id,
                                  "clientAlgoId", g->client_id, "code", "200", "msg",
                                  "success"));
    return 1;
}

static int algo_get(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                    int64_t now_ms, struct sim_reply *out)
{
    struct eng_algo *g;
    struct eng_err err;
    int r = algo_lookup(a, p, now_ms, &g, &err);
    if (r == 0) eng_set_err(&err, -2013, "Order does not exist.");
    if (r <= 0) {
        eng_reply_err(out, &err);
        return 1;
    }
    eng_reply_json(out, eng_algo_json(e, g, 1));
    return 1;
}

struct algo_ctx {
    const struct sim_account *a;
    int sym, open_only;
    const struct eng_range *r;
    int64_t now_ms;
};

static int algo_listed(size_t i, void *arg)
{
    const struct algo_ctx *c = arg;
    const struct eng_algo *g = &c->a->algos.v[i];
    if ((c->sym >= 0 && g->sym != c->sym) || algo_hidden(g, c->now_ms)) return 0;
    if (c->open_only) return g->status == ALGO_NEW;
    return (!c->r->has_from || g->id >= c->r->from) && g->create_time >= c->r->start &&
           g->create_time <= c->r->end;
}

/* openAlgoOrders (symbol optional, every open one), or allAlgoOrders with allOrders' rules
 * (eng_range_parse with algoId). */
static int algo_list(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                     int open_only, int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    struct eng_range rg = {1, ENG_MAX_ALGO_OPEN, 0, 0, INT64_MAX};
    struct algo_ctx c = {a, 0, open_only, &rg, now_ms};
    int n = 0;
    json_t *arr;
    c.sym = eng_param_symbol(e, p, !open_only, &err);
    if (c.sym == -1 || (!open_only && eng_range_parse(p, "algoId", 0, now_ms, &rg, &err) < 0)) {
        eng_reply_err(out, &err);
        return 1;
    }
    arr = json_array();
    for (size_t i = open_only ? 0 : eng_range_first(&rg, a->algos.n, algo_listed, &c);
         i < a->algos.n && (open_only || n < rg.limit); i++) {
        if (!algo_listed(i, &c)) continue;
        json_array_append_new(arr, eng_algo_json(e, &a->algos.v[i], 1));
        n++;
    }
    eng_reply_json(out, arr);
    return 1;
}

static int algo_cancel_all(struct sim_engine *e, struct sim_account *a,
                           const struct sim_params *p, int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 1, &err);
    if (sym < 0) {
        eng_reply_err(out, &err);
        return 1;
    }
    for (size_t i = 0; i < a->algos.n; i++)
        if (a->algos.v[i].sym == sym && a->algos.v[i].status == ALGO_NEW &&
            !algo_hidden(&a->algos.v[i], now_ms))
            algo_cancel(e, a, &a->algos.v[i], now_ms);
    eng_reply_json(out, json_pack("{s:i,s:s}", "code", 200, "msg",
                                  "The operation of cancel all open order is done."));
    return 1;
}

int eng_algo_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                    const char *path, const struct sim_params *p, int64_t now_ms,
                    struct sim_reply *out)
{
    int get = !strcmp(method, "GET"), del = !strcmp(method, "DELETE");
    if (!strcmp(path, "/fapi/v1/algoOrder")) {
        if (!strcmp(method, "POST")) return algo_new(e, a, p, now_ms, out);
        if (del) return algo_delete(e, a, p, now_ms, out);
        if (get) return algo_get(e, a, p, now_ms, out);
        return 0;
    }
    if (get && !strcmp(path, "/fapi/v1/openAlgoOrders"))
        return algo_list(e, a, p, 1, now_ms, out);
    if (get && !strcmp(path, "/fapi/v1/allAlgoOrders")) return algo_list(e, a, p, 0, now_ms, out);
    if (del && !strcmp(path, "/fapi/v1/algoOpenOrders"))
        return algo_cancel_all(e, a, p, now_ms, out);
    return 0;
}
