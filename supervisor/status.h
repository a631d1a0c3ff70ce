/* status.h -- what `bin/strategy-engine status` shows: every process with its
 * pid, state, restarts and uptime, as a table or as JSON (README, "Running
 * the engine", documents the JSON). Used by sup.c to answer the control
 * socket. */
#ifndef SUPERVISOR_STATUS_H
#define SUPERVISOR_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/proc.h"

typedef struct {
    const char *instance;
    pid_t supervisor_pid;
    bool hot_reload;
    bool stopping;
    int64_t now_mono_ns; /* for uptimes */
} status_info_t;

/* Renders the n processes into a malloc'd string (the caller frees it), as
 * a table or as one JSON object per the README. NULL when out of memory. */
char *status_render(const status_info_t *info, const proc_t *procs, int n, bool json);

#endif
