/* watch.h -- riskd's watch on whether trading is alive, beyond the trading
 * state: signals all refused by one rule, a ring reader left behind, a silent
 * market-data feed. Fed by riskd's runner on its once-a-second chores (never
 * per record); read by the HTTP threads for /health and /status.
 *
 * A stall is not a breach: ACTIVE/REDUCING/HALTED keep their meaning (what
 * the checker lets through), and a stall is reported beside them as its own
 * condition, with its reason, in /health (503), /status ("stalled"), the
 * gauge trading_stalled{reason} and the log (once when it starts, once when
 * it ends). The three conditions:
 *
 *   rejecting    every signal of the last riskd.stallSeconds (default 60)
 *                was refused, all by the same rule, and at least
 *                riskd.stallMinSignals (default 10) signals arrived in that
 *                window (fewer is a quiet market, not a stall). Refusals by
 *                kill_switch and halted are the HALTED state doing its job
 *                (/health says HALTED already) and never make a stall.
 *   reader_lag   a live reader of ring in, exe, risk, ord or a sig.<strategy>
 *                ring is more than riskd.lagRecords records (default 4096,
 *                at most half the ring) behind the head, or has left records
 *                unread, without moving, for riskd.lagSeconds (default 5).
 *   feed_silent  no market data reached ring `in` (as riskd sees it: the
 *                latest quote it marked) for riskd.feedSilenceSeconds
 *                (default 0: off; a 24/7 feed wants it on, an exchange
 *                with trading hours needs a schedule this does not have).
 *
 * A key set to 0 turns its condition off. Time is passed in by the caller
 * (mono for windows, CLOCK_REALTIME where it compares with shared-memory
 * stamps), so tests drive it without sleeping. */
#ifndef RISKD_WATCH_H
#define RISKD_WATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/service.h"
#include "shm/settings.h"
#include "shm/stats.h"

#define RISKD_STALL_SECONDS      60    /* riskd.stallSeconds */
#define RISKD_STALL_MIN_SIGNALS  10    /* riskd.stallMinSignals */
#define RISKD_LAG_RECORDS        4096  /* riskd.lagRecords */
#define RISKD_LAG_SECONDS        5     /* riskd.lagSeconds */
#define RISKD_FEED_SILENCE_SECONDS 0   /* riskd.feedSilenceSeconds */
#define RISKD_STALL_SECONDS_MAX  3600

#define RISKD_WATCH_RULES_MAX    32    /* reject rules watched */
#define RISKD_WATCH_RINGS_MAX    72    /* in, exe, risk, ord and every signal ring */
#define RISKD_WATCH_PER_COND     4     /* reasons kept per condition */

typedef enum {
    RISKD_STALL_REJECTING = 0,
    RISKD_STALL_READER_LAG,
    RISKD_STALL_FEED_SILENT,
    RISKD_STALL_COUNT
} riskd_stall_t;

typedef struct {
    int64_t stall_ns;        /* 0: off */
    uint64_t stall_min;
    uint64_t lag_records;    /* 0: off */
    int64_t lag_ns;          /* 0: off */
    int64_t silence_ns;      /* 0: off */
    char feed[24];           /* ingest.feed, for the reason */
} riskd_watch_config_t;

/* Internal: one reader of one watched ring, as last seen. */
typedef struct {
    uint64_t owner, pos;
    int64_t unread_ns;       /* CLOCK_REALTIME since when it has had records unread at pos; 0: none */
    int64_t behind_since_ns; /* when it first lagged, 0 while it does not */
} riskd__reader_seen_t;

/* Internal: signals decided so far, at a time (history of the rejecting window). */
typedef struct {
    int64_t t;
    uint64_t decided;
} riskd__decided_t;

