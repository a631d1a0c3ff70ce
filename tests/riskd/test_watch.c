/* test_watch.c -- check suite for riskd's stall watch (riskd/watch.c) as
 * /health sees it (riskd_engine_health): every signal refused by one rule, a
 * ring reader left behind, a silent feed; each turns /health unhealthy with
 * its reason and back when it ends, once in the log and the metrics. Time is
 * passed in, never slept; the test process plays the other processes. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "riskd/endpoints.h"
#include "tests/support/ring_fixture.h"

#define S 1000000000LL
#define T0 (1000 * S)                      /* the watch's mono start */
#define R0 ((int64_t)1800000000 * S)       /* and its CLOCK_REALTIME start */

static riskd_t d;
static stats_t st;
static char logpath[64];
static int logfd = -1;

static void start(int64_t stall_s, int64_t min, int64_t lag_records, int64_t lag_s, int64_t silence_s)
{
    riskd_watch_config_t c = { stall_s * S, (uint64_t)min, (uint64_t)lag_records, lag_s * S, silence_s * S, "redis" };
    ck_assert_int_eq(riskd_watch_init(&d.watch, &c, &st, T0, R0), 0);
}

static void setup(void)
{
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(shm_settings_load(NULL, &d.set), 0);
    snprintf(d.set.instance, sizeof d.set.instance, "t%d-wt", (int)getpid());
    /* The watch's metrics go to a block named supervisor: a live supervisor
     * whose verdict is empty (nothing down), so /health says only the stalls. */
    ck_assert_int_eq(stats_open(&st, &d.set, "supervisor"), 0);
    atomic_store(&d.ctl.state, SE_TRADING_ACTIVE);
    atomic_store(&d.ctl.reason, "start");
    snprintf(logpath, sizeof logpath, "/tmp/se-watch-%d.log", (int)getpid());
    logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(logfd, 0);
    log_set_fd(logfd);
}

static void teardown(void)
{
    riskd_watch_fini(&d.watch);
    stats_close(&st, true);
    log_set_fd(2);
    close(logfd);
    unlink(logpath);
    test_ring_cleanup();
}

static const char *health(void)
{
    static char text[SVC_REASONS_MAX * SVC_REASON_LEN];
    svc_reasons_t why = { 0 };
    riskd_engine_health(&why, &d);
    text[0] = '\0';
    for (int i = 0; i < why.n; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i ? " | " : "", why.text[i]);
    return text;
}

/* How many log lines contain needle. */
static int logged(const char *needle)
{
    static char buf[1 << 16];
    ssize_t n = pread(logfd, buf, sizeof buf - 1, 0);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    int k = 0;
    for (char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        k++;
    return k;
}

static double metric(const char *name, const char *cond)
{
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", cond);
    stats_metric_t *m = stats_metric(&st, strstr(name, "_total") ? STATS_COUNTER : STATS_GAUGE, name, labels);
    ck_assert_ptr_nonnull(m);
    return strstr(name, "_total") ? (double)m->value : stats_gauge_value(m);
}

/* ---- rejecting ---- */

static const char *const rules[] = { "max_position", "price_collar", "kill_switch" };
static uint64_t approved, rejected[3];

/* One tick of the runner at T0 + sec seconds. */
static void tick_signals(int64_t sec)
{
    riskd_watch_signals(&d.watch, T0 + sec * S, approved, rejected, rules, 3);
    riskd_watch_market(&d.watch, 0, R0 + sec * S);
    riskd_watch_publish(&d.watch, T0 + sec * S);
}

START_TEST(every_signal_refused_by_one_rule_should_be_a_stall_until_one_passes)
{
    approved = 7, rejected[0] = 3, rejected[1] = rejected[2] = 0; /* totals before: not counted */
    start(60, 10, 0, 0, 0);
    tick_signals(0);
    for (int64_t s = 1; s < 60; s++) {
        rejected[0] += 2;
        tick_signals(s);
        ck_assert_msg(strcmp(health(), "") == 0, "at %llds: %s", (long long)s, health());
    }
    rejected[0] += 2;
    tick_signals(60);
    ck_assert_str_eq(health(), "trading stalled (rejecting): every signal for 60s refused by rule max_position "
                               "(120 in the last 60s, none approved)");
    ck_assert_double_eq(metric("trading_stalled", "rejecting"), 1);
    rejected[0] += 2;
    tick_signals(61);
    ck_assert_ptr_nonnull(strstr(health(), "every signal for 61s refused by rule max_position"));
    ck_assert_int_eq(logged("\"trading stalled\""), 1);          /* once, not every tick */
    ck_assert_int_eq(logged("max_position"), 1);
    ck_assert_double_eq(metric("trading_stalls_total", "rejecting"), 1);
    approved++; /* one order passes: trading lives */
    tick_signals(62);
    ck_assert_str_eq(health(), "");
    ck_assert_double_eq(metric("trading_stalled", "rejecting"), 0);
    ck_assert_int_eq(logged("\"trading no longer stalled\""), 1);
    tick_signals(63);
    ck_assert_int_eq(logged("\"trading no longer stalled\""), 1);
}
END_TEST

START_TEST(a_quiet_market_should_not_be_a_stall)
{
    memset(rejected, 0, sizeof rejected), approved = 0;
    start(60, 10, 0, 0, 0);
    tick_signals(0);
    for (int64_t s = 1; s <= 300; s++) {
        if (s % 10 == 0) /* 6 refusals a minute, all by one rule, nothing approved */
            rejected[0]++;
        tick_signals(s);
        ck_assert_msg(strcmp(health(), "") == 0, "at %llds: %s", (long long)s, health());
    }
    /* A burst after the quiet: the window holds enough now. */
    rejected[0] += 4;
    tick_signals(301);
    ck_assert_ptr_nonnull(strstr(health(), "refused by rule max_position (10 in the last 60s"));
}
END_TEST

START_TEST(refusals_by_several_rules_or_by_the_halt_should_not_be_a_stall)
{
    memset(rejected, 0, sizeof rejected), approved = 0;
    start(10, 5, 0, 0, 0);
    tick_signals(0);
    for (int64_t s = 1; s <= 30; s++) { /* two rules take turns: the strategies are not all stuck on one */
        rejected[s % 2] += 3;
        tick_signals(s);
    }
    ck_assert_str_eq(health(), "");
    for (int64_t s = 31; s <= 60; s++) { /* the kill switch: HALTED says it already */
        rejected[2] += 3;
        tick_signals(s);
    }
    ck_assert_str_eq(health(), "");
    for (int64_t s = 61; s <= 71; s++) {
        rejected[1] += 3;
        tick_signals(s);
    }
    ck_assert_ptr_nonnull(strstr(health(), "refused by rule price_collar"));
}
END_TEST

/* ---- reader_lag ---- */

static void tick_rings(int64_t sec)
{
    const char *const rings[] = { "in", "exe", "risk", "ord", "sig.alpha" };
    riskd_watch_rings(&d.watch, &d.set, rings, 5, R0 + sec * S);
    riskd_watch_publish(&d.watch, T0 + sec * S);
}

static void open_in(shm_writer_t *w, shm_reader_t *r)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_settings_ring_name(&d.set, "in", name, sizeof name), 0);
    ck_assert_int_eq(shm_writer_open(w, name, &SE_SPEC_IN(1024), NULL), 0);
    ck_assert_int_eq(shm_reader_open(r, name, &SE_SPEC_IN(1024), "laggard", SHM_START_HEAD, 0), 0);
}

