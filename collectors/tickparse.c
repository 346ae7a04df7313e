/* tickparse: validation of an all-symbol book-ticker answer and the reconciler batch built
 * from it (see tickparse.h). The record and the published value are assembled by copying the
 * exchange's own decimal strings, which dec_parse has checked hold only digits, a point and a
 * sign, so nothing needs escaping or reformatting. This runs on every answer (8 a second per
 * IP, 200+ entries each) and sits on the path to every subscriber, so each entry costs one
 * member lookup per field and no formatted printing. */
#include "collectors/tickparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/jsonval.h"
#include "reconciler/recon.h"

#define TICKPARSE_RECORD_MAX 512 /* bytes of one record's JSON */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_syms(char **syms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(syms[i]);
    free(syms);
}

/* Allocates the per-symbol memory of n symbols; 0 or -1. */
static int alloc_seen(size_t n, int64_t **t, int64_t **uid)
{
    *t = calloc(n ? n : 1, sizeof **t);
    *uid = calloc(n ? n : 1, sizeof **uid);
    if (*t && *uid) return 0;
    free(*t);
    free(*uid);
    return -1;
}

int tick_universe_set(struct tick_universe *u, const char *const *syms, size_t n)
{
    if (n > TICKPARSE_SYMBOLS_MAX) return -1;
    char **copy = calloc(n ? n : 1, sizeof *copy);
    if (!copy) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(syms[i]);
        if (len == 0 || len >= TICKPARSE_SYMBOL_MAX) continue;
        copy[m] = strdup(syms[i]);
        if (!copy[m]) {
            free_syms(copy, m);
            return -1;
        }
        m++;
    }
    qsort(copy, m, sizeof *copy, str_cmp);
    size_t w = 0; /* drop duplicates */
    for (size_t i = 0; i < m; i++) {
        if (w > 0 && !strcmp(copy[w - 1], copy[i]))
            free(copy[i]);
        else
            copy[w++] = copy[i];
    }
    int64_t *lt, *lu;
    if (alloc_seen(w, &lt, &lu) < 0) {
        free_syms(copy, w);
        return -1;
    }
    tick_universe_free(u);
    u->syms = copy;
    u->last_t = lt;
    u->last_uid = lu;
    u->n = w;
    return 0;
}

