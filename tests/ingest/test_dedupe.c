/* test_dedupe.c -- check suite for ingest/dedupe: the window of recent fill
 * ids. Exactly the last `window` ids are remembered, whatever the order of
 * insertions and evictions, checked against a plain array model. */
#include "ingest/dedupe.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/ring_fixture.h"

START_TEST(dedupe_should_refuse_a_window_of_zero_or_too_large)
{
    dedupe_t d;
    ck_assert_int_eq(dedupe_init(&d, 0), -EINVAL);
    ck_assert_int_eq(dedupe_init(&d, (1u << 24) + 1), -EINVAL);
    ck_assert_int_eq(dedupe_init(&d, 1), 0);
    dedupe_fini(&d);
}
END_TEST

START_TEST(dedupe_should_report_an_id_seen_again_inside_the_window)
{
    dedupe_t d;
    ck_assert_int_eq(dedupe_init(&d, 3), 0);
    ck_assert(!dedupe_check_add(&d, "f-1"));
    ck_assert(dedupe_check_add(&d, "f-1"));
    ck_assert(!dedupe_check_add(&d, "f-2"));
    ck_assert(!dedupe_check_add(&d, "f-3"));
    ck_assert(dedupe_check_add(&d, "f-1"));
    ck_assert(!dedupe_check_add(&d, "f-4")); /* f-1 is forgotten */
    ck_assert(!dedupe_check_add(&d, "f-1")); /* new again; f-2 forgotten */
    ck_assert(dedupe_check_add(&d, "f-3"));
    ck_assert(dedupe_check_add(&d, "f-4"));
    ck_assert(!dedupe_check_add(&d, "f-2"));
    dedupe_fini(&d);
}
END_TEST

START_TEST(dedupe_should_tell_apart_ids_that_differ_in_one_byte_and_compare_47_bytes)
{
    dedupe_t d;
    ck_assert_int_eq(dedupe_init(&d, 16), 0);
    char a[SE_ID_MAX + 8];
    memset(a, 'x', sizeof a);
    a[SE_ID_MAX - 1] = '\0';
    ck_assert(!dedupe_check_add(&d, a));
    a[SE_ID_MAX - 2] = 'y';
    ck_assert(!dedupe_check_add(&d, a));
    a[0] = 'y';
    ck_assert(!dedupe_check_add(&d, a));
    ck_assert(dedupe_check_add(&d, a));
    /* Longer than an id may be: only the first 47 bytes count. */
    char longer[SE_ID_MAX + 8];
    memcpy(longer, a, SE_ID_MAX - 1);
    memcpy(longer + SE_ID_MAX - 1, "zzz", 4);
    ck_assert(dedupe_check_add(&d, longer));
    dedupe_fini(&d);
}
END_TEST

/* Random ids from a small space (many repeats, long probe runs when the table
 * wraps), checked one by one against the model: the last `window` ids added. */
static const unsigned windows[] = { 1, 2, 7, 64, 1000 };

START_TEST(dedupe_should_match_a_model_of_the_last_window_ids)
{
    const unsigned window = windows[_i];
    dedupe_t d;
    ck_assert_int_eq(dedupe_init(&d, window), 0);
    unsigned *model = calloc(window, sizeof *model); /* ids added, oldest first, as numbers */
    ck_assert_ptr_nonnull(model);
    unsigned held = 0, next = 0;
    uint64_t rng = 42 + window;
    const unsigned space = window * 3 + 5;
    for (int step = 0; step < 100000; step++) {
        unsigned id = (unsigned)(test_rand(&rng) % space);
        char s[32];
        snprintf(s, sizeof s, "fill-%u", id);
        bool in_model = false;
        for (unsigned k = 0; k < held && !in_model; k++)
            in_model = model[k] == id;
        bool got = dedupe_check_add(&d, s);
        if (got != in_model)
            ck_abort_msg("window %u, step %d: id %u reported %s, model says %s", window, step, id,
                         got ? "seen" : "new", in_model ? "seen" : "new");
        if (!in_model) {
            if (held < window) {
                model[held++] = id;
            } else {
                model[next] = id; /* replaces the oldest, as the FIFO does */
                next = (next + 1) % window;
            }
        }
    }
    free(model);
    dedupe_fini(&d);
}
END_TEST

static Suite *dedupe_suite(void)
{
    Suite *s = suite_create("ingest_dedupe");
    TCase *tc = tcase_create("window");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dedupe_should_refuse_a_window_of_zero_or_too_large);
    tcase_add_test(tc, dedupe_should_report_an_id_seen_again_inside_the_window);
    tcase_add_test(tc, dedupe_should_tell_apart_ids_that_differ_in_one_byte_and_compare_47_bytes);
    tcase_add_loop_test(tc, dedupe_should_match_a_model_of_the_last_window_ids, 0, sizeof windows / sizeof windows[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dedupe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
