/* test_recorder_util: what the recorder's integration tests share (header-only, included once
 * per test): the set-up of redis-server (ACL users), `bfq sim`, a private MariaDB and the
 * config files, fills placed through the simulator's signed REST, and the comparison of the
 * recorder's tables with the simulator's own userTrades and income history, row for row. */
#ifndef BFQ_TEST_RECORDER_UTIL_H
#define BFQ_TEST_RECORDER_UTIL_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/decimal.h"
#include "tests/harness/harness.h"
#include "tests/harness/mariadb.h"
#include "tests/harness/testbinance.h"

#define RT_KEY "rec8key0123456789abcd"
#define RT_SECRET "rec8secret0123456789abcdef012345"

static const char *const rt_symbols[] = {"BTCUSDT", "ETHUSDT", "XRPUSDT", "BNBUSDT"};
static const char *const rt_qty[] = {"0.010", "0.010", "20", "0.10"};
#define RT_NSYM 4

struct rt {
    struct th_redis redis;
    struct th_sim sim;
    struct th_mariadb db;
    struct tb_account acct;
    redisContext *rc;
    char us_conf[512], rec_conf[512];
};

static inline void rt_write_conf(const char *path, const struct rt *t, const char *user,
                          const char *backfill_every)
{
    char url[256];
    th_redis_url_for(&t->redis, user, url, sizeof url);
    FILE *f = th_fopen_private(path);
    if (!f) return;
    fprintf(f,
            "[redis]\nurl = %s\n[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\n"
            "api_secret = %s\n[mysql]\nurl = %s\n[userstream]\norders_every = 0\n"
            "backoff_min = 50ms\nbackoff_max = 1s\n[recorder]\npoll = 50ms\nbackoff_min = 200ms\n"
            "backoff_max = 2s\nincome_every = 2s\nbackfill_every = %s\nsource_ip = 127.0.0.2\n"
            "snapshot_every = 1s\nclaim_idle = 1s\n",
            url, t->sim.url, RT_KEY, RT_SECRET, t->db.recorder_url, backfill_every);
    fclose(f);
}

/* Everything up; the recorder's full REST backfill runs every `backfill_every`. */
static inline int rt_start(struct rt *t, const char *backfill_every)
{
    const char *simargs[] = {"--account", "main:" RT_KEY ":" RT_SECRET ":100000", "--symbols",
                             "20", NULL};
    if (th_redis_start(&t->redis, 1) < 0 || th_sim_start(&t->sim, simargs) < 0 ||
        th_mariadb_start(&t->db, 1) < 0)
        return -1;
    t->acct = (struct tb_account){t->sim.url, RT_KEY, RT_SECRET};
    t->rc = tb_redis(t->redis.port, 1);
    snprintf(t->us_conf, sizeof t->us_conf, "%s/us.ini", th_tmpdir());
    snprintf(t->rec_conf, sizeof t->rec_conf, "%s/rec.ini", th_tmpdir());
    rt_write_conf(t->us_conf, t, "account", backfill_every);
    rt_write_conf(t->rec_conf, t, "recorder", backfill_every);
    return t->rc ? 0 : -1;
}

static inline pid_t rt_spawn(const char *conf, const char *role, const char *instance)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s-%s.log", th_tmpdir(), role, instance);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--instance", instance, NULL};
    return th_spawn(argv, log);
}

/* A market fill of symbol i (its own quantity), BUY or SELL. */
static inline void rt_fill(struct rt *t, int i, const char *side)
{
    char *body = NULL;
    long code = tb_market(&t->acct, rt_symbols[i % RT_NSYM], side, rt_qty[i % RT_NSYM], NULL,
                          &body);
    if (code != 200) fprintf(stderr, "fill %s %s: %ld %s\n", rt_symbols[i % RT_NSYM], side, code,
                             body ? body : "");
    CHECK(code == 200);
    free(body);
}

/* n round trips over the symbols: open, then close (realized PnL on the close). */
static inline void rt_trade(struct rt *t, int n)
{
    for (int i = 0; i < n; i++) {
        rt_fill(t, i, "BUY");
        rt_fill(t, i, "SELL");
    }
}

