/* test_nats_feed.c -- check suite for ingest's NATS fills and positions
 * (ingest/nats_feed.c), through the real programs: each test starts its own
 * nats-server on a free loopback port (with JetStream when it needs it) and
 * bin/ingest (from $SE_BIN_DIR) on a unique instance, publishes with nats.c
 * and reads ring `in`. Faults: NATS restarted, malformed messages, a fill
 * seen twice, ingest killed and restarted with JetStream. */
#include <check.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "ingest/nats_feed.h"
#include "ingest/validate.h"
#include "tests/ingest/live_fixture.h"

static ingest_fx_t fx;

static void setup(void)
{
    ifx_init(&fx, "nat");
}

static void teardown(void)
{
    ifx_fini(&fx);
}

/* Writes a config (feed, then nats settings beside url) and returns its path. */
static const char *write_config(const char *ingest, int port, const char *nats_extra)
{
    static char path[160];
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "engine = { instance = \"%s\"; };\n"
                     "ingest = { httpPort = 0; %s };\n"
                     "nats = { url = \"nats://127.0.0.1:%d\"; reconnectMinMs = 10; reconnectMaxMs = 100; %s };\n",
                     fx.set.instance, ingest, port, nats_extra ? nats_extra : "");
    ifx_path(&fx, "ingest.conf", path, sizeof path);
    ifx_write(path, text, (size_t)n);
    return path;
}

static natsConnection *client(int port)
{
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    ck_assert_msg(s == NATS_OK, "cannot connect to %s: %s", url, natsStatus_GetText(s));
    return nc;
}

static void publish(natsConnection *nc, const char *subject, const char *msg)
{
    natsStatus s = natsConnection_Publish(nc, subject, msg, (int)strlen(msg));
    ck_assert_msg(s == NATS_OK, "publish on %s: %s", subject, natsStatus_GetText(s));
}

static void flush(natsConnection *nc)
{
    ck_assert_int_eq(natsConnection_FlushTimeout(nc, 10000), NATS_OK);
}

static int fill_msg(char *out, size_t size, int i)
{
    return snprintf(out, size,
                    "{\"fill_id\":\"f-%d\",\"client_order_id\":\"momentum-1-%d\",\"order_id\":\"v-%d\","
                    "\"symbol\":\"BTC-USD\",\"side\":\"%s\",\"qty\":%d.25,\"price\":%.2f,\"ts\":%lld}",
                    i, i / 2, i, i % 2 ? "sell" : "buy", 1 + i % 5, 100.0 + i * 0.01, 1700000000000000000LL + i);
}

static int position_msg(char *out, size_t size, int i)
{
    return snprintf(out, size, "{\"symbol\":\"ETH-USD\",\"qty\":%d.5,\"avg_price\":%.2f,\"ts\":%lld}", i - 50,
                    2000.0 + i, 1700000000000000000LL + i);
}

/* Reads records until `fills` fills and `positions` positions arrived
 * (anything else is skipped), each kind in order; fails after 10 s. */
static void read_kinds(shm_reader_t *r, se_in_rec_t *fills, int nfills, se_in_rec_t *positions, int npositions)
{
    int f = 0, p = 0;
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    while (f < nfills || p < npositions) {
        se_in_rec_t rec;
        int64_t left = deadline - clock_mono_ns();
        ck_assert_msg(left > 0, "after 10 s: %d of %d fills, %d of %d positions", f, nfills, p, npositions);
        if (ifx_read(r, &rec, 1, left) != 1)
            continue;
        if (rec.kind == SE_IN_FILL) {
            ck_assert_msg(f < nfills, "more than %d fills", nfills);
            fills[f++] = rec;
        } else if (rec.kind == SE_IN_POSITION) {
            ck_assert_msg(p < npositions, "more than %d positions", npositions);
            positions[p++] = rec;
        }
    }
}

static void assert_fills(const se_in_rec_t *got, int first, int n)
{
    for (int i = 0; i < n; i++) {
        char msg[512];
        fill_msg(msg, sizeof msg, first + i);
        se_in_rec_t want = lfx_expected(val_fill, msg);
        lfx_assert_same_payload(&got[i], &want, "fill", first + i);
    }
}

