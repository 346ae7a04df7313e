/* log: one logfmt line per event on stderr, with secrets redacted.
 *
 *   ts=2026-11-26T10:06:54.123Z level=info role=kline msg="symbol done" sym=BTCUSDT ms=12
 *
 * Every process calls log_init() once with its role. Any string registered with
 * log_add_secret() (API keys, secrets, Redis passwords) is replaced by *** wherever it would
 * appear in a line, message and fields alike, so a secret that leaks into an error text from a
 * library never reaches the log. Lines are written with one write(2) so that concurrent
 * processes sharing a terminal do not interleave. Thread-safe (a mutex guards the secret list). */
#ifndef BFQ_LOG_H
#define BFQ_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

#define LOG_LINE_MAX 4096 /* longer lines are cut and end with "..." */
#define LOG_SECRETS_MAX 32

/* Sets the role printed on every line and the lowest level printed. role is copied. */
void log_init(const char *role, enum log_level min_level);

/* Parses "debug", "info", "warn" or "error"; returns 0, or -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);

/* Registers a secret to redact; copied. Strings shorter than 4 characters are ignored (they
 * would redact half of every line). Returns -1 when the table is full. */
int log_add_secret(const char *secret);

/* Registers a credential that the exchange replaces now and then (a user-data listenKey): kept
 * in a ring of the LOG_ROTATING_MAX most recent ones beside the fixed secrets, so a process
 * that rolls over keys for months never fills the table, while the key being replaced stays
 * redacted until the next one arrives. Same length rules; returns 0 or -1. */
#define LOG_ROTATING_MAX 4
int log_add_rotating_secret(const char *secret);

/* Forgets every registered secret (tests). */
void log_clear_secrets(void);

/* Writes one line. msg is quoted when it holds spaces; fields is a printf format for the
 * "k=v k=v" tail, or NULL. */
void log_write(enum log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(enum log_level level, const char *msg, const char *fields, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Formats the line without writing it (tests, alerts). Returns the length written. */
int log_format(char *buf, int cap, enum log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 5, 6)));

/* Replaces every registered secret in buf (NUL-terminated, capacity cap) by ***. */
void log_redact(char *buf, int cap);

#define log_debug(msg, ...) log_write(LOG_LEVEL_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_write(LOG_LEVEL_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_write(LOG_LEVEL_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_LEVEL_ERROR, msg, __VA_ARGS__)

/* Always-on invariant check: logs file and line and aborts. Never use it on anything the
 * network, the exchange or a user can cause; those are errors. */
#define bfq_assert(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) bfq_assert_fail(#cond, __FILE__, __LINE__);                              \
    } while (0)
_Noreturn void bfq_assert_fail(const char *expr, const char *file, int line);

#endif
