/* ring.h -- the shared-memory rings between engine processes: SPSC with
 * backpressure and broadcast (one writer, many readers), with futex wake-ups.
 * Hot operations are static inline and return shm_status_t; opening and closing
 * are cold and report errors through common/err.h. Layout: shm/layout.h. */
#ifndef SHM_RING_H
#define SHM_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/clock.h"
#include "shm/atomic.h"
#include "shm/layout.h"
#include "shm/segment.h"

typedef enum {
    SHM_OK = 0,
    SHM_EMPTY,   /* nothing new to read */
    SHM_FULL,    /* SPSC: the reader has not freed a slot; nothing was written */
    SHM_LAPPED,  /* broadcast: the reader fell a ring behind; drops counted, resynchronised */
    SHM_TIMEOUT, /* shm_wait: the deadline passed with nothing to read */
    SHM_RETIRED, /* the segment was replaced by a new one: close and open again */
} shm_status_t;

typedef struct {
    shm_kind_t kind;
    uint32_t record_size; /* bytes per record, a multiple of 64, including the 8-byte sequence word */
    uint32_t capacity;    /* records, a power of two */
    uint32_t record_type; /* schema id stored in the header for decoders (0: raw) */
} shm_ring_spec_t;

typedef struct {
    shm_segment_t seg;
    _Atomic uint64_t *records; /* shared: record 0 */
    uint64_t mask;
    uint32_t capacity;
    uint32_t slot_words;    /* record size in 8-byte words */
    uint32_t payload_words; /* slot_words - 1 */
    shm_kind_t kind;
    uint64_t prod_seq;   /* local copy of hdr->prod_seq */
    uint64_t cons_cache; /* SPSC: the reader position last read from shared memory */
} shm_writer_t;

typedef enum {
    SHM_START_HEAD,   /* broadcast: only records written after the attach */
    SHM_START_RESUME, /* broadcast: continue where a dead reader of the same name stopped
                         (lapping counts what was lost); SPSC readers always resume */
} shm_start_t;

typedef struct {
    shm_segment_t seg;
    _Atomic uint64_t *records; /* shared: record 0 */
    uint64_t mask;
    uint32_t slot_words;
    uint32_t payload_words;
    shm_kind_t kind;
    int slot_index;
    shm_reader_slot_t *slot; /* shared: this reader's registration */
    uint64_t pos;            /* next record to read */
    uint64_t drops;          /* records lost to lapping since the attach */
} shm_reader_t;

/* Payload bytes of a record of record_size bytes. */
static inline uint32_t shm_payload_size(uint32_t record_size)
{
    return record_size - SHM_SEQ_BYTES;
}

/* ---- writer ---------------------------------------------------------------- */

/* Creates segment `name` for spec, or takes over an existing one whose writer
 * is dead: it then resumes from the sequence in the segment (repairing a record
 * published but not yet counted), so readers see no torn, repeated or reordered
 * record. An existing segment of another layout or version whose writer is dead
 * is retired (its readers get SHM_RETIRED) and replaced. perm may be NULL (0600).
 * Returns 0, -EBUSY when a live process writes it, -EINVAL for a bad spec,
 * SE_ECORRUPT for a foreign file under that name, or another negative code. */
int shm_writer_open(shm_writer_t *w, const char *name, const shm_ring_spec_t *spec,
                    const shm_perm_t *perm);

/* Detaches from the ring, marking it writer-less; with unlink, removes the
 * segment name too (attached readers keep their mapping). */
void shm_writer_close(shm_writer_t *w, bool unlink);

/* Refreshes the writer heartbeat (shown by shmtool; tells a live writer from
 * a hung one). Call about once a second from the writer's idle path. */
void shm_writer_heartbeat(shm_writer_t *w);

void shm__writer_wake_sleepers(shm_writer_t *w);

/* Writes one record (payload_size bytes from payload) without waking anyone:
 * for batches, followed by shm_writer_wake. SHM_OK or SHM_FULL (SPSC only). */
static inline shm_status_t shm_writer_write_nowake(shm_writer_t *w, const void *payload)
{
    uint64_t s = w->prod_seq;
    if (w->kind == SHM_KIND_SPSC && s - w->cons_cache >= w->capacity) {
        /* Pairs with the reader's release store of its position: the reader
         * has finished copying every record before it, so reuse is safe. */
        w->cons_cache = shm__load_acquire(&w->seg.reg->readers[0].position);
        if (s - w->cons_cache >= w->capacity)
            return SHM_FULL;
    }
    _Atomic uint64_t *slot = w->records + (s & w->mask) * w->slot_words;
    shm__store_relaxed(&slot[0], SHM_SEQ_BUSY(s));
    /* Release stores of the payload words pair with the reader's acquire loads
     * of them: a reader that copied any new word also sees BUSY and discards it. */
    shm__copy_to_shared(slot + 1, payload, w->payload_words);
    /* Pairs with the reader's acquire load of the sequence word. seq_cst also
     * orders it before the load of `sleepers` in shm_writer_wake (see there). */
    shm__store_seq_cst(&slot[0], SHM_SEQ_READY(s));
    w->prod_seq = s + 1;
    /* For observers (lag, shmtool) and for the repair after a writer crash. */
    shm__store_release(&w->seg.hdr->prod_seq, s + 1);
    return SHM_OK;
}

