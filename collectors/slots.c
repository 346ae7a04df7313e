/* slots: lease members, per-instance rate and slot times of the book-ticker collectors.
 * See slots.h for the scheme; everything here is pure arithmetic on its arguments. */
#include "collectors/slots.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int slots_member_format(char *buf, size_t cap, int64_t id, const char *ip, const char *instance)
{
    if (strchr(ip, '|') || strchr(instance, '|') || !*ip) return -1;
    int n = snprintf(buf, cap, "%lld|%s|%s", (long long)id, ip, instance);
    if (n < 0 || (size_t)n >= cap || n >= SLOTS_MEMBER_MAX) return -1;
    return n;
}

int slots_member_parse(const char *s, size_t len, struct slots_member *out)
{
    char tmp[SLOTS_MEMBER_MAX];
    if (len == 0 || len >= sizeof tmp) return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *bar = strchr(tmp, '|');
    if (!bar || bar == tmp) return -1;
    *bar = '\0';
    char *end = NULL;
    errno = 0;
    long long id = strtoll(tmp, &end, 10);
    if (errno || *end || id <= 0) return -1;
    char *ip = bar + 1;
    char *bar2 = strchr(ip, '|');
    if (!bar2 || bar2 == ip || (size_t)(bar2 - ip) >= sizeof out->ip) return -1;
    *bar2 = '\0';
    out->id = id;
    memcpy(out->ip, ip, (size_t)(bar2 - ip) + 1);
    size_t instlen = strlen(bar2 + 1);
    memcpy(out->instance, bar2 + 1, instlen + 1); /* fits: shorter than tmp */
    return 0;
}

double slots_rate(int64_t budget_per_minute, int weight, int ip_n, double rate_cap)
{
    if (weight < 1) weight = 1;
    if (ip_n < 1) ip_n = 1;
    /* Whole requests per second per IP, so the IP never reaches its budget inside a minute. */
    double per_ip = (double)(budget_per_minute / 60 / weight);
    double r = per_ip / ip_n;
    if (rate_cap > 0 && r > rate_cap) r = rate_cap;
    if (r < SLOTS_RATE_MIN) r = SLOTS_RATE_MIN;
    return r;
}

static int member_cmp(const struct slots_member *a, const struct slots_member *b)
{
    if (a->id != b->id) return a->id < b->id ? -1 : 1;
    return strcmp(a->instance, b->instance);
}

void slots_plan_compute(const struct slots_member *m, int count, const struct slots_member *self,
                        int64_t budget_per_minute, int weight, double rate_cap,
                        struct slots_plan *out)
{
    int below = 0, n = 0, ip_n = 0;
    for (int i = 0; i < count; i++) {
        int c = member_cmp(&m[i], self);
        if (c == 0) continue; /* present or not, the instance counts itself once, below */
        n++;
        if (c < 0) below++;
        if (!strcmp(m[i].ip, self->ip)) ip_n++;
    }
    out->k = below;
    out->n = n + 1;
    out->ip_n = ip_n + 1;
    out->rate = slots_rate(budget_per_minute, weight, out->ip_n, rate_cap);
}

double slots_next_fire(const struct slots_plan *p, double now_s, double last_s, double min_gap_s)
{
    double phase = p->n > 0 ? (double)p->k / p->n : 0.0;
    /* Slot j fires at (j + phase) / rate; the first j with a time after now. */
    double j = floor(now_s * p->rate - phase) + 1.0;
    double t = (j + phase) / p->rate;
    while (t <= now_s)
        t = (++j + phase) / p->rate;
    if (last_s > 0) {
        while (t < last_s + min_gap_s)
            t = (++j + phase) / p->rate;
    }
    return t;
}

int slots_plan_equal(const struct slots_plan *a, const struct slots_plan *b)
{
    return a->k == b->k && a->n == b->n && a->ip_n == b->ip_n && a->rate == b->rate;
}
