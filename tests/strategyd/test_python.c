/* test_python.c -- Python strategies (strategyd/python_host.c) driven through
 * the native ABI, as strategyd drives them: host_load on a config naming the
 * script, then create/init/on_market_data... on a fake host. The example
 * strategy (plugins/python/example_strategy.py) against an independent
 * computation of its z-scores; exceptions, bad signals, refused scripts
 * (fixtures in tests/strategyd/python/); `strategyd --check`. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "strategyd/host.h"
#include "strategyd/python_host.h"
#include "tests/support/fake_host.h"
#include "tests/support/pipeline_fixture.h"

#define FIXTURES "tests/strategyd/python/"
#define EXAMPLE "plugins/python/example_strategy.py"
#define MAX_OUT 16

static char conf[64];
static cfg_t *cfg;
static host_t host;
static loaded_t loaded;
static fake_host_t *fh;
static const strat_plugin_t *plug;
static void *st;
static strat_signal_t sig[MAX_OUT];

static void setup(void)
{
    cfg = NULL;
    fh = NULL;
    st = NULL;
    plug = NULL;
    memset(&loaded, 0, sizeof loaded);
    conf[0] = '\0';
    if (!getenv("SE_TEST_VERBOSE")) /* refusals log on purpose; keep the run quiet */
        log_set_fd(open("/dev/null", O_WRONLY));
}

static void teardown(void)
{
    if (st) {
        plug->stop(st);
        plug->destroy(st);
    }
    host_unload(&loaded);
    if (fh)
        fake_host_free(fh);
    cfg_close(cfg);
    if (conf[0])
        unlink(conf);
}

/* Writes a config where strategy `name` runs script (relative to the
 * repository, pluginsDir "."), with extra settings in its group. */
static void write_config(const char *name, const char *script, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "engine = { pluginsDir = \".\"; };\n"
             "strategies = { enabled = [\"%s\"]; configs = { %s = { script = \"%s\"; %s }; }; };\n",
             name, name, script, extra ? extra : "");
    strcpy(conf, "/tmp/se-python-XXXXXX");
    int fd = mkstemp(conf);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(cfg_open(&cfg, conf), 0);
}

/* host_load of strategy name: 0 or the refusal's code (se_errmsg says why). */
static int load(const char *name, const char *script, const char *extra)
{
    write_config(name, script, extra);
    ck_assert_int_eq(host_init(&host, cfg, name), 0);
    int rc = host_load(&host, &loaded);
    plug = loaded.plugin;
    return rc;
}

/* Loads, creates and initialises (init's result returned); fh is the host. */
static int create_init(const char *name, const char *script, const char *extra)
{
    ck_assert_msg(load(name, script, extra) == 0, "%s", se_errmsg());
    fh = fake_host_new(name);
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    return plug->init(st);
}

static void start(const char *name, const char *script, const char *extra)
{
    ck_assert_int_eq(create_init(name, script, extra), 0);
    ck_assert_int_eq(plug->start(st), 0);
}

static int tick(const char *symbol, double price)
{
    strat_tick_t t = fake_tick(symbol, price);
    memset(sig, 0x5a, sizeof sig);
    return plug->on_market_data(st, &t, sig, MAX_OUT);
}

/* The strategy's metric `name`; the test fails if metrics() lacks it. */
static double metric(const char *name)
{
    strat_metric_t m[PYHOST_MAX_METRICS];
    int n = plug->metrics(st, m, PYHOST_MAX_METRICS);
    ck_assert_int_ge(n, 0);
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return m[i].value;
    ck_abort_msg("metric %s missing", name);
    return NAN;
}

/* ---------------------------------------------------------------- example */

/* The example's rule, computed here independently: z-score of the newest of
 * the last `window` prices; beyond +-entry_z target -+size, within exit_z
 * flat; one order in flight. */
typedef struct {
    double prices[64];
    int n, window;
    double entry, exit, size, target, position;
} ref_t;

