/* runner.h -- one strategy instance at work: reads ring `in` (ticks; fills
 * and positions in live mode) and, once they exist, `exe` (execution reports)
 * and `risk` (rejections, positions), hands each event to the strategy, writes
 * its signals to ring sig.<name> (or, in observation mode, counts and drops
 * them), and keeps the process's stats block. strategyd's main is a thin
 * shell around it. */
#ifndef STRATEGYD_RUNNER_H
#define STRATEGYD_RUNNER_H

#include <signal.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "shm/stats.h"
#include "strategyd/host.h"
#include "strategyd/order_track.h"

#define RUNNER_MAX_SIGNALS 16 /* per callback: the host buffer handed to on_market_data */
#define RUNNER_DEFAULT_SIGNAL_CAPACITY 4096
#define RUNNER_MAX_METRICS 32 /* the strategy's own, published as strategy_custom gauges */

/* One ring the runner reads. */
typedef enum { INPUT_IN, INPUT_EXE, INPUT_RISK, INPUT_COUNT } input_id_t;
typedef struct {
    shm_reader_t r;
    bool attached;
    char segment[SHM_NAME_MAX];
    stats_metric_t *lapped, *lost;
    uint64_t lost_counted;   /* r.drops already added to `lost` */
} input_t;

#define RUNNER_FILL_MEMORY 1024 /* recent fill ids, so a fill seen twice is applied once */
#define RUNNER_ORPHANS 256      /* orders of a previous run, cancelled once each */

typedef struct {
    host_t host;
    loaded_t strat;
    void *state;               /* the strategy's, from create */
    bool observe;              /* observation mode: count signals, write none */
    bool started;              /* start() has run: rings attached later are caught up */
    uint32_t index;            /* position in strategies.enabled */
    int64_t spin_ns;
    input_t inputs[INPUT_COUNT];
    shm_writer_t sig;
    bool sig_open;             /* sig is open (runner_close closes it) */
    stats_t stats;
    stats_metric_t *ticks, *fills, *signals, *errors, *dropped_observation, *dropped_full,
        *rejected, *strategy_latency, *md_latency;
    /* Orders of a previous run this one asked to cancel (riskd's snapshots
     * repeat them until the cancel lands): each is cancelled once. */
    char orphans[RUNNER_ORPHANS][SE_ID_MAX];
    unsigned orphans_next;
    uint64_t fill_memory[RUNNER_FILL_MEMORY]; /* hashes of recent fill ids */
    unsigned fill_memory_next;
    order_track_t orders; /* which of our orders still work (from exe and in) */
    int64_t next_heartbeat_ns, next_full_log_ns, next_attach_ns;
    strat_signal_t out[RUNNER_MAX_SIGNALS];
    bool metrics_refused;      /* a metric name was left out (logged once) */
} runner_t;

/* Sets up instance `name` (which must be in strategies.enabled) as far as
 * it can without running any strategy code: its config, its stats block and
 * its signal ring sig.<name> (whose newest order ids set the epoch: a run
 * restarted within the same second takes an epoch past them, so it never
 * reuses an order id). What strategyd does before it confines itself
 * (sandbox.h). Returns 0 or a negative code; se_errmsg() is the one line to
 * print. runner_close undoes it, also after a failure. */
int runner_prepare(runner_t *r, const cfg_t *cfg, const shm_settings_t *set, const char *name);

/* Then: loads the strategy, runs its create and init, attaches to `in` at
 * its head (waiting for ingest), hands the strategy the positions rebuilt
 * from its fills still in `in` and `exe` (recovery after a restart) through
 * on_position_update, cancels the orders the previous run left working, asks
 * riskd for a snapshot (whose open orders of a previous run are cancelled
 * too), and starts it. Returns 0 or a negative code, as runner_prepare. */
int runner_start(runner_t *r);

/* runner_prepare then runner_start, with no confinement between them (tests,
 * benchmarks). */
int runner_open(runner_t *r, const cfg_t *cfg, const shm_settings_t *set, const char *name);

/* Processes one record of `in` (exposed for tests). */
void runner_handle(runner_t *r, const se_in_rec_t *rec);

/* Reads its rings until *stop; sleeps on all of them when idle, and keeps
 * trying to attach to `exe` and `risk` until they exist. Once a second it
 * publishes the strategy's metrics() as gauges strategy_custom{strategy,name}. Returns 0, or
 * SE_ERETIRED when ring `in` was replaced (restart to follow it). */
int runner_run(runner_t *r, const volatile sig_atomic_t *stop);

/* Stops and destroys the strategy and detaches from rings and stats. */
void runner_close(runner_t *r);

#endif
