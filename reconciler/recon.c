/* recon: FCALLs into the reconciler library (bfq.lua) over an rconn connection.
 *
 * A batch keeps its FCALL arguments in one growable byte buffer (each argument NUL-terminated)
 * plus an array of offsets, so a 500-record tick batch costs a few reallocations, not 2500
 * small ones; the argv handed to hiredis is built at send time and freed once hiredis has
 * copied the command into its output buffer. Replies are decoded here and handed to the
 * caller's typed callback exactly once. */
#include "reconciler/recon.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rconn.h"

#define RECON_BATCH_BYTES_MAX (64u << 20)
#define RECON_KEY_MAX 512

struct recon_batch {
    char *buf;        /* arguments, each NUL-terminated */
    size_t len, cap;
    size_t *off;      /* start of argument i in buf */
    size_t nargs, capargs;
    size_t records;
};

/* What a pending call must remember until its reply. */
struct recon_call {
    enum { CALL_INT, CALL_NEXT, CALL_UNIVERSE } kind;
    union {
        recon_int_fn *i;
        recon_next_fn *n;
        recon_universe_fn *u;
    } fn;
    void *privdata;
};

static int batch_reserve(struct recon_batch *b, size_t bytes, size_t args)
{
    if (b->len + bytes > RECON_BATCH_BYTES_MAX) return -1;
    if (b->len + bytes > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + bytes) cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) return -1;
        b->buf = p;
        b->cap = cap;
    }
    if (b->nargs + args > b->capargs) {
        size_t cap = b->capargs ? b->capargs : 256;
        while (cap < b->nargs + args) cap *= 2;
        size_t *p = realloc(b->off, cap * sizeof *p);
        if (!p) return -1;
        b->off = p;
        b->capargs = cap;
    }
    return 0;
}

/* Appends one argument; space must have been reserved. */
static void batch_push(struct recon_batch *b, const char *s, size_t n)
{
    b->off[b->nargs++] = b->len;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len++] = '\0';
}

static int batch_push_strs(struct recon_batch *b, const char *const *s, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += strlen(s[i]) + 1;
    if (batch_reserve(b, bytes, n) < 0) return -1;
    for (size_t i = 0; i < n; i++) batch_push(b, s[i], strlen(s[i]));
    return 0;
}

struct recon_batch *recon_batch_new(const char *state_key, const char *ts_key,
                                    const char *channel, const char *msg_key,
                                    enum recon_mode mode)
{
    if (!state_key || !ts_key || !msg_key) return NULL;
    if (strlen(state_key) > RECON_KEY_MAX || strlen(ts_key) > RECON_KEY_MAX) return NULL;
    if ((channel && strlen(channel) > RECON_KEY_MAX) || strlen(msg_key) > RECON_FIELD_MAX)
        return NULL;
    struct recon_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    const char *head[] = {"FCALL", "bfq_merge", "2", state_key, ts_key, channel ? channel : "",
                          msg_key, mode == RECON_MERGE ? "merge" : "replace"};
    if (batch_push_strs(b, head, sizeof head / sizeof head[0]) < 0) {
        recon_batch_free(b);
        return NULL;
    }
    return b;
}

