/* engine_internal: the structures shared by the engine's files (private to sim/engine*.c).
 *
 * The engine is split by concept: engine.c (accounts, dispatch, tick, admin, state),
 * engine_util.c (decimal and parameter helpers, enum names, error replies),
 * engine_account.c (positions, margin, fills, account/positionRisk/balance answers),
 * engine_orders.c (order placement, validation, matching, cancel, queries, batches),
 * engine_algo.c (conditional orders of the Algo API), engine_json.c (Binance-shaped JSON of
 * orders and user-data events) and engine_history.c (trades, income rows, funding).
 *
 * Ownership: the engine owns its accounts; an account owns its positions (one per market
 * symbol, indexed like the market), its orders, algo orders, trades and income rows. Pointers
 * to orders stay valid until the next placement on the same account (arrays may move), so no
 * function keeps one across a call that places an order. Single-threaded. */
#ifndef BFQ_SIM_ENGINE_INTERNAL_H
#define BFQ_SIM_ENGINE_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"
#include "sim/engine.h"

#define ENG_NAME_MAX 64
#define ENG_KEY_MAX 128
#define ENG_CLIENT_ID_MAX 40     /* Binance: 1..36 characters */
#define ENG_MSG_MAX 200
#define ENG_MAX_ALGO_OPEN 200    /* conditional orders per account, all symbols */
#define ENG_HISTORY_MAX 100000   /* trades, income rows, finished orders kept per account */
#define ENG_ALGO_HISTORY_MAX 10000 /* algo orders kept per account (finished ones go first) */
#define ENG_MONEY_SCALE 8        /* balances, PnL, commission: 8 decimals like Binance */
#define ENG_DEFAULT_LEVERAGE 20
#define ENG_DAY_MS 86400000LL
#define ENG_ORDER_ID_BASE 8389765739703625000LL /* > 2^53: clients must parse ids as int64 */
#define ENG_ALGO_ID_BASE 1000000033225000LL
#define ENG_TRADE_ID_BASE 4467432000LL
#define ENG_TRAN_ID_BASE 1254563000000000000LL /* income tranIds: 64-bit, > 2^53 like orderIds */
/* Retention (sim clock): a CANCELED/EXPIRED order with no fill is gone after 3 days, any
 * order after 90 days, an income row after 3 months (90 days), a trade after 6 months. */
#define ENG_KEEP_UNFILLED_MS (3 * ENG_DAY_MS)
#define ENG_KEEP_ORDER_MS (90 * ENG_DAY_MS)
#define ENG_KEEP_INCOME_MS (90 * ENG_DAY_MS)
#define ENG_KEEP_TRADE_MS (180 * ENG_DAY_MS)

enum eng_side { ENG_BUY, ENG_SELL };
enum eng_type {
    ENG_LIMIT, ENG_MARKET, ENG_STOP, ENG_STOP_MARKET, ENG_TAKE_PROFIT, ENG_TAKE_PROFIT_MARKET,
    ENG_TRAILING_STOP_MARKET, ENG_TYPE_COUNT
};
enum eng_tif { ENG_GTC, ENG_IOC, ENG_FOK, ENG_GTX, ENG_GTD, ENG_TIF_COUNT };
enum eng_status {
    ENG_NEW, ENG_PARTIALLY_FILLED, ENG_FILLED, ENG_CANCELED, ENG_EXPIRED, ENG_REJECTED
};
enum eng_algo_status {
    ALGO_NEW, ALGO_CANCELED, ALGO_TRIGGERING, ALGO_TRIGGERED, ALGO_FINISHED, ALGO_REJECTED,
    ALGO_EXPIRED
};
enum eng_working { ENG_CONTRACT_PRICE, ENG_MARK_PRICE };
/* Every incomeType Binance lists for GET /fapi/v1/income (the first four are booked by the
 * engine itself, the rest come from POST /_sim/income). */
enum eng_income {
    INC_TRANSFER, INC_REALIZED_PNL, INC_FUNDING_FEE, INC_COMMISSION, INC_WELCOME_BONUS,
    INC_INSURANCE_CLEAR, INC_REFERRAL_KICKBACK, INC_COMMISSION_REBATE, INC_API_REBATE,
    INC_CONTEST_REWARD, INC_CROSS_COLLATERAL_TRANSFER, INC_OPTIONS_PREMIUM_FEE,
    INC_OPTIONS_SETTLE_PROFIT, INC_INTERNAL_TRANSFER, INC_AUTO_EXCHANGE,
    INC_DELIVERED_SETTELMENT, INC_COIN_SWAP_DEPOSIT, INC_COIN_SWAP_WITHDRAW,
    INC_POSITION_LIMIT_INCREASE_FEE, INC_STRATEGY_UMFUTURES_TRANSFER, INC_FEE_RETURN,
    INC_BFUSD_REWARD, INC_COUNT
};
enum eng_price_match {
    PM_NONE, PM_OPPONENT, PM_OPPONENT_5, PM_OPPONENT_10, PM_OPPONENT_20, PM_QUEUE, PM_QUEUE_5,
    PM_QUEUE_10, PM_QUEUE_20, PM_COUNT
};

