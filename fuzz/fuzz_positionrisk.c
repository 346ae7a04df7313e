/* fuzz_positionrisk: GET /fapi/v2/positionRisk and /fapi/v3/positionRisk answers through
 * acctrec_parse_positionrisk, as `bfq positionrisk` reads them. Every input
 * is parsed as both versions; an accepted batch must hold what acctrec promises
 * (fz_check_acct_batch), and the time check agrees with t_max. */
#include <stdint.h>

#include "collectors/acctrec.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_quiet();
    json_t *root = fz_json(data, size);
    if (!root) return 0;
    for (int version = 2; version <= 3; version++) {
        struct acctrec_batch b;
        char err[256] = "";
        acctrec_batch_init(&b);
        if (acctrec_parse_positionrisk(root, version, &b, err, sizeof err) == 0) {
            fz_check_acct_batch(&b);
            FZ_CHECK(acctrec_batch_check_time(&b, b.t_max, err, sizeof err) == 0);
        } else {
            FZ_CHECK(err[0] != '\0');
        }
        acctrec_batch_free(&b);
    }
    json_decref(root);
    return 0;
}
