/* book: the local market and account copy of a trader (see book.h). Pure: every input is
 * handed in by the caller, so the unit test drives it without Redis. */
#include "trader/book.h"

#include "core/interval.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOOK_SLOTS_MIN 64

int book_init(struct book *b, const char *interval, int64_t max_age_ms)
{
    memset(b, 0, sizeof(*b));
    if (interval_ms(interval, &b->interval_ms) < 0) b->interval_ms = -1; /* 1M: 0, refused */
    b->max_age_ms = max_age_ms;
    if (b->interval_ms <= 0) return -1;
    b->nslots = BOOK_SLOTS_MIN;
    b->slots = malloc(sizeof(int) * (size_t)b->nslots);
    if (!b->slots) return -1;
    for (int i = 0; i < b->nslots; i++)
        b->slots[i] = -1;
    return 0;
}

void book_free(struct book *b)
{
    free(b->syms);
    free(b->slots);
    memset(b, 0, sizeof(*b));
}

/* ---- the name index ------------------------------------------------------------------- */

static uint64_t book_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int book_slot_of(const struct book *b, const char *name)
{
    unsigned mask = (unsigned)b->nslots - 1;
    unsigned i = (unsigned)book_hash(name) & mask;
    while (b->slots[i] >= 0 && strcmp(b->syms[b->slots[i]].name, name))
        i = (i + 1) & mask;
    return (int)i;
}

static int book_rehash(struct book *b, int nslots)
{
    int *slots = malloc(sizeof(int) * (size_t)nslots);
    if (!slots) return -1;
    for (int i = 0; i < nslots; i++)
        slots[i] = -1;
    free(b->slots);
    b->slots = slots;
    b->nslots = nslots;
    for (int k = 0; k < b->n; k++)
        b->slots[book_slot_of(b, b->syms[k].name)] = k;
    return 0;
}

struct book_sym *book_find(const struct book *b, const char *name)
{
    if (!b->slots) return NULL;
    int k = b->slots[book_slot_of(b, name)];
    return k >= 0 ? &b->syms[k] : NULL;
}

static int book_grow(struct book *b)
{
    if (b->n < b->cap) return 0;
    int cap = b->cap ? b->cap * 2 : 64;
    struct book_sym *v = realloc(b->syms, sizeof(*v) * (size_t)cap);
    if (!v) return -1;
    b->syms = v;
    b->cap = cap;
    return 0;
}

struct book_sym *book_get(struct book *b, const char *name)
{
    struct book_sym *s = book_find(b, name);
    size_t len = strlen(name);
    if (s) return s;
    if (!len || len >= BOOK_SYM_MAX || b->n >= BOOK_SYMS_MAX || book_grow(b) < 0) return NULL;
    if ((b->n + 1) * 2 > b->nslots && book_rehash(b, b->nslots * 2) < 0) return NULL;
    s = &b->syms[b->n];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, name, len + 1);
    s->index = b->n;
    b->slots[book_slot_of(b, name)] = b->n;
    b->n++;
    return s;
}

/* ---- bars ------------------------------------------------------------------------------- */

static int book_dec_at(const json_t *a, size_t i, struct dec *out)
{
    const char *s = json_string_value(json_array_get(a, i));
    return s && dec_parse(s, (size_t)-1, out) == DEC_OK ? 0 : -1;
}

/* One bar of Binance's layout; -1 when malformed (high below low, open or close outside). */
static int book_bar_parse(const json_t *a, struct book_bar *out)
{
    const json_t *t = json_array_get(a, 0);
    if (!json_is_array(a) || json_array_size(a) < 5 || !json_is_integer(t)) return -1;
    out->open_time = json_integer_value(t);
    if (out->open_time <= 0 || book_dec_at(a, 1, &out->open) < 0 ||
        book_dec_at(a, 2, &out->high) < 0 || book_dec_at(a, 3, &out->low) < 0 ||
        book_dec_at(a, 4, &out->close) < 0)
        return -1;
    if (dec_cmp(out->low, out->high) > 0 || dec_cmp(out->open, out->high) > 0 ||
        dec_cmp(out->open, out->low) < 0 || dec_cmp(out->close, out->high) > 0 ||
        dec_cmp(out->close, out->low) < 0)
        return -1;
    return 0;
}

static void book_push_bar(struct book_sym *s, const struct book_bar *bar)
{
    if (s->nbars == BOOK_BARS_MAX) {
        memmove(&s->bars[0], &s->bars[1], sizeof(s->bars[0]) * (BOOK_BARS_MAX - 1));
        s->nbars--;
    }
    s->bars[s->nbars++] = *bar;
}

