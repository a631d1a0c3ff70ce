/* proc.h -- the supervisor's process table: one entry per engine process it
 * runs (ingest, execd, riskd, one strategyd per strategy), how each is spawned,
 * and the restart policy (backoff, restart intensity). Used by sup.c. */
#ifndef SUPERVISOR_PROC_H
#define SUPERVISOR_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/stats.h"

#define PROC_NAME_MAX  48 /* "strategyd.<24-byte strategy name>" */
#define PROC_MAX       68 /* ingest, execd, riskd and up to 64 strategies (riskd's limit) */
#define PROC_HISTORY   64 /* crash restarts remembered for the intensity limit */

/* Start order; shutdown runs it backwards. */
typedef enum { PROC_INGEST = 0, PROC_EXECD, PROC_RISKD, PROC_STRATEGY, PROC_KINDS } proc_kind_t;

typedef enum {
    PROC_STOPPED = 0, /* not running, by request (or never started) */
    PROC_STARTING,    /* spawned, not yet ready (ready.h says when) */
    PROC_RUNNING,     /* ready */
    PROC_BACKOFF,     /* died; waits until next_start_ns to be started again */
    PROC_STOPPING,    /* SIGTERM sent; `then` says what follows its exit */
    PROC_FAILED,      /* restarted too often: left down until an operator acts */
    PROC_EXITED,      /* ended by itself with status 0 (e.g. a replay that finished) */
} proc_state_t;

/* What to do once a STOPPING process has exited. */
typedef enum { THEN_STOP = 0, THEN_START, THEN_REMOVE } proc_then_t;

/* The restart policy (supervisor.* keys). */
typedef struct {
    int max_restarts;       /* supervisor.maxRestarts: more than this ... */
    int64_t window_ns;      /* ... within supervisor.restartWindowS: failed */
    int64_t backoff_initial_ns; /* supervisor.backoffInitialMs */
    int64_t backoff_max_ns;     /* supervisor.backoffMaxMs */
    int64_t stop_timeout_ns;    /* supervisor.stopTimeoutMs: then SIGKILL */
    int64_t start_timeout_ns;   /* supervisor.startTimeoutMs: start the next ones anyway */
} proc_policy_t;

/* A file a strategy loads (its plugin .so or script), as it was when the
 * strategy last started: a different identity means a new version. */
typedef struct {
    char path[256]; /* "" for a built-in strategy */
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    bool exists;
} proc_file_t;

typedef struct {
    char name[PROC_NAME_MAX];     /* "ingest", "riskd", "strategyd.momentum" */
    char strategy[32];            /* the strategy's name, "" for the others */
    proc_kind_t kind;
    proc_state_t state;
    proc_then_t then;
    pid_t pid;                    /* 0 when not running */
    int64_t spawned_ns;           /* CLOCK_MONOTONIC of the last spawn */
    int64_t ready_ns;             /* CLOCK_MONOTONIC when it became ready */
    int64_t started_real_ns;      /* CLOCK_REALTIME of the last spawn */
    int64_t next_start_ns;        /* BACKOFF: when to start again */
    int64_t stop_deadline_ns;     /* STOPPING: SIGKILL after this */
    int64_t died_ns;              /* CLOCK_MONOTONIC of the last unexpected death */
    int64_t last_restart_ns;      /* death to ready of the last crash restart, or -1 */
    int64_t crashes[PROC_HISTORY];/* CLOCK_MONOTONIC of crash restarts, for the window */
    int ncrashes;
    uint64_t restarts;            /* every start after the first */
    uint64_t reloads;             /* restarts for a new plugin/script/config */
    int last_status;              /* wait status of the last exit, -1 for none */
    bool killed;                  /* the last stop needed SIGKILL */
    uint64_t cfg_hash;            /* the configuration it was started with */
    proc_file_t file;             /* STRATEGY: the plugin or script it loaded */
    proc_file_t rejected;         /* the last version its check refused (not tried again) */
    uint64_t rejected_hash;
    bool started_once;
    stats_metric_t *m_up, *m_failed, *m_pid, *m_start, *m_restarts, *m_reloads, *m_managed,
        *m_reload_failures;
} proc_t;

/* "running", "failed", ... as shown by status. */
const char *proc_state_name(proc_state_t s);

/* The delay before restarting a process that has already been restarted
 * `recent` times within the window: none for the first crash after a quiet
 * window (a killed strategy is back at once), then backoff_initial, doubling
 * up to backoff_max. */
int64_t proc_backoff_ns(const proc_policy_t *p, int recent);

/* Forgets crash restarts older than the window (relative to now) and returns
 * how many are left. */
int proc_recent_crashes(proc_t *p, const proc_policy_t *pol, int64_t now);

/* Records an unexpected death at now and decides: returns true and sets
 * state BACKOFF with next_start_ns when the process may be restarted, or
 * false (state FAILED) when that would be more than max_restarts restarts
 * within the window. */
bool proc_on_crash(proc_t *p, const proc_policy_t *pol, int64_t now);

/* Fills f with the identity of the file at path ("" for none). */
void proc_file_stat(proc_file_t *f, const char *path);

/* True when the two identities name different versions of the file. */
bool proc_file_changed(const proc_file_t *a, const proc_file_t *b);

/* The user a child runs as (engine.users, with the supervisor started as root). */
typedef struct {
    bool set;            /* false: the supervisor's own */
    uid_t uid;
    gid_t gid;
    int ngroups;
    gid_t groups[4];     /* supplementary: engine.shmGroup, and for riskd execd's group */
} proc_cred_t;

/* Forks and execs argv[0] (a full path) with argv; the child gets its own
 * process group (a Ctrl-C at the terminal reaches only the supervisor, which
 * stops everything in order), an empty signal mask, stdin from /dev/null,
 * the user and groups of cred (if set; NULL or unset: ours), and
 * PR_SET_PDEATHSIG(SIGTERM) so it stops when the supervisor dies, even by
 * SIGKILL. A child that cannot take its user exits 126 before exec, saying so.
 * Returns the pid, or a negative code with se_errmsg(). */
pid_t proc_spawn(char *const argv[], const proc_cred_t *cred);

/* Describes a wait status: "exit 1", "signal 9 (Killed)". */
void proc_describe_status(int status, char *out, size_t size);

#endif
