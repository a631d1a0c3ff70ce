/* ready.h -- what the supervisor reads from shared memory about its
 * processes: whether a new one is ready (it writes its ring, it is attached),
 * whether a ring has been read to its end (drain before a stop), and which
 * live processes still write the instance's segments (a supervisor taking
 * over, a final clean-up). Used by sup.c. */
#ifndef SUPERVISOR_READY_H
#define SUPERVISOR_READY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/settings.h"
#include "supervisor/proc.h"

/* True when pid has come far enough to do its job: ingest writes `in`, execd
 * writes `exe`, riskd writes `ord`, a strategy writes sig.<name> and reads
 * `in` (so it sees ticks from now on). */
bool ready_check(const shm_settings_t *set, const proc_t *p, pid_t pid);

/* True when every live reader of ring has read everything its writer
 * published (or the ring does not exist). */
bool ready_drained(const shm_settings_t *set, const char *ring);

/* Reads one metric of process's stats block ("supervisor", "riskd", ...):
 * a gauge's value or a counter's count into *out. Returns 0, or -ENOENT when
 * the block or the metric (name and labels exactly) is not there. Used by
 * the supervisor's tests and benchmark to watch it from outside. */
int ready_stats_value(const shm_settings_t *set, const char *process, const char *name, const char *labels,
                      double *out);

/* A live process that writes a segment of the instance. */
typedef struct {
    pid_t pid;
    uint32_t start;              /* its start time (owner word), to tell a reused pid */
    char process[PROC_NAME_MAX]; /* from its stats block's name, or its ring's */
    proc_kind_t kind;            /* PROC_KINDS when the name says nothing */
} ready_writer_t;

/* Lists up to max live writers of the instance's segments other than the
 * calling process, one entry per pid. Returns how many. */
int ready_live_writers(const shm_settings_t *set, ready_writer_t *out, int max);

/* Removes every segment of the instance whose writer is not alive; a segment
 * a live process still writes is kept and logged. Returns how many were
 * removed. */
int ready_remove_segments(const shm_settings_t *set);

#endif
