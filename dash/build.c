/* build: the dashboard's pure logic (see build.h). */
#include "dash/build.h"

#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"

#define DAY_MS 86400000LL

int dash_range_ms(const char *range, int64_t *ms)
{
    static const struct { const char *name; int64_t days; } ranges[] = {
        {"1d", 1}, {"7d", 7}, {"30d", 30}, {"all", 0}};
    for (size_t i = 0; range && i < sizeof ranges / sizeof ranges[0]; i++) {
        if (strcmp(range, ranges[i].name)) continue;
        *ms = ranges[i].days * DAY_MS;
        return 0;
    }
    return -1;
}

size_t dash_downsample(size_t n, size_t max, size_t *idx)
{
    if (n <= max) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return n;
    }
    for (size_t k = 0; k < max; k++) idx[k] = (size_t)(((unsigned long long)(k + 1) * n) / max) - 1;
    return max;
}

int64_t dash_bucket_ms(int64_t lo, int64_t hi, size_t max)
{
    if (hi <= lo || max == 0) return 1;
    return (hi - lo) / (int64_t)max + 1; /* (hi - lo) / width < max: buckets 0 .. max - 1 */
}

/* A trimmed copy of a decimal column ("12.340000" -> "12.34"); null for SQL NULL. */
static json_t *trimmed(const json_t *v)
{
    char buf[DEC_STR_MAX + 16];
    if (!json_is_string(v)) return json_null();
    dec_trim_text(json_string_value(v), buf, sizeof buf);
    return json_string(buf);
}

static json_t *int_of(const json_t *v)
{
    return json_is_string(v) ? json_integer(strtoll(json_string_value(v), NULL, 10)) : json_null();
}

json_t *dash_curve(const json_t *rows, const char *range, int64_t from, size_t max)
{
    size_t n = json_array_size(rows), *idx = malloc((max ? max : 1) * sizeof *idx);
    json_t *t = json_array(), *bal = json_array(), *eq = json_array(), *up = json_array();
    if (!idx) abort();
    size_t k = dash_downsample(n, max, idx);
    for (size_t i = 0; i < k; i++) {
        const json_t *row = json_array_get(rows, idx[i]);
        json_array_append_new(t, int_of(json_array_get(row, 0)));
        json_array_append_new(bal, trimmed(json_array_get(row, 1)));
        json_array_append_new(eq, trimmed(json_array_get(row, 2)));
        json_array_append_new(up, trimmed(json_array_get(row, 3)));
    }
    free(idx);
    return json_pack("{s:s,s:I,s:I,s:o,s:o,s:o,s:o}", "range", range, "from", (json_int_t)from,
                     "points", (json_int_t)n, "t", t, "balance", bal, "equity", eq, "upnl", up);
}

json_t *dash_losers(const json_t *rows)
{
    static const char *const names[] = {"symbol", "trade_id", "side", "price",
                                        "qty",    "realized_pnl", "time_ms"};
    json_t *out = json_array(), *row;
    size_t i;
    json_array_foreach(rows, i, row) {
        json_t *o = json_object();
        for (size_t c = 0; c < 7; c++) {
            const json_t *v = json_array_get(row, c);
            json_t *x = c == 1 || c == 6 ? int_of(v) : c == 0 || c == 2 ? json_copy((json_t *)v)
                                                                        : trimmed(v);
            json_object_set_new(o, names[c], x ? x : json_null());
        }
        json_array_append_new(out, o);
    }
    return out;
}

/* ---- positions and orders ------------------------------------------------------------------ */

static int dec_of(const json_t *o, const char *key, struct dec *d)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && dec_parse(s, strlen(s), d) == DEC_OK ? 0 : -1;
}

static json_t *dec_json(struct dec d)
{
    char buf[DEC_STR_MAX];
    if (dec_format_trim(d, buf, sizeof buf) < 0) return json_null();
    return json_string(buf);
}

/* The book mid of sym, or null. */
static json_t *mid_of(const json_t *ticks, const char *sym)
{
    const json_t *t = json_object_get(ticks, sym);
    struct dec b, a, sum, mid;
    if (dec_of(t, "b", &b) < 0 || dec_of(t, "a", &a) < 0 || dec_add(a, b, &sum) != DEC_OK)
        return json_null();
    int scale = sum.scale < DEC_MAX_SCALE ? sum.scale + 1 : DEC_MAX_SCALE;
    if (dec_div(sum, dec_from_int(2), scale, DEC_ROUND_NEAREST, &mid) != DEC_OK)
        return json_null();
    return dec_json(mid);
}

