/* status: `bfq status [--json] [--watch]`, what every instance does and how fresh the data is.
 *
 * A one-shot synchronous hiredis client (no loop): it reads every heartbeat <prefix>hb:* (role,
 * instance, source IP, last success, errors) with the weight its IP used this UTC minute of the
 * exchange's clock (<prefix>weight:<ip>:<minute>, the minute now + the heartbeat's
 * clock_offset_ms, as core/weight.c counts it; the local minute when the instance has not
 * synced its clock yet), and the freshness of the data: the universe, the ticks
 * (oldest and median age of field T in <prefix>ticks), each kline interval's records (t of
 * <prefix>kline:<interval>:*) and the hot set. --json prints one JSON object for scripts;
 * --watch redraws the text every second until SIGINT or SIGTERM. Sections are listed in one
 * table (status.h explains how to add one). Ages are local wall time minus the record's
 * exchange time, so they include the clock difference with the exchange. */
#include "collectors/status.h"
#include "collectors/status_account.h"
#include "collectors/status_trading.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "collectors/collectors.h"
#include "core/jsonval.h"
#include "core/rblock.h"

#define STATUS_KEYS_MAX 20000 /* keys one section reads at most */
#define STATUS_ERR_MAX 256

static const struct cli_option status_options[] = {
    {"json", NULL, NULL, NULL, "print one JSON object", 0},
    {"watch", NULL, NULL, NULL, "redraw every second", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command status_cli = {
    .name = "status",
    .summary = "every live instance and the freshness of the data in Redis",
    .usage = NULL,
    .options = status_options,
    .role_options = 1,
    .keys = NULL, /* every [status] key is an option */
};

/* ---- helpers ----------------------------------------------------------------------------------- */

int64_t status_reply_int(const void *reply)
{
    const redisReply *r = reply;
    char *end = NULL;
    if (!r) return -1;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type != REDIS_REPLY_STRING || r->len == 0) return -1;
    long long v = strtoll(r->str, &end, 10);
    return (end == r->str || *end) ? -1 : v;
}

void status_format_age(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0) snprintf(buf, cap, "-");
    else if (ms < 60000) snprintf(buf, cap, "%.1fs", (double)ms / 1000.0);
    else if (ms < 3600000) snprintf(buf, cap, "%lldm", (long long)(ms / 60000));
    else snprintf(buf, cap, "%lldh", (long long)(ms / 3600000));
}

int status_scan(const struct status_ctx *ctx, const char *pattern,
                void (*fn)(const char *key, void *privdata), void *privdata)
{
    char cursor[32] = "0";
    int seen = 0;
    do {
        redisReply *r = redisCommand(ctx->c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str ? r->element[0]->str : "0");
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements && seen < STATUS_KEYS_MAX; i++, seen++)
            if (keys->element[i]->type == REDIS_REPLY_STRING) fn(keys->element[i]->str, privdata);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0 && seen < STATUS_KEYS_MAX);
    return 0;
}

static void status_collect_key(const char *key, void *privdata)
{
    json_array_append_new(privdata, json_string(key));
}

/* Sends fmt-with-key for each key of keys (pipelined) and hands each reply to fn. */
static int status_pipeline(const struct status_ctx *ctx, const json_t *keys, const char *fmt,
                           void (*fn)(const char *key, redisReply *r, void *privdata),
                           void *privdata)
{
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k) redisAppendCommand(ctx->c, fmt, json_string_value(k));
    json_array_foreach(keys, i, k) {
        void *r = NULL;
        if (redisGetReply(ctx->c, &r) != REDIS_OK) return -1;
        fn(json_string_value(k), r, privdata);
        freeReplyObject(r);
    }
    return 0;
}

static int status_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* {"count","oldest_ms","median_ms"} of ages (sorted in place). */
static json_t *status_ages(int64_t *ages, size_t n)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    if (n > 0) {
        qsort(ages, n, sizeof(*ages), status_cmp_i64);
        json_object_set_new(o, "oldest_ms", json_integer(ages[n - 1]));
        json_object_set_new(o, "median_ms", json_integer(ages[n / 2]));
    } else {
        json_object_set_new(o, "oldest_ms", json_null());
        json_object_set_new(o, "median_ms", json_null());
    }
    return o;
}

static int64_t status_json_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *status_json_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "-";
}

/* ---- instances -------------------------------------------------------------------------------- */

static void status_take_hb(const char *key, redisReply *r, void *privdata)
{
    json_t *out = privdata;
    if (!r || r->type != REDIS_REPLY_STRING) return; /* expired between SCAN and GET */
    json_t *hb = jv_parse(r->str, r->len, NULL, 0);
    if (!json_is_object(hb)) {
        json_decref(hb);
        hb = json_object();
        json_object_set_new(hb, "error", json_string("heartbeat is not a JSON object"));
    }
    json_object_set_new(hb, "key", json_string(key));
    json_array_append_new(out, hb);
}

