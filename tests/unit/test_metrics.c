/* test_metrics: the Prometheus renderer (dash/metrics.h metrics_format) on hand-filled
 * snapshots: label values escaped (backslash, quote, newline), # HELP and # TYPE once per
 * family and before its samples, a family's samples together, counters and only counters
 * named *_total, no family without samples, times in seconds and money as the exact decimal
 * text of the struct dec (digits a double would lose), the trading state one-hot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/metrics.h"
#include "tests/harness/harness.h"
#include "tests/harness/testdec.h"

#define NAMES_MAX 128

/* The metric name of a sample line (up to '{' or ' '). */
static void line_name(const char *line, char *out, size_t cap)
{
    size_t n = strcspn(line, "{ \n");
    if (n >= cap) n = cap - 1;
    memcpy(out, line, n);
    out[n] = '\0';
}

static int seen_before(char names[][80], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

/* The structure rules of the text format, line by line; returns the number of families. */
static int check_structure(const char *text)
{
    static char names[NAMES_MAX][80];
    char cur[80] = "", help[80] = "", name[80], type[16];
    int n = 0, samples = 1;
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        CHECK(strchr(p, '\n') != NULL);
        if (!strncmp(p, "# HELP ", 7)) {
            CHECK(samples > 0); /* the previous family had samples */
            line_name(p + 7, help, sizeof help);
            CHECK(!seen_before(names, n, help));
            samples = 0;
        } else if (!strncmp(p, "# TYPE ", 7)) {
            CHECK(sscanf(p + 7, "%79s %15s", name, type) == 2);
            CHECK_EQ_STR(name, help); /* HELP then TYPE of the same family */
            CHECK(!strcmp(type, "gauge") || !strcmp(type, "counter"));
            size_t l = strlen(name);
            int total = l > 6 && !strcmp(name + l - 6, "_total");
            CHECK(total == !strcmp(type, "counter"));
            CHECK(!strncmp(name, "bfq_", 4));
            if (n < NAMES_MAX) snprintf(names[n++], sizeof names[0], "%s", name);
            snprintf(cur, sizeof cur, "%s", name);
        } else {
            line_name(p, name, sizeof name);
            CHECK_EQ_STR(name, cur); /* a sample of the family just declared */
            samples++;
        }
    }
    CHECK(samples > 0);
    return n;
}

static int has_line(const char *text, const char *line)
{
    const char *p = text;
    size_t n = strlen(line);
    while ((p = strstr(p, line))) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return 1;
        p += n;
    }
    fprintf(stderr, "# missing line: %s\n", line);
    return 0;
}

static void fill(struct metrics_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->nroles = 2;
    snprintf(s->roles[0].name, sizeof s->roles[0].name, "kline");
    s->roles[0].up = 2;
    s->roles[0].requests = 1000;
    s->roles[0].errors[ROLE_ERR_5XX] = 3;
    s->roles[0].errors[ROLE_ERR_429] = 1;
    s->roles[0].last_success_age_ms = 1234;
    snprintf(s->roles[1].name, sizeof s->roles[1].name, "trader");
    s->roles[1].up = 1;
    s->roles[1].last_success_age_ms = METRICS_NONE;
    s->nips = 1;
    snprintf(s->ips[0].ip, sizeof s->ips[0].ip, "127.0.0.2");
    s->ips[0].used = 120;
    s->ips[0].budget = 2160;
    s->ips[0].limit = 2400;
    s->nages = 2;
    snprintf(s->ages[0].kind, sizeof s->ages[0].kind, "ticks");
    s->ages[0].records = 10;
    s->ages[0].oldest_ms = 1500;
    s->ages[0].median_ms = -5; /* a clock ahead of ours */
    snprintf(s->ages[1].kind, sizeof s->ages[1].kind, "hot");
    s->ages[1].oldest_ms = s->ages[1].median_ms = METRICS_NONE;
}

static void fill_account(struct metrics_snapshot *s)
{
    struct metrics_account *a = &s->accounts[s->naccounts++];
    snprintf(a->name, sizeof a->name, "we\"ird\\acct\nx");
    for (int k = 0; k < METRICS_SOURCES; k++)
        a->source_age_ms[k] = METRICS_NONE;
    a->source_age_ms[2] = 250;
    a->positions = 3;
    a->priced = 2;
    a->has_money = 1;
    a->notional = th_dec("123456789.123456789"); /* 18 significant digits: not a double */
    a->upnl = th_dec("-0.000000000000000001");
    a->has_wallet = a->has_equity = 1;
    a->wallet = th_dec("100000");
    a->equity = th_dec("99999.9999999999999");
    a->open_orders = 4;
    a->state = 1; /* REDUCING */
    a->has_intents = 1;
    a->intents[METRICS_SENT] = 7;
    a->intents[METRICS_DUPLICATE] = 14;
}

