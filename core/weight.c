/* weight: the shared per-IP request-weight budget (see weight.h).
 *
 * Takes wait in one FIFO queue per budget; only the head is asked for, with one FCALL
 * bfq_weight_take in flight at a time, so a big request is never overtaken by small ones.
 * When Redis says no, an ev_timer retries after the wait it names (end of the stop, the point
 * where a paced line lets the head through, or the next exchange minute). Grants always run
 * from the loop (a zero timer "kick"), never from inside weight_take. Every time is the
 * exchange clock's (wb_now) except intervals, which are monotonic.
 *
 * Deadlines: each take carries one (monotonic), never earlier than the one of the take before
 * it, so the head's is the earliest and one timer serves the queue. A wait the budget itself
 * names (a full minute, a stop, the pace) moves the deadlines of every queued take past its end:
 * they wait for the budget, not for Redis. When the timer fires, the takes past their deadline
 * fail with WEIGHT_TIMEDOUT; an FCALL still in flight for one of them is answered later into
 * nothing (asked_id no longer matches the head), so the queue stays in order.
 *
 * Hold before the fallback: while the connection has never been up, and for grace_ms after it
 * went down (from weight_redis_state, or from the first take that found it down), the head
 * waits for Redis instead; the up event kicks the queue, and the end of the grace (the retry
 * timer, marked `holding`) lets the fallback serve it.
 *
 * Past the grace (or when a call fails), a budget with a Redis fails the head as not sent
 * (wb_give_up): its results could not be written. Only a budget with no Redis, or with no hold
 * (grace_ms < 0), falls back to a local count for this process and
 * the current exchange minute, starting from the last count Redis or the answer header reported
 * for the minute, with the same budget (greedy: the fallback caps, it does not pace), plus a
 * local stop from weight_answer. Several processes
 * may then overshoot together, but each one stays capped and none stalls; Binance's header
 * correction and 429 handling stay the backstop.
 *
 * Freeing while an FCALL is outstanding marks the budget and releases it when the reply (or
 * rconn's NULL reply on disconnect) arrives, so no callback ever sees freed memory. */
#include "core/weight.h"

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/timebase.h"

#define WEIGHT_KEY_MAX 256
#define WEIGHT_RETRY_MIN_MS 5
#define WEIGHT_LIMIT_MAX 1000000000 /* limit * percent must not overflow; Binance says 2400 */
#define WEIGHT_EDGE_MS 10 /* clock error on top of the sync's rtt/2 (granularity, drift) */

struct wtake {
    int weight;
    weight_grant_fn *fn;
    void *privdata;
    int waited;
    uint64_t id;
    mono_ms_t deadline;
    struct wtake *next;
};

struct weight_budget {
    struct ev_loop *loop;
    struct rconn *rc;
    char prefix[64], ip[64];
    int64_t limit;
    int percent;
    struct wtake *head, *tail;
    int inflight;     /* an FCALL bfq_weight_take is outstanding */
    int freeing;      /* weight_free ran: released once no reply and no entry point is pending */
    int depth;        /* loop callbacks of this budget on the stack */
    int warned_local; /* "using local count" logged for this outage */
    int64_t grace_ms; /* hold after Redis went down; negative: no hold */
    int ever_up;      /* Redis was up at least once: before that, takes are held */
    mono_ms_t down_since; /* when Redis was seen going down; 0 while up (or never up) */
    int holding;      /* the retry timer is a grace hold, not a budget wait */
    int paced;        /* weight_set_pace */
    const struct servertime *clock; /* exchange clock (borrowed), NULL: local */
    int64_t timeout_ms;  /* a take's deadline for Redis */
    uint64_t next_id, asked_id; /* take ids; the one the FCALL in flight asks for */
    ev_timer kick;    /* zero timer: serve the queue from the loop */
    ev_timer retry;   /* the head waits for this */
    ev_timer dl;      /* the head's deadline */
    int64_t local_minute, local_used, local_stop_until;
    struct weight_stats st;
};

