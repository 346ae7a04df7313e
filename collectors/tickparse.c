/* tickparse: validation of an all-symbol book-ticker answer and the reconciler batch built
 * from it (see tickparse.h). The record and the published value are assembled with snprintf
 * from the exchange's own decimal strings, which dec_parse has checked hold only digits, a
 * point and a sign, so nothing needs escaping. */
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

/* A decimal string field that parses exactly and is not negative. */
static int get_price(const json_t *e, const char *key, const char **out, char *err, size_t cap)
{
    struct dec d;
    if (jv_get_dec(e, key, &d, err, cap) < 0) return -1;
    if (dec_sign(d) < 0) {
        snprintf(err, cap, "field '%s' is negative", key);
        return -1;
    }
    return jv_get_str(e, key, out, err, cap);
}

struct tick_entry {
    const char *sym, *b, *bq, *a, *aq;
    int64_t t, uid;
};

/* Reads and checks one array entry. Returns 0, or -1 with err. */
static int read_entry(const json_t *e, struct tick_entry *x, char *err, size_t cap)
{
    if (!json_is_object(e)) {
        snprintf(err, cap, "entry is not an object");
        return -1;
    }
    if (jv_get_str(e, "symbol", &x->sym, err, cap) < 0) return -1;
    size_t len = strlen(x->sym);
    if (len == 0 || len >= TICKPARSE_SYMBOL_MAX) {
        snprintf(err, cap, "bad symbol length %zu", len);
        return -1;
    }
    return 0;
}

/* Reads the price fields of an entry of a universe symbol. */
static int read_prices(const json_t *e, struct tick_entry *x, char *err, size_t cap)
{
    if (get_price(e, "bidPrice", &x->b, err, cap) < 0 ||
        get_price(e, "bidQty", &x->bq, err, cap) < 0 ||
        get_price(e, "askPrice", &x->a, err, cap) < 0 ||
        get_price(e, "askQty", &x->aq, err, cap) < 0)
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

static int add_record(struct recon_batch *b, const struct tick_entry *x, char *err, size_t cap)
{
    char rec[TICKPARSE_RECORD_MAX], pub[TICKPARSE_RECORD_MAX];
    int n = snprintf(rec, sizeof rec,
                     "{\"b\":\"%s\",\"B\":\"%s\",\"a\":\"%s\",\"A\":\"%s\",\"T\":%lld}", x->b,
                     x->bq, x->a, x->aq, (long long)x->t);
    int m = snprintf(pub, sizeof pub, "[\"%s\",\"%s\",%lld]", x->b, x->a, (long long)x->t);
    if (n < 0 || m < 0 || (size_t)n >= sizeof rec || (size_t)m >= sizeof pub) {
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
    if (x.t < u->last_t[idx] || (x.t == u->last_t[idx] && x.uid <= u->last_uid[idx])) {
        st->same++;
        return 0;
    }
    if (add_record(b, &x, why, sizeof why) < 0) goto bad;
    u->last_t[idx] = x.t;
    u->last_uid[idx] = x.uid;
    st->kept++;
    if (x.t > st->max_t) st->max_t = x.t;
    return 0;
bad:
    snprintf(st->err, sizeof st->err, "entry %zu: %s", st->entries - 1, why);
    return -1;
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
    if (rc < 0) tick_universe_forget(u); /* entries before the bad one were marked but not sent */
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
