/* wsclient: a small WebSocket client on libwebsockets, sharing the process's libev loop.
 *
 * One struct wsc_ctx per process wraps one lws context created with LWS_SERVER_OPTION_LIBEV
 * and the process's loop as its foreign loop (lws's evlib_ev plugin), so lws's sockets and
 * timers are ordinary ev watchers on the same loop as curl and hiredis: no thread, no
 * polling. Each struct wsc_conn is one client connection to a ws:// or wss:// URL that
 * receives whole text messages (fragments are joined, capped at msg_max; a larger message is
 * dropped and counted). lws answers the server's pings; when the connection has been idle for
 * ping_secs lws sends a ping itself, and it hangs up when nothing valid arrived for
 * hangup_secs, so a half-open TCP connection is noticed.
 *
 * Callbacks run from the loop. `closed` is the final call of a connection (connect failure,
 * peer close, error, hang-up), with a short reason; the connection is freed when it returns,
 * so the callee must drop its pointer (and must not call wsc_close on it). After wsc_close no
 * callback of that connection runs again. wsc_close may be called from inside the
 * connection's own callbacks. */
#ifndef BFQ_WSCLIENT_H
#define BFQ_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct wsc_ctx;
struct wsc_conn;

#define WSC_URL_MAX 2048
#define WSC_ERR_MAX 160
#define WSC_MSG_MAX_DEFAULT (1u << 20)

/* libwebsockets' log lines into the process's log (errors as warn, the rest as debug,
 * trailing newlines cut): what every lws user of the process installs with
 * lws_set_log_level(LLL_ERR | LLL_WARN, wsc_log_emit). */
void wsc_log_emit(int level, const char *line);

struct wsc_callbacks {
    void (*open)(struct wsc_conn *c, void *privdata);                         /* may be NULL */
    void (*message)(struct wsc_conn *c, const char *data, size_t len, void *privdata);
    void (*closed)(struct wsc_conn *c, const char *reason, void *privdata);   /* final */
    void *privdata;
};

struct wsc_options {
    const char *source_ip;  /* bind to this local address, or NULL */
    size_t msg_max;         /* 0 means WSC_MSG_MAX_DEFAULT */
    int ping_secs;          /* idle seconds before we ping; 0 means 60 */
    int hangup_secs;        /* idle seconds before we hang up; 0 means 180 */
};

/* An lws context on loop. wss:// servers are verified against the system's CA store, or
 * against the CAs of the PEM file ca_file when it is set (lws's client_ssl_ca_filepath; NULL or
 * "" for the system's). Returns NULL with a reason in err. */
struct wsc_ctx *wsc_ctx_new(struct ev_loop *loop, const char *ca_file, char *err, size_t errcap);
/* Closes every connection (no callbacks) and frees the context. */
void wsc_ctx_free(struct wsc_ctx *x);

/* Starts connecting to url. Returns the connection, or NULL with a reason in err (bad URL, or
 * lws refused at once); then no callback runs. */
struct wsc_conn *wsc_connect(struct wsc_ctx *x, const char *url, const struct wsc_options *opt,
                             const struct wsc_callbacks *cbs, char *err, size_t errcap);

/* Closes and frees c; no callback of c runs afterwards. */
void wsc_close(struct wsc_conn *c);

/* Nonzero once the WebSocket handshake completed. */
int wsc_is_open(const struct wsc_conn *c);

struct wsc_stats {
    int64_t messages;   /* whole messages delivered */
    int64_t oversized;  /* messages dropped for exceeding msg_max */
};
struct wsc_stats wsc_conn_stats(const struct wsc_conn *c);

/* Splits ws[s]://host[:port][/path] into its parts (caps: host 256, path WSC_URL_MAX).
 * Returns 0 or -1. Exposed for tests. */
int wsc_parse_url(const char *url, int *tls, char *host, size_t hostcap, int *port, char *path,
                  size_t pathcap);

#endif
