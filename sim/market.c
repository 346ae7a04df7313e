/* market: the simulated universe and its deterministic price paths (see market.h).
 *
 * The log-price of symbol i at step s (100 ms) is
 *     ln p0_i + beta_i * M(s) + E_i(s) + the moves made by admin
 * where M is the market factor and E_i the symbol's own walk, both sim_walk (walk.c): random
 * walks with clustered volatility (a hashed multiplicative variance cascade), fat tails and
 * jumps, that are pure functions of (seed, symbol, step) and cheap at any past or present
 * step. Per-symbol daily volatility comes from a realistic range (majors calmer than small
 * caps) times --volatility; beta_i is set so that the symbol's correlation with the market
 * is rho_i, drawn around --correlation. The doubles are only the generator of the path:
 * every price handed out is an integer count of ticks turned into a struct dec.
 *
 * The book changes every SIM_BOOK_STEP_MS: best bid = floor(path / tick), best ask one or two
 * ticks above, sizes per level and the trade flow from book.c. Last price = the path rounded
 * to the tick; index = the path without the premium; mark = the index averaged over the last
 * MARK_WINDOW_MS plus the premium (which follows the funding rate), so the mark lags a sudden
 * move by a few seconds. Bars sample the path at most SIM_BAR_SAMPLES times, aligned to the
 * bar, so a closed bar never changes and a 1500-bar request stays cheap. */
#include "sim/market.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/book.h"
#include "sim/walk.h"

#define SIM_BOOK_STEP_MS 100
#define SIM_BAR_SAMPLES 60
#define MARKET_DAILY_VOL 0.03
#define CASCADE 1.0
#define REGIME_CASCADE 0.25
#define JUMPS_PER_DAY 3.0
#define VOL_CALIBRATION 0.9
#define JUMP_SIZE 0.25 /* of the daily volatility */
#define REGIME_LEVEL 14 /* nodes of 2^14 steps (27 min) and more: market-wide volatility */
#define MARK_WINDOW_MS 5000
#define MARK_SAMPLES 5
#define BOOK_SCAN_MAX SIM_DEPTH_MAX /* levels a taker may walk */

struct shift {
    int64_t from_ms;
    double delta; /* added to the log-price from from_ms on */
};

struct sym_path {
    uint64_t key;      /* hash of (seed, symbol) */
    double ln_p0;
    double tick;       /* tick as a double, for the generator only */
    double vol_scale;  /* steps traded per second on average */
    double daily_vol, rho, beta;
    struct sim_walk *walk; /* the symbol's own part */
    struct shift *shifts;  /* sorted by from_ms; cum[i] = sum of deltas 0..i */
    double *cum;
    int nshifts, cap;
    struct sim_booksym book;
};

/* Closed bars never change (a price move only shifts the path from now on), so they are kept
 * in a direct-mapped cache; a price move or a clock change empties it. */
#define BAR_CACHE_SIZE 32768

struct bar_slot {
    int index;   /* -1: empty */
    int64_t interval_ms;
    struct sim_bar bar;
};

struct sim_market {
    struct bar_slot *cache; /* BAR_CACHE_SIZE */
    struct sim_symbol *sym;
    struct sym_path *path;
    int n;
    uint64_t seed;
    int64_t funding_interval_ms;
    double volatility, correlation;
    uint64_t regime_key;     /* shared slow volatility of every walk */
    struct sim_walk *factor; /* the market factor M */
    uint64_t book_version;
};

static uint64_t hash_str(uint64_t seed, const char *s)
{
    uint64_t h = sim_mix64(seed);
    for (; *s; s++) h = sim_mix64(h ^ (unsigned char)*s);
    return h;
}

