/* link.h -- the connection state of one live feed (redis, nats): the gauge
 * feed_connected{feed}, the counter feed_disconnects_total{feed}, one log line
 * per state change, and the capped exponential backoff between reconnects.
 * Used by redis_feed.c and nats_feed.c; riskd's /health reads the gauge. */
#ifndef INGEST_LINK_H
#define INGEST_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/stats.h"

typedef struct {
    const char *feed;              /* "redis", "nats": the metric label, borrowed */
    stats_metric_t *connected;     /* feed_connected{feed}: 1 or 0 */
    stats_metric_t *disconnects;   /* feed_disconnects_total{feed} */
    stats_metric_t *latency;       /* feed_latency_microseconds{feed}: message ts -> published */
    bool up;                       /* the last state logged */
    bool said_down;                /* "not connected" logged since the last up */
    uint32_t min_ms, max_ms;       /* backoff bounds */
    uint32_t next_ms;              /* the next backoff delay */
    uint64_t attempts;             /* failed attempts since the last up */
} link_t;

/* Creates (or finds, after a restart) the link's metrics in stats and sets
 * the gauge to 0. feed must outlive the link. Returns 0, or -ENOSPC when the
 * stats block has no room left (with a message). */
int link_init(link_t *l, stats_t *stats, const char *feed, uint32_t min_ms, uint32_t max_ms);

/* The feed is connected (and subscribed): gauge 1, backoff reset, one log
 * line naming where (e.g. "127.0.0.1:6379") unless it was already up. */
void link_up(link_t *l, const char *where);

/* The feed lost its connection: gauge 0, the disconnect counted, one warning
 * with why. Does nothing when it was not up (a failed attempt is no new state). */
void link_down(link_t *l, const char *why);

/* The process is stopping: gauge 0, nothing counted or logged. */
void link_stop(link_t *l);

/* A connection attempt failed: logs the first failure after a disconnect (or
 * at start-up) once, counts the attempt, and returns how long to wait before
 * the next one in ms (min_ms, doubling, capped at max_ms). */
uint32_t link_failed(link_t *l, const char *why);

/* Time from a message's own ts (ns since the epoch; 0 = absent) to now_ns
 * into the latency histogram. Clocks of other hosts may be ahead: a negative
 * difference is recorded as 0. */
static inline void link_latency(link_t *l, int64_t ts_source_ns, int64_t now_ns)
{
    if (ts_source_ns > 0)
        stats_observe_ns(l->latency, now_ns - ts_source_ns);
}

#endif
