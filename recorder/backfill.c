/* backfill: what the stream cannot have, from REST, within this IP's weight budget.
 *
 * A cycle, one step at a time (each REST page is written, with its cursor, in one transaction
 * before the next request is sent, so a crash or an outage at any point resumes from the last
 * committed page and never skips one):
 *   1. read the cursors (table cursors) and, for a full cycle, the account's symbols;
 *   2. income: GET /fapi/v1/income from the cursor "income" (or backfill_days ago) to now - 1 s,
 *      page by page (limit 1000, weight 30); the cursor goes on to that end minus a minute of
 *      overlap (a row booked late is read again: a no-op);
 *   3. full cycles, per symbol (those with income, orders or trades, plus [recorder] symbols):
 *      allOrders in windows of at most 7 days (Binance's rule) from the cursor "orders:SYM",
 *      each window from orderId 1 up (limit 1000, weight 5); the cursor moves to the oldest
 *      order still open (its later states must be read again) or the window's end; then
 *      userTrades from the cursor "trades:SYM" (fromId, limit 1000, weight 5);
 *   4. the client class of REST-only trades from their orders.
 * Requests go through the role's binance client, so the shared per-IP budget (core/weight)
 * paces them: the backfill waits for weight instead of drawing 429s. A REST or MariaDB failure
 * ends the cycle; the next one (core/backoff later) starts from the committed cursors. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "core/binance.h"
#include "core/log.h"
#include "recorder/recorder.h"
#include "recorder/rows.h"

#define BF_LIMIT 1000
#define BF_WEEK_MS (7 * 86400000LL)
#define BF_INCOME_LAG_MS 1000
#define BF_INCOME_OVERLAP_MS 60000
#define BF_SYMBOLS_MAX 512

enum bf_step { BF_IDLE, BF_CURSORS, BF_SYMBOLS, BF_INCOME, BF_ORDERS, BF_TRADES, BF_CLASS };

struct backfill {
    struct rec *c;
    ev_timer timer;
    enum bf_step step;
    int full;
    struct backoff bo;          /* failed cycles in a row */
    wall_ms_t last_full;
    json_t *cursors;            /* name -> integer, as read at the cycle's start */
    char *syms[BF_SYMBOLS_MAX];
    int nsym, si;
    int64_t start, end, from, open_min; /* the current request's window and id */
    int64_t stop_at;            /* allOrders: windows up to this time (the symbol's start) */
    int page;
    int64_t next_cursor;        /* what the page being written sets its cursor to */
    int last_page_full;
    int64_t cycles, requests, rows;
};

static void bf_next(struct backfill *bf);

static int64_t bf_now(const struct backfill *bf)
{
    return servertime_now(binance_servertime(bf->c->r.bc));
}

