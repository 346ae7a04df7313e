/* intent: parsing and writing order intents, deriving ids (see intent.h). */
#include "trader/intent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {"order",    "cancel", "cancel_all",
                                       "leverage", "algo",   "cancel_algo"};
static const char *const side_names[] = {"BUY", "SELL"};
static const char *const type_names[] = {"LIMIT", "MARKET"};
static const char *const tif_names[] = {"GTC", "IOC", "FOK", "GTX"};
static const char *const classes[] = {"mo", "to", "mc", "tc", "cv", "sl", "hs", "kl", "mn"};

#define NAMES(a) (int)(sizeof(a) / sizeof(a[0]))

const char *intent_op_name(enum intent_op op)
{
    return op_names[op];
}
const char *intent_side_name(enum intent_side s)
{
    return side_names[s];
}
const char *intent_type_name(enum intent_type t)
{
    return type_names[t];
}
const char *intent_tif_name(enum intent_tif t)
{
    return tif_names[t];
}

static int intent_enum(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

static int intent_fail(char *err, size_t cap, const char *fmt, const char *arg)
{
    if (err) snprintf(err, cap, fmt, arg);
    return -1;
}

static int intent_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == ':' || c == '/' || c == '_' || c == '-';
}

static int intent_copy_id(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap) return -1;
    for (size_t i = 0; i < n; i++)
        if (!intent_id_char(v[i])) return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

static int intent_pos_dec(const char *v, struct dec *out)
{
    return dec_parse(v, (size_t)-1, out) == DEC_OK && dec_sign(*out) > 0 ? 0 : -1;
}