static void wb_pump(struct weight_budget *wb);

/* Now on the exchange clock: the minute keys and the budget's waits follow it. */
static wall_ms_t wb_now(const struct weight_budget *wb)
{
    return wb->clock ? servertime_now(wb->clock) : timebase_wall_ms();
}

/* Arms the deadline timer for the head (the earliest deadline), or stops it. */
static void wb_arm_deadline(struct weight_budget *wb)
{
    ev_timer_stop(wb->loop, &wb->dl);
    if (!wb->head || wb->freeing) return;
    int64_t left = wb->head->deadline - timebase_mono_ms();
    ev_timer_set(&wb->dl, left > 0 ? (double)left / 1000.0 : 0.0, 0.0);
    ev_timer_start(wb->loop, &wb->dl);
}

/* The budget named a wait: every queued take waits for it, not for Redis. */
static void wb_extend_deadlines(struct weight_budget *wb, int64_t wait_ms)
{
    mono_ms_t d = timebase_mono_ms() + wait_ms + wb->timeout_ms;
    for (struct wtake *t = wb->head; t; t = t->next)
        if (t->deadline < d) t->deadline = d;
    wb_arm_deadline(wb);
}

/* Frees a budget marked by weight_free once nothing can still reach it. */
static void wb_release_if_done(struct weight_budget *wb)
{
    if (wb->freeing && !wb->inflight && wb->depth == 0) free(wb);
}

static int64_t wb_budget(const struct weight_budget *wb)
{
    return wb->limit * wb->percent / 100;
}

/* The weight the head asks for: a request heavier than the whole budget could never fit and
 * would block the FIFO for good, so it counts as the whole budget (it then goes alone in a
 * minute that is otherwise empty; Binance's header and 429 answers stay the backstop). */
static int64_t wb_head_weight(const struct weight_budget *wb)
{
    int64_t w = wb->head->weight, budget = wb_budget(wb);
    return w > budget && budget > 0 ? budget : w;
}

static void wb_kick(struct weight_budget *wb)
{
    if (!wb->freeing && !ev_is_active(&wb->retry) && !ev_is_active(&wb->kick))
        ev_timer_start(wb->loop, &wb->kick);
}

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct weight_budget *wb = w->data;
    (void)loop;
    (void)revents;
    wb->depth++;
    wb_pump(wb);
    wb->depth--;
    wb_release_if_done(wb);
}

static void wb_wait(struct weight_budget *wb, int64_t wait_ms)
{
    if (!wb->head->waited) {
        wb->head->waited = 1;
        wb->st.waits++;
    }
    if (wait_ms < WEIGHT_RETRY_MIN_MS) wait_ms = WEIGHT_RETRY_MIN_MS;
    wb_extend_deadlines(wb, wait_ms);
    wb->holding = 0;
    ev_timer_stop(wb->loop, &wb->retry);
    ev_timer_set(&wb->retry, (double)wait_ms / 1000.0, 0.0);
    ev_timer_start(wb->loop, &wb->retry);
}

/* Pops the head and runs its callback, which may call weight_free (wb->freeing then). */
static void wb_grant(struct weight_budget *wb)
{
    struct wtake *t = wb->head;
    wb->head = t->next;
    if (!wb->head) wb->tail = NULL;
    wb->st.taken += t->weight;
    weight_grant_fn *fn = t->fn;
    void *pd = t->privdata;
    free(t);
    wb_arm_deadline(wb);
    fn(WEIGHT_GRANTED, pd);
}

static void local_roll(struct weight_budget *wb, wall_ms_t now)
{
    int64_t minute = timebase_utc_minute(now);
    if (minute != wb->local_minute) {
        wb->local_minute = minute;
        wb->local_used = 0;
    }
}

