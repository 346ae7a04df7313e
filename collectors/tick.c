/* tick: `bfq tick`, all-symbol book tickers fired only inside this instance's time slots.
 *
 * Each instance takes a never-reused id (INCR <prefix>cursor:tick) and holds a lease in
 * <prefix>tick:members, renewed every lease period (500 ms) by the Lua function
 * bfq_tick_lease, which prunes expired leases and answers the live ones. From them the instance
 * derives its slot plan (collectors/slots.h: rank k of N, rate R from the per-IP weight budget
 * shared with the instances on the same IP, from the weight limit known at that renewal: the
 * exchangeInfo limit read from Redis re-plans within one lease period) and fires GET /fapi/v1/ticker/bookTicker (weight 5)
 * at the wall-clock times (j + k/N)/R through an ev_periodic whose reschedule callback asks
 * slots_next_fire: no busy loop, and a join or a death re-spreads the fleet within one lease
 * TTL (2.5 s; a clean exit leaves at once).
 *
 * Each answer goes through tickparse (match by symbol, universe only, validated, symbols not
 * newer than this process already sent left out) into ONE bfq_merge batch on <prefix>ticks;
 * Redis keeps the freshest record per symbol and publishes the changed ones on <prefix>ch:tick.
 * A bad answer writes nothing, is counted in the heartbeat and the next slot goes on; 429/418 stop
 * the IP through the shared weight budget; a 5xx, a timeout or a transport error pauses the
 * slots (collectors/xpause: 250 ms growing to 5 s, reset by the next good answer), so an exchange
 * in maintenance is not asked once per slot. The universe (<prefix>universe) is reloaded every [tick]
 * universe_refresh and within one lease period of a change: each period reads
 * <prefix>universe:version, which bfq_universe bumps together with its publish on
 * <prefix>ch:universe. Polling that one small key keeps the collector on a single Redis connection
 * and within a collector's ACL (no SUBSCRIBE).
 *
 * Slots are skipped (and counted) while Redis is down, while the universe is empty, when
 * [tick] max_in_flight requests are still out (a hung exchange cannot pile up requests), or
 * during a back-off pause. */
#include "collectors/tick.h"

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/slots.h"
#include "collectors/tickparse.h"
#include "collectors/xpause.h"
#include "core/heartbeat.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define TICK_PATH "/fapi/v1/ticker/bookTicker"
#define TICK_WEIGHT 5
#define TICK_LEASE_PERIOD_S 0.5
#define TICK_KEY_MAX 256

struct tick {
    struct role role;
    struct tick_universe uni;
    struct slots_member *members; /* SLOTS_MEMBERS_MAX scratch entries for lease replies */
    /* configuration */
    int64_t rate_cap, lease_ttl_ms, refresh_ms, max_in_flight, budget_pct;
    char k_cursor[TICK_KEY_MAX], k_members[TICK_KEY_MAX], k_universe[TICK_KEY_MAX];
    char k_uni_version[TICK_KEY_MAX];
    char uni_version[32]; /* version of the loaded universe, "" = unknown */
    /* slot state */
    struct slots_member self; /* id 0 until INCR answered */
    char member[SLOTS_MEMBER_MAX];
    struct slots_plan plan;
    int planned, id_pending, lease_pending, universe_pending, version_pending;
    ev_periodic fire;
    ev_timer lease;
    double sched, last;    /* current and previous slot (wall seconds) */
    mono_ms_t universe_at; /* last universe load, 0 = never */
    int in_flight;
    struct xpause pause; /* exchange trouble: the slots pause */
    /* counters for the heartbeat */
    int64_t fired, skipped_busy, skipped_empty, skipped_down, skipped_backoff, refused, batches,
        changed;
    int64_t dropped; /* malformed entries left out of answers otherwise taken */
    int64_t write_errors, lease_errors, replans, max_t, unchanged;
};

