/* layout.h -- the binary layout of every ring segment in /dev/shm.
 * Shared by writers, readers and shmtool; any change bumps SHM_LAYOUT_VERSION. */
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SHM_MAGIC          0x31474e5249524553ull /* "SERIRNG1" little-endian */
#define SHM_LAYOUT_VERSION 3u /* 3: claims are OFD locks; readers register in a file of their own */
#define SHM_CACHELINE      64
#define SHM_MAX_READERS    16
#define SHM_READER_NAME_MAX 40
#define SHM_RECORD_MIN     64u
#define SHM_RECORD_MAX     65536u
#define SHM_CAPACITY_MAX   (1u << 24)
/* Every record starts with an 8-byte sequence word owned by the ring; the rest
 * (record_size - SHM_SEQ_BYTES) is the payload. */
#define SHM_SEQ_BYTES      8u

typedef enum {
    SHM_KIND_SPSC = 1,      /* one reader, backpressure: the writer never overwrites unread records */
    SHM_KIND_BROADCAST = 2, /* many readers, the writer never waits, lapped readers count drops */
    SHM_KIND_STATS = 3,     /* a process's metrics: one slot per metric (shm/stats.h), no readers */
} shm_kind_t;

/* Record sequence words. 0 means "never written". Record s is published as
 * READY(s); while the writer fills it the word says BUSY(s). Both keep s in the
 * upper bits so a reader can tell "not yet" (older s) from "lapped" (newer s). */
#define SHM_SEQ_READY(s) (((uint64_t)(s) + 1) << 1)
#define SHM_SEQ_BUSY(s)  (SHM_SEQ_READY(s) | 1u)
#define SHM_SEQ_REC(w)   (((w) >> 1) - 1) /* record number of a non-zero word */
#define SHM_SEQ_IS_BUSY(w) ((w) & 1u)

/* An owner word names one process for display (shmtool, logs): its pid in the
 * high 32 bits and the low 32 bits of its start time (clock ticks since boot,
 * /proc) in the low 32. 0 means nobody. Who really holds a writer or reader
 * slot is an OFD lock on the word's bytes (segment.h, "claims"): the kernel
 * drops it when the holder dies, which no pid check can tell reliably. */
#define SHM_OWNER(pid, start) (((uint64_t)(pid) << 32) | ((uint64_t)(start) & 0xffffffffu))
#define SHM_OWNER_PID(o)      ((uint32_t)((o) >> 32))
#define SHM_OWNER_START(o)    ((uint32_t)(o))

/* One registered reader, in the ring's registry. Written only by the reader
 * that holds its claim. */
typedef struct {
    /* line 0: the reader's hot words */
    _Atomic uint64_t position;       /* next record the reader will read */
    _Atomic uint64_t drops;          /* records lost to lapping, in total */
    _Atomic uint64_t last_active_ns; /* CLOCK_REALTIME of the last read or wait */
    /* A lap moves position and drops together. The new values are written here
     * first and `lap_pending` set, so that a reader killed half-way is repaired
     * on its next attach instead of counting a lap twice or not at all. */
    _Atomic uint64_t lap_position;
    _Atomic uint64_t lap_drops;
    _Atomic uint32_t lap_pending;
    uint8_t pad0[SHM_CACHELINE - 44];
    /* line 1: identity */
    _Atomic uint64_t owner;          /* SHM_OWNER of the reader; 0 when free or cleanly detached */
    _Atomic uint64_t attached_ns;    /* CLOCK_REALTIME of the attach */
    char name[SHM_READER_NAME_MAX];  /* set by the claimer after its claim */
    uint8_t pad1[8];
} shm_reader_slot_t;

/* The ring segment: header and records, written by its writer alone. Readers
 * map it read-only; what they write (their slots, their sleeping bits) lives
 * in the ring's registry, a file of its own (shm_registry_t), so that file
 * permissions can let a process read a ring without being able to write it. */
