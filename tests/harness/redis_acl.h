/* redis_acl: renders redis/users.acl.in for tests, every user's password "test-<user>". */
#ifndef BFQ_REDIS_ACL_H
#define BFQ_REDIS_ACL_H

/* Writes the rendered ACL file to out_path (mode 0600). Returns 0 or -1. */
int th_render_acl(const char *out_path);

struct redisContext;
/* Runs one command (printf-like, hiredis formats) and classifies the answer: 1 allowed, 0
 * refused by the ACL (NOPERM, a key, channel or command it may not use), -1 anything else
 * (printed). */
int th_acl_try(struct redisContext *c, const char *fmt, ...);

#endif
