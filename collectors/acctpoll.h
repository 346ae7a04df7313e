/* acctpoll: the REST polling loop shared by `bfq account` and `bfq positionrisk`.
 *
 * Every [<name>] every (default 1 s) the role GETs /fapi/v<api_version>/<endpoint> (SIGNED,
 * weight 5, taken from the per-IP budget before sending), parses it into an account batch and
 * writes it through acctrec (source name = the command name). One request at a time: a tick
 * that finds the previous request still in flight is skipped. Errors (5xx, 429, transport,
 * malformed answers) are counted, written to the source's health hash and never stop the
 * loop; a malformed answer writes nothing. A 5xx, a timeout or a transport error pauses the
 * polls (collectors/xpause, as `bfq tick`: 250 ms growing to 5 s, one probe at a time, ended
 * by the next good answer); skipped polls count in the heartbeat's skipped_backoff. */
#ifndef BFQ_ACCTPOLL_H
#define BFQ_ACCTPOLL_H

#include <jansson.h>
#include <stddef.h>

#include "collectors/acctrec.h"
#include "core/cli.h"

struct acctpoll_spec {
    const char *name;     /* "account": role, config section and source name */
    const char *endpoint; /* "account" or "positionRisk" (path /fapi/v<N>/<endpoint>) */
    int (*parse)(const json_t *root, int version, struct acctrec_batch *b, char *err,
                 size_t errcap);
};

/* Margin subtracted from the request's send time (exchange clock) for records the answer
 * implies but does not time-stamp (a v3 position that is no longer listed). */
#define ACCTPOLL_ABSENT_MARGIN_MS 1000

/* Parses argv with cmd and runs the poller until SIGINT/SIGTERM. Returns the exit status. */
int acctpoll_main(const struct cli_command *cmd, const struct acctpoll_spec *spec, int argc,
                  char **argv);

#endif
