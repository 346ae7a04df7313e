/* convert: the maker->taker conversion plan (see convert.h). */
#include "risk/convert.h"

#include <string.h>

static const struct dec hundred = {100, 0};

/* price * (100 + sign*slip) / 100, snapped to the tick toward the book (inside the bound). */
static int convert_bound(const struct dec_filters *f, struct dec price, struct dec slip, int buy,
                         struct dec *out)
{
    struct dec factor, scaled, bound;
    if ((buy ? dec_add(hundred, slip, &factor) : dec_sub(hundred, slip, &factor)) != DEC_OK ||
        dec_sign(factor) <= 0 || dec_mul(price, factor, &scaled) != DEC_OK ||
        dec_div(scaled, hundred, scaled.scale + 2, DEC_ROUND_DOWN, &bound) != DEC_OK)
        return -1;
    bound = dec_normalize(bound);
    if (dec_is_zero(f->tick)) {
        *out = bound;
        return 0;
    }
    return dec_snap_to_tick(bound, f->tick, f->min_price, buy ? DEC_ROUND_DOWN : DEC_ROUND_UP,
                            out) == DEC_OK
               ? 0
               : -1;
}

enum convert_result convert_plan(const struct dec_filters *f, enum intent_side side,
                                 struct dec orig, struct dec executed, struct dec bid,
                                 struct dec ask, const struct convert_params *p,
                                 struct convert_out *out)
{
    struct dec left, share, want;
    int buy = side == INTENT_BUY;
    memset(out, 0, sizeof *out);
    if (dec_sub(orig, executed, &left) != DEC_OK) return CONVERT_BAD;
    if (dec_sign(left) <= 0) return CONVERT_NOTHING_LEFT;
    struct dec ref = buy ? ask : bid;
    if (dec_sign(ref) <= 0) return CONVERT_NO_BOOK;
    if (convert_bound(f, ref, p->slip_pct, buy, &out->price) < 0 || dec_sign(out->price) <= 0)
        return CONVERT_BAD;
    if (dec_mul(left, p->pct, &share) != DEC_OK ||
        dec_div(share, hundred, share.scale + 2, DEC_ROUND_DOWN, &want) != DEC_OK)
        return CONVERT_BAD;
    out->size = size_qty(f, dec_normalize(want), out->price, p->market, 0, &out->plan);
    if (out->size == SIZE_BELOW_MIN_QTY || out->size == SIZE_BELOW_MIN_NOTIONAL)
        return CONVERT_TOO_SMALL;
    return out->size == SIZE_OK ? CONVERT_OK : CONVERT_BAD;
}

const char *convert_result_name(enum convert_result r)
{
    switch (r) {
    case CONVERT_OK:
        return "ok";
    case CONVERT_NOTHING_LEFT:
        return "nothing_left";
    case CONVERT_NO_BOOK:
        return "no_book";
    case CONVERT_TOO_SMALL:
        return "too_small";
    case CONVERT_BAD:
        break;
    }
    return "bad";
}