enum book_result book_load_bars(struct book *b, struct book_sym *s, const json_t *window, int64_t t)
{
    size_t n = json_array_size(window), from = n > BOOK_BARS_MAX ? n - BOOK_BARS_MAX : 0;
    struct book_bar tmp[BOOK_BARS_MAX];
    int k = 0;
    if (!json_is_array(window) || n == 0) goto bad;
    for (size_t i = from; i < n; i++, k++) {
        if (book_bar_parse(json_array_get(window, i), &tmp[k]) < 0) goto bad;
        if (k > 0 && tmp[k].open_time <= tmp[k - 1].open_time) goto bad;
    }
    memcpy(s->bars, tmp, sizeof(tmp[0]) * (size_t)k);
    s->nbars = k;
    if (t > s->kline_t) s->kline_t = t;
    s->resync = 0;
    b->bars_applied++;
    return BOOK_APPLIED;
bad:
    b->refused++;
    return BOOK_INVALID;
}

/* Field by field: a struct dec has padding, which memcmp would read. */
static int book_bar_eq(const struct book_bar *a, const struct book_bar *b)
{
    return a->open_time == b->open_time && dec_cmp(a->open, b->open) == 0 &&
           dec_cmp(a->high, b->high) == 0 && dec_cmp(a->low, b->low) == 0 &&
           dec_cmp(a->close, b->close) == 0 && a->close.scale == b->close.scale;
}

/* Places one bar by its open time: replace, append, or refuse a gap. */
static enum book_result book_place_bar(struct book *b, struct book_sym *s,
                                       const struct book_bar *bar)
{
    for (int i = s->nbars - 1; i >= 0; i--) {
        if (s->bars[i].open_time == bar->open_time) {
            if (book_bar_eq(&s->bars[i], bar)) return BOOK_UNCHANGED;
            s->bars[i] = *bar;
            return BOOK_APPLIED;
        }
        if (s->bars[i].open_time < bar->open_time) break;
    }
    if (s->nbars && bar->open_time < s->bars[s->nbars - 1].open_time) return BOOK_UNCHANGED;
    if (s->nbars && bar->open_time != s->bars[s->nbars - 1].open_time + b->interval_ms) {
        s->resync = 1;
        b->gaps++;
        return BOOK_GAP;
    }
    if (!s->nbars) { /* nothing to continue: only a window may start the bars */
        s->resync = 1;
        return BOOK_GAP;
    }
    book_push_bar(s, bar);
    return BOOK_APPLIED;
}

enum book_result book_update_bars(struct book *b, struct book_sym *s, const json_t *bars, int64_t t)
{
    size_t n = json_array_size(bars);
    struct book_bar tmp[8];
    enum book_result res = BOOK_UNCHANGED;
    if (!json_is_array(bars) || n == 0 || n > 8) goto bad;
    for (size_t i = 0; i < n; i++)
        if (book_bar_parse(json_array_get(bars, i), &tmp[i]) < 0) goto bad;
    if (t > 0 && t < s->kline_t) return BOOK_UNCHANGED; /* older than what we hold */
    for (size_t i = 0; i < n; i++) {
        enum book_result r = book_place_bar(b, s, &tmp[i]);
        if (r == BOOK_GAP) return BOOK_GAP;
        if (r == BOOK_APPLIED) res = BOOK_APPLIED;
    }
    if (t > s->kline_t) s->kline_t = t;
    if (res == BOOK_APPLIED) b->bars_applied++;
    return res;
bad:
    b->refused++;
    return BOOK_INVALID;
}

static struct dec book_max(struct dec a, struct dec b2)
{
    return dec_cmp(a, b2) >= 0 ? a : b2;
}

static struct dec book_min(struct dec a, struct dec b2)
{
    return dec_cmp(a, b2) <= 0 ? a : b2;
}

/* Rising when bid + ask >= 2 * open (the mid at or above the open). */
static struct dec book_tick_close(struct dec open, struct dec bid, struct dec ask)
{
    struct dec sum, two_open;
    if (dec_add(bid, ask, &sum) != DEC_OK || dec_add(open, open, &two_open) != DEC_OK) return ask;
    return dec_cmp(sum, two_open) >= 0 ? ask : bid;
}

enum book_result book_apply_tick(struct book *b, struct book_sym *s, struct dec bid, struct dec ask,
                                 int64_t t_ms)
{
    if (dec_sign(bid) <= 0 || dec_cmp(bid, ask) > 0 || t_ms <= 0) {
        b->refused++;
        return BOOK_INVALID;
    }
    if (s->has_tick && t_ms <= s->tick_t) return BOOK_UNCHANGED;
    s->has_tick = 1;
    s->bid = bid;
    s->ask = ask;
    s->tick_t = t_ms;
    b->ticks_applied++;
    if (!s->nbars) return BOOK_APPLIED;
    struct book_bar *last = &s->bars[s->nbars - 1];
    int64_t open_time = t_ms - t_ms % b->interval_ms;
    if (open_time < last->open_time) return BOOK_APPLIED;
    if (open_time > last->open_time) {
        struct book_bar nb = {.open_time = open_time, .open = last->close};
        if (open_time != last->open_time + b->interval_ms) {
            s->resync = 1;
            b->gaps++;
        }
        nb.high = book_max(nb.open, ask);
        nb.low = book_min(nb.open, bid);
        nb.close = book_tick_close(nb.open, bid, ask);
        book_push_bar(s, &nb);
        return BOOK_APPLIED;
    }
    last->high = book_max(last->high, ask);
    last->low = book_min(last->low, bid);
    last->close = book_tick_close(last->open, bid, ask);
    return BOOK_APPLIED;
}