static double ref_z(const ref_t *r, bool *defined)
{
    double sum = 0, var = 0;
    for (int i = 0; i < r->n; i++)
        sum += r->prices[i];
    double mean = sum / r->n;
    for (int i = 0; i < r->n; i++)
        var += (r->prices[i] - mean) * (r->prices[i] - mean);
    var /= r->n;
    *defined = var > 0;
    return *defined ? (r->prices[r->n - 1] - mean) / pow(var, 0.5) : 0;
}

/* The signed quantity the strategy should order after price (0: none). */
static double ref_step(ref_t *r, double price)
{
    if (r->n == r->window) {
        memmove(r->prices, r->prices + 1, sizeof r->prices[0] * (size_t)(r->n - 1));
        r->n--;
    }
    r->prices[r->n++] = price;
    bool defined = false;
    double z = r->n == r->window ? ref_z(r, &defined) : 0;
    if (r->n < r->window || !defined)
        return 0;
    if (z >= r->entry)
        r->target = -r->size;
    else if (z <= -r->entry)
        r->target = r->size;
    else if (fabs(z) <= r->exit)
        r->target = 0;
    double delta = r->target - r->position;
    return fabs(delta) < 1e-9 ? 0 : delta;
}

/* A quiet oscillation with a spike up, a spike down and a slow drift. */
static double path_price(int i)
{
    static const double wiggle[] = { 0, 0.1, 0.2, 0.1 };
    double p = 100 + wiggle[i % 4] + (i >= 40 ? 0.05 * (i - 40) : 0);
    if (i == 12)
        p += 3;
    if (i == 25)
        p -= 3;
    return p;
}

START_TEST(example_should_trade_exactly_its_zscores_on_a_known_path)
{
    start("zs", EXAMPLE, "window = 5; entry_z = 1.5; exit_z = 0.5; order_size = 2.0;");
    ref_t ref = { .window = 5, .entry = 1.5, .exit = 0.5, .size = 2 };
    int orders = 0, buys = 0, sells = 0;
    for (int i = 0; i < 60; i++) {
        double want = ref_step(&ref, path_price(i));
        int n = tick("BTC-USD", path_price(i));
        ck_assert_msg(n == (want != 0), "tick %d (price %.2f): %d signals, expected %d", i, path_price(i), n,
                      want != 0);
        if (!n)
            continue;
        char id[STRAT_ID_MAX];
        snprintf(id, sizeof id, "zs-1-%d", ++orders);
        ck_assert_int_eq(sig[0].action, STRAT_NEW);
        ck_assert_int_eq(sig[0].type, STRAT_MARKET);
        ck_assert_int_eq(sig[0].side, want > 0 ? STRAT_BUY : STRAT_SELL);
        ck_assert_double_eq_tol(sig[0].qty, fabs(want), 1e-9);
        ck_assert_double_eq(sig[0].price, 0);
        ck_assert_str_eq(sig[0].symbol, ""); /* the tick's: the runner fills it in */
        ck_assert_str_eq(sig[0].client_order_id, id);
        buys += want > 0;
        sells += want < 0;
        /* Filled at once: the next order may follow. */
        strat_fill_t f = fake_fill(id, "BTC-USD", sig[0].side, sig[0].qty, path_price(i));
        ck_assert_int_eq(plug->on_fill(st, &f), 0);
        ref.position += want;
    }
    /* The path is built to make it go short, long, and flat again. */
    ck_assert_int_ge(buys, 1);
    ck_assert_int_ge(sells, 1);
    ck_assert_int_ge(orders, 3);
    ck_assert_double_eq(metric("signals_total"), orders);
    ck_assert_double_eq(metric("fills_total"), orders);
    ck_assert_double_eq(metric("ticks_total"), 60);
    ck_assert_double_eq(metric("open_orders"), 0);
}
END_TEST

