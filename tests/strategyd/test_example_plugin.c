/* test_example_plugin.c -- check suite for plugins/c/example_plugin.c, loaded
 * the way strategyd loads a plugin: dlopen of the built .so ($EXAMPLE_PLUGIN,
 * default plugins/example_plugin.so), dlsym of the one entry point. */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/include/strategy.h"
#include "tests/support/fake_host.h"

#define MAX_OUT 8

static void *dl;
static strat_entry_fn entry;
static fake_host_t *fh;
static const strat_plugin_t *plug;
static void *st;
static strat_signal_t sig[MAX_OUT];

static const char *plugin_path(void)
{
    const char *p = getenv("EXAMPLE_PLUGIN");
    return p != NULL && p[0] != '\0' ? p : "plugins/example_plugin.so";
}

static void setup(void)
{
    dl = dlopen(plugin_path(), RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(dl != NULL, "cannot load %s (%s): build it first, or set EXAMPLE_PLUGIN", plugin_path(),
                  dlerror());
    *(void **)&entry = dlsym(dl, STRAT_ENTRY_SYMBOL);
    ck_assert_msg(entry != NULL, "%s does not export %s", plugin_path(), STRAT_ENTRY_SYMBOL);
    fh = fake_host_new("ma");
    plug = NULL;
    st = NULL;
}

static void teardown(void)
{
    if (st != NULL)
        plug->destroy(st);
    if (fh != NULL)
        fake_host_free(fh);
    if (dl != NULL)
        dlclose(dl);
}

/* Gets the plugin's table, creates, initialises and starts it. */
static void start(void)
{
    plug = entry(fake_host_api(fh));
    ck_assert_ptr_nonnull(plug);
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(plug->init(st), 0);
    ck_assert_int_eq(plug->start(st), 0);
}

static void start_small(void)
{
    fake_host_set_int(fh, "fast", 2);
    fake_host_set_int(fh, "slow", 3);
    fake_host_set_double(fh, "order_size", 1);
    start();
}

static int tick(const char *symbol, double price)
{
    strat_tick_t t = fake_tick(symbol, price);

    memset(sig, 0x5a, sizeof sig);
    return plug->on_market_data(st, &t, sig, MAX_OUT);
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

START_TEST(example_should_export_only_the_entry_point)
{
    ck_assert_ptr_nonnull(dlsym(dl, STRAT_ENTRY_SYMBOL));
    /* Its internals are hidden (-fvisibility=hidden and static). */
    ck_assert_ptr_null(dlsym(dl, "plugin"));
    ck_assert_ptr_null(dlsym(dl, "ma_create"));
    ck_assert_ptr_null(dlsym(dl, "ma_on_market_data"));
    ck_assert_ptr_null(dlsym(dl, "say"));
}
END_TEST

START_TEST(example_should_describe_itself_with_this_abi_version)
{
    const strat_plugin_t *p = entry(fake_host_api(fh));

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->abi_version, STRAT_ABI_VERSION);
    ck_assert_uint_eq(p->size, sizeof(strat_plugin_t));
    ck_assert_str_eq(p->name, "ma_crossover");
    ck_assert(p->create && p->init && p->on_market_data && p->on_fill && p->on_position_update &&
              p->on_order_update && p->start && p->stop && p->is_running && p->metrics && p->destroy);
}
END_TEST

START_TEST(example_should_leave_a_version_mismatch_to_the_host)
{
    strat_host_t other = *fake_host_api(fh);
    const strat_plugin_t *p;

    other.abi_version = STRAT_ABI_VERSION + 1;
    p = entry(&other);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->abi_version, STRAT_ABI_VERSION); /* what the host compares and refuses */
    ck_assert_int_eq(fake_host_log_count(fh), 0);         /* nothing of that host was called */
}
END_TEST

START_TEST(example_should_refuse_a_null_or_truncated_host)
{
    strat_host_t small = *fake_host_api(fh);

    ck_assert_ptr_null(entry(NULL));
    small.size = sizeof small - sizeof(void *);
    ck_assert_ptr_null(entry(&small));
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "too small", NULL));
}
END_TEST

START_TEST(example_should_trade_only_on_crossings)
{
    start_small();
    ck_assert_int_eq(tick("AAPL", 12), 0);
    ck_assert_int_eq(tick("AAPL", 11), 0);
    ck_assert_int_eq(tick("AAPL", 10), 0); /* fast 10.5 < slow 11: noted, no trade */
    ck_assert_int_eq(tick("AAPL", 12), 0); /* fast 11 = slow 11 */
    ck_assert_int_eq(tick("AAPL", 13), 1); /* fast 12.5 > slow 11.67: crossed up */
    assert_market(&sig[0], STRAT_BUY, 1, "ma-1-1");
    ck_assert_str_eq(sig[0].client_order_id, fake_host_last_id(fh));
    ck_assert_int_eq(tick("AAPL", 13), 0); /* still above; the order is pending */
    {
        strat_fill_t f = fake_fill("ma-1-1", "AAPL", STRAT_BUY, 1, 13);
        ck_assert_int_eq(plug->on_fill(st, &f), 0);
    }
    ck_assert_int_eq(tick("AAPL", 13), 0); /* held */
    ck_assert_int_eq(tick("AAPL", 9), 1);  /* fast 11 < slow 11.67: crossed down, from +1 to -1 */
    assert_market(&sig[0], STRAT_SELL, 2, "ma-1-2");
}
END_TEST

