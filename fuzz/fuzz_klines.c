/* fuzz_klines: the answers `bfq kline` reads: GET /fapi/v1/klines through bars_validate (for
 * the intervals 1m, 1h, 1w and 1M), and the book it corrects the last bar from, GET
 * /fapi/v1/depth through bars_book_from_depth and GET /fapi/v1/ticker/bookTicker?symbol=
 * through bars_book_from_ticker.
 *
 * Promises checked: a refused answer says why; an accepted book has bid <= ask and the texts
 * of both; an accepted window corrected from a book (the fixed one, and the input's own when
 * it also reads as a book) is still a valid window of the same length, since the correction
 * only widens high and low and moves close inside them. */
#include <stdint.h>
#include <string.h>

#include "collectors/bars.h"
#include "fuzz/fuzz.h"

static void check_book(const json_t *j, int depth, struct bars_book *out, int *ok)
{
    char err[BARS_ERR_MAX] = "";
    int rc = depth ? bars_book_from_depth(j, out, err, sizeof err)
                   : bars_book_from_ticker(j, out, err, sizeof err);
    if (rc < 0) {
        FZ_CHECK(err[0] != '\0');
        return;
    }
    FZ_CHECK(dec_cmp(out->bid, out->ask) <= 0);
    FZ_CHECK(out->bid_s && out->ask_s);
    *ok = 1;
}

static void check_window(const json_t *j, int64_t interval_ms, const struct bars_book *book)
{
    char err[BARS_ERR_MAX] = "";
    if (bars_validate(j, interval_ms, BARS_MAX, err, sizeof err) < 0) {
        FZ_CHECK(err[0] != '\0');
        return;
    }
    json_t *c = bars_correct(j, book);
    FZ_CHECK(c != NULL);
    FZ_CHECK(json_array_size(c) == json_array_size(j));
    if (bars_validate(c, interval_ms, BARS_MAX, err, sizeof err) < 0)
        fz_fail("corrected window refused: %s", err);
    json_decref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const intervals[] = {"1m", "1h", "1w", "1M"};
    fz_quiet();
    json_t *j = fz_json(data, size);
    if (!j) return 0;
    struct bars_book fixed = {.bid = {1005, 1}, .ask = {1006, 1}, .bid_s = "100.5",
                              .ask_s = "100.6", .t = 1}, own;
    int have_own = 0;
    check_book(j, 1, &own, &have_own);
    if (!have_own) check_book(j, 0, &own, &have_own);
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
        int64_t ms;
        FZ_CHECK(interval_ms(intervals[i], &ms) == 0);
        check_window(j, ms, &fixed);
        if (have_own) check_window(j, ms, &own);
    }
    json_decref(j);
    return 0;
}
