/* test_endpoints.c -- the HTTP endpoints of a running pipeline (ingest's
 * synthetic feed, two strategyd, riskd, execd as real processes, on ports the
 * kernel picks): /health and /metrics of every process (promtool checks each
 * body), riskd's /status and the kill switch round trip (orders stop while
 * HALTED, /health says so, trading resumes), /loglevel and SIGUSR1, and the
 * systemd notifications (READY, WATCHDOG, STOPPING) of a process, and the
 * stalls /health reports while the state says ACTIVE (riskd/watch.h): every
 * signal refused by one rule, a stopped reader, a stopped feed. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"
#include "tests/support/http_client.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

#define NPROC 5
static const char *const procs[NPROC] = { "ingest", "riskd", "execd", "strategyd.momentum",
                                          "strategyd.market_making" };
static char inst[40], conf[128], sock_path[108];
static pid_t pids[NPROC];
static int ports[NPROC];
static char body[1 << 17];

static void write_config(void)
{
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; };\n"
            "strategies = { enabled = [\"momentum\", \"market_making\"]; configs = {\n"
            "  momentum = { lookback_period = 3; threshold = 0.0005; max_position = 4.0; order_size = 1.0; };\n"
            "  market_making = { spread = 0.002; order_size = 1.0; max_inventory = 4.0; refresh_ms = 50; };\n"
            "}; };\n"
            "risk = { maxOrderSize = 10.0; maxPositionSize = 1000.0; maxDailyLoss = 1e9; maxDrawdown = 1e9;\n"
            "         maxOrdersPerSecond = 100000; maxOrdersPerMinute = 1000000; priceCollarPct = 50.0; };\n"
            "execution = { sim = { latencyUs = 0; }; };\n"
            /* HTTP on ports the kernel picks: never a fixed port in tests */
            "ingest = { feed = \"synthetic\"; httpPort = 0;\n"
            "           synthetic = { ratePerSecond = 400.0; volatility = 0.002; }; };\n"
            "riskd = { httpPort = 0; };\nexecd = { httpPort = 0; };\nstrategyd = { httpBasePort = 0; };\n",
            inst);
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-ep", (int)getpid());
    snprintf(conf, sizeof conf, "/tmp/se-ep-%d.conf", (int)getpid());
    snprintf(sock_path, sizeof sock_path, "/tmp/se-ep-notify-%d.sock", (int)getpid());
    write_config();
}

static void teardown(void)
{
    for (int i = 0; i < NPROC; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL), test_wait(pids[i]);
    unlink(conf);
    unlink(sock_path);
    char lead[64];
    snprintf(lead, sizeof lead, "se.%s.", inst);
    test_sweep_segments(lead);
}

/* execd is started with systemd's environment: a notify socket and a watchdog. */
static int notify_socket(void)
{
    unlink(sock_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Waits for the notification want on fd; false at the deadline. */
static bool notified(int fd, const char *want, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    char msg[256];
    while (clock_mono_ns() < deadline) {
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        if (n > 0) {
            msg[n] = '\0';
            if (strstr(msg, want))
                return true;
        } else {
            usleep(2000);
        }
    }
    return false;
}

static void start_pipeline(int notify_fd)
{
    setenv("NOTIFY_SOCKET", sock_path, 1);
    setenv("WATCHDOG_USEC", "400000", 1); /* a ping every 200 ms */
    pids[2] = pf_spawn(conf, "execd", NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    ck_assert(notified(notify_fd, "READY=1", 20));
    pids[1] = pf_spawn(conf, "riskd", NULL);
    pids[3] = pf_spawn(conf, "strategyd", "momentum");
    pids[4] = pf_spawn(conf, "strategyd", "market_making");
    pids[0] = pf_spawn(conf, "ingest", NULL);
    for (int i = 0; i < NPROC; i++) {
        ports[i] = tc_http_port(inst, procs[i], 20);
        ck_assert_msg(ports[i] > 0, "%s published no http_port", procs[i]);
    }
}

/* The value of the first sample whose line starts with `sample` (name and
 * labels, e.g. `x_total{process="riskd"}`) in the process's /metrics. */
static double metric(int proc, const char *sample)
{
    ck_assert_int_eq(tc_http(ports[proc], "GET", "/metrics", NULL, body, sizeof body, NULL, 0), 200);
    size_t n = strlen(sample);
    for (char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, sample, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    ck_abort_msg("%s: no sample %s", procs[proc], sample);
    return 0;
}

static uint64_t ord_head(void)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, "ord"), 0);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    shm_segment_unmap(&seg);
    return head;
}

/* NEW orders on ring ord from record `from` on (cancels pass a kill switch:
 * taking orders off the market only lowers the risk). */
static int new_orders_since(uint64_t from)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, "ord"), 0);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    int n = 0;
    for (uint64_t at = from; at < head; at++) {
        se_order_rec_t o;
        ck_assert_int_eq(shm_peek(&seg, at, &o), SHM_OK);
        n += o.action == SE_ACTION_NEW;
    }
    shm_segment_unmap(&seg);
    return n;
}

