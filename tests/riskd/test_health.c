/* test_health.c -- check suite for riskd's engine-wide /health checks
 * (riskd/endpoints.c): the supervisor's verdict when it runs, the writers of
 * the rings when it does not, ingest's feeds, and the trading state. The
 * test process plays every other process by writing their segments. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "riskd/endpoints.h"
#include "tests/support/ring_fixture.h"

static riskd_t d;

static void setup(void)
{
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(shm_settings_load(NULL, &d.set), 0);
    snprintf(d.set.instance, sizeof d.set.instance, "t%d-hl", (int)getpid());
    d.nstrategies = 2;
    snprintf(d.names[0], sizeof d.names[0], "alpha");
    snprintf(d.names[1], sizeof d.names[1], "beta");
    atomic_store(&d.ctl.state, SE_TRADING_ACTIVE);
    atomic_store(&d.ctl.reason, "start");
}

static void teardown(void)
{
    test_ring_cleanup();
}

/* The reasons, joined with " | ", for readable assertions. */
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

static void open_ring(shm_writer_t *w, const char *ring, shm_ring_spec_t spec)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_settings_ring_name(&d.set, ring, name, sizeof name), 0);
    ck_assert_int_eq(shm_writer_open(w, name, &spec, NULL), 0);
}

START_TEST(without_supervisor_the_ring_writers_should_tell_who_runs)
{
    ck_assert_str_eq(health(), "process ingest is down (ring in does not exist) | "
                               "process execd is down (ring exe does not exist) | "
                               "process strategyd.alpha is down (ring sig.alpha does not exist) | "
                               "process strategyd.beta is down (ring sig.beta does not exist)");
    shm_writer_t in, exe, a, b;
    open_ring(&in, "in", SE_SPEC_IN(1024));
    open_ring(&exe, "exe", SE_SPEC_EXEC(1024));
    open_ring(&a, "sig.alpha", SE_SPEC_SIGNAL(64));
    open_ring(&b, "sig.beta", SE_SPEC_SIGNAL(64));
    ck_assert_str_eq(health(), "");
    shm_writer_close(&b, false); /* stopped: the ring stays, without a writer */
    ck_assert_str_eq(health(), "process strategyd.beta is down (ring sig.beta has no live writer)");
    shm_writer_close(&a, false);
    shm_writer_close(&exe, false);
    shm_writer_close(&in, false);
}
END_TEST

START_TEST(a_live_supervisor_should_be_believed)
{
    stats_t sup;
    ck_assert_int_eq(stats_open(&sup, &d.set, "supervisor"), 0);
    const char *procs[] = { "ingest", "riskd", "execd", "strategyd.alpha", "strategyd.beta" };
    stats_metric_t *up[5], *failed[5];
    for (int i = 0; i < 5; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "process=\"%s\"", procs[i]);
        up[i] = stats_metric(&sup, STATS_GAUGE, "supervisor_process_up", labels);
        failed[i] = stats_metric(&sup, STATS_GAUGE, "supervisor_process_failed", labels);
        stats_set(up[i], 1);
        stats_set(failed[i], 0);
    }
    ck_assert_str_eq(health(), ""); /* no ring exists, but the supervisor says all run */
    stats_set(up[2], 0);
    stats_set(failed[4], 1);
    ck_assert_str_eq(health(), "process execd is down | process strategyd.beta failed");
    /* A strategy removed from the config keeps its gauges, unmanaged: not down, gone. */
    stats_metric_t *managed = stats_metric(&sup, STATS_GAUGE, "supervisor_process_managed", "process=\"strategyd.alpha\"");
    stats_set(managed, 1);
    stats_set(up[3], 0);
    ck_assert_str_eq(health(), "process execd is down | process strategyd.alpha is down | process strategyd.beta failed");
    stats_set(managed, 0);
    ck_assert_str_eq(health(), "process execd is down | process strategyd.beta failed");
    /* A supervisor that is gone says nothing any more: back to the rings. */
    stats_close(&sup, false);
    ck_assert_ptr_nonnull(strstr(health(), "process ingest is down (ring in does not exist)"));
}
END_TEST

START_TEST(a_disconnected_feed_or_a_halt_should_make_the_engine_unhealthy)
{
    stats_t sup, ing;
    ck_assert_int_eq(stats_open(&sup, &d.set, "supervisor"), 0); /* an empty verdict: nothing down */
    ck_assert_int_eq(stats_open(&ing, &d.set, "ingest"), 0);
    stats_metric_t *redis = stats_metric(&ing, STATS_GAUGE, "feed_connected", "feed=\"redis\"");
    stats_metric_t *nats = stats_metric(&ing, STATS_GAUGE, "feed_connected", "feed=\"nats\"");
    stats_set(redis, 1);
    stats_set(nats, 1);
    ck_assert_str_eq(health(), "");
    stats_set(nats, 0);
    ck_assert_str_eq(health(), "feed nats is disconnected");
    stats_set(nats, 1);
    atomic_store(&d.ctl.state, SE_TRADING_HALTED);
    atomic_store(&d.ctl.reason, "kill_switch");
    ck_assert_str_eq(health(), "trading is HALTED (kill_switch)");
    atomic_store(&d.ctl.state, SE_TRADING_REDUCING); /* reducing still trades: healthy */
    ck_assert_str_eq(health(), "");
    stats_close(&ing, false);
    stats_close(&sup, false);
}
END_TEST

START_TEST(stats_readers_should_find_metrics_and_labels)
{
    stats_t st;
    ck_assert_int_eq(stats_open(&st, &d.set, "supervisor"), 0);
    stats_set(stats_metric(&st, STATS_GAUGE, "g", "process=\"a\",feed=\"x\""), 2.5);
    shm_segment_t seg;
    stats_metric_t m;
    ck_assert_int_eq(stats_map(&d.set, "supervisor", &seg), 0);
    ck_assert_int_eq(stats_find(&seg, "g", "process=\"a\",feed=\"x\"", &m), 0);
    ck_assert_double_eq(stats_gauge_value(&m), 2.5);
    ck_assert_int_eq(stats_find(&seg, "g", NULL, &m), -ENOENT);
    char v[8];
    ck_assert_int_eq(stats_label(m.labels, "feed", v, sizeof v), 0);
    ck_assert_str_eq(v, "x");
    ck_assert_int_eq(stats_label(m.labels, "process", v, sizeof v), 0);
    ck_assert_str_eq(v, "a");
    ck_assert_int_eq(stats_label(m.labels, "rule", v, sizeof v), -ENOENT);
    ck_assert_int_eq(stats_label("process=\"much-too-long\"", "process", v, sizeof v), -ENOENT);
    shm_segment_unmap(&seg);
    ck_assert_int_eq(stats_map(&d.set, "nobody", &seg), -ENOENT);
    stats_close(&st, false);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, without_supervisor_the_ring_writers_should_tell_who_runs);
    tcase_add_test(tc, a_live_supervisor_should_be_believed);
    tcase_add_test(tc, a_disconnected_feed_or_a_halt_should_make_the_engine_unhealthy);
    tcase_add_test(tc, stats_readers_should_find_metrics_and_labels);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
