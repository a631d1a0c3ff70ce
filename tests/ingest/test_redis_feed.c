/* test_redis_feed.c -- check suite for ingest's Redis market-data feed
 * (ingest/redis_feed.c on the loop of ingest/live.c), through the real
 * programs: each test starts its own redis-server on a free loopback port and
 * bin/ingest (from $SE_BIN_DIR) on a unique instance, publishes with hiredis
 * and reads ring `in`. Faults: Redis restarted mid-stream, Redis coming up
 * after ingest, malformed messages. */
#include <check.h>
#include <hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "ingest/redis_feed.h"
#include "ingest/validate.h"
#include "tests/ingest/live_fixture.h"
#include "tests/support/http_client.h"

static ingest_fx_t fx;

static void setup(void)
{
    ifx_init(&fx, "rds");
}

static void teardown(void)
{
    ifx_fini(&fx);
}

/* Writes a config for feed "redis" on port (plus extra lines) and returns its path. */
static const char *write_config(int port, const char *extra)
{
    static char path[160];
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "engine = { instance = \"%s\"; };\n"
                     "ingest = { feed = \"redis\"; httpPort = 0; };\n"
                     "redis = { port = %d; reconnectMinMs = 10; reconnectMaxMs = 100; %s };\n",
                     fx.set.instance, port, extra ? extra : "");
    ifx_path(&fx, "ingest.conf", path, sizeof path);
    ifx_write(path, text, (size_t)n);
    return path;
}

static redisContext *client(int port, const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    ck_assert_msg(c && !c->err, "cannot connect to redis on %d: %s", port, c ? c->errstr : "no memory");
    if (password) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        ck_assert_msg(r && r->type != REDIS_REPLY_ERROR, "AUTH failed");
        freeReplyObject(r);
    }
    return c;
}

/* PUBLISH msg (len bytes) on channel; returns how many subscribers got it. */
static long long publish(redisContext *c, const char *channel, const char *msg, size_t len)
{
    redisReply *r = redisCommand(c, "PUBLISH %s %b", channel, msg, len);
    ck_assert_msg(r && r->type == REDIS_REPLY_INTEGER, "PUBLISH failed: %s", r ? r->str : c->errstr);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* The i-th good quote of a run: every field, values that change with i. */
static int good_quote(char *out, size_t size, int i)
{
    static const char *const syms[] = { "BTC-USD", "ETH-USD", "SOL-USD" };
    double bid = 100.0 + i * 0.01;
    return snprintf(out, size,
                    "{\"symbol\":\"%s\",\"bid\":%.2f,\"ask\":%.2f,\"bid_size\":%d.5,\"ask_size\":2,"
                    "\"last\":%.2f,\"volume\":%d,\"ts\":%lld}",
                    syms[i % 3], bid, bid + 0.05, i % 7, bid + 0.02, i, 1700000000000000000LL + i);
}

static void wait_connected(pid_t ingest, long long disconnects)
{
    lfx_wait_metric(&fx.set, ingest, "feed_connected{feed=\"redis\"}", 1);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_disconnects_total{feed=\"redis\"}"), disconnects);
}

/* Publishes good quotes first..last-1 and checks they arrive on `in`, in
 * order and exact. */
static void publish_and_read(redisContext *c, shm_reader_t *r, int first, int last)
{
    static se_in_rec_t got[4096];
    ck_assert_int_le(last - first, 4096);
    for (int i = first; i < last; i++) {
        char msg[512];
        int n = good_quote(msg, sizeof msg, i);
        ck_assert_int_eq(publish(c, "md.X", msg, (size_t)n), 1);
    }
    int n = ifx_read(r, got, last - first, 10 * IFX_SECOND);
    ck_assert_msg(n == last - first, "%d of quotes %d..%d arrived", n, first, last - 1);
    for (int i = first; i < last; i++) {
        char msg[512];
        good_quote(msg, sizeof msg, i);
        se_in_rec_t want = lfx_expected(val_market_data, msg);
        lfx_assert_same_payload(&got[i - first], &want, "quote", i);
    }
}