static double shift_sum(const struct sym_path *p, int64_t t)
{
    int lo = 0, hi = p->nshifts; /* first shift with from_ms > t */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (p->shifts[mid].from_ms <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo ? p->cum[lo - 1] : 0.0;
}

static double log_price_at(struct sim_market *m, int i, int64_t t)
{
    struct sym_path *p = &m->path[i];
    int64_t s = t / SIM_BOOK_STEP_MS;
    double lp = p->ln_p0 + sim_walk_at(p->walk, s) + shift_sum(p, t);
    if (p->beta != 0) lp += p->beta * sim_walk_at(m->factor, s);
    return lp;
}

/* The path at t in ticks (as a double; callers floor or round). */
static double path_ticks_at(struct sim_market *m, int i, int64_t t)
{
    double v = exp(log_price_at(m, i, t)) / m->path[i].tick;
    return v < 2.0 ? 2.0 : v > 9e15 ? 9e15 : v;
}

static int64_t book_time(int64_t t)
{
    return t - ((t % SIM_BOOK_STEP_MS) + SIM_BOOK_STEP_MS) % SIM_BOOK_STEP_MS;
}

static struct dec ticks_dec(const struct sim_symbol *s, int64_t ticks)
{
    struct dec d = {ticks * s->filters.tick.units, s->filters.tick.scale};
    return d;
}

static struct dec steps_dec(const struct sim_symbol *s, int64_t steps)
{
    struct dec d = {steps * s->filters.step.units, s->filters.step.scale};
    return d;
}

/* ---- universe ---------------------------------------------------------------------- */

struct sym_spec {
    const char *base;
    double p0;
    int64_t tick_units;
    int tick_scale;
    int64_t step_units;
    int step_scale;
    double vol;  /* daily volatility before --volatility */
    double top;  /* USDT resting at the best level, on average */
};

/* The first tradable symbols: majors and the tick/step edge cases. */
static const struct sym_spec fixed_specs[] = {
    {"BTC", 60000, 10, 2, 1, 3, 0.022, 400000},     /* tick 0.10 */
    {"ETH", 3000, 1, 2, 1, 3, 0.03, 200000},
    {"XRP", 0.6, 25, 5, 1, 0, 0.04, 40000},       /* tick 0.00025, step 1 */
    {"ADA", 3.0, 5, 3, 10, 0, 0.045, 30000},      /* tick 0.005, step 10 */
    {"BNB", 600, 5, 1, 1, 2, 0.03, 50000},        /* tick 0.5 */
    {"YFI", 8000, 10, 0, 1, 3, 0.05, 8000},       /* tick 10 */
    {"1000SHIB", 0.02, 1, 6, 100, 0, 0.05, 20000}, /* step 100 */
};

static const char *const major_bases[] = {
    "SOL", "DOGE", "AVAX", "LINK", "DOT", "TRX", "LTC", "BCH", "NEAR", "UNI", "ATOM", "ETC",
    "XLM", "FIL", "APT", "ARB", "OP", "INJ", "SUI", "SEI", "TIA", "AAVE", "MKR", "SNX", "CRV",
    "COMP", "SUSHI", "ALGO", "SAND", "MANA", "AXS", "GALA", "CHZ", "ENJ", "KAVA", "ZEC", "DASH",
    "XMR", "EOS", "IOTA", "NEO", "QTUM", "ONT", "ZIL", "VET", "ICX", "BAT", "ZRX", "OMG", "KNC",
};

static struct dec dec_of(int64_t units, int scale)
{
    struct dec d = {units, scale};
    return d;
}

/* A 1-2-5 tick near p * 1e-4, as units and scale. */
static void nice_tick(double p, int64_t *units, int *scale)
{
    double want = p * 1e-4;
    int e = (int)floor(log10(want));
    double m = want / pow(10, e);
    int digit = m < 1.5 ? 1 : m < 3.5 ? 2 : 5;
    if (e < -8) e = -8;
    if (e >= 0) {
        int64_t u = digit;
        for (int i = 0; i < e; i++) u *= 10;
        *units = u;
        *scale = 0;
    } else {
        *units = digit;
        *scale = -e;
    }
}

/* A power-of-ten step so that one step is worth about 0.5 .. 5 quote units. */
static void nice_step(double p, int64_t *units, int *scale)
{
    int e = (int)ceil(log10(0.5 / p));
    if (e > 3) e = 3;
    if (e < -3) e = -3;
    if (e >= 0) {
        int64_t u = 1;
        for (int i = 0; i < e; i++) u *= 10;
        *units = u;
        *scale = 0;
    } else {
        *units = 1;
        *scale = -e;
    }
}

static int64_t pow10i(int e)
{
    int64_t v = 1;
    for (int i = 0; i < e; i++) v *= 10;
    return v;
}

static void set_filters(struct sim_symbol *s, const struct sym_spec *sp, const char *notional)
{
    struct dec_filters *f = &s->filters;
    f->tick = dec_of(sp->tick_units, sp->tick_scale);
    f->min_price = f->tick;
    double maxp = sp->p0 * 100;
    int64_t maxp_i = maxp < 1 ? 1 : (int64_t)maxp;
    /* keep the max on the tick grid */
    if (sp->tick_scale == 0) maxp_i = (maxp_i / sp->tick_units + 1) * sp->tick_units;
    f->max_price = dec_of(maxp_i, 0);
    f->step = dec_of(sp->step_units, sp->step_scale);
    f->min_qty = f->step;
    double max_steps = 1e6 / (sp->p0 * ((double)sp->step_units / (double)pow10i(sp->step_scale)));
    int64_t ms = max_steps < 1000 ? 1000 : max_steps > 1e9 ? 1000000000 : (int64_t)max_steps;
    f->max_qty = dec_of(ms * sp->step_units, sp->step_scale);
    f->market_step = f->step;
    f->market_min_qty = f->step;
    f->market_max_qty = dec_of(ms / 10 * sp->step_units, sp->step_scale);
    if (dec_parse(notional, (size_t)-1, &f->min_notional) != DEC_OK) f->min_notional = dec_of(5, 0);
    s->price_precision = sp->tick_scale;
    s->qty_precision = sp->step_scale;
    s->max_orders = 200;
    s->mult_up = dec_of(11500, 4);
    s->mult_down = dec_of(8500, 4);
}

static void name_symbol(struct sim_symbol *s, const char *base, const char *quote, const char *suffix)
{
    snprintf(s->base, sizeof(s->base), "%s", base);
    snprintf(s->quote, sizeof(s->quote), "%s", quote);
    snprintf(s->margin_asset, sizeof(s->margin_asset), "%s", quote);
    snprintf(s->pair, sizeof(s->pair), "%s%s", base, quote);
    snprintf(s->name, sizeof(s->name), "%s%s%s", base, quote, suffix);
    snprintf(s->contract_type, sizeof(s->contract_type), "PERPETUAL");
    snprintf(s->status, sizeof(s->status), "TRADING");
    snprintf(s->underlying_type, sizeof(s->underlying_type), "COIN");
    s->delivery_ms = 4133404800000LL;
}

static double log_uniform(uint64_t h, double lo, double hi)
{
    return exp(log(lo) + sim_hash_unit(h) * (log(hi) - log(lo)));
}

/* The symbol's path: its volatility, its correlation with the market, its walk and book.
 * A failed allocation leaves walk NULL (sim_market_new then fails). */
static void init_path(struct sim_market *m, int i, const struct sym_spec *sp)
{
    struct sym_path *p = &m->path[i];
    const struct sim_symbol *s = &m->sym[i];
    double p0 = sp->p0;
    p->key = hash_str(m->seed, s->name);
    p->ln_p0 = log(p0);
    p->tick = (double)s->filters.tick.units / (double)pow10i(s->filters.tick.scale);
    double step = (double)s->filters.step.units / (double)pow10i(s->filters.step.scale);
    p->vol_scale = 20000.0 / (p0 * step * 86400.0) * 50.0;
    if (p->vol_scale < 1) p->vol_scale = 1;
    if (p->vol_scale > 1e5) p->vol_scale = 1e5;
    p->daily_vol = sp->vol * VOL_CALIBRATION * m->volatility;
    p->rho = m->correlation + 0.15 * (2.0 * sim_hash_unit(sim_hash2(p->key, 0x7e57)) - 1.0);
    if (p->rho < 0) p->rho = 0;
    if (p->rho > 0.95) p->rho = 0.95;
    double mkt = MARKET_DAILY_VOL * m->volatility;
    p->beta = mkt > 0 ? p->rho * p->daily_vol / mkt : 0;
    struct walk_params wp = {p->daily_vol * sqrt(1.0 - p->rho * p->rho), CASCADE, JUMPS_PER_DAY,
                             JUMP_SIZE * p->daily_vol, m->regime_key, REGIME_LEVEL,
                             REGIME_CASCADE};
    p->walk = sim_walk_new(p->key, &wp);
    sim_book_init(&p->book, p->key ^ 0xb00cULL, sp->top / (p0 * step));
}

/* A generated symbol: base name, price log-uniform in [0.01, 500]; the 50 majors calmer and
 * deeper than the SIMnnn small caps. */
static void make_generated(struct sim_market *m, int i, int gen)
{
    char base[16];
    int nm = (int)(sizeof(major_bases) / sizeof(major_bases[0]));
    if (gen < nm)
        snprintf(base, sizeof(base), "%s", major_bases[gen]);
    else
        snprintf(base, sizeof(base), "SIM%03d", gen - nm);
    struct sim_symbol *s = &m->sym[i];
    name_symbol(s, base, "USDT", "");
    uint64_t h = hash_str(m->seed, base);
    double p0 = log_uniform(h, 0.01, 500.0);
    struct sym_spec sp = {base, p0, 0, 0, 0, 0, 0, 0};
    sp.vol = gen < nm ? log_uniform(sim_mix64(h ^ 1), 0.035, 0.06)
                      : log_uniform(sim_mix64(h ^ 1), 0.045, 0.10);
    sp.top = gen < nm ? log_uniform(sim_mix64(h ^ 2), 8000, 60000)
                      : log_uniform(sim_mix64(h ^ 2), 2000, 15000);
    nice_tick(p0, &sp.tick_units, &sp.tick_scale);
    nice_step(p0, &sp.step_units, &sp.step_scale);
    set_filters(s, &sp, "5");
    init_path(m, i, &sp);
}

static void make_fixed(struct sim_market *m, int i, const struct sym_spec *sp, const char *quote,
                       const char *suffix, const char *notional)
{
    struct sim_symbol *s = &m->sym[i];
    name_symbol(s, sp->base, quote, suffix);
    set_filters(s, sp, notional);
    init_path(m, i, sp);
}

/* Last Friday 08:00 UTC of the quarter month (Mar, Jun, Sep, Dec) on or after now. */
static int64_t quarter_delivery(int64_t now_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year, mon = tm.tm_mon;
    for (int tries = 0; tries < 8; tries++) {
        int qm = (mon / 3) * 3 + 2;
        struct tm e = {0};
        e.tm_year = year;
        e.tm_mon = qm + 1; /* day 0 of next month = last day of qm */
        e.tm_mday = 0;
        e.tm_hour = 8;
        time_t last = timegm(&e);
        struct tm lt;
        gmtime_r(&last, &lt);
        int back = (lt.tm_wday - 5 + 7) % 7;
        int64_t del = ((int64_t)last - (int64_t)back * 86400) * 1000;
        if (del > now_ms) return del;
        mon = qm + 1;
        if (mon > 11) {
            mon = 0;
            year++;
        }
    }
    return now_ms + 90LL * 86400000;
}

static void make_extras(struct sim_market *m, int i, int64_t start_ms)
{
    static const struct sym_spec btc = {"BTC", 60000, 10, 2, 1, 3, 0.022, 100000};
    static const struct sym_spec eth = {"ETH", 3000, 1, 2, 1, 3, 0.03, 50000};
    static const struct sym_spec newc = {"NEWCOIN", 1.0, 1, 4, 1, 0, 0.08, 5000};
    make_fixed(m, i, &btc, "USDC", "", "5");
    make_fixed(m, i + 1, &eth, "BUSD", "", "5");
    int64_t del = quarter_delivery(start_ms);
    time_t dt = (time_t)(del / 1000);
    struct tm tm;
    gmtime_r(&dt, &tm);
    char suffix[40];
    snprintf(suffix, sizeof(suffix), "_%02d%02d%02d", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday);
    make_fixed(m, i + 2, &btc, "USDT", suffix, "5");
    snprintf(m->sym[i + 2].contract_type, sizeof(m->sym[i + 2].contract_type), "CURRENT_QUARTER");
    m->sym[i + 2].delivery_ms = del;
    make_fixed(m, i + 3, &newc, "USDT", "", "5");
    m->sym[i + 3].contract_type[0] = '\0';
    snprintf(m->sym[i + 3].status, sizeof(m->sym[i + 3].status), "PENDING_TRADING");
    /* A USDT perpetual, trading, that is still not tradable for bfq: its underlying is an index. */
    static const struct sym_spec dom = {"BTCDOM", 1500, 1, 1, 1, 3, 0.02, 20000};
    make_fixed(m, i + 4, &dom, "USDT", "", "5");
    snprintf(m->sym[i + 4].underlying_type, sizeof(m->sym[0].underlying_type), "INDEX");
}

/* Symbols after the --symbols tradable ones: USDC- and BUSD-quoted perpetuals, a quarterly,
 * a PENDING_TRADING one with contractType "", and an INDEX underlying. */
#define EXTRAS 5

struct sim_market *sim_market_new(const struct sim_market_options *o)
{
    struct sim_market *m = calloc(1, sizeof(*m));
    int tradable = o->tradable > 0 ? o->tradable : 200;
    if (!m) return NULL;
    m->n = tradable + EXTRAS;
    m->seed = o->seed;
    m->funding_interval_ms = o->funding_interval_ms > 0 ? o->funding_interval_ms : 8 * 3600000LL;
    m->volatility = o->volatility > 0 ? o->volatility : 1.0;
    m->correlation = o->correlation > 0 ? o->correlation : SIM_MARKET_CORRELATION;
    m->regime_key = sim_hash2(m->seed, 0x7e61);
    struct walk_params fp = {MARKET_DAILY_VOL * m->volatility, CASCADE, 0.3,
                             0.1 * MARKET_DAILY_VOL * m->volatility, m->regime_key, REGIME_LEVEL,
                             REGIME_CASCADE};
    m->factor = sim_walk_new(sim_hash2(m->seed, 0xfac7), &fp);
    m->sym = calloc((size_t)m->n, sizeof(*m->sym));
    m->path = calloc((size_t)m->n, sizeof(*m->path));
    m->cache = calloc(BAR_CACHE_SIZE, sizeof(*m->cache));
    if (!m->factor || !m->sym || !m->path || !m->cache) {
        sim_market_free(m);
        return NULL;
    }
    int nfixed = (int)(sizeof(fixed_specs) / sizeof(fixed_specs[0]));
    for (int i = 0; i < tradable; i++) {
        if (i < nfixed)
            make_fixed(m, i, &fixed_specs[i], "USDT", "", i == 0 ? "100" : "5");
        else
            make_generated(m, i, i - nfixed);
    }
    make_extras(m, tradable, o->start_ms);
    sim_market_clear_cache(m);
    for (int i = 0; i < m->n; i++) {
        m->sym[i].index = i;
        m->sym[i].onboard_ms = 1569398400000LL + (int64_t)(hash_str(m->seed, m->sym[i].name) % 1000) * 86400000LL;
        if (!m->path[i].walk) {
            sim_market_free(m);
            return NULL;
        }
    }
    return m;
}

void sim_market_free(struct sim_market *m)
{
    if (!m) return;
    for (int i = 0; m->path && i < m->n; i++) {
        sim_walk_free(m->path[i].walk);
        free(m->path[i].shifts);
        free(m->path[i].cum);
    }
    sim_walk_free(m->factor);
    free(m->sym);
    free(m->path);
    free(m->cache);
    free(m);
}

int sim_market_count(const struct sim_market *m)
{
    return m->n;
}

const struct sim_symbol *sim_market_symbol(const struct sim_market *m, int index)
{
    if (index < 0 || index >= m->n) return NULL;
    return &m->sym[index];
}

const struct sim_symbol *sim_market_find(const struct sim_market *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->sym[i].name, name)) return &m->sym[i];
    return NULL;
}

