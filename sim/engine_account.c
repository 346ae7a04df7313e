/* engine_account: balances, one-way positions, cross margin and the account answers.
 *
 * One USDT wallet per account; one BOTH position per symbol with a signed amount, an entry
 * price averaged on increase and kept on reduce (a flip starts again at the fill price), and
 * realized PnL on every reduce. Cross margin: available = wallet + unrealized PnL - initial
 * margin of positions (|amt| x mark / leverage) - initial margin of open orders. Maintenance
 * margin comes from the leverage brackets (brackets.c); below it the account is liquidated
 * (eng_liquidate_tick in engine_orders.c).
 *
 * Answers GET /fapi/v2|v3/account, /fapi/v2|v3/positionRisk, /fapi/v2|v3/balance,
 * POST /fapi/v1/leverage and GET /fapi/v1/commissionRate with Binance's key sets, and the
 * account-mode endpoints: GET/POST /fapi/v1/positionSide/dual and /fapi/v1/multiAssetsMargin,
 * POST /fapi/v1/marginType, GET /fapi/v1/leverageBracket (sim/brackets.c), symbolConfig and
 * accountConfig. Leverage is capped by the symbol's first bracket (-4028 above it) and
 * maxNotional(Value) is the bracket cap for the leverage. Only one-way, single-asset, cross
 * margin is simulated: asking for the mode
 * already in force answers Binance's "no need to change" code (-4059, -4171, -4046); asking
 * for another answers -4067/-4068 when orders/positions exist (Binance's rule) and otherwise
 * 400 -1000 "... is not simulated.". An asset's updateTime is the time of its last change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/brackets.h"
#include "sim/engine_internal.h"

#define MS ENG_MONEY_SCALE

static const char *const extra_assets[] = {"BNB", "USDC"}; /* listed with zero balances */

struct eng_totals {
    struct dec upnl, pos_im, ord_im, maint, avail;
};

int eng_reduces(const struct sim_account *a, int sym, int side)
{
    struct dec amt = a->pos[sym].amt;
    return (side == ENG_SELL && dec_sign(amt) > 0) || (side == ENG_BUY && dec_sign(amt) < 0);
}

struct dec eng_mark(struct sim_engine *e, int sym, int64_t now_ms)
{
    return sim_market_mark(e->m, sym, now_ms);
}

struct dec eng_upnl(struct sim_engine *e, const struct sim_account *a, int sym, int64_t now_ms)
{
    const struct eng_position *p = &a->pos[sym];
    if (dec_is_zero(p->amt)) return eng_round(dec_from_int(0), MS);
    return eng_mul(eng_sub(eng_mark(e, sym, now_ms), p->entry), p->amt, MS);
}

static struct dec pos_notional(struct sim_engine *e, const struct sim_account *a, int sym,
                               int64_t now_ms)
{
    return eng_mul(a->pos[sym].amt, eng_mark(e, sym, now_ms), MS);
}

static struct dec pos_im(struct sim_engine *e, const struct sim_account *a, int sym,
                         int64_t now_ms)
{
    struct dec n = dec_abs(pos_notional(e, a, sym, now_ms));
    return eng_div(n, dec_from_int(a->pos[sym].leverage), MS);
}

static struct dec pos_maint(struct sim_engine *e, const struct sim_account *a, int sym,
                            int64_t now_ms)
{
    return sim_bracket_maint(sim_market_symbol(e->m, sym), pos_notional(e, a, sym, now_ms), MS);
}

/* Initial margin of the open (not reduce-only, not untriggered conditional) orders of sym on
 * one side (-1: both). */
static struct dec orders_im(const struct sim_account *a, int sym, int side)
{
    struct dec sum = eng_round(dec_from_int(0), MS);
    for (size_t i = 0; i < a->orders.n; i++) {
        const struct eng_order *o = &a->orders.v[i];
        if (o->sym != sym || !eng_order_is_open(o) || o->reduce_only || o->close_position)
            continue;
        if (o->type != ENG_LIMIT || (side >= 0 && o->side != side)) continue;
        struct dec n = eng_mul(eng_sub(o->qty, o->executed), o->price, MS);
        sum = eng_add(sum, eng_div(n, dec_from_int(a->pos[sym].leverage), MS));
    }
    return sum;
}