/* Polls GET path on riskd until its status is want; returns the last status. */
static int riskd_until(const char *path, int want, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    int status;
    while ((status = tc_http(ports[1], "GET", path, NULL, body, sizeof body, NULL, 0)) != want &&
           clock_mono_ns() < deadline)
        usleep(5000);
    return status;
}

START_TEST(every_process_should_serve_health_and_clean_metrics)
{
    int nfd = notify_socket();
    start_pipeline(nfd);
    ck_assert_msg(riskd_until("/health", 200, 30) == 200, "engine never healthy: %s", body);
    ck_assert_str_eq(body, "{\"status\":\"healthy\",\"service\":\"strategy-engine\"}\n");
    static const char *const expect[NPROC][3] = {
        { "market_data_received_total{process=\"ingest\"}", "http_port{process=\"ingest\"}", NULL },
        { "risk_checks_total{process=\"riskd\"}", "active_strategies{process=\"riskd\"}",
          "orders_rejected_total{process=\"riskd\",rule=\"kill_switch\"}" },
        { "orders_submitted_total{process=\"execd\"}", "order_latency_microseconds_count{process=\"execd\"}",
          "orders_rejected_total{process=\"execd\"}" },
        { "strategy_signals_total{process=\"strategyd.momentum\",strategy=\"momentum\"}",
          "strategy_latency_microseconds_count{process=\"strategyd.momentum\",strategy=\"momentum\"}",
          "market_data_latency_microseconds_count{process=\"strategyd.momentum\",strategy=\"momentum\"}" },
        { "strategy_errors_total{process=\"strategyd.market_making\",strategy=\"market_making\"}",
          "market_data_received_total{process=\"strategyd.market_making\",strategy=\"market_making\"}", NULL },
    };
    char ctype[128], why[8192];
    for (int i = 0; i < NPROC; i++) {
        ck_assert_int_eq(tc_http(ports[i], "GET", "/health", NULL, body, sizeof body, NULL, 0), 200);
        ck_assert_int_eq(tc_http(ports[i], "GET", "/metrics", NULL, body, sizeof body, ctype, sizeof ctype), 200);
        ck_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
        ck_assert_msg(tc_promtool(body, why, sizeof why) == 0, "%s: %s", procs[i], why);
        for (int k = 0; k < 3 && expect[i][k]; k++)
            metric(i, expect[i][k]); /* present */
        ck_assert_int_eq(tc_http(ports[i], "GET", "/no-such", NULL, body, sizeof body, NULL, 0), 404);
    }
    ck_assert_double_eq(metric(2, "http_port{process=\"execd\"}"), ports[2]);
    /* execd runs under a systemd watchdog: it is fed while its loop runs. */
    ck_assert(notified(nfd, "WATCHDOG=1", 20));
    ck_assert_int_eq(pf_stop(&pids[3], 2), 0);
    ck_assert_int_eq(pf_stop(&pids[0], 3), 0);
    ck_assert(notified(nfd, "STOPPING=1", 20));
    memset(pids, 0, sizeof pids);
    close(nfd);
}
END_TEST