/* Publishes fills first..first+n-1 and checks that exactly they arrive, in order. */
static void send_fills_and_check(natsConnection *nc, shm_reader_t *r, int first, int n)
{
    static se_in_rec_t fills[1000];
    ck_assert_int_le(n, 1000);
    char msg[512];
    for (int i = 0; i < n; i++) {
        fill_msg(msg, sizeof msg, first + i);
        publish(nc, "fills.BTC-USD", msg);
    }
    flush(nc);
    read_kinds(r, fills, n, NULL, 0);
    assert_fills(fills, first, n);
}

static void wait_connected(pid_t ingest, long long disconnects)
{
    lfx_wait_metric(&fx.set, ingest, "feed_connected{feed=\"nats\"}", 1);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_disconnects_total{feed=\"nats\"}"), disconnects);
}

/* Core NATS gives no sign that ingest's subscriptions reached the server:
 * a probe position is published until one arrives, then the probes are
 * skipped. Returns the records read on the way (all probes). */
static void wait_subscribed(natsConnection *nc, shm_reader_t *r)
{
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    for (;;) {
        publish(nc, "positions.PROBE", "{\"symbol\":\"PROBE\",\"qty\":0}");
        flush(nc);
        se_in_rec_t rec;
        if (ifx_read(r, &rec, 1, IFX_SECOND / 20) == 1) {
            ck_assert_str_eq(rec.symbol, "PROBE");
            break;
        }
        ck_assert_msg(clock_mono_ns() < deadline, "ingest's subscriptions never took effect");
    }
    /* Probes still in flight are drained: once a marker arrives, all did. */
    publish(nc, "positions.PROBE", "{\"symbol\":\"PROBE-END\",\"qty\":0}");
    flush(nc);
    for (;;) {
        se_in_rec_t rec;
        ck_assert_int_eq(ifx_read(r, &rec, 1, 10 * IFX_SECOND), 1);
        if (strcmp(rec.symbol, "PROBE-END") == 0)
            break;
    }
}

/* Starts nats-server, ring `in` with the test's reader, and ingest (feed
 * "none", nats extra settings) connected and subscribed; returns a client. */
static natsConnection *start(lfx_run_t *run, const char *nats_extra)
{
    memset(run, 0, sizeof *run);
    run->server = lfx_start_nats(&run->port, NULL);
    lfx_open_in(run, &fx.set);
    run->ingest = lfx_start_ingest(write_config("feed = \"none\";", run->port, nats_extra));
    wait_connected(run->ingest, 0);
    natsConnection *nc = client(run->port);
    wait_subscribed(nc, &run->r);
    return nc;
}

/* ---- tests ------------------------------------------------------------------ */

static const struct {
    const char *subject, *msg;
    val_result_t why;
} bad[] = {
    { "fills.X", "{\"fill_id\":\"f-x\"", VAL_BAD_JSON },
    { "fills.X", "[]", VAL_NOT_OBJECT },
    { "fills.X", "{\"fill_id\":\"f-x\",\"symbol\":\"BTC-USD\",\"side\":\"buy\",\"qty\":1,\"price\":1}",
      VAL_MISSING_FIELD },
    { "fills.X", "{\"fill_id\":\"f-x\",\"client_order_id\":\"c\",\"symbol\":\"BTC-USD\",\"side\":\"hold\",\"qty\":1,"
                 "\"price\":1}",
      VAL_BAD_SIDE },
    { "fills.X", "{\"fill_id\":\"f x\",\"client_order_id\":\"c\",\"symbol\":\"BTC-USD\",\"side\":\"buy\",\"qty\":1,"
                 "\"price\":1}",
      VAL_BAD_ID },
    { "fills.X", "{\"fill_id\":\"f-x\",\"client_order_id\":\"c\",\"symbol\":\"BTC-USD\",\"side\":\"buy\",\"qty\":0,"
                 "\"price\":1}",
      VAL_NEGATIVE },
    { "positions.X", "{\"symbol\":\"ETH-USD\"}", VAL_MISSING_FIELD },
    { "positions.X", "{\"symbol\":\"ETH-USD\",\"qty\":Infinity}", VAL_NOT_FINITE },
    { "positions.X", "{\"symbol\":\"ETH-USD\",\"qty\":1,\"ts\":-5}", VAL_BAD_TIMESTAMP },
    { "positions.X", "", VAL_BAD_JSON },
};

