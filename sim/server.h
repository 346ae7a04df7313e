/* server: HTTP, WebSocket and timers of `bfq sim` on one port and one libev loop.
 *
 * libwebsockets serves HTTP/1.1 (keep-alive) and the user-data WebSocket on the same
 * listening socket, attached to a libev loop through lws's evlib plugin; the simulator's
 * periodic chores (engine tick, listen-key expiry, WebSocket pings and maximum age) run from
 * one ev_timer. Requests are handed to the router; answers carry Binance's headers
 * (X-MBX-USED-WEIGHT-1M, X-MBX-ORDER-COUNT-10S/1M, Retry-After). Single-threaded. */
#ifndef BFQ_SIM_SERVER_H
#define BFQ_SIM_SERVER_H

#include "sim/ctx.h"

/* Runs until SIGINT or SIGTERM. Returns 0 on a clean stop, 1 when the server could not start
 * (one line on stderr). */
int sim_server_run(struct sim_ctx *c);

/* The engine's event callback: fans a user-data event out to the account's connections. */
void sim_server_on_event(const char *account, const char *json, void *privdata);

#endif
