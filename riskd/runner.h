/* runner.h -- riskd at work: gathers every strategy's signals into the
 * prioritised queue, runs the pre-trade checks, sends approved orders to
 * execd on ring `ord`, and keeps the position and PnL book from the fills on
 * `exe` (and `in`, live), publishing rejections, positions and trading-state
 * changes on ring `risk`. riskd's main is a thin shell around it. */
#ifndef RISKD_RUNNER_H
#define RISKD_RUNNER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/records.h"
#include "riskd/aggregator.h"
#include "riskd/book.h"
#include "riskd/checks.h"
#include "riskd/limits.h"
#include "riskd/watch.h"
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

/* What the main loop and riskd's HTTP threads (riskd/endpoints.c) share: the
 * loop publishes its trading state here; kill-switch requests (HTTP, SIGUSR2)
 * are posted here and applied by the loop, which then says so in
 * kill_applied. Every field is a lock-free atomic. */
typedef struct {
    _Atomic int kill_wanted;        /* of the latest request: 1 engage, 0 release */
    _Atomic uint64_t kill_requests; /* bumped after kill_wanted is stored */
    _Atomic uint64_t kill_applied;  /* kill_requests as of the last request applied */
    _Atomic int state;              /* se_trading_state_t */
    _Atomic(const char *) reason;   /* risk_state_reason: a static string */
    _Atomic bool kill_switch;
} riskd_ctl_t;

typedef struct {
    shm_settings_t set;
    riskd_ctl_t ctl;
    char mode[16];                  /* engine.mode, for /status */
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
        *fills_duplicate, *signal_latency, *in_lapped, *in_lost, *exe_lapped, *exe_lost, *active;
    /* orders_rejected_total{rule}: every rule name publish_reject may give */
    const char *reject_rules[RISK_RULE_COUNT + 4];
    stats_metric_t *rejected[RISK_RULE_COUNT + 4];
    int nreject_rules;
    uint64_t in_lost_counted, exe_lost_counted;
    uint64_t violations_reported[RISK_RULE_COUNT]; /* risk_violations already in the stats */
    stats_metric_t **position_gauges; /* [strategy * BOOK_SYMBOLS_MAX + symbol][3]: qty, realised, unrealised */
    char config_path[256];     /* followed for strategies added to strategies.enabled */
    int64_t config_mtime_ns, next_config_ns;
    bool started;
    riskd_watch_t watch;       /* stalls: rejecting, reader_lag, feed_silent (watch.h) */
} riskd_t;

/* Reads the configuration (strategies.enabled and their priorities, the risk
 * limits, the queue; later strategies added to strategies.enabled are read
 * from the file while riskd runs), opens the book, the checker and the queue, creates
 * rings `ord` and `risk` and the stats block "riskd", and rebuilds positions
 * and open orders from the history still in rings `ord`, `exe` and `in` (a
 * restarted riskd forgets nothing that is still there), then publishes every
 * strategy's snapshot on `risk`. Returns 0 or a negative code (se_errmsg says what). */
int riskd_open(riskd_t *d, const cfg_t *cfg, const shm_settings_t *set);

/* Runs until *stop, applying the kill-switch requests posted in d->ctl. */
int riskd_run(riskd_t *d, const volatile sig_atomic_t *stop);

/* Asks the main loop to engage (on) or release the kill switch. Returns the
 * request's number: the loop has applied it once ctl->kill_applied reaches
 * it. Lock-free atomics only, so a signal handler may call it. */
uint64_t riskd_request_kill_switch(riskd_ctl_t *ctl, bool on);

void riskd_close(riskd_t *d);

#endif
