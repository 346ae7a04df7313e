/* tally: counts by short reason, for heartbeats (a strategy's skipped signals, a gateway's
 * denials by reason).
 *
 * A fixed table of TALLY_MAX reasons (no allocation: it lives in the role's state); the last
 * slot gathers every reason beyond the table so nothing counted is lost. Reasons are cut to
 * TALLY_REASON_MAX - 1 characters. */
#ifndef BFQ_TALLY_H
#define BFQ_TALLY_H

#include <jansson.h>
#include <stdint.h>

#define TALLY_MAX 16
#define TALLY_REASON_MAX 32

struct tally {
    struct {
        char reason[TALLY_REASON_MAX];
        int64_t n;
    } v[TALLY_MAX];
};

/* Counts one under the first len bytes of reason (len < 0: all of it). */
void tally_add(struct tally *t, const char *reason, int len);
/* The counts as a new JSON object reason -> count. */
json_t *tally_json(const struct tally *t);

#endif