/* Starts redis-server (with extra arguments), ring `in` with the test's
 * reader, and ingest subscribed to it (with password); returns a client. */
static redisContext *start(lfx_run_t *run, const char *const *extra, const char *password)
{
    memset(run, 0, sizeof *run);
    run->server = lfx_start_redis(&run->port, extra);
    lfx_open_in(run, &fx.set);
    char line[96] = "";
    if (password)
        snprintf(line, sizeof line, "password = \"%s\";", password);
    run->ingest = lfx_start_ingest(write_config(run->port, line));
    wait_connected(run->ingest, 0);
    return client(run->port, password);
}

/* ---- tests ------------------------------------------------------------------ */

/* Malformed messages, one per reason, and what each must be counted as. */
static const struct {
    const char *msg;
    val_result_t why;
} bad[] = {
    { "{\"symbol\":\"BTC-USD\",\"bid\":1", VAL_BAD_JSON },
    { "[1,2]", VAL_NOT_OBJECT },
    { "{\"bid\":1,\"ask\":2}", VAL_MISSING_FIELD },
    { "{\"symbol\":\"BTC-USD\",\"last\":\"1\"}", VAL_WRONG_TYPE },
    { "{\"symbol\":\"BTC-USD\",\"last\":NaN}", VAL_NOT_FINITE },
    { "{\"symbol\":\"BTC-USD\",\"last\":-1}", VAL_NEGATIVE },
    { "{\"symbol\":\"BTC-USD\",\"bid\":2,\"ask\":1}", VAL_CROSSED },
    { "{\"symbol\":\"BTC USD\",\"last\":1}", VAL_BAD_SYMBOL },
    { "{\"symbol\":\"BTC-USD\",\"last\":1,\"ts\":1.5}", VAL_BAD_TIMESTAMP },
    { "{\"symbol\":\"BTC-USD\",\"last\":1,\"last\":2}", VAL_DUPLICATE_FIELD },
    { "", VAL_BAD_JSON },
};

START_TEST(redis_feed_should_publish_valid_messages_exactly_and_count_bad_ones_by_reason)
{
    lfx_run_t run;
    redisContext *c = start(&run, NULL, NULL);
    shm_reader_t *r = &run.r;
    pid_t ingest = run.ingest;

    /* Good and bad interleaved; then one too long for the validator. */
    enum { N = 2000 };
    long long want_drops[VAL__COUNT] = { 0 };
    int nbad = (int)(sizeof bad / sizeof bad[0]);
    for (int i = 0; i < N; i++) {
        char msg[512];
        int n = good_quote(msg, sizeof msg, i);
        publish(c, "md.BTC-USD", msg, (size_t)n);
        if (i % 100 == 0) {
            int b = (i / 100) % nbad;
            publish(c, "md.BAD", bad[b].msg, strlen(bad[b].msg));
            want_drops[bad[b].why]++;
        }
    }
    static char big[VAL_MAX_MESSAGE + 64];
    int n = snprintf(big, sizeof big, "{\"symbol\":\"BTC-USD\",\"last\":1,\"pad\":\"%0*d\"}", VAL_MAX_MESSAGE, 0);
    publish(c, "md.BIG", big, (size_t)n);
    want_drops[VAL_TOO_LONG]++;

    static se_in_rec_t got[N];
    ck_assert_int_eq(ifx_read(r, got, N, 10 * IFX_SECOND), N);
    for (int i = 0; i < N; i++) {
        char msg[512];
        good_quote(msg, sizeof msg, i);
        se_in_rec_t want = lfx_expected(val_market_data, msg);
        lfx_assert_same_payload(&got[i], &want, "quote", i);
        IFX_CHECK(i == 0 || got[i].source_seq == got[i - 1].source_seq + 1, "quote %d: source_seq %u after %u", i,
                  got[i].source_seq, got[i - 1].source_seq);
    }
    /* The big message went last: once it is counted, everything was read. */
    lfx_wait_metric(&fx.set, ingest, "market_data_dropped_total{reason=\"too_long\"}", 1);
    for (int w = 1; w < VAL__COUNT; w++) {
        char series[96];
        snprintf(series, sizeof series, "market_data_dropped_total{reason=\"%s\"}", val_result_name((val_result_t)w));
        ck_assert_msg(lfx_metric(&fx.set, series) == want_drops[w], "%s is %lld, want %lld", series,
                      lfx_metric(&fx.set, series), want_drops[w]);
    }
    ck_assert_int_eq(lfx_metric(&fx.set, "market_data_received_total"), N);
    se_in_rec_t extra;
    ck_assert_int_eq(ifx_read(r, &extra, 1, 0), 0);
    ck_assert_int_gt(lfx_metric(&fx.set, "feed_latency_microseconds_count{feed=\"redis\"}"), 0);

    redisFree(c);
    lfx_finish(&run);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_connected{feed=\"redis\"}"), 0);
}
END_TEST

