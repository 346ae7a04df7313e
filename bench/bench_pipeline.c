/* bench_pipeline: how fast an exchange answer reaches a subscriber, and how fast the reconciler
 * merges records. Prints figures; it is not a test and checks nothing.
 *
 * (a) Latency, inside one process on one libev loop, against a private redis-server: from a
 *     complete HTTP answer in memory to the callback of a second connection subscribed to the
 *     channel. For ticks the answer is an all-symbol bookTicker body captured from `bfq sim`
 *     (200 tradable symbols) and goes through exactly what `bfq tick` runs (jv_parse as
 *     core/binance.c does; tickparse_fill: match by symbol, validate, build one bfq_merge batch;
 *     recon_batch_send; the parsed document freed after sending); each round has newer times
 *     and changed prices, so every symbol changes and is published. The tick rows split each
 *     round into parse, validate + build, bfq_merge's run time inside Redis (from the slow log,
 *     threshold 0 during those rounds, read and reset between rounds outside the timing) and
 *     the rest (sending the command, Redis reading it, the publish reaching the subscriber and
 *     hiredis reading it); the parts' percentiles are each taken on their own. For klines
 *     a 45-bar klines body goes through what `bfq kline` runs (parse, bars_validate, bars_correct
 *     from a book ticker, dump the window and the two-bar message, recon_put). ~2000 rounds each,
 *     one at a time (the next starts when the message arrived): p50, p99, max.
 *     The tick row "-> trader strategy callback" goes on, in the subscriber's callback, through
 *     what `bfq trader` runs on a bfq:ch:tick message (trader/trader.c): jv_parse of the
 *     message, then per symbol book_apply_tick_json into a book of the 200 symbols (45 bars
 *     each, from the simulator's klines) and, for a symbol that changed and is not stale, the
 *     demo strategy's decision (book_change_beyond against open_pct and close_pct, as
 *     trader/strat_demo.c asks): the time is taken when the last symbol's callback returned.
 * (b) Throughput: bfq_merge of 200-record batches (all records newer, so all written and
 *     published), 32 batches in flight on one connection, in records per second, next to
 *     `redis-benchmark -t set -n 200000 -q` against the same server, as a ratio.
 * (c) bfq_merge's run time inside Redis per record (slow log, median of 20 rounds of
 *     200-record batches, all newer): flat positions in replace and merge mode, open positions
 *     and open orders in merge mode: what the account writers and the openOrders poll cost.
 * All figures printed come from this one run.
 *
 * Usage: BFQ_BIN=build/bfq build/bench/bench_pipeline (BFQ_BIN: the bfq binary to start the
 * simulator from; redis-server and redis-benchmark from PATH). */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/bars.h"
#include "collectors/tickparse.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/timebase.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"
#include "trader/book.h"

#define ROUNDS 2000
#define WARMUP 50
#define TPUT_BATCHES 1000
#define TPUT_INFLIGHT 32
#define BATCH_SYMS 200