/* An order of the matching engine (plain or classic conditional). */
struct eng_order {
    int64_t id;
    char client_id[ENG_CLIENT_ID_MAX];
    int sym;                   /* market index */
    int side, type, orig_type, tif, working, status;
    int reduce_only, close_position, price_protect;
    int triggered;             /* classic conditional: stop reached, now a plain order */
    int expiry_reason;         /* "er" of ORDER_TRADE_UPDATE */
    struct dec qty, price, stop_price, executed, cum_quote, avg_price;
    struct dec activate_price, callback_rate, trail_extreme; /* trailing stops */
    int trail_active;
    int64_t time, update_time, good_till_date;
    int64_t algo_id;           /* the algo order that spawned it, 0 if none */
    struct dec queue_ahead;    /* resting LIMIT: quantity ahead of it at its price */
    int64_t flow_step;         /* resting LIMIT: last book step whose trades it has seen */
};

/* A conditional order of the Algo API (algoType CONDITIONAL). */
struct eng_algo {
    int64_t id;
    char client_id[ENG_CLIENT_ID_MAX];
    int sym, side, type, tif, working, status;
    int reduce_only, close_position, price_protect;
    struct dec qty, trigger_price, price, activate_price, callback_rate, trail_extreme;
    int trail_active;
    int64_t create_time, update_time, trigger_time, good_till_date;
    int64_t order_id;          /* the matching-engine order once triggered, 0 before */
    struct dec actual_price, actual_qty;
    char reject_reason[64];
    int price_match;           /* enum eng_price_match */
    int64_t visible_ms;        /* algo_lag fault: hidden from queries and cancels before this */
};

struct eng_trade {
    int64_t id, order_id, time;
    int sym, side, maker;
    struct dec price, qty, quote_qty, realized, commission;
};

struct eng_income_row {
    int type;                  /* enum eng_income */
    int sym;                   /* -1: none ("") */
    struct dec amount;
    int64_t time, tran_id, trade_id; /* trade_id 0: "" */
    char info[32];
};

struct eng_position {
    struct dec amt, entry, realized; /* realized: accumulated, pre-fee ("cr") */
    int leverage;
    int64_t update_time;       /* 0 while never touched */
};

#define ENG_VEC(T) struct { T *v; size_t n, cap; }

struct sim_account {
    char name[ENG_NAME_MAX], key[ENG_KEY_MAX], secret[ENG_KEY_MAX];
    struct dec wallet;
    int64_t wallet_time;
    struct eng_position *pos;  /* sim_market_count entries */
    ENG_VEC(struct eng_order) orders;
    ENG_VEC(struct eng_algo) algos;
    ENG_VEC(struct eng_trade) trades;
    ENG_VEC(struct eng_income_row) income;
    int64_t tran_id[INC_COUNT];
};

struct sim_engine {
    struct sim_market *m;
    int nsym;
    struct sim_engine_options opts;
    sim_event_fn *on_event;
    void *privdata;
    struct sim_account **acct;
    int nacct;
    int64_t next_order_id, next_algo_id, next_trade_id;
    uint64_t client_seq;
    int64_t last_funding_ms;   /* 0 until the first tick */
    int64_t algo_lag_ms;       /* one-shot: the next algo order placed stays hidden this long */
    int64_t last_purge_ms;     /* retention sweep, once a second */
};

/* A fill just applied, for the events and the trade list. */
struct eng_fill {
    struct dec qty, price, commission, realized;
    int64_t trade_id;
    int maker;
};

/* A Binance error: code and message. */
struct eng_err {
    int code;
    char msg[ENG_MSG_MAX];
};

/* ---- engine_util.c ---- */
extern const char *const eng_side_names[2];
extern const char *const eng_type_names[ENG_TYPE_COUNT];
extern const char *const eng_tif_names[ENG_TIF_COUNT];
extern const char *const eng_status_names[6];
extern const char *const eng_algo_status_names[7];
extern const char *const eng_working_names[2];
extern const char *const eng_income_names[INC_COUNT];
extern const char *const eng_price_match_names[PM_COUNT];
int eng_enum(const char *s, const char *const *names, int n); /* index or -1 */
int eng_is_conditional(int type);
int eng_type_is_market(int type); /* MARKET, STOP_MARKET, TAKE_PROFIT_MARKET, TRAILING */

