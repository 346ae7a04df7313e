/* kline: `bfq kline`, kline windows for the next symbol of a shared cursor.
 *
 * With [kline] rate = N a pacing timer fires N times a second. With rate = auto (the default)
 * the weight budget paces instead: the budget of this process is paced (weight.h: a line over
 * each exchange minute up to 99% of the IP's budget, shared with everything else on that IP),
 * and a new symbol starts whenever one of the [kline] concurrency slots is free, so the IP's
 * budget goes into klines as fast as it allows and no faster (no 429). Each start, unless
 * [kline] concurrency symbols are already in flight or a back-off is running, takes the next
 * symbol with bfq_next
 * (INCR <prefix>cursor:kline:<interval>, modulo the length of <prefix>universe: any number of
 * instances share the universe evenly) and sends two requests in parallel: the klines
 * (weight 1/2/5/10 by limit) and the book (depth limit 5, weight 2, or the symbol's book ticker,
 * weight 2, by [kline] book). Both go through the per-IP weight budget. When both answered and
 * validated (bars.h), the last bar is corrected from the book ([kline] correct) and the window
 * is written through bfq_put into <prefix>kline:<interval>:<SYM> with t = the book's data time
 * (depth T, the ticker's time; never when a node answered), uid and "last" = the last bar's
 * open time (bfq_put refuses a window whose last bar is older than the stored one's), published
 * on <prefix>ch:kline:<interval> as {"s","t","bars":[last two]}. Missing bars (an exchange
 * halt) are accepted and counted (heartbeat gap_windows, gap_bars). A bad answer
 * of either request writes nothing for that symbol, is counted, and pauses this instance
 * (core/backoff: 250 ms growing to 5 s, jittered; a 429/418 also stops the IP in the budget); the loop goes on with the
 * next symbol.
 *
 * --hot walks the hot set instead: <prefix>hot:list (kept by `bfq volume`) with the cursor
 * <prefix>cursor:klinehot:<interval>. Every 2 s it checks <prefix>hot's t; when the hot set is
 * missing or older than [kline] hot_max_age (180 s) it falls back to the whole universe and its
 * cursor, logs the switch once and shows "fallback": true in its heartbeat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "collectors/bars.h"
#include "collectors/collectors.h"
#include "core/backoff.h"
#include "core/heartbeat.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "core/weight.h"
#include "reconciler/recon.h"

#define KLINE_SYM_MAX 64
#define KLINE_CONC_MAX 8
#define KLINE_KEY_MAX 256
#define KLINE_BACKOFF_MIN_MS 250
#define KLINE_BACKOFF_MAX_MS 5000
#define KLINE_HOT_CHECK_S 2.0
#define KLINE_AUTO_IDLE_S 0.25 /* rate = auto: the pace timer only ends back-offs and outages */

struct kline;

/* One symbol in flight: its two answers are kept (json_incref) until both arrived. */
struct kline_job {
    struct kline *k;
    int in_use;
    int pending; /* exchange answers outstanding */
    int failed;
    char sym[KLINE_SYM_MAX];
    json_t *bars, *book; /* owned references */
};

struct kline {
    struct role r;
    const char *interval;
    int64_t interval_ms, limit, rate, concurrency, hot_max_age_ms;
    int hot, correct, use_ticker;
    int auto_rate; /* rate = auto: k->rate is 0 */
    ev_timer pace, hotcheck, kick;
    struct kline_job jobs[KLINE_CONC_MAX];
    int in_flight;
    mono_ms_t pause_until;
    struct backoff backoff;
    int hot_known, fallback;
    int64_t written, kept, redis_errors, empty;
    int64_t gap_windows, gap_bars; /* windows taken with missing bars, and the bars missing */
    char chan[KLINE_KEY_MAX];
};

