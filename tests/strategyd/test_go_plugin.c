/* test_go_plugin.c -- the Go example strategy (plugins/go/ma_cross, built by
 * `make` into plugins/go_ma_cross.so with -buildmode=c-shared) loaded as
 * strategyd loads any plugin: through host_load, and inside bin/strategyd,
 * which must still stop cleanly on SIGTERM with Go's runtime in the process.
 * The .so files come from $SE_GO_PLUGINS (default "plugins"); the test
 * strategy that panics (tests/strategyd/go/panics) from $SE_TEST_PLUGINS. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "strategyd/host.h"
#include "tests/support/fake_host.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

#define MAX_OUT 8

static const char *go_dir;
static char conf_path[128], inst[40];
static cfg_t *cfg;
static host_t host;
static loaded_t loaded;
static const strat_plugin_t *plug;
static void *st;
static strat_signal_t sig[MAX_OUT];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* A config enabling go_ma (fast 2, slow 3) from the Go plugins' directory;
 * `extra` goes into its group. */
static void write_config(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text,
             "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; pluginsDir = \"%s\"; };\n"
             "http = { enabled = false; };\n" /* never a fixed port in tests */
             "strategies = { enabled = [\"go_ma\"];\n"
             "  configs = { go_ma = { plugin = \"go_ma_cross.so\"; fast = 2; slow = 3; order_size = 1.0; %s }; }; };\n",
             inst, go_dir, extra);
    write_file(conf_path, text);
}

static void setup(void)
{
    go_dir = getenv("SE_GO_PLUGINS") && *getenv("SE_GO_PLUGINS") ? getenv("SE_GO_PLUGINS") : "plugins";
    snprintf(inst, sizeof inst, "t%d-go", (int)getpid());
    snprintf(conf_path, sizeof conf_path, "/tmp/se-go-%d.conf", (int)getpid());
    cfg = NULL;
    plug = NULL;
    st = NULL;
    memset(&loaded, 0, sizeof loaded);
    if (!getenv("SE_TEST_VERBOSE")) /* refusals log on purpose; keep the run quiet */
        log_set_fd(open("/dev/null", O_WRONLY));
}

static void teardown(void)
{
    if (st != NULL)
        plug->destroy(st);
    host_unload(&loaded);
    cfg_close(cfg);
    unlink(conf_path);
    test_ring_cleanup();
}

/* Loads go_ma through the host with `extra` config. */
static void load(const char *extra)
{
    write_config(extra);
    ck_assert_int_eq(cfg_open(&cfg, conf_path), 0);
    ck_assert_int_eq(host_init(&host, cfg, "go_ma"), 0);
    ck_assert_msg(host_load(&host, &loaded) == 0, "%s (build it with make)", se_errmsg());
    plug = loaded.plugin;
}

/* Loads go_ma and returns its entry point, to call with other hosts. */
static strat_entry_fn go_entry(void)
{
    strat_entry_fn entry;
    load("");
    *(void **)&entry = dlsym(loaded.dl, STRAT_ENTRY_SYMBOL);
    ck_assert_ptr_nonnull(entry);
    return entry;
}

/* Loads go_ma, then creates, initialises and starts it. */
static void load_and_start(const char *extra)
{
    load(extra);
    st = plug->create(&host.api);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(plug->init(st), 0);
    ck_assert_int_eq(plug->start(st), 0);
}

static int tick(const char *symbol, double price)
{
    strat_tick_t t = fake_tick(symbol, price);

    memset(sig, 0x5a, sizeof sig);
    host.event_ns = t.ts_ns;
    return plug->on_market_data(st, &t, sig, MAX_OUT);
}

/* The id the host hands out as its n-th: "go_ma-<start epoch>-<n>". */
static const char *host_id(int n)
{
    static char id[STRAT_ID_MAX];
    snprintf(id, sizeof id, "go_ma-%lld-%d", (long long)host.epoch_s, n);
    return id;
}

static void assert_market(const strat_signal_t *s, int side, double qty, const char *id)
{
    ck_assert_int_eq(s->action, STRAT_NEW);
    ck_assert_int_eq(s->side, side);
    ck_assert_int_eq(s->type, STRAT_MARKET);
    ck_assert_double_eq_tol(s->qty, qty, 1e-9);
    ck_assert_double_eq_tol(s->price, 0, 1e-9);
    ck_assert_str_eq(s->symbol, "AAPL");
    ck_assert_str_eq(s->client_order_id, id);
}

