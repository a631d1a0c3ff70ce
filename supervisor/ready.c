/* ready.c -- see ready.h. Reads only what every layout version keeps or what
 * shm_segment_map validated; never trusts a segment. */
#include "supervisor/ready.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/records.h"
#include "shm/stats.h"

static bool ring_name(const shm_settings_t *set, const char *ring, char *out)
{
    return shm_settings_ring_name(set, ring, out, SHM_NAME_MAX) == 0;
}

/* True when pid is the live writer of ring. */
static bool writes(const shm_settings_t *set, const char *ring, pid_t pid)
{
    char name[SHM_NAME_MAX];
    uint64_t owner;
    bool alive;
    return ring_name(set, ring, name) && shm_segment_writer_of(name, &owner, &alive) == 0 &&
           SHM_OWNER_PID(owner) == (uint32_t)pid && alive;
}

/* True when pid holds a reader slot of ring. */
static bool reads(const shm_settings_t *set, const char *ring, pid_t pid)
{
    char name[SHM_NAME_MAX];
    shm_segment_t seg;
    if (!ring_name(set, ring, name) || shm_segment_map(&seg, name, false) < 0)
        return false;
    bool found = false;
    for (int i = 0; seg.reg && i < SHM_MAX_READERS && !found; i++)
        found = SHM_OWNER_PID(shm__load_acquire(&seg.reg->readers[i].owner)) == (uint32_t)pid &&
                shm_segment_reader_alive(&seg, i);
    shm_segment_unmap(&seg);
    return found;
}

bool ready_check(const shm_settings_t *set, const proc_t *p, pid_t pid)
{
    char ring[80];
    switch (p->kind) {
    case PROC_INGEST: return writes(set, SE_RING_IN, pid);
    case PROC_EXECD: return writes(set, SE_RING_EXEC, pid);
    case PROC_RISKD: return writes(set, SE_RING_ORDERS, pid);
    case PROC_STRATEGY:
        snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, p->strategy);
        return writes(set, ring, pid) && reads(set, SE_RING_IN, pid);
    case PROC_KINDS: break;
    }
    return false;
}

bool ready_drained(const shm_settings_t *set, const char *ring)
{
    char name[SHM_NAME_MAX];
    shm_segment_t seg;
    if (!ring_name(set, ring, name) || shm_segment_map(&seg, name, false) < 0)
        return true;
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    bool drained = true;
    for (int i = 0; seg.reg && i < SHM_MAX_READERS && drained; i++) {
        shm_reader_slot_t *s = &seg.reg->readers[i];
        if (shm_segment_reader_alive(&seg, i) && shm__load_acquire(&s->position) < head)
            drained = false;
    }
    shm_segment_unmap(&seg);
    return drained;
}

int ready_stats_value(const shm_settings_t *set, const char *process, const char *name, const char *labels,
                      double *out)
{
    char ring[80], seg_name[SHM_NAME_MAX];
    shm_segment_t seg;
    snprintf(ring, sizeof ring, "stats.%s", process);
    if (!ring_name(set, ring, seg_name) || shm_segment_map(&seg, seg_name, false) < 0)
        return -ENOENT;
    int rc = -ENOENT;
    if (seg.kind == SHM_KIND_STATS && seg.record_size == STATS_RECORD_SIZE) {
        for (uint32_t i = 0; i < seg.capacity && rc < 0; i++) {
            const char *rec = (const char *)seg.hdr + seg.header_size + (size_t)i * STATS_RECORD_SIZE;
            /* Pairs with the release store that published the slot. */
            if (shm__load_acquire((_Atomic uint64_t *)rec) != SHM_SEQ_READY(i))
                continue;
            const stats_metric_t *m = (const stats_metric_t *)(rec + SHM_SEQ_BYTES);
            if (strncmp(m->name, name, STATS_NAME_MAX) != 0 || strncmp(m->labels, labels, STATS_LABELS_MAX) != 0)
                continue;
            *out = m->type == STATS_GAUGE ? stats_gauge_value(m)
                                          : (double)shm__load_relaxed((_Atomic uint64_t *)&m->value);
            rc = 0;
        }
    }
    shm_segment_unmap(&seg);
    return rc;
}

