/* libcheck: is the Redis function library Redis holds exactly the one this binary was built with?
 *
 * Every write of reconciled state runs inside Redis as Lua code that every role shares, so the
 * code must be the one the roles were built and tested with. A version number proves nothing
 * (any library can answer any bfq_version), so the check hashes the code itself: SHA-256 of
 * the `library_code` Redis returns for FUNCTION LIST LIBRARYNAME <name> WITHCODE against
 * SHA-256 of the source embedded at build time (cmake/embed.cmake). Function names are unique
 * across libraries in Redis, so when library <name> holds our code, every function it declares
 * is ours. Used by rconn (each role, at connect and periodically) and by `bfq redis-setup`
 * (after loading the library as the admin user). No state, no allocation. */
#ifndef BFQ_LIBCHECK_H
#define BFQ_LIBCHECK_H

#include <stddef.h>

struct redisReply;

#define LIBCHECK_HEX_LEN 64 /* SHA-256 in lower-case hex, without the NUL */
#define LIBCHECK_NAME_MAX 64

enum libcheck_result {
    LIBCHECK_OK,       /* the library is there and its code is ours, byte for byte */
    LIBCHECK_ABSENT,   /* no library of that name */
    LIBCHECK_MISMATCH, /* a library of that name with other code */
    LIBCHECK_ERROR     /* an error reply (e.g. NOPERM) or a reply of an unexpected shape */
};

/* SHA-256 of data[0..len) as 64 lower-case hex digits and a NUL into out. */
void libcheck_sha256_hex(const void *data, size_t len, char out[LIBCHECK_HEX_LEN + 1]);

/* The library name the source declares in its first line ("#!lua name=bfq") into buf.
 * Returns 0, or -1 when the line is missing or the name does not fit. */
int libcheck_name(const char *src, char *buf, size_t cap) __attribute__((warn_unused_result));

/* Judges a reply to FUNCTION LIST LIBRARYNAME name WITHCODE: is library `name` there with code
 * whose SHA-256 is want_hex? why receives one line for logs and alerts (also on LIBCHECK_OK);
 * it never holds the code. */
enum libcheck_result libcheck_reply(const struct redisReply *reply, const char *name,
                                    const char *want_hex, char *why, size_t cap);

#endif
