/* test_risk_ladder: the pure stop-loss policy (risk/ladder.h) with exact decimals: ladder
 * triggers and quantities, maxQty splits, small positions, shorts, the re-arm tolerance, the
 * re-arm over the levels not passed yet and the hard stop; the circuit breakers' confirmation,
 * live uPnL and drawdown (risk/breaker.h). */
#include <stdio.h>
#include <string.h>

#include "risk/breaker.h"
#include "risk/ladder.h"
#include "tests/harness/harness.h"
#include "tests/harness/testdec.h"

static const struct ladder_params P5 = {5, {5, 0}, {5, 1}}; /* 5 levels, 5 %, 0.5 % */

static void test_long(void)
{
    struct dec_filters f = th_btc_filters();
    struct ladder l;
    char err[96];
    CHECK(ladder_build(&P5, &f, th_dec("0.013"), th_dec("60000"), &l, err, sizeof err) == 0);
    CHECK(l.sell == 1 && l.n == 5);
    /* 13 steps over 5 levels: 2 each, the remainder 3 on the nearest: 5 2 2 2 2 */
    CHECK(th_dec_eq(l.r[0].qty, "0.005") && th_dec_eq(l.r[1].qty, "0.002") && th_dec_eq(l.r[4].qty, "0.002"));
    CHECK(th_dec_eq(l.total, "0.013"));
    /* 60000 * (1 - 5 %), (1 - 5.5 %) ... (1 - 7 %) */
    CHECK(th_dec_eq(l.r[0].trigger, "57000") && th_dec_eq(l.r[1].trigger, "56700"));
    CHECK(th_dec_eq(l.r[2].trigger, "56400") && th_dec_eq(l.r[4].trigger, "55800"));
    /* a trigger between ticks goes toward the entry: 61234.5 * 0.95 = 58172.775 -> 58172.8 */
    CHECK(ladder_build(&P5, &f, th_dec("0.005"), th_dec("61234.5"), &l, err, sizeof err) == 0);
    CHECK(th_dec_eq(l.r[0].trigger, "58172.8"));
    CHECK(l.r[0].level == 0 && l.r[4].level == 4);
}

static void test_short_and_small(void)
{
    struct dec_filters f = th_btc_filters();
    struct ladder l;
    char err[96];
    CHECK(ladder_build(&P5, &f, th_dec("-0.010"), th_dec("3000.01"), &l, err, sizeof err) == 0);
    CHECK(l.sell == 0 && l.n == 5 && th_dec_eq(l.total, "0.01"));
    /* 3000.01 * 1.05 = 3150.0105 -> 3150.0 (toward the entry); 1.07: 3210.0107 -> 3210.0 */
    CHECK(th_dec_eq(l.r[0].trigger, "3150") && th_dec_eq(l.r[4].trigger, "3210"));
    /* three steps: three levels of one step each */
    CHECK(ladder_build(&P5, &f, th_dec("0.003"), th_dec("100"), &l, err, sizeof err) == 0);
    CHECK(l.n == 3 && th_dec_eq(l.r[0].qty, "0.001") && th_dec_eq(l.total, "0.003"));
    /* a position that is not a multiple of the step: floored */
    CHECK(ladder_build(&P5, &f, th_dec("0.0109"), th_dec("100"), &l, err, sizeof err) == 0);
    CHECK(th_dec_eq(l.total, "0.01"));
    CHECK(ladder_build(&P5, &f, th_dec("0"), th_dec("100"), &l, err, sizeof err) == -1);
    CHECK(ladder_build(&P5, &f, th_dec("0.0001"), th_dec("100"), &l, err, sizeof err) == -1);
    struct ladder_params bad = {5, {100, 0}, {0, 0}};
    CHECK(ladder_build(&bad, &f, th_dec("1"), th_dec("100"), &l, err, sizeof err) == -1);
}

