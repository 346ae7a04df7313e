/* role: the runtime every long-running bfq role shares, so that no role repeats it.
 *
 * role_init reads the common configuration and builds, on one libev loop: the command Redis
 * connection (rconn, checking that Redis holds the Lua function library the caller passes, by
 * SHA-256 of its code: core does not depend on reconciler/, so collectors pass
 * `bfq_lua_library`; until it does the connection never comes up, so the role writes nothing,
 * and an alert goes to <prefix>alerts), the heartbeat bfq:hb:<role>:<instance>,
 * one http_client, one binance_client for [exchange] rest_url bound to --source-ip (with the
 * account's key and secret when the role asks for them), the per-IP weight budget attached to
 * that client, and SIGINT/SIGTERM watchers that stop the loop (SIGPIPE is ignored for every
 * command by cli/main.c: a broken connection is an error to handle, not a reason to die). It also keeps the counters
 * every collector shows in its heartbeat (requests, weight, errors by kind, last success).
 *
 * Configuration read here (all overridable by environment and options, see core/config.h):
 *   [log] level (info)            [redis] url (required), prefix ("bfq:"),
 *                                 library_check (5s: how often the library is checked again),
 *                                 command_timeout (3s, 100ms to 60s: a reply older than that
 *                                 drops and reconnects; a weight take's deadline too)
 *   [exchange] rest_url (http://127.0.0.1:8080), timeout (5s), weight_limit (2400; when not
 *              set, <prefix>exchange requestWeight1m from `bfq symbols` is used once Redis is
 *              up and read again every 5 s), weight_budget_percent (90), ca_file (none: the
 *              system's CAs; a PEM file of the CAs that verify https/wss servers, for REST
 *              and the WebSocket client)
 *   [<section>] instance (host-pid), source_ip (none), account ("main")
 *   [account.<NAME>] api_key, api_secret (only when needs_account)
 * Keys of a file that nobody declares are logged once at start ("unknown config keys"): the
 * shared sections above are declared here, a command's own section by its struct cli_command
 * (options and keys, core/cli.h), and every command of the binary is registered by cli/main.c,
 * so a section no command owns is reported too.
 *
 * Life cycle, single-threaded:
 *   role_init -> (caller sets up its own watchers) -> role_run (returns after SIGINT/SIGTERM
 *   or role_stop) -> caller stops its own watchers -> role_fini -> caller frees its state.
 * role_main runs that whole life (with the command line and the role's own configuration)
 * for an entry point that only supplies the hooks of a struct role_entry.
 * role_fini cancels the exchange requests in flight first (their callbacks run with
 * BINANCE_ELOCAL while the caller's state is still alive; callbacks check role_stopping()
 * and start nothing new), deletes the heartbeat key, lets Redis drain for at most one second,
 * then frees everything.
 *
 * Under systemd (Type=notify units, core/sdnotify.h) the role sends READY=1 once it is up:
 * Redis up and a first accepted exchange answer (Redis up alone for a no_exchange role, and
 * for a ready_on_redis one, which may go long without a request when idle), and
 * WATCHDOG=1 every half $WATCHDOG_USEC from a loop timer while the loop turns. */
#ifndef BFQ_ROLE_H
#define BFQ_ROLE_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

#include "core/binance.h"
#include "core/config.h"
#include "core/timebase.h"

struct cli_command;
struct rconn;
struct heartbeat;
struct http_client;
struct weight_budget;

#define ROLE_NAME_MAX 32
#define ROLE_ID_MAX 128
#define ROLE_PREFIX_MAX 64
#define ROLE_IP_MAX 64
#define ROLE_ERR_MAX 256
#define ROLE_PATH_MAX 512

/* Error kinds a collector counts, one per way an exchange answer can go wrong. */
enum role_err {
    ROLE_ERR_5XX,
    ROLE_ERR_TIMEOUT,
    ROLE_ERR_MALFORMED, /* unparseable, truncated, or valid JSON failing our validation */
    ROLE_ERR_API,       /* {code,msg} error answer, or another non-2xx status */
    ROLE_ERR_429,
    ROLE_ERR_418,
    ROLE_ERR_TRANSPORT,
    ROLE_ERR_LOCAL,     /* request not sent (canceled, could not be built) */
    ROLE_ERR_COUNT
};

struct role_counters {
    int64_t requests;              /* exchange answers seen (good or bad) */
    int64_t ok;                    /* answers accepted */
    int64_t weight;                /* request weight spent by this process */
    int64_t errors[ROLE_ERR_COUNT];
    wall_ms_t last_success;        /* wall ms of the last accepted answer, 0 = never */
    wall_ms_t last_error;          /* wall ms of the last error, 0 = never */
    char last_errstr[160];         /* short reason of the last error */
};

struct role;

/* Called when the command connection is (again) ready, and when it went down. */
typedef void role_redis_fn(struct role *r, void *privdata);
/* Adds the role's own fields to the heartbeat object (borrowed), after the common ones. */
typedef void role_fill_fn(struct role *r, json_t *obj, void *privdata);

struct role_options {
    const char *section;     /* config section of the command ("kline"); NULL = the role name */
    const struct cli_command *cmd; /* declares the section's keys; role_main sets it */
    const char *lua_library; /* Redis function library source (bfq_lua_library), or NULL */
    int needs_account;       /* build the binance client with [account.NAME] key and secret */
    int no_exchange;         /* the role never talks to the exchange (no http/binance/weight) */
    int ready_on_redis;      /* its exchange requests wait for work (an intent, an open order):
                                READY=1 once Redis is up, not at a first exchange answer */
    role_redis_fn *up;       /* may be NULL */
    role_redis_fn *down;     /* may be NULL */
    role_fill_fn *fill;      /* may be NULL */
    void *privdata;          /* passed to up, down and fill */
};