static int64_t bf_cursor(const struct backfill *bf, const char *name, int64_t def)
{
    const json_t *v = json_object_get(bf->cursors, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

static void bf_set_cursor(struct backfill *bf, struct db_batch *b, const char *name, int64_t v)
{
    char val[24];
    snprintf(val, sizeof val, "%" PRId64, v);
    const char *row[] = {bf->c->r.account, name, val};
    db_batch_add(b, ROW_CURSOR, 3, row);
    json_object_set_new(bf->cursors, name, json_integer(v));
}

static void bf_clear_syms(struct backfill *bf)
{
    for (int i = 0; i < bf->nsym; i++) free(bf->syms[i]);
    bf->nsym = 0;
}

static void bf_add_sym(struct backfill *bf, const char *s, size_t n)
{
    if (!n || n > 32 || bf->nsym >= BF_SYMBOLS_MAX) return;
    for (int i = 0; i < bf->nsym; i++)
        if (strlen(bf->syms[i]) == n && !memcmp(bf->syms[i], s, n)) return;
    bf->syms[bf->nsym] = strndup(s, n);
    if (!bf->syms[bf->nsym]) abort();
    bf->nsym++;
}

/* ---- the cycle's end --------------------------------------------------------------------- */

static void bf_schedule(struct backfill *bf, int64_t ms)
{
    ev_timer_stop(bf->c->r.loop, &bf->timer);
    ev_timer_set(&bf->timer, (double)ms / 1000.0, 0.);
    ev_timer_start(bf->c->r.loop, &bf->timer);
}

static void bf_end(struct backfill *bf, const char *failed)
{
    struct rec *c = bf->c;
    bf->step = BF_IDLE;
    bf_clear_syms(bf);
    if (failed) {
        log_warn("backfill cycle failed, retrying", "account=%s err=\"%s\"", c->r.account, failed);
        bf_schedule(bf, backoff_next(&bf->bo));
        return;
    }
    if (bf->full) bf->last_full = timebase_wall_ms();
    backoff_reset(&bf->bo);
    bf->cycles++;
    bf_schedule(bf, c->income_every_ms);
}

static void bf_submit(struct backfill *bf, struct db_batch *b)
{
    b->tag = REC_TAG_BACKFILL;
    db_submit(bf->c->db, b);
}

static void bf_query(struct backfill *bf, int kind, int n)
{
    struct db_batch *b = db_batch_new();
    const char *a = bf->c->r.account, *v[] = {a, a, a, a};
    b->query_kind = kind;
    db_batch_add(b, kind, n, v);
    bf_submit(bf, b);
}

/* ---- REST answers ------------------------------------------------------------------------ */

/* Validates a list answer and turns it into a batch; NULL (cycle ended) when it is not one. */
static struct db_batch *bf_rows(struct backfill *bf, const struct binance_result *res,
                                int (*parse)(struct db_batch *, const char *, const json_t *,
                                             char *, size_t),
                                const char *what)
{
    struct rec *c = bf->c;
    char err[160] = "", why[BINANCE_MSG_MAX + 200];
    size_t i;
    json_t *el;
    if (res->outcome == BINANCE_ELOCAL && role_stopping(&c->r)) return NULL;
    bf->requests++;
    if (role_count_result(&c->r, res, what) < 0) {
        snprintf(why, sizeof why, "%s: %s %s", what, binance_outcome_name(res->outcome), res->msg);
        bf_end(bf, why);
        return NULL;
    }
    if (!json_is_array(res->json)) {
        role_count_invalid(&c->r, what, "not an array");
        bf_end(bf, "answer is not an array");
        return NULL;
    }
    struct db_batch *b = db_batch_new();
    json_array_foreach(res->json, i, el) {
        if (parse(b, c->r.account, el, err, sizeof err) < 0) {
            role_count_invalid(&c->r, what, err);
            snprintf(why, sizeof why, "%s: %s", what, err);
            db_batch_free(b);
            bf_end(bf, why);
            return NULL;
        }
    }
    bf->rows += (int64_t)json_array_size(res->json);
    bf->last_page_full = json_array_size(res->json) >= BF_LIMIT;
    return b;
}

static void bf_income_done(const struct binance_result *res, void *privdata)
{
    struct backfill *bf = privdata;
    struct db_batch *b = bf_rows(bf, res, rows_from_income, "income");
    if (!b) return;
    if (bf->last_page_full) {
        bf->page++;
    } else {
        int64_t next = bf->end - BF_INCOME_OVERLAP_MS;
        bf_set_cursor(bf, b, "income", next > bf->start ? next : bf->start);
        bf->page = 0; /* done */
    }
    bf_submit(bf, b);
}

/* from = one past the greatest id of the page (and never backwards) */
static void bf_after_ids(struct backfill *bf, const json_t *arr, const char *key)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        int64_t id = json_integer_value(json_object_get(e, key));
        if (id >= bf->from) bf->from = id + 1;
    }
}

static void bf_orders_done(const struct binance_result *res, void *privdata)
{
    struct backfill *bf = privdata;
    struct db_batch *b = bf_rows(bf, res, rows_from_rest_order, "allOrders");
    size_t i;
    json_t *o;
    char name[64];
    if (!b) return;
    bf_after_ids(bf, res->json, "orderId");
    json_array_foreach(res->json, i, o) {
        const char *st = json_string_value(json_object_get(o, "status"));
        int64_t t = json_integer_value(json_object_get(o, "time"));
        if (st && (!strcmp(st, "NEW") || !strcmp(st, "PARTIALLY_FILLED")) && t < bf->open_min)
            bf->open_min = t;
    }
    if (!bf->last_page_full) { /* window done: the cursor moves, the next window starts */
        snprintf(name, sizeof name, "orders:%s", bf->syms[bf->si]);
        int64_t next = bf->end + 1;
        if (bf->end >= bf->stop_at) next -= BF_INCOME_OVERLAP_MS; /* the live edge: again */
        if (bf->open_min < next) next = bf->open_min;
        if (next < bf->start) next = bf->start;
        bf_set_cursor(bf, b, name, next);
        bf->start = bf->end + 1;
        bf->from = 1;
    }
    bf_submit(bf, b);
}

