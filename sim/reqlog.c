/* reqlog: fixed ring of recent requests (see reqlog.h). */
#include "sim/reqlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reqlog_entry {
    int64_t t;
    char ip[40];
    char method[8];
    char path[48];
    int weight;
    int status;
};

struct reqlog {
    struct reqlog_entry *e; /* REQLOG_CAP entries */
    int64_t total;          /* entries ever added */
};

struct reqlog *reqlog_new(void)
{
    struct reqlog *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->e = calloc(REQLOG_CAP, sizeof(*r->e));
    if (!r->e) {
        free(r);
        return NULL;
    }
    return r;
}

void reqlog_free(struct reqlog *r)
{
    if (!r) return;
    free(r->e);
    free(r);
}

void reqlog_add(struct reqlog *r, int64_t t_ms, const char *ip, const char *method,
                const char *path, int weight, int status)
{
    struct reqlog_entry *e = &r->e[r->total % REQLOG_CAP];
    e->t = t_ms;
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    snprintf(e->method, sizeof(e->method), "%s", method);
    snprintf(e->path, sizeof(e->path), "%s", path);
    e->weight = weight;
    e->status = status;
    r->total++;
}

void reqlog_json(const struct reqlog *r, int64_t since_ms, int limit, struct sbuf *out)
{
    int64_t n = r->total < REQLOG_CAP ? r->total : REQLOG_CAP;
    int64_t first = r->total - n;
    /* entries are in time order except after a clock shift; scan all that qualify */
    int64_t start = first, count = 0;
    for (int64_t i = r->total - 1; i >= first; i--) {
        if (r->e[i % REQLOG_CAP].t < since_ms) continue;
        if (limit > 0 && count >= limit) break;
        count++;
        start = i;
    }
    sbuf_addc(out, '[');
    int sep = 0;
    for (int64_t i = start; i < r->total && count > 0; i++) {
        const struct reqlog_entry *e = &r->e[i % REQLOG_CAP];
        if (e->t < since_ms) continue;
        if (sep) sbuf_addc(out, ',');
        sep = 1;
        sbuf_adds(out, "{\"t\":");
        sbuf_addi(out, e->t);
        sbuf_adds(out, ",\"ip\":");
        sbuf_add_jstr(out, e->ip);
        sbuf_adds(out, ",\"method\":");
        sbuf_add_jstr(out, e->method);
        sbuf_adds(out, ",\"path\":");
        sbuf_add_jstr(out, e->path);
        sbuf_adds(out, ",\"weight\":");
        sbuf_addi(out, e->weight);
        sbuf_adds(out, ",\"status\":");
        sbuf_addi(out, e->status);
        sbuf_addc(out, '}');
    }
    sbuf_addc(out, ']');
}
