/* router: one simulated Binance request, from parsed HTTP to the answer.
 *
 * Applies, in Binance's order: the IP weight limiter (429, then 418 bans), injected faults,
 * authentication (API key; for SIGNED endpoints the timestamp rule and the HMAC-SHA256
 * signature over query + body), the order-count limiter, then hands the request to the
 * market-data endpoints, the listen-key endpoints, a replayed file or the engine. Admin calls
 * under /_sim/ go to admin.c and are neither charged nor logged. */
#ifndef BFQ_SIM_ROUTER_H
#define BFQ_SIM_ROUTER_H

#include "sim/ctx.h"

/* Fills r (which the caller initialised with sim_response_init). */
void sim_router_handle(struct sim_ctx *c, const struct sim_request *q, struct sim_response *r);

void sim_response_init(struct sim_response *r);
void sim_response_free(struct sim_response *r);

#endif
