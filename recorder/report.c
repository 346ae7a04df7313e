/* report: `bfq report`, PnL per UTC day or per symbol from the recorder's tables.
 *
 * Every figure is summed by MariaDB over DECIMAL columns (exact) and printed as the decimal
 * string it returns, trailing zeros trimmed: no double anywhere. Per row (a day or a symbol of
 * the window) and for the window, 1d, 7d, 30d and all: realized PnL, commission, commission net
 * of the rebate (commission * (1 - rebate), [report] rebate), funding (FUNDING_FEE income),
 * net = realized - commission_net + funding, volume (quote qty), trades, wins, losses, largest
 * loss. Then the reconciliation with the exchange's income history over the same window: the
 * income rows summed per type, and the trades' realized PnL and commission against the
 * REALIZED_PNL and COMMISSION income, with the differences shown, whatever they are, and
 * explained exactly by matching each income row to its fill (symbol, tradeId): the trades
 * whose income row is not recorded yet (the income history is read every [recorder]
 * income_every, the stream's fills at once, so the last fills of a run are ahead of it), the
 * income rows without a recorded fill, and the residual of the matched pairs (which must be 0).
 * A blocking one-shot command: it never runs on a role's loop. */
#include <jansson.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/decimal.h"
#include "core/timebase.h"
#include "recorder/db.h"
#include "recorder/recorder.h"

#define DAY_MS 86400000LL

#define REP_DAY "DATE_FORMAT(DATE('1970-01-01') + INTERVAL (time_ms DIV 86400000) DAY, '%Y-%m-%d')"

/* One SQL over trades and funding income, grouped by KEY (a column expression). Parameters:
 * rebate, rebate, account, from, to, account, from, to. */
#define REP_SQL(KEY)                                                                          \
    "SELECT k, SUM(n), SUM(vol), SUM(rp), SUM(comm), SUM(comm) * (1 - CAST(? AS DECIMAL(20,18))),"\
    " SUM(fund), SUM(rp) - SUM(comm) * (1 - CAST(? AS DECIMAL(20,18))) + SUM(fund), SUM(w),"   \
    " SUM(l), MIN(ll) FROM ("                                                                 \
    "SELECT " KEY " AS k, 1 AS n, quote_qty AS vol, realized_pnl AS rp, commission AS comm,"  \
    " 0 AS fund, realized_pnl > 0 AS w, realized_pnl < 0 AS l, LEAST(realized_pnl, 0) AS ll"  \
    " FROM trades WHERE account = ? AND time_ms >= ? AND time_ms < ? UNION ALL"               \
    " SELECT " KEY ", 0, 0, 0, 0, income, 0, 0, 0 FROM income WHERE account = ? AND"          \
    " time_ms >= ? AND time_ms < ? AND income_type = 'FUNDING_FEE') x GROUP BY k ORDER BY k"

static const char *const rep_cols[] = {"key",   "trades",  "volume", "realized_pnl",
                                       "commission", "commission_net", "funding", "net",
                                       "wins", "losses",  "largest_loss"};
#define REP_NCOLS 11

static const char *rep_income_sql =
    "SELECT income_type, SUM(income), COUNT(*) FROM income WHERE account = ? AND time_ms >= ?"
    " AND time_ms < ? GROUP BY income_type ORDER BY income_type";
static const char *rep_reconcile_sql =
    "SELECT t.rp, i.rp, i.rp - t.rp, t.c, i.c, i.c + t.c, i.total FROM"
    " (SELECT COALESCE(SUM(realized_pnl), 0) AS rp, COALESCE(SUM(commission), 0) AS c FROM trades"
    "  WHERE account = ? AND time_ms >= ? AND time_ms < ?) t,"
    " (SELECT COALESCE(SUM(CASE WHEN income_type = 'REALIZED_PNL' THEN income END), 0) AS rp,"
    "  COALESCE(SUM(CASE WHEN income_type = 'COMMISSION' THEN income END), 0) AS c,"
    "  COALESCE(SUM(income), 0) AS total FROM income"
    "  WHERE account = ? AND time_ms >= ? AND time_ms < ?) i";

