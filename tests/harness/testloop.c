/* testloop: bounded runs of a test's libev loop (see testloop.h).
 *
 * Waits that watch a counter run the loop one turn at a time with a 10 ms tick timer, so the
 * counter is rechecked even when nothing else is due; the time limit is wall time measured by
 * th_now_ms, never a count of turns. */
#include "tests/harness/testloop.h"

#include <ev.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/harness/harness.h"

#define TH_LOOP_TICK_S 0.01

static void th_loop_break(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void th_loop_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

void th_loop_for(struct ev_loop *loop, int ms)
{
    ev_timer t;
    ev_timer_init(&t, th_loop_break, ms / 1000.0, 0.0);
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ev_timer_stop(loop, &t);
}

/* Runs one turn at a time until done(v, want) or ms passed. */
static int th_loop_while(struct ev_loop *loop, int (*done)(const int *, int), const int *v,
                         int want, int ms)
{
    ev_timer t;
    int64_t end = th_now_ms() + ms;
    ev_timer_init(&t, th_loop_tick, TH_LOOP_TICK_S, TH_LOOP_TICK_S);
    ev_timer_start(loop, &t);
    while (!done(v, want) && th_now_ms() < end) ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
    return done(v, want);
}

static int th_reached(const int *flag, int want)
{
    return *flag >= want;
}

static int th_drained(const int *pending, int want)
{
    (void)want;
    return *pending <= 0;
}

int th_loop_until(struct ev_loop *loop, const int *flag, int want, int ms)
{
    return th_loop_while(loop, th_reached, flag, want, ms);
}

int th_loop_drain(struct ev_loop *loop, const int *pending, int ms)
{
    if (th_loop_while(loop, th_drained, pending, 0, ms)) return 1;
    fprintf(stderr, "  loop guard fired: %d still pending\n", *pending);
    return 0;
}
