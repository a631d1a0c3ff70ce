/* backend.h -- where execd sends orders: the seam between execd's loop (rings,
 * stats) and an execution venue. Simulation mode uses the paper-trading model
 * (backend_sim.c); live mode the gRPC client (backend_grpc.c).
 * Every call reports through emit (acks, rejects, cancels, fills), which
 * execd publishes on ring `exe`. */
#ifndef EXECD_BACKEND_H
#define EXECD_BACKEND_H

#include <stdint.h>

#include "common/config.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/stats.h"

typedef void (*exec_emit_fn)(void *ctx, const se_exec_rec_t *report);

typedef struct exec_backend {
    const char *name; /* "simulation", ... */
    void *impl;       /* the backend's own state */
    /* The market moved (a quote from ring `in`). */
    void (*on_quote)(void *impl, const se_in_rec_t *quote, int64_t now_ns, exec_emit_fn emit, void *ctx);
    /* An approved order or cancel from ring `ord`. */
    void (*on_order)(void *impl, const se_order_rec_t *order, int64_t now_ns, exec_emit_fn emit, void *ctx);
    /* Lets time-driven work happen (delayed fills, timeouts). */
    void (*poll)(void *impl, int64_t now_ns, exec_emit_fn emit, void *ctx);
    /* When poll next has work (CLOCK_REALTIME ns), or INT64_MAX. */
    int64_t (*next_event_ns)(const void *impl);
    /* True while a quote can change an order's fate (resting limit orders):
     * only then must execd wake for every tick. */
    int (*needs_quotes)(const void *impl);
    void (*close)(struct exec_backend *b);
    /* Optional (NULL: always): false while the backend cannot take another
     * order (all its calls in flight); execd then leaves `ord` unread. */
    int (*can_accept)(const void *impl);
    /* Optional: rung by the backend's own threads when poll has work (answers
     * arrived); execd's loop sleeps on it along with its rings. */
    shm_doorbell_t *bell;
    /* Optional (NULL: never): true when the backend already took this very
     * request in an earlier run (`ord` hands it over again after a crash):
     * execd's hard limits, passed then, are not applied to it again. */
    int (*holds)(const void *impl, const se_order_rec_t *order);
} exec_backend_t;

/* The paper-trading backend, from execution.sim.{slippageBps, latencyUs,
 * maxOrders}. Returns 0 or a negative code naming file, line and key. */
int exec_backend_sim_open(exec_backend_t *b, const cfg_t *cfg);

/* The live backend: a gRPC client of execution.target (execution.v1.OrderExecution)
 * with the order journal, retries and the circuit breaker; reads the
 * execution.* keys (README "Live execution"), registers its metrics in stats
 * and re-sends what the journal holds unanswered. Returns 0 or a negative
 * code naming file, line and key (or the journal file). */
int exec_backend_grpc_open(exec_backend_t *b, const cfg_t *cfg, stats_t *stats);

#endif