START_TEST(nats_feed_should_publish_fills_and_positions_exactly_and_count_bad_ones_by_reason)
{
    lfx_run_t run;
    natsConnection *nc = start(&run, NULL);
    pid_t ingest = run.ingest;
    long long base = lfx_metric(&fx.set, "market_data_received_total");

    enum { NF = 1000, NP = 100 };
    long long want_drops[VAL__COUNT] = { 0 };
    int nbad = (int)(sizeof bad / sizeof bad[0]);
    for (int i = 0; i < NF; i++) {
        char msg[512];
        fill_msg(msg, sizeof msg, i);
        publish(nc, "fills.BTC-USD", msg);
        if (i % 10 == 0) {
            position_msg(msg, sizeof msg, i / 10);
            publish(nc, "positions.ETH-USD", msg);
        }
        if (i % 50 == 0) {
            int b = (i / 50) % nbad;
            publish(nc, bad[b].subject, bad[b].msg);
            want_drops[bad[b].why]++;
        }
    }
    static char big[VAL_MAX_MESSAGE + 64];
    snprintf(big, sizeof big, "{\"symbol\":\"ETH-USD\",\"qty\":1,\"pad\":\"%0*d\"}", VAL_MAX_MESSAGE, 0);
    publish(nc, "positions.BIG", big);
    want_drops[VAL_TOO_LONG]++;
    flush(nc);

    static se_in_rec_t fills[NF], positions[NP];
    read_kinds(&run.r, fills, NF, positions, NP);
    assert_fills(fills, 0, NF);
    for (int i = 0; i < NP; i++) {
        char msg[256];
        position_msg(msg, sizeof msg, i);
        se_in_rec_t want = lfx_expected(val_position, msg);
        lfx_assert_same_payload(&positions[i], &want, "position", i);
    }
    lfx_wait_metric(&fx.set, ingest, "market_data_dropped_total{reason=\"too_long\"}", 1);
    for (int w = 1; w < VAL__COUNT; w++) {
        char series[96];
        snprintf(series, sizeof series, "market_data_dropped_total{reason=\"%s\"}", val_result_name((val_result_t)w));
        /* Positions and fills travel on two subscriptions: wait for each count. */
        lfx_wait_metric(&fx.set, ingest, series, want_drops[w]);
    }
    ck_assert_int_eq(lfx_metric(&fx.set, "market_data_received_total"), base + NF + NP);
    ck_assert_int_eq(lfx_metric(&fx.set, "fills_duplicate_total"), 0);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_queue_dropped_total{feed=\"nats\"}"), 0);
    se_in_rec_t extra;
    ck_assert_int_eq(ifx_read(&run.r, &extra, 1, 0), 0);

    natsConnection_Destroy(nc);
    lfx_finish(&run);
    ck_assert_int_eq(lfx_metric(&fx.set, "feed_connected{feed=\"nats\"}"), 0);
}
END_TEST

START_TEST(nats_feed_should_apply_a_fill_seen_twice_once)
{
    lfx_run_t run;
    natsConnection *nc = start(&run, "dedupeWindow = 100;");

    /* Fills 0..199, each twice at once and every tenth again 50 fills later
     * (inside the window of 100): 200 applied, 220 duplicates. Then fill 0
     * once more: 150 newer ids pushed it out of the window, so it is new again. */
    char msg[512];
    for (int i = 0; i < 200; i++) {
        fill_msg(msg, sizeof msg, i);
        publish(nc, "fills.BTC-USD", msg);
        publish(nc, "fills.BTC-USD", msg);
        if (i >= 50 && (i - 50) % 10 == 0) {
            fill_msg(msg, sizeof msg, i - 50);
            publish(nc, "fills.BTC-USD", msg);
        }
    }
    fill_msg(msg, sizeof msg, 0);
    publish(nc, "fills.BTC-USD", msg);
    flush(nc);
    static se_in_rec_t fills[201];
    read_kinds(&run.r, fills, 201, NULL, 0);
    assert_fills(fills, 0, 200);
    assert_fills(fills + 200, 0, 1);
    lfx_wait_metric(&fx.set, run.ingest, "fills_duplicate_total", 200 + 15);
    se_in_rec_t extra;
    ck_assert_int_eq(ifx_read(&run.r, &extra, 1, 0), 0);

    natsConnection_Destroy(nc);
    lfx_finish(&run);
}
END_TEST

