/* nats_feed.h -- fills and positions from NATS (nats.c): subscriptions to
 * nats.fillsSubject and nats.positionsSubject, or with nats.jetstream.enabled
 * durable JetStream consumers acked only once the record is in ring `in`.
 * nats.c delivers on its own threads; each message is copied into a hop queue
 * (hop.h) and validated, deduplicated (fill_id) and published by the one
 * thread that writes `in`, in nats_feed_poll. Connection state, reconnects
 * (capped exponential backoff) and drops are counted in ingest's stats block.
 * Used by main.c (alongside the synthetic and replay feeds) and live.c. */
#ifndef INGEST_NATS_FEED_H
#define INGEST_NATS_FEED_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "ingest/publisher.h"

typedef struct {
    bool enabled;                 /* nats.enabled; default: true when nats.url is set */
    const char *url;              /* nats.url, default "nats://127.0.0.1:4222" */
    const char *fills_subject;    /* nats.fillsSubject, default "fills.>" */
    const char *positions_subject;/* nats.positionsSubject, default "positions.>" */
    uint32_t reconnect_min_ms;    /* nats.reconnectMinMs, default 100 */
    uint32_t reconnect_max_ms;    /* nats.reconnectMaxMs, default 5000 */
    uint32_t queue_bytes;         /* nats.queueBytes: each hop queue, default 8 MiB */
    uint32_t dedupe_window;       /* nats.dedupeWindow: fill ids remembered, default 65536 */
    bool js_enabled;              /* nats.jetstream.enabled, default false */
    const char *js_stream;        /* nats.jetstream.stream, default "FILLS" */
    const char *js_durable;       /* nats.jetstream.durable, default "ingest" */
    uint32_t js_ack_wait_ms;      /* nats.jetstream.ackWaitMs, default 30000 */
} nats_config_t;

typedef struct nats_feed nats_feed_t;

/* Reads the nats.* keys above. 0 or SE_ECONFIG naming file, line and key. */
int nats_config(const cfg_t *cfg, nats_config_t *out);

/* Allocates the feed (queues, the fill-id window, metrics) for pub, and
 * remembers the fill ids still in ring `in`, so a fill redelivered after a
 * restart is not published twice. Does not connect. 0 or a negative code
 * with a message. */
int nats_feed_open(nats_feed_t **out, const nats_config_t *c, publisher_t *pub);

/* Optional: wakes loop (uv_async) whenever a message or a state change
 * arrives, so nats_feed_poll runs at once on the loop's thread. Without it,
 * nats_feed_poll runs from publisher_idle (the synthetic and replay feeds). */
int nats_feed_attach(nats_feed_t *f, uv_loop_t *loop);

/* Starts connecting. A server that is not there yet is not an error: nats.c
 * keeps retrying with the backoff. 0 or a negative code with a message. */
int nats_feed_connect(nats_feed_t *f);

/* On the thread that writes `in`: applies connection state changes, then
 * validates, deduplicates and publishes what the queues hold (and acks it,
 * with JetStream); sets up the JetStream consumers once connected. */
void nats_feed_poll(nats_feed_t *f);

/* Unsubscribes, publishes what was queued, closes the connection and waits
 * for nats.c's threads; closes the uv_async handle when attached (the loop
 * must run once more to finish that). */
void nats_feed_stop(nats_feed_t *f);

/* Frees the feed (after nats_feed_stop and, when attached, the loop's last run). */
void nats_feed_free(nats_feed_t *f);

/* For publisher_t's idle hook: nats_feed_poll(arg). */
void nats_feed_poll_hook(void *arg);

#endif
