/* bench_sim: REST answers per second of `bfq sim` on its one core.
 *
 * Starts a simulator (200 symbols, no weight limit to speak of) and drives it with CONNS
 * keep-alive connections from one libcurl multi handle for SECONDS seconds per endpoint:
 * the all-symbol bookTicker (the tick collectors' request) and klines limit 45 (the kline
 * collectors' request). Prints answers per second and the ratio to the 5000/s the simulator
 * must sustain so it never limits the other benchmarks. Then, in process (no HTTP), the cost
 * of the price model (a 1-minute bar computed from the path) and of the matching: a MARKET
 * order walking several levels of the book, per fill (events included), and a resting order
 * queued on the book, per order and 100 ms book step. Not a test: it always exits 0 unless
 * the simulator fails to start or answers wrongly. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/engine.h"
#include "sim/engine_internal.h"
#include "sim/market.h"
#include "sim/params.h"
#include "tests/harness/harness.h"

#define CONNS 8
#define SECONDS 3
#define TARGET 5000.0

struct slot {
    CURL *h;
    size_t bytes;
};

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    ((struct slot *)arg)->bytes += sz * n;
    return sz * n;
}

static void arm(CURLM *m, struct slot *s, const char *url)
{
    curl_multi_remove_handle(m, s->h);
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
    curl_multi_add_handle(m, s->h);
}

/* Returns answers per second, or -1 on a failed answer. */
static double run(const char *url)
{
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)CONNS);
    struct slot slots[CONNS];
    memset(slots, 0, sizeof(slots));
    for (int i = 0; i < CONNS; i++) {
        slots[i].h = curl_easy_init();
        arm(m, &slots[i], url);
    }
    long long done = 0, failed = 0;
    int64_t start = th_now_ms(), end = start + SECONDS * 1000;
    int running = 1;
    while (th_now_ms() < end) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code != 200) failed++;
            else done++;
            for (int i = 0; i < CONNS; i++)
                if (slots[i].h == msg->easy_handle) arm(m, &slots[i], url);
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = (double)(th_now_ms() - start) / 1000.0;
    size_t bytes = 0;
    for (int i = 0; i < CONNS; i++) {
        bytes += slots[i].bytes;
        curl_multi_remove_handle(m, slots[i].h);
        curl_easy_cleanup(slots[i].h);
    }
    curl_multi_cleanup(m);
    printf("  %lld answers in %.2f s, %.0f KiB/answer, %lld failed\n", done, secs,
           done ? (double)bytes / (double)done / 1024.0 : 0.0, failed);
    return failed ? -1 : (double)done / secs;
}

static long long events;

static void count_event(const char *account, const char *json, void *privdata)
{
    (void)account;
    (void)json;
    (void)privdata;
    events++;
}

static double secs_since(int64_t t0)
{
    return (double)(th_now_ms() - t0) / 1000.0;
}

static void order(struct sim_engine *e, struct sim_account *a, const char *q, int64_t now)
{
    struct sim_params p;
    struct sim_reply r;
    memset(&p, 0, sizeof p);
    memset(&r, 0, sizeof r);
    if (sim_params_parse(&p, q, "") == 0) sim_engine_handle(e, a, "POST", "/fapi/v1/order", &p, now, &r);
    sim_params_free(&p);
    json_decref(r.body);
}