START_TEST(nats_feed_should_reconnect_after_a_nats_restart)
{
    lfx_run_t run;
    natsConnection *nc = start(&run, NULL);
    for (int restart = 0; restart <= 2; restart++) {
        if (restart > 0) {
            natsConnection_Destroy(nc);
            lfx_stop(run.server, SIGKILL);
            lfx_wait_metric(&fx.set, run.ingest, "feed_connected{feed=\"nats\"}", 0);
            run.server = lfx_start_nats(&run.port, NULL); /* the same port */
            wait_connected(run.ingest, restart);
            nc = client(run.port);
            wait_subscribed(nc, &run.r); /* nats.c re-subscribed on its own */
        }
        send_fills_and_check(nc, &run.r, restart * 200, 200);
    }
    natsConnection_Destroy(nc);
    lfx_finish(&run);
}
END_TEST

/* Waits until the JetStream stream ingest creates exists (10 s at most). */
static void wait_stream(natsConnection *nc, const char *stream)
{
    jsCtx *js = NULL;
    ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    for (;;) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) == NATS_OK) {
            jsStreamInfo_Destroy(si);
            break;
        }
        ck_assert_msg(clock_mono_ns() < deadline, "stream %s not created by ingest within 10 s", stream);
        usleep(5000);
    }
    jsCtx_Destroy(js);
}

/* Waits until the durable consumer has nothing left to deliver or to be
 * acked (10 s at most past its ack wait). */
static void wait_consumer_done(natsConnection *nc, const char *stream, const char *consumer)
{
    jsCtx *js = NULL;
    ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    int64_t deadline = clock_mono_ns() + 15 * IFX_SECOND;
    long long pending = -1, ack_pending = -1;
    for (;;) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        if (js_GetConsumerInfo(&ci, js, stream, consumer, NULL, &jerr) == NATS_OK) {
            pending = (long long)ci->NumPending;
            ack_pending = ci->NumAckPending;
            jsConsumerInfo_Destroy(ci);
            if (pending == 0 && ack_pending == 0)
                break;
        }
        ck_assert_msg(clock_mono_ns() < deadline, "consumer %s: %lld pending, %lld unacked after 15 s", consumer,
                      pending, ack_pending);
        usleep(5000);
    }
    jsCtx_Destroy(js);
}

START_TEST(jetstream_should_lose_no_fill_while_ingest_is_killed_and_restarted)
{
    char jsdir[160];
    ifx_path(&fx, "js", jsdir, sizeof jsdir);
    ck_assert_int_eq(mkdir(jsdir, 0700), 0);
    lfx_run_t run = { 0 };
    run.server = lfx_start_nats(&run.port, jsdir);
    lfx_open_in(&run, &fx.set);
    shm_reader_t *r = &run.r;
    const char *conf = write_config("feed = \"none\";", run.port,
                                    "jetstream = { enabled = true; stream = \"TFILLS\"; durable = \"ing\"; "
                                    "ackWaitMs = 300; };");
    run.ingest = lfx_start_ingest(conf);
    natsConnection *nc = client(run.port);
    wait_stream(nc, "TFILLS");

    /* 1000 fills: ingest is killed (SIGKILL: no chance to ack what it
     * published) once it has published some of the first 600; the rest are
     * published while it is down. */
    enum { N = 1000 };
    char msg[512];
    for (int i = 0; i < 600; i++) {
        fill_msg(msg, sizeof msg, i);
        publish(nc, "fills.BTC-USD", msg);
    }
    flush(nc);
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    while (shm__load_acquire(&r->seg.hdr->prod_seq) < 50) {
        ck_assert_msg(clock_mono_ns() < deadline, "no fill reached ring in");
        usleep(200);
    }
    ck_assert_int_eq(lfx_stop(run.ingest, SIGKILL), 128 + SIGKILL);
    for (int i = 600; i < N; i++) {
        fill_msg(msg, sizeof msg, i);
        publish(nc, "fills.BTC-USD", msg);
    }
    flush(nc);
    run.ingest = lfx_start_ingest(conf);

    /* Every fill exactly once, whatever was in flight at the kill. */
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    int got = 0;
    deadline = clock_mono_ns() + 20 * IFX_SECOND;
    while (got < N) {
        se_in_rec_t rec;
        ck_assert_msg(clock_mono_ns() < deadline, "%d of %d fills after 20 s", got, N);
        if (ifx_read(r, &rec, 1, IFX_SECOND) != 1)
            continue;
        ck_assert_int_eq(rec.kind, SE_IN_FILL);
        int id = atoi(rec.u.fill.fill_id + 2);
        ck_assert_msg(id >= 0 && id < N && !seen[id], "fill %s twice (or unknown)", rec.u.fill.fill_id);
        fill_msg(msg, sizeof msg, id);
        se_in_rec_t want = lfx_expected(val_fill, msg);
        lfx_assert_same_payload(&rec, &want, "fill", id);
        seen[id] = true;
        got++;
    }
    /* Redeliveries of what the killed run published but never acked come
     * after the ack wait: once the consumer has nothing unacked, none of
     * them may have reached the ring. */
    wait_consumer_done(nc, "TFILLS", "ing_fills");
    se_in_rec_t extra;
    ck_assert_int_eq(ifx_read(r, &extra, 1, 0), 0);
    ck_assert_int_eq(lfx_metric(&fx.set, "market_data_received_total"), N);

    natsConnection_Destroy(nc);
    lfx_finish(&run);
}
END_TEST

