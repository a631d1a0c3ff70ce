/* aggregator.c -- riskd's bounded, prioritised signal queue with TTL expiry.
 * See aggregator.h for the contract and the choice of structure. */
#include "riskd/aggregator.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static const agg_counters_t zero_counters;

int agg_init(agg_t *q, int capacity)
{
    if (q == NULL)
        return se_err(-EINVAL, "signal queue: no queue to initialise");
    memset(q, 0, sizeof *q);
    q->free_head = -1;
    if (capacity < 1 || capacity > AGG_MAX_CAPACITY)
        return se_err(-EINVAL, "signal queue: capacity %d is out of range [1, %d] (engine.signalBufferSize)",
                      capacity, AGG_MAX_CAPACITY);
    q->nodes = calloc((size_t)capacity, sizeof *q->nodes);
    /* Every level holds at least one signal, so there are never more levels than signals. */
    q->levels = calloc((size_t)capacity, sizeof *q->levels);
    if (q->nodes == NULL || q->levels == NULL) {
        agg_fini(q);
        return se_err(-ENOMEM, "signal queue: out of memory for %d signals", capacity);
    }
    for (int i = 0; i < capacity; i++)
        q->nodes[i].next = i + 1 < capacity ? i + 1 : -1;
    q->free_head = 0;
    q->capacity = capacity;
    return 0;
}

void agg_fini(agg_t *q)
{
    if (q == NULL)
        return;
    free(q->nodes);
    free(q->levels);
    memset(q, 0, sizeof *q);
    q->free_head = -1;
}

/* True when a signal pushed at push_ns has outlived ttl_ns at now_ns. The
 * difference is taken unsigned, so no pair of clock values can overflow. */
static inline bool is_stale(int64_t push_ns, int64_t now_ns, int64_t ttl_ns)
{
    return ttl_ns > 0 && now_ns > push_ns && (uint64_t)now_ns - (uint64_t)push_ns > (uint64_t)ttl_ns;
}

/* Unlinks the head (oldest) node of level li and returns it to the free list;
 * the caller copies the signal out first. The level stays in the array even
 * when empty: callers remove empty levels (remove_level, compact_levels). */
static inline void drop_head(agg_t *q, int li)
{
    agg_level_t *l = &q->levels[li];
    int32_t n = l->head;

    l->head = q->nodes[n].next;
    if (l->head < 0)
        l->tail = -1;
    l->count--;
    q->nodes[n].next = q->free_head;
    q->free_head = n;
    q->size--;
}

static inline void remove_level(agg_t *q, int li)
{
    memmove(&q->levels[li], &q->levels[li + 1], (size_t)(q->nlevels - li - 1) * sizeof q->levels[0]);
    q->nlevels--;
}

/* Removes every empty level, keeping the order of the others. */
static void compact_levels(agg_t *q)
{
    int w = 0;

    for (int i = 0; i < q->nlevels; i++)
        if (q->levels[i].count > 0)
            q->levels[w++] = q->levels[i];
    q->nlevels = w;
}

/* Returns the index of the level of `priority`, creating it (empty) in its
 * sorted place if absent. The caller guarantees room (nlevels < capacity). */
static int find_or_add_level(agg_t *q, int priority)
{
    int lo = 0, hi = q->nlevels; /* levels are sorted by priority, descending */

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (q->levels[mid].priority == priority)
            return mid;
        if (q->levels[mid].priority > priority)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&q->levels[lo + 1], &q->levels[lo], (size_t)(q->nlevels - lo) * sizeof q->levels[0]);
    q->levels[lo] = (agg_level_t){ .priority = priority, .head = -1, .tail = -1, .count = 0 };
    q->nlevels++;
    return lo;
}

