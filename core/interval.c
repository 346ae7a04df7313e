/* interval: Binance's kline intervals (see interval.h). */
#include "core/interval.h"

#include <stddef.h>
#include <string.h>

int interval_ms(const char *interval, int64_t *ms)
{
    static const struct {
        const char *name;
        int64_t ms;
    } table[] = {
        {"1m", 60000LL},     {"3m", 180000LL},    {"5m", 300000LL},    {"15m", 900000LL},
        {"30m", 1800000LL},  {"1h", 3600000LL},   {"2h", 7200000LL},   {"4h", 14400000LL},
        {"6h", 21600000LL},  {"8h", 28800000LL},  {"12h", 43200000LL}, {"1d", 86400000LL},
        {"3d", 259200000LL}, {"1w", 604800000LL}, {"1M", 0},
    };
    if (!interval) return -1;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (!strcmp(interval, table[i].name)) {
            *ms = table[i].ms;
            return 0;
        }
    }
    return -1;
}