/* ---- prices ------------------------------------------------------------------------ */

static int64_t bid_ticks_at(struct sim_market *m, int index, int64_t tb)
{
    return (int64_t)floor(path_ticks_at(m, index, tb));
}

static int spread_at(const struct sim_market *m, int index, int64_t tb)
{
    return (sim_hash2(m->path[index].key ^ 0x5bd1e995ULL, (uint64_t)(tb / SIM_BOOK_STEP_MS)) & 3) == 0 ? 2 : 1;
}

/* The path's best price of one side at book time tb, in ticks. */
static int64_t best_ticks(struct sim_market *m, int index, int64_t tb, int ask)
{
    int64_t bid = bid_ticks_at(m, index, tb);
    return ask ? bid + spread_at(m, index, tb) : bid;
}

/* Up to n non-empty levels of one side at now_ms, best first, scanning at most
 * n + BOOK_DEPL_MAX prices. Returns how many. */
static int levels_at(struct sim_market *m, int index, int64_t now_ms, int ask, int n,
                     int64_t *px, int64_t *qty)
{
    int64_t tb = book_time(now_ms), best = best_ticks(m, index, tb, ask);
    const struct sim_booksym *bk = &m->path[index].book;
    int got = 0;
    for (int64_t d = 0; got < n && d < (int64_t)n + BOOK_DEPL_MAX; d++) {
        int64_t p = ask ? best + d : best - d;
        if (p < 1) break;
        int64_t q = sim_book_qty(bk, ask, p, d, now_ms);
        if (q <= 0) continue;
        px[got] = p;
        qty[got] = q;
        got++;
    }
    return got;
}

