/* test_pipeline.c -- the processes together: bin/ingest replays a known file
 * into ring `in`, three bin/strategyd processes (momentum, market_making,
 * scalping) read it, and each signal ring must hold exactly the signals the
 * price path calls for. Also: a restarted strategyd recovers its fills, and
 * observation mode writes no signal. Binaries come from $SE_BIN_DIR (bin/). */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

static const int64_t SECOND = 1000000000;
static char inst[40], conf_path[128], replay_path[128];

/* The price path: mids of BTC-USD quotes 100 ms apart (bid/ask at mid -/+ 0.05). */
static const double path[] = { 100, 100, 100, 102, 102, 99, 105 };
static const int64_t path_gap_ms[] = { 0, 100, 100, 100, 100, 100, 1100 };
#define NPATH (sizeof path / sizeof path[0])

static void write_file(const char *path_, const char *text)
{
    FILE *f = fopen(path_, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_replay(void)
{
    char buf[8192] = "";
    int64_t ts = 1732400000000000000;
    for (size_t i = 0; i < NPATH; i++) {
        char line[256];
        ts += path_gap_ms[i] * 1000000;
        snprintf(line, sizeof line,
                 "{\"symbol\":\"BTC-USD\",\"bid\":%.2f,\"ask\":%.2f,\"bid_size\":1,\"ask_size\":1,\"ts\":%lld}\n",
                 path[i] - 0.05, path[i] + 0.05, (long long)ts);
        strcat(buf, line);
    }
    strcat(buf, "{\"symbol\":\"BTC-USD\",\"bid\":\"oops\"}\nnot json at all\n"); /* counted, dropped */
    write_file(replay_path, buf);
}

static void write_config(const char *scalping_mode)
{
    char text[2048];
    snprintf(text, sizeof text,
             "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; };\n"
             "strategies = {\n"
             "  enabled = [\"momentum\", \"market_making\", \"scalping\"];\n"
             "  configs = {\n"
             "    momentum = { lookback_period = 2; threshold = 0.01; max_position = 3.0; };\n"
             "    market_making = { spread = 0.02; order_size = 1.0; max_inventory = 5.0;\n"
             "                      inventory_skew = 0.0; refresh_ms = 1000; tick_size = 0.01; };\n"
             "    scalping = { entry_ticks = 2; entry_threshold = 0.01; order_size = 2.0; mode = \"%s\"; };\n"
             "  };\n"
             "};\n"
             "ingest = { feed = \"replay\"; replay = { file = \"%s\"; speed = 0.0; }; };\n"
             "http = { enabled = false; };\n" /* never a fixed port in tests */,
             inst, scalping_mode, replay_path);
    write_file(conf_path, text);
}

static pid_t spawn(const char *prog, const char *strategy)
{
    return pf_spawn(conf_path, prog, strategy);
}

static void ring_name(const char *ring, char *out)
{
    ck_assert_int_eq(shm_name(out, SHM_NAME_MAX, NULL, inst, ring), 0);
}

static void wait_for_readers(int n)
{
    ck_assert_msg(pf_wait_readers(inst, "in", n, 10), "fewer than %d strategies attached to ring in", n);
}

static void wait_until_read(void)
{
    ck_assert_msg(pf_wait_quiet(inst, 10), "the strategies did not read all of ring in");
}

/* Creates `in` before anyone writes to it, so the strategies attach at 0. */
static void precreate_in(void)
{
    char name[SHM_NAME_MAX];
    ring_name("in", name);
    shm_ring_spec_t spec = { SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, 65536, SE_RECTYPE_IN };
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &spec, NULL), 0);
    shm_writer_close(&w, false);
}