/* Serves the head from the local count. Returns 1 if granted. */
static int wb_take_local(struct weight_budget *wb)
{
    wall_ms_t now = wb_now(wb);
    if (!wb->warned_local) {
        log_warn("weight budget: Redis unavailable, using a local count", "ip=%s", wb->ip);
        wb->warned_local = 1;
    }
    local_roll(wb, now);
    wall_ms_t wall = timebase_wall_ms(); /* stops are durations: kept on the local clock */
    if (wb->local_stop_until > wall) {
        wb_wait(wb, wb->local_stop_until - wall);
        return 0;
    }
    if (wb->local_used + wb_head_weight(wb) > wb_budget(wb)) {
        wb_wait(wb, 60000 - now % 60000);
        return 0;
    }
    wb->local_used += wb_head_weight(wb);
    wb->st.used_minute = wb->local_used;
    return 1;
}

/* Pops the head and tells it the request must not go out (WEIGHT_TIMEDOUT): it waited for Redis
 * as long as it may (its deadline, or the grace of an outage). Its callback may free wb. */
static void wb_fail_head(struct weight_budget *wb)
{
    struct wtake *t = wb->head;
    wb->head = t->next;
    if (!wb->head) wb->tail = NULL;
    wb->st.timeouts++;
    weight_grant_fn *fn = t->fn;
    void *pd = t->privdata;
    free(t);
    fn(WEIGHT_TIMEDOUT, pd);
}

/* Redis is unavailable past the grace: a request sent now could not have its results written
 * (issue 8, item 10), so the head fails instead of taking the local count. Only a budget with
 * no Redis at all, or with no hold (grace_ms < 0), counts locally. Returns 1 when it failed. */
static int wb_give_up(struct weight_budget *wb)
{
    if (wb->grace_ms < 0 || !wb->rc) return 0;
    if (!wb->warned_local) {
        log_warn("weight budget: Redis unavailable, requests not sent", "ip=%s", wb->ip);
        wb->warned_local = 1;
    }
    wb_fail_head(wb);
    return 1;
}

/* Holds the queue for Redis instead of the local count: before the first up (until the up
 * event), and within the grace after it went down (until then). Returns 1 when held. */
static int wb_hold(struct weight_budget *wb)
{
    if (wb->grace_ms < 0 || !wb->rc) return 0; /* no hold, or no Redis at all */
    if (!wb->ever_up) return 1;
    mono_ms_t now = timebase_mono_ms();
    if (!wb->down_since) wb->down_since = now;
    int64_t left = wb->down_since + wb->grace_ms - now;
    if (left <= 0) return 0;
    ev_timer_stop(wb->loop, &wb->retry);
    ev_timer_set(&wb->retry, (double)left / 1000.0, 0.0);
    ev_timer_start(wb->loop, &wb->retry);
    wb->holding = 1;
    return 1;
}

static int reply_int(const redisReply *r, size_t i, long long *out)
{
    if (i >= r->elements || r->element[i]->type != REDIS_REPLY_INTEGER) return -1;
    *out = r->element[i]->integer;
    return 0;
}

static void take_answered(struct weight_budget *wb, const struct redisReply *reply);

static void on_take_reply(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct weight_budget *wb = privdata;
    (void)rc;
    wb->inflight = 0;
    if (wb->freeing || !wb->head) {
        wb_release_if_done(wb);
        return;
    }
    wb->depth++;
    take_answered(wb, reply);
    wb->depth--;
    wb_release_if_done(wb);
}

static void take_answered(struct weight_budget *wb, const struct redisReply *reply)
{
    long long granted, used, wait_ms;
    if (!reply && wb->grace_ms >= 0) { /* lost in flight: the connection went down */
        if (!wb->down_since) wb->down_since = timebase_mono_ms();
        wb_kick(wb);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply_int(reply, 0, &granted) ||
        reply_int(reply, 1, &used) || reply_int(reply, 2, &wait_ms)) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_warn("weight budget: bfq_weight_take failed", "err=\"%s\"", reply->str);
        if (!wb_give_up(wb) && wb_take_local(wb)) wb_grant(wb);
        wb_kick(wb);
        return;
    }
    if (!wb->head || wb->head->id != wb->asked_id) { /* its take passed its deadline */
        wb_kick(wb);
        return;
    }
    wb->warned_local = 0;
    local_roll(wb, wb_now(wb));
    wb->local_used = used; /* the fallback starts from what Redis knew */
    wb->st.used_minute = used;
    if (granted == 1) {
        wb->st.stopped_until = 0;
        wb_grant(wb);
        wb_kick(wb);
    } else {
        wb_wait(wb, wait_ms);
    }
}