typedef struct {
    ready_writer_t *out;
    int n, max;
    pid_t self;
} writers_t;

static proc_kind_t kind_of(const char *process)
{
    if (strcmp(process, "ingest") == 0)
        return PROC_INGEST;
    if (strcmp(process, "execd") == 0)
        return PROC_EXECD;
    if (strcmp(process, "riskd") == 0)
        return PROC_RISKD;
    if (strncmp(process, "strategyd.", 10) == 0)
        return PROC_STRATEGY;
    return PROC_KINDS;
}

static void collect(const char *name, const char *ring, void *arg)
{
    writers_t *w = arg;
    uint64_t owner;
    bool alive;
    if (shm_segment_writer_of(name, &owner, &alive) < 0 || !alive)
        return;
    pid_t pid = (pid_t)SHM_OWNER_PID(owner);
    if (pid == w->self)
        return;
    /* A stats block names its process; a ring (sig.X, in, ...) is only a hint. */
    char process[PROC_NAME_MAX];
    if (strncmp(ring, "stats.", 6) == 0)
        snprintf(process, sizeof process, "%s", ring + 6);
    else if (strncmp(ring, SE_RING_SIGNAL_PREFIX, strlen(SE_RING_SIGNAL_PREFIX)) == 0)
        snprintf(process, sizeof process, "strategyd.%s", ring + strlen(SE_RING_SIGNAL_PREFIX));
    else
        snprintf(process, sizeof process, "%s", strcmp(ring, SE_RING_IN) == 0 ? "ingest"
                                                : strcmp(ring, SE_RING_EXEC) == 0 ? "execd"
                                                : "riskd");
    for (int i = 0; i < w->n; i++)
        if (w->out[i].pid == pid) {
            if (strncmp(ring, "stats.", 6) == 0) {
                snprintf(w->out[i].process, sizeof w->out[i].process, "%s", process);
                w->out[i].kind = kind_of(process);
            }
            return;
        }
    if (w->n == w->max)
        return;
    ready_writer_t *e = &w->out[w->n++];
    e->pid = pid;
    e->start = SHM_OWNER_START(owner);
    snprintf(e->process, sizeof e->process, "%s", process);
    e->kind = kind_of(process);
}

int ready_live_writers(const shm_settings_t *set, ready_writer_t *out, int max)
{
    writers_t w = { out, 0, max, getpid() };
    shm_segment_list(set->prefix, set->instance, collect, &w);
    return w.n;
}

typedef struct {
    int removed;
    pid_t self;
} removal_t;

static void remove_one(const char *name, const char *ring, void *arg)
{
    removal_t *r = arg;
    uint64_t owner = 0;
    (void)ring;
    bool alive;
    if (shm_segment_writer_of(name, &owner, &alive) == 0 && alive &&
        SHM_OWNER_PID(owner) != (uint32_t)r->self) {
        log_warn("segment kept: its writer is alive", LOG_STR("segment", name),
                 LOG_UINT("pid", SHM_OWNER_PID(owner)));
        return;
    }
    /* Our own stats block: we hold its claim ourselves. */
    int rc = SHM_OWNER_PID(owner) == (uint32_t)r->self && shm_unlink(name) == 0 ? 0 : shm_segment_remove(name);
    if (rc == 0)
        r->removed++;
    else
        log_warn("segment kept", LOG_STR("segment", name), LOG_STR("error", se_errmsg()));
}

int ready_remove_segments(const shm_settings_t *set)
{
    removal_t r = { 0, getpid() };
    shm_segment_list(set->prefix, set->instance, remove_one, &r);
    shm_registry_dirs_remove(set->prefix, set->instance);
    return r.removed;
}
