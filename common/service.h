/* service.h -- what every process shows its operators, besides its work: the
 * HTTP endpoints (/health, /metrics, /loglevel, plus the process's own), the
 * log level (engine.logLevel, SIGUSR1 cycles it, POST /loglevel sets it), and
 * systemd's readiness and watchdog protocol (sd_notify). Used by the mains of
 * ingest, strategyd, riskd and execd; the main loop only calls svc_beat. */
#ifndef SE_SERVICE_H
#define SE_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/http.h"
#include "shm/stats.h"

#define SVC_REASONS_MAX 16
#define SVC_REASON_LEN  160
/* /health calls a main loop unhealthy when it has not beaten for this long;
 * every loop beats at least every ~100 ms. */
#define SVC_STALL_NS 3000000000LL

/* Why a process (or the engine) is unhealthy, gathered for /health. */
typedef struct {
    int n;
    char text[SVC_REASONS_MAX][SVC_REASON_LEN];
} svc_reasons_t;

/* Adds one reason (dropped beyond SVC_REASONS_MAX). */
void svc_reason(svc_reasons_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A process's extra health check (riskd: the whole engine), run on the HTTP
 * thread for each GET /health; it adds reasons, never blocks for long. */
typedef void (*svc_health_fn)(svc_reasons_t *reasons, void *ctx);

typedef struct {
    const char *process;  /* name in logs and the metrics' process label: "riskd", "strategyd.momentum" */
    const char *section;  /* its config section, for <section>.logLevel: "riskd", "strategyd" */
    const char *port_key; /* "riskd.httpPort", "strategyd.httpBasePort" */
    int default_port;
    int port_offset;      /* added to a non-zero port (a strategy's index in strategies.enabled) */
} svc_config_t;

typedef struct svc svc_t;

/* The main loop's heartbeat (CLOCK_MONOTONIC ns of its last turn), read by
 * the watchdog and /health. One per process. */
extern _Atomic int64_t svc__beat_ns;

/* Hot path, once per loop turn: a relaxed store to a process-private word. */
static inline void svc_beat(int64_t mono_ns)
{
    atomic_store_explicit(&svc__beat_ns, mono_ns, memory_order_relaxed);
}

/* First thing in main, before any thread exists: names the process in logs
 * (log_init) and blocks SIGUSR1, which the service thread then takes (a
 * SIGUSR1 arriving before svc_start waits instead of killing the process). */
void svc_early(const char *process);

/* Reads the log level (SE_LOG_LEVEL if set, else <section>.logLevel, else
 * engine.logLevel, default info) and applies it; reads http.enabled (default
 * true), http.bind (default "127.0.0.1") and the port (c->port_key, range
 * 0..65535, 0 meaning any free port); prepares the HTTP server with /health,
 * /metrics and /loglevel. Nothing listens yet. Returns 0 or SE_ECONFIG/-errno
 * with se_errmsg() naming file, line and key. *out is set on success only. */
int svc_open(svc_t **out, const cfg_t *cfg, const svc_config_t *c);

/* Adds a process-specific route (before svc_start); see http_route. */
int svc_route(svc_t *s, const char *method, const char *path, http_handler_fn fn, void *ctx);

/* Sets the extra check /health runs after its own (main loop alive). */
void svc_set_health(svc_t *s, svc_health_fn fn, void *ctx);

/* Starts listening (when enabled) and the service thread (SIGUSR1, watchdog).
 * /metrics renders stats, the process's own block, which also gets the gauge
 * http_port (the bound port; 0 with HTTP disabled). Logs the address. Returns
 * 0, or a negative code when the port cannot be bound (se_errmsg says which). */
int svc_start(svc_t *s, stats_t *stats);

/* The port listened on, 0 when HTTP is disabled or not started. */
int svc_port(const svc_t *s);

/* Tells systemd READY=1 (no-op without NOTIFY_SOCKET): call when the rings
 * are open and the main loop is about to run. Watchdog pings start here. */
void svc_ready(svc_t *s);

/* Tells systemd STOPPING=1, stops the HTTP server and the service thread,
 * and frees s. NULL is a no-op. */
void svc_close(svc_t *s);

/* Internal, exposed for the tests: one watchdog step at mono time now.
 * Sends WATCHDOG=1 when systemd's watchdog is on, the process is ready, half
 * the watchdog period has passed since the last step that pinged or found
 * the loop stalled, and the heartbeat moved since the last ping. Returns
 * true when it pinged. */
bool svc__watchdog_step(svc_t *s, int64_t now);

#endif
