/* breaker: confirmation rule, live uPnL and drawdown (see breaker.h). */
#include "risk/breaker.h"

int breaker_update(struct breaker *b, int holds, int64_t now_ms)
{
    if (!holds) {
        b->since = 0;
        b->tripped = 0;
        return 0;
    }
    if (!b->since) b->since = now_ms;
    if (b->tripped || now_ms - b->since < b->confirm_ms) return 0;
    b->tripped = 1;
    return 1;
}

int breaker_add_upnl(struct dec *upnl, struct dec amt, struct dec entry, struct dec bid,
                     struct dec ask)
{
    struct dec sum, mid, diff, v;
    if (dec_add(bid, ask, &sum) != DEC_OK ||
        dec_div(sum, dec_from_int(2), sum.scale + 1, DEC_ROUND_DOWN, &mid) != DEC_OK ||
        dec_sub(mid, entry, &diff) != DEC_OK || dec_mul(amt, dec_normalize(diff), &v) != DEC_OK ||
        dec_add(*upnl, dec_normalize(v), upnl) != DEC_OK)
        return -1;
    *upnl = dec_normalize(*upnl);
    return 0;
}

int breaker_drawdown(struct dec equity, struct dec peak, struct dec pct)
{
    struct dec drop, lhs, rhs;
    if (dec_sign(peak) <= 0 || dec_sub(peak, equity, &drop) != DEC_OK) return 0;
    if (dec_mul(drop, dec_from_int(100), &lhs) != DEC_OK) return 0;
    if (dec_mul(peak, pct, &rhs) != DEC_OK) return 0;
    return dec_cmp(lhs, rhs) >= 0;
}