enum book_result book_apply_tick_json(struct book *b, const char *sym, const json_t *v,
                                      struct book_sym **sp)
{
    struct dec bid, ask;
    const char *bs, *as;
    int64_t t;
    if (json_is_array(v)) {
        bs = json_string_value(json_array_get(v, 0));
        as = json_string_value(json_array_get(v, 1));
        t = json_integer_value(json_array_get(v, 2));
    } else {
        bs = json_string_value(json_object_get(v, "b"));
        as = json_string_value(json_object_get(v, "a"));
        t = json_integer_value(json_object_get(v, "T"));
    }
    *sp = book_find(b, sym);
    if (!*sp) return BOOK_UNCHANGED;
    if (!bs || !as || dec_parse(bs, (size_t)-1, &bid) != DEC_OK ||
        dec_parse(as, (size_t)-1, &ask) != DEC_OK)
        return BOOK_INVALID;
    return book_apply_tick(b, *sp, bid, ask, t);
}

/* ---- filters ---------------------------------------------------------------------------- */

struct book_filter_field {
    const char *name;
    size_t off;
};

static const struct book_filter_field book_filter_fields[] = {
    {"tickSize", offsetof(struct dec_filters, tick)},
    {"minPrice", offsetof(struct dec_filters, min_price)},
    {"maxPrice", offsetof(struct dec_filters, max_price)},
    {"stepSize", offsetof(struct dec_filters, step)},
    {"minQty", offsetof(struct dec_filters, min_qty)},
    {"maxQty", offsetof(struct dec_filters, max_qty)},
    {"marketStepSize", offsetof(struct dec_filters, market_step)},
    {"marketMinQty", offsetof(struct dec_filters, market_min_qty)},
    {"marketMaxQty", offsetof(struct dec_filters, market_max_qty)},
    {"minNotional", offsetof(struct dec_filters, min_notional)},
};
#define BOOK_NFILTERS (sizeof(book_filter_fields) / sizeof(book_filter_fields[0]))

int book_parse_filters(const char *const *kv, size_t n, struct dec_filters *out, char *err,
                       size_t errcap)
{
    unsigned seen = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i + 1 < n; i += 2) {
        for (size_t k = 0; k < BOOK_NFILTERS; k++) {
            if (strcmp(kv[i], book_filter_fields[k].name)) continue;
            struct dec *d = (struct dec *)((char *)out + book_filter_fields[k].off);
            if (dec_parse(kv[i + 1], (size_t)-1, d) != DEC_OK || dec_sign(*d) < 0) {
                if (err) snprintf(err, errcap, "field '%s' is not a decimal", kv[i]);
                return -1;
            }
            seen |= 1u << k;
        }
    }
    /* tickSize, stepSize and minQty are what every order needs */
    if ((seen & 0x19u) != 0x19u) {
        if (err) snprintf(err, errcap, "tickSize, stepSize or minQty missing");
        return -1;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

int64_t book_data_t(const struct book_sym *s)
{
    return s->tick_t > s->kline_t ? s->tick_t : s->kline_t;
}

int book_is_stale(const struct book *b, const struct book_sym *s, int64_t now_ms)
{
    int64_t t = book_data_t(s);
    return t == 0 || now_ms - t > b->max_age_ms;
}

const struct book_bar *book_last_bar(const struct book_sym *s)
{
    return s->nbars ? &s->bars[s->nbars - 1] : NULL;
}

const struct book_bar *book_prev_bar(const struct book *b, const struct book_sym *s)
{
    if (s->nbars < 2) return NULL;
    const struct book_bar *p = &s->bars[s->nbars - 2];
    return p->open_time + b->interval_ms == s->bars[s->nbars - 1].open_time ? p : NULL;
}

int book_change_beyond(const struct book *b, const struct book_sym *s, struct dec pct, int cmp)
{
    const struct book_bar *last = book_last_bar(s), *prev = book_prev_bar(b, s);
    struct dec hundred = dec_from_int(100), lhs, rhs, factor;
    if (!last || !prev || dec_sign(prev->close) <= 0) return 0;
    /* last * 100 against prev * (100 + pct): exact, no division */
    if (dec_mul(last->close, hundred, &lhs) != DEC_OK || dec_add(hundred, pct, &factor) != DEC_OK ||
        dec_mul(prev->close, factor, &rhs) != DEC_OK)
        return 0;
    int c = dec_cmp(lhs, rhs);
    return cmp > 0 ? c > 0 : c < 0;
}

void book_set_bans(struct book *b, const char *const *syms, size_t n)
{
    b->ban_all = 0;
    for (int i = 0; i < b->n; i++)
        b->syms[i].banned = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(syms[i], "ALL")) {
            b->ban_all = 1;
            continue;
        }
        struct book_sym *s = book_get(b, syms[i]);
        if (s) s->banned = 1;
    }
}

int book_is_banned(const struct book *b, const struct book_sym *s)
{
    return b->ban_all || s->banned;
}
