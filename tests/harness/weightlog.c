/* weightlog: weight per IP and exchange minute from the simulator's request log (see weightlog.h).
 *
 * The log comes back in arrival order; entries are scanned once, so the gap is between
 * consecutive entries as the simulator logged them. */
#include "tests/harness/weightlog.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"

static void wl_minutes(struct th_wlstats *out, int64_t from_ms, int64_t to_ms)
{
    for (int64_t m = (from_ms + 59999) / 60000; (m + 1) * 60000 <= to_ms; m++) {
        if (out->nminutes == TH_WL_MINUTES) break;
        out->minute[out->nminutes++] = m;
    }
}

static void wl_add(struct th_wlstats *out, json_t *e, int64_t *last)
{
    int64_t t = json_integer_value(json_object_get(e, "t"));
    int64_t status = json_integer_value(json_object_get(e, "status"));
    out->requests++;
    if (status == 429 || status == 418) out->refused++;
    if (*last && t - *last > out->max_gap_ms) {
        out->max_gap_ms = t - *last;
        out->max_gap_at = t;
    }
    *last = t;
    for (int i = 0; i < out->nminutes; i++)
        if (t / 60000 == out->minute[i])
            out->weight[i] += json_integer_value(json_object_get(e, "weight"));
}

int th_wlstats(const char *sim_url, const char *ip, const char *path_part, int64_t from_ms,
               int64_t to_ms, struct th_wlstats *out)
{
    char url[512], *body = NULL;
    int64_t last = 0;
    memset(out, 0, sizeof *out);
    wl_minutes(out, from_ms, to_ms);
    snprintf(url, sizeof url, "%s/_sim/requests?since=%lld&limit=200000", sim_url,
             (long long)from_ms);
    if (th_http("GET", url, NULL, NULL, &body) != 200) {
        free(body);
        return -1;
    }
    json_t *log = json_loads(body, 0, NULL);
    free(body);
    if (!json_is_array(log)) {
        json_decref(log);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) {
        const char *eip = json_string_value(json_object_get(e, "ip"));
        const char *path = json_string_value(json_object_get(e, "path"));
        int64_t t = json_integer_value(json_object_get(e, "t"));
        if (t < from_ms || t > to_ms || !eip || !path) continue;
        if ((ip && strcmp(eip, ip) != 0) || (path_part && !strstr(path, path_part))) continue;
        wl_add(out, e, &last);
    }
    json_decref(log);
    return 0;
}

int64_t th_sim_time(const char *sim_url)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/fapi/v1/time", sim_url);
    int64_t t = -1;
    if (th_http("GET", url, NULL, NULL, &body) == 200) {
        json_t *j = json_loads(body, 0, NULL);
        if (json_is_integer(json_object_get(j, "serverTime")))
            t = json_integer_value(json_object_get(j, "serverTime"));
        json_decref(j);
    }
    free(body);
    return t;
}
