/* test_service.c -- check suite for common/service: the log level from the
 * config (engine.logLevel, <process>.logLevel, SE_LOG_LEVEL) and at runtime
 * (SIGUSR1, POST /loglevel), /health and /metrics of one process, and the
 * systemd protocol (READY, WATCHDOG only while the loop beats, STOPPING)
 * against a notify socket the test owns. */
#include "common/service.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "tests/support/http_client.h"
#include "tests/support/ring_fixture.h"

static char conf[128], sock_path[108], body[16384], ctype[128];
static shm_settings_t set;
static int notify_fd = -1;

static void setup(void)
{
    snprintf(conf, sizeof conf, "/tmp/se-svc-%d.conf", (int)getpid());
    ck_assert_int_eq(shm_settings_load(NULL, &set), 0);
    snprintf(set.instance, sizeof set.instance, "t%d-svc", (int)getpid());
    unsetenv("SE_LOG_LEVEL");
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    log_set_level(LOG_LEVEL_INFO);
    log_set_fd(open("/dev/null", O_WRONLY)); /* the suite's output stays readable */
}

static void teardown(void)
{
    unlink(conf);
    if (notify_fd >= 0) {
        close(notify_fd);
        unlink(sock_path);
        notify_fd = -1;
    }
    test_ring_cleanup();
}

static cfg_t *config(const char *text)
{
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    cfg_t *cfg;
    ck_assert_int_eq(cfg_open(&cfg, conf), 0);
    return cfg;
}

static const svc_config_t riskd_like = { "riskd", "riskd", "riskd.httpPort", 9092, 0 };

START_TEST(log_level_should_come_from_engine_or_process_section)
{
    svc_t *s;
    cfg_t *cfg = config("engine = { logLevel = \"warn\"; };\nriskd = { logLevel = \"debug\"; };\n"
                        "http = { enabled = false; };\n");
    svc_config_t execd_like = { "execd", "execd", "execd.httpPort", 9093, 0 };
    ck_assert_int_eq(svc_open(&s, cfg, &execd_like), 0);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_WARN);
    svc_close(s);
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), 0);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_DEBUG);
    svc_close(s);
    /* The operator's environment wins over the file. */
    setenv("SE_LOG_LEVEL", "error", 1);
    log_init("riskd");
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), 0);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_ERROR);
    svc_close(s);
    cfg_close(cfg);
}
END_TEST

START_TEST(bad_settings_should_name_file_line_and_key)
{
    svc_t *s = NULL;
    cfg_t *cfg = config("engine = {\n  logLevel = \"loud\"; };\n");
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), SE_ECONFIG);
    ck_assert_msg(strstr(se_errmsg(), ":2: engine.logLevel: log level 'loud'"), "%s", se_errmsg());
    ck_assert_ptr_null(s);
    cfg_close(cfg);
    cfg = config("riskd = {\n  httpPort = 70000; };\n");
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), SE_ECONFIG);
    ck_assert_msg(strstr(se_errmsg(), ":2: riskd.httpPort"), "%s", se_errmsg());
    cfg_close(cfg);
    cfg = config("http = {\n  bind = \"my-host\"; };\n");
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), SE_ECONFIG);
    ck_assert_msg(strstr(se_errmsg(), ":2: http.bind") && strstr(se_errmsg(), "my-host"), "%s", se_errmsg());
    cfg_close(cfg);
    /* A base port plus a strategy's index must stay a port. */
    cfg = config("strategyd = { httpBasePort = 65535; };\n");
    svc_config_t strat = { "strategyd.x", "strategyd", "strategyd.httpBasePort", 9100, 2 };
    ck_assert_int_eq(svc_open(&s, cfg, &strat), SE_ECONFIG);
    ck_assert_msg(strstr(se_errmsg(), "strategyd.httpBasePort"), "%s", se_errmsg());
    cfg_close(cfg);
}
END_TEST

/* A started service on an ephemeral port, with its own stats block. */
static svc_t *serve(stats_t *st, cfg_t **cfg)
{
    *cfg = config("riskd = { httpPort = 0; };\n");
    svc_t *s;
    ck_assert_int_eq(svc_open(&s, *cfg, &riskd_like), 0);
    ck_assert_int_eq(stats_open(st, &set, "riskd"), 0);
    stats_add(stats_metric(st, STATS_COUNTER, "risk_checks_total", NULL), 7);
    ck_assert_msg(svc_start(s, st) == 0, "%s", se_errmsg());
    ck_assert_int_gt(svc_port(s), 0);
    return s;
}

