/* brackets: the static bracket tables (see brackets.h). Figures follow the shape of Binance's
 * published BTCUSDT tiers and a typical small-cap tier; cum is derived as the header says. */
#include "sim/brackets.h"

#include <string.h>

static const struct sim_bracket major[] = {
    {1, 125, 0, 50000, "0.004", "0"},
    {2, 100, 50000, 600000, "0.005", "50"},
    {3, 75, 600000, 3000000, "0.0065", "950"},
    {4, 50, 3000000, 12000000, "0.01", "11450"},
    {5, 25, 12000000, 70000000, "0.02", "131450"},
    {6, 20, 70000000, 100000000, "0.025", "481450"},
    {7, 10, 100000000, 230000000, "0.05", "2981450"},
    {8, 5, 230000000, 480000000, "0.1", "14481450"},
    {9, 4, 480000000, 600000000, "0.125", "26481450"},
    {10, 3, 600000000, 800000000, "0.15", "41481450"},
    {11, 2, 800000000, 1200000000, "0.25", "121481450"},
    {12, 1, 1200000000, 1800000000, "0.5", "421481450"},
};

static const struct sim_bracket other[] = {
    {1, 50, 0, 5000, "0.01", "0"},
    {2, 20, 5000, 25000, "0.025", "75"},
    {3, 10, 25000, 100000, "0.05", "700"},
    {4, 5, 100000, 250000, "0.1", "5700"},
    {5, 2, 250000, 1000000, "0.125", "11950"},
    {6, 1, 1000000, 5000000, "0.5", "386950"},
};

const struct sim_bracket *sim_brackets(const char *sym, size_t *n)
{
    if (sym && (!strcmp(sym, "BTCUSDT") || !strcmp(sym, "ETHUSDT"))) {
        *n = sizeof major / sizeof *major;
        return major;
    }
    *n = sizeof other / sizeof *other;
    return other;
}
