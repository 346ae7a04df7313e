/* watchdog: `bfq watchdog`, which watches the account sources of one account and raises flags.
 *
 * Every [watchdog] every (1 s) it reads each source's health hash <p>acct:<a>:src:<source>
 * and its position view <p>acct:<a>:view:<source> (sources: [watchdog] sources, default
 * "account,positionrisk,userstream"), and keeps <p>acct:<a>:flags (field -> JSON
 * {"since":wall ms,"detail":...}; the watchdog owns this hash and rewrites it at start):
 *
 *   silent:<source>  the source's last good answer (seen, local wall ms) is older than
 *                    [watchdog] silent_after (10 s), or it never reported.
 *   stale            every source is older than [watchdog] stale_after (5 s). On the change
 *                    {"t":now,"stale":true} is published on <p>ch:acct:<a> (and
 *                    {"t":now,"stale":false} when a source is fresh again): traders must stop
 *                    opening positions while the account is stale.
 *   disagree:<SYM:SIDE>  two live sources report different amounts for a position, after
 *                    timestamps are taken into account, for longer than [watchdog]
 *                    disagree_after (5 s). Records with equal t that differ disagree at once;
 *                    when the t differ, the source holding the older record disagrees only if
 *                    it has reported since the newer record's time (its src t >= the newer t +
 *                    [watchdog] tolerance, 1 s): it looked after the change and still shows
 *                    the old amount. A source that simply has not polled yet is not counted.
 *
 * Each flag raised or cleared is logged once: level=warn msg=alert flag=... / msg="alert
 * cleared". Run one watchdog per account. */
#ifndef BFQ_WATCHDOG_H
#define BFQ_WATCHDOG_H

#include <jansson.h>
#include <stdint.h>

#include "core/cli.h"

extern const struct cli_command watchdog_cli;
int watchdog_main(int argc, char **argv);

#define WATCHDOG_SOURCES_MAX 8

/* One source's state as read from Redis, for wd_evaluate. */
struct wd_source {
    char name[32];
    int64_t seen;   /* local wall ms of its last good answer; 0 = never */
    int64_t t;      /* exchange ms of its last good answer */
    json_t *view;   /* field -> record JSON object ({"amt","t",...}); borrowed */
};

struct wd_limits {
    int64_t silent_after_ms, stale_after_ms, disagree_after_ms, tolerance_ms;
};

/* The positions on which sources disagree now (before the persistence threshold), as a new
 * JSON object field -> "src1=amt@t src2=amt@t". Pure: exposed for tests. */
json_t *wd_disagreements(const struct wd_source *src, int n, int64_t now,
                         const struct wd_limits *lim);

#endif
