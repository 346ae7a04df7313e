/* test_sim_market: the simulator's price model as a client sees it, through /fapi/v1/klines.
 *
 * Six hours of 1-minute klines of all 200 symbols (a fixed past window, so the statistics are
 * those of one deterministic path and cannot flake): at least one 1-minute move above 1 % per
 * symbol-day on average, fat tails (mean kurtosis of 1-minute log returns well above the
 * normal's 3), and each symbol's correlation with the market (the equal-weighted mean return)
 * near the configured --correlation, for the default 0.5 and for 0.3 (with --volatility 2,
 * which must give many more large moves). Then determinism: a
 * second simulator with the same seed, started seconds later, serves byte-identical klines for
 * that window and for the last closed hour. POST /_sim/price has no per-symbol cap: 300 moves
 * of +0.1 % on one symbol all apply. The doubles here are statistics, not money. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/integration/test_sim_util.h"

#define NSYM 200
#define BARS 360
#define WINDOW_END 1756684800000LL /* 2025-09-01T00:00:00Z */

static char names[NSYM][32];
static int nnames;

static char *get_body(const struct th_sim *s, const char *pathq)
{
    char url[512];
    struct simresp r;
    snprintf(url, sizeof(url), "%s%s", s->url, pathq);
    if (simq("GET", url, NULL, NULL, NULL, 10000, &r) != 200) {
        simresp_free(&r);
        return NULL;
    }
    return r.body;
}

/* The tradable USDT perpetuals of exchangeInfo, in its order. */
static void load_names(const struct th_sim *s)
{
    char *b = get_body(s, "/fapi/v1/exchangeInfo");
    json_t *j = b ? json_loads(b, 0, NULL) : NULL, *sym;
    size_t i;
    free(b);
    nnames = 0;
    json_array_foreach(json_object_get(j, "symbols"), i, sym) {
        const char *n = json_string_value(json_object_get(sym, "symbol"));
        const char *ct = json_string_value(json_object_get(sym, "contractType"));
        const char *q = json_string_value(json_object_get(sym, "quoteAsset"));
        const char *ut = json_string_value(json_object_get(sym, "underlyingType"));
        if (!n || !ct || !q || !ut || strcmp(ct, "PERPETUAL") || strcmp(q, "USDT") ||
            strcmp(ut, "COIN") || nnames >= NSYM)
            continue;
        snprintf(names[nnames++], sizeof(names[0]), "%s", n);
    }
    json_decref(j);
}

static void klines_path(char *out, size_t cap, int k, long long end, int limit)
{
    snprintf(out, cap, "/fapi/v1/klines?symbol=%.31s&interval=1m&endTime=%lld&limit=%d", names[k],
             end - 1, limit);
}

/* Fills r[k * BARS + i] with the log return (close / open) of bar i of symbol k. */
static int load_returns(const struct th_sim *s, double *r)
{
    char pq[256];
    for (int k = 0; k < nnames; k++) {
        klines_path(pq, sizeof(pq), k, WINDOW_END, BARS);
        char *b = get_body(s, pq);
        json_t *j = b ? json_loads(b, 0, NULL) : NULL;
        free(b);
        if (json_array_size(j) != BARS) {
            json_decref(j);
            return -1;
        }
        for (int i = 0; i < BARS; i++) {
            json_t *bar = json_array_get(j, (size_t)i);
            double o = strtod(json_string_value(json_array_get(bar, 1)), NULL);
            double c = strtod(json_string_value(json_array_get(bar, 4)), NULL);
            r[k * BARS + i] = log(c / o);
        }
        json_decref(j);
    }
    return 0;
}

struct stats {
    double moves_per_symbol_day, moves_per_hour, kurtosis, corr, corr_lo, corr_hi;
};