START_TEST(example_should_wait_for_its_order_before_the_next)
{
    start("zs", EXAMPLE, "window = 5; entry_z = 1.5; exit_z = 0.5; order_size = 2.0;");
    int signals = 0;
    for (int i = 0; i < 60; i++)
        signals += tick("BTC-USD", path_price(i));
    ck_assert_int_eq(signals, 1); /* no fill, no rejection: the first order is still pending */
    ck_assert_double_eq(metric("open_orders"), 1);
    strat_order_update_t u = fake_update("zs-1-1", "BTC-USD", STRAT_ORDER_REJECTED, 2);
    ck_assert_int_eq(plug->on_order_update(st, &u), 0);
    ck_assert_double_eq(metric("open_orders"), 0);
}
END_TEST

START_TEST(example_should_refuse_a_bad_configuration_in_init)
{
    ck_assert_int_lt(create_init("zs", EXAMPLE, "window = 1;"), 0);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "ValueError", "window must be >= 2, got 1", NULL));
}
END_TEST

START_TEST(example_should_start_from_a_recovered_position)
{
    start("zs", EXAMPLE, "window = 5; entry_z = 1.5; exit_z = 0.5; order_size = 2.0;");
    strat_position_t p = { "BTC-USD", -2, 100, FAKE_HOST_T0_NS };
    ck_assert_int_eq(plug->on_position_update(st, &p), 0);
    ref_t ref = { .window = 5, .entry = 1.5, .exit = 0.5, .size = 2, .position = -2 };
    int i = 0, n = 0;
    double want = 0;
    for (; i < 60 && n == 0; i++) {
        want = ref_step(&ref, path_price(i));
        n = tick("BTC-USD", path_price(i));
        ck_assert_int_eq(n, want != 0);
    }
    /* The first quiet window says "flat": it buys back the recovered short. */
    ck_assert_int_eq(n, 1);
    ck_assert_double_eq(want, 2);
    ck_assert_int_eq(sig[0].side, STRAT_BUY);
    ck_assert_double_eq_tol(sig[0].qty, 2, 1e-9);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(exception_should_be_an_error_with_its_traceback_logged)
{
    start("faulty", FIXTURES "faulty.py", NULL);
    ck_assert_int_eq(tick("X", 99), 0);
    ck_assert_int_lt(tick("X", 101), 0);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "python exception in on_market_data",
                               "ZeroDivisionError: division by zero", "Traceback", "faulty.py\", line 10, in divide",
                               NULL));
    strat_fill_t f = fake_fill("faulty-1-1", "X", STRAT_BUY, 1, 100);
    ck_assert_int_lt(plug->on_fill(st, &f), 0);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "python exception in on_fill", "KeyError: 'faulty-1-1'",
                               NULL));
    strat_position_t p = { "X", 1, 100, FAKE_HOST_T0_NS };
    ck_assert_int_lt(plug->on_position_update(st, &p), 0); /* sys.exit(3): an exception like any other */
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "python exception in on_position_update", "SystemExit: 3",
                               NULL));
    /* The strategy goes on. */
    ck_assert_int_eq(tick("X", 98), 0);
    ck_assert_double_eq(metric("ticks"), 3);
}
END_TEST

START_TEST(exceptions_on_every_tick_should_not_flood_the_log)
{
    start("faulty", FIXTURES "faulty.py", NULL);
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < 1000; i++)
        ck_assert_int_lt(tick("X", 200), 0);
    /* A burst of 5 lines, then one a second (of wall time, however slow the
     * run: valgrind): never one line per exception. */
    int64_t seconds = (clock_mono_ns() - t0) / 1000000000 + 1;
    ck_assert_int_ge(fake_host_log_count(fh), 5);
    ck_assert_int_le(fake_host_log_count(fh), 5 + seconds);
    ck_assert_int_eq(tick("X", 1), 0);
}
END_TEST