START_TEST(redis_feed_should_reconnect_and_resubscribe_after_a_redis_restart)
{
    lfx_run_t run;
    redisContext *c = start(&run, NULL, NULL);
    publish_and_read(c, &run.r, 0, 500);
    redisFree(c);

    /* Killed, not shut down: the connection just breaks. Twice, to see the
     * backoff reset and the count go on. */
    int http = tc_http_port(fx.set.instance, "ingest", 10);
    ck_assert_int_gt(http, 0);
    char body[2048];
    ck_assert_int_eq(tc_http(http, "GET", "/health", NULL, body, sizeof body, NULL, 0), 200);
    for (int restart = 1; restart <= 2; restart++) {
        lfx_stop(run.server, SIGKILL);
        lfx_wait_metric(&fx.set, run.ingest, "feed_connected{feed=\"redis\"}", 0);
        ck_assert_int_eq(lfx_metric(&fx.set, "feed_disconnects_total{feed=\"redis\"}"), restart);
        /* /health says why while Redis is away. */
        ck_assert_int_eq(tc_http(http, "GET", "/health", NULL, body, sizeof body, NULL, 0), 503);
        ck_assert_msg(strstr(body, "redis feed not connected") != NULL, "%s", body);
        run.server = lfx_start_redis(&run.port, NULL); /* the same port */
        wait_connected(run.ingest, restart);
        ck_assert_int_eq(tc_http(http, "GET", "/health", NULL, body, sizeof body, NULL, 0), 200);
        c = client(run.port, NULL);
        publish_and_read(c, &run.r, restart * 500, restart * 500 + 500);
        redisFree(c);
    }
    ck_assert_int_eq(lfx_metric(&fx.set, "market_data_received_total"), 1500);
    /* The feed's metrics pass promtool, as /metrics serves them. */
    static char metrics[65536];
    ck_assert_int_eq(tc_http(http, "GET", "/metrics", NULL, metrics, sizeof metrics, NULL, 0), 200);
    ck_assert_msg(strstr(metrics, "feed_disconnects_total{process=\"ingest\",feed=\"redis\"} 2") != NULL, "%s",
                  metrics);
    char why[1024];
    ck_assert_msg(tc_promtool(metrics, why, sizeof why) == 0, "%s", why);
    lfx_finish(&run);
}
END_TEST

/* Redis killed while ingest is still reading a burst: what reached ingest
 * before the kill is an in-order prefix of the burst (pub/sub loses the
 * rest, which is its contract), and after the restart every message arrives
 * again, exact and in order. */