static void test_max_qty(void)
{
    struct dec_filters f = th_btc_filters();
    struct ladder l;
    char err[96];
    /* 1000.007 over 5 levels: 200.003 on the first, 200.001 on the others; each over the
     * market maxQty 120, so each level is two orders at the same trigger */
    CHECK(ladder_build(&P5, &f, th_dec("1000.007"), th_dec("50000"), &l, err, sizeof err) == 0);
    CHECK(l.n == 10 && th_dec_eq(l.total, "1000.007"));
    CHECK(th_dec_eq(l.r[0].qty, "120") && th_dec_eq(l.r[1].qty, "80.003") && l.r[1].level == 0);
    CHECK(th_dec_eq(l.r[0].trigger, "47500") && th_dec_eq(l.r[1].trigger, "47500"));
    CHECK(th_dec_eq(l.r[9].qty, "80.001") && l.r[9].level == 4);
    for (int i = 0; i < l.n; i++)
        CHECK(dec_cmp(l.r[i].qty, f.market_max_qty) <= 0);
    /* without MARKET_LOT_SIZE, LOT_SIZE rules */
    memset(&f.market_step, 0, sizeof f.market_step);
    memset(&f.market_max_qty, 0, sizeof f.market_max_qty);
    CHECK(ladder_build(&P5, &f, th_dec("1000.007"), th_dec("50000"), &l, err, sizeof err) == 0);
    CHECK(l.n == 5);
}

static void test_rearm_and_hard_stop(void)
{
    struct dec five = th_dec("5"), seven = th_dec("7");
    CHECK(!ladder_needs_rearm(th_dec("1.0"), th_dec("1.05"), five));  /* exactly 5 %: kept */
    CHECK(!ladder_needs_rearm(th_dec("1.0"), th_dec("1.052"), five)); /* 0.052 is 4.94 % of 1.052 */
    CHECK(ladder_needs_rearm(th_dec("1.0"), th_dec("1.053"), five));  /* 5.03 %: re-armed */
    CHECK(ladder_needs_rearm(th_dec("1.0"), th_dec("-0.94"), five));  /* shrank past 5 % (a short) */
    CHECK(!ladder_needs_rearm(th_dec("0.95"), th_dec("-1"), five));
    CHECK(ladder_needs_rearm(th_dec("0.001"), th_dec("0"), five)); /* flat: cancel */
    CHECK(!ladder_needs_rearm(th_dec("0"), th_dec("0"), five));
    CHECK(!ladder_hard_stop(th_dec("1"), th_dec("100"), th_dec("93"), seven)); /* exactly 7 % */
    CHECK(ladder_hard_stop(th_dec("1"), th_dec("100"), th_dec("92.99"), seven));
    CHECK(!ladder_hard_stop(th_dec("1"), th_dec("100"), th_dec("120"), seven)); /* in favour */
    CHECK(ladder_hard_stop(th_dec("-2"), th_dec("100"), th_dec("107.01"), seven));
    CHECK(!ladder_hard_stop(th_dec("-2"), th_dec("100"), th_dec("92"), seven));
    CHECK(!ladder_hard_stop(th_dec("0"), th_dec("100"), th_dec("1"), seven));
}

static void test_breaker(void)
{
    struct breaker b = {.confirm_ms = 1000};
    CHECK(breaker_update(&b, 1, 10000) == 0);
    CHECK(breaker_update(&b, 1, 10999) == 0);
    CHECK(breaker_update(&b, 1, 11000) == 1); /* held for the confirmation time */
    CHECK(breaker_update(&b, 1, 20000) == 0); /* once per episode */
    CHECK(breaker_update(&b, 0, 20001) == 0 && !b.tripped);
    CHECK(breaker_update(&b, 1, 20002) == 0);
    CHECK(breaker_update(&b, 0, 20500) == 0); /* a break resets the clock */
    CHECK(breaker_update(&b, 1, 21000) == 0 && breaker_update(&b, 1, 21999) == 0);
    CHECK(breaker_update(&b, 1, 22000) == 1);
    struct dec u = {0, 0};
    /* long 0.5 at 3000, book 2900.1/2900.2: 0.5 * (2900.15 - 3000) = -49.925 */
    CHECK(breaker_add_upnl(&u, th_dec("0.5"), th_dec("3000"), th_dec("2900.1"), th_dec("2900.2")) == 0);
    CHECK(th_dec_eq(u, "-49.925"));
    /* short 2 at 100, book 99/99.01: -2 * (99.005 - 100) = 1.99 */
    CHECK(breaker_add_upnl(&u, th_dec("-2"), th_dec("100"), th_dec("99"), th_dec("99.01")) == 0);
    CHECK(th_dec_eq(u, "-47.935"));
    CHECK(breaker_drawdown(th_dec("9000"), th_dec("10000"), th_dec("10")));
    CHECK(!breaker_drawdown(th_dec("9000.01"), th_dec("10000"), th_dec("10")));
    CHECK(!breaker_drawdown(th_dec("9000"), th_dec("0"), th_dec("10")));
}

