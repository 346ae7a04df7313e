/* fuzz_decimal: dec_parse, the parser of every price, quantity and balance bfq reads.
 *
 * The input is one decimal, or two separated by '|'. dec_parse must agree with an independent
 * reading of the grammar decimal.h documents (syntax, range, value). Each that parses must
 * keep its promise: a scale within 0..DEC_MAX_SCALE, dec_format and dec_format_trim give texts
 * that parse back to the same value, and acctrec_norm_dec (the account records' normaliser)
 * agrees with the trimmed text. For two, the arithmetic must be exact where it succeeds:
 * (a + b) - b = a, a * b has the sign of the signs' product, floor_to_step gives a multiple of
 * the step not above |a|, and dec_cmp is antisymmetric. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/acctrec.h"
#include "core/decimal.h"
#include "fuzz/fuzz.h"

/* The grammar decimal.h documents, written again independently: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * Returns 1 when s[0..len) matches, with its fractional and significant digit counts and its
 * value (when both counts are within 18). */
static int reference(const char *s, size_t len, int *frac, int *sig, int64_t *units)
{
    size_t i = 0, int_digits = 0;
    int neg = len > 0 && s[0] == '-';
    __int128 v = 0;
    *frac = *sig = 0;
    i += (size_t)neg;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
        if (*sig || s[i] != '0') (*sig)++;
        v = *sig <= 19 ? v * 10 + (s[i] - '0') : v;
    }
    if (int_digits == 0 || (int_digits > 1 && s[i - int_digits] == '0')) return 0;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, (*frac)++) {
            if (*sig || s[i] != '0') (*sig)++;
            v = *sig <= 19 ? v * 10 + (s[i] - '0') : v;
        }
        if (*frac == 0) return 0;
    }
    if (i != len) return 0;
    *units = (int64_t)(neg ? -v : v);
    return 1;
}

/* dec_parse agrees with the reference: syntax, range and value. */
static void agree(const char *s, size_t len, enum dec_status st, struct dec d)
{
    int frac, sig;
    int64_t units;
    int ok = reference(s, len, &frac, &sig, &units);
    if (st == DEC_ESYNTAX) FZ_CHECK(!ok);
    if (st == DEC_ERANGE) FZ_CHECK(ok && (frac > DEC_MAX_SCALE || sig > 18));
    if (st == DEC_OK) {
        FZ_CHECK(ok && frac <= DEC_MAX_SCALE && sig <= 18);
        FZ_CHECK(d.scale == frac && d.units == units);
    }
}

/* Parses s[0..len) and checks the round trips; 0 with *out when it parses. */
static int one(const char *s, size_t len, struct dec *out)
{
    enum dec_status st = dec_parse(s, len, out);
    agree(s, len, st, st == DEC_OK ? *out : (struct dec){0, 0});
    if (st != DEC_OK) return -1;
    struct dec d = *out, back;
    FZ_CHECK(d.scale >= 0 && d.scale <= DEC_MAX_SCALE);
    char text[DEC_STR_MAX], trim[DEC_STR_MAX], norm[DEC_STR_MAX], nul[DEC_STR_MAX + 1];
    FZ_CHECK(dec_format(d, text, sizeof text) > 0);
    FZ_CHECK(dec_parse(text, (size_t)-1, &back) == DEC_OK);
    FZ_CHECK(back.units == d.units && back.scale == d.scale);
    FZ_CHECK(dec_format_trim(d, trim, sizeof trim) > 0);
    FZ_CHECK(dec_parse(trim, (size_t)-1, &back) == DEC_OK && dec_cmp(back, d) == 0);
    /* every decimal that parses is short enough to be a NUL-terminated field value */
    FZ_CHECK(len <= DEC_STR_MAX);
    memcpy(nul, s, len);
    nul[len] = '\0';
    FZ_CHECK(acctrec_norm_dec(nul, norm) == 0);
    FZ_CHECK(dec_parse(norm, (size_t)-1, &back) == DEC_OK && dec_cmp(back, d) == 0);
    return 0;
}

static void pair(struct dec a, struct dec b)
{
    struct dec s, r, m, f;
    FZ_CHECK(dec_cmp(a, b) == -dec_cmp(b, a));
    if (dec_add(a, b, &s) == DEC_OK && dec_sub(s, b, &r) == DEC_OK) FZ_CHECK(dec_cmp(r, a) == 0);
    if (dec_mul(a, b, &m) == DEC_OK) FZ_CHECK(dec_sign(m) == dec_sign(a) * dec_sign(b));
    if (dec_sign(b) > 0 && dec_floor_to_step(a, b, &f) == DEC_OK) {
        FZ_CHECK(dec_cmp(dec_abs(f), dec_abs(a)) <= 0);
        FZ_CHECK(dec_is_multiple(f, dec_from_int(0), b));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *bar = memchr(s, '|', size);
    struct dec a, b;
    if (!bar) {
        (void)one(s, size, &a);
        return 0;
    }
    size_t la = (size_t)(bar - s);
    if (one(s, la, &a) == 0 && one(bar + 1, size - la - 1, &b) == 0) pair(a, b);
    return 0;
}