const char *dash_order_class(const char *client_id)
{
    static const char *const classes[] = {"mo", "to", "mc", "tc", "cv", "sl", "hs", "kl", "mn"};
    for (size_t i = 0; client_id && i < sizeof classes / sizeof classes[0]; i++)
        if (!strncmp(client_id, classes[i], 2) && client_id[2] == '_') return classes[i];
    return "other";
}

/* "SYM:algo:id" or "SYM:id": the symbol into sym, the client id returned, *algo set. */
static const char *order_split(const char *field, char *sym, size_t cap, int *algo)
{
    const char *c = strchr(field, ':');
    size_t n = c ? (size_t)(c - field) : 0;
    if (!c || n >= cap) return NULL;
    memcpy(sym, field, n);
    sym[n] = 0;
    *algo = !strncmp(c + 1, "algo:", 5);
    return c + 1 + (*algo ? 5 : 0);
}

struct dash_cover {
    struct dec qty;
    int hard;
};

/* The stop coverage of one position (symbol, its side field, amt) from the open orders. */
static struct dash_cover cover_of(const json_t *orders, const char *sym, const char *pside,
                                  const struct dec amt)
{
    struct dash_cover cv = {{0, 0}, 0};
    const char *field, *close_side = dec_sign(amt) > 0 ? "SELL" : "BUY";
    const json_t *o;
    json_object_foreach((json_t *)orders, field, o) {
        char s[64];
        int algo = 0;
        const char *cid = order_split(field, s, sizeof s, &algo), *cls = dash_order_class(cid);
        const char *side = json_string_value(json_object_get(o, "side"));
        const char *ps = json_string_value(json_object_get(o, "positionSide"));
        struct dec q;
        if (!cid || !algo || strcmp(s, sym) || !side || strcmp(side, close_side)) continue;
        if (ps && strcmp(pside, "BOTH") && strcmp(ps, pside)) continue;
        if (!strcmp(cls, "hs")) cv.hard++;
        else if (!strcmp(cls, "sl") && dec_of(o, "origQty", &q) == 0 &&
                 dec_add(cv.qty, q, &cv.qty) != DEC_OK)
            break;
    }
    return cv;
}

static json_t *position_of(const char *field, const json_t *rec, const json_t *orders,
                           const json_t *ticks)
{
    char sym[64];
    const char *c = strchr(field, ':');
    struct dec amt, ratio;
    size_t n = c ? (size_t)(c - field) : 0;
    if (!c || n >= sizeof sym || dec_of(rec, "amt", &amt) < 0 || dec_is_zero(amt)) return NULL;
    memcpy(sym, field, n);
    sym[n] = 0;
    struct dash_cover cv = cover_of(orders, sym, c + 1, amt);
    json_t *cov = dec_div(cv.qty, dec_abs(amt), 4, DEC_ROUND_DOWN, &ratio) == DEC_OK
                      ? dec_json(ratio) : json_null();
    const json_t *entry = json_object_get(rec, "entry"), *upnl = json_object_get(rec, "upnl");
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:O,s:o,s:i,s:o}", "symbol", sym, "side", c + 1,
                     "amt", dec_json(amt), "entry", trimmed(entry), "mark", mid_of(ticks, sym),
                     "upnl", trimmed(upnl), "t", json_object_get(rec, "t") ?
                     json_object_get(rec, "t") : json_null(), "stop_qty", dec_json(cv.qty),
                     "hard_stops", cv.hard, "coverage", cov);
}

static int cmp_field(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted (a malloc'd array of borrowed strings; *n set). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    const char **keys = malloc((json_object_size(obj) + 1) * sizeof *keys), *k;
    json_t *v;
    if (!keys) abort();
    *n = 0;
    json_object_foreach((json_t *)obj, k, v) keys[(*n)++] = k;
    qsort(keys, *n, sizeof *keys, cmp_field);
    return keys;
}

json_t *dash_positions(const json_t *pos, const json_t *orders, const json_t *ticks)
{
    size_t n;
    const char **keys = sorted_keys(pos, &n);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *p = position_of(keys[i], json_object_get(pos, keys[i]), orders, ticks);
        if (p) json_array_append_new(out, p);
    }
    free(keys);
    return out;
}

static json_t *str_or_null(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_copy((json_t *)v) : json_null();
}

