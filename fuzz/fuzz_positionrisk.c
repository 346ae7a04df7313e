/* fuzz_positionrisk: GET /fapi/v2/positionRisk and /fapi/v3/positionRisk answers through
 * acctrec_parse_positionrisk, as `bfq positionrisk` reads them, both versions on every input
 * (fz_acct_rest: the batch promises, v3 marks it complete). */
#include <stdint.h>

#include "collectors/acctrec.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_acct_rest(data, size, acctrec_parse_positionrisk);
    return 0;
}