START_TEST(redis_feed_should_keep_going_when_redis_dies_mid_stream)
{
    lfx_run_t run;
    redisContext *c = start(&run, NULL, NULL);
    enum { BURST = 3000 };
    for (int i = 0; i < BURST; i++) {
        char msg[512];
        int n = good_quote(msg, sizeof msg, i);
        publish(c, "md.X", msg, (size_t)n);
    }
    redisFree(c);
    lfx_stop(run.server, SIGKILL); /* at once: ingest is likely still reading */
    lfx_wait_metric(&fx.set, run.ingest, "feed_connected{feed=\"redis\"}", 0);
    static se_in_rec_t got[BURST];
    int n = ifx_read(&run.r, got, BURST, 0); /* what arrived; nothing more can */
    for (int i = 0; i < n; i++) {
        char msg[512];
        good_quote(msg, sizeof msg, i);
        se_in_rec_t want = lfx_expected(val_market_data, msg);
        lfx_assert_same_payload(&got[i], &want, "quote before the kill", i);
    }
    run.server = lfx_start_redis(&run.port, NULL);
    wait_connected(run.ingest, 1);
    c = client(run.port, NULL);
    publish_and_read(c, &run.r, BURST, BURST + 1000);
    redisFree(c);
    ck_assert_int_eq(lfx_metric(&fx.set, "market_data_received_total"), n + 1000);
    lfx_finish(&run);
}
END_TEST

START_TEST(redis_feed_should_connect_when_redis_comes_up_after_ingest)
{
    lfx_run_t run = { .port = lfx_free_port() };
    lfx_open_in(&run, &fx.set);
    run.ingest = lfx_start_ingest(write_config(run.port, NULL));
    /* Up and trying: its stats block says not connected, and nothing was a disconnect. */
    lfx_wait_metric(&fx.set, run.ingest, "feed_connected{feed=\"redis\"}", 0);
    run.server = lfx_start_redis(&run.port, NULL);
    wait_connected(run.ingest, 0);
    redisContext *c = client(run.port, NULL);
    publish_and_read(c, &run.r, 0, 100);
    redisFree(c);
    lfx_finish(&run);
}
END_TEST

START_TEST(redis_feed_should_authenticate_with_the_configured_password)
{
    lfx_run_t run;
    const char *const extra[] = { "--requirepass", "s3cret", NULL };
    redisContext *c = start(&run, extra, "s3cret");
    publish_and_read(c, &run.r, 0, 100);
    redisFree(c);
    lfx_finish(&run);
}
END_TEST

/* The number in "total_connections_received:N" of INFO stats. */
static long long connections_received(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO stats");
    ck_assert_msg(r && r->type == REDIS_REPLY_STRING, "INFO failed");
    const char *p = strstr(r->str, "total_connections_received:");
    ck_assert_ptr_nonnull(p);
    long long n = strtoll(p + strlen("total_connections_received:"), NULL, 10);
    freeReplyObject(r);
    return n;
}

/* A wrong password: never connected, no disconnect counted, attempts go on
 * (with the backoff), and ingest stops cleanly. */
START_TEST(redis_feed_should_keep_trying_with_a_refused_password)
{
    lfx_run_t run = { 0 };
    const char *const extra[] = { "--requirepass", "s3cret", NULL };
    run.server = lfx_start_redis(&run.port, extra);
    lfx_open_in(&run, &fx.set);
    redisContext *c = client(run.port, "s3cret");
    long long before = connections_received(c);
    run.ingest = lfx_start_ingest(write_config(run.port, "password = \"wrong\";"));
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    while (connections_received(c) < before + 3) { /* three attempts at least */
        ck_assert_msg(clock_mono_ns() < deadline, "ingest did not try again within 10 s");
        usleep(5000);
    }
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_connected{feed=\"redis\"}"), 0);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_disconnects_total{feed=\"redis\"}"), 0);
    redisFree(c);
    lfx_finish(&run);
}
END_TEST

/* A "server" that accepts connections and never answers: the attempt must be
 * abandoned after redis.connectTimeoutMs and tried again, and ingest must
 * still stop at once when told (an AUTH waiting for its reply included). */
