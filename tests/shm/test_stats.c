/* test_stats.c -- stats blocks: metrics by name, survival across a restart,
 * and the Prometheus text they render to. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/stats.h"
#include "tests/support/ring_fixture.h"

static shm_settings_t set;

static void setup(void)
{
    ck_assert_int_eq(shm_settings_load(NULL, &set), 0);
    snprintf(set.instance, sizeof set.instance, "t%d-stats", (int)getpid());
}

static void teardown(void)
{
    test_ring_cleanup();
}

static char *render(const char *process)
{
    char ring[64], name[SHM_NAME_MAX];
    snprintf(ring, sizeof ring, "stats.%s", process);
    ck_assert_int_eq(shm_settings_ring_name(&set, ring, name, sizeof name), 0);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(stats_render_prometheus(&seg, process, f), 0);
    fclose(f);
    shm_segment_unmap(&seg);
    return text;
}

START_TEST(stats_should_render_counters_gauges_and_histograms)
{
    stats_t s;
    ck_assert_int_eq(stats_open(&s, &set, "ingest"), 0);
    stats_metric_t *ok = stats_metric(&s, STATS_COUNTER, "market_data_received_total", NULL);
    stats_metric_t *bad = stats_metric(&s, STATS_COUNTER, "market_data_dropped_total", "reason=\"bad_json\"");
    stats_metric_t *depth = stats_metric(&s, STATS_GAUGE, "signal_queue_size", NULL);
    stats_metric_t *lat = stats_metric(&s, STATS_HISTOGRAM, "strategy_latency_microseconds", NULL);
    stats_metric_t *nan = stats_metric(&s, STATS_COUNTER, "market_data_dropped_total", "reason=\"not_finite\"");
    ck_assert_ptr_nonnull(ok);
    ck_assert_ptr_nonnull(nan);
    stats_add(ok, 41);
    stats_add(ok, 1);
    stats_add(bad, 3);
    stats_set(depth, 2.5);
    stats_observe_ns(lat, 1500);    /* 1.5 us: bucket le=2 */
    stats_observe_ns(lat, 700000);  /* 700 us: bucket le=1000 */
    stats_observe_ns(lat, -5);      /* a clock step: counted as 0 */
    char *text = render("ingest");
    const char *want[] = {
        "# TYPE market_data_received_total counter\n",
        "market_data_received_total{process=\"ingest\"} 42\n",
        "market_data_dropped_total{process=\"ingest\",reason=\"bad_json\"} 3\n",
        "market_data_dropped_total{process=\"ingest\",reason=\"not_finite\"} 0\n",
        "signal_queue_size{process=\"ingest\"} 2.5\n",
        "strategy_latency_microseconds_bucket{process=\"ingest\",le=\"1\"} 1\n",
        "strategy_latency_microseconds_bucket{process=\"ingest\",le=\"2\"} 2\n",
        "strategy_latency_microseconds_bucket{process=\"ingest\",le=\"500\"} 2\n",
        "strategy_latency_microseconds_bucket{process=\"ingest\",le=\"1000\"} 3\n",
        "strategy_latency_microseconds_bucket{process=\"ingest\",le=\"+Inf\"} 3\n",
        "strategy_latency_microseconds_sum{process=\"ingest\"} 701.500\n",
        "strategy_latency_microseconds_count{process=\"ingest\"} 3\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]), "missing '%s' in:\n%s", want[i], text);
    /* One TYPE line per family, even though its slots are not adjacent. */
    const char *first = strstr(text, "# TYPE market_data_dropped_total");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "# TYPE market_data_dropped_total"));
    free(text);
    stats_close(&s, true);
}
END_TEST

START_TEST(stats_should_survive_a_restart_of_their_process)
{
    stats_t s;
    ck_assert_int_eq(stats_open(&s, &set, "strategyd.momentum"), 0);
    stats_add(stats_metric(&s, STATS_COUNTER, "strategy_signals_total", NULL), 7);
    stats_close(&s, false); /* as a crash would leave it */
    ck_assert_int_eq(stats_open(&s, &set, "strategyd.momentum"), 0);
    stats_metric_t *m = stats_metric(&s, STATS_COUNTER, "strategy_signals_total", NULL);
    ck_assert_uint_eq(m->value, 7);
    stats_add(m, 1);
    char *text = render("strategyd.momentum");
    ck_assert_ptr_nonnull(strstr(text, "strategy_signals_total{process=\"strategyd.momentum\"} 8\n"));
    free(text);
    stats_close(&s, true);
}
END_TEST

START_TEST(stats_should_refuse_a_type_clash_and_a_full_block)
{
    stats_t s;
    ck_assert_int_eq(stats_open(&s, &set, "x"), 0);
    ck_assert_ptr_nonnull(stats_metric(&s, STATS_COUNTER, "a_total", NULL));
    ck_assert_ptr_null(stats_metric(&s, STATS_GAUGE, "a_total", NULL));
    char long_name[STATS_NAME_MAX + 1];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[STATS_NAME_MAX] = '\0';
    ck_assert_ptr_null(stats_metric(&s, STATS_COUNTER, long_name, NULL));
    for (int i = 1; i < STATS_SLOTS; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "i=\"%d\"", i);
        ck_assert_ptr_nonnull(stats_metric(&s, STATS_COUNTER, "a_total", labels));
    }
    ck_assert_ptr_null(stats_metric(&s, STATS_COUNTER, "b_total", NULL));
    stats_close(&s, true);
}
END_TEST

START_TEST(stats_block_should_not_be_attachable_as_a_ring)
{
    stats_t s;
    ck_assert_int_eq(stats_open(&s, &set, "y"), 0);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, s.w.seg.name, NULL, "t", SHM_START_HEAD, 0), SE_ELAYOUT);
    stats_close(&s, true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, stats_should_render_counters_gauges_and_histograms);
    tcase_add_test(tc, stats_should_survive_a_restart_of_their_process);
    tcase_add_test(tc, stats_should_refuse_a_type_clash_and_a_full_block);
    tcase_add_test(tc, stats_block_should_not_be_attachable_as_a_ring);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_ring_cleanup();
    return failed ? 1 : 0;
}
