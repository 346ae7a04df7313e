/* log: logfmt lines on stderr with registered secrets redacted (see log.h).
 *
 * A line is built in a working buffer larger than LOG_LINE_MAX, redacted as a whole, and only
 * then cut to LOG_LINE_MAX, so the cut never leaves half of a secret showing. When the working
 * buffer itself was too small, its end may hold the beginning of a secret: that partial match
 * is dropped before redaction. The message is redacted before it is quoted too (quoting may
 * escape characters of a secret and hide it from the whole-line pass). One write(2) per line.
 *
 * Field values are escaped too: the fields format is walked conversion by conversion (the
 * printf subset the attribute checks), numbers are formatted as printf would, and each %s or %c
 * value (which may come from the exchange or from Redis) is redacted, then escaped: inside
 * quotes the format already has (reason="%s") a '"', '\' or control character becomes \", \\,
 * \n, \t, \r or '?', and an unquoted value (sym=%s) that holds a space, '=', '"' or a control
 * character, or is empty, is quoted as well. So no value can end its field or its line. */
#include "core/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timebase.h"

#define LOG_SECRET_MAX 1024 /* longer secrets are refused by log_add_secret */
#define LOG_ROLE_MAX 64
#define LOG_WORK_MAX (LOG_LINE_MAX + LOG_SECRET_MAX + 64)

