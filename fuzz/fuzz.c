/* fuzz: the helpers the libFuzzer targets share (see fuzz.h). */
#include "fuzz/fuzz.h"

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/acctrec.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"
#include "tests/harness/testloop.h"

#define FZ_REDIS_WAIT_MS 10000

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void fz_quiet(void)
{
    static int done;
    if (done) return;
    done = 1;
    log_init("fuzz", LOG_LEVEL_ERROR);
}

json_t *fz_json(const uint8_t *data, size_t size)
{
    char err[JV_ERR_MAX];
    return jv_parse((const char *)data, size, err, sizeof err);
}

/* ---- account records ------------------------------------------------------------------ */

/* A decimal member: "" (the source lacks it) when optional, else normalised. */
static void check_dec(const char *s, int optional)
{
    char norm[DEC_STR_MAX];
    FZ_CHECK(memchr(s, '\0', DEC_STR_MAX) != NULL);
    if (optional && !s[0]) return;
    FZ_CHECK(acctrec_norm_dec(s, norm) == 0);
    FZ_CHECK(strcmp(norm, s) == 0);
}

static void check_field(const char *f)
{
    FZ_CHECK(memchr(f, '\0', ACCTREC_FIELD_MAX) != NULL);
    FZ_CHECK(f[0] != '\0');
}

void fz_check_acct_batch(const struct acctrec_batch *b)
{
    FZ_CHECK(b->npos <= ACCTREC_MAX_RECORDS && b->nbal <= ACCTREC_MAX_RECORDS);
    for (size_t i = 0; i < b->npos; i++) {
        const struct acctrec_pos *p = &b->pos[i];
        check_field(p->field);
        check_dec(p->amt, 0);
        check_dec(p->entry, 1);
        check_dec(p->upnl, 1);
        FZ_CHECK(p->t >= 0 && p->t <= b->t_max);
    }
    for (size_t i = 0; i < b->nbal; i++) {
        const struct acctrec_bal *a = &b->bal[i];
        check_field(a->asset);
        check_dec(a->wallet, 1);
        check_dec(a->cross, 1);
        check_dec(a->available, 1);
        FZ_CHECK(a->t >= 0 && a->t <= b->t_max);
    }
}

void fz_acct_rest(const uint8_t *data, size_t size, fz_acct_parse_fn *parse)
{
    fz_quiet();
    json_t *root = fz_json(data, size);
    if (!root) return;
    for (int version = 2; version <= 3; version++) {
        struct acctrec_batch b;
        char err[256] = "";
        acctrec_batch_init(&b);
        if (parse(root, version, &b, err, sizeof err) == 0) {
            fz_check_acct_batch(&b);
            FZ_CHECK(b.complete == (version == 3));
            FZ_CHECK(acctrec_batch_check_time(&b, b.t_max, err, sizeof err) == 0);
        } else {
            FZ_CHECK(err[0] != '\0');
        }
        acctrec_batch_free(&b);
    }
    json_decref(root);
}

/* ---- Redis ---------------------------------------------------------------------------- */

static struct th_redis fz_server;
static struct rconn *fz_rc;
static int fz_up;

static void fz_on_up(struct rconn *rc, void *privdata)
{
    (void)rc;
    (void)privdata;
    fz_up = 1;
}

struct rconn *fz_redis(struct ev_loop **loop)
{
    *loop = EV_DEFAULT;
    if (fz_rc) return fz_rc;
    fz_quiet();
    if (th_redis_start(&fz_server, 0) != 0) fz_fail("redis-server did not start");
    /* libFuzzer leaves by _Exit after a crash, past the harness's cleanup: scripts/fuzz stops
     * the server by this pid then. */
    char pidfile[1100];
    snprintf(pidfile, sizeof pidfile, "%s/redis.pid", th_tmpdir());
    FILE *pf = fopen(pidfile, "w");
    if (pf) {
        fprintf(pf, "%ld\n", (long)fz_server.pid);
        fclose(pf);
    }
    struct rconn_options o = {.url = fz_server.url, .name = "fuzz", .lua_library = bfq_lua_library};
    struct rconn_callbacks cb = {.up = fz_on_up};
    char err[256];
    fz_rc = rconn_new(*loop, &o, &cb, err, sizeof err);
    if (!fz_rc) fz_fail("rconn_new: %s", err);
    if (!th_loop_until(*loop, &fz_up, 1, FZ_REDIS_WAIT_MS)) fz_fail("redis did not come up");
    return fz_rc;
}

static void fz_on_pong(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    (void)rc;
    *(int *)privdata = reply ? 1 : -1;
}

void fz_redis_sync(struct ev_loop *loop, struct rconn *rc)
{
    int got = 0;
    if (rconn_command(rc, fz_on_pong, &got, "PING") != 0) fz_fail("redis is down");
    if (!th_loop_until(loop, &got, 1, FZ_REDIS_WAIT_MS)) fz_fail("redis went away or hangs");
}
