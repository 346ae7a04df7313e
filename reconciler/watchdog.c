/* watchdog: silent, stale and disagreeing account sources (see watchdog.h).
 *
 * One tick reads 2 hashes per source with HGETALL (pipelined on the role's connection); when
 * the last reply is in, the flags wanted now are computed and compared with the flags written
 * before: new ones are HSET and logged as alerts, vanished ones HDEL'd and logged as cleared.
 * A tick that finds the previous one still waiting for Redis is skipped. */
#include "reconciler/watchdog.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define WD_KEY_MAX 256

struct wd;

struct wd_reply_ctx {
    struct wd *w;
    int idx;
    int view; /* 0: src hash, 1: view hash */
};

struct wd {
    struct role r;
    struct wd_limits lim;
    int n;
    struct wd_source src[WATCHDOG_SOURCES_MAX];
    struct wd_reply_ctx ctx[WATCHDOG_SOURCES_MAX * 2];
    char flags_key[WD_KEY_MAX], channel[WD_KEY_MAX];
    int pending;
    int reset_flags;
    int stale;
    json_t *written;        /* flag -> since (wall ms) as written to Redis */
    json_t *disagree_since; /* field -> wall ms the disagreement was first seen */
    ev_timer timer;
    int64_t every_ms, ticks, alerts;
};

/* ---- evaluation (pure) ------------------------------------------------------------------- */

static int rec_amt(const json_t *rec, struct dec *amt, int64_t *t)
{
    const char *s = json_string_value(json_object_get(rec, "amt"));
    const json_t *tv = json_object_get(rec, "t");
    if (!s || !json_is_integer(tv) || dec_parse(s, (size_t)-1, amt) != DEC_OK) return -1;
    *t = json_integer_value(tv);
    return 0;
}

static void wd_pair(const struct wd_source *a, const struct wd_source *b,
                    const struct wd_limits *lim, json_t *out)
{
    const char *field;
    json_t *ra;
    json_object_foreach(a->view, field, ra) {
        const json_t *rb = json_object_get(b->view, field);
        struct dec da, db;
        int64_t ta, tb;
        if (!rb || rec_amt(ra, &da, &ta) < 0 || rec_amt(rb, &db, &tb) < 0) continue;
        if (dec_cmp(da, db) == 0) continue;
        /* the older record's source must have reported after the newer record's time */
        int differ = ta == tb || (ta < tb ? a->t >= tb + lim->tolerance_ms
                                          : b->t >= ta + lim->tolerance_ms);
        if (!differ) continue;
        char detail[256];
        snprintf(detail, sizeof detail, "%s=%s@%lld %s=%s@%lld", a->name,
                 json_string_value(json_object_get(ra, "amt")), (long long)ta, b->name,
                 json_string_value(json_object_get(rb, "amt")), (long long)tb);
        json_object_set_new(out, field, json_string(detail));
    }
}

json_t *wd_disagreements(const struct wd_source *src, int n, int64_t now,
                         const struct wd_limits *lim)
{
    json_t *out = json_object();
    for (int i = 0; i < n; i++) {
        if (!src[i].view || !src[i].seen || now - src[i].seen > lim->silent_after_ms) continue;
        for (int j = i + 1; j < n; j++) {
            if (!src[j].view || !src[j].seen || now - src[j].seen > lim->silent_after_ms)
                continue;
            wd_pair(&src[i], &src[j], lim, out);
        }
    }
    return out;
}

/* ---- flags ------------------------------------------------------------------------------ */

static void wd_want_disagreements(struct wd *w, json_t *want, int64_t now)
{
    json_t *d = wd_disagreements(w->src, w->n, now, &w->lim);
    const char *field;
    json_t *v, *tmp;
    json_object_foreach_safe(w->disagree_since, tmp, field, v)
        if (!json_object_get(d, field)) json_object_del(w->disagree_since, field);
    json_object_foreach(d, field, v) {
        json_t *since = json_object_get(w->disagree_since, field);
        if (!since) {
            json_object_set_new(w->disagree_since, field, json_integer(now));
            continue;
        }
        if (now - json_integer_value(since) < w->lim.disagree_after_ms) continue;
        char flag[128];
        snprintf(flag, sizeof flag, "disagree:%s", field);
        json_object_set(want, flag, v);
    }
    json_decref(d);
}

/* The flags wanted now: flag -> detail string. */
static json_t *wd_want(struct wd *w, int64_t now)
{
    json_t *want = json_object();
    int fresh = 0;
    for (int i = 0; i < w->n; i++) {
        int64_t age = w->src[i].seen ? now - w->src[i].seen : -1;
        char flag[64], detail[64];
        if (age >= 0 && age <= w->lim.stale_after_ms) fresh++;
        if (age >= 0 && age <= w->lim.silent_after_ms) continue;
        snprintf(flag, sizeof flag, "silent:%s", w->src[i].name);
        snprintf(detail, sizeof detail, age < 0 ? "never reported" : "age_ms=%lld",
                 (long long)age);
        json_object_set_new(want, flag, json_string(detail));
    }
    if (fresh == 0) json_object_set_new(want, "stale", json_string("every source is old"));
    wd_want_disagreements(w, want, now);
    return want;
}

