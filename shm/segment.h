/* segment.h -- naming, mapping and validation of shared-memory segments, and
 * process liveness checks. Used by the rings (ring.c) and by shmtool. */
#ifndef SHM_SEGMENT_H
#define SHM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/layout.h"

/* Permissions of a new segment: mode 0600, or 0640 owned by group gid (its
 * registry 0660: the group's readers register there). reg_gid, when set,
 * gives the registry to another group than the segment (ring ord: only
 * execd's, so strategies of the engine group cannot move its position). */
typedef struct {
    bool use_group;
    gid_t gid;
    bool use_reg_gid;
    gid_t reg_gid;
} shm_perm_t;

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
    int fd;         /* the segment's open file: the writer's claim; valid while hdr is set */
    shm_registry_t *reg; /* the ring's registry of readers, when mapped (never for a
                            stats block; an observer may find none) */
    int reg_fd;     /* the registry's open file: reader-slot claims; valid while reg is set */
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
 * the two could leave a copy that was never validated: it checks the copy
 * with this before it returns (and shmtool again, for its own reasons). */
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
 * root, or another user of the engine (engine.users), with no permission bits
 * for others, and group bits only for the group of engine.shmGroup (or one of
 * `groups`); and where `writers` names a ring's writer, owned by that user
 * alone, so that no other engine user can plant a ring in its place.
 * Process-wide; shm_settings_load sets it from the config.
 * any_owner (shmtool: a read-only observer) accepts every owner and mode. */
#define SHM_TRUST_MAX 16

typedef struct {
    bool any_owner;
    bool use_group;
    gid_t gid;
    int nusers;                      /* the engine's other users (engine.users), whose */
    uid_t users[SHM_TRUST_MAX];      /* segments are ours too; root's always are */
    int ngroups;                     /* further groups a segment may give access to */
    gid_t groups[SHM_TRUST_MAX];     /* (execd's, for ord's registry) */
    int nwriters;                    /* with engine.users: who alone may own a ring */
    struct {
        char ring[24];               /* "in", "ord", ... or a prefix ending in '.' ("sig.") */
        uid_t uid;
    } writers[SHM_TRUST_MAX];
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
 * header; and its registry the same way, if it has a valid one paired with
 * it (s->reg; NULL otherwise, or when writable is false and there is none).
 * Keeps the files open in s->fd and s->reg_fd for claims. Returns 0, -ENOENT
 * when it does not exist, SE_EFOREIGN, or a validation code; on failure
 * nothing stays mapped or open. */
int shm_segment_map(shm_segment_t *s, const char *name, bool writable);

/* What shm__segment_map does with the registry: nothing, map it read-only if
 * there is a valid one, or map it read-write and fail without one. */
typedef enum { SHM_REG_NONE, SHM_REG_OBSERVE, SHM_REG_WRITE } shm_reg_mode_t;

/* shm_segment_map with the segment's and the registry's modes chosen apart
 * (a reader maps the segment read-only and its registry read-write). A
 * missing, unfinished or unpaired registry is SE_ENOTREADY with SHM_REG_WRITE. */
int shm__segment_map(shm_segment_t *s, const char *name, bool writable, shm_reg_mode_t reg);

/* ---- registries ----------------------------------------------------------------
 * A ring's readers register in a file of its own beside the segment, in a
 * directory of the instance per ring kind: /dev/shm/<prefix>.<instance>@bcast
 * for broadcast rings (in, exe, risk: every engine process may read them, so
 * may write their registries) and @spsc for SPSC rings (ord, sig.*: only the
 * core processes). The segment itself is writable by its writer alone. A
 * registry names the segment it belongs to (`pair`); it is made, replaced and
 * removed only by the holder of the segment's writer claim. */

/* The registry directory of kind for an instance ("/dev/shm/se.default@bcast"),
 * e.g. for a sandbox that lets a process write there and nowhere else in
 * /dev/shm. 0 or -ENAMETOOLONG. */
int shm_registry_dir(const char *prefix, const char *instance, shm_kind_t kind, char *out, size_t size);

/* Makes the registry directory of kind for an instance if it is missing
 * (0700, or 03770 for perm's group), checks it is ours, and writes its path
 * into dir[size] (as shm_registry_dir). 0 or a code. */
int shm_registry_dir_make(const char *prefix, const char *instance, shm_kind_t kind, const shm_perm_t *perm,
                          char *dir, size_t size);

/* Removes the instance's registry directories if they are empty: when the
 * instance stops (supervisor, shmtool gc). Registries themselves go with
 * their segments; the directories stay until then. */
void shm_registry_dirs_remove(const char *prefix, const char *instance);

/* Maps the registry of the mapped segment s into s->reg. 0, SE_ENOTREADY
 * (missing, unfinished, or another segment's), SE_EFOREIGN, SE_ECORRUPT, or
 * another negative code. */
int shm__registry_map(shm_segment_t *s, bool writable);

/* Makes a new, empty registry for s (whose writer claim the caller holds) and
 * puts it in place of any old one, atomically; maps it into s->reg. */
int shm__registry_create(shm_segment_t *s, const shm_perm_t *perm);

/* Removes s's registry file if it is still the one mapped in s->reg. */
void shm__registry_unlink(const shm_segment_t *s);

/* Marks s (mapped writable) retired and wakes its readers, who then open the
 * ring again by name. */
void shm__retire(const shm_segment_t *s);

/* Links the unnamed (O_TMPFILE) file fd as path. 0, -EEXIST, or another code. */
int shm__link_tmpfile(int fd, const char *path);

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

/* Byte offset of the writer's claim in the segment, and of reader slot i's
 * in the registry. */
#define SHM_CLAIM_WRITER    ((off_t)offsetof(shm_header_t, writer))
#define SHM_CLAIM_READER(i) ((off_t)offsetof(shm_registry_t, readers) + \
                             (off_t)(i) * (off_t)sizeof(shm_reader_slot_t) + \
                             (off_t)offsetof(shm_reader_slot_t, owner))

/* Takes the writer's claim on s. Returns 0, -EBUSY when another open file
 * holds it, or another negative code. */
int shm_claim_writer(const shm_segment_t *s);

/* Takes reader slot i's claim in s's registry (mapped). As shm_claim_writer. */
int shm_claim_reader(const shm_segment_t *s, int i);

/* Is the writer of s alive (claimed by another open file than s's)? */
bool shm_segment_writer_alive(const shm_segment_t *s);

/* Is reader slot i of s held (claimed by another open file than s's)? False
 * when s has no registry mapped. */
bool shm_segment_reader_alive(const shm_segment_t *s, int i);

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
