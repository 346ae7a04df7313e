/* proxy: a loopback TCP proxy that can turn the connections open now into a black hole.
 *
 * A black hole is a path that dies with the connection open (a frozen VM, a dropped route, a
 * primary gone after a failover): nothing arrives, nothing is refused, nothing closes. The
 * proxy forwards 127.0.0.1:<its port> to 127.0.0.1:<target> until th_proxy_freeze; from then
 * on every connection open at that moment reads and drops what either side sends, forwards
 * nothing and never closes its side (when a client gives up and closes, the proxy closes that
 * client's socket, but keeps the server side open and silent). Connections made after the
 * freeze pass normally, so a client that notices and reconnects works again, unless
 * th_proxy_freeze_new holds new connections in the black hole too until the path "comes
 * back".
 *
 * It runs on its own thread (blocking sockets, poll), independent of the test's loop, so a
 * test may drive an in-process rconn on its libev loop or spawned bfq processes alike. */
#ifndef BFQ_TH_PROXY_H
#define BFQ_TH_PROXY_H

struct th_proxy;

/* Starts the proxy on a free loopback port towards 127.0.0.1:target_port. NULL on failure. */
struct th_proxy *th_proxy_start(int target_port);

/* The port clients connect to. */
int th_proxy_port(const struct th_proxy *p);

/* Freezes every connection open now (see the top). Returns how many were frozen. */
int th_proxy_freeze(struct th_proxy *p);

/* While on, connections accepted from now on are frozen from their start (the path is still
 * dead for new connections too); off: new connections pass again. */
void th_proxy_freeze_new(struct th_proxy *p, int on);

/* Connections accepted so far (frozen or not), for "did it reconnect" checks. */
int th_proxy_accepted(struct th_proxy *p);

/* Stops the thread and closes every socket. */
void th_proxy_stop(struct th_proxy *p);

#endif