typedef struct {
    riskd_watch_config_t c;
    int64_t start_mono, start_real;
    /* rejecting */
    bool primed;
    uint64_t approved, rejected[RISKD_WATCH_RULES_MAX], decided;
    int streak_rule;         /* the one rule refusing everything since streak_ns; -1: none */
    int64_t streak_ns, last_tick;
    riskd__decided_t *hist;  /* ring of hist_cap, at most one entry a second */
    uint32_t hist_cap, hist_head, hist_n;
    /* reader_lag */
    riskd__reader_seen_t seen[RISKD_WATCH_RINGS_MAX][16];
    char seen_ring[RISKD_WATCH_RINGS_MAX][80];
    /* what holds now, per condition (main loop only) */
    int n[RISKD_STALL_COUNT];
    char text[RISKD_STALL_COUNT][RISKD_WATCH_PER_COND][SVC_REASON_LEN];
    bool was[RISKD_STALL_COUNT];
    int64_t since_mono[RISKD_STALL_COUNT];
    stats_metric_t *gauge[RISKD_STALL_COUNT], *count[RISKD_STALL_COUNT];
    /* what the HTTP threads read, under mu */
    pthread_mutex_t mu;
    _Atomic bool ready;
    int pub_n;
    riskd_stall_t pub_cond[RISKD_STALL_COUNT * RISKD_WATCH_PER_COND];
    char pub[RISKD_STALL_COUNT * RISKD_WATCH_PER_COND][SVC_REASON_LEN];
} riskd_watch_t;

/* Reads the riskd.stallSeconds, riskd.stallMinSignals, riskd.lagRecords,
 * riskd.lagSeconds and riskd.feedSilenceSeconds keys (and ingest.feed) into
 * *c, defaults above. cfg may be NULL (all defaults). 0 or a negative code
 * naming the key (se_errmsg). */
int riskd_watch_load(const cfg_t *cfg, riskd_watch_config_t *c);

/* Sets up w (embedded by the caller) with a copy of *c; allocates the
 * rejecting window's history. stats may be NULL (no metrics); otherwise the
 * gauges trading_stalled{reason} and counters trading_stalls_total{reason}
 * are made now. 0 or -ENOMEM. Free with riskd_watch_fini. */
int riskd_watch_init(riskd_watch_t *w, const riskd_watch_config_t *c, stats_t *stats, int64_t now_mono,
                     int64_t now_real);

/* Frees the history. Safe on a zeroed watch. */
void riskd_watch_fini(riskd_watch_t *w);

/* The rejecting condition. approved is the total of signals turned into
 * orders, rejected[i] the total refused by rule names[i] (static strings, the
 * same order on every call; n <= RISKD_WATCH_RULES_MAX), both since start. */
void riskd_watch_signals(riskd_watch_t *w, int64_t now_mono, uint64_t approved, const uint64_t *rejected,
                         const char *const *names, int n);

/* The reader_lag condition: maps each ring (logical names: "in", "sig.x")
 * read-only, reads its registry's live reader slots, then unmaps it. A ring
 * that does not exist has no lag. n <= RISKD_WATCH_RINGS_MAX. */
void riskd_watch_rings(riskd_watch_t *w, const shm_settings_t *set, const char *const *rings, int n,
                       int64_t now_real);

/* The feed_silent condition: last_md_real is the CLOCK_REALTIME of the
 * latest market data seen on `in` (0: none since start). */
void riskd_watch_market(riskd_watch_t *w, int64_t last_md_real, int64_t now_real);

/* After the inputs of a tick: logs each condition that started or ended,
 * sets the metrics, and publishes the reasons for the HTTP threads. */
void riskd_watch_publish(riskd_watch_t *w, int64_t now_mono);

/* HTTP side: adds every current stall reason to why. Nothing before init. */
void riskd_watch_health(riskd_watch_t *w, svc_reasons_t *why);

/* HTTP side: calls fn for each current stall, with its condition's name
 * ("rejecting", "reader_lag", "feed_silent") and its reason, under the lock
 * (fn must not call back into w). Returns how many. */
int riskd_watch_each(riskd_watch_t *w, void (*fn)(const char *cond, const char *reason, void *arg), void *arg);

/* "rejecting", "reader_lag" or "feed_silent". */
const char *riskd_stall_name(riskd_stall_t s);

#endif
