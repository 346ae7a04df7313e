/* weightlog: the simulator's request log read back as what the weight budget is judged by.
 *
 * The tests and the benchmark of the per-IP weight budget need the same figures from one
 * simulator: the weight each IP spent in each full exchange minute, the longest silence between
 * two requests of one IP (a stalled collector), and how many answers were 429 or 418. They come
 * from GET /_sim/requests, whose times are the simulator's clock (the exchange clock). */
#ifndef BFQ_WEIGHTLOG_H
#define BFQ_WEIGHTLOG_H

#include <stdint.h>

#define TH_WL_MINUTES 16

struct th_wlstats {
    int64_t requests;           /* of the IP (and path), with t in [from, to] */
    int64_t refused;            /* 429 and 418 answers among them */
    int64_t max_gap_ms;         /* longest gap between two consecutive ones */
    int64_t max_gap_at;         /* exchange time the longest gap ended */
    int nminutes;               /* full exchange minutes inside [from, to] */
    int64_t minute[TH_WL_MINUTES], weight[TH_WL_MINUTES]; /* each one and its weight */
};

/* Reads sim_url's request log and fills out for requests from ip (NULL: every IP) whose path
 * contains path_part (NULL: every path), between from_ms and to_ms on the simulator's clock.
 * Returns 0, or -1 when the log could not be read. */
int th_wlstats(const char *sim_url, const char *ip, const char *path_part, int64_t from_ms,
               int64_t to_ms, struct th_wlstats *out);

/* The simulator's clock now (GET /fapi/v1/time), or -1. */
int64_t th_sim_time(const char *sim_url);

#endif
