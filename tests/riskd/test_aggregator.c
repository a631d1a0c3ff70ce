/* test_aggregator.c -- check suite for riskd's signal queue (riskd/aggregator.c):
 * priority and FIFO order, TTL expiry, eviction when full, counters, and a
 * randomized run against a simple reference model. Time is injected; no sleeps. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riskd/aggregator.h"

#define MS 1000000LL

/* A signal whose identity is n: client_order_id "s-<n>" and qty n. */
static se_signal_rec_t sig_n(int n)
{
    se_signal_rec_t s;

    memset(&s, 0, sizeof s);
    s.action = SE_ACTION_NEW;
    s.side = SE_SIDE_BUY;
    s.order_type = SE_ORDER_MARKET;
    s.strategy_index = (uint32_t)(n % 7);
    strcpy(s.symbol, "BTC-USD");
    snprintf(s.client_order_id, sizeof s.client_order_id, "s-%d", n);
    s.qty = n;
    return s;
}

static int id_of(const se_signal_rec_t *s)
{
    int n = -1;

    ck_assert_int_eq(sscanf(s->client_order_id, "s-%d", &n), 1);
    ck_assert_int_eq((int)s->qty, n);
    return n;
}

static void push_ok(agg_t *q, int n, int prio, int64_t now)
{
    se_signal_rec_t s = sig_n(n);
    ck_assert_int_eq(agg_push(q, &s, prio, now, NULL), AGG_QUEUED);
}

/* Pops one signal with no TTL and returns its id, or -1 when empty. */
static int pop_id(agg_t *q)
{
    se_signal_rec_t out;
    int nstale = -1;
    agg_result_t r = agg_pop(q, 0, 0, &out, NULL, 0, &nstale);

    ck_assert_int_eq(nstale, 0);
    if (r == AGG_EMPTY)
        return -1;
    ck_assert_int_eq(r, AGG_POPPED);
    return id_of(&out);
}

static void check_balance(const agg_t *q)
{
    const agg_counters_t *c = agg_counters(q);
    ck_assert_uint_eq(c->queued, c->popped + c->evicted + c->stale + (uint64_t)agg_size(q));
}

