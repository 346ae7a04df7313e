/* engine_util: small helpers shared by the engine's files.
 *
 * Enum names exactly as Binance spells them, Binance error replies ({code,msg} with HTTP 400),
 * exact decimal arithmetic with the engine's rounding (money at 8 decimals, nearest), and
 * parameter readers that turn a bad value into Binance's error code and message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sim/engine_internal.h"

const char *const eng_side_names[2] = {"BUY", "SELL"};
const char *const eng_type_names[ENG_TYPE_COUNT] = {
    "LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET"};
const char *const eng_tif_names[ENG_TIF_COUNT] = {"GTC", "IOC", "FOK", "GTX", "GTD"};
const char *const eng_status_names[6] = {"NEW",      "PARTIALLY_FILLED", "FILLED",
                                         "CANCELED", "EXPIRED",          "REJECTED"};
const char *const eng_algo_status_names[7] = {"NEW",      "CANCELED", "TRIGGERING", "TRIGGERED",
                                              "FINISHED", "REJECTED", "EXPIRED"};
const char *const eng_working_names[2] = {"CONTRACT_PRICE", "MARK_PRICE"};
const char *const eng_income_names[INC_COUNT] = {
    "TRANSFER", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "WELCOME_BONUS", "INSURANCE_CLEAR",
    "REFERRAL_KICKBACK", "COMMISSION_REBATE", "API_REBATE", "CONTEST_REWARD",
    "CROSS_COLLATERAL_TRANSFER", "OPTIONS_PREMIUM_FEE", "OPTIONS_SETTLE_PROFIT",
    "INTERNAL_TRANSFER", "AUTO_EXCHANGE", "DELIVERED_SETTELMENT", "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW", "POSITION_LIMIT_INCREASE_FEE", "STRATEGY_UMFUTURES_TRANSFER",
    "FEE_RETURN", "BFUSD_REWARD"};
const char *const eng_price_match_names[PM_COUNT] = {
    "NONE", "OPPONENT", "OPPONENT_5", "OPPONENT_10", "OPPONENT_20", "QUEUE", "QUEUE_5",
    "QUEUE_10", "QUEUE_20"};

int eng_enum(const char *s, const char *const *names, int n)
{
    if (!s) return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

int eng_is_conditional(int type)
{
    return type != ENG_LIMIT && type != ENG_MARKET;
}

int eng_type_is_market(int type)
{
    return type == ENG_MARKET || type == ENG_STOP_MARKET || type == ENG_TAKE_PROFIT_MARKET ||
           type == ENG_TRAILING_STOP_MARKET;
}

int eng_set_err(struct eng_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int eng_err_missing(struct eng_err *err, const char *param)
{
    return eng_set_err(err, -1102,
                       "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
                       param);
}

int eng_err_illegal(struct eng_err *err, const char *param)
{
    return eng_set_err(err, -1100, "Illegal characters found in parameter '%s'.", param);
}

json_t *eng_err_json(const struct eng_err *err)
{
    return json_pack("{s:i,s:s}", "code", err->code, "msg", err->msg);
}

void eng_reply_err(struct sim_reply *out, const struct eng_err *err)
{
    out->status = 400;
    out->body = eng_err_json(err);
}

void eng_reply_json(struct sim_reply *out, json_t *body)
{
    out->status = 200;
    out->body = body;
}

static void eng_overflow(const char *op)
{
    static int logged;
    if (!logged) log_error("sim engine decimal overflow, value kept", "op=%s", op);
    logged = 1;
}

struct dec eng_add(struct dec a, struct dec b)
{
    struct dec r;
    if (dec_add(a, b, &r) != DEC_OK) {
        eng_overflow("add");
        return a;
    }
    return r;
}

struct dec eng_sub(struct dec a, struct dec b)
{
    struct dec r;
    if (dec_sub(a, b, &r) != DEC_OK) {
        eng_overflow("sub");
        return a;
    }
    return r;
}

struct dec eng_round(struct dec a, int scale)
{
    struct dec r;
    if (a.scale == scale) return a;
    if (a.scale < scale) {
        if (dec_rescale(a, scale, &r) == DEC_OK) return r;
        return a;
    }
    if (dec_div(a, dec_from_int(1), scale, DEC_ROUND_NEAREST, &r) != DEC_OK) {
        eng_overflow("round");
        return a;
    }
    return r;
}

struct dec eng_mul(struct dec a, struct dec b, int scale)
{
    struct dec r;
    if (dec_mul(a, b, &r) == DEC_OK) return eng_round(r, scale);
    /* Too many digits: drop the far decimals of both factors and try again. */
    a = eng_round(dec_normalize(a), a.scale > 10 ? 10 : a.scale);
    b = eng_round(dec_normalize(b), b.scale > 10 ? 10 : b.scale);
    if (dec_mul(a, b, &r) == DEC_OK) return eng_round(r, scale);
    eng_overflow("mul");
    return dec_from_int(0);
}

