/* engine_history: account trades, income rows, funding, order history and retention.
 *
 * Every fill is a trade (GET /fapi/v1/userTrades) and gives COMMISSION and, when it reduces,
 * REALIZED_PNL income rows; funding gives FUNDING_FEE rows, transfers TRANSFER rows, and
 * POST /_sim/income any other incomeType Binance lists (GET /fapi/v1/income). tranId is a
 * 64-bit number unique within an incomeType (one counter per type from ENG_TRAN_ID_BASE, as
 * Binance: the COMMISSION and REALIZED_PNL rows of one fill may share a number), tradeId is
 * the trade's id as a string ("" when none). Funding is charged at every multiple of the
 * funding interval since the epoch (each one that passed, also across a jump of the sim
 * clock): each open position pays notional x rate (longs pay a positive rate), one
 * ACCOUNT_UPDATE m=FUNDING_FEE with balances only per account.
 *
 * Windows and paging (docs/sim.md): allOrders and userTrades take at most 7 days (default the
 * last 7) and answer the most recent `limit` rows of an over-full window, oldest first, as
 * Binance documents ("otherwise most recent orders are returned"); with orderId/fromId they
 * answer the first `limit` rows from that id. income answers the oldest rows of its window
 * first and `page` walks forward through it, so paging by page or by startTime never skips a
 * row. Retention by the sim clock (ENG_KEEP_*): rows Binance no longer returns are dropped.
 * Histories also keep at most ENG_HISTORY_MAX rows per account; the oldest half goes when full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sim/engine_internal.h"

#define MS ENG_MONEY_SCALE
#define ENG_WEEK_MS (7 * ENG_DAY_MS)
#define ENG_FUNDING_CATCHUP 1095 /* funding times charged at most after a clock jump */

void *eng_vec_push(void *vec_v, size_t *n, size_t *cap, size_t elem)
{
    char *base;
    memcpy(&base, vec_v, sizeof base);
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char *nb = realloc(base, nc * elem);
        bfq_assert(nb != NULL);
        base = nb;
        *cap = nc;
        memcpy(vec_v, &base, sizeof base);
    }
    memset(base + *n * elem, 0, elem);
    return base + (*n)++ * elem;
}

/* Drops the oldest half of a history vector when it is full. */
static void trim(void *base, size_t *n, size_t elem)
{
    size_t drop;
    if (*n < ENG_HISTORY_MAX) return;
    drop = *n / 2;
    memmove(base, (char *)base + drop * elem, (*n - drop) * elem);
    *n -= drop;
}

void eng_add_trade(struct sim_account *a, const struct eng_trade *t)
{
    trim(a->trades.v, &a->trades.n, sizeof *a->trades.v);
    *(struct eng_trade *)ENG_PUSH(a->trades) = *t;
}

void eng_add_income(struct sim_account *a, int type, int sym, struct dec amount, int64_t now_ms,
                    int64_t trade_id)
{
    struct eng_income_row *r;
    trim(a->income.v, &a->income.n, sizeof *a->income.v);
    r = ENG_PUSH(a->income);
    r->type = type;
    r->sym = sym;
    r->amount = eng_round(amount, MS);
    r->time = now_ms;
    if (!a->tran_id[type]) a->tran_id[type] = ENG_TRAN_ID_BASE + 7919LL * type;
    r->tran_id = a->tran_id[type]++;
    r->trade_id = trade_id;
    snprintf(r->info, sizeof r->info, "%s", eng_income_names[type]);
}

/* ---- funding ---- */

static void fund_account(struct sim_engine *e, struct sim_account *a, int64_t at_ms)
{
    int any = 0;
    for (int s = 0; s < e->nsym; s++) {
        struct dec amt = a->pos[s].amt, notional, fee;
        if (dec_is_zero(amt)) continue;
        notional = eng_mul(amt, sim_market_mark(e->m, s, at_ms), MS);
        fee = dec_neg(eng_mul(notional, sim_market_funding_rate(e->m, s, at_ms), MS));
        if (dec_is_zero(fee)) continue;
        a->wallet = eng_add(a->wallet, fee);
        a->wallet_time = at_ms;
        eng_add_income(a, INC_FUNDING_FEE, s, fee, at_ms, 0);
        any = 1;
    }
    if (any) eng_emit_account(e, a, "FUNDING_FEE", -1, dec_from_int(0), at_ms);
}

