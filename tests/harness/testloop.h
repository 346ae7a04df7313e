/* testloop: running a test's libev loop for a while, or until something happened.
 *
 * Tests of loop-driven modules (rconn, weight, http, binance, the reconciler) all need the same
 * three things: run the loop for a fixed time, run it until a counter the callbacks bump
 * reaches a value, or until the requests a test started are all answered, each with a time
 * limit so that a broken module fails the test instead of hanging it. Single-threaded: call
 * from the thread that owns the loop; none of these may be called from inside a callback. */
#ifndef BFQ_TESTLOOP_H
#define BFQ_TESTLOOP_H

struct ev_loop;

/* Runs the loop for ms, or less when a callback calls ev_break. */
void th_loop_for(struct ev_loop *loop, int ms);

/* Runs the loop until *flag >= want or ms passed. Returns nonzero when reached. */
int th_loop_until(struct ev_loop *loop, const int *flag, int want, int ms);

/* Runs the loop until *pending <= 0 or ms passed; on timeout prints "loop guard fired" with
 * the count left on stderr. Returns nonzero when drained. */
int th_loop_drain(struct ev_loop *loop, const int *pending, int ms);

#endif