struct dec eng_div(struct dec a, struct dec b, int scale)
{
    struct dec r;
    if (dec_is_zero(b)) return eng_round(dec_from_int(0), scale);
    if (dec_div(a, b, scale, DEC_ROUND_NEAREST, &r) != DEC_OK) {
        eng_overflow("div");
        return eng_round(dec_from_int(0), scale);
    }
    return r;
}

json_t *eng_jdec(struct dec d, int scale)
{
    char buf[DEC_STR_MAX];
    if (dec_format_scale(d, scale, DEC_ROUND_NEAREST, buf, sizeof buf) < 0)
        snprintf(buf, sizeof buf, "0");
    return json_string(buf);
}

json_t *eng_jdec_trim(struct dec d)
{
    char buf[DEC_STR_MAX];
    if (dec_format_trim(d, buf, sizeof buf) < 0) snprintf(buf, sizeof buf, "0");
    return json_string(buf);
}

int eng_param_dec(const struct sim_params *p, const char *key, int max_scale, struct dec *out,
                  struct eng_err *err)
{
    const char *v = sim_param(p, key);
    struct dec d;
    if (!v) return 0;
    if (!*v) return eng_err_missing(err, key);
    if (dec_parse(v, (size_t)-1, &d) != DEC_OK) return eng_err_illegal(err, key);
    d = dec_normalize(d);
    if (max_scale >= 0 && d.scale > max_scale)
        return eng_set_err(err, -1111, "Precision is over the maximum defined for this asset.");
    *out = d;
    return 1;
}

int eng_param_int(const struct sim_params *p, const char *key, int64_t *out, struct eng_err *err)
{
    const char *v = sim_param(p, key);
    char *end;
    long long x;
    if (!v) return 0;
    if (!*v) return eng_err_missing(err, key);
    x = strtoll(v, &end, 10);
    if (*end || end == v) return eng_err_illegal(err, key);
    *out = (int64_t)x;
    return 1;
}

int eng_param_limit(const struct sim_params *p, int def, int max, struct eng_err *err)
{
    int64_t v = def;
    if (eng_param_int(p, "limit", &v, err) < 0) return -1;
    if (v < 1) v = def;
    return (int)(v > max ? max : v);
}

int eng_param_bool(const struct sim_params *p, const char *key, int *out, struct eng_err *err)
{
    const char *v = sim_param(p, key);
    if (!v) return 0;
    if (!strcmp(v, "true") || !strcmp(v, "TRUE")) {
        *out = 1;
        return 1;
    }
    if (!strcmp(v, "false") || !strcmp(v, "FALSE")) {
        *out = 0;
        return 1;
    }
    return eng_err_illegal(err, key);
}

int eng_param_enum(const struct sim_params *p, const char *key, const char *const *names, int n,
                   int *out, int code, const char *msg, struct eng_err *err)
{
    const char *v = sim_param(p, key);
    int i;
    if (!v) return 0;
    if (!*v) return eng_err_missing(err, key);
    i = eng_enum(v, names, n);
    if (i < 0) return eng_set_err(err, code, "%s", msg);
    *out = i;
    return 1;
}

int eng_param_symbol(struct sim_engine *e, const struct sim_params *p, int mandatory,
                     struct eng_err *err)
{
    const char *v = sim_param(p, "symbol");
    const struct sim_symbol *s;
    if (!v || !*v) {
        if (!mandatory) return -2;
        eng_err_missing(err, "symbol");
        return -1;
    }
    s = sim_market_find(e->m, v);
    if (!s) {
        eng_set_err(err, -1121, "Invalid symbol.");
        return -1;
    }
    return s->index;
}

int eng_price_scale(const struct sim_symbol *s)
{
    int t = dec_normalize(s->filters.tick).scale;
    return s->price_precision > t ? s->price_precision : t;
}

int eng_qty_scale(const struct sim_symbol *s)
{
    int t = dec_normalize(s->filters.step).scale;
    int m = dec_normalize(s->filters.market_step).scale;
    int q = s->qty_precision > t ? s->qty_precision : t;
    return q > m ? q : m;
}