static inline void rt_income(struct rt *t, const char *type, const char *amount, const char *sym)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/income?account=main&type=%s&amount=%s%s%s", t->sim.url,
             type, amount, sym ? "&symbol=" : "", sym ? sym : "");
    CHECK(th_http("POST", url, NULL, NULL, &body) == 200);
    free(body);
}

/* "12.3400" -> "12.34", "5.0" -> "5", "-0" -> "0" (the columns keep 18 decimals). */
#define rt_norm dec_trim_text

/* Appends one line of fields (decimals normalised) to a growing buffer. */
static inline void rt_line(char **buf, size_t *len, const char *const *f, int n)
{
    for (int i = 0; i < n; i++) {
        char v[128];
        rt_norm(f[i], v, sizeof v);
        size_t k = strlen(v) + 1;
        char *nb = realloc(*buf, *len + k + 2);
        if (!nb) return;
        *buf = nb;
        memcpy(*buf + *len, v, k - 1);
        *len += k - 1;
        (*buf)[(*len)++] = i + 1 < n ? '|' : '\n';
        (*buf)[*len] = 0;
    }
}

static inline const char *rt_jstr(const json_t *o, const char *k, char *tmp, size_t cap)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) snprintf(tmp, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v)) snprintf(tmp, cap, "%d", json_is_true(v) ? 1 : 0);
    else snprintf(tmp, cap, "?");
    return tmp;
}

static inline int rt_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of buf (each ending in '\n') sorted, as a new buffer; frees buf. */
static inline char *rt_sorted(char *buf)
{
    size_t n = 0, len = buf ? strlen(buf) : 0, k = 0;
    if (!buf) return NULL;
    for (size_t i = 0; i < len; i++) n += buf[i] == '\n';
    char **lines = calloc(n + 1, sizeof *lines), *out = malloc(len + 1), *p = buf;
    for (size_t i = 0; i < n; i++) {
        lines[i] = p;
        p = strchr(p, '\n');
        *p++ = 0;
    }
    qsort(lines, n, sizeof *lines, rt_cmp);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(out + k, lines[i], l);
        k += l;
        out[k++] = '\n';
    }
    out[k] = 0;
    free(lines);
    free(buf);
    return out;
}

/* One line per element of `path` over every test symbol (query `qfmt` with %s the symbol), the
 * fields named, sorted. */
static inline char *rt_sim_list(struct rt *t, const char *path, const char *qfmt,
                         const char *const *fields, int nf, int *count)
{
    char *out = NULL;
    size_t len = 0;
    *count = 0;
    for (int s = 0; s < RT_NSYM; s++) {
        char q[160], *body = NULL;
        snprintf(q, sizeof q, qfmt, rt_symbols[s]);
        if (tb_signed(&t->acct, "GET", path, q, &body) != 200) {
            free(body);
            free(out);
            return NULL;
        }
        json_t *arr = json_loads(body, 0, NULL), *e;
        size_t i;
        json_array_foreach(arr, i, e) {
            char b[16][48];
            const char *f[16];
            for (int k = 0; k < nf && k < 16; k++) f[k] = rt_jstr(e, fields[k], b[k], 48);
            rt_line(&out, &len, f, nf);
            (*count)++;
        }
        json_decref(arr);
        free(body);
    }
    return rt_sorted(out ? out : strdup(""));
}

/* The simulator's userTrades of every test symbol, one line per fill. */
static inline char *rt_sim_trades(struct rt *t, int *count)
{
    static const char *const f[] = {"symbol",     "id",         "orderId",
                                    "side",       "price",      "qty",
                                    "quoteQty",   "commission", "commissionAsset",
                                    "realizedPnl", "maker",     "time"};
    return rt_sim_list(t, "/fapi/v1/userTrades", "symbol=%s&fromId=1&limit=1000", f, 12, count);
}

