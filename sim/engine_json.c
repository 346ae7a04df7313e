/* engine_json: orders, algo orders and user-data events in Binance's exact JSON shapes.
 *
 * Key sets follow the documentation examples in tests/fixtures/binance/doc_examples (order_POST,
 * openOrders, algoOrder_POST, ws_ORDER_TRADE_UPDATE, ws_TRADE_LITE, ws_ACCOUNT_UPDATE,
 * ws_ALGO_UPDATE): decimals as strings formatted at the symbol's precision, ids and times as
 * numbers. Trailing-stop fields (activatePrice/priceRate, AP/cr) appear only on trailing stops,
 * as on Binance. Events are handed to the engine's callback as compact text. */
#include <stdio.h>
#include <string.h>

#include "sim/engine_internal.h"

#define MS ENG_MONEY_SCALE

static const struct sim_symbol *sym_of(struct sim_engine *e, int sym)
{
    return sim_market_symbol(e->m, sym);
}

static json_t *jprice(struct sim_engine *e, int sym, struct dec d)
{
    return eng_jdec(d, eng_price_scale(sym_of(e, sym)));
}

static json_t *jqty(struct sim_engine *e, int sym, struct dec d)
{
    return eng_jdec(d, eng_qty_scale(sym_of(e, sym)));
}

static json_t *jquote(struct sim_engine *e, int sym, struct dec d)
{
    const struct sim_symbol *s = sym_of(e, sym);
    return eng_jdec(d, eng_price_scale(s) + eng_qty_scale(s));
}

/* Order type as shown: a triggered classic stop is reported as the plain order it became. */
static const char *shown_type(const struct eng_order *o)
{
    if (o->triggered) return eng_type_is_market(o->orig_type) ? "MARKET" : "LIMIT";
    return eng_type_names[o->type];
}

json_t *eng_order_json(struct sim_engine *e, const struct eng_order *o, enum eng_order_view v)
{
    json_t *j = json_object();
    const char *sym = sym_of(e, o->sym)->name;
    json_object_set_new(j, "orderId", json_integer(o->id));
    json_object_set_new(j, "symbol", json_string(sym));
    json_object_set_new(j, "status", json_string(eng_status_names[o->status]));
    json_object_set_new(j, "clientOrderId", json_string(o->client_id));
    json_object_set_new(j, "price", jprice(e, o->sym, o->price));
    json_object_set_new(j, "avgPrice", jprice(e, o->sym, o->avg_price));
    json_object_set_new(j, "origQty", jqty(e, o->sym, o->qty));
    json_object_set_new(j, "executedQty", jqty(e, o->sym, o->executed));
    if (v == ENG_VIEW_RESPONSE) json_object_set_new(j, "cumQty", jqty(e, o->sym, o->executed));
    json_object_set_new(j, "cumQuote", jquote(e, o->sym, o->cum_quote));
    json_object_set_new(j, "timeInForce", json_string(eng_tif_names[o->tif]));
    json_object_set_new(j, "type", json_string(shown_type(o)));
    json_object_set_new(j, "reduceOnly", json_boolean(o->reduce_only));
    json_object_set_new(j, "closePosition", json_boolean(o->close_position));
    json_object_set_new(j, "side", json_string(eng_side_names[o->side]));
    json_object_set_new(j, "positionSide", json_string("BOTH"));
    json_object_set_new(j, "stopPrice", jprice(e, o->sym, o->stop_price));
    json_object_set_new(j, "workingType", json_string(eng_working_names[o->working]));
    json_object_set_new(j, "priceProtect", json_boolean(o->price_protect));
    json_object_set_new(j, "origType", json_string(eng_type_names[o->orig_type]));
    if (o->orig_type == ENG_TRAILING_STOP_MARKET) {
        json_object_set_new(j, "activatePrice", jprice(e, o->sym, o->activate_price));
        json_object_set_new(j, "priceRate", eng_jdec_trim(o->callback_rate));
    }
    json_object_set_new(j, "priceMatch", json_string("NONE"));
    json_object_set_new(j, "selfTradePreventionMode", json_string("EXPIRE_MAKER"));
    json_object_set_new(j, "goodTillDate", json_integer(o->good_till_date));
    if (v == ENG_VIEW_QUERY) json_object_set_new(j, "time", json_integer(o->time));
    json_object_set_new(j, "updateTime", json_integer(o->update_time));
    return j;
}