START_TEST(go_plugin_should_load_through_the_host)
{
    load_and_start("");
    ck_assert_str_eq(plug->name, "go_ma_crossover");
    ck_assert_uint_eq(plug->abi_version, STRAT_ABI_VERSION);
    ck_assert_uint_eq(plug->size, sizeof(strat_plugin_t));
    ck_assert_ptr_nonnull(strstr(loaded.source, "go_ma_cross.so"));
    ck_assert(plug->on_order_update && plug->metrics);
    ck_assert_int_ne(plug->is_running(st), 0);
}
END_TEST

START_TEST(go_plugin_should_export_only_the_abi)
{
    load_and_start("");
    ck_assert_ptr_nonnull(dlsym(loaded.dl, STRAT_ENTRY_SYMBOL));
    ck_assert_ptr_nonnull(dlsym(loaded.dl, STRAT_RUN_SYMBOL));
    ck_assert_ptr_eq(*(void **)&loaded.run, dlsym(loaded.dl, STRAT_RUN_SYMBOL));
    /* The glue's callbacks, cgo's helpers and Go's runtime stay local. */
    static const char *const hidden[] = { "goStratMarketData", "goStratCreate", "crosscall2",
                                          "x_cgo_init", "_cgo_panic", "strat_go_log", NULL };
    for (int i = 0; hidden[i]; i++)
        ck_assert_msg(dlsym(loaded.dl, hidden[i]) == NULL, "%s is exported", hidden[i]);
}
END_TEST

/* What the loop run through host_run saw. */
static struct {
    int calls;
    pid_t tid;
    int signals;
} body_seen;

/* A stand-in for strategyd's loop: ticks through a crossing from inside the
 * plugin's run hook, as strategyd does. */
static int body(void *arg)
{
    body_seen.calls++;
    body_seen.tid = gettid();
    static const double path[] = { 12, 11, 10, 12, 13 }; /* crosses up on 13 */
    for (size_t i = 0; i < sizeof path / sizeof path[0]; i++)
        body_seen.signals += tick("AAPL", path[i]);
    return *(int *)arg;
}

START_TEST(go_plugin_should_run_the_host_loop_through_its_run_hook)
{
    int answer = 42;
    load_and_start("");
    ck_assert_ptr_nonnull(*(void **)&loaded.run);
    ck_assert_int_eq(host_run(&loaded, body, &answer), 42);
    ck_assert_int_eq(body_seen.calls, 1);
    ck_assert_int_eq(body_seen.tid, gettid()); /* on the calling thread */
    ck_assert_int_eq(body_seen.signals, 1);
    assert_market(&sig[0], STRAT_BUY, 1, host_id(1));
    /* A plugin without the hook (the C example): the host calls the loop itself. */
    loaded_t c;
    memset(&c, 0, sizeof c);
    c.dl = dlopen(getenv("EXAMPLE_PLUGIN") && *getenv("EXAMPLE_PLUGIN") ? getenv("EXAMPLE_PLUGIN")
                                                                        : "plugins/example_plugin.so",
                  RTLD_NOW | RTLD_LOCAL);
    ck_assert_ptr_nonnull(c.dl);
    ck_assert_ptr_null(dlsym(c.dl, STRAT_RUN_SYMBOL));
    answer = 7;
    body_seen.calls = 0;
    ck_assert_int_eq(host_run(&c, body, &answer), 7);
    ck_assert_int_eq(body_seen.calls, 1);
    host_unload(&c);
}
END_TEST

START_TEST(go_plugin_should_trade_only_on_crossings)
{
    load_and_start("");
    ck_assert_int_eq(tick("AAPL", 12), 0);
    ck_assert_int_eq(tick("AAPL", 11), 0);
    ck_assert_int_eq(tick("AAPL", 10), 0); /* fast 10.5 < slow 11: noted, no trade */
    ck_assert_int_eq(tick("AAPL", 12), 0); /* fast 11 = slow 11 */
    ck_assert_int_eq(tick("AAPL", 13), 1); /* fast 12.5 > slow 11.67: crossed up */
    assert_market(&sig[0], STRAT_BUY, 1, host_id(1));
    ck_assert_int_eq(tick("AAPL", 13), 0); /* still above; the order is pending */
    strat_fill_t f = fake_fill(host_id(1), "AAPL", STRAT_BUY, 1, 13);
    ck_assert_int_eq(plug->on_fill(st, &f), 0);
    ck_assert_int_eq(tick("AAPL", 13), 0); /* held */
    ck_assert_int_eq(tick("AAPL", 9), 1);  /* fast 11 < slow 11.67: crossed down, from +1 to -1 */
    assert_market(&sig[0], STRAT_SELL, 2, host_id(2));
}
END_TEST