static int status_cmp_hb(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int c = strcmp(status_json_str(x, "role"), status_json_str(y, "role"));
    return c ? c : strcmp(status_json_str(x, "instance"), status_json_str(y, "instance"));
}

/* Adds ages and the IP's weight this minute to each heartbeat. */
static void status_enrich_hb(const struct status_ctx *ctx, json_t *hb)
{
    int64_t t = status_json_int(hb, "t"), ls = status_json_int(hb, "last_success");
    const char *ip = status_json_str(hb, "source_ip");
    json_object_set_new(hb, "age_ms", t > 0 ? json_integer(ctx->now - t) : json_null());
    json_object_set_new(hb, "last_success_age_ms",
                        ls > 0 ? json_integer(ctx->now - ls) : json_null());
    if (strcmp(ip, "-") != 0) {
        /* the weight keys are minutes of the exchange's clock: the instance's offset to it */
        json_t *off = json_object_get(hb, "clock_offset_ms");
        wall_ms_t exch = ctx->now + (json_is_integer(off) ? json_integer_value(off) : 0);
        redisReply *r = redisCommand(ctx->c, "GET %sweight:%s:%lld", ctx->prefix, ip,
                                     (long long)timebase_utc_minute(exch));
        int64_t w = status_reply_int(r);
        json_object_set_new(hb, "ip_weight_minute", json_integer(w < 0 ? 0 : w));
        if (r) freeReplyObject(r);
    }
}

json_t *status_instances(const struct status_ctx *ctx, char *err, size_t cap)
{
    char pattern[128];
    json_t *keys = json_array(), *out = json_array();
    snprintf(pattern, sizeof(pattern), "%shb:*", ctx->prefix);
    if (status_scan(ctx, pattern, status_collect_key, keys) < 0 ||
        status_pipeline(ctx, keys, "GET %s", status_take_hb, out) < 0) {
        snprintf(err, cap, "reading heartbeats: %s", ctx->c->errstr[0] ? ctx->c->errstr : "denied");
        json_decref(keys);
        json_decref(out);
        return NULL;
    }
    json_decref(keys);
    size_t n = json_array_size(out);
    json_t **v = malloc(sizeof(*v) * (n ? n : 1));
    for (size_t i = 0; v && i < n; i++) v[i] = json_incref(json_array_get(out, i));
    if (v) {
        qsort(v, n, sizeof(*v), status_cmp_hb);
        json_array_clear(out);
        for (size_t i = 0; i < n; i++) {
            status_enrich_hb(ctx, v[i]);
            json_array_append_new(out, v[i]);
        }
    }
    free(v);
    return out;
}

static void status_print_instances(const json_t *arr, const struct status_ctx *ctx, FILE *out)
{
    size_t i;
    const json_t *hb;
    (void)ctx;
    fprintf(out, "instances: %zu\n", json_array_size(arr));
    fprintf(out, "  %-12s %-24s %-15s %8s %8s %8s %8s %7s  %s\n", "ROLE", "INSTANCE", "SOURCE IP",
            "LAST OK", "IP W/MIN", "REQS", "WEIGHT", "ERRORS", "VERSION");
    json_array_foreach(arr, i, hb) {
        char age[32];
        status_format_age(status_json_int(hb, "last_success_age_ms"), age, sizeof(age));
        fprintf(out, "  %-12s %-24s %-15s %8s %8lld %8lld %8lld %7lld  %s\n",
                status_json_str(hb, "role"), status_json_str(hb, "instance"),
                status_json_str(hb, "source_ip"), age,
                (long long)status_json_int(hb, "ip_weight_minute"),
                (long long)status_json_int(hb, "requests"),
                (long long)status_json_int(hb, "weight"),
                (long long)status_json_int(hb, "errors_total"), status_json_str(hb, "version"));
        if (json_is_true(json_object_get(hb, "fallback")))
            fprintf(out, "  %-12s   hot set stale: walking the whole universe\n", "");
    }
}

/* ---- data freshness ----------------------------------------------------------------------------- */

static json_t *status_universe(const struct status_ctx *ctx)
{
    json_t *o = json_object();
    redisReply *n = redisCommand(ctx->c, "LLEN %suniverse", ctx->prefix);
    redisReply *v = redisCommand(ctx->c, "GET %suniverse:version", ctx->prefix);
    json_object_set_new(o, "symbols", json_integer(status_reply_int(n) < 0 ? 0 : status_reply_int(n)));
    json_object_set_new(o, "version", json_integer(status_reply_int(v) < 0 ? 0 : status_reply_int(v)));
    if (n) freeReplyObject(n);
    if (v) freeReplyObject(v);
    return o;
}

