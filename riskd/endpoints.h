/* endpoints.h -- riskd's own HTTP endpoints, the engine's front door:
 * GET /status, GET and POST /killswitch, and the engine-wide /health check.
 * Used by riskd's main; the handlers run on the HTTP threads and only read
 * atomics and shared memory, or post kill-switch requests (riskd_ctl_t). */
#ifndef RISKD_ENDPOINTS_H
#define RISKD_ENDPOINTS_H

#include "common/service.h"
#include "riskd/runner.h"

/* How long POST /killswitch waits for the main loop to apply the request
 * (it wakes at least every 10 ms) before answering 503. */
#define RISKD_KILL_WAIT_NS 2000000000LL

/* Adds /status and /killswitch to svc and makes its /health the engine's:
 * unhealthy (503, with every reason) when a process is down or failed (the
 * supervisor's stats block says so, or, without a live supervisor, the
 * writer of ring in, exe or a sig.<strategy> is not running), a feed is
 * disconnected (ingest's feed_connected gauges), trading is HALTED, or
 * trading is stalled (riskd/watch.h: every signal refused by one rule, a
 * ring reader left behind, market data silent). /status lists the stalls
 * ("stalled", "trading_stalled") beside the trading state.
 * d must outlive svc. Returns 0 or a negative code (see http_route). */
int riskd_endpoints_add(svc_t *svc, riskd_t *d);

/* The engine checks of /health (the ones above), into why. Exposed for the
 * tests; ctx is the riskd_t. */
void riskd_engine_health(svc_reasons_t *why, void *ctx);

#endif
