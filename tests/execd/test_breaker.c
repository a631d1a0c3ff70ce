/* test_breaker.c -- check suite for live execution's circuit breaker
 * (execd/breaker.c): opens on the Nth consecutive failure only, probes once
 * per cooldown, closes on any answer, re-opens on a failed probe. */
#include <check.h>

#include "execd/breaker.h"

#define MS 1000000LL

START_TEST(breaker_should_open_on_the_nth_consecutive_failure_only)
{
    breaker_t b;
    breaker_init(&b, 3, 100 * MS);
    ck_assert_int_eq(breaker_on_failure(&b, 0), BREAKER_SAME);
    ck_assert_int_eq(breaker_on_failure(&b, 0), BREAKER_SAME);
    ck_assert_int_eq(breaker_on_success(&b), BREAKER_SAME); /* the count starts again */
    ck_assert_int_eq(breaker_on_failure(&b, 0), BREAKER_SAME);
    ck_assert_int_eq(breaker_on_failure(&b, 0), BREAKER_SAME);
    ck_assert(breaker_allows(&b));
    ck_assert_int_eq(breaker_on_failure(&b, 5 * MS), BREAKER_OPENED);
    ck_assert(!breaker_allows(&b));
    ck_assert_int_eq(breaker_next_event_ns(&b), 105 * MS);
    ck_assert_int_eq(breaker_on_failure(&b, 50 * MS), BREAKER_SAME); /* a late failure: cooldown stands */
    ck_assert_int_eq(breaker_next_event_ns(&b), 105 * MS);
}
END_TEST

START_TEST(breaker_should_probe_once_per_cooldown_and_close_on_an_answer)
{
    breaker_t b;
    breaker_init(&b, 1, 100 * MS);
    ck_assert_int_eq(breaker_on_failure(&b, 0), BREAKER_OPENED);
    ck_assert(!breaker_probe_due(&b, 99 * MS));
    ck_assert(breaker_probe_due(&b, 100 * MS));
    ck_assert(!breaker_probe_due(&b, 101 * MS)); /* one probe at a time */
    ck_assert_int_eq(breaker_next_event_ns(&b), INT64_MAX);
    ck_assert(!breaker_allows(&b));
    ck_assert_int_eq(breaker_on_failure(&b, 120 * MS), BREAKER_SAME); /* failed probe: open again */
    ck_assert(!breaker_probe_due(&b, 219 * MS));
    ck_assert(breaker_probe_due(&b, 220 * MS));
    ck_assert_int_eq(breaker_on_success(&b), BREAKER_CLOSED_AGAIN);
    ck_assert(breaker_allows(&b));
    ck_assert_int_eq(breaker_next_event_ns(&b), INT64_MAX);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("breaker");
    tcase_add_test(tc, breaker_should_open_on_the_nth_consecutive_failure_only);
    tcase_add_test(tc, breaker_should_probe_once_per_cooldown_and_close_on_an_answer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
