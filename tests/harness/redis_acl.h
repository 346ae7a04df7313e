/* redis_acl: renders redis/users.acl.in for tests, every user's password "test-<user>". */
#ifndef BFQ_REDIS_ACL_H
#define BFQ_REDIS_ACL_H

/* Writes the rendered ACL file to out_path (mode 0600). Returns 0 or -1. */
int th_render_acl(const char *out_path);

#endif
