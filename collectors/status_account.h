/* status_account: the "accounts" section of `bfq status` (see status.h).
 *
 * For every account found in Redis (keys <prefix>acct:<a>:pos): its open positions (amt != 0)
 * with their source and age, its balances, each source's age and last error, the number of
 * open orders, and the watchdog's flags. */
#ifndef BFQ_STATUS_ACCOUNT_H
#define BFQ_STATUS_ACCOUNT_H

#include <jansson.h>
#include <stdio.h>

#include "collectors/status.h"

json_t *status_accounts_collect(const struct status_ctx *ctx, char *err, size_t errcap);
void status_accounts_print(const json_t *value, const struct status_ctx *ctx, FILE *out);

#endif
