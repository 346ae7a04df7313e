/* heartbeat: SET bfq:hb:<role>:<instance> <json> PX <ttl>, every period, on the libev loop.
 *
 * The key's TTL is the lease: a process that dies or loses Redis stops renewing it and the
 * key expires by itself, so readers (bfq status, the tick collectors' slot spreading) need no
 * other liveness signal. A beat while the connection is down is skipped (rconn refuses it);
 * the next period writes again. The JSON is built with jansson; the role adds its counters
 * through the fill callback. */
#include "core/heartbeat.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/rconn.h"
#include "core/timebase.h"
#include "core/version.h"

#define HB_KEY_MAX 512
#define HB_TEXT_MAX 512

struct heartbeat {
    struct ev_loop *loop;
    struct rconn *rc;
    ev_timer timer;
    char key[HB_KEY_MAX];
    char role[HB_TEXT_MAX], instance[HB_TEXT_MAX], version[HB_TEXT_MAX], host[256];
    int64_t ttl_ms;
    wall_ms_t started;
    heartbeat_fill_fn *fill;
    void *privdata;
};

/* The heartbeat object: common fields, then the role's. New reference or NULL. */
static json_t *hb_object(struct heartbeat *hb)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "role", json_string(hb->role));
    json_object_set_new(o, "instance", json_string(hb->instance));
    json_object_set_new(o, "host", json_string(hb->host));
    json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(o, "started", json_integer(hb->started));
    json_object_set_new(o, "t", json_integer(timebase_wall_ms()));
    json_object_set_new(o, "version", json_string(hb->version));
    if (hb->fill) hb->fill(o, hb->privdata);
    return o;
}

void heartbeat_beat(struct heartbeat *hb)
{
    if (!rconn_is_up(hb->rc)) return;
    json_t *o = hb_object(hb);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        log_error("heartbeat not written: out of memory", NULL);
        return;
    }
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)hb->ttl_ms);
    const char *argv[] = {"SET", hb->key, text, "PX", ttl};
    size_t lens[] = {3, strlen(hb->key), strlen(text), 2, strlen(ttl)};
    if (rconn_command_argv(hb->rc, NULL, NULL, 5, argv, lens) < 0)
        log_debug("heartbeat skipped: redis down", "key=%s", hb->key);
    free(text);
}

static void hb_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    heartbeat_beat(w->data);
}

/* Copies s (or dflt when NULL) into dst; -1 when too long. */
static int hb_copy(char *dst, size_t cap, const char *s, const char *dflt)
{
    if (!s) s = dflt;
    size_t n = strlen(s);
    if (n >= cap) return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

struct heartbeat *heartbeat_new(struct ev_loop *loop, struct rconn *rc,
                                const struct heartbeat_options *opts, heartbeat_fill_fn *fill,
                                void *privdata)
{
    struct heartbeat *hb = calloc(1, sizeof *hb);
    if (!hb) return NULL;
    if (hb_copy(hb->role, sizeof hb->role, opts->role, "unknown") < 0 ||
        hb_copy(hb->instance, sizeof hb->instance, opts->instance, "unknown") < 0 ||
        hb_copy(hb->version, sizeof hb->version, opts->version, bfq_version_text) < 0) {
        free(hb);
        return NULL;
    }
    int n = snprintf(hb->key, sizeof hb->key, "%shb:%s:%s", opts->prefix ? opts->prefix : "bfq:",
                     hb->role, hb->instance);
    if (n < 0 || (size_t)n >= sizeof hb->key || gethostname(hb->host, sizeof hb->host) < 0) {
        free(hb);
        return NULL;
    }
    hb->host[sizeof hb->host - 1] = '\0';
    hb->loop = loop;
    hb->rc = rc;
    hb->fill = fill;
    hb->privdata = privdata;
    hb->ttl_ms = opts->ttl_ms > 0 ? opts->ttl_ms : 5000;
    hb->started = timebase_wall_ms();
    double period = (double)(opts->period_ms > 0 ? opts->period_ms : 1000) / 1000.0;
    ev_timer_init(&hb->timer, hb_on_timer, period, period);
    hb->timer.data = hb;
    ev_timer_start(loop, &hb->timer);
    heartbeat_beat(hb);
    return hb;
}

void heartbeat_free(struct heartbeat *hb)
{
    if (!hb) return;
    ev_timer_stop(hb->loop, &hb->timer);
    const char *argv[] = {"DEL", hb->key};
    size_t lens[] = {3, strlen(hb->key)};
    if (rconn_is_up(hb->rc)) (void)rconn_command_argv(hb->rc, NULL, NULL, 2, argv, lens);
    free(hb);
}

const char *heartbeat_key(const struct heartbeat *hb)
{
    return hb->key;
}
