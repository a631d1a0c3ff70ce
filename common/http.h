/* http.h -- a small HTTP server (libmicrohttpd) on its own threads, with a
 * route table of (method, path, handler). Used by every process for its
 * operator endpoints (common/service.c adds /health, /metrics, /loglevel;
 * riskd adds /status and /killswitch). Never on a hot path: handlers only
 * read atomics or shared memory, or post requests the main loop picks up. */
#ifndef SE_HTTP_H
#define SE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HTTP_ROUTES_MAX 16
#define HTTP_BODY_MAX   4096 /* larger request bodies are refused with 413 */
#define HTTP_CONNECTIONS_MAX 64

#define HTTP_JSON       "application/json"
#define HTTP_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

typedef struct http_server http_server_t;

/* One request, borrowed by the handler for the duration of the call. HEAD
 * requests reach GET handlers with method "GET" (libmicrohttpd drops the body). */
typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    const char *body;   /* NUL-terminated; "" when there is none */
    size_t body_len;
} http_request_t;

/* What the handler answers: status (200 unless set), content type (a static
 * string, HTTP_JSON unless set), and the body written to `body`, a memory
 * stream the server owns and sends. */
typedef struct {
    int status;
    const char *content_type;
    FILE *body;
} http_response_t;

/* Handlers run on the server's threads, possibly several at once (one thread
 * per connection): they must be thread-safe and must never block for long. */
typedef void (*http_handler_fn)(const http_request_t *req, http_response_t *res, void *ctx);

/* Creates a server (not yet listening) for bind (an IPv4 or IPv6 literal,
 * e.g. "127.0.0.1" or "::1") and port (0: the kernel picks one). Returns 0,
 * -EINVAL with a message for a bad address or port, or -ENOMEM. */
int http_open(http_server_t **out, const char *bind, int port);

/* Adds a route before http_start. The same path may have several methods; a
 * known path asked with another method is answered 405, an unknown one 404.
 * Strings are copied; ctx is handed to fn. Returns 0, -EBUSY after start,
 * -ENOSPC beyond HTTP_ROUTES_MAX, -EEXIST for a (method, path) already there. */
int http_route(http_server_t *s, const char *method, const char *path, http_handler_fn fn, void *ctx);

/* Binds and starts serving on libmicrohttpd's threads (every signal is
 * blocked in them, so signals keep going to the process's main thread).
 * Returns 0, or a negative errno with a message naming address and port
 * (e.g. -EADDRINUSE). */
int http_start(http_server_t *s);

/* The port the server listens on (the kernel's choice for port 0), or 0
 * before http_start. */
int http_port(const http_server_t *s);

/* The address the server was configured with (borrowed). */
const char *http_bind_address(const http_server_t *s);

/* Stops serving (waits for running handlers) and frees s. NULL is a no-op. */
void http_close(http_server_t *s);

/* Sets status and a JSON error body {"error":"<message>"}. */
void http_error(http_response_t *res, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes s as a JSON string (quoted and escaped) to out. */
void http_json_str(FILE *out, const char *s);

/* Looks up key among the top-level members of the JSON object in body.
 * http_body_bool wants true/false, http_body_string a string of at most
 * size-1 bytes without escapes. Returns 0, -ENOENT when the key is absent,
 * -EINVAL when the body is not a JSON object or the value has another type,
 * with a message in se_errmsg() fit for a 400 answer. */
int http_body_bool(const http_request_t *req, const char *key, bool *out);
int http_body_string(const http_request_t *req, const char *key, char *out, size_t size);

#endif
