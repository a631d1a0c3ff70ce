/* test_journal.c -- check suite for execd's order journal (execd/journal.c):
 * what is written comes back, answered requests are not pending, a torn last
 * line and a damaged line are tolerated, ids that cannot be journalled are
 * refused, and the window of recognised requests forgets the oldest. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "execd/journal.h"

static char path[128];

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/se-journal-%d.log", (int)getpid());
    unlink(path);
    log_set_level(LOG_LEVEL_ERROR); /* the warnings are expected */
}

static void teardown(void)
{
    unlink(path);
}

static se_order_rec_t order(const char *id, int action)
{
    se_order_rec_t o;
    memset(&o, 0, sizeof o);
    o.action = (uint8_t)action;
    o.side = SE_SIDE_SELL;
    o.order_type = SE_ORDER_LIMIT;
    o.strategy_index = 7;
    o.ts_source_ns = 1732400000000000001;
    o.ts_ingest_ns = 1732400000000000002;
    o.ts_strategy_ns = 1732400000000000003;
    o.ts_risk_ns = 1732400000000000004;
    strcpy(o.symbol, "ETH-USD");
    snprintf(o.client_order_id, sizeof o.client_order_id, "%s", id);
    strcpy(o.strategy, "market_making");
    o.qty = 0.1 + 0.2; /* every digit must survive */
    o.price = 2500.123456789;
    return o;
}

static journal_t *reopen(journal_load_t *ld)
{
    journal_t *j = NULL;
    ck_assert_int_eq(journal_open(&j, path, false, ld), 0);
    return j;
}

