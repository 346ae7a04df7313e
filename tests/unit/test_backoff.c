/* test_backoff: the one back-off policy: every delay within [min, max], growth to the cap,
 * reset on success, and different draws for different seeds, structs and processes (the
 * userstreams of a fleet once reconnected in lockstep on an unseeded random()). */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/backoff.h"
#include "tests/harness/harness.h"

#define DRAWS 16

static void test_bounds(void)
{
    static const int64_t cases[][2] = {{100, 5000}, {1, 1}, {250, 250}, {500, 15000}, {7, 9}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct backoff b;
        backoff_init(&b, cases[c][0], cases[c][1]);
        int bad = 0, at_top = 0;
        for (int i = 0; i < 2000; i++) {
            if (i % 100 == 0) backoff_reset(&b);
            int64_t d = backoff_next(&b);
            if (d < cases[c][0] || d > cases[c][1]) bad++;
            if (d * 2 >= cases[c][1]) at_top++;
        }
        CHECK(bad == 0);
        CHECK(at_top > 0); /* the delay does grow to the cap's neighbourhood */
    }
    struct backoff b;
    backoff_init(&b, 0, -5); /* nonsense bounds are clamped, not trusted */
    CHECK(b.min_ms == 1 && b.max_ms == 1);
    CHECK(backoff_next(&b) == 1);
}

static void test_growth_and_reset(void)
{
    struct backoff b;
    backoff_init(&b, 100, 30000);
    CHECK(backoff_next(&b) <= 300); /* the first failure waits about min */
    int64_t last = 0;
    for (int i = 0; i < 40; i++) last = backoff_next(&b);
    CHECK(b.attempts == 41);
    CHECK(last >= 100 && last <= 30000);
    /* a long failure streak waits seconds, not the minimum: decorrelated jitter is a random
     * walk that can dip to min for a while in one streak (one of 2000 seeded streaks of 200
     * averaged 3.9 s), so the mean is taken over 20 seeded streaks (about 8 s), deterministic */
    int64_t sum = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct backoff s;
        backoff_init(&s, 100, 30000);
        backoff_seed(&s, seed);
        for (int i = 0; i < 41; i++) backoff_next(&s);
        for (int i = 0; i < 200; i++) sum += backoff_next(&s);
    }
    CHECK(sum / (20 * 200) > 5000);
    backoff_reset(&b);
    CHECK(b.attempts == 0);
    CHECK(backoff_next(&b) <= 300);
    CHECK(backoff_uniform(&b, 5, 5) == 5);
    int64_t u = backoff_uniform(&b, -3, 3);
    CHECK(u >= -3 && u <= 3);
}

static void draw(struct backoff *b, int64_t *out)
{
    for (int i = 0; i < DRAWS; i++) out[i] = backoff_next(b);
}

static void test_seeds_differ(void)
{
    struct backoff a, b;
    int64_t da[DRAWS], db[DRAWS];
    backoff_init(&a, 200, 30000);
    backoff_init(&b, 200, 30000);
    backoff_seed(&a, 1);
    backoff_seed(&b, 2);
    draw(&a, da);
    draw(&b, db);
    CHECK(memcmp(da, db, sizeof da) != 0);
    backoff_init(&a, 200, 30000); /* same process, two structs: differ too */
    backoff_init(&b, 200, 30000);
    draw(&a, da);
    draw(&b, db);
    CHECK(memcmp(da, db, sizeof da) != 0);
    backoff_init(&a, 200, 30000); /* same seed, same draws */
    backoff_init(&b, 200, 30000);
    backoff_seed(&a, 42);
    backoff_seed(&b, 42);
    draw(&a, da);
    draw(&b, db);
    CHECK(memcmp(da, db, sizeof da) == 0);
}

/* Two freshly started processes (forked before this process made any backoff, as a fleet of
 * instances started together) draw different delays. */
static int child_draws(int64_t *out)
{
    int fd[2];
    if (pipe(fd) < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        struct backoff b;
        int64_t d[DRAWS];
        close(fd[0]);
        backoff_init(&b, 200, 30000);
        draw(&b, d);
        ssize_t w = write(fd[1], d, sizeof d);
        _exit(w == (ssize_t)sizeof d ? 0 : 1);
    }
    close(fd[1]);
    ssize_t n = pid > 0 ? read(fd[0], out, sizeof(int64_t) * DRAWS) : -1;
    close(fd[0]);
    int st = 0;
    if (pid > 0) waitpid(pid, &st, 0);
    return n == (ssize_t)(sizeof(int64_t) * DRAWS) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0
                                                                                            : -1;
}

static void test_processes_differ(void)
{
    int64_t a[DRAWS], b[DRAWS];
    CHECK(child_draws(a) == 0);
    CHECK(child_draws(b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
}

int main(void)
{
    test_processes_differ(); /* first: no backoff exists in this process yet */
    test_bounds();
    test_growth_and_reset();
    test_seeds_differ();
    return th_done();
}