START_TEST(redis_feed_should_give_up_on_a_silent_server_and_still_stop_promptly)
{
    lfx_run_t run = { 0 };
    int fd = lfx_bind_any(&run.port);
    ck_assert_int_eq(listen(fd, 16), 0);
    lfx_open_in(&run, &fx.set);
    run.ingest = lfx_start_ingest(write_config(run.port, "password = \"pw\"; connectTimeoutMs = 100;"));
    int conns[3];
    for (int i = 0; i < 3; i++) { /* the first attempt and two after timeouts */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ck_assert_msg(poll(&p, 1, 10000) == 1, "attempt %d never came", i + 1);
        conns[i] = accept(fd, NULL, NULL);
        ck_assert_int_ge(conns[i], 0);
    }
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_connected{feed=\"redis\"}"), 0);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_disconnects_total{feed=\"redis\"}"), 0);
    ck_assert_int_eq(lfx_stop(run.ingest, SIGTERM), 0);
    shm_reader_close(&run.r);
    for (int i = 0; i < 3; i++)
        close(conns[i]);
    close(fd);
}
END_TEST

/* A bad value of each key, and the key the error must name. */
static const struct {
    const char *text, *key;
} bad_configs[] = {
    { "redis = { port = 0; };", "redis.port" },
    { "redis = { port = \"6379\"; };", "redis.port" },
    { "redis = { host = \"\"; };", "redis.host" },
    { "redis = { pattern = \"\"; };", "redis.pattern" },
    { "redis = { reconnectMinMs = 500; reconnectMaxMs = 100; };", "redis.reconnectMaxMs" },
    { "redis = { connectTimeoutMs = 1; };", "redis.connectTimeoutMs" },
};

static int read_redis(const cfg_t *cfg)
{
    redis_config_t c;
    return redis_config(cfg, &c);
}

START_TEST(redis_config_should_name_file_line_and_key)
{
    lfx_assert_config_error(&fx, bad_configs[_i].text, bad_configs[_i].key, read_redis);
}
END_TEST

START_TEST(redis_config_should_have_the_documented_defaults)
{
    redis_config_t c;
    ck_assert_int_eq(redis_config(NULL, &c), 0);
    ck_assert_str_eq(c.host, "127.0.0.1");
    ck_assert_int_eq(c.port, 6379);
    ck_assert_str_eq(c.password, "");
    ck_assert_str_eq(c.pattern, "md.*");
    ck_assert_uint_eq(c.reconnect_min_ms, 100);
    ck_assert_uint_eq(c.reconnect_max_ms, 5000);
    ck_assert_uint_eq(c.connect_timeout_ms, 3000);
}
END_TEST

static Suite *redis_feed_suite(void)
{
    Suite *s = suite_create("ingest_redis_feed");
    TCase *cfg = tcase_create("config");
    tcase_add_checked_fixture(cfg, setup, teardown);
    tcase_add_loop_test(cfg, redis_config_should_name_file_line_and_key, 0, sizeof bad_configs / sizeof bad_configs[0]);
    tcase_add_test(cfg, redis_config_should_have_the_documented_defaults);
    suite_add_tcase(s, cfg);

    TCase *live = tcase_create("live");
    tcase_add_checked_fixture(live, setup, teardown);
    tcase_set_timeout(live, 60);
    tcase_add_test(live, redis_feed_should_publish_valid_messages_exactly_and_count_bad_ones_by_reason);
    tcase_add_test(live, redis_feed_should_reconnect_and_resubscribe_after_a_redis_restart);
    tcase_add_test(live, redis_feed_should_keep_going_when_redis_dies_mid_stream);
    tcase_add_test(live, redis_feed_should_connect_when_redis_comes_up_after_ingest);
    tcase_add_test(live, redis_feed_should_authenticate_with_the_configured_password);
    tcase_add_test(live, redis_feed_should_give_up_on_a_silent_server_and_still_stop_promptly);
    tcase_add_test(live, redis_feed_should_keep_trying_with_a_refused_password);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    ifx_registry_create();
    SRunner *sr = srunner_create(redis_feed_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ifx_registry_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
