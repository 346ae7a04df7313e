/* engine: the simulator's accounts and their life cycle; the entry points of sim/engine.h.
 *
 * Creates and finds accounts, dispatches an authenticated request to the file that owns its
 * path (engine_account, engine_orders, engine_algo, engine_history), advances the world on
 * each tick (resting orders, classic stops, algo triggers, funding), applies admin events made
 * "outside bfq" (a manual trade, a funding fee, a transfer) and summarises the state.
 * Deterministic: ids and generated client ids come from counters, never from rand() or the
 * clock, so the same request sequence gives the same answers, times aside. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"
#include "core/log.h"
#include "core/timebase.h"
#include "sim/engine_internal.h"

#define ENG_TRANSFER_MAX 1000000000000LL /* |amount| of one admin transfer, in USDT */

void eng_emit(struct sim_engine *e, const struct sim_account *a, json_t *event)
{
    char *text;
    if (!event) return;
    text = jv_dump(event);
    json_decref(event);
    if (!text) return;
    if (e->on_event) e->on_event(a->name, text, e->privdata);
    free(text);
}

/* 22 characters of base62 from a mixed counter, shaped like Binance's generated ids. */
void eng_client_id(struct sim_engine *e, char *out)
{
    static const char abc[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t x = ++e->client_seq, h = 0;
    for (int i = 0; i < 22; i++) {
        if (i % 10 == 0) { /* splitmix64 step */
            h = (x += 0x9E3779B97F4A7C15ULL);
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
            h ^= h >> 31;
        }
        out[i] = abc[h % 62];
        h /= 62;
    }
    out[22] = '\0';
}

int eng_symbol_tradable(const struct sim_symbol *s)
{
    return !strcmp(s->status, "TRADING");
}

struct sim_engine *sim_engine_new(struct sim_market *m, const struct sim_engine_options *opts,
                                  sim_event_fn *on_event, void *privdata)
{
    struct sim_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->m = m;
    e->nsym = sim_market_count(m);
    if (opts) e->opts = *opts;
    if (e->opts.funding_interval_ms <= 0) e->opts.funding_interval_ms = 8 * 3600 * 1000LL;
    if (dec_is_zero(e->opts.maker_fee) && dec_is_zero(e->opts.taker_fee)) {
        e->opts.maker_fee = (struct dec){2, 4}; /* 0.0002 */
        e->opts.taker_fee = (struct dec){5, 4}; /* 0.0005 */
    }
    e->on_event = on_event;
    e->privdata = privdata;
    e->next_order_id = ENG_ORDER_ID_BASE;
    e->next_algo_id = ENG_ALGO_ID_BASE;
    e->next_trade_id = ENG_TRADE_ID_BASE;
    return e;
}

static void account_free(struct sim_account *a)
{
    free(a->pos);
    free(a->orders.v);
    free(a->algos.v);
    free(a->trades.v);
    free(a->income.v);
    free(a);
}

void sim_engine_free(struct sim_engine *e)
{
    if (!e) return;
    for (int i = 0; i < e->nacct; i++) account_free(e->acct[i]);
    free(e->acct);
    free(e);
}

int sim_engine_add_account(struct sim_engine *e, const char *name, const char *api_key,
                           const char *api_secret, struct dec usdt)
{
    struct sim_account *a, **na;
    if (strlen(name) >= ENG_NAME_MAX || strlen(api_key) >= ENG_KEY_MAX ||
        strlen(api_secret) >= ENG_KEY_MAX)
        return -1;
    if (sim_engine_account_by_name(e, name) || sim_engine_account_by_key(e, api_key)) return -1;
    a = calloc(1, sizeof *a);
    na = realloc(e->acct, (size_t)(e->nacct + 1) * sizeof *na);
    if (!a || !na) {
        free(a);
        if (na) e->acct = na;
        return -1;
    }
    e->acct = na;
    a->pos = calloc((size_t)(e->nsym > 0 ? e->nsym : 1), sizeof *a->pos);
    if (!a->pos) {
        free(a);
        return -1;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->key, sizeof a->key, "%s", api_key);
    snprintf(a->secret, sizeof a->secret, "%s", api_secret);
    a->wallet = eng_round(usdt, ENG_MONEY_SCALE);
    if (!dec_is_zero(usdt)) a->wallet_time = timebase_wall_ms(); /* funded now */
    for (int s = 0; s < e->nsym; s++) {
        a->pos[s].leverage = ENG_DEFAULT_LEVERAGE;
        a->pos[s].amt = dec_from_int(0);
        a->pos[s].entry = eng_round(dec_from_int(0), ENG_MONEY_SCALE);
        a->pos[s].realized = dec_from_int(0);
    }
    e->acct[e->nacct++] = a;
    return 0;
}

struct sim_account *sim_engine_account_by_key(struct sim_engine *e, const char *api_key)
{
    for (int i = 0; i < e->nacct; i++)
        if (!strcmp(e->acct[i]->key, api_key)) return e->acct[i];
    return NULL;
}

struct sim_account *sim_engine_account_by_name(struct sim_engine *e, const char *name)
{
    for (int i = 0; i < e->nacct; i++)
        if (!strcmp(e->acct[i]->name, name)) return e->acct[i];
    return NULL;
}

const char *sim_account_name(const struct sim_account *a)
{
    return a->name;
}

const char *sim_account_secret(const struct sim_account *a)
{
    return a->secret;
}

int sim_engine_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                      const char *path, const struct sim_params *p, int64_t now_ms,
                      struct sim_reply *out)
{
    out->status = 200;
    out->body = NULL;
    out->order_count = 0;
    if (eng_orders_handle(e, a, method, path, p, now_ms, out)) return 1;
    if (eng_account_handle(e, a, method, path, p, now_ms, out)) return 1;
    if (eng_algo_handle(e, a, method, path, p, now_ms, out)) return 1;
    if (eng_history_handle(e, a, method, path, p, now_ms, out)) return 1;
    return 0;
}