json_t *dash_orders(const json_t *orders)
{
    size_t n;
    const char **keys = sorted_keys(orders, &n);
    json_t *by = json_object(), *list = json_array();
    for (size_t i = 0; i < n; i++) {
        char sym[64];
        int algo = 0;
        const char *cid = order_split(keys[i], sym, sizeof sym, &algo), *cls;
        const json_t *o = json_object_get(orders, keys[i]);
        if (!cid) continue;
        cls = dash_order_class(cid);
        json_object_set_new(by, cls, json_integer(json_integer_value(json_object_get(by, cls)) + 1));
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o}",
                                              "symbol", sym, "client_id", cid, "class", cls,
                                              "algo", algo, "side", str_or_null(o, "side"),
                                              "type", str_or_null(o, "type"), "price",
                                              str_or_null(o, "price"), "trigger",
                                              str_or_null(o, "triggerPrice"), "qty",
                                              str_or_null(o, "origQty"), "status",
                                              str_or_null(o, "status")));
    }
    free(keys);
    return json_pack("{s:o,s:o}", "by_class", by, "orders", list);
}

/* ---- health -------------------------------------------------------------------------------- */

static int64_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static json_t *copy_or_null(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return v ? json_copy((json_t *)v) : json_null();
}

static json_t *instance_row(const json_t *hb, const struct dash_stale *lim, int64_t now,
                            int *stale)
{
    static const char *const keep[] = {"role", "instance", "host", "source_ip", "last_success",
                                       "last_success_age_ms", "errors_total", "requests",
                                       "weight", "ip_weight_minute", "version", "last_errstr"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        json_object_set_new(o, keep[i], copy_or_null(hb, keep[i]));
    /* Stale: its heartbeat is old, or it has been failing (errors since its last success, or
     * since it started when it never had one) for longer than the limit. An idle instance
     * (a gateway with no order to send, a trader) is not stale: no success is due. */
    int64_t hb_age = num(hb, "age_ms"), ok = num(hb, "last_success"), bad = num(hb, "last_error");
    int64_t since = ok > 0 ? ok : num(hb, "started");
    *stale = hb_age < 0 || hb_age > lim->instance ||
             (bad > 0 && bad > ok && since > 0 && now - since > lim->instance);
    json_object_set_new(o, "stale", json_boolean(*stale));
    return o;
}

static void data_row(json_t *rows, const char *kind, int64_t count, int64_t age, int64_t limit,
                     int *nstale)
{
    int stale = age < 0 || age > limit;
    *nstale += stale;
    json_array_append_new(rows, json_pack("{s:s,s:I,s:o,s:b}", "kind", kind, "count",
                                          (json_int_t)count, "age_ms",
                                          age < 0 ? json_null() : json_integer(age), "stale",
                                          stale));
}

static void account_rows(json_t *rows, const json_t *accounts, const struct dash_stale *lim,
                         int *nstale)
{
    const char *name, *src;
    const json_t *a, *s;
    json_object_foreach((json_t *)accounts, name, a) {
        json_object_foreach(json_object_get(a, "sources"), src, s) {
            char kind[128];
            snprintf(kind, sizeof kind, "account %s %s", name, src);
            data_row(rows, kind, 1, num(s, "age_ms"), lim->source, nstale);
        }
    }
}

json_t *dash_health(const json_t *report, const struct dash_stale *lim)
{
    json_t *inst = json_array(), *rows = json_array(), *hb, *v;
    const json_t *data = json_object_get(report, "data");
    const char *iv;
    size_t i;
    int nstale = 0, st;
    json_array_foreach(json_object_get(report, "instances"), i, hb) {
        json_array_append_new(inst, instance_row(hb, lim, num(report, "now"), &st));
        nstale += st;
    }
    const json_t *ticks = json_object_get(data, "ticks");
    data_row(rows, "ticks", num(ticks, "count"), num(ticks, "oldest_ms"), lim->ticks, &nstale);
    json_object_foreach(json_object_get(data, "kline"), iv, v) {
        char kind[64];
        snprintf(kind, sizeof kind, "kline %s", iv);
        data_row(rows, kind, num(v, "count"), num(v, "oldest_ms"), lim->klines, &nstale);
    }
    account_rows(rows, json_object_get(report, "accounts"), lim, &nstale);
    return json_pack("{s:o,s:o,s:i}", "instances", inst, "data", rows, "stale", nstale);
}

json_t *dash_error(const char *part, const char *why)
{
    return json_pack("{s:s,s:s}", "error", why ? why : "failed", "part", part ? part : "");
}

int dash_token_equal(const char *want, const char *got)
{
    size_t n = strlen(want), m = got ? strlen(got) : 0;
    unsigned char diff = (unsigned char)(n != m || !got);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(got && i < m ? got[i] : 0);
    return diff == 0;
}
