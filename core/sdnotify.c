/* sdnotify: READY, WATCHDOG and STOPPING to systemd through libsystemd (see sdnotify.h).
 *
 * sd_notify returns 0 when $NOTIFY_SOCKET is not set, so the calls cost nothing outside
 * systemd. unset_environment is 0: a role may notify many times (the watchdog). */
#include "core/sdnotify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "core/log.h"

void sdnotify_ready(const char *status)
{
    char msg[256];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status ? status : "up");
    if (sd_notify(0, msg) < 0) log_warn("systemd notify failed, ignored", "what=READY");
}

void sdnotify_watchdog(void)
{
    (void)sd_notify(0, "WATCHDOG=1");
}

void sdnotify_stopping(void)
{
    (void)sd_notify(0, "STOPPING=1");
}

int64_t sdnotify_watchdog_ms(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return 0;
    return usec / 1000 > 0 ? (int64_t)(usec / 1000) : 1;
}
