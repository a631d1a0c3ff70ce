/* notify.h -- systemd's notification socket for a confined strategyd.
 * libsystemd's sd_notify opens a new AF_UNIX socket for every message
 * (READY=1, each WATCHDOG=1, STOPPING=1), which the sandbox forbids
 * (sandbox.h). strategyd therefore connects one socket to $NOTIFY_SOCKET
 * before it confines itself, and defines sd_notify itself: the engine's
 * common/service.c, linked into bin/strategyd, then sends through that
 * socket. Other programs keep libsystemd's sd_notify (this file is linked
 * only into what calls notify_preopen). */
#ifndef STRATEGYD_NOTIFY_H
#define STRATEGYD_NOTIFY_H

/* Connects a datagram socket to $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract socket) for every later sd_notify of this process; nothing when
 * the variable is unset. Call before sandbox_apply. Returns 0, or a negative
 * code (se_errmsg says which address); sd_notify then falls back to
 * libsystemd's. */
int notify_preopen(void);

#endif
