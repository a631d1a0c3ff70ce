/* backend.h -- where execd sends orders: the seam between execd's loop (rings,
 * stats) and an execution venue. Simulation mode uses the paper-trading model
 * (backend_sim.c); live mode plugs a gRPC client in here (a later issue).
 * Every call reports through emit (acks, rejects, cancels, fills), which
 * execd publishes on ring `exe`. */
#ifndef EXECD_BACKEND_H
#define EXECD_BACKEND_H

#include <stdint.h>

#include "common/config.h"
#include "common/records.h"

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
} exec_backend_t;

/* The paper-trading backend, from execution.sim.{slippageBps, latencyUs,
 * maxOrders}. Returns 0 or a negative code naming file, line and key. */
int exec_backend_sim_open(exec_backend_t *b, const cfg_t *cfg);

#endif
