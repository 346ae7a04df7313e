/* bench_trader: symbol-condition checks per second per core in the trader's book.
 *
 * One check is what the demo strategy asks of a symbol on every change: the 1-minute change
 * of its last close against the previous bar's close, compared exactly with a threshold
 * (book_change_beyond: two decimal products and a comparison, no division, no double), plus
 * the stale test. The book holds 500 symbols of 45 bars with prices of several scales; the
 * loop sweeps them for about a second, several rounds, on one core, and prints the median
 * rate (the target is 20 million a second). A tick applied to the book (book_apply_tick) is
 * measured the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trader/book.h"

#define NSYM 500
#define NBARS 45
#define ROUNDS 5
#define MIN 60000LL
#define T0 1795688460000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct book *b)
{
    char name[32], px[32];
    for (int i = 0; i < NSYM; i++) {
        snprintf(name, sizeof name, "S%03dUSDT", i);
        struct book_sym *s = book_get(b, name);
        json_t *w = json_array();
        for (int k = 0; k < NBARS; k++) {
            /* prices like 43170.10, 0.32015, 1.234: every symbol its own scale */
            long long units = 100000 + (i * 7919 + k * 104729) % 5000;
            snprintf(px, sizeof px, "%lld.%0*d", units / 100, 2 + i % 4, (int)(units % 100));
            json_array_append_new(w, json_pack("[I,s,s,s,s]", (json_int_t)(T0 + k * MIN), px,
                                               px, px, px));
        }
        if (book_load_bars(b, s, w, T0 + NBARS * MIN) != BOOK_APPLIED) fprintf(stderr, "bad bars\n");
        json_decref(w);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    struct book b;
    struct dec pct = {1, 0}, bid = {4317010, 2}, ask = {4317020, 2};
    double rates[ROUNDS], ticks[ROUNDS];
    if (book_init(&b, "1m", 30000) < 0) return 1;
    fill(&b);
    volatile long long hits = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long long n = 0;
        double t0 = now_s(), t;
        do {
            for (int i = 0; i < NSYM; i++) {
                const struct book_sym *s = &b.syms[i];
                hits += !book_is_stale(&b, s, T0 + NBARS * MIN) && book_change_beyond(&b, s, pct, 1);
            }
            n += NSYM;
            t = now_s();
        } while (t - t0 < 1.0);
        rates[r] = (double)n / (t - t0);
    }
    for (int r = 0; r < ROUNDS; r++) {
        struct book_sym *s = &b.syms[0];
        long long n = 0;
        int64_t tt = T0 + NBARS * MIN;
        double t0 = now_s(), t;
        do {
            for (int k = 0; k < 1000; k++) (void)book_apply_tick(&b, s, bid, ask, ++tt);
            n += 1000;
            t = now_s();
        } while (t - t0 < 0.5);
        ticks[r] = (double)n / (t - t0);
    }
    qsort(rates, ROUNDS, sizeof rates[0], cmp_double);
    qsort(ticks, ROUNDS, sizeof ticks[0], cmp_double);
    printf("bench_trader: condition checks (change vs threshold + stale), %d symbols x %d bars: "
           "median %.1f M/s (min %.1f, max %.1f) on one core; target 20 M/s\n",
           NSYM, NBARS, rates[ROUNDS / 2] / 1e6, rates[0] / 1e6, rates[ROUNDS - 1] / 1e6);
    printf("bench_trader: ticks applied to the book: median %.1f M/s\n", ticks[ROUNDS / 2] / 1e6);
    book_free(&b);
    return hits < 0;
}
