/* ladder: stop ladders, re-arm and hard-stop rules (see ladder.h). */
#include "risk/ladder.h"

#include <stdio.h>
#include <string.h>

static int ladder_fail(char *err, size_t cap, const char *why)
{
    snprintf(err, cap, "%s", why);
    return -1;
}

/* The lot step, minQty and maxQty of a STOP_MARKET order (MARKET_LOT_SIZE, else LOT_SIZE). */
static void ladder_lot(const struct dec_filters *f, struct dec *step, struct dec *min,
                       struct dec *max)
{
    *step = dec_sign(f->market_step) > 0 ? f->market_step : f->step;
    *min = dec_sign(f->market_min_qty) > 0 ? f->market_min_qty : f->min_qty;
    *max = dec_sign(f->market_max_qty) > 0 ? f->market_max_qty : f->max_qty;
}

/* A whole number of steps of q (q >= 0), or -1 on overflow. */
static int64_t ladder_steps(struct dec q, struct dec step)
{
    struct dec n;
    if (dec_div(q, step, 0, DEC_ROUND_DOWN, &n) != DEC_OK) return -1;
    return n.units;
}

/* entry moved pct percent against the position, snapped to the tick toward the entry. */
static int ladder_trigger(struct dec entry, struct dec pct, int sell, const struct dec_filters *f,
                          struct dec *out)
{
    struct dec hundred = dec_from_int(100), factor, prod, raw;
    if ((sell ? dec_sub(hundred, pct, &factor) : dec_add(hundred, pct, &factor)) != DEC_OK)
        return -1;
    if (dec_mul(entry, factor, &prod) != DEC_OK) return -1;
    prod = dec_normalize(prod);
    int scale = prod.scale + 2 > DEC_MAX_SCALE ? DEC_MAX_SCALE : prod.scale + 2;
    if (dec_div(prod, hundred, scale, DEC_ROUND_DOWN, &raw) != DEC_OK) return -1;
    if (dec_sign(f->tick) <= 0) {
        *out = dec_normalize(raw);
    } else if (dec_snap_to_tick(raw, f->tick, f->min_price, sell ? DEC_ROUND_UP : DEC_ROUND_DOWN,
                                out) != DEC_OK) {
        return -1;
    }
    return dec_sign(*out) > 0 ? 0 : -1;
}

/* Appends the level's quantity (steps of step) as rungs of at most max_steps each. */
static int ladder_put(struct ladder *l, int level, struct dec trigger, int64_t steps,
                      int64_t max_steps, struct dec step)
{
    while (steps > 0) {
        int64_t part = max_steps > 0 && steps > max_steps ? max_steps : steps;
        struct ladder_rung *r;
        if (l->n == LADDER_RUNGS_MAX) return -1;
        r = &l->r[l->n++];
        r->level = level;
        r->trigger = trigger;
        if (dec_mul(dec_from_int(part), step, &r->qty) != DEC_OK) return -1;
        r->qty = dec_normalize(r->qty);
        if (dec_add(l->total, r->qty, &l->total) != DEC_OK) return -1;
        steps -= part;
    }
    return 0;
}

static int ladder_check_params(const struct ladder_params *p)
{
    if (p->levels < 1 || p->levels > LADDER_LEVELS_MAX) return -1;
    if (dec_sign(p->base_pct) <= 0 || dec_cmp(p->base_pct, dec_from_int(100)) >= 0) return -1;
    return dec_sign(p->step_pct) < 0 ? -1 : 0;
}

/* Nonzero when the mark has reached trigger on the closing side (sell: at or below it). */
static int ladder_passed(struct dec mark, struct dec trigger, int sell)
{
    return sell ? dec_cmp(mark, trigger) <= 0 : dec_cmp(mark, trigger) >= 0;
}

/* The trigger of level i: base + i*step percent from the entry, against the position. */
static int ladder_level(const struct ladder_params *p, const struct dec_filters *f,
                        struct dec entry, int sell, int64_t i, struct dec *trig)
{
    struct dec pct, off;
    if (dec_mul(p->step_pct, dec_from_int(i), &off) != DEC_OK ||
        dec_add(p->base_pct, off, &pct) != DEC_OK || dec_cmp(pct, dec_from_int(100)) >= 0)
        return -1;
    return ladder_trigger(entry, pct, sell, f, trig);
}