START_TEST(kill_switch_should_stop_orders_until_released_over_http)
{
    int nfd = notify_socket();
    start_pipeline(nfd);
    ck_assert_msg(riskd_until("/health", 200, 30) == 200, "engine never healthy: %s", body);
    /* /status, once riskd has counted both strategies (once a second). */
    int64_t deadline = clock_mono_ns() + 20000000000LL;
    do
        ck_assert_int_eq(tc_http(ports[1], "GET", "/status", NULL, body, sizeof body, NULL, 0), 200);
    while (!strstr(body, "\"active_strategies\":2,") && clock_mono_ns() < deadline && usleep(5000) == 0);
    ck_assert_msg(strstr(body, "{\"mode\":\"simulation\",\"active_strategies\":2,\"signal_queue_size\":") &&
                  strstr(body, "\"trading_state\":\"ACTIVE\"") && strstr(body, "\"kill_switch\":false"), "%s", body);
    /* Orders flow before the switch. */
    deadline = clock_mono_ns() + 30000000000LL;
    while (ord_head() < 5 && clock_mono_ns() < deadline)
        usleep(5000);
    ck_assert_uint_ge(ord_head(), 5);
    ck_assert_int_eq(tc_http(ports[1], "POST", "/killswitch", "{\"enabled\":1}", body, sizeof body, NULL, 0), 400);
    ck_assert_int_eq(tc_http(ports[1], "POST", "/killswitch", "{\"enabled\":true}", body, sizeof body, NULL, 0), 200);
    ck_assert_str_eq(body, "{\"trading_state\":\"HALTED\",\"reason\":\"kill_switch\",\"kill_switch\":true}\n");
    /* Applied before the answer: from here on, not one new order. */
    uint64_t halted_at = ord_head();
    const char *kills = "orders_rejected_total{process=\"riskd\",rule=\"kill_switch\"}";
    double before = metric(1, kills);
    deadline = clock_mono_ns() + 30000000000LL;
    while (metric(1, kills) < before + 5 && clock_mono_ns() < deadline)
        usleep(5000);
    ck_assert_double_ge(metric(1, kills), before + 5);
    ck_assert_int_eq(new_orders_since(halted_at), 0);
    ck_assert_int_eq(tc_http(ports[1], "GET", "/health", NULL, body, sizeof body, NULL, 0), 503);
    ck_assert_msg(strstr(body, "\"status\":\"unhealthy\"") && strstr(body, "trading is HALTED (kill_switch)"), "%s",
                  body);
    ck_assert_int_eq(tc_http(ports[1], "POST", "/killswitch", "{\"enabled\":false}", body, sizeof body, NULL, 0),
                     200);
    ck_assert_str_eq(body, "{\"trading_state\":\"ACTIVE\",\"reason\":\"kill_switch_off\",\"kill_switch\":false}\n");
    ck_assert_int_eq(tc_http(ports[1], "GET", "/health", NULL, body, sizeof body, NULL, 0), 200);
    deadline = clock_mono_ns() + 30000000000LL;
    while (new_orders_since(halted_at) == 0 && clock_mono_ns() < deadline)
        usleep(5000);
    ck_assert_int_gt(new_orders_since(halted_at), 0);
    /* A strategy that stops is an unhealthy engine. */
    ck_assert_int_eq(pf_stop(&pids[4], 1), 0);
    pids[4] = 0;
    ck_assert_int_eq(riskd_until("/health", 503, 20), 503);
    ck_assert_msg(strstr(body, "process strategyd.market_making is down"), "%s", body);
    ck_assert_int_eq(pf_stop(&pids[3], 1), 0);
    ck_assert_int_eq(pf_stop(&pids[0], 3), 0);
    memset(pids, 0, sizeof pids);
    close(nfd);
}
END_TEST

