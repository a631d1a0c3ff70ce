/* runner.h -- execd at work: takes approved orders from ring `ord`, hands
 * them to the execution backend (the paper-trading simulator in simulation
 * mode; the gRPC client in live mode), and publishes every
 * ack, reject, cancel and fill on ring `exe`. Quotes from ring `in` keep the
 * simulator's market current. */
#ifndef EXECD_RUNNER_H
#define EXECD_RUNNER_H

#include <signal.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/records.h"
#include "execd/backend.h"
#include "execd/limits.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "shm/stats.h"

#define EXECD_DEFAULT_EXE_CAPACITY 65536

typedef struct {
    shm_reader_t ord, in;
    bool have_ord, have_in;
    char ord_name[SHM_NAME_MAX], in_name[SHM_NAME_MAX];
    shm_writer_t exe;
    stats_t stats;
    exec_backend_t backend;
    exec_limits_t limits;
    int64_t spin_ns;
    stats_metric_t *submitted, *rejected, *cancels, *acks, *rejects, *cancelled, *fills, *order_latency,
        *tick_to_order, *lapped_in, *lost_in;
    /* orders_rejected_total{reason}: one per rule of limits.h (index 0 unused) */
    stats_metric_t *limit_rejected[EXEC_LIMIT_COUNT];
    uint64_t lost_in_counted;
    int64_t next_heartbeat_ns;
    int64_t next_limit_log_ns;    /* CLOCK_MONOTONIC: the next refusal that may be logged */
    uint64_t limit_log_suppressed; /* refusals not logged since the last line */
} execd_t;

/* Opens the backend for engine.mode (live: the gRPC client of
 * execution.target; otherwise the paper fill model), reads
 * execution.exeRingCapacity and execd's hard limits (execution.limits.*,
 * limits.h), creates ring `exe` and the stats block "execd". Returns 0 or a
 * negative code (se_errmsg says what, naming file, line and key for a bad
 * value). */
int execd_open(execd_t *x, const cfg_t *cfg, const shm_settings_t *set);

/* Runs until *stop: attaches to `ord` and `in` as soon as they exist. Returns 0. */
int execd_run(execd_t *x, const volatile sig_atomic_t *stop);

/* Closes what execd_open opened (safe after a failed or partial open). */
void execd_close(execd_t *x);

#endif
