/* rblock: a blocking Redis connection for one-shot commands (`bfq status`, `bfq redis-setup`).
 *
 * Long-running roles use rconn on the loop; a command that runs a few queries and exits is
 * simpler with a blocking hiredis context. rblock_connect parses the redis:// URL (rconn's
 * parser; a redis+sentinel:// URL asks the sentinels for the master first), connects with a timeout that also bounds every later command, authenticates as the
 * URL's user and selects its db. Errors never echo the password. */
#ifndef BFQ_RBLOCK_H
#define BFQ_RBLOCK_H

#include <stddef.h>

struct redisContext;

/* Returns a ready context (free it with redisFree), or NULL with a one-line reason in err. */
struct redisContext *rblock_connect(const char *url, int timeout_ms, char *err, size_t cap);

#endif
