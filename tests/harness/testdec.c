/* testdec: see testdec.h. */
#include "tests/harness/testdec.h"

#include <stdio.h>
#include <string.h>

struct dec th_dec(const char *s)
{
    struct dec d = {0, 0};
    if (dec_parse(s, (size_t)-1, &d) != DEC_OK) fprintf(stderr, "bad decimal %s\n", s);
    return d;
}

int th_dec_eq(struct dec a, const char *b)
{
    int ok = dec_cmp(a, th_dec(b)) == 0;
    if (!ok) {
        char s[DEC_STR_MAX];
        if (dec_format_trim(a, s, sizeof s) < 0) s[0] = '\0';
        fprintf(stderr, "  got %s, want %s\n", s, b);
    }
    return ok;
}

struct dec_filters th_btc_filters(void)
{
    struct dec_filters f;
    memset(&f, 0, sizeof f);
    f.tick = th_dec("0.10");
    f.min_price = th_dec("556.80");
    f.max_price = th_dec("4529764");
    f.step = th_dec("0.001");
    f.min_qty = th_dec("0.001");
    f.max_qty = th_dec("1000");
    f.market_step = th_dec("0.001");
    f.market_min_qty = th_dec("0.001");
    f.market_max_qty = th_dec("120");
    f.min_notional = th_dec("100");
    return f;
}