static void write_in(shm_writer_t *w, int n)
{
    se_in_rec_t rec;
    memset(&rec, 0, sizeof rec);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(shm_writer_write(w, &rec), SHM_OK);
}

static void read_all(shm_reader_t *r)
{
    se_in_rec_t rec;
    while (shm_reader_read(r, &rec) == SHM_OK)
        ;
}

START_TEST(a_reader_too_many_records_behind_should_be_a_stall)
{
    start(0, 10, 4096, 0, 0); /* 4096 > half the ring: the limit is 512 */
    shm_writer_t w;
    shm_reader_t r;
    open_in(&w, &r);
    write_in(&w, 512);
    tick_rings(0);
    ck_assert_str_eq(health(), "");
    write_in(&w, 1);
    tick_rings(1);
    ck_assert_str_eq(health(),
                     "trading stalled (reader_lag): reader laggard of ring in is 513 records behind (limit 512) for 0s");
    tick_rings(4);
    ck_assert_ptr_nonnull(strstr(health(), "is 513 records behind (limit 512) for 3s"));
    ck_assert_double_eq(metric("trading_stalled", "reader_lag"), 1);
    ck_assert_int_eq(logged("\"trading stalled\""), 1);
    read_all(&r);
    tick_rings(5);
    ck_assert_str_eq(health(), "");
    ck_assert_double_eq(metric("trading_stalled", "reader_lag"), 0);
    ck_assert_int_eq(logged("\"trading no longer stalled\""), 1);
    shm_reader_close(&r);
    shm_writer_close(&w, false);
}
END_TEST

START_TEST(a_reader_that_stops_reading_should_be_a_stall_once_seconds_pass)
{
    start(0, 10, 0, 5, 0);
    shm_writer_t w;
    shm_reader_t r;
    open_in(&w, &r);
    tick_rings(0);
    tick_rings(30); /* nothing to read: an idle reader is not behind */
    ck_assert_str_eq(health(), "");
    write_in(&w, 3);
    tick_rings(31);
    ck_assert_str_eq(health(), "");
    tick_rings(36); /* unread for 5 s: the limit, not beyond */
    ck_assert_str_eq(health(), "");
    tick_rings(37);
    ck_assert_str_eq(health(), "trading stalled (reader_lag): reader laggard of ring in has left 3 records unread "
                               "for 6s");
    read_all(&r); /* it moves again */
    tick_rings(37);
    ck_assert_str_eq(health(), "");
    ck_assert_int_eq(logged("\"trading stalled\""), 1);
    ck_assert_int_eq(logged("\"trading no longer stalled\""), 1);
    shm_reader_close(&r);
    /* A reader that is gone is no one's lag. */
    write_in(&w, 3);
    tick_rings(100);
    ck_assert_str_eq(health(), "");
    shm_writer_close(&w, false);
}
END_TEST

