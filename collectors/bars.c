/* bars: kline window validation and last-bar correction (see bars.h). */
#include "collectors/bars.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BARS_FIELDS 12
#define BARS_DAY_MS 86400000LL

static int bars_fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bars_fail(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Element i of bar as an exact decimal string. */
static int bars_dec_at(const json_t *bar, size_t i, struct dec *out)
{
    const json_t *v = json_array_get(bar, i);
    if (!json_is_string(v)) return -1;
    return dec_parse(json_string_value(v), json_string_length(v), out) == DEC_OK ? 0 : -1;
}

static int bars_int_at(const json_t *bar, size_t i, int64_t *out)
{
    const json_t *v = json_array_get(bar, i);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = json_integer_value(v);
    return 0;
}

/* One bar's shape and internal consistency; its open time in *open_t. */
static int bars_check_bar(const json_t *bar, size_t idx, int64_t interval_ms, int64_t *open_t,
                          char *err, size_t cap)
{
    static const size_t decs[] = {1, 2, 3, 4, 5, 7, 9, 10, 11};
    struct dec d[BARS_FIELDS];
    int64_t close_t = 0, trades = 0;
    if (!json_is_array(bar) || json_array_size(bar) != BARS_FIELDS)
        return bars_fail(err, cap, "bar %zu: not an array of %d elements", idx, BARS_FIELDS);
    if (bars_int_at(bar, 0, open_t) < 0 || bars_int_at(bar, 6, &close_t) < 0 ||
        bars_int_at(bar, 8, &trades) < 0)
        return bars_fail(err, cap, "bar %zu: open time, close time or trades not an integer", idx);
    for (size_t i = 0; i < sizeof(decs) / sizeof(decs[0]); i++)
        if (bars_dec_at(bar, decs[i], &d[decs[i]]) < 0)
            return bars_fail(err, cap, "bar %zu: element %zu is not a decimal string", idx, decs[i]);
    if (dec_cmp(d[3], d[1]) > 0 || dec_cmp(d[3], d[4]) > 0 || dec_cmp(d[2], d[1]) < 0 ||
        dec_cmp(d[2], d[4]) < 0 || dec_sign(d[3]) < 0 || dec_sign(d[5]) < 0)
        return bars_fail(err, cap, "bar %zu: open/high/low/close inconsistent", idx);
    if (interval_ms > 0 && close_t != *open_t + interval_ms - 1)
        return bars_fail(err, cap, "bar %zu: close time %lld is not open time + interval - 1", idx,
                         (long long)close_t);
    if (interval_ms == 0 && close_t <= *open_t)
        return bars_fail(err, cap, "bar %zu: close time before open time", idx);
    /* intervals up to a day start on UTC multiples of themselves (3d and 1w have their own
     * epochs, 1M the calendar: only their spacing is checked) */
    if (interval_ms > 0 && BARS_DAY_MS % interval_ms == 0 && *open_t % interval_ms != 0)
        return bars_fail(err, cap, "bar %zu: open time %lld not on the interval's grid", idx,
                         (long long)*open_t);
    return 0;
}

int bars_validate(const json_t *window, int64_t interval_ms, size_t max_bars, char *err,
                  size_t errcap)
{
    int64_t prev = 0;
    if (!json_is_array(window)) return bars_fail(err, errcap, "klines: not an array");
    size_t n = json_array_size(window);
    if (n == 0) return bars_fail(err, errcap, "klines: empty");
    if (n > max_bars) return bars_fail(err, errcap, "klines: %zu bars, more than %zu", n, max_bars);
    for (size_t i = 0; i < n; i++) {
        int64_t t = 0;
        if (bars_check_bar(json_array_get(window, i), i, interval_ms, &t, err, errcap) < 0)
            return -1;
        if (i > 0 && t <= prev)
            return bars_fail(err, errcap, "bar %zu: open time not increasing", i);
        if (i > 0 && interval_ms > 0 && (t - prev) % interval_ms != 0)
            return bars_fail(err, errcap, "bar %zu: open time %lld not on the interval grid", i,
                             (long long)t);
        prev = t;
    }
    return 0;
}

size_t bars_gaps(const json_t *window, int64_t interval_ms)
{
    size_t n = json_array_size(window), gaps = 0;
    if (interval_ms <= 0) return 0;
    for (size_t i = 1; i < n; i++) {
        int64_t prev = 0, t = 0;
        if (bars_int_at(json_array_get(window, i - 1), 0, &prev) < 0 ||
            bars_int_at(json_array_get(window, i), 0, &t) < 0 || t <= prev)
            continue;
        gaps += (size_t)((t - prev) / interval_ms - 1);
    }
    return gaps;
}

int64_t bars_last_open(const json_t *window)
{
    int64_t t = 0;
    size_t n = json_array_size(window);
    if (n == 0 || bars_int_at(json_array_get(window, n - 1), 0, &t) < 0) return 0;
    return t;
}

/* A [price, qty] level: price parsed into *p, its text in *s. */
static int bars_level(const json_t *side, struct dec *p, const char **s)
{
    const json_t *lvl = json_array_get(side, 0);
    struct dec q;
    if (!json_is_array(lvl) || json_array_size(lvl) < 2) return -1;
    const json_t *pv = json_array_get(lvl, 0), *qv = json_array_get(lvl, 1);
    if (!json_is_string(pv) || !json_is_string(qv)) return -1;
    if (dec_parse(json_string_value(pv), json_string_length(pv), p) != DEC_OK ||
        dec_parse(json_string_value(qv), json_string_length(qv), &q) != DEC_OK)
        return -1;
    if (dec_sign(*p) <= 0 || dec_sign(q) < 0) return -1;
    *s = json_string_value(pv);
    return 0;
}

static int bars_book_check(struct bars_book *b, char *err, size_t cap)
{
    if (b->t <= 0) return bars_fail(err, cap, "book: no exchange time");
    if (dec_cmp(b->bid, b->ask) > 0) return bars_fail(err, cap, "book: bid above ask");
    return 0;
}

int bars_book_from_depth(const json_t *depth, struct bars_book *out, char *err, size_t errcap)
{
    const json_t *e = json_object_get(depth, "E"), *t = json_object_get(depth, "T");
    memset(out, 0, sizeof(*out));
    if (!json_is_object(depth)) return bars_fail(err, errcap, "depth: not an object");
    if (json_is_integer(t)) out->t = json_integer_value(t);
    else if (json_is_integer(e)) out->t = json_integer_value(e);
    if (bars_level(json_object_get(depth, "bids"), &out->bid, &out->bid_s) < 0 ||
        bars_level(json_object_get(depth, "asks"), &out->ask, &out->ask_s) < 0)
        return bars_fail(err, errcap, "depth: missing or malformed best bid or ask");
    return bars_book_check(out, err, errcap);
}

static int bars_ticker_price(const json_t *tk, const char *key, struct dec *p, const char **s)
{
    const json_t *v = json_object_get(tk, key);
    if (!json_is_string(v)) return -1;
    if (dec_parse(json_string_value(v), json_string_length(v), p) != DEC_OK) return -1;
    if (dec_sign(*p) <= 0) return -1;
    *s = json_string_value(v);
    return 0;
}

int bars_book_from_ticker(const json_t *ticker, struct bars_book *out, char *err, size_t errcap)
{
    const json_t *t = json_object_get(ticker, "time");
    memset(out, 0, sizeof(*out));
    if (!json_is_object(ticker)) return bars_fail(err, errcap, "bookTicker: not an object");
    if (json_is_integer(t)) out->t = json_integer_value(t);
    if (bars_ticker_price(ticker, "bidPrice", &out->bid, &out->bid_s) < 0 ||
        bars_ticker_price(ticker, "askPrice", &out->ask, &out->ask_s) < 0)
        return bars_fail(err, errcap, "bookTicker: missing or malformed bidPrice or askPrice");
    return bars_book_check(out, err, errcap);
}

json_t *bars_correct(const json_t *window, const struct bars_book *book)
{
    size_t n = json_array_size(window);
    json_t *out = json_copy((json_t *)window);
    if (!out || n == 0) return out;
    json_t *last = json_deep_copy(json_array_get(window, n - 1));
    struct dec open, high, low, close;
    if (!last || bars_dec_at(last, 1, &open) < 0 || bars_dec_at(last, 2, &high) < 0 ||
        bars_dec_at(last, 3, &low) < 0 || bars_dec_at(last, 4, &close) < 0) {
        json_decref(last);
        json_decref(out);
        return NULL;
    }
    if (dec_cmp(book->ask, high) > 0) json_array_set_new(last, 2, json_string(book->ask_s));
    if (dec_cmp(book->bid, low) < 0) json_array_set_new(last, 3, json_string(book->bid_s));
    const char *c = dec_cmp(close, open) >= 0 ? book->ask_s : book->bid_s;
    json_array_set_new(last, 4, json_string(c));
    json_array_set_new(out, n - 1, last);
    return out;
}

json_t *bars_tail(const json_t *window, size_t n)
{
    json_t *out = json_array();
    size_t len = json_array_size(window);
    if (!out) return NULL;
    for (size_t i = len > n ? len - n : 0; i < len; i++)
        json_array_append(out, json_array_get(window, i));
    return out;
}