static int read_signals(const char *strategy, se_signal_rec_t *out, int max)
{
    char ring[64], name[SHM_NAME_MAX];
    snprintf(ring, sizeof ring, "sig.%s", strategy);
    ring_name(ring, name);
    shm_reader_t r;
    ck_assert_msg(shm_reader_open(&r, name, NULL, "test", SHM_START_HEAD, 5 * SECOND) == 0, "%s",
                  se_errmsg());
    int n = 0;
    se_signal_rec_t s;
    while (shm_reader_read(&r, &s) == SHM_OK)
        if (s.action == SE_ACTION_SNAPSHOT) /* each run asks riskd for its snapshot first */
            continue;
        else if (n < max)
            out[n++] = s;
        else
            n++;
    shm_reader_close(&r);
    return n;
}

static void stop_all(pid_t *pids, int n)
{
    ck_assert_int_eq(pf_stop(pids, n), 0);
}

/* Starts a strategyd for each of the n strategies, replays the path through
 * bin/ingest once they all read ring `in`, and stops them once they have
 * read it all. */
static void run_path(const char *const *strategies, int n)
{
    pid_t pids[8];
    precreate_in();
    for (int i = 0; i < n; i++)
        pids[i] = spawn("strategyd", strategies[i]);
    wait_for_readers(n);
    ck_assert_int_eq(test_wait(spawn("ingest", NULL)), 0);
    wait_until_read();
    stop_all(pids, n);
}

static void expect(const se_signal_rec_t *s, int action, int side, int type, double qty, double price,
                   const char *strategy)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s-", strategy);
    ck_assert_int_eq(s->action, action);
    if (action == SE_ACTION_NEW) {
        ck_assert_int_eq(s->side, side);
        ck_assert_int_eq(s->order_type, type);
        ck_assert_double_eq_tol(s->qty, qty, 1e-9);
        ck_assert_double_eq_tol(s->price, price, 1e-9);
    }
    ck_assert_str_eq(s->symbol, "BTC-USD");
    ck_assert_msg(strncmp(s->client_order_id, prefix, strlen(prefix)) == 0, "order id %s",
                  s->client_order_id);
    ck_assert_int_gt(s->ts_strategy_ns, 0);
    ck_assert_int_ge(s->ts_strategy_ns, s->ts_ingest_ns);
}

/* The value of metric `name` whose labels contain `labels` (e.g.
 * "reason=\"observation\"", or "" for the first) in `shmtool stats
 * strategyd.<strategy>`; the test fails if there is none. */
static long stat_of(const char *strategy, const char *name, const char *labels)
{
    char cmd[512], line[512], prefix[96];
    snprintf(cmd, sizeof cmd, "%s/shmtool stats strategyd.%s -i %s", pf_bin_dir(), strategy, inst);
    snprintf(prefix, sizeof prefix, "%s{", name);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    long value = -1;
    bool found = false;
    while (fgets(line, sizeof line, p))
        if (!found && strncmp(line, prefix, strlen(prefix)) == 0 && strstr(line, labels)) {
            value = strtol(strrchr(line, ' '), NULL, 10);
            found = true;
        }
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(found, "no %s{..%s..} in the stats of strategyd.%s", name, labels, strategy);
    return value;
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-p", (int)getpid());
    snprintf(conf_path, sizeof conf_path, "/tmp/se-pipeline-%d.conf", (int)getpid());
    snprintf(replay_path, sizeof replay_path, "/tmp/se-pipeline-%d.jsonl", (int)getpid());
    write_replay();
}

static void teardown(void)
{
    unlink(conf_path);
    unlink(replay_path);
    test_ring_cleanup();
}

