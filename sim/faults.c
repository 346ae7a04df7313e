/* faults: injected failures per path (see faults.h). */
#include "sim/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"latency", "5xx",  "disconnect", "malformed",
                                         "truncated", "hang", "unsorted",   "frozen",
                                         "429",     "418",  "code",       "executed503",
                                         "algo_lag"};

/* Binance's messages (docs' error-code page) and HTTP statuses for the codes a gateway must
 * handle; reference §2. */
static const struct {
    int code, status;
    const char *msg;
} known_codes[] = {
    {-1000, 500, "An unknown error occured while processing the request."},
    {-1001, 503, "Internal error; unable to process your request. Please try again."},
    {-1003, 429, "Too many requests; current limit is 2400 requests per minute. Please use the "
                 "websocket for live updates to avoid polling the API."},
    {-1006, 503, "An unexpected response was received from the message bus. Execution status "
                 "unknown."},
    {-1007, 503, "Timeout waiting for response from backend server. Send status unknown; "
                 "execution status unknown."},
    {-1008, 503, "Request throttled by system-level protection. Reduce-only/close-position "
                 "orders are exempt. Please try again."},
    {-1015, 429, "Too many new orders."},
    {-2014, 401, "API-key format invalid."},
    {-2015, 401, "Invalid API-key, IP, or permissions for action."},
    {-2019, 400, "Margin is insufficient."},
    {-2021, 400, "Order would immediately trigger."},
    {-2022, 400, "ReduceOnly Order is rejected."},
    {-2027, 400, "Exceeded the maximum allowable position at current leverage."},
    {-4131, 400, "The counterparty's best price does not meet the PERCENT_PRICE filter limit."},
    {-4164, 400, "Order's notional must be no smaller than 5 (unless you choose reduce only)."},
};

struct fault {
    char path[128];
    enum fault_kind kind;
    int rate_ppm;
    int64_t ms;
    int64_t created_ms;
    int64_t left;       /* hits left; 0: unlimited */
    int64_t until_ms;   /* 0: no end */
    int code, status;
    char msg[FAULTS_MSG_MAX];
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

int faults_code_status(int code)
{
    for (size_t i = 0; i < sizeof known_codes / sizeof *known_codes; i++)
        if (known_codes[i].code == code) return known_codes[i].status;
    return 400;
}

const char *faults_code_msg(int code)
{
    for (size_t i = 0; i < sizeof known_codes / sizeof *known_codes; i++)
        if (known_codes[i].code == code) return known_codes[i].msg;
    return "An unknown error occured while processing the request.";
}

int faults_add(struct faults *f, const struct fault_spec *spec, int64_t now_ms)
{
    struct fault *slot = NULL;
    for (int i = 0; i < f->n; i++)
        if (f->v[i].kind == spec->kind && !strcmp(f->v[i].path, spec->path)) slot = &f->v[i];
    if (!slot) {
        if (f->n >= FAULTS_MAX) return -1;
        slot = &f->v[f->n++];
    }
    snprintf(slot->path, sizeof(slot->path), "%s", spec->path);
    slot->kind = spec->kind;
    slot->rate_ppm = spec->rate_ppm;
    slot->ms = spec->ms;
    slot->created_ms = now_ms;
    slot->left = spec->count > 0 ? spec->count : 0;
    slot->until_ms = spec->for_ms > 0 ? now_ms + spec->for_ms : 0;
    slot->code = spec->code;
    slot->status = spec->status > 0 ? spec->status : faults_code_status(spec->code);
    snprintf(slot->msg, sizeof slot->msg, "%s", spec->msg ? spec->msg : faults_code_msg(spec->code));
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

static void remove_at(struct faults *f, int i)
{
    memmove(&f->v[i], &f->v[i + 1], (size_t)(f->n - i - 1) * sizeof f->v[0]);
    f->n--;
}

static void effect(const struct fault *ft, struct fault_effects *out)
{
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
    case FAULT_CODE:
        out->code = ft->code;
        out->code_status = ft->status;
        snprintf(out->code_msg, sizeof out->code_msg, "%s", ft->msg);
        break;
    case FAULT_EXECUTED503: out->executed503 = 1; break;
    case FAULT_ALGO_LAG: out->algo_lag_ms = ft->ms; break;
    }
}

void faults_apply(struct faults *f, const char *path, int64_t now_ms, int exempt_1008,
                  struct fault_effects *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < f->n; i++) {
        struct fault *ft = &f->v[i];
        if (ft->until_ms && now_ms >= ft->until_ms) {
            remove_at(f, i--);
            continue;
        }
        if (!matches(ft, path)) continue;
        if (ft->kind == FAULT_CODE && ft->code == -1008 && exempt_1008) continue;
        if ((int)(next_rand(f) % 1000000) >= ft->rate_ppm) continue;
        effect(ft, out);
        if (ft->left && --ft->left == 0) remove_at(f, i--);
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
        sbuf_addf(out, ",\"rate\":%d.%06d,\"ms\":%lld,\"left\":%lld,\"until\":%lld",
                  f->v[i].rate_ppm / 1000000, f->v[i].rate_ppm % 1000000, (long long)f->v[i].ms,
                  (long long)f->v[i].left, (long long)f->v[i].until_ms);
        if (f->v[i].kind == FAULT_CODE) sbuf_addf(out, ",\"code\":%d", f->v[i].code);
        sbuf_addc(out, '}');
    }
    sbuf_addc(out, ']');
}
