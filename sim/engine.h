/* engine: the simulated accounts and the matching engine.
 *
 * Holds every account (API key, secret, balances, one-way positions, open orders, algo
 * orders, trades, income rows) and applies Binance's trading rules to them: filters with their
 * error codes, reduceOnly, time in force, max open orders, order-count limits, matching against
 * the market's price path, conditional (algo) triggers, commissions, realized PnL and funding.
 * It knows nothing of HTTP or WebSockets: the server parses a request, checks the signature
 * and weight, and calls sim_engine_handle with the authenticated account; every state change
 * that Binance pushes on the user-data stream is handed to the event callback as JSON text
 * (ACCOUNT_UPDATE, ORDER_TRADE_UPDATE, ALGO_UPDATE, TRADE_LITE). Single-threaded: all calls
 * come from the simulator's loop. */
#ifndef BFQ_SIM_ENGINE_H
#define BFQ_SIM_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "sim/market.h"
#include "sim/params.h"

struct sim_engine;
struct sim_account;

struct sim_engine_options {
    int classic_stops;            /* accept STOP, TAKE_PROFIT (and _MARKET) on /fapi/v1/order, pre 2025-12 */
    int64_t funding_interval_ms;  /* default 8 h */
    struct dec maker_fee, taker_fee; /* default 0.0002 and 0.0005 */
};

/* Receives one user-data event for an account, as the compact JSON text Binance sends. */
typedef void sim_event_fn(const char *account, const char *json, void *privdata);

struct sim_engine *sim_engine_new(struct sim_market *m, const struct sim_engine_options *opts,
                                  sim_event_fn *on_event, void *privdata);
void sim_engine_free(struct sim_engine *e);

/* Adds an account with `usdt` wallet balance. Returns 0, or -1 on a duplicate name or key. */
int sim_engine_add_account(struct sim_engine *e, const char *name, const char *api_key,
                           const char *api_secret, struct dec usdt);

struct sim_account *sim_engine_account_by_key(struct sim_engine *e, const char *api_key);
struct sim_account *sim_engine_account_by_name(struct sim_engine *e, const char *name);
const char *sim_account_name(const struct sim_account *a);
const char *sim_account_secret(const struct sim_account *a);

/* A reply: HTTP status and a JSON body (new reference, owned by the caller). Error replies
 * are {"code":..,"msg":..} with Binance's status (400 for most rule errors). Order endpoints
 * set order_count to the number of orders they count against the ORDERS limits. */
struct sim_reply {
    int status;
    json_t *body;
    int order_count;
};

/* Handles an authenticated account endpoint (method, path such as "/fapi/v1/order").
 * Returns 1 when the path is the engine's (reply filled), 0 when it is not. now_ms is the
 * simulator's clock. Covers: account v2/v3, positionRisk v2/v3, balance v2/v3, openOrders,
 * openOrder, order GET/POST/DELETE, batchOrders POST/DELETE, allOpenOrders DELETE, allOrders,
 * userTrades, income, commissionRate, leverage, algoOrder POST/DELETE/GET, openAlgoOrders,
 * allAlgoOrders, algoOpenOrders DELETE, positionSide/dual GET/POST, multiAssetsMargin GET/POST,
 * marginType POST, leverageBracket, symbolConfig, accountConfig. */
int sim_engine_handle(struct sim_engine *e, struct sim_account *a, const char *method,
                      const char *path, const struct sim_params *p, int64_t now_ms,
                      struct sim_reply *out);

/* Advances to now_ms: fills resting orders the path crossed, triggers conditional orders,
 * charges funding at each funding time. Call every ~50-100 ms. */
void sim_engine_tick(struct sim_engine *e, int64_t now_ms);

/* Admin: an account event made outside bfq (kind "trade", "funding", "transfer", "income")
 * with its parameters (symbol, side, qty, amount; income: type, amount[, symbol]). Returns an HTTP status and fills reply. */
int sim_engine_admin_event(struct sim_engine *e, const char *account, const char *kind,
                           const struct sim_params *p, int64_t now_ms, struct sim_reply *out);

/* Fault algo_lag: the algo order placed by the next call (only) is hidden from GET/DELETE
 * algoOrder (-2013/-2011) and openAlgoOrders for ms after its placement. 0 clears it. */
void sim_engine_algo_lag(struct sim_engine *e, int64_t ms);

/* Summary for GET /_sim/state: accounts with balances, positions and open order counts. */
json_t *sim_engine_state(struct sim_engine *e, int64_t now_ms);

#endif
