/* sdnotify: tells systemd how a role is doing (Type=notify units, see systemd/).
 *
 * A thin layer over libsystemd's sd_notify, so that the rest of bfq never includes systemd
 * headers and a role run by hand (no $NOTIFY_SOCKET) pays nothing: every call is then a
 * no-op. The role runtime (core/role.c) sends READY=1 once the role is up (Redis up and a
 * first good exchange answer, or Redis up for a role that never talks to the exchange) and,
 * when the unit sets WatchdogSec= (systemd exports $WATCHDOG_USEC), WATCHDOG=1 from a loop
 * timer at half that period: a loop that stops turning is restarted by systemd. STOPPING=1
 * is sent when the role begins its shutdown. Errors are ignored: systemd's absence or a full
 * socket must never stop a role. */
#ifndef BFQ_SDNOTIFY_H
#define BFQ_SDNOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line (status may be NULL). */
void sdnotify_ready(const char *status);

/* WATCHDOG=1. */
void sdnotify_watchdog(void);

/* STOPPING=1. */
void sdnotify_stopping(void);

/* The watchdog period systemd asks for, in ms ($WATCHDOG_USEC, checked against
 * $WATCHDOG_PID by libsystemd), or 0 when the unit has no watchdog. */
int64_t sdnotify_watchdog_ms(void);

#endif