/* The model and the matching, in process. */
static void bench_engine(void)
{
    struct sim_market_options mo = {.seed = 1, .tradable = 200, .start_ms = th_now_ms()};
    struct sim_engine_options eo;
    struct sim_market *m = sim_market_new(&mo);
    memset(&eo, 0, sizeof eo);
    struct sim_engine *e = sim_engine_new(m, &eo, count_event, NULL);
    if (!m || !e) return;
    sim_engine_add_account(e, "b", "bk", "bs", dec_from_int(1000000000));
    struct sim_account *a = sim_engine_account_by_key(e, "bk");
    int64_t now = (th_now_ms() / 60000 - 1) * 60000, t0 = th_now_ms();
    struct sim_bar bar;
    int nbars = 0;
    for (int i = 0; i < 200; i++)
        for (int k = 0; k < 100; k++, nbars++)
            sim_market_bar(m, i, now - 86400000LL + k * 60000LL, 60000, now, &bar);
    printf("price model: %.1f us per 1m bar from the path (%d bars, uncached)\n",
           secs_since(t0) * 1e6 / nbars, nbars);

    struct sim_book bk;
    t0 = th_now_ms();
    for (int k = 0; k < 200; k++)
        for (int i = 0; i < sim_market_count(m); i++) sim_market_book(m, i, now + k * 100, &bk);
    printf("book: %.0f us per all-symbol book (the bookTicker cache, rebuilt every 100 ms)\n",
           secs_since(t0) * 1e6 / 200);

    /* MARKET orders of about 2.5 best levels, alternately bought and sold (a small cap: the
     * levels fit in MARKET_LOT_SIZE) */
    const struct sim_symbol *s = sim_market_symbol(m, 150);
    struct dec px[4], qt[4];
    char q[256], qs[DEC_STR_MAX];
    size_t trades0 = a->trades.n;
    t0 = th_now_ms();
    int norders = 0;
    for (int k = 0; k < 2000; k++, norders++) {
        int64_t t = now + k * 1000;
        sim_market_levels(m, s->index, t, k % 2 == 0, 3, px, qt);
        struct dec want = eng_add(eng_add(qt[0], qt[1]), eng_div(qt[2], dec_from_int(2), 3));
        dec_format(want, qs, sizeof qs);
        snprintf(q, sizeof q, "symbol=%s&side=%s&type=MARKET&quantity=%s", s->name,
                 k % 2 ? "SELL" : "BUY", qs);
        order(e, a, q, t);
    }
    double el = secs_since(t0);
    size_t fills = a->trades.n - trades0;
    struct sim_take lv[8];
    struct dec got;
    int64_t t1 = th_now_ms(), nlv = 0;
    for (int k = 0; k < 20000; k++) {
        int64_t t = now + k * 100;
        sim_market_levels(m, s->index, t, 1, 3, px, qt);
        nlv += sim_market_take(m, s->index, t, 1, eng_add(qt[0], qt[1]), dec_from_int(0), 0, lv,
                               8, &got);
    }
    printf("matching: book walk alone: %.2f us per level taken\n",
           secs_since(t1) * 1e6 / (double)(nlv ? nlv : 1));
    printf("matching: MARKET across levels: %zu fills of %d orders, %.1f us per fill, "
           "%.1f us per order\n", fills, norders, el * 1e6 / (double)(fills ? fills : 1),
           el * 1e6 / norders);

    /* 200 resting orders (one per symbol, at the best bid) ticked over 60 s of book steps */
    int64_t base = now + 3000000;
    for (int i = 0; i < 200; i++) {
        struct sim_book b;
        const struct sim_symbol *sy = sim_market_symbol(m, i);
        sim_market_book(m, i, base, &b);
        char ps[DEC_STR_MAX];
        dec_format(b.bid, ps, sizeof ps);
        dec_format(eng_mul(sy->filters.min_qty, dec_from_int(1000), 8), qs, sizeof qs);
        snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTX&quantity=%s&price=%s",
                 sy->name, qs, ps);
        order(e, a, q, base);
    }
    trades0 = a->trades.n;
    t0 = th_now_ms();
    for (int k = 1; k <= 600; k++) sim_engine_tick(e, base + k * 100);
    el = secs_since(t0);
    printf("matching: resting queue: %.2f us per order and book step (200 orders, 600 steps, "
           "%zu fills)\n", el * 1e6 / (200.0 * 600.0), a->trades.n - trades0);
    sim_engine_free(e);
    sim_market_free(m);
}

int main(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "200", "--weight-limit", "1000000000", "--log-level", "warn", NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (th_sim_start(&s, args)) {
        fprintf(stderr, "bench_sim: simulator did not start\n");
        return 1;
    }
    char url[256];
    int rc = 0;
    snprintf(url, sizeof(url), "%s/fapi/v1/ticker/bookTicker", s.url);
    printf("bfq sim, %d keep-alive connections, %d s per endpoint\n", CONNS, SECONDS);
    printf("all-symbol bookTicker (205 symbols):\n");
    double a = run(url);
    printf("  %.0f answers/s (%.2fx of %.0f)\n", a, a / TARGET, TARGET);
    snprintf(url, sizeof(url), "%s/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=45", s.url);
    printf("klines 1m limit 45:\n");
    double k = run(url);
    printf("  %.0f answers/s (%.2fx of %.0f)\n", k, k / TARGET, TARGET);
    if (a < 0 || k < 0) rc = 1;
    th_sim_stop(&s);
    bench_engine();
    curl_global_cleanup();
    return rc;
}
