/* mdata: public market-data endpoints (see mdata.h). */
#include "sim/mdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KLINES_DEFAULT 500
#define KLINES_MAX 1500

struct mdata {
    struct sim_ctx *c;
    struct sbuf einfo_tail;   /* exchangeInfo after "serverTime": */
    struct sbuf bt_all;       /* cached all-symbol bookTicker */
    int64_t bt_all_step;      /* book step of the cache, -1 when empty */
    uint64_t bt_all_version;  /* the market's book version of the cache */
};

static const char *const ERR_SYMBOL = "Invalid symbol.";

/* ---- exchangeInfo ------------------------------------------------------------------ */

static void ei_filters(struct sbuf *b, const struct sim_symbol *s)
{
    const struct dec_filters *f = &s->filters;
    sbuf_adds(b, "[{\"filterType\":\"PRICE_FILTER\",\"minPrice\":");
    sbuf_add_decq(b, f->min_price);
    sbuf_adds(b, ",\"maxPrice\":");
    sbuf_add_decq(b, f->max_price);
    sbuf_adds(b, ",\"tickSize\":");
    sbuf_add_decq(b, f->tick);
    sbuf_adds(b, "},{\"filterType\":\"LOT_SIZE\",\"maxQty\":");
    sbuf_add_decq(b, f->max_qty);
    sbuf_adds(b, ",\"minQty\":");
    sbuf_add_decq(b, f->min_qty);
    sbuf_adds(b, ",\"stepSize\":");
    sbuf_add_decq(b, f->step);
    sbuf_adds(b, "},{\"filterType\":\"MARKET_LOT_SIZE\",\"maxQty\":");
    sbuf_add_decq(b, f->market_max_qty);
    sbuf_adds(b, ",\"minQty\":");
    sbuf_add_decq(b, f->market_min_qty);
    sbuf_adds(b, ",\"stepSize\":");
    sbuf_add_decq(b, f->market_step);
    sbuf_adds(b, "},{\"filterType\":\"MAX_NUM_ORDERS\",\"limit\":");
    sbuf_addi(b, s->max_orders);
    sbuf_adds(b, "},{\"filterType\":\"MIN_NOTIONAL\",\"notional\":");
    sbuf_add_decq(b, f->min_notional);
    sbuf_adds(b, "},{\"filterType\":\"PERCENT_PRICE\",\"multiplierUp\":");
    sbuf_add_decq(b, s->mult_up);
    sbuf_adds(b, ",\"multiplierDown\":");
    sbuf_add_decq(b, s->mult_down);
    sbuf_adds(b, ",\"multiplierDecimal\":\"4\"}]");
}

static void ei_symbol(struct sbuf *b, const struct sim_symbol *s)
{
    sbuf_adds(b, "{\"symbol\":");
    sbuf_add_jstr(b, s->name);
    sbuf_adds(b, ",\"pair\":");
    sbuf_add_jstr(b, s->pair);
    sbuf_adds(b, ",\"contractType\":");
    sbuf_add_jstr(b, s->contract_type);
    sbuf_adds(b, ",\"deliveryDate\":");
    sbuf_addi(b, s->delivery_ms);
    sbuf_adds(b, ",\"onboardDate\":");
    sbuf_addi(b, s->onboard_ms);
    sbuf_adds(b, ",\"status\":");
    sbuf_add_jstr(b, s->status);
    sbuf_adds(b, ",\"maintMarginPercent\":\"2.5000\",\"requiredMarginPercent\":\"5.0000\","
                 "\"baseAsset\":");
    sbuf_add_jstr(b, s->base);
    sbuf_adds(b, ",\"quoteAsset\":");
    sbuf_add_jstr(b, s->quote);
    sbuf_adds(b, ",\"marginAsset\":");
    sbuf_add_jstr(b, s->margin_asset);
    sbuf_adds(b, ",\"pricePrecision\":");
    sbuf_addi(b, s->price_precision);
    sbuf_adds(b, ",\"quantityPrecision\":");
    sbuf_addi(b, s->qty_precision);
    sbuf_adds(b, ",\"baseAssetPrecision\":8,\"quotePrecision\":8,\"underlyingType\":");
    sbuf_add_jstr(b, s->underlying_type);
    sbuf_adds(b, !strcmp(s->underlying_type, "INDEX") ? ",\"underlyingSubType\":[\"INDEX\"]"
                                                      : ",\"underlyingSubType\":[]");
    sbuf_adds(b, ",\"settlePlan\":0,\"triggerProtect\":\"0.0500\",\"liquidationFee\":\"0.012500\","
                 "\"marketTakeBound\":\"0.05\",\"maxMoveOrderLimit\":10000,\"filters\":");
    ei_filters(b, s);
    sbuf_adds(b, ",\"orderTypes\":[\"LIMIT\",\"MARKET\",\"STOP\",\"STOP_MARKET\",\"TAKE_PROFIT\","
                 "\"TAKE_PROFIT_MARKET\",\"TRAILING_STOP_MARKET\"],"
                 "\"timeInForce\":[\"GTC\",\"IOC\",\"FOK\",\"GTX\",\"GTD\"]}");
}