json_t *eng_algo_json(struct sim_engine *e, const struct eng_algo *g, int query)
{
    json_t *j = json_object();
    int trailing = g->type == ENG_TRAILING_STOP_MARKET;
    json_object_set_new(j, "algoId", json_integer(g->id));
    json_object_set_new(j, "clientAlgoId", json_string(g->client_id));
    json_object_set_new(j, "algoType", json_string("CONDITIONAL"));
    json_object_set_new(j, "orderType", json_string(eng_type_names[g->type]));
    json_object_set_new(j, "symbol", json_string(sym_of(e, g->sym)->name));
    json_object_set_new(j, "side", json_string(eng_side_names[g->side]));
    json_object_set_new(j, "positionSide", json_string("BOTH"));
    json_object_set_new(j, "timeInForce", json_string(eng_tif_names[g->tif]));
    json_object_set_new(j, "quantity", jqty(e, g->sym, g->qty));
    json_object_set_new(j, "algoStatus", json_string(eng_algo_status_names[g->status]));
    if (query) {
        char id[24] = "";
        if (g->order_id) snprintf(id, sizeof id, "%lld", (long long)g->order_id);
        json_object_set_new(j, "actualOrderId", json_string(id));
        json_object_set_new(j, "actualPrice", jprice(e, g->sym, g->actual_price));
    }
    json_object_set_new(j, "triggerPrice", jprice(e, g->sym, g->trigger_price));
    json_object_set_new(j, "price", jprice(e, g->sym, g->price));
    json_object_set_new(j, "icebergQuantity", json_null());
    json_object_set_new(j, "selfTradePreventionMode", json_string("EXPIRE_MAKER"));
    json_object_set_new(j, "workingType", json_string(eng_working_names[g->working]));
    json_object_set_new(j, "priceMatch", json_string(eng_price_match_names[g->price_match]));
    json_object_set_new(j, "closePosition", json_boolean(g->close_position));
    json_object_set_new(j, "priceProtect", json_boolean(g->price_protect));
    json_object_set_new(j, "reduceOnly", json_boolean(g->reduce_only));
    json_object_set_new(j, "activatePrice",
                        trailing ? jprice(e, g->sym, g->activate_price) : json_string(""));
    json_object_set_new(j, "callbackRate",
                        trailing ? eng_jdec_trim(g->callback_rate) : json_string(""));
    json_object_set_new(j, "createTime", json_integer(g->create_time));
    json_object_set_new(j, "updateTime", json_integer(g->update_time));
    json_object_set_new(j, "triggerTime", json_integer(g->trigger_time));
    json_object_set_new(j, "goodTillDate", json_integer(g->good_till_date));
    return j;
}

/* Open-order notional of sym on one side, for "b"/"a". */
static struct dec side_notional(const struct sim_account *a, int sym, int side)
{
    struct dec sum = dec_from_int(0);
    for (size_t i = 0; i < a->orders.n; i++) {
        const struct eng_order *o = &a->orders.v[i];
        if (o->sym == sym && o->side == side && o->type == ENG_LIMIT && eng_order_is_open(o))
            sum = eng_add(sum, eng_mul(eng_sub(o->qty, o->executed), o->price, MS));
    }
    return sum;
}