/* ---- feed_silent ---- */

START_TEST(a_silent_feed_should_be_a_stall_until_data_comes)
{
    start(0, 10, 0, 0, 30);
    riskd_watch_market(&d.watch, 0, R0 + 30 * S); /* no data since the start, 30 s: not yet */
    riskd_watch_publish(&d.watch, T0 + 30 * S);
    ck_assert_str_eq(health(), "");
    riskd_watch_market(&d.watch, 0, R0 + 31 * S);
    riskd_watch_publish(&d.watch, T0 + 31 * S);
    ck_assert_str_eq(health(), "trading stalled (feed_silent): no market data from feed redis on ring in for 31s "
                               "(limit 30s)");
    ck_assert_double_eq(metric("trading_stalled", "feed_silent"), 1);
    riskd_watch_market(&d.watch, R0 + 40 * S, R0 + 41 * S);
    riskd_watch_publish(&d.watch, T0 + 41 * S);
    ck_assert_str_eq(health(), "");
    ck_assert_double_eq(metric("trading_stalled", "feed_silent"), 0);
    riskd_watch_market(&d.watch, R0 + 40 * S, R0 + 75 * S);
    riskd_watch_publish(&d.watch, T0 + 75 * S);
    ck_assert_ptr_nonnull(strstr(health(), "on ring in for 35s"));
    ck_assert_double_eq(metric("trading_stalls_total", "feed_silent"), 2);
    ck_assert_int_eq(logged("\"trading stalled\""), 2);
}
END_TEST

START_TEST(a_key_at_zero_should_turn_its_condition_off)
{
    start(0, 0, 0, 0, 0); /* no minimum of signals either: only the zero windows hold it off */
    approved = 0, memset(rejected, 0, sizeof rejected);
    shm_writer_t w;
    shm_reader_t r;
    open_in(&w, &r);
    tick_signals(0);
    tick_rings(0);
    write_in(&w, 1000); /* far behind, for long */
    for (int64_t s = 1; s <= 4000; s += 100) {
        rejected[0] += 100;
        tick_signals(s); /* and no market data at all */
        tick_rings(s);
    }
    ck_assert_str_eq(health(), "");
    shm_reader_close(&r);
    shm_writer_close(&w, false);
}
END_TEST

START_TEST(the_keys_should_be_read_with_their_defaults)
{
    riskd_watch_config_t c;
    ck_assert_int_eq(riskd_watch_load(NULL, &c), 0);
    ck_assert_int_eq(c.stall_ns, 60 * S);
    ck_assert_int_eq(c.stall_min, 10);
    ck_assert_int_eq(c.lag_records, 4096);
    ck_assert_int_eq(c.lag_ns, 5 * S);
    ck_assert_int_eq(c.silence_ns, 0);
    char path[64];
    snprintf(path, sizeof path, "/tmp/se-watch-%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("riskd = { stallSeconds = 30; stallMinSignals = 3; lagRecords = 100; lagSeconds = 2;\n"
          "          feedSilenceSeconds = 15; };\ningest = { feed = \"redis\"; };\n", f);
    fclose(f);
    cfg_t *cfg = NULL;
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    ck_assert_int_eq(riskd_watch_load(cfg, &c), 0);
    ck_assert_int_eq(c.stall_ns, 30 * S);
    ck_assert_int_eq(c.stall_min, 3);
    ck_assert_int_eq(c.lag_records, 100);
    ck_assert_int_eq(c.lag_ns, 2 * S);
    ck_assert_int_eq(c.silence_ns, 15 * S);
    ck_assert_str_eq(c.feed, "redis");
    cfg_close(cfg);
    f = fopen(path, "w");
    fputs("riskd = { stallSeconds = 7200; };\n", f);
    fclose(f);
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    ck_assert_int_lt(riskd_watch_load(cfg, &c), 0); /* beyond the hour the window is sized for */
    cfg_close(cfg);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("stalls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_signal_refused_by_one_rule_should_be_a_stall_until_one_passes);
    tcase_add_test(tc, a_quiet_market_should_not_be_a_stall);
    tcase_add_test(tc, refusals_by_several_rules_or_by_the_halt_should_not_be_a_stall);
    tcase_add_test(tc, a_reader_too_many_records_behind_should_be_a_stall);
    tcase_add_test(tc, a_reader_that_stops_reading_should_be_a_stall_once_seconds_pass);
    tcase_add_test(tc, a_silent_feed_should_be_a_stall_until_data_comes);
    tcase_add_test(tc, a_key_at_zero_should_turn_its_condition_off);
    tcase_add_test(tc, the_keys_should_be_read_with_their_defaults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