START_TEST(agg_should_pop_higher_priority_first)
{
    agg_t q;
    ck_assert_int_eq(agg_init(&q, 16), 0);
    push_ok(&q, 1, 1, 0);
    push_ok(&q, 2, 5, 1);
    push_ok(&q, 3, 3, 2);
    push_ok(&q, 4, 10, 3);
    ck_assert_int_eq(agg_size(&q), 4);
    ck_assert_int_eq(agg_levels(&q), 4);
    ck_assert_int_eq(pop_id(&q), 4);
    ck_assert_int_eq(pop_id(&q), 2);
    ck_assert_int_eq(pop_id(&q), 3);
    ck_assert_int_eq(pop_id(&q), 1);
    ck_assert_int_eq(pop_id(&q), -1);
    ck_assert_int_eq(agg_size(&q), 0);
    ck_assert_int_eq(agg_levels(&q), 0);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_keep_fifo_within_a_priority)
{
    agg_t q;
    ck_assert_int_eq(agg_init(&q, 64), 0);
    /* Interleaved pushes at two priorities, all at the same instant: push order decides. */
    for (int i = 0; i < 20; i++)
        push_ok(&q, i, i % 2 ? 7 : 3, 100);
    for (int i = 1; i < 20; i += 2)
        ck_assert_int_eq(pop_id(&q), i);
    /* A newcomer at the lower priority goes behind the older ones. */
    push_ok(&q, 100, 3, 200);
    for (int i = 0; i < 20; i += 2)
        ck_assert_int_eq(pop_id(&q), i);
    ck_assert_int_eq(pop_id(&q), 100);
    ck_assert_int_eq(pop_id(&q), -1);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_drop_exactly_the_stale_signals)
{
    agg_t q;
    se_signal_rec_t out, stale[8];
    int nstale = -1;
    const int64_t ttl = 50 * MS;

    ck_assert_int_eq(agg_init(&q, 16), 0);
    push_ok(&q, 1, 9, 0 * MS);  /* age 100 ms at t=100: stale */
    push_ok(&q, 2, 1, 10 * MS); /* age 90 ms: stale */
    push_ok(&q, 3, 9, 49 * MS); /* age 51 ms: stale */
    push_ok(&q, 4, 9, 50 * MS); /* age exactly the TTL: still live */
    push_ok(&q, 5, 1, 60 * MS); /* live */
    memset(&out, 0, sizeof out);
    ck_assert_int_eq(agg_pop(&q, 100 * MS, ttl, &out, stale, 8, &nstale), AGG_POPPED);
    ck_assert_int_eq(id_of(&out), 4);
    ck_assert_int_eq(nstale, 3);
    /* Reported highest priority first, oldest first within one. */
    ck_assert_int_eq(id_of(&stale[0]), 1);
    ck_assert_int_eq(id_of(&stale[1]), 3);
    ck_assert_int_eq(id_of(&stale[2]), 2);
    /* Nothing stale is left behind: the depth counts only the live one. */
    ck_assert_int_eq(agg_size(&q), 1);
    ck_assert_uint_eq(agg_counters(&q)->stale, 3);
    ck_assert_uint_eq(agg_counters(&q)->popped, 1);
    /* One nanosecond past its TTL, the last one goes too. */
    ck_assert_int_eq(agg_pop(&q, 110 * MS + 1, ttl, &out, stale, 8, &nstale), AGG_EMPTY);
    ck_assert_int_eq(nstale, 1);
    ck_assert_int_eq(id_of(&stale[0]), 5);
    ck_assert_int_eq(agg_size(&q), 0);
    ck_assert_uint_eq(agg_counters(&q)->stale, 4);
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_never_expire_without_a_ttl)
{
    agg_t q;
    se_signal_rec_t out, stale[2];
    int nstale = -1;

    ck_assert_int_eq(agg_init(&q, 4), 0);
    push_ok(&q, 1, 0, INT64_MIN);
    push_ok(&q, 2, 0, 0);
    ck_assert_int_eq(agg_pop(&q, INT64_MAX, 0, &out, stale, 2, &nstale), AGG_POPPED);
    ck_assert_int_eq(nstale, 0);
    ck_assert_int_eq(id_of(&out), 1);
    ck_assert_int_eq(agg_pop(&q, INT64_MAX, -5, &out, stale, 2, &nstale), AGG_POPPED);
    ck_assert_int_eq(nstale, 0);
    ck_assert_int_eq(id_of(&out), 2);
    ck_assert_uint_eq(agg_counters(&q)->stale, 0);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_survive_extreme_and_backward_clocks)
{
    agg_t q;
    se_signal_rec_t out;
    int nstale;

    ck_assert_int_eq(agg_init(&q, 4), 0);
    push_ok(&q, 1, 0, INT64_MAX);
    /* The clock went backwards: a negative age is not stale. */
    ck_assert_int_eq(agg_pop(&q, INT64_MIN, 1, &out, NULL, 0, &nstale), AGG_POPPED);
    ck_assert_int_eq(nstale, 0);
    push_ok(&q, 2, 0, INT64_MIN);
    /* The largest possible age, computed without overflow. */
    ck_assert_int_eq(agg_pop(&q, INT64_MAX, INT64_MAX, &out, NULL, 0, &nstale), AGG_EMPTY);
    ck_assert_int_eq(nstale, 1);
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_report_stale_in_batches_when_the_buffer_is_small)
{
    agg_t q;
    se_signal_rec_t out, stale[2];
    int nstale, seen[8] = { 0 };

    ck_assert_int_eq(agg_init(&q, 8), 0);
    for (int i = 0; i < 5; i++)
        push_ok(&q, i, i % 2, i); /* stale at t=1000, ttl 100 */
    push_ok(&q, 5, -1, 950);        /* live, lowest priority */
    ck_assert_int_eq(agg_pop(&q, 1000, 100, &out, stale, 2, &nstale), AGG_MORE_STALE);
    ck_assert_int_eq(nstale, 2);
    seen[id_of(&stale[0])]++, seen[id_of(&stale[1])]++;
    ck_assert_int_eq(agg_pop(&q, 1000, 100, &out, stale, 2, &nstale), AGG_MORE_STALE);
    ck_assert_int_eq(nstale, 2);
    seen[id_of(&stale[0])]++, seen[id_of(&stale[1])]++;
    ck_assert_int_eq(agg_pop(&q, 1000, 100, &out, stale, 2, &nstale), AGG_POPPED);
    ck_assert_int_eq(nstale, 1);
    seen[id_of(&stale[0])]++;
    ck_assert_int_eq(id_of(&out), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(seen[i], 1);
    /* Exactly full, with nothing more stale behind: the live pop still happens. */
    push_ok(&q, 6, 0, 0);
    push_ok(&q, 7, 0, 990);
    ck_assert_int_eq(agg_pop(&q, 1000, 100, &out, stale, 1, &nstale), AGG_POPPED);
    ck_assert_int_eq(nstale, 1);
    ck_assert_int_eq(id_of(&stale[0]), 6);
    ck_assert_int_eq(id_of(&out), 7);
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_expire_should_purge_without_popping)
{
    agg_t q;
    se_signal_rec_t stale[4];

    ck_assert_int_eq(agg_init(&q, 8), 0);
    push_ok(&q, 1, 2, 0);
    push_ok(&q, 2, 1, 0);
    push_ok(&q, 3, 1, 500);
    ck_assert_int_eq(agg_expire(&q, 200, 100, stale, 1), 1);
    ck_assert_int_eq(id_of(&stale[0]), 1);
    ck_assert_int_eq(agg_expire(&q, 200, 100, NULL, 0), 1); /* unreported, still counted */
    ck_assert_int_eq(agg_expire(&q, 200, 100, stale, 4), 0);
    ck_assert_int_eq(agg_size(&q), 1);
    ck_assert_int_eq(agg_levels(&q), 1);
    ck_assert_uint_eq(agg_counters(&q)->stale, 2);
    ck_assert_uint_eq(agg_counters(&q)->popped, 0);
    ck_assert_int_eq(pop_id(&q), 3);
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_evict_the_lowest_priority_oldest_when_full)
{
    agg_t q;
    se_signal_rec_t s, ev;

    ck_assert_int_eq(agg_init(&q, 4), 0);
    push_ok(&q, 1, 5, 0);
    push_ok(&q, 2, 1, 1);
    push_ok(&q, 3, 1, 2);
    push_ok(&q, 4, 9, 3);
    s = sig_n(5);
    memset(&ev, 0, sizeof ev);
    ck_assert_int_eq(agg_push(&q, &s, 5, 4, &ev), AGG_EVICTED);
    ck_assert_int_eq(id_of(&ev), 2); /* priority 1, the older of the two */
    ck_assert_int_eq(agg_size(&q), 4);
    s = sig_n(6);
    ck_assert_int_eq(agg_push(&q, &s, 1, 5, &ev), AGG_EVICTED);
    ck_assert_int_eq(id_of(&ev), 3); /* same priority as the newcomer: the older goes */
    ck_assert_uint_eq(agg_counters(&q)->evicted, 2);
    ck_assert_uint_eq(agg_counters(&q)->queued, 6);
    ck_assert_int_eq(pop_id(&q), 4);
    ck_assert_int_eq(pop_id(&q), 1);
    ck_assert_int_eq(pop_id(&q), 5);
    ck_assert_int_eq(pop_id(&q), 6);
    ck_assert_int_eq(pop_id(&q), -1);
    ck_assert_uint_eq(agg_counters(&q)->max_depth, 4);
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_evict_the_incoming_signal_when_it_is_strictly_lowest)
{
    agg_t q;
    se_signal_rec_t s, ev;

    ck_assert_int_eq(agg_init(&q, 2), 0);
    push_ok(&q, 1, 3, 0);
    push_ok(&q, 2, 4, 1);
    s = sig_n(3);
    ck_assert_int_eq(agg_push(&q, &s, 2, 2, &ev), AGG_EVICTED);
    ck_assert_int_eq(id_of(&ev), 3);
    ck_assert_int_eq(agg_size(&q), 2);
    /* With no evicted_out the drop is still counted. */
    ck_assert_int_eq(agg_push(&q, &s, -100, 3, NULL), AGG_EVICTED);
    ck_assert_uint_eq(agg_counters(&q)->evicted, 2);
    ck_assert_int_eq(pop_id(&q), 2);
    ck_assert_int_eq(pop_id(&q), 1);
    ck_assert_int_eq(pop_id(&q), -1);
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_evicted_out_may_be_the_pushed_signal)
{
    agg_t q;
    se_signal_rec_t s;

    ck_assert_int_eq(agg_init(&q, 1), 0);
    push_ok(&q, 1, 0, 0);
    s = sig_n(2);
    ck_assert_int_eq(agg_push(&q, &s, 1, 1, &s), AGG_EVICTED);
    ck_assert_int_eq(id_of(&s), 1); /* the victim, while the pushed one was stored intact */
    ck_assert_int_eq(pop_id(&q), 2);
    s = sig_n(3);
    push_ok(&q, 4, 5, 2);
    ck_assert_int_eq(agg_push(&q, &s, 0, 3, &s), AGG_EVICTED);
    ck_assert_int_eq(id_of(&s), 3);
    ck_assert_int_eq(pop_id(&q), 4);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_work_with_capacity_one)
{
    agg_t q;
    se_signal_rec_t s, ev, out;
    int nstale;

    ck_assert_int_eq(agg_init(&q, 1), 0);
    ck_assert_int_eq(agg_capacity(&q), 1);
    ck_assert_int_eq(pop_id(&q), -1);
    push_ok(&q, 1, 0, 0);
    s = sig_n(2);
    ck_assert_int_eq(agg_push(&q, &s, 0, 1, &ev), AGG_EVICTED); /* equal: the older goes */
    ck_assert_int_eq(id_of(&ev), 1);
    s = sig_n(3);
    ck_assert_int_eq(agg_push(&q, &s, -1, 2, &ev), AGG_EVICTED); /* lower: itself */
    ck_assert_int_eq(id_of(&ev), 3);
    ck_assert_int_eq(agg_size(&q), 1);
    ck_assert_int_eq(agg_pop(&q, 1000, 10, &out, &ev, 1, &nstale), AGG_EMPTY);
    ck_assert_int_eq(nstale, 1);
    ck_assert_int_eq(id_of(&ev), 2);
    for (int i = 10; i < 20; i++) {
        push_ok(&q, i, i, 2000 + i);
        ck_assert_int_eq(pop_id(&q), i);
    }
    check_balance(&q);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_order_many_levels)
{
    enum { N = 300 };
    agg_t q;
    int prio[N];

    ck_assert_int_eq(agg_init(&q, N), 0);
    /* Distinct priorities in a scrambled order (37 is coprime with 300). */
    for (int i = 0; i < N; i++)
        prio[i] = (i * 37) % N - N / 2;
    for (int i = 0; i < N; i++)
        push_ok(&q, i, prio[i], i);
    ck_assert_int_eq(agg_levels(&q), N);
    int last = INT_MAX;
    for (int i = 0; i < N; i++) {
        int id = pop_id(&q);
        ck_assert_int_ge(id, 0);
        ck_assert_int_lt(prio[id], last);
        last = prio[id];
    }
    ck_assert_int_eq(agg_levels(&q), 0);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_accept_negative_and_extreme_priorities)
{
    agg_t q;
    se_signal_rec_t s, ev;

    ck_assert_int_eq(agg_init(&q, 4), 0);
    push_ok(&q, 1, -5, 0);
    push_ok(&q, 2, INT_MIN, 1);
    push_ok(&q, 3, INT_MAX, 2);
    push_ok(&q, 4, 0, 3);
    s = sig_n(5);
    ck_assert_int_eq(agg_push(&q, &s, -6, 4, &ev), AGG_EVICTED);
    ck_assert_int_eq(id_of(&ev), 2); /* INT_MIN is the lowest */
    ck_assert_int_eq(pop_id(&q), 3);
    ck_assert_int_eq(pop_id(&q), 4);
    ck_assert_int_eq(pop_id(&q), 1);
    ck_assert_int_eq(pop_id(&q), 5);
    ck_assert_int_eq(pop_id(&q), -1);
    agg_fini(&q);
}
END_TEST

START_TEST(agg_should_refuse_bad_arguments_without_crashing)
{
    agg_t q, zero;
    se_signal_rec_t s = sig_n(1), out;
    int nstale = 7;

    ck_assert_int_eq(agg_init(&q, 0), -EINVAL);
    ck_assert_int_eq(agg_init(&q, -3), -EINVAL);
    ck_assert_int_eq(agg_init(&q, AGG_MAX_CAPACITY + 1), -EINVAL);
    ck_assert_int_eq(agg_init(NULL, 4), -EINVAL);
    /* A failed init leaves a queue that refuses everything and frees safely. */
    ck_assert_int_eq(agg_push(&q, &s, 0, 0, NULL), AGG_INVALID);
    ck_assert_int_eq(agg_pop(&q, 0, 0, &out, NULL, 0, &nstale), AGG_INVALID);
    ck_assert_int_eq(nstale, 0);
    agg_fini(&q);
    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(agg_push(&zero, &s, 0, 0, NULL), AGG_INVALID);
    ck_assert_int_eq(agg_expire(&zero, 0, 1, NULL, 0), -EINVAL);
    agg_fini(&zero);
    agg_fini(NULL);
    ck_assert_int_eq(agg_size(NULL), 0);
    ck_assert_int_eq(agg_capacity(NULL), 0);
    ck_assert_uint_eq(agg_counters(NULL)->queued, 0);

    ck_assert_int_eq(agg_init(&q, 2), 0);
    ck_assert_int_eq(agg_push(NULL, &s, 0, 0, NULL), AGG_INVALID);
    ck_assert_int_eq(agg_push(&q, NULL, 0, 0, NULL), AGG_INVALID);
    ck_assert_int_eq(agg_pop(&q, 0, 0, NULL, NULL, 0, &nstale), AGG_INVALID);
    ck_assert_int_eq(agg_pop(&q, 0, 0, &out, NULL, 0, NULL), AGG_INVALID);
    ck_assert_int_eq(agg_pop(&q, 0, 0, &out, &out, 0, &nstale), AGG_INVALID); /* a buffer of none */
    ck_assert_int_eq(agg_expire(&q, 0, 1, &out, 0), -EINVAL);
    ck_assert_uint_eq(agg_counters(&q)->queued, 0);
    ck_assert_str_eq(agg_result_str(AGG_EVICTED), "evicted");
    ck_assert_str_eq(agg_result_str((agg_result_t)42), "unknown");
    agg_fini(&q);
    agg_fini(&q); /* twice is harmless */
    /* And it can be initialised again. */
    ck_assert_int_eq(agg_init(&q, 3), 0);
    push_ok(&q, 9, 0, 0);
    ck_assert_int_eq(pop_id(&q), 9);
    agg_fini(&q);
}
END_TEST

/* ---- randomized comparison against a reference model ---------------------- */

/* The reference: an unordered array, searched in full on every operation. */
typedef struct {
    int id, prio;
    int64_t push_ns;
    uint64_t seq;
} ref_item_t;

typedef struct {
    ref_item_t *items;
    int n, cap;
    uint64_t seq;
} ref_t;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: fixed seeds make every run the same. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static int ref_stale(const ref_item_t *it, int64_t now, int64_t ttl)
{
    return ttl > 0 && now - it->push_ns > ttl;
}

/* Returns the id dropped (-1 if none) when pushing id at prio. */
static int ref_push(ref_t *r, int id, int prio, int64_t now)
{
    int dropped = -1;

    if (r->n == r->cap) {
        int v = 0;
        for (int i = 1; i < r->n; i++)
            if (r->items[i].prio < r->items[v].prio ||
                (r->items[i].prio == r->items[v].prio && r->items[i].seq < r->items[v].seq))
                v = i;
        if (prio < r->items[v].prio)
            return id;
        dropped = r->items[v].id;
        r->items[v] = r->items[--r->n];
    }
    r->items[r->n++] = (ref_item_t){ id, prio, now, r->seq++ };
    return dropped;
}

/* Drops every stale item (marking stale_seen[id]) and returns the id of the
 * best live one, removed, or -1. */
static int ref_pop(ref_t *r, int64_t now, int64_t ttl, int *stale_seen, int *nstale)
{
    int best = -1, id;

    *nstale = 0;
    for (int i = 0; i < r->n;) {
        if (ref_stale(&r->items[i], now, ttl)) {
            stale_seen[r->items[i].id]++;
            (*nstale)++;
            r->items[i] = r->items[--r->n];
        } else {
            i++;
        }
    }
    for (int i = 0; i < r->n; i++)
        if (best < 0 || r->items[i].prio > r->items[best].prio ||
            (r->items[i].prio == r->items[best].prio && r->items[i].seq < r->items[best].seq))
            best = i;
    if (best < 0)
        return -1;
    id = r->items[best].id;
    r->items[best] = r->items[--r->n];
    return id;
}

/* check's ck_assert reports each passing assertion to the runner, which is
 * slow over hundreds of thousands of steps: these assert only on failure,
 * naming the seed and step. */
#define REQUIRE(cond)                                                                                   \
    do {                                                                                                \
        if (!(cond))                                                                                    \
            ck_abort_msg("seed %llu step %d: %s", (unsigned long long)seed, step, #cond);              \
    } while (0)
#define REQUIRE_EQ(a, b) REQUIRE((a) == (b))

/* The id of a signal made by sig_n, or -1 if it is not one. */
static int quiet_id(const se_signal_rec_t *s)
{
    int n = -1;

    if (sscanf(s->client_order_id, "s-%d", &n) != 1 || (int)s->qty != n)
        return -1;
    return n;
}

static void random_run(uint64_t seed, int capacity, int nlevels, int steps)
{
    agg_t q;
    ref_t ref = { calloc((size_t)capacity, sizeof(ref_item_t)), 0, capacity, 0 };
    se_signal_rec_t *stale = calloc((size_t)capacity, sizeof *stale);
    int *seen_ref = calloc((size_t)steps, sizeof(int)), *seen_q = calloc((size_t)steps, sizeof(int));
    int64_t now = 1000000;
    int next_id = 0, step = -1, sid;

    REQUIRE(ref.items && stale && seen_ref && seen_q);
    rng_state = seed;
    REQUIRE_EQ(agg_init(&q, capacity), 0);
    for (step = 0; step < steps; step++) {
        now += rnd() % 40; /* non-decreasing, often equal */
        int64_t ttl = (rnd() % 4 == 0) ? 0 : 200;
        uint32_t op = rnd() % 100;
        if (op < 55) {
            int id = next_id++;
            int prio = (int)(rnd() % (uint32_t)nlevels) - nlevels / 2;
            se_signal_rec_t s = sig_n(id), ev;
            int want = ref_push(&ref, id, prio, now);
            agg_result_t res = agg_push(&q, &s, prio, now, &ev);
            if (want < 0) {
                REQUIRE_EQ(res, AGG_QUEUED);
            } else {
                REQUIRE(res == AGG_EVICTED);
                REQUIRE_EQ(quiet_id(&ev), want);
            }
        } else if (op < 95) {
            int nref, nq;
            se_signal_rec_t out;
            int want = ref_pop(&ref, now, ttl, seen_ref, &nref);
            agg_result_t res = agg_pop(&q, now, ttl, &out, stale, capacity, &nq);
            REQUIRE_EQ(nq, nref);
            for (int i = 0; i < nq; i++) {
                sid = quiet_id(&stale[i]);
                REQUIRE(sid >= 0);
                seen_q[sid]++;
            }
            if (want < 0) {
                REQUIRE_EQ(res, AGG_EMPTY);
            } else {
                REQUIRE(res == AGG_POPPED);
                REQUIRE_EQ(quiet_id(&out), want);
            }
        } else {
            /* A plain expiry, as riskd does before pushing into a full queue. */
            int nref = 0;
            for (int i = 0; i < ref.n;)
                if (ref_stale(&ref.items[i], now, 200)) {
                    seen_ref[ref.items[i].id]++;
                    nref++;
                    ref.items[i] = ref.items[--ref.n];
                } else {
                    i++;
                }
            int nq = agg_expire(&q, now, 200, stale, capacity);
            REQUIRE_EQ(nq, nref);
            for (int i = 0; i < nq; i++) {
                sid = quiet_id(&stale[i]);
                REQUIRE(sid >= 0);
                seen_q[sid]++;
            }
        }
        REQUIRE_EQ(agg_size(&q), ref.n);
        const agg_counters_t *c = agg_counters(&q);
        REQUIRE(c->queued == c->popped + c->evicted + c->stale + (uint64_t)agg_size(&q));
    }
    /* The same signals expired, each once. */
    for (int i = 0; i < next_id; i++) {
        REQUIRE_EQ(seen_q[i], seen_ref[i]);
        REQUIRE(seen_q[i] <= 1);
    }
    agg_fini(&q);
    free(ref.items);
    free(stale);
    free(seen_ref);
    free(seen_q);
}

START_TEST(agg_should_match_a_reference_model_under_random_interleavings)
{
    static const struct { int capacity, nlevels; } shapes[] = {
        { 1, 3 }, { 2, 2 }, { 5, 4 }, { 16, 3 }, { 16, 40 }, { 64, 8 }, { 200, 1000 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (uint64_t seed = 1; seed <= 4; seed++)
            random_run(0x9E3779B97F4A7C15ULL * seed + i, shapes[i].capacity, shapes[i].nlevels, 20000);
}
END_TEST

static Suite *aggregator_suite(void)
{
    Suite *s = suite_create("aggregator");
    TCase *tc = tcase_create("aggregator");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, agg_should_pop_higher_priority_first);
    tcase_add_test(tc, agg_should_keep_fifo_within_a_priority);
    tcase_add_test(tc, agg_should_drop_exactly_the_stale_signals);
    tcase_add_test(tc, agg_should_never_expire_without_a_ttl);
    tcase_add_test(tc, agg_should_survive_extreme_and_backward_clocks);
    tcase_add_test(tc, agg_should_report_stale_in_batches_when_the_buffer_is_small);
    tcase_add_test(tc, agg_expire_should_purge_without_popping);
    tcase_add_test(tc, agg_should_evict_the_lowest_priority_oldest_when_full);
    tcase_add_test(tc, agg_should_evict_the_incoming_signal_when_it_is_strictly_lowest);
    tcase_add_test(tc, agg_evicted_out_may_be_the_pushed_signal);
    tcase_add_test(tc, agg_should_work_with_capacity_one);
    tcase_add_test(tc, agg_should_order_many_levels);
    tcase_add_test(tc, agg_should_accept_negative_and_extreme_priorities);
    tcase_add_test(tc, agg_should_refuse_bad_arguments_without_crashing);
    tcase_add_test(tc, agg_should_match_a_reference_model_under_random_interleavings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(aggregator_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