/* Wakes readers sleeping on the ring, if any: one load when nobody sleeps;
 * when someone does, the first write takes every sleeper bit and enters the
 * kernel once, so the writes after it (before the readers run) pay nothing. */
static inline void shm_writer_wake(shm_writer_t *w)
{
    /* Store-load pair with shm_wait: we store READY then load `sleepers`; the
     * reader sets its bit then loads the sequence word, all seq_cst. In their
     * single total order either we see the bit or the reader sees the record. */
    if (shm__load_seq_cst(&w->seg.reg->sleepers) != 0)
        shm__writer_wake_sleepers(w);
}

/* Writes one record and wakes sleeping readers. SHM_OK or SHM_FULL (SPSC). */
static inline shm_status_t shm_writer_write(shm_writer_t *w, const void *payload)
{
    shm_status_t st = shm_writer_write_nowake(w, payload);
    if (st == SHM_OK)
        shm_writer_wake(w);
    return st;
}

/* ---- reader ---------------------------------------------------------------- */

/* Attaches to ring `name` as reader reader_name (at most SHM_READER_NAME_MAX-1
 * bytes, shown by shmtool), waiting up to timeout_ns (<0: forever) for the
 * writer to create it. expect may be NULL to accept any layout; otherwise a
 * different kind or record size is SE_ELAYOUT, and so are a different capacity
 * and record type unless expect leaves them 0. Registers in a reader
 * slot: the SPSC ring's only one (-EBUSY while a live reader holds it), or a
 * broadcast slot (-ENOSPC when all are held by live readers). An SPSC reader
 * resumes at the position stored in its slot. Returns 0 or a negative code. */
int shm_reader_open(shm_reader_t *r, const char *name, const shm_ring_spec_t *expect,
                    const char *reader_name, shm_start_t start, int64_t timeout_ns);

/* The oldest position that may still hold a record: where a reader looks back
 * over what was written before it attached (recovery, late attach). Records
 * there may already be overwritten; shm_peek says so. */
static inline uint64_t shm_reader_history_start(const shm_reader_t *r)
{
    return r->pos > r->seg.capacity ? r->pos - r->seg.capacity : 0;
}

/* The same for a writer looking back over its own ring (a restarted writer
 * finding what its predecessor wrote): the oldest position that may still
 * hold a record; its head is w->prod_seq. */
static inline uint64_t shm_writer_history_start(const shm_writer_t *w)
{
    return w->prod_seq > w->capacity ? w->prod_seq - w->capacity : 0;
}

/* One look, no waiting, for a ring that may not exist yet (its writer starts
 * later or restarts): attaches as reader_name at the head if it is there and
 * laid out as expect asks. Returns 0 (attached; logged), -ETIMEDOUT (not there
 * yet; silent), or another negative code (there but unusable, e.g.
 * SE_ELAYOUT; logged at most every 10 s). */
int shm_try_attach(shm_reader_t *r, const char *name, shm_ring_spec_t expect, const char *reader_name);

/* Releases the reader slot (an SPSC position is kept for the next reader) and unmaps. */
void shm_reader_close(shm_reader_t *r);

shm_status_t shm__reader_lapped(shm_reader_t *r);
void shm__reader_touch(shm_reader_t *r);

/* Copies record pos out of its slot. SHM_OK for an intact copy, SHM_EMPTY
 * when pos is not yet (completely) written, SHM_LAPPED when the slot already
 * holds a later record or was being overwritten during the copy. */
static inline shm_status_t shm__copy_record(_Atomic uint64_t *slot, uint64_t pos,
                                            uint32_t payload_words, void *payload)
{
    const uint64_t want = SHM_SEQ_READY(pos);
    /* Pairs with the writer's release store of READY. */
    uint64_t w = shm__load_acquire(&slot[0]);
    if (w != want)
        return (w == 0 || w == SHM_SEQ_BUSY(pos) || SHM_SEQ_REC(w) < pos) ? SHM_EMPTY : SHM_LAPPED;
    shm__copy_from_shared(payload, slot + 1, payload_words);
    return shm__load_relaxed(&slot[0]) == want ? SHM_OK : SHM_LAPPED;
}