void eng_funding_tick(struct sim_engine *e, int64_t now_ms)
{
    int64_t iv = e->opts.funding_interval_ms, slot;
    if (iv <= 0) return;
    slot = now_ms / iv * iv;
    if (e->last_funding_ms == 0) {
        e->last_funding_ms = slot; /* no charge for the slot the simulator started in */
        return;
    }
    if (slot <= e->last_funding_ms) return;
    /* every funding time passed, also when the sim clock jumped (bounded: a year of 8 h) */
    int64_t at = slot - e->last_funding_ms > ENG_FUNDING_CATCHUP * iv
                     ? slot - (ENG_FUNDING_CATCHUP - 1) * iv
                     : e->last_funding_ms + iv;
    e->last_funding_ms = slot;
    for (; at <= slot; at += iv)
        for (int i = 0; i < e->nacct; i++) fund_account(e, e->acct[i], at);
}

/* ---- answers ---- */

static json_t *trade_json(struct sim_engine *e, const struct eng_trade *t)
{
    const struct sim_symbol *s = sim_market_symbol(e->m, t->sym);
    return json_pack("{s:s,s:I,s:I,s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:s,s:I,s:s,s:b,s:b}", "symbol",
                     s->name, "id", (json_int_t)t->id, "orderId", (json_int_t)t->order_id,
                     "side", eng_side_names[t->side], "price",
                     eng_jdec(t->price, eng_price_scale(s)), "qty",
                     eng_jdec(t->qty, eng_qty_scale(s)), "realizedPnl",
                     eng_jdec(t->realized, MS), "marginAsset", "USDT", "quoteQty",
                     eng_jdec(t->quote_qty, eng_price_scale(s) + eng_qty_scale(s)),
                     "commission", eng_jdec(t->commission, MS), "commissionAsset", "USDT",
                     "time", (json_int_t)t->time, "positionSide", "BOTH", "buyer",
                     t->side == ENG_BUY, "maker", t->maker);
}

int eng_time_window(const struct sim_params *p, int64_t now_ms, int allow_long, int64_t *start,
                    int64_t *end, struct eng_err *err)
{
    int rs = eng_param_int(p, "startTime", start, err), re;
    if (rs < 0) return -1;
    re = eng_param_int(p, "endTime", end, err);
    if (re < 0) return -1;
    if (!rs && !re) {
        *end = now_ms;
        *start = now_ms - ENG_WEEK_MS;
    } else if (!re) {
        *end = allow_long ? INT64_MAX : *start + ENG_WEEK_MS;
    } else if (!rs) {
        *start = allow_long ? 0 : *end - ENG_WEEK_MS;
    }
    if (*start > *end) return eng_set_err(err, -1128, "Combination of optional parameters invalid.");
    if (!allow_long && *end - *start > ENG_WEEK_MS)
        return eng_set_err(err, -1127, "More than 7 days between startTime and endTime.");
    return 0;
}

int eng_range_parse(const struct sim_params *p, const char *idname, int id_alone,
                    int64_t now_ms, struct eng_range *r, struct eng_err *err)
{
    int times = sim_param(p, "startTime") || sim_param(p, "endTime");
    memset(r, 0, sizeof *r);
    r->end = INT64_MAX;
    r->has_from = eng_param_int(p, idname, &r->from, err);
    if (r->has_from < 0) return -1;
    r->limit = eng_param_limit(p, 500, 1000, err);
    if (r->limit < 0) return -1;
    if (r->has_from && id_alone && times)
        return eng_set_err(err, -1128, "Combination of optional parameters invalid.");
    if (!r->has_from || times) return eng_time_window(p, now_ms, 0, &r->start, &r->end, err);
    return 0;
}

