/* backoff: capped exponential delays with decorrelated jitter (see backoff.h).
 *
 * The process seed is drawn once, lazily, at the first backoff_init: from getrandom() when the
 * kernel has it, else from the pid, the wall clock and the monotonic clock. Drawing it lazily
 * (not in a constructor) means a child forked before any backoff exists gets its own seed.
 * Each struct mixes the seed with a per-process counter through splitmix64, so structs made in
 * the same microsecond still differ. */
#include "core/backoff.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t backoff_process_seed;
static uint64_t backoff_counter;

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t backoff_seed_process(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec w, m;
        clock_gettime(CLOCK_REALTIME, &w);
        clock_gettime(CLOCK_MONOTONIC, &m);
        s = ((uint64_t)getpid() << 32) ^ (uint64_t)w.tv_sec ^ ((uint64_t)w.tv_nsec << 20) ^
            (uint64_t)m.tv_nsec;
    }
    return s ? s : 1;
}

void backoff_seed(struct backoff *b, uint64_t seed)
{
    b->rng = splitmix64(seed);
    if (b->rng == 0) b->rng = 0x2545f4914f6cdd1dull;
}

void backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms)
{
    if (!backoff_process_seed) backoff_process_seed = backoff_seed_process();
    b->min_ms = min_ms < 1 ? 1 : min_ms;
    b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
    backoff_reset(b);
    backoff_seed(b, backoff_process_seed ^ splitmix64(++backoff_counter));
}

static uint64_t backoff_rand(struct backoff *b)
{
    uint64_t x = b->rng; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

int64_t backoff_uniform(struct backoff *b, int64_t lo, int64_t hi)
{
    if (hi <= lo) return lo;
    return lo + (int64_t)(backoff_rand(b) % (uint64_t)(hi - lo + 1));
}

int64_t backoff_next(struct backoff *b)
{
    int64_t prev = b->prev_ms > 0 ? b->prev_ms : b->min_ms;
    int64_t top = prev > b->max_ms / 3 ? b->max_ms : prev * 3; /* capped, no overflow */
    int64_t d = backoff_uniform(b, b->min_ms, top);
    b->prev_ms = d;
    b->attempts++;
    return d;
}

void backoff_reset(struct backoff *b)
{
    b->prev_ms = 0;
    b->attempts = 0;
}