START_TEST(replayed_path_should_give_each_strategy_exactly_its_signals)
{
    write_config("simulation");
    run_path((const char *const[]){ "momentum", "market_making", "scalping" }, 3);

    se_signal_rec_t s[16];
    /* momentum, lookback 2, threshold 1%: 102/100 buys to +3; 99/102 sells to
     * -3 (nothing filled: 6 from +3 pending); 105/102 buys back to +3. */
    ck_assert_int_eq(read_signals("momentum", s, 16), 3);
    expect(&s[0], SE_ACTION_NEW, SE_SIDE_BUY, SE_ORDER_MARKET, 3, 0, "momentum");
    expect(&s[1], SE_ACTION_NEW, SE_SIDE_SELL, SE_ORDER_MARKET, 6, 0, "momentum");
    expect(&s[2], SE_ACTION_NEW, SE_SIDE_BUY, SE_ORDER_MARKET, 6, 0, "momentum");
    /* market_making, half spread 1% of the mid: quotes 99/101 at once; nothing
     * until 1 s of event time has passed; then at mid 105 re-quotes 103.95/106.05. */
    ck_assert_int_eq(read_signals("market_making", s, 16), 6);
    expect(&s[0], SE_ACTION_NEW, SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 99.00, "market_making");
    expect(&s[1], SE_ACTION_NEW, SE_SIDE_SELL, SE_ORDER_LIMIT, 1, 101.00, "market_making");
    expect(&s[2], SE_ACTION_CANCEL, 0, 0, 0, 0, "market_making");
    ck_assert_str_eq(s[2].client_order_id, s[0].client_order_id);
    expect(&s[3], SE_ACTION_NEW, SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 103.95, "market_making");
    expect(&s[4], SE_ACTION_CANCEL, 0, 0, 0, 0, "market_making");
    ck_assert_str_eq(s[4].client_order_id, s[1].client_order_id);
    expect(&s[5], SE_ACTION_NEW, SE_SIDE_SELL, SE_ORDER_LIMIT, 1, 106.05, "market_making");
    /* scalping, 1% over 2 ticks: 102 after 100 enters long 2; then waits for its fill. */
    ck_assert_int_eq(read_signals("scalping", s, 16), 1);
    expect(&s[0], SE_ACTION_NEW, SE_SIDE_BUY, SE_ORDER_MARKET, 2, 0, "scalping");
}
END_TEST

START_TEST(observation_mode_should_count_signals_and_write_none)
{
    write_config("observation");
    run_path((const char *const[]){ "scalping" }, 1);
    se_signal_rec_t s[4];
    ck_assert_int_eq(read_signals("scalping", s, 4), 0);
    /* Every signal was still counted, as dropped for observation, and handed
     * back as rejected (so the strategy, no longer pending, tried again). */
    long signals = stat_of("scalping", "strategy_signals_total", "");
    ck_assert_int_ge(signals, 2);
    ck_assert_int_eq(stat_of("scalping", "strategy_signals_dropped_total", "reason=\"observation\""), signals);
}
END_TEST

/* A Python strategy in its own strategyd, next to one that raises: the
 * example (window 3) sells once at 102 after 100, 100 (z = 1.41) and then
 * waits for that order; faulty.py raises on each of the three ticks above
 * 100, counted in its strategy_errors_total; each publishes its metrics(). */
START_TEST(python_strategies_should_trade_and_count_their_errors)
{
    char text[1024];
    snprintf(text, sizeof text,
             "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; pluginsDir = \".\"; };\n"
             "strategies = { enabled = [\"zs\", \"faulty\"]; configs = {\n"
             "  zs = { script = \"plugins/python/example_strategy.py\"; window = 3; entry_z = 1.1; exit_z = 0.5; };\n"
             "  faulty = { script = \"tests/strategyd/python/faulty.py\"; }; }; };\n"
             "ingest = { feed = \"replay\"; replay = { file = \"%s\"; speed = 0.0; }; };\n"
             "http = { enabled = false; };\n" /* never a fixed port in tests */,
             inst, replay_path);
    write_file(conf_path, text);
    run_path((const char *const[]){ "zs", "faulty" }, 2);
    se_signal_rec_t s[4];
    ck_assert_int_eq(read_signals("zs", s, 4), 1);
    expect(&s[0], SE_ACTION_NEW, SE_SIDE_SELL, SE_ORDER_MARKET, 1, 0, "zs");
    ck_assert_int_eq(read_signals("faulty", s, 4), 0);
    ck_assert_int_eq(stat_of("zs", "strategy_errors_total", ""), 0);
    ck_assert_int_eq(stat_of("faulty", "strategy_errors_total", ""), 3);
    ck_assert_int_eq(stat_of("zs", "strategy_custom", "strategy=\"zs\",name=\"ticks_total\""), (long)NPATH);
    ck_assert_int_eq(stat_of("zs", "strategy_custom", "strategy=\"zs\",name=\"open_orders\""), 1);
    ck_assert_int_eq(stat_of("faulty", "strategy_custom", "strategy=\"faulty\",name=\"ticks\""), (long)NPATH);
}
END_TEST