/* Notional of open orders on one side (for b/a of ORDER_TRADE_UPDATE and bid/askNotional). */
static struct dec orders_notional(const struct sim_account *a, int sym, int side)
{
    struct dec sum = dec_from_int(0);
    for (size_t i = 0; i < a->orders.n; i++) {
        const struct eng_order *o = &a->orders.v[i];
        if (o->sym == sym && eng_order_is_open(o) && o->type == ENG_LIMIT && o->side == side)
            sum = eng_add(sum, eng_mul(eng_sub(o->qty, o->executed), o->price, MS));
    }
    return sum;
}

static void totals(struct sim_engine *e, const struct sim_account *a, int64_t now_ms,
                   struct eng_totals *t)
{
    struct dec z = eng_round(dec_from_int(0), MS);
    t->upnl = t->pos_im = t->ord_im = t->maint = z;
    for (int s = 0; s < e->nsym; s++) {
        if (!dec_is_zero(a->pos[s].amt)) {
            t->upnl = eng_add(t->upnl, eng_upnl(e, a, s, now_ms));
            t->pos_im = eng_add(t->pos_im, pos_im(e, a, s, now_ms));
            t->maint = eng_add(t->maint, pos_maint(e, a, s, now_ms));
        }
    }
    for (size_t i = 0; i < a->orders.n; i++) {
        const struct eng_order *o = &a->orders.v[i];
        if (!eng_order_is_open(o) || o->type != ENG_LIMIT || o->reduce_only) continue;
        struct dec n = eng_mul(eng_sub(o->qty, o->executed), o->price, MS);
        t->ord_im = eng_add(t->ord_im, eng_div(n, dec_from_int(a->pos[o->sym].leverage), MS));
    }
    t->avail = eng_sub(eng_sub(eng_add(a->wallet, t->upnl), t->pos_im), t->ord_im);
}

int eng_below_maintenance(struct sim_engine *e, const struct sim_account *a, int64_t now_ms)
{
    struct eng_totals t;
    totals(e, a, now_ms, &t);
    return dec_sign(t.maint) > 0 && dec_cmp(eng_add(a->wallet, t.upnl), t.maint) < 0;
}

struct dec eng_available(struct sim_engine *e, const struct sim_account *a, int64_t now_ms)
{
    struct eng_totals t;
    totals(e, a, now_ms, &t);
    return t.avail;
}

struct dec eng_order_margin(struct sim_engine *e, const struct sim_account *a, int sym, int side,
                            struct dec qty, struct dec price)
{
    struct dec amt = a->pos[sym].amt, grow = qty;
    (void)e;
    if ((side == ENG_BUY && dec_sign(amt) < 0) || (side == ENG_SELL && dec_sign(amt) > 0)) {
        struct dec reducible = dec_abs(amt);
        if (dec_cmp(qty, reducible) <= 0) return dec_from_int(0);
        grow = eng_sub(qty, reducible);
    }
    return eng_div(eng_mul(grow, price, MS), dec_from_int(a->pos[sym].leverage), MS);
}

/* New position after a signed fill; returns realized PnL (pre-fee). */
static struct dec apply_position(struct eng_position *p, struct dec q, struct dec price)
{
    struct dec zero = dec_from_int(0), realized = eng_round(zero, MS);
    struct dec old = p->amt, next = eng_add(old, q);
    if (dec_is_zero(old) || dec_sign(old) == dec_sign(q)) {
        struct dec cost = eng_add(eng_mul(dec_abs(old), p->entry, 16), eng_mul(dec_abs(q), price, 16));
        p->entry = eng_div(cost, dec_abs(next), MS);
    } else {
        struct dec closed = dec_cmp(dec_abs(q), dec_abs(old)) < 0 ? dec_abs(q) : dec_abs(old);
        struct dec diff = eng_sub(price, p->entry);
        if (dec_sign(old) < 0) diff = dec_neg(diff);
        realized = eng_mul(diff, closed, MS);
        if (dec_is_zero(next))
            p->entry = eng_round(zero, MS);
        else if (dec_sign(next) != dec_sign(old))
            p->entry = eng_round(price, MS);
    }
    p->amt = next;
    p->realized = eng_add(p->realized, realized);
    return realized;
}