START_TEST(go_plugin_should_resend_what_a_reject_left_missing)
{
    load_and_start("");
    tick("AAPL", 12);
    tick("AAPL", 11);
    tick("AAPL", 10);
    ck_assert_int_eq(tick("AAPL", 13), 1); /* fast 11.5 > slow 11.33 */
    strat_order_update_t u = fake_update(host_id(1), "AAPL", STRAT_ORDER_REJECTED, 1);
    ck_assert_int_eq(plug->on_order_update(st, &u), 0);
    ck_assert_int_eq(tick("AAPL", 13), 1);
    assert_market(&sig[0], STRAT_BUY, 1, host_id(2));
}
END_TEST

START_TEST(go_plugin_should_emit_nothing_when_stopped)
{
    load_and_start("");
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
    tick("AAPL", 12);
    tick("AAPL", 11);
    tick("AAPL", 10);
    ck_assert_int_eq(tick("AAPL", 13), 0);
    ck_assert_uint_eq(host.order_seq, 0);
    /* A stopped strategy still takes its fills. */
    strat_fill_t f = fake_fill("go_ma-1-1", "AAPL", STRAT_BUY, 1, 13);
    ck_assert_int_eq(plug->on_fill(st, &f), 0);
}
END_TEST

START_TEST(go_plugin_should_count_bad_input_as_errors)
{
    char sym[STRAT_SYMBOL_MAX];
    char unterminated[STRAT_SYMBOL_MAX + 8];

    load_and_start("");
    for (int i = 0; i < 32; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        ck_assert_int_eq(tick(sym, 100), 0);
    }
    ck_assert_int_eq(tick("S32", 100), -ENOSPC); /* beyond its symbol table */
    ck_assert_int_eq(tick("S1", NAN), -EINVAL);
    ck_assert_int_eq(tick("S1", -1), -EINVAL);
    memset(unterminated, 'X', sizeof unterminated); /* the glue reads at most 16 bytes of it */
    unterminated[sizeof unterminated - 1] = '\0';
    ck_assert_int_eq(tick(unterminated, 100), -EINVAL);
    strat_fill_t f = fake_fill("x", "S1", 7, 1, 100);
    ck_assert_int_eq(plug->on_fill(st, &f), -EINVAL);
    ck_assert_int_eq(tick("S1", 100), 0); /* and carries on */
}
END_TEST

START_TEST(go_plugin_should_refuse_a_bad_config_naming_the_key)
{
    static const struct { int fast, slow; double size; const char *slow_text, *key; } cases[] = {
        { 5, 3, 1, NULL, "fast" }, /* fast must be below slow */
        { 0, 3, 1, NULL, "fast" },
        { 1, 1, 1, NULL, "slow" },
        { 2, 0, 1, "twenty", "slow" },
        { 2, 3, 0, NULL, "order_size" },
    };
    strat_entry_fn entry = go_entry();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_host_t *fh = fake_host_new("go_ma"); /* it keeps the log lines */
        fake_host_set_int(fh, "fast", cases[i].fast);
        if (cases[i].slow_text)
            fake_host_set_string(fh, "slow", cases[i].slow_text);
        else
            fake_host_set_int(fh, "slow", cases[i].slow);
        fake_host_set_double(fh, "order_size", cases[i].size);
        const strat_plugin_t *p = entry(fake_host_api(fh));
        void *s = p->create(fake_host_api(fh));
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(p->init(s), -EINVAL);
        ck_assert_msg(fake_host_logged(fh, STRAT_LOG_ERROR, cases[i].key, NULL), "case %zu: %s", i,
                      fake_host_log_count(fh) ? fake_host_log_line(fh, 0) : "no log line");
        ck_assert_int_lt(p->start(s), 0); /* init failed: it must not run */
        ck_assert_int_eq(p->is_running(s), 0);
        p->destroy(s);
        fake_host_free(fh);
    }
}
END_TEST

START_TEST(go_plugin_should_leave_a_version_mismatch_to_the_host)
{
    fake_host_t *fh = fake_host_new("go_ma");
    strat_entry_fn entry = go_entry();
    strat_host_t other = *fake_host_api(fh);
    other.abi_version = STRAT_ABI_VERSION + 1;
    const strat_plugin_t *p = entry(&other);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->abi_version, STRAT_ABI_VERSION); /* what the host compares and refuses */
    ck_assert_int_eq(fake_host_log_count(fh), 0);
    ck_assert_ptr_null(entry(NULL));
    strat_host_t small = *fake_host_api(fh);
    small.size = sizeof small - sizeof(void *);
    ck_assert_ptr_null(entry(&small));
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "too small", NULL));
    fake_host_free(fh);
}
END_TEST

