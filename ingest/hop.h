/* hop.h -- a bounded single-producer single-consumer queue of variable-size
 * messages in one byte ring, for handing messages from a library's thread
 * (nats.c delivers on its own threads) to the one thread that writes ring
 * `in`. Used by nats_feed.c, one queue per subscription (one producer each).
 * The producer never waits: a full queue refuses the message, the caller counts it. */
#ifndef INGEST_HOP_H
#define INGEST_HOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message as the consumer sees it: pointers into the queue, valid until
 * hop_pop. Three byte strings (any may be empty) and a small tag. */
typedef struct {
    uint32_t tag;
    const char *a, *b, *c;
    uint32_t alen, blen, clen;
} hop_msg_t;

typedef struct {
    /* Written by the producer only; read by the consumer (acquire). */
    _Alignas(64) _Atomic uint64_t head;
    /* Written by the consumer only; read by the producer (acquire). */
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) uint64_t tail_cache; /* producer's copy of tail */
    uint64_t cap;                     /* bytes, a power of two */
    uint8_t *buf;
} hop_t;

/* Allocates a queue of cap_bytes (rounded up to a power of two, at least
 * 4096). Returns 0 or -ENOMEM / -EINVAL (cap_bytes over 1 GiB). */
int hop_init(hop_t *q, size_t cap_bytes);

/* Frees the queue (whatever it still holds is gone). */
void hop_fini(hop_t *q);

/* Producer: appends one message made of the three byte strings. Returns false
 * when it does not fit now (the queue is full, or the message is larger than
 * half the queue). Never blocks, never allocates. */
bool hop_push(hop_t *q, uint32_t tag, const void *a, uint32_t alen, const void *b, uint32_t blen,
              const void *c, uint32_t clen);

/* Consumer: the oldest message, without removing it. False when empty. */
bool hop_peek(hop_t *q, hop_msg_t *m);

/* Consumer: removes the message hop_peek returned. */
void hop_pop(hop_t *q);

#endif
