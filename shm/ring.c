/* ring.c -- the cold half of the rings: creating, taking over, attaching,
 * registering readers, lapping, and sleeping. The hot half is inline in ring.h. */
#include "shm/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "shm/futex.h"

static int check_spec(const shm_ring_spec_t *spec, const char *name)
{
    if (spec->kind != SHM_KIND_SPSC && spec->kind != SHM_KIND_BROADCAST && spec->kind != SHM_KIND_STATS)
        return se_err(-EINVAL, "ring %s: unknown kind %d", name, (int)spec->kind);
    if (spec->record_size < SHM_RECORD_MIN || spec->record_size > SHM_RECORD_MAX ||
        spec->record_size % 64)
        return se_err(-EINVAL, "ring %s: record size %u is not a multiple of 64 in [%u, %u]", name,
                      spec->record_size, SHM_RECORD_MIN, SHM_RECORD_MAX);
    if (spec->capacity < 2 || spec->capacity > SHM_CAPACITY_MAX ||
        (spec->capacity & (spec->capacity - 1)))
        return se_err(-EINVAL, "ring %s: capacity %u is not a power of two in [2, %u]", name,
                      spec->capacity, SHM_CAPACITY_MAX);
    return 0;
}

static bool same_layout(const shm_header_t *h, const shm_ring_spec_t *spec)
{
    return h->kind == (uint32_t)spec->kind && h->record_size == spec->record_size &&
           h->capacity == spec->capacity && h->record_type == spec->record_type;
}

static bool reader_accepts(const shm_header_t *h, const shm_ring_spec_t *expect)
{
    return h->kind == (uint32_t)expect->kind && h->record_size == expect->record_size &&
           (expect->capacity == 0 || h->capacity == expect->capacity) &&
           (expect->record_type == 0 || h->record_type == expect->record_type);
}

static void describe_layout_mismatch(const shm_header_t *h, const shm_ring_spec_t *spec,
                                     const char *name)
{
    se_err(SE_ELAYOUT, "ring %s: segment has kind %u, record size %u, capacity %u, record type %u; "
           "expected kind %d, record size %u, capacity %u, record type %u (0: any)", name, h->kind,
           h->record_size, h->capacity, h->record_type, (int)spec->kind, spec->record_size,
           spec->capacity, spec->record_type);
}

/* A random, non-zero pairing id for a new segment and its registry. */
static uint64_t new_pair(void)
{
    uint64_t v = 0;
    while (v == 0 && getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)clock_real_ns() ^ ((uint64_t)getpid() << 32);
    return v ? v : 1;
}

/* Builds a complete segment as an unnamed file in /dev/shm (space reserved,
 * writer claimed, header done with magic last), then links it under `name`:
 * nobody ever sees it half-built, and of two creators the second gets
 * -EEXIST. Reserving the space now makes a full /dev/shm an error here
 * (ENOSPC) rather than a SIGBUS at some later write. The registry is made by
 * the caller once the name is ours. */