static void ei_build(struct mdata *md)
{
    struct sbuf *b = &md->einfo_tail;
    const struct sim_ctx *c = md->c;
    sbuf_adds(b, ",\"futuresType\":\"U_MARGINED\",\"rateLimits\":[{\"rateLimitType\":"
                 "\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":");
    sbuf_addi(b, c->cfg.weight_limit);
    sbuf_adds(b, "},{\"rateLimitType\":\"ORDERS\",\"interval\":\"MINUTE\",\"intervalNum\":1,"
                 "\"limit\":1200},{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\","
                 "\"intervalNum\":10,\"limit\":300}],\"exchangeFilters\":[],\"assets\":["
                 "{\"asset\":\"USDT\",\"marginAvailable\":true,\"autoAssetExchange\":\"-10000\"},"
                 "{\"asset\":\"USDC\",\"marginAvailable\":true,\"autoAssetExchange\":\"-10000\"},"
                 "{\"asset\":\"BUSD\",\"marginAvailable\":true,\"autoAssetExchange\":\"-10000\"},"
                 "{\"asset\":\"BTC\",\"marginAvailable\":true,\"autoAssetExchange\":\"-0.10000000\"},"
                 "{\"asset\":\"BNB\",\"marginAvailable\":false,\"autoAssetExchange\":\"0\"},"
                 "{\"asset\":\"ETH\",\"marginAvailable\":true,\"autoAssetExchange\":\"-5\"}],"
                 "\"symbols\":[");
    int n = sim_market_count(c->market);
    for (int i = 0; i < n; i++) {
        if (i) sbuf_addc(b, ',');
        ei_symbol(b, sim_market_symbol(c->market, i));
    }
    sbuf_adds(b, "]}");
}

struct mdata *mdata_new(struct sim_ctx *c)
{
    struct mdata *md = calloc(1, sizeof(*md));
    if (!md) return NULL;
    md->c = c;
    md->bt_all_step = -1;
    ei_build(md);
    if (md->einfo_tail.failed) {
        mdata_free(md);
        return NULL;
    }
    return md;
}

void mdata_free(struct mdata *md)
{
    if (!md) return;
    sbuf_free(&md->einfo_tail);
    sbuf_free(&md->bt_all);
    free(md);
}

/* ---- helpers ----------------------------------------------------------------------- */

/* Parses an optional non-negative integer parameter. Returns 0 (def when absent) or -1 after
 * writing Binance's error. */
static int int_param(const struct sim_params *p, const char *key, int64_t def, int64_t *out,
                     struct sim_response *r)
{
    const char *v = sim_param(p, key);
    *out = def;
    if (!v) return 0;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < 0) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "Illegal characters found in parameter '%s'; legal range is '^[0-9]{1,20}$'.", key);
        sim_error(r, 400, -1100, msg);
        return -1;
    }
    *out = x;
    return 0;
}