static void extra_check(svc_reasons_t *why, void *ctx)
{
    if (*(bool *)ctx)
        svc_reason(why, "feed %s is disconnected", "redis");
}

START_TEST(health_should_follow_readiness_the_loop_and_extra_checks)
{
    stats_t st;
    cfg_t *cfg;
    svc_t *s = serve(&st, &cfg);
    bool feed_down = false;
    svc_set_health(s, extra_check, &feed_down);
    int port = svc_port(s);
    ck_assert_int_eq(tc_http(port, "GET", "/health", NULL, body, sizeof body, NULL, 0), 503);
    ck_assert_msg(strstr(body, "\"reasons\":[\"riskd is starting\"]"), "%s", body);
    svc_ready(s);
    ck_assert_int_eq(tc_http(port, "GET", "/health", NULL, body, sizeof body, ctype, sizeof ctype), 200);
    ck_assert_str_eq(body, "{\"status\":\"healthy\",\"service\":\"strategy-engine\"}\n");
    ck_assert_str_eq(ctype, HTTP_JSON);
    svc_beat(clock_mono_ns() - SVC_STALL_NS - 1000000000); /* the loop last ran 4 s ago */
    feed_down = true;
    ck_assert_int_eq(tc_http(port, "GET", "/health", NULL, body, sizeof body, NULL, 0), 503);
    ck_assert_msg(strstr(body, "\"status\":\"unhealthy\"") && strstr(body, "riskd: main loop has not run for 4.") &&
                  strstr(body, "\"feed redis is disconnected\""), "%s", body);
    svc_beat(clock_mono_ns());
    feed_down = false;
    ck_assert_int_eq(tc_http(port, "GET", "/health", NULL, body, sizeof body, NULL, 0), 200);
    svc_close(s);
    stats_close(&st, true);
    cfg_close(cfg);
}
END_TEST

START_TEST(metrics_should_render_the_stats_block_with_the_port)
{
    stats_t st;
    cfg_t *cfg;
    svc_t *s = serve(&st, &cfg);
    int port = svc_port(s);
    ck_assert_int_eq(tc_http(port, "GET", "/metrics", NULL, body, sizeof body, ctype, sizeof ctype), 200);
    ck_assert_str_eq(ctype, HTTP_PROMETHEUS);
    ck_assert_msg(strstr(body, "# TYPE risk_checks_total counter\nrisk_checks_total{process=\"riskd\"} 7\n"), "%s",
                  body);
    char want[64];
    snprintf(want, sizeof want, "http_port{process=\"riskd\"} %d\n", port);
    ck_assert_msg(strstr(body, want), "%s", body);
    svc_close(s);
    stats_close(&st, true);
    cfg_close(cfg);
}
END_TEST

START_TEST(loglevel_should_be_set_over_http_and_cycled_by_sigusr1)
{
    stats_t st;
    cfg_t *cfg;
    svc_t *s = serve(&st, &cfg);
    int port = svc_port(s);
    ck_assert_int_eq(tc_http(port, "GET", "/loglevel", NULL, body, sizeof body, NULL, 0), 200);
    ck_assert_str_eq(body, "{\"level\":\"info\"}\n");
    ck_assert_int_eq(tc_http(port, "POST", "/loglevel", "{\"level\":\"ERROR\"}", body, sizeof body, NULL, 0), 200);
    ck_assert_str_eq(body, "{\"level\":\"error\",\"previous\":\"info\"}\n");
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_ERROR);
    ck_assert_int_eq(tc_http(port, "POST", "/loglevel", "{\"level\":\"loud\"}", body, sizeof body, NULL, 0), 400);
    ck_assert_msg(strstr(body, "unknown level \\\"loud\\\""), "%s", body);
    ck_assert_int_eq(tc_http(port, "POST", "/loglevel", "{\"lvl\":\"info\"}", body, sizeof body, NULL, 0), 400);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_ERROR);
    /* error -> debug -> info: SIGUSR1 goes round. */
    log_level_t want[] = { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO };
    for (int i = 0; i < 2; i++) {
        kill(getpid(), SIGUSR1);
        int64_t deadline = clock_mono_ns() + 5000000000LL;
        while (log_get_level() != want[i] && clock_mono_ns() < deadline)
            usleep(1000);
        ck_assert_int_eq(log_get_level(), want[i]);
    }
    svc_close(s);
    stats_close(&st, true);
    cfg_close(cfg);
}
END_TEST

