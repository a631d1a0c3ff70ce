/* test_order_track.c -- check suite for strategyd/order_track: which of a
 * strategy's orders still work, whatever the order of acks, fills (from
 * `exe` or `in`), cancels, rejects and refused cancels. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/records.h"
#include "strategyd/order_track.h"

static order_track_t t;

static void setup(void)
{
    order_track_init(&t);
}

static se_exec_rec_t rep(int kind, int action, const char *id, double qty, double leaves, const char *reason)
{
    se_exec_rec_t e;
    memset(&e, 0, sizeof e);
    e.kind = (uint8_t)kind;
    e.action = (uint8_t)action;
    snprintf(e.symbol, sizeof e.symbol, "BTC-USD");
    snprintf(e.client_order_id, sizeof e.client_order_id, "%s", id);
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    e.qty = qty;
    e.leaves_qty = leaves;
    return e;
}

START_TEST(order_should_work_from_its_ack_until_its_fills_cover_it)
{
    se_exec_rec_t ack = rep(SE_EXEC_ACK, SE_ACTION_NEW, "m-1-1", 3, 3, "");
    order_track_report(&t, &ack);
    ck_assert(order_track_is_working(&t, "m-1-1"));
    order_track_fill(&t, "m-1-1", "BTC-USD", 1);
    ck_assert(order_track_is_working(&t, "m-1-1"));
    order_track_fill(&t, "m-1-1", "BTC-USD", 2);
    ck_assert(!order_track_is_working(&t, "m-1-1"));
    ck_assert(order_track_is_finished(&t, "m-1-1"));
}
END_TEST

START_TEST(ack_after_the_fills_that_complete_the_order_should_not_open_it)
{
    order_track_fill(&t, "m-1-1", "BTC-USD", 0.1);
    order_track_fill(&t, "m-1-1", "BTC-USD", 0.2);
    ck_assert(!order_track_is_working(&t, "m-1-1")); /* not acknowledged yet */
    se_exec_rec_t ack = rep(SE_EXEC_ACK, SE_ACTION_NEW, "m-1-1", 0.3, 0.3, "");
    order_track_report(&t, &ack);
    order_track_report(&t, &ack); /* and again */
    ck_assert(!order_track_is_working(&t, "m-1-1"));
    ck_assert(order_track_is_finished(&t, "m-1-1"));
}
END_TEST

START_TEST(order_should_close_on_cancelled_reject_and_a_cancel_refused_because_it_filled)
{
    const char *ids[] = { "m-1-1", "m-1-2", "m-1-3", "m-1-4" };
    for (int i = 0; i < 4; i++) {
        se_exec_rec_t ack = rep(SE_EXEC_ACK, SE_ACTION_NEW, ids[i], 2, 2, "");
        order_track_report(&t, &ack);
    }
    se_exec_rec_t e = rep(SE_EXEC_CANCELLED, SE_ACTION_CANCEL, "m-1-1", 2, 2, "cancelled");
    order_track_report(&t, &e);
    e = rep(SE_EXEC_REJECT, SE_ACTION_CANCEL, "m-1-2", 2, 0, "already_filled");
    order_track_report(&t, &e);
    e = rep(SE_EXEC_REJECT, SE_ACTION_CANCEL, "m-1-3", 2, 0, "venue_unavailable");
    order_track_report(&t, &e);
    e = rep(SE_EXEC_FILL, SE_ACTION_NEW, "m-1-4", 2, 0, "");
    order_track_report(&t, &e); /* the venue says nothing is left */
    ck_assert(!order_track_is_working(&t, "m-1-1"));
    ck_assert(!order_track_is_working(&t, "m-1-2"));
    ck_assert(order_track_is_working(&t, "m-1-3")); /* refused for another reason: still works */
    ck_assert(!order_track_is_working(&t, "m-1-4"));
}
END_TEST

START_TEST(ack_without_a_quantity_should_keep_the_order_working_until_a_report_closes_it)
{
    se_exec_rec_t ack = rep(SE_EXEC_ACK, SE_ACTION_NEW, "m-1-1", 0, 0, "");
    order_track_report(&t, &ack);
    order_track_fill(&t, "m-1-1", "BTC-USD", 5);
    ck_assert(order_track_is_working(&t, "m-1-1"));
    ck_assert(!order_track_is_finished(&t, "m-1-1"));
}
END_TEST

static void count(void *ctx, const order_track_entry_t *o)
{
    (void)o;
    (*(int *)ctx)++;
}

START_TEST(tracker_should_forget_the_oldest_order_beyond_its_capacity)
{
    char id[SE_ID_MAX];
    for (int i = 0; i < ORDER_TRACK_MAX + 10; i++) {
        snprintf(id, sizeof id, "m-1-%d", i);
        se_exec_rec_t ack = rep(SE_EXEC_ACK, SE_ACTION_NEW, id, 1, 1, "");
        order_track_report(&t, &ack);
    }
    int n = 0;
    ck_assert_int_eq(order_track_for_each_working(&t, count, &n), ORDER_TRACK_MAX);
    ck_assert_int_eq(n, ORDER_TRACK_MAX);
    ck_assert(!order_track_is_working(&t, "m-1-0"));
    ck_assert(order_track_is_working(&t, "m-1-10"));
}
END_TEST

static Suite *order_track_suite(void)
{
    Suite *s = suite_create("order_track");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, order_should_work_from_its_ack_until_its_fills_cover_it);
    tcase_add_test(tc, ack_after_the_fills_that_complete_the_order_should_not_open_it);
    tcase_add_test(tc, order_should_close_on_cancelled_reject_and_a_cancel_refused_because_it_filled);
    tcase_add_test(tc, ack_without_a_quantity_should_keep_the_order_working_until_a_report_closes_it);
    tcase_add_test(tc, tracker_should_forget_the_oldest_order_beyond_its_capacity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(order_track_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