static void minute_key(const struct weight_budget *wb, int64_t minute, char *buf, size_t cap)
{
    snprintf(buf, cap, "%sweight:%s:%lld", wb->prefix, wb->ip, (long long)minute);
}

static void stop_key(const struct weight_budget *wb, char *buf, size_t cap)
{
    snprintf(buf, cap, "%sweight:%s:stop", wb->prefix, wb->ip);
}

/* Asks Redis for the head's weight. Returns 0 when the call went out. */
static int wb_ask_redis(struct weight_budget *wb)
{
    char mk[WEIGHT_KEY_MAX], sk[WEIGHT_KEY_MAX], w[24], budget[24], now[24];
    if (!wb->rc || !rconn_is_up(wb->rc)) return -1;
    wall_ms_t t = wb_now(wb);
    minute_key(wb, timebase_utc_minute(t), mk, sizeof mk);
    stop_key(wb, sk, sizeof sk);
    snprintf(w, sizeof w, "%lld", (long long)wb_head_weight(wb));
    snprintf(budget, sizeof budget, "%lld", (long long)wb_budget(wb));
    snprintf(now, sizeof now, "%lld", (long long)t);
    const char *argv[] = {"FCALL", "bfq_weight_take", "2", mk, sk, w, budget, now,
                          wb->paced ? "1" : "0"};
    if (rconn_command_argv(wb->rc, on_take_reply, wb, 9, argv, NULL) != 0) return -1;
    wb->inflight = 1;
    wb->asked_id = wb->head->id;
    wb->ever_up = 1;
    wb->down_since = 0;
    return 0;
}

/* Serves the queue head: from Redis when it is up, else (after any hold) locally. Runs from
 * the loop only. */
static void wb_pump(struct weight_budget *wb)
{
    while (!wb->freeing && wb->head && !wb->inflight && !ev_is_active(&wb->retry)) {
        if (wb_ask_redis(wb) == 0) return;
        if (wb_hold(wb)) return;
        if (wb_give_up(wb)) continue; /* may mark wb freeing, as a grant may */
        if (!wb_take_local(wb)) return;
        wb_grant(wb); /* may mark wb freeing; the caller's depth keeps it allocated */
    }
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct weight_budget *wb = w->data;
    wb->holding = 0;
    on_kick(loop, w, revents);
}

/* Fails the takes past their deadline (they waited for Redis that long), then carries on. */
static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct weight_budget *wb = w->data;
    mono_ms_t now = timebase_mono_ms();
    (void)loop;
    (void)revents;
    wb->depth++;
    while (!wb->freeing && wb->head && wb->head->deadline <= now) {
        if (wb->st.timeouts == 0 || (wb->st.timeouts + 1) % 100 == 0)
            log_warn("weight budget: take timed out waiting for Redis, request not sent",
                     "ip=%s ms=%lld count=%lld", wb->ip, (long long)wb->timeout_ms,
                     (long long)wb->st.timeouts + 1);
        wb_fail_head(wb);
    }
    if (!wb->freeing) {
        wb_arm_deadline(wb);
        wb_kick(wb);
    }
    wb->depth--;
    wb_release_if_done(wb);
}

int weight_options_read(struct weight_options *o, struct config *cfg)
{
    return config_duration_ms(cfg, "redis", "command_timeout", WEIGHT_TIMEOUT_MS, 100, 60000,
                              &o->timeout_ms);
}