typedef struct {
    /* line 0: identity, written once by the creator; magic is stored last */
    _Atomic uint64_t magic;
    uint32_t layout_version;
    uint32_t kind;
    uint32_t record_size;
    uint32_t capacity;
    uint32_t header_size;            /* offset of record 0 from the start */
    uint32_t record_type;            /* schema id, for decoders such as shmtool */
    uint64_t total_size;
    uint64_t created_ns;             /* CLOCK_REALTIME */
    uint64_t pair;                   /* random, non-zero: the registry made with it says the same */
    uint8_t pad0[SHM_CACHELINE - 56];
    /* line 1: the current writer's identity and health */
    _Atomic uint64_t writer;         /* SHM_OWNER of the writer; 0 when closed */
    _Atomic uint32_t retired;        /* set when the segment stops being the live one
                                        (removed on a clean shutdown, or replaced) */
    _Atomic uint32_t writer_generation; /* +1 on every writer (re)start */
    _Atomic uint64_t writer_attached_ns;
    _Atomic uint64_t heartbeat_ns;   /* CLOCK_REALTIME, refreshed by shm_writer_heartbeat */
    uint8_t pad1[SHM_CACHELINE - 32];
    /* line 2: writer hot word */
    _Atomic uint64_t prod_seq;       /* next record the writer will write */
    uint8_t pad2[SHM_CACHELINE - 8];
} shm_header_t;

#define SHM_REGISTRY_MAGIC 0x31474552494c5345ull /* "SELIREG1" little-endian */

/* A ring's registry of readers: one file per ring, in a directory of the
 * instance (segment.h), written by the ring's writer and readers. A broadcast
 * ring's registry is writable by every process that may read the ring; its
 * records stay writable by the writer alone. */
typedef struct {
    /* line 0: identity, written once by the creator; magic is stored last */
    _Atomic uint64_t magic;
    uint32_t layout_version;
    uint32_t max_readers;
    uint64_t pair;                   /* the segment's: a registry of another segment is ignored */
    uint8_t pad0[SHM_CACHELINE - 24];
    /* line 1: futex word, bumped by the writer when someone sleeps */
    _Atomic uint32_t wake_seq;
    uint8_t pad1[SHM_CACHELINE - 4];
    /* line 2: one bit per reader slot, set while that reader sleeps */
    _Atomic uint64_t sleepers;
    uint8_t pad2[SHM_CACHELINE - 8];
    shm_reader_slot_t readers[SHM_MAX_READERS];
} shm_registry_t;

/* Fixed in every layout version, so that a segment of another version can
 * still be recognised and its writer's liveness checked (upgrades, shmtool gc). */
_Static_assert(offsetof(shm_header_t, magic) == 0, "magic first");
_Static_assert(offsetof(shm_header_t, layout_version) == 8, "version after magic");
_Static_assert(offsetof(shm_header_t, writer) == 64, "writer owner word at 64");
_Static_assert(sizeof(shm_reader_slot_t) == 2 * SHM_CACHELINE, "reader slot is two cache lines");
_Static_assert(offsetof(shm_reader_slot_t, owner) == SHM_CACHELINE, "reader identity on its own line");
_Static_assert(offsetof(shm_header_t, writer) == 1 * SHM_CACHELINE, "writer line");
_Static_assert(offsetof(shm_header_t, prod_seq) == 2 * SHM_CACHELINE, "prod_seq line");
_Static_assert(sizeof(shm_header_t) == 3 * SHM_CACHELINE, "header is three cache lines");
_Static_assert(offsetof(shm_registry_t, wake_seq) == 1 * SHM_CACHELINE, "wake line");
_Static_assert(offsetof(shm_registry_t, sleepers) == 2 * SHM_CACHELINE, "sleepers line");
_Static_assert(offsetof(shm_registry_t, readers) == 3 * SHM_CACHELINE, "reader slots");
_Static_assert(sizeof(shm_registry_t) % SHM_CACHELINE == 0, "registry is whole cache lines");
_Static_assert(SHM_MAX_READERS <= 64, "sleepers is a 64-bit mask");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4, "lock-free widths");

#endif
