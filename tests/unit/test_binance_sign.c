/* test_binance_sign: binance_sign against Binance's published HMAC-SHA256 vector, plus the
 * edge cases a caller can hit (empty message, a query+body concatenation, bad arguments). */
#include <string.h>

#include "core/binance.h"
#include "tests/harness/harness.h"

static const char vec_secret[] =
    "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
static const char vec_msg[] = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000"
                              "&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
static const char vec_sig[] = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9";

static void test_vector(void)
{
    char sig[65];
    memset(sig, 'x', sizeof sig);
    CHECK(binance_sign(vec_secret, vec_msg, strlen(vec_msg), sig) == 0);
    CHECK_EQ_STR(sig, vec_sig);
    CHECK(strlen(sig) == 64);
}

/* The signed text is query concatenated with body, no '&' between: splitting the vector's
 * message anywhere must not change the signature, as long as the concatenation is the same. */
static void test_length_is_respected(void)
{
    char buf[sizeof vec_msg + 16];
    char sig[65];
    memcpy(buf, vec_msg, sizeof vec_msg);
    memcpy(buf + strlen(vec_msg), "&junk", 6);
    CHECK(binance_sign(vec_secret, buf, strlen(vec_msg), sig) == 0);
    CHECK_EQ_STR(sig, vec_sig);
    CHECK(binance_sign(vec_secret, buf, strlen(buf), sig) == 0);
    CHECK(strcmp(sig, vec_sig) != 0);
}

static void test_edges(void)
{
    char sig[65];
    /* HMAC-SHA256 with key "key" of "" (RFC 4231-style known value). */
    CHECK(binance_sign("key", "", 0, sig) == 0);
    CHECK_EQ_STR(sig, "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
    CHECK(binance_sign("key", NULL, 0, sig) == 0);
    CHECK_EQ_STR(sig, "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
    CHECK(binance_sign(NULL, "a", 1, sig) == -1);
    CHECK(binance_sign("key", NULL, 3, sig) == -1);
    /* A different secret gives a different signature. */
    CHECK(binance_sign("other-secret", vec_msg, strlen(vec_msg), sig) == 0);
    CHECK(strcmp(sig, vec_sig) != 0);
}

int main(void)
{
    test_vector();
    test_length_is_respected();
    test_edges();
    return th_done();
}
