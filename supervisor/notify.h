/* notify.h -- the supervisor's side of systemd's readiness protocol, for a
 * unit that runs bin/strategy-engine as Type=notify: READY=1 once every
 * process has started, STOPPING=1 when it stops. The variables are taken out
 * of the environment, so the engine's processes (which speak the protocol
 * themselves) never report to systemd in the supervisor's name. Used by sup.c. */
#ifndef SUPERVISOR_NOTIFY_H
#define SUPERVISOR_NOTIFY_H

/* Reads and removes NOTIFY_SOCKET (and the WATCHDOG_* variables, which name
 * the supervisor's pid) from the environment. Call once, before any spawn. */
void notify_init(void);

/* Sends state ("READY=1", "STOPPING=1") to the socket notify_init found;
 * nothing without one. Best effort: a failure is logged once. */
void notify_send(const char *state);

#endif
