/* sbuf: a growable byte buffer for building hot JSON answers and text without jansson.
 *
 * Written for the simulator, which answers thousands of market-data requests a second; building those bodies
 * through a JSON tree costs more than the rest of the request. sbuf appends text, integers,
 * decimals and JSON-quoted strings to one malloc'd buffer that is reused between requests.
 * Growth stops at SBUF_MAX: past it the buffer is marked failed and every later append is a
 * no-op, so an oversized answer turns into one clean error instead of unbounded memory.
 * The buffer is always NUL-terminated after a successful append. */
#ifndef BFQ_CORE_SBUF_H
#define BFQ_CORE_SBUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"

#define SBUF_MAX (64u << 20) /* hard cap for one answer */

struct sbuf {
    char *buf;   /* owned; NULL until the first append */
    size_t len, cap;
    int failed;  /* an append hit SBUF_MAX or out of memory */
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
/* Empties the buffer, keeping its memory (and clears failed). */
void sbuf_reset(struct sbuf *b);
/* Hands the buffer over: returns the malloc'd text (caller frees) and re-initialises b. */
char *sbuf_take(struct sbuf *b, size_t *len);

void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_addi(struct sbuf *b, int64_t v);
/* printf-style append; never use it on hot paths. */
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A decimal as a JSON string with exactly its own scale: "12.3400". */
void sbuf_add_decq(struct sbuf *b, struct dec d);
/* An integer count of `scale` fractional digits as a JSON string: (1234, 2) -> "12.34". */
void sbuf_add_fixedq(struct sbuf *b, int64_t units, int scale);
/* s as a JSON string literal, escaping quotes, backslashes and control characters. */
void sbuf_add_jstr(struct sbuf *b, const char *s);

#endif