int sim_market_levels(struct sim_market *m, int index, int64_t now_ms, int ask, int n,
                      struct dec *price, struct dec *qty)
{
    int64_t px[SIM_DEPTH_MAX], q[SIM_DEPTH_MAX];
    if (n > SIM_DEPTH_MAX) n = SIM_DEPTH_MAX;
    int got = levels_at(m, index, now_ms, ask, n, px, q);
    for (int k = 0; k < got; k++) {
        price[k] = ticks_dec(&m->sym[index], px[k]);
        qty[k] = steps_dec(&m->sym[index], q[k]);
    }
    return got;
}

void sim_market_book(struct sim_market *m, int index, int64_t now_ms, struct sim_book *out)
{
    int64_t px, q;
    const struct sim_symbol *s = &m->sym[index];
    if (levels_at(m, index, now_ms, 0, 1, &px, &q) < 1) px = 1, q = 0;
    out->bid = ticks_dec(s, px);
    out->bid_qty = steps_dec(s, q);
    if (levels_at(m, index, now_ms, 1, 1, &px, &q) < 1) px = 2, q = 0;
    out->ask = ticks_dec(s, px);
    out->ask_qty = steps_dec(s, q);
    out->update_id = book_time(now_ms) / SIM_BOOK_STEP_MS * 16 + (index & 15);
}