/* The JetStream server restarted twice: with its store (the consumers are
 * still there), then with an empty one (ingest must make the stream and the
 * consumers again). Fills published after each restart all arrive, once. */
START_TEST(jetstream_should_go_on_after_server_restarts_with_and_without_its_store)
{
    char jsdir[2][160];
    ifx_path(&fx, "js-a", jsdir[0], sizeof jsdir[0]);
    ifx_path(&fx, "js-b", jsdir[1], sizeof jsdir[1]);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(mkdir(jsdir[i], 0700), 0);
    lfx_run_t run = { 0 };
    run.server = lfx_start_nats(&run.port, jsdir[0]);
    lfx_open_in(&run, &fx.set);
    run.ingest = lfx_start_ingest(write_config("feed = \"none\";", run.port,
                                               "jetstream = { enabled = true; stream = \"TF2\"; durable = \"ing\"; };"));
    for (int round = 0; round < 3; round++) {
        if (round > 0) {
            lfx_stop(run.server, SIGKILL);
            lfx_wait_metric(&fx.set, run.ingest, "feed_connected{feed=\"nats\"}", 0);
            run.server = lfx_start_nats(&run.port, jsdir[round - 1]); /* a: its store; b: an empty one */
            wait_connected(run.ingest, round);
        }
        natsConnection *nc = client(run.port);
        wait_stream(nc, "TF2");
        send_fills_and_check(nc, &run.r, round * 100, 100);
        natsConnection_Destroy(nc);
    }
    lfx_finish(&run);
}
END_TEST

START_TEST(nats_feed_should_run_beside_the_synthetic_feed)
{
    lfx_run_t run = { 0 };
    run.server = lfx_start_nats(&run.port, NULL);
    lfx_open_in(&run, &fx.set);
    shm_reader_t *r = &run.r;
    run.ingest = lfx_start_ingest(
        write_config("feed = \"synthetic\"; synthetic = { ratePerSecond = 2000.0; };", run.port, NULL));
    wait_connected(run.ingest, 0);
    natsConnection *nc = client(run.port);
    /* Quotes and probes interleave: publish the fills once a probe came through. */
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    bool through = false;
    while (!through) {
        ck_assert_msg(clock_mono_ns() < deadline, "ingest's subscriptions never took effect");
        publish(nc, "positions.PROBE", "{\"symbol\":\"PROBE\",\"qty\":0}");
        flush(nc);
        se_in_rec_t rec;
        int64_t until = clock_mono_ns() + IFX_SECOND / 20;
        while (!through && ifx_read(r, &rec, 1, until - clock_mono_ns()) == 1)
            through = rec.kind == SE_IN_POSITION;
    }
    char msg[512];
    for (int i = 0; i < 100; i++) {
        fill_msg(msg, sizeof msg, i);
        publish(nc, "fills.BTC-USD", msg);
    }
    flush(nc);
    static se_in_rec_t fills[100];
    /* Late probes may still arrive: read_kinds would count them as extra
     * positions, so only fills are collected here. */
    int f = 0, quotes = 0;
    deadline = clock_mono_ns() + 10 * IFX_SECOND;
    while (f < 100) {
        ck_assert_msg(clock_mono_ns() < deadline, "%d of 100 fills after 10 s", f);
        se_in_rec_t rec;
        if (ifx_read(r, &rec, 1, IFX_SECOND) != 1)
            continue;
        if (rec.kind == SE_IN_FILL)
            fills[f++] = rec;
        quotes += rec.kind == SE_IN_QUOTE;
    }
    assert_fills(fills, 0, 100);
    ck_assert_int_gt(quotes, 0);

    natsConnection_Destroy(nc);
    lfx_finish(&run);
}
END_TEST