START_TEST(log_level_should_change_over_http_and_cycle_on_sigusr1)
{
    int nfd = notify_socket();
    start_pipeline(nfd);
    for (int i = 0; i < NPROC; i++) {
        ck_assert_int_eq(tc_http(ports[i], "GET", "/loglevel", NULL, body, sizeof body, NULL, 0), 200);
        ck_assert_str_eq(body, "{\"level\":\"info\"}\n");
        ck_assert_int_eq(tc_http(ports[i], "POST", "/loglevel", "{\"level\":\"warn\"}", body, sizeof body, NULL, 0),
                         200);
        ck_assert_str_eq(body, "{\"level\":\"warn\",\"previous\":\"info\"}\n");
        ck_assert_int_eq(tc_http(ports[i], "POST", "/loglevel", "{\"level\":\"trace\"}", body, sizeof body, NULL, 0),
                         400);
    }
    /* SIGUSR1: warn -> error -> debug, in every process; riskd's kill switch is untouched. */
    const char *next[2] = { "{\"level\":\"error\"}\n", "{\"level\":\"debug\"}\n" };
    for (int step = 0; step < 2; step++)
        for (int i = 0; i < NPROC; i++) {
            kill(pids[i], SIGUSR1);
            int64_t deadline = clock_mono_ns() + 10000000000LL;
            while (tc_http(ports[i], "GET", "/loglevel", NULL, body, sizeof body, NULL, 0) == 200 &&
                   strcmp(body, next[step]) != 0 && clock_mono_ns() < deadline)
                usleep(2000);
            ck_assert_msg(strcmp(body, next[step]) == 0, "%s after SIGUSR1: %s", procs[i], body);
        }
    ck_assert_int_eq(tc_http(ports[1], "GET", "/killswitch", NULL, body, sizeof body, NULL, 0), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"kill_switch\":false"));
    /* SIGUSR2 is riskd's panic button: it engages, and only HTTP releases. */
    kill(pids[1], SIGUSR2);
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    while (tc_http(ports[1], "GET", "/killswitch", NULL, body, sizeof body, NULL, 0) == 200 &&
           !strstr(body, "\"kill_switch\":true") && clock_mono_ns() < deadline)
        usleep(2000);
    ck_assert_msg(strstr(body, "\"trading_state\":\"HALTED\""), "%s", body);
    ck_assert_int_eq(pf_stop(&pids[3], 2), 0);
    ck_assert_int_eq(pf_stop(&pids[0], 3), 0);
    memset(pids, 0, sizeof pids);
    close(nfd);
}
END_TEST

/* A pipeline whose every order is refused (maxOrderSize below the strategy's
 * order size), with short stall windows; momentum only (market making's
 * cancels always pass). */
static void start_refusing_pipeline(void)
{
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; };\n"
            "strategies = { enabled = [\"momentum\"]; configs = {\n"
            "  momentum = { lookback_period = 3; threshold = 0.0005; max_position = 4.0; order_size = 1.0; };\n"
            "}; };\n"
            "risk = { maxOrderSize = 0.5; maxPositionSize = 1000.0; maxDailyLoss = 1e9; maxDrawdown = 1e9; };\n"
            "execution = { sim = { latencyUs = 0; }; };\n"
            "ingest = { feed = \"synthetic\"; httpPort = 0;\n"
            "           synthetic = { ratePerSecond = 400.0; volatility = 0.002; }; };\n"
            "riskd = { httpPort = 0; stallSeconds = 2; stallMinSignals = 3; lagSeconds = 1;\n"
            "          feedSilenceSeconds = 2; };\n"
            "execd = { httpPort = 0; };\nstrategyd = { httpBasePort = 0; };\n",
            inst);
    ck_assert_int_eq(fclose(f), 0);
    pids[2] = pf_spawn(conf, "execd", NULL);
    pids[1] = pf_spawn(conf, "riskd", NULL);
    pids[3] = pf_spawn(conf, "strategyd", "momentum");
    pids[0] = pf_spawn(conf, "ingest", NULL);
    for (int i = 0; i < 4; i++) {
        ports[i] = tc_http_port(inst, procs[i], 20);
        ck_assert_msg(ports[i] > 0, "%s published no http_port", procs[i]);
    }
}

