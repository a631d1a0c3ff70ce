/* redis_feed.h -- market data from Redis pub/sub (ingest.feed = "redis"):
 * hiredis's async client on ingest's libuv loop, PSUBSCRIBE to redis.pattern,
 * every message through the validator into ring `in`. A lost connection is
 * counted and retried with capped exponential backoff, then re-subscribed.
 * Used by live.c; everything runs on the loop's thread. */
#ifndef INGEST_REDIS_FEED_H
#define INGEST_REDIS_FEED_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "ingest/link.h"
#include "ingest/publisher.h"

struct redisAsyncContext;

typedef struct {
    const char *host;     /* redis.host, default "127.0.0.1" (borrowed from the config) */
    int port;             /* redis.port, default 6379 */
    const char *password; /* redis.password, "" = no AUTH */
    const char *pattern;  /* redis.pattern, default "md.*" */
    uint32_t reconnect_min_ms; /* redis.reconnectMinMs, default 100 */
    uint32_t reconnect_max_ms; /* redis.reconnectMaxMs, default 5000 */
    uint32_t connect_timeout_ms; /* redis.connectTimeoutMs: connected and subscribed within, default 3000 */
} redis_config_t;

typedef struct {
    redis_config_t c;
    uv_loop_t *loop;
    publisher_t *pub;
    struct redisAsyncContext *ac; /* NULL while not connected (hiredis frees it on a drop) */
    uv_timer_t retry;             /* the next connection attempt, or the current one's timeout */
    link_t link;
    char where[160];              /* "host:port pattern", for the logs */
    char why[160];                /* why we are disconnecting ourselves ("" when not) */
    bool stopping;
} redis_feed_t;

/* Reads redis.{host, port, password, pattern, reconnectMinMs, reconnectMaxMs,
 * connectTimeoutMs}.
 * 0 or SE_ECONFIG naming file, line and key. */
int redis_config(const cfg_t *cfg, redis_config_t *out);

/* Sets up the feed on loop (whose thread must be the only one to call
 * publisher_put on pub) and starts the first connection attempt. A Redis
 * that is not there yet is not an error: the feed keeps retrying. Returns 0,
 * or a negative code with a message (metrics, libuv). */
int redis_feed_start(redis_feed_t *f, const redis_config_t *c, uv_loop_t *loop, publisher_t *pub);

/* Disconnects and closes the feed's handles; the loop finishes closing them
 * on its next run. f must stay valid until then. */
void redis_feed_stop(redis_feed_t *f);

#endif