void eng_apply_fill(struct sim_engine *e, struct sim_account *a, int sym, int side,
                    struct dec qty, struct dec price, int maker, int64_t order_id,
                    int64_t now_ms, struct eng_fill *fill)
{
    struct eng_position *p = &a->pos[sym];
    struct dec q = side == ENG_BUY ? qty : dec_neg(qty);
    struct dec quote = eng_mul(price, qty, price.scale + qty.scale);
    struct dec fee = maker ? e->opts.maker_fee : e->opts.taker_fee;
    struct eng_trade t;

    memset(fill, 0, sizeof *fill);
    fill->qty = qty;
    fill->price = price;
    fill->maker = maker;
    fill->commission = eng_mul(quote, fee, MS);
    fill->realized = apply_position(p, q, price);
    fill->trade_id = e->next_trade_id++;
    p->update_time = now_ms;
    a->wallet = eng_sub(eng_add(a->wallet, fill->realized), fill->commission);
    a->wallet_time = now_ms;

    memset(&t, 0, sizeof t);
    t.id = fill->trade_id;
    t.order_id = order_id;
    t.time = now_ms;
    t.sym = sym;
    t.side = side;
    t.maker = maker;
    t.price = price;
    t.qty = qty;
    t.quote_qty = quote;
    t.realized = fill->realized;
    t.commission = fill->commission;
    eng_add_trade(a, &t);
    if (!dec_is_zero(fill->realized))
        eng_add_income(a, INC_REALIZED_PNL, sym, fill->realized, now_ms, t.id);
    if (!dec_is_zero(fill->commission))
        eng_add_income(a, INC_COMMISSION, sym, dec_neg(fill->commission), now_ms, t.id);
}

void eng_wallet_event(struct sim_engine *e, struct sim_account *a, int income_type, int sym,
                      struct dec amount, const char *reason, int64_t now_ms)
{
    a->wallet = eng_add(a->wallet, eng_round(amount, MS));
    a->wallet_time = now_ms;
    eng_add_income(a, income_type, sym, eng_round(amount, MS), now_ms, 0);
    /* bc: "balance change except PnL and commission"; funding is reported without it */
    eng_emit_account(e, a, reason, -1, income_type == INC_FUNDING_FEE ? dec_from_int(0) : amount,
                     now_ms);
}

/* ---- answers ---- */

/* The largest position notional leverage lev allows on sym: the cap of the last bracket
 * whose initialLeverage is at least lev (sim/brackets.c), as a JSON string. */
static json_t *max_notional(struct sim_engine *e, int sym, int lev)
{
    int n;
    const struct sim_bracket *b = sim_brackets(sim_market_symbol(e->m, sym), &n);
    struct dec cap = b[0].notional_cap;
    for (int i = 0; i < n; i++)
        if (b[i].max_leverage >= lev) cap = b[i].notional_cap;
    return eng_jdec_trim(cap);
}

/* The highest leverage sym allows (its first bracket's). */
static int max_leverage(struct sim_engine *e, int sym)
{
    int n;
    return sim_brackets(sim_market_symbol(e->m, sym), &n)[0].max_leverage;
}

static json_t *jz(void)
{
    return eng_jdec(dec_from_int(0), MS);
}

static json_t *jpos_amt(struct sim_engine *e, const struct sim_account *a, int s)
{
    return eng_jdec(a->pos[s].amt, eng_qty_scale(sim_market_symbol(e->m, s)));
}

static int pos_listed_v3(const struct sim_account *a, int s)
{
    return !dec_is_zero(a->pos[s].amt) || eng_open_orders(a, s) > 0;
}