static const char *const bad_signal_says[] = {
    NULL, /* case 0 is a good order */
    "returned a int: it must return a list of signals",
    "a dict, not a Signal",
    "qty must be a finite number > 0",
    "qty must be a finite number > 0",
    "a LIMIT price must be a finite number > 0",
    "a CANCEL names the client_order_id",
    "17 signals in one call, at most 16",
    "action is neither NEW nor CANCEL",
    "ValueError: symbol 'A-SYMBOL-FAR-TOO-LONG' is longer than 15 bytes",
    "signal 1 (Signal(action=NEW, side=SELL, type=LIMIT, qty=1, price=inf",
    "a MARKET order carries no price",
};

/* Case _i of bad_signals.py (its on_market_data picks the case by price). */
START_TEST(bad_signal_should_be_refused_with_the_reason)
{
    start("bad", FIXTURES "bad_signals.py", NULL);
    ck_assert_int_eq(tick("X", 0), 1);
    ck_assert_int_eq(sig[0].side, STRAT_BUY);
    ck_assert_msg(tick("X", _i) < 0, "case %d accepted", _i);
    ck_assert_msg(fake_host_logged(fh, STRAT_LOG_ERROR, bad_signal_says[_i], NULL),
                  "case %d: no log line with '%s' (%s)", _i, bad_signal_says[_i],
                  fake_host_log_count(fh) ? fake_host_log_line(fh, 0) : "no log");
    if (_i == 10) { /* a good buy of 2 and a bad sell of 1: both come back rejected */
        ck_assert_double_eq(metric("rejected"), 2);
        ck_assert_double_eq(metric("rejected_qty"), 3);
        ck_assert_double_eq(metric("last_status"), STRAT_ORDER_REJECTED);
    }
    ck_assert_int_eq(tick("X", 0), 1); /* still working */
}
END_TEST

static const struct {
    const char *script, *extra, *says;
} refused[] = {
    { FIXTURES "syntax_error.py", NULL, "syntax_error.py:5: SyntaxError: expected ':'" },
    { FIXTURES "no_on_fill.py", NULL, "class Forgetful has no method on_fill()" },
    { FIXTURES "two_classes.py", NULL, "more than one class with an on_market_data method" },
    { FIXTURES "two_classes.py", "class = \"Third\";", "defines no class Third" },
    { FIXTURES "missing.py", NULL, "strategies.configs.bad.script: script ./" FIXTURES "missing.py: No such file" },
    { EXAMPLE, "plugin = \"example_plugin.so\";", "a script or a plugin, not both" },
};

START_TEST(broken_script_should_be_refused_at_load_with_one_clear_line)
{
    ck_assert_int_lt(load("bad", refused[_i].script, refused[_i].extra), 0);
    ck_assert_msg(strstr(se_errmsg(), refused[_i].says), "'%s' lacks '%s'", se_errmsg(), refused[_i].says);
    ck_assert_ptr_null(loaded.plugin);
    ck_assert_ptr_null(strchr(se_errmsg(), '\n'));
}
END_TEST

START_TEST(constructor_exception_should_fail_create_with_its_traceback)
{
    ck_assert_int_eq(load("unbuildable", FIXTURES "bad_constructor.py", NULL), 0);
    fh = fake_host_new("unbuildable");
    ck_assert_ptr_null(plug->create(fake_host_api(fh)));
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "Unbuildable() failed", "RuntimeError: no venue credentials",
                               "bad_constructor.py\", line 4", NULL));
}
END_TEST

START_TEST(named_class_should_be_the_strategy)
{
    start("two", FIXTURES "two_classes.py", "class = \"Second\";");
    ck_assert_double_eq(metric("which"), 2);
}
END_TEST

/* ---------------------------------------------------------------- what a script sees */

typedef struct {
    const char *name;
    double value;
} expected_t;

static void expect_metrics(const expected_t *want, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(metric(want[i].name) == want[i].value, "metric %s: %.17g, expected %.17g", want[i].name,
                      metric(want[i].name), want[i].value);
}

