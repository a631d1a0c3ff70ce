/* hop.c -- see hop.h. Layout: each message is an 8-byte-aligned record
 * {u32 size, u32 tag, u32 alen, u32 blen, u32 clen, u32 pad} then the bytes of
 * a, b and c. A record never wraps: when it would not fit before the end of
 * the buffer, a record of tag HOP_SKIP fills the rest and the message starts
 * at offset 0 (an end shorter than a header is skipped without one). head and tail count bytes forever (uint64 never wraps). */
#include "ingest/hop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shm/atomic.h"

#define HOP_SKIP 0xffffffffu

typedef struct {
    uint32_t size; /* whole record, header included, a multiple of 8 */
    uint32_t tag;
    uint32_t alen, blen, clen;
    uint32_t pad;
} hop_hdr_t;

int hop_init(hop_t *q, size_t cap_bytes)
{
    memset(q, 0, sizeof *q);
    if (cap_bytes > (1u << 30))
        return -EINVAL;
    uint64_t cap = 4096;
    while (cap < cap_bytes)
        cap <<= 1;
    q->buf = malloc(cap);
    if (!q->buf)
        return -ENOMEM;
    q->cap = cap;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    return 0;
}

void hop_fini(hop_t *q)
{
    free(q->buf);
    q->buf = NULL;
}

static uint64_t room(hop_t *q, uint64_t head)
{
    return q->cap - (head - q->tail_cache);
}

bool hop_push(hop_t *q, uint32_t tag, const void *a, uint32_t alen, const void *b, uint32_t blen,
              const void *c, uint32_t clen)
{
    uint64_t need = (sizeof(hop_hdr_t) + (uint64_t)alen + blen + clen + 7) & ~7ull;
    if (need > q->cap / 2)
        return false;
    uint64_t head = shm__load_relaxed(&q->head);
    uint64_t off = head & (q->cap - 1);
    uint64_t skip = q->cap - off < need ? q->cap - off : 0; /* the rest of the buffer, when it does not fit */
    if (room(q, head) < skip + need) {
        /* Pairs with the consumer's release store of tail in hop_pop: the
         * bytes before it are no longer read. */
        q->tail_cache = shm__load_acquire(&q->tail);
        if (room(q, head) < skip + need)
            return false;
    }
    if (skip) {
        hop_hdr_t s = { (uint32_t)skip, HOP_SKIP, 0, 0, 0, 0 };
        /* An end shorter than a header (8 or 16 bytes) gets no marker: the
         * consumer skips any end that short by the same rule. */
        if (skip >= sizeof s)
            memcpy(q->buf + off, &s, sizeof s);
        head += skip;
        off = 0;
    }
    hop_hdr_t h = { (uint32_t)need, tag, alen, blen, clen, 0 };
    uint8_t *p = q->buf + off;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    if (alen)
        memcpy(p, a, alen);
    if (blen)
        memcpy(p + alen, b, blen);
    if (clen)
        memcpy(p + alen + blen, c, clen);
    /* Pairs with the consumer's acquire load of head in hop_peek: the record
     * is complete before it becomes visible. */
    shm__store_release(&q->head, head + need);
    return true;
}

bool hop_peek(hop_t *q, hop_msg_t *m)
{
    uint64_t tail = shm__load_relaxed(&q->tail);
    for (;;) {
        /* Pairs with the producer's release store of head in hop_push. */
        uint64_t head = shm__load_acquire(&q->head);
        if (tail == head)
            return false;
        uint64_t off = tail & (q->cap - 1);
        hop_hdr_t h;
        if (q->cap - off < sizeof h) { /* an end too short for a record (see hop_push) */
            tail += q->cap - off;
            shm__store_release(&q->tail, tail);
            continue;
        }
        memcpy(&h, q->buf + off, sizeof h);
        if (h.tag == HOP_SKIP) {
            tail += h.size;
            shm__store_release(&q->tail, tail);
            continue;
        }
        const char *p = (const char *)q->buf + off + sizeof h;
        m->tag = h.tag;
        m->a = p;
        m->alen = h.alen;
        m->b = p + h.alen;
        m->blen = h.blen;
        m->c = p + h.alen + h.blen;
        m->clen = h.clen;
        return true;
    }
}

void hop_pop(hop_t *q)
{
    uint64_t tail = shm__load_relaxed(&q->tail);
    hop_hdr_t h;
    memcpy(&h, q->buf + (tail & (q->cap - 1)), sizeof h);
    /* Pairs with the producer's acquire load of tail in hop_push: we are done
     * reading these bytes before the producer may reuse them. */
    shm__store_release(&q->tail, tail + h.size);
}