static json_t *account_position_v2(struct sim_engine *e, const struct sim_account *a, int s,
                                   int64_t now_ms)
{
    const struct sim_symbol *sy = sim_market_symbol(e->m, s);
    struct dec im = pos_im(e, a, s, now_ms), oim = orders_im(a, s, -1);
    char lev[16];
    snprintf(lev, sizeof lev, "%d", a->pos[s].leverage);
    return json_pack(
        "{s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:b,s:o,s:o,s:o,s:o,s:s,s:o,s:I}", "symbol", sy->name,
        "initialMargin", eng_jdec(eng_add(im, oim), MS), "maintMargin",
        eng_jdec(pos_maint(e, a, s, now_ms), MS), "unrealizedProfit",
        eng_jdec(eng_upnl(e, a, s, now_ms), MS), "positionInitialMargin", eng_jdec(im, MS),
        "openOrderInitialMargin", eng_jdec(oim, MS), "leverage", lev, "isolated", 0,
        "entryPrice", eng_jdec(a->pos[s].entry, MS), "maxNotional",
        max_notional(e, s, a->pos[s].leverage), "bidNotional",
        eng_jdec(orders_notional(a, s, ENG_BUY), MS), "askNotional",
        eng_jdec(orders_notional(a, s, ENG_SELL), MS), "positionSide", "BOTH", "positionAmt",
        jpos_amt(e, a, s), "updateTime", (json_int_t)a->pos[s].update_time);
}

static json_t *account_position_v3(struct sim_engine *e, const struct sim_account *a, int s,
                                   int64_t now_ms)
{
    const struct sim_symbol *sy = sim_market_symbol(e->m, s);
    struct dec im = eng_add(pos_im(e, a, s, now_ms), orders_im(a, s, -1));
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "symbol", sy->name,
                     "positionSide", "BOTH", "positionAmt", jpos_amt(e, a, s),
                     "unrealizedProfit", eng_jdec(eng_upnl(e, a, s, now_ms), MS),
                     "isolatedMargin", jz(), "notional",
                     eng_jdec(pos_notional(e, a, s, now_ms), MS), "isolatedWallet", jz(),
                     "initialMargin", eng_jdec(im, MS), "maintMargin",
                     eng_jdec(pos_maint(e, a, s, now_ms), MS), "updateTime",
                     (json_int_t)a->pos[s].update_time);
}

/* One assets[] element; v2 adds marginAvailable. USDT carries the wallet, others are zero. */
static json_t *account_asset(const struct sim_account *a, const char *asset,
                             const struct eng_totals *t, int v2)
{
    int usdt = !strcmp(asset, "USDT");
    struct dec z = eng_round(dec_from_int(0), MS);
    struct dec wallet = usdt ? a->wallet : z, upnl = usdt ? t->upnl : z;
    struct dec im = usdt ? eng_add(t->pos_im, t->ord_im) : z;
    struct dec avail = usdt ? t->avail : z;
    json_t *o = json_pack(
        "{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "asset", asset, "walletBalance",
        eng_jdec(wallet, MS), "unrealizedProfit", eng_jdec(upnl, MS), "marginBalance",
        eng_jdec(eng_add(wallet, upnl), MS), "maintMargin", eng_jdec(usdt ? t->maint : z, MS),
        "initialMargin", eng_jdec(im, MS), "positionInitialMargin",
        eng_jdec(usdt ? t->pos_im : z, MS), "openOrderInitialMargin",
        eng_jdec(usdt ? t->ord_im : z, MS), "crossWalletBalance", eng_jdec(wallet, MS),
        "crossUnPnl", eng_jdec(upnl, MS), "availableBalance", eng_jdec(avail, MS),
        "maxWithdrawAmount", eng_jdec(dec_sign(avail) > 0 ? avail : z, MS));
    if (v2) json_object_set_new(o, "marginAvailable", json_true());
    json_object_set_new(o, "updateTime", json_integer(usdt ? a->wallet_time : 0));
    return o;
}