/* One side of the reconciliation explained (parameters: account, type, from, to, account,
 * from, to, then account, type, from, to, account, from, to): per fill its income rows of TYPE
 * summed; the fills with a nonzero COL and none (count, sum, first time), the matched pairs'
 * residual income + SIGN * COL, and the income rows of TYPE without a fill (count, sum). */
#define REP_EXPLAIN_SQL(COL, SIGN)                                                            \
    "SELECT COUNT(CASE WHEN i.inc IS NULL AND t." COL " <> 0 THEN 1 END),"                    \
    " COALESCE(SUM(CASE WHEN i.inc IS NULL THEN t." COL " END), 0),"                           \
    " MIN(CASE WHEN i.inc IS NULL AND t." COL " <> 0 THEN t.time_ms END),"                     \
    " COALESCE(SUM(CASE WHEN i.inc IS NOT NULL THEN i.inc " SIGN " t." COL " END), 0),"        \
    " (SELECT COUNT(*) FROM income u WHERE u.account = ? AND u.income_type = ? AND"            \
    "  u.time_ms >= ? AND u.time_ms < ? AND NOT EXISTS (SELECT 1 FROM trades v WHERE"          \
    "  v.account = ? AND v.symbol = u.symbol AND v.trade_id = u.trade_id AND v.time_ms >= ?"   \
    "  AND v.time_ms < ?)),"                                                                   \
    " (SELECT COALESCE(SUM(u.income), 0) FROM income u WHERE u.account = ? AND"                \
    "  u.income_type = ? AND u.time_ms >= ? AND u.time_ms < ? AND NOT EXISTS (SELECT 1 FROM"   \
    "  trades v WHERE v.account = ? AND v.symbol = u.symbol AND v.trade_id = u.trade_id AND"   \
    "  v.time_ms >= ? AND v.time_ms < ?))"                                                     \
    " FROM trades t LEFT JOIN (SELECT symbol, trade_id, SUM(income) AS inc FROM income"        \
    "  WHERE account = ? AND income_type = ? AND time_ms >= ? AND time_ms < ?"                 \
    "  AND trade_id IS NOT NULL GROUP BY symbol, trade_id) i"                                  \
    "  ON i.symbol = t.symbol AND i.trade_id = t.trade_id"                                     \
    " WHERE t.account = ? AND t.time_ms >= ? AND t.time_ms < ?"

struct rep {
    struct st_mysql *m;
    const char *account, *rebate, *by, *format;
    int64_t from, to, now;
    char err[DB_ERR_MAX];
};

static json_t *rep_str(const json_t *row, size_t i)
{
    char buf[96];
    dec_trim_text(json_string_value(json_array_get(row, i)), buf, sizeof buf);
    return json_string(buf);
}

/* One aggregated row as an object (counts as integers, money as trimmed decimal strings). */
static json_t *rep_obj(const json_t *row)
{
    json_t *o = json_object();
    for (size_t i = 1; i < REP_NCOLS; i++) {
        if (i == 1 || i == 8 || i == 9) {
            const char *v = json_string_value(json_array_get(row, i));
            json_object_set_new(o, rep_cols[i], json_integer(v ? strtoll(v, NULL, 10) : 0));
        } else {
            json_object_set_new(o, rep_cols[i], rep_str(row, i));
        }
    }
    return o;
}

static json_t *rep_rows(struct rep *p, const char *sql, int64_t from, int64_t to)
{
    char f[24], t[24];
    snprintf(f, sizeof f, "%lld", (long long)from);
    snprintf(t, sizeof t, "%lld", (long long)to);
    const char *v[] = {p->rebate, p->rebate, p->account, f, t, p->account, f, t};
    return db_query_once(p->m, sql, 8, v, p->err, sizeof p->err);
}