/* Polls riskd's /health until its body has (want) or lacks (!want) needle. */
static bool health_until(const char *needle, bool want, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    do {
        int status = tc_http(ports[1], "GET", "/health", NULL, body, sizeof body, NULL, 0);
        if ((strstr(body, needle) != NULL) == want && (status == 503) == (strstr(body, "unhealthy") != NULL))
            return true;
        usleep(5000);
    } while (clock_mono_ns() < deadline);
    return false;
}

START_TEST(a_stalled_engine_should_say_so_though_active)
{
    start_refusing_pipeline();
    /* Every signal refused by max_order_size: 503, though the state is ACTIVE. */
    ck_assert_msg(health_until("every signal for", true, 30), "%s", body);
    ck_assert_int_eq(tc_http(ports[1], "GET", "/health", NULL, body, sizeof body, NULL, 0), 503);
    ck_assert_msg(strstr(body, "trading stalled (rejecting): every signal for ") &&
                  strstr(body, "refused by rule max_order_size"), "%s", body);
    ck_assert_int_eq(tc_http(ports[1], "GET", "/status", NULL, body, sizeof body, NULL, 0), 200);
    ck_assert_msg(strstr(body, "\"trading_state\":\"ACTIVE\"") && strstr(body, "\"trading_stalled\":true") &&
                  strstr(body, "\"stalled\":[{\"condition\":\"rejecting\",\"reason\":\"trading stalled (rejecting)"),
                  "%s", body);
    ck_assert_double_eq(metric(1, "trading_stalled{process=\"riskd\",reason=\"rejecting\"}"), 1);
    ck_assert_double_ge(metric(1, "trading_stalls_total{process=\"riskd\",reason=\"rejecting\"}"), 1);
    /* The kill switch: refused by kill_switch now, which HALTED reports itself. */
    ck_assert_int_eq(tc_http(ports[1], "POST", "/killswitch", "{\"enabled\":true}", body, sizeof body, NULL, 0), 200);
    ck_assert_msg(health_until("rejecting", false, 20), "%s", body);
    ck_assert_msg(strstr(body, "trading is HALTED (kill_switch)"), "%s", body);
    ck_assert_double_eq(metric(1, "trading_stalled{process=\"riskd\",reason=\"rejecting\"}"), 0);
    ck_assert_int_eq(tc_http(ports[1], "POST", "/killswitch", "{\"enabled\":false}", body, sizeof body, NULL, 0), 200);
    /* A strategy that stops reading (SIGSTOP: alive, but stuck) leaves ring in unread. */
    ck_assert_int_eq(kill(pids[3], SIGSTOP), 0);
    ck_assert_msg(health_until("(reader_lag): reader strategyd.momentum of ring in has left", true, 20), "%s", body);
    ck_assert_double_eq(metric(1, "trading_stalled{process=\"riskd\",reason=\"reader_lag\"}"), 1);
    ck_assert_int_eq(kill(pids[3], SIGCONT), 0);
    ck_assert_msg(health_until("reader_lag", false, 20), "%s", body);
    /* A feed that stops: no market data on ring in. */
    ck_assert_int_eq(kill(pids[0], SIGSTOP), 0);
    ck_assert_msg(health_until("trading stalled (feed_silent): no market data from feed synthetic on ring in for", true,
                               20), "%s", body);
    ck_assert_double_eq(metric(1, "trading_stalled{process=\"riskd\",reason=\"feed_silent\"}"), 1);
    ck_assert_int_eq(kill(pids[0], SIGCONT), 0);
    ck_assert_msg(health_until("feed_silent", false, 20), "%s", body);
    ck_assert_double_eq(metric(1, "trading_stalled{process=\"riskd\",reason=\"feed_silent\"}"), 0);
    ck_assert_int_eq(pf_stop(&pids[3], 1), 0);
    ck_assert_int_eq(pf_stop(&pids[0], 1), 0);
    memset(pids, 0, sizeof pids);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("endpoints");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, every_process_should_serve_health_and_clean_metrics);
    tcase_add_test(tc, kill_switch_should_stop_orders_until_released_over_http);
    tcase_add_test(tc, log_level_should_change_over_http_and_cycle_on_sigusr1);
    tcase_add_test(tc, a_stalled_engine_should_say_so_though_active);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
