/* sizing: notional and quantity to filter-proof order parts (see sizing.h). */
#include "trader/sizing.h"

#include <string.h>

static const char *const size_names[SIZE_RESULT_COUNT] = {
    "ok", "bad_price", "below_min_qty", "below_min_notional", "too_many_parts", "overflow",
};

const char *size_result_name(enum size_result r)
{
    return (r >= 0 && r < SIZE_RESULT_COUNT) ? size_names[r] : "?";
}

struct size_lot {
    struct dec step, min, max;
};

/* The lot filter of the order type; MARKET falls back to LOT_SIZE fields that are zero. */
static struct size_lot size_lot_of(const struct dec_filters *f, int market)
{
    struct size_lot l = {f->step, f->min_qty, f->max_qty};
    if (market) {
        if (dec_sign(f->market_step) > 0) l.step = f->market_step;
        if (dec_sign(f->market_min_qty) > 0) l.min = f->market_min_qty;
        if (dec_sign(f->market_max_qty) > 0) l.max = f->market_max_qty;
    }
    return l;
}

/* Nonzero when q is a valid part on its own: at least minQty and the minimum notional. */
static int size_part_ok(const struct dec_filters *f, const struct size_lot *l, struct dec q,
                        struct dec price, int reduce_only)
{
    struct dec v;
    if (dec_sign(q) <= 0 || (dec_sign(l->min) > 0 && dec_cmp(q, l->min) < 0)) return 0;
    if (reduce_only || dec_sign(f->min_notional) <= 0) return 1;
    return dec_mul(q, price, &v) == DEC_OK && dec_cmp(v, f->min_notional) >= 0;
}

enum size_result size_qty(const struct dec_filters *f, struct dec qty, struct dec price, int market,
                          int reduce_only, struct size_plan *out)
{
    struct size_lot l = size_lot_of(f, market);
    struct dec q = dec_abs(qty), rest;
    memset(out, 0, sizeof(*out));
    if (dec_sign(price) <= 0) return SIZE_BAD_PRICE;
    if (dec_sign(l.step) > 0 && dec_floor_to_step(q, l.step, &q) != DEC_OK) return SIZE_OVERFLOW;
    if (dec_sign(q) <= 0 || (dec_sign(l.min) > 0 && dec_cmp(q, l.min) < 0))
        return SIZE_BELOW_MIN_QTY;
    if (!size_part_ok(f, &l, q, price, reduce_only)) return SIZE_BELOW_MIN_NOTIONAL;
    rest = q;
    while (dec_sign(rest) > 0) {
        struct dec part = rest;
        if (dec_sign(l.max) > 0 && dec_cmp(part, l.max) > 0) part = l.max;
        if (!size_part_ok(f, &l, part, price, reduce_only)) break; /* a tail too small */
        if (out->parts == SIZE_PARTS_MAX) return SIZE_TOO_MANY_PARTS;
        out->qty[out->parts++] = part;
        if (dec_sub(rest, part, &rest) != DEC_OK ||
            dec_add(out->total, part, &out->total) != DEC_OK)
            return SIZE_OVERFLOW;
    }
    out->dropped = rest;
    return SIZE_OK;
}

enum size_result size_notional(const struct dec_filters *f, struct dec notional, struct dec price,
                               int market, int reduce_only, struct size_plan *out)
{
    struct size_lot l = size_lot_of(f, market);
    struct dec q;
    memset(out, 0, sizeof(*out));
    if (dec_sign(price) <= 0) return SIZE_BAD_PRICE;
    int scale = dec_sign(l.step) > 0 ? dec_normalize(l.step).scale : 8;
    if (dec_div(notional, price, scale, DEC_ROUND_DOWN, &q) != DEC_OK) return SIZE_OVERFLOW;
    return size_qty(f, q, price, market, reduce_only, out);
}
