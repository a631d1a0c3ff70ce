/* control.h -- the supervisor's control socket, `@<prefix>.<instance>.supervisor`
 * (an abstract unix stream socket: no file to go stale, gone with the
 * process), and its line protocol. Holding the name is also the lock that
 * keeps two supervisors of one instance from running together.
 * A request is one line ("status", "status --json", "restart NAME",
 * "reload NAME", "stop"); the answer's first line is "ok" or "error: WHY",
 * then the body; the server closes the connection when done.
 * Server side used by sup.c, client side by main.c (the subcommands). */
#ifndef SUPERVISOR_CONTROL_H
#define SUPERVISOR_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "shm/settings.h"

#define CONTROL_LINE_MAX 256

/* Binds and listens on the instance's name (non-blocking, close-on-exec).
 * Returns the fd, -EADDRINUSE when another supervisor holds it (*holder is
 * then its pid, or 0 if unknown), or another negative code. */
int control_listen(const shm_settings_t *set, pid_t *holder);

/* One client connection being read. */
typedef struct {
    int fd;                      /* -1: free */
    char line[CONTROL_LINE_MAX];
    size_t len;
    int64_t deadline_ns;         /* CLOCK_MONOTONIC: dropped after this */
} control_conn_t;

/* Accepts one pending connection into c (non-blocking, close-on-exec).
 * Connections from another user (except root) are refused and logged.
 * Returns 0, -EAGAIN when none is pending, or another negative code. */
int control_accept(int listen_fd, control_conn_t *c, int64_t now_ns);

/* Reads what the client sent. Returns 1 when c->line holds a complete
 * request (without the newline), 0 when more is to come, or a negative code
 * when the client went away or sent too much (close the connection). */
int control_read(control_conn_t *c);

/* Sends text (best effort: the answers are small) and, with close, closes. */
void control_send(control_conn_t *c, const char *text, bool close_after);

/* Closes the connection. */
void control_close(control_conn_t *c);

/* Client: sends request to the instance's supervisor and copies the answer's
 * body to out (and an error's reason to err), waiting up to timeout_ms for
 * the supervisor to close the connection. Returns 0 for "ok", 1 for
 * "error: ...", -ECONNREFUSED when no supervisor runs, or another negative
 * code. */
int control_request(const shm_settings_t *set, const char *request, FILE *out, FILE *err, int timeout_ms);

#endif
