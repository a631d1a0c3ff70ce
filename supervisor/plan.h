/* plan.h -- what the configuration asks the supervisor to run: the processes
 * in start order, the file each strategy loads, a fingerprint of the keys each
 * process reads (to tell which ones a changed file affects), and the
 * supervisor.* policy. Used by sup.c at start and on every hot reload. */
#ifndef SUPERVISOR_PLAN_H
#define SUPERVISOR_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "supervisor/proc.h"

typedef struct {
    char name[PROC_NAME_MAX]; /* "ingest", "strategyd.momentum" */
    char strategy[32];        /* "" unless kind is PROC_STRATEGY */
    proc_kind_t kind;
    uint64_t hash;            /* fingerprint of the keys this process reads */
    char file[256];           /* PROC_STRATEGY: its plugin or script path, or "" */
} plan_proc_t;

typedef struct {
    int n;
    plan_proc_t procs[PROC_MAX]; /* ingest, execd, riskd, then strategies.enabled in order */
    proc_policy_t policy;
    bool hot_reload;             /* engine.hotReload, default true */
    char prefix[33], instance[33];
} plan_t;

/* Reads the plan from cfg. Returns 0, or SE_ECONFIG naming file, line and key
 * (a bad or duplicate strategy name, a value out of range). */
int plan_load(const cfg_t *cfg, plan_t *out);

/* The entry named name, or NULL. */
const plan_proc_t *plan_find(const plan_t *p, const char *name);

#endif