struct bench {
    struct ev_loop *loop;
    struct rconn *cmd, *sub;
    int cmd_up, sub_up;
    double t0;      /* start of the current round (monotonic s) */
    int got;        /* message of the current round arrived */
    double last;    /* latency of the current round (s) */
    double replied; /* when its reply arrived */
    int replied_flag;
    int inflight, sent, done, errors;
    struct book *book;  /* the trader's book, when the tick rounds feed it */
    double trader_last; /* the last strategy callback of the current round returned (s) */
    int trader_got;
    long long asked, signals; /* strategy callbacks, decisions that would order */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_cmd_up(struct rconn *rc, void *p)
{
    (void)rc;
    ((struct bench *)p)->cmd_up = 1;
}

static void on_sub_up(struct rconn *rc, void *p)
{
    (void)rc;
    ((struct bench *)p)->sub_up = 1;
}

/* The demo strategy's decision on a changed symbol (trader/strat_demo.c: open above open_pct
 * when flat, close below close_pct when long), without emitting. */
static void strategy_callback(struct bench *b, const struct book_sym *s)
{
    static struct dec open_pct, close_pct;
    if (b->asked++ == 0 &&
        (dec_parse("1", 1, &open_pct) != DEC_OK || dec_parse("-0.5", 4, &close_pct) != DEC_OK))
        return;
    if (!book_last_bar(s) || !book_prev_bar(b->book, s)) return;
    int sign = dec_sign(s->pos_amt);
    if (sign == 0 && book_change_beyond(b->book, s, open_pct, 1))
        b->signals++;
    else if (sign > 0 && book_change_beyond(b->book, s, close_pct, -1))
        b->signals++;
}

/* What bfq trader runs on a bfq:ch:tick message (trader/trader.c tr_on_message). */
static void trader_on_tick(struct bench *b, const char *payload, size_t len)
{
    json_t *m = jv_parse(payload, len, NULL, 0), *v;
    const char *sym;
    int64_t now = timebase_wall_ms();
    json_object_foreach(json_object_get(m, "ticks"), sym, v)
    {
        struct book_sym *s = NULL;
        if (book_apply_tick_json(b->book, sym, v, &s) != BOOK_APPLIED) continue;
        if (!book_is_stale(b->book, s, now)) strategy_callback(b, s);
    }
    json_decref(m);
    b->trader_last = mono_s() - b->t0;
    b->trader_got = 1;
}

static void on_message(struct rconn *rc, const char *channel, const char *payload, size_t len,
                       void *p)
{
    struct bench *b = p;
    (void)rc;
    if (!b->got) {
        b->last = mono_s() - b->t0;
        b->got = 1;
    }
    if (b->book && !strcmp(channel, "bfq:ch:tick")) trader_on_tick(b, payload, len);
}

static void on_written(int64_t value, const char *err, void *p)
{
    struct bench *b = p;
    (void)value;
    if (err) b->errors++;
    b->replied = mono_s();
    b->replied_flag = 1;
    b->inflight--;
    b->done++;
}

static void run_until(struct bench *b, int *flag, double timeout_s)
{
    double end = mono_s() + timeout_s;
    while (!*flag && mono_s() < end)
        ev_run(b->loop, EVRUN_ONCE);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report_latency(const char *what, double *lat, int n)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("| %-40s | %6d | %8.3f | %8.3f | %8.3f |\n", what, n, lat[n / 2] * 1e3,
           lat[(int)(n * 0.99)] * 1e3, lat[n - 1] * 1e3);
}

/* ---- bodies ------------------------------------------------------------------------------- */

static char *sim_body(const struct th_sim *s, const char *path)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s%s", s->url, path);
    if (th_http("GET", url, NULL, NULL, &body) != 200) {
        free(body);
        return NULL;
    }
    return body;
}

/* Round i of the tick body: times moved on by i*100 ms, update ids by i, prices changed. */
static char *tick_variant(const json_t *base, int i)
{
    json_t *arr = json_deep_copy(base), *e;
    size_t k;
    json_array_foreach(arr, k, e)
    {
        json_int_t t = json_integer_value(json_object_get(e, "time"));
        json_object_set_new(e, "time", json_integer(t + (json_int_t)i * 100));
        json_object_set_new(e, "lastUpdateId", json_integer((json_int_t)k * 1000000 + i));
        const char *bid = json_string_value(json_object_get(e, "bidPrice"));
        char nb[64];
        snprintf(nb, sizeof nb, "%s%s%d", bid, strchr(bid, '.') ? "" : ".", i % 10);
        json_object_set_new(e, "bidPrice", json_string(nb));
        char q[32];
        snprintf(q, sizeof q, "%d.%03d", 1 + i % 97, (int)k % 1000);
        json_object_set_new(e, "askQty", json_string(q));
    }
    char *text = jv_dump(arr);
    json_decref(arr);
    return text;
}

/* The universe: USDT perpetuals of exchangeInfo (what bfq symbols would keep). */
static int load_universe(const struct th_sim *s, struct tick_universe *u)
{
    char *body = sim_body(s, "/fapi/v1/exchangeInfo");
    json_t *ei = body ? json_loads(body, 0, NULL) : NULL, *sym;
    free(body);
    if (!ei) return -1;
    const char *names[4096];
    size_t n = 0, i;
    json_array_foreach(json_object_get(ei, "symbols"), i, sym)
    {
        const char *ct = json_string_value(json_object_get(sym, "contractType"));
        const char *q = json_string_value(json_object_get(sym, "quoteAsset"));
        if (n < 4096 && ct && q && !strcmp(ct, "PERPETUAL") && !strcmp(q, "USDT"))
            names[n++] = json_string_value(json_object_get(sym, "symbol"));
    }
    int rc = tick_universe_set(u, names, n);
    json_decref(ei);
    return rc;
}