static void put_quote(shm_writer_t *w, double mid, int64_t ts)
{
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_QUOTE;
    r.flags = SE_QUOTE_HAS_BIDASK;
    strcpy(r.symbol, "BTC-USD");
    r.u.quote.bid = mid - 0.05;
    r.u.quote.ask = mid + 0.05;
    r.ts_source_ns = r.ts_ingest_ns = ts;
    ck_assert_int_eq(shm_writer_write(w, &r), SHM_OK);
}

START_TEST(restarted_strategy_should_recover_its_position_and_cancel_its_orphans)
{
    write_config("simulation");
    char name[SHM_NAME_MAX];
    ring_name("in", name);
    shm_ring_spec_t spec = { SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, 65536, SE_RECTYPE_IN };
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &spec, NULL), 0);
    /* Before "the restart": momentum bought 3, filled; someone else's fill too. */
    se_in_rec_t fill;
    memset(&fill, 0, sizeof fill);
    fill.kind = SE_IN_FILL;
    strcpy(fill.symbol, "BTC-USD");
    strcpy(fill.u.fill.fill_id, "f-1");
    strcpy(fill.u.fill.client_order_id, "momentum-1732400000-1");
    fill.u.fill.side = SE_SIDE_BUY;
    fill.u.fill.qty = 3;
    fill.u.fill.price = 100;
    ck_assert_int_eq(shm_writer_write(&w, &fill), SHM_OK);
    strcpy(fill.u.fill.fill_id, "f-2");
    strcpy(fill.u.fill.client_order_id, "scalping-1732400000-1");
    ck_assert_int_eq(shm_writer_write(&w, &fill), SHM_OK);

    /* ... and left order 2 working at the venue, order 3 done. */
    char exe_name[SHM_NAME_MAX];
    ring_name("exe", exe_name);
    shm_ring_spec_t exe_spec = { SHM_KIND_BROADCAST, SE_EXEC_RECORD_SIZE, 1024, SE_RECTYPE_EXEC };
    shm_writer_t exe;
    ck_assert_int_eq(shm_writer_open(&exe, exe_name, &exe_spec, NULL), 0);
    se_exec_rec_t rep;
    memset(&rep, 0, sizeof rep);
    strcpy(rep.symbol, "BTC-USD");
    rep.kind = SE_EXEC_ACK;
    strcpy(rep.client_order_id, "momentum-1732400000-2");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    strcpy(rep.client_order_id, "momentum-1732400000-3");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    rep.kind = SE_EXEC_CANCELLED;
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    shm_writer_close(&exe, false);

    pid_t pid = spawn("strategyd", "momentum");
    wait_for_readers(1);
    int64_t ts = 1732400001000000000;
    const double mids[] = { 100, 100, 100, 102, 99 };
    for (int i = 0; i < 5; i++)
        put_quote(&w, mids[i], ts += 100000000);
    shm_writer_close(&w, false);
    wait_until_read();
    stop_all(&pid, 1);
    /* First the orphan is cancelled; then, holding 3 already, the rise to
     * 102 sends nothing, and the fall sells 3 + 3. */
    se_signal_rec_t s[4];
    ck_assert_int_eq(read_signals("momentum", s, 4), 2);
    ck_assert_int_eq(s[0].action, SE_ACTION_CANCEL);
    ck_assert_str_eq(s[0].client_order_id, "momentum-1732400000-2");
    expect(&s[1], SE_ACTION_NEW, SE_SIDE_SELL, SE_ORDER_MARKET, 6, 0, "momentum");
}
END_TEST

