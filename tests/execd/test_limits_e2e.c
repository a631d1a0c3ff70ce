/* test_limits_e2e.c -- bin/execd's hard limits against real rings: records
 * riskd never approved, written straight into `ord` by the test (which
 * creates `ord` as riskd would and `in` as ingest would), are refused on
 * `exe` with their reason and counted in orders_rejected_total{reason}, while
 * the legal orders beside them are filled; a flood of refusals is logged a
 * few times, not once per order; a bad limit stops execd at start naming
 * file, line and key. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "shm/stats.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

#define MAXREC 4096

static char inst[40], conf[128], errlog[128];
static shm_writer_t ord, in;
static se_exec_rec_t exes[MAXREC];

static void teardown(void)
{
    shm_writer_close(&ord, false);
    shm_writer_close(&in, false);
    unlink(conf);
    unlink(errlog);
    test_ring_cleanup();
}

/* The test's engine: `in` with one BTC-USD quote (bid 99.9, ask 100.1) and
 * an empty `ord`, both created before execd starts. */
static void setup_engine(const char *tag, const char *limits)
{
    char extra[512];
    snprintf(extra, sizeof extra,
             "execution = { sim = { latencyUs = 0; }; limits = { %s }; };\nhttp = { enabled = false; };", limits);
    ck_assert(pf_instance(inst, conf, tag, extra));
    snprintf(errlog, sizeof errlog, "/tmp/se-%s-%d.stderr", tag, (int)getpid());
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_IN), 0);
    shm_ring_spec_t ispec = SE_SPEC_IN(1024), ospec = SE_SPEC_ORDER(4096);
    ck_assert_int_eq(shm_writer_open(&in, name, &ispec, NULL), 0);
    se_in_rec_t q;
    memset(&q, 0, sizeof q);
    q.kind = SE_IN_QUOTE;
    q.flags = SE_QUOTE_HAS_BIDASK;
    q.ts_ingest_ns = clock_real_ns();
    strcpy(q.symbol, "BTC-USD");
    q.u.quote.bid = 99.9;
    q.u.quote.ask = 100.1;
    ck_assert_int_eq(shm_writer_write(&in, &q), SHM_OK);
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_ORDERS), 0);
    ck_assert_int_eq(shm_writer_open(&ord, name, &ospec, NULL), 0);
}

/* bin/execd -c conf with its stderr (the log) in errlog. */
static pid_t spawn_execd(void)
{
    char exe[512];
    snprintf(exe, sizeof exe, "%s/execd", pf_bin_dir());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        execl(exe, "execd", "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void put(const se_order_rec_t *o)
{
    ck_assert_int_eq(shm_writer_write(&ord, o), SHM_OK);
}

/* The reports on `exe` about client_order_id id: how many of kind, and the
 * reason of the last one. */
static int reports(int n, const char *id, int kind, const char **reason)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(exes[i].client_order_id, id) == 0 && exes[i].kind == kind) {
            count++;
            if (reason)
                *reason = exes[i].reason;
        }
    return count;
}

/* execd's counter (name, labels; NULL for none), read from its stats block. */
static double counter(const char *name, const char *labels)
{
    shm_settings_t set;
    memset(&set, 0, sizeof set);
    snprintf(set.prefix, sizeof set.prefix, "%s", SHM_DEFAULT_PREFIX);
    snprintf(set.instance, sizeof set.instance, "%.32s", inst);
    shm_segment_t seg;
    stats_metric_t m;
    ck_assert_int_eq(stats_map(&set, "execd", &seg), 0);
    int rc = stats_find(&seg, name, labels, &m);
    shm_segment_unmap(&seg);
    ck_assert_msg(rc == 0, "execd has no %s{%s}", name, labels ? labels : "");
    return (double)m.value;
}

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