/* The window's total, or a zero row when there is nothing. */
static json_t *rep_total(struct rep *p, int64_t from, int64_t to)
{
    json_t *rows = rep_rows(p, REP_SQL("'total'"), from, to), *o;
    if (!rows) return NULL;
    if (json_array_size(rows)) {
        o = rep_obj(json_array_get(rows, 0));
    } else {
        json_t *zero = json_pack("[s,s,s,s,s,s,s,s,s,s,s]", "total", "0", "0", "0", "0", "0",
                                 "0", "0", "0", "0", "0");
        o = rep_obj(zero);
        json_decref(zero);
    }
    json_decref(rows);
    return o;
}

/* Why the trades' COL and the income of TYPE differ: {"pending_trades": n, "pending": sum,
 * "pending_from": ms (only when n > 0), "unmatched_income_rows": n, "unmatched_income": sum,
 * "residual": sum}; difference = residual + SIGN * pending + unmatched_income. NULL with err. */
static json_t *rep_explain(struct rep *p, const char *sql, const char *type)
{
    char f[24], t[24];
    snprintf(f, sizeof f, "%lld", (long long)p->from);
    snprintf(t, sizeof t, "%lld", (long long)p->to);
    const char *a = p->account;
    const char *v[] = {a, type, f, t, a, f, t, a, type, f, t, a, f, t, a, type, f, t, a, f, t};
    json_t *rows = db_query_once(p->m, sql, 21, v, p->err, sizeof p->err), *out = NULL;
    const json_t *row = json_array_get(rows, 0);
    if (row) {
        const char *n = json_string_value(json_array_get(row, 0));
        const char *un = json_string_value(json_array_get(row, 4));
        const char *from = json_string_value(json_array_get(row, 2));
        out = json_pack("{s:I,s:o,s:I,s:o,s:o}", "pending_trades",
                        (json_int_t)(n ? strtoll(n, NULL, 10) : 0), "pending", rep_str(row, 1),
                        "unmatched_income_rows", (json_int_t)(un ? strtoll(un, NULL, 10) : 0),
                        "unmatched_income", rep_str(row, 5), "residual", rep_str(row, 3));
        if (from) json_object_set_new(out, "pending_from", json_integer(strtoll(from, NULL, 10)));
    }
    json_decref(rows);
    return out;
}

static json_t *rep_income(struct rep *p)
{
    char f[24], t[24];
    snprintf(f, sizeof f, "%lld", (long long)p->from);
    snprintf(t, sizeof t, "%lld", (long long)p->to);
    const char *v[] = {p->account, f, t, p->account, f, t};
    json_t *types = db_query_once(p->m, rep_income_sql, 3, v, p->err, sizeof p->err);
    json_t *rec = types ? db_query_once(p->m, rep_reconcile_sql, 6, v, p->err, sizeof p->err)
                        : NULL;
    json_t *out = NULL, *by = json_object(), *row;
    size_t i;
    long long n = 0;
    if (!types || !rec || json_array_size(rec) != 1) goto done;
    json_array_foreach(types, i, row) {
        json_object_set_new(by, json_string_value(json_array_get(row, 0)), rep_str(row, 1));
        n += strtoll(json_string_value(json_array_get(row, 2)), NULL, 10);
    }
    row = json_array_get(rec, 0);
    json_t *er = rep_explain(p, REP_EXPLAIN_SQL("realized_pnl", "-"), "REALIZED_PNL");
    json_t *ec = er ? rep_explain(p, REP_EXPLAIN_SQL("commission", "+"), "COMMISSION") : NULL;
    if (!ec) {
        json_decref(er);
        goto done;
    }
    json_t *dr = rep_str(row, 2), *dc = rep_str(row, 5);
    int ok = !strcmp(json_string_value(dr), "0") && !strcmp(json_string_value(dc), "0");
    /* explained: every difference is fills ahead of their income rows (or income rows
     * without a fill), and every matched pair agrees exactly */
    int explained = !strcmp(json_string_value(json_object_get(er, "residual")), "0") &&
                    !strcmp(json_string_value(json_object_get(ec, "residual")), "0");
    out = json_pack("{s:O,s:o,s:I,s:{s:{s:o,s:o,s:o,s:o},s:{s:o,s:o,s:o,s:o},s:b,s:b}}",
                    "by_type", by, "total", rep_str(row, 6), "rows", (json_int_t)n, "reconcile",
                    "realized_pnl", "trades", rep_str(row, 0), "income", rep_str(row, 1), "diff",
                    dr, "why", er, "commission", "trades", rep_str(row, 3), "income",
                    rep_str(row, 4), "diff", dc, "why", ec, "ok", ok, "explained", explained);
done:
    json_decref(by);
    json_decref(types);
    json_decref(rec);
    return out;
}

