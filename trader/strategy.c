/* strategy: the table of built-in strategies (see strategy.h). A new strategy is one file
 * defining a struct strategy and one line here. */
#include "trader/strategy.h"

#include <string.h>

extern const struct strategy strategy_demo;

const struct strategy *const strategy_table[] = {
    &strategy_demo,
    NULL,
};

const struct strategy *strategy_find(const char *name)
{
    for (int i = 0; strategy_table[i]; i++)
        if (!strcmp(strategy_table[i]->name, name)) return strategy_table[i];
    return NULL;
}

int strategy_section_keys(const char *section, const char *key)
{
    const struct strategy *st =
        strncmp(section, "strategy.", 9) ? NULL : strategy_find(section + 9);
    if (!st) return -1;
    if (!key) return 1;
    for (const char *const *k = st->keys; k && *k; k++)
        if (!strcmp(*k, key)) return 1;
    return 0;
}