uint64_t sim_market_book_version(const struct sim_market *m)
{
    return m->book_version;
}

struct dec sim_market_last(struct sim_market *m, int index, int64_t now_ms)
{
    int64_t t = (int64_t)floor(path_ticks_at(m, index, book_time(now_ms)) + 0.5);
    return ticks_dec(&m->sym[index], t);
}

/* The futures premium over the index: the funding rate plus a wobble per 5 s. */
static double premium_at(struct sim_market *m, int index, int64_t t)
{
    struct dec r = sim_market_funding_rate(m, index, t);
    double rate = (double)r.units / (double)pow10i(r.scale);
    uint64_t h = sim_hash2(m->path[index].key ^ 0x9e37ULL, (uint64_t)(t / 5000));
    return rate + 0.0002 * sim_hash_normal(h);
}

static struct dec round_ticks(struct sim_market *m, int index, double ticks)
{
    int64_t t = (int64_t)floor(ticks + 0.5);
    return ticks_dec(&m->sym[index], t < 1 ? 1 : t);
}

struct dec sim_market_index(struct sim_market *m, int index, int64_t now_ms)
{
    int64_t tb = book_time(now_ms);
    return round_ticks(m, index, path_ticks_at(m, index, tb) / (1.0 + premium_at(m, index, tb)));
}