START_TEST(example_should_resend_what_a_reject_left_missing)
{
    start_small();
    tick("AAPL", 12);
    tick("AAPL", 11);
    tick("AAPL", 10);
    ck_assert_int_eq(tick("AAPL", 13), 1); /* fast 11.5 > slow 11.33 */
    {
        strat_order_update_t u = fake_update("ma-1-1", "AAPL", STRAT_ORDER_REJECTED, 1);
        ck_assert_int_eq(plug->on_order_update(st, &u), 0);
    }
    ck_assert_int_eq(tick("AAPL", 13), 1);
    assert_market(&sig[0], STRAT_BUY, 1, "ma-1-2");
}
END_TEST

START_TEST(example_should_emit_nothing_when_stopped)
{
    start_small();
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
    tick("AAPL", 12);
    tick("AAPL", 11);
    tick("AAPL", 10);
    ck_assert_int_eq(tick("AAPL", 13), 0);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 0);
}
END_TEST

START_TEST(example_should_return_an_error_beyond_its_symbol_table)
{
    char sym[STRAT_SYMBOL_MAX];

    start_small();
    for (int i = 0; i < 32; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        ck_assert_int_eq(tick(sym, 100), 0);
    }
    ck_assert_int_lt(tick("S32", 100), 0);
    ck_assert_int_lt(tick("AAPL", NAN), 0);
}
END_TEST

START_TEST(example_should_refuse_a_bad_config_naming_the_key)
{
    static const struct { const char *key; int fast, slow; } cases[] = {
        { "fast", 5, 3 }, /* fast must be below slow */
        { "fast", 0, 3 },
        { "slow", 1, 1 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_host_t *h = fake_host_new("ma");
        const strat_plugin_t *p = entry(fake_host_api(h));
        void *s;

        fake_host_set_int(h, "fast", cases[i].fast);
        fake_host_set_int(h, "slow", cases[i].slow);
        s = p->create(fake_host_api(h));
        ck_assert_int_lt(p->init(s), 0);
        ck_assert_msg(fake_host_logged(h, STRAT_LOG_ERROR, cases[i].key, NULL), "case %zu", i);
        p->destroy(s);
        fake_host_free(h);
    }
    fake_host_set_string(fh, "slow", "twenty");
    plug = entry(fake_host_api(fh));
    st = plug->create(fake_host_api(fh));
    ck_assert_int_lt(plug->init(st), 0);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "slow", NULL));
    fake_host_set_int(fh, "slow", 20);
    fake_host_set_double(fh, "order_size", 0);
    fake_host_clear_logs(fh);
    ck_assert_int_lt(plug->init(st), 0);
    ck_assert(fake_host_logged(fh, STRAT_LOG_ERROR, "order_size", NULL));
    ck_assert_int_lt(plug->start(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
}
END_TEST

START_TEST(example_should_report_metrics)
{
    strat_metric_t m[8];
    int n;

    start_small();
    tick("AAPL", 12);
    tick("AAPL", 11);
    tick("AAPL", 10);
    tick("AAPL", 13);
    n = plug->metrics(st, m, 8);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(m[0].name, "signals_total");
    ck_assert_double_eq_tol(m[0].value, 1, 1e-9);
    ck_assert_int_eq(plug->metrics(st, m, 1), 1);
}
END_TEST

static Suite *example_suite(void)
{
    Suite *s = suite_create("example_plugin");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, example_should_export_only_the_entry_point);
    tcase_add_test(tc, example_should_describe_itself_with_this_abi_version);
    tcase_add_test(tc, example_should_leave_a_version_mismatch_to_the_host);
    tcase_add_test(tc, example_should_refuse_a_null_or_truncated_host);
    tcase_add_test(tc, example_should_trade_only_on_crossings);
    tcase_add_test(tc, example_should_resend_what_a_reject_left_missing);
    tcase_add_test(tc, example_should_emit_nothing_when_stopped);
    tcase_add_test(tc, example_should_return_an_error_beyond_its_symbol_table);
    tcase_add_test(tc, example_should_refuse_a_bad_config_naming_the_key);
    tcase_add_test(tc, example_should_report_metrics);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default and stays on; CK_FORK=no is honoured so
     * the suite can run in one process under valgrind. */
    SRunner *sr = srunner_create(example_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
