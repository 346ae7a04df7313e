/* test_trader_book: the pure parts of `bfq trader` and `bfq gateway`: the local book
 * (trader/book.h), order sizing (trader/sizing.h), intents (trader/intent.h) and the
 * gateway's decision (trader/gate.h), driven directly, without Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "trader/book.h"
#include "trader/gate.h"
#include "trader/intent.h"
#include "trader/sizing.h"
#include "tests/harness/testdec.h"

#define MIN 60000LL
#define T0 1795688460000LL /* a minute boundary */

/* [[t, o, h, l, c], ...] with times T0 + k minutes */
static json_t *bars(const char *spec)
{
    json_t *a = json_loads(spec, 0, NULL);
    if (!a) fprintf(stderr, "bad bars %s\n", spec);
    return a;
}

static json_t *bar(int64_t t, const char *o, const char *h, const char *l, const char *c)
{
    return json_pack("[I,s,s,s,s,s,I,s,i,s,s,s]", (json_int_t)t, o, h, l, c, "1",
                     (json_int_t)(t + MIN - 1), "1", 1, "0", "0", "0");
}

static void test_bars(void)
{
    struct book b;
    CHECK(book_init(&b, "1m", 30000) == 0);
    CHECK(b.interval_ms == 60000);
    struct book o;
    CHECK(book_init(&o, "1M", 30000) < 0 &&
          book_init(&o, "7m", 30000) < 0); /* no fixed length, none */
    struct book_sym *s = book_get(&b, "BTCUSDT");
    CHECK(s && book_find(&b, "BTCUSDT") == s && !book_find(&b, "ETHUSDT"));
    json_t *w = json_array();
    json_array_append_new(w, bar(T0, "100", "101", "99", "100"));
    json_array_append_new(w, bar(T0 + MIN, "100", "102", "100", "101"));
    CHECK(book_load_bars(&b, s, w, T0 + MIN + 5) == BOOK_APPLIED);
    CHECK(s->nbars == 2 && book_last_bar(s)->open_time == T0 + MIN);
    /* two-bar update: replaces the last by open time, appends the next */
    json_t *u = json_array();
    json_array_append_new(u, bar(T0 + MIN, "100", "103", "100", "102"));
    json_array_append_new(u, bar(T0 + 2 * MIN, "102", "104", "102", "104"));
    CHECK(book_update_bars(&b, s, u, T0 + 2 * MIN + 1) == BOOK_APPLIED);
    CHECK(s->nbars == 3 && th_dec_eq(s->bars[1].close, "102") && th_dec_eq(s->bars[2].close, "104"));
    CHECK(book_update_bars(&b, s, u, T0 + 2 * MIN + 1) == BOOK_UNCHANGED);
    /* an update that leaves a gap (more than an hour later: minute of hour would match) */
    json_t *g = json_array();
    json_array_append_new(g, bar(T0 + 62 * MIN, "104", "105", "104", "105"));
    CHECK(book_update_bars(&b, s, g, T0 + 62 * MIN) == BOOK_GAP);
    CHECK(s->resync && s->nbars == 3);
    json_decref(g);
    /* malformed: high below low */
    json_t *m = json_array();
    json_array_append_new(m, bar(T0 + 3 * MIN, "104", "100", "103", "104"));
    CHECK(book_update_bars(&b, s, m, T0 + 3 * MIN) == BOOK_INVALID);
    json_decref(m);
    CHECK(book_load_bars(&b, s, w, 1) == BOOK_APPLIED && !s->resync); /* a window clears it */
    json_decref(w);
    json_decref(u);
    json_t *bad = bars("[[1,\"1\"]]");
    CHECK(book_load_bars(&b, s, bad, 1) == BOOK_INVALID && s->nbars == 2);
    json_decref(bad);
    book_free(&b);
}