/* The trader's book for the tick rounds: every symbol of the tick answer, the 45 bars of the
 * klines answer each (fresh: the ticks of the rounds come later). */
static int trader_book(struct book *bk, const char *tbody, const char *kbody)
{
    json_t *ticks = json_loads(tbody, 0, NULL), *bars = json_loads(kbody, 0, NULL), *e;
    size_t i;
    int rc = book_init(bk, "1m", 3600000) == 0 && ticks && bars ? 0 : -1;
    json_array_foreach(ticks, i, e)
    {
        const char *sym = json_string_value(json_object_get(e, "symbol"));
        struct book_sym *s = rc == 0 && sym ? book_get(bk, sym) : NULL;
        if (s) s->in_universe = 1;
        if (s && book_load_bars(bk, s, bars, timebase_wall_ms()) != BOOK_APPLIED) rc = -1;
    }
    json_decref(ticks);
    json_decref(bars);
    return rc;
}

/* ---- (a) latency -------------------------------------------------------------------------- */

/* The server-side run time (s) of the one bfq_merge on the tick state since the last call,
 * read from the slow log (threshold 0 while the tick rounds run; the commands the function
 * runs are logged too, so the log is read and reset after every round, outside the timing).
 * Returns -1 unless exactly one was found. */
static double slowlog_merge(redisContext *sc)
{
    redisReply *r = redisCommand(sc, "SLOWLOG GET -1");
    double us = -1;
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 4) continue;
        redisReply *args = e->element[3];
        if (args->type != REDIS_REPLY_ARRAY || args->elements < 4 ||
            strcmp(args->element[0]->str, "FCALL") != 0 ||
            strcmp(args->element[1]->str, "bfq_merge") != 0 ||
            strcmp(args->element[3]->str, "bfq:ticks") != 0)
            continue;
        us = (double)e->element[2]->integer;
        n++;
    }
    freeReplyObject(r);
    freeReplyObject(redisCommand(sc, "SLOWLOG RESET"));
    return n == 1 ? us / 1e6 : -1;
}

static void slowlog_setup(redisContext *sc, int on)
{
    freeReplyObject(redisCommand(sc, "CONFIG SET slowlog-max-len 128"));
    freeReplyObject(redisCommand(sc, "CONFIG SET slowlog-log-slower-than %d", on ? 0 : 10000));
    freeReplyObject(redisCommand(sc, "SLOWLOG RESET"));
}

/* What bfq tick runs on an answer (collectors/tick.c with core/binance.c): jv_parse, then
 * tickparse_fill, then recon_batch_send, and only then the parsed document is freed. */
struct tick_round {
    double parse, fill, reply, total, trader; /* seconds since the answer was complete */
};

static int tick_round(struct bench *b, const char *text, struct tick_universe *u,
                      struct tick_round *out, int *symbols)
{
    char err[JV_ERR_MAX];
    struct tickparse_stats st;
    b->replied_flag = 0;
    b->got = 0;
    b->trader_got = 0;
    b->t0 = mono_s(); /* the answer is complete: from here on it is bfq tick's work */
    json_t *arr = jv_parse(text, strlen(text), err, sizeof err);
    double parsed = mono_s();
    struct recon_batch *batch = tickparse_batch_new("bfq:");
    if (!arr || !batch || tickparse_fill(arr, u, batch, &st) < 0) {
        fprintf(stderr, "tickparse failed: %s\n", arr ? st.err : err);
        recon_batch_free(batch);
        json_decref(arr);
        return -1;
    }
    double filled = mono_s();
    *symbols = (int)st.kept;
    b->inflight++;
    if (recon_batch_send(b->cmd, batch, on_written, b) < 0) b->inflight--;
    json_decref(arr);
    run_until(b, &b->got, 2.0);
    run_until(b, &b->replied_flag, 2.0);
    if (b->book) run_until(b, &b->trader_got, 2.0);
    out->trader = b->trader_last;
    out->parse = parsed - b->t0;
    out->fill = filled - parsed;
    out->reply = b->replied - b->t0;
    out->total = b->last;
    return b->got ? 0 : -1;
}