static const struct cli_option tick_options[] = {
    {"rate", "N", NULL, NULL,
     "most requests a second of this instance (default 8); the IP's weight budget, shared by "
     "the instances on that IP, may lower it",
     0},
    {"lease-ttl", "DURATION", NULL, NULL, "slot lease lifetime (default 2500ms)", 0},
    {"universe-refresh", "DURATION", NULL, NULL,
     "reload the universe at least this often "
     "(default 30s)",
     0},
    {"max-in-flight", "N", NULL, NULL,
     "requests out at once before slots are skipped "
     "(default 4)",
     0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command tick_cli = {
    .name = "tick",
    .summary = "all-symbol book tickers, fired inside this instance's slots of each second",
    .usage = "Instances share each second: instance k of N live ones fires at (j + k/N)/R s.\n"
             "[exchange] timeout defaults to 1s for this command.\n",
    .options = tick_options,
    .role_options = 1,
    .keys = NULL, /* every [tick] key is an option */
};

/* ---- universe ------------------------------------------------------------------------- */

static void tick_universe_reply(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct tick *t = privdata;
    (void)rc;
    t->universe_pending = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        log_warn("universe read failed, kept the old one", "err=\"%s\"",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply");
        return;
    }
    size_t n = reply->elements;
    const char **syms = calloc(n ? n : 1, sizeof *syms);
    if (!syms) return;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING) syms[m++] = reply->element[i]->str;
    size_t before = t->uni.n;
    if (tick_universe_set(&t->uni, syms, m) < 0)
        log_warn("universe too large or out of memory, kept the old one", "n=%zu", m);
    else
        t->universe_at = timebase_mono_ms();
    free(syms);
    if (t->uni.n != before) log_info("universe loaded", "symbols=%zu", t->uni.n);
}

static void tick_universe_load(struct tick *t)
{
    if (t->universe_pending) return;
    if (rconn_command(t->role.rc, tick_universe_reply, t, "LRANGE %s 0 -1", t->k_universe) == 0)
        t->universe_pending = 1;
}

/* Reply of GET <prefix>universe:version: reload when it moved. */
static void tick_version_reply(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct tick *t = privdata;
    (void)rc;
    t->version_pending = 0;
    if (!reply || reply->type != REDIS_REPLY_STRING || reply->len >= sizeof t->uni_version)
        return; /* no version key: the periodic refresh covers it */
    if (strcmp(reply->str, t->uni_version) != 0) {
        memcpy(t->uni_version, reply->str, reply->len + 1);
        tick_universe_load(t);
    }
}

static void tick_universe_check(struct tick *t)
{
    if (t->universe_at == 0 || timebase_mono_ms() - t->universe_at >= t->refresh_ms) {
        tick_universe_load(t);
        return;
    }
    if (!t->version_pending &&
        rconn_command(t->role.rc, tick_version_reply, t, "GET %s", t->k_uni_version) == 0)
        t->version_pending = 1;
}

/* ---- slot plan -------------------------------------------------------------------------- */

static ev_tstamp tick_reschedule(ev_periodic *w, ev_tstamp now)
{
    struct tick *t = w->data;
    if (t->sched > 0 && now >= t->sched) t->last = t->sched;
    t->sched = slots_next_fire(&t->plan, now, t->last, 0.5 / t->plan.rate);
    return t->sched;
}

static void tick_apply_plan(struct tick *t, const struct slots_plan *p)
{
    if (t->planned && slots_plan_equal(&t->plan, p)) return;
    t->plan = *p;
    t->replans++;
    log_info("slots", "id=%lld k=%d n=%d ip_n=%d rate=%.3f", (long long)t->self.id, p->k, p->n,
             p->ip_n, p->rate);
    if (!t->planned) {
        t->planned = 1;
        ev_periodic_start(t->role.loop, &t->fire);
    } else {
        ev_periodic_again(t->role.loop, &t->fire);
    }
    heartbeat_beat(t->role.hb);
}

/* Reply of bfq_tick_lease: {now_ms, {member...}}. */
static void tick_lease_reply(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct tick *t = privdata;
    (void)rc;
    t->lease_pending = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        t->lease_errors++;
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_warn("lease renewal failed, slots kept", "err=\"%s\"", reply->str);
        return;
    }
    redisReply *list = reply->element[1];
    int n = 0;
    for (size_t i = 0; i < list->elements && n < SLOTS_MEMBERS_MAX; i++) {
        redisReply *e = list->element[i];
        if (e->type == REDIS_REPLY_STRING &&
            slots_member_parse(e->str, e->len, &t->members[n]) == 0)
            n++;
    }
    struct slots_plan p;
    /* the limit known now: the role learns exchangeInfo's from Redis after start-up */
    int64_t budget = t->role.weight_limit * t->budget_pct / 100;
    slots_plan_compute(t->members, n, &t->self, budget, TICK_WEIGHT, (double)t->rate_cap, &p);
    tick_apply_plan(t, &p);
}

static void tick_lease_send(struct tick *t, const char *op)
{
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)t->lease_ttl_ms);
    const char *argv[] = {"FCALL", "bfq_tick_lease", "1", t->k_members, t->member, ttl, op};
    if (rconn_command_argv(t->role.rc, tick_lease_reply, t, 7, argv, NULL) == 0)
        t->lease_pending = 1;
}

static void tick_id_reply(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct tick *t = privdata;
    (void)rc;
    t->id_pending = 0;
    if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0) {
        log_warn("slot id not granted, retrying", "err=\"%s\"",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply");
        return;
    }
    t->self.id = reply->integer;
    if (slots_member_format(t->member, sizeof t->member, t->self.id, t->self.ip, t->self.instance) <
        0) {
        log_error("instance or source ip unusable in a lease member", "instance=%s",
                  t->self.instance);
        role_stop(&t->role);
        return;
    }
    log_info("slot id", "id=%lld", (long long)t->self.id);
    tick_lease_send(t, "renew");
}

