/* dedupe.h -- the fill ids ingest has published recently, so a fill that
 * arrives twice (a venue's retry, a JetStream redelivery after a restart) is
 * applied once. A bounded window: the last N ids, oldest forgotten first.
 * Used by nats_feed.c on the thread that writes ring `in`; not thread-safe. */
#ifndef INGEST_DEDUPE_H
#define INGEST_DEDUPE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"

typedef struct {
    uint32_t window;             /* ids kept */
    uint32_t count;              /* ids held now (<= window) */
    uint32_t next;               /* where the next id goes in ids (the oldest once full) */
    uint32_t mask;               /* table size - 1 (a power of two >= 2 * window) */
    char (*ids)[SE_ID_MAX];      /* FIFO of ids, NUL-padded */
    uint32_t *table;             /* open addressing, linear probing: 1 + index into ids, 0 = empty */
} dedupe_t;

/* Allocates a window of `window` ids (1 .. 16M). Returns 0, -EINVAL or -ENOMEM. */
int dedupe_init(dedupe_t *d, uint32_t window);

/* Frees what dedupe_init allocated. */
void dedupe_fini(dedupe_t *d);

/* True when id (NUL-terminated, < SE_ID_MAX bytes) is among the last
 * `window` ids added; otherwise adds it (forgetting the oldest when full) and
 * returns false. An over-long id is compared on its first SE_ID_MAX-1 bytes.
 * No allocation; expected O(1). */
bool dedupe_check_add(dedupe_t *d, const char *id);

#endif
