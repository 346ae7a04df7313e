/* walk: a log-price random walk evaluable at any step (see walk.h).
 *
 * Time is cut into root blocks of 2^25 steps (100 ms each, ~38.8 days) counted from
 * WALK_ANCHOR_MS. The walk's value X_b at each root boundary follows
 *     X_0 = 0,  X_{b+1} = phi * X_b + sqrt(V_b) * Z_b + J_b
 * (and the same recursion backwards for b < 0): a random walk with a weak pull over months
 * (phi close to 1), V_b a block variance with a slow lognormal regime, J_b the block's jumps.
 * Inside a block the diffusion is a Brownian bridge from X_b to X_{b+1} - J_b built top-down:
 * each dyadic node [a, a + 2^l) with end values xa, xb and variance V puts a share w of V in
 * its left half and 1 - w in its right one, w = logistic(cascade * g) with g a hashed normal,
 * and its midpoint at xa + (xb - xa) * w + sqrt(V w (1 - w)) * z. That is exact for a
 * Gaussian walk whose step variances are the product of the weights on their way down: a
 * multiplicative cascade (a multifractal random walk), so quiet and wild periods cluster at
 * every scale and returns are a variance mixture of normals, fat-tailed like a Student-t.
 * Walks that share a regime_key share the weights of their slow levels (and their block
 * regimes): volatility is mostly market-wide, quiet and wild hours come to every symbol at once,
 * and the correlation of a symbol with the market stays near its target in any window.
 * Jumps are compound Poisson: at most one per slot of 2^15 steps (~55 min), with probability
 * jump_rate * slot length, a hashed offset and a normal log size.
 *
 * Cost: a value needs the root boundaries up to its block (computed once, outward from the
 * anchor, a thousand hashes per block for the jumps) and one descent of up to 25 levels; the
 * last descent is kept, so a second value nearby only redoes the levels below their common
 * ancestor, and a bar of 60 samples costs about 60 short descents. */
#include "sim/walk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_STEPS (1LL << WALK_ROOT_LEVELS)
#define SLOT_LEVELS 15
#define SLOTS_PER_BLOCK (1 << (WALK_ROOT_LEVELS - SLOT_LEVELS))
#define BLOCK_MIN (-64)   /* 2018-03 */
#define BLOCK_MAX 192     /* 2045-05 */
#define NBLOCKS (BLOCK_MAX - BLOCK_MIN)
#define PHI 0.85
#define REGIME_SD 0.25
#define STEPS_PER_DAY (86400000.0 / WALK_STEP_MS)

struct frame {
    int64_t a;
    double xa, xb, v;
};

struct sim_walk {
    uint64_t key, regime;
    struct walk_params p;
    double var_step, slot_prob;
    double x[NBLOCKS + 1];    /* X at each root boundary, index b - BLOCK_MIN */
    double d[NBLOCKS];        /* diffusion end of each block: X_{b+1} - J_b */
    double v[NBLOCKS];        /* block variance */
    int lo, hi;               /* x[] known for indices [lo, hi] */
    int cb;                   /* block of the cached descent, -1 none */
    struct frame fr[WALK_ROOT_LEVELS + 1];
    int flo;                  /* fr[] valid for levels [flo, WALK_ROOT_LEVELS] */
    int jb, nj;               /* jumps of block jb (-1 none) */
    int64_t joff[SLOTS_PER_BLOCK];
    double jcum[SLOTS_PER_BLOCK];
    int64_t memo_s;
    double memo_v;
};

uint64_t sim_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sim_hash2(uint64_t a, uint64_t b)
{
    return sim_mix64(a ^ sim_mix64(b + 0x632be59bd9b4e019ULL));
}

double sim_hash_unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

double sim_hash_normal(uint64_t h)
{
    double s = 0;
    for (int i = 0; i < 4; i++) s += (double)((h >> (16 * i)) & 0xffff) / 65536.0;
    return (s - 2.0) * 1.7320508075688772;
}

/* The jumps of block b (index bi): offsets (sorted, >= 1) and sizes. Returns the count. */
static int block_jumps(const struct sim_walk *w, int bi, int64_t *off, double *size)
{
    int n = 0;
    if (w->slot_prob <= 0) return 0;
    for (int k = 0; k < SLOTS_PER_BLOCK; k++) {
        uint64_t h = sim_hash2(w->key ^ 0x6a09e667f3bcc908ULL, (uint64_t)bi * SLOTS_PER_BLOCK + (uint64_t)k);
        if (sim_hash_unit(h) >= w->slot_prob) continue;
        uint64_t h2 = sim_mix64(h);
        off[n] = ((int64_t)k << SLOT_LEVELS) + 1 + (int64_t)(h2 % ((1u << SLOT_LEVELS) - 1));
        size[n] = w->p.jump_size * sim_hash_normal(sim_mix64(h2));
        n++;
    }
    return n;
}

static double block_jump_total(const struct sim_walk *w, int bi)
{
    int64_t off[SLOTS_PER_BLOCK];
    double size[SLOTS_PER_BLOCK], t = 0;
    int n = block_jumps(w, bi, off, size);
    for (int i = 0; i < n; i++) t += size[i];
    return t;
}

