/* test_sim_util: HTTP helpers shared by the simulator's integration tests.
 *
 * th_http cannot send X-MBX-APIKEY nor show answer headers; these helpers can, with libcurl
 * easy handles. simq_signed builds a SIGNED request the way Binance documents it (query +
 * body, HMAC-SHA256 with binance_sign, signature last). Header-only: each test includes it
 * once. */
#ifndef BFQ_TEST_SIM_UTIL_H
#define BFQ_TEST_SIM_UTIL_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/binance.h"
#include "tests/harness/harness.h"

struct simresp {
    long status;
    char *body;          /* malloc'd, NUL-terminated */
    size_t len;
    long long used_weight, retry_after, oc10s, oc1m; /* -1 when the header was absent */
};

static size_t simq_write(char *p, size_t sz, size_t n, void *arg)
{
    struct simresp *r = arg;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    if (!nb) return 0;
    memcpy(nb + r->len, p, sz * n);
    r->body = nb;
    r->len += sz * n;
    nb[r->len] = '\0';
    return sz * n;
}

static long long simq_hval(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) || line[k] != ':') return -2;
    return strtoll(line + k + 1, NULL, 10);
}

static size_t simq_header(char *p, size_t sz, size_t n, void *arg)
{
    struct simresp *r = arg;
    size_t len = sz * n;
    long long v = simq_hval(p, len, "X-MBX-USED-WEIGHT-1M");
    if (v != -2) r->used_weight = v;
    v = simq_hval(p, len, "Retry-After");
    if (v != -2) r->retry_after = v;
    v = simq_hval(p, len, "X-MBX-ORDER-COUNT-10S");
    if (v != -2) r->oc10s = v;
    v = simq_hval(p, len, "X-MBX-ORDER-COUNT-1M");
    if (v != -2) r->oc1m = v;
    return len;
}

__attribute__((unused)) static void simresp_free(struct simresp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* One request: url is complete; body (form) may be NULL; apikey/source_ip may be NULL.
 * timeout_ms 0 means 5 s. Returns the status (0 on transport failure or timeout). */
__attribute__((unused)) static long simq(const char *method, const char *url, const char *body, const char *apikey,
                 const char *source_ip, int timeout_ms, struct simresp *r)
{
    memset(r, 0, sizeof(*r));
    r->used_weight = r->retry_after = r->oc10s = r->oc1m = -1;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char hk[256];
    if (apikey) {
        snprintf(hk, sizeof(hk), "X-MBX-APIKEY: %s", apikey);
        h = curl_slist_append(h, hk);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (h) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (source_ip) curl_easy_setopt(c, CURLOPT_INTERFACE, source_ip);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, simq_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, simq_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 5000));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (!r->body) r->body = calloc(1, 1);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r->status;
}

/* A SIGNED request: query and body get timestamp (now + ts_shift_ms) appended to the part
 * that carries the signature (the body when body != NULL), then signature. */
__attribute__((unused)) static long simq_signed(const struct th_sim *s, const char *method, const char *path,
                        const char *query, const char *body, const char *apikey,
                        const char *secret, long long ts_shift_ms, struct simresp *r)
{
    char q[4096], b[4096], msg[8192], sig[65], url[8192];
    long long ts = (long long)th_now_ms() + ts_shift_ms;
    if (body) {
        snprintf(q, sizeof(q), "%s", query ? query : "");
        snprintf(b, sizeof(b), "%s%stimestamp=%lld", body, *body ? "&" : "", ts);
    } else {
        snprintf(q, sizeof(q), "%s%stimestamp=%lld", query ? query : "", query && *query ? "&" : "", ts);
        b[0] = '\0';
    }
    snprintf(msg, sizeof(msg), "%s%s", q, b);
    binance_sign(secret, msg, strlen(msg), sig);
    if (body) {
        size_t n = strlen(b);
        snprintf(b + n, sizeof(b) - n, "&signature=%s", sig);
        snprintf(url, sizeof(url), "%s%s%s%s", s->url, path, *q ? "?" : "", q);
    } else {
        snprintf(url, sizeof(url), "%s%s?%s&signature=%s", s->url, path, q, sig);
    }
    return simq(method, url, body ? b : NULL, apikey, NULL, 0, r);
}

#endif
