/* test_interval: core/interval, the one parser of Binance's kline intervals that the kline
 * collectors, the hot set and the trader's book share. */
#include <string.h>

#include "core/interval.h"
#include "tests/harness/harness.h"

int main(void)
{
    static const struct {
        const char *name;
        int64_t ms;
    } good[] = {
        {"1m", 60000LL},     {"3m", 180000LL},    {"5m", 300000LL},    {"15m", 900000LL},
        {"30m", 1800000LL},  {"1h", 3600000LL},   {"2h", 7200000LL},   {"4h", 14400000LL},
        {"6h", 21600000LL},  {"8h", 28800000LL},  {"12h", 43200000LL}, {"1d", 86400000LL},
        {"3d", 259200000LL}, {"1w", 604800000LL}, {"1M", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -7;
        CHECK(interval_ms(good[i].name, &ms) == 0 && ms == good[i].ms);
    }
    /* what Binance's futures klines do not have, and near misses */
    static const char *const bad[] = {"",    "m",   "0m",  "7m",  "1s", "60m", "1H",  "1D", "1W",
                                      "01m", "1m ", " 1m", "1mm", "2M", "1y",  "-1m", "1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = -7;
        CHECK(interval_ms(bad[i], &ms) == -1 && ms == -7);
    }
    int64_t ms = -7;
    CHECK(interval_ms(NULL, &ms) == -1 && ms == -7);
    return th_done();
}