struct weight_budget *weight_new(struct ev_loop *loop, struct rconn *rc,
                                 const struct weight_options *opts)
{
    struct weight_budget *wb;
    const char *prefix = opts && opts->prefix ? opts->prefix : "bfq:";
    const char *ip = opts && opts->ip && opts->ip[0] ? opts->ip : "default";
    if (!opts || opts->limit <= 0 || opts->limit > WEIGHT_LIMIT_MAX || opts->percent < 0 ||
        opts->percent > 100)
        return NULL;
    if (strlen(prefix) >= sizeof wb->prefix || strlen(ip) >= sizeof wb->ip) return NULL;
    wb = calloc(1, sizeof *wb);
    if (!wb) return NULL;
    wb->loop = loop;
    wb->rc = rc;
    memcpy(wb->prefix, prefix, strlen(prefix) + 1);
    memcpy(wb->ip, ip, strlen(ip) + 1);
    wb->limit = opts->limit;
    wb->percent = opts->percent ? opts->percent : 90;
    wb->grace_ms = opts->grace_ms ? opts->grace_ms : WEIGHT_GRACE_MS;
    wb->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : WEIGHT_TIMEOUT_MS;
    ev_timer_init(&wb->dl, on_deadline, 0.0, 0.0);
    wb->dl.data = wb;
    ev_timer_init(&wb->kick, on_kick, 0.0, 0.0);
    wb->kick.data = wb;
    ev_timer_init(&wb->retry, on_retry, 0.0, 0.0);
    wb->retry.data = wb;
    return wb;
}

void weight_free(struct weight_budget *wb)
{
    struct wtake *t;
    if (!wb) return;
    ev_timer_stop(wb->loop, &wb->kick);
    ev_timer_stop(wb->loop, &wb->retry);
    ev_timer_stop(wb->loop, &wb->dl);
    while ((t = wb->head) != NULL) {
        wb->head = t->next;
        t->fn(WEIGHT_FREED, t->privdata);
        free(t);
    }
    wb->tail = NULL;
    wb->freeing = 1;
    wb_release_if_done(wb); /* else by on_take_reply or the entry point on the stack */
}

void weight_take(struct weight_budget *wb, int weight, weight_grant_fn *fn, void *privdata)
{
    struct wtake *t = calloc(1, sizeof *t);
    bfq_assert(t != NULL); /* a few bytes; nothing sane to do without them */
    t->weight = weight < 0 ? 0 : weight;
    t->fn = fn;
    t->privdata = privdata;
    t->id = ++wb->next_id;
    t->deadline = timebase_mono_ms() + wb->timeout_ms;
    if (wb->tail && wb->tail->deadline > t->deadline) t->deadline = wb->tail->deadline;
    if (wb->tail)
        wb->tail->next = t;
    else
        wb->head = t;
    wb->tail = t;
    if (wb->head == t) wb_arm_deadline(wb);
    wb_kick(wb);
}

void weight_redis_state(struct weight_budget *wb, int up)
{
    if (!up) {
        if (!wb->down_since) wb->down_since = timebase_mono_ms();
        return;
    }
    wb->ever_up = 1;
    wb->down_since = 0;
    if (wb->holding) {
        ev_timer_stop(wb->loop, &wb->retry);
        wb->holding = 0;
    }
    wb_kick(wb);
}

/* The minute the exchange counted a request in, from its local send and answer times: the
 * request arrived in between, and the exchange clock is known to within the sync's rtt/2.
 * Returns 0 with *minute, or -1 when that span touches two minutes (or the clock is unknown). */
static int answer_minute(const struct weight_budget *wb, const struct weight_answer *a,
                         int64_t *minute)
{
    int64_t off = 0, err = WEIGHT_EDGE_MS;
    if (a->sent_ms <= 0 || a->done_ms < a->sent_ms) return -1;
    if (wb->clock) {
        if (!wb->clock->synced_at) return -1; /* not synced (yet, or since a -1021) */
        off = wb->clock->offset_ms;
        err += wb->clock->rtt_ms / 2;
    }
    int64_t lo = timebase_utc_minute(a->sent_ms + off - err);
    if (lo != timebase_utc_minute(a->done_ms + off + err)) return -1;
    *minute = lo;
    return 0;
}