static void bf_trades_done(const struct binance_result *res, void *privdata)
{
    struct backfill *bf = privdata;
    struct db_batch *b = bf_rows(bf, res, rows_from_rest_trade, "userTrades");
    char name[64];
    if (!b) return;
    bf_after_ids(bf, res->json, "id");
    snprintf(name, sizeof name, "trades:%s", bf->syms[bf->si]);
    bf_set_cursor(bf, b, name, bf->from);
    bf_submit(bf, b);
}

/* ---- requests ---------------------------------------------------------------------------- */

static void bf_get(struct backfill *bf, const char *path, const char *query, int weight,
                   binance_done_fn *done)
{
    if (binance_request(bf->c->r.bc, "GET", path, query, NULL, BINANCE_SIGNED, weight, done, bf) <
        0)
        bf_end(bf, "request not queued");
}

static void bf_income_request(struct backfill *bf)
{
    char q[256];
    snprintf(q, sizeof q, "startTime=%" PRId64 "&endTime=%" PRId64 "&page=%d&limit=%d",
             bf->start, bf->end, bf->page, BF_LIMIT);
    bf_get(bf, "/fapi/v1/income", q, 30, bf_income_done);
}

static void bf_orders_request(struct backfill *bf)
{
    char q[256];
    snprintf(q, sizeof q, "symbol=%s&orderId=%" PRId64 "&startTime=%" PRId64 "&endTime=%" PRId64
             "&limit=%d", bf->syms[bf->si], bf->from, bf->start, bf->end, BF_LIMIT);
    bf_get(bf, "/fapi/v1/allOrders", q, 5, bf_orders_done);
}

static void bf_trades_request(struct backfill *bf)
{
    char q[256];
    snprintf(q, sizeof q, "symbol=%s&fromId=%" PRId64 "&limit=%d", bf->syms[bf->si], bf->from,
             BF_LIMIT);
    bf_get(bf, "/fapi/v1/userTrades", q, 5, bf_trades_done);
}

/* ---- the steps --------------------------------------------------------------------------- */

static void bf_symbol_orders(struct backfill *bf)
{
    char name[64];
    int64_t now = bf_now(bf), oldest = now - bf->c->backfill_days * 86400000LL;
    snprintf(name, sizeof name, "orders:%s", bf->syms[bf->si]);
    bf->start = bf_cursor(bf, name, oldest);
    if (bf->start < oldest) bf->start = oldest;
    bf->from = 1;
    bf->open_min = INT64_MAX;
    bf->stop_at = now;
    bf->end = INT64_MIN; /* no window yet */
    bf->step = BF_ORDERS;
}

static void bf_symbol_trades(struct backfill *bf)
{
    char name[64];
    snprintf(name, sizeof name, "trades:%s", bf->syms[bf->si]);
    bf->from = bf_cursor(bf, name, 1);
    bf->last_page_full = 1; /* the first page is always asked for */
    bf->step = BF_TRADES;
}

/* Sends the next request of the current step, or moves to the next step. */
static void bf_next(struct backfill *bf)
{
    if (role_stopping(&bf->c->r)) return;
    switch (bf->step) {
    case BF_INCOME:
        if (bf->page > 0) return bf_income_request(bf);
        if (!bf->full) return bf_end(bf, NULL);
        bf->step = BF_SYMBOLS;
        return bf_query(bf, Q_SYMBOLS, 3);
    case BF_ORDERS:
        if (bf->start <= bf->stop_at) {
            if (!bf->last_page_full || bf->end < bf->start) {
                bf->end = bf->start + BF_WEEK_MS - 1;
                if (bf->end > bf->stop_at) bf->end = bf->stop_at;
            }
            return bf_orders_request(bf);
        }
        bf_symbol_trades(bf);
        return bf_next(bf);
    case BF_TRADES:
        if (bf->last_page_full) return bf_trades_request(bf);
        if (++bf->si < bf->nsym) {
            bf_symbol_orders(bf);
            return bf_next(bf);
        }
        bf->step = BF_CLASS;
        struct db_batch *b = db_batch_new();
        const char *v[] = {bf->c->r.account};
        db_batch_add(b, ROW_TRADE_CLASS, 1, v);
        return bf_submit(bf, b);
    case BF_CLASS:
        return bf_end(bf, NULL);
    default:
        return;
    }
}