static json_t *account_answer(struct sim_engine *e, const struct sim_account *a, int v2,
                              int64_t now_ms)
{
    struct eng_totals t;
    struct dec z = eng_round(dec_from_int(0), MS);
    json_t *o = json_object(), *assets = json_array(), *pos = json_array();
    totals(e, a, now_ms, &t);
    if (v2) {
        json_object_set_new(o, "feeTier", json_integer(0));
        json_object_set_new(o, "feeBurn", json_true());
        json_object_set_new(o, "canTrade", json_true());
        json_object_set_new(o, "canDeposit", json_true());
        json_object_set_new(o, "canWithdraw", json_true());
        json_object_set_new(o, "updateTime", json_integer(0));
        json_object_set_new(o, "multiAssetsMargin", json_false());
        json_object_set_new(o, "tradeGroupId", json_integer(-1));
    }
    json_object_set_new(o, "totalInitialMargin", eng_jdec(eng_add(t.pos_im, t.ord_im), MS));
    json_object_set_new(o, "totalMaintMargin", eng_jdec(t.maint, MS));
    json_object_set_new(o, "totalWalletBalance", eng_jdec(a->wallet, MS));
    json_object_set_new(o, "totalUnrealizedProfit", eng_jdec(t.upnl, MS));
    json_object_set_new(o, "totalMarginBalance", eng_jdec(eng_add(a->wallet, t.upnl), MS));
    json_object_set_new(o, "totalPositionInitialMargin", eng_jdec(t.pos_im, MS));
    json_object_set_new(o, "totalOpenOrderInitialMargin", eng_jdec(t.ord_im, MS));
    json_object_set_new(o, "totalCrossWalletBalance", eng_jdec(a->wallet, MS));
    json_object_set_new(o, "totalCrossUnPnl", eng_jdec(t.upnl, MS));
    json_object_set_new(o, "availableBalance", eng_jdec(t.avail, MS));
    json_object_set_new(o, "maxWithdrawAmount",
                        eng_jdec(dec_sign(t.avail) > 0 ? t.avail : z, MS));
    json_array_append_new(assets, account_asset(a, "USDT", &t, v2));
    for (size_t i = 0; i < sizeof extra_assets / sizeof *extra_assets; i++)
        json_array_append_new(assets, account_asset(a, extra_assets[i], &t, v2));
    for (int s = 0; s < e->nsym; s++) {
        if (v2)
            json_array_append_new(pos, account_position_v2(e, a, s, now_ms));
        else if (pos_listed_v3(a, s))
            json_array_append_new(pos, account_position_v3(e, a, s, now_ms));
    }
    json_object_set_new(o, "assets", assets);
    json_object_set_new(o, "positions", pos);
    return o;
}

static json_t *break_even(struct sim_engine *e, const struct eng_position *p)
{
    struct dec one = dec_from_int(1), f;
    if (dec_is_zero(p->amt)) return json_string("0.0");
    f = dec_sign(p->amt) > 0 ? eng_add(one, e->opts.taker_fee) : eng_sub(one, e->opts.taker_fee);
    return eng_jdec(eng_mul(p->entry, f, MS), MS);
}

static json_t *position_risk(struct sim_engine *e, const struct sim_account *a, int s, int v2,
                             int64_t now_ms)
{
    const struct sim_symbol *sy = sim_market_symbol(e->m, s);
    const struct eng_position *p = &a->pos[s];
    json_t *o = json_object();
    json_object_set_new(o, "symbol", json_string(sy->name));
    json_object_set_new(o, "positionSide", json_string("BOTH"));
    json_object_set_new(o, "positionAmt", jpos_amt(e, a, s));
    json_object_set_new(o, "entryPrice", eng_jdec(p->entry, MS));
    json_object_set_new(o, "breakEvenPrice", break_even(e, p));
    json_object_set_new(o, "markPrice", eng_jdec(eng_mark(e, s, now_ms), MS));
    json_object_set_new(o, "unRealizedProfit", eng_jdec(eng_upnl(e, a, s, now_ms), MS));
    json_object_set_new(o, "liquidationPrice", json_string("0"));
    json_object_set_new(o, "isolatedMargin", jz());
    json_object_set_new(o, "notional", eng_jdec(pos_notional(e, a, s, now_ms), MS));
    json_object_set_new(o, "isolatedWallet", json_string("0"));
    if (v2) {
        char lev[16];
        snprintf(lev, sizeof lev, "%d", p->leverage);
        json_object_set_new(o, "leverage", json_string(lev));
        json_object_set_new(o, "maxNotionalValue", max_notional(e, s, p->leverage));
        json_object_set_new(o, "marginType", json_string("cross"));
        json_object_set_new(o, "isAutoAddMargin", json_string("false"));
    } else {
        struct dec im = pos_im(e, a, s, now_ms), oim = orders_im(a, s, -1);
        json_object_set_new(o, "marginAsset", json_string("USDT"));
        json_object_set_new(o, "initialMargin", eng_jdec(eng_add(im, oim), MS));
        json_object_set_new(o, "maintMargin", eng_jdec(pos_maint(e, a, s, now_ms), MS));
        json_object_set_new(o, "positionInitialMargin", eng_jdec(im, MS));
        json_object_set_new(o, "openOrderInitialMargin", eng_jdec(oim, MS));
        json_object_set_new(o, "adl", json_integer(dec_is_zero(p->amt) ? 0 : 1));
        json_object_set_new(o, "bidNotional", eng_jdec(orders_notional(a, s, ENG_BUY), MS));
        json_object_set_new(o, "askNotional", eng_jdec(orders_notional(a, s, ENG_SELL), MS));
    }
    json_object_set_new(o, "updateTime", json_integer(p->update_time));
    return o;
}