/* Non-consuming check: is there a record (or a lap) waiting? */
static inline bool shm_reader_ready(const shm_reader_t *r)
{
    _Atomic uint64_t *slot = r->records + (r->pos & r->mask) * r->slot_words;
    /* seq_cst for the store-load pair with shm_writer_wake; a plain move on x86. */
    uint64_t w = shm__load_seq_cst(&slot[0]);
    return w != 0 && w != SHM_SEQ_BUSY(r->pos) && SHM_SEQ_REC(w) >= r->pos;
}

/* Two-phase read for consumers that must not lose a record to their own crash
 * (at-least-once): shm_reader_peek copies the next record without consuming
 * it; shm_reader_advance, called once the record is safely handled, consumes
 * it. A reader killed in between sees the same record again after a restart.
 * Statuses as for shm_reader_read; peek returns SHM_OK only for an intact copy. */
static inline shm_status_t shm_reader_peek(shm_reader_t *r, void *payload)
{
    _Atomic uint64_t *slot = r->records + (r->pos & r->mask) * r->slot_words;
    shm_status_t st = shm__copy_record(slot, r->pos, r->payload_words, payload);
    if (st == SHM_EMPTY && shm__load_relaxed(&r->seg.hdr->retired))
        return SHM_RETIRED;
    return st == SHM_LAPPED ? shm__reader_lapped(r) : st;
}

/* Consumes the record last returned by shm_reader_peek. */
static inline void shm_reader_advance(shm_reader_t *r)
{
    r->pos++;
    /* Pairs with the SPSC writer's acquire load: this slot may now be reused. */
    shm__store_release(&r->slot->position, r->pos);
    if ((r->pos & 4095) == 0)
        shm__reader_touch(r);
}

/* Copies the next record's payload (payload_size bytes) into payload and
 * consumes it. SHM_OK; SHM_EMPTY; SHM_LAPPED (records were lost, counted in
 * r->drops and in the slot; the next read continues at the writer's head);
 * SHM_RETIRED (the segment was replaced: close and open again). */
static inline shm_status_t shm_reader_read(shm_reader_t *r, void *payload)
{
    shm_status_t st = shm_reader_peek(r, payload);
    if (st == SHM_OK)
        shm_reader_advance(r);
    return st;
}

/* Waits until one of the n readers has a record (or a lap, or retirement) to
 * report: spins for spin_ns, then sleeps on all n rings at once. Returns
 * SHM_OK (something may be ready: read every ring) or SHM_TIMEOUT after
 * timeout_ns (<0: no limit) or when a signal handler ran meanwhile (look at
 * your flags). n is 1..SHM_WAIT_MAX (64). */
shm_status_t shm_wait(shm_reader_t *const *readers, int n, int64_t spin_ns, int64_t timeout_ns);

/* A doorbell for another thread of the same process (e.g. a network
 * completion thread) to wake a loop that sleeps in shm_wait_bell. Zero it
 * before use. */
typedef struct {
    _Atomic uint32_t rings;    /* written by ringers: how often it rang */
    _Atomic uint32_t sleeping; /* written by the waiter: nonzero while it may sleep */
} shm_doorbell_t;

/* Rings: the waiter returns from shm_wait_bell (now or when it next waits).
 * Thread-safe; enters the kernel only when the waiter sleeps. Call it after
 * publishing what the waiter should look at. */
void shm_doorbell_ring(shm_doorbell_t *bell);

/* The bell's count, read (acquire) before the waiter looks at what ringers
 * publish; pass it to shm_wait_bell as seen, so no ring is missed. */
static inline uint32_t shm_doorbell_seen(shm_doorbell_t *bell)
{
    /* Pairs with the seq_cst increment in shm_doorbell_ring. */
    return shm__load_acquire(&bell->rings);
}

/* As shm_wait, and also returns SHM_OK once the bell's count differs from
 * seen. n is 0..SHM_WAIT_MAX-1 (0: wait for the bell or the timeout only). */
shm_status_t shm_wait_bell(shm_reader_t *const *readers, int n, shm_doorbell_t *bell, uint32_t seen,
                           int64_t spin_ns, int64_t timeout_ns);

/* ---- observers (shmtool) ----------------------------------------------------- */

/* Copies record pos of a mapped segment without registering or consuming.
 * SHM_OK; SHM_EMPTY when pos is not yet written; SHM_LAPPED when it was
 * already overwritten. Never returns a torn record. */
shm_status_t shm_peek(const shm_segment_t *s, uint64_t pos, void *payload);

#endif