START_TEST(orders_riskd_never_approved_should_be_refused_while_legal_ones_fill)
{
    setup_engine("xlim", "maxOrderQty = 10.0; symbols = [\"BTC-USD\", \"ETH-USD\"];");
    se_order_rec_t legal1 = pf_order("legal-1", 101); /* marketable: fills at the ask */
    se_order_rec_t big = pf_order("rogue-qty", 101);
    big.qty = 1000;
    se_order_rec_t off_list = pf_order("rogue-sym", 101);
    strcpy(off_list.symbol, "DOGE-USD");
    se_order_rec_t nan_qty = pf_order("rogue-nan", 101);
    nan_qty.qty = NAN;
    se_order_rec_t unpriced = pf_order("rogue-noprice", 0); /* allowed, but no quote and no price */
    unpriced.order_type = SE_ORDER_MARKET;
    strcpy(unpriced.symbol, "ETH-USD");
    se_order_rec_t legal2 = pf_order("legal-2", 0); /* market: valued at the ask from `in` */
    legal2.order_type = SE_ORDER_MARKET;
    legal2.qty = 2;
    se_order_rec_t cancel = pf_order("rogue-qty", 0); /* a cancel is never blocked */
    cancel.action = SE_ACTION_CANCEL;
    cancel.qty = 1e308;
    strcpy(cancel.symbol, "DOGE-USD");
    const se_order_rec_t *all[] = { &legal1, &big, &off_list, &nan_qty, &unpriced, &legal2, &cancel };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        put(all[i]);

    pid_t execd = spawn_execd();
    ck_assert(pf_wait_readers(inst, SE_RING_ORDERS, 1, 20));
    ck_assert_msg(pf_wait_quiet(inst, 20), "execd did not read ring ord");
    int n = pf_read_ring(inst, SE_RING_EXEC, exes, sizeof exes[0], MAXREC);
    ck_assert_int_gt(n, 0);

    const char *why = NULL;
    ck_assert_int_eq(reports(n, "legal-1", SE_EXEC_ACK, NULL), 1);
    ck_assert_int_eq(reports(n, "legal-1", SE_EXEC_FILL, NULL), 1);
    ck_assert_int_eq(reports(n, "legal-2", SE_EXEC_FILL, NULL), 1);
    static const struct {
        const char *id, *reason;
    } refused[] = {
        { "rogue-qty", "exec_max_qty" },
        { "rogue-sym", "exec_symbol_not_allowed" },
        { "rogue-nan", "exec_bad_qty" },
        { "rogue-noprice", "exec_no_price" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *id = refused[i].id;
        ck_assert_msg(reports(n, id, SE_EXEC_REJECT, &why) >= 1, "%s was not refused", id);
        ck_assert_int_eq(reports(n, id, SE_EXEC_ACK, NULL), 0);
        ck_assert_int_eq(reports(n, id, SE_EXEC_FILL, NULL), 0);
    }
    /* The reject records, as the backends write theirs. */
    for (int i = 0; i < n; i++) {
        const se_exec_rec_t *e = &exes[i];
        if (e->kind != SE_EXEC_REJECT || e->action != SE_ACTION_NEW)
            continue;
        size_t k = 0;
        while (k < sizeof refused / sizeof refused[0] && strcmp(refused[k].id, e->client_order_id) != 0)
            k++;
        ck_assert_msg(k < sizeof refused / sizeof refused[0], "unexpected reject of %s (%s)", e->client_order_id,
                      e->reason);
        ck_assert_str_eq(e->reason, refused[k].reason);
        ck_assert_str_eq(e->order_id, "");
        ck_assert_str_eq(e->strategy, "alpha");
        ck_assert_int_eq(e->side, SE_SIDE_BUY);
        ck_assert_double_eq(e->leaves_qty, 0);
        ck_assert(e->ts_exec_ns > 0 && e->ts_report_ns >= e->ts_exec_ns && e->ts_risk_ns > 0);
    }
    /* The cancel reached the simulator, which knows no such working order. */
    ck_assert_int_eq(reports(n, "rogue-qty", SE_EXEC_REJECT, &why), 2);
    ck_assert_str_eq(why, "unknown order");

    ck_assert_double_eq(counter("orders_rejected_total", "reason=\"exec_max_qty\""), 1);
    ck_assert_double_eq(counter("orders_rejected_total", "reason=\"exec_symbol_not_allowed\""), 1);
    ck_assert_double_eq(counter("orders_rejected_total", "reason=\"exec_bad_qty\""), 1);
    ck_assert_double_eq(counter("orders_rejected_total", "reason=\"exec_no_price\""), 1);
    ck_assert_double_eq(counter("orders_rejected_total", "reason=\"exec_max_rate\""), 0);
    ck_assert_double_eq(counter("orders_rejected_total", NULL), 0); /* the backend's: none */
    ck_assert_double_eq(counter("orders_submitted_total", NULL), 2); /* refused orders are never sent */
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
}
END_TEST

START_TEST(a_flood_of_refused_orders_should_be_logged_a_few_times_not_once_each)
{
    setup_engine("xflood", "maxOrderQty = 10.0;");
    enum { FLOOD = 2000 };
    pid_t execd = spawn_execd();
    ck_assert(pf_wait_readers(inst, SE_RING_ORDERS, 1, 20));
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < FLOOD; i++) {
        char id[SE_ID_MAX];
        snprintf(id, sizeof id, "flood-%d", i);
        se_order_rec_t o = pf_order(id, 101);
        o.qty = 11;
        while (shm_writer_write(&ord, &o) == SHM_FULL)
            ck_assert_msg(clock_mono_ns() - t0 < 20000000000LL, "execd does not read ord");
    }
    ck_assert_msg(pf_wait_quiet(inst, 20), "execd did not read ring ord");
    int64_t seconds = (clock_mono_ns() - t0) / 1000000000 + 1;
    ck_assert_double_eq(counter("orders_rejected_total", "reason=\"exec_max_qty\""), FLOOD);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    int lines = count_lines(errlog, "order refused by execd's hard limits");
    ck_assert_msg(lines >= 1 && lines <= seconds + 1, "%d log lines for %d refusals in %lld s", lines, FLOOD,
                  (long long)seconds);
}
END_TEST

START_TEST(a_bad_limit_should_stop_execd_at_start_naming_file_line_and_key)
{
    setup_engine("xbad", "maxOrdersPerSecond = 0;");
    pid_t execd = spawn_execd();
    int st = test_wait(execd);
    ck_assert_int_ne(st, 0);
    char want[256];
    snprintf(want, sizeof want, "%s:2: execution.limits.maxOrdersPerSecond: 0 is out of range", conf);
    ck_assert_msg(count_lines(errlog, want) == 1, "no line with \"%s\" in execd's log", want);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("execd_limits_e2e");
    TCase *tc = tcase_create("rings");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, orders_riskd_never_approved_should_be_refused_while_legal_ones_fill);
    tcase_add_test(tc, a_flood_of_refused_orders_should_be_logged_a_few_times_not_once_each);
    tcase_add_test(tc, a_bad_limit_should_stop_execd_at_start_naming_file_line_and_key);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
