/* testws: a minimal blocking WebSocket client for tests (libwebsockets client API).
 *
 * Connects to ws:// or wss:// (self-signed certificates accepted), collects every text message
 * the server sends into a queue, and lets the test wait for the next one or for the close.
 * Each client has its own lws context serviced only inside testws_* calls, so nothing runs in
 * the background; lws answers the server's pings by itself. Test use only. */
#ifndef BFQ_TESTWS_H
#define BFQ_TESTWS_H

struct testws;

/* Connects to url (ws://HOST:PORT/PATH or wss://...). Returns NULL when the connection or the
 * handshake fails (e.g. the server refused an unknown listen key) within timeout_ms. */
struct testws *testws_connect(const char *url, int timeout_ms);

/* The next text message (malloc'd, caller frees), or NULL when none arrived in timeout_ms or
 * the connection is closed and the queue is empty. */
char *testws_next(struct testws *w, int timeout_ms);

/* Waits up to timeout_ms for the server to close; nonzero when closed. */
int testws_wait_closed(struct testws *w, int timeout_ms);

/* Closes (if open) and frees. */
void testws_close(struct testws *w);

#endif