static void test_full(void)
{
    struct metrics_snapshot *s = calloc(1, sizeof *s);
    size_t len = 0;
    fill(s);
    fill_account(s);
    s->bans = 2;
    s->alerts = 5;
    s->last_alert_ms = 1795688565544;
    s->scrape_ms = 3;
    char *t = metrics_format(s, &len);
    CHECK(t && len == strlen(t));
    if (!t) return;
    CHECK(check_structure(t) >= 20);
    CHECK(has_line(t, "bfq_instances{role=\"kline\"} 2"));
    CHECK(has_line(t, "bfq_instances{role=\"trader\"} 1"));
    CHECK(has_line(t, "bfq_requests_total{role=\"kline\"} 1000"));
    CHECK(!strstr(t, "bfq_requests_total{role=\"trader\"}")); /* never asks the exchange */
    CHECK(has_line(t, "bfq_errors_total{role=\"kline\",kind=\"5xx\"} 3"));
    CHECK(has_line(t, "bfq_errors_total{role=\"kline\",kind=\"transport\"} 0"));
    CHECK(has_line(t, "bfq_last_success_age_seconds{role=\"kline\"} 1.234"));
    CHECK(has_line(t, "bfq_weight_budget{ip=\"127.0.0.2\"} 2160"));
    CHECK(has_line(t, "bfq_weight_stopped{ip=\"127.0.0.2\"} 0"));
    CHECK(has_line(t, "bfq_data_age_seconds{kind=\"ticks\"} 1.500"));
    CHECK(has_line(t, "bfq_data_median_age_seconds{kind=\"ticks\"} -0.005"));
    CHECK(has_line(t, "bfq_data_records{kind=\"hot\"} 0"));
    CHECK(!strstr(t, "bfq_data_age_seconds{kind=\"hot\"}"));
    const char *acct = "account=\"we\\\"ird\\\\acct\\nx\"";
    char want[256];
    snprintf(want, sizeof want, "bfq_notional_usdt{%s} 123456789.123456789", acct);
    CHECK(has_line(t, want));
    snprintf(want, sizeof want, "bfq_upnl_usdt{%s} -0.000000000000000001", acct);
    CHECK(has_line(t, want));
    snprintf(want, sizeof want, "bfq_equity_usdt{%s} 99999.9999999999999", acct);
    CHECK(has_line(t, want));
    snprintf(want, sizeof want, "bfq_positions_unpriced{%s} 1", acct);
    CHECK(has_line(t, want));
    snprintf(want, sizeof want, "bfq_account_source_age_seconds{%s,source=\"userstream\"} 0.250",
             acct);
    CHECK(has_line(t, want));
    CHECK(!strstr(t, "source=\"account\"}"));
    snprintf(want, sizeof want, "bfq_trading_state{%s,state=\"REDUCING\"} 1", acct);
    CHECK(has_line(t, want));
    snprintf(want, sizeof want, "bfq_trading_state{%s,state=\"ACTIVE\"} 0", acct);
    CHECK(has_line(t, want));
    snprintf(want, sizeof want, "bfq_intents_total{%s,outcome=\"duplicate\"} 14", acct);
    CHECK(has_line(t, want));
    CHECK(has_line(t, "bfq_bans 2"));
    CHECK(has_line(t, "bfq_alerts 5"));
    CHECK(has_line(t, "bfq_last_alert_timestamp_seconds 1795688565.544"));
    CHECK(has_line(t, "# TYPE bfq_intents_total counter"));
    CHECK(!strstr(t, "\n\n"));
    free(t);
    free(s);
}

/* Nothing in Redis: the families without samples are left out, the rest is still valid. */
static void test_empty(void)
{
    struct metrics_snapshot *s = calloc(1, sizeof *s);
    char *t = metrics_format(s, NULL);
    CHECK(t != NULL);
    if (t) {
        CHECK(check_structure(t) == 4); /* bans, ban_all, alerts, scrape duration */
        CHECK(has_line(t, "bfq_ban_all 0"));
        CHECK(!strstr(t, "bfq_instances"));
        CHECK(!strstr(t, "bfq_last_alert_timestamp_seconds"));
    }
    free(t);
    free(s);
}

/* An account without an intent counter or money shows no such samples; unknown state text
 * shows every state at 0. */
static void test_partial(void)
{
    struct metrics_snapshot *s = calloc(1, sizeof *s);
    struct metrics_account *a = &s->accounts[s->naccounts++];
    snprintf(a->name, sizeof a->name, "main");
    for (int k = 0; k < METRICS_SOURCES; k++)
        a->source_age_ms[k] = METRICS_NONE;
    a->state = -1;
    a->has_wallet = 1;
    a->wallet = th_dec("12.50");
    char *t = metrics_format(s, NULL);
    CHECK(t != NULL);
    if (t) {
        check_structure(t);
        CHECK(has_line(t, "bfq_wallet_usdt{account=\"main\"} 12.5"));
        CHECK(!strstr(t, "bfq_equity_usdt"));
        CHECK(!strstr(t, "bfq_notional_usdt"));
        CHECK(!strstr(t, "bfq_intents_total"));
        CHECK(!strstr(t, "state=\"ACTIVE\"} 1") && !strstr(t, "state=\"HALTED\"} 1"));
        CHECK(has_line(t, "bfq_trading_state{account=\"main\",state=\"HALTED\"} 0"));
    }
    free(t);
    free(s);
}

int main(void)
{
    test_full();
    test_empty();
    test_partial();
    return th_done();
}
