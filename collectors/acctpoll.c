/* acctpoll: one REST account endpoint polled on a timer (see acctpoll.h). */
#include "collectors/acctpoll.h"

#include <stdio.h>
#include <string.h>

#include "collectors/xpause.h"
#include "core/binance.h"
#include "core/log.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define ACCTPOLL_WEIGHT 5

struct acctpoll {
    struct role r;
    const struct acctpoll_spec *spec;
    struct acctrec_sink *sink;
    struct acctrec_batch batch;
    ev_timer timer;
    int64_t every_ms;
    int version;
    int busy;
    char path[64];
    struct xpause pause; /* exchange trouble: polls pause (the same policy as bfq tick) */
    int64_t polls, malformed, skipped_backoff;
};

static void poll_done(const struct binance_result *res, void *privdata)
{
    struct acctpoll *p = privdata;
    p->busy = 0;
    if (res->outcome == BINANCE_ELOCAL && role_stopping(&p->r)) return;
    p->polls++;
    xpause_note(&p->pause, res->outcome);
    if (role_count_result(&p->r, res, p->spec->name) < 0) {
        char why[BINANCE_MSG_MAX + 32];
        snprintf(why, sizeof why, "%s: %s", binance_outcome_name(res->outcome), res->msg);
        acctrec_sink_error(p->sink, why);
        return;
    }
    char err[160] = "";
    acctrec_batch_clear(&p->batch);
    if (p->spec->parse(res->json, p->version, &p->batch, err, sizeof err) < 0 ||
        acctrec_batch_check_time(&p->batch, binance_time_limit(p->r.bc), err, sizeof err) < 0) {
        p->malformed++;
        role_count_invalid(&p->r, p->spec->name, err);
        acctrec_sink_error(p->sink, err);
        return;
    }
    p->batch.snap_t = acctrec_sent_exch_ms(p->r.bc, res);
    p->batch.absent_t = p->batch.snap_t - ACCTPOLL_ABSENT_MARGIN_MS;
    if (p->batch.absent_t < 0) p->batch.absent_t = 0;
    if (acctrec_sink_send(p->sink, &p->batch, 1) < 0) return; /* Redis down: next poll */
    acctrec_sink_ok(p->sink, res->done_ms + binance_servertime(p->r.bc)->offset_ms);
}

static void poll_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct acctpoll *p = w->data;
    /* Redis down or read-only: the answer could not be written, so spend no weight on it */
    if (p->busy || role_stopping(&p->r) || !role_redis_up(&p->r)) return;
    if (xpause_holds(&p->pause, p->busy)) {
        p->skipped_backoff++;
        return;
    }
    if (binance_request(p->r.bc, "GET", p->path, NULL, NULL, BINANCE_SIGNED, ACCTPOLL_WEIGHT,
                        poll_done, p) < 0) {
        acctrec_sink_error(p->sink, "request could not be queued");
        return;
    }
    p->busy = 1;
    role_count_weight(&p->r, ACCTPOLL_WEIGHT);
}

static void poll_up(struct role *r, void *privdata)
{
    (void)r;
    struct acctpoll *p = privdata;
    if (p->sink) acctrec_sink_forget(p->sink);
}

static void poll_fill(struct role *r, json_t *obj, void *privdata)
{
    (void)r;
    struct acctpoll *p = privdata;
    struct acctrec_stats st = acctrec_sink_stats(p->sink);
    json_object_set_new(obj, "api_version", json_integer(p->version));
    json_object_set_new(obj, "every_ms", json_integer(p->every_ms));
    json_object_set_new(obj, "polls", json_integer(p->polls));
    json_object_set_new(obj, "malformed", json_integer(p->malformed));
    json_object_set_new(obj, "skipped_backoff", json_integer(p->skipped_backoff));
    json_object_set_new(obj, "records", json_integer(st.records));
    json_object_set_new(obj, "changed", json_integer(st.changed));
    json_object_set_new(obj, "redis_errors", json_integer(st.errors));
}

static int poll_config(void *state, struct config *cfg, char *err, size_t errcap)
{
    struct acctpoll *p = state;
    int64_t v = 2;
    (void)err;
    (void)errcap; /* the config's own error says it all */
    if (config_duration_ms(cfg, p->spec->name, "every", 1000, 50, 3600000, &p->every_ms) < 0 ||
        config_int(cfg, p->spec->name, "api_version", 2, 2, 3, &v) < 0)
        return -1;
    p->version = (int)v;
    snprintf(p->path, sizeof p->path, "/fapi/v%d/%s", p->version, p->spec->endpoint);
    return 0;
}

static int poll_start(struct role *r, void *state, char *err, size_t cap)
{
    struct acctpoll *p = state;
    acctrec_batch_init(&p->batch);
    xpause_init(&p->pause);
    p->sink = acctrec_sink_new(r, p->spec->name);
    if (!p->sink) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    log_info("polling", "path=%s every_ms=%lld account=%s", p->path, (long long)p->every_ms,
             r->account);
    ev_timer_init(&p->timer, poll_tick, 0.0, (double)p->every_ms / 1000.0);
    p->timer.data = p;
    ev_timer_start(r->loop, &p->timer);
    return 0;
}

static void poll_stop(struct role *r, void *state)
{
    struct acctpoll *p = state;
    ev_timer_stop(r->loop, &p->timer);
}

int acctpoll_main(const struct cli_command *cmd, const struct acctpoll_spec *spec, int argc,
                  char **argv)
{
    static struct acctpoll p; /* one per process; static keeps it off the stack */
    memset(&p, 0, sizeof p);
    p.spec = spec;
    const struct role_entry entry = {
        .cmd = cmd,
        .opts = {.lua_library = bfq_lua_library, .needs_account = 1, .up = poll_up,
                 .fill = poll_fill},
        .config = poll_config,
        .start = poll_start,
        .stop = poll_stop,
    };
    int rc = role_main(&entry, &p.r, &p, argc, argv);
    acctrec_sink_free(p.sink);
    acctrec_batch_free(&p.batch);
    return rc;
}