static json_t *status_ticks(const struct status_ctx *ctx)
{
    redisReply *r = redisCommand(ctx->c, "HVALS %sticks", ctx->prefix);
    size_t n = (r && r->type == REDIS_REPLY_ARRAY) ? r->elements : 0, k = 0;
    int64_t *ages = malloc(sizeof(*ages) * (n ? n : 1));
    for (size_t i = 0; ages && i < n; i++) {
        json_t *tick = jv_parse(r->element[i]->str, r->element[i]->len, NULL, 0);
        int64_t t = status_json_int(tick, "T");
        if (t > 0) ages[k++] = ctx->now - t;
        json_decref(tick);
    }
    json_t *o = status_ages(ages, ages ? k : 0);
    free(ages);
    if (r) freeReplyObject(r);
    return o;
}

struct status_klines {
    const struct status_ctx *ctx;
    json_t *by_iv; /* interval -> array of ages */
    size_t plen;
};

static void status_take_kline(const char *key, redisReply *r, void *privdata)
{
    struct status_klines *sk = privdata;
    int64_t t = status_reply_int(r);
    const char *iv = key + sk->plen, *colon = strchr(iv, ':');
    char name[32];
    if (t <= 0 || !colon || (size_t)(colon - iv) >= sizeof(name)) return;
    memcpy(name, iv, (size_t)(colon - iv));
    name[colon - iv] = '\0';
    json_t *arr = json_object_get(sk->by_iv, name);
    if (!arr) {
        arr = json_array();
        json_object_set_new(sk->by_iv, name, arr);
    }
    json_array_append_new(arr, json_integer(sk->ctx->now - t));
}

static json_t *status_klines(const struct status_ctx *ctx)
{
    char pattern[128];
    struct status_klines sk = {ctx, json_object(), 0};
    json_t *keys = json_array(), *out = json_object();
    const char *iv;
    json_t *arr;
    snprintf(pattern, sizeof(pattern), "%skline:*", ctx->prefix);
    sk.plen = strlen(ctx->prefix) + strlen("kline:");
    if (status_scan(ctx, pattern, status_collect_key, keys) == 0)
        (void)status_pipeline(ctx, keys, "HGET %s t", status_take_kline, &sk);
    json_object_foreach(sk.by_iv, iv, arr) {
        size_t n = json_array_size(arr);
        int64_t *ages = malloc(sizeof(*ages) * (n ? n : 1));
        for (size_t i = 0; ages && i < n; i++) ages[i] = json_integer_value(json_array_get(arr, i));
        json_object_set_new(out, iv, status_ages(ages, ages ? n : 0));
        free(ages);
    }
    json_decref(sk.by_iv);
    json_decref(keys);
    return out;
}

static json_t *status_hot(const struct status_ctx *ctx)
{
    json_t *o = json_object();
    redisReply *r = redisCommand(ctx->c, "HMGET %shot t symbols src", ctx->prefix);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        int64_t t = status_reply_int(r->element[0]);
        json_t *syms = r->element[1]->type == REDIS_REPLY_STRING
                           ? jv_parse(r->element[1]->str, r->element[1]->len, NULL, 0)
                           : NULL;
        json_object_set_new(o, "age_ms", json_integer(ctx->now - t));
        json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(syms)));
        json_object_set_new(o, "symbols", json_is_array(syms) ? json_incref(syms) : json_array());
        json_object_set_new(o, "src", json_string(r->element[2]->type == REDIS_REPLY_STRING
                                                      ? r->element[2]->str
                                                      : ""));
        json_decref(syms);
    } else {
        json_object_set_new(o, "age_ms", json_null());
        json_object_set_new(o, "count", json_integer(0));
    }
    if (r) freeReplyObject(r);
    return o;
}

json_t *status_data(const struct status_ctx *ctx, char *err, size_t cap)
{
    json_t *o = json_object();
    json_object_set_new(o, "universe", status_universe(ctx));
    json_object_set_new(o, "ticks", status_ticks(ctx));
    json_object_set_new(o, "kline", status_klines(ctx));
    json_object_set_new(o, "hot", status_hot(ctx));
    if (ctx->c->err) {
        snprintf(err, cap, "reading data: %s", ctx->c->errstr);
        json_decref(o);
        return NULL;
    }
    return o;
}

static void status_print_ages(FILE *out, const char *label, const json_t *a)
{
    char oldest[32], median[32];
    status_format_age(status_json_int(a, "oldest_ms"), oldest, sizeof(oldest));
    status_format_age(status_json_int(a, "median_ms"), median, sizeof(median));
    fprintf(out, "  %-12s %6lld records   oldest %-8s median %s\n", label,
            (long long)status_json_int(a, "count"), oldest, median);
}