static char log_role[LOG_ROLE_MAX] = "bfq";
static enum log_level log_min = LOG_LEVEL_INFO;
static char *log_secrets[LOG_SECRETS_MAX + LOG_ROTATING_MAX]; /* fixed ones, then the ring */
static int log_nsecrets;      /* fixed ones, at the front */
static int log_nrotating;     /* ring entries in use, at log_secrets[LOG_SECRETS_MAX...] */
static int log_rotating_next; /* the ring slot replaced next */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *role, enum log_level min_level)
{
    snprintf(log_role, sizeof log_role, "%s", role ? role : "bfq");
    log_min = min_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* 1 when secret is to be registered, 0 when too short to redact (ignored), -1 when too long. */
static int secret_usable(const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    return n < 4 ? 0 : n > LOG_SECRET_MAX ? -1 : 1;
}

int log_add_secret(const char *secret)
{
    int rc = secret_usable(secret);
    if (rc <= 0)
        return rc;
    rc = 0;
    pthread_mutex_lock(&log_lock);
    int dup = 0;
    for (int i = 0; i < log_nsecrets; i++)
        dup |= strcmp(log_secrets[i], secret) == 0;
    if (!dup) {
        char *copy = log_nsecrets < LOG_SECRETS_MAX ? strdup(secret) : NULL;
        if (copy)
            log_secrets[log_nsecrets++] = copy;
        else
            rc = -1;
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

int log_add_rotating_secret(const char *secret)
{
    int ok = secret_usable(secret);
    if (ok <= 0)
        return ok;
    char *copy = strdup(secret);
    if (!copy)
        return -1;
    pthread_mutex_lock(&log_lock);
    char **slot = &log_secrets[LOG_SECRETS_MAX + log_rotating_next];
    free(*slot);
    *slot = copy;
    log_rotating_next = (log_rotating_next + 1) % LOG_ROTATING_MAX;
    if (log_nrotating < LOG_ROTATING_MAX)
        log_nrotating++;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void log_clear_secrets(void)
{
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < log_nsecrets; i++)
        free(log_secrets[i]);
    for (int i = LOG_SECRETS_MAX; i < LOG_SECRETS_MAX + LOG_ROTATING_MAX; i++) {
        free(log_secrets[i]);
        log_secrets[i] = NULL;
    }
    log_nsecrets = 0;
    log_nrotating = 0;
    log_rotating_next = 0;
    pthread_mutex_unlock(&log_lock);
}

/* Calls fn on every registered secret, fixed and rotating. Caller holds the lock. */
static void each_secret(void (*fn)(char *buf, const char *s), char *buf)
{
    for (int i = 0; i < log_nsecrets; i++)
        fn(buf, log_secrets[i]);
    for (int i = 0; i < log_nrotating; i++)
        fn(buf, log_secrets[LOG_SECRETS_MAX + i]);
}

/* Replaces each occurrence of s in buf by "***" (in place: a secret is at least 4 long). */
static void redact_one(char *buf, const char *s)
{
    size_t sl = strlen(s);
    char *p = buf;
    for (char *hit = strstr(p, s); hit != NULL; hit = strstr(p, s)) {
        memcpy(hit, "***", 3);
        memmove(hit + 3, hit + sl, strlen(hit + sl) + 1);
        p = hit + 3;
    }
}

/* buf was cut at its end: drops a tail that is the start of secret s. Caller holds the lock. */
static void drop_partial_tail(char *buf, const char *s)
{
    size_t len = strlen(buf), sl = strlen(s);
    for (size_t k = sl - 1 < len ? sl - 1 : len; k > 0; k--) {
        if (memcmp(buf + len - k, s, k) == 0) {
            buf[len - k] = '\0';
            return;
        }
    }
}

/* Redacts a buffer that may have been cut (truncated != 0). */
static void redact_cut(char *buf, int cap, int truncated)
{
    if (truncated) {
        pthread_mutex_lock(&log_lock);
        each_secret(drop_partial_tail, buf);
        pthread_mutex_unlock(&log_lock);
    }
    log_redact(buf, cap);
}

void log_redact(char *buf, int cap)
{
    if (buf == NULL || cap <= 0)
        return;
    buf[cap - 1] = '\0';
    pthread_mutex_lock(&log_lock);
    each_secret(redact_one, buf);
    pthread_mutex_unlock(&log_lock);
}

static int needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return 1;
    }
    return 0;
}

/* Appends msg to buf at *o, quoted and escaped when logfmt needs it. */
static void append_msg(char *buf, size_t cap, size_t *o, const char *msg)
{
    int quote = needs_quotes(msg);
    if (quote && *o + 1 < cap)
        buf[(*o)++] = '"';
    for (const char *s = msg; *s && *o + 3 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        char esc = c == '"' ? '"' : c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\t' ? 't'
                                                        : c == '\r' ? 'r' : 0;
        if (esc) {
            buf[(*o)++] = '\\';
            buf[(*o)++] = esc;
        } else {
            buf[(*o)++] = (c < ' ' || c == 0x7f) ? '?' : (char)c;
        }
    }
    if (quote && *o + 1 < cap)
        buf[(*o)++] = '"';
    buf[*o] = '\0';
}

/* Appends value to buf at *o: inside the format's own quotes (inq) escaped, else quoted and
 * escaped when logfmt needs it, else as it is. Always NUL-terminated. */
static void append_value(char *buf, size_t cap, size_t *o, const char *value, int inq)
{
    if (inq) {
        char tmp[LOG_WORK_MAX];
        size_t t = 0;
        append_msg(tmp, sizeof tmp, &t, value); /* quoted when needed: strip the quotes */
        const char *p = tmp;
        size_t n = t;
        if (n >= 2 && tmp[0] == '"' && needs_quotes(value)) {
            p++;
            n -= 2;
        }
        for (size_t i = 0; i < n && *o + 1 < cap; i++) buf[(*o)++] = p[i];
        buf[*o] = '\0';
        return;
    }
    append_msg(buf, cap, o, value);
}

/* One conversion of a fields format: flags, width, precision and length as parsed. */
struct log_spec {
    char text[32]; /* "%-8.3lld" */
    char conv;     /* 'd', 's', ... */
    int len;       /* 0 none, 'H' hh, 'h', 'l', 'L' ll, 'z', 'j', 't', 'D' long double */
    int star_w, star_p;
};

/* Parses the conversion at fmt (just after '%'); returns its length, or 0 when unsupported. */
static size_t parse_spec(const char *fmt, struct log_spec *sp)
{
    const char *p = fmt;
    memset(sp, 0, sizeof *sp);
    p += strspn(p, "-+ #0");
    if (*p == '*') sp->star_w = 1, p++;
    else p += strspn(p, "0123456789");
    if (*p == '.') {
        p++;
        if (*p == '*') sp->star_p = 1, p++;
        else p += strspn(p, "0123456789");
    }
    if (p[0] == 'h' && p[1] == 'h') sp->len = 'H', p += 2;
    else if (p[0] == 'l' && p[1] == 'l') sp->len = 'L', p += 2;
    else if (*p == 'L') sp->len = 'D', p++;
    else if (strchr("hlzjt", *p) && *p) sp->len = *p++;
    if (!*p || !strchr("diouxXcsfFeEgGaAp", *p)) return 0;
    sp->conv = *p++;
    size_t n = (size_t)(p - fmt);
    if (n + 2 > sizeof sp->text) return 0;
    sp->text[0] = '%';
    memcpy(sp->text + 1, fmt, n);
    sp->text[n + 1] = '\0';
    return n;
}

/* Formats one argument of sp into tmp as printf would (sp->text was parsed from a format the
 * compiler checked against the arguments). */
#define LOG_FMT_ARG(type)                                                                     \
    do {                                                                                      \
        type v_ = va_arg(*ap, type);                                                          \
        if (sp->star_w && sp->star_p) snprintf(tmp, cap, sp->text, w, pr, v_);                \
        else if (sp->star_w) snprintf(tmp, cap, sp->text, w, v_);                             \
        else if (sp->star_p) snprintf(tmp, cap, sp->text, pr, v_);                            \
        else snprintf(tmp, cap, sp->text, v_);                                                \
    } while (0)

static void format_arg(char *tmp, size_t cap, const struct log_spec *sp, int w, int pr,
                       va_list *ap)
{
    int c = sp->conv;
    tmp[0] = '\0';
    if (c == 's') {
        const char *v = va_arg(*ap, const char *);
        if (!v) v = "(null)";
        if (sp->star_w && sp->star_p) snprintf(tmp, cap, sp->text, w, pr, v);
        else if (sp->star_w) snprintf(tmp, cap, sp->text, w, v);
        else if (sp->star_p) snprintf(tmp, cap, sp->text, pr, v);
        else snprintf(tmp, cap, sp->text, v);
    } else if (c == 'p') {
        LOG_FMT_ARG(void *);
    } else if (strchr("fFeEgGaA", c)) {
        if (sp->len == 'D') LOG_FMT_ARG(long double);
        else LOG_FMT_ARG(double);
    } else if (strchr("di", c)) {
        if (sp->len == 'l') LOG_FMT_ARG(long);
        else if (sp->len == 'L') LOG_FMT_ARG(long long);
        else if (sp->len == 'z') LOG_FMT_ARG(ssize_t);
        else if (sp->len == 'j') LOG_FMT_ARG(intmax_t);
        else if (sp->len == 't') LOG_FMT_ARG(ptrdiff_t);
        else LOG_FMT_ARG(int); /* int, and hh/h, promoted */
    } else if (c == 'c') {
        LOG_FMT_ARG(int);
    } else {
        if (sp->len == 'l') LOG_FMT_ARG(unsigned long);
        else if (sp->len == 'L') LOG_FMT_ARG(unsigned long long);
        else if (sp->len == 'z') LOG_FMT_ARG(size_t);
        else if (sp->len == 'j') LOG_FMT_ARG(uintmax_t);
        else if (sp->len == 't') LOG_FMT_ARG(ptrdiff_t);
        else LOG_FMT_ARG(unsigned);
    }
}

/* Formats fields with ap into buf at *o (see the top). Returns nonzero when cut. */
static int format_fields(char *buf, size_t cap, size_t *o, const char *fmt, va_list ap)
{
    char tmp[LOG_WORK_MAX];
    int inq = 0;
    va_list cp;
    va_copy(cp, ap);
    for (const char *f = fmt; *f && *o + 1 < cap; f++) {
        struct log_spec sp;
        size_t n = f[0] == '%' && f[1] != '%' ? parse_spec(f + 1, &sp) : 0;
        if (f[0] == '%' && f[1] == '%') {
            buf[(*o)++] = *++f;
            continue;
        }
        if (n == 0) { /* literal text (an unsupported conversion is shown as it is) */
            if (*f == '"' && (f == fmt || f[-1] != '\\')) inq = !inq;
            buf[(*o)++] = *f;
            continue;
        }
        int w = sp.star_w ? va_arg(cp, int) : 0, pr = sp.star_p ? va_arg(cp, int) : 0;
        format_arg(tmp, sizeof tmp, &sp, w, pr, &cp);
        if (sp.conv == 's' || sp.conv == 'c') {
            redact_cut(tmp, (int)sizeof tmp, strlen(tmp) + 1 >= sizeof tmp);
            if (tmp[0] || inq || (*o > 0 && buf[*o - 1] == '=')) /* k="" but no bare "" */
                append_value(buf, cap, o, tmp, inq);
        } else {
            size_t tl = strlen(tmp);
            if (tl > cap - 1 - *o) tl = cap - 1 - *o;
            memcpy(buf + *o, tmp, tl);
            *o += tl;
        }
        f += n;
    }
    va_end(cp);
    buf[*o < cap ? *o : cap - 1] = '\0';
    return *o + 4 >= cap;
}

/* Builds the whole line (no newline) into out[0..cap), cap <= LOG_LINE_MAX; returns length. */
static int build_line(char *out, int cap, enum log_level level, const char *msg,
                      const char *fields, va_list ap) __attribute__((format(printf, 5, 0)));

static int build_line(char *out, int cap, enum log_level level, const char *msg,
                      const char *fields, va_list ap)
{
    char work[LOG_WORK_MAX], raw[LOG_WORK_MAX], ts[32];
    if (cap <= 0)
        return 0;
    timebase_format_iso(timebase_wall_ms(), ts, sizeof ts);
    int lv = (int)level >= 0 && (int)level < 4 ? (int)level : 3;
    int n = snprintf(work, sizeof work, "ts=%s level=%s role=%s msg=", ts, level_names[lv],
                     log_role);
    size_t o = n > 0 && (size_t)n < sizeof work ? (size_t)n : 0;
    int cut = snprintf(raw, sizeof raw, "%s", msg ? msg : "") >= (int)sizeof raw;
    redact_cut(raw, (int)sizeof raw, cut);
    append_msg(work, sizeof work, &o, raw);
    cut = o + 4 >= sizeof work;
    if (fields && *fields && o + 2 < sizeof work) {
        size_t start = ++o;
        work[start - 1] = ' ';
        cut |= format_fields(work, sizeof work, &o, fields, ap);
        if (o == start)
            work[--o] = '\0'; /* fields came out empty: no trailing space */
    }
    redact_cut(work, (int)sizeof work, cut);
    size_t len = strlen(work);
    size_t lim = (size_t)cap - 1; /* room for the NUL */
    if (lim > LOG_LINE_MAX - 1)
        lim = LOG_LINE_MAX - 1; /* and for the newline log_write adds */
    if (len > lim) {
        len = lim;
        if (len >= 3)
            memcpy(work + len - 3, "...", 3);
    }
    memcpy(out, work, len);
    out[len] = '\0';
    return (int)len;
}

int log_format(char *buf, int cap, enum log_level level, const char *msg, const char *fields, ...)
{
    va_list ap;
    va_start(ap, fields);
    int n = build_line(buf, cap, level, msg, fields, ap);
    va_end(ap);
    return n;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere else to report it */
        p += w;
        n -= (size_t)w;
    }
}

void log_vwrite(enum log_level level, const char *msg, const char *fields, va_list ap)
{
    if (level < log_min)
        return;
    char line[LOG_LINE_MAX + 1];
    int n = build_line(line, LOG_LINE_MAX, level, msg, fields, ap);
    line[n++] = '\n';
    write_all(line, (size_t)n);
}

void log_write(enum log_level level, const char *msg, const char *fields, ...)
{
    va_list ap;
    va_start(ap, fields);
    log_vwrite(level, msg, fields, ap);
    va_end(ap);
}

_Noreturn void bfq_assert_fail(const char *expr, const char *file, int line)
{
    log_write(LOG_LEVEL_ERROR, "assertion failed", "expr=\"%s\" file=%s line=%d", expr, file,
              line);
    abort();
}
