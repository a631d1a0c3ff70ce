/* test_hop.c -- check suite for ingest/hop: the queue that hands NATS
 * messages from nats.c's threads to the thread that writes ring `in`.
 * Messages come out whole, in order, across wrap-arounds; a full queue
 * refuses without damage; and a producer thread against a consumer thread
 * loses and corrupts nothing. */
#include "ingest/hop.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/ring_fixture.h"

/* Message i: its three parts have lengths and bytes derived from i. */
static void parts(uint64_t i, char *a, uint32_t *alen, char *b, uint32_t *blen, char *c, uint32_t *clen)
{
    uint64_t s = i * 0x9e3779b97f4a7c15ull;
    *alen = (uint32_t)(s % 40);
    *blen = (uint32_t)((s >> 8) % 9);
    *clen = (uint32_t)((s >> 16) % 700);
    for (uint32_t k = 0; k < *alen; k++)
        a[k] = (char)('a' + (i + k) % 26);
    for (uint32_t k = 0; k < *blen; k++)
        b[k] = (char)('0' + (i * 3 + k) % 10);
    for (uint32_t k = 0; k < *clen; k++)
        c[k] = (char)(i * 7 + k);
}

static bool push(hop_t *q, uint64_t i)
{
    char a[64], b[16], c[1024];
    uint32_t al, bl, cl;
    parts(i, a, &al, b, &bl, c, &cl);
    return hop_push(q, (uint32_t)i, a, al, b, bl, c, cl);
}

/* True when m is message i, byte for byte. */
static bool is_message(const hop_msg_t *m, uint64_t i)
{
    char a[64], b[16], c[1024];
    uint32_t al, bl, cl;
    parts(i, a, &al, b, &bl, c, &cl);
    return m->tag == (uint32_t)i && m->alen == al && m->blen == bl && m->clen == cl && memcmp(m->a, a, al) == 0 &&
           memcmp(m->b, b, bl) == 0 && memcmp(m->c, c, cl) == 0;
}

START_TEST(hop_should_give_back_messages_whole_and_in_order_across_wraps)
{
    hop_t q;
    ck_assert_int_eq(hop_init(&q, 4096), 0);
    uint64_t in = 0, out = 0;
    for (int round = 0; round < 2000; round++) {
        int burst = round % 7 + 1;
        for (int k = 0; k < burst && push(&q, in); k++)
            in++;
        int take = round % 5 + 1;
        hop_msg_t m;
        for (int k = 0; k < take && hop_peek(&q, &m); k++) {
            if (!is_message(&m, out))
                ck_abort_msg("message %llu came out wrong (tag %u)", (unsigned long long)out, m.tag);
            hop_pop(&q);
            out++;
        }
    }
    hop_msg_t m;
    while (hop_peek(&q, &m)) {
        ck_assert(is_message(&m, out));
        hop_pop(&q);
        out++;
    }
    ck_assert_uint_eq(in, out);
    ck_assert_uint_gt(out, 4000); /* many times round a 4 KiB buffer */
    hop_fini(&q);
}
END_TEST

START_TEST(hop_should_refuse_when_full_and_take_again_once_drained)
{
    hop_t q;
    ck_assert_int_eq(hop_init(&q, 4096), 0);
    char big[2100];
    memset(big, 'x', sizeof big);
    ck_assert(!hop_push(&q, 1, NULL, 0, NULL, 0, big, sizeof big)); /* more than half the queue */
    int n = 0;
    while (hop_push(&q, (uint32_t)n, "s", 1, NULL, 0, big, 1000))
        n++;
    ck_assert_int_eq(n, 3); /* records of 1032 bytes (24 + 1001, aligned): 3 fit in 4096 */
    hop_msg_t m;
    ck_assert(hop_peek(&q, &m));
    ck_assert_uint_eq(m.tag, 0);
    hop_pop(&q);
    /* 1000 bytes left at the end: skipped, the record goes to the start,
     * into exactly the 1032 bytes the first one freed. */
    ck_assert(hop_push(&q, 99, "s", 1, NULL, 0, big, 1000));
    ck_assert(!hop_push(&q, 100, NULL, 0, NULL, 0, NULL, 0));
    for (uint32_t want = 1; want <= 2; want++) {
        ck_assert(hop_peek(&q, &m));
        ck_assert_uint_eq(m.tag, want);
        hop_pop(&q);
    }
    ck_assert(hop_peek(&q, &m));
    ck_assert_uint_eq(m.tag, 99);
    ck_assert_uint_eq(m.clen, 1000);
    ck_assert_int_eq(memcmp(m.c, big, 1000), 0);
    hop_pop(&q);
    ck_assert(!hop_peek(&q, &m));
    hop_fini(&q);
}
END_TEST

enum { THREAD_MESSAGES = 100000 };

static void *producer(void *arg)
{
    hop_t *q = arg;
    for (uint64_t i = 0; i < THREAD_MESSAGES; i++)
        while (!push(q, i))
            sched_yield(); /* the consumer drains: retry until it has room */
    return NULL;
}

START_TEST(hop_should_lose_and_corrupt_nothing_between_two_threads)
{
    hop_t q;
    ck_assert_int_eq(hop_init(&q, 8192), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, producer, &q), 0);
    for (uint64_t out = 0; out < THREAD_MESSAGES;) {
        hop_msg_t m;
        if (!hop_peek(&q, &m)) {
            sched_yield(); /* two threads may share one CPU */
            continue;
        }
        if (!is_message(&m, out))
            ck_abort_msg("message %llu came out wrong (tag %u)", (unsigned long long)out, m.tag);
        hop_pop(&q);
        out++;
    }
    pthread_join(t, NULL);
    hop_msg_t m;
    ck_assert(!hop_peek(&q, &m));
    hop_fini(&q);
}
END_TEST

static Suite *hop_suite(void)
{
    Suite *s = suite_create("ingest_hop");
    TCase *tc = tcase_create("queue");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hop_should_give_back_messages_whole_and_in_order_across_wraps);
    tcase_add_test(tc, hop_should_refuse_when_full_and_take_again_once_drained);
    tcase_add_test(tc, hop_should_lose_and_corrupt_nothing_between_two_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hop_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