/* The same lines from the trades table. */
static inline char *rt_db_trades(struct rt *t, int *count)
{
    char *rows = NULL;
    if (th_mariadb_sql(&t->db, "SELECT symbol, trade_id, order_id, side, price, qty, quote_qty,"
                               " commission, commission_asset, realized_pnl, maker, time_ms"
                               " FROM bfq.trades WHERE account = 'main' ORDER BY symbol, trade_id",
                       &rows) != 0) {
        free(rows);
        return NULL;
    }
    char *out = NULL, *save = NULL;
    size_t len = 0;
    *count = 0;
    for (char *line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *f[12];
        int n = 0;
        char *fs = NULL;
        for (char *x = strtok_r(line, "\t", &fs); x && n < 12; x = strtok_r(NULL, "\t", &fs))
            f[n++] = x;
        if (n != 12) continue;
        rt_line(&out, &len, f, 12);
        (*count)++;
    }
    free(rows);
    return rt_sorted(out ? out : strdup(""));
}

/* The simulator's income history (every row), one line per row ordered by type, tranId. */
static inline char *rt_sim_income(struct rt *t, int *count)
{
    char *body = NULL, *out = NULL;
    size_t len = 0;
    *count = 0;
    if (tb_signed(&t->acct, "GET", "/fapi/v1/income", "startTime=0&limit=1000", &body) != 200) {
        free(body);
        return NULL;
    }
    json_t *arr = json_loads(body, 0, NULL), *e;
    size_t i;
    size_t n = json_array_size(arr);
    json_array_foreach(arr, i, e) {
        char b[7][40];
        const char *f[] = {rt_jstr(e, "incomeType", b[0], 40), rt_jstr(e, "tranId", b[1], 40),
                           rt_jstr(e, "symbol", b[2], 40),     rt_jstr(e, "income", b[3], 40),
                           rt_jstr(e, "asset", b[4], 40),      rt_jstr(e, "time", b[5], 40)};
        rt_line(&out, &len, f, 6);
    }
    *count = (int)n;
    json_decref(arr);
    free(body);
    return rt_sorted(out ? out : strdup(""));
}

static inline char *rt_db_income(struct rt *t, int *count)
{
    char *rows = NULL, *out = NULL, *save = NULL;
    size_t len = 0, n = 0;
    if (th_mariadb_sql(&t->db, "SELECT income_type, tran_id, symbol, income, asset, time_ms"
                               " FROM bfq.income WHERE account = 'main'",
                       &rows) != 0) {
        free(rows);
        return NULL;
    }
    for (char *line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *f[6];
        int k = 0;
        /* an empty symbol is an empty field: split by hand */
        for (char *x = line; k < 6; k++) {
            f[k] = x;
            char *tab = strchr(x, '\t');
            if (!tab) {
                k++;
                break;
            }
            *tab = 0;
            x = tab + 1;
        }
        if (k != 6) continue;
        rt_line(&out, &len, f, 6);
        n++;
    }
    free(rows);
    *count = (int)n;
    return rt_sorted(out ? out : strdup(""));
}

/* The simulator's side, read once per check (the exchange's weight is not for polling). */
struct rt_want {
    struct rt *t;
    char *trades, *income;
    int ntrades, nincome;
};

/* Whether the tables hold exactly the simulator's trades and income (polled by tests). */
static inline int rt_tables_equal(void *arg)
{
    struct rt_want *w = arg;
    int nd = 0, id = 0;
    char *dt = rt_db_trades(w->t, &nd), *di = rt_db_income(w->t, &id);
    int ok = w->trades && w->income && dt && di && w->ntrades == nd && w->nincome == id &&
             !strcmp(w->trades, dt) && !strcmp(w->income, di);
    free(dt);
    free(di);
    if (!ok) th_sleep_ms(200);
    return ok;
}

/* Prints what differs (after a failed wait). */
static inline void rt_show_diff(struct rt_want *w)
{
    int nd = 0, id = 0;
    char *dt = rt_db_trades(w->t, &nd), *di = rt_db_income(w->t, &id);
    fprintf(stderr, "sim trades %d, table %d; sim income %d, table %d\n", w->ntrades, nd,
            w->nincome, id);
    if (w->trades && dt && strcmp(w->trades, dt))
        fprintf(stderr, "--- sim trades\n%s--- table\n%s", w->trades, dt);
    if (w->income && di && strcmp(w->income, di))
        fprintf(stderr, "--- sim income\n%s--- table\n%s", w->income, di);
    free(dt);
    free(di);
}