static int intent_small_int(const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

/* One field into the intent; -1 with a reason when its value is bad. */
static int intent_field(struct intent *in, const char *k, const char *v, char *err, size_t cap)
{
    int x = 0;
    if (!strcmp(k, "id")) {
        if (intent_copy_id(in->id, sizeof in->id, v) < 0)
            return intent_fail(err, cap, "bad id '%.40s'", v);
    } else if (!strcmp(k, "op")) {
        x = intent_enum(v, op_names, NAMES(op_names));
        if (x < 0) return intent_fail(err, cap, "unsupported op '%.20s'", v);
        in->op = (enum intent_op)x;
    } else if (!strcmp(k, "sym")) {
        if (intent_copy_id(in->sym, sizeof in->sym, v) < 0)
            return intent_fail(err, cap, "bad sym '%.40s'", v);
    } else if (!strcmp(k, "side")) {
        x = intent_enum(v, side_names, NAMES(side_names));
        if (x < 0) return intent_fail(err, cap, "bad side '%.20s'", v);
        in->side = (enum intent_side)x;
    } else if (!strcmp(k, "type")) {
        x = intent_enum(v, type_names, NAMES(type_names));
        if (x < 0) return intent_fail(err, cap, "bad type '%.20s'", v);
        in->type = (enum intent_type)x;
    } else if (!strcmp(k, "tif")) {
        x = intent_enum(v, tif_names, NAMES(tif_names));
        if (x < 0) return intent_fail(err, cap, "bad tif '%.20s'", v);
        in->tif = (enum intent_tif)x;
    } else if (!strcmp(k, "qty")) {
        if (intent_pos_dec(v, &in->qty) < 0) return intent_fail(err, cap, "bad qty '%.40s'", v);
        in->has_qty = 1;
    } else if (!strcmp(k, "notional")) {
        if (intent_pos_dec(v, &in->notional) < 0)
            return intent_fail(err, cap, "bad notional '%.40s'", v);
        in->has_notional = 1;
    } else if (!strcmp(k, "price")) {
        if (intent_pos_dec(v, &in->price) < 0) return intent_fail(err, cap, "bad price '%.40s'", v);
        in->has_price = 1;
    } else if (!strcmp(k, "book")) {
        if (intent_small_int(v, 0, 1, &in->book) < 0)
            return intent_fail(err, cap, "bad book '%.20s'", v);
    } else if (!strcmp(k, "reduce")) {
        if (intent_small_int(v, 0, 1, &in->reduce) < 0)
            return intent_fail(err, cap, "bad reduce '%.20s'", v);
    } else if (!strcmp(k, "class")) {
        if (intent_enum(v, classes, NAMES(classes)) < 0)
            return intent_fail(err, cap, "unknown class '%.20s'", v);
        memcpy(in->cls, v, strlen(v) + 1);
    } else if (!strcmp(k, "reprice")) {
        if (intent_small_int(v, 0, 5, &in->reprice) < 0)
            return intent_fail(err, cap, "bad reprice '%.20s'", v);
    } else if (!strcmp(k, "fallback")) {
        if (strcmp(v, "taker") && strcmp(v, "none"))
            return intent_fail(err, cap, "bad fallback '%.20s'", v);
        in->fallback_taker = !strcmp(v, "taker");
    } else if (!strcmp(k, "orig")) {
        if (intent_copy_id(in->orig, sizeof in->orig, v) < 0)
            return intent_fail(err, cap, "bad orig '%.40s'", v);
    } else if (!strcmp(k, "leverage")) {
        if (intent_small_int(v, 1, 125, &in->leverage) < 0)
            return intent_fail(err, cap, "bad leverage '%.20s'", v);
    } else if (!strcmp(k, "trigger")) {
        if (intent_pos_dec(v, &in->trigger) < 0)
            return intent_fail(err, cap, "bad trigger '%.40s'", v);
        in->has_trigger = 1;
    } else if (!strcmp(k, "working")) {
        if (strcmp(v, "MARK_PRICE") && strcmp(v, "CONTRACT_PRICE"))
            return intent_fail(err, cap, "bad working '%.20s'", v);
        in->contract_price = !strcmp(v, "CONTRACT_PRICE");
    } else if (!strcmp(k, "src")) {
        snprintf(in->src, sizeof in->src, "%s", v);
    } else if (!strcmp(k, "t")) {
        char *end = NULL;
        in->t = strtoll(v, &end, 10);
        if (end == v || *end || in->t <= 0) return intent_fail(err, cap, "bad t '%.20s'", v);
    }
    return 0;
}

/* What each op needs, once every field is read. */
static int intent_complete(struct intent *in, int has_type, char *err, size_t cap)
{
    if (!in->id[0]) return intent_fail(err, cap, "%s", "id missing");
    if (!in->cls[0]) return intent_fail(err, cap, "%s", "class missing");
    if (!in->t) return intent_fail(err, cap, "%s", "t missing");
    if (!in->sym[0]) return intent_fail(err, cap, "%s", "sym missing");
    if ((in->op == INTENT_CANCEL || in->op == INTENT_CANCEL_ALGO) && !in->orig[0])
        return intent_fail(err, cap, "%s", "orig missing");
    if (in->op == INTENT_ALGO) {
        if (!in->has_qty || !in->has_trigger)
            return intent_fail(err, cap, "%s", "an algo order needs qty and trigger");
        in->type = INTENT_MARKET; /* STOP_MARKET */
        return 0;
    }
    if (in->op == INTENT_LEVERAGE && !in->leverage)
        return intent_fail(err, cap, "%s", "leverage missing");
    if (in->op != INTENT_ORDER) return 0;
    if (in->has_qty == in->has_notional)
        return intent_fail(err, cap, "%s", "exactly one of qty and notional");
    if (!has_type) in->type = (in->has_price || in->book) ? INTENT_LIMIT : INTENT_MARKET;
    if (in->type == INTENT_LIMIT && in->has_price == in->book)
        return intent_fail(err, cap, "%s", "a LIMIT order needs exactly one of price and book");
    if (in->type == INTENT_MARKET && (in->has_price || in->book))
        return intent_fail(err, cap, "%s", "a MARKET order takes no price");
    if (in->reprice && in->tif != INTENT_GTX)
        return intent_fail(err, cap, "%s", "reprice needs tif GTX");
    return 0;
}

int intent_parse(const char *const *kv, size_t n, struct intent *out, char *err, size_t errcap)
{
    int has_type = 0, has_side = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (intent_field(out, kv[i], kv[i + 1], err, errcap) < 0) return -1;
        if (!strcmp(kv[i], "type")) has_type = 1;
        if (!strcmp(kv[i], "side")) has_side = 1;
    }
    if ((out->op == INTENT_ORDER || out->op == INTENT_ALGO) && !has_side)
        return intent_fail(err, errcap, "%s", "side missing");
    return intent_complete(out, has_type, err, errcap);
}