/* Every lease period: id, lease, universe, whichever is due. */
static void tick_chores(struct tick *t)
{
    if (role_stopping(&t->role) || !role_redis_up(&t->role)) return;
    if (t->self.id == 0) {
        if (!t->id_pending &&
            rconn_command(t->role.rc, tick_id_reply, t, "INCR %s", t->k_cursor) == 0)
            t->id_pending = 1;
    } else if (!t->lease_pending) {
        tick_lease_send(t, "renew");
    }
    tick_universe_check(t);
}

static void tick_lease_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    tick_chores(w->data);
}

static void tick_redis_up(struct role *r, void *privdata)
{
    struct tick *t = privdata;
    (void)r;
    tick_universe_forget(&t->uni); /* Redis may have lost what we wrote */
    tick_chores(t);
}

/* ---- requests and answers -------------------------------------------------------------- */

static void tick_written(int64_t value, const char *err, void *privdata)
{
    struct tick *t = privdata;
    if (err) {
        t->write_errors++;
        tick_universe_forget(&t->uni); /* send everything again next time */
        log_warn("tick batch not written", "err=\"%s\"", err);
        return;
    }
    t->batches++;
    t->changed += value;
}

static void tick_answer(const struct binance_result *res, void *privdata)
{
    struct tick *t = privdata;
    t->in_flight--;
    if (!role_stopping(&t->role)) xpause_note(&t->pause, res->outcome); /* trouble: fewer */
    if (role_count_result(&t->role, res, "bookTicker") < 0 || role_stopping(&t->role)) return;
    struct tickparse_stats st;
    struct recon_batch *b = tickparse_batch_new(t->role.prefix);
    if (!b) {
        t->write_errors++;
        return;
    }
    t->uni.time_limit = binance_time_limit(t->role.bc);
    if (tickparse_fill(res->json, &t->uni, b, &st) < 0) {
        t->refused++;
        role_count_invalid(&t->role, "bookTicker", st.err);
        recon_batch_free(b);
        return;
    }
    t->dropped += (int64_t)st.dropped;
    if (st.future > 0 || st.dropped > 0) /* those entries left out, the others kept */
        role_count_invalid(&t->role, "bookTicker", st.err);
    if (st.max_t > t->max_t) t->max_t = st.max_t;
    t->unchanged += (int64_t)st.same;
    if (recon_batch_count(b) == 0) {
        recon_batch_free(b);
        return;
    }
    if (recon_batch_send(t->role.rc, b, tick_written, t) < 0) {
        t->write_errors++;
        tick_universe_forget(&t->uni);
    }
}

static void tick_fire(struct ev_loop *loop, ev_periodic *w, int revents)
{
    struct tick *t = w->data;
    (void)loop;
    (void)revents;
    if (role_stopping(&t->role)) return;
    t->fired++;
    if (!role_redis_up(&t->role)) {
        t->skipped_down++;
        return;
    }
    if (t->uni.n == 0) {
        t->skipped_empty++;
        return;
    }
    if (t->in_flight >= t->max_in_flight) {
        t->skipped_busy++;
        return;
    }
    /* in trouble: wait out the pause, then one probe at a time until an answer is good */
    if (xpause_holds(&t->pause, t->in_flight)) {
        t->skipped_backoff++;
        return;
    }
    if (binance_request(t->role.bc, "GET", TICK_PATH, NULL, NULL, BINANCE_PUBLIC, TICK_WEIGHT,
                        tick_answer, t) < 0) {
        t->skipped_busy++;
        return;
    }
    t->in_flight++;
    role_count_weight(&t->role, TICK_WEIGHT);
}

/* ---- heartbeat, configuration, life cycle ------------------------------------------ */

static void tick_fill(struct role *r, json_t *obj, void *privdata)
{
    struct tick *t = privdata;
    (void)r;
    json_t *slot = json_object();
    json_object_set_new(slot, "id", json_integer(t->self.id));
    json_object_set_new(slot, "k", json_integer(t->plan.k));
    json_object_set_new(slot, "n", json_integer(t->plan.n));
    json_object_set_new(slot, "ip_n", json_integer(t->plan.ip_n));
    json_object_set_new(slot, "rate", json_real(t->plan.rate));
    json_object_set_new(obj, "slot", slot);
    json_object_set_new(obj, "ip", json_string(t->self.ip));
    json_object_set_new(obj, "universe", json_integer((json_int_t)t->uni.n));
    json_object_set_new(obj, "fired", json_integer(t->fired));
    json_object_set_new(obj, "skipped_busy", json_integer(t->skipped_busy));
    json_object_set_new(obj, "skipped_empty", json_integer(t->skipped_empty));
    json_object_set_new(obj, "skipped_down", json_integer(t->skipped_down));
    json_object_set_new(obj, "skipped_backoff", json_integer(t->skipped_backoff));
    json_object_set_new(obj, "refused", json_integer(t->refused));
    json_object_set_new(obj, "dropped", json_integer(t->dropped));
    json_object_set_new(obj, "batches", json_integer(t->batches));
    json_object_set_new(obj, "changed", json_integer(t->changed));
    json_object_set_new(obj, "unchanged", json_integer(t->unchanged));
    json_object_set_new(obj, "write_errors", json_integer(t->write_errors));
    json_object_set_new(obj, "lease_errors", json_integer(t->lease_errors));
    json_object_set_new(obj, "replans", json_integer(t->replans));
    json_object_set_new(obj, "max_t", json_integer(t->max_t));
}