static int position_risk_answer(struct sim_engine *e, const struct sim_account *a, int v2,
                                const struct sim_params *p, int64_t now_ms,
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
    for (int s = 0; s < e->nsym; s++) {
        if (sym >= 0 && s != sym) continue;
        if (!v2 && !pos_listed_v3(a, s)) continue;
        json_array_append_new(arr, position_risk(e, a, s, v2, now_ms));
    }
    eng_reply_json(out, arr);
    return 1;
}

static json_t *balance_answer(struct sim_engine *e, const struct sim_account *a, int64_t now_ms)
{
    struct eng_totals t;
    json_t *arr = json_array();
    const char *assets[3] = {"USDT", "BNB", "USDC"};
    totals(e, a, now_ms, &t);
    for (int i = 0; i < 3; i++) {
        int usdt = i == 0;
        struct dec z = eng_round(dec_from_int(0), MS);
        struct dec w = usdt ? a->wallet : z, av = usdt ? t.avail : z;
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:b,s:I}", "accountAlias", "SgsR",
                           "asset", assets[i], "balance", eng_jdec(w, MS), "crossWalletBalance",
                           eng_jdec(w, MS), "crossUnPnl", eng_jdec(usdt ? t.upnl : z, MS),
                           "availableBalance", eng_jdec(av, MS), "maxWithdrawAmount",
                           eng_jdec(dec_sign(av) > 0 ? av : z, MS), "marginAvailable", 1,
                           "updateTime", (json_int_t)(usdt ? a->wallet_time : 0)));
    }
    return arr;
}

static int leverage_answer(struct sim_engine *e, struct sim_account *a,
                           const struct sim_params *p, int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    int64_t lev = 0;
    int sym = eng_param_symbol(e, p, 1, &err), r;
    if (sym < 0) goto fail;
    r = eng_param_int(p, "leverage", &lev, &err);
    if (r < 0) goto fail;
    if (r == 0) {
        eng_err_missing(&err, "leverage");
        goto fail;
    }
    if (lev < 1 || lev > max_leverage(e, sym)) {
        eng_set_err(&err, -4028, "Leverage %lld is not valid", (long long)lev);
        goto fail;
    }
    if (a->pos[sym].leverage != (int)lev) {
        a->pos[sym].leverage = (int)lev;
        eng_emit_leverage(e, a, sym, now_ms);
    }
    eng_reply_json(out, json_pack("{s:I,s:o,s:s}", "leverage", (json_int_t)lev,
                                  "maxNotionalValue", max_notional(e, sym, (int)lev), "symbol",
                                  sim_market_symbol(e->m, sym)->name));
    return 1;
fail:
    eng_reply_err(out, &err);
    return 1;
}

static int commission_answer(struct sim_engine *e, const struct sim_params *p,
                             struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 1, &err);
    if (sym < 0) {
        eng_reply_err(out, &err);
        return 1;
    }
    eng_reply_json(out, json_pack("{s:s,s:o,s:o}", "symbol", sim_market_symbol(e->m, sym)->name,
                                  "makerCommissionRate", eng_jdec_trim(e->opts.maker_fee),
                                  "takerCommissionRate", eng_jdec_trim(e->opts.taker_fee)));
    return 1;
}

