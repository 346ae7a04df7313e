/* fuzz: what the libFuzzer targets (fuzz/fuzz_*.c) share.
 *
 * Each target feeds the input to the real parser of core/ or collectors/ that reads that kind
 * of outside input, the way the role calls it, and then checks what the parser promises (a
 * refused input leaves nothing behind, an accepted one holds what its contract says). A broken
 * promise calls fz_fail, which aborts, so libFuzzer records the input as a crash. Built only
 * with -DBFQ_FUZZ=ON (clang, -fsanitize=fuzzer,address,undefined); scripts/fuzz runs them. */
#ifndef BFQ_FUZZ_H
#define BFQ_FUZZ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct acctrec_batch;
struct ev_loop;
struct rconn;

/* Reports a broken promise (printf-style) and aborts. */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define FZ_CHECK(cond)                                                                    \
    do {                                                                                  \
        if (!(cond)) fz_fail("%s:%d: %s", __FILE__, __LINE__, #cond);                     \
    } while (0)

/* Logs only errors, once per process (the parsers' warnings would drown libFuzzer's output). */
void fz_quiet(void);

/* The input parsed with jv_parse (the capped parser every answer goes through); NULL when it
 * refuses it. New reference. */
json_t *fz_json(const uint8_t *data, size_t size);

/* Checks what acctrec's parsers promise of an accepted batch: at most ACCTREC_MAX_RECORDS of
 * each kind, non-empty NUL-terminated fields, every decimal normalised (acctrec_norm_dec gives
 * it back unchanged), times >= 0 and t_max the newest. */
void fz_check_acct_batch(const struct acctrec_batch *b);

/* A REST account answer through parse (acctrec_parse_account or _positionrisk) as both
 * versions, 2 and 3: an accepted batch passes fz_check_acct_batch and the time check at its
 * own t_max, and is marked complete exactly for v3 (it lists only open positions); a refused
 * one says why. */
typedef int fz_acct_parse_fn(const json_t *root, int version, struct acctrec_batch *b, char *err,
                             size_t errcap);
void fz_acct_rest(const uint8_t *data, size_t size, fz_acct_parse_fn *parse);

/* A private redis-server (tests/harness) with the bfq function library loaded, and one rconn
 * to it on loop, started on the first call and stopped at exit. Aborts when it cannot start. */
struct rconn *fz_redis(struct ev_loop **loop);

/* Runs the loop until every command sent on rc so far has been answered (a PING sent now is
 * answered after them). Aborts when Redis does not answer within seconds or went away. */
void fz_redis_sync(struct ev_loop *loop, struct rconn *rc);

#endif