static inline void rt_check_equal(struct rt *t, int timeout_ms, const char *when)
{
    struct rt_want w = {t, NULL, NULL, 0, 0};
    w.trades = rt_sim_trades(t, &w.ntrades);
    w.income = rt_sim_income(t, &w.nincome);
    CHECK(w.trades && w.income && w.ntrades > 0 && w.nincome > 0);
    int ok = th_wait_until(rt_tables_equal, &w, timeout_ms);
    if (!ok) {
        fprintf(stderr, "tables differ from the simulator %s\n", when);
        rt_show_diff(&w);
    }
    CHECK(ok);
    free(w.trades);
    free(w.income);
}

/* An integer from one SQL answer (first column of the first row), -1 on failure. */
static inline long long rt_sql_num(struct rt *t, const char *sql)
{
    char *out = NULL;
    long long v = -1;
    if (th_mariadb_sql(&t->db, sql, &out) == 0 && out) v = strtoll(out, NULL, 10);
    free(out);
    return v;
}

/* The alerts on bfq:alerts with that key (and level, unless NULL). */
static inline long long rt_alerts(struct rt *t, const char *key, const char *level)
{
    redisReply *r = redisCommand(t->rc, "XRANGE bfq:alerts - +");
    long long n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *kv = r->element[i]->element[1];
        int k = 0, lv = !level;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            if (!strcmp(kv->element[j]->str, "key") && !strcmp(kv->element[j + 1]->str, key))
                k = 1;
            if (level && !strcmp(kv->element[j]->str, "level") &&
                !strcmp(kv->element[j + 1]->str, level))
                lv = 1;
        }
        n += k && lv;
    }
    if (r) freeReplyObject(r);
    return n;
}

/* Entries of bfq:events:main delivered to a recorder and not yet acknowledged, or -1. */
static inline long long rt_pending(struct rt *t)
{
    redisReply *r = redisCommand(t->rc, "XPENDING bfq:events:main recorder");
    long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                          r->element[0]->type == REDIS_REPLY_INTEGER
                      ? r->element[0]->integer
                      : -1;
    if (r) freeReplyObject(r);
    return n;
}

/* The heartbeat JSON of recorder `instance` (malloc'd), or NULL. */
static inline char *rt_hb(struct rt *t, const char *instance)
{
    redisReply *r = redisCommand(t->rc, "GET bfq:hb:recorder:%s", instance);
    char *s = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    if (r) freeReplyObject(r);
    return s;
}

/* KILL CONNECTION on each of the recorder's MariaDB connections matching cond (an SQL
 * condition on information_schema.processlist, "1" for all); returns how many were killed. */
static inline int rt_kill_conns(struct rt *t, const char *cond)
{
    char q[512], *ids = NULL;
    int killed = 0;
    snprintf(q, sizeof q, "SELECT id FROM information_schema.processlist WHERE user ="
             " 'recorder' AND (%s)", cond);
    if (th_mariadb_sql(&t->db, q, &ids) != 0) ids = NULL;
    for (char *p = ids; p && *p;) {
        char sql[64];
        snprintf(sql, sizeof sql, "KILL CONNECTION %lld", strtoll(p, NULL, 10));
        killed += th_mariadb_sql(&t->db, sql, NULL) == 0;
        p = strchr(p, '\n');
        if (p) p++;
    }
    free(ids);
    return killed;
}

/* Stops the recorder (a clean exit 0 checked: under ASan, no leak) and the user stream, then
 * everything rt_start started. */
static inline void rt_finish(struct rt *t, pid_t rec, pid_t us)
{
    CHECK(th_alive(us) && th_alive(rec));
    int st = th_stop(rec, 10000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    th_stop(us, 5000);
    th_mariadb_stop(&t->db);
    redisFree(t->rc);
    th_sim_stop(&t->sim);
    th_redis_stop(&t->redis);
}

#endif