START_TEST(go_plugin_should_report_metrics)
{
    strat_metric_t m[8];

    load_and_start("");
    tick("AAPL", 12);
    tick("AAPL", 11);
    tick("AAPL", 10);
    tick("AAPL", 13);
    tick("MSFT", 13);
    ck_assert_int_eq(plug->metrics(st, m, 8), 4);
    ck_assert_str_eq(m[0].name, "signals_total");
    ck_assert_double_eq_tol(m[0].value, 1, 1e-9);
    ck_assert_str_eq(m[3].name, "symbols");
    ck_assert_double_eq_tol(m[3].value, 2, 1e-9);
    ck_assert_int_eq(plug->metrics(st, m, 1), 1);
}
END_TEST

/* The C example, loaded beside the Go one, for the equivalence test. */
static const strat_plugin_t *load_c_example(const strat_host_t *h, void **dl)
{
    const char *path = getenv("EXAMPLE_PLUGIN") && *getenv("EXAMPLE_PLUGIN") ? getenv("EXAMPLE_PLUGIN")
                                                                              : "plugins/example_plugin.so";
    *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(*dl != NULL, "cannot load %s: %s", path, dlerror());
    strat_entry_fn entry;
    *(void **)&entry = dlsym(*dl, STRAT_ENTRY_SYMBOL);
    ck_assert_ptr_nonnull(entry);
    return entry(h);
}

START_TEST(go_plugin_should_send_what_the_c_example_sends)
{
    /* Same strategy, same ticks, fills and rejects, each on its own fake host
     * (so the ids match): every return and every signal must be the same. */
    fake_host_t *fc = fake_host_new("ma"), *fg = fake_host_new("ma");
    void *cdl;
    const strat_plugin_t *pc = load_c_example(fake_host_api(fc), &cdl);
    const strat_plugin_t *pg = go_entry()(fake_host_api(fg));
    void *sc = pc->create(fake_host_api(fc)), *sg = pg->create(fake_host_api(fg));
    fake_host_set_int(fc, "fast", 3);
    fake_host_set_int(fg, "fast", 3);
    fake_host_set_int(fc, "slow", 8);
    fake_host_set_int(fg, "slow", 8);
    ck_assert(pc->init(sc) == 0 && pg->init(sg) == 0 && pc->start(sc) == 0 && pg->start(sg) == 0);

    static const char *const syms[] = { "BTC-USD", "ETH-USD", "SOL-USD" };
    double px[3] = { 100, 50, 20 };
    uint64_t seed = 7;
    int signals = 0, fills = 0, rejects = 0;
    strat_signal_t oc[MAX_OUT], og[MAX_OUT];
    for (int i = 0; i < 20000; i++) {
        int k = (int)(test_rand(&seed) % 3);
        px[k] *= 1 + ((double)(test_rand(&seed) % 2001) - 1000) * 1e-6; /* +-0.1% */
        strat_tick_t t = fake_tick(syms[k], px[k]);
        memset(oc, 0, sizeof oc);
        memset(og, 0, sizeof og);
        int nc = pc->on_market_data(sc, &t, oc, MAX_OUT), ng = pg->on_market_data(sg, &t, og, MAX_OUT);
        ck_assert_msg(nc == ng, "tick %d: C returned %d, Go %d", i, nc, ng);
        for (int j = 0; j < nc; j++) {
            ck_assert_msg(memcmp(&oc[j], &og[j], sizeof oc[j]) == 0, "tick %d signal %d differs", i, j);
            signals++;
            /* Two orders in three fill (some in two parts); the third is rejected. */
            if (signals % 3 != 0) {
                double q = og[j].qty / (signals % 2 ? 1 : 2);
                strat_fill_t f = fake_fill(og[j].client_order_id, og[j].symbol, og[j].side, q, px[k]);
                for (int part = 0; part < (signals % 2 ? 1 : 2); part++) {
                    ck_assert_int_eq(pc->on_fill(sc, &f), pg->on_fill(sg, &f));
                    fills++;
                }
            } else {
                strat_order_update_t u =
                    fake_update(og[j].client_order_id, og[j].symbol, STRAT_ORDER_REJECTED, og[j].qty);
                ck_assert_int_eq(pc->on_order_update(sc, &u), pg->on_order_update(sg, &u));
                rejects++;
            }
        }
    }
    /* The walk must actually have exercised both paths. */
    ck_assert_int_gt(signals, 100);
    ck_assert_int_gt(fills, 50);
    ck_assert_int_gt(rejects, 30);
    strat_metric_t mc[4], mg[4];
    ck_assert_int_eq(pc->metrics(sc, mc, 4), 4);
    ck_assert_int_eq(pg->metrics(sg, mg, 4), 4);
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq(mc[j].value, mg[j].value);
    pc->destroy(sc);
    pg->destroy(sg);
    fake_host_free(fc);
    fake_host_free(fg);
    dlclose(cdl);
}
END_TEST

