/* faults: injected failures per path (see faults.h). */
#include "sim/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"latency", "5xx", "disconnect", "malformed",
                                         "truncated", "hang", "unsorted", "frozen",
                                         "429",     "418"};

struct fault {
    char path[128];
    enum fault_kind kind;
    int rate_ppm;
    int64_t ms;
    int64_t created_ms;
};

struct faults {
    struct fault v[FAULTS_MAX];
    int n;
    uint64_t rng;
};

struct faults *faults_new(uint64_t seed)
{
    struct faults *f = calloc(1, sizeof(*f));
    if (f) f->rng = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
    return f;
}

void faults_free(struct faults *f)
{
    free(f);
}

int faults_kind_parse(const char *name, enum fault_kind *out)
{
    for (int i = 0; i < (int)(sizeof(kind_names) / sizeof(kind_names[0])); i++)
        if (!strcmp(name, kind_names[i])) {
            *out = (enum fault_kind)i;
            return 0;
        }
    return -1;
}

int faults_add(struct faults *f, const char *path, enum fault_kind kind, int rate_ppm,
               int64_t ms, int64_t now_ms)
{
    struct fault *slot = NULL;
    for (int i = 0; i < f->n; i++)
        if (f->v[i].kind == kind && !strcmp(f->v[i].path, path)) slot = &f->v[i];
    if (!slot) {
        if (f->n >= FAULTS_MAX) return -1;
        slot = &f->v[f->n++];
    }
    snprintf(slot->path, sizeof(slot->path), "%s", path);
    slot->kind = kind;
    slot->rate_ppm = rate_ppm;
    slot->ms = ms;
    slot->created_ms = now_ms;
    return 0;
}

void faults_clear(struct faults *f)
{
    f->n = 0;
}

int faults_count(const struct faults *f)
{
    return f->n;
}

static uint64_t next_rand(struct faults *f)
{
    /* xorshift64* */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 2685821657736338717ULL;
}

static int matches(const struct fault *ft, const char *path)
{
    if (!strcmp(ft->path, "*")) return !strncmp(path, "/fapi/", 6);
    return !strcmp(ft->path, path);
}

void faults_apply(struct faults *f, const char *path, struct fault_effects *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < f->n; i++) {
        const struct fault *ft = &f->v[i];
        if (!matches(ft, path)) continue;
        if ((int)(next_rand(f) % 1000000) >= ft->rate_ppm) continue;
        switch (ft->kind) {
        case FAULT_LATENCY: out->latency_ms += ft->ms; break;
        case FAULT_5XX: out->fail_5xx = 1; break;
        case FAULT_DISCONNECT: out->disconnect = 1; break;
        case FAULT_MALFORMED: out->malformed = 1; break;
        case FAULT_TRUNCATED: out->truncated = 1; break;
        case FAULT_HANG: out->hang = 1; break;
        case FAULT_UNSORTED: out->unsorted = 1; break;
        case FAULT_FROZEN: out->frozen_at_ms = ft->created_ms; break;
        case FAULT_429:
        case FAULT_418:
            if (out->limited != 418) out->limited = ft->kind == FAULT_418 ? 418 : 429;
            out->limited_ms = ft->ms;
            break;
        }
    }
}

void faults_json(const struct faults *f, struct sbuf *out)
{
    sbuf_addc(out, '[');
    for (int i = 0; i < f->n; i++) {
        if (i) sbuf_addc(out, ',');
        sbuf_adds(out, "{\"path\":");
        sbuf_add_jstr(out, f->v[i].path);
        sbuf_adds(out, ",\"kind\":");
        sbuf_add_jstr(out, kind_names[f->v[i].kind]);
        sbuf_addf(out, ",\"rate\":%d.%06d,\"ms\":%lld}", f->v[i].rate_ppm / 1000000,
                  f->v[i].rate_ppm % 1000000, (long long)f->v[i].ms);
    }
    sbuf_addc(out, ']');
}