static void test_ticks(void)
{
    struct book b;
    CHECK(book_init(&b, "1m", 30000) == 0);
    struct book_sym *s = book_get(&b, "ETHUSDT");
    json_t *w = json_array();
    json_array_append_new(w, bar(T0, "100", "101", "99", "100"));
    CHECK(book_load_bars(&b, s, w, T0 + 10) == BOOK_APPLIED);
    json_decref(w);
    /* a tick widens the current bar and moves its close (rising: ask) */
    CHECK(book_apply_tick(&b, s, th_dec("101.5"), th_dec("101.6"), T0 + 20000) == BOOK_APPLIED);
    CHECK(th_dec_eq(s->bars[0].high, "101.6") && th_dec_eq(s->bars[0].close, "101.6") &&
          th_dec_eq(s->bars[0].low, "99"));
    CHECK(book_apply_tick(&b, s, th_dec("98"), th_dec("98.1"), T0 + 30000) == BOOK_APPLIED);
    CHECK(th_dec_eq(s->bars[0].low, "98") && th_dec_eq(s->bars[0].close, "98")); /* falling: bid */
    CHECK(book_apply_tick(&b, s, th_dec("99"), th_dec("99.1"), T0 + 30000) == BOOK_UNCHANGED); /* not newer */
    CHECK(book_apply_tick(&b, s, th_dec("99"), th_dec("98"), T0 + 40000) == BOOK_INVALID);     /* crossed */
    /* a tick in the next interval opens a bar at the previous close */
    CHECK(book_apply_tick(&b, s, th_dec("99.9"), th_dec("100"), T0 + MIN + 1000) == BOOK_APPLIED);
    CHECK(s->nbars == 2 && s->bars[1].open_time == T0 + MIN && th_dec_eq(s->bars[1].open, "98"));
    CHECK(th_dec_eq(s->bars[1].high, "100") && th_dec_eq(s->bars[1].close, "100") && !s->resync);
    /* a tick after a gap opens a bar too, and asks for a resync */
    CHECK(book_apply_tick(&b, s, th_dec("99"), th_dec("99.1"), T0 + 70 * MIN) == BOOK_APPLIED);
    CHECK(s->resync && s->nbars == 3 && !book_prev_bar(&b, s));
    /* stale: nothing younger than 30 s */
    CHECK(!book_is_stale(&b, s, T0 + 70 * MIN + 29000));
    CHECK(book_is_stale(&b, s, T0 + 70 * MIN + 31000));
    CHECK(book_is_stale(&b, book_get(&b, "NODATA"), T0));
    book_free(&b);
}

/* The records as Redis holds them: the channel's [bid, ask, T] and the hash's {"b","a","T"}. */
static void test_tick_json(void)
{
    struct book b;
    struct book_sym *s = NULL;
    CHECK(book_init(&b, "1m", 30000) == 0);
    json_t *w = json_array();
    json_array_append_new(w, bar(T0, "100", "101", "99", "100"));
    CHECK(book_load_bars(&b, book_get(&b, "ETHUSDT"), w, T0 + 10) == BOOK_APPLIED);
    json_decref(w);
    json_t *ch = json_pack("[s,s,I]", "101.5", "101.6", (json_int_t)(T0 + 20000));
    json_t *h = json_pack("{s:s,s:s,s:s,s:s,s:I}", "b", "98", "B", "1", "a", "98.1", "A", "2", "T",
                          (json_int_t)(T0 + 30000));
    json_t *bad = json_pack("[s,s,I]", "1x", "2", (json_int_t)(T0 + 40000));
    CHECK(book_apply_tick_json(&b, "ETHUSDT", ch, &s) == BOOK_APPLIED && s);
    CHECK(th_dec_eq(s->bars[0].close, "101.6") && th_dec_eq(s->bid, "101.5"));
    CHECK(book_apply_tick_json(&b, "ETHUSDT", h, &s) == BOOK_APPLIED);
    CHECK(th_dec_eq(s->bars[0].low, "98") && th_dec_eq(s->ask, "98.1"));
    CHECK(book_apply_tick_json(&b, "ETHUSDT", ch, &s) == BOOK_UNCHANGED); /* older */
    CHECK(book_apply_tick_json(&b, "ETHUSDT", bad, &s) == BOOK_INVALID);
    CHECK(book_apply_tick_json(&b, "XRPUSDT", ch, &s) == BOOK_UNCHANGED && !s);
    json_decref(ch);
    json_decref(h);
    json_decref(bad);
    book_free(&b);
}