static int create_segment(shm_segment_t *seg, const char *name, const shm_ring_spec_t *spec,
                          const shm_perm_t *perm)
{
    uint64_t size = sizeof(shm_header_t) + (uint64_t)spec->capacity * spec->record_size;
    int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return se_err(-errno, "ring %s: cannot create a file in /dev/shm: %s", name, strerror(errno));
    int rc = 0;
    bool group = perm && perm->use_group;
    /* The group reads; only the writer's user writes. */
    if ((group && fchown(fd, (uid_t)-1, perm->gid) < 0) || fchmod(fd, group ? 0640 : 0600) < 0)
        rc = se_err(-errno, "ring %s: cannot set mode %s: %s", name, group ? "0640 for the engine's group" : "0600",
                    strerror(errno));
    int e = rc == 0 ? posix_fallocate(fd, 0, (off_t)size) : 0;
    if (e)
        rc = se_err(-e, "ring %s: cannot reserve %llu bytes in /dev/shm: %s", name, (unsigned long long)size,
                    strerror(e));
    void *p = MAP_FAILED;
    if (rc == 0 && (p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        rc = se_err(-errno, "ring %s: mmap %llu bytes: %s", name, (unsigned long long)size, strerror(errno));
    if (rc < 0) {
        close(fd);
        return rc;
    }
    strcpy(seg->name, name);
    seg->hdr = p;
    seg->size = size;
    seg->fd = fd;
    seg->reg_fd = -1;
    seg->writable = true;
    /* Nobody else can see the file yet, so the claim cannot fail but for ENOLCK. */
    if ((rc = shm_claim_writer(seg)) < 0) {
        shm_segment_unmap(seg);
        return rc;
    }
    shm_header_t *h = p; /* fresh pages are zero: sequences start at 0 */
    shm__store_relaxed(&h->writer, shm_owner_self());
    h->layout_version = SHM_LAYOUT_VERSION;
    h->kind = (uint32_t)spec->kind;
    h->record_size = spec->record_size;
    h->capacity = spec->capacity;
    h->header_size = sizeof(shm_header_t);
    h->record_type = spec->record_type;
    h->total_size = size;
    h->created_ns = (uint64_t)clock_real_ns();
    h->pair = new_pair();
    /* Pairs with the acquire load of magic in shm_segment_validate. */
    shm__store_release(&h->magic, SHM_MAGIC);
    shm_segment_keep_geometry(seg);
    char path[SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    if ((rc = shm__link_tmpfile(fd, path)) < 0) {
        if (rc != -EEXIST)
            rc = se_err(rc, "ring %s: %s", name, se_errmsg());
        shm_segment_unmap(seg);
    }
    return rc;
}

/* Gives seg (whose writer claim we hold) its registry: the one it has, or a
 * new one when there is none (a writer killed between linking the segment and
 * its registry) or it is unusable. Stats blocks have none. */
static int ensure_registry(shm_segment_t *seg, const shm_perm_t *perm)
{
    if (seg->kind == SHM_KIND_STATS)
        return 0;
    int rc = shm__registry_map(seg, true);
    if (rc == SE_ENOTREADY || rc == SE_ECORRUPT)
        rc = shm__registry_create(seg, perm);
    return rc;
}

/* Retires and removes seg, whose writer claim we hold: its registry first,
 * so that no reader registers in it once the name is free for a new ring. */
static void remove_claimed(shm_segment_t *seg)
{
    shm__retire(seg);
    shm__registry_unlink(seg);
    shm__unlink_claimed(seg->fd, seg->name);
}

/* A writer died between publishing record s (READY) and advancing prod_seq:
 * count it, or the next writer would write a different record s. */
static void repair_after_crash(const shm_segment_t *seg)
{
    shm_header_t *h = seg->hdr;
    _Atomic uint64_t *records = (_Atomic uint64_t *)((char *)h + seg->header_size);
    uint64_t s = shm__load_acquire(&h->prod_seq);
    _Atomic uint64_t *slot = records + (s & (seg->capacity - 1)) * (seg->record_size / 8);
    if (shm__load_acquire(&slot[0]) == SHM_SEQ_READY(s))
        shm__store_release(&h->prod_seq, s + 1);
}

/* Takes over `seg`, a valid segment of the right layout whose writer claim we
 * now hold: a writer killed at any instant before us is repaired after. */
static void take_over(shm_segment_t *seg)
{
    shm__store_release(&seg->hdr->writer, shm_owner_self());
    repair_after_crash(seg);
}

static void writer_init_view(shm_writer_t *w)
{
    shm_header_t *h = w->seg.hdr;
    w->records = (_Atomic uint64_t *)((char *)h + w->seg.header_size);
    w->capacity = w->seg.capacity;
    w->mask = w->seg.capacity - 1;
    w->slot_words = w->seg.record_size / 8;
    w->payload_words = w->slot_words - 1;
    w->kind = w->seg.kind;
    w->prod_seq = shm__load_acquire(&h->prod_seq);
    w->cons_cache = w->seg.reg ? shm__load_acquire(&w->seg.reg->readers[0].position) : 0;
    shm__store_relaxed(&h->writer_attached_ns, (uint64_t)clock_real_ns());
    shm__store_relaxed(&h->heartbeat_ns, (uint64_t)clock_real_ns());
    atomic_fetch_add_explicit(&h->writer_generation, 1, memory_order_relaxed);
}

/* A segment of ours that does not validate as this version's: an older
 * build's, or one whose creator of an older build died before finishing (this
 * build never shows a half-built segment). Removed once we hold its writer
 * claim, unless the pid in it is alive (older builds claimed by pid only).
 * Returns 0 (removed, or gone already: create again) or a negative code. */
static int replace_stale(const char *name, int why)
{
    uint64_t owner;
    if (shm_segment_writer_of(name, &owner, NULL) == 0 && owner != shm_owner_self() && shm_owner_alive(owner))
        return se_err(why == SE_EVERSION ? SE_EVERSION : -EBUSY, "ring %s: %s, and its writer (pid %u) is alive",
                      name, se_strerror(why), SHM_OWNER_PID(owner));
    int rc = shm_segment_remove(name);
    return rc == -EBUSY ? se_err(-EBUSY, "ring %s: %s, and another process holds it", name, se_strerror(why)) : rc;
}

int shm_writer_open(shm_writer_t *w, const char *name, const shm_ring_spec_t *spec,
                    const shm_perm_t *perm)
{
    memset(w, 0, sizeof *w);
    w->seg.fd = -1;
    int rc = check_spec(spec, name);
    if (rc < 0)
        return rc;
    if (strlen(name) >= sizeof w->seg.name)
        return se_err(-ENAMETOOLONG, "ring name too long: %s", name);
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = create_segment(&w->seg, name, spec, perm);
        if (rc == 0 && (rc = ensure_registry(&w->seg, perm)) < 0) {
            shm__unlink_claimed(w->seg.fd, name); /* a ring nobody could read: gone again */
            shm_segment_unmap(&w->seg);
            return rc;
        }
        if (rc == 0) {
            writer_init_view(w);
            return 0;
        }
        if (rc != -EEXIST)
            return rc;
        rc = shm__segment_map(&w->seg, name, true, SHM_REG_NONE);
        if (rc == -ENOENT)
            continue; /* removed between our two opens: create again */
        if (rc == SE_ENOTREADY || rc == SE_EVERSION) {
            if ((rc = replace_stale(name, rc)) < 0)
                return rc;
            continue;
        }
        if (rc == SE_ECORRUPT)
            return se_err(rc, "%s; remove it (shmtool gc, or rm /dev/shm%s) if no engine uses it",
                          se_errmsg(), name);
        if (rc < 0)
            return rc; /* e.g. SE_EFOREIGN, -EACCES: never touch what is not ours */
        shm_header_t *h = w->seg.hdr;
        bool layout_ok = same_layout(h, spec);
        rc = shm_claim_writer(&w->seg);
        if (rc == -EBUSY) {
            uint32_t pid = SHM_OWNER_PID(shm__load_acquire(&h->writer));
            if (layout_ok)
                rc = se_err(-EBUSY, "ring %s is written by live process %u", name, pid);
            else {
                describe_layout_mismatch(h, spec, name);
                rc = se_err(SE_ELAYOUT, "%s; its writer (pid %u) is alive", se_errmsg(), pid);
            }
        }
        if (rc < 0) {
            shm_segment_unmap(&w->seg);
            return rc;
        }
        /* Between our open and our claim, the previous holder may have
         * replaced the segment: then this one is no longer the live one. */
        if (!shm__still_named(w->seg.fd, name)) {
            shm_segment_unmap(&w->seg);
            continue;
        }
        shm__registry_map(&w->seg, true); /* if it has one: for its readers' sake */
        if (!layout_ok || shm__load_acquire(&h->retired)) {
            /* Another layout of ours whose writer is gone, or one its writer
             * died removing: replace it. */
            remove_claimed(&w->seg);
            shm_segment_unmap(&w->seg);
            continue;
        }
        if (!w->seg.reg && (rc = ensure_registry(&w->seg, perm)) < 0) {
            shm_segment_unmap(&w->seg);
            return rc;
        }
        take_over(&w->seg);
        writer_init_view(w);
        return 0;
    }
    return se_err(-EAGAIN, "ring %s: could not create or take over the segment (it keeps changing)",
                  name);
}

void shm_writer_close(shm_writer_t *w, bool unlink)
{
    if (!w->seg.hdr)
        return;
    shm__store_release(&w->seg.hdr->writer, 0);
    if (unlink)
        remove_claimed(&w->seg);
    shm_segment_unmap(&w->seg); /* closing the file drops the claim */
}

void shm__writer_wake_sleepers(shm_writer_t *w)
{
    /* Taking the bits (seq_cst, like the load before it) means a reader that
     * sets its bit again later is seen by a later write. */
    if (atomic_exchange(&w->seg.reg->sleepers, 0) == 0)
        return; /* another waker (a heartbeat, a takeover) was first */
    /* Pairs with the acquire load of wake_seq in shm_wait: a sleeper that reads
     * the new value also sees every record published before it. */
    atomic_fetch_add_explicit(&w->seg.reg->wake_seq, 1, memory_order_release);
    shm__futex_wake_all(&w->seg.reg->wake_seq);
}

void shm_writer_heartbeat(shm_writer_t *w)
{
    shm__store_relaxed(&w->seg.hdr->heartbeat_ns, (uint64_t)clock_real_ns());
}

/* ---- readers ---------------------------------------------------------------- */

/* Applies a journalled lap (see lap_pending in layout.h); idempotent, so it
 * also repairs a lap that a killed reader left half-done. */
static void finish_lap(shm_reader_slot_t *s)
{
    if (!shm__load_acquire(&s->lap_pending))
        return;
    shm__store_relaxed(&s->drops, shm__load_relaxed(&s->lap_drops));
    shm__store_release(&s->position, shm__load_relaxed(&s->lap_position));
    shm__store_release(&s->lap_pending, 0);
}

/* Claims slot i if it is free or its holder is dead: one lock, so two
 * claimers can never both win, and a holder's death frees it. */
static bool try_claim(const shm_segment_t *seg, int i, uint64_t me)
{
    if (shm_claim_reader(seg, i) != 0)
        return false;
    shm__store_release(&seg->reg->readers[i].owner, me);
    return true;
}

/* Picks and claims a slot: the SPSC ring's only one; for broadcast, a free slot
 * of the same name first, then a never-used one, then any free one. Returns the
 * index, or a negative code. `resumed` tells whether it had our name. */
static int claim_slot(const shm_segment_t *seg, const char *reader_name, bool *resumed)
{
    shm_registry_t *h = seg->reg;
    const char *seg_name = seg->name;
    uint64_t me = shm_owner_self();
    *resumed = false;
    if (seg->kind == SHM_KIND_SPSC) {
        if (try_claim(seg, 0, me)) {
            *resumed = true;
            return 0;
        }
        return se_err(-EBUSY, "ring %s already has a live reader '%.*s' (pid %u)", seg_name,
                      SHM_READER_NAME_MAX, h->readers[0].name,
                      SHM_OWNER_PID(shm__load_relaxed(&h->readers[0].owner)));
    }
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < SHM_MAX_READERS; i++) {
            shm_reader_slot_t *s = &h->readers[i];
            bool named = strncmp(s->name, reader_name, SHM_READER_NAME_MAX) == 0;
            if ((pass == 0 && !named) || (pass == 1 && s->name[0] != '\0'))
                continue;
            if (try_claim(seg, i, me)) {
                *resumed = named;
                return i;
            }
        }
    }
    return se_err(-ENOSPC, "ring %s: all %d reader slots are held by live readers", seg_name,
                  SHM_MAX_READERS);
}