static void compute(const double *r, struct stats *st)
{
    double mkt[BARS] = {0}, mm = 0, mv = 0;
    long big = 0;
    for (int i = 0; i < BARS; i++) {
        for (int k = 0; k < nnames; k++) mkt[i] += r[k * BARS + i] / nnames;
        mm += mkt[i] / BARS;
    }
    for (int i = 0; i < BARS; i++) mv += (mkt[i] - mm) * (mkt[i] - mm);
    memset(st, 0, sizeof(*st));
    st->corr_lo = 1;
    for (int k = 0; k < nnames; k++) {
        const double *x = r + k * BARS;
        double m = 0, m2 = 0, m4 = 0, cov = 0;
        for (int i = 0; i < BARS; i++) m += x[i] / BARS;
        for (int i = 0; i < BARS; i++) {
            double d = x[i] - m;
            m2 += d * d;
            m4 += d * d * d * d;
            cov += d * (mkt[i] - mm);
            if (fabs(x[i]) > 0.01) big++;
        }
        double c = cov / sqrt(m2 * mv);
        st->kurtosis += (m4 / BARS) / ((m2 / BARS) * (m2 / BARS)) / nnames;
        st->corr += c / nnames;
        if (c < st->corr_lo) st->corr_lo = c;
        if (c > st->corr_hi) st->corr_hi = c;
    }
    st->moves_per_hour = (double)big / (BARS / 60.0);
    st->moves_per_symbol_day = (double)big / nnames / (BARS / 1440.0);
}

/* Checks the window's statistics against the correlation target; returns the moves an hour. */
static double statistics(const struct th_sim *s, double target)
{
    double *r = malloc(sizeof(double) * NSYM * BARS);
    struct stats st;
    CHECK(r && load_returns(s, r) == 0);
    if (!r) return 0;
    compute(r, &st);
    fprintf(stderr,
            "correlation %.2f: %.1f moves >1%%/hour (%.2f per symbol-day), mean kurtosis %.1f, "
            "mean correlation %.3f [%.2f .. %.2f]\n",
            target, st.moves_per_hour, st.moves_per_symbol_day, st.kurtosis, st.corr, st.corr_lo,
            st.corr_hi);
    CHECK(st.moves_per_symbol_day >= 1.0);
    CHECK(st.kurtosis > 5.0);
    CHECK(fabs(st.corr - target) < 0.1);
    free(r);
    return st.moves_per_hour;
}

/* Byte-identical klines from two simulators of the same seed, for the window and the last
 * closed hour. */
static void determinism(const struct th_sim *a, const struct th_sim *b)
{
    char pq[256];
    long long recent = (th_now_ms() / 60000 - 1) * 60000;
    int same = 0;
    for (int k = 0; k < nnames; k++) {
        long long end = k % 2 ? WINDOW_END : recent;
        klines_path(pq, sizeof(pq), k, end, k % 2 ? BARS : 60);
        char *x = get_body(a, pq), *y = get_body(b, pq);
        same += x && y && !strcmp(x, y);
        free(x);
        free(y);
    }
    CHECK(same == nnames);
}

static double last_price(const struct th_sim *s, const char *sym)
{
    char pq[128];
    snprintf(pq, sizeof(pq), "/fapi/v1/ticker/price?symbol=%s", sym);
    char *b = get_body(s, pq);
    json_t *j = b ? json_loads(b, 0, NULL) : NULL;
    const char *p = json_string_value(json_object_get(j, "price"));
    double v = p ? strtod(p, NULL) : 0;
    json_decref(j);
    free(b);
    return v;
}

static void many_moves(const struct th_sim *s)
{
    char url[256];
    struct simresp r;
    int ok = 0;
    double before = last_price(s, "ETHUSDT");
    snprintf(url, sizeof(url), "%s/_sim/price?symbol=ETHUSDT&pct=0.1", s->url);
    for (int i = 0; i < 300; i++) {
        ok += simq("POST", url, NULL, NULL, NULL, 0, &r) == 200;
        simresp_free(&r);
    }
    double ratio = last_price(s, "ETHUSDT") / before;
    CHECK(ok == 300);
    CHECK(ratio > 1.30 && ratio < 1.40); /* 1.001^300 = 1.35, plus a few seconds of path */
}

int main(void)
{
    struct th_sim a, b, c;
    const char *args[] = {"--symbols", "200", "--seed", "7", "--weight-limit", "100000", NULL};
    const char *args03[] = {"--symbols", "200", "--seed", "7", "--weight-limit", "100000",
                            "--correlation", "0.3", "--volatility", "2", NULL};
    CHECK(th_sim_start(&a, args) == 0);
    load_names(&a);
    CHECK(nnames == NSYM);
    double moves = statistics(&a, 0.5);
    th_sleep_ms(2000);
    CHECK(th_sim_start(&b, args) == 0);
    determinism(&a, &b);
    th_sim_stop(&b);
    CHECK(th_sim_start(&c, args03) == 0);
    CHECK(statistics(&c, 0.3) > 3 * moves); /* --volatility 2: many more large moves */
    th_sim_stop(&c);
    many_moves(&a);
    th_sim_stop(&a);
    return th_done();
}