void eng_emit_order(struct sim_engine *e, const struct sim_account *a, const struct eng_order *o,
                    const char *exec_type, const struct eng_fill *fill, int64_t now_ms)
{
    const struct sim_symbol *s = sym_of(e, o->sym);
    struct dec z = dec_from_int(0);
    char er[8];
    json_t *j = json_object();
    json_object_set_new(j, "s", json_string(s->name));
    json_object_set_new(j, "c", json_string(o->client_id));
    json_object_set_new(j, "S", json_string(eng_side_names[o->side]));
    json_object_set_new(j, "o", json_string(shown_type(o)));
    json_object_set_new(j, "f", json_string(eng_tif_names[o->tif]));
    json_object_set_new(j, "q", jqty(e, o->sym, o->qty));
    json_object_set_new(j, "p", jprice(e, o->sym, o->price));
    json_object_set_new(j, "ap", jprice(e, o->sym, o->avg_price));
    json_object_set_new(j, "sp", jprice(e, o->sym, o->stop_price));
    json_object_set_new(j, "x", json_string(exec_type));
    json_object_set_new(j, "X", json_string(eng_status_names[o->status]));
    json_object_set_new(j, "i", json_integer(o->id));
    json_object_set_new(j, "l", jqty(e, o->sym, fill ? fill->qty : z));
    json_object_set_new(j, "z", jqty(e, o->sym, o->executed));
    json_object_set_new(j, "L", jprice(e, o->sym, fill ? fill->price : z));
    json_object_set_new(j, "N", json_string("USDT"));
    json_object_set_new(j, "n", fill ? eng_jdec(fill->commission, MS) : json_string("0"));
    json_object_set_new(j, "T", json_integer(now_ms));
    json_object_set_new(j, "t", json_integer(fill ? fill->trade_id : 0));
    json_object_set_new(j, "b", eng_jdec(side_notional(a, o->sym, ENG_BUY), MS));
    json_object_set_new(j, "a", eng_jdec(side_notional(a, o->sym, ENG_SELL), MS));
    json_object_set_new(j, "m", json_boolean(fill && fill->maker));
    json_object_set_new(j, "R", json_boolean(o->reduce_only));
    json_object_set_new(j, "wt", json_string(eng_working_names[o->working]));
    json_object_set_new(j, "ot", json_string(eng_type_names[o->orig_type]));
    json_object_set_new(j, "ps", json_string("BOTH"));
    json_object_set_new(j, "cp", json_boolean(o->close_position));
    if (o->orig_type == ENG_TRAILING_STOP_MARKET) {
        json_object_set_new(j, "AP", jprice(e, o->sym, o->activate_price));
        json_object_set_new(j, "cr", eng_jdec_trim(o->callback_rate));
    }
    json_object_set_new(j, "pP", json_boolean(o->price_protect));
    json_object_set_new(j, "si", json_integer(0));
    json_object_set_new(j, "ss", json_integer(0));
    json_object_set_new(j, "rp", fill ? eng_jdec(fill->realized, MS) : json_string("0"));
    json_object_set_new(j, "V", json_string("EXPIRE_MAKER"));
    json_object_set_new(j, "pm", json_string("NONE"));
    json_object_set_new(j, "gtd", json_integer(o->good_till_date));
    snprintf(er, sizeof er, "%d", o->expiry_reason);
    json_object_set_new(j, "er", json_string(er));
    eng_emit(e, a,
             json_pack("{s:s,s:I,s:I,s:o}", "e", "ORDER_TRADE_UPDATE", "E", (json_int_t)now_ms,
                       "T", (json_int_t)now_ms, "o", j));
}

void eng_emit_trade_lite(struct sim_engine *e, const struct sim_account *a,
                         const struct eng_order *o, const struct eng_fill *fill, int64_t now_ms)
{
    eng_emit(e, a,
             json_pack("{s:s,s:I,s:I,s:s,s:o,s:o,s:b,s:s,s:s,s:o,s:o,s:I,s:I}", "e",
                       "TRADE_LITE", "E", (json_int_t)now_ms, "T", (json_int_t)now_ms, "s",
                       sym_of(e, o->sym)->name, "q", jqty(e, o->sym, o->qty), "p",
                       jprice(e, o->sym, o->price), "m", fill->maker, "c", o->client_id, "S",
                       eng_side_names[o->side], "L", jprice(e, o->sym, fill->price), "l",
                       jqty(e, o->sym, fill->qty), "t", (json_int_t)fill->trade_id, "i",
                       (json_int_t)o->id));
}

static json_t *account_position(struct sim_engine *e, const struct sim_account *a, int sym,
                                int64_t now_ms)
{
    const struct eng_position *p = &a->pos[sym];
    struct dec one = dec_from_int(1), bep = dec_from_int(0);
    if (!dec_is_zero(p->amt))
        bep = eng_mul(p->entry,
                      dec_sign(p->amt) > 0 ? eng_add(one, e->opts.taker_fee)
                                           : eng_sub(one, e->opts.taker_fee),
                      MS);
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:s}", "s", sym_of(e, sym)->name, "pa",
                     jqty(e, sym, p->amt), "ep", eng_jdec(p->entry, MS), "bep",
                     eng_jdec(bep, MS), "cr", eng_jdec(p->realized, MS), "up",
                     eng_jdec(eng_upnl(e, a, sym, now_ms), MS), "mt", "cross", "iw",
                     "0.00000000", "ps", "BOTH");
}