static int find_symbol(struct mdata *md, const struct sim_params *p, int required,
                       struct sim_response *r)
{
    const char *s = sim_param(p, "symbol");
    if (!s) {
        if (required)
            sim_error(r, 400, -1102,
                      "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
        return required ? -2 : -1;
    }
    const struct sim_symbol *sym = sim_market_find(md->c->market, s);
    if (!sym) {
        sim_error(r, 400, -1121, ERR_SYMBOL);
        return -2;
    }
    return sym->index;
}

/* ---- weights ----------------------------------------------------------------------- */

static int klines_weight(int64_t limit)
{
    if (limit < 100) return 1;
    if (limit < 500) return 2;
    if (limit <= 1000) return 5;
    return 10;
}

static int depth_weight(int64_t limit)
{
    if (limit <= 50) return 2;
    if (limit <= 100) return 5;
    if (limit <= 500) return 10;
    return 20;
}

static int64_t limit_of(const struct sim_params *p, int64_t def)
{
    const char *v = sim_param(p, "limit");
    if (!v) return def;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    return (*v && !*end && x > 0) ? x : def;
}

int mdata_weight(const char *method, const char *path, const struct sim_params *p)
{
    int has_sym = sim_param(p, "symbol") != NULL;
    if (strcmp(method, "GET")) return -1;
    if (!strcmp(path, "/fapi/v1/ping") || !strcmp(path, "/fapi/v1/time") ||
        !strcmp(path, "/fapi/v1/exchangeInfo"))
        return 1;
    if (!strcmp(path, "/fapi/v1/klines")) return klines_weight(limit_of(p, KLINES_DEFAULT));
    if (!strcmp(path, "/fapi/v1/depth")) return depth_weight(limit_of(p, 500));
    if (!strcmp(path, "/fapi/v1/ticker/bookTicker")) return has_sym ? 2 : 5;
    if (!strcmp(path, "/fapi/v1/ticker/24hr")) return has_sym ? 1 : 40;
    if (!strcmp(path, "/fapi/v1/ticker/price") || !strcmp(path, "/fapi/v2/ticker/price"))
        return has_sym ? 1 : 2;
    if (!strcmp(path, "/fapi/v1/premiumIndex")) return has_sym ? 1 : 10;
    return -1;
}

/* ---- endpoints --------------------------------------------------------------------- */

static void ep_exchange_info(struct mdata *md, int64_t now, struct sim_response *r)
{
    sbuf_adds(&r->body, "{\"timezone\":\"UTC\",\"serverTime\":");
    sbuf_addi(&r->body, now);
    sbuf_add(&r->body, md->einfo_tail.buf, md->einfo_tail.len);
}

static void kline_json(struct sbuf *b, const struct sim_bar *bar)
{
    sbuf_addc(b, '[');
    sbuf_addi(b, bar->open_ms);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->open);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->high);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->low);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->close);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->volume);
    sbuf_addc(b, ',');
    sbuf_addi(b, bar->close_ms);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->quote_volume);
    sbuf_addc(b, ',');
    sbuf_addi(b, bar->trades);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->taker_buy_volume);
    sbuf_addc(b, ',');
    sbuf_add_decq(b, bar->taker_buy_quote);
    sbuf_adds(b, ",\"0\"]");
}

/* Open time of the first bar to serve, given the window parameters. */
static int64_t klines_first(int64_t iv, int64_t start, int64_t end, int64_t limit, int64_t now)
{
    if (start >= 0) {
        int64_t o = sim_bar_floor(start, iv);
        return o < start ? sim_bar_next(o, iv) : o;
    }
    int64_t last = sim_bar_floor(end >= 0 && end < now ? end : now, iv);
    int64_t o = last;
    for (int64_t k = 1; k < limit; k++) {
        if (iv == SIM_INTERVAL_MONTH) {
            o = sim_bar_floor(o - 1, iv);
        } else {
            o = last - (limit - 1) * iv;
            break;
        }
    }
    return o;
}

