/* gate: the gateway's decision for one intent (see gate.h). */
#include "trader/gate.h"

#include <stdio.h>
#include <string.h>

#include "trader/sizing.h"

int gate_state_parse(const char *s, enum gate_state *out)
{
    if (!s || !s[0] || !strcmp(s, "ACTIVE"))
        *out = GATE_ACTIVE;
    else if (!strcmp(s, "REDUCING"))
        *out = GATE_REDUCING;
    else if (!strcmp(s, "HALTED"))
        *out = GATE_HALTED;
    else
        return -1;
    return 0;
}

struct dec gate_book_price(const struct gate_view *v, enum intent_side side)
{
    return side == INTENT_BUY ? v->bid : v->ask;
}

static int gate_deny(char *reason, const char *fmt, const char *arg)
{
    snprintf(reason, GATE_REASON_MAX, fmt, arg);
    return -1;
}

/* Nonzero when an order of qty on side shrinks the signed position amt (or is reduce-only). */
static int gate_shrinks(const struct intent *in, struct dec amt, struct dec qty)
{
    if (in->reduce) return 1;
    int s = dec_sign(amt);
    if (s == 0 || (s > 0) == (in->side == INTENT_BUY)) return 0;
    return dec_cmp(qty, dec_abs(amt)) <= 0;
}

/* The reference price of an order: its limit price, the book price, or for MARKET the side it
 * takes from. 0 when none is known. */
static int gate_ref_price(const struct intent *in, const struct gate_view *v, struct dec *out)
{
    if (in->has_price)
        *out = in->price;
    else if (!v->has_book)
        return 0;
    else if (in->book)
        *out = gate_book_price(v, in->side);
    else
        *out = in->side == INTENT_BUY ? v->ask : v->bid;
    return 1;
}

/* Sizes and checks the order; -1 with the reason when it cannot be sent. */
static int gate_size(const struct intent *in, const struct gate_view *v, struct gate_order *o,
                     char *reason)
{
    struct dec ref = {0, 0};
    int has_ref = gate_ref_price(in, v, &ref);
    o->market = in->type == INTENT_MARKET;
    if ((in->book || in->has_notional) && !has_ref) return gate_deny(reason, "%s", "NO_BOOK");
    o->price = o->market ? (struct dec){0, 0} : ref;
    if (in->has_notional) {
        struct size_plan plan;
        enum size_result r =
            size_notional(&v->filters, in->notional, ref, o->market, in->reduce, &plan);
        if (r != SIZE_OK) return gate_deny(reason, "SIZE_%s", size_result_name(r));
        if (plan.parts != 1) return gate_deny(reason, "%s", "SIZE_above_max_qty");
        o->qty = plan.qty[0];
    } else {
        o->qty = in->qty;
    }
    enum dec_check c = dec_check_order(&v->filters, has_ref ? ref : (struct dec){0, 0}, o->qty,
                                       o->market, in->reduce);
    if (c != DEC_CHECK_OK) {
        char code[16];
        snprintf(code, sizeof code, "%d", (int)c);
        return gate_deny(reason, "FILTER_%s", code);
    }
    return 0;
}

static int gate_check_order(const struct intent *in, const struct gate_view *v,
                            struct gate_order *out, char *reason)
{
    if (!v->has_filters) return gate_deny(reason, "%s", "SYMBOL_UNKNOWN");
    if (gate_size(in, v, out, reason) < 0) return -1;
    out->shrinks = gate_shrinks(in, v->pos_amt, out->qty);
    if (v->state == GATE_HALTED && !(in->reduce && intent_is_risk_class(in->cls)))
        return gate_deny(reason, "%s", "TRADING_HALTED");
    if (v->state == GATE_REDUCING && !out->shrinks)
        return gate_deny(reason, "%s", "TRADING_REDUCING");
    if (!out->shrinks && v->banned) return gate_deny(reason, "%s", "SYMBOL_BANNED");
    if (!out->shrinks && !v->tradable) return gate_deny(reason, "%s", "SYMBOL_NOT_TRADABLE");
    return 0;
}

/* An algo order is a risk process's reduce-only stop: it only takes risk away, so the trading
 * state and the bans never block it; its quantity and trigger must pass the filters. */
static int gate_check_algo(const struct intent *in, const struct gate_view *v,
                           struct gate_order *out, char *reason)
{
    if (!intent_is_risk_class(in->cls) || !in->reduce)
        return gate_deny(reason, "%s", "INVALID: algo orders are reduce-only, class sl hs kl");
    if (!v->has_filters) return gate_deny(reason, "%s", "SYMBOL_UNKNOWN");
    out->qty = in->qty;
    out->price = in->trigger;
    out->market = 1;
    out->shrinks = 1;
    enum dec_check c = dec_check_order(&v->filters, in->trigger, in->qty, 1, 1);
    if (c == DEC_CHECK_OK && dec_sign(v->filters.tick) > 0 &&
        !dec_is_multiple(in->trigger, v->filters.min_price, v->filters.tick))
        c = DEC_CHECK_PRICE_NOT_TICK;
    if (c != DEC_CHECK_OK) {
        char code[16];
        snprintf(code, sizeof code, "%d", (int)c);
        return gate_deny(reason, "FILTER_%s", code);
    }
    return 0;
}

int gate_check(const struct intent *in, const struct gate_view *v, struct gate_order *out,
               char *reason)
{
    memset(out, 0, sizeof(*out));
    reason[0] = '\0';
    if (v->max_age_ms > 0 && v->now_ms - in->t > v->max_age_ms)
        return gate_deny(reason, "%s", "INTENT_EXPIRED");
    switch (in->op) {
    case INTENT_CANCEL:
    case INTENT_CANCEL_ALL:
    case INTENT_CANCEL_ALGO:
        return 0; /* cancels always pass: they only take risk away */
    case INTENT_ALGO:
        return gate_check_algo(in, v, out, reason);
    case INTENT_LEVERAGE:
        return v->state == GATE_HALTED ? gate_deny(reason, "%s", "TRADING_HALTED") : 0;
    case INTENT_ORDER:
    default:
        return gate_check_order(in, v, out, reason);
    }
}
