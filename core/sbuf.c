/* sbuf: growable buffer for hand-built JSON (see sbuf.h). */
#include "core/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(struct sbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void sbuf_free(struct sbuf *b)
{
    free(b->buf);
    sbuf_init(b);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->buf) b->buf[0] = '\0';
}

char *sbuf_take(struct sbuf *b, size_t *len)
{
    char *s = b->buf;
    if (len) *len = b->len;
    if (!s) s = calloc(1, 1);
    sbuf_init(b);
    return s;
}

static int sbuf_reserve(struct sbuf *b, size_t extra)
{
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t want = b->len + extra + 1;
    if (want > SBUF_MAX) {
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < want) cap *= 2;
    if (cap > SBUF_MAX) cap = SBUF_MAX;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
        b->failed = 1;
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (sbuf_reserve(b, n)) return;
    if (n) memcpy(b->buf + b->len, s, n); /* s may be NULL when n is 0 */
    b->len += n;
    b->buf[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_addc(struct sbuf *b, char c)
{
    sbuf_add(b, &c, 1);
}

void sbuf_addi(struct sbuf *b, int64_t v)
{
    char tmp[24];
    int i = (int)sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    sbuf_add(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && !sbuf_reserve(b, (size_t)n)) {
        vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void sbuf_add_fixedq(struct sbuf *b, int64_t units, int scale)
{
    char tmp[48];
    int i = (int)sizeof(tmp);
    uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
    int digits = 0;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
        digits++;
        if (digits == scale) tmp[--i] = '.';
    } while (u || digits <= scale);
    if (tmp[i] == '.') tmp[--i] = '0';
    if (units < 0) tmp[--i] = '-';
    tmp[--i] = '"';
    sbuf_add(b, tmp + i, sizeof(tmp) - (size_t)i);
    sbuf_addc(b, '"');
}

void sbuf_add_decq(struct sbuf *b, struct dec d)
{
    sbuf_add_fixedq(b, d.units, d.scale);
}

void sbuf_add_jstr(struct sbuf *b, const char *s)
{
    sbuf_addc(b, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sbuf_add(b, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sbuf_add(b, e, 2);
        } else {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", c);
            sbuf_add(b, e, 6);
        }
        run = s + 1;
    }
    sbuf_add(b, run, (size_t)(s - run));
    sbuf_addc(b, '"');
}
