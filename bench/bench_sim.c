/* bench_sim: REST answers per second of `bfq sim` on its one core.
 *
 * Starts a simulator (200 symbols, no weight limit to speak of) and drives it with CONNS
 * keep-alive connections from one libcurl multi handle for SECONDS seconds per endpoint:
 * the all-symbol bookTicker (the tick collectors' request) and klines limit 45 (the kline
 * collectors' request). Prints answers per second and the ratio to the 5000/s the simulator
 * must sustain so it never limits the other benchmarks. Not a test: it always exits 0 unless
 * the simulator fails to start or answers wrongly. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"

#define CONNS 8
#define SECONDS 3
#define TARGET 5000.0

struct slot {
    CURL *h;
    size_t bytes;
};

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    ((struct slot *)arg)->bytes += sz * n;
    return sz * n;
}

static void arm(CURLM *m, struct slot *s, const char *url)
{
    curl_multi_remove_handle(m, s->h);
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
    curl_multi_add_handle(m, s->h);
}

/* Returns answers per second, or -1 on a failed answer. */
static double run(const char *url)
{
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)CONNS);
    struct slot slots[CONNS];
    memset(slots, 0, sizeof(slots));
    for (int i = 0; i < CONNS; i++) {
        slots[i].h = curl_easy_init();
        arm(m, &slots[i], url);
    }
    long long done = 0, failed = 0;
    int64_t start = th_now_ms(), end = start + SECONDS * 1000;
    int running = 1;
    while (th_now_ms() < end) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code != 200) failed++;
            else done++;
            for (int i = 0; i < CONNS; i++)
                if (slots[i].h == msg->easy_handle) arm(m, &slots[i], url);
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = (double)(th_now_ms() - start) / 1000.0;
    size_t bytes = 0;
    for (int i = 0; i < CONNS; i++) {
        bytes += slots[i].bytes;
        curl_multi_remove_handle(m, slots[i].h);
        curl_easy_cleanup(slots[i].h);
    }
    curl_multi_cleanup(m);
    printf("  %lld answers in %.2f s, %.0f KiB/answer, %lld failed\n", done, secs,
           done ? (double)bytes / (double)done / 1024.0 : 0.0, failed);
    return failed ? -1 : (double)done / secs;
}

int main(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "200", "--weight-limit", "1000000000", "--log-level", "warn", NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (th_sim_start(&s, args)) {
        fprintf(stderr, "bench_sim: simulator did not start\n");
        return 1;
    }
    char url[256];
    int rc = 0;
    snprintf(url, sizeof(url), "%s/fapi/v1/ticker/bookTicker", s.url);
    printf("bfq sim, %d keep-alive connections, %d s per endpoint\n", CONNS, SECONDS);
    printf("all-symbol bookTicker (205 symbols):\n");
    double a = run(url);
    printf("  %.0f answers/s (%.2fx of %.0f)\n", a, a / TARGET, TARGET);
    snprintf(url, sizeof(url), "%s/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=45", s.url);
    printf("klines 1m limit 45:\n");
    double k = run(url);
    printf("  %.0f answers/s (%.2fx of %.0f)\n", k, k / TARGET, TARGET);
    if (a < 0 || k < 0) rc = 1;
    th_sim_stop(&s);
    curl_global_cleanup();
    return rc;
}
