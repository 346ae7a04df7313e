/* tally: counts by short reason (see tally.h). */
#include "trader/tally.h"

#include <stdio.h>
#include <string.h>

void tally_add(struct tally *t, const char *reason, int len)
{
    char r[TALLY_REASON_MAX];
    int i;
    snprintf(r, sizeof r, "%.*s", len < 0 ? (int)(sizeof r - 1) : len, reason);
    for (i = 0; i < TALLY_MAX && t->v[i].reason[0]; i++)
        if (!strcmp(t->v[i].reason, r)) break;
    if (i == TALLY_MAX) i = TALLY_MAX - 1; /* the last slot gathers the rest */
    if (!t->v[i].reason[0]) memcpy(t->v[i].reason, r, sizeof r);
    t->v[i].n++;
}

json_t *tally_json(const struct tally *t)
{
    json_t *o = json_object();
    for (int i = 0; i < TALLY_MAX && t->v[i].reason[0]; i++)
        json_object_set_new(o, t->v[i].reason, json_integer(t->v[i].n));
    return o;
}