/* Everything is owned by the struct and freed by role_fini; cfg is borrowed and must outlive
 * the role. Fields are read-only for callers except `ctr`, which the count helpers update. */
struct role {
    struct ev_loop *loop;               /* the default loop */
    struct config *cfg;                 /* borrowed */
    char name[ROLE_NAME_MAX];           /* "kline": heartbeat role and log role */
    char section[ROLE_NAME_MAX];        /* config section of the command */
    char instance[ROLE_ID_MAX];         /* cli_instance() */
    char prefix[ROLE_PREFIX_MAX];       /* "bfq:" */
    char source_ip[ROLE_IP_MAX];        /* "" when not bound */
    char weight_ip[ROLE_IP_MAX];        /* source_ip, or "default" */
    char ca_file[ROLE_PATH_MAX];        /* [exchange] ca_file, "" when not set */
    char account[ROLE_NAME_MAX];        /* [<section>] account, "main" by default */
    int64_t weight_limit;               /* [exchange] weight_limit, or exchangeInfo's */
    int64_t limit_beats;                /* heartbeats since requestWeight1m was last read */
    struct rconn *rc;
    struct heartbeat *hb;
    struct http_client *http;           /* NULL with no_exchange */
    struct binance_client *bc;          /* NULL with no_exchange */
    struct weight_budget *wb;           /* NULL with no_exchange */
    struct role_counters ctr;
    wall_ms_t started;
    int stopping;                       /* set once role_run is asked to stop */
    struct role_options opts;
    ev_signal sigint, sigterm;
    int sd_ready;                       /* READY=1 sent to systemd (core/sdnotify) */
    ev_timer sd_watchdog;               /* WATCHDOG=1 every half $WATCHDOG_USEC, when set */
    mono_ms_t log_muted_until[ROLE_ERR_COUNT];
    int64_t log_muted[ROLE_ERR_COUNT];
    char errstr[ROLE_ERR_MAX];
};

/* A role's entry point as hooks for role_main; each gets the caller's state. */
struct role_entry {
    const struct cli_command *cmd; /* cmd->name is the role name, as in "bfq <name>: ..." */
    struct role_options opts;      /* privdata is replaced by the state */
    /* Before role_init: reads the role's own configuration. Returns 0, or -1 with a reason in
     * err (left empty: the config's own error is printed). May be NULL. */
    int (*config)(void *state, struct config *cfg, char *err, size_t cap);
    /* After role_init: sets up and starts the role's watchers (r->cfg is the configuration).
     * Returns 0, or -1 with a reason in err: the role then exits 1 without running, after
     * stop and role_fini. */
    int (*start)(struct role *r, void *state, char *err, size_t cap);
    /* After role_run returned (or start failed), before role_fini: stops what start started.
     * May be NULL. */
    void (*stop)(struct role *r, void *state);
};

/* The whole life of a role process: cli_parse, config, role_init, start, role_run, stop,
 * role_fini, config_free. r is the struct role inside state. The caller zeroes state before
 * and frees it (and what config and start built) after: role_fini has run by then, and
 * pointers into the configuration are no longer valid. Each failure prints one line
 * "bfq <name>: <reason>" on stderr. Returns the exit status: 0, 1 (failure) or 2 (usage). */
int role_main(const struct role_entry *e, struct role *r, void *state, int argc, char **argv);

/* Reads the configuration and builds the runtime (see the top). Returns 0, or -1 with a
 * one-line reason in r->errstr (the caller prints it and exits 1); after -1 nothing needs
 * freeing. Calls log_init(name, [log] level). */
int role_init(struct role *r, const char *name, struct config *cfg, const struct role_options *o)
    __attribute__((warn_unused_result));

/* Logs once the keys of cfg that neither core nor the command owning their section declares
 * (see the top): role_init does it for every role; a server that is no role (bfq dash) calls
 * it itself. */
void role_report_unknown_keys(struct config *cfg, const struct cli_command *cmd);

/* Runs the loop until SIGINT, SIGTERM or role_stop. */
void role_run(struct role *r);

/* Asks role_run to return (from any callback). */
void role_stop(struct role *r);

/* Nonzero once the role is stopping: callbacks start no new work. */
int role_stopping(const struct role *r);

/* Tears down (see the top). Safe after a failed role_init (does nothing). */
void role_fini(struct role *r);

/* Nonzero while the Redis command connection is up. */
int role_redis_up(const struct role *r);

/* Builds "<prefix><suffix>" into buf (e.g. role_key(r, buf, cap, "kline:%s:%s", iv, sym)).
 * Returns the length, or -1 when it does not fit. */
int role_key(const struct role *r, char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The error kind of a non-OK outcome. */
enum role_err role_err_of(enum binance_outcome o);

/* Counts one exchange answer: ok for BINANCE_OK, else its error kind, logged (at most one line
 * per kind per 5 s, with the number muted meanwhile). `what` names the request for the log
 * ("klines BTCUSDT"). Also feeds 429/418 waits to the budget (binance does it too when the
 * budget is attached; a second stop of the same IP is harmless).
 * Returns 0 for BINANCE_OK, -1 otherwise. */
int role_count_result(struct role *r, const struct binance_result *res, const char *what);

/* Counts an answer that arrived fine but failed our validation (ROLE_ERR_MALFORMED), with the
 * reason, logged as above. Use after role_count_result returned 0 (it undoes that ok). */
void role_count_invalid(struct role *r, const char *what, const char *reason);

/* Counts weight spent by a request this process sent. */
void role_count_weight(struct role *r, int weight);

/* Name of an error kind for logs and heartbeats ("5xx", "timeout", ...). */
const char *role_err_name(enum role_err e);

#endif