int eng_set_err(struct eng_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int eng_err_missing(struct eng_err *err, const char *param);
int eng_err_illegal(struct eng_err *err, const char *param);
void eng_reply_err(struct sim_reply *out, const struct eng_err *err);
json_t *eng_err_json(const struct eng_err *err);
void eng_reply_json(struct sim_reply *out, json_t *body);

/* Exact arithmetic that cannot fail for the bounded values the engine handles; an overflow is
 * logged once and leaves the first operand. */
struct dec eng_add(struct dec a, struct dec b);
struct dec eng_sub(struct dec a, struct dec b);
struct dec eng_mul(struct dec a, struct dec b, int scale); /* rounded to nearest at scale */
struct dec eng_div(struct dec a, struct dec b, int scale); /* nearest; 0 when b is 0 */
struct dec eng_round(struct dec a, int scale);
json_t *eng_jdec(struct dec d, int scale);  /* string with exactly `scale` digits */
json_t *eng_jdec_trim(struct dec d);        /* string without trailing zeros */

/* Parameter readers: 0 when absent (out untouched), 1 when read, -1 with err set. */
int eng_param_dec(const struct sim_params *p, const char *key, int max_scale, struct dec *out,
                  struct eng_err *err);
int eng_param_int(const struct sim_params *p, const char *key, int64_t *out, struct eng_err *err);
/* The limit parameter: def when absent or below 1, capped at max; -1 with err when bad. */
int eng_param_limit(const struct sim_params *p, int def, int max, struct eng_err *err);
int eng_param_bool(const struct sim_params *p, const char *key, int *out, struct eng_err *err);
int eng_param_enum(const struct sim_params *p, const char *key, const char *const *names, int n,
                   int *out, int code, const char *msg, struct eng_err *err);
/* The symbol parameter: -1102 when missing and mandatory, -1121 when unknown. Returns the
 * market index, -2 when absent and optional, -1 on error. */
int eng_param_symbol(struct sim_engine *e, const struct sim_params *p, int mandatory,
                     struct eng_err *err);
int eng_price_scale(const struct sim_symbol *s);
int eng_qty_scale(const struct sim_symbol *s);

/* ---- engine.c ---- */
void eng_emit(struct sim_engine *e, const struct sim_account *a, json_t *event); /* steals */
void eng_client_id(struct sim_engine *e, char *out); /* writes 22 characters + NUL */
int eng_symbol_tradable(const struct sim_symbol *s);

/* ---- engine_account.c ---- */
struct dec eng_mark(struct sim_engine *e, int sym, int64_t now_ms);
struct dec eng_upnl(struct sim_engine *e, const struct sim_account *a, int sym, int64_t now_ms);
struct dec eng_available(struct sim_engine *e, const struct sim_account *a, int64_t now_ms);
/* Whether the margin balance (wallet + unrealized PnL at the mark) is below the maintenance
 * margin of the positions (brackets.h). */
int eng_below_maintenance(struct sim_engine *e, const struct sim_account *a, int64_t now_ms);
/* Initial margin an order of qty at price needs beyond what it reduces; 0 when it only
 * reduces the position. */
struct dec eng_order_margin(struct sim_engine *e, const struct sim_account *a, int sym, int side,
                            struct dec qty, struct dec price);
/* Applies a fill to the position and wallet, records the trade and income rows, fills
 * *fill. order_id and now identify the trade. */
void eng_apply_fill(struct sim_engine *e, struct sim_account *a, int sym, int side,
                    struct dec qty, struct dec price, int maker, int64_t order_id,
                    int64_t now_ms, struct eng_fill *fill);
/* Wallet change outside trading (funding, transfer): income row and ACCOUNT_UPDATE. */
void eng_wallet_event(struct sim_engine *e, struct sim_account *a, int income_type, int sym,
                      struct dec amount, const char *reason, int64_t now_ms);
int eng_account_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                       const char *path, const struct sim_params *p, int64_t now_ms,
                       struct sim_reply *out);

/* ---- engine_orders.c ---- */
int eng_orders_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                      const char *path, const struct sim_params *p, int64_t now_ms,
                      struct sim_reply *out);
/* Places an order built by the engine itself (algo trigger, admin trade): no parameter
 * parsing, the caller has validated it. Returns the index of the order, or -1 with err. */
long eng_order_submit(struct sim_engine *e, struct sim_account *a, const struct eng_order *tmpl,
                      int64_t now_ms, struct eng_err *err);
/* Binance code and message for a filter check result; 0 for DEC_CHECK_OK, else -1. */
int eng_filter_err(enum dec_check c, const struct sim_symbol *s, struct eng_err *err);
void eng_orders_tick(struct sim_engine *e, struct sim_account *a, int64_t now_ms);
/* Liquidation: when the account is below maintenance, cancels its open orders and closes every
 * position at the mark with an exchange order "autoclose-<ms>" (LIMIT IOC, reduce-only). */