static void block_noise(const struct sim_walk *w, int bi, double *var, double *z)
{
    uint64_t h = sim_hash2(w->regime ^ 0xbb67ae8584caa73bULL, (uint64_t)bi);
    double g = sim_hash_normal(h);
    *var = w->var_step * (double)ROOT_STEPS * exp(REGIME_SD * g - REGIME_SD * REGIME_SD / 2);
    *z = sim_hash_normal(sim_hash2(w->key, (uint64_t)bi));
}

/* Extends the known root boundaries to include block index bi. */
static void roots_to(struct sim_walk *w, int bi)
{
    double var, z;
    while (w->hi <= bi) { /* x[hi] known: compute block hi and x[hi + 1] */
        int b = w->hi;
        block_noise(w, b, &var, &z);
        w->v[b] = var;
        w->d[b] = PHI * w->x[b] + sqrt(var) * z;
        w->x[b + 1] = w->d[b] + block_jump_total(w, b);
        w->hi++;
    }
    while (w->lo > bi) { /* x[lo] known: compute block lo - 1 and x[lo - 1] */
        int b = w->lo - 1;
        double jt = block_jump_total(w, b);
        block_noise(w, b, &var, &z);
        w->v[b] = var;
        w->d[b] = w->x[b + 1] - jt;
        w->x[b] = PHI * w->x[b + 1] - sqrt(var) * z - jt;
        w->lo--;
    }
}

struct sim_walk *sim_walk_new(uint64_t key, const struct walk_params *p)
{
    struct sim_walk *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->key = key;
    w->regime = p->regime_key ? p->regime_key : key;
    w->p = *p;
    w->var_step = p->daily_vol * p->daily_vol / STEPS_PER_DAY;
    w->slot_prob = p->jump_rate * (double)(1 << SLOT_LEVELS) / STEPS_PER_DAY;
    w->lo = w->hi = -BLOCK_MIN;
    w->x[w->lo] = 0;
    w->cb = w->jb = -1;
    w->memo_s = INT64_MIN;
    return w;
}

void sim_walk_free(struct sim_walk *w)
{
    free(w);
}

static double jumps_before(struct sim_walk *w, int bi, int64_t o)
{
    if (w->jb != bi) {
        double size[SLOTS_PER_BLOCK], c = 0;
        w->nj = block_jumps(w, bi, w->joff, size);
        for (int i = 0; i < w->nj; i++) w->jcum[i] = c += size[i];
        w->jb = bi;
    }
    int lo = 0, hi = w->nj; /* first jump with offset > o */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (w->joff[mid] <= o) lo = mid + 1;
        else hi = mid;
    }
    return lo ? w->jcum[lo - 1] : 0.0;
}

/* The bridge inside block bi at offset o, resuming the cached descent. */
static double bridge_at(struct sim_walk *w, int bi, int64_t o)
{
    int l;
    if (w->cb != bi) {
        w->fr[WALK_ROOT_LEVELS] = (struct frame){0, w->x[bi], w->d[bi], w->v[bi]};
        w->flo = WALK_ROOT_LEVELS;
        w->cb = bi;
    }
    for (l = w->flo; l < WALK_ROOT_LEVELS; l++)
        if (o >= w->fr[l].a && o < w->fr[l].a + (1LL << l)) break;
    for (;; l--) {
        struct frame f = w->fr[l];
        if (o == f.a || l == 0) {
            w->flo = l;
            return f.xa;
        }
        int64_t mid = f.a + (1LL << (l - 1));
        uint64_t node = ((uint64_t)bi << 26) | (uint64_t)f.a;
        int slow = l >= w->p.regime_level;
        double g = sim_hash_normal(sim_hash2((slow ? w->regime : w->key) +
                                             (uint64_t)l * 0x9e3779b97f4a7c15ULL, node));
        double z = sim_hash_normal(sim_hash2(w->key ^ (uint64_t)l * 0xc2b2ae3d27d4eb4fULL, node));
        double s = 1.0 / (1.0 + exp(-(slow ? w->p.regime_cascade : w->p.cascade) * g));
        double xm = f.xa + (f.xb - f.xa) * s + sqrt(f.v * s * (1.0 - s)) * z;
        if (o < mid)
            w->fr[l - 1] = (struct frame){f.a, f.xa, xm, f.v * s};
        else
            w->fr[l - 1] = (struct frame){mid, xm, f.xb, f.v * (1.0 - s)};
    }
}

double sim_walk_at(struct sim_walk *w, int64_t s)
{
    if (s == w->memo_s) return w->memo_v;
    int64_t rel = s - WALK_ANCHOR_MS / WALK_STEP_MS;
    int64_t b = rel >= 0 ? rel / ROOT_STEPS : -((-rel + ROOT_STEPS - 1) / ROOT_STEPS);
    int64_t o = rel - b * ROOT_STEPS;
    if (b < BLOCK_MIN) {
        b = BLOCK_MIN;
        o = 0;
    }
    if (b >= BLOCK_MAX) {
        b = BLOCK_MAX - 1;
        o = ROOT_STEPS - 1;
    }
    int bi = (int)(b - BLOCK_MIN);
    roots_to(w, bi);
    double v = bridge_at(w, bi, o) + jumps_before(w, bi, o);
    w->memo_s = s;
    w->memo_v = v;
    return v;
}
