/* shmtool.h -- internals shared by the files of the shmtool CLI (shm/shmtool*.c).
 * Not part of libse: nothing outside shmtool includes it. */
#ifndef SHM_SHMTOOL_H
#define SHM_SHMTOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shm/layout.h"
#include "shm/segment.h"

/* Exit codes: usage errors are the caller's to fix, runtime errors the host's. */
#define SHMTOOL_EXIT_OK      0
#define SHMTOOL_EXIT_RUNTIME 1
#define SHMTOOL_EXIT_USAGE   2

/* The parsed command line. Strings point into argv. */
typedef struct {
    const char *prefix;   /* -p, default SHM_DEFAULT_PREFIX */
    const char *instance; /* -i, default SHM_DEFAULT_INSTANCE */
    const char *ring;     /* RING of info and tail */
    const char *file;     /* FILE of record */
    char segment[SHM_NAME_MAX]; /* "/<prefix>.<instance>.<ring>" when ring is set */
    bool json;            /* --json: ls, info */
    bool follow;          /* -f: tail */
    bool dry_run;         /* --dry-run: gc */
    long count;           /* -n: tail's record count; top's iterations (0: until a signal) */
    double interval_s;    /* -d: top */
} shmtool_opts_t;

/* One used reader slot, copied out of shared memory. */
typedef struct {
    int slot;
    char name[SHM_READER_NAME_MAX + 1]; /* NUL-terminated copy; may hold odd bytes */
    uint32_t pid;
    uint64_t pid_start;
    bool alive;
    uint64_t position;
    uint64_t drops;
    uint64_t attached_ns;
    uint64_t last_active_ns;
} shmtool_reader_t;

/* Everything shmtool shows about one valid segment, read once. The geometry
 * (kind, record_size, capacity, header_size) is the one validated when the
 * segment was mapped (shm_segment_t's copy), never the live header's. Reader
 * positions are read before head, so head - position is never negative for a
 * well-behaved reader (a negative lag really means a position ahead of the writer). */
typedef struct {
    uint32_t kind;
    uint32_t record_size;
    uint32_t capacity;
    uint32_t header_size;
    bool geometry_changed;        /* the live header no longer says the above: corrupt */
    uint32_t record_type;
    uint64_t created_ns;
    uint32_t writer_pid;
    uint64_t writer_pid_start;
    bool writer_alive;
    uint32_t writer_generation;
    uint64_t writer_attached_ns;
    uint64_t heartbeat_ns;
    bool retired;
    uint64_t head;
    int nreaders;                 /* used slots (name non-empty) */
    int nreaders_alive;
    int live_claims;              /* slots of any name held by a live pid (gc) */
    shmtool_reader_t readers[SHM_MAX_READERS];
} shmtool_snap_t;

/* The segments of one instance, as found in /dev/shm. */
typedef struct {
    char name[SHM_NAME_MAX]; /* "/se.default.in" */
    char ring[SHM_NAME_MAX]; /* "in" */
} shmtool_entry_t;

typedef struct {
    shmtool_entry_t *v;
    size_t n, cap;
} shmtool_list_t;

/* Set by SIGINT/SIGTERM once shmtool__catch_stop_signals has run. */
extern volatile sig_atomic_t shmtool__stop;

/* Installs SIGINT/SIGTERM handlers that set shmtool__stop (no SA_RESTART, so
 * sleeps end early). */
void shmtool__catch_stop_signals(void);

/* Sleeps for seconds, or less if a stop signal arrives. Returns false when
 * stopped. */
bool shmtool__sleep(double seconds);

/* Names the segment being read, for the message printed if it shrinks under
 * us (SIGBUS). name is borrowed until the next call; NULL clears it. */
void shmtool__reading(const char *name);

/* Maps segment name read-only and validates it (shm_segment_map), and checks
 * that the geometry kept in seg fits the mapping (shm_segment_geometry_ok):
 * every command sizes and indexes with that copy only. Returns 0 or
 * the negative code; on failure why holds a short operator-facing reason
 * ("missing", "not ready", "other layout version 7", "corrupt: bad magic ...")
 * and se_errmsg() the full message. */
int shmtool__open(shm_segment_t *seg, const char *name, char *why, size_t why_size);

/* shmtool__open for the RING of info and tail (o->segment). On failure prints
 * one line naming the ring and segment and returns SHMTOOL_EXIT_RUNTIME;
 * otherwise SHMTOOL_EXIT_OK with seg mapped. */
int shmtool__open_ring(const shmtool_opts_t *o, shm_segment_t *seg);

/* Copies the header and reader slots of a mapped, validated segment into snap,
 * and judges the liveness of every pid named there. */
void shmtool__snapshot(const shm_segment_t *seg, shmtool_snap_t *snap);

/* True while the live header still says the geometry validated at map time
 * (seg's copy). Nothing is indexed with the live header; a change only means
 * a peer is corrupting the segment, which the commands report. */
bool shmtool__same_geometry(const shm_segment_t *seg);

/* One line for the operator: what the live header says now against what
 * was validated. */
void shmtool__describe_change(const shm_segment_t *seg, char *out, size_t out_size);

/* Lists the segments of the instance in name order into list (free with
 * shmtool__list_free). Returns 0, or a negative code with a message. */
int shmtool__list(const shmtool_opts_t *o, shmtool_list_t *list);
void shmtool__list_free(shmtool_list_t *list);

/* "alive", "dead", or "closed" (pid 0: the writer detached cleanly). */
const char *shmtool__writer_state(uint32_t pid, bool alive);
/* "alive", "dead", or "detached" for a reader slot. */
const char *shmtool__reader_state(uint32_t pid, bool alive);
/* "spsc", "broadcast" or "?". */
const char *shmtool__kind_name(uint32_t kind);

/* Nanoseconds from then to now, 0 when then is in the future. */
uint64_t shmtool__age_ns(uint64_t then_ns, uint64_t now_ns);
/* Formats an age ("120ms", "3.2s", "5m04s", "2h07m", "3d04h") or "never" for then == 0. */
void shmtool__fmt_age(char *out, size_t out_size, uint64_t then_ns, uint64_t now_ns);

/* Copies s (at most len bytes, stopping at NUL) into out for a terminal,
 * replacing control and non-ASCII bytes with '?'. */
void shmtool__printable(char *out, size_t out_size, const char *s, size_t len);

/* Writes s (len bytes, or up to a NUL) as a JSON string literal: quotes,
 * backslashes and control characters escaped, invalid UTF-8 as \ufffd. */
void shmtool__json_str(FILE *f, const char *s, size_t len);

/* The commands. Each returns the process exit code. */
int shmtool_ls(const shmtool_opts_t *o);
int shmtool_info(const shmtool_opts_t *o);
int shmtool_tail(const shmtool_opts_t *o);
int shmtool_top(const shmtool_opts_t *o);
int shmtool_gc(const shmtool_opts_t *o);
int shmtool_stats(const shmtool_opts_t *o);
int shmtool_record(const shmtool_opts_t *o);

#endif