/* A re-arm over the levels the mark has not passed: the rest of the position spread over
 * them, the passed ones neither placed nor closed (ladder_build_remaining). */
static void test_remaining(void)
{
    struct dec_filters f = th_btc_filters();
    struct ladder l;
    char err[96];
    /* 5.33 % down: level 0 (57000) passed, 1.0 over levels 1..4 */
    CHECK(ladder_build_remaining(&P5, &f, th_dec("1.000"), th_dec("60000"), th_dec("56800"), &l,
                                 err, sizeof err) == 0);
    CHECK(l.n == 4 && l.r[0].level == 1 && th_dec_eq(l.r[0].trigger, "56700"));
    CHECK(th_dec_eq(l.r[0].qty, "0.25") && th_dec_eq(l.r[3].qty, "0.25") && l.r[3].level == 4);
    CHECK(th_dec_eq(l.total, "1"));
    /* a mark at a trigger has passed it: 56400 leaves levels 3 and 4; 0.601 = 0.301 + 0.3 */
    CHECK(ladder_build_remaining(&P5, &f, th_dec("0.601"), th_dec("60000"), th_dec("56400"), &l,
                                 err, sizeof err) == 0);
    CHECK(l.n == 2 && l.r[0].level == 3 && th_dec_eq(l.r[0].trigger, "56100"));
    CHECK(th_dec_eq(l.r[0].qty, "0.301") && th_dec_eq(l.r[1].qty, "0.3"));
    /* past every level: nothing to place */
    CHECK(ladder_build_remaining(&P5, &f, th_dec("1"), th_dec("60000"), th_dec("55800"), &l, err,
                                 sizeof err) == 1);
    CHECK(l.n == 0);
    /* a mark on the right side of the entry: the whole ladder, as ladder_build */
    CHECK(ladder_build_remaining(&P5, &f, th_dec("0.013"), th_dec("60000"), th_dec("61000"), &l,
                                 err, sizeof err) == 0);
    CHECK(l.n == 5 && th_dec_eq(l.r[0].qty, "0.005") && th_dec_eq(l.r[0].trigger, "57000"));
    /* a short: 3150 (5 %) passed at 3160, 3165 (5.5 %) not */
    CHECK(ladder_build_remaining(&P5, &f, th_dec("-0.010"), th_dec("3000.01"), th_dec("3160"), &l,
                                 err, sizeof err) == 0);
    CHECK(l.sell == 0 && l.n == 4 && th_dec_eq(l.r[0].trigger, "3165") && l.r[0].level == 1);
    CHECK(th_dec_eq(l.r[0].qty, "0.004") && th_dec_eq(l.total, "0.01"));
    /* fewer steps than levels left: one step each on the nearest ones */
    CHECK(ladder_build_remaining(&P5, &f, th_dec("0.002"), th_dec("60000"), th_dec("56800"), &l,
                                 err, sizeof err) == 0);
    CHECK(l.n == 2 && l.r[0].level == 1 && l.r[1].level == 2);
    CHECK(ladder_build_remaining(&P5, &f, th_dec("1"), th_dec("60000"), th_dec("0"), &l, err,
                                 sizeof err) == -1);
}

int main(void)
{
    test_breaker();
    test_long();
    test_short_and_small();
    test_max_qty();
    test_rearm_and_hard_stop();
    test_remaining();
    return th_done();
}
