/* test_restart.c -- bin/riskd after a crash: signals the killed riskd had
 * taken off a strategy's ring but not yet decided are decided by the new one,
 * and those it had already turned into orders are not sent again (the
 * supervisor restarts a killed riskd at once; no order may be lost or sent
 * twice); and the book it rebuilds from `exe` and `in` holds no order the
 * venue already filled. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "riskd/runner.h"
#include "shm/ring.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

static char inst[40], conf[128];

static void setup(void)
{
    ck_assert(pf_instance(inst, conf, "r", "strategies = { enabled = [\"alpha\"]; };\n"
                          "http = { enabled = false; };"));
}

static void teardown(void)
{
    unlink(conf);
    test_ring_cleanup();
}

/* Orders for client_order_id id in ring `ord` (segment name). */
static int count_orders(const char *name, const char *id)
{
    shm_segment_t seg;
    se_order_rec_t o;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    int n = 0;
    for (uint64_t i = 0; i < head; i++) {
        ck_assert_int_eq(shm_peek(&seg, i, &o), SHM_OK);
        n += strcmp(o.client_order_id, id) == 0;
    }
    shm_segment_unmap(&seg);
    return n;
}

START_TEST(signals_taken_but_not_decided_should_be_decided_once_after_a_restart)
{
    char name[SHM_NAME_MAX];
    /* The strategy's two signals, both taken off the ring by the killed riskd ... */
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, "sig.alpha"), 0);
    shm_writer_t sig;
    shm_ring_spec_t sig_spec = SE_SPEC_SIGNAL(1024), ord_spec = SE_SPEC_ORDER(RISKD_ORD_CAPACITY);
    ck_assert_int_eq(shm_writer_open(&sig, name, &sig_spec, NULL), 0);
    se_signal_rec_t s1 = pf_signal("alpha-1-1", 100), s2 = pf_signal("alpha-1-2", 100), got;
    ck_assert_int_eq(shm_writer_write(&sig, &s1), SHM_OK);
    ck_assert_int_eq(shm_writer_write(&sig, &s2), SHM_OK);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, NULL, "riskd", SHM_START_RESUME, 0), 0);
    ck_assert_int_eq(shm_reader_read(&r, &got), SHM_OK);
    ck_assert_int_eq(shm_reader_read(&r, &got), SHM_OK);
    shm_reader_close(&r);
    /* ... which had sent the first as an order and was killed before the second. */
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_ORDERS), 0);
    shm_writer_t ord;
    ck_assert_int_eq(shm_writer_open(&ord, name, &ord_spec, NULL), 0);
    se_order_rec_t o = pf_order("alpha-1-1", 100);
    ck_assert_int_eq(shm_writer_write(&ord, &o), SHM_OK);
    shm_writer_close(&ord, false);

    pid_t riskd = pf_spawn(conf, "riskd", NULL);
    ck_assert(pf_wait_readers(inst, "sig.alpha", 1, 20));
    ck_assert_msg(pf_wait_quiet(inst, 20), "riskd did not settle");
    int64_t t0 = clock_mono_ns(); /* the requeued signal is decided on riskd's first turn */
    while (count_orders(name, "alpha-1-2") == 0 && clock_mono_ns() - t0 < 20000000000LL)
        usleep(2000);
    ck_assert_int_eq(pf_stop(&riskd, 1), 0);
    shm_writer_close(&sig, false);
    int first = count_orders(name, "alpha-1-1"), second = count_orders(name, "alpha-1-2");
    ck_assert_int_eq(first, 1);  /* not sent again */
    ck_assert_int_eq(second, 1); /* not lost */
}
END_TEST

static void put_exec(shm_writer_t *w, int kind, int action, const char *id, double qty, const char *reason,
                     int64_t ts)
{
    se_exec_rec_t e;
    memset(&e, 0, sizeof e);
    e.kind = (uint8_t)kind;
    e.action = (uint8_t)action;
    e.side = SE_SIDE_BUY;
    e.ts_report_ns = ts;
    strcpy(e.symbol, "BTC-USD");
    strcpy(e.strategy, "alpha");
    snprintf(e.client_order_id, sizeof e.client_order_id, "%s", id);
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    e.qty = e.leaves_qty = qty;
    ck_assert_int_eq(shm_writer_write(w, &e), SHM_OK);
}

