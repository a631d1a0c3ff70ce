/* live.h -- ingest's event loop for the live feeds (ingest.feed = "redis" or
 * "none"): one libuv loop, on the one thread that writes ring `in`, carrying
 * the Redis subscription and the NATS hand-over, waking readers before it
 * sleeps and refreshing heartbeats. Runs until SIGINT or SIGTERM.
 * Used by main.c. */
#ifndef INGEST_LIVE_H
#define INGEST_LIVE_H

#include <signal.h>

#include "ingest/nats_feed.h"
#include "ingest/publisher.h"
#include "ingest/redis_feed.h"

/* Runs the loop with the Redis feed (redis non-NULL) and the NATS feed (nats
 * non-NULL: opened, not yet connected; connected here, stopped here, freed by
 * the caller) until SIGINT or SIGTERM, which also set *signalled. Returns 0
 * after a clean stop, or a negative code with a message when the loop could
 * not be set up. */
int live_run(publisher_t *pub, const redis_config_t *redis, nats_feed_t *nats, volatile sig_atomic_t *signalled);

#endif