/* ---- account modes and brackets ---- */

static int any_position(struct sim_engine *e, const struct sim_account *a)
{
    for (int s = 0; s < e->nsym; s++)
        if (!dec_is_zero(a->pos[s].amt)) return 1;
    return 0;
}

/* POST of a mode switch: false is the only simulated value. A position-side switch is
 * refused while orders or positions exist, as Binance does. */
static int mode_switch(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                       const char *param, int same_code, const char *same_msg, const char *what,
                       struct sim_reply *out)
{
    struct eng_err err;
    int want = 0, r = eng_param_bool(p, param, &want, &err);
    int side = !strcmp(param, "dualSidePosition");
    if (r == 0) eng_err_missing(&err, param);
    else if (r > 0 && !want) eng_set_err(&err, same_code, "%s", same_msg);
    else if (r > 0 && side && eng_open_orders(a, -1) + eng_open_algos(a, -1) > 0)
        eng_set_err(&err, -4067, "Position side cannot be changed if there exists open orders.");
    else if (r > 0 && side && any_position(e, a))
        eng_set_err(&err, -4068, "Position side cannot be changed if there exists position.");
    else if (r > 0)
        eng_set_err(&err, -1000, "%s is not simulated.", what);
    eng_reply_err(out, &err);
    return 1;
}

static int margin_type(struct sim_engine *e, const struct sim_params *p, struct sim_reply *out)
{
    struct eng_err err;
    const char *mt = sim_param(p, "marginType");
    int sym = eng_param_symbol(e, p, 1, &err);
    if (sym >= 0 && (!mt || !*mt)) eng_err_missing(&err, "marginType");
    else if (sym >= 0 && !strcmp(mt, "CROSSED"))
        eng_set_err(&err, -4046, "No need to change margin type.");
    else if (sym >= 0 && !strcmp(mt, "ISOLATED"))
        eng_set_err(&err, -1000, "Isolated margin is not simulated.");
    else if (sym >= 0)
        eng_set_err(&err, -1100,
                    "Illegal characters found in parameter 'marginType'; legal range is "
                    "'ISOLATED, CROSSED'.");
    eng_reply_err(out, &err);
    return 1;
}

/* d as a JSON number (Binance serves ratios and cum as numbers). The router dumps reals with
 * 15 significant digits, so the bracket figures (at most 13 digits) go out exactly. */
static json_t *jnum(struct dec d)
{
    char buf[DEC_STR_MAX];
    if (dec_format_trim(d, buf, sizeof buf) < 0) return json_integer(0);
    return d.scale > 0 ? json_real(strtod(buf, NULL)) : json_integer(d.units);
}

/* The brackets of sym in /fapi/v1/leverageBracket's shape; caps and floors are whole USDT. */
static json_t *bracket_json(const struct sim_symbol *sym)
{
    int n;
    const struct sim_bracket *b = sim_brackets(sym, &n);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:i,s:i,s:o,s:o,s:o,s:o}", "bracket", b[i].bracket,
                           "initialLeverage", b[i].max_leverage, "notionalCap",
                           jnum(b[i].notional_cap), "notionalFloor", jnum(b[i].notional_floor),
                           "maintMarginRatio", jnum(b[i].mmr), "cum", jnum(b[i].cum)));
    return json_pack("{s:s,s:o}", "symbol", sym->name, "brackets", arr);
}

/* GET /fapi/v1/leverageBracket: every tradable symbol's brackets, or the object of one. */
static int leverage_bracket(struct sim_engine *e, const struct sim_params *p,
                            struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 0, &err);
    json_t *arr;
    if (sym == -1) {
        eng_reply_err(out, &err);
        return 1;
    }
    if (sym >= 0) {
        eng_reply_json(out, bracket_json(sim_market_symbol(e->m, sym)));
        return 1;
    }
    arr = json_array();
    for (int s = 0; s < e->nsym; s++) {
        const struct sim_symbol *sy = sim_market_symbol(e->m, s);
        if (eng_symbol_tradable(sy)) json_array_append_new(arr, bracket_json(sy));
    }
    eng_reply_json(out, arr);
    return 1;
}