/* The records of ring `risk` (segment name) up to alpha's first complete
 * snapshot: its open orders (ids and quantities) and its BTC-USD position.
 * False if riskd has not published it yet. */
static bool read_snapshot(const char *name, char ids[][SE_ID_MAX], double *open, int *nopen, double *position)
{
    shm_segment_t seg;
    se_risk_rec_t k;
    if (shm_segment_map(&seg, name, false) < 0)
        return false;
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    bool done = false;
    *nopen = 0;
    *position = 0;
    for (uint64_t i = 0; i < head && !done; i++) {
        if (shm_peek(&seg, i, &k) != SHM_OK)
            continue;
        if (k.kind == SE_RISK_OPEN_ORDER && *nopen < 8) {
            memcpy(ids[*nopen], k.client_order_id, SE_ID_MAX);
            open[(*nopen)++] = k.qty;
        } else if (k.kind == SE_RISK_SNAPSHOT && strcmp(k.symbol, "BTC-USD") == 0) {
            *position = k.qty;
        }
        done = k.kind == SE_RISK_SNAPSHOT_END;
    }
    shm_segment_unmap(&seg);
    return done;
}

START_TEST(restarted_riskd_should_not_reopen_orders_the_venue_filled)
{
    char name[SHM_NAME_MAX];
    shm_ring_spec_t in_spec = SE_SPEC_IN(1024), exe_spec = SE_SPEC_EXEC(1024);
    /* Live mode: the venue's fills come on `in`, before the venue answers. */
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_IN), 0);
    shm_writer_t in;
    ck_assert_int_eq(shm_writer_open(&in, name, &in_spec, NULL), 0);
    se_in_rec_t f;
    memset(&f, 0, sizeof f);
    f.kind = SE_IN_FILL;
    f.ts_ingest_ns = 1000;
    strcpy(f.symbol, "BTC-USD");
    strcpy(f.u.fill.fill_id, "vf-1");
    strcpy(f.u.fill.client_order_id, "alpha-1-1");
    f.u.fill.side = SE_SIDE_BUY;
    f.u.fill.qty = 1;
    f.u.fill.price = 100;
    ck_assert_int_eq(shm_writer_write(&in, &f), SHM_OK);
    ck_assert_int_eq(shm_writer_write(&in, &f), SHM_OK); /* delivered twice */
    /* Order 1 (1 BTC) acknowledged after its fill; order 2 acknowledged, its
     * cancel refused: filled (its fill older than the rings); order 3 works. */
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_EXEC), 0);
    shm_writer_t exe;
    ck_assert_int_eq(shm_writer_open(&exe, name, &exe_spec, NULL), 0);
    put_exec(&exe, SE_EXEC_ACK, SE_ACTION_NEW, "alpha-1-1", 1, "", 2000);
    put_exec(&exe, SE_EXEC_ACK, SE_ACTION_NEW, "alpha-1-1", 1, "", 2100); /* a duplicate ack */
    put_exec(&exe, SE_EXEC_ACK, SE_ACTION_NEW, "alpha-1-2", 2, "", 3000);
    put_exec(&exe, SE_EXEC_REJECT, SE_ACTION_CANCEL, "alpha-1-2", 2, "already_filled", 4000);
    put_exec(&exe, SE_EXEC_ACK, SE_ACTION_NEW, "alpha-1-3", 3, "", 5000);

    pid_t riskd = pf_spawn(conf, "riskd", NULL);
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_RISK), 0);
    char ids[8][SE_ID_MAX];
    double open[8], position = 0;
    int nopen = 0;
    int64_t t0 = clock_mono_ns(); /* riskd publishes the rebuilt book as it starts */
    while (!read_snapshot(name, ids, open, &nopen, &position) && clock_mono_ns() - t0 < 20000000000LL)
        usleep(2000);
    ck_assert_int_eq(pf_stop(&riskd, 1), 0);
    shm_writer_close(&in, false);
    shm_writer_close(&exe, false);
    ck_assert_int_eq(nopen, 1);
    ck_assert_str_eq(ids[0], "alpha-1-3");
    ck_assert_double_eq_tol(open[0], 3, 1e-9);
    ck_assert_double_eq_tol(position, 1, 1e-9); /* the fill, once */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riskd_restart");
    TCase *tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, signals_taken_but_not_decided_should_be_decided_once_after_a_restart);
    tcase_add_test(tc, restarted_riskd_should_not_reopen_orders_the_venue_filled);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
