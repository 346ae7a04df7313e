/* worker: the background job thread (see worker.h). */
#include "core/worker.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct worker_fifo {
    void **v;
    size_t head, n, cap;
};

struct worker {
    struct ev_loop *loop;
    ev_async wake;
    struct worker_options o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct worker_fifo todo, finished; /* under mu */
    int stop;                          /* under mu */
    int pending;                       /* loop thread only */
};

static void fifo_push(struct worker_fifo *f, void *job)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        void **v = malloc(cap * sizeof *v);
        if (!v) abort();
        for (size_t i = 0; i < f->n; i++) v[i] = f->v[(f->head + i) % f->cap];
        free(f->v);
        f->v = v;
        f->head = 0;
        f->cap = cap;
    }
    f->v[(f->head + f->n) % f->cap] = job;
    f->n++;
}

static void *fifo_pop(struct worker_fifo *f)
{
    if (!f->n) return NULL;
    void *job = f->v[f->head];
    f->head = (f->head + 1) % f->cap;
    f->n--;
    return job;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (w->o.thread_start) w->o.thread_start(w->o.privdata);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->todo.n) pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) break;
        void *job = fifo_pop(&w->todo);
        pthread_mutex_unlock(&w->mu);
        w->o.run(job, w->o.privdata);
        pthread_mutex_lock(&w->mu);
        fifo_push(&w->finished, job);
        ev_async_send(w->loop, &w->wake);
    }
    pthread_mutex_unlock(&w->mu);
    if (w->o.thread_end) w->o.thread_end(w->o.privdata);
    return NULL;
}

static void worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = a->data;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        void *job = fifo_pop(&w->finished);
        pthread_mutex_unlock(&w->mu);
        if (!job) break;
        w->pending--;
        w->o.done(job, w->o.privdata);
    }
}

struct worker *worker_new(struct ev_loop *loop, const struct worker_options *o, char *err,
                          size_t cap)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->loop = loop;
    w->o = *o;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    ev_async_init(&w->wake, worker_wake_cb);
    w->wake.data = w;
    ev_async_start(loop, &w->wake);
    if (pthread_create(&w->thread, NULL, worker_main, w)) {
        snprintf(err, cap, "cannot start the worker thread");
        ev_async_stop(loop, &w->wake);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    return w;
}

void worker_submit(struct worker *w, void *job)
{
    pthread_mutex_lock(&w->mu);
    fifo_push(&w->todo, job);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->pending++;
}

int worker_pending(const struct worker *w)
{
    return w->pending;
}

void worker_free(struct worker *w)
{
    void *job;
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    ev_async_stop(w->loop, &w->wake);
    while ((job = fifo_pop(&w->todo)))
        if (w->o.discard) w->o.discard(job);
    while ((job = fifo_pop(&w->finished)))
        if (w->o.discard) w->o.discard(job);
    free(w->todo.v);
    free(w->finished.v);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