struct dec sim_market_mark(struct sim_market *m, int index, int64_t now_ms)
{
    int64_t tb = book_time(now_ms);
    double sum = 0;
    for (int k = 0; k < MARK_SAMPLES; k++) {
        int64_t t = tb - (int64_t)k * (MARK_WINDOW_MS / MARK_SAMPLES);
        sum += path_ticks_at(m, index, t) / (1.0 + premium_at(m, index, t));
    }
    return round_ticks(m, index, sum / MARK_SAMPLES * (1.0 + premium_at(m, index, tb)));
}

/* ---- liquidity for the matching engine ---------------------------------------------- */

static int64_t dec_to_units(struct dec d, struct dec unit)
{
    struct dec r;
    if (dec_div(d, unit, 0, DEC_ROUND_DOWN, &r) != DEC_OK) return 0;
    return r.units;
}

int sim_market_take(struct sim_market *m, int index, int64_t now_ms, int buy, struct dec qty,
                    struct dec limit, int commit, struct sim_take *out, int n, struct dec *filled)
{
    const struct sim_symbol *s = &m->sym[index];
    struct sim_booksym *bk = &m->path[index].book;
    int64_t want = dec_to_units(qty, s->filters.step), got = 0;
    int64_t lim = dec_is_zero(limit) ? 0 : dec_to_units(limit, s->filters.tick);
    int64_t best = best_ticks(m, index, book_time(now_ms), buy);
    int used = 0;
    /* level by level from the best (empty ones skipped), only as deep as the order needs */
    for (int64_t d = 0; got < want && used < n && d < BOOK_SCAN_MAX + BOOK_DEPL_MAX; d++) {
        int64_t p = buy ? best + d : best - d;
        if (p < 1 || (lim && (buy ? p > lim : p < lim))) break;
        int64_t q = sim_book_qty(bk, buy, p, d, now_ms);
        if (q <= 0) continue;
        int64_t take = q < want - got ? q : want - got;
        out[used].price = ticks_dec(s, p);
        out[used].qty = steps_dec(s, take);
        used++;
        got += take;
    }
    for (int k = 0; commit && k < used; k++)
        sim_book_consume(bk, buy, dec_to_units(out[k].price, s->filters.tick),
                     dec_to_units(out[k].qty, s->filters.step), now_ms);
    if (commit && used) m->book_version++;
    *filled = steps_dec(s, got);
    return used;
}

struct dec sim_market_qty_at(struct sim_market *m, int index, int64_t now_ms, int ask,
                             struct dec price)
{
    const struct sim_symbol *s = &m->sym[index];
    int64_t tb = book_time(now_ms), best = best_ticks(m, index, tb, ask);
    int64_t p = dec_to_units(price, s->filters.tick);
    int64_t d = ask ? p - best : best - p;
    if (d < 0) return dec_from_int(0);
    return steps_dec(s, sim_book_qty(&m->path[index].book, ask, p, d, now_ms));
}

