/* limits: Binance's rate limiters as the simulator enforces them.
 *
 * REQUEST_WEIGHT per client IP per UTC minute (fixed windows, as Binance counts): a request
 * that would pass the limit gets 429 and starts a back-off that lasts until the minute ends;
 * an IP that sends again during its back-off gets 418 and a ban that doubles with every new
 * ban (base --ban-base-ms, 2 minutes by default). ORDERS per account: 300 per 10 s and 1200 per
 * minute (fixed windows). Tables are bounded: at most LIMITS_MAX_IPS addresses and
 * LIMITS_MAX_ACCOUNTS accounts; the stalest entry is reused when full. */
#ifndef BFQ_SIM_LIMITS_H
#define BFQ_SIM_LIMITS_H

#include <stdint.h>

#include "core/sbuf.h"

#define LIMITS_MAX_IPS 1024
#define LIMITS_MAX_ACCOUNTS 256
#define LIMITS_IP_MAX 64

struct limits;

struct limits *limits_new(int64_t weight_limit, int64_t ban_base_ms, int orders_10s, int orders_1m);
void limits_free(struct limits *l);

enum limits_verdict { LIMITS_OK = 0, LIMITS_429 = 429, LIMITS_418 = 418 };

/* Charges `weight` to ip at now_ms. On 429/418 *retry_after_s is the wait in seconds and
 * *until_ms the end of the back-off or ban. *used is the IP's weight this minute after the
 * charge (the X-MBX-USED-WEIGHT-1M value). */
enum limits_verdict limits_charge(struct limits *l, const char *ip, int weight, int64_t now_ms,
                                  int64_t *used, int64_t *retry_after_s, int64_t *until_ms);
/* The weight used by ip this minute, without charging. */
int64_t limits_used(struct limits *l, const char *ip, int64_t now_ms);
int64_t limits_weight_limit(const struct limits *l);

/* Order limits: nonzero when n10 more on the 10 s counter or n1m more on the 1 min counter
 * would pass a limit (*which is "10 SECOND" or "1 MINUTE", *limit its value). The two differ
 * for batchOrders, which Binance counts 5 on ORDERS-10S and 1 on ORDERS-1M. */
int limits_orders_full(struct limits *l, const char *account, int n10, int n1m, int64_t now_ms,
                       const char **which, int *limit);
void limits_orders_add(struct limits *l, const char *account, int n10, int n1m, int64_t now_ms);
void limits_orders_counts(struct limits *l, const char *account, int64_t now_ms, int64_t *c10s,
                          int64_t *c1m);

/* {"127.0.0.2":1180,...}: the weight of every IP seen this minute. */
void limits_weights_json(struct limits *l, int64_t now_ms, struct sbuf *out);

#endif
