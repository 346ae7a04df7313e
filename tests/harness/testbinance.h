/* testbinance: synchronous helpers for the account tests: signed requests to `bfq sim` (as a
 * user's own script would send them) and small Redis reads, so a test can place orders and
 * check what the collectors wrote without running an event loop.
 *
 * Requests are signed with binance_sign over the query string (timestamp = local wall time;
 * the simulator runs on the same clock). Bodies are malloc'd; the caller frees them. */
#ifndef BFQ_TESTBINANCE_H
#define BFQ_TESTBINANCE_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <sys/types.h>

struct th_redis;
struct th_sim;

struct tb_account {
    const char *base_url; /* http://127.0.0.1:PORT */
    const char *key, *secret;
};

/* Added to every timestamp tb_signed sends: a test that moved the simulator's clock
 * (POST /_sim/clock) sets it to the same offset. 0 by default. */
extern long long tb_clock_offset_ms;

/* Sends method path?params&timestamp=..&signature=.. with X-MBX-APIKEY. params may be NULL.
 * Returns the HTTP status (0 on transport error); *body (if body) is malloc'd. */
long tb_signed(const struct tb_account *a, const char *method, const char *path,
               const char *params, char **body);

/* A MARKET order of qty on symbol (side BUY or SELL) with newOrderRespType=RESULT and client
 * id cid (may be NULL). Returns the HTTP status. */
long tb_market(const struct tb_account *a, const char *symbol, const char *side,
               const char *qty, const char *cid, char **body);

/* Redis as the admin user of the ACL file (password test-admin), or without AUTH when acl is
 * 0. NULL on failure. */
redisContext *tb_redis(int port, int acl);

/* HGET key field as a malloc'd string, or NULL. */
char *tb_hget(redisContext *c, const char *key, const char *field);
/* A string member of the JSON object stored at HGET key field, malloc'd, or NULL. */
char *tb_hget_member(redisContext *c, const char *key, const char *field, const char *member);
/* HLEN key, or -1. */
long long tb_hlen(redisContext *c, const char *key);

/* Starts a redis-server with the project's ACL users and `bfq sim --symbols 20 --account
 * acct_arg` ("main:KEY:SECRET:BALANCE"); sets a->base_url (a->key, a->secret are the
 * caller's). Returns the admin connection, or NULL. */
redisContext *tb_start(struct th_redis *r, struct th_sim *s, struct tb_account *a,
                       const char *acct_arg);
/* Writes a config file for account main: [redis] url (ACL user account), [exchange]
 * rest_url, [account.main] api_key and api_secret, then the INI text extra (may be NULL). */
int tb_write_config(const char *path, const struct th_redis *r, const struct tb_account *a,
                    const char *extra);
/* Spawns `bfq <role> --config conf --instance instance`, its log in the test's tmpdir. */
pid_t tb_spawn_role(const char *conf, const char *role, const char *instance);
/* Integer (or boolean, as 0/1) member name of the heartbeat bfq:hb:<role>:<instance>; -1 when
 * absent. */
long long tb_hb_num(redisContext *c, const char *role, const char *instance, const char *name);

/* Nonzero when decimal strings a and b are equal in value ("0.010" == "0.01"); 0 on NULL. */
int tb_dec_eq(const char *a, const char *b);

#endif
