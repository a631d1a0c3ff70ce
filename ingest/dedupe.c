/* dedupe.c -- see dedupe.h. Ids live in a FIFO array; a hash table of indices
 * into it (at most half full, linear probing, backward-shift deletion, so no
 * tombstones) finds them. */
#include "ingest/dedupe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEDUPE_MAX_WINDOW (1u << 24)

int dedupe_init(dedupe_t *d, uint32_t window)
{
    memset(d, 0, sizeof *d);
    if (window == 0 || window > DEDUPE_MAX_WINDOW)
        return -EINVAL;
    uint32_t size = 2;
    while (size < 2 * window)
        size <<= 1;
    d->ids = calloc(window, sizeof *d->ids);
    d->table = calloc(size, sizeof *d->table);
    if (!d->ids || !d->table) {
        dedupe_fini(d);
        return -ENOMEM;
    }
    d->window = window;
    d->mask = size - 1;
    return 0;
}

void dedupe_fini(dedupe_t *d)
{
    free(d->ids);
    free(d->table);
    d->ids = NULL;
    d->table = NULL;
}

/* FNV-1a over the NUL-padded id, then a final mix so that ids differing only
 * in their last bytes ("f-1", "f-2") spread over the low bits. */
static uint32_t hash_id(const char id[SE_ID_MAX])
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < SE_ID_MAX && id[i]; i++)
        h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* The table slot holding ids[idx]. It is there: every id in the FIFO is in the table. */
static uint32_t slot_of(const dedupe_t *d, uint32_t idx)
{
    uint32_t s = hash_id(d->ids[idx]) & d->mask;
    while (d->table[s] != idx + 1)
        s = (s + 1) & d->mask;
    return s;
}

/* Removes slot s, shifting later entries of the same probe run back so that
 * every lookup still finds them (no tombstones). */
static void remove_slot(dedupe_t *d, uint32_t s)
{
    uint32_t hole = s, j = s;
    for (;;) {
        j = (j + 1) & d->mask;
        uint32_t e = d->table[j];
        if (e == 0)
            break;
        uint32_t home = hash_id(d->ids[e - 1]) & d->mask;
        /* e may move into the hole only if its home is not in (hole, j]
         * (cyclically): otherwise a lookup from its home would stop at the hole. */
        bool home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_between) {
            d->table[hole] = e;
            hole = j;
        }
    }
    d->table[hole] = 0;
}

bool dedupe_check_add(dedupe_t *d, const char *id)
{
    char key[SE_ID_MAX];
    memset(key, 0, sizeof key);
    size_t n = strnlen(id, SE_ID_MAX - 1);
    memcpy(key, id, n);
    uint32_t s = hash_id(key) & d->mask;
    for (uint32_t e; (e = d->table[s]) != 0; s = (s + 1) & d->mask)
        if (memcmp(d->ids[e - 1], key, SE_ID_MAX) == 0)
            return true;
    uint32_t idx = d->next;
    if (d->count == d->window) {
        /* Forget the oldest. Its removal may shift the run we were about to
         * insert into, so look for the free slot again afterwards. */
        remove_slot(d, slot_of(d, idx));
        s = hash_id(key) & d->mask;
        while (d->table[s] != 0)
            s = (s + 1) & d->mask;
    } else {
        d->count++;
    }
    memcpy(d->ids[idx], key, SE_ID_MAX);
    d->table[s] = idx + 1;
    d->next = idx + 1 == d->window ? 0 : idx + 1;
    return false;
}