/* Live mode: fills come on `in` (NATS), acks on `exe`, and the venue
 * publishes a fill before it answers. A restarted strategy must count those
 * fills against its orders: one they cover is not cancelled. */
START_TEST(restarted_strategy_should_not_cancel_orders_filled_on_ring_in)
{
    write_config("simulation");
    char name[SHM_NAME_MAX];
    ring_name("in", name);
    shm_ring_spec_t spec = { SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, 65536, SE_RECTYPE_IN };
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &spec, NULL), 0);
    /* Order 2 (buy 2) filled in two parts, one repeated; order 4 (buy 3) filled 1. */
    static const struct {
        const char *fill_id, *order;
        double qty;
    } fills[] = { { "vf-1", "momentum-1732400000-2", 1 },
                  { "vf-2", "momentum-1732400000-2", 1 },
                  { "vf-1", "momentum-1732400000-2", 1 }, /* the same fill again */
                  { "vf-3", "momentum-1732400000-4", 1 } };
    se_in_rec_t fill;
    for (size_t i = 0; i < sizeof fills / sizeof fills[0]; i++) {
        memset(&fill, 0, sizeof fill);
        fill.kind = SE_IN_FILL;
        strcpy(fill.symbol, "BTC-USD");
        strcpy(fill.u.fill.fill_id, fills[i].fill_id);
        strcpy(fill.u.fill.client_order_id, fills[i].order);
        fill.u.fill.side = SE_SIDE_BUY;
        fill.u.fill.qty = fills[i].qty;
        fill.u.fill.price = 100;
        ck_assert_int_eq(shm_writer_write(&w, &fill), SHM_OK);
    }
    /* The acks come after the fills; order 3's cancel was refused: filled
     * (its fill is older than the ring). Order 4 still works. */
    char exe_name[SHM_NAME_MAX];
    ring_name("exe", exe_name);
    shm_ring_spec_t exe_spec = { SHM_KIND_BROADCAST, SE_EXEC_RECORD_SIZE, 1024, SE_RECTYPE_EXEC };
    shm_writer_t exe;
    ck_assert_int_eq(shm_writer_open(&exe, exe_name, &exe_spec, NULL), 0);
    se_exec_rec_t rep;
    memset(&rep, 0, sizeof rep);
    strcpy(rep.symbol, "BTC-USD");
    rep.kind = SE_EXEC_ACK;
    rep.action = SE_ACTION_NEW;
    rep.side = SE_SIDE_BUY;
    rep.qty = rep.leaves_qty = 2;
    strcpy(rep.client_order_id, "momentum-1732400000-2");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK); /* a duplicate ack */
    rep.qty = rep.leaves_qty = 1;
    strcpy(rep.client_order_id, "momentum-1732400000-3");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    rep.kind = SE_EXEC_REJECT;
    rep.action = SE_ACTION_CANCEL;
    strcpy(rep.reason, "already_filled");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    memset(rep.reason, 0, sizeof rep.reason);
    rep.kind = SE_EXEC_ACK;
    rep.action = SE_ACTION_NEW;
    rep.qty = rep.leaves_qty = 3;
    strcpy(rep.client_order_id, "momentum-1732400000-4");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    shm_writer_close(&exe, false);

    pid_t pid = spawn("strategyd", "momentum");
    wait_for_readers(1);
    int64_t ts = 1732400001000000000;
    const double mids[] = { 100, 100, 100, 102, 99 };
    for (int i = 0; i < 5; i++)
        put_quote(&w, mids[i], ts += 100000000);
    shm_writer_close(&w, false);
    wait_until_read();
    stop_all(&pid, 1);
    /* Only order 4 is cancelled; holding 3 (2 + 1, the repeat counted
     * once), the rise sends nothing and the fall sells 3 + 3. */
    se_signal_rec_t s[4];
    ck_assert_int_eq(read_signals("momentum", s, 4), 2);
    ck_assert_int_eq(s[0].action, SE_ACTION_CANCEL);
    ck_assert_str_eq(s[0].client_order_id, "momentum-1732400000-4");
    expect(&s[1], SE_ACTION_NEW, SE_SIDE_SELL, SE_ORDER_MARKET, 6, 0, "momentum");
}
END_TEST