static void test_change_and_bans(void)
{
    struct book b;
    CHECK(book_init(&b, "1m", 30000) == 0);
    struct book_sym *s = book_get(&b, "XRPUSDT");
    json_t *w = json_array();
    json_array_append_new(w, bar(T0, "0.5", "0.5", "0.5", "0.50000"));
    json_array_append_new(w, bar(T0 + MIN, "0.5", "0.5051", "0.5", "0.50505"));
    CHECK(book_load_bars(&b, s, w, 1) == BOOK_APPLIED);
    json_decref(w);
    CHECK(book_change_beyond(&b, s, th_dec("1"), 1));     /* +1.01 % > 1 % */
    CHECK(!book_change_beyond(&b, s, th_dec("1.01"), 1)); /* exactly 1.01 %: not above */
    CHECK(!book_change_beyond(&b, s, th_dec("-0.5"), -1));
    CHECK(book_change_beyond(&b, s, th_dec("1.02"), -1));
    /* many symbols: the index survives growth */
    char name[16];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "S%dUSDT", i);
        CHECK(book_get(&b, name) != NULL);
    }
    CHECK(b.n == 301 && book_find(&b, "S299USDT") &&
          !strcmp(book_find(&b, "XRPUSDT")->name, "XRPUSDT"));
    const char *ban[] = {"S7USDT"};
    book_set_bans(&b, ban, 1);
    CHECK(book_is_banned(&b, book_find(&b, "S7USDT")) &&
          !book_is_banned(&b, book_find(&b, "S8USDT")));
    const char *all[] = {"ALL"};
    book_set_bans(&b, all, 1);
    CHECK(book_is_banned(&b, book_find(&b, "S8USDT")));
    book_free(&b);
}

static struct dec_filters btc_filters(void)
{
    const char *kv[] = {
        "tickSize",       "0.10",  "minPrice",     "556.80", "maxPrice",     "4529764",
        "stepSize",       "0.001", "minQty",       "0.001",  "maxQty",       "1000",
        "marketStepSize", "0.001", "marketMinQty", "0.001",  "marketMaxQty", "120",
        "minNotional",    "100",   "status",       "TRADING"};
    struct dec_filters f;
    char err[96];
    CHECK(book_parse_filters(kv, sizeof kv / sizeof kv[0], &f, err, sizeof err) == 0);
    const char *bad[] = {"tickSize", "0.1e1", "stepSize", "1", "minQty", "1"};
    struct dec_filters g;
    CHECK(book_parse_filters(bad, 6, &g, err, sizeof err) < 0 && strstr(err, "tickSize"));
    const char *missing[] = {"tickSize", "0.1"};
    CHECK(book_parse_filters(missing, 2, &g, err, sizeof err) < 0);
    return f;
}

static void test_sizing(void)
{
    struct dec_filters f = btc_filters();
    struct size_plan p;
    /* 100 USDT at 43170.5: 0.002316... floored to 0.002 -> 86 USDT, below the minimum */
    CHECK(size_notional(&f, th_dec("100"), th_dec("43170.5"), 1, 0, &p) == SIZE_BELOW_MIN_NOTIONAL);
    CHECK(size_notional(&f, th_dec("300"), th_dec("43170.5"), 1, 0, &p) == SIZE_OK);
    CHECK(p.parts == 1 && th_dec_eq(p.qty[0], "0.006"));
    CHECK(size_notional(&f, th_dec("10"), th_dec("43170.5"), 1, 0, &p) == SIZE_BELOW_MIN_QTY);
    CHECK(size_notional(&f, th_dec("10"), th_dec("0"), 1, 0, &p) == SIZE_BAD_PRICE);
    /* split by MARKET_LOT_SIZE maxQty (120) for MARKET, LOT_SIZE maxQty (1000) for LIMIT */
    CHECK(size_qty(&f, th_dec("250.0005"), th_dec("40000"), 1, 1, &p) == SIZE_OK);
    CHECK(p.parts == 3 && th_dec_eq(p.qty[0], "120") && th_dec_eq(p.qty[1], "120") && th_dec_eq(p.qty[2], "10"));
    CHECK(th_dec_eq(p.total, "250") && dec_is_zero(p.dropped));
    CHECK(size_qty(&f, th_dec("250"), th_dec("40000"), 0, 1, &p) == SIZE_OK && p.parts == 1);
    /* a reduce-only close below the minimum notional still goes */
    CHECK(size_qty(&f, th_dec("0.001"), th_dec("40000"), 1, 1, &p) == SIZE_OK && p.parts == 1);
    CHECK(size_qty(&f, th_dec("0.001"), th_dec("40000"), 1, 0, &p) == SIZE_BELOW_MIN_NOTIONAL);
    /* a tail too small for the minimum notional is dropped, never rounded up */
    CHECK(size_qty(&f, th_dec("120.002"), th_dec("40000"), 1, 0, &p) == SIZE_OK);
    CHECK(p.parts == 1 && th_dec_eq(p.qty[0], "120") && th_dec_eq(p.dropped, "0.002"));
    /* odd steps: XRP-like step 1, ADA-like step 10 */
    struct dec_filters x = {.tick = th_dec("0.00025"),
                            .step = th_dec("10"),
                            .min_qty = th_dec("10"),
                            .max_qty = th_dec("1000000"),
                            .min_notional = th_dec("5")};
    CHECK(size_notional(&x, th_dec("100"), th_dec("0.3725"), 0, 0, &p) == SIZE_OK && th_dec_eq(p.qty[0], "260"));
    CHECK(dec_check_order(&x, th_dec("0.3725"), p.qty[0], 0, 0) == DEC_CHECK_OK);
}