static void wd_publish_stale(struct wd *w, int stale, int64_t now)
{
    char msg[96];
    snprintf(msg, sizeof msg, "{\"t\":%lld,\"stale\":%s}", (long long)now,
             stale ? "true" : "false");
    (void)rconn_command(w->r.rc, NULL, NULL, "PUBLISH %s %s", w->channel, msg);
    w->stale = stale;
}

static void wd_apply(struct wd *w, json_t *want, int64_t now)
{
    const char *flag;
    json_t *v, *tmp;
    json_object_foreach_safe(w->written, tmp, flag, v) {
        if (json_object_get(want, flag)) continue;
        log_info("alert cleared", "account=%s flag=%s", w->r.account, flag);
        (void)rconn_command(w->r.rc, NULL, NULL, "HDEL %s %s", w->flags_key, flag);
        json_object_del(w->written, flag);
    }
    json_object_foreach(want, flag, v) {
        if (json_object_get(w->written, flag)) continue;
        const char *detail = json_string_value(v);
        log_warn("alert", "account=%s flag=%s detail=\"%s\"", w->r.account, flag, detail);
        w->alerts++;
        json_t *o = json_pack("{s:I,s:s}", "since", (json_int_t)now, "detail", detail);
        char *j = jv_dump(o);
        json_decref(o);
        if (j && rconn_command(w->r.rc, NULL, NULL, "HSET %s %s %s", w->flags_key, flag, j) == 0)
            json_object_set_new(w->written, flag, json_integer(now));
        free(j);
    }
    int stale = json_object_get(want, "stale") != NULL;
    if (stale != w->stale) wd_publish_stale(w, stale, now);
}

static void wd_evaluate(struct wd *w)
{
    int64_t now = timebase_wall_ms();
    if (w->reset_flags) {
        (void)rconn_command(w->r.rc, NULL, NULL, "DEL %s", w->flags_key);
        json_object_clear(w->written);
        w->reset_flags = 0;
    }
    json_t *want = wd_want(w, now);
    wd_apply(w, want, now);
    json_decref(want);
}

/* ---- reading the sources ------------------------------------------------------------------ */

static int64_t reply_int(const redisReply *r, const char *field)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (strcmp(k->str, field)) continue;
        char *end = NULL;
        long long x = strtoll(v->str, &end, 10);
        return end && *end == '\0' ? (int64_t)x : 0;
    }
    return 0;
}

static json_t *reply_view(const redisReply *r)
{
    json_t *view = json_object();
    for (size_t i = 0; view && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        json_t *rec = jv_parse(v->str, v->len, NULL, 0);
        if (json_is_object(rec))
            json_object_set_new(view, k->str, rec);
        else
            json_decref(rec);
    }
    return view;
}

static void wd_reply(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    (void)rc;
    struct wd_reply_ctx *c = privdata;
    struct wd *w = c->w;
    struct wd_source *s = &w->src[c->idx];
    int ok = reply && reply->type == REDIS_REPLY_ARRAY;
    if (c->view) {
        json_decref(s->view);
        s->view = ok ? reply_view(reply) : NULL;
    } else {
        s->seen = ok ? reply_int(reply, "seen") : 0;
        s->t = ok ? reply_int(reply, "t") : 0;
    }
    if (--w->pending == 0 && !role_stopping(&w->r)) wd_evaluate(w);
}

static void wd_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct wd *w = t->data;
    if (w->pending > 0 || !role_redis_up(&w->r)) return;
    w->ticks++;
    for (int i = 0; i < w->n; i++) {
        char src[WD_KEY_MAX], view[WD_KEY_MAX];
        role_key(&w->r, src, sizeof src, "acct:%s:src:%s", w->r.account, w->src[i].name);
        role_key(&w->r, view, sizeof view, "acct:%s:view:%s", w->r.account, w->src[i].name);
        w->ctx[2 * i] = (struct wd_reply_ctx){w, i, 0};
        w->ctx[2 * i + 1] = (struct wd_reply_ctx){w, i, 1};
        if (rconn_command(w->r.rc, wd_reply, &w->ctx[2 * i], "HGETALL %s", src) == 0)
            w->pending++;
        if (rconn_command(w->r.rc, wd_reply, &w->ctx[2 * i + 1], "HGETALL %s", view) == 0)
            w->pending++;
    }
}

/* ---- role ------------------------------------------------------------------------------ */

