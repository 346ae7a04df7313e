/* reqlog: the simulator's request log, a fixed ring of the last REQLOG_CAP requests.
 *
 * Every exchange request (not the /_sim/ admin calls) is recorded with its time, client IP,
 * method, path, charged weight and HTTP status, so tests can see exactly what a collector sent.
 * The ring is allocated once and never grows; the oldest entries are overwritten. */
#ifndef BFQ_SIM_REQLOG_H
#define BFQ_SIM_REQLOG_H

#include <stdint.h>

#include "core/sbuf.h"

#define REQLOG_CAP 200000

struct reqlog;

struct reqlog *reqlog_new(void);
void reqlog_free(struct reqlog *r);
void reqlog_add(struct reqlog *r, int64_t t_ms, const char *ip, const char *method,
                const char *path, int weight, int status);
/* JSON array of the entries with t >= since_ms, oldest first, at most `limit` (the newest). */
void reqlog_json(const struct reqlog *r, int64_t since_ms, int limit, struct sbuf *out);

#endif