static void bf_start_income(struct backfill *bf)
{
    int64_t now = bf_now(bf), oldest = now - bf->c->backfill_days * 86400000LL;
    bf->start = bf_cursor(bf, "income", oldest);
    if (bf->start < oldest) bf->start = oldest;
    bf->end = now - BF_INCOME_LAG_MS;
    if (bf->start > bf->end) bf->start = bf->end;
    bf->page = 1;
    bf->step = BF_INCOME;
    bf_next(bf);
}

static void bf_got_symbols(struct backfill *bf, const json_t *rows)
{
    size_t i;
    json_t *row;
    const char *s = bf->c->symbols, *name;
    json_t *v;
    json_array_foreach(rows, i, row) {
        const char *sym = json_string_value(json_array_get(row, 0));
        if (sym) bf_add_sym(bf, sym, strlen(sym));
    }
    json_object_foreach(bf->cursors, name, v) /* symbols only the cursors still know */
        if (!strncmp(name, "orders:", 7)) bf_add_sym(bf, name + 7, strlen(name + 7));
    while (s && *s) {
        size_t n = strcspn(s, ", \n");
        bf_add_sym(bf, s, n);
        s += n;
        s += strspn(s, ", \n");
    }
    bf->si = 0;
    if (!bf->nsym) return bf_end(bf, NULL);
    bf_symbol_orders(bf);
    bf_next(bf);
}

void backfill_db_done(struct backfill *bf, struct db_batch *b)
{
    struct rec *c = bf->c;
    rec_db_result(c, b);
    if (b->status != DB_OK) {
        bf_end(bf, b->errstr);
    } else if (bf->step == BF_CURSORS) {
        size_t i;
        json_t *row;
        json_object_clear(bf->cursors);
        json_array_foreach(b->result, i, row) {
            const char *name = json_string_value(json_array_get(row, 0));
            const char *val = json_string_value(json_array_get(row, 1));
            if (name && val) json_object_set_new(bf->cursors, name, json_integer(strtoll(val, NULL, 10)));
        }
        bf_start_income(bf);
    } else if (bf->step == BF_SYMBOLS) {
        bf_got_symbols(bf, b->result);
    } else {
        bf_next(bf);
    }
    db_batch_free(b);
}

static void bf_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct backfill *bf = w->data;
    struct rec *c = bf->c;
    if (bf->step != BF_IDLE || role_stopping(&c->r)) return;
    if (!role_redis_up(&c->r)) return bf_schedule(bf, c->backoff_min_ms); /* the weight budget */
    bf->full = bf->last_full == 0 || timebase_wall_ms() - bf->last_full >= c->backfill_every_ms;
    bf->step = BF_CURSORS;
    bf_query(bf, Q_CURSORS, 1);
}

struct backfill *backfill_new(struct rec *c)
{
    struct backfill *bf = calloc(1, sizeof *bf);
    if (!bf) abort();
    bf->c = c;
    bf->cursors = json_object();
    backoff_init(&bf->bo, c->backoff_min_ms, c->backoff_max_ms);
    ev_timer_init(&bf->timer, bf_timer_cb, 0., 0.);
    bf->timer.data = bf;
    return bf;
}

void backfill_start(struct backfill *bf)
{
    bf_schedule(bf, 0);
}

void backfill_stop(struct backfill *bf)
{
    ev_timer_stop(bf->c->r.loop, &bf->timer);
}

int64_t backfill_cycles(const struct backfill *bf)
{
    return bf ? bf->cycles : 0;
}

void backfill_free(struct backfill *bf)
{
    if (!bf) return;
    bf_clear_syms(bf);
    json_decref(bf->cursors);
    free(bf);
}