#define EXPECT_METRICS(...)                                                                  \
    do {                                                                                     \
        static const expected_t want_[] = { __VA_ARGS__ };                                   \
        expect_metrics(want_, (int)(sizeof want_ / sizeof want_[0]));                        \
    } while (0)

START_TEST(script_should_see_its_config_ticks_fills_and_positions)
{
    start("echo", FIXTURES "echo.py",
          "size = 3; ratio = 0.25; on = true; levels = [1, 2, 4]; limits = { max = 7.5; }; label = \"abcd\";");
    EXPECT_METRICS({ "started", 1 }, { "cfg_int", 3 }, { "cfg_float", 0.25 }, { "cfg_bool", 1 },
                   { "cfg_list", 7 }, { "cfg_group", 7.5 }, { "cfg_str", 4 });

    strat_tick_t t = { "ETH-USD", 10.5, 10, 11, 2, 3, 10.4, 99, STRAT_TICK_HAS_BIDASK | STRAT_TICK_HAS_LAST,
                       FAKE_HOST_T0_NS + 5000000 };
    ck_assert_int_eq(plug->on_market_data(st, &t, sig, MAX_OUT), 0);
    t.price = 12; /* a second tick: the kept first one must not change */
    t.flags = STRAT_TICK_HAS_LAST;
    ck_assert_int_eq(plug->on_market_data(st, &t, sig, MAX_OUT), 0);
    EXPECT_METRICS({ "kept_price", 10.5 }, { "price", 12 }, { "bid", 10 }, { "ask", 11 }, { "bid_size", 2 },
                   { "ask_size", 3 }, { "last", 10.4 }, { "volume", 99 },
                   { "ts_ms", (double)((FAKE_HOST_T0_NS + 5000000) / 1000000) },
                   { "now_ms", (double)(FAKE_HOST_T0_NS / 1000000) }, { "has_bidask", 0 }, { "has_last", 1 },
                   { "sym_len", 7 }, { "dict_fields", 11 });
    ck_assert(fake_host_logged(fh, STRAT_LOG_WARN, "tick ETH-USD", NULL));

    strat_fill_t f = fake_fill("echo-7", "ETH-USD", STRAT_SELL, 1.5, 10.75);
    ck_assert_int_eq(plug->on_fill(st, &f), 0);
    EXPECT_METRICS({ "fill_qty", 1.5 }, { "fill_price", 10.75 }, { "fill_side", STRAT_SELL },
                   { "fill_id_ok", 1 });
    strat_position_t p = { "ETH-USD", -4, 10.25, FAKE_HOST_T0_NS };
    ck_assert_int_eq(plug->on_position_update(st, &p), 0);
    ck_assert_double_eq(metric("pos_qty"), -4);
    ck_assert_double_eq(metric("pos_avg"), 10.25);
    ck_assert_int_eq(plug->is_running(st), 1);
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
    ck_assert_double_eq(metric("stopped"), 1);
}
END_TEST

START_TEST(bad_metrics_should_be_refused)
{
    static const char *const says[] = { "metric names are str of", "metric text is a str, not a number",
                                        "returned a list, not a dict" };
    start("echo", FIXTURES "echo.py",
          "size = 3; ratio = 0.25; on = true; levels = [1]; limits = { max = 1; }; label = \"\";");
    strat_metric_t m[PYHOST_MAX_METRICS];
    for (int c = 0; c < 3; c++) {
        ck_assert_int_eq(tick("X", 13 + c), 0);
        fake_host_clear_logs(fh);
        ck_assert_int_lt(plug->metrics(st, m, PYHOST_MAX_METRICS), 0);
        ck_assert_msg(fake_host_logged(fh, STRAT_LOG_ERROR, says[c], NULL), "case %d", c);
    }
}
END_TEST

