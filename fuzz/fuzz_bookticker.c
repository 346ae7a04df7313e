/* fuzz_bookticker: GET /fapi/v1/ticker/bookTicker's answer through tickparse_fill_body, as
 * `bfq tick` reads it, for a universe of the recorded symbols plus two short names.
 *
 * Promises checked: a refused answer says why (the caller frees the batch unsent); an accepted
 * one adds exactly `kept` records, never more than the universe, and its counters add up. Each
 * input is parsed twice: the second time every symbol was already batched at that time, so
 * nothing newer is kept. */
#include <stdint.h>
#include <stdlib.h>

#include "collectors/tickparse.h"
#include "fuzz/fuzz.h"
#include "reconciler/recon.h"

static struct tick_universe uni;

static void setup(void)
{
    static const char *const syms[] = {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SUSHIUSDT", "AKROUSDT",
                                       "KEEPUSDT", "CTKUSDT", "GALAUSDT", "A", "B"};
    fz_quiet();
    FZ_CHECK(tick_universe_set(&uni, syms, sizeof syms / sizeof syms[0]) == 0);
}

static void fill(const uint8_t *data, size_t size, int second)
{
    struct recon_batch *b = tickparse_batch_new("bfq:");
    struct tickparse_stats st;
    FZ_CHECK(b != NULL);
    if (tickparse_fill_body((const char *)data, size, &uni, b, &st) < 0) {
        FZ_CHECK(st.err[0] != '\0');
    } else {
        FZ_CHECK(recon_batch_count(b) == st.kept);
        FZ_CHECK(st.kept <= uni.n);
        FZ_CHECK(st.kept + st.same + st.foreign + st.future <= st.entries);
        if (second) FZ_CHECK(st.kept == 0);
    }
    recon_batch_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!uni.n) setup();
    tick_universe_forget(&uni);
    uni.time_limit = (size & 1) ? 0 : 4102444800000; /* none, or 2100-01-01 */
    fill(data, size, 0);
    fill(data, size, 1);
    return 0;
}