size_t eng_range_first(const struct eng_range *r, size_t n, int (*match)(size_t i, void *ctx),
                       void *ctx)
{
    size_t first = 0;
    int seen = 0;
    if (r->has_from) return 0;
    for (size_t i = n; i-- > 0;) {
        if (!match(i, ctx)) continue;
        first = i;
        if (++seen == r->limit) break;
    }
    return first;
}

/* The rows of one symbol's list query, for eng_range_first. */
struct list_ctx {
    const struct sim_account *a;
    int sym;
    int64_t order_id; /* userTrades: 0 or the trade's order */
    const struct eng_range *r;
};

static int trade_match(size_t i, void *arg)
{
    const struct list_ctx *c = arg;
    const struct eng_trade *t = &c->a->trades.v[i];
    return t->sym == c->sym && t->time >= c->r->start && t->time <= c->r->end &&
           (!c->r->has_from || t->id >= c->r->from) && (!c->order_id || t->order_id == c->order_id);
}

static int order_match(size_t i, void *arg)
{
    const struct list_ctx *c = arg;
    const struct eng_order *o = &c->a->orders.v[i];
    return o->sym == c->sym && o->time >= c->r->start && o->time <= c->r->end &&
           (!c->r->has_from || o->id >= c->r->from);
}

static int user_trades(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                       int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    struct eng_range rg;
    struct list_ctx c = {a, 0, 0, &rg};
    int n = 0;
    json_t *arr;
    c.sym = eng_param_symbol(e, p, 1, &err);
    if (c.sym < 0 || eng_param_int(p, "orderId", &c.order_id, &err) < 0 ||
        eng_range_parse(p, "fromId", 1, now_ms, &rg, &err) < 0)
        goto fail;
    arr = json_array();
    for (size_t i = eng_range_first(&rg, a->trades.n, trade_match, &c);
         i < a->trades.n && n < rg.limit; i++) {
        if (!trade_match(i, &c)) continue;
        json_array_append_new(arr, trade_json(e, &a->trades.v[i]));
        n++;
    }
    eng_reply_json(out, arr);
    return 1;
fail:
    eng_reply_err(out, &err);
    return 1;
}

static json_t *income_json(struct sim_engine *e, const struct eng_income_row *r)
{
    char tid[24] = "";
    if (r->trade_id) snprintf(tid, sizeof tid, "%lld", (long long)r->trade_id);
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:I,s:I,s:s}", "symbol",
                     r->sym >= 0 ? sim_market_symbol(e->m, r->sym)->name : "", "incomeType",
                     eng_income_names[r->type], "income", eng_jdec(r->amount, MS), "asset",
                     "USDT", "info", r->info, "time", (json_int_t)r->time, "tranId",
                     (json_int_t)r->tran_id, "tradeId", tid);
}

static int income(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                  int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    int64_t start = 0, end = INT64_MAX, page = 1, skip;
    int sym = eng_param_symbol(e, p, 0, &err), type = -1, limit, n = 0;
    const char *it = sim_param(p, "incomeType");
    json_t *arr;
    if (sym == -1) goto fail;
    if (it && *it) {
        type = eng_enum(it, eng_income_names, INC_COUNT);
        if (type < 0) {
            eng_err_missing(&err, "incomeType");
            goto fail;
        }
    }
    if (eng_param_int(p, "page", &page, &err) < 0) goto fail;
    if (page < 1) page = 1;
    limit = eng_param_limit(p, 100, 1000, &err);
    if (limit < 0 || eng_time_window(p, now_ms, 1, &start, &end, &err) < 0) goto fail;
    skip = (page - 1) * limit;
    arr = json_array();
    for (size_t i = 0; i < a->income.n && n < limit; i++) {
        const struct eng_income_row *r = &a->income.v[i];
        if ((sym >= 0 && r->sym != sym) || (type >= 0 && r->type != type) || r->time < start ||
            r->time > end)
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        json_array_append_new(arr, income_json(e, r));
        n++;
    }
    eng_reply_json(out, arr);
    return 1;
fail:
    eng_reply_err(out, &err);
    return 1;
}

