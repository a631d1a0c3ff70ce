/* test_policy.c -- the supervisor's decisions, without processes: restart
 * backoff and intensity, the plan read from a config (order, files, which
 * process a changed key concerns), the status JSON, and the hot-reload
 * watcher noticing a file replaced by rename. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "supervisor/plan.h"
#include "supervisor/proc.h"
#include "supervisor/status.h"
#include "supervisor/watch.h"

#define MS 1000000LL
#define SECOND 1000000000LL

static char path[200], dir[128];

static const proc_policy_t policy = { 3, 60 * SECOND, 100 * MS, 1000 * MS, 5000 * MS, 10000 * MS };

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/se-policy-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/engine.conf", dir);
}

static void teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void load(const char *text, plan_t *out, int expect_rc)
{
    write_text(path, text);
    cfg_t *cfg = NULL;
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    int rc = plan_load(cfg, out);
    ck_assert_msg(rc == expect_rc, "plan_load: %d (%s)", rc, se_errmsg());
    cfg_close(cfg);
}

START_TEST(first_restart_should_be_immediate_then_double_up_to_the_cap)
{
    ck_assert_int_eq(proc_backoff_ns(&policy, 0), 0);
    ck_assert_int_eq(proc_backoff_ns(&policy, 1), 100 * MS);
    ck_assert_int_eq(proc_backoff_ns(&policy, 2), 200 * MS);
    ck_assert_int_eq(proc_backoff_ns(&policy, 3), 400 * MS);
    ck_assert_int_eq(proc_backoff_ns(&policy, 4), 800 * MS);
    ck_assert_int_eq(proc_backoff_ns(&policy, 5), 1000 * MS);
    ck_assert_int_eq(proc_backoff_ns(&policy, 40), 1000 * MS);
}
END_TEST

START_TEST(more_restarts_than_allowed_in_the_window_should_fail_the_process)
{
    proc_t p;
    memset(&p, 0, sizeof p);
    int64_t t = 1000 * SECOND;
    ck_assert(proc_on_crash(&p, &policy, t));
    ck_assert_int_eq(p.state, PROC_BACKOFF);
    ck_assert_int_eq(p.next_start_ns, t);
    ck_assert(proc_on_crash(&p, &policy, t + SECOND));
    ck_assert_int_eq(p.next_start_ns, t + SECOND + 100 * MS);
    ck_assert(proc_on_crash(&p, &policy, t + 2 * SECOND));
    ck_assert_int_eq(p.next_start_ns, t + 2 * SECOND + 200 * MS);
    /* A fourth death within 60 s: three restarts were the limit. */
    ck_assert(!proc_on_crash(&p, &policy, t + 3 * SECOND));
    ck_assert_int_eq(p.state, PROC_FAILED);
}
END_TEST

START_TEST(restarts_older_than_the_window_should_be_forgotten)
{
    proc_t p;
    memset(&p, 0, sizeof p);
    int64_t t = 1000 * SECOND;
    for (int i = 0; i < 3; i++)
        ck_assert(proc_on_crash(&p, &policy, t + i * SECOND));
    /* Stable for a whole window: the next crash is restarted at once again. */
    int64_t later = t + 2 * SECOND + 60 * SECOND;
    ck_assert(proc_on_crash(&p, &policy, later));
    ck_assert_int_eq(p.next_start_ns, later);
    ck_assert_int_eq(proc_recent_crashes(&p, &policy, later), 1);
}
END_TEST

START_TEST(plan_should_list_processes_in_start_order_with_their_files)
{
    plan_t p;
    load("engine = { instance = \"x1\"; pluginsDir = \"/opt/p\"; };\n"
         "strategies = { enabled = [\"momentum\", \"ma\", \"py\"]; configs = {\n"
         "  ma = { plugin = \"example_plugin.so\"; }; py = { script = \"/srv/z.py\"; }; }; };\n",
         &p, 0);
    ck_assert_int_eq(p.n, 6);
    const char *names[] = { "ingest", "execd", "riskd", "strategyd.momentum", "strategyd.ma", "strategyd.py" };
    const proc_kind_t kinds[] = { PROC_INGEST, PROC_EXECD, PROC_RISKD, PROC_STRATEGY, PROC_STRATEGY, PROC_STRATEGY };
    for (int i = 0; i < 6; i++) {
        ck_assert_str_eq(p.procs[i].name, names[i]);
        ck_assert_int_eq(p.procs[i].kind, kinds[i]);
    }
    ck_assert_str_eq(p.procs[3].file, "");
    ck_assert_str_eq(p.procs[4].file, "/opt/p/example_plugin.so");
    ck_assert_str_eq(p.procs[5].file, "/srv/z.py");
    ck_assert_str_eq(p.procs[4].strategy, "ma");
    ck_assert_str_eq(p.instance, "x1");
    /* Defaults of the supervisor.* keys. */
    ck_assert_int_eq(p.policy.max_restarts, 5);
    ck_assert_int_eq(p.policy.window_ns, 60 * SECOND);
    ck_assert_int_eq(p.policy.backoff_initial_ns, 100 * MS);
    ck_assert(p.hot_reload);
}
END_TEST