/* v >= 0 in decimal into buf (at least 21 bytes, not NUL-terminated); returns the length. */
static size_t fmt_i64(int64_t v, char *buf)
{
    char tmp[24], *q = tmp + sizeof tmp;
    uint64_t u = (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t n = (size_t)(tmp + sizeof tmp - q);
    memcpy(buf, q, n);
    return n;
}

/* Hot path of every collector batch: each length is measured once, the numbers formatted
 * without printf, and the five arguments copied after one reservation. */
int recon_batch_add(struct recon_batch *b, const char *field, const char *json, int64_t t,
                    int64_t uid, const char *pubjson)
{
    if (!b || !field || t < 0 || uid < 0 || b->records >= RECON_BATCH_MAX) return -1;
    if (!json) json = "";
    if (!pubjson) pubjson = "";
    size_t fl = strlen(field), jl = strlen(json), pl = strlen(pubjson);
    if (fl > RECON_FIELD_MAX || jl > RECON_VALUE_MAX || pl > RECON_VALUE_MAX) return -1;
    char ts[24], us[24];
    size_t tl = fmt_i64(t, ts), ul = fmt_i64(uid, us);
    if (batch_reserve(b, fl + jl + pl + tl + ul + 5, 5) < 0) return -1;
    batch_push(b, field, fl);
    batch_push(b, json, jl);
    batch_push(b, ts, tl);
    batch_push(b, us, ul);
    batch_push(b, pubjson, pl);
    b->records++;
    return 0;
}

size_t recon_batch_count(const struct recon_batch *b)
{
    return b ? b->records : 0;
}

void recon_batch_free(struct recon_batch *b)
{
    if (!b) return;
    free(b->buf);
    free(b->off);
    free(b);
}

/* An error text for a failed reply, or NULL when the reply is usable. */
static const char *reply_error(const redisReply *r)
{
    if (!r) return "connection lost";
    if (r->type == REDIS_REPLY_ERROR) return r->str ? r->str : "error";
    return NULL;
}

static void reply_int(const redisReply *r, recon_int_fn *fn, void *privdata)
{
    const char *err = reply_error(r);
    if (!err && r->type != REDIS_REPLY_INTEGER) err = "unexpected reply type";
    if (err)
        fn(-1, err, privdata);
    else
        fn(r->integer, NULL, privdata);
}

static void reply_next(const redisReply *r, recon_next_fn *fn, void *privdata)
{
    const char *err = reply_error(r);
    if (err) {
        fn(NULL, -1, err, privdata);
    } else if (r->type == REDIS_REPLY_NIL) {
        fn(NULL, -1, NULL, privdata);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_STRING &&
               r->element[1]->type == REDIS_REPLY_INTEGER) {
        fn(r->element[0]->str, r->element[1]->integer, NULL, privdata);
    } else {
        fn(NULL, -1, "unexpected reply type", privdata);
    }
}

static void reply_universe(const redisReply *r, recon_universe_fn *fn, void *privdata)
{
    const char *err = reply_error(r);
    if (err) {
        fn(-1, 0, err, privdata);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_INTEGER &&
               r->element[1]->type == REDIS_REPLY_INTEGER) {
        fn(r->element[0]->integer, r->element[1]->integer != 0, NULL, privdata);
    } else {
        fn(-1, 0, "unexpected reply type", privdata);
    }
}

static void on_reply(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    (void)rc;
    struct recon_call *call = privdata;
    switch (call->kind) {
    case CALL_INT: reply_int(reply, call->fn.i, call->privdata); break;
    case CALL_NEXT: reply_next(reply, call->fn.n, call->privdata); break;
    case CALL_UNIVERSE: reply_universe(reply, call->fn.u, call->privdata); break;
    }
    free(call);
}

/* Sends argv[0..argc) (lengths from strlen when lens is NULL); the reply goes to a copy of
 * tmpl (no callback when tmpl->fn is NULL). */
static int send_call(struct rconn *rc, const struct recon_call *tmpl, int argc,
                     const char **argv, const size_t *lens)
{
    for (int i = 0; i < argc; i++)
        if (!argv[i]) return -1;
    size_t *own = NULL;
    if (!lens) {
        own = malloc((size_t)argc * sizeof *own);
        if (!own) return -1;
        for (int i = 0; i < argc; i++) own[i] = strlen(argv[i]);
        lens = own;
    }
    int want = tmpl->fn.i != NULL || tmpl->fn.n != NULL || tmpl->fn.u != NULL;
    struct recon_call *call = want ? malloc(sizeof *call) : NULL;
    if (want && !call) {
        free(own);
        return -1;
    }
    if (call) *call = *tmpl;
    int rv = rconn_command_argv(rc, call ? on_reply : NULL, call, argc, argv, lens);
    if (rv < 0) free(call);
    free(own);
    return rv;
}

int recon_batch_send(struct rconn *rc, struct recon_batch *b, recon_int_fn *fn, void *privdata)
{
    if (!b) return -1;
    int rv = -1;
    const char **argv = NULL;
    size_t *lens = NULL;
    if (b->records == 0 || b->nargs > INT32_MAX) goto out;
    argv = malloc(b->nargs * sizeof *argv);
    lens = malloc(b->nargs * sizeof *lens);
    if (!argv || !lens) goto out;
    for (size_t i = 0; i < b->nargs; i++) {
        size_t end = i + 1 < b->nargs ? b->off[i + 1] : b->len;
        argv[i] = b->buf + b->off[i];
        lens[i] = end - b->off[i] - 1;
    }
    rv = send_call(rc, &(struct recon_call){CALL_INT, {.i = fn}, privdata}, (int)b->nargs, argv,
                   lens);
out:
    free(argv);
    free(lens);
    recon_batch_free(b);
    return rv;
}

int recon_put(struct rconn *rc, const char *key, const char *channel, const char *message,
              int64_t t, int64_t uid, int nfields, const char *const *fields,
              const char *const *values, recon_int_fn *fn, void *privdata)
{
    if (!key || t < 0 || uid < 0 || nfields < 0 || nfields > 1000) return -1;
    int argc = 8 + 2 * nfields;
    const char **argv = malloc((size_t)argc * sizeof *argv);
    if (!argv) return -1;
    char ts[24], us[24];
    snprintf(ts, sizeof ts, "%" PRId64, t);
    snprintf(us, sizeof us, "%" PRId64, uid);
    const char *head[] = {"FCALL", "bfq_put", "1", key, channel ? channel : "",
                          message ? message : "", ts, us};
    memcpy(argv, head, sizeof head);
    for (int i = 0; i < nfields; i++) {
        argv[8 + 2 * i] = fields[i];
        argv[9 + 2 * i] = values[i];
    }
    int rv = send_call(rc, &(struct recon_call){CALL_INT, {.i = fn}, privdata}, argc, argv, NULL);
    free(argv);
    return rv;
}

int recon_next(struct rconn *rc, const char *cursor_key, const char *list_key, recon_next_fn *fn,
               void *privdata)
{
    if (!cursor_key || !list_key) return -1;
    const char *argv[] = {"FCALL", "bfq_next", "2", cursor_key, list_key};
    return send_call(rc, &(struct recon_call){CALL_NEXT, {.n = fn}, privdata}, 5, argv, NULL);
}

int recon_universe(struct rconn *rc, const char *list_key, const char *version_key,
                   const char *channel, const char *const *symbols, int n, recon_universe_fn *fn,
                   void *privdata)
{
    if (!list_key || !version_key || n < 0 || n > 100000) return -1;
    int argc = 6 + n;
    const char **argv = malloc((size_t)argc * sizeof *argv);
    if (!argv) return -1;
    const char *head[] = {"FCALL", "bfq_universe", "2", list_key, version_key,
                          channel ? channel : ""};
    memcpy(argv, head, sizeof head);
    for (int i = 0; i < n; i++) argv[6 + i] = symbols[i];
    int rv = send_call(rc, &(struct recon_call){CALL_UNIVERSE, {.u = fn}, privdata}, argc, argv,
                       NULL);
    free(argv);
    return rv;
}

/* ---- tombstone pruning ---------------------------------------------------------------------- */

/* One walk of recon_prune over a ts hash, freed when fn has run. */
struct recon_prune {
    struct rconn *rc;
    char state[RECON_KEY_MAX], ts[RECON_KEY_MAX];
    char before[24], cursor[32];
    int64_t pruned;
    recon_int_fn *fn;
    void *privdata;
};

static void prune_done(struct recon_prune *p, const char *err)
{
    if (p->fn) p->fn(err ? -1 : p->pruned, err, p->privdata);
    free(p);
}

static void on_prune(struct rconn *rc, struct redisReply *r, void *privdata);

static int prune_step(struct recon_prune *p)
{
    char count[16];
    snprintf(count, sizeof count, "%d", RECON_PRUNE_STEP);
    const char *argv[] = {"FCALL", "bfq_prune", "2", p->state, p->ts, p->before, p->cursor,
                          count};
    return rconn_command_argv(p->rc, on_prune, p, 8, argv, NULL);
}

static void on_prune(struct rconn *rc, struct redisReply *r, void *privdata)
{
    struct recon_prune *p = privdata;
    const char *err = reply_error(r);
    (void)rc;
    if (!err && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                 r->element[0]->type != REDIS_REPLY_STRING ||
                 r->element[1]->type != REDIS_REPLY_INTEGER ||
                 r->element[0]->len >= sizeof p->cursor))
        err = "unexpected reply type";
    if (err) {
        prune_done(p, err);
        return;
    }
    p->pruned += r->element[1]->integer;
    if (!strcmp(r->element[0]->str, "0")) {
        prune_done(p, NULL);
        return;
    }
    memcpy(p->cursor, r->element[0]->str, r->element[0]->len + 1);
    if (prune_step(p) < 0) prune_done(p, "connection lost");
}

int recon_prune(struct rconn *rc, const char *state_key, const char *ts_key, int64_t before_ms,
                recon_int_fn *fn, void *privdata)
{
    if (!state_key || !ts_key || before_ms < 0 || strlen(state_key) >= RECON_KEY_MAX ||
        strlen(ts_key) >= RECON_KEY_MAX)
        return -1;
    struct recon_prune *p = calloc(1, sizeof *p);
    if (!p) return -1;
    p->rc = rc;
    memcpy(p->state, state_key, strlen(state_key) + 1);
    memcpy(p->ts, ts_key, strlen(ts_key) + 1);
    snprintf(p->before, sizeof p->before, "%" PRId64, before_ms);
    memcpy(p->cursor, "0", 2);
    p->fn = fn;
    p->privdata = privdata;
    if (prune_step(p) < 0) {
        free(p);
        return -1;
    }
    return 0;
}