struct intent_writer {
    const char **argv;
    int n;
    char *buf;
    size_t cap, used;
    int failed;
};

static void intent_put(struct intent_writer *w, const char *k, const char *v)
{
    size_t len = strlen(v) + 1;
    if (w->failed || w->n + 2 > INTENT_FIELDS_MAX || w->used + len > w->cap) {
        w->failed = 1;
        return;
    }
    memcpy(w->buf + w->used, v, len);
    w->argv[w->n++] = k;
    w->argv[w->n++] = w->buf + w->used;
    w->used += len;
}

static void intent_put_dec(struct intent_writer *w, const char *k, struct dec d)
{
    char s[DEC_STR_MAX];
    if (dec_format_trim(d, s, sizeof s) < 0)
        w->failed = 1;
    else
        intent_put(w, k, s);
}

static void intent_put_int(struct intent_writer *w, const char *k, long long v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", v);
    intent_put(w, k, s);
}

int intent_to_fields(const struct intent *in, const char **argv, char *buf, size_t cap)
{
    struct intent_writer w = {.argv = argv, .buf = buf, .cap = cap};
    intent_put(&w, "id", in->id);
    intent_put(&w, "op", op_names[in->op]);
    intent_put(&w, "sym", in->sym);
    if (in->op == INTENT_ORDER) {
        intent_put(&w, "side", side_names[in->side]);
        intent_put(&w, "type", type_names[in->type]);
        if (in->type == INTENT_LIMIT) intent_put(&w, "tif", tif_names[in->tif]);
        if (in->has_qty) intent_put_dec(&w, "qty", in->qty);
        if (in->has_notional) intent_put_dec(&w, "notional", in->notional);
        if (in->has_price) intent_put_dec(&w, "price", in->price);
        if (in->book) intent_put(&w, "book", "1");
        intent_put(&w, "reduce", in->reduce ? "1" : "0");
        if (in->reprice) intent_put_int(&w, "reprice", in->reprice);
        if (in->fallback_taker) intent_put(&w, "fallback", "taker");
    }
    if (in->op == INTENT_ALGO) {
        intent_put(&w, "side", side_names[in->side]);
        intent_put_dec(&w, "qty", in->qty);
        intent_put_dec(&w, "trigger", in->trigger);
        intent_put(&w, "working", in->contract_price ? "CONTRACT_PRICE" : "MARK_PRICE");
        intent_put(&w, "reduce", in->reduce ? "1" : "0");
    }
    if (in->orig[0]) intent_put(&w, "orig", in->orig);
    if (in->op == INTENT_LEVERAGE) intent_put_int(&w, "leverage", in->leverage);
    intent_put(&w, "class", in->cls);
    intent_put(&w, "src", in->src[0] ? in->src : "-");
    intent_put_int(&w, "t", (long long)in->t);
    return w.failed ? -1 : w.n;
}

static uint64_t intent_fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0x1f) * 1099511628211ULL; /* a separator, so "ab"+"c" differs from "a"+"bc" */
}

void intent_derive_id(const char *strategy, const char *sym, const char *action, int64_t bar_open,
                      int part, char out[INTENT_ID_MAX])
{
    char num[48];
    uint64_t h = 1469598103934665603ULL;
    snprintf(num, sizeof num, "%lld/%d", (long long)bar_open, part);
    h = intent_fnv(h, strategy);
    h = intent_fnv(h, sym);
    h = intent_fnv(h, action);
    h = intent_fnv(h, num);
    char c = (strategy[0] >= 'a' && strategy[0] <= 'z') ? strategy[0] : 's';
    snprintf(out, INTENT_ID_MAX, "%c%016llx", c, (unsigned long long)h);
}

int intent_client_id(const char *cls, const char *id, char out[INTENT_CID_MAX])
{
    int n = snprintf(out, INTENT_CID_MAX, "%s_%s", cls, id);
    return (n < 0 || n > 36) ? -1 : 0;
}

int intent_is_risk_class(const char *cls)
{
    return !strcmp(cls, "sl") || !strcmp(cls, "hs") || !strcmp(cls, "kl");
}