static int bench_ticks(struct bench *b, redisContext *sc, const char *body,
                       struct tick_universe *u, int *symbols)
{
    json_t *base = json_loads(body, 0, NULL);
    if (!base) return -1;
    static double lat[ROUNDS], parse[ROUNDS], fill[ROUNDS], reply[ROUNDS], exec[ROUNDS],
        rest[ROUNDS], trader[ROUNDS], in_trader[ROUNDS];
    int n = 0, split = 1;
    slowlog_setup(sc, 1);
    for (int i = 1; i <= ROUNDS + WARMUP; i++) {
        char *text = tick_variant(base, i);
        struct tick_round r = {0};
        int rc = tick_round(b, text, u, &r, symbols);
        free(text);
        double ex = slowlog_merge(sc);
        if (rc < 0 || i <= WARMUP) continue;
        if (ex < 0) split = 0;
        lat[n] = r.total;
        parse[n] = r.parse;
        fill[n] = r.fill;
        exec[n] = ex;
        /* what is neither parse, fill nor run time inside Redis: sending, Redis reading the
         * command, delivering the message, the subscriber reading it */
        rest[n] = r.total - r.parse - r.fill - ex;
        trader[n] = r.trader;
        in_trader[n] = r.trader - r.total;
        reply[n++] = r.reply;
    }
    slowlog_setup(sc, 0);
    json_decref(base);
    if (n == 0) return -1;
    report_latency("tick batch -> subscriber", lat, n);
    report_latency("  parse (jv_parse, jansson)", parse, n);
    report_latency("  validate + build (tickparse_fill)", fill, n);
    if (split) {
        report_latency("  bfq_merge run time inside Redis", exec, n);
        report_latency("  the rest: I/O, pub/sub delivery", rest, n);
    } else {
        fprintf(stderr, "bench_pipeline: slow log incomplete: no split of the Redis part\n");
    }
    report_latency("  (bfq_merge reply to the collector)", reply, n);
    if (b->book) {
        report_latency("tick batch -> trader strategy callback", trader, n);
        report_latency("  in the trader (parse, book, strategy)", in_trader, n);
    }
    return 0;
}

static int bench_kline(struct bench *b, const char *kbody, const char *tbody)
{
    static double lat[ROUNDS];
    int n = 0;
    json_t *base = json_loads(kbody, 0, NULL);
    if (!base) return -1;
    for (int i = 1; i <= ROUNDS + WARMUP; i++) {
        /* round i: the same window, its last bar's close changed (a fresh answer) */
        json_t *w = json_deep_copy(base);
        json_t *last = json_array_get(w, json_array_size(w) - 1);
        json_array_set_new(last, 5, json_string(i % 2 ? "12.000" : "13.000"));
        char *text = jv_dump(w);
        json_decref(w);

        b->got = 0;
        b->t0 = mono_s();
        char err[JV_ERR_MAX];
        json_t *win = jv_parse(text, strlen(text), err, sizeof err);
        json_t *tk = jv_parse(tbody, strlen(tbody), err, sizeof err);
        struct bars_book book;
        int ok = win && tk && bars_validate(win, 60000, BARS_MAX, err, sizeof err) == 0 &&
                 bars_book_from_ticker(tk, &book, err, sizeof err) == 0;
        json_t *fixed = ok ? bars_correct(win, &book) : NULL;
        char *bars = fixed ? jv_dump(fixed) : NULL;
        json_t *msg = json_object();
        json_object_set_new(msg, "s", json_string("BTCUSDT"));
        json_object_set_new(msg, "t", json_integer(1000000 + i));
        json_object_set_new(msg, "bars", fixed ? bars_tail(fixed, 2) : json_array());
        char *mtext = jv_dump(msg);
        const char *fields[] = {"bars", "src"};
        const char *values[] = {bars ? bars : "[]", "bench"};
        if (!ok || !bars || !mtext ||
            recon_put(b->cmd, "bfq:kline:1m:BTCUSDT", "bfq:ch:kline:1m", mtext, 1000000 + i, 0, 2,
                      fields, values, NULL, NULL) < 0) {
            fprintf(stderr, "kline round failed: %s\n", ok ? "send" : err);
            b->got = 0;
        } else {
            run_until(b, &b->got, 2.0);
        }
        free(bars);
        free(mtext);
        json_decref(msg);
        json_decref(fixed);
        json_decref(win);
        json_decref(tk);
        free(text);
        if (b->got && i > WARMUP) lat[n++] = b->last;
    }
    json_decref(base);
    if (n == 0) return -1;
    report_latency("kline record -> subscriber", lat, n);
    return 0;
}

