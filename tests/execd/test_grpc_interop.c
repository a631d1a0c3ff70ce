/* test_grpc_interop.c -- proto/execution.proto against an implementation we
 * did not write: Debian's python3-grpcio (tests/execd/interop.py, messages
 * built at run time from the descriptor set protoc-c wrote from the same
 * .proto) as a client of bin/venue-sim, and as the server execd submits to.
 * Skips, saying why, where that Python is missing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"
#include "tests/support/venue_fixture.h"

#define PYTHON "/usr/bin/python3"
#define SCRIPT "tests/execd/interop.py"

static char inst[40], conf[128], journal[128], pylog[128], desc[512];
static se_exec_rec_t exes[256];

/* The descriptor set beside the binaries: build/<v>/proto/execution.desc. */
static void find_desc(void)
{
    snprintf(desc, sizeof desc, "%s/../proto/execution.desc", pf_bin_dir());
    if (access(desc, R_OK) != 0)
        snprintf(desc, sizeof desc, "build/release/proto/execution.desc");
    ck_assert_msg(access(desc, R_OK) == 0, "no descriptor set at %s: run make", desc);
}

/* True when /usr/bin/python3 has grpc and protobuf; prints why not. */
static bool python_ready(void)
{
    int rc = system(PYTHON " -c 'import grpc, google.protobuf' 2>/dev/null");
    if (rc != 0) {
        printf("skip: %s with grpc and protobuf is not available (python3-grpcio, python3-protobuf)\n", PYTHON);
        return false;
    }
    return true;
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-p", (int)getpid());
    snprintf(conf, sizeof conf, "/tmp/se-interop-%d.conf", (int)getpid());
    snprintf(journal, sizeof journal, "/tmp/se-interop-%d.journal", (int)getpid());
    snprintf(pylog, sizeof pylog, "/tmp/se-interop-%d.jsonl", (int)getpid());
    unlink(journal);
    unlink(pylog);
    find_desc();
}

static void teardown(void)
{
    unlink(conf);
    unlink(journal);
    unlink(pylog);
    char lead[64];
    snprintf(lead, sizeof lead, "se.%s.", inst);
    test_sweep_segments(lead);
}

START_TEST(python_grpcio_client_should_trade_with_venue_sim)
{
    if (!python_ready())
        return;
    const char *extra[] = { "--fill-price", "100", NULL };
    vf_proc_t venue;
    ck_assert(vf_start_venue(&venue, 0, extra));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PYTHON " " SCRIPT " %s client %d", desc, venue.port);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[256] = "";
    char *got = fgets(out, sizeof out, p);
    int st = pclose(p);
    ck_assert_msg(got && strcmp(out, "ok\n") == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the Python client failed (status %d): %s", st, out);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 1);
    ck_assert_int_eq(vf_json_int(counts, "duplicates"), 1);
    ck_assert_int_eq(vf_json_int(counts, "cancelled"), 1);
}
END_TEST

/* The line of the Python server's log for (method, client_order_id), or "". */
static void logged(const char *method, const char *id, char *line, size_t size)
{
    FILE *f = fopen(pylog, "r");
    line[0] = '\0';
    if (!f)
        return;
    char buf[1024], m[64], i[96];
    snprintf(m, sizeof m, "\"method\": \"%s\"", method);
    snprintf(i, sizeof i, "\"client_order_id\": \"%s\"", id);
    while (fgets(buf, sizeof buf, f))
        if (strstr(buf, m) && strstr(buf, i))
            snprintf(line, size, "%s", buf);
    fclose(f);
}

START_TEST(execd_should_submit_to_a_python_grpcio_server)
{
    if (!python_ready())
        return;
    char *argv[] = { PYTHON, SCRIPT, desc, "server", pylog, NULL };
    vf_proc_t py;
    int st = 0;
    ck_assert_msg(vf_start(&py, argv, 20, &st), "the Python server did not start (status %d)", st);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"live\"; idleSpinUs = 0; };\n"
            "execution = { target = \"127.0.0.1:%d\"; journalFile = \"%s\"; timeoutMs = 5000; };\n"
            "execd = { httpPort = 0; };\n",
            inst, py.port, journal);
    ck_assert_int_eq(fclose(f), 0);
    shm_writer_t ord, in;
    vf_ord_open(&ord, inst, 64);
    vf_in_open(&in, inst, (const char *const[]){ "BTC-USD", "REJECT-ME", NULL }, 100);
    pid_t execd = pf_spawn(conf, "execd", NULL);
    ck_assert(pf_wait_readers(inst, SE_RING_ORDERS, 1, 10));
    se_order_rec_t o[4] = {
        vf_order("i-1", "BTC-USD", SE_SIDE_BUY, 1.25, 0, false),
        vf_order("i-2", "ETH-USD", SE_SIDE_SELL, 3, 2500.5, false),
        vf_order("i-3", "REJECT-ME", SE_SIDE_BUY, 1, 0, false),
        vf_order("i-2", "ETH-USD", SE_SIDE_SELL, 3, 2500.5, true),
    };
    for (int i = 0; i < 3; i++)
        vf_ord_write(&ord, &o[i]);
    int n = vf_exe_wait(inst, exes, 256, 0, NULL, 3, 20);
    ck_assert_int_eq(n, 3);
    vf_ord_write(&ord, &o[3]);
    n = vf_exe_wait(inst, exes, 256, SE_EXEC_CANCELLED, NULL, 1, 20);
    ck_assert_int_eq(n, 4);
    for (int i = 0; i < n; i++) {
        const se_exec_rec_t *e = &exes[i];
        if (e->kind == SE_EXEC_REJECT) {
            ck_assert_str_eq(e->client_order_id, "i-3");
            ck_assert_str_eq(e->reason, "python_says_no");
        } else if (e->kind == SE_EXEC_ACK) {
            char oid[SE_ID_MAX + 3];
            snprintf(oid, sizeof oid, "py-%s", e->client_order_id);
            ck_assert_str_eq(e->order_id, oid);
        } else {
            ck_assert_int_eq(e->kind, SE_EXEC_CANCELLED);
            ck_assert_str_eq(e->client_order_id, "i-2");
        }
    }
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char line[1024], want[256];
    logged("SubmitOrder", "i-1", line, sizeof line);
    ck_assert_msg(strstr(line, "\"strategy\": \"momentum\", \"symbol\": \"BTC-USD\", \"side\": 1, \"type\": 1, "
                               "\"quantity\": 1.25, \"limit_price\": 0.0"), "%s", line);
    snprintf(want, sizeof want, "\"created_ns\": %lld}", (long long)o[0].ts_strategy_ns);
    ck_assert_msg(strstr(line, want), "%s", line);
    logged("SubmitOrder", "i-2", line, sizeof line);
    ck_assert_msg(strstr(line, "\"symbol\": \"ETH-USD\", \"side\": 2, \"type\": 2, \"quantity\": 3.0, "
                               "\"limit_price\": 2500.5"), "%s", line);
    logged("CancelOrder", "i-2", line, sizeof line);
    ck_assert_msg(strstr(line, "\"symbol\": \"ETH-USD\""), "%s", line);
    char rest[64];
    vf_stop(&py, rest, sizeof rest);
    shm_writer_close(&ord, false);
    shm_writer_close(&in, false);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("execd_grpc_interop");
    TCase *tc = tcase_create("python");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, python_grpcio_client_should_trade_with_venue_sim);
    tcase_add_test(tc, execd_should_submit_to_a_python_grpcio_server);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
