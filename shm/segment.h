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
    int fd;         /* the open file whose OFD locks are this process's claims
                       (writer, reader slot); valid while hdr is set */
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

/* True when the geometry kept in s is whole and fits the mapping: a known
 * kind, a record size and capacity as shm_segment_validate demands, and
 * header_size + capacity * record_size == s->size. shm_segment_map validates
 * the live header and then copies it, so a peer rewriting the header between
 * the two can leave a copy that was never validated; a reader that indexes
 * records with the copy checks it with this first. */
static inline bool shm_segment_geometry_ok(const shm_segment_t *s)
{
    return (s->kind == SHM_KIND_SPSC || s->kind == SHM_KIND_BROADCAST || s->kind == SHM_KIND_STATS) &&
           s->record_size >= SHM_RECORD_MIN && s->record_size <= SHM_RECORD_MAX && s->record_size % 64 == 0 &&
           s->capacity >= 2 && s->capacity <= SHM_CAPACITY_MAX && (s->capacity & (s->capacity - 1)) == 0 &&
           s->header_size == sizeof(shm_header_t) &&
           (uint64_t)s->header_size + (uint64_t)s->capacity * s->record_size == (uint64_t)s->size;
}

/* Builds "/<prefix>.<instance>.<ring>" into out. prefix and instance are
 * [A-Za-z0-9_-]{1,32}; ring is [A-Za-z0-9_.-]{1,64} and does not start with '.'.
 * NULL prefix or instance take the defaults. Returns 0, or -EINVAL with a
 * message naming the bad part. */
int shm_name(char *out, size_t out_size, const char *prefix, const char *instance, const char *ring);

/* Whose segments the engine trusts: those owned by its own effective user,
 * with no permission bits for others, and group bits only for the group of
 * engine.shmGroup. Process-wide; shm_settings_load sets it from the config.
 * any_owner (shmtool: a read-only observer) accepts every owner and mode. */
typedef struct {
    bool any_owner;
    bool use_group;
    gid_t gid;
} shm_trust_t;

/* Sets the process-wide trust policy (defaults: own user, mode 0600). */
void shm_trust_set(const shm_trust_t *t);

/* Checks the owner and mode of segment `name` (fstat of fd) against the trust
 * policy. Returns 0, or SE_EFOREIGN with one line naming the file, its owner,
 * group and mode, and what the engine accepts. */
int shm_segment_check_owner(int fd, const char *name);

/* Checks a header already mapped from a file of file_size bytes: magic (0 means
 * SE_ENOTREADY), layout version (SE_EVERSION), kind, record size, capacity and
 * total size (SE_ECORRUPT). Never reads past file_size. Returns 0 or a code with
 * a message naming the segment. */
int shm_segment_validate(const shm_header_t *h, size_t file_size, const char *name);

/* Maps the existing segment `name` whole, read-write or read-only, and
 * validates it: owner and mode first (shm_segment_check_owner), then the
 * header. Keeps the file open in s->fd for claims. Returns 0, -ENOENT when it
 * does not exist, SE_EFOREIGN, or a validation code; on failure nothing stays
 * mapped or open. */
int shm_segment_map(shm_segment_t *s, const char *name, bool writable);

/* Reads the writer's owner word of segment `name` from its offset, which
 * every layout version keeps (layout.h), without validating the rest, and
 * tells whether that writer is alive: by its claim (an OFD lock the kernel
 * drops when the process dies) for this layout version, by its pid for
 * segments of other versions, whose writers took no locks. alive may be NULL.
 * Returns 0, or a negative code when the file cannot be read or is too small. */
int shm_segment_writer_of(const char *name, uint64_t *owner, bool *alive);

/* Unmaps s and closes its file, dropping this process's claims on it (the
 * segment itself stays in /dev/shm). Safe on a zeroed s. */
void shm_segment_unmap(shm_segment_t *s);

/* ---- claims: OFD byte-range locks on the segment's file ------------------------
 * A claim is a write lock on the bytes of an owner word (the writer's, or a
 * reader slot's), held through s->fd. The kernel releases it when the last
 * descriptor of that open file closes: when its process has wholly exited, in
 * any pid namespace, whatever its threads did. A descriptor shared by dup()
 * or fork() shares the claim: a forked child keeps it until it exits or
 * closes it (every fd is O_CLOEXEC, so exec drops it). The owner word itself
 * only says who, for display. */

/* Byte offset of the claim of the writer, and of reader slot i. */
#define SHM_CLAIM_WRITER    ((off_t)offsetof(shm_header_t, writer))
#define SHM_CLAIM_READER(i) ((off_t)offsetof(shm_header_t, readers) + \
                             (off_t)(i) * (off_t)sizeof(shm_reader_slot_t) + \
                             (off_t)offsetof(shm_reader_slot_t, owner))

/* Takes the claim at offset `at` for s. Returns 0, -EBUSY when another open
 * file holds it, or another negative code. */
int shm_claim(const shm_segment_t *s, off_t at);

/* True when an open file other than s's holds the claim at `at`. A claim
 * held through s->fd itself does not count (the caller knows its own). */
bool shm_claimed_elsewhere(const shm_segment_t *s, off_t at);

/* Is the writer of s alive (claimed by another open file)? */
bool shm_segment_writer_alive(const shm_segment_t *s);

/* Removes segment `name` if it is ours (owned by our effective user, whatever
 * the trust policy) and no process holds its writer claim. The claim is held
 * while the name is checked and removed, and everyone who removes or replaces
 * a segment does the same, so a writer that takes the segment over meanwhile
 * is never left writing to a nameless one. Returns 0 (removed, or already
 * gone), -EBUSY (a live writer), SE_EFOREIGN (not ours), or another code. */
int shm_segment_remove(const char *name);

/* True while `name` still names the file open as fd. */
bool shm__still_named(int fd, const char *name);

/* Unlinks `name` if it still names the file open as fd, whose writer claim
 * the caller holds (see shm_segment_remove). True when it was removed. */
bool shm__unlink_claimed(int fd, const char *name);

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
