/* runner.h -- riskd at work: gathers every strategy's signals into the
 * prioritised queue, runs the pre-trade checks, sends approved orders to
 * execd on ring `ord`, and keeps the position and PnL book from the fills on
 * `exe` (and `in`, live), publishing rejections, positions and trading-state
 * changes on ring `risk`. riskd's main is a thin shell around it. */
#ifndef RISKD_RUNNER_H
#define RISKD_RUNNER_H

#include <signal.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/records.h"
#include "riskd/aggregator.h"
#include "riskd/book.h"
#include "riskd/checks.h"
#include "riskd/limits.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "shm/stats.h"

#define RISKD_DEFAULT_QUEUE     1024  /* engine.signalBufferSize */
#define RISKD_DEFAULT_TTL_MS    1000  /* engine.signalTtlMs */
#define RISKD_ORD_CAPACITY      4096  /* riskd.orderRingCapacity */
#define RISKD_RISK_CAPACITY     16384 /* riskd.riskRingCapacity */
#define RISKD_SNAPSHOT_MS       5000  /* riskd.snapshotIntervalMs: 0 = at start and on request only */

/* One ring riskd reads; optional ones are attached when they appear. */
typedef struct {
    shm_reader_t r;
    bool attached;
    char segment[SHM_NAME_MAX];
} riskd_input_t;

typedef struct {
    shm_settings_t set;
    int nstrategies;
    char names[BOOK_STRATEGIES_MAX][SE_STRATEGY_MAX];
    int priority[BOOK_STRATEGIES_MAX];
    riskd_input_t sig[BOOK_STRATEGIES_MAX];
    riskd_input_t in, exe;
    shm_writer_t ord, risk_ring;
    stats_t stats;
    risk_limits_t limits;
    risk_t risk;
    book_t book;
    agg_t agg;
    int64_t ttl_ns, spin_ns, next_reset_ns, next_heartbeat_ns, next_attach_ns;
    int64_t snapshot_ns, next_snapshot_ns; /* periodic snapshots on ring `risk` (0: none) */
    stats_metric_t *checks, *approved, *violations[RISK_RULE_COUNT], *queue_size, *queue_evicted,
        *queue_stale, *ord_full, *state_gauge, *equity, *daily_pnl, *drawdown, *fills,
        *fills_duplicate, *signal_latency, *in_lapped, *in_lost, *exe_lapped, *exe_lost;
    uint64_t in_lost_counted, exe_lost_counted;
    uint64_t violations_reported[RISK_RULE_COUNT]; /* risk_violations already in the stats */
    stats_metric_t **position_gauges; /* [strategy * BOOK_SYMBOLS_MAX + symbol][3]: qty, realised, unrealised */
    char config_path[256];     /* followed for strategies added to strategies.enabled */
    int64_t config_mtime_ns, next_config_ns;
    bool started;
} riskd_t;

/* Reads the configuration (strategies.enabled and their priorities, the risk
 * limits, the queue; later strategies added to strategies.enabled are read
 * from the file while riskd runs), opens the book, the checker and the queue, creates
 * rings `ord` and `risk` and the stats block "riskd", and rebuilds positions
 * and open orders from the history still in rings `ord`, `exe` and `in` (a
 * restarted riskd forgets nothing that is still there), then publishes every
 * strategy's snapshot on `risk`. Returns 0 or a negative code (se_errmsg says what). */
int riskd_open(riskd_t *d, const cfg_t *cfg, const shm_settings_t *set);

/* Runs until *stop. kill_switch points at a request set by a signal handler:
 * 1 turns the kill switch on, 2 off, 0 nothing (it is reset once handled). */
int riskd_run(riskd_t *d, const volatile sig_atomic_t *stop, volatile sig_atomic_t *kill_switch);

void riskd_close(riskd_t *d);

#endif