void sim_engine_tick(struct sim_engine *e, int64_t now_ms)
{
    int purge = now_ms - e->last_purge_ms >= 1000 || now_ms < e->last_purge_ms;
    if (purge) e->last_purge_ms = now_ms;
    for (int i = 0; i < e->nacct; i++) {
        if (purge) eng_history_purge(e, e->acct[i], now_ms);
        eng_orders_tick(e, e->acct[i], now_ms);
        eng_algo_tick(e, e->acct[i], now_ms);
        eng_liquidate_tick(e, e->acct[i], now_ms);
    }
    eng_funding_tick(e, now_ms);
}

/* ---- admin events ---- */

static int admin_fail(struct sim_reply *out, const struct eng_err *err)
{
    eng_reply_err(out, err);
    return 400;
}

/* A MARKET order made on the website: no filters, no margin check, the events and rows a
 * real fill gives. */
static int admin_trade(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                       int64_t now_ms, struct sim_reply *out)
{
    struct eng_order o;
    struct eng_err err;
    long idx;
    int r;
    memset(&o, 0, sizeof o);
    o.sym = eng_param_symbol(e, p, 1, &err);
    if (o.sym < 0) return admin_fail(out, &err);
    if (!sim_param(p, "side")) return admin_fail(out, (eng_err_missing(&err, "side"), &err));
    if (eng_param_enum(p, "side", eng_side_names, 2, &o.side, -1117, "Invalid side.", &err) < 0)
        return admin_fail(out, &err);
    r = eng_param_dec(p, "qty", eng_qty_scale(sim_market_symbol(e->m, o.sym)), &o.qty, &err);
    if (r < 0) return admin_fail(out, &err);
    if (r == 0 || dec_sign(o.qty) <= 0) return admin_fail(out, (eng_err_missing(&err, "qty"), &err));
    o.type = o.orig_type = ENG_MARKET;
    snprintf(o.client_id, sizeof o.client_id, "web_");
    eng_client_id(e, o.client_id + 4);
    idx = eng_order_submit(e, a, &o, now_ms, &err);
    if (idx < 0) return admin_fail(out, &err);
    eng_reply_json(out, eng_order_json(e, &a->orders.v[idx], ENG_VIEW_QUERY));
    return 200;
}

