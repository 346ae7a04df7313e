/* sentinel: a Redis primary, its replica and three Sentinels on loopback, for the failover
 * tests (test_sentinel, test_sentinel_trading).
 *
 * The primary is the harness's redis-server with the project's ACL users
 * (redis/users.acl.in, passwords "test-<user>"); the replica logs in to it as `replica`, and
 * the primary is told to do the same (masteruser), since after a failover it is the replica.
 * The three Sentinels (redis-server --sentinel) watch master "bfq" as user `admin` (REPLICAOF is admin's only), with
 * down-after 1 s and quorum 2. th_sentinel_start returns once the replica is synced and every
 * Sentinel knows the replica and the two others. Every process is registered with th_spawn,
 * so it is stopped at the end of the test whatever happens. */
#ifndef BFQ_TH_SENTINEL_H
#define BFQ_TH_SENTINEL_H

#include <stddef.h>
#include <sys/types.h>

#include "tests/harness/harness.h"

#define TH_NSENT 3

struct th_sentinel {
    struct th_redis prim; /* the first primary */
    pid_t replica_pid, sent_pid[TH_NSENT];
    int replica_port, sent_port[TH_NSENT];
};

/* Starts everything (see the top). 0, or -1 with the reason on stderr. */
int th_sentinel_start(struct th_sentinel *s);

/* redis+sentinel://USER:test-USER@<the three sentinels>/bfq */
void th_sentinel_url(const struct th_sentinel *s, const char *user, char *buf, size_t cap);

/* Spawns `bfq <role> --config conf --redis <the Sentinel URL of user> --instance <role>`, its
 * log in the test's directory as <role>.log. The pid, or -1. */
pid_t th_sentinel_spawn(const struct th_sentinel *s, const char *role, const char *user,
                        const char *conf);

/* The primary's port as Sentinel i names it, -1 when it does not answer. */
int th_sentinel_master_port(const struct th_sentinel *s, int i);

/* Waits until every Sentinel names port as the primary. 1 when they do within ms, else 0. */
int th_sentinel_wait_master(const struct th_sentinel *s, int port, int ms);

/* Waits until the server on port is a replica with its link to the primary up. 1 or 0. */
int th_sentinel_wait_synced(int port, int ms);

/* SENTINEL FAILOVER bfq through Sentinel 0: the replica becomes the primary. 0 or -1. */
int th_sentinel_failover(const struct th_sentinel *s);

/* Stops the Sentinels, the replica and the primary (those still running). */
void th_sentinel_stop(struct th_sentinel *s);

#endif
