/* intent: an order intent as it travels on bfq:intents:<acct> (pure, no I/O).
 *
 * Fields (DESIGN.md, all strings in the stream entry):
 *   id       the intent id: [A-Za-z0-9.:/_-]{1,32}; replicated traders derive the same id for
 *            the same signal (intent_derive_id), so the gateway sends it once
 *   op       order | cancel | cancel_all | leverage | algo | cancel_algo
 *            (algo: a conditional STOP_MARKET through the Algo Order API, reduce-only, of a
 *            risk class sl hs kl; cancel_algo: orig is the clientAlgoId to cancel)
 *   sym      symbol
 *   side     BUY | SELL                      (order)
 *   type     LIMIT | MARKET                  (order; default LIMIT when a price or book is given)
 *   tif      GTC | IOC | FOK | GTX           (LIMIT; default GTC)
 *   qty      decimal, or notional: decimal in the quote asset (the gateway sizes it)
 *   price    decimal, or book: 1 = the best bid (BUY) or ask (SELL) when sent
 *   reduce   0 | 1                           (reduce-only)
 *   class    client order id class: mo to mc tc cv sl hs kl mn (DESIGN.md)
 *   reprice  how many times a GTX order answered -5022 is re-priced at the book (0..5)
 *   fallback taker | none: after the re-prices, send it as MARKET (class mo -> to, mc -> tc)
 *   trigger  decimal: the algo order's triggerPrice   (algo)
 *   working  MARK_PRICE (default) | CONTRACT_PRICE: the algo order's workingType
 *   orig     client order id to cancel (op cancel; without it: every order of sym, cancel_all)
 *   leverage integer 1..125                  (op leverage)
 *   src      who asked (trader instance, "manual", ...)
 *   t        wall ms when asked; the gateway denies intents older than its max age
 * The client order id is "<class>_<id>" (at most 36 characters). */
#ifndef BFQ_INTENT_H
#define BFQ_INTENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"

#define INTENT_ID_MAX 33 /* 32 characters and NUL: "<class>_<id>" stays within 36 */
#define INTENT_SYM_MAX 32
#define INTENT_SRC_MAX 64
#define INTENT_CID_MAX 40
#define INTENT_FIELDS_MAX 40 /* argv entries intent_to_fields may write */

enum intent_op {
    INTENT_ORDER,
    INTENT_CANCEL,
    INTENT_CANCEL_ALL,
    INTENT_LEVERAGE,
    INTENT_ALGO,
    INTENT_CANCEL_ALGO
};
enum intent_side { INTENT_BUY, INTENT_SELL };
enum intent_type { INTENT_LIMIT, INTENT_MARKET };
enum intent_tif { INTENT_GTC, INTENT_IOC, INTENT_FOK, INTENT_GTX };

struct intent {
    char id[INTENT_ID_MAX];
    enum intent_op op;
    char sym[INTENT_SYM_MAX];
    enum intent_side side;
    enum intent_type type;
    enum intent_tif tif;
    int has_qty, has_notional, has_price, book;
    struct dec qty, notional, price;
    int reduce;
    char cls[4];
    int reprice;
    int fallback_taker;
    char orig[INTENT_CID_MAX];
    int leverage;
    int has_trigger, contract_price; /* algo: triggerPrice; workingType CONTRACT_PRICE */
    struct dec trigger;
    char src[INTENT_SRC_MAX];
    int64_t t;
};

/* Parses the field/value pairs of a stream entry (kv[2i] field, kv[2i+1] value). Unknown
 * fields are ignored (a newer writer may add some). Returns 0, or -1 with a reason. */
int intent_parse(const char *const *kv, size_t n, struct intent *out, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Writes the intent as field/value pairs for XADD into argv (pointers into buf, which must
 * outlive argv; cap its size). Returns the number of entries, or -1 when buf is too small. */
int intent_to_fields(const struct intent *in, const char **argv, char *buf, size_t cap);

/* The id replicated traders agree on: "<strategy-initial><16 hex>" of a 64-bit FNV-1a hash
 * of strategy, symbol, action, the bar's open time and the part number. */
void intent_derive_id(const char *strategy, const char *sym, const char *action, int64_t bar_open,
                      int part, char out[INTENT_ID_MAX]);

/* "<class>_<id>" into out. Returns 0, or -1 when longer than 36. */
int intent_client_id(const char *cls, const char *id, char out[INTENT_CID_MAX]);

/* Nonzero for the classes of the risk processes (sl, hs, kl), whose closes pass HALTED. */
int intent_is_risk_class(const char *cls);

const char *intent_op_name(enum intent_op op);
const char *intent_side_name(enum intent_side s);
const char *intent_type_name(enum intent_type t);
const char *intent_tif_name(enum intent_tif t);

#endif