static void ep_klines(struct mdata *md, const struct sim_params *p, int64_t now,
                      struct sim_response *r)
{
    int idx = find_symbol(md, p, 1, r);
    if (idx < 0) return;
    const char *ivs = sim_param(p, "interval");
    int64_t iv, limit, start, end;
    if (!ivs) {
        sim_error(r, 400, -1102,
                  "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.");
        return;
    }
    if (sim_interval_parse(ivs, &iv)) {
        sim_error(r, 400, -1120, "Invalid interval.");
        return;
    }
    if (int_param(p, "limit", KLINES_DEFAULT, &limit, r) || int_param(p, "startTime", -1, &start, r) ||
        int_param(p, "endTime", -1, &end, r))
        return;
    if (limit < 1 || limit > KLINES_MAX) {
        sim_error(r, 400, -1130, "Data sent for parameter 'limit' is not valid.");
        return;
    }
    if (start >= 0 && end >= 0 && start > end) {
        sim_error(r, 400, -1023, "Start time is greater than end time.");
        return;
    }
    struct sbuf *b = &r->body;
    if (start > now) { /* nothing yet; also keeps far times away from the calendar (1M) */
        sbuf_adds(b, "[]");
        return;
    }
    sbuf_addc(b, '[');
    int64_t o = klines_first(iv, start, end, limit, now);
    int n = 0;
    while (n < limit && o <= now && (end < 0 || o <= end)) {
        int64_t next = sim_bar_next(o, iv);
        struct sim_bar bar;
        sim_market_bar(md->c->market, idx, o, next - o, now, &bar);
        if (n) sbuf_addc(b, ',');
        kline_json(b, &bar);
        n++;
        o = next;
    }
    sbuf_addc(b, ']');
}

static void ep_depth(struct mdata *md, const struct sim_params *p, int64_t now,
                     struct sim_response *r)
{
    int idx = find_symbol(md, p, 1, r);
    if (idx < 0) return;
    int64_t limit;
    if (int_param(p, "limit", 500, &limit, r)) return;
    static const int ok[] = {5, 10, 20, 50, 100, 500, 1000};
    int valid = 0;
    for (int i = 0; i < 7; i++) valid |= limit == ok[i];
    if (!valid) {
        sim_error(r, 400, -1130, "Data sent for parameter 'limit' is not valid.");
        return;
    }
    struct sim_book bk;
    sim_market_book(md->c->market, idx, now, &bk);
    struct sbuf *b = &r->body;
    sbuf_adds(b, "{\"lastUpdateId\":");
    sbuf_addi(b, bk.update_id);
    sbuf_adds(b, ",\"E\":");
    sbuf_addi(b, now);
    sbuf_adds(b, ",\"T\":");
    sbuf_addi(b, now - 3);
    for (int side = 0; side < 2; side++) {
        static struct dec px[SIM_DEPTH_MAX], q[SIM_DEPTH_MAX]; /* one loop, one thread */
        int n = sim_market_levels(md->c->market, idx, now, side, (int)limit, px, q);
        sbuf_adds(b, side ? "],\"asks\":[" : ",\"bids\":[");
        for (int k = 0; k < n; k++) {
            if (k) sbuf_addc(b, ',');
            sbuf_addc(b, '[');
            sbuf_add_decq(b, px[k]);
            sbuf_addc(b, ',');
            sbuf_add_decq(b, q[k]);
            sbuf_addc(b, ']');
        }
    }
    sbuf_adds(b, "]}");
}

static void book_ticker_json(struct sbuf *b, struct sim_market *m, int idx, int64_t now)
{
    struct sim_book bk;
    sim_market_book(m, idx, now, &bk);
    sbuf_adds(b, "{\"symbol\":");
    sbuf_add_jstr(b, sim_market_symbol(m, idx)->name);
    sbuf_adds(b, ",\"bidPrice\":");
    sbuf_add_decq(b, bk.bid);
    sbuf_adds(b, ",\"bidQty\":");
    sbuf_add_decq(b, bk.bid_qty);
    sbuf_adds(b, ",\"askPrice\":");
    sbuf_add_decq(b, bk.ask);
    sbuf_adds(b, ",\"askQty\":");
    sbuf_add_decq(b, bk.ask_qty);
    sbuf_adds(b, ",\"time\":");
    sbuf_addi(b, now - now % 100);
    sbuf_adds(b, ",\"lastUpdateId\":");
    sbuf_addi(b, bk.update_id);
    sbuf_addc(b, '}');
}