void sim_market_step(struct sim_market *m, int index, int64_t step, struct sim_step *out)
{
    const struct sim_symbol *s = &m->sym[index];
    int64_t tb = step * SIM_BOOK_STEP_MS;
    int64_t bid = bid_ticks_at(m, index, tb);
    out->bid = ticks_dec(s, bid);
    out->ask = ticks_dec(s, bid + spread_at(m, index, tb));
    out->sell_flow = steps_dec(s, sim_book_flow(&m->path[index].book, 0, step));
    out->buy_flow = steps_dec(s, sim_book_flow(&m->path[index].book, 1, step));
}

int64_t sim_market_step_of(int64_t now_ms)
{
    return book_time(now_ms) / SIM_BOOK_STEP_MS;
}

void sim_market_clear_cache(struct sim_market *m)
{
    for (int i = 0; i < BAR_CACHE_SIZE; i++) m->cache[i].index = -1;
}

/* Inserts a move at from_ms (after any at the same time) and recomputes the running sums. */
static int add_shift(struct sim_market *m, struct sym_path *p, int64_t from_ms, double delta)
{
    sim_market_clear_cache(m);
    if (p->nshifts == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        struct shift *ns = realloc(p->shifts, sizeof(*ns) * (size_t)cap);
        if (!ns) return -1;
        p->shifts = ns;
        double *nc = realloc(p->cum, sizeof(*nc) * (size_t)cap);
        if (!nc) return -1;
        p->cum = nc;
        p->cap = cap;
    }
    int at = p->nshifts;
    while (at > 0 && p->shifts[at - 1].from_ms > from_ms) at--;
    memmove(&p->shifts[at + 1], &p->shifts[at], sizeof(p->shifts[0]) * (size_t)(p->nshifts - at));
    p->shifts[at] = (struct shift){from_ms, delta};
    p->nshifts++;
    for (int i = at; i < p->nshifts; i++)
        p->cum[i] = (i ? p->cum[i - 1] : 0.0) + p->shifts[i].delta;
    return 0;
}

static double dec_to_double(struct dec d)
{
    return (double)d.units / (double)pow10i(d.scale);
}

int sim_market_set_price(struct sim_market *m, int index, int64_t now_ms, struct dec price)
{
    if (index < 0 || index >= m->n || dec_sign(price) <= 0) return -1;
    int64_t tb = book_time(now_ms);
    double want = log(dec_to_double(price));
    return add_shift(m, &m->path[index], tb, want - log_price_at(m, index, tb));
}

int sim_market_move_pct(struct sim_market *m, int index, int64_t now_ms, struct dec pct)
{
    double f = 1.0 + dec_to_double(pct) / 100.0;
    if (index < 0 || index >= m->n || f <= 0.0) return -1;
    return add_shift(m, &m->path[index], book_time(now_ms), log(f));
}

/* ---- bars -------------------------------------------------------------------------- */

int sim_interval_parse(const char *name, int64_t *out)
{
    static const struct { const char *n; int64_t ms; } iv[] = {
        {"1s", 1000}, {"1m", 60000}, {"3m", 180000}, {"5m", 300000}, {"15m", 900000},
        {"30m", 1800000}, {"1h", 3600000}, {"2h", 7200000}, {"4h", 14400000},
        {"6h", 21600000}, {"8h", 28800000}, {"12h", 43200000}, {"1d", 86400000},
        {"3d", 259200000}, {"1w", 604800000}, {"1M", SIM_INTERVAL_MONTH},
    };
    for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++)
        if (!strcmp(name, iv[i].n)) {
            *out = iv[i].ms;
            return 0;
        }
    return -1;
}