/* ---- (b) throughput ----------------------------------------------------------------------- */

static double bench_merge(struct bench *b)
{
    char field[32], rec[160], pub[64];
    double t0 = mono_s();
    b->sent = b->done = 0;
    while (b->done < TPUT_BATCHES) {
        while (b->sent < TPUT_BATCHES && b->inflight < TPUT_INFLIGHT) {
            struct recon_batch *batch = recon_batch_new("bfq:bench", "bfq:bench:ts", "bfq:ch:bench",
                                                        "ticks", RECON_REPLACE);
            int64_t t = 2000000 + b->sent;
            for (int s = 0; s < BATCH_SYMS; s++) {
                snprintf(field, sizeof field, "SYM%03dUSDT", s);
                snprintf(rec, sizeof rec,
                         "{\"b\":\"%d.10\",\"B\":\"1.5\",\"a\":\"%d.20\",\"A\":\"2.5\",\"T\":%lld}",
                         s + 1, s + 1, (long long)t);
                snprintf(pub, sizeof pub, "[\"%d.10\",\"%d.20\",%lld]", s + 1, s + 1, (long long)t);
                if (recon_batch_add(batch, field, rec, t, 0, pub) < 0) return -1;
            }
            b->inflight++;
            b->sent++;
            if (recon_batch_send(b->cmd, batch, on_written, b) < 0) return -1;
        }
        ev_run(b->loop, EVRUN_ONCE);
    }
    double dt = mono_s() - t0;
    return (double)TPUT_BATCHES * BATCH_SYMS / dt;
}

/* ---- (c) bfq_merge's cost inside Redis, by mode and record shape --------------------------- */

#define MODE_ROUNDS 21

/* The run time (us) of the one FCALL on key in the slow log, then reset; -1 when absent. */
static double slowlog_fcall_us(redisContext *sc, const char *key)
{
    redisReply *r = redisCommand(sc, "SLOWLOG GET -1");
    double us = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i], *a = e->elements >= 4 ? e->element[3] : NULL;
        if (a && a->type == REDIS_REPLY_ARRAY && a->elements >= 4 &&
            !strcmp(a->element[0]->str, "FCALL") && !strcmp(a->element[3]->str, key))
            us = (double)e->element[2]->integer;
    }
    freeReplyObject(r);
    freeReplyObject(redisCommand(sc, "SLOWLOG RESET"));
    return us;
}

/* Median us per record of MODE_ROUNDS bfq_merge calls of BATCH_SYMS records, each round
 * newer than the last (so every record is taken), records made by fmt(buf, cap, t). */
static double mode_cost(redisContext *sc, const char *key, const char *mode,
                        int (*fmt)(char *, size_t, long long))
{
    static const char *argv[8 + 5 * BATCH_SYMS];
    static char recs[BATCH_SYMS][640], fields[BATCH_SYMS][32], ts[24];
    char tskey[64];
    double us[MODE_ROUNDS];
    int n = 0;
    snprintf(tskey, sizeof tskey, "%s:ts", key);
    for (int round = 0; round < MODE_ROUNDS; round++) {
        long long t = 1700000000000LL + round * 1000;
        snprintf(ts, sizeof ts, "%lld", t);
        const char *head[] = {"FCALL", "bfq_merge", "2", key, tskey, "", "m", mode};
        memcpy(argv, head, sizeof head);
        for (int i = 0; i < BATCH_SYMS; i++) {
            snprintf(fields[i], sizeof fields[i], "SYM%03dUSDT:BOTH", i);
            if (fmt(recs[i], sizeof recs[i], t) < 0) return -1;
            const char *rec[] = {fields[i], recs[i], ts, "0", ""};
            memcpy(argv + 8 + 5 * i, rec, sizeof rec);
        }
        freeReplyObject(redisCommandArgv(sc, 8 + 5 * BATCH_SYMS, argv, NULL));
        double v = slowlog_fcall_us(sc, key);
        if (v >= 0 && round > 0) us[n++] = v / BATCH_SYMS; /* round 0 creates the fields */
    }
    if (n == 0) return -1;
    qsort(us, (size_t)n, sizeof us[0], cmp_double);
    return us[n / 2];
}