static const struct {
    const char *text, *key;
} bad_configs[] = {
    { "nats = { enabled = 1; };", "nats.enabled" },
    { "nats = { fillsSubject = \"\"; };", "nats.fillsSubject" },
    { "nats = { positionsSubject = \"\"; };", "nats.positionsSubject" },
    { "nats = { reconnectMinMs = 500; reconnectMaxMs = 100; };", "nats.reconnectMaxMs" },
    { "nats = { queueBytes = 10; };", "nats.queueBytes" },
    { "nats = { dedupeWindow = 0; };", "nats.dedupeWindow" },
    { "nats = { jetstream = { stream = \"a.b\"; }; };", "nats.jetstream.stream" },
    { "nats = { jetstream = { durable = \"x*\"; }; };", "nats.jetstream.durable" },
    { "nats = { jetstream = { ackWaitMs = 5; }; };", "nats.jetstream.ackWaitMs" },
};

static int read_nats(const cfg_t *cfg)
{
    nats_config_t c;
    return nats_config(cfg, &c);
}

START_TEST(nats_config_should_name_file_line_and_key)
{
    lfx_assert_config_error(&fx, bad_configs[_i].text, bad_configs[_i].key, read_nats);
}
END_TEST

START_TEST(nats_config_should_be_enabled_by_a_url_and_have_the_documented_defaults)
{
    nats_config_t c;
    ck_assert_int_eq(nats_config(NULL, &c), 0);
    ck_assert(!c.enabled);
    ck_assert_str_eq(c.url, "nats://127.0.0.1:4222");
    ck_assert_str_eq(c.fills_subject, "fills.>");
    ck_assert_str_eq(c.positions_subject, "positions.>");
    ck_assert_uint_eq(c.dedupe_window, 65536);
    ck_assert(!c.js_enabled);
    ck_assert_str_eq(c.js_stream, "FILLS");
    ck_assert_str_eq(c.js_durable, "ingest");
    ck_assert_uint_eq(c.js_ack_wait_ms, 30000);

    char path[160];
    ifx_path(&fx, "url.conf", path, sizeof path);
    const char text[] = "nats = { url = \"nats://10.0.0.1:4222\"; };\n";
    ifx_write(path, text, sizeof text - 1);
    cfg_t *cfg;
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    ck_assert_int_eq(nats_config(cfg, &c), 0);
    ck_assert(c.enabled);
    ck_assert_str_eq(c.url, "nats://10.0.0.1:4222");
    cfg_close(cfg);
}
END_TEST

static Suite *nats_feed_suite(void)
{
    Suite *s = suite_create("ingest_nats_feed");
    TCase *cfg = tcase_create("config");
    tcase_add_checked_fixture(cfg, setup, teardown);
    tcase_add_loop_test(cfg, nats_config_should_name_file_line_and_key, 0, sizeof bad_configs / sizeof bad_configs[0]);
    tcase_add_test(cfg, nats_config_should_be_enabled_by_a_url_and_have_the_documented_defaults);
    suite_add_tcase(s, cfg);

    TCase *live = tcase_create("live");
    tcase_add_checked_fixture(live, setup, teardown);
    tcase_set_timeout(live, 60);
    tcase_add_test(live, nats_feed_should_publish_fills_and_positions_exactly_and_count_bad_ones_by_reason);
    tcase_add_test(live, nats_feed_should_apply_a_fill_seen_twice_once);
    tcase_add_test(live, nats_feed_should_reconnect_after_a_nats_restart);
    tcase_add_test(live, jetstream_should_lose_no_fill_while_ingest_is_killed_and_restarted);
    tcase_add_test(live, jetstream_should_go_on_after_server_restarts_with_and_without_its_store);
    tcase_add_test(live, nats_feed_should_run_beside_the_synthetic_feed);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    ifx_registry_create();
    SRunner *sr = srunner_create(nats_feed_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ifx_registry_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
