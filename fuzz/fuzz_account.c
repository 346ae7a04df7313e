/* fuzz_account: GET /fapi/v2/account and /fapi/v3/account answers through
 * acctrec_parse_account, as `bfq account` and the stream's REST snapshot read them, both
 * versions on every input (fz_acct_rest: the batch promises, v3 marks it complete). */
#include <stdint.h>

#include "collectors/acctrec.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_acct_rest(data, size, acctrec_parse_account);
    return 0;
}