static int map_when_ready(shm_segment_t *seg, const char *name, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns < 0 ? -1 : clock_mono_ns() + timeout_ns;
    for (;;) {
        /* The ring read-only, its registry read-write: a reader writes only there. */
        int rc = shm__segment_map(seg, name, false, SHM_REG_WRITE);
        if (rc != -ENOENT && rc != SE_ENOTREADY)
            return rc;
        if (deadline >= 0 && clock_mono_ns() >= deadline)
            return se_err(rc == -ENOENT ? -ETIMEDOUT : SE_ENOTREADY,
                          "ring %s: %s after waiting %lld ms", name,
                          rc == -ENOENT ? "does not exist" : "still not ready",
                          (long long)(timeout_ns / 1000000));
        /* Start-up only: polling every 2 ms costs nothing and needs no watcher. */
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
}

int shm_reader_open(shm_reader_t *r, const char *name, const shm_ring_spec_t *expect,
                    const char *reader_name, shm_start_t start, int64_t timeout_ns)
{
    memset(r, 0, sizeof *r);
    if (!reader_name || !reader_name[0] || strlen(reader_name) >= SHM_READER_NAME_MAX)
        return se_err(-EINVAL, "ring %s: reader name must be 1-%d bytes", name,
                      SHM_READER_NAME_MAX - 1);
    int rc = map_when_ready(&r->seg, name, timeout_ns);
    if (rc < 0)
        return rc;
    shm_header_t *h = r->seg.hdr;
    if (r->seg.kind == SHM_KIND_STATS) {
        shm_segment_unmap(&r->seg);
        return se_err(SE_ELAYOUT, "%s is a stats block, not a ring", name);
    }
    if (expect && !reader_accepts(h, expect)) {
        describe_layout_mismatch(h, expect, name);
        shm_segment_unmap(&r->seg);
        return SE_ELAYOUT;
    }
    bool resumed;
    int idx = claim_slot(&r->seg, reader_name, &resumed);
    if (idx < 0) {
        shm_segment_unmap(&r->seg);
        return idx;
    }
    shm_registry_t *reg = r->seg.reg;
    shm_reader_slot_t *s = &reg->readers[idx];
    shm__store_relaxed(&s->attached_ns, (uint64_t)clock_real_ns());
    strncpy(s->name, reader_name, SHM_READER_NAME_MAX - 1);
    s->name[SHM_READER_NAME_MAX - 1] = '\0';
    atomic_fetch_and(&reg->sleepers, ~(1ull << idx)); /* a dead predecessor may have slept */
    finish_lap(s); /* ... or died inside a lap */

    r->records = (_Atomic uint64_t *)((char *)h + r->seg.header_size);
    r->mask = r->seg.capacity - 1;
    r->slot_words = r->seg.record_size / 8;
    r->payload_words = r->slot_words - 1;
    r->kind = r->seg.kind;
    r->slot_index = idx;
    r->slot = s;
    if (r->kind == SHM_KIND_SPSC || (start == SHM_START_RESUME && resumed))
        r->pos = shm__load_acquire(&s->position);
    else
        r->pos = shm__load_acquire(&h->prod_seq);
    if (!resumed)
        shm__store_relaxed(&s->drops, 0);
    shm__store_release(&s->position, r->pos);
    shm__reader_touch(r);
    return 0;
}

int shm_try_attach(shm_reader_t *r, const char *name, shm_ring_spec_t expect, const char *reader_name)
{
    static int64_t next_complaint_ns;
    int rc = shm_reader_open(r, name, &expect, reader_name, SHM_START_HEAD, 0);
    if (rc == 0) {
        log_info("attached", LOG_STR("ring", name), LOG_STR("reader", reader_name));
    } else if (rc != -ETIMEDOUT && rc != SE_ENOTREADY && clock_mono_ns() >= next_complaint_ns) {
        log_error("ring is there but cannot be read", LOG_STR("ring", name), LOG_STR("error", se_errmsg()));
        next_complaint_ns = clock_mono_ns() + 10000000000LL;
    }
    return rc;
}

void shm_reader_close(shm_reader_t *r)
{
    if (!r->seg.hdr)
        return;
    atomic_fetch_and(&r->seg.reg->sleepers, ~(1ull << r->slot_index));
    shm__reader_touch(r);
    shm__store_release(&r->slot->owner, 0);
    shm_segment_unmap(&r->seg); /* closing the file drops the claim */
    r->slot = NULL;
}

void shm__reader_touch(shm_reader_t *r)
{
    shm__store_relaxed(&r->slot->last_active_ns, (uint64_t)clock_real_ns());
}

shm_status_t shm__reader_lapped(shm_reader_t *r)
{
    /* Skip to the writer's head: for market data the newest record is the one
     * that matters, and every position skipped is counted as dropped. */
    uint64_t head = shm__load_acquire(&r->seg.hdr->prod_seq);
    uint64_t next = head > r->pos ? head : r->pos + 1;
    uint64_t lost = next - r->pos;
    shm_reader_slot_t *s = r->slot;
    shm__store_relaxed(&s->lap_position, next);
    shm__store_relaxed(&s->lap_drops, shm__load_relaxed(&s->drops) + lost);
    /* Pairs with the acquire load in finish_lap: the journal is complete. */
    shm__store_release(&s->lap_pending, 1);
    finish_lap(s);
    r->drops += lost;
    r->pos = next;
    return SHM_LAPPED;
}

static bool any_ready(shm_reader_t *const *rs, int n)
{
    for (int i = 0; i < n; i++)
        if (shm_reader_ready(rs[i]) || shm__load_relaxed(&rs[i]->seg.hdr->retired))
            return true;
    return false;
}

/* Has the bell (if any) rung since the waiter saw `seen`? */
static bool rung(shm_doorbell_t *bell, uint32_t seen)
{
    return bell && shm__load_seq_cst(&bell->rings) != seen;
}

void shm_doorbell_ring(shm_doorbell_t *bell)
{
    /* seq_cst store, then seq_cst load of `sleeping`: the store-load pair with
     * wait_any, which sets `sleeping` and then loads `rings`. */
    atomic_fetch_add(&bell->rings, 1);
    if (shm__load_seq_cst(&bell->sleeping))
        shm__futex_wake_all(&bell->rings);
}

static shm_status_t wait_any(shm_reader_t *const *rs, int n, shm_doorbell_t *bell, uint32_t bell_seen,
                             int64_t spin_ns, int64_t timeout_ns);

shm_status_t shm_wait(shm_reader_t *const *rs, int n, int64_t spin_ns, int64_t timeout_ns)
{
    if (n < 1 || n > SHM_WAIT_MAX)
        return SHM_TIMEOUT;
    return wait_any(rs, n, NULL, 0, spin_ns, timeout_ns);
}

shm_status_t shm_wait_bell(shm_reader_t *const *rs, int n, shm_doorbell_t *bell, uint32_t seen,
                           int64_t spin_ns, int64_t timeout_ns)
{
    if (n < 0 || n > SHM_WAIT_MAX - 1)
        return SHM_TIMEOUT;
    return wait_any(rs, n, bell, seen, spin_ns, timeout_ns);
}

/* The wait of a process that cannot use futexes at all (futex.h,
 * SHM_FUTEX_NONE): timed sleeps, looking at every ring and the bell between
 * them. It sets no `sleepers` bit and no bell `sleeping` flag: nobody could
 * wake it, and a set bit would make every writer enter the kernel per record. */
static shm_status_t sleep_poll_any(shm_reader_t *const *rs, int n, shm_doorbell_t *bell,
                                   uint32_t bell_seen, int64_t deadline)
{
    shm_status_t st = SHM_TIMEOUT;
    for (;;) {
        /* No store-load pair is needed: no sleeper bit, so no writer looks
         * for us; any_ready's loads see each READY within one slice. */
        if (any_ready(rs, n) || rung(bell, bell_seen)) {
            st = SHM_OK;
            break;
        }
        int rc = shm__sleep_slice(deadline);
        if (rc == -ETIMEDOUT || rc == -EINTR) {
            if (any_ready(rs, n) || rung(bell, bell_seen))
                st = SHM_OK;
            break;
        }
    }
    for (int i = 0; i < n; i++)
        shm__reader_touch(rs[i]);
    return st;
}

static shm_status_t wait_any(shm_reader_t *const *rs, int n, shm_doorbell_t *bell, uint32_t bell_seen,
                             int64_t spin_ns, int64_t timeout_ns)
{
    if (any_ready(rs, n) || rung(bell, bell_seen))
        return SHM_OK;
    int64_t start = clock_mono_ns();
    if (timeout_ns >= 0 && spin_ns > timeout_ns)
        spin_ns = timeout_ns;
    if (spin_ns > 0) {
        /* Reading the clock costs ~30 ns: look at it every 64 turns. */
        for (unsigned turn = 1;; turn++) {
            if (any_ready(rs, n) || rung(bell, bell_seen))
                return SHM_OK;
            shm__cpu_relax();
            if ((turn & 63) == 0 && clock_mono_ns() - start >= spin_ns)
                break;
        }
    }
    int64_t deadline = timeout_ns < 0 ? -1 : start + timeout_ns;
    _Atomic uint32_t *words[SHM_WAIT_MAX];
    uint32_t seen[SHM_WAIT_MAX];
    for (;;) {
        /* Looked at on every turn: a failing futex call inside
         * shm__futex_wait_any moves the process down a level and returns 0. */
        if (shm__futex_mode() == SHM_FUTEX_NONE)
            return sleep_poll_any(rs, n, bell, bell_seen, deadline);
        /* seq_cst, then the seq_cst loads in any_ready: the store-load pair
         * with shm_writer_wake, so a record published now is seen by one side. */
        for (int i = 0; i < n; i++)
            atomic_fetch_or(&rs[i]->seg.reg->sleepers, 1ull << rs[i]->slot_index);
        for (int i = 0; i < n; i++) {
            words[i] = &rs[i]->seg.reg->wake_seq;
            /* Pairs with the release increment in shm__writer_wake_sleepers. */
            seen[i] = shm__load_acquire(words[i]);
        }
        int nw = n;
        if (bell) {
            /* seq_cst: the store-load pair with shm_doorbell_ring (see there). */
            shm__store_seq_cst(&bell->sleeping, 1);
            words[nw] = &bell->rings;
            seen[nw++] = bell_seen;
        }
        bool ready = any_ready(rs, n) || rung(bell, bell_seen);
        /* Returns 0, -ETIMEDOUT or -EINTR only (futex.h). */
        int rc = ready ? 0 : shm__futex_wait_any(words, seen, nw, deadline);
        if (bell)
            shm__store_relaxed(&bell->sleeping, 0);
        for (int i = 0; i < n; i++) {
            atomic_fetch_and(&rs[i]->seg.reg->sleepers, ~(1ull << rs[i]->slot_index));
            shm__reader_touch(rs[i]);
        }
        if (ready || any_ready(rs, n) || rung(bell, bell_seen))
            return SHM_OK;
        /* A signal (SIGTERM from the supervisor) ends the wait too, so the
         * caller looks at its stop flag now, not at the next timeout. */
        if (rc == -ETIMEDOUT || rc == -EINTR || (deadline >= 0 && clock_mono_ns() >= deadline))
            return SHM_TIMEOUT;
    }
}

shm_status_t shm_peek(const shm_segment_t *s, uint64_t pos, void *payload)
{
    uint32_t words = s->record_size / 8;
    _Atomic uint64_t *records = (_Atomic uint64_t *)((char *)s->hdr + s->header_size);
    return shm__copy_record(records + (pos & (s->capacity - 1)) * words, pos, words - 1, payload);
}