START_TEST(plan_should_refuse_bad_strategy_names_and_policies)
{
    plan_t p;
    load("strategies = { enabled = [\"a-b\"]; };\n", &p, SE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "strategies.enabled"));
    load("strategies = { enabled = [\"a\", \"a\"]; };\n", &p, SE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "named twice"));
    load("supervisor = { backoffInitialMs = 500; backoffMaxMs = 100; };\n", &p, SE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "supervisor.backoffMaxMs"));
    load("supervisor = { maxRestarts = -1; };\n", &p, SE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), ":1: supervisor.maxRestarts"));
}
END_TEST

START_TEST(a_changed_key_should_concern_only_the_processes_that_read_it)
{
    static const char *base = "strategies = { enabled = [\"a\", \"b\"]; configs = { a = { x = 1; }; b = { x = 1; }; }; };\n"
                              "risk = { maxOrderSize = 5.0; };\n";
    plan_t p0, p1, p2;
    load(base, &p0, 0);
    /* Only a's own group changes: a concerned, b and the rest not. */
    load("strategies = { enabled = [\"a\", \"b\"]; configs = { a = { x = 2; }; b = { x = 1; }; }; };\n"
         "risk = { maxOrderSize = 5.0; };\n", &p1, 0);
    ck_assert_uint_ne(p0.procs[3].hash, p1.procs[3].hash);
    ck_assert_uint_eq(p0.procs[4].hash, p1.procs[4].hash);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(p0.procs[i].hash, p1.procs[i].hash);
    /* A risk limit: riskd only ... */
    plan_t p3;
    load("strategies = { enabled = [\"a\", \"b\"]; configs = { a = { x = 1; }; b = { x = 1; }; }; };\n"
         "risk = { maxOrderSize = 5.0; maxPositionSize = 9.0; };\n", &p3, 0);
    ck_assert_uint_ne(p0.procs[2].hash, p3.procs[2].hash);
    ck_assert_uint_eq(p0.procs[0].hash, p3.procs[0].hash);
    ck_assert_uint_eq(p0.procs[1].hash, p3.procs[1].hash);
    ck_assert_uint_eq(p0.procs[3].hash, p3.procs[3].hash);
    /* ... but one that execd's hard limits default from: riskd and execd. */
    load("strategies = { enabled = [\"a\", \"b\"]; configs = { a = { x = 1; }; b = { x = 1; }; }; };\n"
         "risk = { maxOrderSize = 6.0; };\n", &p2, 0);
    ck_assert_uint_ne(p0.procs[2].hash, p2.procs[2].hash);
    ck_assert_str_eq(p2.procs[1].name, "execd");
    ck_assert_uint_ne(p0.procs[1].hash, p2.procs[1].hash);
    ck_assert_uint_eq(p0.procs[0].hash, p2.procs[0].hash);
    ck_assert_uint_eq(p0.procs[3].hash, p2.procs[3].hash);
    /* Comments and layout: nobody. The engine's mode: everyone. */
    plan_t p4;
    load("# a comment\nstrategies = { enabled = [\"a\", \"b\"];\n configs = { a = { x = 1; }; b = { x = 1; }; }; };\n"
         "risk = {\n  maxOrderSize = 5.0;\n};\n", &p4, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(p0.procs[i].hash, p4.procs[i].hash);
    plan_t p5;
    load("engine = { mode = \"observation\"; };\n" "strategies = { enabled = [\"a\", \"b\"]; configs = { a = { x = 1; }; b = { x = 1; }; }; };\n"
         "risk = { maxOrderSize = 5.0; };\n", &p5, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_ne(p0.procs[i].hash, p5.procs[i].hash);
}
END_TEST

START_TEST(status_json_should_describe_every_process)
{
    proc_t procs[2];
    memset(procs, 0, sizeof procs);
    strcpy(procs[0].name, "ingest");
    procs[0].kind = PROC_INGEST;
    procs[0].state = PROC_RUNNING;
    procs[0].pid = 42;
    procs[0].spawned_ns = procs[0].ready_ns = 10 * SECOND;
    procs[0].last_status = -1;
    procs[0].last_restart_ns = -1;
    strcpy(procs[1].name, "strategyd.q\"x");
    strcpy(procs[1].strategy, "q\"x");
    procs[1].kind = PROC_STRATEGY;
    procs[1].state = PROC_FAILED;
    procs[1].restarts = 5;
    procs[1].last_status = 6; /* killed by SIGABRT */
    procs[1].last_restart_ns = 12 * MS;
    status_info_t info = { "prod", 7, true, false, 12500 * MS };
    char *s = status_render(&info, procs, 2, true);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s,
        "{\"instance\":\"prod\",\"supervisor_pid\":7,\"hot_reload\":true,\"stopping\":false,\"processes\":["
        "{\"name\":\"ingest\",\"kind\":\"ingest\",\"strategy\":\"\",\"pid\":42,\"state\":\"running\",\"restarts\":0,"
        "\"reloads\":0,\"uptime_s\":2.500,\"last_exit\":\"none\",\"last_restart_ms\":null,\"file\":\"\"},"
        "{\"name\":\"strategyd.q\\\"x\",\"kind\":\"strategy\",\"strategy\":\"q\\\"x\",\"pid\":0,\"state\":\"failed\","
        "\"restarts\":5,\"reloads\":0,\"uptime_s\":0.000,\"last_exit\":\"signal 6 (Aborted)\",\"last_restart_ms\":12.000,"
        "\"file\":\"\"}]}\n");
    free(s);
    s = status_render(&info, procs, 2, false);
    ck_assert_ptr_nonnull(strstr(s, "ingest"));
    ck_assert_ptr_nonnull(strstr(s, "failed"));
    free(s);
}
END_TEST

START_TEST(watcher_should_see_a_file_replaced_by_rename_and_ignore_others)
{
    char file[200], tmp[200], other[200];
    snprintf(file, sizeof file, "%s/x.so", dir);
    snprintf(tmp, sizeof tmp, "%s/.x.so.tmp", dir);
    snprintf(other, sizeof other, "%s/y.so", dir);
    write_text(file, "v1");
    watch_t w;
    ck_assert_int_eq(watch_open(&w), 0);
    const char *paths[] = { file };
    watch_set(&w, paths, 1);
    ck_assert(!watch_read(&w));
    write_text(other, "unrelated");
    ck_assert(!watch_read(&w));
    write_text(tmp, "v2");
    ck_assert_int_eq(rename(tmp, file), 0);
    ck_assert(watch_read(&w));
    ck_assert(!watch_read(&w));
    write_text(file, "v3"); /* rewritten in place */
    ck_assert(watch_read(&w));
    /* The identity tells versions apart. */
    proc_file_t a, b;
    proc_file_stat(&a, file);
    write_text(tmp, "v4, longer");
    ck_assert_int_eq(rename(tmp, file), 0);
    proc_file_stat(&b, file);
    ck_assert(a.exists && b.exists);
    ck_assert(proc_file_changed(&a, &b));
    ck_assert(!proc_file_changed(&b, &b));
    watch_set(&w, NULL, 0);
    write_text(file, "v5");
    ck_assert(!watch_read(&w));
    watch_close(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("supervisor_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, first_restart_should_be_immediate_then_double_up_to_the_cap);
    tcase_add_test(tc, more_restarts_than_allowed_in_the_window_should_fail_the_process);
    tcase_add_test(tc, restarts_older_than_the_window_should_be_forgotten);
    tcase_add_test(tc, plan_should_list_processes_in_start_order_with_their_files);
    tcase_add_test(tc, plan_should_refuse_bad_strategy_names_and_policies);
    tcase_add_test(tc, a_changed_key_should_concern_only_the_processes_that_read_it);
    tcase_add_test(tc, status_json_should_describe_every_process);
    tcase_add_test(tc, watcher_should_see_a_file_replaced_by_rename_and_ignore_others);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
