/* brackets: the two bracket tables (see brackets.h), built once from (cap, leverage, mmr)
 * rows with exact decimals; cum is derived so the maintenance margin is continuous. */
#include "sim/brackets.h"

#include <string.h>

struct row {
    int64_t cap;       /* USDT */
    int lev;
    int64_t mmr_e4;    /* maintMarginRatio x 10^4 */
};

static const struct row major_rows[] = {
    {50000, 125, 40}, {600000, 100, 50}, {3000000, 75, 65}, {12000000, 50, 100},
    {70000000, 25, 200}, {100000000, 20, 250}, {230000000, 10, 500}, {480000000, 5, 1000},
    {600000000, 4, 1250}, {800000000, 3, 1500}, {1200000000, 2, 2500}, {1800000000, 1, 5000},
};

static const struct row alt_rows[] = {
    {5000, 50, 100}, {25000, 25, 200}, {100000, 20, 250}, {250000, 10, 500},
    {1000000, 5, 1000}, {1500000, 4, 1250}, {3000000, 3, 1500}, {5000000, 2, 2500},
    {10000000, 1, 5000},
};

#define MAX_ROWS 16

struct table {
    struct sim_bracket b[MAX_ROWS];
    int n;
};

static struct table majors, alts;
static int built;

static void build_table(struct table *t, const struct row *rows, int n)
{
    struct dec floor = dec_from_int(0), cum = dec_from_int(0), prev = {0, 4};
    t->n = n;
    for (int i = 0; i < n; i++) {
        struct sim_bracket *b = &t->b[i];
        struct dec mmr = {rows[i].mmr_e4, 4}, diff, add;
        b->bracket = i + 1;
        b->max_leverage = rows[i].lev;
        b->notional_floor = floor;
        b->notional_cap = dec_from_int(rows[i].cap);
        b->mmr = mmr;
        if (dec_sub(mmr, prev, &diff) == DEC_OK && dec_mul(floor, diff, &add) == DEC_OK &&
            dec_add(cum, add, &add) == DEC_OK)
            cum = add;
        b->cum = cum;
        floor = b->notional_cap;
        prev = mmr;
    }
}

static const struct table *table_of(const struct sim_symbol *s)
{
    if (!built) {
        build_table(&majors, major_rows, (int)(sizeof(major_rows) / sizeof(major_rows[0])));
        build_table(&alts, alt_rows, (int)(sizeof(alt_rows) / sizeof(alt_rows[0])));
        built = 1;
    }
    return !strcmp(s->base, "BTC") || !strcmp(s->base, "ETH") ? &majors : &alts;
}

const struct sim_bracket *sim_brackets(const struct sim_symbol *s, int *n)
{
    const struct table *t = table_of(s);
    *n = t->n;
    return t->b;
}

const struct sim_bracket *sim_bracket_for(const struct sim_symbol *s, struct dec notional)
{
    const struct table *t = table_of(s);
    struct dec a = dec_abs(notional);
    for (int i = 0; i < t->n; i++)
        if (dec_cmp(a, t->b[i].notional_cap) < 0) return &t->b[i];
    return &t->b[t->n - 1];
}

struct dec sim_bracket_maint(const struct sim_symbol *s, struct dec notional, int scale)
{
    const struct sim_bracket *b = sim_bracket_for(s, notional);
    struct dec m, r;
    if (dec_mul(dec_abs(notional), b->mmr, &m) != DEC_OK || dec_sub(m, b->cum, &m) != DEC_OK)
        return dec_from_int(0);
    if (dec_div(m, dec_from_int(1), scale, DEC_ROUND_NEAREST, &r) != DEC_OK) return m;
    return r;
}