/* The ladder over levels first..K-1 (see ladder.h). */
static int ladder_make(const struct ladder_params *p, const struct dec_filters *f, struct dec amt,
                       struct dec entry, const struct dec *mark, struct ladder *out, char *err,
                       size_t cap)
{
    struct dec step, min, max, trig;
    memset(out, 0, sizeof(*out));
    if (ladder_check_params(p) < 0) return ladder_fail(err, cap, "bad ladder parameters");
    if (dec_is_zero(amt)) return ladder_fail(err, cap, "flat position");
    if (dec_sign(entry) <= 0) return ladder_fail(err, cap, "no entry price");
    ladder_lot(f, &step, &min, &max);
    if (dec_sign(step) <= 0) return ladder_fail(err, cap, "no lot step");
    out->sell = dec_sign(amt) > 0;
    int64_t total = ladder_steps(dec_abs(amt), step);
    int64_t unit = dec_cmp(min, step) > 0 ? ladder_steps(min, step) : 1;
    int64_t max_steps = dec_sign(max) > 0 ? ladder_steps(max, step) : 0;
    if (total <= 0) return ladder_fail(err, cap, "position below one lot step");
    if (unit < 1 || max_steps < 0) return ladder_fail(err, cap, "filters overflow");
    int64_t first = 0;
    for (; mark && first < p->levels; first++) {
        if (ladder_level(p, f, entry, out->sell, first, &trig) < 0)
            return ladder_fail(err, cap, "trigger price out of range");
        if (!ladder_passed(*mark, trig, out->sell)) break;
    }
    if (first == p->levels) {
        snprintf(err, cap, "the mark is past every level");
        return 1;
    }
    int64_t levels = total / unit;
    if (levels > p->levels - first) levels = p->levels - first;
    if (levels < 1) levels = 1;
    for (int64_t i = 0; i < levels; i++) {
        int64_t steps = total / levels + (i == 0 ? total % levels : 0);
        if (ladder_level(p, f, entry, out->sell, first + i, &trig) < 0)
            return ladder_fail(err, cap, "trigger price out of range");
        if (ladder_put(out, (int)(first + i), trig, steps, max_steps, step) < 0)
            return ladder_fail(err, cap, "too many orders for one ladder");
    }
    return 0;
}

int ladder_build(const struct ladder_params *p, const struct dec_filters *f, struct dec amt,
                 struct dec entry, struct ladder *out, char *err, size_t cap)
{
    return ladder_make(p, f, amt, entry, NULL, out, err, cap);
}

int ladder_build_remaining(const struct ladder_params *p, const struct dec_filters *f,
                           struct dec amt, struct dec entry, struct dec mark, struct ladder *out,
                           char *err, size_t cap)
{
    if (dec_sign(mark) <= 0) return ladder_fail(err, cap, "no mark price");
    return ladder_make(p, f, amt, entry, &mark, out, err, cap);
}

int ladder_needs_rearm(struct dec covered, struct dec amt, struct dec tol_pct)
{
    struct dec a = dec_abs(amt), diff, lhs, rhs;
    if (dec_is_zero(a)) return dec_sign(covered) != 0;
    if (dec_sub(covered, a, &diff) != DEC_OK) return 1;
    if (dec_mul(dec_abs(diff), dec_from_int(100), &lhs) != DEC_OK) return 1;
    if (dec_mul(a, tol_pct, &rhs) != DEC_OK) return 1;
    return dec_cmp(lhs, rhs) > 0;
}

int ladder_hard_stop(struct dec amt, struct dec entry, struct dec mark, struct dec limit_pct)
{
    struct dec move, lhs, rhs;
    if (dec_is_zero(amt) || dec_sign(entry) <= 0 || dec_sign(mark) <= 0) return 0;
    if ((dec_sign(amt) > 0 ? dec_sub(entry, mark, &move) : dec_sub(mark, entry, &move)) != DEC_OK)
        return 0;
    if (dec_mul(move, dec_from_int(100), &lhs) != DEC_OK) return 0;
    if (dec_mul(entry, limit_pct, &rhs) != DEC_OK) return 0;
    return dec_cmp(lhs, rhs) > 0;
}