static void wd_up(struct role *r, void *privdata)
{
    (void)r;
    struct wd *w = privdata;
    w->reset_flags = 1;
}

static void wd_fill(struct role *r, json_t *obj, void *privdata)
{
    (void)r;
    struct wd *w = privdata;
    json_object_set_new(obj, "ticks", json_integer(w->ticks));
    json_object_set_new(obj, "alerts", json_integer(w->alerts));
    json_object_set_new(obj, "stale", json_boolean(w->stale));
    json_object_set_new(obj, "flags", json_integer((json_int_t)json_object_size(w->written)));
}

static int wd_sources(struct wd *w, const char *list)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n > 0) {
            if (w->n == WATCHDOG_SOURCES_MAX || n >= sizeof w->src[0].name) return -1;
            memcpy(w->src[w->n].name, p, n);
            w->src[w->n].name[n] = '\0';
            w->n++;
        }
        p += n;
        while (*p == ',' || *p == ' ') p++;
    }
    return w->n > 0 ? 0 : -1;
}

static int wd_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct wd *w = state;
    const char *s = "watchdog", *list = NULL;
    if (config_duration_ms(cfg, s, "every", 1000, 50, 60000, &w->every_ms) < 0 ||
        config_duration_ms(cfg, s, "silent_after", 10000, 100, 3600000,
                           &w->lim.silent_after_ms) < 0 ||
        config_duration_ms(cfg, s, "stale_after", 5000, 100, 3600000, &w->lim.stale_after_ms) <
            0 ||
        config_duration_ms(cfg, s, "disagree_after", 5000, 0, 3600000,
                           &w->lim.disagree_after_ms) < 0 ||
        config_duration_ms(cfg, s, "tolerance", 1000, 0, 600000, &w->lim.tolerance_ms) < 0 ||
        config_str(cfg, s, "sources", "account,positionrisk,userstream", &list) < 0)
        return -1;
    if (wd_sources(w, list) < 0) {
        snprintf(err, cap, "[watchdog] sources: 1 to %d names", WATCHDOG_SOURCES_MAX);
        return -1;
    }
    return 0;
}

static const struct cli_option watchdog_options[] = {
    {"every", "DURATION", NULL, NULL, "check period (default 1s)", 0},
    {"silent-after", "DURATION", NULL, NULL, "a source is silent after this (10s)", 0},
    {"stale-after", "DURATION", NULL, NULL, "the account is stale when all are older (5s)", 0},
    {"disagree-after", "DURATION", NULL, NULL, "flag a disagreement lasting this long (5s)", 0},
    {"sources", "LIST", NULL, NULL, "account,positionrisk,userstream", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [watchdog] keys no option sets (core/role reports any other key of the section). */
static const char *const watchdog_keys[] = {"tolerance", NULL};

const struct cli_command watchdog_cli = {
    .name = "watchdog",
    .summary = "flags silent, stale and disagreeing account sources",
    .usage = "Reads bfq:acct:<account>:src:* and :view:*, keeps bfq:acct:<account>:flags and\n"
             "publishes {\"stale\":true|false} on bfq:ch:acct:<account>. Config: [watchdog]\n"
             "every, silent_after, stale_after, disagree_after, tolerance, sources, account.\n",
    .options = watchdog_options,
    .role_options = 1,
    .keys = watchdog_keys,
};

static int wd_start(struct role *r, void *state, char *err, size_t cap)
{
    struct wd *w = state;
    (void)err;
    (void)cap;
    w->written = json_object();
    w->disagree_since = json_object();
    role_key(r, w->flags_key, sizeof w->flags_key, "acct:%s:flags", r->account);
    role_key(r, w->channel, sizeof w->channel, "ch:acct:%s", r->account);
    ev_timer_init(&w->timer, wd_tick, (double)w->every_ms / 1000.0, (double)w->every_ms / 1000.0);
    w->timer.data = w;
    ev_timer_start(r->loop, &w->timer);
    return 0;
}

static void wd_stop(struct role *r, void *state)
{
    struct wd *w = state;
    ev_timer_stop(r->loop, &w->timer);
}

static const struct role_entry watchdog_entry = {
    .cmd = &watchdog_cli,
    .opts = {.lua_library = bfq_lua_library, .no_exchange = 1, .up = wd_up, .fill = wd_fill},
    .config = wd_config,
    .start = wd_start,
    .stop = wd_stop,
};

int watchdog_main(int argc, char **argv)
{
    static struct wd w; /* one per process; static keeps it off the stack */
    memset(&w, 0, sizeof w);
    int rc = role_main(&watchdog_entry, &w.r, &w, argc, argv);
    for (int i = 0; i < w.n; i++) json_decref(w.src[i].view);
    json_decref(w.written);
    json_decref(w.disagree_since);
    return rc;
}