/* Raises the count of that minute to the header's value (Redis never lowers it). */
static void wb_seen(struct weight_budget *wb, const struct weight_answer *a)
{
    char key[WEIGHT_KEY_MAX], num[24];
    int64_t minute;
    if (answer_minute(wb, a, &minute) != 0) {
        wb->st.ignored++;
        return;
    }
    local_roll(wb, wb_now(wb));
    if (minute == wb->local_minute) {
        if (a->used_weight_1m > wb->local_used) wb->local_used = a->used_weight_1m;
        if (a->used_weight_1m > wb->st.used_minute) wb->st.used_minute = a->used_weight_1m;
    }
    if (!wb->rc || !rconn_is_up(wb->rc)) return;
    minute_key(wb, minute, key, sizeof key);
    snprintf(num, sizeof num, "%lld", (long long)a->used_weight_1m);
    const char *argv[] = {"FCALL", "bfq_weight_seen", "1", key, num};
    if (rconn_command_argv(wb->rc, NULL, NULL, 5, argv, NULL) != 0)
        log_debug("weight budget: bfq_weight_seen not sent", "ip=%s", wb->ip);
}

static void wb_stop(struct weight_budget *wb, int64_t retry_after_ms)
{
    char key[WEIGHT_KEY_MAX], num[24];
    wall_ms_t now = timebase_wall_ms();
    if (now + retry_after_ms > wb->local_stop_until) wb->local_stop_until = now + retry_after_ms;
    wb->st.stopped_until = wb->local_stop_until;
    log_warn("weight budget: IP stopped", "ip=%s ms=%lld", wb->ip, (long long)retry_after_ms);
    if (wb->rc && rconn_is_up(wb->rc)) {
        stop_key(wb, key, sizeof key);
        snprintf(num, sizeof num, "%lld", (long long)retry_after_ms);
        const char *argv[] = {"FCALL", "bfq_weight_stop", "1", key, num};
        if (rconn_command_argv(wb->rc, NULL, NULL, 5, argv, NULL) != 0)
            log_debug("weight budget: bfq_weight_stop not sent", "ip=%s", wb->ip);
    }
}

void weight_answer(struct weight_budget *wb, const struct weight_answer *a)
{
    if (a->used_weight_1m >= 0) wb_seen(wb, a);
    if (a->retry_after_ms > 0) wb_stop(wb, a->retry_after_ms);
}

void weight_observe(struct weight_budget *wb, int64_t used_weight_1m, int64_t retry_after_ms)
{
    (void)used_weight_1m; /* its minute is unknown here: see weight.h */
    if (retry_after_ms > 0) wb_stop(wb, retry_after_ms);
}

void weight_set_clock(struct weight_budget *wb, const struct servertime *clock)
{
    wb->clock = clock;
}

void weight_drop_clock(struct weight_budget *wb, const struct servertime *clock)
{
    if (wb->clock == clock) wb->clock = NULL;
}

void weight_set_pace(struct weight_budget *wb, int on)
{
    wb->paced = on != 0;
}

void weight_set_limit(struct weight_budget *wb, int64_t limit)
{
    if (limit <= 0 || limit > WEIGHT_LIMIT_MAX) return; /* e.g. a garbled exchangeInfo */
    wb->limit = limit;
    ev_timer_stop(wb->loop, &wb->retry); /* the head may fit now */
    wb_kick(wb);
}

struct weight_stats weight_stats(const struct weight_budget *wb)
{
    struct weight_stats s = wb->st;
    if (s.stopped_until && s.stopped_until <= timebase_wall_ms()) s.stopped_until = 0;
    s.budget = wb_budget(wb);
    return s;
}