/* GET /fapi/v1/allOrders: with orderId the first `limit` orders from it, else the most
 * recent `limit` orders of the (7-day) window; oldest first either way. */
static int all_orders(struct sim_engine *e, struct sim_account *a, const struct sim_params *p,
                      int64_t now_ms, struct sim_reply *out)
{
    struct eng_err err;
    struct eng_range rg;
    struct list_ctx c = {a, 0, 0, &rg};
    int n = 0;
    json_t *arr;
    c.sym = eng_param_symbol(e, p, 1, &err);
    if (c.sym < 0 || eng_range_parse(p, "orderId", 0, now_ms, &rg, &err) < 0) goto fail;
    arr = json_array();
    for (size_t i = eng_range_first(&rg, a->orders.n, order_match, &c);
         i < a->orders.n && n < rg.limit; i++) {
        if (!order_match(i, &c)) continue;
        json_array_append_new(arr, eng_order_json(e, &a->orders.v[i], ENG_VIEW_QUERY));
        n++;
    }
    eng_reply_json(out, arr);
    return 1;
fail:
    eng_reply_err(out, &err);
    return 1;
}

/* ---- retention ---- */

static int order_expired(const struct eng_order *o, int64_t now_ms)
{
    int unfilled = dec_is_zero(o->executed) &&
                   (o->status == ENG_CANCELED || o->status == ENG_EXPIRED ||
                    o->status == ENG_REJECTED);
    if (eng_order_is_open(o)) return 0;
    return now_ms - o->update_time > (unfilled ? ENG_KEEP_UNFILLED_MS : ENG_KEEP_ORDER_MS);
}

static int algo_expired(const struct eng_algo *g, int64_t now_ms)
{
    int final = g->status == ALGO_CANCELED || g->status == ALGO_FINISHED ||
                g->status == ALGO_REJECTED || g->status == ALGO_EXPIRED;
    int unfilled = dec_is_zero(g->actual_qty) && g->status != ALGO_FINISHED;
    if (!final) return 0;
    return now_ms - g->update_time > (unfilled ? ENG_KEEP_UNFILLED_MS : ENG_KEEP_ORDER_MS);
}

/* Removes the elements of a vector for which gone(elem, now) holds, keeping the order. */
#define ENG_PURGE(vec, gone, now)                                             \
    do {                                                                      \
        size_t w_ = 0;                                                        \
        for (size_t r_ = 0; r_ < (vec).n; r_++)                               \
            if (!gone(&(vec).v[r_], now)) (vec).v[w_++] = (vec).v[r_];        \
        (vec).n = w_;                                                         \
    } while (0)

static int income_expired(const struct eng_income_row *r, int64_t now_ms)
{
    return now_ms - r->time > ENG_KEEP_INCOME_MS;
}

static int trade_expired(const struct eng_trade *t, int64_t now_ms)
{
    return now_ms - t->time > ENG_KEEP_TRADE_MS;
}

void eng_history_purge(struct sim_engine *e, struct sim_account *a, int64_t now_ms)
{
    (void)e;
    ENG_PURGE(a->orders, order_expired, now_ms);
    ENG_PURGE(a->algos, algo_expired, now_ms);
    ENG_PURGE(a->income, income_expired, now_ms);
    ENG_PURGE(a->trades, trade_expired, now_ms);
}

int eng_history_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                       const char *path, const struct sim_params *p, int64_t now_ms,
                       struct sim_reply *out)
{
    if (strcmp(method, "GET")) return 0;
    if (!strcmp(path, "/fapi/v1/userTrades")) return user_trades(e, a, p, now_ms, out);
    if (!strcmp(path, "/fapi/v1/income")) return income(e, a, p, now_ms, out);
    if (!strcmp(path, "/fapi/v1/allOrders")) return all_orders(e, a, p, now_ms, out);
    return 0;
}