void eng_emit_account(struct sim_engine *e, const struct sim_account *a, const char *reason,
                      int sym, struct dec balance_change, int64_t now_ms)
{
    json_t *b = json_array(), *p = json_array();
    json_array_append_new(b, json_pack("{s:s,s:o,s:o,s:o}", "a", "USDT", "wb",
                                       eng_jdec(a->wallet, MS), "cw", eng_jdec(a->wallet, MS),
                                       "bc", eng_jdec(balance_change, MS)));
    if (sym >= 0) json_array_append_new(p, account_position(e, a, sym, now_ms));
    eng_emit(e, a,
             json_pack("{s:s,s:I,s:I,s:{s:s,s:o,s:o}}", "e", "ACCOUNT_UPDATE", "E",
                       (json_int_t)now_ms, "T", (json_int_t)now_ms, "a", "m", reason, "B", b,
                       "P", p));
}

void eng_emit_algo(struct sim_engine *e, const struct sim_account *a, const struct eng_algo *g,
                   int64_t now_ms)
{
    char ai[24] = "";
    const char *act = "0";
    json_t *o;
    if (g->order_id) {
        snprintf(ai, sizeof ai, "%lld", (long long)g->order_id);
        act = eng_type_is_market(g->type) ? "MARKET" : "LIMIT";
    }
    o = json_object();
    json_object_set_new(o, "caid", json_string(g->client_id));
    json_object_set_new(o, "aid", json_integer(g->id));
    json_object_set_new(o, "at", json_string("CONDITIONAL"));
    json_object_set_new(o, "o", json_string(eng_type_names[g->type]));
    json_object_set_new(o, "s", json_string(sym_of(e, g->sym)->name));
    json_object_set_new(o, "S", json_string(eng_side_names[g->side]));
    json_object_set_new(o, "ps", json_string("BOTH"));
    json_object_set_new(o, "f", json_string(eng_tif_names[g->tif]));
    json_object_set_new(o, "q", jqty(e, g->sym, g->qty));
    json_object_set_new(o, "X", json_string(eng_algo_status_names[g->status]));
    json_object_set_new(o, "ai", json_string(ai));
    /* Binance sends "0" until the order is done (recorded TRIGGERED), the fill with FINISHED */
    if (g->status == ALGO_TRIGGERING || g->status == ALGO_TRIGGERED) {
        json_object_set_new(o, "ap", json_string("0"));
        json_object_set_new(o, "aq", json_string("0"));
    } else {
        json_object_set_new(o, "ap", jprice(e, g->sym, g->actual_price));
        json_object_set_new(o, "aq", jqty(e, g->sym, g->actual_qty));
    }
    json_object_set_new(o, "act", json_string(act));
    json_object_set_new(o, "tp", jprice(e, g->sym, g->trigger_price));
    json_object_set_new(o, "p", jprice(e, g->sym, g->price));
    json_object_set_new(o, "V", json_string("EXPIRE_MAKER"));
    json_object_set_new(o, "wt", json_string(eng_working_names[g->working]));
    json_object_set_new(o, "pm", json_string(eng_price_match_names[g->price_match]));
    json_object_set_new(o, "cp", json_boolean(g->close_position));
    json_object_set_new(o, "pP", json_boolean(g->price_protect));
    json_object_set_new(o, "R", json_boolean(g->reduce_only));
    json_object_set_new(o, "tt", json_integer(g->trigger_time));
    json_object_set_new(o, "gtd", json_integer(g->good_till_date));
    if (g->reject_reason[0]) /* only with a reason, as the recorded events show */
        json_object_set_new(o, "rm", json_string(g->reject_reason));
    eng_emit(e, a,
             json_pack("{s:s,s:I,s:I,s:o}", "e", "ALGO_UPDATE", "T", (json_int_t)now_ms, "E",
                       (json_int_t)now_ms, "o", o));
}

void eng_emit_leverage(struct sim_engine *e, const struct sim_account *a, int sym,
                       int64_t now_ms)
{
    eng_emit(e, a,
             json_pack("{s:s,s:I,s:I,s:{s:s,s:i}}", "e", "ACCOUNT_CONFIG_UPDATE", "E",
                       (json_int_t)now_ms, "T", (json_int_t)now_ms, "ac", "s",
                       sym_of(e, sym)->name, "l", a->pos[sym].leverage));
}
