/* slots: the per-second time slots of the book-ticker collectors (`bfq tick`).
 *
 * Every tick instance holds a lease in the sorted set <prefix>tick:members (member
 * "<id>|<ip>|<instance>", score = lease expiry in Redis server milliseconds), renewed every
 * ~500 ms through the Lua function bfq_tick_lease, which also prunes the expired members and
 * returns the live ones. <id> is a never-reused instance number from INCR <prefix>cursor:tick.
 * From the live members each instance derives, on its own and with no further coordination:
 *
 *   k, N    its rank among the live ids (ascending) and their count;
 *   m       how many live instances share its source IP;
 *   R       its requests per second: min(rate cap, floor(budget / 60 / weight) / m), where
 *           budget is the per-IP weight budget per minute (limit * percent / 100) and weight
 *           that of one all-symbol book ticker (5): the IP's share of the budget is divided
 *           among the instances that send from it, so the budget never has to stall them.
 *
 * It then fires at the wall-clock times t = (j + k/N) / R for integer j (seconds since the
 * Unix epoch), that is at offsets (k/N + j)/R within each second when R is an integer. The
 * slots are defined on the wall clock so that instances on different hosts agree (hosts are
 * assumed NTP-synced to a few ms). When every instance has the same R (one instance per IP, or
 * the same number on each IP) the fleet's requests are exactly evenly spread: N instances at
 * R a second fire one request every 1/(N R) s. With unequal R each instance still keeps its
 * phase k/N of its own interval, a fair approximation.
 *
 * This module is pure computation (no I/O, no clock reads), so it is unit-testable; tick.c
 * does the Redis calls and the timer. */
#ifndef BFQ_SLOTS_H
#define BFQ_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define SLOTS_MEMBERS_MAX 1024 /* live members considered; more are ignored (and logged) */
#define SLOTS_IP_MAX 64
#define SLOTS_MEMBER_MAX 256 /* bytes of one member string */
#define SLOTS_RATE_MIN 0.05  /* never slower than one request per 20 s */

struct slots_member {
    int64_t id;
    char ip[SLOTS_IP_MAX];
    char instance[SLOTS_MEMBER_MAX]; /* breaks ties between equal ids (after a Redis reset) */
};

/* What an instance derived from the live members. */
struct slots_plan {
    int k, n;    /* rank among live ids (0-based) and their count */
    int ip_n;    /* live instances sharing this instance's IP (>= 1) */
    double rate; /* requests per second of this instance */
};

/* Builds the lease member string "<id>|<ip>|<instance>" into buf. Returns its length, or -1
 * when it does not fit or ip/instance hold '|'. */
int slots_member_format(char *buf, size_t cap, int64_t id, const char *ip, const char *instance);

/* Parses a member string into out. Returns 0, or -1 when it is not "<id>|<ip>|<instance>"
 * with a positive id and a non-empty ip. */
int slots_member_parse(const char *s, size_t len, struct slots_member *out);

/* The per-instance rate: min(rate_cap, floor(budget_per_minute / 60 / weight) / ip_n), at
 * least SLOTS_RATE_MIN. rate_cap <= 0 means no cap. */
double slots_rate(int64_t budget_per_minute, int weight, int ip_n, double rate_cap);

/* Derives the plan of instance `self` from the live members m[0..count): members are ranked
 * by (id, instance). The instance counts itself even when absent from m (its lease write may
 * not be visible yet). */
void slots_plan_compute(const struct slots_member *m, int count, const struct slots_member *self,
                        int64_t budget_per_minute, int weight, double rate_cap,
                        struct slots_plan *out);

/* The first slot time (wall seconds) of plan p strictly after now_s and at least
 * min_gap_s after last_s (the previous fire of this instance, or 0 when none): a re-plan never
 * makes an instance fire twice in quick succession. */
double slots_next_fire(const struct slots_plan *p, double now_s, double last_s, double min_gap_s);

/* Nonzero when the two plans fire at the same times. */
int slots_plan_equal(const struct slots_plan *a, const struct slots_plan *b);

#endif
