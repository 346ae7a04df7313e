/* xpause: pause on exchange trouble (see xpause.h). */
#include "collectors/xpause.h"

void xpause_init(struct xpause *p)
{
    backoff_init(&p->backoff, XPAUSE_MIN_MS, XPAUSE_MAX_MS);
    p->until = 0;
}

void xpause_note(struct xpause *p, enum binance_outcome o)
{
    if (o == BINANCE_OK) {
        backoff_reset(&p->backoff);
        p->until = 0;
        return;
    }
    if (o != BINANCE_ESERVER && o != BINANCE_ETIMEOUT && o != BINANCE_ETRANSPORT) return;
    mono_ms_t now = timebase_mono_ms();
    if (now < p->until) return;
    p->until = now + backoff_next(&p->backoff);
}

int xpause_holds(const struct xpause *p, int in_flight)
{
    return timebase_mono_ms() < p->until || (p->backoff.attempts > 0 && in_flight > 0);
}