#define WEEK_OFFSET_MS (4 * 86400000LL) /* 1970-01-05 was a Monday */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t month_start(int64_t t, int add)
{
    time_t s = (time_t)floor_div(t, 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    struct tm b = {0};
    b.tm_year = tm.tm_year;
    b.tm_mon = tm.tm_mon + add;
    b.tm_mday = 1;
    return (int64_t)timegm(&b) * 1000;
}

int64_t sim_bar_floor(int64_t t, int64_t interval)
{
    if (interval == SIM_INTERVAL_MONTH) return month_start(t, 0);
    if (interval == 604800000LL)
        return floor_div(t - WEEK_OFFSET_MS, interval) * interval + WEEK_OFFSET_MS;
    return floor_div(t, interval) * interval;
}

int64_t sim_bar_next(int64_t open_ms, int64_t interval)
{
    if (interval == SIM_INTERVAL_MONTH) return month_start(open_ms, 1);
    return open_ms + interval;
}

/* Adds one sample's trading at t covering span_ms to the bar. */
static void bar_sample(const struct sim_market *m, int index, int64_t t, int64_t span_ms,
                       int64_t ticks, __int128 *vol, __int128 *quote, __int128 *tb,
                       __int128 *tbq, int64_t *trades)
{
    const struct sym_path *p = &m->path[index];
    uint64_t h = sim_hash2(p->key ^ 0x77ULL, (uint64_t)t);
    double secs = (double)span_ms / 1000.0;
    int64_t steps = (int64_t)((double)(1 + h % 100) / 50.0 * p->vol_scale * secs);
    if (steps < 1) steps = 1;
    int64_t buy = steps * (int64_t)((h >> 20) % 101) / 100;
    *vol += steps;
    *quote += (__int128)steps * ticks;
    *tb += buy;
    *tbq += (__int128)buy * ticks;
    *trades += 1 + (int64_t)((double)((h >> 40) % 20) * secs / 10.0);
}

static struct dec big_dec(__int128 units, int64_t mul, int scale)
{
    __int128 v = units * mul;
    if (v > INT64_MAX) v = INT64_MAX;
    struct dec d = {(int64_t)v, scale};
    return d;
}

static void bar_compute(struct sim_market *m, int index, int64_t open_ms, int64_t interval_ms,
                        int64_t now_ms, struct sim_bar *out)
{
    const struct sim_symbol *s = &m->sym[index];
    int64_t n = interval_ms / 1000;
    if (n > SIM_BAR_SAMPLES) n = SIM_BAR_SAMPLES;
    if (n < 1) n = 1;
    int64_t span = interval_ms / n;
    int64_t hi = 0, lo = INT64_MAX, first = 0, last = 0;
    __int128 vol = 0, quote = 0, tb = 0, tbq = 0;
    int64_t trades = 0;
    int64_t end = open_ms + interval_ms - 1;
    for (int64_t k = 0; k <= n; k++) {
        int64_t t = k < n ? open_ms + k * span : end;
        if (t > now_ms) t = now_ms;
        int64_t ticks = (int64_t)floor(path_ticks_at(m, index, book_time(t)) + 0.5);
        if (k == 0) first = ticks;
        last = ticks;
        if (ticks > hi) hi = ticks;
        if (ticks < lo) lo = ticks;
        if (k < n) bar_sample(m, index, open_ms + k * span, span, ticks, &vol, &quote, &tb, &tbq, &trades);
        if (t == now_ms) break;
    }
    out->open_ms = open_ms;
    out->close_ms = end;
    out->open = ticks_dec(s, first);
    out->high = ticks_dec(s, hi);
    out->low = ticks_dec(s, lo);
    out->close = ticks_dec(s, last);
    int qscale = s->filters.step.scale + s->filters.tick.scale;
    out->volume = big_dec(vol, s->filters.step.units, s->filters.step.scale);
    out->quote_volume = big_dec(quote, s->filters.step.units * s->filters.tick.units, qscale);
    out->taker_buy_volume = big_dec(tb, s->filters.step.units, s->filters.step.scale);
    out->taker_buy_quote = big_dec(tbq, s->filters.step.units * s->filters.tick.units, qscale);
    out->trades = trades;
}

void sim_market_bar(struct sim_market *m, int index, int64_t open_ms, int64_t interval_ms,
                    int64_t now_ms, struct sim_bar *out)
{
    if (open_ms + interval_ms - 1 >= now_ms) {
        bar_compute(m, index, open_ms, interval_ms, now_ms, out);
        return;
    }
    uint64_t h = sim_hash2((uint64_t)index * 0x100000001b3ULL ^ (uint64_t)interval_ms, (uint64_t)open_ms);
    struct bar_slot *s = &m->cache[h % BAR_CACHE_SIZE];
    if (s->index == index && s->interval_ms == interval_ms && s->bar.open_ms == open_ms) {
        *out = s->bar;
        return;
    }
    bar_compute(m, index, open_ms, interval_ms, now_ms, out);
    s->index = index;
    s->interval_ms = interval_ms;
    s->bar = *out;
}

struct dec sim_market_funding_rate(struct sim_market *m, int index, int64_t now_ms)
{
    int64_t period = floor_div(now_ms, m->funding_interval_ms);
    uint64_t h = sim_hash2(m->path[index].key ^ 0xf00dULL, (uint64_t)period);
    struct dec d = {10000 + ((int64_t)(h % 201) - 100) * 100, 8};
    return d;
}

int64_t sim_market_next_funding(const struct sim_market *m, int64_t now_ms)
{
    return (floor_div(now_ms, m->funding_interval_ms) + 1) * m->funding_interval_ms;
}

int64_t sim_market_funding_interval(const struct sim_market *m)
{
    return m->funding_interval_ms;
}