void eng_liquidate_tick(struct sim_engine *e, struct sim_account *a, int64_t now_ms);
struct eng_order *eng_order_find(struct sim_account *a, int sym, int64_t id, const char *cid);
int eng_open_orders(const struct sim_account *a, int sym); /* sym -1: all symbols */
/* 1 when a side-order on sym would shrink the account's position (one-way mode). */
int eng_reduces(const struct sim_account *a, int sym, int side);
int eng_order_is_open(const struct eng_order *o);
/* priceProtect: whether last and mark are more than triggerProtect (5 %) apart now, in which
 * case a protected conditional order does not trigger. */
int eng_price_protected(struct sim_engine *e, int sym, int64_t now_ms);

/* ---- engine_algo.c ---- */
int eng_algo_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                    const char *path, const struct sim_params *p, int64_t now_ms,
                    struct sim_reply *out);
void eng_algo_tick(struct sim_engine *e, struct sim_account *a, int64_t now_ms);
/* Called when an order spawned by algo algo_id reaches a final status. */
void eng_algo_order_done(struct sim_engine *e, struct sim_account *a, const struct eng_order *o,
                         int64_t now_ms);
int eng_open_algos(const struct sim_account *a, int sym);
/* Trailing-stop state machine shared with classic orders: returns 1 when it triggers now. */
int eng_trailing_step(int side, struct dec price, struct dec activate, struct dec rate,
                      int *active, struct dec *extreme);

/* ---- engine_json.c ---- */
enum eng_order_view { ENG_VIEW_RESPONSE, ENG_VIEW_QUERY };
json_t *eng_order_json(struct sim_engine *e, const struct eng_order *o, enum eng_order_view v);
json_t *eng_algo_json(struct sim_engine *e, const struct eng_algo *g, int query);
void eng_emit_order(struct sim_engine *e, const struct sim_account *a, const struct eng_order *o,
                    const char *exec_type, const struct eng_fill *fill, int64_t now_ms);
void eng_emit_trade_lite(struct sim_engine *e, const struct sim_account *a,
                         const struct eng_order *o, const struct eng_fill *fill, int64_t now_ms);
/* ACCOUNT_UPDATE: the USDT balance, and the position of sym unless sym < 0. */
void eng_emit_account(struct sim_engine *e, const struct sim_account *a, const char *reason,
                      int sym, struct dec balance_change, int64_t now_ms);
void eng_emit_algo(struct sim_engine *e, const struct sim_account *a, const struct eng_algo *g,
                   int64_t now_ms);
void eng_emit_leverage(struct sim_engine *e, const struct sim_account *a, int sym,
                       int64_t now_ms);

/* ---- engine_history.c ---- */
void eng_add_trade(struct sim_account *a, const struct eng_trade *t);
void eng_add_income(struct sim_account *a, int type, int sym, struct dec amount, int64_t now_ms,
                    int64_t trade_id);
int eng_history_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                       const char *path, const struct sim_params *p, int64_t now_ms,
                       struct sim_reply *out);
void eng_funding_tick(struct sim_engine *e, int64_t now_ms);
/* Drops what Binance no longer returns (ENG_KEEP_*), by the sim clock. */
void eng_history_purge(struct sim_engine *e, struct sim_account *a, int64_t now_ms);
/* Resolves startTime/endTime with Binance's 7-day rules: none -> the last 7 days; one -> 7
 * days from/to it; more than 7 days apart -> -1127 (unless allow_long: no cap, open ends). */
int eng_time_window(const struct sim_params *p, int64_t now_ms, int allow_long, int64_t *start,
                    int64_t *end, struct eng_err *err);
/* A history list query (allOrders, allAlgoOrders, userTrades): rows with id >= from (when
 * has_from) inside [start, end], at most limit. */
struct eng_range {
    int has_from, limit;
    int64_t from, start, end;
};
/* Reads the id parameter idname, startTime, endTime and limit (500, max 1000) with Binance's
 * rules: without the id the 7-day window (eng_time_window); with it, times only if sent
 * (-1128 when id_alone and times are sent too). 0, or -1 with err. */
int eng_range_parse(const struct sim_params *p, const char *idname, int id_alone,
                    int64_t now_ms, struct eng_range *r, struct eng_err *err);
/* Where the answer starts among n rows, oldest first: 0 with an id (the first `limit` from
 * it), else the first of the most recent `limit` rows for which match(i, ctx) holds. */
size_t eng_range_first(const struct eng_range *r, size_t n, int (*match)(size_t i, void *ctx),
                       void *ctx);
/* Grows a vector by one zeroed element; returns it (aborts on out of memory). */
void *eng_vec_push(void *vec_v, size_t *n, size_t *cap, size_t elem);

#define ENG_PUSH(vec) \
    eng_vec_push((void *)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v))

#endif