agg_result_t agg_push(agg_t *q, const se_signal_rec_t *sig, int priority, int64_t now_ns,
                      se_signal_rec_t *evicted_out)
{
    agg_result_t res = AGG_QUEUED;
    se_signal_rec_t victim;
    agg_level_t *l;
    int32_t n;
    int li;

    if (q == NULL || sig == NULL || q->capacity < 1)
        return AGG_INVALID;
    q->counters.queued++;
    if (q->size == q->capacity) {
        li = q->nlevels - 1; /* the lowest priority; its head is its oldest */
        q->counters.evicted++;
        if (priority < q->levels[li].priority) {
            if (evicted_out != NULL && evicted_out != sig)
                *evicted_out = *sig;
            return AGG_EVICTED;
        }
        /* Copied aside: evicted_out may be the caller's sig itself. */
        victim = q->nodes[q->levels[li].head].sig;
        drop_head(q, li);
        if (q->levels[li].count == 0)
            q->nlevels--; /* the last level */
        res = AGG_EVICTED;
    }
    li = find_or_add_level(q, priority);
    l = &q->levels[li];
    n = q->free_head;
    q->free_head = q->nodes[n].next;
    q->nodes[n].sig = *sig;
    q->nodes[n].push_ns = now_ns;
    q->nodes[n].next = -1;
    if (l->tail >= 0)
        q->nodes[l->tail].next = n;
    else
        l->head = n;
    l->tail = n;
    l->count++;
    q->size++;
    if ((uint64_t)q->size > q->counters.max_depth)
        q->counters.max_depth = (uint64_t)q->size;
    if (res == AGG_EVICTED && evicted_out != NULL)
        *evicted_out = victim;
    return res;
}

/* agg_expire without argument checks; stale_out NULL means "no limit". */
static int expire(agg_t *q, int64_t now_ns, int64_t ttl_ns, se_signal_rec_t *stale_out, int stale_max)
{
    int dropped = 0;

    if (ttl_ns <= 0)
        return 0;
    for (int i = 0; i < q->nlevels; i++) {
        agg_level_t *l = &q->levels[i];
        /* A level is FIFO by push time, so its stale signals are a prefix of it. */
        while (l->head >= 0 && is_stale(q->nodes[l->head].push_ns, now_ns, ttl_ns)) {
            if (stale_out != NULL) {
                if (dropped == stale_max)
                    goto out;
                stale_out[dropped] = q->nodes[l->head].sig;
            }
            drop_head(q, i);
            dropped++;
        }
    }
out:
    if (dropped > 0) {
        q->counters.stale += (uint64_t)dropped;
        compact_levels(q);
    }
    return dropped;
}

static bool any_stale(const agg_t *q, int64_t now_ns, int64_t ttl_ns)
{
    for (int i = 0; i < q->nlevels; i++)
        if (is_stale(q->nodes[q->levels[i].head].push_ns, now_ns, ttl_ns))
            return true;
    return false;
}

int agg_expire(agg_t *q, int64_t now_ns, int64_t ttl_ns, se_signal_rec_t *stale_out, int stale_max)
{
    if (q == NULL || q->capacity < 1 || (stale_out != NULL && stale_max < 1))
        return -EINVAL;
    return expire(q, now_ns, ttl_ns, stale_out, stale_max);
}

agg_result_t agg_pop(agg_t *q, int64_t now_ns, int64_t ttl_ns, se_signal_rec_t *out,
                     se_signal_rec_t *stale_out, int stale_max, int *nstale)
{
    int n;

    if (nstale != NULL)
        *nstale = 0;
    if (q == NULL || out == NULL || nstale == NULL || q->capacity < 1 || (stale_out != NULL && stale_max < 1))
        return AGG_INVALID;
    n = expire(q, now_ns, ttl_ns, stale_out, stale_max);
    *nstale = n;
    if (stale_out != NULL && n == stale_max && any_stale(q, now_ns, ttl_ns))
        return AGG_MORE_STALE;
    if (q->size == 0)
        return AGG_EMPTY;
    *out = q->nodes[q->levels[0].head].sig;
    drop_head(q, 0);
    if (q->levels[0].count == 0)
        remove_level(q, 0);
    q->counters.popped++;
    return AGG_POPPED;
}

int agg_size(const agg_t *q)
{
    return q == NULL ? 0 : q->size;
}

int agg_capacity(const agg_t *q)
{
    return q == NULL ? 0 : q->capacity;
}

int agg_levels(const agg_t *q)
{
    return q == NULL ? 0 : q->nlevels;
}

const agg_counters_t *agg_counters(const agg_t *q)
{
    return q == NULL ? &zero_counters : &q->counters;
}

const char *agg_result_str(agg_result_t r)
{
    switch (r) {
    case AGG_QUEUED: return "queued";
    case AGG_EVICTED: return "evicted";
    case AGG_POPPED: return "popped";
    case AGG_EMPTY: return "empty";
    case AGG_MORE_STALE: return "more stale";
    case AGG_INVALID: return "invalid";
    }
    return "unknown";
}