static int admin_funding(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                         int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    struct dec amount = dec_from_int(0), rate;
    int sym = eng_param_symbol(e, p, 1, &err), r;
    if (sym < 0) return admin_fail(out, &err);
    r = eng_param_dec(p, "amount", -1, &amount, &err);
    if (r < 0) return admin_fail(out, &err);
    if (r == 0) {
        r = eng_param_dec(p, "rate", -1, &rate, &err);
        if (r <= 0) return admin_fail(out, (r == 0 ? eng_err_missing(&err, "amount") : 0, &err));
        amount = dec_neg(eng_mul(eng_mul(a->pos[sym].amt, sim_market_mark(e->m, sym, now_ms),
                                         ENG_MONEY_SCALE),
                                 rate, ENG_MONEY_SCALE));
    }
    eng_wallet_event(e, a, INC_FUNDING_FEE, sym, amount, "FUNDING_FEE", now_ms);
    eng_reply_json(out, json_pack("{s:b,s:o}", "ok", 1, "income",
                                  eng_jdec(eng_round(amount, ENG_MONEY_SCALE), ENG_MONEY_SCALE)));
    return 200;
}

static int admin_transfer(struct sim_engine *e, struct sim_account *a,
                          const struct sim_params *p, int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    struct dec amount;
    const char *asset = sim_param(p, "asset");
    int r = eng_param_dec(p, "amount", ENG_MONEY_SCALE, &amount, &err);
    if (r < 0) return admin_fail(out, &err);
    if (r == 0) return admin_fail(out, (eng_err_missing(&err, "amount"), &err));
    if (asset && strcmp(asset, "USDT"))
        return admin_fail(out, (eng_set_err(&err, -1100, "Only USDT is simulated."), &err));
    if (dec_cmp(dec_abs(amount), dec_from_int(ENG_TRANSFER_MAX)) > 0)
        return admin_fail(out, (eng_err_illegal(&err, "amount"), &err));
    eng_wallet_event(e, a, INC_TRANSFER, -1, amount,
                     dec_sign(amount) >= 0 ? "DEPOSIT" : "WITHDRAW", now_ms);
    eng_reply_json(out, json_pack("{s:b,s:o}", "ok", 1, "wallet",
                                  eng_jdec(a->wallet, ENG_MONEY_SCALE)));
    return 200;
}

/* An income row of any Binance incomeType with its wallet change and ACCOUNT_UPDATE
 * (POST /_sim/income): type, amount, optional symbol. */
static int admin_income(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                        int64_t now_ms, struct sim_reply *out)
{
    static const struct { int type; const char *reason; } reasons[] = {
        {INC_FUNDING_FEE, "FUNDING_FEE"}, {INC_INSURANCE_CLEAR, "INSURANCE_CLEAR"},
        {INC_OPTIONS_PREMIUM_FEE, "OPTIONS_PREMIUM_FEE"},
        {INC_OPTIONS_SETTLE_PROFIT, "OPTIONS_SETTLE_PROFIT"}, {INC_AUTO_EXCHANGE, "AUTO_EXCHANGE"},
        {INC_COIN_SWAP_DEPOSIT, "COIN_SWAP_DEPOSIT"}, {INC_COIN_SWAP_WITHDRAW, "COIN_SWAP_WITHDRAW"},
    };
    struct eng_err err;
    struct dec amount;
    const char *reason = "ADJUSTMENT";
    int type = eng_enum(sim_param(p, "type"), eng_income_names, INC_COUNT), sym = -1, r;
    if (type < 0) return admin_fail(out, (eng_err_missing(&err, "type"), &err));
    if (type == INC_REALIZED_PNL || type == INC_COMMISSION)
        return admin_fail(out, (eng_set_err(&err, -1100, "Trades book REALIZED_PNL and "
                                            "COMMISSION: use kind=trade."), &err));
    if (sim_param(p, "symbol")) {
        sym = eng_param_symbol(e, p, 1, &err);
        if (sym < 0) return admin_fail(out, &err);
    }
    r = eng_param_dec(p, "amount", ENG_MONEY_SCALE, &amount, &err);
    if (r < 0) return admin_fail(out, &err);
    if (r == 0) return admin_fail(out, (eng_err_missing(&err, "amount"), &err));
    if (dec_cmp(dec_abs(amount), dec_from_int(ENG_TRANSFER_MAX)) > 0)
        return admin_fail(out, (eng_err_illegal(&err, "amount"), &err));
    if (type == INC_TRANSFER) reason = dec_sign(amount) >= 0 ? "DEPOSIT" : "WITHDRAW";
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (reasons[i].type == type) reason = reasons[i].reason;
    eng_wallet_event(e, a, type, sym, amount, reason, now_ms);
    eng_reply_json(out, json_pack("{s:b,s:I,s:o}", "ok", 1, "tranId",
                                  (json_int_t)a->income.v[a->income.n - 1].tran_id, "wallet",
                                  eng_jdec(a->wallet, ENG_MONEY_SCALE)));
    return 200;
}