long tick_universe_index(const struct tick_universe *u, const char *sym)
{
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(u->syms[mid], sym);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void tick_universe_forget(struct tick_universe *u)
{
    if (u->n == 0) return;
    memset(u->last_t, 0, u->n * sizeof *u->last_t);
    memset(u->last_uid, 0, u->n * sizeof *u->last_uid);
}

void tick_universe_free(struct tick_universe *u)
{
    free_syms(u->syms, u->n);
    free(u->last_t);
    free(u->last_uid);
    u->syms = NULL;
    u->last_t = u->last_uid = NULL;
    u->n = 0;
}

struct recon_batch *tickparse_batch_new(const char *prefix)
{
    char state[128], ts[128], channel[128];
    int a = snprintf(state, sizeof state, "%sticks", prefix);
    int b = snprintf(ts, sizeof ts, "%sticks:ts", prefix);
    int c = snprintf(channel, sizeof channel, "%sch:tick", prefix);
    if (a < 0 || b < 0 || c < 0 || (size_t)b >= sizeof ts || (size_t)c >= sizeof channel)
        return NULL;
    return recon_batch_new(state, ts, channel, "ticks", RECON_REPLACE);
}

/* A decimal string field that parses exactly and is not negative: its text and length are kept
 * as the exchange sent them (nothing is reformatted). One member lookup in the common case; on
 * any refusal jv_get_dec runs again only to word the reason the same way every getter does. */
static int get_price(const json_t *e, const char *key, const char **out, size_t *len, char *err,
                     size_t cap)
{
    const json_t *v = json_object_get(e, key);
    struct dec d;
    if (!v || !json_is_string(v) ||
        dec_parse(json_string_value(v), json_string_length(v), &d) != DEC_OK) {
        if (jv_get_dec(e, key, &d, err, cap) == 0) snprintf(err, cap, "field '%s' refused", key);
        return -1;
    }
    if (dec_sign(d) < 0) {
        snprintf(err, cap, "field '%s' is negative", key);
        return -1;
    }
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

struct tick_entry {
    const char *sym, *b, *bq, *a, *aq;
    size_t sym_len, b_len, bq_len, a_len, aq_len;
    int64_t t, uid;
};

/* Reads and checks one array entry. Returns 0, or -1 with err. */
static int read_entry(const json_t *e, struct tick_entry *x, char *err, size_t cap)
{
    if (!json_is_object(e)) {
        snprintf(err, cap, "entry is not an object");
        return -1;
    }
    const json_t *v = json_object_get(e, "symbol");
    if (!json_is_string(v)) {
        if (jv_get_str(e, "symbol", &x->sym, err, cap) == 0) snprintf(err, cap, "bad symbol");
        return -1;
    }
    x->sym = json_string_value(v);
    x->sym_len = json_string_length(v);
    if (x->sym_len == 0 || x->sym_len >= TICKPARSE_SYMBOL_MAX || strlen(x->sym) != x->sym_len) {
        snprintf(err, cap, "bad symbol length %zu", x->sym_len);
        return -1;
    }
    return 0;
}

/* Reads the price fields of an entry of a universe symbol. */
static int read_prices(const json_t *e, struct tick_entry *x, char *err, size_t cap)
{
    if (get_price(e, "bidPrice", &x->b, &x->b_len, err, cap) < 0 ||
        get_price(e, "bidQty", &x->bq, &x->bq_len, err, cap) < 0 ||
        get_price(e, "askPrice", &x->a, &x->a_len, err, cap) < 0 ||
        get_price(e, "askQty", &x->aq, &x->aq_len, err, cap) < 0)
        return -1;
    if (jv_get_int64(e, "time", &x->t, err, cap) < 0) return -1;
    if (x->t <= 0) {
        snprintf(err, cap, "field 'time' is not positive");
        return -1;
    }
    x->uid = 0;
    if (jv_opt_int64(e, "lastUpdateId", &x->uid, err, cap) < 0) return -1;
    if (x->uid < 0) {
        snprintf(err, cap, "field 'lastUpdateId' is negative");
        return -1;
    }
    return 0;
}

/* A bounded text being appended to; over is set (and nothing more written) when it is full. */
struct tp_out {
    char *p, *end;
    int over;
};

static void out_put(struct tp_out *o, const char *s, size_t n)
{
    if (o->over || (size_t)(o->end - o->p) <= n) {
        o->over = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

#define OUT_LIT(o, lit) out_put((o), (lit), sizeof(lit) - 1)

static void out_i64(struct tp_out *o, int64_t v) /* v >= 0 */
{
    char tmp[24], *q = tmp + sizeof tmp;
    uint64_t u = (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    out_put(o, q, (size_t)(tmp + sizeof tmp - q));
}

/* Ends the text with its NUL; 0, or -1 when it did not fit. */
static int out_end(struct tp_out *o)
{
    if (o->over) return -1; /* out_put always leaves room for the NUL */
    *o->p = '\0';
    return 0;
}

/* The record {"b":bid,"B":bidQty,"a":ask,"A":askQty,"T":time} and its published form
 * [bid,ask,T], from the exchange's strings (dec_parse checked they hold only digits, a point
 * and a sign: nothing needs escaping), appended with memcpy: no format parsing per record. */
static int add_record(struct recon_batch *b, const struct tick_entry *x, char *err, size_t cap)
{
    char rec[TICKPARSE_RECORD_MAX], pub[TICKPARSE_RECORD_MAX];
    struct tp_out r = {rec, rec + sizeof rec, 0}, p = {pub, pub + sizeof pub, 0};
    OUT_LIT(&r, "{\"b\":\"");
    out_put(&r, x->b, x->b_len);
    OUT_LIT(&r, "\",\"B\":\"");
    out_put(&r, x->bq, x->bq_len);
    OUT_LIT(&r, "\",\"a\":\"");
    out_put(&r, x->a, x->a_len);
    OUT_LIT(&r, "\",\"A\":\"");
    out_put(&r, x->aq, x->aq_len);
    OUT_LIT(&r, "\",\"T\":");
    out_i64(&r, x->t);
    OUT_LIT(&r, "}");
    OUT_LIT(&p, "[\"");
    out_put(&p, x->b, x->b_len);
    OUT_LIT(&p, "\",\"");
    out_put(&p, x->a, x->a_len);
    OUT_LIT(&p, "\",");
    out_i64(&p, x->t);
    OUT_LIT(&p, "]");
    if (out_end(&r) < 0 || out_end(&p) < 0) {
        snprintf(err, cap, "record of %s too long", x->sym);
        return -1;
    }
    if (recon_batch_add(b, x->sym, rec, x->t, x->uid, pub) < 0) {
        snprintf(err, cap, "batch full or out of memory");
        return -1;
    }
    return 0;
}

/* Checks and adds entry i; seen[] marks universe symbols already met. */
static int fill_one(const json_t *e, struct tick_universe *u, unsigned char *seen,
                    struct recon_batch *b, struct tickparse_stats *st)
{
    struct tick_entry x;
    char why[TICKPARSE_ERR_MAX - 32];
    if (read_entry(e, &x, why, sizeof why) < 0) goto bad;
    long idx = tick_universe_index(u, x.sym);
    if (idx < 0) {
        st->foreign++;
        return 0;
    }
    if (seen[idx]) {
        snprintf(why, sizeof why, "symbol %s twice", x.sym);
        goto bad;
    }
    seen[idx] = 1;
    if (read_prices(e, &x, why, sizeof why) < 0) goto bad;
    if (u->time_limit > 0 && x.t > u->time_limit) {
        if (st->future++ == 0 && st->dropped == 0)
            snprintf(st->err, sizeof st->err,
                     "entry %zu: %s time %lld is ahead of the exchange clock (limit %lld)",
                     st->entries - 1, x.sym, (long long)x.t, (long long)u->time_limit);
        return 0;
    }
    if (x.t < u->last_t[idx] || (x.t == u->last_t[idx] && x.uid <= u->last_uid[idx])) {
        st->same++;
        return 0;
    }
    if (add_record(b, &x, why, sizeof why) < 0) {
        snprintf(st->err, sizeof st->err, "entry %zu: %s", st->entries - 1, why);
        return -1; /* the batch itself failed: nothing can be sent */
    }
    u->last_t[idx] = x.t;
    u->last_uid[idx] = x.uid;
    st->kept++;
    if (x.t > st->max_t) st->max_t = x.t;
    return 0;
bad: /* this entry alone is left out */
    if (st->dropped++ == 0 && st->future == 0)
        snprintf(st->err, sizeof st->err, "entry %zu: %s", st->entries - 1, why);
    return 0;
}

int tickparse_fill(const json_t *arr, struct tick_universe *u, struct recon_batch *b,
                   struct tickparse_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!json_is_array(arr)) {
        snprintf(st->err, sizeof st->err, "answer is not an array");
        return -1;
    }
    size_t n = json_array_size(arr);
    if (n > TICKPARSE_ENTRIES_MAX) {
        snprintf(st->err, sizeof st->err, "answer has %zu entries (max %d)", n,
                 TICKPARSE_ENTRIES_MAX);
        return -1;
    }
    unsigned char *seen = calloc(u->n ? u->n : 1, 1);
    if (!seen) {
        snprintf(st->err, sizeof st->err, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        st->entries++;
        rc = fill_one(json_array_get(arr, i), u, seen, b, st);
    }
    free(seen);
    if (rc == 0 && n > 0 && st->dropped == n) {
        char why[TICKPARSE_ERR_MAX - 32];
        memcpy(why, st->err, sizeof why - 1);
        why[sizeof why - 1] = '\0';
        snprintf(st->err, sizeof st->err, "every entry refused (%s)", why);
        rc = -1; /* nothing usable: not the answer's shape Binance sends */
    }
    if (rc < 0) tick_universe_forget(u); /* entries before the failure were marked, not sent */
    return rc;
}

int tickparse_fill_body(const char *body, size_t len, struct tick_universe *u,
                        struct recon_batch *b, struct tickparse_stats *st)
{
    char err[JV_ERR_MAX];
    json_t *arr = jv_parse(body, len, err, sizeof err);
    if (!arr) {
        memset(st, 0, sizeof *st);
        snprintf(st->err, sizeof st->err, "%s", err);
        return -1;
    }
    int rc = tickparse_fill(arr, u, b, st);
    json_decref(arr);
    return rc;
}