static int symbol_config(struct sim_engine *e, const struct sim_account *a,
                         const struct sim_params *p, struct sim_reply *out)
{
    struct eng_err err;
    int sym = eng_param_symbol(e, p, 0, &err);
    json_t *arr;
    if (sym == -1) {
        eng_reply_err(out, &err);
        return 1;
    }
    arr = json_array();
    for (int s = 0; s < e->nsym; s++) {
        const struct sim_symbol *sy = sim_market_symbol(e->m, s);
        if ((sym >= 0 && s != sym) || (sym < 0 && !eng_symbol_tradable(sy))) continue;
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:i,s:o}", "symbol", sy->name, "marginType", "CROSSED",
                           "isAutoAddMargin", "false", "leverage", a->pos[s].leverage,
                           "maxNotionalValue", max_notional(e, s, a->pos[s].leverage)));
    }
    eng_reply_json(out, arr);
    return 1;
}

static json_t *account_config(void)
{
    return json_pack("{s:i,s:b,s:b,s:b,s:b,s:i,s:b,s:i}", "feeTier", 0, "canTrade", 1,
                     "canDeposit", 1, "canWithdraw", 1, "dualSidePosition", 0, "updateTime", 0,
                     "multiAssetsMargin", 0, "tradeGroupId", -1);
}

/* The account-mode endpoints; 0 when path is none of them. */
static int modes_handle(struct sim_engine *e, struct sim_account *a, int get, int post,
                        const char *path, const struct sim_params *p, struct sim_reply *out)
{
    if (!strcmp(path, "/fapi/v1/positionSide/dual")) {
        if (get) eng_reply_json(out, json_pack("{s:b}", "dualSidePosition", 0));
        if (post)
            return mode_switch(e, a, p, "dualSidePosition", -4059,
                               "No need to change position side.", "Hedge mode", out);
        return get;
    }
    if (!strcmp(path, "/fapi/v1/multiAssetsMargin")) {
        if (get) eng_reply_json(out, json_pack("{s:b}", "multiAssetsMargin", 0));
        if (post)
            return mode_switch(e, a, p, "multiAssetsMargin", -4171,
                               "Multi-Assets mode is already in force.", "Multi-Assets mode",
                               out);
        return get;
    }
    if (post && !strcmp(path, "/fapi/v1/marginType")) return margin_type(e, p, out);
    if (!get) return 0;
    if (!strcmp(path, "/fapi/v1/leverageBracket")) return leverage_bracket(e, p, out);
    if (!strcmp(path, "/fapi/v1/symbolConfig")) return symbol_config(e, a, p, out);
    if (!strcmp(path, "/fapi/v1/accountConfig")) {
        eng_reply_json(out, account_config());
        return 1;
    }
    return 0;
}

int eng_account_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                       const char *path, const struct sim_params *p, int64_t now_ms,
                       struct sim_reply *out)
{
    int get = !strcmp(method, "GET");
    if (get && (!strcmp(path, "/fapi/v2/account") || !strcmp(path, "/fapi/v3/account"))) {
        eng_reply_json(out, account_answer(e, a, path[7] == '2', now_ms));
        return 1;
    }
    if (get && (!strcmp(path, "/fapi/v2/positionRisk") || !strcmp(path, "/fapi/v3/positionRisk")))
        return position_risk_answer(e, a, path[7] == '2', p, now_ms, out);
    if (get && (!strcmp(path, "/fapi/v2/balance") || !strcmp(path, "/fapi/v3/balance"))) {
        eng_reply_json(out, balance_answer(e, a, now_ms));
        return 1;
    }
    if (!strcmp(method, "POST") && !strcmp(path, "/fapi/v1/leverage"))
        return leverage_answer(e, a, p, now_ms, out);
    if (get && !strcmp(path, "/fapi/v1/commissionRate")) return commission_answer(e, p, out);
    return modes_handle(e, a, get, !strcmp(method, "POST"), path, p, out);
}
