/* banlist: the one ban list <prefix>risk:ban, made of two kinds of bans that never overwrite
 * each other.
 *
 * A ban carries its source in its reason (`src`): "lossguard" for the loss rules, which
 * `bfq lossguard` sets and lifts as the windows roll, or "manual:<who>" for a ban set by hand
 * with `bfq ban` (kept in <prefix>risk:ban:manual, field SYM or ALL -> {"why","t","src"}), which
 * only `bfq unban` lifts. Whoever writes the list (lossguard at each change, bfq ban/unban)
 * composes it from both: the loss rules' bans as that writer knows them and every manual ban,
 * so a manual ban survives every lossguard pass. Pure, no I/O (jansson and a hiredis reply). */
#ifndef BFQ_BANLIST_H
#define BFQ_BANLIST_H

#include <jansson.h>

struct redisReply;

#define BANLIST_RULE_SRC "lossguard"
#define BANLIST_MANUAL_SRC "manual"

/* The reasons of the list (new object: rule bans, then manual ones, a manual reason winning
 * for a symbol both ban) and its symbols into *symbols (new array, sorted; ["ALL"] alone when
 * ALL is banned). rule and manual (SYM -> reason objects) are borrowed; either may be NULL. */
json_t *banlist_compose(const json_t *rule, const json_t *manual, json_t **symbols);

/* The reasons of a stored list that a loss rule set (new object): those whose src is not
 * manual. reasons may be NULL. */
json_t *banlist_rule_reasons(const json_t *reasons);

/* Nonzero when a reason object was set by hand. */
int banlist_is_manual(const json_t *reason);

/* The manual bans from an HGETALL reply of <prefix>risk:ban:manual (new object; entries that
 * are not JSON objects are left out). */
json_t *banlist_from_hash(const struct redisReply *reply);

#endif