START_TEST(go_plugin_should_turn_a_panic_into_a_counted_error)
{
    /* tests/strategyd/go/panics: panics at price 13, after a signal at 14, and in OnFill. */
    const char *dir = getenv("SE_TEST_PLUGINS") && *getenv("SE_TEST_PLUGINS") ? getenv("SE_TEST_PLUGINS")
                                                                              : "build/release/tests/strategyd/plugins";
    char path[512];
    snprintf(path, sizeof path, "%s/go_panics.so", dir);
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(dl != NULL, "cannot load %s: %s (build it with make)", path, dlerror());
    strat_entry_fn entry;
    *(void **)&entry = dlsym(dl, STRAT_ENTRY_SYMBOL);
    fake_host_t *fh = fake_host_new("panics");
    const strat_plugin_t *p = entry(fake_host_api(fh));
    void *s = p->create(fake_host_api(fh));
    ck_assert(p->init(s) == 0 && p->start(s) == 0);
    strat_tick_t t = fake_tick("AAPL", 13);
    ck_assert_int_eq(p->on_market_data(s, &t, sig, MAX_OUT), -EFAULT);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "panic in OnMarketData", "nil map", NULL));
    t.price = 12;
    ck_assert_int_eq(p->on_market_data(s, &t, sig, MAX_OUT), 0); /* carries on */
    t.price = 14; /* a signal, then the panic: the call's signals are discarded */
    ck_assert_int_eq(p->on_market_data(s, &t, sig, MAX_OUT), -EFAULT);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 1);
    strat_fill_t f = fake_fill("x", "AAPL", STRAT_BUY, 1, 12);
    ck_assert_int_eq(p->on_fill(s, &f), -EFAULT);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "panic in OnFill", NULL));
    /* A strategy that panics on every tick does not flood the log. */
    t.price = 13;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(p->on_market_data(s, &t, sig, MAX_OUT), -EFAULT);
    ck_assert_int_eq(fake_host_log_count(fh), 10);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "further panics are not logged", NULL));
    p->destroy(s);
    fake_host_free(fh);
}
END_TEST

/* Writes a trade at `price` (no quote: the tick's price is exactly `price`). */
static void put_trade(shm_writer_t *w, double price, int64_t ts)
{
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_QUOTE;
    r.flags = SE_QUOTE_HAS_LAST;
    strcpy(r.symbol, "BTC-USD");
    r.u.quote.last = price;
    r.ts_source_ns = r.ts_ingest_ns = ts;
    ck_assert_int_eq(shm_writer_write(w, &r), SHM_OK);
}

/* Creates ring `in` (written through w), starts bin/strategyd -s go_ma and
 * waits until it reads the ring. Returns its pid. */
static pid_t start_strategyd(shm_writer_t *w)
{
    char name[SHM_NAME_MAX];
    shm_ring_spec_t spec = SE_SPEC_IN(1024);
    write_config("");
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, "in"), 0);
    ck_assert_int_eq(shm_writer_open(w, name, &spec, NULL), 0);
    pid_t pid = pf_spawn(conf_path, "strategyd", "go_ma");
    ck_assert_msg(pf_wait_readers(inst, "in", 1, 10), "strategyd with the Go plugin did not attach");
    return pid;
}