static int parse(struct intent *in, const char *const *kv, size_t n, char *err)
{
    return intent_parse(kv, n, in, err, 160);
}

static void test_intents(void)
{
    struct intent in, back;
    char err[160], buf[1024], id[INTENT_ID_MAX], id2[INTENT_ID_MAX], cid[INTENT_CID_MAX];
    const char *kv[] = {
        "id",       "abc",   "op",    "order", "sym", "BTCUSDT",       "side",    "BUY",
        "notional", "150",   "book",  "1",     "tif", "GTX",           "reprice", "2",
        "fallback", "taker", "class", "mo",    "t",   "1795688460000", "future",  "ignored"};
    CHECK(parse(&in, kv, 24, err) == 0);
    CHECK(in.type == INTENT_LIMIT && in.book && in.reprice == 2 && in.fallback_taker);
    const char *argv[INTENT_FIELDS_MAX];
    int n = intent_to_fields(&in, argv, buf, sizeof buf);
    CHECK(n > 0 && parse(&back, argv, (size_t)n, err) == 0);
    CHECK(!strcmp(back.id, "abc") && th_dec_eq(back.notional, "150") && back.tif == INTENT_GTX);
    const char *nosize[] = {"id",   "a",   "op",    "order", "sym", "S",
                            "side", "BUY", "class", "to",    "t",   "1"};
    CHECK(parse(&in, nosize, 12, err) < 0 && strstr(err, "qty"));
    const char *badid[] = {"id", "a b", "op", "order"};
    CHECK(parse(&in, badid, 4, err) < 0 && strstr(err, "id"));
    const char *mkt[] = {"id",     "a",     "op", "order", "sym", "S",     "side", "SELL", "type",
                         "MARKET", "price", "1",  "qty",   "1",   "class", "tc",   "t",    "1"};
    CHECK(parse(&in, mkt, 18, err) < 0);
    const char *cls[] = {"id", "a", "op", "cancel_all", "sym", "S", "class", "zz", "t", "1"};
    CHECK(parse(&in, cls, 10, err) < 0 && strstr(err, "class"));
    const char *algo[] = {"id", "a", "op", "algo"};
    CHECK(parse(&in, algo, 4, err) < 0);
    /* the same signal gives the same id on every replica; another bar another id */
    intent_derive_id("demo", "BTCUSDT", "open", T0, 0, id);
    intent_derive_id("demo", "BTCUSDT", "open", T0, 0, id2);
    CHECK(!strcmp(id, id2) && strlen(id) == 17);
    intent_derive_id("demo", "BTCUSDT", "open", T0 + MIN, 0, id2);
    CHECK(strcmp(id, id2));
    intent_derive_id("demo", "BTCUSDT", "open", T0, 1, id2);
    CHECK(strcmp(id, id2));
    CHECK(intent_client_id("mo", id, cid) == 0 && strlen(cid) <= 36 && !strncmp(cid, "mo_d", 4));
    CHECK(intent_client_id("mo", "0123456789012345678901234567890123", cid) < 0);
}