static void book_ticker_all(struct mdata *md, struct sbuf *b, int64_t now, int unsorted)
{
    struct sim_market *m = md->c->market;
    int n = sim_market_count(m);
    sbuf_addc(b, '[');
    for (int k = 0; k < n; k++) {
        int i = unsorted ? n - 1 - k : k; /* unsorted: newest listing first */
        if (k) sbuf_addc(b, ',');
        book_ticker_json(b, m, i, now);
    }
    sbuf_addc(b, ']');
}

static void ep_book_ticker(struct mdata *md, const struct sim_params *p, int64_t now,
                           int unsorted, struct sim_response *r)
{
    int idx = find_symbol(md, p, 0, r);
    if (idx == -2) return;
    if (idx >= 0) {
        book_ticker_json(&r->body, md->c->market, idx, now);
        return;
    }
    int64_t step = now / 100;
    if (unsorted || now != sim_now(md->c)) {
        book_ticker_all(md, &r->body, now, unsorted);
        return;
    }
    uint64_t version = sim_market_book_version(md->c->market);
    if (step != md->bt_all_step || version != md->bt_all_version) {
        sbuf_reset(&md->bt_all);
        book_ticker_all(md, &md->bt_all, now, 0);
        md->bt_all_step = step;
        md->bt_all_version = version;
    }
    sbuf_add(&r->body, md->bt_all.buf, md->bt_all.len);
}

static void ticker_24h_json(struct sbuf *b, struct sim_market *m, int idx, int64_t now)
{
    const struct sim_symbol *s = sim_market_symbol(m, idx);
    struct sim_bar bar;
    sim_market_bar(m, idx, now - 86400000, 86400000, now, &bar);
    struct dec chg = {0, 0}, pct = {0, 0}, avg = bar.close;
    if (dec_sub(bar.close, bar.open, &chg) != DEC_OK) chg = dec_from_int(0);
    struct dec hundred = dec_from_int(100), tmp;
    if (dec_mul(chg, hundred, &tmp) != DEC_OK || dec_div(tmp, bar.open, 3, DEC_ROUND_DOWN, &pct) != DEC_OK)
        pct = dec_from_int(0);
    if (!dec_is_zero(bar.volume) &&
        dec_div(bar.quote_volume, bar.volume, s->filters.tick.scale + 2, DEC_ROUND_DOWN, &avg) != DEC_OK)
        avg = bar.close;
    int64_t last_id = now / 50 + idx;
    sbuf_adds(b, "{\"symbol\":");
    sbuf_add_jstr(b, s->name);
    sbuf_adds(b, ",\"priceChange\":");
    sbuf_add_decq(b, chg);
    sbuf_adds(b, ",\"priceChangePercent\":");
    sbuf_add_decq(b, pct);
    sbuf_adds(b, ",\"weightedAvgPrice\":");
    sbuf_add_decq(b, avg);
    sbuf_adds(b, ",\"lastPrice\":");
    sbuf_add_decq(b, bar.close);
    sbuf_adds(b, ",\"lastQty\":");
    sbuf_add_decq(b, s->filters.step);
    sbuf_adds(b, ",\"openPrice\":");
    sbuf_add_decq(b, bar.open);
    sbuf_adds(b, ",\"highPrice\":");
    sbuf_add_decq(b, bar.high);
    sbuf_adds(b, ",\"lowPrice\":");
    sbuf_add_decq(b, bar.low);
    sbuf_adds(b, ",\"volume\":");
    sbuf_add_decq(b, bar.volume);
    sbuf_adds(b, ",\"quoteVolume\":");
    sbuf_add_decq(b, bar.quote_volume);
    sbuf_adds(b, ",\"openTime\":");
    sbuf_addi(b, now - 86400000);
    sbuf_adds(b, ",\"closeTime\":");
    sbuf_addi(b, now);
    sbuf_adds(b, ",\"firstId\":");
    sbuf_addi(b, last_id - bar.trades + 1);
    sbuf_adds(b, ",\"lastId\":");
    sbuf_addi(b, last_id);
    sbuf_adds(b, ",\"count\":");
    sbuf_addi(b, bar.trades);
    sbuf_addc(b, '}');
}

