/* metrics: bfq's state in the Prometheus text exposition format (version 0.0.4).
 *
 * Two halves, so the format can be tested without Redis: metrics_gather reads Redis once
 * (synchronous hiredis, read commands only: SCAN, GET, HGET, HGETALL, HMGET, HVALS, HLEN, LLEN,
 * XLEN, XREVRANGE; the `status` ACL user may run them all) into
 * a plain struct metrics_snapshot, and metrics_format turns a snapshot into text, with no I/O.
 * metrics_render does both; `bfq dash` serves it at /metrics, `bfq metrics` prints it.
 *
 * What is read, and how, is `bfq status`'s own code (collectors/status.h): the heartbeats
 * <prefix>hb:* with each source IP's weight of this exchange minute, the data's ages and each
 * account's positions, balances and sources. On top: the books of <prefix>ticks for notional
 * and uPnL, <prefix>risk:state:<acct>, <prefix>risk:ban and <prefix>alerts. Every label is
 * bounded (role, ip, kind, account, source, state, outcome): no instance or order ids. Counters
 * are the sums of the live instances' heartbeat counters, so one that restarts (or dies)
 * lowers the sum: Prometheus takes a decrease as a counter reset. Money (notional, uPnL,
 * wallet, equity) stays exact: struct dec from the decimal strings, printed as decimal text.
 * docs/metrics.md lists every family. */
#ifndef BFQ_METRICS_H
#define BFQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/cli.h"
#include "core/decimal.h"
#include "core/role.h"

struct redisContext;

#define METRICS_NAME_MAX 64
#define METRICS_ROLES_MAX 32
#define METRICS_IPS_MAX 64
#define METRICS_ACCOUNTS_MAX 16
#define METRICS_AGES_MAX 24
#define METRICS_SOURCES 3      /* account, positionrisk, userstream */
#define METRICS_STATES 3       /* ACTIVE, REDUCING, HALTED (trader/gate.h) */
#define METRICS_ERR_MAX 256
#define METRICS_NONE INT64_MIN /* an age or figure that is unknown: its sample is left out */

/* Outcomes of intents at the gateway (its heartbeat counters). */
enum metrics_outcome {
    METRICS_SENT,
    METRICS_DENIED,
    METRICS_REJECTED,
    METRICS_UNKNOWN,
    METRICS_DUPLICATE,
    METRICS_OUTCOMES
};

struct metrics_role {
    char name[METRICS_NAME_MAX];
    int64_t up;                         /* live heartbeats */
    int64_t requests;                   /* exchange answers, summed over instances */
    int64_t errors[ROLE_ERR_COUNT];     /* by kind (role_err_name) */
    int64_t last_success_age_ms;        /* the oldest of its instances' last success, or NONE */
};

struct metrics_ip {
    char ip[METRICS_NAME_MAX];          /* "127.0.0.2", or "default" when not bound */
    int64_t used;                       /* weight of this exchange minute (bfq:weight:*) */
    int64_t budget, limit;              /* -1 when no instance published them */
    int stopped;                        /* a 429/418 stop is running */
};

struct metrics_age {
    char kind[METRICS_NAME_MAX];        /* "ticks", "kline_1m", "hot" */
    int64_t records;
    int64_t oldest_ms, median_ms;       /* METRICS_NONE when there is none */
};

struct metrics_account {
    char name[METRICS_NAME_MAX];
    int64_t positions;                  /* open positions (amt != 0) */
    int64_t priced;                     /* of which with a book: in notional and upnl */
    int has_money;                      /* notional and upnl are set (no overflow) */
    struct dec notional;                /* sum of |amt| * mid */
    struct dec upnl;                    /* sum of amt * (mid - entry) */
    int has_wallet, has_equity;         /* wallet is set; equity is set */
    struct dec wallet;                  /* the USDT balance's wallet */
    struct dec equity;                  /* wallet + upnl */
    int64_t open_orders;
    int64_t source_age_ms[METRICS_SOURCES]; /* METRICS_NONE: the source never wrote */
    int state;                          /* enum gate_state, -1 unknown text */
    int has_intents;                    /* a gateway of this account is live */
    int64_t intents[METRICS_OUTCOMES];
};

struct metrics_snapshot {
    int nroles, nips, nages, naccounts;
    struct metrics_role roles[METRICS_ROLES_MAX];
    struct metrics_ip ips[METRICS_IPS_MAX];
    struct metrics_age ages[METRICS_AGES_MAX];
    struct metrics_account accounts[METRICS_ACCOUNTS_MAX];
    int64_t bans;                       /* entries of the ban list ("ALL" is one) */
    int ban_all;
    int64_t alerts;                     /* XLEN of the capped alert stream */
    int64_t last_alert_ms;              /* time of the newest alert, 0 when none */
    int64_t scrape_ms;                  /* how long gathering took */
};

/* Names for labels: role_err_name(kind), these for sources, states and outcomes. */
extern const char *const metrics_source_names[METRICS_SOURCES];
extern const char *const metrics_state_names[METRICS_STATES];
extern const char *const metrics_outcome_names[METRICS_OUTCOMES];

/* Reads Redis into *snap (zeroed first). account NULL: every account found; else only that
 * one (shown even when Redis holds nothing of it). Returns 0, or -1 with a one-line reason in
 * err on a Redis error (connection lost, or a command refused). */
int metrics_gather(struct redisContext *c, const char *prefix, const char *account,
                   struct metrics_snapshot *snap, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* The exposition of snap: malloc'd, NUL-terminated text (length in *len when len is not
 * NULL), freed by the caller; NULL when out of memory. */
char *metrics_format(const struct metrics_snapshot *snap, size_t *len);

/* metrics_gather (every account) then metrics_format: what /metrics serves. c is a connected,
 * authenticated context (a read-only user will do); prefix is the key prefix ("bfq:").
 * Returns malloc'd text, or NULL on a Redis error. Not thread-safe per context: one context
 * per thread. */
char *metrics_render(struct redisContext *c, const char *prefix, size_t *len);

/* `bfq metrics`: prints the exposition once (node_exporter's textfile collector). */
extern const struct cli_command metrics_cli;
int metrics_main(int argc, char **argv);

#endif