static void status_print_data(const json_t *d, const struct status_ctx *ctx, FILE *out)
{
    const json_t *u = json_object_get(d, "universe"), *h = json_object_get(d, "hot"), *a;
    const char *iv;
    char age[32], label[48];
    (void)ctx;
    fprintf(out, "data:\n  %-12s %6lld symbols   version %lld\n", "universe",
            (long long)status_json_int(u, "symbols"), (long long)status_json_int(u, "version"));
    status_print_ages(out, "ticks", json_object_get(d, "ticks"));
    json_object_foreach((json_t *)json_object_get(d, "kline"), iv, a) {
        snprintf(label, sizeof(label), "kline %s", iv);
        status_print_ages(out, label, a);
    }
    status_format_age(status_json_int(h, "age_ms"), age, sizeof(age));
    fprintf(out, "  %-12s %6lld symbols   age %-11s src %s\n", "hot",
            (long long)status_json_int(h, "count"), age, status_json_str(h, "src"));
}

/* ---- the sections ------------------------------------------------------------------------------ */

/* Add a section here (see status.h). */
static const struct status_section status_sections[] = {
    {"instances", status_instances, status_print_instances},
    {"data", status_data, status_print_data},
    {"accounts", status_accounts_collect, status_accounts_print},
    {"trading", status_trading_collect, status_trading_print},
};

json_t *status_report(const struct status_ctx *ctx)
{
    json_t *rep = json_object();
    json_object_set_new(rep, "now", json_integer(ctx->now));
    json_object_set_new(rep, "prefix", json_string(ctx->prefix));
    for (size_t i = 0; i < sizeof(status_sections) / sizeof(status_sections[0]); i++) {
        char err[STATUS_ERR_MAX] = "";
        json_t *v = status_sections[i].collect(ctx, err, sizeof(err));
        if (!v) {
            v = json_object();
            json_object_set_new(v, "error", json_string(err[0] ? err : "failed"));
        }
        json_object_set_new(rep, status_sections[i].name, v);
    }
    return rep;
}

static void status_print(const json_t *rep, const struct status_ctx *ctx, FILE *out)
{
    char ts[40];
    timebase_format_iso(ctx->now, ts, sizeof(ts));
    fprintf(out, "bfq status  %s\n\n", ts);
    for (size_t i = 0; i < sizeof(status_sections) / sizeof(status_sections[0]); i++) {
        const json_t *v = json_object_get(rep, status_sections[i].name);
        const json_t *e = json_is_object(v) ? json_object_get(v, "error") : NULL;
        if (json_is_string(e))
            fprintf(out, "%s: error: %s\n", status_sections[i].name, json_string_value(e));
        else
            status_sections[i].print(v, ctx, out);
        fprintf(out, "\n");
    }
}

/* ---- connection and entry point ------------------------------------------------------------------ */

static volatile sig_atomic_t status_stop;

static void status_on_signal(int sig)
{
    (void)sig;
    status_stop = 1;
}

/* One report: 0, or 1 when Redis failed (message on stderr). */
static int status_once(redisContext *c, const char *prefix, int as_json, int clear)
{
    struct status_ctx ctx = {c, prefix, timebase_wall_ms()};
    json_t *rep = status_report(&ctx);
    if (c->err) {
        fprintf(stderr, "bfq status: redis: %s\n", c->errstr);
        json_decref(rep);
        return 1;
    }
    if (clear) fputs("\033[H\033[2J", stdout);
    if (as_json) {
        char *text = jv_dump(rep);
        if (text) puts(text);
        free(text);
    } else {
        status_print(rep, &ctx, stdout);
    }
    fflush(stdout);
    json_decref(rep);
    return 0;
}

int status_main(int argc, char **argv)
{
    struct config *cfg = NULL;
    const char *url = NULL, *prefix = NULL;
    int as_json = 0, watch = 0, rc = 0;
    char err[STATUS_ERR_MAX];
    enum cli_result cr = cli_parse(&status_cli, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    if (config_required(cfg, "redis", "url", &url) < 0 ||
        config_str(cfg, "redis", "prefix", "bfq:", &prefix) < 0 ||
        config_bool(cfg, "status", "json", 0, &as_json) < 0 ||
        config_bool(cfg, "status", "watch", 0, &watch) < 0) {
        fprintf(stderr, "bfq status: %s\n", config_errstr(cfg));
        config_free(cfg);
        return 1;
    }
    redisContext *c = rblock_connect(url, 2000, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "bfq status: %s\n", err);
        config_free(cfg);
        return 1;
    }
    signal(SIGINT, status_on_signal);
    signal(SIGTERM, status_on_signal);
    do {
        rc = status_once(c, prefix, as_json, watch);
        if (watch && !rc && !status_stop) sleep(1);
    } while (watch && !rc && !status_stop);
    redisFree(c);
    config_free(cfg);
    return rc;
}