/* ---- systemd's notify protocol ----------------------------------------------- */

/* Binds a datagram socket and points NOTIFY_SOCKET at it, as systemd does. */
static void notify_socket(void)
{
    snprintf(sock_path, sizeof sock_path, "/tmp/se-notify-%d.sock", (int)getpid());
    unlink(sock_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    ck_assert_int_eq(bind(notify_fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", sock_path, 1);
}

/* The next message on the notify socket, or "" when there is none: sd_notify
 * sends synchronously, so what was sent is already there. */
static const char *next_notice(void)
{
    static char msg[256];
    ssize_t n = recv(notify_fd, msg, sizeof msg - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    return msg;
}

START_TEST(watchdog_should_be_fed_only_while_the_loop_beats)
{
    notify_socket();
    setenv("WATCHDOG_USEC", "2000000", 1); /* 2 s: a ping is due every second */
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    cfg_t *cfg = config("http = { enabled = false; };\n");
    svc_t *s;
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), 0);
    ck_assert(!svc__watchdog_step(s, clock_mono_ns() + 60000000000LL)); /* not ready: nothing */
    ck_assert_str_eq(next_notice(), "");
    svc_ready(s);
    ck_assert_str_eq(next_notice(), "READY=1");
    int64_t t = clock_mono_ns();
    ck_assert(svc__watchdog_step(s, t)); /* ready, and svc_ready counts as a beat */
    ck_assert_str_eq(next_notice(), "WATCHDOG=1");
    svc_beat(t + 1);
    ck_assert(!svc__watchdog_step(s, t + 500000000)); /* not due before half the period */
    ck_assert(svc__watchdog_step(s, t + 1000000000));
    ck_assert_str_eq(next_notice(), "WATCHDOG=1");
    /* The loop stops beating: no ping, however often we look. */
    for (int i = 2; i < 10; i++)
        ck_assert(!svc__watchdog_step(s, t + (int64_t)i * 1000000000));
    ck_assert_str_eq(next_notice(), "");
    /* It beats again: fed at the next look. */
    svc_beat(t + 10000000000LL);
    ck_assert(svc__watchdog_step(s, t + 10100000000LL));
    ck_assert_str_eq(next_notice(), "WATCHDOG=1");
    svc_close(s);
    ck_assert_str_eq(next_notice(), "STOPPING=1");
    cfg_close(cfg);
}
END_TEST

START_TEST(watchdog_should_stay_silent_when_systemd_did_not_ask)
{
    notify_socket(); /* Type=notify without WatchdogSec */
    cfg_t *cfg = config("http = { enabled = false; };\n");
    svc_t *s;
    ck_assert_int_eq(svc_open(&s, cfg, &riskd_like), 0);
    svc_ready(s);
    ck_assert_str_eq(next_notice(), "READY=1");
    svc_beat(clock_mono_ns());
    ck_assert(!svc__watchdog_step(s, clock_mono_ns() + 60000000000LL));
    ck_assert_str_eq(next_notice(), "");
    svc_close(s);
    ck_assert_str_eq(next_notice(), "STOPPING=1");
    cfg_close(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("service");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, log_level_should_come_from_engine_or_process_section);
    tcase_add_test(tc, bad_settings_should_name_file_line_and_key);
    tcase_add_test(tc, health_should_follow_readiness_the_loop_and_extra_checks);
    tcase_add_test(tc, metrics_should_render_the_stats_block_with_the_port);
    tcase_add_test(tc, loglevel_should_be_set_over_http_and_cycled_by_sigusr1);
    tcase_add_test(tc, watchdog_should_be_fed_only_while_the_loop_beats);
    tcase_add_test(tc, watchdog_should_stay_silent_when_systemd_did_not_ask);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