json_t *report_group(struct st_mysql *m, const char *account, const char *by,
                     const char *rebate, int64_t from, int64_t to, char *err, size_t cap)
{
    struct rep p = {.m = m, .account = account, .rebate = rebate, .by = by};
    int sym = !strcmp(by, "symbol");
    json_t *rows = rep_rows(&p, sym ? REP_SQL("symbol") : REP_SQL(REP_DAY), from, to), *row;
    json_t *list;
    size_t i;
    if (!rows) {
        snprintf(err, cap, "%s", p.err);
        return NULL;
    }
    list = json_array();
    json_array_foreach(rows, i, row) {
        json_t *o = rep_obj(row);
        json_object_set_new(o, sym ? "symbol" : "day", json_copy(json_array_get(row, 0)));
        json_array_append_new(list, o);
    }
    json_decref(rows);
    return list;
}

static json_t *rep_build(struct rep *p)
{
    static const struct { const char *name; int64_t days; } periods[] = {
        {"1d", 1}, {"7d", 7}, {"30d", 30}, {"all", 0}};
    json_t *list = report_group(p->m, p->account, p->by, p->rebate, p->from, p->to, p->err,
                                sizeof p->err);
    json_t *total = list ? rep_total(p, p->from, p->to) : NULL;
    json_t *income = total ? rep_income(p) : NULL;
    json_t *per = json_object(), *out = NULL;
    if (!income) goto done;
    for (size_t k = 0; k < 4; k++) {
        int64_t from = periods[k].days ? p->now - periods[k].days * DAY_MS : 0;
        json_t *t = rep_total(p, from, p->now + 1);
        if (!t) goto done;
        json_object_set_new(per, periods[k].name, t);
    }
    out = json_pack("{s:s,s:I,s:I,s:s,s:s,s:O,s:O,s:O,s:O}", "account", p->account, "from",
                    (json_int_t)p->from, "to", (json_int_t)p->to, "by", p->by, "rebate",
                    p->rebate, "rows", list, "total", total, "periods", per, "income", income);
done:
    json_decref(total);
    json_decref(income);
    json_decref(per);
    json_decref(list);
    return out;
}

/* ---- output ------------------------------------------------------------------------------ */

