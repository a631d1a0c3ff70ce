/* stats.h -- a process's metrics in shared memory (its "stats block"): named
 * counters, gauges and latency histograms, one fixed slot each, written only
 * by the owning process and read from outside (shmtool stats, /metrics).
 * The segment is /<prefix>.<instance>.stats.<process>, a shm_header_t of kind
 * SHM_KIND_STATS whose records are the slots. Counters survive a restart: the
 * restarted process takes its block over and finds its slots by name. */
#ifndef SHM_STATS_H
#define SHM_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shm/ring.h"
#include "shm/settings.h"

#define STATS_NAME_MAX   48
#define STATS_LABELS_MAX 64
#define STATS_BUCKETS    13 /* finite histogram bounds; +Inf is the count */
#define STATS_SLOTS      256
#define STATS_RECORD_SIZE 256u
#define STATS_RECORD_TYPE 3u

typedef enum { STATS_COUNTER = 1, STATS_GAUGE = 2, STATS_HISTOGRAM = 3 } stats_type_t;

/* One metric. `value` is a counter's count or a gauge's value (a double's
 * bits); histograms count observations per bucket (bounds: stats_bounds_us). */
typedef struct {
    char name[STATS_NAME_MAX];     /* Prometheus name, e.g. "strategy_errors_total" */
    char labels[STATS_LABELS_MAX]; /* Prometheus label pairs, e.g. "reason=\"bad_json\"" or "" */
    uint32_t type;                 /* stats_type_t; 0 while the slot is unused */
    uint32_t reserved;
    _Atomic uint64_t value;
    _Atomic uint64_t count;        /* histogram: observations */
    _Atomic uint64_t sum_ns;       /* histogram: sum of observations, in ns */
    _Atomic uint64_t buckets[STATS_BUCKETS]; /* histogram: observations <= bound (not cumulative) */
} stats_metric_t;

_Static_assert(sizeof(stats_metric_t) <= STATS_RECORD_SIZE - SHM_SEQ_BYTES, "metric fits a slot");

/* The histogram upper bounds, in microseconds. */
extern const double stats_bounds_us[STATS_BUCKETS];

typedef struct {
    shm_writer_t w;
    stats_metric_t *slots; /* shared: STATS_SLOTS of them, STATS_RECORD_SIZE apart */
} stats_t;

/* Creates or takes over the stats block of process (e.g. "ingest",
 * "strategyd.momentum"). Returns 0 or a negative code (see shm_writer_open). */
int stats_open(stats_t *s, const shm_settings_t *set, const char *process);

/* Detaches; with unlink, removes the block too. */
void stats_close(stats_t *s, bool unlink);

/* Returns the metric (name, labels), creating it with type if new, or NULL
 * when the block is full or an existing slot has another type (cold path:
 * call at start-up and keep the pointer). */
stats_metric_t *stats_metric(stats_t *s, stats_type_t type, const char *name, const char *labels);

/* Hot path: each metric has one writing thread; relaxed atomics keep readers
 * in other processes well-defined. */
static inline void stats_add(stats_metric_t *m, uint64_t n)
{
    shm__store_relaxed(&m->value, shm__load_relaxed(&m->value) + n);
}

static inline void stats_set(stats_metric_t *m, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    shm__store_relaxed(&m->value, bits);
}

static inline double stats_gauge_value(const stats_metric_t *m)
{
    uint64_t bits = shm__load_relaxed((_Atomic uint64_t *)&m->value);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Records one duration (ns) in a histogram. */
static inline void stats_observe_ns(stats_metric_t *m, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    double us = (double)ns / 1000.0;
    for (int i = 0; i < STATS_BUCKETS; i++) {
        if (us <= stats_bounds_us[i]) {
            shm__store_relaxed(&m->buckets[i], shm__load_relaxed(&m->buckets[i]) + 1);
            break;
        }
    }
    shm__store_relaxed(&m->count, shm__load_relaxed(&m->count) + 1);
    shm__store_relaxed(&m->sum_ns, shm__load_relaxed(&m->sum_ns) + (uint64_t)ns);
}

/* ---- reading another process's block (cold path) ---------------------------- */

/* Maps the stats block of process (e.g. "supervisor", "ingest") read-only
 * into *seg. Returns 0, -ENOENT when there is none, or a validation code;
 * release with shm_segment_unmap. Whether its writer still runs is
 * shm_segment_writer_alive(seg). */
int stats_map(const shm_settings_t *set, const char *process, shm_segment_t *seg);

/* Copies the published metric (name, labels) of a mapped block into *out
 * (labels NULL or "" for none). Returns 0 or -ENOENT. */
int stats_find(const shm_segment_t *seg, const char *name, const char *labels, stats_metric_t *out);

/* Calls fn with a private copy of every published metric named name (every
 * metric for NULL), in slot order. fn's argument is borrowed for the call. */
void stats_foreach(const shm_segment_t *seg, const char *name,
                   void (*fn)(const stats_metric_t *m, void *arg), void *arg);

/* Copies the value of label key from a label string (`a="x",b="y"`) into out.
 * Returns 0, or -ENOENT when the label is absent or does not fit. */
int stats_label(const char *labels, const char *key, char *out, size_t size);

/* Writes every metric of a mapped stats block in the Prometheus text format,
 * adding the label process="<process>" to each. Returns 0 or -errno. */
int stats_render_prometheus(const shm_segment_t *seg, const char *process, FILE *out);

#endif