static int fmt_flat(char *buf, size_t cap, long long t)
{
    return snprintf(buf, cap, "{\"amt\":\"0\",\"entry\":\"0\",\"upnl\":\"0\",\"t\":%lld,"
                    "\"src\":\"positionrisk\"}", t) < (int)cap ? 0 : -1;
}

static int fmt_open(char *buf, size_t cap, long long t)
{
    return snprintf(buf, cap, "{\"amt\":\"0.5\",\"entry\":\"2000.1\",\"upnl\":\"%lld.25\","
                    "\"t\":1700000000000,\"src\":\"positionrisk\",\"ft\":{\"upnl\":%lld}}",
                    t % 97, t) < (int)cap ? 0 : -1;
}

static int fmt_order(char *buf, size_t cap, long long t)
{
    return snprintf(buf, cap, "{\"symbol\":\"BTCUSDT\",\"status\":\"NEW\",\"side\":\"BUY\","
                    "\"type\":\"LIMIT\",\"origType\":\"LIMIT\",\"price\":\"1000\",\"origQty\":\"0.1\","
                    "\"executedQty\":\"0\",\"avgPrice\":\"0\",\"stopPrice\":\"0\",\"orderId\":%lld,"
                    "\"positionSide\":\"BOTH\",\"reduceOnly\":false,\"timeInForce\":\"GTC\","
                    "\"time\":1700000000000,\"updateTime\":%lld,\"t\":%lld,\"src\":\"userstream\"}",
                    t % 1000 + 4000000000LL, t, t) < (int)cap ? 0 : -1;
}

/* Prints bfq_merge's run time inside Redis per record (slow log, median of the rounds). */
static void bench_modes(redisContext *sc)
{
    slowlog_setup(sc, 1);
    double flat_r = mode_cost(sc, "bfq:bench:posr", "replace", fmt_flat);
    double flat_m = mode_cost(sc, "bfq:bench:posm", "merge", fmt_flat);
    double open_m = mode_cost(sc, "bfq:bench:poso", "merge", fmt_open);
    double order_m = mode_cost(sc, "bfq:bench:ord", "merge", fmt_order);
    slowlog_setup(sc, 0);
    printf("\n| %-44s | %14s |\n", "bfq_merge inside Redis, 200-record batches", "us per record");
    printf("|----------------------------------------------|----------------|\n");
    printf("| %-44s | %14.2f |\n", "flat position, replace mode", flat_r);
    printf("| %-44s | %14.2f |\n", "flat position, merge mode", flat_m);
    printf("| %-44s | %14.2f |\n", "open position (upnl in ft), merge mode", open_m);
    printf("| %-44s | %14.2f |\n", "open order (18 members), merge mode", order_m);
    printf("(an openOrders poll re-merging 1000 orders: %.1f ms inside Redis)\n",
           order_m * 1000 / 1000.0);
}

static double redis_benchmark_set(int port)
{
    char p[16], *out = NULL;
    snprintf(p, sizeof p, "%d", port);
    const char *argv[] = {"redis-benchmark", "-t", "set", "-n", "200000", "-q", "-p", p, NULL};
    if (th_run(argv, &out, 120000) != 0 || !out) {
        free(out);
        return -1;
    }
    /* "SET: 123456.79 requests per second, p50=0.215 msec" (after \r progress lines) */
    const char *s = strstr(out, "SET: ");
    const char *last = s;
    while (s) {
        last = s;
        s = strstr(s + 1, "SET: ");
    }
    double v = last ? strtod(last + 5, NULL) : -1;
    free(out);
    return v;
}