START_TEST(two_strategies_should_live_side_by_side)
{
    write_config("zs", EXAMPLE, "window = 5; }; faulty = { script = \"" FIXTURES "faulty.py\";");
    ck_assert_int_eq(host_init(&host, cfg, "zs"), 0);
    ck_assert_int_eq(host_load(&host, &loaded), 0);
    plug = loaded.plugin;
    fh = fake_host_new("zs");
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(plug->init(st), 0);
    host_t h2;
    loaded_t l2;
    ck_assert_int_eq(host_init(&h2, cfg, "faulty"), 0);
    ck_assert_int_eq(host_load(&h2, &l2), 0);
    fake_host_t *fh2 = fake_host_new("faulty");
    void *st2 = l2.plugin->create(fake_host_api(fh2));
    ck_assert_ptr_nonnull(st2);
    ck_assert_int_eq(l2.plugin->init(st2), 0);
    strat_tick_t t = fake_tick("X", 101);
    ck_assert_int_lt(l2.plugin->on_market_data(st2, &t, sig, MAX_OUT), 0);
    ck_assert_int_eq(fake_host_log_count(fh2), 1);
    ck_assert_int_eq(tick("X", 101), 0);
    ck_assert_int_eq(fake_host_log_count(fh), 0); /* the error was faulty's alone */
    ck_assert_double_eq(metric("ticks_total"), 1);
    l2.plugin->destroy(st2);
    host_unload(&l2);
    fake_host_free(fh2);
}
END_TEST

START_TEST(loading_an_instance_twice_should_be_refused)
{
    const strat_plugin_t *p;
    ck_assert_int_eq(load("zs", EXAMPLE, NULL), 0);
    ck_assert_int_eq(pyhost_load("zs", EXAMPLE, NULL, NULL, NULL, &p), -EEXIST);
}
END_TEST

/* ---------------------------------------------------------------- strategyd --check */

static int run_check(const char *name)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s/strategyd", pf_bin_dir());
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (!getenv("SE_TEST_VERBOSE"))
            dup2(null, 2);
        execl(bin, bin, "-c", conf, "-s", name, "--check", (char *)NULL);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(strategyd_check_should_pass_a_good_script_and_fail_a_broken_one)
{
    write_config("zs", EXAMPLE, "window = 5;");
    ck_assert_int_eq(run_check("zs"), 0);
    cfg_close(cfg);
    cfg = NULL;
    unlink(conf);
    write_config("zs", FIXTURES "syntax_error.py", NULL);
    ck_assert_int_eq(run_check("zs"), 1);
    cfg_close(cfg);
    cfg = NULL;
    unlink(conf);
    write_config("zs", EXAMPLE, "window = 0;"); /* loads, but init refuses */
    ck_assert_int_eq(run_check("zs"), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("python");
    TCase *tc = tcase_create("python");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, example_should_trade_exactly_its_zscores_on_a_known_path);
    tcase_add_test(tc, example_should_wait_for_its_order_before_the_next);
    tcase_add_test(tc, example_should_refuse_a_bad_configuration_in_init);
    tcase_add_test(tc, example_should_start_from_a_recovered_position);
    tcase_add_test(tc, exception_should_be_an_error_with_its_traceback_logged);
    tcase_add_test(tc, exceptions_on_every_tick_should_not_flood_the_log);
    tcase_add_loop_test(tc, bad_signal_should_be_refused_with_the_reason, 1,
                        (int)(sizeof bad_signal_says / sizeof bad_signal_says[0]));
    tcase_add_loop_test(tc, broken_script_should_be_refused_at_load_with_one_clear_line, 0,
                        (int)(sizeof refused / sizeof refused[0]));
    tcase_add_test(tc, constructor_exception_should_fail_create_with_its_traceback);
    tcase_add_test(tc, named_class_should_be_the_strategy);
    tcase_add_test(tc, script_should_see_its_config_ticks_fills_and_positions);
    tcase_add_test(tc, bad_metrics_should_be_refused);
    tcase_add_test(tc, two_strategies_should_live_side_by_side);
    tcase_add_test(tc, loading_an_instance_twice_should_be_refused);
    tcase_add_test(tc, strategyd_check_should_pass_a_good_script_and_fail_a_broken_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
