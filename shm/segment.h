/* segment.h -- naming, mapping and validation of shared-memory segments, and
 * process liveness checks. Used by the rings (ring.c) and by shmtool. */
#ifndef SHM_SEGMENT_H
#define SHM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/layout.h"

#define SHM_NAME_MAX 160
#define SHM_DEFAULT_PREFIX "se"
#define SHM_DEFAULT_INSTANCE "default"

/* A mapping of one segment. `hdr` points into shared memory. The geometry is
 * a private copy of what was validated at mapping time: code that indexes
 * records uses it, never the live header, which a faulty peer could change. */
typedef struct {
    char name[SHM_NAME_MAX]; /* "/<prefix>.<instance>.<ring>" */
    shm_header_t *hdr;
    size_t size;
    bool writable;
    shm_kind_t kind;
    uint32_t record_size;
    uint32_t capacity;
    uint32_t header_size;
} shm_segment_t;

/* Copies the (validated) geometry of s->hdr into s. */
static inline void shm_segment_keep_geometry(shm_segment_t *s)
{
    s->kind = (shm_kind_t)s->hdr->kind;
    s->record_size = s->hdr->record_size;
    s->capacity = s->hdr->capacity;
    s->header_size = s->hdr->header_size;
}

/* Builds "/<prefix>.<instance>.<ring>" into out. prefix and instance are
 * [A-Za-z0-9_-]{1,32}; ring is [A-Za-z0-9_.-]{1,64} and does not start with '.'.
 * NULL prefix or instance take the defaults. Returns 0, or -EINVAL with a
 * message naming the bad part. */
int shm_name(char *out, size_t out_size, const char *prefix, const char *instance, const char *ring);

/* Checks a header already mapped from a file of file_size bytes: magic (0 means
 * SE_ENOTREADY), layout version (SE_EVERSION), kind, record size, capacity and
 * total size (SE_ECORRUPT). Never reads past file_size. Returns 0 or a code with
 * a message naming the segment. */
int shm_segment_validate(const shm_header_t *h, size_t file_size, const char *name);

/* Maps the existing segment `name` whole, read-write or read-only, and
 * validates it. Returns 0, -ENOENT when it does not exist, or a validation
 * code; on failure nothing stays mapped. */
int shm_segment_map(shm_segment_t *s, const char *name, bool writable);

/* Reads the writer's owner word of segment `name` from its offset, which
 * every layout version keeps (layout.h), without validating the rest.
 * Returns 0, or a negative code when the file cannot be read or is too small. */
int shm_segment_writer_of(const char *name, uint64_t *owner);

/* Unmaps s (the segment itself stays in /dev/shm). Safe on a zeroed s. */
void shm_segment_unmap(shm_segment_t *s);

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks since
 * boot), or 0 when unknown. Together with the pid it names one process for
 * good, even after the pid is reused. */
uint64_t shm_pid_start(pid_t pid);

/* True when pid is a running process (not a zombie) and, if start is
 * non-zero, the same one whose start time has these low 32 bits. A pid we may
 * not signal, or whose /proc entry we cannot read, counts as alive. */
bool shm_pid_alive(uint32_t pid, uint32_t start);

/* shm_pid_alive for an owner word (SHM_OWNER); false for 0. */
bool shm_owner_alive(uint64_t owner);

/* The owner word of the calling process (recomputed after a fork). */
uint64_t shm_owner_self(void);

/* Calls fn for every segment of the instance in /dev/shm, in name order, with
 * its full name ("/se.default.in") and its ring part ("in"). Returns 0 or a
 * negative errno if /dev/shm cannot be read. */
int shm_segment_list(const char *prefix, const char *instance,
                     void (*fn)(const char *name, const char *ring, void *arg), void *arg);

#endif