START_TEST(strategyd_should_run_the_go_plugin_and_stop_on_sigterm)
{
    shm_writer_t w;
    pid_t pid = start_strategyd(&w);
    /* fast 2, slow 3 over 100 100 100 99 99 102 103 98:
     * 99: fast 99.5 < slow 99.67, first side seen, noted;
     * 102: fast 100.5 > slow 100: crossed up, BUY 1;
     * 103: still above, the buy is pending (no execd): nothing;
     * 98: fast 100.5 < slow 101: crossed down, from +1 pending to -1: SELL 2. */
    static const double path[] = { 100, 100, 100, 99, 99, 102, 103, 98 };
    int64_t ts = 1732400001000000000;
    for (size_t i = 0; i < sizeof path / sizeof path[0]; i++)
        put_trade(&w, path[i], ts += 100000000);
    ck_assert_msg(pf_wait_quiet(inst, 10), "strategyd did not read every tick");

    /* SIGTERM with Go's runtime (its threads and signal handlers) loaded:
     * strategyd's own handler must still see it and exit 0. */
    ck_assert_int_eq(pf_stop(&pid, 1), 0);
    shm_writer_close(&w, false);

    char sig_name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(sig_name, sizeof sig_name, NULL, inst, "sig.go_ma"), 0);
    shm_reader_t r;
    ck_assert_msg(shm_reader_open(&r, sig_name, NULL, "test", SHM_START_HEAD, 0) == 0, "%s", se_errmsg());
    se_signal_rec_t s[4];
    int n = 0;
    while (n < 4 && shm_reader_read(&r, &s[n]) == SHM_OK)
        if (s[n].action != SE_ACTION_SNAPSHOT) /* strategyd's request to riskd, not the strategy's */
            n++;
    shm_reader_close(&r);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(s[0].action, SE_ACTION_NEW);
    ck_assert_int_eq(s[0].side, SE_SIDE_BUY);
    ck_assert_int_eq(s[0].order_type, SE_ORDER_MARKET);
    ck_assert_double_eq_tol(s[0].qty, 1, 1e-9);
    ck_assert_int_eq(s[1].side, SE_SIDE_SELL);
    ck_assert_double_eq_tol(s[1].qty, 2, 1e-9);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(s[i].symbol, "BTC-USD");
        ck_assert_msg(strncmp(s[i].client_order_id, "go_ma-", 6) == 0, "order id %s", s[i].client_order_id);
    }
}
END_TEST

START_TEST(strategyd_should_stop_on_sigint_with_the_go_plugin_idle)
{
    shm_writer_t w;
    pid_t pid = start_strategyd(&w);
    /* Asleep on its futex, no tick ever seen: Ctrl-C must still end it. */
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    ck_assert_int_eq(test_wait(pid), 0);
    shm_writer_close(&w, false);
}
END_TEST

static Suite *go_suite(void)
{
    Suite *s = suite_create("go_plugin");
    TCase *tc = tcase_create("core");
    TCase *proc = tcase_create("strategyd");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, go_plugin_should_load_through_the_host);
    tcase_add_test(tc, go_plugin_should_export_only_the_abi);
    tcase_add_test(tc, go_plugin_should_run_the_host_loop_through_its_run_hook);
    tcase_add_test(tc, go_plugin_should_trade_only_on_crossings);
    tcase_add_test(tc, go_plugin_should_resend_what_a_reject_left_missing);
    tcase_add_test(tc, go_plugin_should_emit_nothing_when_stopped);
    tcase_add_test(tc, go_plugin_should_count_bad_input_as_errors);
    tcase_add_test(tc, go_plugin_should_refuse_a_bad_config_naming_the_key);
    tcase_add_test(tc, go_plugin_should_leave_a_version_mismatch_to_the_host);
    tcase_add_test(tc, go_plugin_should_report_metrics);
    tcase_add_test(tc, go_plugin_should_send_what_the_c_example_sends);
    tcase_add_test(tc, go_plugin_should_turn_a_panic_into_a_counted_error);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(proc, setup, teardown);
    tcase_set_timeout(proc, 30);
    tcase_add_test(proc, strategyd_should_run_the_go_plugin_and_stop_on_sigterm);
    tcase_add_test(proc, strategyd_should_stop_on_sigint_with_the_go_plugin_idle);
    suite_add_tcase(s, proc);
    return s;
}

int main(void)
{
    /* Go's runtime manages its own stacks and preempts goroutines with
     * signals that write below the stack pointer: valgrind reports those as
     * errors in code that is not ours. `make test` and `make asan` run this. */
    if (RUNNING_ON_VALGRIND) {
        printf("skip: go_plugin under valgrind: Go's runtime is not valgrind-clean "
               "(own stacks, signal preemption); run by make test and make asan\n");
        return EXIT_SUCCESS;
    }
    /* Fork mode stays on: each test loads Go's runtime in its own child (a
     * runtime does not survive fork, and cannot be unloaded). */
    SRunner *sr = srunner_create(go_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