static const struct cli_option kline_options[] = {
    {"interval", "INTERVAL", NULL, NULL, "kline interval (default 1m)", 0},
    {"limit", "N", NULL, NULL, "bars per window (default 45)", 0},
    {"hot", NULL, NULL, NULL, "walk the hot set (falls back to the universe when stale)", 0},
    {"rate", "N|auto", NULL, NULL,
     "at most N symbols a second, or auto: as fast as the IP's weight budget allows (default)",
     0},
    {"concurrency", "N", NULL, NULL, "symbols in flight at once (default 2)", 0},
    {"book", "depth|ticker", NULL, NULL, "book used to correct the last bar (default depth)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [kline] keys no option sets (core/role reports any other key of the section). */
static const char *const kline_keys[] = {"correct", "hot_max_age", NULL};

const struct cli_command kline_cli = {
    .name = "kline",
    .summary = "kline windows for the next symbol of a shared cursor, last bar corrected",
    .usage = "Writes bfq:kline:<interval>:<SYM> and publishes on bfq:ch:kline:<interval>.\n"
             "[kline] correct = false keeps the exchange's last bar as it is.\n",
    .options = kline_options,
    .role_options = 1,
    .keys = kline_keys,
};

/* Binance's klines weight by limit. */
static int kline_weight(int64_t limit)
{
    if (limit < 100) return 1;
    if (limit < 500) return 2;
    if (limit <= 1000) return 5;
    return 10;
}

/* Percent-encodes a symbol for a query string (symbols may hold UTF-8 since 2025-10). */
static int kline_urlenc(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
        if (o + (plain ? 1 : 3) >= cap) return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

/* ---- a job ------------------------------------------------------------------------------- */

static void kline_job_release(struct kline_job *j)
{
    struct kline *k = j->k;
    json_decref(j->bars);
    json_decref(j->book);
    j->bars = j->book = NULL;
    j->in_use = 0;
    k->in_flight--;
    /* rate = auto: the free slot starts the next symbol from the loop (never from here) */
    if (k->auto_rate && !role_stopping(&k->r) && !ev_is_active(&k->kick))
        ev_timer_start(k->r.loop, &k->kick);
}

static void kline_backoff(struct kline *k)
{
    k->pause_until = timebase_mono_ms() + backoff_next(&k->backoff);
}

static void kline_on_put(int64_t value, const char *err, void *privdata)
{
    struct kline *k = privdata;
    if (err) {
        if (k->redis_errors++ % 100 == 0)
            log_error("bfq_put failed", "err=\"%s\" count=%lld", err, (long long)k->redis_errors);
        return;
    }
    if (value == 1) k->written++;
    else k->kept++;
}

/* The message for the channel: {"s":SYM,"t":t,"bars":[last two bars]}; malloc'd. */
static char *kline_message(const char *sym, int64_t t, const json_t *window)
{
    json_t *msg = json_object();
    json_object_set_new(msg, "s", json_string(sym));
    json_object_set_new(msg, "t", json_integer(t));
    json_object_set_new(msg, "bars", bars_tail(window, 2));
    char *text = jv_dump(msg);
    json_decref(msg);
    return text;
}

/* Writes the window with t = the book's data time and uid = the last bar's open time (so a
 * new bar wins a tie with an unchanged book); its "last" field makes bfq_put refuse it when
 * the stored window's last bar is newer (a stale klines answer beside a fresh book). */
static int kline_write(struct kline *k, const char *sym, int64_t t, const json_t *window)
{
    char key[KLINE_KEY_MAX], last[24];
    char *bars = jv_dump(window), *msg = kline_message(sym, t, window);
    int64_t open_t = bars_last_open(window);
    int rc = -1;
    snprintf(last, sizeof(last), "%lld", (long long)open_t);
    if (bars && msg && role_key(&k->r, key, sizeof(key), "kline:%s:%s", k->interval, sym) > 0) {
        const char *fields[] = {"bars", "src", "last"};
        const char *values[] = {bars, k->r.instance, last};
        rc = recon_put(k->r.rc, key, k->chan, msg, t, open_t, 3, fields, values, kline_on_put,
                       k);
    }
    if (rc < 0) k->redis_errors++;
    free(bars);
    free(msg);
    return rc;
}

/* Both answers arrived fine: validate, correct, write. */
static void kline_finish(struct kline_job *j)
{
    struct kline *k = j->k;
    struct bars_book book;
    char err[BARS_ERR_MAX], what[KLINE_SYM_MAX + 16];
    int bad = 0;
    snprintf(what, sizeof(what), "klines %s", j->sym);
    if (bars_validate(j->bars, k->interval_ms, (size_t)k->limit, err, sizeof(err)) < 0) {
        bad = 1;
    } else {
        snprintf(what, sizeof(what), "book %s", j->sym);
        bad = k->use_ticker ? bars_book_from_ticker(j->book, &book, err, sizeof(err)) < 0
                            : bars_book_from_depth(j->book, &book, err, sizeof(err)) < 0;
        if (!bad && !binance_time_plausible(k->r.bc, book.t)) {
            snprintf(err, sizeof(err), "time %lld is ahead of the exchange clock",
                     (long long)book.t);
            bad = 1;
        }
    }
    if (bad) {
        role_count_invalid(&k->r, what, err);
        kline_backoff(k);
        return;
    }
    size_t gaps = bars_gaps(j->bars, k->interval_ms);
    if (gaps > 0) {
        k->gap_windows++;
        k->gap_bars += (int64_t)gaps;
    }
    json_t *window = k->correct ? bars_correct(j->bars, &book) : json_incref(j->bars);
    if (window) kline_write(k, j->sym, book.t, window);
    json_decref(window);
    backoff_reset(&k->backoff);
}

static void kline_on_answer(struct kline_job *j, const struct binance_result *res, json_t **slot,
                            const char *what)
{
    char label[KLINE_SYM_MAX + 16];
    snprintf(label, sizeof(label), "%s %s", what, j->sym);
    if (role_count_result(&j->k->r, res, label) < 0) j->failed = 1;
    else *slot = json_incref(res->json);
    if (--j->pending > 0) return;
    if (j->failed) {
        if (!role_stopping(&j->k->r)) kline_backoff(j->k);
    } else if (!role_stopping(&j->k->r)) {
        kline_finish(j);
    }
    kline_job_release(j);
}

static void kline_on_bars(const struct binance_result *res, void *privdata)
{
    struct kline_job *j = privdata;
    kline_on_answer(j, res, &j->bars, "klines");
}

static void kline_on_book(const struct binance_result *res, void *privdata)
{
    struct kline_job *j = privdata;
    kline_on_answer(j, res, &j->book, "book");
}

static int kline_send(struct kline *k, struct kline_job *j, const char *path, const char *query,
                      int weight, binance_done_fn *fn)
{
    if (binance_request(k->r.bc, "GET", path, query, NULL, BINANCE_PUBLIC, weight, fn, j) < 0)
        return -1;
    j->pending++;
    role_count_weight(&k->r, weight);
    return 0;
}

static void kline_fetch(struct kline_job *j)
{
    struct kline *k = j->k;
    char sym[3 * KLINE_SYM_MAX], q[4 * KLINE_SYM_MAX];
    if (kline_urlenc(j->sym, sym, sizeof(sym)) < 0) {
        kline_job_release(j);
        return;
    }
    j->pending = 1; /* held while both are sent */
    snprintf(q, sizeof(q), "symbol=%s&interval=%s&limit=%lld", sym, k->interval,
             (long long)k->limit);
    if (kline_send(k, j, "/fapi/v1/klines", q, kline_weight(k->limit), kline_on_bars) < 0)
        j->failed = 1;
    if (k->use_ticker) {
        snprintf(q, sizeof(q), "symbol=%s", sym);
        if (kline_send(k, j, "/fapi/v1/ticker/bookTicker", q, 2, kline_on_book) < 0) j->failed = 1;
    } else {
        snprintf(q, sizeof(q), "symbol=%s&limit=5", sym);
        if (kline_send(k, j, "/fapi/v1/depth", q, 2, kline_on_book) < 0) j->failed = 1;
    }
    if (--j->pending == 0) kline_job_release(j); /* both failed to queue */
}

static void kline_on_next(const char *symbol, int64_t index, const char *err, void *privdata)
{
    struct kline_job *j = privdata;
    struct kline *k = j->k;
    (void)index;
    if (role_stopping(&k->r) || !symbol || strlen(symbol) >= sizeof(j->sym)) {
        if (err && k->redis_errors++ % 100 == 0) log_error("bfq_next failed", "err=\"%s\"", err);
        if (!err && !symbol && k->empty++ % 50 == 0)
            log_warn("nothing to walk: the symbol list is empty", "fallback=%d", k->fallback);
        kline_job_release(j);
        return;
    }
    memcpy(j->sym, symbol, strlen(symbol) + 1);
    kline_fetch(j);
}

/* ---- pacing ---------------------------------------------------------------------------------- */

static void kline_lists(struct kline *k, char *cursor, char *list)
{
    if (k->hot && !k->fallback) {
        role_key(&k->r, cursor, KLINE_KEY_MAX, "cursor:klinehot:%s", k->interval);
        role_key(&k->r, list, KLINE_KEY_MAX, "hot:list");
    } else {
        role_key(&k->r, cursor, KLINE_KEY_MAX, "cursor:kline:%s", k->interval);
        role_key(&k->r, list, KLINE_KEY_MAX, "universe");
    }
}

static struct kline_job *kline_free_job(struct kline *k)
{
    for (int i = 0; i < k->concurrency; i++)
        if (!k->jobs[i].in_use) return &k->jobs[i];
    return NULL;
}

/* Starts one symbol if a slot is free and nothing holds it back. Returns 1 when started. */
static int kline_start_one(struct kline *k)
{
    char cursor[KLINE_KEY_MAX], list[KLINE_KEY_MAX];
    if (role_stopping(&k->r) || !role_redis_up(&k->r) || (k->hot && !k->hot_known)) return 0;
    if (timebase_mono_ms() < k->pause_until) return 0;
    struct kline_job *j = kline_free_job(k);
    if (!j) return 0;
    memset(j, 0, sizeof(*j));
    j->k = k;
    j->in_use = 1;
    k->in_flight++;
    kline_lists(k, cursor, list);
    if (recon_next(k->r.rc, cursor, list, kline_on_next, j) < 0) {
        j->in_use = 0;
        k->in_flight--;
        return 0;
    }
    return 1;
}

/* rate = N: one symbol per firing; rate = auto: every free slot (the budget paces). */
static void kline_on_pace(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kline *k = w->data;
    (void)loop;
    (void)revents;
    while (kline_start_one(k) && k->auto_rate) continue;
}

/* ---- hot set freshness ----------------------------------------------------------------------- */

static void kline_set_fallback(struct kline *k, int fallback, const char *why)
{
    if (k->hot_known && fallback == k->fallback) return;
    k->hot_known = 1;
    k->fallback = fallback;
    if (fallback) log_warn("hot set stale or missing: walking the whole universe", "why=%s", why);
    else log_info("hot set fresh: walking the hot set", NULL);
    if (k->r.hb) heartbeat_beat(k->r.hb);
}

static void kline_on_hot_t(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct kline *k = privdata;
    (void)rc;
    if (role_stopping(&k->r)) return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (k->redis_errors++ % 100 == 0)
            log_error("reading the hot set failed", "err=\"%s\"", reply ? reply->str : "lost");
        return;
    }
    if (reply->type != REDIS_REPLY_STRING) {
        kline_set_fallback(k, 1, "missing");
        return;
    }
    char *end = NULL;
    long long t = strtoll(reply->str, &end, 10);
    if (end == reply->str || *end) {
        kline_set_fallback(k, 1, "unreadable");
        return;
    }
    int stale = timebase_wall_ms() - t > k->hot_max_age_ms;
    kline_set_fallback(k, stale, stale ? "old" : "fresh");
}

static void kline_on_hotcheck(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kline *k = w->data;
    char key[KLINE_KEY_MAX];
    (void)loop;
    (void)revents;
    if (role_stopping(&k->r) || !role_redis_up(&k->r)) return;
    role_key(&k->r, key, sizeof(key), "hot");
    (void)rconn_command(k->r.rc, kline_on_hot_t, k, "HGET %s t", key);
}

static void kline_on_up(struct role *r, void *privdata)
{
    struct kline *k = privdata;
    (void)r;
    if (k->hot) kline_on_hotcheck(k->r.loop, &k->hotcheck, 0);
}

static void kline_fill(struct role *r, json_t *obj, void *privdata)
{
    struct kline *k = privdata;
    (void)r;
    json_object_set_new(obj, "interval", json_string(k->interval));
    json_object_set_new(obj, "hot", json_boolean(k->hot));
    if (k->hot) json_object_set_new(obj, "fallback", json_boolean(!k->hot_known || k->fallback));
    json_object_set_new(obj, "written", json_integer(k->written));
    json_object_set_new(obj, "kept", json_integer(k->kept));
    json_object_set_new(obj, "redis_errors", json_integer(k->redis_errors));
    json_object_set_new(obj, "in_flight", json_integer(k->in_flight));
    json_object_set_new(obj, "gap_windows", json_integer(k->gap_windows));
    json_object_set_new(obj, "gap_bars", json_integer(k->gap_bars));
    json_object_set_new(obj, "rate", k->auto_rate ? json_string("auto") : json_integer(k->rate));
}

/* ---- entry point ---------------------------------------------------------------------------- */

static int kline_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct kline *k = state;
    const char *book = NULL, *rate = NULL;
    if (config_str(cfg, "kline", "interval", "1m", &k->interval) < 0 ||
        config_int(cfg, "kline", "limit", 45, 1, BARS_MAX, &k->limit) < 0 ||
        config_bool(cfg, "kline", "hot", 0, &k->hot) < 0 ||
        config_bool(cfg, "kline", "correct", 1, &k->correct) < 0 ||
        config_str(cfg, "kline", "rate", "auto", &rate) < 0 ||
        (strcmp(rate, "auto") != 0 && config_int(cfg, "kline", "rate", 4, 1, 1000, &k->rate) < 0) ||
        config_int(cfg, "kline", "concurrency", 2, 1, KLINE_CONC_MAX, &k->concurrency) < 0 ||
        config_duration_ms(cfg, "kline", "hot_max_age", 180000, 1000, 86400000,
                           &k->hot_max_age_ms) < 0 ||
        config_str(cfg, "kline", "book", "depth", &book) < 0)
        return -1;
    if (interval_ms(k->interval, &k->interval_ms) < 0) {
        snprintf(err, cap, "[kline] interval: '%s' is not a Binance interval", k->interval);
        return -1;
    }
    if (strcmp(book, "depth") != 0 && strcmp(book, "ticker") != 0) {
        snprintf(err, cap, "[kline] book: '%s' is not depth or ticker", book);
        return -1;
    }
    k->use_ticker = !strcmp(book, "ticker");
    k->auto_rate = !strcmp(rate, "auto");
    if (k->auto_rate) k->rate = 0;
    return 0;
}

static int kline_start(struct role *r, void *state, char *err, size_t cap)
{
    struct kline *k = state;
    (void)err;
    (void)cap;
    role_key(r, k->chan, sizeof(k->chan), "ch:kline:%s", k->interval);
    backoff_init(&k->backoff, KLINE_BACKOFF_MIN_MS, KLINE_BACKOFF_MAX_MS);
    ev_timer_init(&k->pace, kline_on_pace, 0.0,
                  k->auto_rate ? KLINE_AUTO_IDLE_S : 1.0 / (double)k->rate);
    k->pace.data = k;
    ev_timer_start(r->loop, &k->pace);
    ev_timer_init(&k->kick, kline_on_pace, 0.0, 0.0);
    k->kick.data = k;
    if (k->auto_rate && r->wb) weight_set_pace(r->wb, 1);
    ev_timer_init(&k->hotcheck, kline_on_hotcheck, KLINE_HOT_CHECK_S, KLINE_HOT_CHECK_S);
    k->hotcheck.data = k;
    if (k->hot) ev_timer_start(r->loop, &k->hotcheck);
    log_info("walking", "interval=%s limit=%lld rate=%lld hot=%d book=%s", k->interval,
             (long long)k->limit, (long long)k->rate, k->hot, k->use_ticker ? "ticker" : "depth");
    if (k->auto_rate) log_info("rate auto: paced by the IP's weight budget", NULL);
    return 0;
}

static void kline_stop(struct role *r, void *state)
{
    struct kline *k = state;
    ev_timer_stop(r->loop, &k->pace);
    ev_timer_stop(r->loop, &k->hotcheck);
    ev_timer_stop(r->loop, &k->kick);
}

static const struct role_entry kline_entry = {
    .cmd = &kline_cli,
    .opts = {.lua_library = bfq_lua_library, .up = kline_on_up, .fill = kline_fill},
    .config = kline_config,
    .start = kline_start,
    .stop = kline_stop,
};

int kline_main(int argc, char **argv)
{
    static struct kline k; /* one per process; static keeps it off the stack */
    memset(&k, 0, sizeof k);
    return role_main(&kline_entry, &k.r, &k, argc, argv);
}
