/* admin: the simulator's test API under /_sim/ (JSON, no signing, not charged, not logged).
 *
 *   GET    /_sim/state                      symbols, accounts, listen keys, connections, faults
 *   POST   /_sim/price?symbol=S&pct=P|price=X   move a price now; the walk goes on from there
 *   POST   /_sim/fault?path=P&kind=K&rate=R[&ms=M][&count=N][&for_ms=D]   inject a fault
 *          (faults.h; kind=code also takes code=C[&status=S][&msg=M])
 *   DELETE /_sim/fault                      clear every fault
 *   GET    /_sim/requests?since=MS[&limit=N]   the request log
 *   GET    /_sim/weights                    weight used this minute per client IP
 *   POST   /_sim/ws/drop                    close every user-data WebSocket
 *   POST   /_sim/ws/inject?account=A        the raw body as one text frame to each of A's
 *                                           user-data connections (malformed events for tests)
 *   POST   /_sim/event?account=A&kind=trade|funding|transfer|income&...   an account event
 *   POST   /_sim/income?account=A&type=T&amount=X[&symbol=S]   an income row of any type
 *   POST   /_sim/clock?offset_ms=N          set the server clock's offset from wall time */
#ifndef BFQ_SIM_ADMIN_H
#define BFQ_SIM_ADMIN_H

#include "sim/ctx.h"

void admin_handle(struct sim_ctx *c, const struct sim_request *q, struct sim_response *r);

/* Implemented by the server: the number of user-data connections, and closing them all. */
int sim_server_ws_count(void);
int sim_server_ws_drop(void);
/* Queues text (len bytes, any content) as one text frame on every open user-data connection of
 * account, whatever the state of its listen key. Returns the number of connections. */
int sim_server_ws_inject(const char *account, const char *text, size_t len);

#endif