static void rep_line(FILE *f, const json_t *o, const char *key, int csv)
{
    if (csv) fprintf(f, "%s", key);
    else fprintf(f, "%-12s", key);
    for (size_t i = 1; i < REP_NCOLS; i++) {
        const json_t *v = json_object_get(o, rep_cols[i]);
        char buf[96];
        if (json_is_integer(v)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else snprintf(buf, sizeof buf, "%s", json_string_value(v) ? json_string_value(v) : "");
        if (csv) fprintf(f, ",%s", buf);
        else fprintf(f, " %*s", i == 1 || i == 8 || i == 9 ? 7 : 16, buf);
    }
    fputc('\n', f);
}

static void rep_header(FILE *f, int csv)
{
    if (csv) fprintf(f, "key");
    else fprintf(f, "%-12s", "");
    for (size_t i = 1; i < REP_NCOLS; i++) {
        if (csv) fprintf(f, ",%s", rep_cols[i]);
        else fprintf(f, " %*s", i == 1 || i == 8 || i == 9 ? 7 : 16,
                     i == 5 ? "comm_net" : i == 10 ? "largest_loss" : rep_cols[i]);
    }
    fputc('\n', f);
}

static void rep_print(const json_t *r, const char *format, const char *by)
{
    const char *kname = strcmp(by, "symbol") ? "day" : "symbol", *name;
    int csv = !strcmp(format, "csv");
    size_t i;
    json_t *o, *v;
    if (!strcmp(format, "json")) {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) puts(s);
        free(s);
        return;
    }
    rep_header(stdout, csv);
    json_array_foreach(json_object_get(r, "rows"), i, o)
        rep_line(stdout, o, json_string_value(json_object_get(o, kname)), csv);
    rep_line(stdout, json_object_get(r, "total"), "total", csv);
    if (csv) return;
    printf("\n");
    json_object_foreach(json_object_get(r, "periods"), name, o) rep_line(stdout, o, name, 0);
    const json_t *inc = json_object_get(r, "income"), *rc = json_object_get(inc, "reconcile");
    printf("\nincome history over the window: %lld rows, total %s\n",
           (long long)json_integer_value(json_object_get(inc, "rows")),
           json_string_value(json_object_get(inc, "total")));
    json_object_foreach(json_object_get(inc, "by_type"), name, v)
        printf("  %-24s %s\n", name, json_string_value(v));
    for (int k = 0; k < 2; k++) {
        const char *what = k ? "commission" : "realized_pnl";
        const json_t *x = json_object_get(rc, what);
        const json_t *why = json_object_get(x, "why");
        printf("reconcile %-13s trades %s, income %s, difference %s\n", what,
               json_string_value(json_object_get(x, "trades")),
               json_string_value(json_object_get(x, "income")),
               json_string_value(json_object_get(x, "diff")));
        if (!strcmp(json_string_value(json_object_get(x, "diff")), "0")) continue;
        /* difference = residual + (commission: +, realized: -) pending + unmatched income */
        char part[DEC_STR_MAX] = "?";
        struct dec pd;
        if (dec_parse(json_string_value(json_object_get(why, "pending")), (size_t)-1, &pd) ==
            DEC_OK)
            dec_format_trim(k ? pd : dec_neg(pd), part, sizeof part);
        printf("  = fills without their %s income row yet: %lld (%s)",
               k ? "COMMISSION" : "REALIZED_PNL",
               (long long)json_integer_value(json_object_get(why, "pending_trades")), part);
        if (json_is_integer(json_object_get(why, "pending_from"))) {
            time_t ts = (time_t)(json_integer_value(json_object_get(why, "pending_from")) / 1000);
            struct tm tm;
            char when[32];
            gmtime_r(&ts, &tm);
            strftime(when, sizeof when, "%H:%M:%S", &tm);
            printf(", from %s UTC on: the income history is read every [recorder] income_every", when);
        }
        printf("\n  + income rows without a recorded fill: %lld (%s)\n  + residual of matched"
               " fills: %s\n", (long long)json_integer_value(json_object_get(why,
               "unmatched_income_rows")), json_string_value(json_object_get(why,
               "unmatched_income")), json_string_value(json_object_get(why, "residual")));
    }
}

/* ---- the command ------------------------------------------------------------------------- */

/* "YYYY-MM-DD" -> ms of that UTC midnight; -1 when it is not a date. */
static int64_t rep_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    if (!end || *end) return -1;
    return (int64_t)timegm(&tm) * 1000;
}