int main(void)
{
    log_init("bench", LOG_LEVEL_WARN);
    struct th_redis red;
    struct th_sim sim;
    if (th_redis_start(&red, 0) != 0 || th_sim_start(&sim, NULL) != 0) {
        fprintf(stderr, "bench_pipeline: cannot start redis-server or bfq sim\n");
        return 1;
    }
    struct tick_universe u = {0};
    char *tbody = sim_body(&sim, "/fapi/v1/ticker/bookTicker");
    char *kbody = sim_body(&sim, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=45");
    char *obody = sim_body(&sim, "/fapi/v1/ticker/bookTicker?symbol=BTCUSDT");
    if (!tbody || !kbody || !obody || load_universe(&sim, &u) < 0) {
        fprintf(stderr, "bench_pipeline: cannot read bodies from the simulator\n");
        return 1;
    }
    th_sim_stop(&sim); /* not needed any more: keep the cores for Redis */

    struct bench *b = calloc(1, sizeof *b);
    b->loop = ev_default_loop(0);
    char err[RCONN_ERR_MAX];
    struct rconn_options co = {.url = red.url, .name = "bench", .lua_library = bfq_lua_library};
    struct rconn_callbacks cc = {.up = on_cmd_up, .privdata = b};
    struct rconn_options so = {.url = red.url, .name = "bench-sub"};
    struct rconn_callbacks sc = {.up = on_sub_up, .privdata = b};
    b->cmd = rconn_new(b->loop, &co, &cc, err, sizeof err);
    b->sub = rconn_new(b->loop, &so, &sc, err, sizeof err);
    if (!b->cmd || !b->sub || rconn_subscribe(b->sub, "bfq:ch:tick", on_message, b) < 0 ||
        rconn_subscribe(b->sub, "bfq:ch:kline:1m", on_message, b) < 0)
        return 1;
    run_until(b, &b->cmd_up, 5.0);
    run_until(b, &b->sub_up, 5.0);
    if (!b->cmd_up || !b->sub_up) {
        fprintf(stderr, "bench_pipeline: redis did not come up\n");
        return 1;
    }

    struct book tbook;
    if (trader_book(&tbook, tbody, kbody) == 0) b->book = &tbook;
    printf("\nbfq pipeline benchmark (redis-server %d, %d rounds after %d warm-up)\n\n", red.port,
           ROUNDS, WARMUP);
    printf("| %-40s | %6s | %8s | %8s | %8s |\n", "answer complete -> callback", "rounds", "p50 ms",
           "p99 ms", "max ms");
    printf(
        "|------------------------------------------|--------|----------|----------|----------|\n");
    int syms = 0;
    redisContext *sync = redisConnect("127.0.0.1", red.port);
    if (!sync || sync->err) {
        fprintf(stderr, "bench_pipeline: no sync connection to redis\n");
        return 1;
    }
    if (bench_ticks(b, sync, tbody, &u, &syms) < 0 || bench_kline(b, kbody, obody) < 0)
        fprintf(stderr, "bench_pipeline: latency rounds failed\n");
    printf("(tick batch: %d symbols of a %zu-byte answer)\n", syms, strlen(tbody));
    if (b->book)
        printf("(trader: %d symbols in the book, %lld strategy callbacks, %lld would order)\n\n",
               tbook.n, b->asked, b->signals);
    if (b->book) book_free(&tbook);
    b->book = NULL;

    bench_modes(sync);
    printf("\n");
    double merge = bench_merge(b);
    double set = redis_benchmark_set(red.port);
    printf("| %-44s | %14s |\n", "throughput", "per second");
    printf("|----------------------------------------------|----------------|\n");
    printf("| %-44s | %14.0f |\n", "bfq_merge records (200-record batches)", merge);
    printf("| %-44s | %14.0f |\n", "redis-benchmark SET (50 clients, -n 200000)", set);
    printf("| %-44s | %14.2f |\n", "ratio merge records / SET", set > 0 ? merge / set : -1);
    printf("(bfq_merge batches: %d, errors %d)\n", TPUT_BATCHES, b->errors);

    redisFree(sync);
    rconn_free(b->sub);
    rconn_free(b->cmd);
    ev_run(b->loop, EVRUN_NOWAIT);
    tick_universe_free(&u);
    free(tbody);
    free(kbody);
    free(obody);
    free(b);
    th_redis_stop(&red);
    return 0;
}