int sim_engine_admin_event(struct sim_engine *e, const char *account, const char *kind,
                           const struct sim_params *p, int64_t now_ms, struct sim_reply *out)
{
    struct sim_account *a = account ? sim_engine_account_by_name(e, account) : NULL;
    struct eng_err err;
    out->order_count = 0;
    if (!a && e->nacct == 1 && !account) a = e->acct[0];
    if (!a) {
        eng_set_err(&err, -2015, "Unknown account.");
        eng_reply_err(out, &err);
        out->status = 404;
        return 404;
    }
    if (kind && !strcmp(kind, "trade")) out->status = admin_trade(e, a, p, now_ms, out);
    else if (kind && !strcmp(kind, "funding")) out->status = admin_funding(e, a, p, now_ms, out);
    else if (kind && !strcmp(kind, "transfer")) out->status = admin_transfer(e, a, p, now_ms, out);
    else if (kind && !strcmp(kind, "income")) out->status = admin_income(e, a, p, now_ms, out);
    else {
        eng_set_err(&err, -1100, "kind must be trade, funding, transfer or income.");
        eng_reply_err(out, &err);
    }
    return out->status;
}

json_t *sim_engine_state(struct sim_engine *e, int64_t now_ms)
{
    json_t *arr = json_array();
    for (int i = 0; i < e->nacct; i++) {
        struct sim_account *a = e->acct[i];
        json_t *pos = json_array();
        for (int s = 0; s < e->nsym; s++) {
            if (dec_is_zero(a->pos[s].amt)) continue;
            const struct sim_symbol *sy = sim_market_symbol(e->m, s);
            json_array_append_new(
                pos, json_pack("{s:s,s:o,s:o,s:o}", "symbol", sy->name, "positionAmt",
                               eng_jdec(a->pos[s].amt, eng_qty_scale(sy)), "entryPrice",
                               eng_jdec(a->pos[s].entry, ENG_MONEY_SCALE), "unrealizedProfit",
                               eng_jdec(eng_upnl(e, a, s, now_ms), ENG_MONEY_SCALE)));
        }
        json_array_append_new(
            arr, json_pack("{s:s,s:{s:o},s:o,s:o,s:i,s:i,s:I,s:I}", "name", a->name, "balances",
                           "USDT", eng_jdec(a->wallet, ENG_MONEY_SCALE), "available",
                           eng_jdec(eng_available(e, a, now_ms), ENG_MONEY_SCALE), "positions",
                           pos, "openOrders", eng_open_orders(a, -1), "openAlgoOrders",
                           eng_open_algos(a, -1), "trades", (json_int_t)a->trades.n, "incomeRows",
                           (json_int_t)a->income.n));
    }
    return json_pack("{s:o}", "accounts", arr);
}

void sim_engine_algo_lag(struct sim_engine *e, int64_t ms)
{
    e->algo_lag_ms = ms > 0 ? ms : 0;
}