START_TEST(strategy_should_learn_what_a_late_execd_already_said)
{
    write_config("simulation");
    char name[SHM_NAME_MAX];
    ring_name("in", name);
    shm_ring_spec_t spec = { SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, 65536, SE_RECTYPE_IN };
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &spec, NULL), 0);
    pid_t pid = spawn("strategyd", "momentum");
    wait_for_readers(1);
    int64_t ts = 1732400001000000000;
    const double mids[] = { 100, 100, 100, 102 };
    for (int i = 0; i < 4; i++)
        put_quote(&w, mids[i], ts += 100000000);
    wait_until_read();
    se_signal_rec_t s[4];
    ck_assert_int_eq(read_signals("momentum", s, 4), 1); /* BUY 3, pending: nothing answers yet */
    /* execd comes up late, having rejected that order before strategyd attached. */
    char exe_name[SHM_NAME_MAX];
    ring_name("exe", exe_name);
    shm_ring_spec_t exe_spec = { SHM_KIND_BROADCAST, SE_EXEC_RECORD_SIZE, 1024, SE_RECTYPE_EXEC };
    shm_writer_t exe;
    ck_assert_int_eq(shm_writer_open(&exe, exe_name, &exe_spec, NULL), 0);
    se_exec_rec_t rep;
    memset(&rep, 0, sizeof rep);
    rep.kind = SE_EXEC_REJECT;
    rep.qty = 3;
    strcpy(rep.symbol, "BTC-USD");
    strcpy(rep.client_order_id, s[0].client_order_id);
    strcpy(rep.reason, "no quote for BTC-USD");
    ck_assert_int_eq(shm_writer_write(&exe, &rep), SHM_OK);
    ck_assert(pf_wait_readers(inst, "exe", 1, 10));
    /* Caught up, the strategy no longer counts the order as pending: it sends again. */
    put_quote(&w, 102, ts += 100000000);
    wait_until_read();
    stop_all(&pid, 1);
    ck_assert_int_eq(read_signals("momentum", s, 4), 1); /* the reader resumes after the first */
    expect(&s[0], SE_ACTION_NEW, SE_SIDE_BUY, SE_ORDER_MARKET, 3, 0, "momentum");
    shm_writer_close(&exe, false);
    shm_writer_close(&w, false);
}
END_TEST

START_TEST(strategyd_should_refuse_to_start_with_one_clear_line)
{
    write_config("simulation");
    precreate_in();
    /* Not in strategies.enabled. */
    ck_assert_int_eq(test_wait(spawn("strategyd", "nosuch")), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, replayed_path_should_give_each_strategy_exactly_its_signals);
    tcase_add_test(tc, observation_mode_should_count_signals_and_write_none);
    tcase_add_test(tc, restarted_strategy_should_recover_its_position_and_cancel_its_orphans);
    tcase_add_test(tc, restarted_strategy_should_not_cancel_orders_filled_on_ring_in);
    tcase_add_test(tc, strategy_should_learn_what_a_late_execd_already_said);
    tcase_add_test(tc, strategyd_should_refuse_to_start_with_one_clear_line);
    tcase_add_test(tc, python_strategies_should_trade_and_count_their_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