START_TEST(journal_should_give_back_unanswered_requests_exactly)
{
    journal_load_t ld;
    journal_t *j = reopen(&ld);
    ck_assert_int_eq(ld.pending, 0);
    se_order_rec_t a = order("a-1", SE_ACTION_NEW), b = order("b-1", SE_ACTION_NEW), c = order("a-1", SE_ACTION_CANCEL);
    ck_assert_int_eq(journal_submit(j, &a, 10), 0);
    ck_assert_int_eq(journal_submit(j, &b, 11), 0);
    ck_assert_int_eq(journal_sync(j), 0);
    ck_assert_int_eq(journal_answer(j, &a, "ack", "v-1", "", 12), 0);
    ck_assert_int_eq(journal_submit(j, &c, 13), 0); /* the cancel of a: another request */
    journal_close(j);

    j = reopen(&ld);
    ck_assert_int_eq(ld.lines, 4);
    ck_assert_int_eq(ld.corrupt, 0);
    ck_assert(!ld.torn_tail);
    int n;
    const se_order_rec_t *p = journal_pending(j, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(memcmp(&p[0], &b, sizeof b), 0); /* byte for byte, doubles included */
    ck_assert_int_eq(memcmp(&p[1], &c, sizeof c), 0);
    ck_assert(journal_seen(j, &a) && journal_seen(j, &b) && journal_seen(j, &c));
    se_order_rec_t other = order("z-9", SE_ACTION_NEW);
    ck_assert(!journal_seen(j, &other));
    journal_close(j);
}
END_TEST

START_TEST(journal_should_sync_only_when_asked_and_only_after_submits)
{
    journal_load_t ld;
    journal_t *j = NULL;
    ck_assert_int_eq(journal_open(&j, path, true, &ld), 0);
    ck_assert_int_eq(journal_sync(j), 0); /* nothing written: nothing to do */
    se_order_rec_t a = order("a-1", SE_ACTION_NEW);
    ck_assert_int_eq(journal_submit(j, &a, 10), 0);
    ck_assert_int_eq(journal_sync(j), 0);
    ck_assert_int_eq(journal_answer(j, &a, "ack", "v-1", "", 11), 0);
    ck_assert_int_eq(journal_flush(j), 0);
    journal_close(j);
    j = reopen(&ld);
    ck_assert_int_eq(ld.lines, 2);
    ck_assert_int_eq(ld.pending, 0);
    journal_close(j);
}
END_TEST

START_TEST(journal_should_cut_a_torn_last_line_and_go_on)
{
    journal_load_t ld;
    journal_t *j = reopen(&ld);
    se_order_rec_t a = order("a-1", SE_ACTION_NEW);
    ck_assert_int_eq(journal_submit(j, &a, 10), 0);
    journal_close(j);
    FILE *f = fopen(path, "a");
    fputs("S\tnew\tb-1\t7\tmarket_ma", f); /* a crash mid-line */
    fclose(f);

    j = reopen(&ld);
    ck_assert(ld.torn_tail);
    ck_assert_int_eq(ld.lines, 1);
    ck_assert_int_eq(ld.pending, 1);
    se_order_rec_t b = order("b-1", SE_ACTION_NEW);
    ck_assert(!journal_seen(j, &b));
    ck_assert_int_eq(journal_submit(j, &b, 11), 0); /* starts on a line of its own */
    journal_close(j);
    j = reopen(&ld);
    ck_assert(!ld.torn_tail);
    ck_assert_int_eq(ld.corrupt, 0);
    ck_assert_int_eq(ld.pending, 2);
    journal_close(j);
}
END_TEST

START_TEST(journal_should_skip_a_damaged_line)
{
    journal_load_t ld;
    journal_t *j = reopen(&ld);
    se_order_rec_t a = order("a-1", SE_ACTION_NEW), b = order("b-1", SE_ACTION_NEW);
    ck_assert_int_eq(journal_submit(j, &a, 10), 0);
    ck_assert_int_eq(journal_submit(j, &b, 11), 0);
    journal_close(j);
    /* Flip one byte of the first line: its checksum no longer holds. */
    FILE *f = fopen(path, "r+");
    fseek(f, 8, SEEK_SET);
    fputc('X', f);
    fclose(f);
    f = fopen(path, "a");
    fputs("hello\n", f);
    fclose(f);

    j = reopen(&ld);
    ck_assert_int_eq(ld.corrupt, 2);
    ck_assert_int_eq(ld.lines, 1);
    int n;
    const se_order_rec_t *p = journal_pending(j, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(p[0].client_order_id, "b-1");
    journal_close(j);
}
END_TEST

START_TEST(journal_should_keep_fields_whole_and_refuse_unjournallable_ids)
{
    ck_assert(journal_id_ok("mm-1-7"));
    ck_assert(!journal_id_ok(""));
    ck_assert(!journal_id_ok("a\tb"));
    ck_assert(!journal_id_ok("a\nb"));
    journal_load_t ld;
    journal_t *j = reopen(&ld);
    se_order_rec_t a = order("a-1", SE_ACTION_NEW);
    ck_assert_int_eq(journal_submit(j, &a, 10), 0);
    /* A venue's reason with a tab and a newline stays one field. */
    ck_assert_int_eq(journal_answer(j, &a, "reject", "", "bad\tthing\nhere", 11), 0);
    journal_close(j);
    j = reopen(&ld);
    ck_assert_int_eq(ld.corrupt, 0);
    ck_assert_int_eq(ld.lines, 2);
    ck_assert_int_eq(ld.pending, 0);
    journal_close(j);
}
END_TEST

START_TEST(journal_should_remember_only_the_latest_requests)
{
    journal_load_t ld;
    journal_t *j = reopen(&ld);
    char id[SE_ID_MAX];
    int total = JOURNAL_SEEN_WINDOW + 100;
    for (int i = 0; i < total; i++) {
        snprintf(id, sizeof id, "w-%d", i);
        se_order_rec_t o = order(id, SE_ACTION_NEW);
        ck_assert_int_eq(journal_submit(j, &o, i), 0);
    }
    for (int i = 0; i < total; i += 97) {
        snprintf(id, sizeof id, "w-%d", i);
        se_order_rec_t o = order(id, SE_ACTION_NEW);
        ck_assert_msg(journal_seen(j, &o) == (i >= 100), "%s", id);
    }
    journal_close(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, journal_should_give_back_unanswered_requests_exactly);
    tcase_add_test(tc, journal_should_sync_only_when_asked_and_only_after_submits);
    tcase_add_test(tc, journal_should_cut_a_torn_last_line_and_go_on);
    tcase_add_test(tc, journal_should_skip_a_damaged_line);
    tcase_add_test(tc, journal_should_keep_fields_whole_and_refuse_unjournallable_ids);
    tcase_add_test(tc, journal_should_remember_only_the_latest_requests);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