static struct intent order(const char *side, const char *qty, int reduce, const char *cls)
{
    struct intent in = {
        .op = INTENT_ORDER, .type = INTENT_MARKET, .has_qty = 1, .reduce = reduce, .t = T0};
    in.side = strcmp(side, "BUY") ? INTENT_SELL : INTENT_BUY;
    in.qty = th_dec(qty);
    snprintf(in.cls, sizeof in.cls, "%s", cls);
    return in;
}

static void test_gate(void)
{
    struct gate_view v = {.state = GATE_ACTIVE,
                          .has_filters = 1,
                          .tradable = 1,
                          .filters = btc_filters(),
                          .pos_amt = th_dec("0.01"),
                          .has_book = 1,
                          .bid = th_dec("40000"),
                          .ask = th_dec("40000.1"),
                          .now_ms = T0 + 1000,
                          .max_age_ms = 60000};
    struct gate_order o;
    char why[GATE_REASON_MAX];
    struct intent open = order("BUY", "0.005", 0, "to"), close = order("SELL", "0.005", 1, "tc");
    struct intent shrink = order("SELL", "0.01", 0, "tc"), flip = order("SELL", "0.02", 0, "tc");
    CHECK(gate_check(&open, &v, &o, why) == 0 && o.market && th_dec_eq(o.qty, "0.005"));
    v.banned = 1;
    CHECK(gate_check(&open, &v, &o, why) < 0 && !strcmp(why, "SYMBOL_BANNED"));
    CHECK(gate_check(&close, &v, &o, why) == 0); /* exits are never blocked by bans */
    CHECK(gate_check(&shrink, &v, &o, why) == 0 && o.shrinks);
    CHECK(gate_check(&flip, &v, &o, why) < 0); /* grows the other way */
    v.banned = 0;
    v.state = GATE_REDUCING;
    CHECK(gate_check(&open, &v, &o, why) < 0 && !strcmp(why, "TRADING_REDUCING"));
    CHECK(gate_check(&close, &v, &o, why) == 0 && gate_check(&shrink, &v, &o, why) == 0);
    v.state = GATE_HALTED;
    CHECK(gate_check(&close, &v, &o, why) < 0 && !strcmp(why, "TRADING_HALTED"));
    struct intent kl = order("SELL", "0.005", 1, "kl"), cancel = {.op = INTENT_CANCEL, .t = T0};
    CHECK(gate_check(&kl, &v, &o, why) == 0 && gate_check(&cancel, &v, &o, why) == 0);
    v.state = GATE_ACTIVE;
    /* sizing a notional at the book, filters, age */
    struct intent maker = {.op = INTENT_ORDER,
                           .side = INTENT_BUY,
                           .type = INTENT_LIMIT,
                           .tif = INTENT_GTX,
                           .book = 1,
                           .has_notional = 1,
                           .notional = th_dec("300"),
                           .t = T0};
    memcpy(maker.cls, "mo", 3);
    CHECK(gate_check(&maker, &v, &o, why) == 0 && th_dec_eq(o.price, "40000") && th_dec_eq(o.qty, "0.007"));
    v.has_book = 0;
    CHECK(gate_check(&maker, &v, &o, why) < 0 && !strcmp(why, "NO_BOOK"));
    v.has_book = 1;
    struct intent tiny = order("BUY", "0.0005", 0, "to");
    CHECK(gate_check(&tiny, &v, &o, why) < 0 && !strcmp(why, "FILTER_-4004"));
    struct intent cheap = order("BUY", "0.001", 0, "to");
    CHECK(gate_check(&cheap, &v, &o, why) < 0 && !strcmp(why, "FILTER_-4164"));
    v.now_ms = T0 + 61000;
    CHECK(gate_check(&open, &v, &o, why) < 0 && !strcmp(why, "INTENT_EXPIRED"));
    v.now_ms = T0;
    v.has_filters = 0;
    CHECK(gate_check(&open, &v, &o, why) < 0 && !strcmp(why, "SYMBOL_UNKNOWN"));
    enum gate_state st;
    CHECK(gate_state_parse(NULL, &st) == 0 && st == GATE_ACTIVE);
    CHECK(gate_state_parse("HALTED", &st) == 0 && st == GATE_HALTED);
    CHECK(gate_state_parse("halted", &st) < 0);
}

int main(void)
{
    test_bars();
    test_ticks();
    test_tick_json();
    test_change_and_bans();
    test_sizing();
    test_intents();
    test_gate();
    return th_done();
}
