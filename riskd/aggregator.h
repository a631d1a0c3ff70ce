/* aggregator.h -- riskd's signal queue: the bounded, prioritised queue between
 * the strategies' signal rings and the risk checks. Used by riskd's runner.
 *
 * Order: strategies.configs.<name>.priority, higher first; within one priority,
 * oldest first (FIFO by push order). Bound: engine.signalBufferSize; when full,
 * the lowest-priority, oldest signal goes (possibly the one being pushed).
 * Expiry: a signal whose age (now - its push time) exceeds engine.signalTtlMs
 * is dropped as stale instead of being handed out. Every drop is counted and
 * handed back to the caller, so it can tell the strategy.
 *
 * Structure: one FIFO per priority level, the levels kept in a small array
 * sorted by priority (descending), the signals in one node pool allocated at
 * init. Strategies are few, so levels are few: push is O(levels) (finding the
 * level), pop is O(levels) (expiry looks at each level's head) and eviction is
 * O(1) (the tail level's head). A heap would make push O(log n) but needs a
 * second structure for "lowest-priority oldest", and would find stale signals
 * only when they reach its top; per-level FIFOs keep every level's oldest
 * signal at its head, so all stale signals are found by looking at the heads,
 * and signal_queue_size never counts an expired signal after a pop.
 *
 * Time: now_ns should come from one non-decreasing clock (clock_mono_ns). If
 * it ever goes backwards the queue stays safe and ordered, but a stale signal
 * behind a younger one in its level is only found when it reaches the head.
 *
 * Not thread-safe: one thread owns a queue. No allocation after agg_init. */
#ifndef RISKD_AGGREGATOR_H
#define RISKD_AGGREGATOR_H

#include <stdint.h>

#include "common/records.h"

/* Largest capacity agg_init accepts (engine.signalBufferSize). */
#define AGG_MAX_CAPACITY (1 << 24)

/* What agg_push and agg_pop did. Hot path: a small enum, never a message. */
typedef enum {
    AGG_QUEUED = 0,     /* push: stored; nothing dropped */
    AGG_EVICTED = 1,    /* push: the queue was full; the lowest-priority oldest
                           signal (possibly the pushed one) was dropped */
    AGG_POPPED = 2,     /* pop: *out holds the next signal */
    AGG_EMPTY = 3,      /* pop: no live signal is left (stale ones may have been dropped) */
    AGG_MORE_STALE = 4, /* pop: stale_out filled up before a live signal was
                           reached; *out is untouched; report them and pop again */
    AGG_INVALID = -1,   /* NULL argument or uninitialised queue; nothing changed */
} agg_result_t;

/* Counters since agg_init. Invariant, at every moment:
 * queued == popped + evicted + stale + agg_size(). */
typedef struct {
    uint64_t queued;  /* signals accepted by agg_push (one evicted on arrival included) */
    uint64_t popped;  /* signals handed out by agg_pop */
    uint64_t evicted; /* signals dropped because the queue was full */
    uint64_t stale;   /* signals dropped because they outlived the TTL */
    uint64_t max_depth; /* the deepest the queue has been */
} agg_counters_t;

/* One queued signal (internal; in the header so agg_t can be embedded). */
typedef struct {
    se_signal_rec_t sig;
    int64_t push_ns;
    int32_t next; /* next node of the same level, or of the free list; -1 ends */
    int32_t pad;
} agg_node_t;

/* One priority level: a FIFO of nodes. Only non-empty levels are kept. */
typedef struct {
    int priority;
    int32_t head, tail; /* oldest, newest */
    int32_t count;
} agg_level_t;

/* The queue. Embedded by the caller; agg_init allocates its tables. */
typedef struct {
    agg_node_t *nodes;   /* capacity nodes */
    agg_level_t *levels; /* non-empty levels, priority descending; at most capacity */
    int32_t free_head;   /* free-node list */
    int capacity;
    int size;
    int nlevels;
    agg_counters_t counters;
} agg_t;

/* Allocates a queue of `capacity` signals (engine.signalBufferSize).
 * Returns 0, -EINVAL (q NULL, capacity < 1 or > AGG_MAX_CAPACITY; a message
 * is in se_errmsg()) or -ENOMEM (nothing is left allocated). Free with agg_fini. */
int agg_init(agg_t *q, int capacity);

/* Frees the tables; the queued signals are discarded. Safe on a zeroed or
 * already finished queue; q may then be initialised again. */
void agg_fini(agg_t *q);

/* Queues a copy of *sig at `priority` (any int, higher goes first), aged from
 * now_ns. If the queue is full, the lowest-priority, oldest signal is dropped
 * to make room -- or the pushed signal itself, when its priority is strictly
 * lower than every queued one -- counted in `evicted` and copied to
 * *evicted_out (if not NULL) so the caller can tell its strategy.
 * Stale signals are not purged here (agg_push knows no TTL): a caller that
 * wants expired signals to go before live ones are evicted calls agg_expire
 * first. Returns AGG_QUEUED, AGG_EVICTED or AGG_INVALID. O(levels), no allocation. */
agg_result_t agg_push(agg_t *q, const se_signal_rec_t *sig, int priority, int64_t now_ns,
                      se_signal_rec_t *evicted_out);

/* Drops every stale signal (age now_ns - push time > ttl_ns), highest
 * priority first and oldest first within a level, copying each to
 * stale_out[0..] and counting it in `stale`. Stops after stale_max when
 * stale_out is not NULL (the rest wait for the next call); with stale_out
 * NULL every stale signal is dropped and counted unreported. ttl_ns <= 0
 * means no TTL (nothing is stale). Returns the number dropped, or -EINVAL
 * (q NULL or uninitialised). O(levels + dropped). */
int agg_expire(agg_t *q, int64_t now_ns, int64_t ttl_ns, se_signal_rec_t *stale_out, int stale_max);

/* Takes the highest-priority, oldest live signal into *out. On the way it
 * drops every stale signal in the queue, as agg_expire does (into
 * stale_out[0..stale_max), the count in *nstale), so after AGG_POPPED or
 * AGG_EMPTY the queue holds no stale signal. Returns AGG_POPPED, AGG_EMPTY,
 * AGG_MORE_STALE (stale_out is full and more stale signals remain; *out is
 * untouched: report these and call again) or AGG_INVALID (q, out or nstale
 * NULL; *nstale is 0 when nstale is not NULL). stale_out may be NULL (the stale
 * are dropped and counted unreported). ttl_ns <= 0 means no TTL. O(levels). */
agg_result_t agg_pop(agg_t *q, int64_t now_ns, int64_t ttl_ns, se_signal_rec_t *out,
                     se_signal_rec_t *stale_out, int stale_max, int *nstale);

/* The number of queued signals (the signal_queue_size gauge); 0 for NULL. */
int agg_size(const agg_t *q);

/* The capacity given to agg_init; 0 for NULL or an uninitialised queue. */
int agg_capacity(const agg_t *q);

/* The number of distinct priorities queued now. */
int agg_levels(const agg_t *q);

/* The counters since agg_init (borrowed; valid until agg_fini). */
const agg_counters_t *agg_counters(const agg_t *q);

/* A static name for r ("queued", "evicted", ...), for logs and tests. */
const char *agg_result_str(agg_result_t r);

#endif