static void price_json(struct sbuf *b, struct sim_market *m, int idx, int64_t now)
{
    sbuf_adds(b, "{\"symbol\":");
    sbuf_add_jstr(b, sim_market_symbol(m, idx)->name);
    sbuf_adds(b, ",\"price\":");
    sbuf_add_decq(b, sim_market_last(m, idx, now));
    sbuf_adds(b, ",\"time\":");
    sbuf_addi(b, now);
    sbuf_addc(b, '}');
}

static void premium_json(struct sbuf *b, struct sim_market *m, int idx, int64_t now)
{
    struct dec mark = sim_market_mark(m, idx, now), mark8 = mark;
    struct dec index = sim_market_index(m, idx, now), index8 = index;
    if (dec_rescale(mark, 8, &mark8) != DEC_OK) mark8 = mark;
    if (dec_rescale(index, 8, &index8) != DEC_OK) index8 = index;
    sbuf_adds(b, "{\"symbol\":");
    sbuf_add_jstr(b, sim_market_symbol(m, idx)->name);
    sbuf_adds(b, ",\"markPrice\":");
    sbuf_add_decq(b, mark8);
    sbuf_adds(b, ",\"indexPrice\":");
    sbuf_add_decq(b, index8);
    sbuf_adds(b, ",\"estimatedSettlePrice\":");
    sbuf_add_decq(b, index8);
    sbuf_adds(b, ",\"lastFundingRate\":");
    sbuf_add_decq(b, sim_market_funding_rate(m, idx, now));
    sbuf_adds(b, ",\"interestRate\":\"0.00010000\",\"nextFundingTime\":");
    sbuf_addi(b, sim_market_next_funding(m, now));
    sbuf_adds(b, ",\"time\":");
    sbuf_addi(b, now);
    sbuf_addc(b, '}');
}

typedef void per_symbol_fn(struct sbuf *b, struct sim_market *m, int idx, int64_t now);

static void ep_per_symbol(struct mdata *md, const struct sim_params *p, int64_t now,
                          per_symbol_fn *fn, struct sim_response *r)
{
    int idx = find_symbol(md, p, 0, r);
    if (idx == -2) return;
    if (idx >= 0) {
        fn(&r->body, md->c->market, idx, now);
        return;
    }
    int n = sim_market_count(md->c->market);
    sbuf_addc(&r->body, '[');
    for (int i = 0; i < n; i++) {
        if (i) sbuf_addc(&r->body, ',');
        fn(&r->body, md->c->market, i, now);
    }
    sbuf_addc(&r->body, ']');
}

void mdata_handle(struct mdata *md, const char *path, const struct sim_params *p, int64_t now,
                  int unsorted, struct sim_response *r)
{
    r->status = 200;
    if (!strcmp(path, "/fapi/v1/ping"))
        sbuf_adds(&r->body, "{}");
    else if (!strcmp(path, "/fapi/v1/time"))
        sbuf_addf(&r->body, "{\"serverTime\":%lld}", (long long)now);
    else if (!strcmp(path, "/fapi/v1/exchangeInfo"))
        ep_exchange_info(md, now, r);
    else if (!strcmp(path, "/fapi/v1/klines"))
        ep_klines(md, p, now, r);
    else if (!strcmp(path, "/fapi/v1/depth"))
        ep_depth(md, p, now, r);
    else if (!strcmp(path, "/fapi/v1/ticker/bookTicker"))
        ep_book_ticker(md, p, now, unsorted, r);
    else if (!strcmp(path, "/fapi/v1/ticker/24hr"))
        ep_per_symbol(md, p, now, ticker_24h_json, r);
    else if (!strcmp(path, "/fapi/v1/ticker/price") || !strcmp(path, "/fapi/v2/ticker/price"))
        ep_per_symbol(md, p, now, price_json, r);
    else if (!strcmp(path, "/fapi/v1/premiumIndex"))
        ep_per_symbol(md, p, now, premium_json, r);
    else
        sim_error(r, 404, -5000, "Path not found.");
}
