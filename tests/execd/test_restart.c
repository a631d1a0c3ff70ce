/* test_restart.c -- bin/execd after a crash: an order the killed execd had
 * answered on `exe` but not yet taken off `ord` is not executed again, and
 * the next one is executed (the supervisor restarts a killed execd at once;
 * no order may be lost or sent twice). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/records.h"
#include "execd/runner.h"
#include "shm/ring.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

static char inst[40], conf[128];

static void setup(void)
{
    ck_assert(pf_instance(inst, conf, "x", "execution = { sim = { latencyUs = 0; }; };\nhttp = { enabled = false; };"));
}

static void teardown(void)
{
    unlink(conf);
    test_ring_cleanup();
}

START_TEST(order_answered_before_the_crash_should_not_be_executed_again)
{
    char name[SHM_NAME_MAX];
    /* What the killed execd left: its ACK of alpha-1-1 on `exe` ... */
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_EXEC), 0);
    shm_writer_t exe;
    shm_ring_spec_t exe_spec = SE_SPEC_EXEC(EXECD_DEFAULT_EXE_CAPACITY), ord_spec = SE_SPEC_ORDER(1024);
    ck_assert_int_eq(shm_writer_open(&exe, name, &exe_spec, NULL), 0);
    se_exec_rec_t ack;
    memset(&ack, 0, sizeof ack);
    ack.kind = SE_EXEC_ACK;
    ack.action = SE_ACTION_NEW;
    strcpy(ack.symbol, "BTC-USD");
    strcpy(ack.client_order_id, "alpha-1-1");
    se_order_rec_t o1 = pf_order("alpha-1-1", 90), o2 = pf_order("alpha-1-2", 90);
    ack.ts_risk_ns = o1.ts_risk_ns; /* the answer to this very request */
    ck_assert_int_eq(shm_writer_write(&exe, &ack), SHM_OK);
    shm_writer_close(&exe, false);
    /* ... and alpha-1-1 still unconsumed on `ord`, alpha-1-2 behind it. */
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_ORDERS), 0);
    shm_writer_t ord;
    ck_assert_int_eq(shm_writer_open(&ord, name, &ord_spec, NULL), 0);
    ck_assert_int_eq(shm_writer_write(&ord, &o1), SHM_OK);
    ck_assert_int_eq(shm_writer_write(&ord, &o2), SHM_OK);

    pid_t execd = pf_spawn(conf, "execd", NULL);
    ck_assert(pf_wait_readers(inst, SE_RING_ORDERS, 1, 20));
    ck_assert_msg(pf_wait_quiet(inst, 20), "execd did not read ring ord");
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    shm_writer_close(&ord, false);

    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_EXEC), 0);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    int first = 0, second = 0;
    se_exec_rec_t e;
    for (uint64_t i = 0; i < head; i++) {
        ck_assert_int_eq(shm_peek(&seg, i, &e), SHM_OK);
        first += strcmp(e.client_order_id, "alpha-1-1") == 0;
        second += strcmp(e.client_order_id, "alpha-1-2") == 0;
    }
    shm_segment_unmap(&seg);
    ck_assert_int_eq(first, 1); /* only the previous run's ACK */
    ck_assert_int_ge(second, 1); /* answered now (rejected: no quote for BTC-USD) */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("execd_restart");
    TCase *tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, order_answered_before_the_crash_should_not_be_executed_again);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