static int tick_read_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct tick *t = state;
    (void)err;
    (void)cap; /* the config's own error says it all */
    if (!config_get(cfg, "exchange", "timeout")) config_set(cfg, "exchange", "timeout", "1s");
    if (config_int(cfg, "tick", "rate", 8, 1, 1000, &t->rate_cap) < 0 ||
        config_duration_ms(cfg, "tick", "lease_ttl", 2500, 1000, 60000, &t->lease_ttl_ms) < 0 ||
        config_duration_ms(cfg, "tick", "universe_refresh", 30000, 1000, 3600000, &t->refresh_ms) <
            0 ||
        config_int(cfg, "tick", "max_in_flight", 4, 1, 64, &t->max_in_flight) < 0)
        return -1;
    return 0;
}

/* What needs the role: key names, the budget, self, watchers. */
static int tick_setup(struct role *r, void *state, char *err, size_t cap)
{
    struct tick *t = state;
    struct config *cfg = r->cfg;
    if (config_int(cfg, "exchange", "weight_budget_percent", 90, 1, 100, &t->budget_pct) < 0) {
        snprintf(err, cap, "%s", config_errstr(cfg));
        return -1;
    }
    if (role_key(r, t->k_cursor, TICK_KEY_MAX, "cursor:tick") < 0 ||
        role_key(r, t->k_members, TICK_KEY_MAX, "tick:members") < 0 ||
        role_key(r, t->k_universe, TICK_KEY_MAX, "universe") < 0 ||
        role_key(r, t->k_uni_version, TICK_KEY_MAX, "universe:version") < 0) {
        snprintf(err, cap, "[redis] prefix too long");
        return -1;
    }
    snprintf(t->self.ip, sizeof t->self.ip, "%s", r->weight_ip);
    snprintf(t->self.instance, sizeof t->self.instance, "%s", r->instance);
    t->plan = (struct slots_plan){.k = 0, .n = 1, .ip_n = 1, .rate = 1.0};
    xpause_init(&t->pause);
    ev_periodic_init(&t->fire, tick_fire, 0., 0., tick_reschedule);
    t->fire.data = t;
    ev_timer_init(&t->lease, tick_lease_timer, TICK_LEASE_PERIOD_S, TICK_LEASE_PERIOD_S);
    t->lease.data = t;
    ev_timer_start(r->loop, &t->lease);
    return 0;
}

/* Stops the slots and leaves the fleet at once, so the others re-spread without waiting for
 * the lease to expire; role_fini then drains Redis. */
static void tick_shutdown(struct role *r, void *state)
{
    struct tick *t = state;
    ev_periodic_stop(r->loop, &t->fire);
    ev_timer_stop(r->loop, &t->lease);
    if (t->self.id > 0 && role_redis_up(r)) {
        char ttl[32];
        snprintf(ttl, sizeof ttl, "%lld", (long long)t->lease_ttl_ms);
        const char *argv[] = {"FCALL", "bfq_tick_lease", "1", t->k_members, t->member,
                              ttl,     "leave"};
        (void)rconn_command_argv(r->rc, NULL, NULL, 7, argv, NULL);
    }
}

static const struct role_entry tick_entry = {
    .cmd = &tick_cli,
    .opts = {.lua_library = bfq_lua_library, .up = tick_redis_up, .fill = tick_fill},
    .config = tick_read_config,
    .start = tick_setup,
    .stop = tick_shutdown,
};

int tick_main(int argc, char **argv)
{
    struct tick *t = calloc(1, sizeof *t);
    if (t) t->members = calloc(SLOTS_MEMBERS_MAX, sizeof *t->members);
    if (!t || !t->members) {
        fprintf(stderr, "bfq tick: out of memory\n");
        free(t);
        return 1;
    }
    int rc = role_main(&tick_entry, &t->role, t, argc, argv);
    tick_universe_free(&t->uni);
    free(t->members);
    free(t);
    return rc;
}
