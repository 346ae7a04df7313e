/* dash: `bfq dash`, the read-only operator's page, its JSON API (docs/dash.md) and /metrics.
 *
 * One libev loop serves HTTP (http.h); every read of Redis or MariaDB runs as a job on one
 * worker thread (core/worker, fetch.h), so a slow or dead source never stalls the loop. The
 * page (www/, embedded at build time) and Debian's Chart.js are served from memory. It holds
 * only read-only credentials: the Redis ACL user `dash` and the MariaDB user `reader`; nothing
 * it serves can send an order. */
#ifndef BFQ_DASH_DASH_H
#define BFQ_DASH_DASH_H

#include "core/cli.h"

extern const struct cli_command dash_cli;
int dash_main(int argc, char **argv);

/* Splits "HOST:PORT" (port 1..65535) into host and *port. 0 or -1. */
int dash_parse_listen(const char *s, char *host, size_t cap, int *port);
/* Nonzero for a loopback host: 127.0.0.0/8, ::1 or localhost. */
int dash_is_loopback(const char *host);

#endif
