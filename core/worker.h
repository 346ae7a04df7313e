/* worker: one background thread that runs jobs handed over by the loop, in order, and hands
 * each one back to the loop when it is done (Redis bio.c's pattern, STYLE.md "nothing blocks
 * the loop").
 *
 * The loop thread submits a job (an opaque pointer the caller owns); the worker thread calls
 * run(job, privdata) on it, then queues it back, and the loop thread's ev_async calls
 * done(job, privdata), where the caller owns the job again. Jobs run one at a time in FIFO
 * order, so whatever run touches that belongs to the worker (a blocking MariaDB or Redis
 * connection) needs no lock. Optional hooks run on the worker thread when it starts and just
 * before it ends (per-thread library set-up, closing the worker's connections).
 * Threads: worker_new, worker_submit, worker_pending and worker_free on the loop thread only;
 * done on the loop thread; run, thread_start and thread_end on the worker thread. */
#ifndef BFQ_WORKER_H
#define BFQ_WORKER_H

#include <stddef.h>

struct ev_loop;
struct worker;

/* Runs on the worker thread: does the blocking part of job. */
typedef void worker_run_fn(void *job, void *privdata);
/* Runs on the loop thread with a finished job; the callback owns job again. */
typedef void worker_done_fn(void *job, void *privdata);
/* Runs on the worker thread (thread start, or thread end). */
typedef void worker_hook_fn(void *privdata);

struct worker_options {
    worker_run_fn *run;            /* required */
    worker_done_fn *done;          /* required */
    worker_hook_fn *thread_start;  /* may be NULL */
    worker_hook_fn *thread_end;    /* may be NULL */
    void (*discard)(void *job);    /* frees a job worker_free did not hand back; may be NULL */
    void *privdata;
};

/* Starts the thread. Returns NULL with a reason in err. */
struct worker *worker_new(struct ev_loop *loop, const struct worker_options *o, char *err,
                          size_t cap);
/* Hands job to the worker (FIFO); done gets it back later. */
void worker_submit(struct worker *w, void *job);
/* Jobs submitted whose done has not run yet. */
int worker_pending(const struct worker *w);
/* Stops the thread after the job it is running, discards the jobs it did not hand back
 * (without calling done), and frees w. NULL is fine. */
void worker_free(struct worker *w);

#endif
