/* http_client.h -- what the tests need to talk to the processes' HTTP
 * endpoints: find a process's port in its stats block, and make one request
 * (a blocking HTTP/1.0 client on loopback, enough for tests). */
#ifndef TESTS_HTTP_CLIENT_H
#define TESTS_HTTP_CLIENT_H

#include <stddef.h>

/* Waits until process (e.g. "riskd", "strategyd.momentum") of instance
 * publishes a non-zero gauge http_port, and returns it; 0 at the deadline. */
int tc_http_port(const char *instance, const char *process, int seconds);

/* Sends method path (with body, if not NULL) to 127.0.0.1:port and reads the
 * whole answer. Returns the status code and copies the body (NUL-terminated,
 * cut to size) into body, and the Content-Type into ctype when not NULL;
 * -1 when the connection or the answer fails. */
int tc_http(int port, const char *method, const char *path, const char *body, char *out, size_t size,
            char *ctype, size_t ctype_size);

/* Runs `promtool check metrics` on a /metrics body. Returns 0 when it passes,
 * or when its only complaints are "use base unit seconds" on metrics named
 * *_microseconds: DESIGN.md fixes those names (strategy_latency_microseconds
 * ...), and promtool has no switch for that lint. Else -1, with promtool's
 * exit code and output in why. */
int tc_promtool(const char *metrics, char *why, size_t size);

#endif