static int rep_window(struct rep *p, struct config *cfg, char *err, size_t cap)
{
    const char *from = NULL, *to = NULL;
    int64_t days = 0;
    if (config_str(cfg, "report", "from", NULL, &from) < 0 ||
        config_str(cfg, "report", "to", NULL, &to) < 0 ||
        config_int(cfg, "report", "days", 7, 1, 100000, &days) < 0) {
        snprintf(err, cap, "%s", config_errstr(cfg));
        return -1;
    }
    p->from = p->now / DAY_MS * DAY_MS - (days - 1) * DAY_MS;
    p->to = p->now + 1;
    if (from && (p->from = rep_date(from)) < 0) {
        snprintf(err, cap, "--from: want YYYY-MM-DD");
        return -1;
    }
    if (to && (p->to = rep_date(to)) < 0) {
        snprintf(err, cap, "--to: want YYYY-MM-DD");
        return -1;
    }
    if (to) p->to += DAY_MS; /* --to is inclusive */
    return 0;
}

static int rep_options(struct rep *p, struct config *cfg, char *err, size_t cap)
{
    int json = 0, csv = 0;
    if (config_str(cfg, "report", "account", "main", &p->account) < 0 ||
        config_str(cfg, "report", "rebate", "0", &p->rebate) < 0 ||
        config_str(cfg, "report", "by", "day", &p->by) < 0 ||
        config_bool(cfg, "report", "json", 0, &json) < 0 ||
        config_bool(cfg, "report", "csv", 0, &csv) < 0) {
        snprintf(err, cap, "%s", config_errstr(cfg));
        return -1;
    }
    if (strcmp(p->by, "day") && strcmp(p->by, "symbol")) {
        snprintf(err, cap, "--by: day or symbol");
        return -1;
    }
    if (strspn(p->rebate, "0123456789.") != strlen(p->rebate) || !*p->rebate) {
        snprintf(err, cap, "[report] rebate: a decimal between 0 and 1");
        return -1;
    }
    p->format = json ? "json" : csv ? "csv" : "text";
    return rep_window(p, cfg, err, cap);
}

static const struct cli_option report_options[] = {
    {"mysql", "URL", "mysql", "url", "mysql://user:pass@host:port/db[?socket=PATH]", 0},
    {"account", "NAME", NULL, NULL, "the account (main)", 0},
    {"days", "N", NULL, NULL, "the last N UTC days, today included (7)", 0},
    {"from", "YYYY-MM-DD", NULL, NULL, "first UTC day of the window", 0},
    {"to", "YYYY-MM-DD", NULL, NULL, "last UTC day of the window (inclusive)", 0},
    {"by", "day|symbol", NULL, NULL, "one row per UTC day (default) or per symbol", 0},
    {"rebate", "FACTOR", NULL, NULL, "commission rebate, 0..1 (commission_net = c * (1 - F))", 0},
    {"json", NULL, NULL, NULL, "JSON output", 0},
    {"csv", NULL, NULL, NULL, "CSV output", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command report_cli = {
    .name = "report",
    .summary = "daily and per-symbol PnL, commission, funding, volume; text, JSON, CSV",
    .usage = "Reads the recorder's tables ([mysql] url, a read-only user is enough) and\n"
             "reconciles the totals with the recorded income history of the same window.\n",
    .options = report_options,
    .role_options = 1,
};

int report_main(int argc, char **argv)
{
    struct config *cfg = NULL;
    struct rep p = {0};
    struct db_url u;
    const char *url = NULL;
    char err[DB_ERR_MAX] = "";
    json_t *r = NULL;
    enum cli_result cr = cli_parse(&report_cli, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    p.now = timebase_wall_ms();
    if (config_required(cfg, "mysql", "url", &url) < 0) snprintf(err, sizeof err, "%s", config_errstr(cfg));
    if (!err[0] && db_parse_url(url, &u, err, sizeof err) == 0 &&
        rep_options(&p, cfg, err, sizeof err) == 0 && (p.m = db_connect(&u, 10, err, sizeof err))) {
        r = rep_build(&p);
        if (!r) snprintf(err, sizeof err, "%s", p.err);
    }
    if (r) rep_print(r, p.format, p.by);
    else fprintf(stderr, "bfq report: %s\n", err);
    json_decref(r);
    if (p.m) mysql_close(p.m);
    config_free(cfg);
    return r ? 0 : 1;
}
