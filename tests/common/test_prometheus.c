/* test_prometheus.c -- a real Prometheus (Debian's /usr/bin/prometheus)
 * scrapes a running pipeline (ingest's synthetic feed, one strategyd, riskd,
 * execd, on ports the kernel picks) and its query API then answers with the
 * engine's metrics, labelled by process. Prometheus runs on a free port with
 * a generated config and a scratch storage directory, removed afterwards. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "tests/support/http_client.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

#define PROMETHEUS "/usr/bin/prometheus"
#define NPROC 4

static const char *const procs[NPROC] = { "ingest", "riskd", "execd", "strategyd.momentum" };
static char inst[40], dir[64], conf[128];
static pid_t pids[NPROC], prom;
static char body[1 << 16];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-prom", (int)getpid());
    snprintf(dir, sizeof dir, "/tmp/se-prom-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(conf, sizeof conf, "%s/engine.conf", dir);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; };\n"
            "strategies = { enabled = [\"momentum\"]; configs = {\n"
            "  momentum = { lookback_period = 3; threshold = 0.0005; max_position = 4.0; order_size = 1.0; }; }; };\n"
            "ingest = { feed = \"synthetic\"; httpPort = 0; synthetic = { ratePerSecond = 200.0; }; };\n"
            "riskd = { httpPort = 0; };\nexecd = { httpPort = 0; };\nstrategyd = { httpBasePort = 0; };\n",
            inst);
    ck_assert_int_eq(fclose(f), 0);
}

static void teardown(void)
{
    if (prom > 0)
        kill(prom, SIGKILL), test_wait(prom);
    for (int i = 0; i < NPROC; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL), test_wait(pids[i]);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    char lead[64];
    snprintf(lead, sizeof lead, "se.%s.", inst);
    test_sweep_segments(lead);
}

/* A loopback port nobody listens on right now (the kernel's pick). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_prometheus(const int *ports, int web_port)
{
    char yml[128], data[128], log[128], arg_conf[160], arg_data[160], arg_web[64];
    snprintf(yml, sizeof yml, "%s/prometheus.yml", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/prometheus.log", dir);
    FILE *f = fopen(yml, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
               "scrape_configs:\n  - job_name: strategy-engine\n    static_configs:\n      - targets: [");
    for (int i = 0; i < NPROC; i++)
        fprintf(f, "%s'127.0.0.1:%d'", i ? ", " : "", ports[i]);
    fprintf(f, "]\n");
    ck_assert_int_eq(fclose(f), 0);
    snprintf(arg_conf, sizeof arg_conf, "--config.file=%s", yml);
    snprintf(arg_data, sizeof arg_data, "--storage.tsdb.path=%s", data);
    snprintf(arg_web, sizeof arg_web, "--web.listen-address=127.0.0.1:%d", web_port);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0 && !getenv("SE_TEST_VERBOSE"))
            dup2(fd, 1), dup2(fd, 2);
        execl(PROMETHEUS, "prometheus", arg_conf, arg_data, arg_web, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Asks Prometheus for query (already URL-safe) until its answer contains every
 * string of want; false at the deadline. body holds the last answer. */
static bool query_until(int port, const char *query, const char *const *want, int nwant, int64_t deadline)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/query?query=%s", query);
    while (clock_mono_ns() < deadline) {
        int found = 0;
        if (tc_http(port, "GET", path, NULL, body, sizeof body, NULL, 0) == 200)
            for (int i = 0; i < nwant; i++)
                found += strstr(body, want[i]) != NULL;
        if (found == nwant)
            return true;
        usleep(100000); /* Prometheus scrapes once a second: no need to hammer it */
    }
    return false;
}

START_TEST(prometheus_should_scrape_every_process)
{
    if (access(PROMETHEUS, X_OK) != 0) {
        printf("skip: %s is not installed (tools/deps.sh installs the prometheus package)\n", PROMETHEUS);
        return;
    }
    pids[2] = pf_spawn(conf, "execd", NULL);
    pids[1] = pf_spawn(conf, "riskd", NULL);
    pids[3] = pf_spawn(conf, "strategyd", "momentum");
    pids[0] = pf_spawn(conf, "ingest", NULL);
    int ports[NPROC];
    for (int i = 0; i < NPROC; i++) {
        ports[i] = tc_http_port(inst, procs[i], 20);
        ck_assert_msg(ports[i] > 0, "%s published no http_port", procs[i]);
    }
    int web = free_port();
    prom = start_prometheus(ports, web);
    /* Generous: Prometheus starts its storage first, on a shared machine. */
    int64_t deadline = clock_mono_ns() + 120000000000LL;
    const char *four = ",\"4\"]"; /* the value of count(up == 1) */
    ck_assert_msg(query_until(web, "count(up%3D%3D1)", &four, 1, deadline),
                  "Prometheus never saw the 4 targets up (see %s/prometheus.log): %s", dir, body);
    const char *received[] = { "\"__name__\":\"market_data_received_total\"", "\"process\":\"ingest\"}",
                               "\"process\":\"strategyd.momentum\",\"strategy\":\"momentum\"}" };
    ck_assert_msg(query_until(web, "market_data_received_total", received, 3, deadline), "%s", body);
    /* ingest's count is a real, moving number. */
    const char *v = strstr(strstr(body, "\"process\":\"ingest\"}"), "\"value\":[");
    ck_assert_ptr_nonnull(v);
    const char *num = strstr(v, ",\"");
    ck_assert_ptr_nonnull(num);
    ck_assert_double_gt(strtod(num + 2, NULL), 0);
    const char *checks[] = { "\"__name__\":\"risk_checks_total\"", "\"process\":\"riskd\"}" };
    ck_assert_msg(query_until(web, "risk_checks_total", checks, 2, deadline), "%s", body);
    const char *latency[] = { "\"process\":\"execd\"" };
    ck_assert_msg(query_until(web, "order_latency_microseconds_count", latency, 1, deadline), "%s", body);
    kill(prom, SIGTERM);
    ck_assert_int_eq(test_wait(prom), 0);
    prom = 0;
    ck_assert_int_eq(pf_stop(pids, NPROC), 0);
    memset(pids, 0, sizeof pids);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prometheus");
    TCase *tc = tcase_create("scrape");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, prometheus_should_scrape_every_process);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
